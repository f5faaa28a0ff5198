//! Fault control from outside the process: a small HTTP+JSON API the binary serves with
//! `--admin 127.0.0.1:PORT`. Bind it to loopback only: it can take the node down on purpose.
//!
//! - `POST   /faults`       body: a `Fault` as JSON → `{"id": N}`
//! - `GET    /faults`       → `[{"id": N, "fault": {...}, "fired": K}, ...]`
//! - `DELETE /faults`       → clears every fault (204)
//! - `DELETE /faults/{id}`  → removes one (204, or 404 when already retired)

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Serialize;

use super::{Fault, FaultId, FaultRegistry};

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

pub fn router(faults: FaultRegistry) -> Router {
    Router::new()
        .route("/faults", get(list).post(inject).delete(clear))
        .route("/faults/{id}", delete(remove))
        .with_state(faults)
}

/// Serves the admin API on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, faults: FaultRegistry) -> std::io::Result<()> {
    axum::serve(listener, router(faults)).await
}

async fn inject(State(faults): State<FaultRegistry>, Json(fault): Json<Fault>) -> (StatusCode, Json<Injected>) {
    let FaultId(id) = faults.inject(fault);
    (StatusCode::CREATED, Json(Injected { id }))
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
