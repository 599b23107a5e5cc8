//! `/v1/capsules/{id}/files/*`: files inside a capsule, as `capsule.files`
//! in the SDK uses them.
//!
//! - `read` and `stream/read` (`{path}`) answer the raw bytes, streamed
//!   (`files::download`); a missing file is `404 not_found`.
//! - `write` and `stream/write` take `multipart/form-data` with `path`
//!   first, then `file` (`files::upload`), streamed to the agent, and create
//!   missing parent directories. `write` is limited to 100 MiB; `stream/write`
//!   (chunked, no length) has no limit.
//! - `list` (`{path, depth}`) answers `{"entries": [FileEntry]}`; depth 0
//!   and 1 both mean the immediate children.
//! - `mkdir` (`{path}`) is `mkdir -p` and idempotent: an existing directory
//!   answers 200 with its entry (`409 conflict` if that entry cannot be
//!   found, which the SDK also handles).
//! - `remove` (`{path}`) is recursive; a missing path is `404 not_found`.
//!
//! Paths are the capsule user's: absolute, or relative to the default
//! working directory, `~` for the home (envd resolves them).

mod download;
mod entry;
mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use connectrpc::ErrorCode;
use serde::{Deserialize, Serialize};
use wrenn_proto::agent::hostagent as pb;

use crate::api::exec::{data_plane_error, keep_active};
use crate::api::files::download::{Holds, download};
use crate::api::files::entry::FileEntryView;
use crate::app::{AgentClient, AppError, validate};
use crate::http::{ApiError, AppState, AuthContext, Json, Path, StreamGuard};
use crate::store::Capsule;

/// Largest body of `files/write` (it has a Content-Length; the streamed
/// route has no limit).
pub(crate) const WRITE_BODY_LIMIT: usize = 100 * 1024 * 1024;

/// Whole-call deadline of a streamed transfer with the agent. Stalls are
/// caught sooner by the idle timeouts of each direction.
pub(crate) const TRANSFER_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Longest path accepted in a JSON body.
const MAX_PATH: usize = 4096;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/capsules/{id}/files/read", post(read))
        .route("/v1/capsules/{id}/files/stream/read", post(read))
        .route("/v1/capsules/{id}/files/write", post(write).layer(DefaultBodyLimit::max(WRITE_BODY_LIMIT)))
        .route("/v1/capsules/{id}/files/stream/write", post(write).layer(DefaultBodyLimit::disable()))
        .route("/v1/capsules/{id}/files/list", post(list))
        .route("/v1/capsules/{id}/files/mkdir", post(mkdir))
        .route("/v1/capsules/{id}/files/remove", post(remove))
}

/// `{path}`: read, mkdir, remove.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathBody {
    path: String,
}

/// `{path, depth}`: list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListBody {
    path: String,
    depth: Option<i64>,
}

#[derive(Debug, Serialize)]
struct EntryList {
    entries: Vec<FileEntryView>,
}

#[derive(Debug, Serialize)]
struct MadeDir {
    entry: FileEntryView,
}

async fn read(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    guard: StreamGuard,
    Path(id): Path<String>,
    Json(body): Json<PathBody>,
) -> Result<Response, ApiError> {
    check_path(&body.path)?;
    let (capsule, agent) = capsule_agent(&state, &auth, &id, "read a file").await?;
    let active = keep_active(state.app(), &capsule, &agent);
    download(&agent, &capsule.id.to_string(), body.path, Holds::new(active, guard)).await
}

