//! The SASL conversation a Keyspaces endpoint holds with a client after STARTUP: either the
//! SigV4 exchange (see `sigv4`) or PLAIN with service-specific credentials (the
//! PasswordAuthenticator way: `\0username\0password`). Independent of frames and sockets: the
//! protocol layer feeds AUTH_RESPONSE tokens in and writes back what comes out.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::sigv4::{self, AwsCredential, SIGV4_INITIAL_RESPONSE};
use crate::auth::{Authenticator, SaslSession, SaslStep};
use crate::error::{CqlError, ErrorKind};

/// The authenticator class Keyspaces names in its AUTHENTICATE frame (drivers that allow-list
/// authenticators, like gocql, are configured with it).
pub const KEYSPACES_AUTHENTICATOR: &str = "com.amazonaws.cassandra.DefaultPasswordAuthenticator";

/// A Keyspaces service-specific credential (username/password for PasswordAuthenticator).
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceCredential {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for ServiceCredential {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCredential").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Who may log in, and how strictly SigV4 timestamps are checked.
#[derive(Debug, Clone)]
pub struct KeyspacesAuthConfig {
    pub region: String,
    pub aws_credentials: Vec<AwsCredential>,
    pub service_credentials: Vec<ServiceCredential>,
    pub max_skew: Duration,
}

impl KeyspacesAuthConfig {
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            aws_credentials: Vec::new(),
            service_credentials: Vec::new(),
            max_skew: sigv4::DEFAULT_MAX_SKEW,
        }
    }
    pub fn aws_credential(mut self, credential: AwsCredential) -> Self {
        self.aws_credentials.push(credential);
        self
    }
    pub fn service_credential(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.service_credentials.push(ServiceCredential { username: username.into(), password: password.into() });
        self
    }
}

/// One connection's conversation. A refusal's text goes into an AuthenticationError (0x0100).
pub struct KeyspacesSasl {
    config: Arc<KeyspacesAuthConfig>,
    /// Set once the SigV4 challenge went out: the answer must sign this nonce.
    nonce: Option<String>,
}

impl KeyspacesSasl {
    pub fn new(config: Arc<KeyspacesAuthConfig>) -> Self {
        Self { config, nonce: None }
    }

    pub fn evaluate_at(&mut self, token: &[u8], now: OffsetDateTime) -> Result<SaslStep, String> {
        if let Some(nonce) = self.nonce.take() {
            let c = &self.config;
            return sigv4::verify(&c.aws_credentials, &c.region, c.max_skew, nonce.as_bytes(), token, now)
                .map(|user| SaslStep::Success { user, token: None })
                .map_err(|e| e.to_string());
        }
        if token == SIGV4_INITIAL_RESPONSE {
            let (nonce, challenge) = sigv4::new_challenge();
            self.nonce = Some(nonce);
            return Ok(SaslStep::Challenge(Some(challenge)));
        }
        self.plain(token)
    }

    fn plain(&self, token: &[u8]) -> Result<SaslStep, String> {
        // RFC 4616: [authzid] NUL authcid NUL passwd
        let mut parts = token.split(|&b| b == 0);
        let (_authzid, user, pass) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(a), Some(u), Some(p), None) => (a, u, p),
            _ => return Err("Authentication failed: unrecognised SASL token".into()),
        };
        let known = self
            .config
            .service_credentials
            .iter()
            .find(|c| c.username.as_bytes() == user && c.password.as_bytes() == pass);
        match known {
            Some(c) => Ok(SaslStep::Success { user: c.username.clone(), token: None }),
            // Cassandra's PasswordAuthenticator wording.
            None => Err("Provided username and/or password are incorrect".into()),
        }
    }
}

impl SaslSession for KeyspacesSasl {
    fn evaluate(&mut self, token: Option<&[u8]>) -> Result<SaslStep, CqlError> {
        self.evaluate_at(token.unwrap_or_default(), OffsetDateTime::now_utc())
            .map_err(|message| CqlError::new(ErrorKind::BadCredentials, message))
    }
}

/// The node-wide authenticator of the Keyspaces profile.
#[derive(Clone)]
pub struct KeyspacesAuthenticator {
    config: Arc<KeyspacesAuthConfig>,
}

impl KeyspacesAuthenticator {
    pub fn new(config: KeyspacesAuthConfig) -> Self {
        Self { config: Arc::new(config) }
    }
}

impl Authenticator for KeyspacesAuthenticator {
    fn class_name(&self) -> &str {
        KEYSPACES_AUTHENTICATOR
    }
    fn new_session(&self) -> Box<dyn SaslSession> {
        Box::new(KeyspacesSasl::new(self.config.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Arc<KeyspacesAuthConfig> {
        Arc::new(
            KeyspacesAuthConfig::new("eu-west-3")
                .aws_credential(AwsCredential::new("AKIDTEST", "secret"))
                .service_credential("alice-at-123", "pw"),
        )
    }

    #[test]
    fn sigv4_conversation_succeeds_with_a_plugin_style_answer() {
        let mut sasl = KeyspacesSasl::new(config());
        let Ok(SaslStep::Challenge(Some(challenge))) = sasl.evaluate(Some(b"SigV4\0\0")) else { panic!("no challenge") };
        let nonce = sigv4::extract_nonce(&challenge).unwrap();
        let answer = sigv4::sign_response(&AwsCredential::new("AKIDTEST", "secret"), "eu-west-3", nonce, OffsetDateTime::now_utc());
        assert_eq!(sasl.evaluate(Some(answer.as_bytes())), Ok(SaslStep::Success { user: "AKIDTEST".into(), token: None }));
    }

    #[test]
    fn a_replayed_answer_for_another_nonce_is_refused() {
        let mut first = KeyspacesSasl::new(config());
        let Ok(SaslStep::Challenge(Some(c1))) = first.evaluate(Some(b"SigV4\0\0")) else { panic!() };
        let answer = sigv4::sign_response(&AwsCredential::new("AKIDTEST", "secret"), "eu-west-3", sigv4::extract_nonce(&c1).unwrap(), OffsetDateTime::now_utc());
        let mut second = KeyspacesSasl::new(config());
        second.evaluate(Some(b"SigV4\0\0")).unwrap();
        let err = second.evaluate(Some(answer.as_bytes())).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadCredentials);
    }

    #[test]
    fn plain_service_credentials() {
        assert_eq!(
            KeyspacesSasl::new(config()).evaluate(Some(b"\0alice-at-123\0pw")),
            Ok(SaslStep::Success { user: "alice-at-123".into(), token: None })
        );
        assert!(KeyspacesSasl::new(config()).evaluate(Some(b"\0alice-at-123\0nope")).is_err());
        assert!(KeyspacesSasl::new(config()).evaluate(Some(b"garbage")).is_err());
    }
}
