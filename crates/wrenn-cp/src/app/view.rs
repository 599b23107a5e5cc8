//! The JSON shapes of capsules and templates as the SDK's models parse
//! them: every timestamp RFC 3339 with `Z`, metadata as strings, statuses
//! from the SDK's enum. Events carry the same capsule shape as the API.

use std::collections::BTreeMap;

use serde::Serialize;
use wrenn_types::TeamId;

use crate::events::Timestamp;
use crate::store::{Capsule, Host, Template};

/// A capsule as the API answers it.
#[derive(Debug, Clone, Serialize)]
pub struct CapsuleView {
    pub id: String,
    pub status: &'static str,
    pub template: String,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_size_mb: u64,
    pub timeout_sec: u64,
    pub metadata: BTreeMap<String, String>,
    pub public: bool,
    /// Why it is in its state (set for failures and automatic changes).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active_at: Option<Timestamp>,
    pub last_updated: Timestamp,
}

impl From<&Capsule> for CapsuleView {
    fn from(capsule: &Capsule) -> CapsuleView {
        CapsuleView {
            id: capsule.id.to_string(),
            status: capsule.status.as_str(),
            template: capsule.template.clone(),
            vcpus: capsule.vcpus,
            memory_mb: capsule.memory_mb,
            disk_size_mb: capsule.disk_mb,
            timeout_sec: capsule.timeout_sec,
            metadata: capsule.metadata.clone(),
            public: capsule.public,
            reason: capsule.reason.clone(),
            created_at: Timestamp::from_unix_ms(capsule.created_at),
            started_at: capsule.started_at.map(Timestamp::from_unix_ms),
            last_active_at: capsule.last_active_at.map(Timestamp::from_unix_ms),
            last_updated: Timestamp::from_unix_ms(capsule.updated_at),
        }
    }
}

/// A capsule as JSON, for event payloads.
pub fn capsule_json(capsule: &Capsule) -> serde_json::Value {
    serde_json::to_value(CapsuleView::from(capsule)).unwrap_or(serde_json::Value::Null)
}

/// A template as the API answers it (`Template` in the SDK).
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub size_bytes: u64,
    pub created_at: Timestamp,
    /// A platform template, shared by every team.
    pub platform: bool,
    /// Platform templates cannot be deleted by a team.
    pub protected: bool,
    pub metadata: BTreeMap<String, String>,
}

impl From<&Template> for TemplateView {
    fn from(template: &Template) -> TemplateView {
        let platform = template.team_id == TeamId::PLATFORM;
        TemplateView {
            name: template.name.clone(),
            kind: template.kind.as_str(),
            vcpus: template.vcpus,
            memory_mb: template.memory_mb,
            size_bytes: template.size_bytes,
            created_at: Timestamp::from_unix_ms(template.created_at),
            platform,
            protected: platform,
            metadata: template.metadata.clone(),
        }
    }
}

/// A host as the hosts API answers it: no certificate fields, no
/// reservations; zero sizes and empty texts left out.
#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub arch: String,
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub cpu_cores: u32,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub memory_mb: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub disk_mb: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub address: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_heartbeat_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<&Host> for HostView {
    fn from(host: &Host) -> HostView {
        HostView {
            id: host.id.to_string(),
            kind: host.kind.as_str(),
            team_id: host.team_id.map(|id| id.to_string()),
            arch: host.arch.clone(),
            cpu_cores: host.cpu_cores,
            memory_mb: host.memory_mb,
            disk_mb: host.disk_mb,
            address: host.address.clone(),
            status: host.status.as_str(),
            last_heartbeat_at: host.last_heartbeat_at.map(Timestamp::from_unix_ms),
            created_by: host.created_by.map(|id| id.to_string()),
            created_at: Timestamp::from_unix_ms(host.created_at),
            updated_at: Timestamp::from_unix_ms(host.updated_at),
        }
    }
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}
