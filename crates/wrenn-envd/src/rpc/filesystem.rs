//! `filesystem.Filesystem`: stat, list, create, move, remove and watch.
//!
//! Handlers resolve the acting user and the path, call into `fs`, and map
//! `Entry`, `FsEvent` and `FsError` to the wire here and nowhere else.

use std::path::PathBuf;
use std::time::Duration;

use buffa_types::google::protobuf::Timestamp;
use connectrpc::{ConnectError, ErrorCode, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream};
use wrenn_proto::envd::filesystem as pb;

use crate::fs::watch::{EventKind, FsEvent, WatchOptions, WatchTree};
use crate::fs::{self, Entry, EntryKind, FsError};
use crate::rpc::{identity, io_error, keepalive_interval};
use crate::state::SharedState;
use crate::users::Identity;

#[derive(Debug)]
pub(crate) struct FilesystemService {
    state: SharedState,
}

impl FilesystemService {
    pub(crate) fn new(state: SharedState) -> FilesystemService {
        FilesystemService { state }
    }

    /// The acting user and `raw` resolved for them.
    fn target(&self, ctx: &RequestContext, raw: &str) -> Result<(Identity, PathBuf), ConnectError> {
        let identity = identity(&self.state, ctx)?;
        let path = self.path_for(&identity, raw)?;
        Ok((identity, path))
    }

    /// Opens a watch on `raw` as the acting user (both watch APIs start here).
    async fn open_watch(
        &self,
        ctx: &RequestContext,
        raw: &str,
        options: WatchOptions,
    ) -> Result<WatchTree, ConnectError> {
        let (identity, path) = self.target(ctx, raw)?;
        WatchTree::open(&identity, path, options).await.map_err(|e| fs_error(&e))
    }

    fn path_for(&self, identity: &Identity, raw: &str) -> Result<PathBuf, ConnectError> {
        fs::check_path(raw).map_err(|e| fs_error(&e))?;
        Ok(self.state.resolve_path(raw, identity))
    }
}

#[allow(refining_impl_trait)]
impl pb::Filesystem for FilesystemService {
    async fn stat(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::StatRequest>,
    ) -> ServiceResult<pb::StatResponse> {
        let request = request.to_owned_message();
        let (identity, path) = self.target(&ctx, &request.path)?;
        let entry = fs::stat(&identity, path).await.map_err(|e| fs_error(&e))?;
        Response::ok(pb::StatResponse { entry: entry_info(entry).into(), ..Default::default() })
    }

    async fn make_dir(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::MakeDirRequest>,
    ) -> ServiceResult<pb::MakeDirResponse> {
        let request = request.to_owned_message();
        let (identity, path) = self.target(&ctx, &request.path)?;
        let entry = fs::make_dir(&identity, path).await.map_err(|e| fs_error(&e))?;
        Response::ok(pb::MakeDirResponse { entry: entry_info(entry).into(), ..Default::default() })
    }

    async fn r#move(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::MoveRequest>,
    ) -> ServiceResult<pb::MoveResponse> {
        let request = request.to_owned_message();
        let (identity, source) = self.target(&ctx, &request.source)?;
        let destination = self.path_for(&identity, &request.destination)?;
        let entry = fs::rename(&identity, source, destination).await.map_err(|e| fs_error(&e))?;
        Response::ok(pb::MoveResponse { entry: entry_info(entry).into(), ..Default::default() })
    }

    async fn list_dir(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::ListDirRequest>,
    ) -> ServiceResult<pb::ListDirResponse> {
        let request = request.to_owned_message();
        let (identity, path) = self.target(&ctx, &request.path)?;
        let entries = fs::list_dir(&identity, path, request.depth).await.map_err(|e| fs_error(&e))?;
        Response::ok(pb::ListDirResponse {
            entries: entries.into_iter().map(entry_info).collect(),
            ..Default::default()
        })
    }

    async fn remove(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::RemoveRequest>,
    ) -> ServiceResult<pb::RemoveResponse> {
        let request = request.to_owned_message();
        let (identity, path) = self.target(&ctx, &request.path)?;
        fs::remove(&identity, path).await.map_err(|e| fs_error(&e))?;
        Response::ok(pb::RemoveResponse::default())
    }

    async fn watch_dir(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::WatchDirRequest>,
    ) -> ServiceResult<ServiceStream<pb::WatchDirResponse>> {
        let request = request.to_owned_message();
        let options = WatchOptions {
            recursive: request.recursive,
            include_entry: request.include_entry,
            allow_network_mounts: request.allow_network_mounts,
        };
        let tree = self.open_watch(&ctx, &request.path, options).await?;
        Ok(Response::new(watch_stream(tree, keepalive_interval(&ctx))))
    }

    async fn create_watcher(
        &self,
        ctx: RequestContext,
        request: ServiceRequest<'_, pb::CreateWatcherRequest>,
    ) -> ServiceResult<pb::CreateWatcherResponse> {
        let request = request.to_owned_message();
        let options = WatchOptions {
            recursive: request.recursive,
            include_entry: request.include_entry,
            allow_network_mounts: request.allow_network_mounts,
        };
        let tree = self.open_watch(&ctx, &request.path, options).await?;
        let watcher_id = self.state.watchers.start(tree).map_err(|e| fs_error(&e))?;
        Response::ok(pb::CreateWatcherResponse { watcher_id, ..Default::default() })
    }

    async fn get_watcher_events(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::GetWatcherEventsRequest>,
    ) -> ServiceResult<pb::GetWatcherEventsResponse> {
        let request = request.to_owned_message();
        let events = match self.state.watchers.drain(&request.watcher_id) {
            None => return Err(unknown_watcher(&request.watcher_id)),
            Some(Err(failure)) => return Err(ConnectError::new(ErrorCode::Internal, failure)),
            Some(Ok(events)) => events,
        };
        Response::ok(pb::GetWatcherEventsResponse {
            events: events.into_iter().map(filesystem_event).collect(),
            ..Default::default()
        })
    }

    async fn remove_watcher(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::RemoveWatcherRequest>,
    ) -> ServiceResult<pb::RemoveWatcherResponse> {
        let request = request.to_owned_message();
        if !self.state.watchers.remove(&request.watcher_id) {
            return Err(unknown_watcher(&request.watcher_id));
        }
        Response::ok(pb::RemoveWatcherResponse::default())
    }
}

