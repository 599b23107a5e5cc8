//! What a host agent does with the control plane: register with its
//! single-use token, trade its refresh token for fresh credentials,
//! heartbeat, and report what happened to its capsules on its own.
//!
//! Credentials. Registration and every refresh hand the agent a set: an
//! access token for `X-Host-Token` (`pki::host_token`, one hour), a new
//! single-use refresh token (stored hashed, 30 days), a server certificate
//! for the address it registered (7 days) and the CA certificate. The agent
//! refreshes when the access token is refused or the certificate is past
//! half its life; the certificate is then rotated with the same call.
//!
//! A host coming back. The heartbeat of a host the monitor had marked
//! `unreachable` reconciles that host at once (in a task, so the heartbeat
//! answers quickly), so its `missing` capsules become `running` again, or
//! `stopped` when they died, without waiting for the reconciler's pass. So
//! does the first heartbeat a replica sees from a host (a new host, or a
//! restarted control plane): its capsules and base templates are learnt
//! at once.

use std::net::SocketAddr;
use std::time::Duration;

use wrenn_types::{CapsuleId, ErrorChain, HostId};

use crate::app::hosts::ttl_ms;
use crate::app::{App, AppError};
use crate::background::{BackgroundConfig, reconcile_host};
use crate::events::{Actor, Event, EventKind, Resource, ResourceKind};
use crate::pki::{AgentName, HOST_TOKEN_TTL, IssuedCertificate};
use crate::store::{CapsuleOp, Host, HostSpecs, HostStatus, IssuedSecret, Registration};

/// How long a refresh token lives (each use replaces it).
pub(crate) const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Most capsule events one report may carry.
pub(crate) const MAX_EVENTS_PER_REPORT: usize = 1000;

/// What an agent sends to register.
#[derive(Debug, Clone)]
pub struct RegisterHost {
    pub token: String,
    /// Where the control plane dials the agent: `ip:port` or `name:port`.
    pub address: String,
    pub arch: String,
    pub cpu_cores: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
}

/// Everything an agent needs to serve and to talk back; secrets, shown
/// to the agent once.
#[derive(Clone)]
pub struct HostCredentials {
    pub host: Host,
    /// For `X-Host-Token`.
    pub access_token: String,
    pub access_token_expires_at: i64,
    pub refresh_token: IssuedSecret,
    pub certificate: IssuedCertificate,
    pub ca_cert_pem: String,
}

impl std::fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCredentials").field("host", &self.host.id).finish_non_exhaustive()
    }
}

/// What happened to a capsule without the control plane asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCapsuleEventKind {
    /// Idle past its timeout: the agent paused it.
    AutoPaused,
    /// It died (its init exited, or it was killed): it is gone.
    Died,
}

/// One capsule event an agent reports.
#[derive(Debug, Clone)]
pub struct HostCapsuleEvent {
    pub capsule_id: CapsuleId,
    pub kind: HostCapsuleEventKind,
    /// The agent's words, kept as the capsule's reason.
    pub reason: Option<String>,
}

impl App {
    /// Registers a pending host with the token its operator got, and hands
    /// the agent its credentials.
    pub async fn register_host(&self, request: RegisterHost) -> Result<HostCredentials, AppError> {
        validate_address(&request.address)?;
        let refused = || AppError::Unauthorized("invalid or expired registration token".into());
        let Some(host_id) = self.store().registration_token_host(&request.token).await? else {
            return Err(refused());
        };
        let certificate = self.issue_host_certificate(host_id, &request.address)?;
        let specs = HostSpecs {
            address: request.address,
            arch: request.arch,
            cpu_cores: request.cpu_cores,
            memory_mb: request.memory_mb,
            disk_mb: request.disk_mb,
            cert_fingerprint: certificate.fingerprint_sha256.clone(),
            cert_expires_at: certificate.expires_at_ms(),
        };
        let host = match self.store().register_host(&request.token, &specs).await? {
            Registration::Registered(host) => *host,
            // Used meanwhile by a concurrent registration.
            Registration::InvalidToken => return Err(refused()),
            Registration::HostNotPending(id) => {
                return Err(AppError::Conflict(format!("host {id} is registered already")));
            }
        };
        let refresh_token = self.store().issue_refresh_token(host.id, ttl_ms(REFRESH_TOKEN_TTL)).await?;
        tracing::info!(
            host_id = %host.id, address = %host.address, cpu_cores = host.cpu_cores, memory_mb = host.memory_mb,
            "a host registered"
        );
        self.publish(host_event(EventKind::HostUp, &host)).await;
        Ok(self.credentials(host, refresh_token, certificate))
    }

    /// Trades a refresh token for a new set of credentials (the old
    /// refresh token is spent).
    pub async fn refresh_host_credentials(&self, refresh_token: &str) -> Result<HostCredentials, AppError> {
        let refused = || AppError::Unauthorized("invalid, expired or used refresh token".into());
        let Some((host_id, refresh_token)) =
            self.store().rotate_refresh_token(refresh_token, ttl_ms(REFRESH_TOKEN_TTL)).await?
        else {
            return Err(refused());
        };
        let Some(host) = self.store().get_host(host_id).await? else { return Err(refused()) };
        let certificate = self.issue_host_certificate(host_id, &host.address)?;
        let recorded = self
            .store()
            .update_host_cert(host_id, &certificate.fingerprint_sha256, certificate.expires_at_ms())
            .await?;
        if !recorded {
            return Err(refused());
        }
        tracing::info!(%host_id, serial = %certificate.serial, "refreshed a host's credentials");
        Ok(self.credentials(host, refresh_token, certificate))
    }

