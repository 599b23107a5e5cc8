//! A streaming `multipart/form-data` reader with bounded memory.
//!
//! Upload bodies can be gigabytes and may be gzip-decoded on the fly, so the
//! reader holds at most one input chunk plus a delimiter's length of part
//! data, skips preambles and unwanted parts without keeping them, and caps
//! each part's header block. Only what `/files` needs is parsed: the `name`
//! and `filename` of each part's `Content-Disposition`. The filename is kept
//! verbatim, directories included, because E2B's SDKs put the destination
//! path there. Grammar: RFC 2046 §5.1.1 and RFC 7578.
//!
//! A general-purpose parser (`multer`) was not used because it buffers a
//! part's header block without limit and drains every ready input chunk in
//! one go, which with a gzip-decoded body means unbounded memory.

use std::io;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use memchr::memmem;

/// Largest header block of one part.
pub(crate) const MAX_PART_HEADER_BYTES: usize = 16 * 1024;
/// RFC 2046 allows boundaries of 1 to 70 characters.
const MAX_BOUNDARY_LEN: usize = 70;
/// Whitespace allowed between a delimiter and its line end.
const MAX_TRANSPORT_PADDING: usize = 256;

#[derive(Debug, thiserror::Error)]
pub(crate) enum MultipartError {
    /// The body itself failed (disconnect, timeout, invalid gzip).
    #[error("cannot read the multipart body")]
    Body(#[source] io::Error),
    #[error("multipart content type without a valid boundary")]
    InvalidBoundary,
    #[error("the body contains no multipart boundary")]
    NoBoundaryInBody,
    #[error("malformed multipart boundary line")]
    MalformedDelimiter,
    #[error("the headers of a multipart part exceed {MAX_PART_HEADER_BYTES} bytes")]
    HeadersTooLarge,
    #[error("malformed multipart part header")]
    MalformedHeader,
    #[error("the multipart body ends before its closing boundary")]
    Truncated,
}

/// The interesting headers of one part.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) name: Option<String>,
    pub(crate) file_name: Option<String>,
}

/// Reads parts, and then each part's data, from a body stream.
pub(crate) struct MultipartReader<S> {
    body: S,
    buf: BytesMut,
    /// `CRLF "--" boundary`.
    delimiter: memmem::Finder<'static>,
    state: State,
    body_done: bool,
}

impl<S> std::fmt::Debug for MultipartReader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartReader").field("state", &self.state).field("buffered", &self.buf.len()).finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Right after a delimiter: either `--` (the end) or a new part follows.
    AfterDelimiter,
    /// Inside a part's data.
    Data,
    /// After the closing delimiter; the epilogue is never read.
    Done,
}

/// The boundary of a `multipart/*` content type.
pub(crate) fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let boundary = parameters(content_type)
        .into_iter()
        .find_map(|(name, value)| (name == "boundary").then_some(value))
        .ok_or(MultipartError::InvalidBoundary)?;
    if boundary.is_empty() || boundary.len() > MAX_BOUNDARY_LEN || boundary.contains(['\r', '\n']) {
        return Err(MultipartError::InvalidBoundary);
    }
    Ok(boundary)
}

