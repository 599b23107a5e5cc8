//! Uploads: a `multipart/form-data` body with a `path` part and then a
//! `file` part, relayed to the agent's `WriteFileStream` as it arrives.
//!
//! The body is never held whole: the `file` part is cut into chunks of at
//! most [`CHUNK_SIZE`] and handed to the agent call through a small bounded
//! channel, so a slow agent slows the reading of the body down. Because
//! the agent needs the path before the first byte, the `path` part must
//! come first (the SDK always sends it first); a `file` part before it is
//! refused rather than buffered. Other parts are read and ignored.
//!
//! A failed upload never ends as a clean stream: when the body breaks off,
//! stalls or is malformed, the agent call is dropped (cancelled) instead of
//! being finished, so the agent does not take a truncated file for a
//! complete one.

use std::time::Duration;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use connectrpc::client::CallOptions;
use tokio::sync::mpsc;
use wrenn_proto::agent::hostagent as pb;
use wrenn_proto::agent::hostagent::__buffa::oneof::write_file_stream_request::Event as WriteEvent;

use crate::api::exec::data_plane_error;
use crate::api::files::{TRANSFER_TIMEOUT, check_path};
use crate::app::AgentClient;
use crate::http::ApiError;

/// Largest chunk message sent to the agent.
pub(crate) const CHUNK_SIZE: usize = 256 * 1024;
/// Chunks in flight between the body and the agent call.
const CHANNEL_DEPTH: usize = 4;
/// Longest pause in the client's body, or in the agent taking a chunk.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest `path` part.
const MAX_PATH: usize = 4096;

/// Why the relay of the body stopped early.
#[derive(Debug)]
enum PumpError {
    /// The body is malformed, stalled or broke off: the client's fault.
    Request(ApiError),
    /// The agent call stopped taking chunks: it has ended, with its answer.
    AgentGone,
}

impl From<ApiError> for PumpError {
    fn from(error: ApiError) -> PumpError {
        PumpError::Request(error)
    }
}

/// Writes the upload in `multipart` to the capsule through `agent`.
pub(crate) async fn upload(agent: &AgentClient, capsule_id: &str, multipart: Multipart) -> Result<(), ApiError> {
    let (sink, requests) = mpsc::channel::<pb::WriteFileStreamRequest>(CHANNEL_DEPTH);
    let requests = futures::stream::unfold(requests, |mut requests| async move {
        requests.recv().await.map(|request| (request, requests))
    });
    let call = agent.write_file_stream_with_options(requests, CallOptions::default().with_timeout(TRANSFER_TIMEOUT));
    tokio::pin!(call);
    let pumped = tokio::select! {
        answer = &mut call => return Err(ended_early(answer.err())),
        pumped = pump(multipart, capsule_id, sink) => pumped,
    };
    match pumped {
        Ok(()) => call.await.map(drop).map_err(data_plane_error),
        // Dropping `call` cancels it: the agent sees a broken stream.
        Err(PumpError::Request(error)) => Err(error),
        Err(PumpError::AgentGone) => Err(ended_early(call.await.err())),
    }
}

fn ended_early(error: Option<connectrpc::ConnectError>) -> ApiError {
    match error {
        Some(error) => data_plane_error(error),
        None => ApiError::agent_error("the host agent ended the upload before all of it was sent"),
    }
}

/// Reads the parts and sends the agent the meta, then the file's chunks.
/// Returning drops `sink`, which ends the request stream: only `Ok` may
/// be followed by awaiting the call.
async fn pump(
    mut multipart: Multipart,
    capsule_id: &str,
    sink: mpsc::Sender<pb::WriteFileStreamRequest>,
) -> Result<(), PumpError> {
    let mut path: Option<String> = None;
    let mut file_seen = false;
    while let Some(field) = idle_bounded(multipart.next_field()).await? {
        match field.name() {
            Some("path") => {
                if path.is_some() {
                    return Err(ApiError::invalid_request("the path part appears twice").into());
                }
                path = Some(read_path(field).await?);
            }
            Some("file") => {
                if file_seen {
                    return Err(ApiError::invalid_request("only one file part is allowed").into());
                }
                file_seen = true;
                let Some(path) = &path else {
                    return Err(ApiError::invalid_request("the path part must come before the file part").into());
                };
                let meta = pb::WriteFileStreamMeta {
                    capsule_id: capsule_id.to_owned(),
                    path: path.clone(),
                    ..Default::default()
                };
                send(&sink, WriteEvent::from(meta)).await?;
                relay_file(field, &sink).await?;
            }
            _ => drain(field).await?,
        }
    }
    match (path, file_seen) {
        (None, _) => Err(ApiError::invalid_request("the multipart body has no path part").into()),
        (Some(_), false) => Err(ApiError::invalid_request("the multipart body has no file part").into()),
        (Some(_), true) => Ok(()),
    }
}

