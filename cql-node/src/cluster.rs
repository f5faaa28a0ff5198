//! Several nodes in one process: node `i` listens on 127.0.0.(i+1), all on the same port, all
//! serving one shared engine (every node answers for every key, as with RF = N), each listing
//! the others in `system.peers` with evenly spread tokens. A driver discovers them all and
//! routes by token; tests stop and restart any node to see the driver cope. One fault registry
//! serves every node; an optional Keyspaces profile shapes all of them (TLS, SigV4, rules).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cql_node::cluster::Cluster;
//! let mut cluster = Cluster::builder().nodes(3).start().await?;
//! let contact_points = cluster.contact_points(); // 127.0.0.1:P, 127.0.0.2:P, 127.0.0.3:P
//! cluster.stop_node(1).await;                     // 127.0.0.2 goes down
//! cluster.restart_node(1).await?;                 // and comes back with the same identity
//! cluster.stop().await;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::auth::Authenticator;
use crate::engine::clock::Clock;
use crate::engine::{Engine, EngineConfig, NodeInfo};
use crate::faults::FaultRegistry;
use crate::faults::hook::NodeHook;
use crate::keyspaces::KeyspacesProfile;
use crate::keyspaces::topology;
use crate::server::{ConnectionDropper, Node, StartError};

/// Cassandra-4.1-like identity for plain (non-Keyspaces) clusters.
const CLUSTER_NAME: &str = "Test Cluster";
const DATA_CENTER: &str = "datacenter1";
const RACK: &str = "rack1";
const RELEASE_VERSION: &str = "4.1.7";
const MURMUR3: &str = "org.apache.cassandra.dht.Murmur3Partitioner";

/// How many free ports to try when the caller lets us pick one.
const PORT_ATTEMPTS: usize = 8;

pub struct ClusterBuilder {
    /// `None`: 3 nodes, or with the Keyspaces profile the public endpoint's topology.
    nodes: Option<usize>,
    first_address: Ipv4Addr,
    port: u16,
    authenticator: Option<Arc<dyn Authenticator>>,
    engine: Option<Engine>,
    faults: FaultRegistry,
    keyspaces: Option<KeyspacesProfile>,
    advertise: Vec<SocketAddr>,
}

impl Default for ClusterBuilder {
    fn default() -> Self {
        Self {
            nodes: None,
            first_address: Ipv4Addr::new(127, 0, 0, 1),
            port: 0,
            authenticator: None,
            engine: None,
            faults: FaultRegistry::new(),
            keyspaces: None,
            advertise: Vec::new(),
        }
    }
}

