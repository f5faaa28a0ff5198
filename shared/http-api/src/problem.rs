//! Every error the API answers with, and how it looks on the wire: status, `Retry-After` for
//! 503s, and a problem+json body with `type`, `title`, `status`, `detail`, plus `field` (the
//! first offending field or parameter) and `invalid_params` (all of them) for client errors.

use lambda_http::{Body, Response};
use serde::Serialize;
use store::{StoreError, ValidationError};
use uuid::Uuid;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

/// A 503's `outcome`: the database was not reached or refused before doing anything (a read,
/// or anything refused as Unavailable/overloaded/no connection); retrying is safe.
pub const OUTCOME_NOT_DONE: &str = "not_done";
/// A create's 503: nothing was created; retrying is safe, with or without the key.
pub const OUTCOME_NOT_CREATED: &str = "not_created";
/// A create's 503 after a write whose answer was lost: it may have been applied. Retry with the
/// same Idempotency-Key to converge on the one product.
pub const OUTCOME_UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvalidParam {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 422: the JSON was well formed but fields are missing, unknown or invalid.
    Validation(Vec<InvalidParam>),
    /// 400: not JSON, or not a JSON object.
    MalformedJson(String),
    /// 400: a path or query parameter or a header is invalid (`id`, `limit`, `cursor`, `sku`,
    /// `Idempotency-Key`).
    InvalidParameter { name: &'static str, reason: String },
    /// 401: no verified identity reached the function (behind the deployed API Gateway, only
    /// if the template lost its authorizer).
    Unauthenticated,
    /// 403: an identity without the right to write (no write scope, or no subject to record).
    Forbidden { reason: String },
    /// 404: no such resource (a product id nothing holds); says what was looked for.
    NotFound(String),
    /// 405: the function serves one method.
    MethodNotAllowed { allowed: &'static str },
    /// 409: the SKU is taken; carries the holder's id.
    DuplicateSku { existing_id: Uuid },
    /// 413: the body exceeds the limit.
    PayloadTooLarge { limit: usize },
    /// 415: the body is not JSON.
    UnsupportedMediaType { got: Option<String> },
    /// 422: an Idempotency-Key came back with a different request.
    IdempotencyKeyReused,
    /// 503: the database cannot serve now and nothing was done (`outcome: not_done`); retry
    /// after `Retry-After`. Never used for a create, whose 503s say `not_created` or `unknown`.
    Unavailable,
    /// 503: a create could not finish in time. `may_exist`: whether the product may exist
    /// (the body's `outcome` is `unknown`), or is known not to (`not_created`).
    CreateUnfinished { may_exist: bool },
    /// 500: a bug or a deployment mistake; details are in the log, not the answer.
    Internal,
}

#[derive(Serialize)]
struct ProblemBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid_params: Option<&'a [InvalidParam]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    existing_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
}

impl ApiError {
    pub fn invalid_field(e: ValidationError) -> Self {
        ApiError::Validation(vec![InvalidParam {
            name: e.field.to_owned(),
            reason: e.message,
        }])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused => 422,
            ApiError::MalformedJson(_) | ApiError::InvalidParameter { .. } => 400,
            ApiError::Unauthenticated => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::DuplicateSku { .. } => 409,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType { .. } => 415,
            ApiError::Unavailable | ApiError::CreateUnfinished { .. } => 503,
            ApiError::Internal => 500,
        }
    }

    /// The problem `type`: a stable identifier clients can switch on (documented in openapi.yaml).
    pub fn problem_type(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "/problems/validation-failed",
            ApiError::MalformedJson(_) => "/problems/malformed-json",
            ApiError::InvalidParameter { .. } => "/problems/invalid-parameter",
            ApiError::Unauthenticated => "/problems/unauthenticated",
            ApiError::Forbidden { .. } => "/problems/forbidden",
            ApiError::NotFound(_) => "/problems/not-found",
            ApiError::MethodNotAllowed { .. } => "/problems/method-not-allowed",
            ApiError::DuplicateSku { .. } => "/problems/duplicate-sku",
            ApiError::PayloadTooLarge { .. } => "/problems/payload-too-large",
            ApiError::UnsupportedMediaType { .. } => "/problems/unsupported-media-type",
            ApiError::IdempotencyKeyReused => "/problems/idempotency-key-reused",
            ApiError::Unavailable | ApiError::CreateUnfinished { .. } => {
                "/problems/service-unavailable"
            }
            ApiError::Internal => "/problems/internal-error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "The request body is invalid",
            ApiError::MalformedJson(_) => "The request body is not a JSON object",
            ApiError::InvalidParameter { .. } => "A request parameter is invalid",
            ApiError::Unauthenticated => "Authentication is required",
            ApiError::Forbidden { .. } => "Not allowed to create products",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::DuplicateSku { .. } => "A product with this SKU already exists",
            ApiError::PayloadTooLarge { .. } => "The request body is too large",
            ApiError::UnsupportedMediaType { .. } => "The request body must be JSON",
            ApiError::IdempotencyKeyReused => {
                "The Idempotency-Key was used for a different request"
            }
            ApiError::Unavailable | ApiError::CreateUnfinished { .. } => {
                "The service is temporarily unavailable"
            }
            ApiError::Internal => "Internal error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Validation(params) => params
                .iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect::<Vec<_>>()
                .join("; "),
            ApiError::MalformedJson(why) => why.clone(),
            ApiError::InvalidParameter { name, reason } => format!("{name}: {reason}"),
            ApiError::Unauthenticated => {
                "send a bearer token of the store's identity provider in Authorization".into()
            }
            ApiError::Forbidden { reason } => reason.clone(),
            ApiError::NotFound(what) => what.clone(),
            ApiError::MethodNotAllowed { allowed } => format!("use {allowed}"),
            ApiError::DuplicateSku { existing_id } => {
                format!("the SKU belongs to product {existing_id}")
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("the body must be at most {limit} bytes")
            }
            ApiError::UnsupportedMediaType { got } => match got {
                Some(ct) => format!("Content-Type must be application/json, got {ct:?}"),
                None => "Content-Type must be application/json".into(),
            },
            ApiError::IdempotencyKeyReused => {
                "an earlier request with this Idempotency-Key had a different body; use a new key"
                    .into()
            }
            ApiError::Unavailable => format!(
                "the database is not reachable right now; nothing was done: retry in {RETRY_AFTER_SECS} s"
            ),
            ApiError::CreateUnfinished { may_exist: false } => {
                format!(
                    "the database did not answer in time; nothing was created: retry in {RETRY_AFTER_SECS} s"
                )
            }
            ApiError::CreateUnfinished { may_exist: true } => format!(
                "the database did not answer in time; the product may have been created: retry in {RETRY_AFTER_SECS} s \
                 with the same Idempotency-Key and body, which answers 201 with the one product whether or not this \
                 attempt was applied. A create sent without a key: GET /products?sku= first (a retry without a key \
                 answers 409 naming the product if this attempt created it)"
            ),
            ApiError::Internal => "see the service logs".into(),
        }
    }

    /// The problem body as JSON text.
    pub fn body(&self) -> String {
        let (field, invalid_params) = match self {
            ApiError::Validation(p) => (p.first().map(|p| p.name.as_str()), Some(p.as_slice())),
            ApiError::InvalidParameter { name, .. } => (Some(*name), None),
            ApiError::IdempotencyKeyReused => (Some("Idempotency-Key"), None),
            _ => (None, None),
        };
        let existing_id = match self {
            ApiError::DuplicateSku { existing_id } => Some(*existing_id),
            _ => None,
        };
        // Every 503 says whether retrying is safe as it is (`not_done`, `not_created`) or
        // needs the same Idempotency-Key (`unknown`): a client must not guess from the status.
        let outcome = match self {
            ApiError::CreateUnfinished { may_exist: true } => Some(OUTCOME_UNKNOWN),
            ApiError::CreateUnfinished { may_exist: false } => Some(OUTCOME_NOT_CREATED),
            ApiError::Unavailable => Some(OUTCOME_NOT_DONE),
            _ => None,
        };
        let body = ProblemBody {
            kind: self.problem_type(),
            title: self.title(),
            status: self.status(),
            detail: self.detail(),
            field,
            invalid_params,
            existing_id,
            outcome,
        };
        serde_json::to_string(&body).unwrap_or_else(|_| String::from("{}"))
    }

    pub fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header("content-type", PROBLEM_CONTENT_TYPE);
        match &self {
            ApiError::Unavailable | ApiError::CreateUnfinished { .. } => {
                builder = builder.header("retry-after", RETRY_AFTER_SECS.to_string())
            }
            ApiError::MethodNotAllowed { allowed } => builder = builder.header("allow", *allowed),
            // RFC 6750: what kind of credentials, and for a 403 that a token with more scope
            // would do.
            ApiError::Unauthenticated => builder = builder.header("www-authenticate", "Bearer"),
            ApiError::Forbidden { .. } => {
                builder = builder.header("www-authenticate", "Bearer error=\"insufficient_scope\"")
            }
            _ => {}
        }
        builder
            .body(Body::Text(self.body()))
            .unwrap_or_else(|_| fallback_response())
    }

    /// One value of every variant, for the OpenAPI conformance test.
    pub fn examples() -> Vec<ApiError> {
        vec![
            ApiError::Validation(vec![InvalidParam {
                name: "name".into(),
                reason: "must not be empty".into(),
            }]),
            ApiError::MalformedJson("expected value at line 1 column 1".into()),
            ApiError::InvalidParameter {
                name: "limit",
                reason: "must be an integer from 1 to 500".into(),
            },
            ApiError::Unauthenticated,
            ApiError::Forbidden { reason: "the token lacks the scope products/write".into() },
            ApiError::NotFound(format!("no product has id {}", Uuid::nil())),
            ApiError::MethodNotAllowed { allowed: "GET" },
            ApiError::DuplicateSku {
                existing_id: Uuid::nil(),
            },
            ApiError::PayloadTooLarge { limit: 65536 },
            ApiError::UnsupportedMediaType {
                got: Some("text/plain".into()),
            },
            ApiError::IdempotencyKeyReused,
            ApiError::Unavailable,
            ApiError::CreateUnfinished { may_exist: true },
            ApiError::CreateUnfinished { may_exist: false },
            ApiError::Internal,
        ]
    }
}

