//! Client-side helpers for the Keyspaces, cluster and fault tests: a TLS configuration that
//! verifies the node's certificate against `cassandra.<region>.amazonaws.com` (hostname
//! verification ON, against the CA the node wrote), a SigV4 authenticator for the scylla
//! driver that signs as AWS's plugins do (and can be told to misbehave for refusal tests),
//! and small waiting/error helpers.
#![allow(dead_code)] // shared by many modules, each using a part

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use scylla::authentication::{AuthError, AuthenticatorProvider, AuthenticatorSession};
use scylla::errors::{DbError, ExecutionError, RequestAttemptError};
use time::OffsetDateTime;

use cql_node::keyspaces::sigv4::{self, AwsCredential};

/// Verifies the server as `name` (the Keyspaces endpoint) whatever IP was dialled, fully:
/// chain to the given roots, validity dates, and the name in the certificate.
#[derive(Debug)]
struct VerifyAs {
    webpki: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for VerifyAs {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.webpki.verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A client TLS configuration trusting only the CA in `ca_pem_file`, verifying `name`.
pub fn client_tls(ca_pem_file: &std::path::Path, name: &str) -> Arc<ClientConfig> {
    let pem = std::fs::read(ca_pem_file).expect("CA file the node wrote");
    let mut roots = RootCertStore::empty();
    for cert in rustls_pemfile_certs(&pem) {
        roots.add(cert).expect("CA certificate");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().expect("verifier");
    let verifier = VerifyAs { webpki, name: ServerName::try_from(name.to_string()).expect("DNS name") };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous() // rustls's name for "custom verifier"; this one verifies everything
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Arc::new(config)
}

fn rustls_pemfile_certs(pem: &[u8]) -> Vec<CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem).collect::<Result<Vec<_>, _>>().expect("PEM certificates")
}

/// How a test client misbehaves when answering the SigV4 challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// Flip one hex digit of the signature.
    Signature,
}

/// The scylla driver's side of the Keyspaces SigV4 exchange, as AWS's plugins do it.
#[derive(Clone)]
pub struct TestSigV4 {
    pub credential: AwsCredential,
    pub region: String,
    /// Added to the clock when signing (to test the allowed skew).
    pub clock_offset: time::Duration,
    pub tamper: Tamper,
}

impl TestSigV4 {
    pub fn new(credential: AwsCredential, region: &str) -> Self {
        Self { credential, region: region.to_string(), clock_offset: time::Duration::ZERO, tamper: Tamper::None }
    }
}

#[async_trait]
impl AuthenticatorProvider for TestSigV4 {
    async fn start_authentication_session(&self, _name: &str) -> Result<(Option<Vec<u8>>, Box<dyn AuthenticatorSession>), AuthError> {
        Ok((Some(sigv4::SIGV4_INITIAL_RESPONSE.to_vec()), Box::new(self.clone())))
    }
}

#[async_trait]
impl AuthenticatorSession for TestSigV4 {
    async fn evaluate_challenge(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>, AuthError> {
        let nonce = sigv4::extract_nonce(token.unwrap_or_default()).ok_or("no nonce in challenge")?;
        let at = OffsetDateTime::now_utc() + self.clock_offset;
        let mut answer = sigv4::sign_response(&self.credential, &self.region, nonce, at).into_bytes();
        if self.tamper == Tamper::Signature {
            let i = "signature=".len();
            answer[i] = if answer[i] == b'0' { b'1' } else { b'0' };
        }
        Ok(Some(answer))
    }
    async fn success(&mut self, _token: Option<&[u8]>) -> Result<(), AuthError> {
        Ok(())
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`: waiting on a condition, never
/// on time alone.
pub async fn wait_for<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The server error a request failed with, if it failed with one.
pub fn db_error(err: &ExecutionError) -> Option<(&DbError, &str)> {
    match err {
        ExecutionError::LastAttemptError(RequestAttemptError::DbError(db, msg)) => Some((db, msg.as_str())),
        _ => None,
    }
}

/// A session through `addr` that never retries on its own, so a test sees exactly what the
/// node answered; `profile` adds the test's own settings (consistency, load balancing).
pub async fn session_without_retries(
    addr: std::net::SocketAddr,
    profile: scylla::client::execution_profile::ExecutionProfileBuilder,
) -> scylla::client::session::Session {
    use scylla::client::session_builder::SessionBuilder;
    use scylla::policies::retry::FallthroughRetryPolicy;

    let profile = profile.retry_policy(Arc::new(FallthroughRetryPolicy)).build();
    SessionBuilder::new()
        .known_node_addr(addr)
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await
        .expect("driver connects")
}

/// One node with table `f.kv (k text PRIMARY KEY, v text)` (RF 1), and a session that never
/// retries on its own, so a test sees exactly what a fault made the node answer; LOCAL_QUORUM,
/// and SERIAL for lightweight transactions.
pub async fn one_node_kv() -> (cql_node::cluster::Cluster, scylla::client::session::Session) {
    use scylla::client::execution_profile::ExecutionProfile;
    use scylla::statement::{Consistency, SerialConsistency};

    let cluster = cql_node::cluster::Cluster::builder().nodes(1).start().await.expect("node starts");
    let profile = ExecutionProfile::builder()
        .consistency(Consistency::LocalQuorum)
        .serial_consistency(Some(SerialConsistency::Serial));
    let session = session_without_retries(cluster.node_addr(0), profile).await;
    for q in [
        "CREATE KEYSPACE f WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE f.kv (k text PRIMARY KEY, v text)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    (cluster, session)
}

/// A key whose only replica at RF=1 is node `owner` of `cluster` (the first token at or after
/// the key's token is the owner's).
pub fn key_owned_by(cluster: &cql_node::cluster::Cluster, owner: usize) -> String {
    use cql_node::engine::token::token_of;
    let mut ring: Vec<(i64, usize)> = (0..cluster.len()).flat_map(|i| cluster.node_info(i).tokens.iter().map(move |t| (*t, i))).collect();
    ring.sort();
    let owner_of = |t: i64| ring.iter().find(|(tok, _)| *tok >= t).unwrap_or(&ring[0]).1;
    (0..1000).map(|i| format!("h{i}")).find(|k| owner_of(token_of(k.as_bytes())) == owner).expect("some key")
}
