//! Several nodes in one process: node `i` listens on 127.0.0.(i+1), all on the same port, all
//! serving one shared engine, each listing the others in `system.peers` with evenly spread
//! tokens. A driver discovers them all and routes by token.
//!
//! With the Cassandra profile and more than one node, each node holds its own copy of the data
//! and requests go through a replica layer (`crate::replication`, docs/REPLICATION.md): a
//! write reaches the running replicas and is hinted to the others (delivered `hint_delay` after
//! they are back), a read merges the copies it contacts; each keyspace's replicas come from its
//! replication (SimpleStrategy, NetworkTopologyStrategy over the nodes' data centers and
//! racks, see `placement`), consistency levels are checked against the replicas believed
//! alive, a node stopped abruptly (`stop_node`) goes unnoticed for the detection delay on the
//! engine's clock (requests needing it time out meanwhile), a clean stop is known at once.
//! One fault registry serves every node; an optional Keyspaces profile shapes all of them
//! (TLS, SigV4, rules; no replica layer: Keyspaces manages its own).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cql_node::cluster::Cluster;
//! let mut cluster = Cluster::builder().nodes(3).start().await?;
//! let contact_points = cluster.contact_points(); // 127.0.0.1:P, 127.0.0.2:P, 127.0.0.3:P
//! cluster.stop_node(1).await;                     // 127.0.0.2 dies (kill -9): unnoticed for a while
//! cluster.convict(1);                             // known down now (or advance the clock)
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
use crate::replication::liveness::State;
use crate::replication::{ReplicationConfig, Replicas};
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
    replication: ReplicationConfig,
    /// (data center, rack) per node, cycled; default all in datacenter1/rack1.
    placement: Vec<(String, String)>,
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
            replication: ReplicationConfig::default(),
            placement: Vec::new(),
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

    /// Where each node sits, as (data center, rack), node `i` taking entry `i` (cycled):
    /// e.g. `[("dc1","r1"), ("dc1","r2"), ("dc2","r1")]`. Shown in `system.local`/`peers`
    /// and used by NetworkTopologyStrategy. Ignored with the Keyspaces profile.
    pub fn placement<D: Into<String>, R: Into<String>>(mut self, places: impl IntoIterator<Item = (D, R)>) -> Self {
        self.placement = places.into_iter().map(|(d, r)| (d.into(), r.into())).collect();
        self
    }
    /// How long an abruptly stopped node goes unnoticed (on the engine's clock); default
    /// ≈18.4 s as Cassandra's failure detector.
    pub fn detection_delay(mut self, delay: Duration) -> Self {
        self.replication.detection_delay = delay;
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

    /// How long after a node is seen up again the hints for the writes it missed are
    /// delivered, on the engine's clock; default 10 s (Cassandra's hint dispatch period).
    /// Until then a read it serves alone can be stale. `Cluster::deliver_hints` skips it.
    pub fn hint_delay(mut self, delay: Duration) -> Self {
        self.replication.hint_delay = delay;
        self
    }

    /// How long a request waits for replicas that never answer before WriteTimeout /
    /// ReadTimeout; default 2 s and 5 s as Cassandra's `write_request_timeout` and
    /// `read_request_timeout`.
    pub fn request_timeouts(mut self, write: Duration, read: Duration) -> Self {
        self.replication.write_timeout = write;
        self.replication.read_timeout = read;
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
            let infos = self.infos(&addresses, port);
            // A lone node, and Keyspaces (which manages its replicas), answer for every key.
            let replicas = (count > 1 && self.keyspaces.is_none()).then(|| Replicas::new(&infos, engine.clone(), self.replication));
            let mut cluster = Cluster {
                m: Arc::new(Members {
                    infos,
                    replicas,
                    nodes: Mutex::new((0..count).map(|_| None).collect()),
                    port,
                    engine: engine.clone(),
                    faults: self.faults.clone(),
                    keyspaces: self.keyspaces.clone(),
                    authenticator: self.authenticator.clone(),
                    droppers: Arc::new(Mutex::new(vec![None; count])),
                    advertise: self.advertise.clone(),
                }),
            };
            match cluster.start_all().await {
                Ok(()) => {
                    cluster.spawn_detector();
                    return Ok(cluster);
                }
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
            None => {
                let mut infos = topology::node_infos(addresses, port, CLUSTER_NAME, DATA_CENTER, RACK, RELEASE_VERSION, MURMUR3);
                self.place(&mut infos);
                infos
            }
        }
    }

    /// Applies `placement` to every node's own row and to its view of its peers.
    fn place(&self, infos: &mut [NodeInfo]) {
        if self.placement.is_empty() {
            return;
        }
        let of = |i: usize| &self.placement[i % self.placement.len()];
        let by_address: Vec<(IpAddr, (String, String))> = infos.iter().enumerate().map(|(i, n)| (n.address, of(i).clone())).collect();
        for (i, info) in infos.iter_mut().enumerate() {
            (info.data_center, info.rack) = of(i).clone();
            for peer in &mut info.peers {
                if let Some((_, (dc, rack))) = by_address.iter().find(|(a, _)| *a == peer.address) {
                    (peer.data_center, peer.rack) = (dc.clone(), rack.clone());
                }
            }
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
    m: Arc<Members>,
}

/// What a cluster is made of, shared with its `NodeControl` handles.
struct Members {
    infos: Vec<NodeInfo>,
    /// The replica layer every node coordinates through; `None` for one node or Keyspaces.
    replicas: Option<Arc<Replicas>>,
    nodes: Mutex<Vec<Option<Node>>>,
    port: u16,
    engine: Engine,
    faults: FaultRegistry,
    keyspaces: Option<KeyspacesProfile>,
    authenticator: Option<Arc<dyn Authenticator>>,
    /// Running nodes' connection droppers, by index, for DropConnections faults.
    droppers: Arc<Mutex<Vec<Option<ConnectionDropper>>>>,
    /// What each node says its address is, when not the one it listens on.
    advertise: Vec<SocketAddr>,
}

impl Cluster {
    pub fn builder() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    async fn start_all(&mut self) -> Result<(), StartError> {
        for i in 0..self.len() {
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
        (0..self.len()).map(|i| self.node_addr(i)).collect()
    }

    pub fn node_addr(&self, index: usize) -> SocketAddr {
        self.m.node_addr(index)
    }

    pub fn port(&self) -> u16 {
        self.m.port
    }

    pub fn len(&self) -> usize {
        self.m.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.m.infos.is_empty()
    }

    pub fn node_info(&self, index: usize) -> &NodeInfo {
        &self.m.infos[index]
    }

    pub fn is_running(&self, index: usize) -> bool {
        self.m.nodes.lock()[index].is_some()
    }

    pub fn engine(&self) -> &Engine {
        &self.m.engine
    }

    /// The registry every node consults: inject and clear faults here.
    pub fn faults(&self) -> &FaultRegistry {
        &self.m.faults
    }

    /// Moves the clock of the engine every node serves forward by `by` (never back): TTLs
    /// expire, server-side timestamps and now() jump. Returns the total offset.
    pub fn advance_clock(&self, by: Duration) -> Duration {
        let total = self.m.engine.advance_clock(by);
        // Time passed for the failure detector and the batch log too.
        if let Some(r) = &self.m.replicas {
            r.refresh();
        }
        total
    }

    /// The engine's clock, e.g. to `freeze()` it so "just before a TTL" is exact.
    pub fn clock(&self) -> Clock {
        self.m.engine.clock()
    }

    pub fn keyspaces(&self) -> Option<&KeyspacesProfile> {
        self.m.keyspaces.as_ref()
    }

    /// Stops one node abruptly, as `kill -9` would: its port closes and its connections
    /// drop, and nothing is announced. The others believe it alive until the detection delay
    /// has passed on the engine's clock (`advance_clock`) or it is `convict`ed; meanwhile
    /// requests that need it time out.
    pub async fn stop_node(&mut self, index: usize) {
        self.m.stop_node(index, false).await;
    }

    /// Stops one node cleanly (drain, then a shutdown announced by gossip): the others know
    /// it is down at once, and registered drivers get STATUS_CHANGE DOWN.
    pub async fn stop_node_cleanly(&mut self, index: usize) {
        self.m.stop_node(index, true).await;
    }

    /// Marks an abruptly stopped node down now, as the failure detector would once the delay
    /// has passed (Cassandra's `FailureDetector.forceConviction`); a no-op otherwise.
    pub fn convict(&self, index: usize) {
        if let Some(r) = &self.m.replicas {
            r.convict(index);
        }
    }

    /// What the other nodes believe of node `index`: up, stopped but unnoticed, or down
    /// (`None` without a replica layer).
    pub fn node_state(&self, index: usize) -> Option<State> {
        self.m.state(index)
    }

    /// Delivers now the hints of every node that is up (each to that node's copy of the
    /// data), without waiting for the hint delay; returns how many. 0 without a replica layer.
    pub fn deliver_hints(&self) -> usize {
        self.m.replicas.as_ref().map_or(0, |r| r.deliver_hints())
    }

    /// The replica layer, if any (timeouts, batch log, hints).
    pub fn replicas(&self) -> Option<&Arc<Replicas>> {
        self.m.replicas.as_ref()
    }

    /// A handle that stops and restarts this cluster's nodes from elsewhere (the binary's
    /// admin API), while the cluster itself stays where it is.
    pub fn control(&self) -> NodeControl {
        NodeControl(self.m.clone())
    }

    /// Runs the failure detector and the batch log replay on real time too (four times a
    /// second), so a node killed in `make run` is noticed without anyone moving the clock.
    /// It ends once the cluster is stopped and dropped.
    fn spawn_detector(&self) {
        let Some(r) = &self.m.replicas else { return };
        let weak = Arc::downgrade(r);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(r) => r.refresh(),
                    None => return,
                }
            }
        });
    }

    /// Starts a stopped node again on the same address and port with the same identity and
    /// data (a no-op when it is running).
    pub async fn restart_node(&mut self, index: usize) -> Result<(), StartError> {
        self.m.start_node(index).await
    }

    /// Closes every client connection of every running node (the nodes keep listening), as
    /// when the network drops a frozen Lambda's idle sockets.
    pub fn drop_connections(&self) {
        for node in self.m.nodes.lock().iter().flatten() {
            node.drop_connections();
        }
    }

    pub async fn stop(mut self) {
        for i in 0..self.len() {
            self.stop_node(i).await;
        }
    }
}

