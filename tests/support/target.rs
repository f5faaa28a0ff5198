//! What the tests run against: by default a CQL node each test starts in-process; with
//! `STORE_TEST_CONTACT_POINTS` set, an external cluster (Cassandra, ScyllaDB, the compose
//! cluster, a separately started CQL node). The external cluster is configured with the
//! `STORE_*` variables the functions read, spelt `STORE_TEST_*` (`STORE_TEST_PORT`,
//! `STORE_TEST_USERNAME`/`STORE_TEST_PASSWORD`, `STORE_TEST_REPLICATION`, `STORE_TEST_LOCAL_DC`,
//! `STORE_TEST_ADDRESS_TRANSLATION`...), parsed by the same code, so a bad value names its
//! variable. Each test gets a fresh keyspace `<STORE_TEST_KEYSPACE, default store_test>_<run>_<n>`
//! so runs and tests never see each other's products.
//!
//! Tests that need what only the in-process node offers (fault injection, its clock, stopping
//! nodes, its Paxos or Keyspaces settings) start with `requires_cql_node!("why")`: against an
//! external cluster they print `SKIPPED <test>: <why>` and return, and append that line to
//! `STORE_TEST_SKIPPED_FILE` if set (scripts/test-external.sh prints them at the end).

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use store::Config;

/// The variable that turns the external mode on.
pub const CONTACT_POINTS: &str = "STORE_TEST_CONTACT_POINTS";
pub const KEYSPACE_PREFIX: &str = "STORE_TEST_KEYSPACE";
pub const SKIPPED_FILE: &str = "STORE_TEST_SKIPPED_FILE";

pub struct External {
    /// Everything but the keyspace, from the `STORE_TEST_*` variables.
    base: Config,
    prefix: String,
    run: String,
    next: AtomicU32,
}

/// The external cluster, if `STORE_TEST_CONTACT_POINTS` names one. A bad `STORE_TEST_*` value
/// panics naming its variable: the whole run would be wrong.
pub fn external() -> Option<&'static External> {
    static TARGET: OnceLock<Option<External>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            std::env::var(CONTACT_POINTS).ok().filter(|v| !v.trim().is_empty())?;
            let test_name = |name: &str| name.replacen("STORE_", "STORE_TEST_", 1);
            // The keyspace is the test's own; the cursor key is per process as in the tests.
            let lookup = |name: &str| match name {
                store::config::KEYSPACE | store::config::CURSOR_KEY | store::config::DOTENV => None,
                _ => std::env::var(test_name(name)).ok(),
            };
            let base = Config::from_lookup(lookup).unwrap_or_else(|e| panic!("{}: {}", test_name(e.variable), e.reason));
            let prefix = std::env::var(KEYSPACE_PREFIX).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "store_test".into());
            let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs());
            let target = External { base, prefix: prefix.to_ascii_lowercase(), run, next: AtomicU32::new(0) };
            eprintln!("tests run against the external cluster {:?} (keyspaces {}_{}_N)", target.base.known_nodes(), target.prefix, target.run);
            Some(target)
        })
        .as_ref()
}

impl External {
    /// The external cluster's settings with a keyspace no other test uses, and the tests'
    /// short timeouts unless the `STORE_TEST_*` variables set them.
    pub fn config(&self) -> Config {
        let mut config = self.base.clone();
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        config.keyspace = format!("{}_{}_{}_{n}", self.prefix, self.run, std::process::id());
        assert!(config.keyspace.len() <= 48, "{KEYSPACE_PREFIX} is too long for keyspace names: {}", config.keyspace);
        let set = |name: &str| std::env::var(name.replacen("STORE_", "STORE_TEST_", 1)).is_ok();
        let short = crate::app::test_config(config.port);
        if !set(store::config::CONNECT_TIMEOUT_MS) {
            config.connect_timeout = short.connect_timeout;
        }
        if !set(store::config::REQUEST_TIMEOUT_MS) {
            config.request_timeout = short.request_timeout;
        }
        if !set(store::config::CREATE_DEADLINE_MS) {
            config.create_deadline = short.create_deadline;
        }
        config
    }
}

/// Whether `test` must be skipped (against an external cluster); says so, with `why`.
pub fn skip_on_external(test: &str, why: &str) -> bool {
    if external().is_none() {
        return false;
    }
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os(SKIPPED_FILE) {
        let appended = std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = appended {
            eprintln!("cannot record the skip in {}: {e}", path.to_string_lossy());
        }
    }
    true
}

/// The test's path (`faults::a_timeout_on_the_sku_claim_is_a_503_not_a_201`) from the
/// type name of a function declared inside it.
pub fn test_name(inner_fn_type_name: &str) -> String {
    let path = inner_fn_type_name.trim_end_matches("::here").replace("::{{closure}}", "");
    path.split_once("::").map_or(path.clone(), |(_crate, rest)| rest.to_owned())
}

/// First line of a test that needs the in-process CQL node: skips it (saying why) when the
/// tests run against an external cluster.
#[macro_export]
macro_rules! requires_cql_node {
    ($why:expr) => {{
        fn here() {}
        if $crate::target::skip_on_external(&$crate::target::test_name(std::any::type_name_of_val(&here)), $why) {
            return;
        }
    }};
}

/// Why a test needs the node, in the words every skip line uses.
pub const FAULTS: &str = "injects faults into the CQL node";
pub const CLOCK: &str = "moves the CQL node's clock";
pub const NODE_CONTROL: &str = "starts, stops or drops connections of CQL nodes";
pub const PAXOS: &str = "needs the CQL node's Paxos contention settings";
pub const OWN_NODE: &str = "starts CQL nodes of its own (a profile or addresses only the node has)";
