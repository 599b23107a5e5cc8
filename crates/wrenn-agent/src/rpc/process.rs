//! Processes and terminals in a capsule, relayed to and from its envd.
//!
//! The agent keeps no process table: envd is the truth for what runs inside
//! a capsule, and a background process or terminal outlives the call that
//! started it (envd does not stop a process when its stream is dropped).

use std::collections::BTreeMap;
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

use crate::rpc::envd_client::{Envd, ProcessEvents, ProcessStart};
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
        let envd = self.envd(&request.capsule_id, &request.user)?;
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
        let pid = first_pid(start(&envd, spec).await?).await?;
        Ok(pb::StartBackgroundResponse { pid, tag, ..Default::default() })
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
        let envd = self.envd(&request.capsule_id, "")?;
        let selector = selector(request.process.into_option())?;
        let events = envd.connect(selector).await.map_err(|err| envd_error(&err))?;
        Ok(exec_stream(events))
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

/// Waits for the start event of a just-started process.
async fn first_pid(mut events: ProcessEvents) -> Result<u32, ConnectError> {
    while let Some(event) = events.next().await {
        if let ProcessEvent::Start(start) = event.map_err(|err| envd_error(&err))? {
            return Ok(start.pid);
        }
    }
    Err(ConnectError::new(ErrorCode::Internal, "envd ended the process stream before the process started"))
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