impl Members {
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

    fn node_addr(&self, index: usize) -> SocketAddr {
        SocketAddr::new(self.infos[index].address, self.port)
    }

    fn state(&self, index: usize) -> Option<State> {
        self.replicas.as_ref().map(|r| {
            r.refresh();
            r.state(index)
        })
    }

    async fn stop_node(&self, index: usize, cleanly: bool) {
        let Some(node) = self.nodes.lock()[index].take() else { return };
        self.droppers.lock()[index] = None;
        if let (Some(r), false) = (&self.replicas, cleanly) {
            r.stopped_abruptly(index);
        }
        node.stop().await;
        if let (Some(r), true) = (&self.replicas, cleanly) {
            r.stopped_cleanly(index);
        }
    }

    async fn start_node(&self, index: usize) -> Result<(), StartError> {
        if self.nodes.lock()[index].is_some() {
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
        if let Some(r) = &self.replicas {
            builder = builder.replicas(r.clone(), index);
        }
        if let Some(profile) = &self.keyspaces {
            builder = builder.authenticator(Arc::new(profile.authenticator())).tls(profile.tls.acceptor());
        } else if let Some(auth) = &self.authenticator {
            builder = builder.authenticator(auth.clone());
        }
        let node = builder.start().await?;
        self.droppers.lock()[index] = Some(node.connection_dropper());
        self.nodes.lock()[index] = Some(node);
        if let Some(r) = &self.replicas {
            r.started(index);
        }
        Ok(())
    }
}

/// Stops and restarts a cluster's nodes from another task (see `Cluster::control`).
#[derive(Clone)]
pub struct NodeControl(Arc<Members>);

/// One node as the admin API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeStatus {
    pub index: usize,
    pub address: SocketAddr,
    pub data_center: String,
    pub rack: String,
    pub running: bool,
    /// What the other nodes believe: "up", "unnoticed" (stopped, not yet detected), "down";
    /// "up" when there is no replica layer and it runs.
    pub state: &'static str,
    /// Hints waiting for it: writes it missed, not yet delivered.
    pub hints: usize,
}

