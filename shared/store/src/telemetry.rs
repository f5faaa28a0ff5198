//! The metric names both backends share (Prometheus locally, CloudWatch EMF in Lambda; the
//! `metrics` facade feeds either), and what the DAO itself counts: database errors by kind
//! and connect time. Dashboards, alarms and the CI check name these; change them together.

use std::time::Duration;

use scylla::errors::{DbError, ExecutionError, RequestAttemptError};

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const DB_ERRORS: &str = "db_errors_total";
pub const SKU_CONFLICTS: &str = "sku_conflicts_total";
pub const IDEMPOTENT_REPLAYS: &str = "idempotent_replays_total";
pub const COLD_STARTS: &str = "cold_starts_total";
pub const INIT_DURATION: &str = "init_duration_seconds";
pub const CONNECT_DURATION: &str = "db_connect_duration_seconds";

/// What an operator does about a database error: unavailable (replicas or connections
/// missing), timeout, overloaded (the cluster or Keyspaces asks to slow down), other.
pub fn error_kind(e: &ExecutionError) -> &'static str {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => match db {
            DbError::Unavailable { .. } | DbError::IsBootstrapping => "unavailable",
            DbError::ReadTimeout { .. } | DbError::WriteTimeout { .. } => "timeout",
            DbError::Overloaded | DbError::RateLimitReached { .. } => "overloaded",
            _ => "other",
        },
        ExecutionError::RequestTimeout(_) => "timeout",
        ExecutionError::ConnectionPoolError(_) | ExecutionError::EmptyPlan => "unavailable",
        ExecutionError::LastAttemptError(RequestAttemptError::BrokenConnectionError(_)) => "unavailable",
        _ => "other",
    }
}

pub fn db_error(kind: &'static str) {
    metrics::counter!(DB_ERRORS, "kind" => kind).increment(1);
}

pub(crate) fn connected_in(took: Duration) {
    metrics::histogram!(CONNECT_DURATION).record(took.as_secs_f64());
}
