//! Node control from outside the process, served beside the fault API on `--admin`, so the
//! node-down drill can be run by hand against `make run` with several nodes:
//!
//! - `GET  /nodes`               → `[{"index", "address", "data_center", "rack", "running",
//!   "state": "up"|"unnoticed"|"down"}, ...]` (state: what the other nodes believe)
//! - `POST /nodes/{i}/kill`      → stops node `i` abruptly, as `kill -9` would: unnoticed by
//!   the others for the detection delay
//! - `POST /nodes/{i}/stop`      → stops it cleanly: known down at once
//! - `POST /nodes/{i}/start`     → starts it again, same address, identity and data
//! - `POST /nodes/{i}/convict`   → a killed node is known down now (skips the delay)
//! - `POST /hints/deliver`       → delivers now the hints of every node that is up (writes
//!   it missed while stopped), instead of 10 s after it came back → `{"delivered": n}`
//!
//! Each POST on a node answers the node as `GET /nodes` shows it (with `hints`: the hints
//! waiting for it); an unknown index is a 404.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::cluster::NodeControl;

pub fn router(control: NodeControl) -> Router {
    Router::new()
        .route("/nodes", get(list))
        .route("/nodes/{index}/kill", post(kill))
        .route("/nodes/{index}/stop", post(stop))
        .route("/nodes/{index}/start", post(start))
        .route("/nodes/{index}/convict", post(convict))
        .route("/hints/deliver", post(deliver_hints))
        .with_state(control)
}

async fn list(State(control): State<NodeControl>) -> Response {
    Json((0..control.len()).map(|i| control.status(i)).collect::<Vec<_>>()).into_response()
}

fn unknown(control: &NodeControl, index: usize) -> Option<Response> {
    (index >= control.len()).then(|| (StatusCode::NOT_FOUND, format!("no node {index}: there are {}", control.len())).into_response())
}

async fn kill(State(control): State<NodeControl>, Path(index): Path<usize>) -> Response {
    if let Some(r) = unknown(&control, index) {
        return r;
    }
    control.stop(index, false).await;
    Json(control.status(index)).into_response()
}

async fn stop(State(control): State<NodeControl>, Path(index): Path<usize>) -> Response {
    if let Some(r) = unknown(&control, index) {
        return r;
    }
    control.stop(index, true).await;
    Json(control.status(index)).into_response()
}

async fn start(State(control): State<NodeControl>, Path(index): Path<usize>) -> Response {
    if let Some(r) = unknown(&control, index) {
        return r;
    }
    match control.start(index).await {
        Ok(()) => Json(control.status(index)).into_response(),
        Err(e) => (StatusCode::CONFLICT, e.to_string()).into_response(),
    }
}

async fn convict(State(control): State<NodeControl>, Path(index): Path<usize>) -> Response {
    if let Some(r) = unknown(&control, index) {
        return r;
    }
    control.convict(index);
    Json(control.status(index)).into_response()
}

async fn deliver_hints(State(control): State<NodeControl>) -> Response {
    Json(serde_json::json!({ "delivered": control.deliver_hints() })).into_response()
}
