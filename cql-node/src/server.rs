//! The node: a TCP (optionally TLS) listener serving the CQL native protocol v4 over a shared
//! `Engine`. `NodeBuilder` configures it, `Node` is the running handle (address, stop,
//! dropping client connections). One task per connection reads frames; requests run
//! concurrently and their responses are written back in completion order (see `connection`).

mod connection;
mod coordinator;
mod describe;
mod hook;

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

pub use hook::{HookAction, HookDecision, Operation, RequestHook, RequestInfo};

use crate::auth::Authenticator;
use crate::engine::{Engine, EngineConfig, NodeInfo};
use crate::error::CqlError;
use crate::replication::Replicas;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("cannot open the engine: {0}")]
    Engine(CqlError),
}

/// Builds a node. Every setting has a default fit for tests:
///
/// - `bind(addr)`: where to listen; default `127.0.0.1:0` (an ephemeral port; read it back
///   with `Node::addr`). The binary passes `127.0.0.1:9042`. Several nodes may listen on
///   `127.0.0.1`, `127.0.0.2`, ... with the same port.
/// - `engine(engine)`: the data to serve. Default: a fresh in-memory engine. Pass a clone of
///   another node's engine to share one store between nodes, or to stop a node and start a
///   new one on the same address that keeps the data.
/// - `node_info(info)`: who this node says it is in `system.local`/`system.peers` (cluster
///   name, data center, tokens, peers...). Default: a single Cassandra 4.1-like node whose
///   address and port are the bound ones. A given `NodeInfo` with `native_port == 0` gets the
///   bound port filled in.
/// - `authenticator(auth)`: `None` (default) answers STARTUP with READY; otherwise
///   AUTHENTICATE with `auth.class_name()` and a SASL exchange driven by
///   `auth.new_session()` (see `crate::auth`: `PasswordAuthenticator` here, SigV4 plugs in
///   the same way).
/// - `tls(acceptor)`: wrap every accepted connection in TLS with this `tokio_rustls`
///   acceptor (the handshake runs in the connection's task, so a slow client delays no one).
/// - `hook(hook)`: called before each QUERY/EXECUTE/BATCH (and PREPARE, with no
///   consistency) with the statement kind, text and consistency; it may let it proceed,
///   answer an error instead, add a delay first, or drop every client connection of the node
///   (`HookDecision`). This is where profile rules and fault injection plug in.
/// - `max_in_flight(n)`: requests served concurrently per connection (default 1024); once
///   reached, the connection stops reading until one completes (back-pressure, not errors).
pub struct NodeBuilder {
    bind: SocketAddr,
    engine: Option<Engine>,
    node_info: Option<NodeInfo>,
    authenticator: Option<Arc<dyn Authenticator>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    hook: Option<Arc<dyn RequestHook>>,
    max_in_flight: usize,
    replicas: Option<ReplicaSeat>,
}

/// A node's seat in a cluster's replica layer: the layer and the node's index in it.
#[derive(Clone)]
pub struct ReplicaSeat {
    pub replicas: Arc<Replicas>,
    pub index: usize,
}

impl Default for NodeBuilder {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            engine: None,
            node_info: None,
            authenticator: None,
            tls: None,
            hook: None,
            max_in_flight: 1024,
            replicas: None,
        }
    }
}

impl NodeBuilder {
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }
    pub fn engine(mut self, engine: Engine) -> Self {
        self.engine = Some(engine);
        self
    }
    pub fn node_info(mut self, info: NodeInfo) -> Self {
        self.node_info = Some(info);
        self
    }
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.authenticator = Some(auth);
        self
    }
    pub fn tls(mut self, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }
    pub fn hook(mut self, hook: Arc<dyn RequestHook>) -> Self {
        self.hook = Some(hook);
        self
    }
    /// Coordinate requests through a cluster's replica layer as node `index` (consistency
    /// levels checked against live replicas, timeouts for unnoticed dead ones). Default none:
    /// the node answers for every key, as a lone node does.
    pub fn replicas(mut self, replicas: Arc<Replicas>, index: usize) -> Self {
        self.replicas = Some(ReplicaSeat { replicas, index });
        self
    }
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Binds, then serves in background tasks until `Node::stop` (or the runtime ends).
    pub async fn start(self) -> Result<Node, StartError> {
        let engine = match self.engine {
            Some(e) => e,
            None => Engine::open(EngineConfig::default()).map_err(StartError::Engine)?,
        };
        let listener = TcpListener::bind(self.bind).await.map_err(|source| StartError::Bind { addr: self.bind, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: self.bind, source })?;
        let mut info = self.node_info.unwrap_or_else(|| default_node_info(addr));
        if info.native_port == 0 {
            info.native_port = addr.port();
        }
        let root = CancellationToken::new();
        let shared = Arc::new(Shared {
            engine: engine.clone(),
            info: Arc::new(info),
            authenticator: self.authenticator,
            hook: self.hook,
            max_in_flight: self.max_in_flight,
            replicas: self.replicas,
            epoch: Mutex::new(root.child_token()),
            root: root.clone(),
            tracker: TaskTracker::new(),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone(), self.tls));
        tracing::info!(%addr, "CQL node listening");
        Ok(Node { addr, shared, accept: Some(accept) })
    }
}

