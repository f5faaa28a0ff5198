//! Configuration from environment variables (see `.env.example` at the repository root for
//! what each one does). A bad value is refused with an error naming the variable, so a
//! misconfigured function stops at start-up instead of failing on every request.

use std::time::Duration;

use scylla::frame::types::{Consistency, SerialConsistency};

use crate::address_translation::AddressTranslation;
use crate::cursor_key::CursorKey;
use crate::secret::Secret;

pub const CONTACT_POINTS: &str = "STORE_CONTACT_POINTS";
pub const PORT: &str = "STORE_PORT";
pub const USERNAME: &str = "STORE_USERNAME";
pub const PASSWORD: &str = "STORE_PASSWORD";
pub const KEYSPACE: &str = "STORE_KEYSPACE";
pub const LOCAL_DC: &str = "STORE_LOCAL_DC";
pub const CONSISTENCY: &str = "STORE_CONSISTENCY";
pub const SERIAL_CONSISTENCY: &str = "STORE_SERIAL_CONSISTENCY";
pub const REPLICATION: &str = "STORE_REPLICATION";
pub const CONNECT_TIMEOUT_MS: &str = "STORE_CONNECT_TIMEOUT_MS";
pub const REQUEST_TIMEOUT_MS: &str = "STORE_REQUEST_TIMEOUT_MS";
pub const CREATE_DEADLINE_MS: &str = "STORE_CREATE_DEADLINE_MS";
pub const CURSOR_KEY: &str = "STORE_CURSOR_KEY";
/// `ADVERTISED=REACHABLE,...`: see `address_translation`.
pub const ADDRESS_TRANSLATION: &str = "STORE_ADDRESS_TRANSLATION";
/// `off` keeps the functions and store-schema from reading `.env`: what `make run` and the
/// tests set, so that a developer's `.env` reaches a process only when asked for.
pub const DOTENV: &str = "STORE_DOTENV";

/// Every variable this crate reads, for documentation checks.
pub const ALL_VARIABLES: &[&str] = &[
    CONTACT_POINTS,
    PORT,
    USERNAME,
    PASSWORD,
    KEYSPACE,
    LOCAL_DC,
    CONSISTENCY,
    SERIAL_CONSISTENCY,
    REPLICATION,
    CONNECT_TIMEOUT_MS,
    REQUEST_TIMEOUT_MS,
    CURSOR_KEY,
    CREATE_DEADLINE_MS,
    ADDRESS_TRANSLATION,
    DOTENV,
];

/// The longest create deadline accepted: half the pending SKU claim's TTL, so that a create
/// normally commits long before its own claim could expire (correctness does not depend on
/// it: the commit is conditional; progress does).
pub const MAX_CREATE_DEADLINE: Duration = Duration::from_secs(30);

/// Whether to read `.env` (`STORE_DOTENV`: unset, `on` or `1` yes; `off` or `0` no).
pub fn dotenv_wanted(lookup: impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match lookup(DOTENV).as_deref().map(str::trim) {
        None | Some("" | "on" | "1" | "true") => Ok(true),
        Some("off" | "0" | "false") => Ok(false),
        Some(other) => Err(bad(DOTENV, format!("{other:?} is not on or off"))),
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

fn bad(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { variable, reason: reason.into() }
}

/// How the keyspace is replicated; only the schema command uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// Development: one data center, `factor` copies.
    Simple { factor: u32 },
    /// Production: copies per named data center.
    NetworkTopology { data_centers: Vec<(String, u32)> },
}

impl Replication {
    /// `SimpleStrategy:1` or `NetworkTopologyStrategy:dc1=3,dc2=3`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (class, rest) = text.trim().split_once(':').ok_or("expected CLASS:SETTINGS, e.g. SimpleStrategy:1")?;
        match class {
            "SimpleStrategy" => {
                let factor = parse_factor(rest)?;
                Ok(Replication::Simple { factor })
            }
            "NetworkTopologyStrategy" => {
                let mut data_centers = Vec::new();
                for part in rest.split(',') {
                    let (dc, factor) = part.split_once('=').ok_or("expected DC=FACTOR[,DC=FACTOR...]")?;
                    let dc = dc.trim();
                    let dc_ok = !dc.is_empty()
                        && dc.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                    if !dc_ok {
                        return Err(format!("invalid data center name {dc:?}"));
                    }
                    data_centers.push((dc.to_owned(), parse_factor(factor)?));
                }
                Ok(Replication::NetworkTopology { data_centers })
            }
            other => Err(format!("unknown class {other:?}: use SimpleStrategy or NetworkTopologyStrategy")),
        }
    }

    /// The CQL map literal for `CREATE KEYSPACE ... WITH replication = ...`.
    pub fn to_cql(&self) -> String {
        match self {
            Replication::Simple { factor } => {
                format!("{{'class': 'SimpleStrategy', 'replication_factor': {factor}}}")
            }
            Replication::NetworkTopology { data_centers } => {
                let dcs: Vec<String> = data_centers.iter().map(|(dc, n)| format!("'{dc}': {n}")).collect();
                format!("{{'class': 'NetworkTopologyStrategy', {}}}", dcs.join(", "))
            }
        }
    }
}

