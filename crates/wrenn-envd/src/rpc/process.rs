//! `process.Process`: start, attach, list, signal and feed processes.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use connectrpc::{
    ConnectError, ErrorCode, InboundStream, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use wrenn_proto::envd::process as pb;
use wrenn_proto::envd::process::__buffa::oneof;

use crate::error_chain::ErrorChain;
use crate::process::handle::{InputError, ProcessHandle};
use crate::process::table::Selector;
use crate::process::{ExitInfo, Output, ProcessEvent, ProcessSpec, PtySize};
use crate::rpc::{identity, keepalive_interval};
use crate::state::SharedState;
use crate::users::Identity;

/// Upper bounds on a start request, so one call cannot exhaust envd.
const MAX_ARGS: usize = 64 * 1024;
const MAX_ARGV_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug)]
pub(crate) struct ProcessService {
    state: SharedState,
}

impl ProcessService {
    pub(crate) fn new(state: SharedState) -> ProcessService {
        ProcessService { state }
    }

    fn find(&self, selector: Option<&pb::ProcessSelector>) -> Result<Arc<ProcessHandle>, ConnectError> {
        let selector = parse_selector(selector)?;
        self.state.processes.get(&selector).ok_or_else(|| {
            let what = match &selector {
                Selector::Pid(pid) => format!("process with pid {pid} not found"),
                Selector::Tag(tag) => format!("process with tag {tag:?} not found"),
            };
            ConnectError::new(ErrorCode::NotFound, what)
        })
    }

    fn spec(&self, request: pb::StartRequest, identity: Identity) -> Result<ProcessSpec, ConnectError> {
        let config = request.process.into_option().unwrap_or_default();
        if config.cmd.is_empty() {
            return Err(invalid("process.cmd must not be empty"));
        }
        let argv_bytes: usize = config.cmd.len() + config.args.iter().map(String::len).sum::<usize>();
        if config.args.len() > MAX_ARGS || argv_bytes > MAX_ARGV_BYTES {
            return Err(invalid("process arguments are too large"));
        }
        if [&config.cmd].into_iter().chain(&config.args).any(|arg| arg.contains('\0')) {
            return Err(invalid("process arguments must not contain NUL bytes"));
        }
        if let Some(bad) = config.envs.keys().find(|k| k.is_empty() || k.contains(['=', '\0'])) {
            return Err(invalid(&format!("invalid environment variable name {bad:?}")));
        }
        if config.envs.values().any(|v| v.contains('\0')) {
            return Err(invalid("environment values must not contain NUL bytes"));
        }

        let requested_cwd = config.cwd.as_deref().unwrap_or("");
        let mut cwd = self.state.resolve_path(requested_cwd, &identity);
        // A user without a home directory (like `nobody`) still gets to run
        // something when no cwd was asked for.
        if requested_cwd.is_empty() && !cwd.is_dir() {
            cwd = std::path::PathBuf::from("/");
        }
        match std::fs::metadata(&cwd) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(invalid(&format!("cwd {} is not a directory", cwd.display()))),
            Err(err) => return Err(invalid(&format!("cwd {} is not accessible: {err}", cwd.display()))),
        }

        let pty = match request.pty.into_option() {
            Some(pty) => {
                let size = pty.size.into_option().unwrap_or_default();
                Some(pty_size(size.cols, size.rows)?)
            }
            None => None,
        };
        let requested_envs: BTreeMap<String, String> = config.envs.into_iter().collect();
        let env = process_env(&self.state, &identity, &requested_envs, pty.is_some());
        Ok(ProcessSpec {
            cmd: config.cmd,
            args: config.args,
            env,
            requested_envs,
            requested_cwd: config.cwd,
            cwd,
            identity,
            tag: request.tag,
            stdin: request.stdin.unwrap_or(true),
            pty,
        })
    }
}

#[allow(refining_impl_trait)]
impl pb::Process for ProcessService {
    async fn list(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, pb::ListRequest>,
    ) -> ServiceResult<pb::ListResponse> {
        let processes = self
            .state
            .processes
            .list()
            .into_iter()
            .map(|handle| pb::ProcessInfo {
                config: pb::ProcessConfig {
                    cmd: handle.spec.cmd.clone(),
                    args: handle.spec.args.clone(),
                    envs: handle.spec.requested_envs.clone().into_iter().collect(),
                    cwd: handle.spec.requested_cwd.clone(),
                    ..Default::default()
                }
                .into(),
                pid: handle.pid,
                tag: handle.spec.tag.clone(),
                ..Default::default()
            })
            .collect();
        Response::ok(pb::ListResponse { processes, ..Default::default() })
    }

