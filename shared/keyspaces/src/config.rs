//! What a Keyspaces connection needs to know, read from the environment once at start-up.
//!
//! Production needs only `AWS_REGION` (Lambda sets it) and credentials from the standard AWS
//! chain. The two overrides exist for tests against the CQL node's Keyspaces profile: they
//! change where we dial and which CA we also trust, never the name the certificate must carry.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use scylla::statement::Consistency;

use crate::error::KeyspacesError;

/// Keyspaces serves CQL over TLS on this port only.
pub const KEYSPACES_PORT: u16 = 9142;

/// A Lambda answers an API Gateway request within its timeout; a request stuck longer than
/// this is better reported (503) than waited for. Callers with a configured bound set
/// `request_timeout` instead.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on one connection attempt and one credential fetch unless `connect_timeout` is set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Keyspaces accepts reads at LOCAL_ONE or LOCAL_QUORUM (and ONE); nothing else is offered here
/// so a misconfiguration cannot reach the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    LocalOne,
    LocalQuorum,
}

impl ReadConsistency {
    pub fn consistency(self) -> Consistency {
        match self {
            ReadConsistency::LocalOne => Consistency::LocalOne,
            ReadConsistency::LocalQuorum => Consistency::LocalQuorum,
        }
    }
}

/// Which Keyspaces hosts get a pool. A public endpoint advertises nine peers besides the host
/// reached; a Lambda serving one request at a time needs one connection, so by default only
/// the host the endpoint resolved to is pooled (the control connection is on it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PooledHosts {
    One,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspacesConfig {
    /// e.g. `eu-west-1`: picks the endpoint, the certificate name and the SigV4 scope.
    pub region: String,
    /// Dial this host instead of the regional endpoint (tests, VPC endpoints).
    pub endpoint_host: Option<String>,
    /// Dial this port instead of 9142.
    pub endpoint_port: Option<u16>,
    /// A PEM file of extra trusted CAs, added to the Amazon roots (never replacing them).
    pub ca_file: Option<PathBuf>,
    pub read_consistency: ReadConsistency,
    /// Connections per Keyspaces host. One connection carries ~3,000 requests/s, far beyond
    /// what one Lambda container (one invocation at a time) can send, so one is the default.
    pub connections_per_host: NonZeroUsize,
    /// `KEYSPACES_HOSTS`: `one` (default) or `all` of the advertised hosts get a pool.
    pub hosts: PooledHosts,
    /// Client-side bound on one request (the store's `STORE_REQUEST_TIMEOUT_MS`).
    pub request_timeout: Duration,
    /// Bound on opening one connection and on fetching credentials (the store's
    /// `STORE_CONNECT_TIMEOUT_MS`).
    pub connect_timeout: Duration,
    /// The data center the driver stays in (the store's `STORE_LOCAL_DC`); `None` is the
    /// region, which is what Keyspaces reports as the data center of every host.
    pub local_dc: Option<String>,
}

impl KeyspacesConfig {
    pub fn new(region: impl Into<String>) -> Self {
        KeyspacesConfig {
            region: region.into(),
            endpoint_host: None,
            endpoint_port: None,
            ca_file: None,
            read_consistency: ReadConsistency::LocalQuorum,
            connections_per_host: NonZeroUsize::MIN,
            hosts: PooledHosts::One,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            local_dc: None,
        }
    }

    /// Reads `KEYSPACES_REGION` or `AWS_REGION`, and the optional `KEYSPACES_ENDPOINT`
    /// (`host` or `host:port`), `KEYSPACES_CA_FILE`, `KEYSPACES_READ_CONSISTENCY`
    /// (`LOCAL_ONE` | `LOCAL_QUORUM`), `KEYSPACES_CONNECTIONS_PER_HOST` and `KEYSPACES_HOSTS`
    /// (`one` | `all`).
    pub fn from_env() -> Result<Self, KeyspacesError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `from_env` over any lookup, so tests need not mutate the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, KeyspacesError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let region = get("KEYSPACES_REGION").or_else(|| get("AWS_REGION")).ok_or(KeyspacesError::MissingRegion)?;
        if !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid("AWS_REGION", &region, "a region looks like eu-west-1"));
        }
        let mut cfg = KeyspacesConfig::new(region);
        if let Some(endpoint) = get("KEYSPACES_ENDPOINT") {
            let (host, port) = split_host_port(&endpoint)?;
            cfg.endpoint_host = Some(host);
            cfg.endpoint_port = port;
        }
        cfg.ca_file = get("KEYSPACES_CA_FILE").map(PathBuf::from);
        if let Some(level) = get("KEYSPACES_READ_CONSISTENCY") {
            cfg.read_consistency = match level.to_ascii_uppercase().as_str() {
                "LOCAL_ONE" => ReadConsistency::LocalOne,
                "LOCAL_QUORUM" => ReadConsistency::LocalQuorum,
                _ => return Err(invalid("KEYSPACES_READ_CONSISTENCY", &level, "Keyspaces reads use LOCAL_ONE or LOCAL_QUORUM")),
            };
        }
        if let Some(n) = get("KEYSPACES_CONNECTIONS_PER_HOST") {
            cfg.connections_per_host = n
                .parse()
                .map_err(|_| invalid("KEYSPACES_CONNECTIONS_PER_HOST", &n, "a whole number of at least 1"))?;
        }
        if let Some(hosts) = get("KEYSPACES_HOSTS") {
            cfg.hosts = match hosts.to_ascii_lowercase().as_str() {
                "one" => PooledHosts::One,
                "all" => PooledHosts::All,
                _ => return Err(invalid("KEYSPACES_HOSTS", &hosts, "one (the host reached) or all (every advertised host)")),
            };
        }
        Ok(cfg)
    }

    /// The name the server certificate must carry, whatever address we dial.
    pub fn tls_name(&self) -> String {
        format!("cassandra.{}.amazonaws.com", self.region)
    }

    /// `host:port` to hand the driver as its contact point.
    pub fn contact_point(&self) -> String {
        let host = self.endpoint_host.clone().unwrap_or_else(|| self.tls_name());
        let port = self.endpoint_port.unwrap_or(KEYSPACES_PORT);
        if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
    }

    /// Writes on Keyspaces are always LOCAL_QUORUM: it refuses every other level.
    pub fn write_consistency(&self) -> Consistency {
        Consistency::LocalQuorum
    }

    pub fn read_consistency(&self) -> Consistency {
        self.read_consistency.consistency()
    }

    /// The data center the driver's load balancing stays in.
    pub fn local_dc(&self) -> &str {
        self.local_dc.as_deref().unwrap_or(&self.region)
    }
}