fn parse_factor(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("replication factor {:?} is not a positive integer", text.trim())),
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `host` or `host:port`; hosts without a port use `port`.
    pub contact_points: Vec<String>,
    pub port: u16,
    pub credentials: Option<Credentials>,
    pub keyspace: String,
    pub local_dc: Option<String>,
    pub consistency: Consistency,
    /// Consistency of the listing reads when it differs from `consistency` (Amazon Keyspaces
    /// reads at LOCAL_ONE or LOCAL_QUORUM while it writes at LOCAL_QUORUM); `None` reads at
    /// `consistency`.
    pub read_consistency: Option<Consistency>,
    pub serial_consistency: SerialConsistency,
    pub replication: Replication,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The whole budget of one create, across all its statements, waits and retries. It
    /// must leave a margin below the Lambda timeout (10 s in template.yaml); in Lambda the
    /// invocation's own deadline also bounds it.
    pub create_deadline: Duration,
    /// Signs listing cursors; its Debug never shows it.
    pub cursor_key: CursorKey,
    /// Where to reach nodes that advertise addresses this process cannot reach.
    pub address_translation: Option<AddressTranslation>,
}

impl Config {
    /// Defaults for a local node on 127.0.0.1:9042.
    pub fn local(port: u16) -> Self {
        Config {
            contact_points: vec!["127.0.0.1".into()],
            port,
            credentials: None,
            keyspace: "store".into(),
            local_dc: None,
            consistency: Consistency::LocalQuorum,
            read_consistency: None,
            serial_consistency: SerialConsistency::LocalSerial,
            replication: Replication::Simple { factor: 1 },
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            create_deadline: Duration::from_secs(8),
            cursor_key: CursorKey::per_process(),
            address_translation: None,
        }
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads from any lookup (the environment in production, a map in tests). Empty values
    /// count as unset so that `.env.example` can list every variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Config::local(9042);

        if let Some(v) = get(CONTACT_POINTS) {
            let points: Vec<String> = v.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
            if points.is_empty() {
                return Err(bad(CONTACT_POINTS, "no host given"));
            }
            if let Some(p) = points.iter().find(|p| p.chars().any(|c| c.is_whitespace() || c == '/')) {
                return Err(bad(CONTACT_POINTS, format!("{p:?} is not a host or host:port")));
            }
            config.contact_points = points;
        }
        if let Some(v) = get(PORT) {
            config.port = match v.trim().parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(bad(PORT, format!("{v:?} is not a port number (1-65535)"))),
            };
        }
        match (get(USERNAME), get(PASSWORD)) {
            (Some(username), Some(password)) => {
                config.credentials = Some(Credentials { username, password: Secret::new(password) })
            }
            (None, None) => {}
            (Some(_), None) => return Err(bad(PASSWORD, "must be set when STORE_USERNAME is")),
            (None, Some(_)) => return Err(bad(USERNAME, "must be set when STORE_PASSWORD is")),
        }
        if let Some(v) = get(KEYSPACE) {
            let v = v.trim();
            let ok = v.len() <= 48
                && v.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(bad(KEYSPACE, format!("{v:?} is not a keyspace name (letter, then letters, digits, _; at most 48)")));
            }
            config.keyspace = v.to_ascii_lowercase();
        }
        config.local_dc = get(LOCAL_DC).map(|v| v.trim().to_owned());
        if let Some(v) = get(CONSISTENCY) {
            let level = parse_consistency(&v).ok_or_else(|| {
                bad(CONSISTENCY, format!("{v:?} is not a consistency level (e.g. LOCAL_QUORUM, QUORUM, ONE)"))
            })?;
            if let Some(why) = not_for_every_statement(level) {
                return Err(bad(CONSISTENCY, format!("{v:?} cannot be used for both reads and writes: {why}")));
            }
            config.consistency = level;
        }
        if let Some(v) = get(SERIAL_CONSISTENCY) {
            config.serial_consistency = match v.trim().to_ascii_uppercase().as_str() {
                "SERIAL" => SerialConsistency::Serial,
                "LOCAL_SERIAL" => SerialConsistency::LocalSerial,
                _ => return Err(bad(SERIAL_CONSISTENCY, format!("{v:?} is not SERIAL or LOCAL_SERIAL"))),
            };
        }
        if let Some(v) = get(REPLICATION) {
            config.replication = Replication::parse(&v).map_err(|reason| bad(REPLICATION, reason))?;
        }
        if let Some(v) = get(CONNECT_TIMEOUT_MS) {
            config.connect_timeout = parse_millis(CONNECT_TIMEOUT_MS, &v)?;
        }
        if let Some(v) = get(REQUEST_TIMEOUT_MS) {
            config.request_timeout = parse_millis(REQUEST_TIMEOUT_MS, &v)?;
        }
        if let Some(v) = get(CREATE_DEADLINE_MS) {
            config.create_deadline = parse_millis(CREATE_DEADLINE_MS, &v)?;
            if config.create_deadline > MAX_CREATE_DEADLINE {
                return Err(bad(CREATE_DEADLINE_MS, format!("{v:?} is above {} ms", MAX_CREATE_DEADLINE.as_millis())));
            }
        }
        if let Some(v) = get(ADDRESS_TRANSLATION) {
            config.address_translation = Some(AddressTranslation::parse(&v).map_err(|reason| bad(ADDRESS_TRANSLATION, reason))?);
        }
        config.cursor_key = match get(CURSOR_KEY) {
            // The reason never repeats the value: it is a secret.
            Some(v) => CursorKey::parse(&v).map_err(|reason| bad(CURSOR_KEY, reason))?,
            None => CursorKey::per_process_with_warning(CURSOR_KEY),
        };
        Ok(config)
    }

    /// Contact points with the port filled in where none was given.
    pub fn known_nodes(&self) -> Vec<String> {
        self.contact_points
            .iter()
            .map(|p| {
                if p.starts_with('[') {
                    if p.contains("]:") { p.clone() } else { format!("{p}:{}", self.port) }
                } else if p.matches(':').count() > 1 {
                    format!("[{p}]:{}", self.port) // a bare IPv6 address
                } else if p.contains(':') {
                    p.clone()
                } else {
                    format!("{p}:{}", self.port)
                }
            })
            .collect()
    }
}