/// Sends the file part's bytes in chunks of at most [`CHUNK_SIZE`]; small
/// pieces of the body are gathered first so that each message is large.
async fn relay_file(mut field: Field<'_>, sink: &mpsc::Sender<pb::WriteFileStreamRequest>) -> Result<(), PumpError> {
    let mut pending: Vec<u8> = Vec::with_capacity(CHUNK_SIZE);
    while let Some(mut bytes) = idle_bounded(field.chunk()).await? {
        while !bytes.is_empty() {
            let taken = bytes.split_to(bytes.len().min(CHUNK_SIZE - pending.len()));
            pending.extend_from_slice(&taken);
            if pending.len() == CHUNK_SIZE {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(CHUNK_SIZE));
                send(sink, WriteEvent::Chunk(full)).await?;
            }
        }
    }
    if !pending.is_empty() {
        send(sink, WriteEvent::Chunk(pending)).await?;
    }
    Ok(())
}

async fn send(sink: &mpsc::Sender<pb::WriteFileStreamRequest>, event: WriteEvent) -> Result<(), PumpError> {
    let request = pb::WriteFileStreamRequest { event: Some(event), ..Default::default() };
    match tokio::time::timeout(IDLE_TIMEOUT, sink.send(request)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_closed)) => Err(PumpError::AgentGone),
        Err(_elapsed) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("the host agent took no data for {} s", IDLE_TIMEOUT.as_secs()),
        )
        .into()),
    }
}

async fn read_path(mut field: Field<'_>) -> Result<String, PumpError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = idle_bounded(field.chunk()).await? {
        if bytes.len() + chunk.len() > MAX_PATH {
            return Err(ApiError::invalid_request(format!("the path part is longer than {MAX_PATH} bytes")).into());
        }
        bytes.extend_from_slice(&chunk);
    }
    let path = String::from_utf8(bytes).map_err(|_| ApiError::invalid_request("the path part is not UTF-8"))?;
    check_path(&path)?;
    Ok(path)
}

async fn drain(mut field: Field<'_>) -> Result<(), PumpError> {
    while idle_bounded(field.chunk()).await?.is_some() {}
    Ok(())
}

/// One read of the body, bounded by [`IDLE_TIMEOUT`], with multipart
/// errors in the API's shape.
async fn idle_bounded<T>(read: impl Future<Output = Result<T, MultipartError>>) -> Result<T, ApiError> {
    match tokio::time::timeout(IDLE_TIMEOUT, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(multipart_error(&error)),
        Err(_elapsed) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request body stalled for {} s", IDLE_TIMEOUT.as_secs()),
        )),
    }
}

fn multipart_error(error: &MultipartError) -> ApiError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large("the upload is larger than this route accepts"),
        StatusCode::BAD_REQUEST => ApiError::invalid_request(format!("invalid multipart body: {}", error.body_text())),
        // The body could not be read: the client went away or broke it off.
        _ => ApiError::invalid_request("the request body broke off"),
    }
}

#[cfg(test)]
mod tests {
    use axum::extract::FromRequest;

    use super::*;

    const BOUNDARY: &str = "b0undary";

    fn part(name: &str, filename: Option<&str>, data: &[u8]) -> Vec<u8> {
        let mut out = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").into_bytes();
        if let Some(filename) = filename {
            out.extend(format!("; filename=\"{filename}\"\r\nContent-Type: application/octet-stream").bytes());
        }
        out.extend(b"\r\n\r\n");
        out.extend(data);
        out.extend(b"\r\n");
        out
    }