/// A start event, then every change, with keepalives while the directory is
/// quiet. The stream owns the watch: when the client goes away the stream
/// is dropped and the inotify instance closed with it.
fn watch_stream(tree: WatchTree, keepalive: Duration) -> ServiceStream<pb::WatchDirResponse> {
    use pb::__buffa::oneof::watch_dir_response::Event;
    let response = |event: Event| pb::WatchDirResponse { event: Some(event), ..Default::default() };
    Box::pin(async_stream::stream! {
        yield Ok(response(pb::watch_dir_response::StartEvent::default().into()));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
        // Kept across loop turns: events already read from the kernel are
        // never lost to a keepalive tick.
        let mut next = Box::pin(tree.next_batch());
        loop {
            let batch = tokio::select! {
                batch = &mut next => batch,
                _ = ticker.tick() => {
                    yield Ok(response(pb::watch_dir_response::KeepAlive::default().into()));
                    continue;
                }
            };
            next = Box::pin(tree.next_batch());
            match batch {
                Ok(batch) => {
                    if batch.overflowed {
                        tracing::warn!("watch stream client too slow; the kernel dropped events");
                    }
                    for event in batch.events {
                        yield Ok(response(filesystem_event(event).into()));
                    }
                    ticker.reset();
                }
                Err(err) => {
                    yield Err(fs_error(&err));
                    return;
                }
            }
        }
    })
}

fn unknown_watcher(id: &str) -> ConnectError {
    // Ids are short; anything longer is not echoed whole.
    let shown: String = id.chars().take(64).collect();
    ConnectError::new(ErrorCode::NotFound, format!("watcher with id {shown:?} not found"))
}

fn entry_info(entry: Entry) -> pb::EntryInfo {
    let file_type = match entry.kind {
        EntryKind::File => pb::FileType::FILE_TYPE_FILE,
        EntryKind::Directory => pb::FileType::FILE_TYPE_DIRECTORY,
        EntryKind::Symlink => pb::FileType::FILE_TYPE_SYMLINK,
        EntryKind::Other => pb::FileType::FILE_TYPE_UNSPECIFIED,
    };
    pb::EntryInfo {
        name: entry.name,
        r#type: file_type.into(),
        path: entry.path,
        size: i64::try_from(entry.size).unwrap_or(i64::MAX),
        mode: entry.mode,
        permissions: entry.permissions,
        owner: entry.owner,
        group: entry.group,
        modified_time: Timestamp::from(entry.modified).into(),
        symlink_target: entry.symlink_target,
        metadata: entry.metadata.into_iter().collect(),
        is_symlink: entry.is_symlink,
        ..Default::default()
    }
}

