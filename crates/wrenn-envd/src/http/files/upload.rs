//! `POST /files`: writes uploaded files.
//!
//! Two body shapes, as E2B's SDKs send them: `application/octet-stream` is
//! one file whose destination is the `path` query parameter, and
//! `multipart/form-data` carries one file per part named `file`, placed at
//! `path` if given (then only one such part is allowed) or else at the part's
//! filename, resolved like any request path. Other parts are skipped. Two
//! parts may not target the same file. `Content-Encoding: gzip` applies to
//! the whole body, as in HTTP and E2B's envd, and is decoded before the
//! multipart framing is read. (The SDKs only ever gzip octet-stream bodies.)
//!
//! The body is consumed as it arrives and written in batches, so an upload
//! of any size needs constant memory. A client that sends nothing for
//! [`BODY_IDLE_TIMEOUT`] is cut off so a stalled upload cannot pin an open
//! file forever. Files are written one after another; if one fails, the
//! files before it stay written and the request fails.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use async_compression::tokio::bufread::GzipDecoder;
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use http::HeaderMap;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use serde::Serialize;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::auth::FileOperation;
use crate::http::files::encoding::{self, Coding};
use crate::http::files::multipart::{self, MultipartReader};
use crate::http::files::write::{ChunkSource, WrittenFile, write_file};
use crate::http::files::{FilesError, FilesQuery, authorize, file_name, header_str, headers, resolve};
use crate::state::SharedState;
use crate::users::Identity;

/// How long an upload may go without receiving a byte.
pub(crate) const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Output chunk of the gzip decoder.
const DECODE_CHUNK: usize = 64 * 1024;

type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// One entry of the response, as E2B's `EntryInfo` for uploads.
#[derive(Debug, Serialize)]
struct WriteInfo {
    name: String,
    r#type: &'static str,
    path: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

impl From<WrittenFile> for WriteInfo {
    fn from(file: WrittenFile) -> WriteInfo {
        WriteInfo {
            name: file_name(&file.path),
            r#type: "file",
            path: file.path.to_string_lossy().into_owned(),
            metadata: file.metadata,
        }
    }
}

pub(crate) async fn upload(
    State(state): State<SharedState>,
    request_headers: HeaderMap,
    query: Result<Query<FilesQuery>, QueryRejection>,
    body: Body,
) -> Response {
    match receive(&state, &request_headers, query, body).await {
        Ok(files) => Json(files.into_iter().map(WriteInfo::from).collect::<Vec<_>>()).into_response(),
        Err(err) => err.into_response(),
    }
}

/// What the body is.
enum BodyKind {
    OctetStream,
    Multipart { boundary: String },
}

impl BodyKind {
    fn of(content_type: Option<&str>) -> Result<BodyKind, FilesError> {
        let content_type = content_type.unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media_type == "application/octet-stream" {
            Ok(BodyKind::OctetStream)
        } else if media_type.starts_with("multipart/") {
            Ok(BodyKind::Multipart { boundary: multipart::boundary(content_type)? })
        } else {
            Err(FilesError::UnsupportedContentType { content_type: content_type.to_owned() })
        }
    }
}

async fn receive(
    state: &SharedState,
    request_headers: &HeaderMap,
    query: Result<Query<FilesQuery>, QueryRejection>,
    body: Body,
) -> Result<Vec<WrittenFile>, FilesError> {
    let Query(query) = query.map_err(FilesError::Query)?;
    let identity = authorize(state, request_headers, &query, FileOperation::Write)?;
    let metadata = headers::metadata(request_headers)?;
    let coding = encoding::body_coding(header_str(request_headers, CONTENT_ENCODING))?;
    let kind = BodyKind::of(header_str(request_headers, CONTENT_TYPE))?;
    let body = body_stream(body, coding);
    match kind {
        BodyKind::OctetStream => {
            let raw = query.path.as_deref().ok_or(FilesError::MissingPath)?;
            let path = resolve(state, &identity, raw)?;
            Ok(vec![write_file(&identity, &path, &mut RawBody(body), &metadata).await?])
        }
        BodyKind::Multipart { boundary } => {
            let mut reader = MultipartReader::new(body, &boundary);
            receive_parts(state, &identity, query.path.as_deref(), &mut reader, &metadata).await
        }
    }
}

async fn receive_parts(
    state: &SharedState,
    identity: &Identity,
    query_path: Option<&str>,
    reader: &mut MultipartReader<ByteStream>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<WrittenFile>, FilesError> {
    let mut written: Vec<WrittenFile> = Vec::new();
    let mut destinations = HashSet::new();
    while let Some(part) = reader.next_part().await? {
        if part.name.as_deref() != Some("file") {
            continue;
        }
        let raw = match (query_path, part.file_name.as_deref()) {
            (Some(_), _) if !written.is_empty() => return Err(FilesError::SecondFileForPath),
            (Some(path), _) | (None, Some(path)) => path,
            (None, None) => return Err(FilesError::MissingFileName),
        };
        let path = resolve(state, identity, raw)?;
        if !destinations.insert(path.clone()) {
            return Err(FilesError::DuplicateDestination { path });
        }
        written.push(write_file(identity, &path, &mut PartBody(reader), metadata).await?);
    }
    if written.is_empty() {
        return Err(FilesError::NoFilePart);
    }
    Ok(written)
}

/// The request body as a stream of chunks, gzip-decoded if need be, with
/// the idle timeout applied. Transport errors come out as
/// `ConnectionAborted` and stalls as `TimedOut`, so that
/// [`FilesError::from_body`] can tell them from invalid gzip.
fn body_stream(body: Body, coding: Coding) -> ByteStream {
    let mut data = body.into_data_stream();
    let raw = async_stream::stream! {
        loop {
            match tokio::time::timeout(BODY_IDLE_TIMEOUT, data.next()).await {
                Ok(Some(Ok(chunk))) => yield Ok(chunk),
                Ok(Some(Err(err))) => {
                    yield Err(io::Error::new(io::ErrorKind::ConnectionAborted, err.into_inner()));
                    break;
                }
                Ok(None) => break,
                Err(_) => {
                    yield Err(io::Error::from(io::ErrorKind::TimedOut));
                    break;
                }
            }
        }
    };
    match coding {
        Coding::Identity => Box::pin(raw),
        Coding::Gzip => {
            let mut decoder = GzipDecoder::new(StreamReader::new(Box::pin(raw)));
            // `gzip -c a b` and parallel compressors produce several members.
            decoder.multiple_members(true);
            Box::pin(ReaderStream::with_capacity(decoder, DECODE_CHUNK))
        }
    }
}

/// An octet-stream body: the whole body is the file.
struct RawBody(ByteStream);

impl ChunkSource for RawBody {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, FilesError> {
        self.0.next().await.transpose().map_err(FilesError::from_body)
    }
}

/// The current part of a multipart body.
struct PartBody<'a>(&'a mut MultipartReader<ByteStream>);

impl ChunkSource for PartBody<'_> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, FilesError> {
        Ok(self.0.next_chunk().await?)
    }
}
