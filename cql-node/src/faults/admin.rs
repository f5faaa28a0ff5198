//! Fault control from outside the process: a small HTTP+JSON API the binary serves with
//! `--admin 127.0.0.1:PORT`. Bind it to loopback only: it can take the node down on purpose.
//!
//! - `POST   /faults`       body: a `Fault` as JSON → `{"id": N}`
//! - `GET    /faults`       → `[{"id": N, "fault": {...}, "fired": K}, ...]`
//! - `DELETE /faults`       → clears every fault (204)
//! - `DELETE /faults/{id}`  → removes one (204, or 404 when already retired)
//! - `GET    /clock`        → `{"offset_millis": N, "frozen": false, "now_micros": T}`
//! - `POST   /clock`        body: `{"advance_millis": N}` and/or `{"freeze": true|false}` →
//!   the clock as GET shows it (404 when no engine clock is attached to the registry)

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::{Fault, FaultId, FaultRegistry};
use crate::engine::clock::Clock;

#[derive(Serialize)]
struct Injected {
    id: u64,
}

#[derive(Serialize)]
struct Listed {
    id: u64,
    fault: Fault,
    fired: u64,
}

#[derive(Serialize)]
struct ClockState {
    offset_millis: u64,
    frozen: bool,
    now_micros: i64,
}

/// `POST /clock`: both fields optional; freezing (or resuming) happens before advancing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_millis: u64,
    #[serde(default)]
    freeze: Option<bool>,
}

pub fn router(faults: FaultRegistry) -> Router {
    Router::new()
        .route("/faults", get(list).post(inject).delete(clear))
        .route("/faults/{id}", delete(remove))
        .route("/clock", get(clock).post(move_clock))
        .with_state(faults)
}

/// Serves the admin API on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, faults: FaultRegistry) -> std::io::Result<()> {
    axum::serve(listener, router(faults)).await
}

async fn inject(State(faults): State<FaultRegistry>, Json(fault): Json<Fault>) -> Response {
    match faults.try_inject(fault) {
        Ok(FaultId(id)) => (StatusCode::CREATED, Json(Injected { id })).into_response(),
        // Well-formed JSON, but a fault that cannot be (as axum answers other bad faults).
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}

fn clock_state(clock: &Clock) -> Json<ClockState> {
    Json(ClockState { offset_millis: clock.offset().as_millis() as u64, frozen: clock.is_frozen(), now_micros: clock.now_micros() })
}

const NO_CLOCK: &str = "no engine clock is attached to this fault registry";

async fn clock(State(faults): State<FaultRegistry>) -> Response {
    match faults.clock() {
        Some(clock) => clock_state(&clock).into_response(),
        None => (StatusCode::NOT_FOUND, NO_CLOCK).into_response(),
    }
}

async fn move_clock(State(faults): State<FaultRegistry>, Json(change): Json<ClockChange>) -> Response {
    let Some(clock) = faults.clock() else { return (StatusCode::NOT_FOUND, NO_CLOCK).into_response() };
    match change.freeze {
        Some(true) => clock.freeze(),
        Some(false) => clock.resume(),
        None => {}
    }
    clock.advance(Duration::from_millis(change.advance_millis));
    clock_state(&clock).into_response()
}

async fn list(State(faults): State<FaultRegistry>) -> Json<Vec<Listed>> {
    Json(faults.list().into_iter().map(|(FaultId(id), fault, fired)| Listed { id, fault, fired }).collect())
}

async fn clear(State(faults): State<FaultRegistry>) -> StatusCode {
    faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove(State(faults): State<FaultRegistry>, Path(id): Path<u64>) -> StatusCode {
    if faults.remove(FaultId(id)) { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }
}
