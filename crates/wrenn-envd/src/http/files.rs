//! `GET /files` and `POST /files`: file contents over plain HTTP.
//!
//! This is how the SDKs move file contents; the filesystem service only
//! deals in metadata. Both directions stream, so memory stays flat whatever
//! the size of the file, and no request body limit applies to the route.
//! Every file is opened, created and written with the credentials of the
//! acting user (`sys::as_user`): the kernel enforces that user's permissions
//! and whatever is created belongs to that user.
//!
//! The route is exempt from the global token middleware because it also
//! accepts signed URLs, so [`authorize`] checks the token or signature here.
//! Every signature failure (missing, invalid, expired) answers 401, as E2B's
//! envd does: the SDKs raise their authentication error for 401 only.
//!
//! Statuses, following E2B's envd: 400 bad input, 401 not authorized or
//! unknown user, 403 the user may not, 404 no such file, 406 and 416 failed
//! negotiation, 408 stalled upload, 507 disk full.

mod download;
mod encoding;
mod headers;
mod multipart;
mod range;
mod upload;
mod write;

use std::io;
use std::path::{Path, PathBuf};

use axum::extract::rejection::QueryRejection;
use axum::response::{IntoResponse, Response};
use http::header::AsHeaderName;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

use crate::auth::{FileOperation, SignatureError, SignedQuery, TOKEN_HEADER, authorize_file_request, now_unix};
use crate::error_chain::ErrorChain;
use crate::http::error::json_error;
use crate::state::AppState;
use crate::sys::as_user::AsUserError;
use crate::users::{Identity, UserError};

pub(crate) use download::download;
pub(crate) use upload::upload;

/// The query string of both methods.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FilesQuery {
    pub(crate) path: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) signature_expiration: Option<String>,
}

/// Whether a failed call was reading or writing, for messages and statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// Everything that can go wrong on `/files`. The message is what the client
/// sees; sources go to the log only.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FilesError {
    #[error("invalid query string")]
    Query(#[source] QueryRejection),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error("path contains a NUL byte")]
    NulInPath,
    #[error("path '{}' does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("path '{}' is a directory", path.display())]
    IsDirectory { path: PathBuf },
    #[error("path '{}' is not a regular file", path.display())]
    NotRegularFile { path: PathBuf },
    #[error("a parent of '{}' is not a directory", path.display())]
    ParentNotDirectory { path: PathBuf },
    #[error("path '{}' is too long", path.display())]
    NameTooLong { path: PathBuf },
    #[error("permission denied: user '{user}' may not {access} '{}'", path.display())]
    PermissionDenied {
        user: String,
        access: Access,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("not enough disk space to write '{}'", path.display())]
    NoSpace {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("'{}' would exceed the largest file size allowed", path.display())]
    FileTooLarge {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot {action} '{}'", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot act as user '{user}'")]
    Switch {
        user: String,
        #[source]
        source: AsUserError,
    },
    #[error(transparent)]
    NotAcceptable(#[from] encoding::NotAcceptable),
    #[error("range not satisfiable: the file has {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("unsupported content type {content_type:?}: expected multipart/form-data or application/octet-stream")]
    UnsupportedContentType { content_type: String },
    #[error(transparent)]
    UnsupportedEncoding(#[from] encoding::UnsupportedEncoding),
    #[error("the path query parameter is required for an application/octet-stream upload")]
    MissingPath,
    #[error(transparent)]
    Multipart(multipart::MultipartError),
    #[error("a file part has no filename and the path query parameter is not set")]
    MissingFileName,
    #[error("only one file part may be sent when the path query parameter is set")]
    SecondFileForPath,
    #[error("several file parts in one request target '{}'", path.display())]
    DuplicateDestination { path: PathBuf },
    #[error("the multipart body has no part named 'file'")]
    NoFilePart,
    #[error(transparent)]
    Metadata(#[from] headers::InvalidMetadata),
    #[error("the metadata is too large for the filesystem of '{}'", path.display())]
    MetadataTooLarge { path: PathBuf },
    #[error("the upload body could not be read")]
    BodyRead(#[source] io::Error),
    #[error("the upload body is not valid gzip")]
    InvalidGzip(#[source] io::Error),
    #[error("no upload data arrived for {} seconds", upload::BODY_IDLE_TIMEOUT.as_secs())]
    BodyTimeout,
}

impl FilesError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            FilesError::Signature(_) => StatusCode::UNAUTHORIZED,
            FilesError::User(UserError::Unknown { .. } | UserError::InvalidName { .. }) => StatusCode::UNAUTHORIZED,
            FilesError::User(UserError::CannotSwitch { .. }) | FilesError::PermissionDenied { .. } => {
                StatusCode::FORBIDDEN
            }
            FilesError::NotFound { .. } => StatusCode::NOT_FOUND,
            FilesError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            FilesError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            FilesError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            FilesError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            FilesError::NoSpace { .. } => StatusCode::INSUFFICIENT_STORAGE,
            FilesError::Io { .. } | FilesError::Switch { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            FilesError::Query(_)
            | FilesError::NulInPath
            | FilesError::IsDirectory { .. }
            | FilesError::NotRegularFile { .. }
            | FilesError::ParentNotDirectory { .. }
            | FilesError::NameTooLong { .. }
            | FilesError::UnsupportedContentType { .. }
            | FilesError::UnsupportedEncoding(_)
            | FilesError::MissingPath
            | FilesError::Multipart(_)
            | FilesError::MissingFileName
            | FilesError::SecondFileForPath
            | FilesError::DuplicateDestination { .. }
            | FilesError::NoFilePart
            | FilesError::Metadata(_)
            | FilesError::MetadataTooLarge { .. }
            | FilesError::BodyRead(_)
            | FilesError::InvalidGzip(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// Maps a failed read-side call on `path`.
    pub(crate) fn from_read_io(
        source: io::Error,
        identity: &Identity,
        action: &'static str,
        path: &Path,
    ) -> FilesError {
        classify(source, identity, Access::Read, action, path, path)
    }

    /// Maps a failed write-side call made on `subject` while uploading to
    /// `destination` (the subject is a parent directory while creating those).
    pub(crate) fn from_write_io(
        source: io::Error,
        identity: &Identity,
        action: &'static str,
        destination: &Path,
        subject: &Path,
    ) -> FilesError {
        classify(source, identity, Access::Write, action, destination, subject)
    }

    /// Maps an error of the upload body stream: a disconnect or stall of the
    /// client, or gzip the decoder rejects.
    pub(crate) fn from_body(source: io::Error) -> FilesError {
        match source.kind() {
            io::ErrorKind::TimedOut => FilesError::BodyTimeout,
            io::ErrorKind::ConnectionAborted => FilesError::BodyRead(source),
            _ => FilesError::InvalidGzip(source),
        }
    }
}

impl From<multipart::MultipartError> for FilesError {
    fn from(err: multipart::MultipartError) -> FilesError {
        match err {
            multipart::MultipartError::Body(source) => FilesError::from_body(source),
            other => FilesError::Multipart(other),
        }
    }
}

impl IntoResponse for FilesError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), error = %ErrorChain(&self), "file transfer failed");
        } else {
            tracing::debug!(status = status.as_u16(), error = %ErrorChain(&self), "file transfer refused");
        }
        let mut response = json_error(status, &self.to_string());
        if let FilesError::RangeNotSatisfiable { size } = self
            && let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}"))
        {
            response.headers_mut().insert(http::header::CONTENT_RANGE, value);
        }
        response
    }
}

