//! Processes and terminals in a capsule, relayed to and from its envd.
//!
//! The agent keeps no process table: envd is the truth for what runs inside
//! a capsule, and a background process or terminal outlives the call that
//! started it (envd does not stop a process when its stream is dropped).
//! What envd forgets is how a process ended: the agent reads each background
//! process's start stream to its end and keeps the exit (`exits`), so that
//! `ConnectProcess` to a finished process still ends with its exit code.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectrpc::{ConnectError, ErrorCode, ServiceStream};
use futures::StreamExt;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::exec_stream_response::Event as ExecEvent;
use wrenn_proto::agent::hostagent::__buffa::oneof::process_selector::Selector;
use wrenn_proto::agent::hostagent::__buffa::oneof::pty_attach_response::Event as PtyEvent;
use wrenn_proto::envd::process as envd_pb;
use wrenn_proto::envd::process::__buffa::oneof::process_event::{Event as ProcessEvent, data_event::Output};
use wrenn_proto::envd::process::__buffa::oneof::process_selector::Selector as EnvdSelector;

use crate::capsule::{CapsuleManager, CapsuleState};
use crate::rpc::EnvdClientError;
use crate::rpc::envd_client::{Envd, ProcessEvents, ProcessStart};
use crate::rpc::exits::{Exit, ProcessKey, Watch};
use crate::rpc::service::HostAgent;
use crate::rpc::{envd_error, invalid};

/// How long a unary `Exec` may run when the request sets no timeout.
const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(300);

/// Most output a unary `Exec` collects (stdout + stderr): the reply must fit
/// one Connect message, and the agent must not buffer without bound.
/// Larger output belongs on `ExecStream`.
const MAX_EXEC_OUTPUT: usize = 3 << 20;

/// Default terminal size when a `PtyAttach` names none.
const DEFAULT_PTY_SIZE: (u32, u32) = (80, 24);

/// How long a quiet watch waits before it checks that its capsule still
/// runs. envd sends a keepalive every 50 s on a live stream; a paused capsule
/// sends nothing until it is resumed.
const WATCH_QUIET_CHECK: Duration = Duration::from_secs(120);

/// How long `ConnectProcess` waits for the end of a watched process that envd
/// no longer knows: envd drops a process from its table a moment before it
/// sends the end event.
const END_WAIT: Duration = Duration::from_secs(5);

impl HostAgent {
    pub(crate) async fn exec(&self, request: pb::ExecRequest) -> Result<pb::ExecResponse, ConnectError> {
        let timeout = match request.timeout_sec {
            0 => DEFAULT_EXEC_TIMEOUT,
            secs => Duration::from_secs(u64::from(secs)),
        };
        let started = Instant::now();
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let mut events = start(&envd, exec_spec(request)?).await?;
        let mut response = pb::ExecResponse::default();
        let mut pid = None;
        let collect = async {
            while let Some(event) = events.next().await {
                match event.map_err(|err| envd_error(&err))? {
                    ProcessEvent::Start(start) => pid = Some(start.pid),
                    ProcessEvent::Data(data) => {
                        match data.output {
                            Some(Output::Stdout(bytes) | Output::Pty(bytes)) => response.stdout.extend(bytes),
                            Some(Output::Stderr(bytes)) => response.stderr.extend(bytes),
                            None => {}
                        }
                        if response.stdout.len() + response.stderr.len() > MAX_EXEC_OUTPUT {
                            return Err(ConnectError::new(
                                ErrorCode::ResourceExhausted,
                                format!("output exceeds {MAX_EXEC_OUTPUT} bytes; use ExecStream for large output"),
                            ));
                        }
                    }
                    ProcessEvent::End(end) => response.exit_code = end.exit_code,
                    ProcessEvent::Keepalive(_) => {}
                }
            }
            Ok::<_, ConnectError>(())
        };
        let Ok(collected) = tokio::time::timeout(timeout, collect).await else {
            if let Some(pid) = pid {
                // Best effort: the caller gets the timeout either way.
                let _ = envd.signal(envd_selector(Selector::Pid(pid)), envd_pb::Signal::SIGNAL_SIGKILL).await;
            }
            return Err(ConnectError::new(
                ErrorCode::DeadlineExceeded,
                format!("command did not finish within {timeout:?}"),
            ));
        };
        if let Err(err) = collected {
            // The command is abandoned (output too large, envd failed): stop it.
            if let Some(pid) = pid {
                let _ = envd.signal(envd_selector(Selector::Pid(pid)), envd_pb::Signal::SIGNAL_SIGKILL).await;
            }
            return Err(err);
        }
        response.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(response)
    }

