//! The scylla driver's side of the SigV4 exchange: one provider per session, one
//! authenticator per connection, credentials from the shared refreshing cache.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use scylla::authentication::{AuthError, AuthenticatorProvider, AuthenticatorSession};

use crate::credentials::RefreshingCredentials;
use crate::sigv4;

pub struct SigV4AuthProvider {
    region: String,
    credentials: Arc<RefreshingCredentials>,
}

impl SigV4AuthProvider {
    pub fn new(region: impl Into<String>, credentials: Arc<RefreshingCredentials>) -> Self {
        SigV4AuthProvider { region: region.into(), credentials }
    }
}

#[async_trait]
impl AuthenticatorProvider for SigV4AuthProvider {
    async fn start_authentication_session(
        &self,
        _authenticator_name: &str,
    ) -> Result<(Option<Vec<u8>>, Box<dyn AuthenticatorSession>), AuthError> {
        let session = SigV4Session { region: self.region.clone(), credentials: self.credentials.clone(), answered: false };
        Ok((Some(sigv4::INITIAL_RESPONSE.to_vec()), Box::new(session)))
    }
}

struct SigV4Session {
    region: String,
    credentials: Arc<RefreshingCredentials>,
    answered: bool,
}

#[async_trait]
impl AuthenticatorSession for SigV4Session {
    async fn evaluate_challenge(&mut self, token: Option<&[u8]>) -> Result<Option<Vec<u8>>, AuthError> {
        // The protocol has one challenge; a second means the server refused our answer
        // without saying so, and answering again would only loop.
        if self.answered {
            return Err("SigV4: the server challenged twice; the signature was not accepted".into());
        }
        let nonce = sigv4::extract_nonce(token.unwrap_or_default()).map_err(|e| format!("SigV4: {e}"))?;
        let creds = self.credentials.get().await.map_err(|e| format!("SigV4: {e}"))?;
        self.answered = true;
        Ok(Some(sigv4::challenge_response(nonce, &creds, &self.region, SystemTime::now()).into_bytes()))
    }

    async fn success(&mut self, _token: Option<&[u8]>) -> Result<(), AuthError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;

    fn provider() -> SigV4AuthProvider {
        let creds = Credentials::new("AKIDTEST", "secret", Some("session".into()), None, "test");
        SigV4AuthProvider::new("eu-west-1", Arc::new(RefreshingCredentials::new(creds)))
    }

    #[tokio::test]
    async fn opens_with_sigv4_and_answers_one_challenge_with_token() {
        let (initial, mut session) = provider().start_authentication_session("x").await.unwrap();
        assert_eq!(initial.as_deref(), Some(&b"SigV4\0\0"[..]));
        let answer = session.evaluate_challenge(Some(b"nonce=0123456789abcdef0123456789abcdef")).await.unwrap().unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("signature="), "{answer}");
        assert!(answer.contains(",access_key=AKIDTEST,amzdate="), "{answer}");
        assert!(answer.ends_with(",session_token=session"), "{answer}");
        assert!(!answer.contains("secret"));
        let again = session.evaluate_challenge(Some(b"nonce=0123456789abcdef0123456789abcdef")).await;
        assert!(again.unwrap_err().contains("challenged twice"));
    }

    #[tokio::test]
    async fn a_challenge_without_nonce_is_an_error_not_a_guess() {
        let (_, mut session) = provider().start_authentication_session("x").await.unwrap();
        assert!(session.evaluate_challenge(None).await.is_err());
        assert!(session.evaluate_challenge(Some(b"hello")).await.is_err());
    }
}
