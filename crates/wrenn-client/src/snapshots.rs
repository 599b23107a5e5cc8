//! Templates and snapshots (`/v1/snapshots`). A snapshot is a template
//! made from a capsule; base templates are the platform's. Both are listed
//! by the same route, told apart by [`TemplateKind`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{Client, segment};
use crate::error::Error;

/// How long a snapshot request may take before the server answers 202 and
/// goes on in the background (the server waits up to 45 s).
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(60);

/// A template: what capsules are created from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Its name, as given to [`crate::CreateCapsule::template`].
    pub name: String,
    /// Base template or snapshot.
    #[serde(rename = "type")]
    pub kind: TemplateKind,
    /// Default virtual CPUs of capsules made from it.
    #[serde(default)]
    pub vcpus: u32,
    /// Default memory of capsules made from it, in MiB.
    #[serde(default)]
    pub memory_mb: u64,
    /// Size on disk in bytes (0 while a snapshot is still being copied).
    #[serde(default)]
    pub size_bytes: u64,
    /// When it was made (RFC 3339; empty while in progress).
    #[serde(default)]
    pub created_at: String,
    /// Shared by every team.
    #[serde(default)]
    pub platform: bool,
    /// Cannot be deleted by a team.
    #[serde(default)]
    pub protected: bool,
    /// Labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Which kind of template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// A platform base template (`minimal`, `python`…).
    Base,
    /// A snapshot of a capsule.
    Snapshot,
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TemplateKind::Base => "base",
            TemplateKind::Snapshot => "snapshot",
        })
    }
}

/// The answer to a snapshot request: done, or still being copied (the
/// capsule is `snapshotting` and returns to its state when it is done).
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotOutcome {
    /// The template exists.
    Done(Template),
    /// The copy goes on in the background; the template will have this name.
    InProgress {
        /// The template's name.
        name: String,
    },
}

impl SnapshotOutcome {
    /// The template's name either way.
    pub fn name(&self) -> &str {
        match self {
            SnapshotOutcome::Done(template) => &template.name,
            SnapshotOutcome::InProgress { name } => name,
        }
    }
}

/// The template and snapshot routes.
#[derive(Debug, Clone, Copy)]
pub struct Snapshots<'a> {
    client: &'a Client,
}

impl Client {
    /// The template and snapshot routes.
    pub fn snapshots(&self) -> Snapshots<'_> {
        Snapshots { client: self }
    }
}

impl Snapshots<'_> {
    /// Snapshots a running or paused capsule into a template of the
    /// team. Without a name the server picks one; `overwrite` replaces a
    /// snapshot of the same name.
    ///
    /// ```no_run
    /// # async fn demo(client: &wrenn_client::Client) -> Result<(), wrenn_client::Error> {
    /// let outcome = client.snapshots().create("cl-…", Some("with-deps"), false).await?;
    /// println!("template {}", outcome.name());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(
        &self,
        capsule_id: &str,
        name: Option<&str>,
        overwrite: bool,
    ) -> Result<SnapshotOutcome, Error> {
        let mut body = serde_json::json!({ "sandbox_id": capsule_id });
        if let Some(name) = name {
            body["name"] = serde_json::Value::from(name);
        }
        let mut request = self.client.request(Method::POST, "v1/snapshots").timeout(SNAPSHOT_TIMEOUT).json(&body);
        if overwrite {
            request = request.query(&[("overwrite", "true")]);
        }
        let response = self.client.send(request).await?;
        let in_progress = response.status() == reqwest::StatusCode::ACCEPTED;
        let url = response.url().to_string();
        let bytes = response.bytes().await.map_err(|source| crate::client::transport_error(url.clone(), source))?;
        let parse_error = |err: serde_json::Error| Error::Protocol { url: url.clone(), detail: err.to_string() };
        if in_progress {
            #[derive(Deserialize)]
            struct Named {
                name: String,
            }
            let named: Named = serde_json::from_slice(&bytes).map_err(parse_error)?;
            Ok(SnapshotOutcome::InProgress { name: named.name })
        } else {
            Ok(SnapshotOutcome::Done(serde_json::from_slice(&bytes).map_err(parse_error)?))
        }
    }

    /// Templates the team can use: its snapshots and the platform's base
    /// templates, or only one kind.
    pub async fn list(&self, kind: Option<TemplateKind>) -> Result<Vec<Template>, Error> {
        let mut request = self.client.request(Method::GET, "v1/snapshots");
        if let Some(kind) = kind {
            request = request.query(&[("type", kind.to_string())]);
        }
        self.client.json(request).await
    }

    /// Deletes one of the team's snapshots (on every host that holds it).
    pub async fn delete(&self, name: &str) -> Result<(), Error> {
        let path = format!("v1/snapshots/{}", segment(name));
        self.client.empty(self.client.request(Method::DELETE, &path)).await
    }
}
