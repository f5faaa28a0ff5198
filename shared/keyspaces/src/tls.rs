//! TLS for Keyspaces: rustls trusting the CAs AWS documents for Keyspaces (Amazon Root CA 1-4
//! and Starfield Services Root G2, selected from Mozilla's bundle in `webpki-roots`), checking
//! the certificate against `cassandra.<region>.amazonaws.com`.
//!
//! The driver hands rustls the IP address it dialled as the server name, and no Keyspaces
//! certificate names an IP. Rather than switch anything off, the verifier below runs rustls's
//! own full WebPKI verification with the fixed DNS name in place of that IP.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::KeyspacesError;

/// Subject names of the roots AWS lists for Keyspaces TLS.
const AMAZON_ROOTS: [&[u8]; 5] = [
    b"Amazon Root CA 1",
    b"Amazon Root CA 2",
    b"Amazon Root CA 3",
    b"Amazon Root CA 4",
    b"Starfield Services Root Certificate Authority - G2",
];

/// The Amazon roots from `webpki-roots`, plus every certificate of `extra_ca_pem` if given.
pub fn root_store(extra_ca_pem: Option<&Path>) -> Result<RootCertStore, KeyspacesError> {
    let mut roots = RootCertStore::empty();
    roots.extend(
        webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .filter(|anchor| AMAZON_ROOTS.iter().any(|name| contains(&anchor.subject, name)))
            .cloned(),
    );
    if let Some(path) = extra_ca_pem {
        let ca_err = |reason: String| KeyspacesError::CaFile { path: path.to_owned(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_err(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ca_err(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_err("no certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ca_err(e.to_string()))?;
        }
    }
    Ok(roots)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Verifies every server certificate as issued to `name`, whatever address was dialled.
#[derive(Debug)]
pub struct FixedNameVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl FixedNameVerifier {
    pub fn new(roots: RootCertStore, name: &str, provider: Arc<CryptoProvider>) -> Result<Self, KeyspacesError> {
        let name = ServerName::try_from(name.to_owned()).map_err(|e| KeyspacesError::Tls(format!("{name}: {e}")))?;
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| KeyspacesError::Tls(e.to_string()))?;
        Ok(FixedNameVerifier { inner, name })
    }
}

impl ServerCertVerifier for FixedNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner.verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls client configuration for Keyspaces named `tls_name`.
pub fn client_config(tls_name: &str, extra_ca_pem: Option<&Path>) -> Result<Arc<ClientConfig>, KeyspacesError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = FixedNameVerifier::new(root_store(extra_ca_pem)?, tls_name, provider.clone())?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| KeyspacesError::Tls(e.to_string()))?
        // "dangerous" is rustls's name for any custom verifier; this one verifies fully.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_exactly_the_five_roots_aws_documents() {
        assert_eq!(root_store(None).unwrap().len(), 5);
    }

    #[test]
    fn an_unreadable_or_empty_ca_file_is_a_clear_error() {
        let err = root_store(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("keyspaces-empty-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a pem\n").unwrap();
        let err = root_store(Some(&dir)).unwrap_err();
        std::fs::remove_file(&dir).ok();
        assert!(err.to_string().contains("no certificate"), "{err}");
    }
}