fn parse_consistency(text: &str) -> Option<Consistency> {
    Some(match text.trim().to_ascii_uppercase().as_str() {
        "ANY" => Consistency::Any,
        "ONE" => Consistency::One,
        "TWO" => Consistency::Two,
        "THREE" => Consistency::Three,
        "QUORUM" => Consistency::Quorum,
        "ALL" => Consistency::All,
        "LOCAL_QUORUM" => Consistency::LocalQuorum,
        "EACH_QUORUM" => Consistency::EachQuorum,
        "LOCAL_ONE" => Consistency::LocalOne,
        _ => return None,
    })
}

/// Why `level` cannot be the level of every statement, which includes the listing's SELECT and
/// the commit of the lightweight-transaction claims. Cassandra's own validation
/// (`ConsistencyLevel.validateForRead`) refuses reads at ANY ("ANY ConsistencyLevel is only
/// supported for writes"), so every listing would fail. EACH_QUORUM: ScyllaDB's
/// `validate_for_read` (and Cassandra before 3.0) refuse reads at it the same way, and Cassandra's
/// `validateForCasCommit` refuses it as the commit level of a conditional write unless the
/// keyspace uses NetworkTopologyStrategy; one API region reads its own data center anyway.
fn not_for_every_statement(level: Consistency) -> Option<&'static str> {
    match level {
        Consistency::Any => Some("the database refuses reads at ANY (it is write-only); use LOCAL_QUORUM"),
        Consistency::EachQuorum => Some(
            "reads at EACH_QUORUM are refused by ScyllaDB, and Cassandra refuses it for lightweight-transaction \
             commits without NetworkTopologyStrategy; use LOCAL_QUORUM",
        ),
        _ => None,
    }
}