    /// The host an `X-Host-Token` names.
    pub fn authenticate_host(&self, token: &str) -> Result<HostId, AppError> {
        self.ca()
            .host_token_key()
            .verify(token, self.store().now())
            .map_err(|error| AppError::Unauthorized(format!("invalid host token: {error}")))
    }

    /// Records a heartbeat. A host back from `unreachable` is reconciled
    /// at once. `NotFound` tells the agent its host was deleted.
    pub async fn host_heartbeat(&self, host_id: HostId) -> Result<(), AppError> {
        let Some(previous) = self.store().heartbeat(host_id).await? else {
            self.forget_host(host_id);
            return Err(AppError::NotFound { what: "host", id: host_id.to_string() });
        };
        let returning = previous == HostStatus::Unreachable;
        if returning {
            self.forget_host(host_id);
        }
        if !self.first_reconcile_of(host_id) {
            return Ok(());
        }
        let Some(host) = self.store().get_host(host_id).await? else { return Ok(()) };
        if returning {
            tracing::info!(%host_id, "host is reachable again; reconciling it now");
            self.publish(host_event(EventKind::HostUp, &host)).await;
        }
        let app = self.clone();
        tokio::spawn(async move {
            let stale_after = BackgroundConfig::default().stale_after;
            if let Err(error) = reconcile_host(&app, &host, stale_after).await {
                // The next heartbeat tries again.
                app.forget_host(host_id);
                tracing::warn!(%host_id, error = %ErrorChain(&error), "reconciling a host at its heartbeat failed");
            }
        });
        Ok(())
    }

    /// Applies what an agent reports about its capsules. Each is a guarded
    /// transition, so a report that crosses a user's request (a destroy,
    /// a resume) loses to it; a capsule of another host is ignored.
    /// Returns how many capsules changed.
    pub async fn host_capsule_events(&self, host_id: HostId, events: &[HostCapsuleEvent]) -> Result<usize, AppError> {
        if events.len() > MAX_EVENTS_PER_REPORT {
            return Err(AppError::InvalidRequest(format!("at most {MAX_EVENTS_PER_REPORT} events per report")));
        }
        let mut changed = 0;
        for event in events {
            let Some(capsule) = self.store().get_capsule(event.capsule_id).await? else { continue };
            if capsule.host_id != host_id {
                tracing::warn!(%host_id, capsule_id = %event.capsule_id, "a host reported a capsule it does not hold");
                continue;
            }
            let (op, default_reason) = match event.kind {
                HostCapsuleEventKind::AutoPaused => (CapsuleOp::AutoPaused, "paused after its inactivity timeout"),
                HostCapsuleEventKind::Died => (CapsuleOp::Lost, "the capsule died on its host"),
            };
            let reason = event.reason.as_deref().filter(|reason| !reason.is_empty()).unwrap_or(default_reason);
            if let Some(after) = self.store().transition(capsule.id, op, reason).await? {
                tracing::info!(capsule_id = %capsule.id, from = %capsule.status, to = %after.status, reason, "reported by its host");
                self.state_changed(&after, capsule.status).await;
                changed += 1;
                if event.kind == HostCapsuleEventKind::Died {
                    // What is left of it (network, disk, cgroups) goes now,
                    // not at the reconciler's next pass.
                    let app = self.clone();
                    tokio::spawn(async move { app.destroy_on_agent(&after).await });
                }
            }
        }
        Ok(changed)
    }

    fn issue_host_certificate(&self, host_id: HostId, address: &str) -> Result<IssuedCertificate, AppError> {
        self.ca()
            .issue_host_certificate(host_id, address)
            .map_err(|error| AppError::Internal(format!("cannot issue a host certificate: {}", ErrorChain(&error))))
    }

    fn credentials(&self, host: Host, refresh_token: IssuedSecret, certificate: IssuedCertificate) -> HostCredentials {
        let access_token_expires_at = self.store().now().saturating_add(ttl_ms(HOST_TOKEN_TTL));
        let access_token = self.ca().host_token_key().issue(host.id, access_token_expires_at);
        HostCredentials {
            host,
            access_token,
            access_token_expires_at,
            refresh_token,
            certificate,
            ca_cert_pem: self.ca().cert_pem().to_owned(),
        }
    }
}

/// The address must be one the control plane can dial and a certificate
/// can name: `ip:port` with a concrete IP, or `name:port`.
fn validate_address(address: &str) -> Result<(), AppError> {
    match address.parse::<SocketAddr>() {
        Ok(socket) if socket.ip().is_unspecified() || socket.port() == 0 => {
            return Err(AppError::InvalidRequest(format!(
                "address {address} must name the IP and port the control plane dials, not a wildcard"
            )));
        }
        Ok(_) => {}
        // A name needs its port too; a bare IP is not a socket address.
        Err(_) if !address.contains(':') || address.parse::<std::net::IpAddr>().is_ok() => {
            return Err(AppError::InvalidRequest(format!("address {address:?} needs a port: host:port")));
        }
        Err(_) => {}
    }
    AgentName::from_address(address)
        .map(|_| ())
        .map_err(|error| AppError::InvalidRequest(format!("address {address:?}: {error}")))
}

fn host_event(kind: EventKind, host: &Host) -> Event {
    Event::new(kind, host.team_id, Resource { id: host.id.to_string(), kind: ResourceKind::Host }, Actor::system())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_a_dialable_endpoint() {
        for good in ["10.0.0.2:7000", "[fd00::2]:7000", "agent-1.internal:7000"] {
            assert!(validate_address(good).is_ok(), "{good}");
        }
        for bad in ["0.0.0.0:7000", "10.0.0.2:0", "[::]:7000", "", "no-port", "10.0.0.2"] {
            assert!(validate_address(bad).is_err(), "{bad}");
        }
    }
}
