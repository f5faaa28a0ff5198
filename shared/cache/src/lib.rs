//! A read cache for list pages (cache-aside, in Redis), optional: `STORE_CACHE_URL` unset
//! means no cache and no Redis client at all.
//!
//! Correctness rests on one version number in Redis. A page is cached under the version read
//! before its database query; every create bumps the version before it answers. So a list
//! that starts after a create was acknowledged reads the new version, misses, and queries
//! the database: it sees the create. Pages of older versions are never read again and
//! expire by their TTL. The one gap: a bump that fails (Redis unreachable at that moment)
//! leaves pages cached before the create readable until their TTL (`STORE_CACHE_TTL_SECS`)
//! runs out; that TTL is the staleness bound.
//!
//! Failing open: every Redis call is bounded by `STORE_CACHE_TIMEOUT_MS`; a timeout, a
//! refused connection or a full Redis is counted and logged, and the request goes on as if
//! there were no cache.

mod config;
mod keys;
mod page_cache;
mod scripts;
pub mod telemetry;

pub use config::{CacheConfig, URL};
pub use page_cache::{Lookup, PageCache, Version};
