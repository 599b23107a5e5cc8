//! `GET /files`: streams a file to the client.
//!
//! The file is opened as the acting user, then read in fixed-size chunks
//! straight into the response, so a 1 GiB file costs no more memory than a
//! small one. gzip is applied on the fly when the client asks for it (fast
//! level: the transfer, not the ratio, is what matters here). A `Range`
//! request is always answered in identity coding, as E2B's envd does, so
//! byte offsets mean file offsets.
//!
//! A file that reports size 0 is streamed to its end without a
//! `Content-Length` and without range support: `/proc` and `/sys` files
//! report 0 but have content. Otherwise exactly the size seen at open time is
//! sent; if the file shrinks meanwhile the response ends short of its
//! `Content-Length` and the client sees an incomplete transfer rather than a
//! silently truncated file.

use std::io::SeekFrom;
use std::path::Path;

use async_compression::Level;
use async_compression::tokio::bufread::GzipEncoder;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use http::header::{
    ACCEPT_ENCODING, ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    IF_RANGE, RANGE, VARY,
};
use http::{HeaderMap, StatusCode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, BufReader};
use tokio_util::io::ReaderStream;

use crate::auth::FileOperation;
use crate::http::files::encoding::{self, Coding};
use crate::http::files::range::{self, ByteRange};
use crate::http::files::{FilesError, FilesQuery, authorize, file_name, header_str, headers, resolve};
use crate::state::SharedState;
use crate::sys::as_user;
use crate::sys::open::open_for_read;
use crate::users::Identity;

/// Bytes read from the file per chunk of the response.
const READ_CHUNK: usize = 256 * 1024;

pub(crate) async fn download(
    State(state): State<SharedState>,
    request_headers: HeaderMap,
    query: Result<Query<FilesQuery>, QueryRejection>,
) -> Response {
    send(&state, &request_headers, query).await.unwrap_or_else(IntoResponse::into_response)
}

async fn send(
    state: &SharedState,
    request_headers: &HeaderMap,
    query: Result<Query<FilesQuery>, QueryRejection>,
) -> Result<Response, FilesError> {
    let Query(query) = query.map_err(FilesError::Query)?;
    let identity = authorize(state, request_headers, &query, FileOperation::Read)?;
    let path = resolve(state, &identity, query.path.as_deref().unwrap_or_default())?;
    let (file, size) = open(&identity, &path).await?;
    let coding = encoding::negotiate(header_str(request_headers, ACCEPT_ENCODING))?;

    let range_header = header_str(request_headers, RANGE);
    // envd sends no validators, so an `If-Range` can never match: per
    // RFC 9110 §13.1.5 the whole file is sent.
    let byte_range = match range_header {
        Some(header) if size > 0 && !request_headers.contains_key(IF_RANGE) => range::parse(header, size),
        _ => ByteRange::Whole,
    };

    let response = Response::builder()
        .header(CONTENT_TYPE, headers::content_type(&path))
        .header(CONTENT_DISPOSITION, headers::content_disposition(&file_name(&path)))
        .header(VARY, "Accept-Encoding")
        .header(ACCEPT_RANGES, "bytes");
    let mut file = tokio::fs::File::from_std(file);
    let response = match byte_range {
        ByteRange::Unsatisfiable => return Err(FilesError::RangeNotSatisfiable { size }),
        ByteRange::Part { start, end } => {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|err| FilesError::from_read_io(err, &identity, "read", &path))?;
            let len = end - start + 1;
            response
                .status(StatusCode::PARTIAL_CONTENT)
                .header(CONTENT_RANGE, format!("bytes {start}-{end}/{size}"))
                .header(CONTENT_LENGTH, len)
                .body(stream(file.take(len), &path))
        }
        ByteRange::Whole if coding == Coding::Gzip && range_header.is_none() => {
            let encoder = GzipEncoder::with_quality(BufReader::with_capacity(READ_CHUNK, file), Level::Fastest);
            response.header(CONTENT_ENCODING, "gzip").body(stream(encoder, &path))
        }
        ByteRange::Whole if size > 0 => response.header(CONTENT_LENGTH, size).body(stream(file.take(size), &path)),
        ByteRange::Whole => response.body(stream(file, &path)),
    };
    response.map_err(|err| FilesError::Io {
        action: "answer with",
        path: path.clone(),
        source: std::io::Error::other(err),
    })
}

/// Opens `path` as `identity`; only regular files may be downloaded.
async fn open(identity: &Identity, path: &Path) -> Result<(std::fs::File, u64), FilesError> {
    let target = path.to_path_buf();
    let opened = as_user::run_as(identity, move || {
        let file = open_for_read(&target)?;
        let meta = file.metadata()?;
        Ok::<_, std::io::Error>((file, meta))
    })
    .await
    .map_err(|source| FilesError::Switch { user: identity.name.clone(), source })?;
    let (file, meta) = opened.map_err(|err| FilesError::from_read_io(err, identity, "open", path))?;
    if meta.is_dir() {
        return Err(FilesError::IsDirectory { path: path.to_path_buf() });
    }
    if !meta.is_file() {
        return Err(FilesError::NotRegularFile { path: path.to_path_buf() });
    }
    Ok((file, meta.len()))
}

/// The response body: `reader` in chunks. A read error mid-way can only cut
/// the response short; it is logged here because nobody else sees it.
fn stream(reader: impl AsyncRead + Send + 'static, path: &Path) -> Body {
    let path = path.to_path_buf();
    Body::from_stream(ReaderStream::with_capacity(reader, READ_CHUNK).inspect_err(move |err| {
        tracing::warn!(path = %path.display(), error = %err, "download failed mid-way");
    }))
}
