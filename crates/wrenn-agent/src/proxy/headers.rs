//! Header rules for both directions: hop-by-hop removal, `Host` and
//! `X-Forwarded-*`, upgrade passthrough and `Location` rewriting.
//!
//! Pure functions over `HeaderMap`s, table-tested; nothing here does IO.

use std::net::{IpAddr, SocketAddr};

use axum::extract::Request;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1),
/// plus the legacy ones proxies traditionally drop.
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// What the proxy knows about the original request, for `X-Forwarded-*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Forwarded {
    pub(crate) peer: Option<IpAddr>,
    pub(crate) host: Option<HeaderValue>,
    pub(crate) proto: &'static str,
}

impl Forwarded {
    pub(crate) fn of(request: &Request, peer: Option<IpAddr>) -> Forwarded {
        let host = request
            .headers()
            .get(header::HOST)
            .cloned()
            .or_else(|| request.uri().authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()));
        let proto = if request.uri().scheme_str() == Some("https") { "https" } else { "http" };
        Forwarded { peer, host, proto }
    }
}

/// The protocol a request asks to upgrade to, if it asks (`Connection:
/// upgrade` plus `Upgrade: …`).
pub(crate) fn upgrade_protocol(headers: &HeaderMap) -> Option<HeaderValue> {
    connection_has_token(headers, "upgrade").then(|| headers.get(header::UPGRADE).cloned()).flatten()
}

/// Turns the client's headers into the upstream request's headers.
///
/// The `X-Forwarded-*` a caller already set are kept (the control plane is
/// the edge and knows the real client); the peer is appended to the `For`
/// list.
pub(crate) fn prepare_request(
    headers: &mut HeaderMap,
    upstream: SocketAddr,
    upgrade: Option<HeaderValue>,
    forwarded: &Forwarded,
) {
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    let host = HeaderValue::from_str(&upstream.to_string()).expect("a socket address is a valid header value");
    headers.insert(header::HOST, host);

    if let Some(peer) = forwarded.peer {
        let value = match headers.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(existing) => format!("{existing}, {peer}"),
            None => peer.to_string(),
        };
        let value = HeaderValue::from_str(&value).expect("ascii text is a valid header value");
        headers.insert(X_FORWARDED_FOR, value);
    }
    if !headers.contains_key(&X_FORWARDED_HOST)
        && let Some(host) = &forwarded.host
    {
        headers.insert(X_FORWARDED_HOST, host.clone());
    }
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(forwarded.proto));
    }
}

/// Turns the upstream response's headers into the client's.
///
/// A 101 keeps `Connection` and `Upgrade`: the client must see what the
/// connection switched to.
pub(crate) fn prepare_response(headers: &mut HeaderMap, switching: bool, prefix: &str, upstream: SocketAddr) {
    let upgrade = switching.then(|| headers.get(header::UPGRADE).cloned()).flatten();
    strip_hop_by_hop(headers);
    if let Some(protocol) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, protocol);
    }
    let rewritten = headers
        .get(header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .and_then(|location| rewrite_location(location, prefix, upstream));
    if let Some(location) = rewritten.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
}

/// The `Location` the client should see, or `None` to leave it as it is.
///
/// `/x` becomes `{prefix}/x`; an absolute (or scheme-relative) URL naming
/// the upstream becomes `{prefix}` plus its path and query; relative
/// references and other hosts resolve correctly without help.
pub(crate) fn rewrite_location(location: &str, prefix: &str, upstream: SocketAddr) -> Option<String> {
    if location.starts_with('/') && !location.starts_with("//") {
        return Some(format!("{prefix}{location}"));
    }
    let (scheme, after_scheme) = match location.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, location.strip_prefix("//")?),
    };
    let default_port = match scheme.as_deref() {
        Some("http" | "ws") => 80,
        Some("https" | "wss") => 443,
        None => 80,
        Some(_) => return None,
    };
    let end = after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
    let (authority, path) = after_scheme.split_at(end);
    if !names_upstream(authority, default_port, upstream) {
        return None;
    }
    let slash = if path.starts_with('/') { "" } else { "/" };
    Some(format!("{prefix}{slash}{path}"))
}

