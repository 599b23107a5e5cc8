//! PLACEHOLDER — being written by a teammate; every RPC answers Unimplemented.

use connectrpc::{ConnectError, ErrorCode, RequestContext, ServiceRequest, ServiceResult, ServiceStream};
use wrenn_proto::envd::filesystem as pb;

use crate::state::SharedState;

#[derive(Debug)]
pub(crate) struct FilesystemService {
    #[allow(dead_code)]
    state: SharedState,
}

impl FilesystemService {
    pub(crate) fn new(state: SharedState) -> FilesystemService {
        FilesystemService { state }
    }
}

fn todo_rpc() -> ConnectError {
    ConnectError::new(ErrorCode::Unimplemented, "not yet")
}

#[allow(refining_impl_trait)]
impl pb::Filesystem for FilesystemService {
    async fn stat(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::StatRequest>,
    ) -> ServiceResult<pb::StatResponse> {
        Err(todo_rpc())
    }
    async fn make_dir(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::MakeDirRequest>,
    ) -> ServiceResult<pb::MakeDirResponse> {
        Err(todo_rpc())
    }
    async fn r#move(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::MoveRequest>,
    ) -> ServiceResult<pb::MoveResponse> {
        Err(todo_rpc())
    }
    async fn list_dir(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::ListDirRequest>,
    ) -> ServiceResult<pb::ListDirResponse> {
        Err(todo_rpc())
    }
    async fn remove(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::RemoveRequest>,
    ) -> ServiceResult<pb::RemoveResponse> {
        Err(todo_rpc())
    }
    async fn watch_dir(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::WatchDirRequest>,
    ) -> ServiceResult<ServiceStream<pb::WatchDirResponse>> {
        Err(todo_rpc())
    }
    async fn create_watcher(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::CreateWatcherRequest>,
    ) -> ServiceResult<pb::CreateWatcherResponse> {
        Err(todo_rpc())
    }
    async fn get_watcher_events(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::GetWatcherEventsRequest>,
    ) -> ServiceResult<pb::GetWatcherEventsResponse> {
        Err(todo_rpc())
    }
    async fn remove_watcher(
        &self,
        _ctx: RequestContext,
        _r: ServiceRequest<'_, pb::RemoveWatcherRequest>,
    ) -> ServiceResult<pb::RemoveWatcherResponse> {
        Err(todo_rpc())
    }
}
