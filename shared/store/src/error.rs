//! What can go wrong below the HTTP layer, classified by what the caller should do: retry
//! later (503), fix the request (400/422), or nothing (500: a bug or a deployment mistake).

use scylla::errors::{DbError, ExecutionError, NewSessionError, PrepareError, RequestAttemptError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot serve now (down, unreachable, timed out, overloaded). Retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A create could not finish within its deadline. `may_exist`: whether the product may
    /// exist (now or later); false only when it is known not to.
    #[error("create not finished (the product {}): {reason}", if *.may_exist { "may exist" } else { "was not created" })]
    Unfinished { reason: String, may_exist: bool },
    /// The cursor was not one we issued, or the database refused its paging state.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    /// An Idempotency-Key was reused with a different request body.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// Not the client's fault and not transient (e.g. the schema was never applied).
    #[error("internal store error: {0}")]
    Internal(String),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Unfinished { .. }
        )
    }
}

/// DB errors that mean "try again later" rather than "this statement is wrong".
fn db_error_is_transient(e: &DbError) -> bool {
    matches!(
        e,
        DbError::Unavailable { .. }
            | DbError::Overloaded
            | DbError::IsBootstrapping
            | DbError::ReadTimeout { .. }
            | DbError::WriteTimeout { .. }
            | DbError::ReadFailure { .. }
            | DbError::WriteFailure { .. }
            | DbError::TruncateError
            | DbError::ServerError
            | DbError::RateLimitReached { .. }
    )
}

/// Whether a failed write might still be applied. Only answers meaning the coordinator
/// refused before doing anything, or that no connection carried it, are "no"; timeouts (even
/// of a batch log or a Paxos round: a replica may have it and it may be replayed or
/// completed later) are "maybe".
pub(crate) fn may_have_applied(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => !matches!(
            db,
            DbError::Unavailable { .. }
                | DbError::Overloaded
                | DbError::IsBootstrapping
                | DbError::RateLimitReached { .. }
                | DbError::Invalid
                | DbError::SyntaxError
                | DbError::Unauthorized
                | DbError::ConfigError
        ),
        ExecutionError::ConnectionPoolError(_)
        | ExecutionError::EmptyPlan
        | ExecutionError::BadQuery(_) => false,
        _ => true,
    }
}

/// True when no connection could carry the request: worth one more try once the driver's
/// pool has reconnected (e.g. after a frozen Lambda's connections were dropped).
pub(crate) fn is_connection_error(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::ConnectionPoolError(_) | ExecutionError::EmptyPlan => true,
        ExecutionError::LastAttemptError(a) => {
            matches!(
                a,
                RequestAttemptError::BrokenConnectionError(_)
                    | RequestAttemptError::UnableToAllocStreamId
            )
        }
        ExecutionError::PrepareError(PrepareError::ConnectionPoolError(_)) => true,
        _ => false,
    }
}

/// Whether `e` means "try again later" rather than "this statement or the schema is wrong".
pub(crate) fn is_transient(e: &ExecutionError) -> bool {
    match e {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, _)) => {
            db_error_is_transient(db)
        }
        ExecutionError::LastAttemptError(_)
        | ExecutionError::ConnectionPoolError(_)
        | ExecutionError::EmptyPlan
        | ExecutionError::RequestTimeout(_)
        | ExecutionError::MetadataError(_)
        | ExecutionError::SchemaAgreementError(_) => true,
        ExecutionError::PrepareError(p) => prepare_error_is_transient(p),
        _ => false,
    }
}

impl From<ExecutionError> for StoreError {
    fn from(e: ExecutionError) -> Self {
        crate::telemetry::db_error(crate::telemetry::error_kind(&e));
        if is_transient(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Internal(e.to_string())
        }
    }
}

fn prepare_error_is_transient(e: &PrepareError) -> bool {
    match e {
        PrepareError::ConnectionPoolError(_) => true,
        PrepareError::AllAttemptsFailed { first_attempt } => match first_attempt {
            RequestAttemptError::DbError(db, _) => db_error_is_transient(db),
            _ => true,
        },
        _ => false,
    }
}

impl From<PrepareError> for StoreError {
    fn from(e: PrepareError) -> Self {
        if prepare_error_is_transient(&e) {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Internal(e.to_string())
        }
    }
}

impl From<NewSessionError> for StoreError {
    fn from(e: NewSessionError) -> Self {
        match e {
            NewSessionError::EmptyKnownNodesList | NewSessionError::IllegalConfig(_) => {
                StoreError::Internal(e.to_string())
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}