    pub(crate) async fn exec_stream(
        &self,
        request: pb::ExecRequest,
    ) -> Result<ServiceStream<pb::ExecStreamResponse>, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let events = start(&envd, exec_spec(request)?).await?;
        Ok(exec_stream(events))
    }

    pub(crate) async fn start_background(
        &self,
        request: pb::StartBackgroundRequest,
    ) -> Result<pb::StartBackgroundResponse, ConnectError> {
        let (capsule, envd) = self.capsule_envd(&request.capsule_id, &request.user)?;
        if request.cmd.is_empty() {
            return Err(invalid("cmd must not be empty"));
        }
        let tag = if request.tag.is_empty() { generated_tag() } else { request.tag };
        let spec = ProcessStart {
            cmd: request.cmd,
            args: request.args,
            envs: request.envs.into_iter().collect(),
            cwd: non_empty(request.cwd),
            tag: Some(tag.clone()),
            pty: None,
        };
        let (pid, events) = first_pid(start(&envd, spec).await?).await?;
        self.watch_to_end(capsule, pid, &tag, events);
        Ok(pb::StartBackgroundResponse { pid, tag, ..Default::default() })
    }

    /// Reads the rest of a background process's start stream in a task and
    /// keeps its exit. Costs one envd connection per watched process while
    /// it runs (its output is read and dropped); without room for another
    /// watch (`exits` bounds them) the process runs unwatched.
    fn watch_to_end(&self, capsule: wrenn_types::CapsuleId, pid: u32, tag: &str, events: ProcessEvents) {
        let Some(mut watch) = self.exits.watch(capsule, pid, tag) else {
            tracing::warn!(%capsule, pid, "too many watched processes: this one's exit code will not be kept");
            return;
        };
        let exits = Arc::clone(&self.exits);
        let manager = Arc::clone(&self.manager);
        tokio::spawn(async move {
            let exit = read_to_end(events, &mut watch, &manager).await;
            exits.finish(watch, exit.as_ref().map(|(code, error)| (*code, error.as_str())));
        });
    }

    pub(crate) async fn list_processes(
        &self,
        request: pb::ListProcessesRequest,
    ) -> Result<pb::ListProcessesResponse, ConnectError> {
        let envd = self.envd(&request.capsule_id, "")?;
        let processes = envd.list_processes().await.map_err(|err| envd_error(&err))?;
        let processes = processes
            .into_iter()
            .map(|process| {
                let config = process.config.into_option().unwrap_or_default();
                pb::ProcessEntry {
                    pid: process.pid,
                    tag: process.tag.unwrap_or_default(),
                    cmd: config.cmd,
                    args: config.args,
                    ..Default::default()
                }
            })
            .collect();
        Ok(pb::ListProcessesResponse { processes, ..Default::default() })
    }

    pub(crate) async fn kill_process(&self, request: pb::KillProcessRequest) -> Result<(), ConnectError> {
        let envd = self.envd(&request.capsule_id, "")?;
        let selector = selector(request.process.into_option())?;
        let signal = match request.signal.as_known() {
            Some(pb::Signal::SIGNAL_SIGTERM) => envd_pb::Signal::SIGNAL_SIGTERM,
            Some(pb::Signal::SIGNAL_SIGKILL | pb::Signal::SIGNAL_UNSPECIFIED) => envd_pb::Signal::SIGNAL_SIGKILL,
            None => return Err(invalid(format!("unknown signal {}", request.signal.to_i32()))),
        };
        envd.signal(selector, signal).await.map_err(|err| envd_error(&err))
    }

    pub(crate) async fn connect_process(
        &self,
        request: pb::ConnectProcessRequest,
    ) -> Result<ServiceStream<pb::ExecStreamResponse>, ConnectError> {
        let (capsule, envd) = self.capsule_envd(&request.capsule_id, "")?;
        let process = request.process.into_option();
        let key = process.as_ref().and_then(|process| match &process.selector {
            Some(Selector::Pid(pid)) => Some(ProcessKey::Pid(*pid)),
            Some(Selector::Tag(tag)) => Some(ProcessKey::Tag(tag.clone())),
            None => None,
        });
        let selector = selector(process)?;
        match connect(&envd, selector).await {
            Ok(events) => Ok(exec_stream(events)),
            Err(err) if is_not_found(&err) => {
                let ended = match key {
                    Some(key) => self.exits.wait_for_end(capsule, &key, END_WAIT).await,
                    None => None,
                };
                ended.map(|exit| ended_stream(&exit)).ok_or_else(|| envd_error(&err))
            }
            Err(err) => Err(envd_error(&err)),
        }
    }

    /// Starts a terminal when the request has a cmd, else attaches to the
    /// terminal with the request's tag.
    pub(crate) async fn pty_attach(
        &self,
        request: pb::PtyAttachRequest,
    ) -> Result<ServiceStream<pb::PtyAttachResponse>, ConnectError> {
        let envd = self.envd(&request.capsule_id, &request.user)?;
        let events = if request.cmd.is_empty() {
            if request.tag.is_empty() {
                return Err(invalid("either cmd (to start a terminal) or tag (to attach) is required"));
            }
            envd.connect(envd_selector(Selector::Tag(request.tag))).await.map_err(|err| envd_error(&err))?
        } else {
            let size = match (request.cols, request.rows) {
                (0, _) | (_, 0) => DEFAULT_PTY_SIZE,
                size => size,
            };
            let spec = ProcessStart {
                cmd: request.cmd,
                args: request.args,
                envs: request.envs.into_iter().collect::<BTreeMap<_, _>>(),
                cwd: non_empty(request.cwd),
                tag: Some(if request.tag.is_empty() { generated_tag() } else { request.tag }),
                pty: Some(size),
            };
            start(&envd, spec).await?
        };
        let stream = events.filter_map(|event| {
            std::future::ready(match event {
                Err(err) => Some(Err(envd_error(&err))),
                Ok(event) => {
                    pty_event(event).map(|event| Ok(pb::PtyAttachResponse { event: Some(event), ..Default::default() }))
                }
            })
        });
        Ok(stream.boxed())
    }

    pub(crate) async fn pty_send_input(&self, request: pb::PtySendInputRequest) -> Result<(), ConnectError> {
        let envd = self.envd(&request.capsule_id, "")?;
        envd.send_pty_input(tag_selector(request.tag)?, request.data).await.map_err(|err| envd_error(&err))
    }

    pub(crate) async fn pty_resize(&self, request: pb::PtyResizeRequest) -> Result<(), ConnectError> {
        if request.cols == 0 || request.rows == 0 {
            return Err(invalid("cols and rows must be at least 1"));
        }
        let envd = self.envd(&request.capsule_id, "")?;
        envd.resize(tag_selector(request.tag)?, request.cols, request.rows).await.map_err(|err| envd_error(&err))
    }

    pub(crate) async fn pty_kill(&self, request: pb::PtyKillRequest) -> Result<(), ConnectError> {
        let envd = self.envd(&request.capsule_id, "")?;
        let selector = tag_selector(request.tag)?;
        envd.signal(selector, envd_pb::Signal::SIGNAL_SIGKILL).await.map_err(|err| envd_error(&err))
    }
}

