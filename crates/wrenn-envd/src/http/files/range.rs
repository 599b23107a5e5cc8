//! `Range` requests on downloads: a single byte range, which is what
//! resumable and partial downloads send.
//!
//! Anything else (another unit, several ranges, bad syntax) is ignored and
//! the whole file is sent, which RFC 9110 §14.2 allows; several ranges would
//! need a `multipart/byteranges` body that no client of envd asks for.

/// What to send of a file of known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteRange {
    Whole,
    /// Bytes `start..=end`, both within the file.
    Part {
        start: u64,
        end: u64,
    },
    /// A well-formed range that lies outside the file: 416.
    Unsatisfiable,
}

/// Interprets a `Range` header for a file of `size` bytes.
pub(crate) fn parse(header: &str, size: u64) -> ByteRange {
    let header = header.trim();
    let Some(spec) = header.get(..6).filter(|unit| unit.eq_ignore_ascii_case("bytes=")).map(|_| &header[6..]) else {
        return ByteRange::Whole;
    };
    if spec.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return ByteRange::Whole };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // A suffix: the last `n` bytes.
        return match number(last) {
            None => ByteRange::Whole,
            Some(0) => ByteRange::Unsatisfiable,
            Some(_) if size == 0 => ByteRange::Unsatisfiable,
            Some(n) => ByteRange::Part { start: size.saturating_sub(n), end: size - 1 },
        };
    }
    let Some(start) = number(first) else { return ByteRange::Whole };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(end) if end >= start => Some(end),
            _ => return ByteRange::Whole,
        }
    };
    if start >= size {
        return ByteRange::Unsatisfiable;
    }
    ByteRange::Part { start, end: end.map_or(size - 1, |end| end.min(size - 1)) }
}

/// Digits only: `u64::from_str` would also take a leading `+`.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_table() {
        use ByteRange::{Part, Unsatisfiable, Whole};
        let cases: &[(&str, u64, ByteRange)] = &[
            ("bytes=0-0", 10, Part { start: 0, end: 0 }),
            ("bytes=2-5", 10, Part { start: 2, end: 5 }),
            ("BYTES=2-5", 10, Part { start: 2, end: 5 }),
            ("bytes= 2 - 5 ", 10, Part { start: 2, end: 5 }),
            ("bytes=2-", 10, Part { start: 2, end: 9 }),
            ("bytes=2-100", 10, Part { start: 2, end: 9 }),
            ("bytes=0-", 10, Part { start: 0, end: 9 }),
            ("bytes=-3", 10, Part { start: 7, end: 9 }),
            ("bytes=-100", 10, Part { start: 0, end: 9 }),
            ("bytes=9-9", 10, Part { start: 9, end: 9 }),
            ("bytes=10-", 10, Unsatisfiable),
            ("bytes=10-20", 10, Unsatisfiable),
            ("bytes=-0", 10, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=5-2", 10, Whole),
            ("bytes=0-1,4-5", 10, Whole),
            ("items=0-1", 10, Whole),
            ("bytes=abc", 10, Whole),
            ("bytes=+1-2", 10, Whole),
            ("bytes=1-+2", 10, Whole),
            ("bytes=-", 10, Whole),
            ("bytes", 10, Whole),
            ("", 10, Whole),
            ("bytes=99999999999999999999-", 10, Whole),
        ];
        for (header, size, want) in cases {
            assert_eq!(parse(header, *size), *want, "{header:?} of {size}");
        }
    }
}