impl<S> MultipartReader<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    pub(crate) fn new(body: S, boundary: &str) -> MultipartReader<S> {
        let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
        MultipartReader {
            body,
            // The first delimiter may open the body without a line break in
            // front; a virtual one lets it match like all the others.
            buf: BytesMut::from(&b"\r\n"[..]),
            delimiter: memmem::Finder::new(&delimiter).into_owned(),
            state: State::Preamble,
            body_done: false,
        }
    }

    /// Moves to the next part, skipping what is left of the current one.
    /// `None` after the closing delimiter.
    pub(crate) async fn next_part(&mut self) -> Result<Option<Part>, MultipartError> {
        loop {
            match self.state {
                State::Done => return Ok(None),
                State::Data => while self.next_chunk().await?.is_some() {},
                State::Preamble => match self.delimiter.find(&self.buf) {
                    Some(at) => {
                        self.buf.advance(at + self.delimiter_len());
                        self.state = State::AfterDelimiter;
                    }
                    None => {
                        let keep = self.delimiter_len() - 1;
                        if self.buf.len() > keep {
                            let skip = self.buf.len() - keep;
                            self.buf.advance(skip);
                        }
                        if !self.fill().await? {
                            return Err(MultipartError::NoBoundaryInBody);
                        }
                    }
                },
                State::AfterDelimiter => {
                    if !self.finish_delimiter_line().await? {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    let part = self.read_headers().await?;
                    self.state = State::Data;
                    return Ok(Some(part));
                }
            }
        }
    }

    /// The next piece of the current part's data; `None` at its end.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>, MultipartError> {
        if self.state != State::Data {
            return Ok(None);
        }
        loop {
            if let Some(at) = self.delimiter.find(&self.buf) {
                let data = self.buf.split_to(at).freeze();
                self.buf.advance(self.delimiter_len());
                self.state = State::AfterDelimiter;
                return Ok((!data.is_empty()).then_some(data));
            }
            // Everything but a possible start of the delimiter is data.
            let safe = self.buf.len().saturating_sub(self.delimiter_len() - 1);
            if safe > 0 {
                return Ok(Some(self.buf.split_to(safe).freeze()));
            }
            if !self.fill().await? {
                return Err(MultipartError::Truncated);
            }
        }
    }

    fn delimiter_len(&self) -> usize {
        self.delimiter.needle().len()
    }

    /// Consumes the rest of a delimiter line: false for the closing `--`,
    /// true for padding and CRLF before a part.
    async fn finish_delimiter_line(&mut self) -> Result<bool, MultipartError> {
        loop {
            if self.buf.starts_with(b"--") {
                return Ok(false);
            }
            if let Some(at) = memmem::find(&self.buf, b"\r\n") {
                if !self.buf[..at].iter().all(|b| *b == b' ' || *b == b'\t') {
                    return Err(MultipartError::MalformedDelimiter);
                }
                self.buf.advance(at + 2);
                return Ok(true);
            }
            if self.buf.len() > MAX_TRANSPORT_PADDING {
                return Err(MultipartError::MalformedDelimiter);
            }
            if !self.fill().await? {
                return Err(MultipartError::Truncated);
            }
        }
    }

    /// Reads header lines up to the empty line that ends them.
    async fn read_headers(&mut self) -> Result<Part, MultipartError> {
        let mut part = Part::default();
        let mut consumed = 0;
        loop {
            let Some(at) = memmem::find(&self.buf, b"\r\n") else {
                if consumed + self.buf.len() > MAX_PART_HEADER_BYTES {
                    return Err(MultipartError::HeadersTooLarge);
                }
                if !self.fill().await? {
                    return Err(MultipartError::Truncated);
                }
                continue;
            };
            consumed += at + 2;
            if consumed > MAX_PART_HEADER_BYTES {
                return Err(MultipartError::HeadersTooLarge);
            }
            let line = self.buf.split_to(at);
            self.buf.advance(2);
            if line.is_empty() {
                return Ok(part);
            }
            let line = std::str::from_utf8(&line).map_err(|_| MultipartError::MalformedHeader)?;
            let (name, value) = line.split_once(':').ok_or(MultipartError::MalformedHeader)?;
            // Folded continuation lines are obsolete (RFC 7578 §4.8 forbids
            // them in form data) and so is whitespace before the colon.
            if name.is_empty() || name.starts_with([' ', '\t']) || name.ends_with([' ', '\t']) {
                return Err(MultipartError::MalformedHeader);
            }
            if name.eq_ignore_ascii_case("content-disposition") {
                (part.name, part.file_name) = disposition(value);
            }
        }
    }

    /// Appends the next non-empty body chunk; false at the end of the body.
    async fn fill(&mut self) -> Result<bool, MultipartError> {
        while !self.body_done {
            match self.body.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    self.buf.extend_from_slice(&chunk);
                    return Ok(true);
                }
                Some(Err(err)) => return Err(MultipartError::Body(err)),
                None => self.body_done = true,
            }
        }
        Ok(false)
    }
}

