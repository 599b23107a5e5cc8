//! The capsule manager: composes the runtime, the per-capsule network and
//! the template store into capsules with a lifecycle.
//!
//! One owner per capsule. Each capsule has a task (`capsule::owner`) that
//! receives [`CapsuleRequest`](owner::CapsuleRequest)s, each with a
//! `oneshot` reply, and is the only code that changes that capsule's state,
//! runtime objects, network and record. Operations on one capsule run one
//! at a time in arrival order; different capsules never wait on each other.
//! The owner task also samples metrics and pauses the capsule when it has
//! been idle too long, once a second.
//!
//! ```text
//!            create ok                pause / idle timeout
//! starting ───────────▶ running ───────────────────────────▶ paused
//!    │                    │  ▲                                 │
//!    │ create fails       │  └──────────── resume ─────────────┘
//!    │ (rolled back)      │ destroy                            │ destroy
//!    ▼                    ▼                                    │
//!  (gone)             stopping ◀───────────────────────────────┘
//!                      │     │ a step failed
//!                      ▼     ▼
//!                  stopped  error ──destroy──▶ stopping
//!
//! running, paused ──hibernate──▶ hibernated ──resume (restore)──▶ running
//!                                     │ destroy
//!                                     ▼
//!                                  stopping
//! ```
//!
//! Hibernate needs `Capabilities::hibernate` (a working CRIU); a failed
//! dump leaves the capsule running or paused, a failed restore (or a dump
//! that lost the processes) puts it in `error`. Resume of a hibernated
//! capsule always ends running, also when it was paused before: it is
//! dumped while frozen and restored thawed.
//!
//! Decisions taken here:
//! - A failed create undoes every step it did (runtime, network, slot,
//!   capsule dir) before the error is returned; so does a dropped caller,
//!   because the work runs in the owner task, not in the caller's future.
//! - A second `destroy` while one is in progress fails at once with
//!   [`CapsuleError::AlreadyStopping`] instead of waiting: the first caller
//!   gets the outcome, the second learns that nothing is left for it to do.
//! - Activity (what resets the inactivity timeout) is every request that
//!   reaches the owner: ping, pause, resume, hibernate, snapshot. `get`,
//!   `list` and `metrics` only observe and do not keep a capsule awake.
//! - Base templates are not built on demand here: create fails fast with
//!   [`CapsuleError::UnknownTemplate`] instead of blocking on debootstrap.
//! - Dropping the manager stops the owner tasks but leaves capsules running
//!   (as a crash would); [`CapsuleManager::recover`] in the next agent adopts
//!   them through the records in their capsule dirs, and removes the rest.

pub mod admission;
mod envd;
pub mod error;
mod owner;
mod proxy_resolver;
mod record;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use wrenn_types::CapsuleId;

use crate::capsule::admission::Asked;
use crate::capsule::owner::{CapsuleRequest, Owner, Start};
use crate::capsule::record::CapsuleRecord;
use crate::layout::Layout;
use crate::metrics::{MetricPoint, MetricRange, MetricRings};
use crate::network::NetworkManager;
use crate::network::slots::SlotAllocator;
use crate::runtime::Runtime;
use crate::template::{Template, TemplateStore};
use crate::uid_range::UidRange;

pub use admission::{CapsuleState, HostLimits, Operation, SpecProblem};
pub use envd::EnvdError;
pub use error::CapsuleError;

/// Port envd listens on in every capsule.
pub const ENVD_PORT: u16 = 49983;

/// How the manager runs on this host.
#[derive(Debug, Clone)]
pub struct CapsuleManagerConfig {
    pub layout: Layout,
    /// Interface capsules reach the outside through (`None`: no egress).
    pub egress_interface: Option<String>,
    /// Whether `recover` installs the host firewall (`ensure_host_rules`).
    pub install_host_rules: bool,
    pub limits: HostLimits,
    pub envd_port: u16,
    /// From the runtime's create to envd answering `/health`.
    pub ready_timeout: Duration,
    /// Period of metric sampling and of the inactivity check.
    pub tick: Duration,
}

