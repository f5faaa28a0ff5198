//! What the cache counts, on the same `metrics` facade as the rest (Prometheus locally,
//! CloudWatch EMF in Lambda).

/// Lookups by `result`: hit, miss, error (Redis did not answer in time, or refused).
pub const LOOKUPS: &str = "cache_lookups_total";
/// Failed Redis calls by `op` (read, store, bump) and `kind` (timeout, connection, full,
/// other).
pub const ERRORS: &str = "cache_errors_total";

pub(crate) fn lookup(result: &'static str) {
    metrics::counter!(LOOKUPS, "result" => result).increment(1);
}

pub(crate) fn error(op: &'static str, kind: &'static str) {
    metrics::counter!(ERRORS, "op" => op, "kind" => kind).increment(1);
}
