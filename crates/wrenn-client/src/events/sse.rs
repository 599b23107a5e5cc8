//! The Server-Sent Events framing of `GET /v1/events/stream`, read the way
//! the SDK contract (§8) reads it, as a pure byte-in, payloads-out state
//! machine so that every rule is table-tested without a server:
//!
//! - lines end with `\n`, `\r\n` or `\r`, wherever the network cut the
//!   chunks (a `\r` ending one chunk and a `\n` starting the next are one
//!   line end);
//! - `data:` lines are collected without the prefix and its leading
//!   spaces; a line must start exactly with `data:`;
//! - comments (`:` keepalives), `event:`, `id:`, `retry:` and anything else
//!   are skipped: the kind travels in the JSON;
//! - a blank line ends an event: its data lines joined with `\n` are one
//!   payload (a blank line after no data line is nothing);
//! - memory is bounded: a line, or an event's data, longer than the limit
//!   is an error instead of a buffer that grows with whatever the peer sends.

/// The default limit of one line and of one event's data (1 MiB), far
/// above any event the server sends (a capsule and a few labels).
pub(crate) const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// A stream that breaks the limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// A line grew past the limit without ending.
    #[error("a line of the event stream is longer than {limit} bytes")]
    LineTooLong { limit: usize },
    /// An event's data lines add up to more than the limit.
    #[error("an event of the stream is larger than {limit} bytes")]
    EventTooLarge { limit: usize },
}

