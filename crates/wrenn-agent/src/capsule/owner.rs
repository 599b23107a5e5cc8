//! The task that owns one capsule: the only code that changes its state,
//! its runtime objects, its network and its record.
//!
//! It handles one request at a time, in arrival order; between requests,
//! once per tick, it samples the capsule's resource use into its metric
//! rings (which only it writes) and pauses the capsule when it has been
//! idle longer than its timeout. Cleanup never depends on the caller still
//! waiting: the caller only holds a `oneshot` receiver.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use wrenn_types::CapsuleId;

use crate::capsule::admission::{self, Admission, CapsuleState, Operation};
use crate::capsule::record::CapsuleRecord;
use crate::capsule::{CapsuleError, CapsuleEvent, CapsuleInfo, Shared};
use crate::metrics::{MetricPoint, MetricRings};
use crate::network::NetworkError;
use crate::network::slots::SlotAddrs;
use crate::runtime::{CapsuleSpec, RuntimeError};
use crate::template::Template;
use wrenn_types::ErrorChain;

/// envd answers `/init` within milliseconds; this is for a stuck one.
const INIT_TIMEOUT: Duration = Duration::from_secs(5);
/// An adopted capsule's envd is asked for its version this long at most.
const ADOPT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Copying a capsule's root for a snapshot (a few hundred MB).
const SNAPSHOT_COPY_TIMEOUT: Duration = Duration::from_secs(10 * 60);

type Reply<T> = oneshot::Sender<Result<T, CapsuleError>>;

/// A request to a capsule's owner.
#[derive(Debug)]
pub(crate) enum CapsuleRequest {
    Destroy { reply: Reply<()> },
    Pause { reply: Reply<CapsuleInfo> },
    Resume { reply: Reply<CapsuleInfo> },
    Hibernate { reply: Reply<CapsuleInfo> },
    Ping { reply: Reply<CapsuleInfo> },
    Snapshot { template: String, reply: Reply<Template> },
}

/// How an owner begins: building a new capsule, or adopting one a previous
/// agent left running.
#[derive(Debug)]
pub(crate) enum Start {
    Create { record: CapsuleRecord, template: Template, reply: Reply<CapsuleInfo> },
    Adopt { record: CapsuleRecord },
}

impl Start {
    pub(crate) fn initial_info(&self, id: CapsuleId, addrs: SlotAddrs, envd_port: u16) -> CapsuleInfo {
        let (record, adopted) = match self {
            Start::Create { record, .. } => (record, false),
            Start::Adopt { record } => (record, true),
        };
        let state = match (adopted, record.paused, record.hibernated) {
            (false, _, _) => CapsuleState::Starting,
            (true, _, true) => CapsuleState::Hibernated,
            (true, false, false) => CapsuleState::Running,
            (true, true, false) => CapsuleState::Paused,
        };
        CapsuleInfo {
            id,
            template: record.template.clone(),
            state,
            vcpus: record.vcpus,
            memory_mb: record.memory_mb,
            disk_mb: record.disk_mb,
            timeout_sec: record.timeout_sec,
            created_at: record.created_at,
            slot: addrs.slot,
            envd_addr: adopted.then(|| SocketAddr::from((addrs.capsule, envd_port))),
            init_pid: (adopted && !record.hibernated).then_some(record.init_pid),
            last_active_at: unix_now(),
            envd_version: None,
            reason: None,
        }
    }
}

pub(crate) struct Owner {
    shared: Arc<Shared>,
    id: CapsuleId,
    slot: u16,
    info: watch::Sender<CapsuleInfo>,
    rings: Arc<Mutex<MetricRings>>,
    record: Option<CapsuleRecord>,
    last_activity: Instant,
    last_cpu: Option<(Instant, u64)>,
}

impl Owner {
    pub(crate) fn new(
        shared: Arc<Shared>,
        id: CapsuleId,
        slot: u16,
        info: watch::Sender<CapsuleInfo>,
        rings: Arc<Mutex<MetricRings>>,
    ) -> Owner {
        Owner { shared, id, slot, info, rings, record: None, last_activity: Instant::now(), last_cpu: None }
    }

