//! The platform's base templates as the control plane lists them, learned
//! from the agents: every template an agent built itself (kind `base`) is
//! listed as a platform template with its size. Without this a fleet's
//! control plane would refuse every create with an unknown template;
//! `wrenn up` lists its base templates itself, before they are built.
//!
//! The sizes the control plane lists (1 vCPU, 512 MiB) are the defaults
//! of a capsule started from the template, as `wrenn up` lists them.

use wrenn_proto::agent::hostagent as pb;
use wrenn_types::{ErrorChain, TeamId};

use crate::app::{AgentClient, App};
use crate::store::{NewTemplate, TemplateKind};

const TEMPLATE_VCPUS: u32 = 1;
const TEMPLATE_MEMORY_MB: u64 = 512;

/// Lists what `agent` built as platform templates; failures are logged
/// (the next pass tries again).
pub(crate) async fn sync_base_templates(app: &App, agent: &AgentClient) {
    let templates = match agent.list_templates(pb::ListTemplatesRequest::default()).await {
        Ok(response) => response.into_owned().templates,
        Err(error) => {
            tracing::debug!(error = %ErrorChain(&error), "cannot list an agent's templates");
            return;
        }
    };
    for template in templates.into_iter().filter(|template| template.kind == "base") {
        let known = app.store().get_template(TeamId::PLATFORM, &template.name).await;
        if matches!(&known, Ok(Some(listed)) if listed.size_bytes == template.size_bytes) {
            continue;
        }
        match app.store().upsert_template(&base_template(&template.name, template.size_bytes)).await {
            Ok(_) => tracing::info!(template = %template.name, "listed a base template an agent built"),
            Err(error) => {
                tracing::warn!(template = %template.name, error = %ErrorChain(&error), "cannot list a base template");
            }
        }
    }
}

/// A base template as the platform lists it: every team may start from it,
/// every host has it.
pub fn base_template(name: &str, size_bytes: u64) -> NewTemplate {
    NewTemplate {
        team_id: TeamId::PLATFORM,
        name: name.to_owned(),
        kind: TemplateKind::Base,
        vcpus: TEMPLATE_VCPUS,
        memory_mb: TEMPLATE_MEMORY_MB,
        size_bytes,
        default_user: String::new(),
        default_env: Default::default(),
        metadata: Default::default(),
        host_id: None,
    }
}
