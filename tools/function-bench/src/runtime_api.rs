//! A stand-in of the Lambda Runtime API, the documented endpoints a custom runtime polls:
//! `GET /2018-06-01/runtime/invocation/next` (long-polls until there is an event), and
//! `POST .../invocation/{id}/response`, `.../{id}/error`, `.../runtime/init/error`.
//! The bench drives it: it learns the moment a `next` arrives (the process is then idle,
//! so that is where its CPU is read), hands out the event, and gets the response back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Mutex, mpsc, oneshot};

/// One event to hand to the function.
pub struct Invocation {
    pub request_id: String,
    pub deadline_ms: u64,
    pub body: Vec<u8>,
}

/// The function asked for its next event; answer through `reply`.
pub struct NextArrived {
    pub at: Instant,
    pub reply: oneshot::Sender<Invocation>,
}

/// What the function posted back.
pub enum Outcome {
    Response { request_id: String, body: Bytes, at: Instant },
    Error { request_id: Option<String>, body: Bytes },
}

#[derive(Clone)]
struct Shared {
    next: mpsc::Sender<NextArrived>,
    outcomes: mpsc::Sender<Outcome>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    pub next: Mutex<mpsc::Receiver<NextArrived>>,
    pub outcomes: Mutex<mpsc::Receiver<Outcome>>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> std::io::Result<Arc<RuntimeApi>> {
        let (next_tx, next_rx) = mpsc::channel(4);
        let (out_tx, out_rx) = mpsc::channel(4);
        let shared = Shared { next: next_tx, outcomes: out_tx };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Arc::new(RuntimeApi { addr, next: Mutex::new(next_rx), outcomes: Mutex::new(out_rx), task }))
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn next(State(shared): State<Shared>) -> Response {
    let (reply, event) = oneshot::channel();
    if shared.next.send(NextArrived { at: Instant::now(), reply }).await.is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    // The bench drops `reply` when it is done with this process, which is then killed.
    let Ok(invocation) = event.await else { return StatusCode::SERVICE_UNAVAILABLE.into_response() };
    let mut headers = HeaderMap::new();
    let header = |v: &str| HeaderValue::from_str(v).expect("a valid header value");
    headers.insert("lambda-runtime-aws-request-id", header(&invocation.request_id));
    headers.insert("lambda-runtime-deadline-ms", header(&invocation.deadline_ms.to_string()));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        header("arn:aws:lambda:eu-west-3:123456789012:function:function-bench"),
    );
    headers.insert("lambda-runtime-trace-id", header("Root=1-00000000-000000000000000000000000;Sampled=0"));
    headers.insert("content-type", header("application/json"));
    (StatusCode::OK, headers, invocation.body).into_response()
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let at = Instant::now();
    let _ = shared.outcomes.send(Outcome::Response { request_id: id, body, at }).await;
    StatusCode::ACCEPTED
}

async fn invocation_error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let _ = shared.outcomes.send(Outcome::Error { request_id: Some(id), body }).await;
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    let _ = shared.outcomes.send(Outcome::Error { request_id: None, body }).await;
    StatusCode::ACCEPTED
}