/// Turns the bytes of an event stream into the events' data payloads.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// The line being read (without its end).
    line: Vec<u8>,
    /// The data lines of the event being read, joined with `\n`.
    data: String,
    /// Whether the event being read has a data line (`data:` alone is one).
    has_data: bool,
    /// The last line ended with `\r`: a `\n` right after it is part of that end.
    after_cr: bool,
    limit: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::with_limit(MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser that refuses lines and events longer than `limit` bytes.
    pub(crate) fn with_limit(limit: usize) -> SseParser {
        SseParser { line: Vec::new(), data: String::new(), has_data: false, after_cr: false, limit }
    }

    /// Reads one chunk and returns the payloads of the events it completed.
    /// After an error the parser's state is unspecified: end the stream.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<String>, SseError> {
        let mut payloads = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&byte| byte == b'\n' || byte == b'\r') else {
                self.append(rest)?;
                break;
            };
            self.append(&rest[..end])?;
            let ended_with_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if ended_with_cr {
                match rest {
                    [b'\n', tail @ ..] => rest = tail,
                    [] => self.after_cr = true,
                    _ => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(payload) = self.end_line(&line)? {
                payloads.push(payload);
            }
            // Keep the buffer's allocation for the next line.
            self.line = line;
            self.line.clear();
        }
        Ok(payloads)
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > self.limit {
            self.line = Vec::new();
            return Err(SseError::LineTooLong { limit: self.limit });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Handles one complete line; a blank one may complete an event.
    fn end_line(&mut self, line: &[u8]) -> Result<Option<String>, SseError> {
        if line.is_empty() {
            if !self.has_data {
                return Ok(None);
            }
            self.has_data = false;
            return Ok(Some(std::mem::take(&mut self.data)));
        }
        let Some(value) = line.strip_prefix(b"data:") else {
            return Ok(None);
        };
        let start = value.iter().position(|&byte| byte != b' ').unwrap_or(value.len());
        let text = String::from_utf8_lossy(&value[start..]);
        let separator = usize::from(self.has_data);
        if self.data.len() + separator + text.len() > self.limit {
            self.data = String::new();
            self.has_data = false;
            return Err(SseError::EventTooLarge { limit: self.limit });
        }
        if self.has_data {
            self.data.push('\n');
        }
        self.data.push_str(&text);
        self.has_data = true;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every payload of `input`, fed in the given chunks.
    fn parse_chunks(chunks: &[&[u8]]) -> Result<Vec<String>, SseError> {
        let mut parser = SseParser::default();
        let mut payloads = Vec::new();
        for chunk in chunks {
            payloads.extend(parser.feed(chunk)?);
        }
        Ok(payloads)
    }

    #[test]
    fn frames_become_payloads_wherever_the_chunks_are_cut() {
        let cases: &[(&str, &[&str])] = &[
            ("data: {\"a\":1}\n\n", &["{\"a\":1}"]),
            ("data: x\r\n\r\n", &["x"]),
            ("data: x\r\rdata: y\r\r", &["x", "y"]),
            ("data: a\ndata: b\n\n", &["a\nb"]),
            ("data: a\r\ndata: b\r\n\r\n", &["a\nb"]),
            (": keepalive\n\ndata: x\n\n", &["x"]),
            ("event: capsule.create\ndata: x\n\n", &["x"]),
            ("id: 7\nretry: 10\ndata: x\n\n", &["x"]),
            ("data:x\n\n", &["x"]),
            ("data:   x \n\n", &["x "]),
            (" data: x\n\n", &[]),
            ("DATA: x\n\n", &[]),
            ("data: x\n", &[]),
            ("data: x", &[]),
            ("data:\n\n", &[""]),
            ("data:\ndata:\n\n", &["\n"]),
            ("\n\n\r\n\r", &[]),
            ("data: a\n\n\n\ndata: b\n\n", &["a", "b"]),
            ("data: é ✓\n\n", &["é ✓"]),
            ("data: a\n: note\ndata: b\n\n", &["a\nb"]),
            ("event: x\n\n", &[]),
        ];
        for (input, want) in cases {
            let bytes = input.as_bytes();
            let want: Vec<String> = want.iter().map(|payload| (*payload).to_owned()).collect();
            assert_eq!(parse_chunks(&[bytes]).unwrap(), want, "whole {input:?}");
            for cut in 0..=bytes.len() {
                let (head, tail) = bytes.split_at(cut);
                assert_eq!(parse_chunks(&[head, tail]).unwrap(), want, "{input:?} cut at {cut}");
            }
            let singles: Vec<&[u8]> = bytes.chunks(1).collect();
            assert_eq!(parse_chunks(&singles).unwrap(), want, "{input:?} byte by byte");
        }
    }

    #[test]
    fn a_cr_ending_a_chunk_then_a_lone_lf_is_one_line_end() {
        // `\r` | `\n\n`: the first `\n` belongs to the `\r`; the second ends the event.
        assert_eq!(parse_chunks(&[b"data: x\r", b"\n\n"]).unwrap(), ["x"]);
        // `\r` | `\r`: two line ends, so the event ends.
        assert_eq!(parse_chunks(&[b"data: x\r", b"\r"]).unwrap(), ["x"]);
        // `\r` | `` | `\n`: an empty chunk in between does not forget the `\r`.
        assert_eq!(parse_chunks(&[b"data: x\r", b"", b"\n", b"\n"]).unwrap(), ["x"]);
    }

    #[test]
    fn lines_and_events_are_bounded() {
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.feed(b"data: 0123456789").unwrap(), Vec::<String>::new());
        assert_eq!(parser.feed(b"\n\n").unwrap(), ["0123456789"]);
        // Exactly the limit is fine; one byte more is not, even when split.
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.feed(b"data: 0123456789\n\n").unwrap(), ["0123456789"]);
        let mut parser = SseParser::with_limit(16);
        parser.feed(b"data: 01234567").unwrap();
        assert_eq!(parser.feed(b"89a"), Err(SseError::LineTooLong { limit: 16 }));
        // Many short data lines cannot add up to more than the limit either.
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.feed(b"data: 0123456\ndata: 0123456\ndata: x\n"), Err(SseError::EventTooLarge { limit: 16 }));
        // Comments count too: a keepalive never ending is refused.
        let mut parser = SseParser::with_limit(16);
        assert_eq!(parser.feed(&[b':'; 17]), Err(SseError::LineTooLong { limit: 16 }));
    }

    #[test]
    fn a_giant_line_without_an_end_fails_at_the_default_limit() {
        let mut parser = SseParser::default();
        let chunk = vec![b'x'; 64 * 1024];
        let mut fed = 0;
        let failure = loop {
            match parser.feed(&chunk) {
                Ok(payloads) => assert!(payloads.is_empty()),
                Err(failure) => break failure,
            }
            fed += chunk.len();
            assert!(fed <= MAX_EVENT_BYTES, "still buffering after {fed} bytes");
        };
        assert_eq!(failure, SseError::LineTooLong { limit: MAX_EVENT_BYTES });
        assert!(parser.line.capacity() <= MAX_EVENT_BYTES);
    }
}
