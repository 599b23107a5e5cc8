//! A foreground command's output as the SDK reads it: both streams as
//! text (`"encoding":"utf-8"`) when both are valid UTF-8, else both in
//! base64 (`"encoding":"base64"`), so binary output survives JSON intact.

use base64::Engine;

/// The two output streams and the encoding they are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedOutput {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) encoding: &'static str,
}

pub(crate) fn encode(stdout: Vec<u8>, stderr: Vec<u8>) -> EncodedOutput {
    match (String::from_utf8(stdout), String::from_utf8(stderr)) {
        (Ok(stdout), Ok(stderr)) => EncodedOutput { stdout, stderr, encoding: "utf-8" },
        (stdout, stderr) => {
            let bytes = |text: Result<String, std::string::FromUtf8Error>| match text {
                Ok(text) => text.into_bytes(),
                Err(error) => error.into_bytes(),
            };
            let base64 = base64::engine::general_purpose::STANDARD;
            EncodedOutput {
                stdout: base64.encode(bytes(stdout)),
                stderr: base64.encode(bytes(stderr)),
                encoding: "base64",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_stays_text() {
        let output = encode("héllo\n".into(), b"warn".to_vec());
        assert_eq!(output, EncodedOutput { stdout: "héllo\n".into(), stderr: "warn".into(), encoding: "utf-8" });
        assert_eq!(encode(Vec::new(), Vec::new()).encoding, "utf-8");
    }

    #[test]
    fn any_invalid_utf8_turns_both_streams_into_base64() {
        let output = encode(b"ok".to_vec(), vec![0xff, 0xfe]);
        assert_eq!(output, EncodedOutput { stdout: "b2s=".into(), stderr: "//4=".into(), encoding: "base64" });
        let output = encode(vec![0x80], Vec::new());
        assert_eq!(output, EncodedOutput { stdout: "gA==".into(), stderr: String::new(), encoding: "base64" });
    }
}