    pub(crate) async fn run(mut self, start: Start, mut inbox: mpsc::Receiver<CapsuleRequest>) {
        match start {
            Start::Create { record, template, reply } => {
                let result = self.create(record, &template).await;
                let created = result.is_ok();
                let _ = reply.send(result);
                if !created {
                    return;
                }
            }
            Start::Adopt { record } => self.adopt(record).await,
        }
        let mut shutdown = self.shared.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return;
        }
        let mut tick = tokio::time::interval(self.shared.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                request = inbox.recv() => {
                    let Some(request) = request else { return };
                    if self.handle(request).await.is_break() {
                        inbox.close();
                        while let Ok(request) = inbox.try_recv() {
                            request.refuse(CapsuleError::NotFound { id: self.id });
                        }
                        return;
                    }
                }
                _ = tick.tick() => self.on_tick().await,
            }
        }
    }

    fn state(&self) -> CapsuleState {
        self.info.borrow().state
    }

    fn set_state(&self, state: CapsuleState) {
        self.info.send_modify(|info| info.state = state);
    }

    /// Marks the capsule active now (the inactivity timeout restarts).
    fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.info.send_modify(|info| info.last_active_at = unix_now());
    }

    /// Keeps the reason a request left the capsule where it is: the error's
    /// whole chain when it ended in `error`; nothing after a success.
    fn note_outcome<T>(&self, result: &Result<T, CapsuleError>) {
        match result {
            Ok(_) => self.info.send_modify(|info| info.reason = None),
            Err(err) if self.state() == CapsuleState::Error => {
                let reason = ErrorChain(err).to_string();
                self.info.send_modify(|info| info.reason = Some(reason));
            }
            Err(_) => {}
        }
    }

    fn envd_addr(&self) -> SocketAddr {
        SocketAddr::from((SlotAddrs::of(self.slot).capsule, self.shared.config.envd_port))
    }

    async fn create(&mut self, mut record: CapsuleRecord, template: &Template) -> Result<CapsuleInfo, CapsuleError> {
        let id = self.id;
        let shared = Arc::clone(&self.shared);
        let network = match shared.network.create(SlotAddrs::of(self.slot)).await {
            Ok(network) => network,
            Err(source) => {
                // A slot with leftovers stays out of use until `recover`.
                let slot_free = !matches!(source, NetworkError::AlreadyExists { .. });
                self.set_state(CapsuleState::Stopped);
                shared.deregister(id, self.slot, slot_free);
                return Err(CapsuleError::Network { id, source });
            }
        };
        let spec = CapsuleSpec {
            id,
            template_rootfs: template.rootfs.clone(),
            vcpus: record.vcpus,
            memory_mb: record.memory_mb,
            disk_mb: record.disk_mb,
            netns_path: network.netns_path.clone(),
            hostname: id.to_string(),
            uid_base: record.uid_base,
        };
        let pid = match shared.runtime.create(&spec).await {
            Ok(pid) => pid,
            Err(source) => {
                // The runtime removed what it had made.
                self.roll_back(false).await;
                return Err(CapsuleError::Runtime { id, operation: Operation::Create, source });
            }
        };
        let addr = self.envd_addr();
        self.info.send_modify(|info| {
            info.init_pid = Some(pid);
            info.envd_addr = Some(addr);
        });
        record.init_pid = pid;
        let path = shared.config.layout.capsule_record(&id.to_string());
        if let Err(source) = record.write(&path) {
            self.roll_back(true).await;
            return Err(CapsuleError::Record { id, path, source });
        }
        let timeout = shared.config.ready_timeout;
        let version = match shared.envd.wait_ready(addr, timeout).await {
            Ok(version) => version,
            Err(source) => {
                self.roll_back(true).await;
                return Err(CapsuleError::NotReady { id, timeout, source });
            }
        };
        self.info.send_modify(|info| info.envd_version = version);
        let init = shared.envd.init(addr, &record.default_env, record.default_user.as_deref(), INIT_TIMEOUT).await;
        if let Err(source) = init {
            self.roll_back(true).await;
            return Err(CapsuleError::Init { id, source });
        }
        self.record = Some(record);
        self.touch();
        self.set_state(CapsuleState::Running);
        Ok(self.info.borrow().clone())
    }

    /// Undoes a create: the runtime's capsule (if it was made), the network
    /// and the registration.
    async fn roll_back(&mut self, runtime_created: bool) {
        let id = self.id;
        if runtime_created && let Err(err) = self.shared.runtime.destroy(&id).await {
            tracing::error!(%id, error = &err as &dyn std::error::Error, "rolling back a capsule's runtime failed");
        }
        let network = self.shared.network.destroy(self.slot).await;
        if let Err(err) = &network {
            tracing::error!(%id, error = err as &dyn std::error::Error, "rolling back a capsule's network failed");
        }
        self.set_state(CapsuleState::Stopped);
        self.shared.deregister(id, self.slot, network.is_ok());
    }

    /// Takes over a capsule found running (or hibernated) after an agent
    /// restart; the kernel's freezer state is made to match the record.
    async fn adopt(&mut self, record: CapsuleRecord) {
        let id = self.id;
        if record.hibernated {
            self.record = Some(record);
            return;
        }
        let result =
            if record.paused { self.shared.runtime.pause(&id).await } else { self.shared.runtime.resume(&id).await };
        if let Err(err) = result {
            tracing::warn!(%id, error = &err as &dyn std::error::Error, "adopted capsule's freezer state is unknown");
            self.set_state(CapsuleState::Error);
        }
        self.record = Some(record);
        self.touch();
        // Best effort: only fills in the version the new agent never saw.
        if let Ok(version) = self.shared.envd.wait_ready(self.envd_addr(), ADOPT_HEALTH_TIMEOUT).await {
            self.info.send_modify(|info| info.envd_version = version);
        }
    }

    async fn handle(&mut self, request: CapsuleRequest) -> ControlFlow<()> {
        self.touch();
        match request {
            CapsuleRequest::Destroy { reply } => {
                let result = match self.admit(Operation::Destroy) {
                    Ok(true) => self.destroy().await,
                    Ok(false) => Ok(()),
                    Err(err) => Err(err),
                };
                let gone = result.is_ok();
                self.note_outcome(&result);
                let _ = reply.send(result);
                if gone {
                    return ControlFlow::Break(());
                }
            }
            CapsuleRequest::Pause { reply } => {
                let result = match self.admit(Operation::Pause) {
                    Ok(true) => self.pause().await,
                    Ok(false) => Ok(()),
                    Err(err) => Err(err),
                };
                self.note_outcome(&result);
                let _ = reply.send(result.map(|()| self.info.borrow().clone()));
            }
            CapsuleRequest::Resume { reply } => {
                let result = match self.admit(Operation::Resume) {
                    Ok(true) => self.resume().await,
                    Ok(false) => Ok(()),
                    Err(err) => Err(err),
                };
                self.note_outcome(&result);
                let _ = reply.send(result.map(|()| self.info.borrow().clone()));
            }
            CapsuleRequest::Hibernate { reply } => {
                let result = match self.admit(Operation::Hibernate) {
                    Ok(true) => self.hibernate().await,
                    Ok(false) => Ok(()),
                    Err(err) => Err(err),
                };
                self.note_outcome(&result);
                let _ = reply.send(result.map(|()| self.info.borrow().clone()));
            }
            CapsuleRequest::Ping { reply } => {
                let result = self.admit(Operation::Ping).map(|_| self.info.borrow().clone());
                let _ = reply.send(result);
            }
            CapsuleRequest::Snapshot { template, reply } => {
                let result = match self.admit(Operation::Snapshot) {
                    Ok(_) => self.snapshot(&template).await,
                    Err(err) => Err(err),
                };
                self.note_outcome(&result);
                let _ = reply.send(result);
            }
        }
        ControlFlow::Continue(())
    }

    /// `Ok(true)`: do the work; `Ok(false)`: already done.
    fn admit(&self, operation: Operation) -> Result<bool, CapsuleError> {
        let state = self.state();
        match admission::admit(state, operation) {
            Admission::Run => Ok(true),
            Admission::AlreadyDone => Ok(false),
            Admission::Refuse => Err(CapsuleError::InvalidState { id: self.id, operation, state }),
        }
    }

    async fn destroy(&mut self) -> Result<(), CapsuleError> {
        let id = self.id;
        self.set_state(CapsuleState::Stopping);
        match self.shared.runtime.destroy(&id).await {
            // Gone already: a retry after the network step failed.
            Ok(()) | Err(RuntimeError::NotFound { .. }) => {}
            Err(source) => {
                self.set_state(CapsuleState::Error);
                return Err(CapsuleError::Runtime { id, operation: Operation::Destroy, source });
            }
        }
        if let Err(source) = self.shared.network.destroy(self.slot).await {
            self.set_state(CapsuleState::Error);
            return Err(CapsuleError::Network { id, source });
        }
        self.set_state(CapsuleState::Stopped);
        self.shared.deregister(id, self.slot, true);
        Ok(())
    }

    async fn pause(&mut self) -> Result<(), CapsuleError> {
        let id = self.id;
        if let Err(source) = self.shared.runtime.pause(&id).await {
            self.set_state(CapsuleState::Error);
            return Err(CapsuleError::Runtime { id, operation: Operation::Pause, source });
        }
        self.set_state(CapsuleState::Paused);
        self.save_paused(true)
    }

    async fn resume(&mut self) -> Result<(), CapsuleError> {
        let id = self.id;
        if self.state() == CapsuleState::Hibernated {
            return self.restore().await;
        }
        if let Err(source) = self.shared.runtime.resume(&id).await {
            self.set_state(CapsuleState::Error);
            return Err(CapsuleError::Runtime { id, operation: Operation::Resume, source });
        }
        self.set_state(CapsuleState::Running);
        self.last_cpu = None;
        self.save_paused(false)?;
        if let Some(record) = &self.record {
            let addr = self.envd_addr();
            let init =
                self.shared.envd.init(addr, &record.default_env, record.default_user.as_deref(), INIT_TIMEOUT).await;
            if let Err(err) = init {
                // The capsule runs; only its clock may be behind.
                tracing::warn!(%id, error = &err as &dyn std::error::Error, "envd init after resume failed");
            }
        }
        Ok(())
    }

    /// Writes the capsule to disk and ends its processes. A paused capsule
    /// is dumped while frozen (CRIU takes the frozen cgroup as it is), so it
    /// never runs in between. A failed dump leaves the capsule as it was.
    async fn hibernate(&mut self) -> Result<(), CapsuleError> {
        let id = self.id;
        let runtime = &self.shared.runtime;
        if !runtime.capabilities().hibernate {
            return Err(CapsuleError::Unsupported { runtime: runtime.name(), operation: Operation::Hibernate });
        }
        if let Err(source) = runtime.hibernate(&id).await {
            if matches!(source, RuntimeError::Lost { .. }) {
                self.info.send_modify(|info| info.init_pid = None);
                self.set_state(CapsuleState::Error);
            }
            return Err(CapsuleError::Runtime { id, operation: Operation::Hibernate, source });
        }
        self.info.send_modify(|info| {
            info.init_pid = None;
            info.state = CapsuleState::Hibernated;
        });
        self.last_cpu = None;
        self.save_record(|record| {
            record.paused = false;
            record.hibernated = true;
        })
    }

    /// Resume of a hibernated capsule: the runtime restores it (running,
    /// also if it was paused when hibernated), then envd must answer again.
    /// Established TCP connections were closed by the hibernate; listening
    /// sockets are back.
    async fn restore(&mut self) -> Result<(), CapsuleError> {
        let id = self.id;
        let pid = match self.shared.runtime.restore(&id).await {
            Ok(pid) => pid,
            Err(source) => {
                self.set_state(CapsuleState::Error);
                return Err(CapsuleError::Runtime { id, operation: Operation::Resume, source });
            }
        };
        self.info.send_modify(|info| info.init_pid = Some(pid));
        let saved = self.save_record(|record| {
            record.init_pid = pid;
            record.paused = false;
            record.hibernated = false;
        });
        if let Err(err) = saved {
            // Running, but a restarted agent would take it for hibernated.
            self.set_state(CapsuleState::Error);
            return Err(err);
        }
        let addr = self.envd_addr();
        let timeout = self.shared.config.ready_timeout;
        match self.shared.envd.wait_ready(addr, timeout).await {
            Ok(version) => self.info.send_modify(|info| info.envd_version = version),
            Err(source) => {
                self.set_state(CapsuleState::Error);
                return Err(CapsuleError::NotReady { id, timeout, source });
            }
        }
        self.set_state(CapsuleState::Running);
        self.last_cpu = None;
        if let Some(record) = &self.record {
            let init =
                self.shared.envd.init(addr, &record.default_env, record.default_user.as_deref(), INIT_TIMEOUT).await;
            if let Err(err) = init {
                // The capsule runs; only its clock may be behind.
                tracing::warn!(%id, error = &err as &dyn std::error::Error, "envd init after restore failed");
            }
        }
        Ok(())
    }

    fn save_paused(&mut self, paused: bool) -> Result<(), CapsuleError> {
        self.save_record(|record| record.paused = paused)
    }

    fn save_record(&mut self, change: impl FnOnce(&mut CapsuleRecord)) -> Result<(), CapsuleError> {
        let Some(record) = &mut self.record else { return Ok(()) };
        change(record);
        let path = self.shared.config.layout.capsule_record(&self.id.to_string());
        record.write(&path).map_err(|source| CapsuleError::Record { id: self.id, path, source })
    }

    /// Freezes the capsule (if running), copies its merged root as the host
    /// sees it through its init (owned by the capsule's uid range; the store
    /// makes it canonical), and thaws it again.
    async fn snapshot(&mut self, name: &str) -> Result<Template, CapsuleError> {
        let id = self.id;
        let runtime = &self.shared.runtime;
        if !runtime.capabilities().disk_snapshot {
            return Err(CapsuleError::Unsupported { runtime: runtime.name(), operation: Operation::Snapshot });
        }
        let (Some(record), Some(pid)) = (&self.record, self.info.borrow().init_pid) else {
            return Err(CapsuleError::InvalidState { id, operation: Operation::Snapshot, state: self.state() });
        };
        let (parent, uid_base) = (record.template.clone(), record.uid_base);
        let was_running = self.state() == CapsuleState::Running;
        if was_running && let Err(source) = runtime.pause(&id).await {
            return Err(CapsuleError::Runtime { id, operation: Operation::Pause, source });
        }
        let source_root = PathBuf::from(format!("/proc/{pid}/root/."));
        let result = self
            .shared
            .templates
            .import(name, &parent, uid_base, |staging| async move {
                let args = [
                    std::ffi::OsStr::new("-a"),
                    "--one-file-system".as_ref(),
                    source_root.as_os_str(),
                    staging.as_os_str(),
                ];
                crate::sys::cmd::run("cp", args, None, SNAPSHOT_COPY_TIMEOUT).await?;
                Ok(())
            })
            .await
            .map_err(|source| CapsuleError::Snapshot { id, template: name.to_owned(), source });
        if was_running && let Err(source) = runtime.resume(&id).await {
            self.set_state(CapsuleState::Error);
            return Err(CapsuleError::Runtime { id, operation: Operation::Resume, source });
        }
        result
    }

    async fn on_tick(&mut self) {
        let state = self.state();
        if !matches!(state, CapsuleState::Running | CapsuleState::Paused) {
            return;
        }
        if matches!(self.shared.runtime.is_alive(&self.id).await, Ok(false)) {
            let reason = "died: the capsule's init exited (killed or out of memory)".to_owned();
            tracing::warn!(id = %self.id, "{reason}");
            self.set_state(CapsuleState::Error);
            self.info.send_modify(|info| info.reason = Some(reason.clone()));
            let _ = self.shared.events.send(CapsuleEvent::Died { id: self.id, reason });
            return;
        }
        if let Ok(stats) = self.shared.runtime.stats(&self.id).await {
            let now = Instant::now();
            let vcpus = self.info.borrow().vcpus;
            let cpu_pct = match self.last_cpu {
                Some((then, ns)) => admission::cpu_percent(ns, stats.cpu_usage_ns, now - then, vcpus),
                None => 0.0,
            };
            self.last_cpu = Some((now, stats.cpu_usage_ns));
            let timestamp_unix =
                SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let point =
                MetricPoint { timestamp_unix, cpu_pct, mem_bytes: stats.memory_bytes, disk_bytes: stats.disk_bytes };
            self.rings.lock().unwrap_or_else(PoisonError::into_inner).push(point);
        }
        let timeout_sec = self.info.borrow().timeout_sec;
        if admission::idle_expired(state, self.last_activity.elapsed(), timeout_sec) {
            match self.pause().await {
                Ok(()) => {
                    let reason = format!("inactivity: paused after {timeout_sec} s without activity");
                    self.info.send_modify(|info| info.reason = Some(reason));
                    tracing::info!(id = %self.id, "paused after {timeout_sec} s without activity");
                    let _ = self.shared.events.send(CapsuleEvent::AutoPaused { id: self.id });
                }
                Err(err) => tracing::warn!(id = %self.id, error = &err as &dyn std::error::Error, "auto-pause failed"),
            }
        }
    }
}

impl CapsuleRequest {
    fn refuse(self, error: CapsuleError) {
        match self {
            CapsuleRequest::Destroy { reply } => drop(reply.send(Err(error))),
            CapsuleRequest::Pause { reply }
            | CapsuleRequest::Resume { reply }
            | CapsuleRequest::Hibernate { reply }
            | CapsuleRequest::Ping { reply } => {
                drop(reply.send(Err(error)));
            }
            CapsuleRequest::Snapshot { reply, .. } => drop(reply.send(Err(error))),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| since.as_secs())
}
