//! TLS as a Keyspaces endpoint presents it: a server certificate for
//! `cassandra.<region>.amazonaws.com`, issued by a CA the node generates at start and writes to
//! a PEM file for clients to trust (in place of the Starfield/Amazon roots real clients pin).
//! Clients connect to 127.0.0.x but verify the certificate against that host name.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("generating certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("building the TLS server configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("writing the CA certificate: {0}")]
    Io(#[from] std::io::Error),
}

/// The host name a Keyspaces endpoint's certificate is issued for.
pub fn endpoint_host(region: &str) -> String {
    format!("cassandra.{region}.amazonaws.com")
}

/// A freshly generated CA and the endpoint certificate it signed. Nothing is reused between
/// runs: every node start gets new keys, so a stale trusted CA file fails loudly.
#[derive(Clone)]
pub struct KeyspacesTls {
    host: String,
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    config: Arc<ServerConfig>,
}

impl KeyspacesTls {
    pub fn generate(region: &str) -> Result<Self, TlsSetupError> {
        let host = endpoint_host(region);

        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "cql-node test CA (not Amazon)");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let ca_issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf_params = CertificateParams::new(vec![host.clone()])?;
        leaf_params.distinguished_name.push(DnType::CommonName, host.clone());
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf_params.signed_by(&leaf_key, &ca_issuer)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        // Explicit provider: the workspace may link more than one rustls backend.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)?;

        Ok(Self { host, ca_pem: ca_cert.pem(), ca_der: ca_cert.der().clone(), config: Arc::new(config) })
    }

    /// `cassandra.<region>.amazonaws.com`: the name clients must verify.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The CA certificate clients trust, PEM-encoded.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// Writes the CA certificate where the caller wants clients to find it.
    pub fn write_ca_pem(&self, path: &Path) -> Result<(), TlsSetupError> {
        std::fs::write(path, &self.ca_pem)?;
        Ok(())
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.config.clone()
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_ca_and_an_endpoint_certificate() {
        let tls = KeyspacesTls::generate("eu-west-3").expect("certificates");
        assert_eq!(tls.host(), "cassandra.eu-west-3.amazonaws.com");
        assert!(tls.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let dir = std::env::temp_dir().join(format!("ks-ca-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ca.pem");
        tls.write_ca_pem(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), tls.ca_pem());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
