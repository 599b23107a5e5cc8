//! One live process: its input side, its output hub and its supervisor.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::sync::mpsc;

use crate::process::hub::{OutputHub, SLOW_SUBSCRIBER_GRACE};
use crate::process::table::ProcessTable;
use crate::process::{ExitInfo, Output, ProcessEvent, ProcessSpec, PtySize};
use crate::sys::pty::PtyMaster;
use crate::sys::spawn::{self, Spawned};

/// Largest chunk read from a pipe or pty in one go.
pub(crate) const READ_CHUNK: usize = 32 * 1024;

/// After the process exits, how long its pipes may still deliver output
/// (a background grandchild can hold them open forever).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct ProcessHandle {
    pub(crate) pid: u32,
    pub(crate) spec: ProcessSpec,
    pub(crate) started_at: Instant,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    pty: Option<Arc<PtyMaster>>,
    pub(crate) hub: OutputHub,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("process {pid} was started without stdin, or its stdin was closed")]
    NoStdin { pid: u32 },
    #[error("process {pid} has a pty: send Ctrl-D (0x04) instead of closing stdin")]
    IsPty { pid: u32 },
    #[error("process {pid} has no pty")]
    NotPty { pid: u32 },
    #[error("writing input to process {pid}")]
    Write {
        pid: u32,
        #[source]
        source: io::Error,
    },
}

impl ProcessHandle {
    /// Starts the process, registers it in `table` and returns the first
    /// subscription (taken before any output can be produced).
    ///
    /// A `deadline` (the starting request's `connect-timeout-ms`) bounds the
    /// process's life: at the deadline its process group is killed, as E2B's
    /// envd does for a command `timeout`. Without one it runs until it exits.
    pub(crate) fn start(
        spec: ProcessSpec,
        table: &ProcessTable,
        deadline: Option<Instant>,
    ) -> io::Result<(Arc<ProcessHandle>, mpsc::Receiver<ProcessEvent>)> {
        let Spawned { mut child, stdin, stdout, stderr, pty } = spawn::spawn(&spec)?;
        let pid = child.id().ok_or_else(|| io::Error::other("process exited before its pid was known"))?;
        let pty = pty.map(Arc::new);
        let handle = Arc::new(ProcessHandle {
            pid,
            spec,
            started_at: Instant::now(),
            stdin: tokio::sync::Mutex::new(stdin),
            pty: pty.clone(),
            hub: OutputHub::default(),
        });
        let first = handle.hub.subscribe();
        table.insert(Arc::clone(&handle));

        let supervisor = Arc::clone(&handle);
        let table = table.clone();
        tokio::spawn(async move {
            let mut readers = tokio::task::JoinSet::new();
            if let Some(stdout) = stdout {
                readers.spawn(pump_pipe(stdout, Arc::clone(&supervisor), Output::Stdout));
            }
            if let Some(stderr) = stderr {
                readers.spawn(pump_pipe(stderr, Arc::clone(&supervisor), Output::Stderr));
            }
            if let Some(master) = pty {
                readers.spawn(pump_pty(master, Arc::clone(&supervisor)));
            }
            if let Some(deadline) = deadline {
                tokio::select! {
                    _ = child.wait() => {}
                    _ = tokio::time::sleep_until(deadline.into()) => {
                        tracing::info!(pid = supervisor.pid, "process reached its deadline; killing it");
                        let _ = spawn::signal_process(supervisor.pid, spawn::SIGKILL);
                    }
                }
            }
            let exit = match child.wait().await {
                Ok(status) => exit_info(status),
                Err(err) => {
                    ExitInfo { error: Some(format!("waiting for the process: {err}")), ..ExitInfo::from_code(-1) }
                }
            };
            let drained =
                tokio::time::timeout(DRAIN_AFTER_EXIT, async { while readers.join_next().await.is_some() {} }).await;
            if drained.is_err() {
                readers.abort_all();
            }
            // Stdin of an exited process is useless; drop the pipe now.
            supervisor.stdin.lock().await.take();
            table.remove(supervisor.pid);
            supervisor.hub.finish(exit, SLOW_SUBSCRIBER_GRACE).await;
        });
        Ok((handle, first))
    }

    pub(crate) fn is_pty(&self) -> bool {
        self.pty.is_some()
    }

    pub(crate) async fn write_stdin(&self, data: &[u8]) -> Result<(), InputError> {
        let pid = self.pid;
        let mut stdin = self.stdin.lock().await;
        let pipe = stdin.as_mut().ok_or(InputError::NoStdin { pid })?;
        pipe.write_all(data).await.map_err(|source| InputError::Write { pid, source })?;
        pipe.flush().await.map_err(|source| InputError::Write { pid, source })
    }

    pub(crate) async fn write_pty(&self, data: &[u8]) -> Result<(), InputError> {
        let pid = self.pid;
        let master = self.pty.as_ref().ok_or(InputError::NotPty { pid })?;
        master.write_all(data).await.map_err(|source| InputError::Write { pid, source })
    }

    pub(crate) async fn close_stdin(&self) -> Result<(), InputError> {
        if self.is_pty() {
            return Err(InputError::IsPty { pid: self.pid });
        }
        self.stdin.lock().await.take();
        Ok(())
    }

    pub(crate) fn resize(&self, size: PtySize) -> Result<(), InputError> {
        let pid = self.pid;
        let master = self.pty.as_ref().ok_or(InputError::NotPty { pid })?;
        master.resize(size).map_err(|source| InputError::Write { pid, source })
    }

    pub(crate) fn signal(&self, signal: i32) -> io::Result<()> {
        spawn::signal_process(self.pid, signal)
    }
}

async fn pump_pipe(mut pipe: impl AsyncRead + Unpin, handle: Arc<ProcessHandle>, wrap: fn(Bytes) -> Output) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => handle.hub.publish(wrap(Bytes::copy_from_slice(&buf[..n])), SLOW_SUBSCRIBER_GRACE).await,
        }
    }
}

async fn pump_pty(master: Arc<PtyMaster>, handle: Arc<ProcessHandle>) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match master.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => handle.hub.publish(Output::Pty(Bytes::copy_from_slice(&buf[..n])), SLOW_SUBSCRIBER_GRACE).await,
        }
    }
}

fn exit_info(status: std::process::ExitStatus) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitInfo::from_code(code),
        (None, Some(signal)) => ExitInfo::from_signal(signal),
        (None, None) => ExitInfo::from_code(-1),
    }
}
