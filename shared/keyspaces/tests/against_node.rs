//! This crate's settings against the CQL node's Keyspaces profile, through the real scylla
//! driver: TLS verified against `cassandra.<region>.amazonaws.com` with the node's generated
//! CA as the extra CA, SigV4 accepted, every refusal a clear start-up error (bounded, never a
//! hang), and no QUORUM anywhere: the profile refuses it, and the session still works.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use cql_node::cluster::Cluster;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig as NodeConfig, KeyspacesProfile};
use keyspaces::{KeyspacesConfig, RefreshingCredentials, configure_with_credentials, sigv4};
use scylla::authentication::{AuthError, AuthenticatorProvider, AuthenticatorSession};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::{Consistency, Statement};

const REGION: &str = "eu-west-3";
/// A bound on every connection attempt: refusals must come back, not hang.
const BOUND: Duration = Duration::from_secs(30);

fn permanent() -> Credentials {
    Credentials::new("AKIDPERMANENT", "permanent-secret", None, None, "test")
}
fn temporary(token: Option<&str>) -> Credentials {
    Credentials::new("ASIATEMPORARY", "temporary-secret", token.map(str::to_owned), None, "test")
}
const TOKEN: &str = "FwoGZXIvYXdzEJr//token+with/base64=";

struct Fixture {
    cluster: Cluster,
    dir: PathBuf,
}

