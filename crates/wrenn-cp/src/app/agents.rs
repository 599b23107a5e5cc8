//! The way to a host agent: one pooled mTLS HTTP client for every host,
//! and a generated RPC client per call that points it at one host.
//!
//! The HTTP client keeps connections per host address, so asking for a
//! client is cheap and callers never hold one across a host change. The
//! TLS configuration presents the control plane's client certificate
//! (hot-swapped on rotation, see `pki`) and trusts only hosts whose
//! certificate the CA issued for their address.

use std::sync::Arc;
use std::time::Duration;

use connectrpc::client::{ClientConfig, HttpClient};
use wrenn_proto::agent::hostagent as pb;

use crate::app::AppError;
use crate::app::ports::PortClient;
use crate::store::Host;

/// A generated host agent client bound to one host.
pub type AgentClient = pb::HostAgentServiceClient<HttpClient>;

/// Largest RPC message to or from an agent: a whole-file read or write
/// (streams have their own small chunks).
const MAX_AGENT_MESSAGE: usize = 64 << 20;

/// Calls that do not name their own deadline get this one.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Clients for every host agent, over one mTLS connection pool (and a
/// second, HTTP/1.1 one for port traffic, see [`PortClient`]).
#[derive(Clone)]
pub struct AgentPool {
    http: HttpClient,
    ports: PortClient,
}

impl std::fmt::Debug for AgentPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentPool").finish_non_exhaustive()
    }
}

impl AgentPool {
    /// A pool that speaks mTLS with `tls` (see [`crate::pki::client_config`]).
    pub fn new(tls: Arc<rustls::ClientConfig>) -> AgentPool {
        AgentPool { ports: PortClient::new(&tls), http: HttpClient::with_tls(tls) }
    }

    /// The client that carries port traffic to agents' proxies.
    pub fn ports(&self) -> &PortClient {
        &self.ports
    }

    /// A client for the agent at `address` (`ip:port`, or `name:port`).
    pub fn client_at(&self, address: &str) -> Result<AgentClient, AppError> {
        let uri = format!("https://{address}")
            .parse()
            .map_err(|_| AppError::Internal(format!("host address {address:?} is not a valid authority")))?;
        let config = ClientConfig::new(uri)
            .with_default_timeout(DEFAULT_CALL_TIMEOUT)
            .with_default_max_message_size(MAX_AGENT_MESSAGE);
        Ok(pb::HostAgentServiceClient::new(self.http.clone(), config))
    }

    /// A client for `host`'s agent.
    pub fn client(&self, host: &Host) -> Result<AgentClient, AppError> {
        if host.address.is_empty() {
            return Err(AppError::HostUnavailable(format!("host {} has not registered yet", host.id)));
        }
        self.client_at(&host.address)
    }
}
