//! Logs: JSON lines in Lambda (so CloudWatch Logs Insights can query the fields), readable
//! text locally; and exactly one line per request with its request id, caller, method, path,
//! status and latency (also counted, see `telemetry`). Request bodies and headers are never logged (they may carry anything,
//! tokens included): the caller is the verified token's subject, from the authorizer's claims.

use std::future::Future;
use std::time::Instant;

use lambda_http::{Body, Request, RequestExt, Response};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber once; later calls are ignored (tests call it repeatedly).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    if in_lambda {
        let _ = lambda_subscriber(filter, std::io::stdout).try_init();
    } else {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).compact().try_init();
    }
}

/// The Lambda format: Lambda adds its own timestamp; JSON with the event's fields at the top
/// level and the current span (the runtime's, with the request id) once: the span list would
/// repeat it in every line, a third of each request line's bytes (issue 11).
fn lambda_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .json()
        .flatten_event(true)
        .with_span_list(false)
        .without_time()
        .with_writer(writer)
        .finish()
}

/// Runs `handle` and logs one line for the request.
pub async fn log_request<F, Fut>(req: Request, handle: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let started = Instant::now();
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let caller = crate::identity::subject(&req).unwrap_or("-").to_owned();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let response = handle(req).await;
    let status = response.status().as_u16();
    let took = started.elapsed();
    crate::telemetry::request_answered(crate::telemetry::route_of(&method, &path), status, took);
    let latency_ms = took.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(request_id, caller, method, path, status, latency_ms, "request");
    } else {
        tracing::info!(request_id, caller, method, path, status, latency_ms, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use lambda_http::{Context, http};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_json_line_per_request_with_id_status_and_latency_but_no_body() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = lambda_subscriber(EnvFilter::new("info"), move || writer.clone());
        let mut context = Context::default();
        context.request_id = "req-123".into();
        let req = http::Request::builder()
            .method("POST")
            .uri("/products")
            .header("authorization", "Bearer top-secret")
            .body(Body::Text(r#"{"password":"hunter2"}"#.into()))
            .unwrap()
            .with_lambda_context(context)
            .with_request_context(crate::identity::authorized_context("POST", &[("sub", "emp-42")], None));
        tracing::subscriber::with_default(subscriber, || {
            // What lambda_runtime wraps every invocation in.
            let _invocation = tracing::info_span!("Lambda runtime invoke", requestId = "req-123").entered();
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(log_request(req, |_req| async {
                Response::builder().status(201).body(Body::Empty).unwrap()
            }));
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["request_id"], "req-123");
        assert_eq!(line["caller"], "emp-42");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["path"], "/products");
        assert_eq!(line["status"], 201);
        assert!(line["latency_ms"].is_number());
        assert_eq!(line["span"]["requestId"], "req-123", "{text}");
        assert!(line.get("spans").is_none(), "the span list repeats the span: {text}");
        assert!(!text.contains("hunter2") && !text.contains("top-secret"));
    }
}
