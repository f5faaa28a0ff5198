//! Logs: JSON lines in Lambda (so CloudWatch Logs Insights can query the fields), readable
//! text locally; and exactly one line per request with its request id, method, path, status
//! and latency. Request bodies and headers are never logged (they may carry anything).

use std::future::Future;
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are ignored (tests call it repeatedly).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    let _ = if in_lambda {
        // Lambda adds its own timestamp; JSON with the current span's fields flattened in.
        builder.json().flatten_event(true).without_time().try_init()
    } else {
        builder.compact().try_init()
    };
}

/// Runs `handle` and logs one line for the request.
pub async fn log_request<F, Fut>(req: Request, handle: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let request_id = req.lambda_context_ref().map(|c| c.request_id.clone()).unwrap_or_default();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let response = handle(req).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(request_id, method, path, status, latency_ms, "request");
    } else {
        tracing::info!(request_id, method, path, status, latency_ms, "request");
    }
    response
}