impl ClusterBuilder {
    /// How many nodes (1 to 254); default 3, or with the Keyspaces profile what a client of
    /// a public Keyspaces endpoint sees (`topology::PUBLIC_ENDPOINT_HOSTS`: the endpoint it
    /// reached and nine peers).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = Some(n.clamp(1, 254));
        self
    }

    fn node_count(&self) -> usize {
        match (self.nodes, &self.keyspaces) {
            (Some(n), _) => n,
            (None, Some(_)) => topology::PUBLIC_ENDPOINT_HOSTS,
            (None, None) => 3,
        }
    }
    /// Node 0's address; node `i` gets the `i`-th next one. Default 127.0.0.1.
    pub fn first_address(mut self, addr: Ipv4Addr) -> Self {
        self.first_address = addr;
        self
    }
    /// An authenticator for every node (e.g. PasswordAuthenticator); the Keyspaces profile
    /// brings its own and ignores this.
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(auth);
        self
    }
    /// The port every node listens on; default 0: a free one picked at start.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// The store to serve; default a fresh in-memory engine.
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }
    /// A registry to share with the caller (e.g. one the admin HTTP API also serves).
    pub fn faults(mut self, faults: FaultRegistry) -> Self {
        self.faults = faults;
        self
    }
    /// Serve as Amazon Keyspaces: TLS, SigV4, its rules and system tables.
    pub fn keyspaces(mut self, profile: KeyspacesProfile) -> Self {
        self.keyspaces = Some(profile);
        self
    }

    /// The address and port node `i` gives in `system.local` and the others' `system.peers`
    /// instead of the one it listens on, as a container behind a port mapping does (Docker
    /// Desktop: the host reaches 127.0.0.1:9043, the node says 172.20.0.3:9042). A driver
    /// then needs an address translation to reach the peers. One entry per node.
    pub fn advertise(mut self, addresses: Vec<SocketAddr>) -> Self {
        self.advertise = addresses;
        self
    }

    pub async fn start(self) -> Result<Cluster, StartError> {
        let engine = match self.engine.clone() {
            Some(e) => e,
            None => Engine::open(EngineConfig::default()).map_err(StartError::Engine)?,
        };
        // The admin HTTP API reaches the clock through the registry it serves.
        self.faults.attach_clock(engine.clock());
        if let Some(profile) = &self.keyspaces {
            engine.use_keyspaces_rules();
            profile.ddl.follow(engine.schema_events());
            crate::keyspaces::mcs_tables::register(&engine, &profile.ddl).map_err(StartError::Engine)?;
        }
        let first = u32::from(self.first_address);
        let count = self.node_count();
        let addresses: Vec<IpAddr> = (0..count).map(|i| IpAddr::V4(Ipv4Addr::from(first.wrapping_add(i as u32)))).collect();
        let mut last_error = None;
        let attempts = if self.port == 0 { PORT_ATTEMPTS } else { 1 };
        for _ in 0..attempts {
            let port = if self.port == 0 { free_port()? } else { self.port };
            let mut cluster = Cluster {
                infos: self.infos(&addresses, port),
                nodes: (0..count).map(|_| None).collect(),
                port,
                engine: engine.clone(),
                faults: self.faults.clone(),
                keyspaces: self.keyspaces.clone(),
                authenticator: self.authenticator.clone(),
                droppers: Arc::new(Mutex::new(vec![None; count])),
                advertise: self.advertise.clone(),
            };
            match cluster.start_all().await {
                Ok(()) => return Ok(cluster),
                Err(e) => {
                    // Another process took the port on one of the addresses: try another.
                    cluster.stop().await;
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    fn infos(&self, addresses: &[IpAddr], port: u16) -> Vec<NodeInfo> {
        match &self.keyspaces {
            Some(profile) => topology::keyspaces_node_infos(addresses, port, &profile.config.region),
            None => topology::node_infos(addresses, port, CLUSTER_NAME, DATA_CENTER, RACK, RELEASE_VERSION, MURMUR3),
        }
    }
}

/// A port free on 127.0.0.1 right now (the OS picks it).
fn free_port() -> Result<u16, StartError> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let probe = std::net::TcpListener::bind(any).map_err(|source| StartError::Bind { addr: any, source })?;
    probe.local_addr().map(|a| a.port()).map_err(|source| StartError::Bind { addr: any, source })
}

/// A running set of nodes. Stop it with `stop` (dropping it leaves the nodes serving until
/// the runtime ends).
pub struct Cluster {
    infos: Vec<NodeInfo>,
    nodes: Vec<Option<Node>>,
    port: u16,
    engine: Engine,
    faults: FaultRegistry,
    keyspaces: Option<KeyspacesProfile>,
    authenticator: Option<Arc<dyn Authenticator>>,
    /// Running nodes' connection droppers, by index, for DropConnections faults.
    droppers: Arc<Mutex<Vec<Option<ConnectionDropper>>>>,
    advertise: Vec<SocketAddr>,
}

impl Cluster {
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    async fn start_all(&mut self) -> Result<(), StartError> {
        for i in 0..self.nodes.len() {
            self.restart_node(i).await?;
        }
        Ok(())
    }

    /// Node 0's address (a driver's contact point; it discovers the others).
    pub fn addr(&self) -> SocketAddr {
        self.node_addr(0)
    }

    /// Every node's address, running or not: what a driver gets as contact points.
    pub fn contact_points(&self) -> Vec<SocketAddr> {
        self.infos.iter().map(|i| SocketAddr::new(i.address, self.port)).collect()
    }

    pub fn node_addr(&self, index: usize) -> SocketAddr {
        SocketAddr::new(self.infos[index].address, self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node_info(&self, index: usize) -> &NodeInfo {
        &self.infos[index]
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.nodes[index].is_some()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The registry every node consults: inject and clear faults here.
    pub fn faults(&self) -> &FaultRegistry {
        &self.faults
    }

    /// Moves the clock of the engine every node serves forward by `by` (never back): TTLs
    /// expire, server-side timestamps and now() jump. Returns the total offset.
    pub fn advance_clock(&self, by: Duration) -> Duration {
        self.engine.advance_clock(by)
    }

    /// The engine's clock, e.g. to `freeze()` it so "just before a TTL" is exact.
    pub fn clock(&self) -> Clock {
        self.engine.clock()
    }

    pub fn keyspaces(&self) -> Option<&KeyspacesProfile> {
        self.keyspaces.as_ref()
    }

    /// Stops one node: its port closes and its connections drop; the others keep serving.
    pub async fn stop_node(&mut self, index: usize) {
        if let Some(node) = self.nodes[index].take() {
            self.droppers.lock()[index] = None;
            node.stop().await;
        }
    }

    /// Starts a stopped node again on the same address and port with the same identity and
    /// data (a no-op when it is running).
    pub async fn restart_node(&mut self, index: usize) -> Result<(), StartError> {
        if self.nodes[index].is_some() {
            return Ok(());
        }
        let droppers = self.droppers.clone();
        let drop_all = Arc::new(move || droppers.lock().iter().flatten().for_each(ConnectionDropper::drop_connections));
        let hook = NodeHook::new(self.faults.clone(), self.keyspaces.clone()).with_drop_all(drop_all).into_arc();
        let mut builder = Node::builder()
            .bind(self.node_addr(index))
            .engine(self.engine.clone())
            .node_info(self.served_info(index))
            .hook(hook);
        if let Some(profile) = &self.keyspaces {
            builder = builder.authenticator(Arc::new(profile.authenticator())).tls(profile.tls.acceptor());
        } else if let Some(auth) = &self.authenticator {
            builder = builder.authenticator(auth.clone());
        }
        let node = builder.start().await?;
        self.droppers.lock()[index] = Some(node.connection_dropper());
        self.nodes[index] = Some(node);
        Ok(())
    }

    /// What node `index` says about itself and its peers: its identity, with the advertised
    /// addresses (`ClusterBuilder::advertise`) in place of the listening ones.
    fn served_info(&self, index: usize) -> NodeInfo {
        let mut info = self.infos[index].clone();
        let advertised = |host_id| self.infos.iter().position(|i| i.host_id == host_id).and_then(|j| self.advertise.get(j));
        if let Some(a) = advertised(info.host_id) {
            (info.address, info.native_port) = (a.ip(), a.port());
        }
        for peer in &mut info.peers {
            if let Some(a) = advertised(peer.host_id) {
                (peer.address, peer.native_port) = (a.ip(), a.port());
            }
        }
        info
    }

    /// Closes every client connection of every running node (the nodes keep listening), as
    /// when the network drops a frozen Lambda's idle sockets.
    pub fn drop_connections(&self) {
        for node in self.nodes.iter().flatten() {
            node.drop_connections();
        }
    }

    pub async fn stop(mut self) {
        for i in 0..self.nodes.len() {
            self.stop_node(i).await;
        }
    }
}