impl CapsuleManagerConfig {
    /// The production settings, with limits read from this host.
    pub fn new(layout: Layout, egress_interface: Option<String>) -> CapsuleManagerConfig {
        CapsuleManagerConfig {
            layout,
            egress_interface,
            install_host_rules: true,
            limits: host_limits(),
            envd_port: ENVD_PORT,
            ready_timeout: Duration::from_secs(10),
            tick: Duration::from_secs(1),
        }
    }
}

/// The host's cores and memory (from `/proc/meminfo`); disks up to 1 TiB,
/// timeouts up to a day.
pub fn host_limits() -> HostLimits {
    let cpus = std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kb = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    HostLimits { cpus, memory_mb: memory_kb / 1024, max_disk_mb: 1 << 20, max_timeout_sec: 24 * 3600 }
}

/// A request for a new capsule.
#[derive(Debug, Clone)]
pub struct CreateCapsule {
    pub id: CapsuleId,
    pub template: String,
    pub vcpus: u32,
    pub memory_mb: u64,
    /// 0: no disk limit.
    pub disk_mb: u64,
    /// Inactivity before an automatic pause; 0: never.
    pub timeout_sec: u64,
    pub default_user: Option<String>,
    pub default_env: BTreeMap<String, String>,
}

/// What the manager knows about one capsule.
#[derive(Debug, Clone, PartialEq)]
pub struct CapsuleInfo {
    pub id: CapsuleId,
    pub template: String,
    pub state: CapsuleState,
    pub vcpus: u32,
    pub memory_mb: u64,
    pub disk_mb: u64,
    pub timeout_sec: u64,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
    pub slot: u16,
    /// envd's address, once the network exists.
    pub envd_addr: Option<std::net::SocketAddr>,
    /// Host pid of the capsule's init, once it runs.
    pub init_pid: Option<u32>,
    /// Seconds since the Unix epoch of the last request that counts as
    /// activity (what the inactivity timeout measures from).
    pub last_active_at: u64,
    /// What envd reported when it last became ready (`None` before that,
    /// and for adopted capsules until they answer).
    pub envd_version: Option<String>,
    /// Why the capsule is in its state, when the agent put it there on its
    /// own or after a failure: the inactivity timeout, or the error that
    /// left it in `error`. Cleared by the next successful operation.
    pub reason: Option<String>,
}

/// What the manager tells the control plane without being asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapsuleEvent {
    /// The capsule was idle longer than its timeout and is now paused.
    AutoPaused { id: CapsuleId },
    /// The capsule's init died on its own (killed from the host, OOM):
    /// the capsule is in `error` with `reason` and awaits its destroy.
    Died { id: CapsuleId, reason: String },
}

/// What [`CapsuleManager::recover`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    pub adopted: Vec<CapsuleId>,
    /// Alive in the runtime but without a usable record: destroyed.
    pub destroyed: Vec<CapsuleId>,
    /// Network slots removed because no capsule owns them.
    pub stale_slots: BTreeSet<u16>,
}

/// Creates, tracks and destroys the capsules of this host.
#[derive(Debug)]
pub struct CapsuleManager {
    shared: Arc<Shared>,
}

/// What every owner task shares. The registry lock guards only map and slot
/// updates, never an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: CapsuleManagerConfig,
    pub(crate) runtime: Arc<dyn Runtime>,
    pub(crate) network: NetworkManager,
    pub(crate) templates: TemplateStore,
    pub(crate) envd: envd::EnvdClient,
    pub(crate) events: broadcast::Sender<CapsuleEvent>,
    /// Set to `true` when the manager is dropped: owners stop.
    pub(crate) shutdown: watch::Sender<bool>,
    registry: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    capsules: HashMap<CapsuleId, Handle>,
    slots: SlotAllocator,
    /// Templates being deleted: no capsule may start on them meanwhile.
    deleting_templates: BTreeSet<String>,
}

