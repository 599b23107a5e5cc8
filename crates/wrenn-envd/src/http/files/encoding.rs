//! Content codings of `/files`: which coding a download is sent in, and
//! which coding an upload body arrives in.
//!
//! Only gzip is offered, as in E2B's envd. Negotiation follows RFC 9110
//! §12.5.3 with E2B's preferences: gzip listed explicitly wins over identity
//! at equal weight; `*` alone keeps identity unless identity is refused; a
//! request that refuses identity and accepts nothing envd has gets a 406.
//! Weights are kept in thousandths, as the RFC defines them, so no floating
//! point is involved.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("no acceptable content encoding: envd can send gzip or identity")]
pub(crate) struct NotAcceptable;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unsupported content encoding {encoding:?}: envd accepts gzip or identity")]
pub(crate) struct UnsupportedEncoding {
    encoding: String,
}

/// Picks the coding of a download from its `Accept-Encoding` header.
pub(crate) fn negotiate(accept_encoding: Option<&str>) -> Result<Coding, NotAcceptable> {
    let Some(header) = accept_encoding else { return Ok(Coding::Identity) };
    let (mut gzip, mut identity, mut any) = (None, None, None);
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let Some(weight) = weight(parts) else { continue };
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut gzip
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut identity
        } else if coding == "*" {
            &mut any
        } else {
            continue;
        };
        *slot = Some(slot.map_or(weight, |old: u16| old.max(weight)));
    }
    if let Some(gzip) = gzip
        && gzip > 0
        && gzip >= identity.unwrap_or(0)
    {
        return Ok(Coding::Gzip);
    }
    let identity_acceptable = match identity {
        Some(weight) => weight > 0,
        None => any != Some(0),
    };
    if identity_acceptable {
        return Ok(Coding::Identity);
    }
    if gzip.is_none() && any.is_some_and(|weight| weight > 0) {
        return Ok(Coding::Gzip);
    }
    Err(NotAcceptable)
}

/// Reads an upload body's `Content-Encoding`. Several codings would mean
/// several layers; only a single gzip layer (plus identity) is supported.
pub(crate) fn body_coding(content_encoding: Option<&str>) -> Result<Coding, UnsupportedEncoding> {
    let Some(header) = content_encoding else { return Ok(Coding::Identity) };
    let mut codings = header.split(',').map(str::trim).filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    match (codings.next(), codings.next()) {
        (None, _) => Ok(Coding::Identity),
        (Some(coding), None) if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") => {
            Ok(Coding::Gzip)
        }
        _ => Err(UnsupportedEncoding { encoding: header.to_owned() }),
    }
}

/// The `q` weight of one list item in thousandths; 1000 without one, `None`
/// when it is malformed (the item is then ignored).
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for param in params {
        let Some((name, value)) = param.split_once('=') else { continue };
        if name.trim().eq_ignore_ascii_case("q") {
            weight = parse_qvalue(value.trim())?;
        }
    }
    Some(weight)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
fn parse_qvalue(value: &str) -> Option<u16> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths =
        frac.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_table() {
        use Coding::{Gzip, Identity};
        let cases: &[(Option<&str>, Result<Coding, NotAcceptable>)] = &[
            (None, Ok(Identity)),
            (Some(""), Ok(Identity)),
            (Some("gzip"), Ok(Gzip)),
            (Some("gzip, deflate"), Ok(Gzip)),
            (Some("deflate, gzip, br, zstd"), Ok(Gzip)),
            (Some("GZIP"), Ok(Gzip)),
            (Some("x-gzip"), Ok(Gzip)),
            (Some(" gzip ; q=1.0 "), Ok(Gzip)),
            (Some("deflate, br"), Ok(Identity)),
            (Some("gzip;q=0"), Ok(Identity)),
            (Some("gzip;q=0.5"), Ok(Gzip)),
            (Some("gzip;q=0.5, identity"), Ok(Identity)),
            (Some("identity;q=0.5, gzip;q=0.8"), Ok(Gzip)),
            (Some("identity, gzip"), Ok(Gzip)),
            (Some("identity"), Ok(Identity)),
            (Some("*"), Ok(Identity)),
            (Some("*;q=0"), Err(NotAcceptable)),
            (Some("identity;q=0"), Err(NotAcceptable)),
            (Some("br, identity;q=0"), Err(NotAcceptable)),
            (Some("gzip;q=0, identity;q=0"), Err(NotAcceptable)),
            (Some("identity;q=0, gzip"), Ok(Gzip)),
            (Some("*, identity;q=0"), Ok(Gzip)),
            (Some("*;q=0.2, identity;q=0"), Ok(Gzip)),
            (Some("gzip;q=0, *"), Ok(Identity)),
            (Some("gzip;q=0, *, identity;q=0"), Err(NotAcceptable)),
            // Malformed weights make the item count as absent.
            (Some("gzip;q=abc"), Ok(Identity)),
            (Some("gzip;q=1.5"), Ok(Identity)),
            (Some("gzip;q=0.0001"), Ok(Identity)),
            (Some("identity;q=-1"), Ok(Identity)),
        ];
        for (header, want) in cases {
            assert_eq!(negotiate(*header), *want, "{header:?}");
        }
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0."), Some(0));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("2"), None);
        assert_eq!(parse_qvalue(""), None);
        assert_eq!(parse_qvalue("0.+1"), None);
    }

    #[test]
    fn upload_codings() {
        assert_eq!(body_coding(None), Ok(Coding::Identity));
        assert_eq!(body_coding(Some("identity")), Ok(Coding::Identity));
        assert_eq!(body_coding(Some("")), Ok(Coding::Identity));
        assert_eq!(body_coding(Some("gzip")), Ok(Coding::Gzip));
        assert_eq!(body_coding(Some("X-Gzip")), Ok(Coding::Gzip));
        assert_eq!(body_coding(Some("identity, gzip")), Ok(Coding::Gzip));
        assert!(body_coding(Some("br")).is_err());
        assert!(body_coding(Some("gzip, gzip")).is_err());
        assert!(body_coding(Some("deflate")).is_err());
    }
}
