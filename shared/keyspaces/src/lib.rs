//! Amazon Keyspaces for the scylla driver 1.x: SigV4 authentication with credentials from the
//! Lambda environment (or any provider the caller holds), rustls (ring)
//! verifying `cassandra.<region>.amazonaws.com`, and session settings Keyspaces accepts (port 9142, LOCAL_QUORUM writes, no QUORUM anywhere, no schema
//! metadata, Lambda-friendly keepalive).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = keyspaces::KeyspacesConfig::from_env()?;
//! let credentials = std::sync::Arc::new(keyspaces::CredentialSource::LambdaEnvironment.open(cfg.connect_timeout));
//! let builder = keyspaces::configure_with_credentials(scylla::client::session_builder::SessionBuilder::new(), &cfg, credentials).await?;
//! let session = builder.build().await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod config;
pub mod credentials;
pub mod environment;
pub mod error;
pub mod session;
pub mod sigv4;
pub mod tls;

pub use config::{KEYSPACES_PORT, KeyspacesConfig, PooledHosts, ReadConsistency};
pub use credentials::{CredentialSource, RefreshingCredentials};
pub use error::KeyspacesError;
pub use environment::EnvironmentCredentials;
pub use session::configure_with_credentials;
