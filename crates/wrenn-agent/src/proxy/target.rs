//! Parsing `/proxy/{capsule_id}/{port}/{rest…}` and building the upstream URI.
//!
//! Pure string work, table-tested. The path is taken raw (not
//! percent-decoded) so that `rest` reaches the capsule byte for byte.

use std::net::SocketAddr;

use http::Uri;
use wrenn_types::CapsuleId;

use crate::proxy::ProxyError;

const PREFIX: &str = "/proxy/";

/// A parsed proxy path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProxyPath<'a> {
    pub(crate) capsule_id: CapsuleId,
    pub(crate) port: u16,
    /// Everything after the port, including its leading `/`; may be empty.
    pub(crate) rest: &'a str,
}

impl<'a> ProxyPath<'a> {
    pub(crate) fn parse(path: &'a str) -> Result<ProxyPath<'a>, ProxyError> {
        let not_proxy = || ProxyError::NotAProxyPath { path: path.to_owned() };
        let after_prefix = path.strip_prefix(PREFIX).ok_or_else(not_proxy)?;
        let (raw_id, after_id) = after_prefix.split_once('/').ok_or_else(not_proxy)?;
        let (raw_port, rest) = match after_id.find('/') {
            Some(slash) => after_id.split_at(slash),
            None => (after_id, ""),
        };
        let capsule_id = raw_id
            .parse::<CapsuleId>()
            .map_err(|source| ProxyError::InvalidCapsuleId { raw: raw_id.to_owned(), source })?;
        let port = parse_port(raw_port).ok_or_else(|| ProxyError::InvalidPort { raw: raw_port.to_owned() })?;
        Ok(ProxyPath { capsule_id, port, rest })
    }
}

/// `http://{upstream}{rest}?{query}`, with `/` for an empty `rest`.
pub(crate) fn upstream_uri(upstream: SocketAddr, rest: &str, query: Option<&str>) -> Result<Uri, ProxyError> {
    let path = if rest.is_empty() { "/" } else { rest };
    let uri = match query {
        Some(query) => format!("http://{upstream}{path}?{query}"),
        None => format!("http://{upstream}{path}"),
    };
    uri.parse::<Uri>().map_err(|source| ProxyError::InvalidUri { uri, source })
}

/// The path prefix under which the client sees the capsule's port.
pub(crate) fn public_prefix(capsule_id: &CapsuleId, port: u16) -> String {
    format!("{PREFIX}{capsule_id}/{port}")
}

/// Only plain decimal digits, 1 to 65535 (no sign, no leading `+`).
fn parse_port(raw: &str) -> Option<u16> {
    if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<u16>().ok().filter(|&port| port != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "cl-000000000000000000000000z";

    #[test]
    fn parses_paths() {
        let id = CapsuleId::from_u128(35);
        let cases = [
            (format!("/proxy/{ID}/8080"), 8080, ""),
            (format!("/proxy/{ID}/8080/"), 8080, "/"),
            (format!("/proxy/{ID}/1/a/b%20c"), 1, "/a/b%20c"),
            (format!("/proxy/{ID}/65535//x"), 65535, "//x"),
        ];
        for (path, port, rest) in &cases {
            assert_eq!(ProxyPath::parse(path).unwrap(), ProxyPath { capsule_id: id, port: *port, rest }, "{path}");
        }
    }

    #[test]
    fn rejects_bad_paths() {
        let cases = [
            ("/other/x".to_owned(), "invalid_path"),
            ("/proxy/justone".to_owned(), "invalid_path"),
            ("/proxy/cl-short/80".to_owned(), "invalid_capsule_id"),
            (format!("/proxy/{ID}/0/x"), "invalid_port"),
            (format!("/proxy/{ID}/65536"), "invalid_port"),
            (format!("/proxy/{ID}/+80"), "invalid_port"),
            (format!("/proxy/{ID}/080080"), "invalid_port"),
            (format!("/proxy/{ID}/http"), "invalid_port"),
            (format!("/proxy/{ID}/"), "invalid_port"),
        ];
        for (path, code) in &cases {
            assert_eq!(ProxyPath::parse(path).unwrap_err().code(), *code, "{path}");
        }
    }

    #[test]
    fn builds_upstream_uris() {
        let v4: SocketAddr = "10.11.0.2:8080".parse().unwrap();
        let v6: SocketAddr = "[fd00::2]:80".parse().unwrap();
        let cases = [
            (v4, "", None, "http://10.11.0.2:8080/"),
            (v4, "/a/b", Some("x=1&y=%20"), "http://10.11.0.2:8080/a/b?x=1&y=%20"),
            (v4, "/", Some(""), "http://10.11.0.2:8080/?"),
            (v6, "/ws", None, "http://[fd00::2]:80/ws"),
        ];
        for (upstream, rest, query, want) in cases {
            assert_eq!(upstream_uri(upstream, rest, query).unwrap().to_string(), want);
        }
    }
}
