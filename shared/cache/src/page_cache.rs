//! The Redis side of the cache: one reconnecting connection per process, every call bounded
//! by the configured timeout, every failure counted and turned into "no cache this time".

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, Script};

use crate::config::{CacheConfig, URL};
use crate::keys::Keys;
use crate::{scripts, telemetry};

/// Connecting (TCP, TLS, HELLO) may take longer than a call: it goes on across calls.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The version a page was read under: it is stored under the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Hit(String),
    /// Not cached: store the page under this version once it is read.
    Miss(Version),
    /// Redis did not answer (in time): read the database, store nothing.
    Unavailable,
}

pub struct PageCache {
    connection: ConnectionManager,
    keys: Keys,
    ttl: Duration,
    timeout: Duration,
    read: Script,
    bump: Script,
    /// Unix second of the last warning logged, so a Redis outage logs once a second, not
    /// once a request (the counters have every one).
    warned_at: AtomicU64,
}

impl PageCache {
    /// Builds the client without waiting for Redis: calls made before it is reachable find
    /// no cache. `namespace` separates deployments (and cursor keys) sharing a Redis.
    pub fn new(config: &CacheConfig, namespace: &str) -> Result<PageCache, String> {
        if config.url.starts_with("rediss://") {
            // More than one provider is built in (the driver's rustls lists aws-lc-rs too):
            // name the one to use, or redis' TLS setup finds no default. Already set is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        // The URL may hold a password: errors say what is wrong with it, never what it is.
        let client = Client::open(config.url.as_str()).map_err(|e| format!("invalid {URL}: {:?}", e.kind()))?;
        let settings = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, settings).map_err(|e| format!("{URL}: {:?}", e.kind()))?;
        Ok(PageCache {
            connection,
            keys: Keys::new(namespace),
            ttl: config.ttl,
            timeout: config.timeout,
            read: Script::new(scripts::READ),
            bump: Script::new(scripts::BUMP),
            warned_at: AtomicU64::new(0),
        })
    }

    /// Connects now and loads the scripts, waiting up to `within` (at init: the first
    /// request then costs one round trip, not a connect and a NOSCRIPT retry). Not reaching
    /// Redis is not an error: the connection keeps being retried.
    pub async fn warm_up(&self, within: Duration) -> bool {
        let mut connection = self.connection.clone();
        let (read, bump) = (self.read.prepare_invoke(), self.bump.prepare_invoke());
        let load = async move {
            read.load_async(&mut connection).await?;
            bump.load_async(&mut connection).await
        };
        matches!(tokio::time::timeout(within, load).await, Ok(Ok(_)))
    }

    /// The cached page for `request` (a canonical form of the query), if any.
    pub async fn lookup(&self, request: &str) -> Lookup {
        let mut connection = self.connection.clone();
        let mut call = self.read.key(self.keys.version());
        call.arg(self.keys.page_prefix()).arg(Keys::page_digest(request));
        let answer = self.bounded("read", async move { call.invoke_async::<(String, Option<String>)>(&mut connection).await }).await;
        let Some((version, page)) = answer else {
            telemetry::lookup("error");
            return Lookup::Unavailable;
        };
        let Ok(version) = version.parse::<u64>() else {
            self.failed("read", "other", "the version key does not hold a number");
            telemetry::lookup("error");
            return Lookup::Unavailable;
        };
        match page {
            Some(page) => {
                telemetry::lookup("hit");
                Lookup::Hit(page)
            }
            None => {
                telemetry::lookup("miss");
                Lookup::Miss(Version(version))
            }
        }
    }

    /// Caches a page read from the database after `lookup` missed at `version`; whether
    /// Redis took it.
    pub async fn store(&self, version: Version, request: &str, page: &str) -> bool {
        let mut connection = self.connection.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.keys.page(version.0, request)).arg(page).arg("PX").arg(self.ttl.as_millis() as u64);
        self.bounded("store", async move { set.query_async::<()>(&mut connection).await }).await.is_some()
    }

    /// After a create: no page cached before it is read again. Returns whether Redis took
    /// it (if not, pages cached before may be read until their TTL runs out).
    pub async fn bump(&self) -> bool {
        let mut connection = self.connection.clone();
        let call = self.bump.key(self.keys.version());
        self.bounded("bump", async move { call.invoke_async::<redis::Value>(&mut connection).await }).await.is_some()
    }

    async fn bounded<T>(&self, op: &'static str, call: impl Future<Output = Result<T, RedisError>>) -> Option<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.failed(op, kind_of(&e), &e.to_string());
                None
            }
            Err(_) => {
                self.failed(op, "timeout", "no answer within STORE_CACHE_TIMEOUT_MS");
                None
            }
        }
    }

    fn failed(&self, op: &'static str, kind: &'static str, detail: &str) {
        telemetry::error(op, kind);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if self.warned_at.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(op, kind, detail, "cache call failed; serving from the database");
        }
    }
}

fn kind_of(e: &RedisError) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.code() == Some("OOM") {
        "full"
    } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() || e.is_unrecoverable_error() {
        "connection"
    } else {
        "other"
    }
}
