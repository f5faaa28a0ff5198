//! Successful JSON answers.

use lambda_http::{Body, Response};
use serde::Serialize;

use crate::problem::ApiError;

pub fn json<T: Serialize>(status: u16, value: &T) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(value).map_err(|_| ApiError::Internal)?;
    json_text(status, text)
}

/// For bodies already serialised (e.g. replayed from the idempotency store).
pub fn json_text(status: u16, text: String) -> Result<Response<Body>, ApiError> {
    let content_type = if status >= 400 {
        crate::problem::PROBLEM_CONTENT_TYPE
    } else {
        "application/json"
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Body::Text(text))
        .map_err(|_| ApiError::Internal)
}
