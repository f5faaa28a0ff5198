//! What each function's `main` does once per container: read the configuration (a bad value
//! stops start-up naming the variable), pick the backend, and build the lazily connecting
//! database handle. Shared so both functions start the same way.

use std::future::Future;
use std::sync::Arc;

use keyspaces::{CredentialSource, RefreshingCredentials};
use page_cache::{CacheConfig, PageCache};
use scylla::client::session_builder::SessionBuilder;
use store::{Config, Db, SessionHook};

use crate::lambda_http::{self, Body, Error, Request, Response, service_fn};
use crate::telemetry::Telemetry;

pub const BACKEND: &str = "STORE_BACKEND";
/// How long init waits for Redis before serving without it for now.
const CACHE_WARM_UP: std::time::Duration = std::time::Duration::from_millis(200);

/// The database handle for this container, or the message to stop with.
pub fn db_from_env() -> Result<Db, String> {
    db_from_lookup(|name| std::env::var(name).ok())
}

/// `db_from_env` over any lookup, so tests need not touch the process environment. On
/// Keyspaces, credentials come from the variables Lambda sets for the function's role.
pub fn db_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Db, String> {
    db_from_lookup_with(lookup, CredentialSource::LambdaEnvironment)
}

/// `db_from_lookup` with the Keyspaces credentials taken from `credentials` (tests give a
/// provider; the Lambda environment is the process's, which tests must not change).
pub fn db_from_lookup_with(lookup: impl Fn(&str) -> Option<String>, credentials: CredentialSource) -> Result<Db, String> {
    let mut config = Config::from_lookup(&lookup).map_err(|e| e.to_string())?;
    let backend = lookup(BACKEND).unwrap_or_default();
    match backend.trim() {
        "" | "cassandra" => Ok(Db::new(config)),
        "keyspaces" => {
            let mut ks = keyspaces::KeyspacesConfig::from_lookup(&lookup).map_err(|e| e.to_string())?;
            // The STORE_* bounds and data center apply to Keyspaces as to Cassandra.
            ks.request_timeout = config.request_timeout;
            ks.connect_timeout = config.connect_timeout;
            ks.local_dc = config.local_dc.clone();
            if ks.local_dc() != ks.region {
                tracing::warn!(
                    local_dc = ks.local_dc(),
                    region = %ks.region,
                    "STORE_LOCAL_DC differs from the Keyspaces region, which is the only data center Keyspaces reports: \
                     requests will find no host"
                );
            }
            config.local_dc = Some(ks.local_dc().to_owned());
            // Keyspaces writes only at LOCAL_QUORUM and reads at the level it was given.
            config.consistency = ks.write_consistency();
            config.read_consistency = Some(ks.read_consistency());
            Ok(Db::with_session_hook(config, Some(keyspaces_hook(ks, credentials))))
        }
        other => Err(format!("invalid {BACKEND}: {other:?} is not cassandra or keyspaces")),
    }
}

/// Amazon Keyspaces: endpoint, TLS, SigV4 and Keyspaces-safe settings from `shared/keyspaces`.
/// Starts from a fresh builder: the STORE_* contact points do not apply to Keyspaces (its
/// timeouts and data center are in `ks`). The credential cache is opened once and kept
/// across reconnects; every fetch is bounded by the connect timeout. The first session pools
/// the one host the endpoint resolves to (`KEYSPACES_HOSTS=one`); a session is only built
/// again after a failure (no connection at init, or none left), and that one pools every
/// advertised host, as the driver would by itself.
fn keyspaces_hook(ks: keyspaces::KeyspacesConfig, source: CredentialSource) -> SessionHook {
    let widened = Arc::new(keyspaces::KeyspacesConfig { hosts: keyspaces::PooledHosts::All, ..ks.clone() });
    let ks = Arc::new(ks);
    let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let credentials: Arc<RefreshingCredentials> = Arc::new(source.open(ks.connect_timeout));
    Arc::new(move |_store_builder: SessionBuilder| {
        let first = builds.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        let ks = if first { ks.clone() } else { widened.clone() };
        let credentials = credentials.clone();
        Box::pin(async move {
            keyspaces::configure_with_credentials(SessionBuilder::new(), &ks, credentials).await.map_err(|e| e.to_string())
        })
    })
}

