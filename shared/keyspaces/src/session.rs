//! The scylla `SessionBuilder` settings that make the driver a good Keyspaces client.
//!
//! Consistency: every statement defaults to LOCAL_QUORUM (the only write level Keyspaces
//! takes); reads may be lowered per statement to `KeyspacesConfig::read_consistency()`. The
//! driver's own queries never use QUORUM either: its metadata and peer queries run at the
//! connection default (LOCAL_QUORUM), its schema-version query at ONE, tracing at the level set
//! below, and the default retry policy never changes a level.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use scylla::client::PoolSize;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session_builder::SessionBuilder;
use scylla::cluster::metadata::Peer;
use scylla::cluster::NodeAddr;
use scylla::policies::host_filter::HostFilter;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::retry::DefaultRetryPolicy;
use scylla::statement::{Consistency, SerialConsistency};

use crate::auth::SigV4AuthProvider;
use crate::config::{KeyspacesConfig, PooledHosts};
use crate::credentials::RefreshingCredentials;
use crate::error::KeyspacesError;
use crate::tls;

/// Configures `builder` for Keyspaces: verified TLS, SigV4 with `credentials` (the Lambda
/// environment's in the functions, the standard chain's in the tools, a test's own), the
/// settings above. Fails, with the reason, when no credentials can be obtained in time.
pub async fn configure_with_credentials(
    builder: SessionBuilder,
    cfg: &KeyspacesConfig,
    credentials: Arc<RefreshingCredentials>,
) -> Result<SessionBuilder, KeyspacesError> {
    // Fetching once now turns "no credentials" into a start-up error instead of a
    // connection that fails to authenticate later.
    credentials.get().await?;
    let tls = tls::client_config(&cfg.tls_name(), cfg.ca_file.as_deref())?;
    let auth = SigV4AuthProvider::new(cfg.region.clone(), credentials);
    let pinned = match cfg.hosts {
        PooledHosts::One => pin_endpoint(cfg).await,
        PooledHosts::All => None,
    };
    Ok(pinned_settings(builder, cfg, pinned).tls_context(Some(tls)).authenticator_provider(Arc::new(auth)))
}

/// The address the endpoint resolves to now (its first), which the session then dials and
/// alone pools: the control connection and one pool on the same host, instead of a pool on
/// each of the ten hosts a public endpoint advertises (ten TLS handshakes and SigV4
/// exchanges per cold start, for a process that sends one request at a time). When the name
/// does not resolve, nothing is pinned and the driver reports it as it would have.
async fn pin_endpoint(cfg: &KeyspacesConfig) -> Option<SocketAddr> {
    let resolving = tokio::net::lookup_host(cfg.contact_point());
    match tokio::time::timeout(cfg.connect_timeout, resolving).await {
        Ok(Ok(mut addrs)) => addrs.next(),
        _ => None,
    }
}

/// Everything but TLS and authentication: endpoint, consistency, load balancing, metadata,
/// pool, timers. Request and connect timeouts and the local data center come from `cfg`
/// (the store's STORE_* settings), as they do for Cassandra. Pools every advertised host.
pub fn session_settings(builder: SessionBuilder, cfg: &KeyspacesConfig) -> SessionBuilder {
    pinned_settings(builder, cfg, None)
}

/// `session_settings`, dialling and pooling only `pinned` when given.
fn pinned_settings(builder: SessionBuilder, cfg: &KeyspacesConfig, pinned: Option<SocketAddr>) -> SessionBuilder {
    // Token-aware within the local data center only: a request never crosses regions.
    let lb = DefaultPolicy::builder()
        .token_aware(true)
        .prefer_datacenter(cfg.local_dc().to_owned())
        .permit_dc_failover(false)
        .build();
    let profile = ExecutionProfile::builder()
        .consistency(cfg.write_consistency())
        .serial_consistency(Some(SerialConsistency::LocalSerial))
        .request_timeout(Some(cfg.request_timeout))
        .retry_policy(Arc::new(DefaultRetryPolicy::new()))
        .load_balancing_policy(lb)
        .build();
    let filter = KeyspacesHostFilter { loopback: LoopbackPeerFilter::for_config(cfg), only: pinned };
    let builder = match pinned {
        Some(addr) => builder.known_node_addr(addr),
        None => builder.known_node(cfg.contact_point()),
    };
    builder
        .default_execution_profile_handle(profile.into_handle())
        // Keyspaces's schema tables are large and the app needs none of them.
        .fetch_schema_metadata(false)
        // Keyspaces creates tables asynchronously (CREATING -> ACTIVE): schema agreement
        // says nothing useful there; the schema tool waits for ACTIVE instead.
        .auto_await_schema_agreement(false)
        .tracing_info_fetch_consistency(Consistency::LocalOne)
        .host_filter(Arc::new(filter))
        .pool_size(PoolSize::PerHost(cfg.connections_per_host))
        .connection_timeout(cfg.connect_timeout)
        // A frozen Lambda sends nothing; after a thaw, a dead connection must be noticed by
        // the first keepalive rather than by a request timing out.
        .keepalive_interval(Duration::from_secs(30))
        .keepalive_timeout(Duration::from_secs(10))
        .tcp_keepalive_interval(Duration::from_secs(30))
        .tcp_nodelay(true)
}

/// The hosts that get a pool: only `only` when pinned, and never a loopback peer of a real
/// endpoint.
#[derive(Debug, Clone)]
struct KeyspacesHostFilter {
    loopback: LoopbackPeerFilter,
    only: Option<SocketAddr>,
}

impl HostFilter for KeyspacesHostFilter {
    fn accept(&self, peer: &Peer) -> bool {
        let pinned = match (self.only, peer.address) {
            (None, _) => true,
            (Some(only), NodeAddr::Translatable(addr) | NodeAddr::Untranslatable(addr)) => addr == only,
            (Some(_), _) => false,
        };
        pinned && self.loopback.accept(peer)
    }
}

/// Drops peers advertised at loopback addresses, which can never be Keyspaces hosts when we
/// dial a real endpoint. When the contact point itself is loopback (a local test double),
/// every peer is kept.
#[derive(Debug, Clone)]
pub struct LoopbackPeerFilter {
    dialling_loopback: bool,
}

impl LoopbackPeerFilter {
    pub fn for_config(cfg: &KeyspacesConfig) -> Self {
        let dialling_loopback = cfg
            .endpoint_host
            .as_deref()
            .is_some_and(|h| h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()));
        LoopbackPeerFilter { dialling_loopback }
    }

    /// Whether a peer at `addr` (as found in system.peers) is used.
    pub fn accepts_peer_address(&self, addr: IpAddr) -> bool {
        self.dialling_loopback || !addr.is_loopback()
    }
}

impl HostFilter for LoopbackPeerFilter {
    fn accept(&self, peer: &Peer) -> bool {
        match peer.address {
            NodeAddr::Translatable(addr) => self.accepts_peer_address(addr.ip()),
            // The contact point we were given is always kept.
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_peers_are_dropped_only_when_dialling_a_real_endpoint() {
        let real = LoopbackPeerFilter::for_config(&KeyspacesConfig::new("eu-west-1"));
        assert!(!real.accepts_peer_address("127.0.0.1".parse().unwrap()));
        assert!(!real.accepts_peer_address("::1".parse().unwrap()));
        assert!(real.accepts_peer_address("3.248.244.41".parse().unwrap()));

        let mut local = KeyspacesConfig::new("eu-west-1");
        local.endpoint_host = Some("127.0.0.2".into());
        assert!(LoopbackPeerFilter::for_config(&local).accepts_peer_address("127.0.0.3".parse().unwrap()));
    }
}