    async fn connect(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::ConnectRequest>,
    ) -> ServiceResult<ServiceStream<pb::ConnectResponse>> {
        let request = request.to_owned_message();
        let handle = self.find(request.process.as_option())?;
        let events = handle.hub.subscribe();
        let stream = event_stream(handle.pid, events, keepalive_interval(&ctx), ctx.deadline())
            .map(|event| event.map(|event| pb::ConnectResponse { event: event.into(), ..Default::default() }));
        Ok(Response::new(Box::pin(stream) as ServiceStream<_>))
    }

    async fn start(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::StartRequest>,
    ) -> ServiceResult<ServiceStream<pb::StartResponse>> {
        let identity = identity(&self.state, &ctx)?;
        let spec = self.spec(request.to_owned_message(), identity)?;
        let cmd = spec.cmd.clone();
        let (handle, events) = ProcessHandle::start(spec, &self.state.processes, ctx.deadline()).map_err(|err| {
            let code = match err.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => ErrorCode::InvalidArgument,
                _ => ErrorCode::Internal,
            };
            ConnectError::new(code, format!("failed to start {cmd:?}: {err}"))
        })?;
        tracing::debug!(pid = handle.pid, cmd = %cmd, "process started");
        let stream = event_stream(handle.pid, events, keepalive_interval(&ctx), ctx.deadline())
            .map(|event| event.map(|event| pb::StartResponse { event: event.into(), ..Default::default() }));
        Ok(Response::new(Box::pin(stream) as ServiceStream<_>))
    }

    async fn update(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::UpdateRequest>,
    ) -> ServiceResult<pb::UpdateResponse> {
        let request = request.to_owned_message();
        let handle = self.find(request.process.as_option())?;
        if let Some(pty) = request.pty.into_option() {
            let size = pty.size.into_option().unwrap_or_default();
            handle.resize(pty_size(size.cols, size.rows)?).map_err(|err| input_error(&err))?;
        }
        Response::ok(pb::UpdateResponse::default())
    }

    async fn stream_input(
        &self,
        _ctx: RequestContext,
        mut requests: InboundStream<pb::StreamInputRequest>,
    ) -> ServiceResult<pb::StreamInputResponse> {
        let mut target: Option<Arc<ProcessHandle>> = None;
        while let Some(message) = requests.next().await {
            let message = message?.to_owned_message();
            match message.event {
                Some(oneof::stream_input_request::Event::Start(start)) => {
                    target = Some(self.find(start.process.as_option())?);
                }
                Some(oneof::stream_input_request::Event::Data(data)) => {
                    let handle = target.as_ref().ok_or_else(|| {
                        ConnectError::new(
                            ErrorCode::FailedPrecondition,
                            "input sent before a start event selected the process",
                        )
                    })?;
                    write_input(handle, data.input.into_option()).await?;
                }
                Some(oneof::stream_input_request::Event::Keepalive(_)) | None => {}
            }
        }
        Response::ok(pb::StreamInputResponse::default())
    }

    async fn send_input(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::SendInputRequest>,
    ) -> ServiceResult<pb::SendInputResponse> {
        let request = request.to_owned_message();
        let handle = self.find(request.process.as_option())?;
        write_input(&handle, request.input.into_option()).await?;
        Response::ok(pb::SendInputResponse::default())
    }

    async fn send_signal(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::SendSignalRequest>,
    ) -> ServiceResult<pb::SendSignalResponse> {
        let request = request.to_owned_message();
        let signal = match request.signal.as_known() {
            Some(pb::Signal::SIGNAL_SIGKILL) => crate::sys::spawn::SIGKILL,
            Some(pb::Signal::SIGNAL_SIGTERM) => crate::sys::spawn::SIGTERM,
            _ => return Err(invalid("signal must be SIGTERM or SIGKILL")),
        };
        let handle = self.find(request.process.as_option())?;
        handle.signal(signal).map_err(|err| {
            ConnectError::new(ErrorCode::Internal, format!("signalling process {}: {err}", handle.pid))
        })?;
        Response::ok(pb::SendSignalResponse::default())
    }

    async fn close_stdin(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::CloseStdinRequest>,
    ) -> ServiceResult<pb::CloseStdinResponse> {
        let request = request.to_owned_message();
        let handle = self.find(request.process.as_option())?;
        handle.close_stdin().await.map_err(|err| input_error(&err))?;
        Response::ok(pb::CloseStdinResponse::default())
    }
}

