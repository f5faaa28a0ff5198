//! The HTTP boundary shared by both functions: one error type mapped to status codes and RFC
//! 9457 `application/problem+json` bodies in one place, strict JSON body reading, JSON
//! responses, and the one-line-per-request log.

pub mod body;
pub mod identity;
pub mod logging;
pub mod problem;
pub mod response;
pub mod startup;
pub mod telemetry;

pub use problem::ApiError;

/// Re-exported so function crates and tests build requests the way Lambda hands them over.
pub use lambda_http;
