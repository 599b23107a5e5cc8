//! `HostAgentService` on top of the capsule manager: each handler parses its
//! request and calls the manager, or the capsule's envd (see `process` and
//! `files`), and converts back.

use std::sync::Arc;

use connectrpc::{
    ConnectError, ErrorCode, InboundStream, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use wrenn_proto::agent::hostagent as pb;
use wrenn_types::CapsuleId;

use crate::capsule::{CapsuleManager, CapsuleState};
use crate::metrics::MetricRange;
use crate::rpc::envd_client::Envd;
use crate::rpc::exits::Exits;
use crate::rpc::{HostSpec, capsule_error, convert, invalid, parse_capsule_id, template_error};

#[derive(Debug)]
pub(crate) struct HostAgent {
    pub(crate) manager: Arc<CapsuleManager>,
    host: HostSpec,
    /// Shared by the `/files` transfers to all capsules.
    http: reqwest::Client,
    /// How background processes ended, once envd has forgotten them: the
    /// one state this service keeps (see `exits`).
    pub(crate) exits: Arc<Exits>,
}

impl HostAgent {
    pub(crate) fn new(manager: Arc<CapsuleManager>, host: HostSpec) -> HostAgent {
        // envd is on a private network: a proxy must never be used to reach it.
        let http = reqwest::Client::builder().no_proxy().build().unwrap_or_default();
        HostAgent { manager, host, http, exits: Arc::default() }
    }

    /// The envd of a running capsule, acting as `user` (envd's default user
    /// when empty).
    pub(crate) fn envd(&self, capsule_id: &str, user: &str) -> Result<Envd, ConnectError> {
        self.capsule_envd(capsule_id, user).map(|(_, envd)| envd)
    }

    /// [`HostAgent::envd`] with the parsed capsule id.
    pub(crate) fn capsule_envd(&self, capsule_id: &str, user: &str) -> Result<(CapsuleId, Envd), ConnectError> {
        let id = parse_capsule_id(capsule_id)?;
        let info = self.manager.get(id).map_err(|err| capsule_error(&err))?;
        if info.state != CapsuleState::Running {
            return Err(ConnectError::new(
                ErrorCode::FailedPrecondition,
                format!("capsule {id} is {} and cannot be reached", info.state),
            ));
        }
        let addr = info
            .envd_addr
            .ok_or_else(|| ConnectError::new(ErrorCode::Unavailable, format!("capsule {id} has no envd address")))?;
        let user = Some(user.to_owned()).filter(|user| !user.is_empty());
        Ok((id, Envd::new(addr, user, self.http.clone())))
    }
}

#[allow(refining_impl_trait)]
impl pb::HostAgentService for HostAgent {
    async fn get_host_info(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, pb::GetHostInfoRequest>,
    ) -> ServiceResult<pb::GetHostInfoResponse> {
        let capsules = self.manager.list();
        Response::ok(pb::GetHostInfoResponse {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_cores: self.host.limits.cpus,
            memory_mb: self.host.limits.memory_mb,
            disk_mb: self.host.disk_mb,
            allocated_memory_mb: capsules.iter().map(|capsule| capsule.memory_mb).sum(),
            allocated_disk_mb: capsules.iter().map(|capsule| capsule.disk_mb).sum(),
            n_capsules: u32::try_from(capsules.len()).unwrap_or(u32::MAX),
            runtimes: vec![convert::RUNTIME.to_owned()],
            ..Default::default()
        })
    }

    async fn create_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::CreateCapsuleRequest>,
    ) -> ServiceResult<pb::CreateCapsuleResponse> {
        let create = convert::create_request(request.to_owned_message())?;
        let info = self.manager.create(create).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::CreateCapsuleResponse { capsule: convert::capsule_info(&info).into(), ..Default::default() })
    }

    async fn destroy_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::DestroyCapsuleRequest>,
    ) -> ServiceResult<pb::DestroyCapsuleResponse> {
        let id = parse_capsule_id(&request.to_owned_message().capsule_id)?;
        self.manager.destroy(id).await.map_err(|err| capsule_error(&err))?;
        self.exits.remove(id);
        Response::ok(pb::DestroyCapsuleResponse::default())
    }

    async fn pause_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PauseCapsuleRequest>,
    ) -> ServiceResult<pb::PauseCapsuleResponse> {
        let id = parse_capsule_id(&request.to_owned_message().capsule_id)?;
        let info = self.manager.pause(id).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::PauseCapsuleResponse { capsule: convert::capsule_info(&info).into(), ..Default::default() })
    }

    async fn resume_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ResumeCapsuleRequest>,
    ) -> ServiceResult<pb::ResumeCapsuleResponse> {
        let id = parse_capsule_id(&request.to_owned_message().capsule_id)?;
        let info = self.manager.resume(id).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::ResumeCapsuleResponse { capsule: convert::capsule_info(&info).into(), ..Default::default() })
    }

    async fn ping_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PingCapsuleRequest>,
    ) -> ServiceResult<pb::PingCapsuleResponse> {
        let id = parse_capsule_id(&request.to_owned_message().capsule_id)?;
        self.manager.ping(id).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::PingCapsuleResponse::default())
    }

    async fn list_capsules(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, pb::ListCapsulesRequest>,
    ) -> ServiceResult<pb::ListCapsulesResponse> {
        let capsules = self.manager.list().iter().map(convert::capsule_info).collect();
        Response::ok(pb::ListCapsulesResponse { capsules, ..Default::default() })
    }

    async fn snapshot_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::SnapshotCapsuleRequest>,
    ) -> ServiceResult<pb::SnapshotCapsuleResponse> {
        let request = request.to_owned_message();
        let id = parse_capsule_id(&request.capsule_id)?;
        if request.template.is_empty() {
            return Err(invalid("template must not be empty"));
        }
        let template = self.manager.snapshot(id, &request.template).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::SnapshotCapsuleResponse {
            template: convert::template_info(&template).into(),
            ..Default::default()
        })
    }

    async fn list_templates(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, pb::ListTemplatesRequest>,
    ) -> ServiceResult<pb::ListTemplatesResponse> {
        let templates = self.manager.templates().list().map_err(|err| template_error(&err))?;
        Response::ok(pb::ListTemplatesResponse {
            templates: templates.iter().map(convert::template_info).collect(),
            ..Default::default()
        })
    }

    async fn delete_template(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::DeleteTemplateRequest>,
    ) -> ServiceResult<pb::DeleteTemplateResponse> {
        let name = request.to_owned_message().template;
        if name.is_empty() {
            return Err(invalid("template must not be empty"));
        }
        self.manager.delete_template(&name).await.map_err(|err| capsule_error(&err))?;
        Response::ok(pb::DeleteTemplateResponse::default())
    }

    async fn get_capsule_metrics(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::GetCapsuleMetricsRequest>,
    ) -> ServiceResult<pb::GetCapsuleMetricsResponse> {
        let request = request.to_owned_message();
        let id = parse_capsule_id(&request.capsule_id)?;
        let range = if request.range.is_empty() { "5m" } else { request.range.as_str() };
        let range = MetricRange::parse(range).ok_or_else(|| invalid(format!("invalid range {range:?}")))?;
        let points = self.manager.metrics(id, range).map_err(|err| capsule_error(&err))?;
        Response::ok(pb::GetCapsuleMetricsResponse {
            points: points.iter().map(convert::metric_point).collect(),
            ..Default::default()
        })
    }

    async fn exec(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ExecRequest>,
    ) -> ServiceResult<pb::ExecResponse> {
        Response::ok(HostAgent::exec(self, request.to_owned_message()).await?)
    }

    async fn exec_stream(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ExecRequest>,
    ) -> ServiceResult<ServiceStream<pb::ExecStreamResponse>> {
        Ok(Response::new(HostAgent::exec_stream(self, request.to_owned_message()).await?))
    }

    async fn start_background(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::StartBackgroundRequest>,
    ) -> ServiceResult<pb::StartBackgroundResponse> {
        Response::ok(HostAgent::start_background(self, request.to_owned_message()).await?)
    }

    async fn list_processes(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ListProcessesRequest>,
    ) -> ServiceResult<pb::ListProcessesResponse> {
        Response::ok(HostAgent::list_processes(self, request.to_owned_message()).await?)
    }

    async fn kill_process(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::KillProcessRequest>,
    ) -> ServiceResult<pb::KillProcessResponse> {
        HostAgent::kill_process(self, request.to_owned_message()).await?;
        Response::ok(pb::KillProcessResponse::default())
    }

    async fn connect_process(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ConnectProcessRequest>,
    ) -> ServiceResult<ServiceStream<pb::ExecStreamResponse>> {
        Ok(Response::new(HostAgent::connect_process(self, request.to_owned_message()).await?))
    }

    async fn pty_attach(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PtyAttachRequest>,
    ) -> ServiceResult<ServiceStream<pb::PtyAttachResponse>> {
        Ok(Response::new(HostAgent::pty_attach(self, request.to_owned_message()).await?))
    }

    async fn pty_send_input(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PtySendInputRequest>,
    ) -> ServiceResult<pb::PtySendInputResponse> {
        HostAgent::pty_send_input(self, request.to_owned_message()).await?;
        Response::ok(pb::PtySendInputResponse::default())
    }

    async fn pty_resize(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PtyResizeRequest>,
    ) -> ServiceResult<pb::PtyResizeResponse> {
        HostAgent::pty_resize(self, request.to_owned_message()).await?;
        Response::ok(pb::PtyResizeResponse::default())
    }

    async fn pty_kill(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::PtyKillRequest>,
    ) -> ServiceResult<pb::PtyKillResponse> {
        HostAgent::pty_kill(self, request.to_owned_message()).await?;
        Response::ok(pb::PtyKillResponse::default())
    }

    async fn read_file(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ReadFileRequest>,
    ) -> ServiceResult<pb::ReadFileResponse> {
        Response::ok(HostAgent::read_file(self, request.to_owned_message()).await?)
    }

    async fn write_file(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::WriteFileRequest>,
    ) -> ServiceResult<pb::WriteFileResponse> {
        HostAgent::write_file(self, request.to_owned_message()).await?;
        Response::ok(pb::WriteFileResponse::default())
    }

    async fn read_file_stream(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ReadFileRequest>,
    ) -> ServiceResult<ServiceStream<pb::FileChunk>> {
        Ok(Response::new(HostAgent::read_file_stream(self, request.to_owned_message()).await?))
    }

    async fn list_dir(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::ListDirRequest>,
    ) -> ServiceResult<pb::ListDirResponse> {
        Response::ok(HostAgent::list_dir(self, request.to_owned_message()).await?)
    }

    async fn make_dir(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::MakeDirRequest>,
    ) -> ServiceResult<pb::MakeDirResponse> {
        Response::ok(HostAgent::make_dir(self, request.to_owned_message()).await?)
    }

    async fn remove_path(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::RemovePathRequest>,
    ) -> ServiceResult<pb::RemovePathResponse> {
        HostAgent::remove_path(self, request.to_owned_message()).await?;
        Response::ok(pb::RemovePathResponse::default())
    }

    async fn write_file_stream(
        &self,
        _ctx: RequestContext,
        requests: InboundStream<pb::WriteFileStreamRequest>,
    ) -> ServiceResult<pb::WriteFileResponse> {
        HostAgent::write_file_stream(self, requests).await?;
        Response::ok(pb::WriteFileResponse::default())
    }

    /// Unimplemented when the runtime cannot hibernate (no working CRIU on
    /// this host); `ResumeCapsule` restores a hibernated capsule.
    async fn hibernate_capsule(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, pb::HibernateCapsuleRequest>,
    ) -> ServiceResult<pb::HibernateCapsuleResponse> {
        let id = parse_capsule_id(&request.to_owned_message().capsule_id)?;
        let info = self.manager.hibernate(id).await.map_err(|err| capsule_error(&err))?;
        // Hibernation ended every process and envd connection; the exits
        // seen before stay true after the restore.
        self.exits.stop_watches(id);
        Response::ok(pb::HibernateCapsuleResponse {
            capsule: convert::capsule_info(&info).into(),
            ..Default::default()
        })
    }
}