fn parse_millis(variable: &'static str, text: &str) -> Result<Duration, ConfigError> {
    match text.trim().parse::<u64>() {
        Ok(ms) if (1..=600_000).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(bad(variable, format!("{text:?} is not a number of milliseconds between 1 and 600000"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_local_quorum_on_localhost() {
        let c = config(&[]).unwrap();
        assert_eq!(c.consistency, Consistency::LocalQuorum);
        assert_eq!(c.serial_consistency, SerialConsistency::LocalSerial);
        assert_eq!(c.known_nodes(), vec!["127.0.0.1:9042".to_string()]);
        assert_eq!(c.keyspace, "store");
        assert_eq!(c.replication, Replication::Simple { factor: 1 });
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases = [
            (PORT, "ninety"),
            (PORT, "0"),
            (KEYSPACE, "drop table"),
            (CONSISTENCY, "MOST"),
            (CONSISTENCY, "ANY"),
            (CONSISTENCY, "any"),
            (CONSISTENCY, "EACH_QUORUM"),
            (CONSISTENCY, "SERIAL"),
            (SERIAL_CONSISTENCY, "QUORUM"),
            (REPLICATION, "SimpleStrategy:zero"),
            (REPLICATION, "Everywhere:3"),
            (REPLICATION, "NetworkTopologyStrategy:dc'1=3"),
            (CONNECT_TIMEOUT_MS, "-5"),
            (REQUEST_TIMEOUT_MS, "soon"),
            (CREATE_DEADLINE_MS, "30001"),
            (CONTACT_POINTS, "a b"),
            (CURSOR_KEY, "too-short"),
            (CURSOR_KEY, "00ff00ff"),
            (ADDRESS_TRANSLATION, "172.20.0.2:9042"),
            (ADDRESS_TRANSLATION, "172.20.0.2=db:9042"),
        ];
        for (var, value) in cases {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn every_level_that_reads_and_writes_is_accepted() {
        let levels = [
            ("ONE", Consistency::One),
            ("TWO", Consistency::Two),
            ("THREE", Consistency::Three),
            ("QUORUM", Consistency::Quorum),
            ("ALL", Consistency::All),
            ("local_quorum", Consistency::LocalQuorum),
            ("LOCAL_ONE", Consistency::LocalOne),
        ];
        for (text, level) in levels {
            assert_eq!(config(&[(CONSISTENCY, text)]).unwrap().consistency, level, "{text}");
        }
        let err = config(&[(CONSISTENCY, "ANY")]).unwrap_err();
        assert!(err.to_string().contains("write-only"), "{err}");
    }

    #[test]
    fn credentials_come_in_pairs_and_never_print() {
        assert_eq!(config(&[(USERNAME, "u")]).unwrap_err().variable, PASSWORD);
        assert_eq!(config(&[(PASSWORD, "p")]).unwrap_err().variable, USERNAME);
        let c = config(&[(USERNAME, "app"), (PASSWORD, "s3cr3t-pw")]).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-pw"));
        assert_eq!(c.credentials.unwrap().password.expose(), "s3cr3t-pw");
    }

    #[test]
    fn the_cursor_key_is_read_and_never_printed() {
        let hex_key = "a1".repeat(32);
        let c = config(&[(CURSOR_KEY, &hex_key)]).unwrap();
        assert_eq!(c.cursor_key, CursorKey::parse(&hex_key).unwrap());
        assert_ne!(c.cursor_key, CursorKey::per_process());
        assert!(!format!("{c:?}").contains(&hex_key));
        let err = config(&[(CURSOR_KEY, &"a1".repeat(31))]).unwrap_err();
        assert!(!err.to_string().contains(&"a1".repeat(31)), "{err}");
        assert_eq!(config(&[]).unwrap().cursor_key, CursorKey::per_process());
    }

    #[test]
    fn replication_parses_both_strategies() {
        let c = config(&[(REPLICATION, "NetworkTopologyStrategy:eu-west=3,us_east=2")]).unwrap();
        assert_eq!(
            c.replication.to_cql(),
            "{'class': 'NetworkTopologyStrategy', 'eu-west': 3, 'us_east': 2}"
        );
        assert_eq!(Replication::Simple { factor: 2 }.to_cql(), "{'class': 'SimpleStrategy', 'replication_factor': 2}");
    }

    #[test]
    fn contact_points_keep_explicit_ports() {
        let c = config(&[(CONTACT_POINTS, "10.0.0.1, db.local:9142"), (PORT, "9043")]).unwrap();
        assert_eq!(c.known_nodes(), vec!["10.0.0.1:9043".to_string(), "db.local:9142".to_string()]);
    }

    #[test]
    fn dotenv_is_read_unless_turned_off() {
        let lookup = |value: &'static str| move |name: &str| (name == DOTENV).then(|| value.to_string());
        assert_eq!(dotenv_wanted(|_| None), Ok(true));
        for on in ["", "on", "1", "true"] {
            assert_eq!(dotenv_wanted(lookup(on)), Ok(true), "{on}");
        }
        for off in ["off", "0", "false", " off "] {
            assert_eq!(dotenv_wanted(lookup(off)), Ok(false), "{off}");
        }
        assert_eq!(dotenv_wanted(lookup("nope")).unwrap_err().variable, DOTENV);
    }
}
