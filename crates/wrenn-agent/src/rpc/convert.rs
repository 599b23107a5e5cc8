//! Conversions between the manager's domain types and the proto messages.

use connectrpc::ConnectError;
use wrenn_proto::agent::hostagent as pb;

use crate::capsule::{CapsuleInfo, CapsuleState, CreateCapsule};
use crate::metrics::MetricPoint;
use crate::rpc::{invalid, parse_capsule_id};
use crate::template::Template;

/// The only runtime this agent serves today.
pub(crate) const RUNTIME: &str = "container";

pub(crate) fn create_request(request: pb::CreateCapsuleRequest) -> Result<CreateCapsule, ConnectError> {
    if request.template.is_empty() {
        return Err(invalid("template must not be empty"));
    }
    Ok(CreateCapsule {
        id: parse_capsule_id(&request.capsule_id)?,
        template: request.template,
        vcpus: request.vcpus,
        memory_mb: request.memory_mb,
        disk_mb: request.disk_mb,
        timeout_sec: u64::from(request.timeout_sec),
        default_user: Some(request.default_user).filter(|user| !user.is_empty()),
        default_env: request.default_env.into_iter().collect(),
    })
}

pub(crate) fn capsule_info(info: &CapsuleInfo) -> pb::CapsuleInfo {
    pb::CapsuleInfo {
        capsule_id: info.id.to_string(),
        state: capsule_state(info.state).into(),
        template: info.template.clone(),
        vcpus: info.vcpus,
        memory_mb: info.memory_mb,
        disk_mb: info.disk_mb,
        address: info.envd_addr.map(|addr| addr.ip().to_string()).unwrap_or_default(),
        created_at_unix: i64::try_from(info.created_at).unwrap_or(i64::MAX),
        last_active_at_unix: i64::try_from(info.last_active_at).unwrap_or(i64::MAX),
        timeout_sec: u32::try_from(info.timeout_sec).unwrap_or(u32::MAX),
        envd_version: info.envd_version.clone().unwrap_or_default(),
        runtime: RUNTIME.to_owned(),
        reason: info.reason.clone().unwrap_or_default(),
        ..Default::default()
    }
}

pub(crate) fn template_info(template: &Template) -> pb::TemplateInfo {
    let manifest = &template.manifest;
    pb::TemplateInfo {
        name: template.name.clone(),
        size_bytes: manifest.size_bytes,
        created_at_unix: i64::try_from(manifest.created_at).unwrap_or(i64::MAX),
        kind: if manifest.parent.is_some() { "snapshot" } else { "base" }.to_owned(),
        ..Default::default()
    }
}

pub(crate) fn metric_point(point: &MetricPoint) -> pb::MetricPoint {
    pb::MetricPoint {
        timestamp_unix: point.timestamp_unix,
        cpu_pct: point.cpu_pct,
        mem_bytes: point.mem_bytes,
        disk_bytes: point.disk_bytes,
        ..Default::default()
    }
}

fn capsule_state(state: CapsuleState) -> pb::CapsuleState {
    match state {
        CapsuleState::Starting => pb::CapsuleState::CAPSULE_STATE_STARTING,
        CapsuleState::Running => pb::CapsuleState::CAPSULE_STATE_RUNNING,
        CapsuleState::Paused => pb::CapsuleState::CAPSULE_STATE_PAUSED,
        CapsuleState::Hibernated => pb::CapsuleState::CAPSULE_STATE_HIBERNATED,
        CapsuleState::Stopping => pb::CapsuleState::CAPSULE_STATE_STOPPING,
        CapsuleState::Stopped => pb::CapsuleState::CAPSULE_STATE_STOPPED,
        CapsuleState::Error => pb::CapsuleState::CAPSULE_STATE_ERROR,
    }
}