impl NodeControl {
    pub fn len(&self) -> usize {
        self.0.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.infos.is_empty()
    }

    pub fn status(&self, index: usize) -> NodeStatus {
        let running = self.0.nodes.lock()[index].is_some();
        let state = match self.0.state(index) {
            Some(State::Up) => "up",
            Some(State::Unnoticed { .. }) => "unnoticed",
            Some(State::Down) => "down",
            None if running => "up",
            None => "down",
        };
        let info = &self.0.infos[index];
        NodeStatus {
            index,
            address: self.0.node_addr(index),
            data_center: info.data_center.clone(),
            rack: info.rack.clone(),
            running,
            state,
            hints: self.0.replicas.as_ref().map_or(0, |r| r.hints_for(index)),
        }
    }

    /// `Cluster::deliver_hints`.
    pub fn deliver_hints(&self) -> usize {
        self.0.replicas.as_ref().map_or(0, |r| r.deliver_hints())
    }

    /// `Cluster::stop_node` (abrupt) or `stop_node_cleanly`.
    pub async fn stop(&self, index: usize, cleanly: bool) {
        self.0.stop_node(index, cleanly).await;
    }

    /// `Cluster::restart_node`.
    pub async fn start(&self, index: usize) -> Result<(), StartError> {
        self.0.start_node(index).await
    }

    /// `Cluster::convict`.
    pub fn convict(&self, index: usize) {
        if let Some(r) = &self.0.replicas {
            r.convict(index);
        }
    }
}
