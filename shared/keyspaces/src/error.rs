//! Everything that can stop a Keyspaces session from being configured. Messages name the
//! setting to fix; none of them ever carries a secret.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KeyspacesError {
    #[error("no AWS region: set AWS_REGION (Lambda sets it) or KEYSPACES_REGION")]
    MissingRegion,
    #[error("invalid {variable}={value:?}: {reason}")]
    InvalidSetting { variable: &'static str, value: String, reason: String },
    #[error("cannot read the extra CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("no AWS credentials: {0}")]
    Credentials(String),
}