/// How the manager reaches one capsule's owner.
#[derive(Debug, Clone)]
struct Handle {
    requests: mpsc::Sender<CapsuleRequest>,
    info: watch::Receiver<CapsuleInfo>,
    rings: Arc<Mutex<MetricRings>>,
    destroying: Arc<AtomicBool>,
}

/// Requests queued per capsule before callers wait for room.
const QUEUE: usize = 16;

impl CapsuleManager {
    pub fn new(
        config: CapsuleManagerConfig,
        runtime: Arc<dyn Runtime>,
        network: NetworkManager,
        templates: TemplateStore,
    ) -> CapsuleManager {
        let (events, _) = broadcast::channel(256);
        let (shutdown, _) = watch::channel(false);
        let shared = Shared {
            config,
            runtime,
            network,
            templates,
            envd: envd::EnvdClient::new(),
            events,
            shutdown,
            registry: Mutex::new(Registry::default()),
        };
        CapsuleManager { shared: Arc::new(shared) }
    }

    /// Events such as automatic pauses, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CapsuleEvent> {
        self.shared.events.subscribe()
    }

    pub fn templates(&self) -> &TemplateStore {
        &self.shared.templates
    }

    /// Deletes a template no capsule stands on. A capsule in any state,
    /// hibernated included, keeps its template: it is the capsule's lower
    /// layer, and a hibernated capsule is restored onto it. A create that
    /// races the delete either registers first (the delete is refused) or
    /// is refused itself.
    pub async fn delete_template(&self, name: &str) -> Result<(), CapsuleError> {
        {
            let mut registry = self.shared.registry();
            let capsules: Vec<CapsuleId> = registry
                .capsules
                .iter()
                .filter(|(_, handle)| handle.info.borrow().template == name)
                .map(|(id, _)| *id)
                .collect();
            if !capsules.is_empty() {
                return Err(CapsuleError::TemplateInUse { name: name.to_owned(), capsules });
            }
            registry.deleting_templates.insert(name.to_owned());
        }
        let result = self.shared.templates.delete(name).await;
        self.shared.registry().deleting_templates.remove(name);
        result.map_err(|source| CapsuleError::TemplateDelete { name: name.to_owned(), source })
    }

    /// Starts a capsule and returns once its envd is ready and initialised.
    pub async fn create(&self, request: CreateCapsule) -> Result<CapsuleInfo, CapsuleError> {
        let id = request.id;
        let asked = Asked {
            vcpus: request.vcpus,
            memory_mb: request.memory_mb,
            disk_mb: request.disk_mb,
            timeout_sec: request.timeout_sec,
            default_user: request.default_user.as_deref(),
        };
        admission::check_spec(asked, request.default_env.keys().map(String::as_str), &self.shared.config.limits)
            .map_err(|problem| CapsuleError::InvalidSpec { id, problem })?;
        let template = match self.shared.templates.open(&request.template).await {
            Ok(Some(template)) => template,
            Ok(None) => return Err(CapsuleError::UnknownTemplate { name: request.template }),
            Err(crate::template::TemplateError::InvalidName { name }) => {
                return Err(CapsuleError::UnknownTemplate { name });
            }
            Err(source) => return Err(CapsuleError::Template { name: request.template, source }),
        };
        let record = CapsuleRecord {
            format: record::RECORD_FORMAT,
            id: id.to_string(),
            slot: 0,
            uid_base: 0,
            template: request.template.clone(),
            vcpus: request.vcpus,
            memory_mb: request.memory_mb,
            disk_mb: request.disk_mb,
            timeout_sec: request.timeout_sec,
            default_user: request.default_user.clone(),
            default_env: request.default_env.clone(),
            created_at: SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            init_pid: 0,
            paused: false,
            hibernated: false,
        };
        let (reply, outcome) = oneshot::channel();
        let template_name = request.template.clone();
        self.spawn_owner(id, None, Some(&template_name), |slot| {
            let uid_base = UidRange::for_slot(slot).base;
            Start::Create { record: CapsuleRecord { slot, uid_base, ..record }, template, reply }
        })?;
        outcome.await.map_err(|_| CapsuleError::TaskLost { id })?
    }

    /// Stops every process of the capsule and removes everything it had.
    pub async fn destroy(&self, id: CapsuleId) -> Result<(), CapsuleError> {
        let handle = self.handle(id)?;
        if handle.destroying.swap(true, Ordering::SeqCst) {
            return Err(CapsuleError::AlreadyStopping { id });
        }
        let result = ask(&handle, id, |reply| CapsuleRequest::Destroy { reply }).await;
        if result.is_err() {
            // The owner kept the capsule (in `error`): a later destroy may retry.
            handle.destroying.store(false, Ordering::SeqCst);
        }
        result
    }

    /// Freezes every process of the capsule, memory kept.
    pub async fn pause(&self, id: CapsuleId) -> Result<CapsuleInfo, CapsuleError> {
        ask(&self.handle(id)?, id, |reply| CapsuleRequest::Pause { reply }).await
    }

    /// Thaws a paused capsule, or restores a hibernated one, and
    /// re-initialises envd (its clock).
    pub async fn resume(&self, id: CapsuleId) -> Result<CapsuleInfo, CapsuleError> {
        ask(&self.handle(id)?, id, |reply| CapsuleRequest::Resume { reply }).await
    }

    /// Writes the capsule's processes and memory to disk and frees them
    /// (`resume` restores it). [`CapsuleError::Unsupported`] when the runtime
    /// cannot (no working CRIU).
    pub async fn hibernate(&self, id: CapsuleId) -> Result<CapsuleInfo, CapsuleError> {
        ask(&self.handle(id)?, id, |reply| CapsuleRequest::Hibernate { reply }).await
    }

    /// Marks the capsule as in use (resets its inactivity timeout).
    pub async fn ping(&self, id: CapsuleId) -> Result<CapsuleInfo, CapsuleError> {
        ask(&self.handle(id)?, id, |reply| CapsuleRequest::Ping { reply }).await
    }

    /// Copies the capsule's disk state into a new template `template`; the
    /// capsule is frozen during the copy and keeps running afterwards.
    pub async fn snapshot(&self, id: CapsuleId, template: &str) -> Result<Template, CapsuleError> {
        let template = template.to_owned();
        ask(&self.handle(id)?, id, |reply| CapsuleRequest::Snapshot { template, reply }).await
    }

    pub fn get(&self, id: CapsuleId) -> Result<CapsuleInfo, CapsuleError> {
        Ok(self.handle(id)?.info.borrow().clone())
    }

    /// Every capsule, ordered by id.
    pub fn list(&self) -> Vec<CapsuleInfo> {
        let mut infos: Vec<CapsuleInfo> =
            self.shared.registry().capsules.values().map(|handle| handle.info.borrow().clone()).collect();
        infos.sort_by_key(|info| info.id);
        infos
    }

    /// The capsule's samples (one a second) over `range`.
    pub fn metrics(&self, id: CapsuleId, range: MetricRange) -> Result<Vec<MetricPoint>, CapsuleError> {
        let rings = Arc::clone(&self.handle(id)?.rings);
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let points = rings.lock().unwrap_or_else(PoisonError::into_inner).query(range, now as i64);
        Ok(points)
    }

    /// Run once at startup, before any create: installs the host firewall
    /// (if configured), adopts the capsules a previous agent left running
    /// and removes whatever else it left (capsules without a record, dead
    /// capsules' dirs and cgroups, networks of slots no capsule owns).
    pub async fn recover(&self) -> Result<Recovery, CapsuleError> {
        let shared = &self.shared;
        let nil = CapsuleId::from_u128(0);
        if shared.config.install_host_rules {
            let egress = shared.config.egress_interface.as_deref();
            shared
                .network
                .ensure_host_rules(egress)
                .await
                .map_err(|source| CapsuleError::Network { id: nil, source })?;
        }
        let alive = shared.runtime.recover().await.map_err(|source| CapsuleError::Runtime {
            id: nil,
            operation: Operation::Create,
            source,
        })?;
        let mut recovery = Recovery::default();
        for id in alive {
            let path = shared.config.layout.capsule_record(&id.to_string());
            let record = CapsuleRecord::read(&path).filter(|record| record.id == id.to_string());
            let adopted = match record {
                Some(record) => self.spawn_owner(id, Some(record.slot), None, |_| Start::Adopt { record }).is_ok(),
                None => false,
            };
            if adopted {
                recovery.adopted.push(id);
            } else {
                if let Err(err) = shared.runtime.destroy(&id).await {
                    tracing::warn!(%id, error = &err as &dyn std::error::Error, "could not remove an unrecorded capsule");
                }
                recovery.destroyed.push(id);
            }
        }
        let keep: BTreeSet<u16> = shared.registry().capsules.values().map(|handle| handle.info.borrow().slot).collect();
        let stale =
            shared.network.cleanup_stale(&keep).await.map_err(|source| CapsuleError::Network { id: nil, source })?;
        recovery.stale_slots = stale.namespaces.union(&stale.host_veths).copied().collect();
        Ok(recovery)
    }

    /// Registers `id` with a slot (a new one, or `slot` when adopting) and
    /// starts its owner task.
    fn spawn_owner(
        &self,
        id: CapsuleId,
        slot: Option<u16>,
        new_on_template: Option<&str>,
        start: impl FnOnce(u16) -> Start,
    ) -> Result<(), CapsuleError> {
        let (requests, inbox) = mpsc::channel(QUEUE);
        let rings = Arc::new(Mutex::new(MetricRings::default()));
        let (slot, info) = {
            let mut registry = self.shared.registry();
            if registry.capsules.contains_key(&id) {
                return Err(CapsuleError::AlreadyExists { id });
            }
            if let Some(template) = new_on_template
                && registry.deleting_templates.contains(template)
            {
                return Err(CapsuleError::UnknownTemplate { name: template.to_owned() });
            }
            let addrs = match slot {
                Some(slot) => registry.slots.claim(slot),
                None => registry.slots.allocate(),
            }
            .map_err(|source| CapsuleError::NoSlot { id, source })?;
            let start = start(addrs.slot);
            let info = start.initial_info(id, addrs, self.shared.config.envd_port);
            let (info_tx, info_rx) = watch::channel(info);
            let handle = Handle {
                requests,
                info: info_rx,
                rings: Arc::clone(&rings),
                destroying: Arc::new(AtomicBool::new(false)),
            };
            registry.capsules.insert(id, handle);
            (addrs.slot, (info_tx, start))
        };
        let (info_tx, start) = info;
        let owner = Owner::new(Arc::clone(&self.shared), id, slot, info_tx, rings);
        tokio::spawn(owner.run(start, inbox));
        Ok(())
    }

    fn handle(&self, id: CapsuleId) -> Result<Handle, CapsuleError> {
        self.shared.registry().capsules.get(&id).cloned().ok_or(CapsuleError::NotFound { id })
    }
}

impl Drop for CapsuleManager {
    fn drop(&mut self) {
        self.shared.shutdown.send_replace(true);
    }
}

impl Shared {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // Every update is a single insert or remove, so a panic cannot leave
        // the registry half-changed; poisoning is ignored.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets a capsule; its slot is handed out again only if its network
    /// is known to be gone.
    pub(crate) fn deregister(&self, id: CapsuleId, slot: u16, slot_free: bool) {
        let mut registry = self.registry();
        registry.capsules.remove(&id);
        if slot_free {
            registry.slots.release(slot);
        }
    }
}

async fn ask<T>(
    handle: &Handle,
    id: CapsuleId,
    request: impl FnOnce(oneshot::Sender<Result<T, CapsuleError>>) -> CapsuleRequest,
) -> Result<T, CapsuleError> {
    let (reply, outcome) = oneshot::channel();
    // The owner closes its inbox only once the capsule is destroyed.
    handle.requests.send(request(reply)).await.map_err(|_| CapsuleError::NotFound { id })?;
    outcome.await.map_err(|_| CapsuleError::TaskLost { id })?
}