    async fn multipart(parts: &[Vec<u8>]) -> Multipart {
        let mut body: Vec<u8> = parts.concat();
        body.extend(format!("--{BOUNDARY}--\r\n").bytes());
        let request = axum::http::Request::builder()
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(axum::body::Body::from(body))
            .unwrap();
        Multipart::from_request(request, &()).await.unwrap()
    }

    /// Runs the pump against a channel and returns what the agent would get.
    async fn pumped(parts: &[Vec<u8>]) -> (Result<(), PumpError>, Vec<WriteEvent>) {
        let (sink, mut requests) = mpsc::channel(1024);
        let result = pump(multipart(parts).await, "cl-x", sink).await;
        let mut events = Vec::new();
        while let Some(request) = requests.recv().await {
            events.push(request.event.unwrap());
        }
        (result, events)
    }

    fn refused(result: Result<(), PumpError>) -> String {
        match result {
            Err(PumpError::Request(error)) => {
                assert_eq!(error.status(), StatusCode::BAD_REQUEST);
                error.message().to_owned()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_meta_goes_first_then_the_bytes_in_bounded_chunks() {
        let data: Vec<u8> = (0..CHUNK_SIZE * 2 + 10).map(|i| (i % 251) as u8).collect();
        let (result, events) =
            pumped(&[part("path", None, b"/tmp/a/b.bin"), part("file", Some("upload.bin"), &data)]).await;
        result.unwrap();
        let Some(WriteEvent::Meta(meta)) = events.first() else { panic!("no meta first: {events:?}") };
        assert_eq!((meta.capsule_id.as_str(), meta.path.as_str()), ("cl-x", "/tmp/a/b.bin"));
        let chunks: Vec<&Vec<u8>> = events[1..]
            .iter()
            .map(|event| match event {
                WriteEvent::Chunk(chunk) => chunk,
                WriteEvent::Meta(_) => panic!("meta sent twice"),
            })
            .collect();
        assert!(chunks.iter().all(|chunk| !chunk.is_empty() && chunk.len() <= CHUNK_SIZE));
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks.into_iter().flatten().copied().collect::<Vec<u8>>(), data);
    }

    #[tokio::test]
    async fn an_empty_file_is_a_meta_alone_and_other_parts_are_ignored() {
        let (result, events) =
            pumped(&[part("note", None, b"x"), part("path", None, b"/tmp/empty"), part("file", Some("u"), b"")]).await;
        result.unwrap();
        assert!(matches!(events.as_slice(), [WriteEvent::Meta(meta)] if meta.path == "/tmp/empty"), "{events:?}");
    }

    #[tokio::test]
    async fn malformed_uploads_are_refused() {
        let (result, events) = pumped(&[part("file", Some("u"), b"data"), part("path", None, b"/tmp/x")]).await;
        assert!(refused(result).contains("before the file part"));
        assert!(events.is_empty(), "nothing may reach the agent: {events:?}");

        let (result, _) = pumped(&[part("path", None, b"/tmp/x")]).await;
        assert!(refused(result).contains("no file part"));
        let (result, _) = pumped(&[part("file", Some("u"), b"")]).await;
        assert!(refused(result).contains("before the file part"));
        let (result, _) = pumped(&[]).await;
        assert!(refused(result).contains("no path part"));
        let (result, _) = pumped(&[part("path", None, b"")]).await;
        refused(result);
        let (result, _) =
            pumped(&[part("path", None, b"/a"), part("file", Some("u"), b"1"), part("file", Some("u"), b"2")]).await;
        assert!(refused(result).contains("only one file part"));
    }

    #[tokio::test]
    async fn a_closed_agent_call_stops_the_pump() {
        let (sink, requests) = mpsc::channel(1);
        drop(requests);
        let parts = [part("path", None, b"/tmp/x"), part("file", Some("u"), b"data")];
        let result = pump(multipart(&parts).await, "cl-x", sink).await;
        assert!(matches!(result, Err(PumpError::AgentGone)), "{result:?}");
    }
}