/// The environment of a new process: envd's PATH, the user's login
/// variables, the capsule defaults, then the request's own.
fn process_env(
    state: &SharedState,
    identity: &Identity,
    requested: &BTreeMap<String, String>,
    pty: bool,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), state.config.path_env.clone());
    env.insert("HOME".to_owned(), identity.home.display().to_string());
    env.insert("USER".to_owned(), identity.name.clone());
    env.insert("LOGNAME".to_owned(), identity.name.clone());
    env.insert("SHELL".to_owned(), identity.shell.clone());
    if pty {
        env.insert("TERM".to_owned(), "xterm-256color".to_owned());
    }
    env.extend(state.defaults().envs);
    env.extend(requested.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

fn parse_selector(selector: Option<&pb::ProcessSelector>) -> Result<Selector, ConnectError> {
    match selector.and_then(|s| s.selector.as_ref()) {
        Some(oneof::process_selector::Selector::Pid(pid)) => Ok(Selector::Pid(*pid)),
        Some(oneof::process_selector::Selector::Tag(tag)) => Ok(Selector::Tag(tag.clone())),
        None => Err(invalid("a process selector (pid or tag) is required")),
    }
}

fn pty_size(cols: u32, rows: u32) -> Result<PtySize, ConnectError> {
    let valid = |n: u32| (1..=u32::from(u16::MAX)).contains(&n);
    if !valid(cols) || !valid(rows) {
        return Err(invalid("pty size must have 1..=65535 columns and rows"));
    }
    Ok(PtySize { cols: cols as u16, rows: rows as u16 })
}

async fn write_input(handle: &ProcessHandle, input: Option<pb::ProcessInput>) -> Result<(), ConnectError> {
    match input.and_then(|input| input.input) {
        Some(oneof::process_input::Input::Stdin(data)) => {
            // Clients may address a pty's input as stdin; E2B's envd accepts it.
            if handle.is_pty() { handle.write_pty(&data).await } else { handle.write_stdin(&data).await }
        }
        Some(oneof::process_input::Input::Pty(data)) => handle.write_pty(&data).await,
        None => Ok(()),
    }
    .map_err(|err| input_error(&err))
}

fn input_error(err: &InputError) -> ConnectError {
    let code = match err {
        InputError::NoStdin { .. } | InputError::IsPty { .. } | InputError::NotPty { .. } => {
            ErrorCode::FailedPrecondition
        }
        InputError::Write { .. } => ErrorCode::FailedPrecondition,
    };
    ConnectError::new(code, ErrorChain(err).to_string())
}

fn invalid(message: &str) -> ConnectError {
    ConnectError::new(ErrorCode::InvalidArgument, message)
}

/// start, then every event, with keepalives while the process is quiet.
///
/// The client's deadline (`connect-timeout-ms`) ends the stream with
/// `deadline_exceeded`. (For `Start` the same deadline also ends the
/// process; see `ProcessHandle::start`. A `Connect` deadline does not.)
fn event_stream(
    pid: u32,
    mut events: mpsc::Receiver<ProcessEvent>,
    keepalive: Duration,
    deadline: Option<std::time::Instant>,
) -> Pin<Box<dyn Stream<Item = Result<pb::ProcessEvent, ConnectError>> + Send>> {
    Box::pin(async_stream::stream! {
        yield Ok(wire_event(WireEvent::Start(pid)));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        let deadline = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => {
                    yield Err(ConnectError::new(ErrorCode::DeadlineExceeded, format!("deadline reached while watching process {pid}")));
                    return;
                }
                event = events.recv() => match event {
                    Some(ProcessEvent::Data(output)) => yield Ok(wire_event(WireEvent::Data(output))),
                    Some(ProcessEvent::End(exit)) => {
                        yield Ok(wire_event(WireEvent::End(exit)));
                        return;
                    }
                    None => {
                        yield Err(ConnectError::new(
                            ErrorCode::ResourceExhausted,
                            format!("output of process {pid} was not read fast enough; the stream was cut off"),
                        ));
                        return;
                    }
                },
                _ = ticker.tick() => yield Ok(wire_event(WireEvent::KeepAlive)),
            }
        }
    })
}

enum WireEvent {
    Start(u32),
    Data(Output),
    End(ExitInfo),
    KeepAlive,
}

fn wire_event(event: WireEvent) -> pb::ProcessEvent {
    use pb::process_event as ev;
    let event: oneof::process_event::Event = match event {
        WireEvent::Start(pid) => ev::StartEvent { pid, ..Default::default() }.into(),
        WireEvent::Data(output) => {
            let output = match output {
                Output::Stdout(bytes) => oneof::process_event::data_event::Output::Stdout(bytes.to_vec()),
                Output::Stderr(bytes) => oneof::process_event::data_event::Output::Stderr(bytes.to_vec()),
                Output::Pty(bytes) => oneof::process_event::data_event::Output::Pty(bytes.to_vec()),
            };
            ev::DataEvent { output: Some(output), ..Default::default() }.into()
        }
        WireEvent::End(exit) => ev::EndEvent {
            exit_code: exit.exit_code,
            exited: exit.exited,
            status: exit.status,
            error: exit.error,
            ..Default::default()
        }
        .into(),
        WireEvent::KeepAlive => ev::KeepAlive::default().into(),
    };
    pb::ProcessEvent { event: Some(event), ..Default::default() }
}
