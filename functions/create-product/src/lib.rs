//! `POST /products`: validates the body, creates the product with a unique SKU, and honours
//! `Idempotency-Key`. A library so that tests run the very handler Lambda runs, in-process.

mod request;

use http_api::body;
use http_api::lambda_http::{Body, Request, Response};
use http_api::response::{json, json_text};
use http_api::{ApiError, logging};
use store::{CreateOutcome, Db, IdempotencyKey};

pub use request::parse_new_product;

/// The whole request/response cycle, logged as one line.
pub async fn handler(db: &Db, req: Request) -> Response<Body> {
    logging::log_request(req, |req| async move {
        match create(db, req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    })
    .await
}

async fn create(db: &Db, req: Request) -> Result<Response<Body>, ApiError> {
    if req.method() != "POST" {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    let key = idempotency_key(&req)?;
    let fields = body::json_object(&req)?;
    let product = parse_new_product(&fields)?;
    match db.create_product(&product, key.as_ref()).await? {
        CreateOutcome::Created(created) => {
            // No Location header: the API has no route for one product (yet).
            let response = json(201, &created)?;
            if let Some(key) = &key {
                remember(db, key, 201, &created_body(&response)).await;
            }
            Ok(response)
        }
        CreateOutcome::DuplicateSku { existing_id } => {
            let problem = ApiError::DuplicateSku { existing_id };
            if let Some(key) = &key {
                remember(db, key, problem.status(), &problem.body()).await;
            }
            Err(problem)
        }
        CreateOutcome::Replayed { status, body } => {
            let mut response = json_text(status, body)?;
            response.headers_mut().insert("idempotent-replayed", http_api::lambda_http::http::HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get(IdempotencyKey::HEADER) else {
        return Ok(None);
    };
    let invalid = |reason: String| ApiError::InvalidParameter { name: "Idempotency-Key", reason };
    let text = value.to_str().map_err(|_| invalid("must be visible ASCII".into()))?;
    IdempotencyKey::parse(text).map(Some).map_err(|e| invalid(e.message))
}

fn created_body(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        _ => String::new(),
    }
}

/// Failing to store the answer is not failing the request: a retry then resumes under the
/// same product id and converges on the same answer.
async fn remember(db: &Db, key: &IdempotencyKey, status: u16, body: &str) {
    if let Err(e) = db.record_response(key, status, body).await {
        tracing::warn!(error = %e, "could not store the idempotent answer; a retry will recompute it");
    }
}
