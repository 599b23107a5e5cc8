//! The flags of the host agent that `wrenn up` and `wrenn host-agent`
//! share: where its helper binaries are, how capsules reach the outside,
//! and which base templates it builds.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// How to run the host agent.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The `wrenn-launch` binary [default: next to this executable].
    #[arg(long, env = "WRENN_LAUNCHER")]
    launcher: Option<PathBuf>,
    /// The envd binary injected into templates [default: `envd` next to this executable].
    #[arg(long, env = "WRENN_ENVD")]
    envd: Option<PathBuf>,
    /// Interface capsules reach the outside through; none: no outbound traffic.
    #[arg(long, env = "WRENN_EGRESS_INTERFACE")]
    pub(crate) egress_interface: Option<String>,
    /// Debian mirror for template builds [default: the host's apt mirror].
    #[arg(long, env = "WRENN_MIRROR")]
    pub(crate) mirror: Option<String>,
    /// Base templates built in the background when missing (comma-separated).
    #[arg(long, env = "WRENN_BASE_TEMPLATES", value_delimiter = ',', default_value = "minimal,python")]
    base_templates: Vec<String>,
}

impl AgentArgs {
    /// The `wrenn-launch` binary to use.
    pub(crate) fn launcher(&self) -> anyhow::Result<PathBuf> {
        sibling_or(self.launcher.clone(), "wrenn-launch")
    }

    /// The envd binary to use.
    pub(crate) fn envd(&self) -> anyhow::Result<PathBuf> {
        sibling_or(self.envd.clone(), "envd")
    }

    /// The base templates, empty names dropped.
    pub(crate) fn base_templates(&self) -> Vec<String> {
        self.base_templates.iter().filter(|name| !name.is_empty()).cloned().collect()
    }
}

/// `path`, or the file `name` next to this executable.
fn sibling_or(path: Option<PathBuf>, name: &str) -> anyhow::Result<PathBuf> {
    match path {
        Some(path) => Ok(path),
        None => Ok(std::env::current_exe().context("cannot locate this executable")?.with_file_name(name)),
    }
}