/// The identity of a lone node: Cassandra 4.1 defaults, 16 evenly spread tokens.
pub fn default_node_info(addr: SocketAddr) -> NodeInfo {
    // 2^64 / 16 apart, starting at the smallest token; i128 keeps the arithmetic exact.
    let token = |i: i128| (i64::MIN as i128 + i * (1i128 << 60)) as i64;
    NodeInfo {
        cluster_name: "Test Cluster".into(),
        data_center: "datacenter1".into(),
        rack: "rack1".into(),
        release_version: "4.1.7".into(),
        partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
        host_id: Uuid::new_v4(),
        address: addr.ip(),
        native_port: addr.port(),
        tokens: (0..16).map(token).collect(),
        peers: Vec::new(),
    }
}

/// What every connection of one node shares.
pub(crate) struct Shared {
    pub engine: Engine,
    pub info: Arc<NodeInfo>,
    pub authenticator: Option<Arc<dyn Authenticator>>,
    pub hook: Option<Arc<dyn RequestHook>>,
    pub max_in_flight: usize,
    pub replicas: Option<ReplicaSeat>,
    /// Cancelled (and replaced) to drop the current client connections.
    epoch: Mutex<CancellationToken>,
    /// Cancelled once, to stop the node.
    root: CancellationToken,
    tracker: TaskTracker,
}

impl Shared {
    pub fn drop_connections(&self) {
        let mut epoch = self.epoch.lock();
        epoch.cancel();
        *epoch = self.root.child_token();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<tokio_rustls::TlsAcceptor>) {
    loop {
        let accepted = tokio::select! {
            _ = shared.root.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (socket, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Usually EMFILE or a connection reset before accept: keep serving the others.
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let cancel = shared.epoch.lock().child_token();
        let conn_shared = shared.clone();
        let tls = tls.clone();
        shared.tracker.spawn(async move {
            tracing::debug!(%peer, "connection opened");
            match tls {
                None => connection::serve(socket, conn_shared, cancel).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        _ = cancel.cancelled() => return,
                        h = acceptor.accept(socket) => h,
                    };
                    match handshake {
                        Ok(stream) => connection::serve(stream, conn_shared, cancel).await,
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                }
            }
            tracing::debug!(%peer, "connection closed");
        });
    }
    // Dropping the listener here closes the port before `stop` returns.
}

/// A running node. Dropping it without `stop` leaves it serving until the runtime shuts down.
#[derive(Clone)]
pub struct ConnectionDropper(Arc<Shared>);

impl ConnectionDropper {
    pub fn drop_connections(&self) {
        self.0.drop_connections();
    }
}

pub struct Node {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Node {
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }

    /// Starts a node with every default: in-memory engine, 127.0.0.1, an ephemeral port.
    pub async fn start_default() -> Result<Node, StartError> {
        NodeBuilder::default().start().await
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn engine(&self) -> &Engine {
        &self.shared.engine
    }

    pub fn node_info(&self) -> &NodeInfo {
        &self.shared.info
    }

    /// Moves the clock of this node's engine forward by `by` (never back): TTLs expire,
    /// server-side timestamps and now() jump. Returns the total offset. Shared by every node
    /// serving the same engine.
    pub fn advance_clock(&self, by: std::time::Duration) -> std::time::Duration {
        self.shared.engine.advance_clock(by)
    }

    /// Closes every client connection now; the node keeps listening for new ones.
    pub fn drop_connections(&self) {
        self.shared.drop_connections();
    }

    /// A cloneable handle that closes this node's client connections, for code that must do
    /// it without holding the `Node` (e.g. a hook dropping every node's connections at once).
    pub fn connection_dropper(&self) -> ConnectionDropper {
        ConnectionDropper(self.shared.clone())
    }

    /// Closes the listener and every connection, and returns once all of them are gone.
    pub async fn stop(mut self) {
        self.shared.root.cancel();
        if let Some(accept) = self.accept.take() {
            let _ = accept.await;
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        tracing::info!(addr = %self.addr, "CQL node stopped");
    }
}
