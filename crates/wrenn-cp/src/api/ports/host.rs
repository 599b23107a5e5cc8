//! Which requests are port traffic: those whose host's first label is
//! `{port}-{capsule_id}` (the shape of the SDK's `get_url`), under the
//! configured domain when there is one.
//!
//! Three answers: not port traffic (the API serves it), port traffic, or a
//! label that has the shape (`{digits}-cl-…`) but names no valid port or
//! capsule id (400: the client meant a port URL and got it wrong). Hosts are
//! case-insensitive, so the label is lowercased before the id is parsed.
//! Pure string work, table-tested.

use wrenn_types::CapsuleId;

/// How every capsule id starts.
const CAPSULE_PREFIX: &str = "cl-";

/// What a request's host says about where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortHost {
    /// Not a port URL: the API's.
    Api,
    /// `{port}-{capsule_id}.…`
    Port { port: u16, capsule_id: CapsuleId },
    /// A port URL with an invalid port or capsule id; says which.
    Invalid(String),
}

/// Classifies `host` (a `Host` header or URI authority, `:port` allowed).
/// With `domain`, only hosts directly under it are port URLs.
pub(crate) fn classify(host: &str, domain: Option<&str>) -> PortHost {
    let name = without_port(host);
    let Some((label, suffix)) = name.split_once('.') else { return PortHost::Api };
    let suffix = suffix.trim_end_matches('.');
    if suffix.is_empty() {
        return PortHost::Api;
    }
    if let Some(domain) = domain
        && !suffix.eq_ignore_ascii_case(without_port(domain).trim_end_matches('.'))
    {
        return PortHost::Api;
    }
    let Some((raw_port, raw_id)) = label.split_once('-') else { return PortHost::Api };
    let looks_like_port_url = !raw_port.is_empty()
        && raw_port.bytes().all(|b| b.is_ascii_digit())
        && raw_id.get(..CAPSULE_PREFIX.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(CAPSULE_PREFIX));
    if !looks_like_port_url {
        return PortHost::Api;
    }
    let Some(port) = parse_port(raw_port) else {
        return PortHost::Invalid(format!("invalid port {raw_port:?} in host {host:?}: expected 1 to 65535"));
    };
    match raw_id.to_ascii_lowercase().parse::<CapsuleId>() {
        Ok(capsule_id) => PortHost::Port { port, capsule_id },
        Err(_) => PortHost::Invalid(format!("invalid capsule id {raw_id:?} in host {host:?}")),
    }
}

/// The host name without a `:port`; an IPv6 literal is left whole (it is
/// never a port URL).
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host;
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name)
}

/// 1 to 65535, plain decimal digits (at most five).
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

    fn port(port: u16) -> PortHost {
        PortHost::Port { port, capsule_id: CapsuleId::from_u128(35) }
    }

    #[test]
    fn classifies_hosts() {
        let cases = [
            // port URLs, any domain
            (format!("8080-{ID}.localhost:41234"), None, port(8080)),
            (format!("8080-{ID}.localhost"), None, port(8080)),
            (format!("1-{ID}.wrenn.dev"), None, port(1)),
            (format!("65535-{ID}.a.b.c"), None, port(65535)),
            (format!("8888-{}.example.com.", ID.to_ascii_uppercase()), None, port(8888)),
            ("49983-CL-000000000000000000000000Z.Example.COM".to_owned(), None, port(49983)),
            // port URLs under the configured domain only
            (format!("8080-{ID}.wrenn.dev"), Some("wrenn.dev"), port(8080)),
            (format!("8080-{ID}.WRENN.dev:443"), Some("wrenn.dev:8443"), port(8080)),
            (format!("8080-{ID}.other.dev"), Some("wrenn.dev"), PortHost::Api),
            (format!("8080-{ID}.sub.wrenn.dev"), Some("wrenn.dev"), PortHost::Api),
            // the API
            ("127.0.0.1:8080".to_owned(), None, PortHost::Api),
            ("localhost".to_owned(), None, PortHost::Api),
            ("app.wrenn.dev".to_owned(), None, PortHost::Api),
            ("[::1]:8080".to_owned(), None, PortHost::Api),
            ("".to_owned(), None, PortHost::Api),
            (format!("8080-{ID}"), None, PortHost::Api),
            (format!("8080-{ID}."), None, PortHost::Api),
            (format!("x8080-{ID}.localhost"), None, PortHost::Api),
            (format!("-{ID}.localhost"), None, PortHost::Api),
            ("8080-team-0000000000000000000000000.localhost".to_owned(), None, PortHost::Api),
            (format!("www.8080-{ID}.localhost"), None, PortHost::Api),
        ];
        for (host, domain, want) in cases {
            assert_eq!(classify(&host, domain), want, "{host} under {domain:?}");
        }
    }

    #[test]
    fn refuses_invalid_ports_and_ids() {
        let cases = [
            format!("0-{ID}.localhost"),
            format!("65536-{ID}.localhost"),
            format!("123456-{ID}.localhost"),
            "8080-cl-short.localhost".to_owned(),
            format!("8080-{ID}0.localhost"),
            "8080-cl-.localhost".to_owned(),
        ];
        for host in cases {
            assert!(matches!(classify(&host, None), PortHost::Invalid(_)), "{host}");
        }
        let PortHost::Invalid(message) = classify(&format!("0-{ID}.localhost:1"), None) else { panic!() };
        assert_eq!(message, format!("invalid port \"0\" in host \"0-{ID}.localhost:1\": expected 1 to 65535"));
    }
}
