//! Headers of `/files` that take more than a lookup: the type and name of a
//! download, and the `X-Metadata-*` headers of an upload.
//!
//! The content type comes from the extension via `mime_guess`, the closest
//! match to Go's `mime.TypeByExtension` that E2B's envd uses, without
//! depending on the capsule having a `/etc/mime.types`.

use std::collections::BTreeMap;
use std::path::Path;

use http::{HeaderMap, HeaderValue};

/// The xattr namespace of upload metadata, shared with E2B's envd.
pub(crate) const METADATA_XATTR_PREFIX: &str = "user.e2b.";
const METADATA_HEADER_PREFIX: &str = "x-metadata-";
/// Linux limits attribute names to 255 bytes.
const MAX_XATTR_NAME: usize = 255;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum InvalidMetadata {
    #[error("metadata header x-metadata-{key} must be printable ASCII")]
    Value { key: String },
    #[error("metadata key {key:?} is too long")]
    KeyTooLong { key: String },
}

/// `Content-Type` of a download, by extension.
pub(crate) fn content_type(path: &Path) -> HeaderValue {
    HeaderValue::from_static(mime_guess::from_path(path).first_raw().unwrap_or("application/octet-stream"))
}

/// `Content-Disposition: inline; filename="…"`, with quotes and backslashes
/// escaped. Names that are not printable ASCII get an ASCII stand-in (`_`
/// for every other character) plus the exact name as an RFC 8187
/// `filename*`, so no header can be broken by a file name.
pub(crate) fn content_disposition(file_name: &str) -> HeaderValue {
    let mut fallback = String::with_capacity(file_name.len());
    let mut exact = true;
    for c in file_name.chars() {
        match c {
            '"' | '\\' => {
                fallback.push('\\');
                fallback.push(c);
            }
            ' '..='~' => fallback.push(c),
            _ => {
                fallback.push('_');
                exact = false;
            }
        }
    }
    let mut value = format!("inline; filename=\"{fallback}\"");
    if !exact {
        value.push_str("; filename*=UTF-8''");
        for byte in file_name.bytes() {
            if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
                value.push(char::from(byte));
            } else {
                value.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    // Only printable ASCII was pushed above, which is always a valid value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("inline"))
}

/// The `X-Metadata-<key>: <value>` headers of an upload, keys lowercased
/// (HTTP header names are case-insensitive). An empty key is ignored and the
/// first of repeated headers wins, as in E2B's envd.
pub(crate) fn metadata(headers: &HeaderMap) -> Result<BTreeMap<String, String>, InvalidMetadata> {
    let mut metadata = BTreeMap::new();
    for name in headers.keys() {
        // `http` stores header names lowercased.
        let Some(key) = name.as_str().strip_prefix(METADATA_HEADER_PREFIX).filter(|key| !key.is_empty()) else {
            continue;
        };
        if METADATA_XATTR_PREFIX.len() + key.len() > MAX_XATTR_NAME {
            return Err(InvalidMetadata::KeyTooLong { key: key.to_owned() });
        }
        let value = headers.get(name).map(HeaderValue::to_str).transpose();
        let value = value.map_err(|_| InvalidMetadata::Value { key: key.to_owned() })?.unwrap_or_default();
        metadata.insert(key.to_owned(), value.to_owned());
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        let cases = [
            ("a.txt", "text/plain"),
            ("a.json", "application/json"),
            ("a.html", "text/html"),
            ("dir/a.PNG", "image/png"),
            ("a.tar.gz", "application/gzip"),
            ("Makefile", "application/octet-stream"),
            ("a.unknownext", "application/octet-stream"),
        ];
        for (path, want) in cases {
            assert_eq!(content_type(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn disposition_escaping() {
        let cases = [
            ("plain.txt", r#"inline; filename="plain.txt""#),
            (r#"a"b.txt"#, r#"inline; filename="a\"b.txt""#),
            (r"back\slash", r#"inline; filename="back\\slash""#),
            ("new\nline", r#"inline; filename="new_line"; filename*=UTF-8''new%0Aline"#),
            ("€ rates.txt", r#"inline; filename="_ rates.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt"#),
            ("", r#"inline; filename="""#),
        ];
        for (name, want) in cases {
            assert_eq!(content_disposition(name), want, "{name:?}");
        }
    }

    #[test]
    fn metadata_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Metadata-Author", HeaderValue::from_static("mish"));
        headers.append("x-metadata-author", HeaderValue::from_static("second"));
        headers.insert("X-Metadata-", HeaderValue::from_static("ignored"));
        headers.insert("X-Metadata-Purpose", HeaderValue::from_static("upload"));
        headers.insert("Content-Type", HeaderValue::from_static("application/octet-stream"));
        let want: BTreeMap<String, String> =
            [("author", "mish"), ("purpose", "upload")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        assert_eq!(metadata(&headers), Ok(want));

        let mut headers = HeaderMap::new();
        headers.insert("x-metadata-k", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(metadata(&headers), Err(InvalidMetadata::Value { key: "k".to_owned() }));

        let mut headers = HeaderMap::new();
        let long = format!("x-metadata-{}", "k".repeat(250));
        headers.insert(http::HeaderName::from_bytes(long.as_bytes()).unwrap(), HeaderValue::from_static("v"));
        assert!(matches!(metadata(&headers), Err(InvalidMetadata::KeyTooLong { .. })));
    }
}
