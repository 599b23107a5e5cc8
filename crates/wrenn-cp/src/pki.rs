//! The control plane's certificate authority: the one trust root between the
//! control plane and its host agents.
//!
//! Trust model. Every connection from the control plane to a host agent is
//! mutual TLS 1.3 where both ends hold a certificate from this CA, and
//! neither end trusts anything else (no system roots, no pinned keys):
//!
//! - an agent receives the CA certificate, its own server certificate and
//!   key when it registers or refreshes its credentials, and accepts a
//!   client only if its certificate chains to the CA (`wrenn-agent`'s
//!   `rpc/tls.rs`);
//! - the control plane dials an agent at the address the agent registered
//!   and accepts the agent only if its certificate chains to the CA *and*
//!   names that address ([`AgentName`]: an IP SAN for `ip:port`, a DNS SAN
//!   for a name). A certificate issued to one host is therefore useless for
//!   impersonating another host at another address;
//! - the control plane presents a client certificate (CN `wrenn-cp`,
//!   clientAuth only) that it issues to itself and renews at half life
//!   ([`rotate_client_certificate`]); host certificates carry serverAuth
//!   only, so an agent's credentials never let it act as the control plane
//!   towards another agent.
//!
//! Certificates are short-lived (hosts 7 days, the control plane 24 hours)
//! instead of revocable: there is no CRL or OCSP. A deleted host stops
//! being dialled and can no longer refresh; its certificate runs out within
//! its lifetime. The CA key is the crown jewel: it is generated once
//! (P-256), written with mode 0600, never overwritten, never sent anywhere
//! ([`CertificateAuthority::load_or_generate`]). Fingerprints of host
//! certificates are for the host record and the operator's eyes, not pinned.
//!
//! This module does no networking and knows nothing of the store: callers
//! persist what [`IssuedCertificate`] describes.

mod address;
mod authority;
mod client;
mod files;
mod host_token;
mod keys;

pub use address::{AddressError, AgentName};
pub use authority::{
    CONTROL_PLANE_COMMON_NAME, CaError, CertificateAuthority, IssueError, IssuedCertificate, Lifetimes,
};
pub use client::{ClientCert, ClientTlsError, client_config, rotate_client_certificate};
pub use host_token::{HOST_TOKEN_TTL, HostTokenError, HostTokenKey};
