//! The database handle a function keeps for its whole container. The session is built lazily
//! and rebuilt after a failure, with a bounded connect timeout: a cold start while the cluster
//! is unreachable must neither crash the function (Lambda would restart it in a loop) nor hang;
//! requests get `StoreError::Unavailable` (503) until the cluster answers, then succeed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::ExecutionError;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::retry::DefaultRetryPolicy;
use tokio::sync::{Mutex, RwLock};

use crate::config::Config;
use crate::dao::newest_layout::IndexedPartitions;
use crate::error::{StoreError, is_connection_error};
use crate::statements::Statements;

/// Lets another crate adjust the session before each build (e.g. TLS and SigV4 for Amazon
/// Keyspaces: `shared/keyspaces`'s `configure`). Async and fallible because fetching
/// credentials is; an error counts as "cluster unavailable" (503), like a failed connect.
pub type SessionHook = Arc<
    dyn Fn(SessionBuilder) -> Pin<Box<dyn Future<Output = Result<SessionBuilder, String>> + Send>>
        + Send
        + Sync,
>;

pub(crate) struct Connected {
    pub session: Session,
    pub statements: Statements,
}

pub struct Db {
    config: Config,
    hook: Option<SessionHook>,
    connected: RwLock<Option<Arc<Connected>>>,
    /// Serialises connection attempts so a burst of requests makes one, not one each; holds
    /// when the last attempt failed, so requests that waited for it fail fast instead of
    /// queueing one full connect timeout each.
    connecting: Mutex<Option<tokio::time::Instant>>,
    /// Newest-first index rows already written by this process.
    newest_indexed: IndexedPartitions,
}

/// The builder with our settings: default consistency from the configuration (LOCAL_QUORUM
/// unless told otherwise), LOCAL_SERIAL for lightweight transactions, a bounded request
/// timeout, the driver's default retry policy (which only retries idempotent statements), its
/// default reconnection, and `STORE_ADDRESS_TRANSLATION` if set.
pub fn session_builder(config: &Config) -> SessionBuilder {
    let mut lb = DefaultPolicy::builder().token_aware(true);
    if let Some(dc) = &config.local_dc {
        lb = lb.prefer_datacenter(dc.clone()).permit_dc_failover(false);
    }
    let profile = ExecutionProfile::builder()
        .consistency(config.consistency)
        .serial_consistency(Some(config.serial_consistency))
        .request_timeout(Some(config.request_timeout))
        .retry_policy(Arc::new(DefaultRetryPolicy::new()))
        .load_balancing_policy(lb.build())
        .build();
    let mut builder = SessionBuilder::new()
        .known_nodes(config.known_nodes())
        .connection_timeout(config.connect_timeout)
        .metadata_request_serverside_timeout(config.connect_timeout)
        .default_execution_profile_handle(profile.into_handle());
    if let Some(c) = &config.credentials {
        builder = builder.user(c.username.clone(), c.password.expose());
    }
    if let Some(translation) = &config.address_translation {
        builder = builder.address_translator(translation.translator());
    }
    builder
}

impl Db {
    pub fn new(config: Config) -> Self {
        Self::with_session_hook(config, None)
    }

    pub fn with_session_hook(config: Config, hook: Option<SessionHook>) -> Self {
        Db {
            config,
            hook,
            connected: RwLock::new(None),
            connecting: Mutex::new(None),
            newest_indexed: IndexedPartitions::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn keyspace(&self) -> &str {
        &self.config.keyspace
    }

    pub(crate) fn newest_indexed(&self) -> &IndexedPartitions {
        &self.newest_indexed
    }

    /// Connects now if not yet connected; for warming up at init (errors are not fatal there).
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.connected().await.map(|_| ())
    }

    pub(crate) async fn connected(&self) -> Result<Arc<Connected>, StoreError> {
        if let Some(c) = self.connected.read().await.as_ref() {
            return Ok(c.clone());
        }
        let arrived = tokio::time::Instant::now();
        let mut last_failure = self.connecting.lock().await;
        if let Some(c) = self.connected.read().await.as_ref() {
            return Ok(c.clone());
        }
        if last_failure.is_some_and(|failed_at| failed_at >= arrived) {
            return Err(StoreError::Unavailable(
                "the cluster was unreachable a moment ago".into(),
            ));
        }
        match self.connect().await {
            Ok(c) => {
                let connected = Arc::new(c);
                *self.connected.write().await = Some(connected.clone());
                *last_failure = None;
                Ok(connected)
            }
            Err(e) => {
                *last_failure = Some(tokio::time::Instant::now());
                Err(e)
            }
        }
    }

    async fn connect(&self) -> Result<Connected, StoreError> {
        // The hook (credentials for Keyspaces: network calls) and session building (TCP
        // connects, the handshake, metadata reads) are bounded together, not just each TCP
        // connect.
        let budget = self.config.connect_timeout * 2;
        let attempt = async {
            let mut builder = session_builder(&self.config);
            if let Some(hook) = &self.hook {
                builder = hook(builder).await.map_err(StoreError::Unavailable)?;
            }
            let session = builder.build().await?;
            let statements = Statements::prepare(&session, &self.config).await?;
            Ok::<_, StoreError>(Connected {
                session,
                statements,
            })
        };
        let started = std::time::Instant::now();
        match tokio::time::timeout(budget, attempt).await {
            Ok(Ok(c)) => {
                crate::telemetry::connected_in(started.elapsed());
                tracing::info!(nodes = ?self.config.known_nodes(), "connected to the cluster");
                Ok(c)
            }
            Ok(Err(e)) => {
                crate::telemetry::db_error("unavailable");
                tracing::warn!(error = %e, "could not connect to the cluster");
                Err(e)
            }
            Err(_) => {
                crate::telemetry::db_error("timeout");
                tracing::warn!(?budget, "timed out connecting to the cluster");
                Err(StoreError::Unavailable(format!(
                    "no connection to the cluster within {budget:?}"
                )))
            }
        }
    }

    /// Runs `op` on the session; when no connection could carry it (every connection was
    /// dropped, e.g. while a Lambda was frozen), waits for the driver's pool to reconnect
    /// and tries again, within the connect timeout. The driver's own error (timeouts,
    /// unavailable...) is handed back as it is, for callers that must tell "never ran" from
    /// "may have run"; the outer error is "could not connect at all".
    pub(crate) async fn run_raw<T, F, Fut>(
        &self,
        op: F,
    ) -> Result<Result<T, ExecutionError>, StoreError>
    where
        F: Fn(Arc<Connected>) -> Fut,
        Fut: Future<Output = Result<T, ExecutionError>>,
    {
        let connected = self.connected().await?;
        let deadline = tokio::time::Instant::now() + self.config.connect_timeout;
        let mut pause = Duration::from_millis(10);
        loop {
            match op(connected.clone()).await {
                Err(e)
                    if is_connection_error(&e)
                        && tokio::time::Instant::now() + pause < deadline =>
                {
                    tracing::debug!(error = %e, "no usable connection yet; waiting for the pool to reconnect");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(e) if is_connection_error(&e) => {
                    // Still no connection at the deadline: the session's hosts are gone
                    // (e.g. the one host a Keyspaces session pools). Build a new session on
                    // the next request rather than keep this one.
                    self.forget_session(&connected).await;
                    return Ok(Err(e));
                }
                other => return Ok(other),
            }
        }
    }

    async fn forget_session(&self, failed: &Arc<Connected>) {
        let mut current = self.connected.write().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, failed)) {
            tracing::warn!("no connection left to the cluster; the next request connects again");
            *current = None;
        }
    }
}