fn exec_spec(request: pb::ExecRequest) -> Result<ProcessStart, ConnectError> {
    if request.cmd.is_empty() {
        return Err(invalid("cmd must not be empty"));
    }
    Ok(ProcessStart {
        cmd: request.cmd,
        args: request.args,
        envs: request.envs.into_iter().collect(),
        cwd: non_empty(request.cwd),
        tag: None,
        pty: None,
    })
}

async fn start(envd: &Envd, spec: ProcessStart) -> Result<ProcessEvents, ConnectError> {
    envd.start(spec).await.map_err(|err| envd_error(&err))
}

/// Waits for the start event of a just-started process; the rest of its
/// events follow on the returned stream.
async fn first_pid(mut events: ProcessEvents) -> Result<(u32, ProcessEvents), ConnectError> {
    while let Some(event) = events.next().await {
        if let ProcessEvent::Start(start) = event.map_err(|err| envd_error(&err))? {
            return Ok((start.pid, events));
        }
    }
    Err(ConnectError::new(ErrorCode::Internal, "envd ended the process stream before the process started"))
}

/// Attaches to a process. envd may refuse in the call or in the stream's
/// first message: both come back as the call's error.
async fn connect(envd: &Envd, selector: envd_pb::ProcessSelector) -> Result<ProcessEvents, EnvdClientError> {
    let mut events = envd.connect(selector).await?;
    match events.next().await {
        Some(Err(err)) => Err(err),
        first => Ok(futures::stream::iter(first).chain(events).boxed()),
    }
}

fn is_not_found(err: &EnvdClientError) -> bool {
    matches!(err, EnvdClientError::Rpc { source, .. } if source.code == ErrorCode::NotFound)
}