fn classify(
    source: io::Error,
    identity: &Identity,
    access: Access,
    action: &'static str,
    destination: &Path,
    subject: &Path,
) -> FilesError {
    use io::ErrorKind as Kind;
    let path = destination.to_path_buf();
    match source.kind() {
        Kind::PermissionDenied | Kind::ReadOnlyFilesystem => {
            FilesError::PermissionDenied { user: identity.name.clone(), access, path: subject.to_path_buf(), source }
        }
        Kind::NotFound => FilesError::NotFound { path: subject.to_path_buf() },
        // A component of the path is a file: nothing to read there, and
        // nowhere to create the destination.
        Kind::NotADirectory if access == Access::Read => FilesError::NotFound { path },
        Kind::NotADirectory | Kind::AlreadyExists => FilesError::ParentNotDirectory { path },
        Kind::IsADirectory => FilesError::IsDirectory { path },
        Kind::InvalidFilename => FilesError::NameTooLong { path },
        Kind::StorageFull | Kind::QuotaExceeded => FilesError::NoSpace { path, source },
        Kind::FileTooLarge => FilesError::FileTooLarge { path, source },
        _ => FilesError::Io { action, path: subject.to_path_buf(), source },
    }
}

/// Checks the token or signed URL, then resolves the acting user.
pub(crate) fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    query: &FilesQuery,
    operation: FileOperation,
) -> Result<Identity, FilesError> {
    let signed = SignedQuery {
        path: query.path.as_deref().unwrap_or_default(),
        username: query.username.as_deref().unwrap_or_default(),
        signature: query.signature.as_deref(),
        expiration: query.signature_expiration.as_deref(),
    };
    let token = headers.get(TOKEN_HEADER).map(HeaderValue::as_bytes);
    authorize_file_request(&state.token, token, &signed, operation, now_unix())?;
    Ok(state.identity(query.username.as_deref())?)
}

/// Resolves a request path for `identity` (empty means the home or default
/// working directory).
pub(crate) fn resolve(state: &AppState, identity: &Identity, raw: &str) -> Result<PathBuf, FilesError> {
    if raw.contains('\0') {
        return Err(FilesError::NulInPath);
    }
    Ok(state.resolve_path(raw, identity))
}

/// A header's value as text; a value that is not visible ASCII counts as absent.
pub(crate) fn header_str(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The name a path is sent under: its last component.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}
