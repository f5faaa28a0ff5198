//! The Keyspaces profile's front door, through the real scylla driver over rustls: TLS with the
//! generated CA and hostname verification on, and every SigV4 acceptance and refusal case.

use crate::keyspaces_common;

use std::path::PathBuf;
use std::sync::Arc;

use cql_node::cluster::Cluster;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig, KeyspacesProfile, KeyspacesTls};
use keyspaces_common::{Tamper, TestSigV4, client_tls};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;

const REGION: &str = "eu-west-3";
const HOST: &str = "cassandra.eu-west-3.amazonaws.com";

fn permanent() -> AwsCredential {
    AwsCredential::new("AKIDPERMANENT", "permanent-secret")
}

fn temporary() -> AwsCredential {
    AwsCredential::new("ASIATEMPORARY", "temporary-secret").with_session_token("FwoGZXIvYXdzEJr//token+with/base64=")
}

struct Fixture {
    cluster: Cluster,
    ca_file: PathBuf,
    _dir: TempDir,
}

/// A directory removed when the test ends.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn keyspaces(nodes: usize) -> Fixture {
    let config = KeyspacesConfig::new(REGION)
        .aws_credential(permanent())
        .aws_credential(temporary())
        .service_credential("alice-at-111122223333", "service-password");
    let profile = KeyspacesProfile::new(config).expect("certificates");
    let dir = std::env::temp_dir().join(format!("cql-node-ks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("keyspaces-ca.pem");
    profile.tls.write_ca_pem(&ca_file).expect("CA written");
    let cluster = Cluster::builder().nodes(nodes).keyspaces(profile).start().await.expect("cluster starts");
    Fixture { cluster, ca_file, _dir: TempDir(dir) }
}

fn builder(f: &Fixture, verify_as: &str) -> SessionBuilder {
    SessionBuilder::new()
        .known_node_addr(f.cluster.node_addr(0))
        .tls_context(Some(client_tls(&f.ca_file, verify_as)))
}

async fn connect_sigv4(f: &Fixture, auth: TestSigV4) -> Result<Session, String> {
    builder(f, HOST).authenticator_provider(Arc::new(auth)).build().await.map_err(|e| format!("{e:?}"))
}

async fn local_release_version(session: &Session) -> String {
    let rows = session.query_unpaged("SELECT release_version FROM system.local", ()).await.unwrap().into_rows_result().unwrap();
    let (v,): (String,) = rows.single_row().unwrap();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_generated_ca_and_hostname_verification_accepts_sigv4() {
    let f = keyspaces(1).await;
    let session = connect_sigv4(&f, TestSigV4::new(permanent(), REGION)).await.expect("connects");
    assert_eq!(local_release_version(&session).await, "3.11.2");
    f.cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_credentials_with_their_session_token_are_accepted() {
    let f = keyspaces(1).await;
    let session = connect_sigv4(&f, TestSigV4::new(temporary(), REGION)).await.expect("connects");
    assert_eq!(local_release_version(&session).await, "3.11.2");
    f.cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_specific_credentials_are_accepted_and_checked() {
    let f = keyspaces(1).await;
    let session = builder(&f, HOST).user("alice-at-111122223333", "service-password").build().await.expect("connects");
    assert_eq!(local_release_version(&session).await, "3.11.2");
    let refused = builder(&f, HOST).user("alice-at-111122223333", "wrong").build().await.map(|_| ()).map_err(|e| format!("{e:?}"));
    let err = refused.expect_err("a wrong password is refused");
    assert!(err.contains("Provided username and/or password are incorrect"), "{err}");
    f.cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_rejected_by_the_client() {
    let f = keyspaces(1).await;
    let err = builder(&f, "cassandra.us-east-1.amazonaws.com")
        .authenticator_provider(Arc::new(TestSigV4::new(permanent(), REGION)))
        .build()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
        .expect_err("wrong host name must fail verification");
    assert!(err.contains("NotValidForName") || err.contains("certificate"), "{err}");
    f.cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_ca_is_rejected_by_the_client() {
    let f = keyspaces(1).await;
    let other = KeyspacesTls::generate(REGION).unwrap();
    let other_ca = f.ca_file.with_file_name("other-ca.pem");
    other.write_ca_pem(&other_ca).unwrap();
    let err = SessionBuilder::new()
        .known_node_addr(f.cluster.node_addr(0))
        .tls_context(Some(client_tls(&other_ca, HOST)))
        .authenticator_provider(Arc::new(TestSigV4::new(permanent(), REGION)))
        .build()
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
        .expect_err("a CA the client does not trust must fail");
    assert!(err.contains("UnknownIssuer") || err.contains("BadSignature") || err.contains("certificate"), "{err}");
    f.cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_clients_are_not_served() {
    let f = keyspaces(1).await;
    let result = SessionBuilder::new()
        .known_node_addr(f.cluster.node_addr(0))
        .connection_timeout(std::time::Duration::from_secs(3))
        .authenticator_provider(Arc::new(TestSigV4::new(permanent(), REGION)))
        .build()
        .await;
    assert!(result.is_err(), "TLS only");
    f.cluster.stop().await;
}

/// Each refusal reaches the driver as an authentication error carrying the server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigv4_refusals() {
    let f = keyspaces(1).await;
    let cases: Vec<(&str, TestSigV4, &str)> = vec![
        ("wrong secret", TestSigV4::new(AwsCredential::new("AKIDPERMANENT", "not-the-secret"), REGION), "signature we calculated does not match"),
        ("tampered signature", TestSigV4 { tamper: Tamper::Signature, ..TestSigV4::new(permanent(), REGION) }, "signature we calculated does not match"),
        ("clock 16 minutes behind", TestSigV4 { clock_offset: time::Duration::minutes(-16), ..TestSigV4::new(permanent(), REGION) }, "signature expired"),
        ("clock 16 minutes ahead", TestSigV4 { clock_offset: time::Duration::minutes(16), ..TestSigV4::new(permanent(), REGION) }, "signature expired"),
        ("unknown key", TestSigV4::new(AwsCredential::new("AKIDSTRANGER", "x"), REGION), "unknown access key"),
        ("missing session token", TestSigV4::new(AwsCredential::new("ASIATEMPORARY", "temporary-secret"), REGION), "session token is required"),
        ("signed for another region", TestSigV4::new(permanent(), "us-east-1"), "signature we calculated does not match"),
    ];
    for (case, auth, reason) in cases {
        let err = connect_sigv4(&f, auth).await.map(|_| ()).expect_err(case);
        assert!(err.contains("Authentication") || err.contains("authentication"), "{case}: {err}");
        assert!(err.contains(reason), "{case}: expected {reason:?} in {err}");
    }
    // Within the allowed skew is fine.
    let skewed = TestSigV4 { clock_offset: time::Duration::minutes(-14), ..TestSigV4::new(permanent(), REGION) };
    connect_sigv4(&f, skewed).await.expect("14 minutes of skew is accepted");
    f.cluster.stop().await;
}
