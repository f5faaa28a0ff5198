//! `POST /products`: checks the caller may write, validates the body, creates the product
//! with a unique SKU and its creator, and honours `Idempotency-Key` (scoped to the caller).
//! A library so that tests run the very handler Lambda runs, in-process.

mod request;

use std::time::{Duration, SystemTime};

use http_api::body;
use http_api::lambda_http::http::HeaderValue;
use http_api::lambda_http::{Body, Request, RequestExt, Response};
use http_api::response::{json, json_text};
use http_api::identity::WritePolicy;
use http_api::{ApiError, logging};
use page_cache::PageCache;
use store::{CreateOutcome, Db, IdempotencyKey};
use tokio::time::Instant;

pub use request::parse_new_product;

/// The whole request/response cycle, logged as one line. `writers` says who may create.
pub async fn handler(db: &Db, writers: &WritePolicy, req: Request) -> Response<Body> {
    handler_with_cache(db, writers, None, req).await
}

/// `handler`, invalidating the list pages `cache` holds (`STORE_CACHE_URL`) before it answers.
pub async fn handler_with_cache(db: &Db, writers: &WritePolicy, cache: Option<&PageCache>, req: Request) -> Response<Body> {
    logging::log_request(req, |req| async move {
        match create(db, writers, cache, req).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        }
    })
    .await
}

async fn create(db: &Db, writers: &WritePolicy, cache: Option<&PageCache>, req: Request) -> Result<Response<Body>, ApiError> {
    if req.method() != "POST" {
        return Err(ApiError::MethodNotAllowed { allowed: "POST" });
    }
    // Before the body is read: a caller who may not write learns nothing about it.
    let caller = writers.writer(&req)?;
    let key = idempotency_key(&req)?.map(|k| k.scoped_to(&caller.subject));
    let fields = body::json_object(&req)?;
    let product = parse_new_product(&fields, caller.subject)?;
    let deadline = deadline(db, &req);
    let outcome = db.create_product(&product, key.as_ref(), deadline, &render).await;
    // Whatever the answer (a 409 or a 503 may still have written rows, finishing an earlier
    // create), no page cached before it is served after it.
    if let Some(cache) = cache {
        cache.bump().await;
    }
    match outcome? {
        CreateOutcome::Created(created) => {
            let mut response = json(201, &created)?;
            set_location(&mut response, &created.id.to_string());
            Ok(response)
        }
        CreateOutcome::DuplicateSku { existing_id } => {
            metrics::counter!(store::telemetry::SKU_CONFLICTS).increment(1);
            Err(ApiError::DuplicateSku { existing_id })
        }
        CreateOutcome::Replayed { status, body } => {
            metrics::counter!(store::telemetry::IDEMPOTENT_REPLAYS).increment(1);
            // A replayed 201 is the first answer again, its Location included; the stored
            // bytes are the product, so its id is read back from them.
            let id = (status == 201)
                .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
                .flatten()
                .and_then(|product| product["id"].as_str().map(str::to_owned));
            let mut response = json_text(status, body)?;
            if let Some(id) = id {
                set_location(&mut response, &id);
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
    }
}

/// `Location: /products/{id}`, where `GET` reads the product just created.
fn set_location(response: &mut Response<Body>, id: &str) {
    if let Ok(location) = HeaderValue::from_str(&format!("/products/{id}")) {
        response.headers_mut().insert("location", location);
    }
}

/// The status and body a final answer has on the wire, as stored under an Idempotency-Key
/// (a replay answers exactly these bytes).
fn render(outcome: &CreateOutcome) -> (u16, String) {
    match outcome {
        CreateOutcome::Created(created) => {
            (201, serde_json::to_string(created).unwrap_or_default())
        }
        CreateOutcome::DuplicateSku { existing_id } => {
            let problem = ApiError::DuplicateSku {
                existing_id: *existing_id,
            };
            (problem.status(), problem.body())
        }
        CreateOutcome::Replayed { status, body } => (*status, body.clone()),
    }
}

/// When the create must have answered: the configured budget, and in Lambda never later
/// than the invocation's own deadline less a margin to send the answer (past it, API
/// Gateway answers a bare 503 and the outcome is lost to the client).
fn deadline(db: &Db, req: &Request) -> Instant {
    let mut budget = db.config().create_deadline;
    // A deadline already past is not Lambda's (an invocation always starts with time left)
    // but an emulator's placeholder (`cargo lambda watch` sends 600000, i.e. 1970): keep the
    // configured budget then.
    let lambda_left = req
        .lambda_context_ref()
        .and_then(|c| c.deadline().duration_since(SystemTime::now()).ok());
    if let Some(left) = lambda_left {
        budget = budget.min(left.saturating_sub(ANSWER_MARGIN));
    }
    Instant::now() + budget
}

/// Kept from the Lambda deadline to write the answer and the log line.
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get(IdempotencyKey::HEADER) else {
        return Ok(None);
    };
    let invalid = |reason: String| ApiError::InvalidParameter {
        name: "Idempotency-Key",
        reason,
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("must be visible ASCII".into()))?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|e| invalid(e.message))
}
