//! axum's `Json`, `Path` and `Query` with their rejections turned into
//! [`ApiError`]s, so a bad body or parameter is a `400 invalid_request`
//! (`413 too_large` past the body limit, `415` for a body that is not
//! JSON) in the API's error shape, never axum's plain text. Handlers use
//! these, not axum's.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::ApiError;

/// A JSON request body (`Content-Type: application/json`, at most the
/// route's body limit) or a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Path parameters.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

/// Query parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Json<T>, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large("request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::unsupported_media_type("request body must be JSON with Content-Type: application/json")
        }
        _ => match rejection {
            JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
                ApiError::invalid_request(format!("invalid JSON body: {}", detail(&rejection.body_text())))
            }
            _ => ApiError::invalid_request("cannot read the request body"),
        },
    }
}

fn path_rejection(rejection: &PathRejection) -> ApiError {
    match rejection {
        PathRejection::FailedToDeserializePathParams(_) => {
            ApiError::invalid_request(format!("invalid path parameter: {}", detail(&rejection.body_text())))
        }
        // The route and the handler disagree on the parameters: our bug.
        _ => ApiError::internal(rejection.body_text()),
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::invalid_request(format!("invalid query string: {}", detail(&rejection.body_text())))
}

/// axum's rejection text after its own prefix ("Failed to …: "), which
/// would repeat what our message already says.
fn detail(text: &str) -> &str {
    text.split_once(": ").map_or(text, |(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_drops_axums_prefix_only() {
        assert_eq!(
            detail("Failed to parse the request body as JSON: expected value at line 1 column 1"),
            "expected value at line 1 column 1"
        );
        assert_eq!(detail("plain"), "plain");
    }
}
