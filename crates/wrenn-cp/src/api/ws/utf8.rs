//! Process output as text: the exec and process streams carry stdout and
//! stderr in JSON strings (the SDK has no binary or base64 form there), so
//! bytes that are not UTF-8 are replaced with U+FFFD. Output arrives in
//! chunks cut anywhere, so a character split across two chunks is held
//! back until its end arrives instead of being replaced twice.

/// Decodes one output channel chunk by chunk.
#[derive(Debug, Default)]
pub(super) struct Utf8Carry {
    /// The start of a character whose end has not arrived (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Carry {
    /// The text of `chunk`, after what the previous chunk left pending;
    /// keeps an incomplete character at the end for the next chunk.
    pub(super) fn push(&mut self, chunk: &[u8]) -> String {
        let joined;
        let mut rest: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            let mut bytes = std::mem::take(&mut self.pending);
            bytes.extend_from_slice(chunk);
            joined = bytes;
            &joined
        };
        let mut text = String::with_capacity(rest.len());
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    text.push_str(valid);
                    return text;
                }
                Err(error) => {
                    let (valid, after) = rest.split_at(error.valid_up_to());
                    text.push_str(&String::from_utf8_lossy(valid));
                    match error.error_len() {
                        // Invalid bytes in the middle: replace them, go on.
                        Some(len) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[len..];
                        }
                        // The chunk ends inside a character: wait for the rest.
                        None => {
                            self.pending = after.to_vec();
                            return text;
                        }
                    }
                }
            }
        }
    }

    /// What is still pending when the output ends: an incomplete
    /// character, replaced.
    pub(super) fn finish(&mut self) -> String {
        let pending = std::mem::take(&mut self.pending);
        String::from_utf8_lossy(&pending).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` through one decoder, returning each push's text and
    /// the final flush.
    fn decode(chunks: &[&[u8]]) -> (Vec<String>, String) {
        let mut carry = Utf8Carry::default();
        let texts = chunks.iter().map(|chunk| carry.push(chunk)).collect();
        (texts, carry.finish())
    }

    #[test]
    fn chunks_decode_as_text_across_boundaries() {
        let euro = "€".as_bytes(); // e2 82 ac
        let crab = "🦀".as_bytes(); // f0 9f a6 80
        // (name, chunks, text of each chunk, text of the final flush)
        type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<&'a str>, &'a str);
        let cases: Vec<Case<'_>> = vec![
            ("ascii", vec![b"hello", b" world"], vec!["hello", " world"], ""),
            ("empty chunk", vec![b"", b"a"], vec!["", "a"], ""),
            ("split 1+2", vec![&euro[..1], &euro[1..]], vec!["", "€"], ""),
            ("split 2+1", vec![&euro[..2], &euro[2..]], vec!["", "€"], ""),
            ("split over three chunks", vec![&crab[..1], &crab[1..2], &crab[2..]], vec!["", "", "🦀"], ""),
            ("text before the split", vec![b"ab\xe2\x82", b"\xacc"], vec!["ab", "€c"], ""),
            ("invalid byte in the middle", vec![b"a\xffb"], vec!["a\u{fffd}b"], ""),
            ("lone continuation byte", vec![b"\x80x"], vec!["\u{fffd}x"], ""),
            ("truncated sequence followed by ascii", vec![b"\xe2\x82z"], vec!["\u{fffd}z"], ""),
            ("incomplete at the end is replaced once", vec![b"ok\xf0\x9f"], vec!["ok"], "\u{fffd}"),
            ("pending then invalid", vec![b"\xe2", b"\xffq"], vec!["", "\u{fffd}\u{fffd}q"], ""),
        ];
        for (name, chunks, want_texts, want_rest) in cases {
            let (texts, rest) = decode(&chunks);
            assert_eq!(texts, want_texts, "{name}");
            assert_eq!(rest, want_rest, "{name}");
        }
    }

    #[test]
    fn every_split_point_gives_the_whole_text() {
        let text = "a€b🦀c\u{e9}";
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let (texts, rest) = decode(&[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(texts.concat() + &rest, text, "cut at {cut}");
        }
    }

    #[test]
    fn pending_bytes_stay_bounded() {
        let mut carry = Utf8Carry::default();
        carry.push(b"\xf0\x9f\xa6");
        assert_eq!(carry.pending.len(), 3);
        // A fourth byte that does not continue the character.
        assert_eq!(carry.push(b"\xf0"), "\u{fffd}");
        assert_eq!(carry.pending.len(), 1);
    }
}
