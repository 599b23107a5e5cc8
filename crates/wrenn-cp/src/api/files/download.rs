//! Downloads: the agent's `ReadFileStream` relayed as the response body,
//! chunk by chunk, so a file of any size flows with flat memory and the
//! client's read timeout (30 s between chunks in the SDK) never fires on a
//! healthy transfer.
//!
//! Errors the agent reports before the first chunk (no such file, a
//! directory, permission denied) become a normal error answer. A failure
//! after the status line went out can no longer change it: the body is
//! aborted instead of ended, so the client sees a broken transfer rather
//! than a short file.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use connectrpc::client::CallOptions;
use wrenn_proto::agent::hostagent as pb;

use crate::api::exec::{KeepActive, data_plane_error};
use crate::api::files::TRANSFER_TIMEOUT;
use crate::app::AgentClient;
use crate::http::{ApiError, StreamGuard};

/// Longest wait for the agent's first answer (a chunk, the end, or an error).
const FIRST_ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// What the body keeps alive while it streams: the capsule's activity and
/// the server's drain (shutdown waits for the download, up to its grace).
#[derive(Debug)]
pub(crate) struct Holds {
    _active: KeepActive,
    _guard: StreamGuard,
}

impl Holds {
    pub(crate) fn new(active: KeepActive, guard: StreamGuard) -> Holds {
        Holds { _active: active, _guard: guard }
    }
}

/// The file at `path` in the capsule as a streamed 200 response.
pub(crate) async fn download(
    agent: &AgentClient,
    capsule_id: &str,
    path: String,
    holds: Holds,
) -> Result<Response, ApiError> {
    let request = pb::ReadFileRequest { capsule_id: capsule_id.to_owned(), path: path.clone(), ..Default::default() };
    let options = CallOptions::default().with_timeout(TRANSFER_TIMEOUT);
    let first_answer = async {
        let mut stream = agent.read_file_stream_with_options(request, options).await?;
        let first = stream.message().await?.map(|chunk| Bytes::from(chunk.to_owned_message().data));
        Ok::<_, connectrpc::ConnectError>((stream, first))
    };
    let (stream, first) = tokio::time::timeout(FIRST_ANSWER_TIMEOUT, first_answer)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!("the host agent did not start sending {path} within {} s", FIRST_ANSWER_TIMEOUT.as_secs()),
            )
        })?
        .map_err(data_plane_error)?;
    let rest = futures::stream::unfold(Some((stream, holds, path)), |state| async move {
        let (mut stream, holds, path) = state?;
        match stream.message().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk.to_owned_message().data)), Some((stream, holds, path)))),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(path, error = %wrenn_types::ErrorChain(&error), "download broke off after it started");
                Some((Err(std::io::Error::other(format!("reading {path} broke off"))), None))
            }
        }
    });
    let body = futures::StreamExt::chain(futures::stream::iter(first.map(Ok)), rest);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], Body::from_stream(body)).into_response())
}
