//! The cache's settings, from the same kind of lookup as the store's: a bad value stops
//! start-up naming the variable; the URL (it may carry a password) is never logged.

use std::time::Duration;

pub const URL: &str = "STORE_CACHE_URL";
pub const TTL_SECS: &str = "STORE_CACHE_TTL_SECS";
pub const TIMEOUT_MS: &str = "STORE_CACHE_TIMEOUT_MS";

/// The staleness bound when a create could not bump the version (see the crate's docs).
const DEFAULT_TTL: Duration = Duration::from_secs(10);
/// A few round trips to a Redis in the same network, so a slow Redis costs little.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(5);
const MAX_TTL_SECS: u64 = 24 * 3600;
const MAX_TIMEOUT_MS: u64 = 1_000;

#[derive(Clone)]
pub struct CacheConfig {
    /// `redis://host:port[/db]` or `rediss://` (TLS, certificates verified).
    pub url: String,
    pub ttl: Duration,
    pub timeout: Duration,
}

impl std::fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheConfig").field("url", &"<redacted>").field("ttl", &self.ttl).field("timeout", &self.timeout).finish()
    }
}

impl CacheConfig {
    /// `None` when `STORE_CACHE_URL` is unset or empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<CacheConfig>, String> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(url) = get(URL) else { return Ok(None) };
        if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
            return Err(format!("invalid {URL}: must start with redis:// or rediss://"));
        }
        let number = |name: &str, max: u64| -> Result<Option<u64>, String> {
            get(name)
                .map(|v| match v.parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(format!("invalid {name}: must be an integer from 1 to {max}, got {v:?}")),
                })
                .transpose()
        };
        let ttl = number(TTL_SECS, MAX_TTL_SECS)?.map_or(DEFAULT_TTL, Duration::from_secs);
        let timeout = number(TIMEOUT_MS, MAX_TIMEOUT_MS)?.map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        Ok(Some(CacheConfig { url, ttl, timeout }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Option<CacheConfig>, String> {
        CacheConfig::from_lookup(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn unset_or_empty_means_no_cache() {
        assert!(from(&[]).unwrap().is_none());
        assert!(from(&[(URL, " ")]).unwrap().is_none());
    }

    #[test]
    fn defaults_and_bounds() {
        let c = from(&[(URL, "redis://127.0.0.1:6379")]).unwrap().unwrap();
        assert_eq!((c.ttl, c.timeout), (DEFAULT_TTL, DEFAULT_TIMEOUT));
        let c = from(&[(URL, "rediss://cache:6379"), (TTL_SECS, "5"), (TIMEOUT_MS, "20")]).unwrap().unwrap();
        assert_eq!((c.ttl, c.timeout), (Duration::from_secs(5), Duration::from_millis(20)));
        for (name, bad) in [(TTL_SECS, "0"), (TTL_SECS, "x"), (TIMEOUT_MS, "1001"), (TIMEOUT_MS, "-1")] {
            let e = from(&[(URL, "redis://h"), (name, bad)]).unwrap_err();
            assert!(e.contains(name), "{e}");
        }
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused_without_echoing_it() {
        let e = from(&[(URL, "http://user:secret@h")]).unwrap_err();
        assert!(e.contains(URL) && !e.contains("secret"), "{e}");
        let c = from(&[(URL, "redis://:secret@h")]).unwrap().unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }
}
