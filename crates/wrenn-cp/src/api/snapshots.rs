//! `/v1/snapshots`: save a capsule's state as a team template, list the
//! templates a team can start from, delete a snapshot.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};

use crate::api::caller;
use crate::app::view::{CapsuleView, TemplateView};
use crate::app::{SnapshotRequest, StartedSnapshot, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path, Query};
use crate::store::TemplateKind;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/snapshots", post(create).get(list)).route("/v1/snapshots/{name}", delete(remove))
}

/// The SDK still calls the capsule `sandbox_id`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(alias = "capsule_id")]
    sandbox_id: String,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQuery {
    #[serde(default)]
    overwrite: bool,
}

/// A snapshot still being copied: Template-shaped (the SDK parses a
/// Template) with the capsule's id and status alongside.
#[derive(Debug, Serialize)]
struct InProgress {
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
    vcpus: u32,
    memory_mb: u64,
    id: String,
    status: &'static str,
}

async fn create(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<CreateQuery>,
    Json(body): Json<CreateBody>,
) -> Result<Response, ApiError> {
    let request = SnapshotRequest {
        capsule_id: validate::capsule_id(&body.sandbox_id)?,
        name: body.name,
        overwrite: query.overwrite,
    };
    Ok(match state.app().create_snapshot(&caller(&auth), request).await? {
        StartedSnapshot::Done(template) => (StatusCode::CREATED, Json(TemplateView::from(&template))).into_response(),
        StartedSnapshot::InProgress { name, capsule } => {
            let view = CapsuleView::from(&capsule);
            let body = InProgress {
                name,
                kind: TemplateKind::Snapshot.as_str(),
                vcpus: view.vcpus,
                memory_mb: view.memory_mb,
                id: view.id,
                status: view.status,
            };
            (StatusCode::ACCEPTED, Json(body)).into_response()
        }
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    auth: AuthContext,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<TemplateView>>, ApiError> {
    let kind = match query.kind.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<TemplateKind>()
                .map_err(|()| ApiError::invalid_request(format!("type must be base or snapshot, not {text:?}")))?,
        ),
    };
    let templates = state.app().list_templates(auth.team_id, kind).await?;
    Ok(Json(templates.iter().map(TemplateView::from).collect()))
}

async fn remove(
    State(state): State<AppState>,
    auth: AuthContext,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app().delete_snapshot(&caller(&auth), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
