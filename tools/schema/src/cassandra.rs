//! Applying the schema over CQL to Cassandra-compatible clusters.

use std::time::Duration;

use scylla_session::connect_with_retry;
use store::Config;

pub async fn apply(config: &Config, wait: Duration) -> Result<(), String> {
    let session = connect_with_retry(config, wait).await?;
    let statements = store::schema::statements(&config.keyspace, &config.replication);
    store::schema::apply(&session, &statements).await.map_err(|e| e.to_string())?;
    store::schema::add_missing_columns(&session, &config.keyspace).await.map_err(|e| e.to_string())
}

mod scylla_session {
    use std::time::Duration;

    use store::Config;

    /// Connects, retrying with a short pause until `wait` has passed (a node may still be
    /// starting when `make run` gets here).
    pub async fn connect_with_retry(
        config: &Config,
        wait: Duration,
    ) -> Result<scylla::client::session::Session, String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match store::db::session_builder(config).build().await {
                Ok(session) => return Ok(session),
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::info!(error = %e, "cluster not ready yet; retrying");
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => return Err(format!("cannot connect to {:?}: {e}", config.known_nodes())),
            }
        }
    }
}
