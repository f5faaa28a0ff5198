//! The Keyspaces profile's behaviour toward a real scylla driver: consistency rules, statements
//! Keyspaces does not support, Keyspaces-shaped system tables, and CREATING before ACTIVE.

use crate::keyspaces_common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cql_node::cluster::Cluster;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig, KeyspacesProfile};
use keyspaces_common::{TestSigV4, client_tls, db_error, wait_for};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::DbError;
use scylla::statement::Consistency;
use scylla::statement::unprepared::Statement;

const REGION: &str = "ap-southeast-2";
const HOST: &str = "cassandra.ap-southeast-2.amazonaws.com";

struct Fixture {
    cluster: Cluster,
    session: Session,
    dir: PathBuf,
}

async fn start(creating_for: Duration) -> Fixture {
    let credential = AwsCredential::new("AKIDRULES", "rules-secret");
    let profile = KeyspacesProfile::new(KeyspacesConfig::new(REGION).aws_credential(credential.clone()).creating_for(creating_for)).unwrap();
    let dir = std::env::temp_dir().join(format!("cql-node-ks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    profile.tls.write_ca_pem(&ca).unwrap();
    let cluster = Cluster::builder().nodes(3).keyspaces(profile).start().await.unwrap();
    let session = SessionBuilder::new()
        .known_node_addr(cluster.node_addr(0))
        .tls_context(Some(client_tls(&ca, HOST)))
        .authenticator_provider(Arc::new(TestSigV4::new(credential, REGION)))
        .build()
        .await
        .expect("connects");
    Fixture { cluster, session, dir }
}

impl Fixture {
    async fn stop(self) {
        drop(self.session);
        self.cluster.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn at(cql: &str, consistency: Consistency) -> Statement {
    let mut s = Statement::new(cql);
    s.set_consistency(consistency);
    s
}

async fn expect_invalid(session: &Session, statement: Statement) -> String {
    let err = session.query_unpaged(statement, ()).await.expect_err("must be refused");
    let (db, msg) = db_error(&err).unwrap_or_else(|| panic!("not a server error: {err:?}"));
    assert_eq!(*db, DbError::Invalid, "{msg}");
    msg.to_string()
}

async fn create_schema(session: &Session) {
    let ddl = [
        "CREATE KEYSPACE shop WITH replication = {'class': 'SingleRegionStrategy'}",
        "CREATE TABLE shop.products (id text PRIMARY KEY, name text)",
    ];
    for q in ddl {
        session.query_unpaged(q, ()).await.expect(q);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_rules() {
    let f = start(Duration::ZERO).await;
    create_schema(&f.session).await;
    let s = &f.session;
    let insert = "INSERT INTO shop.products (id, name) VALUES ('p1', 'pen')";
    s.query_unpaged(at(insert, Consistency::LocalQuorum), ()).await.expect("writes at LOCAL_QUORUM");
    let refused = [
        (Consistency::One, "ONE"),
        (Consistency::Quorum, "QUORUM"),
        (Consistency::All, "ALL"),
        (Consistency::LocalOne, "LOCAL_ONE"),
        (Consistency::EachQuorum, "EACH_QUORUM"),
    ];
    for (bad, name) in refused {
        let msg = expect_invalid(s, at(insert, bad)).await;
        assert_eq!(msg, format!("Consistency level {name} is not supported for this operation. Supported consistency levels are: LOCAL_QUORUM"));
    }
    let msg = expect_invalid(s, at("UPDATE shop.products SET name = 'x' WHERE id = 'p1'", Consistency::One)).await;
    assert!(msg.starts_with("Consistency level ONE is not supported"), "{msg}");
    let msg = expect_invalid(s, at("DELETE FROM shop.products WHERE id = 'p1'", Consistency::Quorum)).await;
    assert!(msg.starts_with("Consistency level QUORUM is not supported"), "{msg}");

    let select = "SELECT name FROM shop.products WHERE id = 'p1'";
    for ok in [Consistency::One, Consistency::LocalOne, Consistency::LocalQuorum] {
        let rows = s.query_unpaged(at(select, ok), ()).await.expect("reads").into_rows_result().unwrap();
        assert_eq!(rows.single_row::<(String,)>().unwrap().0, "pen");
    }
    for bad in [Consistency::Quorum, Consistency::All, Consistency::Two] {
        let msg = expect_invalid(s, at(select, bad)).await;
        assert!(msg.ends_with("Supported consistency levels are: ONE, LOCAL_ONE, LOCAL_QUORUM"), "{msg}");
    }
    // Prepared statements are checked when executed, with the consistency they run at.
    let mut prepared = s.prepare("INSERT INTO shop.products (id, name) VALUES (?, ?)").await.expect("prepare is not refused");
    prepared.set_consistency(Consistency::One);
    let err = s.execute_unpaged(&prepared, ("p2", "cup")).await.expect_err("ONE write refused");
    assert_eq!(db_error(&err).map(|(d, _)| d.clone()), Some(DbError::Invalid));
    prepared.set_consistency(Consistency::LocalQuorum);
    s.execute_unpaged(&prepared, ("p2", "cup")).await.expect("LOCAL_QUORUM write");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_statements_are_refused() {
    let f = start(Duration::ZERO).await;
    create_schema(&f.session).await;
    for q in [
        "CREATE INDEX ON shop.products (name)",
        "TRUNCATE shop.products",
        "CREATE MATERIALIZED VIEW shop.by_name AS SELECT * FROM shop.products WHERE name IS NOT NULL AND id IS NOT NULL PRIMARY KEY (name, id)",
        "CREATE ROLE bob",
    ] {
        let msg = expect_invalid(&f.session, at(q, Consistency::LocalQuorum)).await;
        assert!(msg.ends_with("are not supported by Amazon Keyspaces"), "{q}: {msg}");
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_tables_are_shaped_like_keyspaces() {
    let f = start(Duration::ZERO).await;
    let s = &f.session;
    let local = s
        .query_unpaged("SELECT data_center, release_version, partitioner FROM system.local", ())
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let (dc, version, partitioner): (String, String, String) = local.single_row().unwrap();
    assert_eq!(dc, REGION);
    assert_eq!(version, "3.11.2");
    assert_eq!(partitioner, "com.amazonaws.cassandra.DefaultPartitioner");
    let peers = s.query_unpaged("SELECT rpc_address, data_center FROM system.peers", ()).await.unwrap().into_rows_result().unwrap();
    let peers: Vec<(IpAddr, String)> = peers.rows::<(IpAddr, String)>().unwrap().map(Result::unwrap).collect();
    assert_eq!(peers.len(), 2, "{peers:?}");
    assert!(peers.iter().all(|(_, dc)| dc == REGION));
    // The driver reached every endpoint address on the same port through TLS and SigV4.
    let state = s.get_cluster_state();
    assert_eq!(state.get_nodes_info().len(), 3);
    let port = f.cluster.port();
    assert!(state.get_nodes_info().iter().all(|n| n.address.port() == port));
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tables_are_creating_then_active() {
    // Long enough that the statements right after each CREATE surely fall inside it.
    let f = start(Duration::from_secs(3)).await;
    let s = &f.session;
    s.query_unpaged("CREATE KEYSPACE shop WITH replication = {'class': 'SingleRegionStrategy'}", ()).await.unwrap();
    // The keyspace itself is CREATING: a table cannot be created in it yet.
    let msg = expect_invalid(s, at("CREATE TABLE shop.products (id text PRIMARY KEY, name text)", Consistency::LocalQuorum)).await;
    assert_eq!(msg, "Keyspace 'shop' does not exist");
    let ks_status = |ks: &'static str| async move {
        let rows = s
            .query_unpaged(at("SELECT status FROM system_schema_mcs.keyspaces WHERE keyspace_name = ?", Consistency::LocalQuorum), (ks,))
            .await
            .ok()?
            .into_rows_result()
            .ok()?;
        rows.maybe_first_row::<(String,)>().ok()?.map(|r| r.0)
    };
    assert_eq!(ks_status("shop").await.as_deref(), Some("CREATING"));
    let active = wait_for(Duration::from_secs(20), || async { (ks_status("shop").await.as_deref() == Some("ACTIVE")).then_some(()) }).await;
    assert!(active.is_some(), "keyspace never became ACTIVE");

    s.query_unpaged("CREATE TABLE shop.products (id text PRIMARY KEY, name text)", ()).await.unwrap();
    let insert = at("INSERT INTO shop.products (id, name) VALUES ('p1', 'pen')", Consistency::LocalQuorum);
    let msg = expect_invalid(s, insert.clone()).await;
    assert_eq!(msg, "unconfigured table products");
    let table_status = || async {
        let rows = s
            .query_unpaged(
                at("SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = 'shop' AND table_name = 'products'", Consistency::LocalQuorum),
                (),
            )
            .await
            .ok()?
            .into_rows_result()
            .ok()?;
        rows.maybe_first_row::<(String,)>().ok()?.map(|r| r.0)
    };
    assert_eq!(table_status().await.as_deref(), Some("CREATING"));
    let active = wait_for(Duration::from_secs(20), || async { (table_status().await.as_deref() == Some("ACTIVE")).then_some(()) }).await;
    assert!(active.is_some(), "table never became ACTIVE");
    s.query_unpaged(insert, ()).await.expect("writes once ACTIVE");
    f.stop().await;
}

/// Keyspaces refuses `USING TTL` on a table where TTL is not enabled (enabled per table with
/// `CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}}`), and shows the setting in
/// `system_schema_mcs.tables.custom_properties`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn using_ttl_is_refused_until_the_table_enables_ttl() {
    let f = start(Duration::ZERO).await;
    create_schema(&f.session).await;
    let lq = Consistency::LocalQuorum;
    let msg = expect_invalid(&f.session, at("INSERT INTO shop.products (id, name) VALUES ('a', 'x') USING TTL 60", lq)).await;
    assert_eq!(msg, "TTL is not yet supported.");
    // Prepared with a bound TTL, as the store does: refused at PREPARE.
    let err = f.session.prepare("INSERT INTO shop.products (id, name) VALUES (?, ?) IF NOT EXISTS USING TTL 60").await.unwrap_err();
    assert!(format!("{err}").contains("TTL is not yet supported."), "{err}");

    let ttl_of = |table: &'static str| {
        let session = &f.session;
        async move {
            let q = "SELECT custom_properties FROM system_schema_mcs.tables WHERE keyspace_name = 'shop' AND table_name = ?";
            let mut s = Statement::new(q);
            s.set_consistency(Consistency::LocalOne);
            let rows = session.query_unpaged(s, (table,)).await.unwrap().into_rows_result().unwrap();
            let (props,): (std::collections::HashMap<String, std::collections::HashMap<String, String>>,) = rows.single_row().unwrap();
            props["ttl"]["status"].clone()
        }
    };
    assert_eq!(ttl_of("products").await, "disabled");

    f.session
        .query_unpaged(at("ALTER TABLE shop.products WITH CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}}", lq), ())
        .await
        .expect("TTL enabled");
    assert_eq!(ttl_of("products").await, "enabled");
    let insert = f.session.prepare("INSERT INTO shop.products (id, name) VALUES (?, ?) IF NOT EXISTS USING TTL 60").await.expect("prepares now");
    f.session.execute_unpaged(&insert, ("b", "y")).await.expect("a row with a TTL");
    let mut s = Statement::new("SELECT ttl(name) FROM shop.products WHERE id = 'b'");
    s.set_consistency(lq);
    let (ttl,): (Option<i32>,) = f.session.query_unpaged(s, ()).await.unwrap().into_rows_result().unwrap().single_row().unwrap();
    assert!(ttl.is_some_and(|t| t > 0 && t <= 60), "{ttl:?}");
    f.stop().await;
}

/// Issue 11, point 2: unless told otherwise the profile shows what a client of a public
/// Keyspaces endpoint sees, nine peers, each at its own address and serving TLS and SigV4
/// there (a driver that pools every peer really opens ten connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_the_profile_is_a_public_endpoint_with_nine_peers() {
    let credential = AwsCredential::new("AKIDPUBLIC", "public-secret");
    let profile = KeyspacesProfile::new(KeyspacesConfig::new(REGION).aws_credential(credential.clone())).unwrap();
    let dir = std::env::temp_dir().join(format!("cql-node-ks-public-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    profile.tls.write_ca_pem(&ca).unwrap();
    let cluster = Cluster::builder().keyspaces(profile).start().await.unwrap();
    assert_eq!(cluster.len(), cql_node::keyspaces::topology::PUBLIC_ENDPOINT_HOSTS);
    let session = SessionBuilder::new()
        .known_node_addr(cluster.node_addr(0))
        .tls_context(Some(client_tls(&ca, HOST)))
        .authenticator_provider(Arc::new(TestSigV4::new(credential, REGION)))
        .build()
        .await
        .expect("connects");
    let peers = session.query_unpaged("SELECT rpc_address FROM system.peers", ()).await.unwrap().into_rows_result().unwrap();
    let mut peers: Vec<IpAddr> = peers.rows::<(IpAddr,)>().unwrap().map(|r| r.unwrap().0).collect();
    peers.sort();
    peers.dedup();
    assert_eq!(peers.len(), 9, "nine distinct peers: {peers:?}");
    // Whichever host answered, its peers are the nine others of the ten.
    let hosts: Vec<IpAddr> = (0..cluster.len()).map(|i| cluster.node_addr(i).ip()).collect();
    assert!(peers.iter().all(|p| hosts.contains(p)), "{peers:?} among {hosts:?}");
    let all_connected = wait_for(Duration::from_secs(20), || async {
        (session.get_cluster_state().get_nodes_info().iter().filter(|n| n.is_connected()).count() == 10).then_some(())
    })
    .await;
    assert!(all_connected.is_some(), "every peer accepts TLS + SigV4 at its address");
    drop(session);
    cluster.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
