//! `/v1/hosts`: the operator's side of the host fleet (create a host and
//! get its registration token, list, read, tag, delete with a preview).
//! The agent's side (register, refresh, heartbeat, capsule events) is
//! `api::host_agent`.
//!
//! Every route takes a team API key; what the key may see and manage is
//! decided in `app::hosts` from the key's team and whether its maker is a
//! platform admin.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use wrenn_types::TeamId;

use crate::app::view::HostView;
use crate::app::{CreateHost, HostCaller, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path, Query};
use crate::store::{HostKind, IssuedSecret};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/hosts", post(create).get(list))
        .route("/v1/hosts/{id}", get(read).delete(remove))
        .route("/v1/hosts/{id}/delete-preview", get(delete_preview))
        .route("/v1/hosts/{id}/token", post(new_token))
        .route("/v1/hosts/{id}/tags", get(tags).post(add_tag))
        .route("/v1/hosts/{id}/tags/{tag}", delete(remove_tag))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(rename = "type")]
    kind: String,
    team_id: Option<String>,
    /// Accepted for compatibility; not used by the scheduler.
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    availability_zone: Option<String>,
}

#[derive(Debug, Serialize)]
struct HostWithToken {
    host: HostView,
    registration_token: String,
    registration_token_expires_at: crate::events::Timestamp,
}

impl HostWithToken {
    fn new(host: &crate::store::Host, token: IssuedSecret) -> HostWithToken {
        HostWithToken {
            host: HostView::from(host),
            registration_token: token.secret,
            registration_token_expires_at: crate::events::Timestamp::from_unix_ms(token.expires_at),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteQuery {
    #[serde(default)]
    force: bool,
}

#[derive(Debug, Serialize)]
struct DeletePreview {
    host: HostView,
    sandbox_ids: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagBody {
    tag: String,
}

/// The caller as the fleet sees it: its team, and whether the key's maker
/// is a platform admin.
async fn host_caller(state: &AppState, auth: &AuthContext) -> Result<HostCaller, ApiError> {
    let maker = state.store().api_key_maker(auth.api_key_id).await?;
    Ok(HostCaller {
        team_id: auth.team_id,
        is_admin: maker.is_some_and(|(_, is_admin)| is_admin),
        user_id: maker.map(|(user_id, _)| user_id),
    })
}

async fn create(
    State(state): State<AppState>,
    auth: AuthContext,
    Json(body): Json<CreateBody>,
) -> Result<Response, ApiError> {
    let kind = match body.kind.as_str() {
        "regular" => HostKind::Regular,
        "byoc" => HostKind::Byoc,
        other => return Err(ApiError::invalid_request(format!("type {other:?} is not one of regular, byoc"))),
    };
    let team_id = body
        .team_id
        .as_deref()
        .map(|text| text.parse::<TeamId>().map_err(|_| ApiError::invalid_request(format!("{text:?} is not a team id"))))
        .transpose()?;
    let _ = (body.provider, body.availability_zone);
    let caller = host_caller(&state, &auth).await?;
    let (host, token) = state.app().create_host(&caller, CreateHost { kind, team_id }).await?;
    Ok((StatusCode::CREATED, Json(HostWithToken::new(&host, token))).into_response())
}

async fn list(State(state): State<AppState>, auth: AuthContext) -> Result<Json<Vec<HostView>>, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    let hosts = state.app().list_hosts_for(&caller).await?;
    Ok(Json(hosts.iter().map(HostView::from).collect()))
}

async fn read(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<HostView>, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    let host = state.app().host_for(&caller, validate::host_id(&id)?).await?;
    Ok(Json(HostView::from(&host)))
}

async fn remove(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<StatusCode, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    state.app().delete_host(&caller, validate::host_id(&id)?, query.force).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_preview(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<DeletePreview>, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    let (host, active) = state.app().host_delete_preview(&caller, validate::host_id(&id)?).await?;
    let sandbox_ids = active.iter().map(ToString::to_string).collect();
    Ok(Json(DeletePreview { host: HostView::from(&host), sandbox_ids }))
}

async fn new_token(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    let (host, token) = state.app().new_registration_token(&caller, validate::host_id(&id)?).await?;
    Ok((StatusCode::CREATED, Json(HostWithToken::new(&host, token))).into_response())
}

async fn tags(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<Vec<String>>, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    Ok(Json(state.app().host_tags(&caller, validate::host_id(&id)?).await?))
}

async fn add_tag(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<TagBody>,
) -> Result<StatusCode, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    state.app().tag_host(&caller, validate::host_id(&id)?, &body.tag).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_tag(
    State(state): State<AppState>,
    auth: AuthContext,
    Path((id, tag)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let caller = host_caller(&state, &auth).await?;
    state.app().untag_host(&caller, validate::host_id(&id)?, &tag).await?;
    Ok(StatusCode::NO_CONTENT)
}
