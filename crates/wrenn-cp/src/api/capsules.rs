//! `/v1/capsules`: create (202, `pending`), list, get, destroy (202),
//! pause (202), resume (202), ping.

use std::collections::BTreeMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::api::caller;
use crate::app::view::CapsuleView;
use crate::app::{CreateCapsule, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/capsules", post(create).get(list))
        .route("/v1/capsules/{id}", get(get_one).delete(destroy))
        .route("/v1/capsules/{id}/pause", post(pause))
        .route("/v1/capsules/{id}/resume", post(resume))
        .route("/v1/capsules/{id}/ping", post(ping))
}

/// `POST /v1/capsules`: every field optional (`Capsule()` sends `{}`).
/// Unknown fields are refused so that a typo is not silently a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    template: Option<String>,
    vcpus: Option<u32>,
    memory_mb: Option<u64>,
    disk_mb: Option<u64>,
    timeout_sec: Option<i64>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    public: bool,
}

async fn create(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<CapsuleView>), ApiError> {
    let request = CreateCapsule {
        template: body.template,
        vcpus: body.vcpus,
        memory_mb: body.memory_mb,
        disk_mb: body.disk_mb,
        timeout_sec: body.timeout_sec,
        metadata: body.metadata,
        public: body.public,
    };
    let capsule = state.app().create_capsule(&caller(&auth), request).await?;
    Ok((StatusCode::ACCEPTED, Json(CapsuleView::from(&capsule))))
}

async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
) -> Result<Json<Vec<CapsuleView>>, ApiError> {
    let capsules = state.store().list_team_capsules(auth.team_id, &[]).await?;
    Ok(Json(capsules.iter().map(CapsuleView::from).collect()))
}

async fn get_one(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<Json<CapsuleView>, ApiError> {
    let capsule = state.app().team_capsule(auth.team_id, validate::capsule_id(&id)?).await?;
    Ok(Json(CapsuleView::from(&capsule)))
}

async fn destroy(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<CapsuleView>), ApiError> {
    let capsule = state.app().destroy_capsule(&caller(&auth), validate::capsule_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(CapsuleView::from(&capsule))))
}

async fn pause(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<CapsuleView>), ApiError> {
    let capsule = state.app().pause_capsule(&caller(&auth), validate::capsule_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(CapsuleView::from(&capsule))))
}

async fn resume(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<CapsuleView>), ApiError> {
    let capsule = state.app().resume_capsule(&caller(&auth), validate::capsule_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(CapsuleView::from(&capsule))))
}

async fn ping(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app().ping_capsule(auth.team_id, validate::capsule_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