async fn write(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    _guard: StreamGuard,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<StatusCode, ApiError> {
    let multipart = multipart.map_err(|rejection| {
        ApiError::invalid_request(format!("the body must be multipart/form-data: {}", rejection.body_text()))
    })?;
    let (capsule, agent) = capsule_agent(&state, &auth, &id, "write a file").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    upload::upload(&agent, &capsule.id.to_string(), multipart).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<ListBody>,
) -> Result<Json<EntryList>, ApiError> {
    check_path(&body.path)?;
    let depth = match body.depth {
        None => 1,
        Some(depth) => u32::try_from(depth)
            .map_err(|_| ApiError::invalid_request(format!("depth must be 0 or more, not {depth}")))?
            .max(1),
    };
    let (capsule, agent) = capsule_agent(&state, &auth, &id, "list files").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    let entries = list_dir(&agent, &capsule, body.path, depth).await.map_err(data_plane_error)?;
    Ok(Json(EntryList { entries: entries.into_iter().map(FileEntryView::from).collect() }))
}

async fn mkdir(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<PathBody>,
) -> Result<Json<MadeDir>, ApiError> {
    check_path(&body.path)?;
    let (capsule, agent) = capsule_agent(&state, &auth, &id, "make a directory").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    let request =
        pb::MakeDirRequest { capsule_id: capsule.id.to_string(), path: body.path.clone(), ..Default::default() };
    let entry = match agent.make_dir(request).await {
        Ok(response) => response.into_owned().entry.into_option(),
        Err(error) if error.code == ErrorCode::AlreadyExists => {
            let existing = entry_in_parent(&agent, &capsule, &body.path).await;
            match existing {
                Some(entry) if entry.r#type == "directory" => Some(entry),
                _ => return Err(ApiError::conflict(format!("{} already_exists", body.path))),
            }
        }
        Err(error) => return Err(data_plane_error(error)),
    };
    let entry = entry.ok_or_else(|| ApiError::agent_error("the host agent made the directory but sent no entry"))?;
    Ok(Json(MadeDir { entry: FileEntryView::from(entry) }))
}

async fn remove(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: AuthContext,
    Path(id): Path<String>,
    Json(body): Json<PathBody>,
) -> Result<StatusCode, ApiError> {
    check_path(&body.path)?;
    let (capsule, agent) = capsule_agent(&state, &auth, &id, "remove a file").await?;
    let _active = keep_active(state.app(), &capsule, &agent);
    // envd's remove succeeds on a missing path; the SDK promises 404.
    if !exists(&agent, &capsule, &body.path).await {
        return Err(ApiError::not_found(format!("{} does not exist", body.path)));
    }
    let request = pb::RemovePathRequest { capsule_id: capsule.id.to_string(), path: body.path, ..Default::default() };
    agent.remove_path(request).await.map_err(data_plane_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn capsule_agent(
    state: &AppState,
    auth: &AuthContext,
    id: &str,
    operation: &'static str,
) -> Result<(Capsule, AgentClient), AppError> {
    state.app().capsule_agent(auth.team_id, validate::capsule_id(id)?, operation).await
}

async fn list_dir(
    agent: &AgentClient,
    capsule: &Capsule,
    path: String,
    depth: u32,
) -> Result<Vec<pb::FileEntry>, connectrpc::ConnectError> {
    let request = pb::ListDirRequest { capsule_id: capsule.id.to_string(), path, depth, ..Default::default() };
    Ok(agent.list_dir(request).await?.into_owned().entries)
}

/// Whether anything is at `path`. Listing the path itself is cheap for a
/// file (refused as not a directory) and, for a directory, costs no more
/// than removing it. A dangling symlink cannot be listed, so a path that
/// is "not found" is looked for in its parent before it counts as absent.
/// Any other failure counts as present: the remove then reports it.
async fn exists(agent: &AgentClient, capsule: &Capsule, path: &str) -> bool {
    match list_dir(agent, capsule, path.to_owned(), 1).await {
        Err(error) if error.code == ErrorCode::NotFound => entry_in_parent(agent, capsule, path).await.is_some(),
        _ => true,
    }
}

/// The entry of `path` as its parent directory lists it.
async fn entry_in_parent(agent: &AgentClient, capsule: &Capsule, path: &str) -> Option<pb::FileEntry> {
    let (parent, name) = split_parent(path)?;
    let entries = list_dir(agent, capsule, parent, 1).await.ok()?;
    entries.into_iter().find(|entry| entry.name == name)
}

/// `path`'s parent directory (as envd resolves it) and last name.
fn split_parent(path: &str) -> Option<(String, String)> {
    let path = std::path::Path::new(path);
    let name = path.file_name()?.to_str()?.to_owned();
    let parent = path.parent()?.to_str()?.to_owned();
    Some((parent, name))
}

/// A path the agent can be given: present, bounded, no NUL.
pub(crate) fn check_path(path: &str) -> Result<(), ApiError> {
    if path.is_empty() {
        return Err(ApiError::invalid_request("path is required"));
    }
    if path.len() > MAX_PATH || path.contains('\0') {
        return Err(ApiError::invalid_request(format!("path must be at most {MAX_PATH} bytes without NUL")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_and_names() {
        let split = |path: &str| split_parent(path);
        assert_eq!(split("/tmp/a/b"), Some(("/tmp/a".into(), "b".into())));
        assert_eq!(split("/tmp/dir/"), Some(("/tmp".into(), "dir".into())));
        assert_eq!(split("/top"), Some(("/".into(), "top".into())));
        assert_eq!(split("relative"), Some((String::new(), "relative".into())));
        assert_eq!(split("/"), None);
    }

    #[test]
    fn paths_are_checked() {
        assert!(check_path("/tmp/x").is_ok());
        assert!(check_path("~/x").is_ok());
        assert!(check_path("").is_err());
        assert!(check_path("/a\0b").is_err());
        assert!(check_path(&"a".repeat(MAX_PATH + 1)).is_err());
    }
}
