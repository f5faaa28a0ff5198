//! The errors a CQL node answers with: one enum, encoded to an ERROR frame in one place
//! (`protocol` owns the encoding). Codes and extra fields follow native_protocol_v4.spec §9.

use crate::types::Consistency;

/// One error as the client will see it. `message` is shown to users by drivers and cqlsh,
/// so it should read like Cassandra's own wording where Cassandra has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct CqlError {
    pub kind: ErrorKind,
    pub message: String,
}

/// Error codes with the extra body fields the spec attaches to them.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    ServerError,                 // 0x0000
    ProtocolError,               // 0x000A
    BadCredentials,              // 0x0100
    Unavailable { consistency: Consistency, required: i32, alive: i32 }, // 0x1000
    Overloaded,                  // 0x1001
    IsBootstrapping,             // 0x1002
    TruncateError,               // 0x1003
    WriteTimeout { consistency: Consistency, received: i32, block_for: i32, write_type: String }, // 0x1100
    ReadTimeout { consistency: Consistency, received: i32, block_for: i32, data_present: bool },  // 0x1200
    ReadFailure { consistency: Consistency, received: i32, block_for: i32, num_failures: i32, data_present: bool }, // 0x1300
    WriteFailure { consistency: Consistency, received: i32, block_for: i32, num_failures: i32, write_type: String }, // 0x1500
    SyntaxError,                 // 0x2000
    Unauthorized,                // 0x2100
    Invalid,                     // 0x2200
    ConfigError,                 // 0x2300
    AlreadyExists { keyspace: String, table: String }, // 0x2400 (table empty for a keyspace)
    Unprepared { id: Vec<u8> },  // 0x2500
}

impl ErrorKind {
    pub fn code(&self) -> i32 {
        match self {
            ErrorKind::ServerError => 0x0000,
            ErrorKind::ProtocolError => 0x000A,
            ErrorKind::BadCredentials => 0x0100,
            ErrorKind::Unavailable { .. } => 0x1000,
            ErrorKind::Overloaded => 0x1001,
            ErrorKind::IsBootstrapping => 0x1002,
            ErrorKind::TruncateError => 0x1003,
            ErrorKind::WriteTimeout { .. } => 0x1100,
            ErrorKind::ReadTimeout { .. } => 0x1200,
            ErrorKind::ReadFailure { .. } => 0x1300,
            ErrorKind::WriteFailure { .. } => 0x1500,
            ErrorKind::SyntaxError => 0x2000,
            ErrorKind::Unauthorized => 0x2100,
            ErrorKind::Invalid => 0x2200,
            ErrorKind::ConfigError => 0x2300,
            ErrorKind::AlreadyExists { .. } => 0x2400,
            ErrorKind::Unprepared { .. } => 0x2500,
        }
    }
}

impl CqlError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::SyntaxError, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ProtocolError, message)
    }
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerError, message)
    }
}

pub type CqlResult<T> = Result<T, CqlError>;