/// `name` and `filename` of a `Content-Disposition` value. An RFC 8187
/// `filename*` in UTF-8 takes precedence over `filename` (RFC 7578 §4.2).
fn disposition(value: &str) -> (Option<String>, Option<String>) {
    let (mut name, mut file_name, mut extended) = (None, None, None);
    for (param, value) in parameters(value) {
        match param.as_str() {
            "name" => name = Some(value),
            "filename" => file_name = Some(value),
            "filename*" => extended = decode_extended(&value),
            _ => {}
        }
    }
    (name, extended.or(file_name))
}

/// `UTF-8'<language>'<percent-encoded>`; other charsets are ignored.
fn decode_extended(value: &str) -> Option<String> {
    let mut fields = value.splitn(3, '\'');
    let (charset, _language, encoded) = (fields.next()?, fields.next()?, fields.next()?);
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// The `; name=value` parameters after a header's main value, names
/// lowercased, quoted strings unquoted (`\x` stands for `x`).
fn parameters(header: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = header.chars().peekable();
    // Skip the main value (`form-data`, `multipart/form-data`).
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ';').is_some() {}
        if chars.peek().is_none() {
            return params;
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ';') {
            name.push(c);
        }
        let name = name.trim().to_ascii_lowercase();
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
            // Anything between the closing quote and the next `;` is junk.
            while chars.next_if(|c| *c != ';').is_some() {}
        } else {
            while let Some(c) = chars.next_if(|c| *c != ';') {
                value.push(c);
            }
            value = value.trim().to_owned();
        }
        if !name.is_empty() {
            params.push((name, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `body` in chunks of `chunk` bytes and collects every part.
    async fn parse(body: &[u8], chunk: usize) -> Result<Vec<(Part, Vec<u8>)>, MultipartError> {
        let chunks: Vec<io::Result<Bytes>> = body.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let mut reader = MultipartReader::new(futures::stream::iter(chunks), "XyZ");
        let mut parts = Vec::new();
        while let Some(part) = reader.next_part().await? {
            let mut data = Vec::new();
            while let Some(chunk) = reader.next_chunk().await? {
                assert!(!chunk.is_empty());
                data.extend_from_slice(&chunk);
            }
            parts.push((part, data));
        }
        Ok(parts)
    }

    fn part(name: &str, file_name: Option<&str>) -> Part {
        Part { name: Some(name.to_owned()), file_name: file_name.map(str::to_owned) }
    }

    #[tokio::test]
    async fn parses_parts_at_every_chunk_size() {
        let body = b"preamble\r\n--XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"dir/a.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            hello\r\n--XyZ but not a delimiter\r\nstill data\r\n\
            --XyZ  \r\n\
            content-disposition: form-data; name=note\r\n\r\n\
            \r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"empty\"\r\n\r\n\
            \r\n--XyZ--\r\nepilogue";
        let want = vec![
            (part("file", Some("dir/a.txt")), b"hello\r\n--XyZ but not a delimiter\r\nstill data".to_vec()),
            (part("note", None), b"".to_vec()),
            (part("file", Some("empty")), b"".to_vec()),
        ];
        // "--XyZ but" is the delimiter followed by junk: that is malformed.
        assert!(matches!(parse(body, 1000).await, Err(MultipartError::MalformedDelimiter)));

        let body = String::from_utf8_lossy(body).replace("--XyZ but not", "--Xy but not");
        let mut want = want;
        want[0].1 = b"hello\r\n--Xy but not a delimiter\r\nstill data".to_vec();
        for chunk in [1, 2, 3, 5, 7, 16, 64, 4096] {
            assert_eq!(parse(body.as_bytes(), chunk).await.unwrap(), want, "chunk size {chunk}");
        }
    }

    #[tokio::test]
    async fn body_may_start_with_the_boundary() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(parse(body, 3).await.unwrap(), vec![(part("file", Some("f")), b"x".to_vec())]);
    }

    type Check = fn(&MultipartError) -> bool;

    #[tokio::test]
    async fn rejects_malformed_bodies() {
        let cases: &[(&[u8], Check)] = &[
            (b"no boundary at all", |e| matches!(e, MultipartError::NoBoundaryInBody)),
            (b"", |e| matches!(e, MultipartError::NoBoundaryInBody)),
            (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated", |e| {
                matches!(e, MultipartError::Truncated)
            }),
            (b"--XyZ\r\nContent-Disposition: form-data", |e| matches!(e, MultipartError::Truncated)),
            (b"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--", |e| matches!(e, MultipartError::MalformedHeader)),
            (b"--XyZ\r\n folded: header\r\n\r\nx\r\n--XyZ--", |e| matches!(e, MultipartError::MalformedHeader)),
            (b"--XyZjunk\r\n\r\nx\r\n--XyZ--", |e| matches!(e, MultipartError::MalformedDelimiter)),
        ];
        for (body, check) in cases {
            let err = parse(body, 4).await.unwrap_err();
            assert!(check(&err), "{:?}: {err:?}", String::from_utf8_lossy(body));
        }
    }

    #[tokio::test]
    async fn caps_part_headers() {
        let mut body = b"--XyZ\r\nX-Big: ".to_vec();
        body.extend(std::iter::repeat_n(b'a', MAX_PART_HEADER_BYTES));
        body.extend_from_slice(b"\r\n\r\nx\r\n--XyZ--");
        assert!(matches!(parse(&body, 1024).await, Err(MultipartError::HeadersTooLarge)));
        // Without any line break the reader gives up just as early.
        let body = [b"--XyZ\r\n".as_slice(), &vec![b'a'; 10 * MAX_PART_HEADER_BYTES]].concat();
        assert!(matches!(parse(&body, 1024).await, Err(MultipartError::HeadersTooLarge)));
    }

    #[tokio::test]
    async fn body_errors_are_passed_on() {
        let chunks: Vec<io::Result<Bytes>> = vec![
            Ok(Bytes::from_static(b"--XyZ\r\nContent-Disposition: form-data; name=file\r\n\r\nabc")),
            Err(io::Error::from(io::ErrorKind::ConnectionAborted)),
        ];
        let mut reader = MultipartReader::new(futures::stream::iter(chunks), "XyZ");
        assert!(reader.next_part().await.unwrap().is_some());
        let mut result = Ok(None);
        for _ in 0..3 {
            result = reader.next_chunk().await;
            if result.is_err() {
                break;
            }
        }
        assert!(matches!(result, Err(MultipartError::Body(e)) if e.kind() == io::ErrorKind::ConnectionAborted));
    }

    #[test]
    fn boundaries() {
        assert_eq!(boundary("multipart/form-data; boundary=abc").unwrap(), "abc");
        assert_eq!(boundary("multipart/form-data; charset=utf-8; BOUNDARY=\"a b:c\"").unwrap(), "a b:c");
        assert!(boundary("multipart/form-data").is_err());
        assert!(boundary("multipart/form-data; boundary=").is_err());
        assert!(boundary(&format!("multipart/form-data; boundary={}", "a".repeat(71))).is_err());
    }

    #[test]
    fn dispositions() {
        type Names<'a> = (Option<&'a str>, Option<&'a str>);
        let cases: &[(&str, Names<'_>)] = &[
            (r#"form-data; name="file"; filename="a/b c.txt""#, (Some("file"), Some("a/b c.txt"))),
            (r#"form-data; name=file; filename=plain"#, (Some("file"), Some("plain"))),
            (r#"form-data; name="file"; filename="q\"uote\\d""#, (Some("file"), Some(r#"q"uote\d"#))),
            (r#"form-data; name="file"; filename="semi;colon""#, (Some("file"), Some("semi;colon"))),
            (r#"form-data;name="file";filename="""#, (Some("file"), Some(""))),
            (r#"form-data; NAME="file"; FileName="x""#, (Some("file"), Some("x"))),
            (
                r#"form-data; name="file"; filename="fallback"; filename*=UTF-8''%E2%82%AC%20rates"#,
                (Some("file"), Some("€ rates")),
            ),
            (r#"form-data; name="file"; filename="f"; filename*=ISO-8859-1''%A3"#, (Some("file"), Some("f"))),
            (r#"form-data; name="file"; filename*=UTF-8''bad%2"#, (Some("file"), None)),
            ("form-data", (None, None)),
            ("form-data; name", (None, None)),
        ];
        for (value, (name, file_name)) in cases {
            let got = disposition(value);
            assert_eq!((got.0.as_deref(), got.1.as_deref()), (*name, *file_name), "{value}");
        }
    }
}