/// Reads `.env` unless `STORE_DOTENV=off` (variables already set win; a missing file is
/// fine), as the functions and the tools all do; the error names a bad `STORE_DOTENV`.
pub fn load_dotenv() -> Result<(), String> {
    if store::config::dotenv_wanted(|var| std::env::var(var).ok()).map_err(|e| e.to_string())? {
        let _ = dotenvy::dotenv();
    }
    Ok(())
}

/// A function's whole init, once per container: `.env` (local runs; variables already set win,
/// Lambda has none, and `STORE_DOTENV=off` skips it, as `make run` and the tests do), logging,
/// metrics, configuration, and a first connection attempt. A bad configuration exits naming
/// the variable; an unreachable cluster does not stop the init.
pub async fn init_function(name: &'static str) -> (Db, Telemetry) {
    let started = std::time::Instant::now();
    if let Err(e) = load_dotenv() {
        eprintln!("{name}: {e}");
        std::process::exit(2);
    }
    crate::logging::init();
    let stop = |e: String| -> ! {
        tracing::error!(error = %e, "bad configuration; not starting");
        eprintln!("{name}: {e}");
        std::process::exit(2);
    };
    let telemetry = Telemetry::from_env(name).await.unwrap_or_else(|e| stop(e));
    let db = db_from_env().unwrap_or_else(|e| stop(e));
    warm_up(&db).await;
    crate::telemetry::cold_start(started.elapsed());
    (db, telemetry)
}

/// The list-page cache when `STORE_CACHE_URL` is set (shared by both functions: the query
/// side reads it, the command side invalidates it), connected within a short bound. A bad
/// setting exits naming the variable; an unreachable Redis only means misses.
pub async fn init_cache(name: &'static str, db: &Db) -> Option<PageCache> {
    let stop = |e: String| -> ! {
        tracing::error!(error = %e, "bad configuration; not starting");
        eprintln!("{name}: {e}");
        std::process::exit(2);
    };
    let config = CacheConfig::from_lookup(|var| std::env::var(var).ok()).unwrap_or_else(|e| stop(e))?;
    let cache = PageCache::new(&config, db.keyspace()).unwrap_or_else(|e| stop(e));
    if !cache.warm_up(CACHE_WARM_UP).await {
        tracing::warn!("the list-page cache is not reachable yet; serving from the database until it is");
    }
    Some(cache)
}

/// Serves invocations until the runtime stops: with EMF, each invocation's metrics are
/// flushed to stdout once its answer is ready (as the collector's own Lambda layer did, which
/// this replaces so the zips need none of its dependencies).
pub async fn run<H, F>(telemetry: &Telemetry, mut handler: H) -> Result<(), Error>
where
    H: FnMut(Request) -> F,
    F: Future<Output = Result<Response<Body>, Error>> + Send,
{
    match telemetry {
        Telemetry::Emf(collector) => {
            let collector: &'static metrics_cloudwatch_embedded::Collector = collector;
            lambda_http::run(service_fn(move |req| {
                let answer = handler(req);
                async move {
                    let answer = answer.await;
                    crate::telemetry::flush_emf(collector);
                    answer
                }
            }))
            .await
        }
        _ => lambda_http::run(service_fn(handler)).await,
    }
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
    fn keyspaces_backend_stays_in_the_region_unless_told_otherwise() {
        let db = db(&[(BACKEND, "keyspaces"), ("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(db.config().local_dc.as_deref(), Some("eu-west-1"));
        let db = self::db(&[(BACKEND, "keyspaces"), ("AWS_REGION", "eu-west-1"), ("STORE_LOCAL_DC", "dc9")]).unwrap();
        assert_eq!(db.config().local_dc.as_deref(), Some("dc9"));
    }

    #[test]
    fn keyspaces_backend_needs_a_region() {
        assert!(db(&[(BACKEND, "keyspaces")]).is_err());
        assert!(db(&[(BACKEND, "keyspaces"), ("AWS_REGION", "eu-west-1")]).is_ok());
    }
}