fn invalid(variable: &'static str, value: &str, reason: &str) -> KeyspacesError {
    KeyspacesError::InvalidSetting { variable, value: value.to_owned(), reason: reason.to_owned() }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(endpoint: &str) -> Result<(String, Option<u16>), KeyspacesError> {
    let bad = || invalid("KEYSPACES_ENDPOINT", endpoint, "expected host or host:port");
    let (host, port) = if let Some(rest) = endpoint.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match endpoint.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return Err(bad()),
            None => (endpoint, None),
        }
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port = port.map(|p| p.parse::<u16>().map_err(|_| bad())).transpose()?;
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<KeyspacesConfig, KeyspacesError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        KeyspacesConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn lambda_environment_gives_the_regional_endpoint_on_9142() {
        let cfg = from(&[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(cfg.contact_point(), "cassandra.eu-west-1.amazonaws.com:9142");
        assert_eq!(cfg.tls_name(), "cassandra.eu-west-1.amazonaws.com");
        assert_eq!(cfg.read_consistency(), Consistency::LocalQuorum);
        assert_eq!(cfg.write_consistency(), Consistency::LocalQuorum);
        assert_eq!(cfg.connections_per_host.get(), 1);
        assert_eq!(cfg.hosts, PooledHosts::One);
        assert_eq!(cfg.local_dc(), "eu-west-1", "Keyspaces' data center is the region");
    }

    #[test]
    fn overrides_change_where_we_dial_not_the_certificate_name() {
        let cfg = from(&[
            ("AWS_REGION", "us-east-1"),
            ("KEYSPACES_REGION", "eu-central-1"),
            ("KEYSPACES_ENDPOINT", "127.0.0.7:40001"),
            ("KEYSPACES_READ_CONSISTENCY", "local_one"),
            ("KEYSPACES_CONNECTIONS_PER_HOST", "3"),
            ("KEYSPACES_HOSTS", "All"),
        ])
        .unwrap();
        assert_eq!(cfg.hosts, PooledHosts::All);
        assert_eq!(cfg.contact_point(), "127.0.0.7:40001");
        assert_eq!(cfg.tls_name(), "cassandra.eu-central-1.amazonaws.com");
        assert_eq!(cfg.read_consistency(), Consistency::LocalOne);
        assert_eq!(cfg.connections_per_host.get(), 3);
        assert_eq!(from(&[("AWS_REGION", "x"), ("KEYSPACES_ENDPOINT", "[::1]:9")]).unwrap().contact_point(), "[::1]:9");
        assert_eq!(from(&[("AWS_REGION", "x"), ("KEYSPACES_ENDPOINT", "vpce.example")]).unwrap().contact_point(), "vpce.example:9142");
    }

    #[test]
    fn refuses_what_keyspaces_would_refuse_or_what_cannot_be_parsed() {
        assert!(matches!(from(&[]), Err(KeyspacesError::MissingRegion)));
        for (var, value) in [
            ("KEYSPACES_READ_CONSISTENCY", "QUORUM"),
            ("KEYSPACES_READ_CONSISTENCY", "ONE_PLEASE"),
            ("KEYSPACES_CONNECTIONS_PER_HOST", "0"),
            ("KEYSPACES_HOSTS", "two"),
            ("KEYSPACES_ENDPOINT", "host:notaport"),
            ("KEYSPACES_ENDPOINT", ":9142"),
        ] {
            let err = from(&[("AWS_REGION", "eu-west-1"), (var, value)]).unwrap_err();
            assert!(err.to_string().contains(var), "{err}");
        }
        assert!(from(&[("AWS_REGION", "eu west 1")]).is_err());
    }
}