/// Only reachable if building a response from constant parts failed: still answer something.
fn fallback_response() -> Response<Body> {
    let mut r = Response::new(Body::Empty);
    *r.status_mut() = lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR;
    r
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(why) => {
                tracing::warn!(error = %why, "database unavailable");
                ApiError::Unavailable
            }
            StoreError::Unfinished { reason, may_exist } => {
                tracing::warn!(error = %reason, may_exist, "create not finished in time");
                ApiError::CreateUnfinished { may_exist }
            }
            StoreError::InvalidCursor(why) => ApiError::InvalidParameter {
                name: "cursor",
                reason: format!("not a cursor this API issued ({why})"),
            },
            StoreError::IdempotencyKeyReused => ApiError::IdempotencyKeyReused,
            StoreError::Internal(why) => {
                tracing::error!(error = %why, "internal store error");
                ApiError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_names_its_type_and_status() {
        for e in ApiError::examples() {
            let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!(v["status"], e.status());
            assert_eq!(v["type"], e.problem_type());
            assert!(v["title"].is_string() && v["detail"].is_string());
            let r = e.clone().into_response();
            assert_eq!(r.status().as_u16(), e.status());
            assert_eq!(r.headers()["content-type"], PROBLEM_CONTENT_TYPE);
            assert_eq!(r.headers().contains_key("retry-after"), e.status() == 503);
            assert_eq!(v["outcome"].is_string(), e.status() == 503, "every 503 says what was done");
        }
    }

    #[test]
    fn an_unknown_outcome_tells_the_client_to_retry_with_the_same_key() {
        let v: serde_json::Value =
            serde_json::from_str(&ApiError::CreateUnfinished { may_exist: true }.body()).unwrap();
        assert_eq!(v["outcome"], OUTCOME_UNKNOWN);
        let detail = v["detail"].as_str().unwrap();
        assert!(detail.contains("same Idempotency-Key"), "{detail}");
        assert!(detail.contains("without a key"), "{detail}");
        let v: serde_json::Value = serde_json::from_str(&ApiError::Unavailable.body()).unwrap();
        assert_eq!(v["outcome"], OUTCOME_NOT_DONE);
    }

    #[test]
    fn validation_names_the_field() {
        let e = ApiError::invalid_field(ValidationError::new("sku", "bad"));
        let v: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["field"], "sku");
        assert_eq!(v["invalid_params"][0]["name"], "sku");
    }

    #[test]
    fn store_errors_map_to_retryable_or_client_errors() {
        assert_eq!(
            ApiError::from(StoreError::Unavailable("x".into())).status(),
            503
        );
        assert_eq!(
            ApiError::from(StoreError::InvalidCursor("x".into())).status(),
            400
        );
        assert_eq!(
            ApiError::from(StoreError::Internal("x".into())).status(),
            500
        );
    }
}
