//! The name a host agent's certificate is issued for, read from the address
//! the agent registered (`10.0.0.5:9443`, `[fd00::5]:9443`,
//! `agent-1.internal:9443`, or the same without a port).
//!
//! One parser serves both ends of the check: the subject alternative name
//! written into the host's certificate and the server name the control
//! plane verifies when it dials that address. Pure: no resolution, no IO.

use std::net::{IpAddr, SocketAddr};

use rcgen::SanType;
use rustls::pki_types::{DnsName, ServerName};

/// What a host certificate names and what the control plane checks when it
/// dials the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentName {
    /// The address's host part is an IP address: an IP SAN.
    Ip(IpAddr),
    /// The address's host part is a DNS name (stored lowercase): a DNS SAN.
    Dns(DnsName<'static>),
}

/// Why an agent address names no certificate subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("the host address is empty")]
    Empty,
    #[error("host address {address:?} has no host part")]
    NoHost { address: String },
    #[error("host address {address:?} has an invalid port (1 to 65535)")]
    Port { address: String },
    #[error("host address {address:?} is neither an IP address nor a valid DNS name (host:port or host)")]
    Invalid { address: String },
}

impl AgentName {
    /// Reads the host part of `address` (`host:port`, `[ipv6]:port`, or a
    /// bare host or IP address).
    pub fn from_address(address: &str) -> Result<AgentName, AddressError> {
        if address.is_empty() {
            return Err(AddressError::Empty);
        }
        if let Ok(ip) = address.parse::<IpAddr>() {
            return Ok(AgentName::Ip(ip));
        }
        if let Ok(socket) = address.parse::<SocketAddr>() {
            return if socket.port() == 0 {
                Err(AddressError::Port { address: address.to_owned() })
            } else {
                Ok(AgentName::Ip(socket.ip()))
            };
        }
        let invalid = || AddressError::Invalid { address: address.to_owned() };
        if address.contains('/') {
            return Err(invalid());
        }
        if let Some(rest) = address.strip_prefix('[') {
            // `[ipv6]` without a port; `[ipv6]:port` parsed as a socket above.
            let (inside, after) = rest.split_once(']').ok_or_else(invalid)?;
            if !after.is_empty() {
                return Err(if after.starts_with(':') {
                    AddressError::Port { address: address.to_owned() }
                } else {
                    invalid()
                });
            }
            return inside.parse::<std::net::Ipv6Addr>().map(|ip| AgentName::Ip(IpAddr::V6(ip))).map_err(|_| invalid());
        }
        let host = match address.split_once(':') {
            Some((host, port)) => {
                if port.parse::<u16>().is_err() || port == "0" || port.starts_with('+') {
                    return Err(AddressError::Port { address: address.to_owned() });
                }
                host
            }
            None => address,
        };
        if host.is_empty() {
            return Err(AddressError::NoHost { address: address.to_owned() });
        }
        // An IPv4-looking host that is not an IP (`10.0.0.300`) fails here:
        // a DNS name's last label is never all digits.
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        DnsName::try_from(name).map(AgentName::Dns).map_err(|_| invalid())
    }

    /// The name to verify the agent's certificate against when dialling it.
    pub fn server_name(&self) -> ServerName<'static> {
        match self {
            AgentName::Ip(ip) => ServerName::IpAddress((*ip).into()),
            AgentName::Dns(name) => ServerName::DnsName(name.clone()),
        }
    }

    pub(crate) fn subject_alt_name(&self) -> Result<SanType, rcgen::Error> {
        Ok(match self {
            AgentName::Ip(ip) => SanType::IpAddress(*ip),
            AgentName::Dns(name) => SanType::DnsName(name.as_ref().try_into()?),
        })
    }
}

impl std::fmt::Display for AgentName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgentName::Ip(ip) => write!(f, "{ip}"),
            AgentName::Dns(name) => f.write_str(name.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn ip(address: &str) -> IpAddr {
        address.parse().unwrap()
    }

    fn dns(name: &str) -> AgentName {
        AgentName::Dns(DnsName::try_from(name.to_owned()).unwrap())
    }

    #[test]
    fn addresses_name_ips_or_dns_names() {
        let cases = [
            ("10.0.0.5:9443", AgentName::Ip(ip("10.0.0.5"))),
            ("10.0.0.5", AgentName::Ip(ip("10.0.0.5"))),
            ("127.0.0.1:1", AgentName::Ip(ip("127.0.0.1"))),
            ("[fd00::5]:9443", AgentName::Ip(ip("fd00::5"))),
            ("[fd00::5]", AgentName::Ip(ip("fd00::5"))),
            ("fd00::5", AgentName::Ip(ip("fd00::5"))),
            ("::1", AgentName::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST))),
            ("agent-1.internal:9443", dns("agent-1.internal")),
            ("Agent-1.Internal", dns("agent-1.internal")),
            ("agent-1.internal.:9443", dns("agent-1.internal")),
            ("localhost:65535", dns("localhost")),
        ];
        for (address, expected) in cases {
            assert_eq!(AgentName::from_address(address), Ok(expected), "{address}");
        }
    }

    #[test]
    fn bad_addresses_are_refused_with_the_reason() {
        let owned = |s: &str| s.to_owned();
        let cases = [
            ("", AddressError::Empty),
            (":9443", AddressError::NoHost { address: owned(":9443") }),
            ("10.0.0.5:0", AddressError::Port { address: owned("10.0.0.5:0") }),
            ("10.0.0.5:65536", AddressError::Port { address: owned("10.0.0.5:65536") }),
            ("agent:http", AddressError::Port { address: owned("agent:http") }),
            ("agent:", AddressError::Port { address: owned("agent:") }),
            ("agent:+80", AddressError::Port { address: owned("agent:+80") }),
            ("[fd00::5]:", AddressError::Port { address: owned("[fd00::5]:") }),
            ("[fd00::5]x", AddressError::Invalid { address: owned("[fd00::5]x") }),
            ("[10.0.0.5]", AddressError::Invalid { address: owned("[10.0.0.5]") }),
            ("10.0.0.300:9443", AddressError::Invalid { address: owned("10.0.0.300:9443") }),
            ("https://agent:9443", AddressError::Invalid { address: owned("https://agent:9443") }),
            ("agent/x", AddressError::Invalid { address: owned("agent/x") }),
            ("*.internal", AddressError::Invalid { address: owned("*.internal") }),
            ("two words", AddressError::Invalid { address: owned("two words") }),
            (" agent", AddressError::Invalid { address: owned(" agent") }),
            ("-agent", AddressError::Invalid { address: owned("-agent") }),
        ];
        for (address, expected) in cases {
            assert_eq!(AgentName::from_address(address), Err(expected), "{address:?}");
        }
    }

    #[test]
    fn the_server_name_is_what_the_certificate_names() {
        let ip = AgentName::from_address("127.0.0.1:9443").unwrap();
        assert_eq!(ip.server_name(), ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()));
        assert_eq!(ip.subject_alt_name().unwrap(), SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));

        let dns = AgentName::from_address("agent-1.internal:9443").unwrap();
        assert_eq!(dns.server_name(), ServerName::try_from("agent-1.internal").unwrap());
        assert_eq!(dns.subject_alt_name().unwrap(), SanType::DnsName("agent-1.internal".try_into().unwrap()));
        assert_eq!(dns.to_string(), "agent-1.internal");
    }
}
