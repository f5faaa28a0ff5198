//! What each function's `main` does once per container: read the configuration (a bad value
//! stops start-up naming the variable), pick the backend, and build the lazily connecting
//! database handle. Shared so both functions start the same way.

use std::sync::Arc;

use scylla::client::session_builder::SessionBuilder;
use store::{Config, Db, SessionHook};

pub const BACKEND: &str = "STORE_BACKEND";

/// The database handle for this container, or the message to stop with.
pub fn db_from_env() -> Result<Db, String> {
    db_from_lookup(|name| std::env::var(name).ok())
}

/// `db_from_env` over any lookup, so tests need not touch the process environment.
pub fn db_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Db, String> {
    let mut config = Config::from_lookup(&lookup).map_err(|e| e.to_string())?;
    let backend = lookup(BACKEND).unwrap_or_default();
    match backend.trim() {
        "" | "cassandra" => Ok(Db::new(config)),
        "keyspaces" => {
            let ks = keyspaces::KeyspacesConfig::from_lookup(&lookup).map_err(|e| e.to_string())?;
            // Keyspaces writes only at LOCAL_QUORUM and reads at the level it was given.
            config.consistency = ks.write_consistency();
            config.read_consistency = Some(ks.read_consistency());
            Ok(Db::with_session_hook(config, Some(keyspaces_hook(ks))))
        }
        other => Err(format!("invalid {BACKEND}: {other:?} is not cassandra or keyspaces")),
    }
}

/// Amazon Keyspaces: endpoint, TLS, SigV4 and Keyspaces-safe settings from `shared/keyspaces`.
/// Starts from a fresh builder: the STORE_* contact points do not apply to Keyspaces.
fn keyspaces_hook(ks: keyspaces::KeyspacesConfig) -> SessionHook {
    let ks = Arc::new(ks);
    Arc::new(move |_store_builder: SessionBuilder| {
        let ks = ks.clone();
        Box::pin(async move { keyspaces::configure(SessionBuilder::new(), &ks).await.map_err(|e| e.to_string()) })
    })
}

/// A function's whole init, once per container: `.env` (local runs; variables already set win,
/// Lambda has none, and `STORE_DOTENV=off` skips it, as `make run` and the tests do), logging,
/// configuration, and a first connection attempt. A bad configuration exits naming the
/// variable; an unreachable cluster does not stop the init.
pub async fn init_function(name: &str) -> Db {
    match store::config::dotenv_wanted(|var| std::env::var(var).ok()) {
        Ok(true) => {
            let _ = dotenvy::dotenv();
        }
        Ok(false) => {}
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    }
    crate::logging::init();
    let db = match db_from_env() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "bad configuration; not starting");
            eprintln!("{name}: {e}");
            std::process::exit(2);
        }
    };
    warm_up(&db).await;
    db
}

/// Connects during init when possible. Never fails: with the cluster down, requests answer
/// 503 and reconnect later (exiting here would make Lambda restart the init in a loop).
pub async fn warm_up(db: &Db) {
    if let Err(e) = db.warm_up().await {
        tracing::warn!(error = %e, "cluster not reachable at start; requests will retry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(vars: &[(&str, &str)]) -> Result<Db, String> {
        db_from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn backend_defaults_to_cassandra_and_refuses_unknown_names() {
        assert!(db(&[]).is_ok());
        let err = db(&[(BACKEND, "mongo")]).err().unwrap();
        assert!(err.contains(BACKEND), "{err}");
        let err = db(&[("STORE_PORT", "x")]).err().unwrap();
        assert!(err.contains("STORE_PORT"), "{err}");
    }

    #[test]
    fn keyspaces_backend_writes_at_local_quorum_and_reads_at_the_level_given() {
        use scylla::statement::Consistency;
        let db = db(&[
            (BACKEND, "keyspaces"),
            ("AWS_REGION", "eu-west-1"),
            ("STORE_CONSISTENCY", "ONE"),
            ("KEYSPACES_READ_CONSISTENCY", "LOCAL_ONE"),
        ])
        .unwrap();
        assert_eq!(db.config().consistency, Consistency::LocalQuorum);
        assert_eq!(db.config().read_consistency, Some(Consistency::LocalOne));
        let cassandra = self::db(&[]).unwrap();
        assert_eq!(cassandra.config().read_consistency, None);
    }

    #[test]
    fn keyspaces_backend_needs_a_region() {
        assert!(db(&[(BACKEND, "keyspaces")]).is_err());
        assert!(db(&[(BACKEND, "keyspaces"), ("AWS_REGION", "eu-west-1")]).is_ok());
    }
}