/// The events of a watched background process after its start event, until
/// its exit: `None` when the stream broke, the watch was stopped, or the
/// capsule no longer runs.
async fn read_to_end(mut events: ProcessEvents, watch: &mut Watch, manager: &CapsuleManager) -> Option<(i32, String)> {
    loop {
        let next = tokio::select! {
            () = watch.stopped() => return None,
            next = tokio::time::timeout(WATCH_QUIET_CHECK, events.next()) => next,
        };
        match next {
            Ok(Some(Ok(ProcessEvent::End(end)))) => return Some((end.exit_code, end.error.unwrap_or_default())),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(err))) => {
                tracing::debug!(capsule = %watch.capsule, pid = watch.pid, error = %wrenn_types::ErrorChain(&err),
                    "lost the stream of a background process");
                return None;
            }
            Ok(None) => return None,
            // Quiet: only a capsule that is gone or no longer runs ends the
            // watch (a paused one, or one frozen for a snapshot, is quiet).
            Err(_) => {
                let state = manager.get(watch.capsule).map(|info| info.state);
                if !matches!(state, Ok(CapsuleState::Running | CapsuleState::Paused | CapsuleState::Starting)) {
                    return None;
                }
            }
        }
    }
}

/// `ConnectProcess` to a process that has already ended: its start, then its
/// end.
fn ended_stream(exit: &Exit) -> ServiceStream<pb::ExecStreamResponse> {
    let started = ExecEvent::from(pb::ExecStarted { pid: exit.pid, ..Default::default() });
    let ended =
        ExecEvent::from(pb::ExecEnded { exit_code: exit.exit_code, error: exit.error.clone(), ..Default::default() });
    let responses =
        [started, ended].map(|event| Ok(pb::ExecStreamResponse { event: Some(event), ..Default::default() }));
    futures::stream::iter(responses).boxed()
}

fn exec_stream(events: ProcessEvents) -> ServiceStream<pb::ExecStreamResponse> {
    events
        .filter_map(|event| {
            std::future::ready(match event {
                Err(err) => Some(Err(envd_error(&err))),
                Ok(event) => exec_event(event)
                    .map(|event| Ok(pb::ExecStreamResponse { event: Some(event), ..Default::default() })),
            })
        })
        .boxed()
}

fn exec_event(event: ProcessEvent) -> Option<ExecEvent> {
    match event {
        ProcessEvent::Start(start) => Some(ExecEvent::from(pb::ExecStarted { pid: start.pid, ..Default::default() })),
        ProcessEvent::Data(data) => match data.output? {
            Output::Stdout(bytes) | Output::Pty(bytes) => Some(ExecEvent::Stdout(bytes)),
            Output::Stderr(bytes) => Some(ExecEvent::Stderr(bytes)),
        },
        ProcessEvent::End(end) => Some(ExecEvent::from(pb::ExecEnded {
            exit_code: end.exit_code,
            error: end.error.unwrap_or_default(),
            ..Default::default()
        })),
        ProcessEvent::Keepalive(_) => None,
    }
}

fn pty_event(event: ProcessEvent) -> Option<PtyEvent> {
    match event {
        ProcessEvent::Start(start) => Some(PtyEvent::from(pb::ExecStarted { pid: start.pid, ..Default::default() })),
        ProcessEvent::Data(data) => match data.output? {
            Output::Stdout(bytes) | Output::Pty(bytes) | Output::Stderr(bytes) => Some(PtyEvent::Output(bytes)),
        },
        ProcessEvent::End(end) => Some(PtyEvent::Exited(Box::new(pb::ExecEnded {
            exit_code: end.exit_code,
            error: end.error.unwrap_or_default(),
            ..Default::default()
        }))),
        ProcessEvent::Keepalive(_) => None,
    }
}

fn selector(selector: Option<pb::ProcessSelector>) -> Result<envd_pb::ProcessSelector, ConnectError> {
    match selector.and_then(|selector| selector.selector) {
        Some(Selector::Tag(tag)) if tag.is_empty() => Err(invalid("process tag must not be empty")),
        Some(selector) => Ok(envd_selector(selector)),
        None => Err(invalid("process (a pid or a tag) is required")),
    }
}

fn tag_selector(tag: String) -> Result<envd_pb::ProcessSelector, ConnectError> {
    selector(Some(pb::ProcessSelector { selector: Some(Selector::Tag(tag)), ..Default::default() }))
}

fn envd_selector(selector: Selector) -> envd_pb::ProcessSelector {
    let selector = match selector {
        Selector::Pid(pid) => EnvdSelector::Pid(pid),
        Selector::Tag(tag) => EnvdSelector::Tag(tag),
    };
    envd_pb::ProcessSelector { selector: Some(selector), ..Default::default() }
}

/// `proc-<8 hex>`, for processes started without a tag.
fn generated_tag() -> String {
    use std::hash::{BuildHasher, Hasher};
    // Each RandomState is freshly seeded from the OS; uniqueness among one
    // capsule's processes is all a tag needs.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("proc-{:08x}", hasher.finish() & 0xffff_ffff)
}

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|text| !text.is_empty())
}