impl Fixture {
    async fn start(nodes: usize, creating_for: Duration) -> Fixture {
        let config = NodeConfig::new(REGION)
            .aws_credential(AwsCredential::new("AKIDPERMANENT", "permanent-secret"))
            .aws_credential(AwsCredential::new("ASIATEMPORARY", "temporary-secret").with_session_token(TOKEN))
            .creating_for(creating_for);
        let profile = KeyspacesProfile::new(config).expect("certificates");
        let dir = std::env::temp_dir().join(format!("keyspaces-crate-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        profile.tls.write_ca_pem(&dir.join("ca.pem")).expect("CA written");
        let cluster = Cluster::builder().nodes(nodes).keyspaces(profile).start().await.expect("cluster starts");
        Fixture { cluster, dir }
    }

    /// What a test sets through KEYSPACES_ENDPOINT and KEYSPACES_CA_FILE.
    fn config(&self, region: &str) -> KeyspacesConfig {
        let mut cfg = KeyspacesConfig::new(region);
        let addr = self.cluster.node_addr(0);
        cfg.endpoint_host = Some(addr.ip().to_string());
        cfg.endpoint_port = Some(addr.port());
        cfg.ca_file = Some(self.dir.join("ca.pem"));
        cfg
    }

    async fn stop(self) {
        self.cluster.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn connect(cfg: &KeyspacesConfig, creds: Credentials) -> Result<Session, String> {
    let builder = configure_with_credentials(SessionBuilder::new(), cfg, Arc::new(RefreshingCredentials::new(creds)))
        .await
        .map_err(|e| e.to_string())?;
    build(builder).await
}

async fn build(builder: SessionBuilder) -> Result<Session, String> {
    match tokio::time::timeout(BOUND, builder.build()).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => panic!("connecting hung for {BOUND:?} instead of failing"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_hostname_verification_and_sigv4_are_accepted() {
    let f = Fixture::start(1, Duration::ZERO).await;
    let session = connect(&f.config(REGION), permanent()).await.expect("connects");
    let rows = session.query_unpaged("SELECT release_version FROM system.local", ()).await.unwrap();
    assert_eq!(rows.into_rows_result().unwrap().single_row::<(String,)>().unwrap().0, "3.11.2");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_credentials_send_their_session_token() {
    let f = Fixture::start(1, Duration::ZERO).await;
    connect(&f.config(REGION), temporary(Some(TOKEN))).await.expect("connects with the token");
    let err = connect(&f.config(REGION), temporary(None)).await.expect_err("refused without the token");
    assert!(err.to_lowercase().contains("authenticat"), "{err}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_a_clear_start_up_error() {
    let f = Fixture::start(1, Duration::ZERO).await;
    let wrong = Credentials::new("AKIDPERMANENT", "not-the-secret", None, None, "test");
    let err = connect(&f.config(REGION), wrong).await.expect_err("refused");
    assert!(err.to_lowercase().contains("authenticat"), "{err}");
    assert!(!err.contains("not-the-secret"), "the secret must not be echoed: {err}");
    f.stop().await;
}

/// Signs with this crate's SigV4 code, then spoils the answer the way a broken or replayed
/// client would.
struct Spoiled {
    spoil: fn(&[u8]) -> String,
}

struct SpoiledSession(fn(&[u8]) -> String);

#[async_trait]
impl AuthenticatorProvider for Spoiled {
    async fn start_authentication_session(&self, _: &str) -> Result<(Option<Vec<u8>>, Box<dyn AuthenticatorSession>), AuthError> {
        Ok((Some(sigv4::INITIAL_RESPONSE.to_vec()), Box::new(SpoiledSession(self.spoil))))
    }
}

#[async_trait]
impl AuthenticatorSession for SpoiledSession {
    async fn evaluate_challenge(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>, AuthError> {
        let nonce = sigv4::extract_nonce(token.unwrap_or_default())?;
        Ok(Some((self.0)(nonce).into_bytes()))
    }
    async fn success(&mut self, _: Option<&[u8]>) -> Result<(), AuthError> {
        Ok(())
    }
}

fn tampered(nonce: &[u8]) -> String {
    let good = sigv4::challenge_response(nonce, &permanent(), REGION, SystemTime::now());
    // Flip the signature's first hex digit.
    let flipped = if good.as_bytes()[10] == b'0' { "1" } else { "0" };
    format!("signature={flipped}{}", &good["signature=".len() + 1..])
}

fn stale(nonce: &[u8]) -> String {
    sigv4::challenge_response(nonce, &permanent(), REGION, SystemTime::now() - Duration::from_secs(3600))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_stale_signatures_are_clear_start_up_errors() {
    let f = Fixture::start(1, Duration::ZERO).await;
    let cfg = f.config(REGION);
    for spoil in [tampered as fn(&[u8]) -> String, stale] {
        // This crate's TLS and session settings, with the spoiled authenticator swapped in.
        let builder = configure_with_credentials(SessionBuilder::new(), &cfg, Arc::new(RefreshingCredentials::new(permanent())))
            .await
            .unwrap()
            .authenticator_provider(Arc::new(Spoiled { spoil }));
        let err = build(builder).await.expect_err("refused");
        assert!(err.to_lowercase().contains("authenticat"), "{err}");
    }
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_region_is_refused_by_tls() {
    let f = Fixture::start(1, Duration::ZERO).await;
    // Same CA, same address: only the expected name differs (cassandra.us-east-1...).
    let err = connect(&f.config("us-east-1"), permanent()).await.expect_err("refused");
    assert!(err.contains("NotValidForName") || err.to_lowercase().contains("certificate"), "{err}");
    let mut without_ca = f.config(REGION);
    without_ca.ca_file = None;
    let err = connect(&without_ca, permanent()).await.expect_err("the node's CA is not an Amazon root");
    assert!(err.contains("UnknownIssuer") || err.to_lowercase().contains("certificate"), "{err}");
    f.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_quorum_anywhere_and_a_refused_level_writes_nothing() {
    // Three nodes: the driver's control connection, peer discovery and metadata queries all
    // run against a profile that refuses QUORUM; the session working proves none used it.
    let f = Fixture::start(3, Duration::ZERO).await;
    let cfg = f.config(REGION);
    let session = connect(&cfg, permanent()).await.expect("connects");
    // The control: the profile does check the driver's kind of query (system tables) too.
    let mut system_at_quorum = Statement::new("SELECT peer FROM system.peers");
    system_at_quorum.set_consistency(Consistency::Quorum);
    let err = session.query_unpaged(system_at_quorum, ()).await.expect_err("QUORUM read refused").to_string();
    assert!(err.contains("Consistency level QUORUM is not supported"), "{err}");

    session
        .query_unpaged("CREATE KEYSPACE IF NOT EXISTS shop WITH replication = {'class': 'SingleRegionStrategy'}", ())
        .await
        .unwrap();
    session.query_unpaged("CREATE TABLE IF NOT EXISTS shop.items (id int PRIMARY KEY, v text)", ()).await.unwrap();

    // Default profile: LOCAL_QUORUM, accepted.
    session.query_unpaged("INSERT INTO shop.items (id, v) VALUES (1, 'kept')", ()).await.expect("LOCAL_QUORUM write");

    let mut quorum = Statement::new("INSERT INTO shop.items (id, v) VALUES (2, 'refused')");
    quorum.set_consistency(Consistency::Quorum);
    let err = session.query_unpaged(quorum, ()).await.expect_err("QUORUM write refused").to_string();
    assert!(err.contains("Consistency level QUORUM is not supported"), "{err}");

    let mut read = Statement::new("SELECT id FROM shop.items WHERE id IN (1, 2)");
    read.set_consistency(cfg.read_consistency());
    let rows = session.query_unpaged(read, ()).await.unwrap().into_rows_result().unwrap();
    let ids: Vec<i32> = rows.rows::<(i32,)>().unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(ids, [1], "the refused write must not have happened");

    // All three nodes were discovered through system.peers (loopback allowed for a local endpoint).
    assert_eq!(session.get_cluster_state().get_nodes_info().len(), 3);
    f.stop().await;
}

/// Issue 11, point 3: toward a public endpoint (the host reached and nine peers), a session
/// pools one host, the one it dialled, unless `KEYSPACES_HOSTS=all` asks for every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_is_pooled_of_a_public_endpoint_unless_all_are_asked_for() {
    let f = Fixture::start(10, Duration::ZERO).await;
    let session = connect(&f.config(REGION), permanent()).await.expect("connects");
    let nodes = session.get_cluster_state().get_nodes_info().to_vec();
    let connected: Vec<_> = nodes.iter().filter(|n| n.is_connected()).map(|n| n.address.ip()).collect();
    assert_eq!(connected, [f.cluster.node_addr(0).ip()], "only the host dialled is pooled");
    assert!(nodes.iter().filter(|n| n.is_enabled()).count() == 1, "the others get no pool");
    session.query_unpaged("SELECT release_version FROM system.local", ()).await.expect("requests go through the one pool");
    drop(session);

    let mut all = f.config(REGION);
    all.hosts = keyspaces::PooledHosts::All;
    let session = connect(&all, permanent()).await.expect("connects");
    let enabled = session.get_cluster_state().get_nodes_info().iter().filter(|n| n.is_enabled()).count();
    assert_eq!(enabled, 10, "KEYSPACES_HOSTS=all pools every advertised host");
    f.stop().await;
}