fn filesystem_event(event: FsEvent) -> pb::FilesystemEvent {
    let event_type = match event.kind {
        EventKind::Create => pb::EventType::EVENT_TYPE_CREATE,
        EventKind::Write => pb::EventType::EVENT_TYPE_WRITE,
        EventKind::Remove => pb::EventType::EVENT_TYPE_REMOVE,
        EventKind::Rename => pb::EventType::EVENT_TYPE_RENAME,
        EventKind::Chmod => pb::EventType::EVENT_TYPE_CHMOD,
    };
    pb::FilesystemEvent {
        name: event.name,
        r#type: event_type.into(),
        entry: event.entry.map(entry_info).into(),
        ..Default::default()
    }
}

/// The Connect code of each failure, with the whole error chain as message.
fn fs_error(err: &FsError) -> ConnectError {
    use std::io::ErrorKind as Kind;
    let code = match err {
        FsError::NulInPath
        | FsError::PathTooLong { .. }
        | FsError::NotADirectory { .. }
        | FsError::ExistsAsFile { .. } => ErrorCode::InvalidArgument,
        FsError::DirectoryExists { .. } => ErrorCode::AlreadyExists,
        FsError::CrossDevice { .. } | FsError::NetworkMount { .. } => ErrorCode::FailedPrecondition,
        FsError::TooManyEntries { .. }
        | FsError::TooManyWatches { .. }
        | FsError::TooManyWatchers { .. }
        | FsError::WatcherInstance(_) => ErrorCode::ResourceExhausted,
        FsError::AsUser { .. } => ErrorCode::Internal,
        FsError::Io { source, .. } | FsError::Move { source, .. } => {
            if crate::sys::errno::is_symlink_loop(source) {
                ErrorCode::InvalidArgument
            } else {
                match source.kind() {
                    Kind::DirectoryNotEmpty | Kind::ReadOnlyFilesystem | Kind::ResourceBusy => {
                        ErrorCode::FailedPrecondition
                    }
                    _ => io_error(source, "").code,
                }
            }
        }
    };
    ConnectError::new(code, crate::error_chain::ErrorChain(err).to_string())
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn errors_map_to_the_codes_e2b_clients_expect() {
        let io = |kind: io::ErrorKind| FsError::io("stat", "/x", io::Error::from(kind));
        let cases = [
            (io(io::ErrorKind::NotFound), ErrorCode::NotFound),
            (io(io::ErrorKind::PermissionDenied), ErrorCode::PermissionDenied),
            (io(io::ErrorKind::NotADirectory), ErrorCode::InvalidArgument),
            (io(io::ErrorKind::StorageFull), ErrorCode::ResourceExhausted),
            (io(io::ErrorKind::DirectoryNotEmpty), ErrorCode::FailedPrecondition),
            (FsError::NotADirectory { path: "/x".into() }, ErrorCode::InvalidArgument),
            (FsError::DirectoryExists { path: "/x".into() }, ErrorCode::AlreadyExists),
            (FsError::ExistsAsFile { path: "/x".into() }, ErrorCode::InvalidArgument),
            (FsError::TooManyEntries { path: "/x".into(), limit: 1 }, ErrorCode::ResourceExhausted),
            (FsError::NetworkMount { path: "/x".into() }, ErrorCode::FailedPrecondition),
            (FsError::CrossDevice { from: "/a".into(), to: "/b".into() }, ErrorCode::FailedPrecondition),
        ];
        for (err, code) in cases {
            assert_eq!(fs_error(&err).code, code, "{err:?}");
        }
        let message = fs_error(&io(io::ErrorKind::NotFound)).message.unwrap();
        assert!(message.starts_with("cannot stat /x: "), "{message}");
    }

    #[test]
    fn entries_convert_field_by_field() {
        let entry = Entry {
            name: "l".into(),
            kind: EntryKind::Symlink,
            path: "/d/l".into(),
            size: 3,
            mode: 0o777,
            permissions: "Lrwxrwxrwx".into(),
            owner: "root".into(),
            group: "root".into(),
            modified: std::time::UNIX_EPOCH + Duration::from_secs(5),
            symlink_target: Some("/d/t".into()),
            metadata: [("k".to_owned(), "v".to_owned())].into(),
            is_symlink: true,
        };
        let info = entry_info(entry);
        assert_eq!(info.r#type.as_known(), Some(pb::FileType::FILE_TYPE_SYMLINK));
        assert_eq!(info.modified_time.as_option().map(|t| t.seconds), Some(5));
        assert_eq!(info.symlink_target.as_deref(), Some("/d/t"));
        assert_eq!(info.metadata.get("k").map(String::as_str), Some("v"));
        assert!(info.is_symlink);

        let event = filesystem_event(FsEvent { name: "a/b".into(), kind: EventKind::Rename, entry: None });
        assert_eq!(event.r#type.as_known(), Some(pb::EventType::EVENT_TYPE_RENAME));
        assert!(event.entry.as_option().is_none());
    }
}