fn names_upstream(authority: &str, default_port: u16, upstream: SocketAddr) -> bool {
    let authority = authority.rsplit_once('@').map_or(authority, |(_userinfo, host)| host);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse::<u16>().ok()),
        _ => (authority, Some(default_port)),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    port == Some(upstream.port()) && host.parse::<IpAddr>().ok() == Some(upstream.ip())
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in listed.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
}

fn connection_has_token(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "/proxy/cl-000000000000000000000000z/8080";

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn rewrites_locations() {
        let upstream: SocketAddr = "10.11.0.2:8080".parse().unwrap();
        let cases = [
            ("/login?next=%2F", Some("/login?next=%2F")),
            ("/", Some("/")),
            ("http://10.11.0.2:8080/a?b=1#c", Some("/a?b=1#c")),
            ("HTTP://10.11.0.2:8080", Some("/")),
            ("http://10.11.0.2:8080?q", Some("/?q")),
            ("ws://user@10.11.0.2:8080/ws", Some("/ws")),
            ("//10.11.0.2:8080/x", Some("/x")),
            ("http://10.11.0.2/x", None),
            ("http://10.11.0.3:8080/x", None),
            ("https://example.com/x", None),
            ("//example.com/x", None),
            ("relative/path", None),
            ("mailto:someone@10.11.0.2:8080", None),
        ];
        for (location, want) in cases {
            let want = want.map(|w| format!("{PREFIX}{w}"));
            assert_eq!(rewrite_location(location, PREFIX, upstream), want, "{location}");
        }
        let port80: SocketAddr = "[fd00::2]:80".parse().unwrap();
        assert_eq!(rewrite_location("http://[fd00::2]/x", PREFIX, port80), Some(format!("{PREFIX}/x")));
        assert_eq!(rewrite_location("https://[fd00::2]/x", PREFIX, port80), None);
    }

    #[test]
    fn prepares_requests() {
        let upstream: SocketAddr = "10.11.0.2:8080".parse().unwrap();
        let forwarded = Forwarded {
            peer: Some("192.0.2.1".parse().unwrap()),
            host: Some(HeaderValue::from_static("8080-cl-x.example")),
            proto: "http",
        };
        let mut map = headers(&[
            ("host", "agent:5000"),
            ("connection", "keep-alive, x-private"),
            ("x-private", "secret"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("x-forwarded-for", "198.51.100.7"),
            ("x-forwarded-proto", "https"),
            ("x-custom", "kept"),
        ]);
        prepare_request(&mut map, upstream, None, &forwarded);
        let want = headers(&[
            ("host", "10.11.0.2:8080"),
            ("x-forwarded-for", "198.51.100.7, 192.0.2.1"),
            ("x-forwarded-proto", "https"),
            ("x-custom", "kept"),
            ("x-forwarded-host", "8080-cl-x.example"),
        ]);
        assert_eq!(map, want);
    }

    #[test]
    fn keeps_upgrades() {
        let upstream: SocketAddr = "10.11.0.2:8080".parse().unwrap();
        let mut map = headers(&[("connection", "Upgrade"), ("upgrade", "websocket"), ("sec-websocket-key", "k")]);
        let upgrade = upgrade_protocol(&map);
        assert_eq!(upgrade, Some(HeaderValue::from_static("websocket")));
        let forwarded = Forwarded { peer: None, host: None, proto: "http" };
        prepare_request(&mut map, upstream, upgrade, &forwarded);
        assert_eq!(map.get("connection").unwrap(), "upgrade");
        assert_eq!(map.get("upgrade").unwrap(), "websocket");
        assert_eq!(map.get("sec-websocket-key").unwrap(), "k");

        assert_eq!(upgrade_protocol(&headers(&[("upgrade", "websocket")])), None);
        assert_eq!(upgrade_protocol(&headers(&[("connection", "keep-alive, upgrade")])), None);

        let mut response = headers(&[("connection", "upgrade"), ("upgrade", "websocket"), ("location", "/x")]);
        prepare_response(&mut response, true, PREFIX, upstream);
        assert_eq!(response.get("upgrade").unwrap(), "websocket");
        assert_eq!(response.get("location").unwrap().to_str().unwrap(), format!("{PREFIX}/x"));
        prepare_response(&mut response, false, PREFIX, upstream);
        assert!(!response.contains_key("upgrade") && !response.contains_key("connection"));
    }
}
