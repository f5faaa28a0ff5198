//! The Keyspaces profile: the node behaves toward a client as Amazon Keyspaces does — TLS only
//! with a `cassandra.<region>.amazonaws.com` certificate, SigV4 (or service-specific
//! credentials) authentication, Keyspaces's consistency rules and unsupported statements,
//! Keyspaces-shaped system tables, and asynchronous DDL (CREATING before ACTIVE).
//! Each concern has its own module; `KeyspacesProfile` ties them together for the server.
//! See FAULTS_AND_PROFILES.md beside this crate.

pub mod cli;
pub mod ddl;
pub mod mcs_tables;
pub mod rules;
pub mod sasl;
pub mod sigv4;
pub mod tls;
pub mod topology;

use std::time::Duration;

use crate::engine::StatementKind;
use crate::error::CqlResult;
use crate::types::Consistency;

pub use ddl::{DdlTracker, ResourceStatus};
pub use sasl::{KeyspacesAuthConfig, KeyspacesAuthenticator, KEYSPACES_AUTHENTICATOR};
pub use sigv4::AwsCredential;
pub use tls::KeyspacesTls;

/// Keyspaces's TLS port.
pub const KEYSPACES_PORT: u16 = 9142;
/// How long a new keyspace/table stays CREATING unless configured otherwise (Keyspaces
/// usually takes seconds; tests set their own, often zero or a few hundred milliseconds).
pub const DEFAULT_CREATING_FOR: Duration = Duration::from_secs(2);

/// Everything the profile needs at start.
#[derive(Debug, Clone)]
pub struct KeyspacesConfig {
    pub region: String,
    pub auth: KeyspacesAuthConfig,
    pub creating_for: Duration,
}

impl KeyspacesConfig {
    pub fn new(region: impl Into<String>) -> Self {
        let region = region.into();
        Self { auth: KeyspacesAuthConfig::new(region.clone()), region, creating_for: DEFAULT_CREATING_FOR }
    }
    pub fn aws_credential(mut self, credential: AwsCredential) -> Self {
        self.auth = self.auth.aws_credential(credential);
        self
    }
    pub fn service_credential(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = self.auth.service_credential(username, password);
        self
    }
    pub fn creating_for(mut self, d: Duration) -> Self {
        self.creating_for = d;
        self
    }
}

/// The profile's running state, shared by every node that serves it.
#[derive(Clone)]
pub struct KeyspacesProfile {
    pub config: KeyspacesConfig,
    pub tls: KeyspacesTls,
    pub ddl: DdlTracker,
}

impl KeyspacesProfile {
    /// Generates the CA and endpoint certificate; nothing is listening yet.
    pub fn new(config: KeyspacesConfig) -> Result<Self, tls::TlsSetupError> {
        let tls = KeyspacesTls::generate(&config.region)?;
        let ddl = DdlTracker::new(config.creating_for);
        Ok(Self { config, tls, ddl })
    }

    pub fn authenticator(&self) -> KeyspacesAuthenticator {
        KeyspacesAuthenticator::new(self.config.auth.clone())
    }

    /// Every rule Keyspaces applies before running a statement, in the order it applies them.
    /// `consistency` is `None` for PREPARE, which Keyspaces checks only at execution.
    pub fn check_request(&self, kind: StatementKind, query: &str, consistency: Option<Consistency>, keyspace: Option<&str>) -> CqlResult<()> {
        rules::check_supported(query)?;
        if let Some(consistency) = consistency {
            rules::check_consistency(kind, consistency)?;
        }
        self.ddl.check_statement(query, keyspace)
    }
}
