//! The state one envd holds, and who owns each piece.
//!
//! `Defaults` (user, workdir, env) change only through `/init`; the access
//! token only through `/init`; the process table only through the process
//! service; watchers only through the filesystem service. Locks here are
//! std locks held for a few instructions and never across an `.await`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::auth::AccessToken;
use crate::config::Config;
use crate::fs::watch::WatcherRegistry;
use crate::process::table::ProcessTable;
use crate::sys::stats::CpuSampler;
use crate::users::{Identity, UserError};

pub(crate) type SharedState = Arc<AppState>;

#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) config: Config,
    defaults: RwLock<Defaults>,
    pub(crate) token: AccessToken,
    pub(crate) processes: ProcessTable,
    pub(crate) watchers: WatcherRegistry,
    pub(crate) cpu: CpuSampler,
}

/// What `/init` sets and every request inherits.
#[derive(Debug, Clone)]
pub(crate) struct Defaults {
    /// The user a request acts as when it names none.
    pub(crate) user: String,
    /// Base for relative paths and the cwd of processes; the user's home when unset.
    pub(crate) workdir: Option<PathBuf>,
    /// Environment added to every process.
    pub(crate) envs: BTreeMap<String, String>,
    /// The newest `/init` timestamp seen, so replayed or reordered calls
    /// cannot roll the defaults back.
    pub(crate) last_init: Option<f64>,
}

impl AppState {
    pub(crate) fn new(config: Config) -> SharedState {
        let current = Identity::current();
        let mut envs = BTreeMap::new();
        envs.insert("WRENN_SANDBOX".to_owned(), "true".to_owned());
        envs.insert("E2B_SANDBOX".to_owned(), "true".to_owned());
        let defaults = Defaults { user: current.name, workdir: None, envs, last_init: None };
        Arc::new(AppState {
            config,
            defaults: RwLock::new(defaults),
            token: AccessToken::default(),
            processes: ProcessTable::default(),
            watchers: WatcherRegistry::default(),
            cpu: CpuSampler::start(),
        })
    }

    pub(crate) fn defaults(&self) -> Defaults {
        self.defaults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn update_defaults(&self, update: impl FnOnce(&mut Defaults)) {
        update(&mut self.defaults.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// Resolves the user a request acts as: the one it names, else the default.
    pub(crate) fn identity(&self, requested: Option<&str>) -> Result<Identity, UserError> {
        let name = match requested.filter(|name| !name.is_empty()) {
            Some(name) => name.to_owned(),
            None => self.defaults().user,
        };
        let mut identity = Identity::lookup(&name)?;
        // In development mode the invoking user's home is replaced by --root,
        // so tests never touch a real home directory.
        if let Some(root) = &self.config.home_override
            && identity.uid == Identity::current().uid
        {
            identity.home = root.clone();
        }
        Ok(identity)
    }

    /// Resolves a request path for `identity` against home and default workdir.
    pub(crate) fn resolve_path(&self, raw: &str, identity: &Identity) -> PathBuf {
        let defaults = self.defaults();
        crate::paths::resolve(raw, &identity.home, defaults.workdir.as_deref())
    }
}
