//! Authentication as the protocol sees it: a named authenticator (the class name sent in
//! AUTHENTICATE) that opens one SASL exchange per connection. PasswordAuthenticator lives
//! here; other mechanisms (SigV4 for the Keyspaces profile) plug in through the same traits.
//!
//! The exchange (§4.2.3, §4.1.2, §4.2.7, §4.2.8): STARTUP → AUTHENTICATE(class) →
//! AUTH_RESPONSE(token) → either AUTH_CHALLENGE(token) → AUTH_RESPONSE(token) → ... or
//! AUTH_SUCCESS, or an ERROR (0x0100 BadCredentials) that leaves the connection open.

use std::collections::HashMap;

use crate::error::{CqlError, ErrorKind};

/// A server-side authenticator, shared by every connection of a node.
pub trait Authenticator: Send + Sync + 'static {
    /// The fully qualified class name sent in AUTHENTICATE; drivers pick their plugin by it.
    fn class_name(&self) -> &str;
    /// Starts the SASL exchange of one connection.
    fn new_session(&self) -> Box<dyn SaslSession>;
}

/// One connection's SASL exchange: fed each AUTH_RESPONSE token in turn.
pub trait SaslSession: Send {
    /// Returns the next step, or the error to answer (normally `ErrorKind::BadCredentials`).
    fn evaluate(&mut self, token: Option<&[u8]>) -> Result<SaslStep, CqlError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslStep {
    /// Send AUTH_CHALLENGE with this token and wait for another AUTH_RESPONSE.
    Challenge(Option<Vec<u8>>),
    /// Send AUTH_SUCCESS with this token; the connection is authenticated as `user`.
    Success { user: String, token: Option<Vec<u8>> },
}

/// `org.apache.cassandra.auth.PasswordAuthenticator` with a fixed set of users (SASL PLAIN).
#[derive(Clone, Default)]
pub struct PasswordAuthenticator {
    users: HashMap<String, String>,
}

impl std::fmt::Debug for PasswordAuthenticator {
    // Never print the passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordAuthenticator").field("users", &self.users.keys().collect::<Vec<_>>()).finish()
    }
}

pub const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";

impl PasswordAuthenticator {
    pub fn new(users: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { users: users.into_iter().collect() }
    }

    /// Parses `name:password` (as given to the binary's `--user`); the password may hold ':'.
    pub fn parse_user(spec: &str) -> Option<(String, String)> {
        let (name, password) = spec.split_once(':')?;
        (!name.is_empty()).then(|| (name.to_string(), password.to_string()))
    }

    fn check(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(expected) => constant_time_eq(expected.as_bytes(), password.as_bytes()),
            None => {
                // Same work for unknown users, so timing does not reveal which names exist.
                let _ = constant_time_eq(password.as_bytes(), password.as_bytes());
                false
            }
        }
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    diff == 0
}

impl Authenticator for PasswordAuthenticator {
    fn class_name(&self) -> &str {
        PASSWORD_AUTHENTICATOR
    }

    fn new_session(&self) -> Box<dyn SaslSession> {
        Box::new(PlainSession { auth: self.clone() })
    }
}

struct PlainSession {
    auth: PasswordAuthenticator,
}

fn bad_credentials(message: impl Into<String>) -> CqlError {
    CqlError::new(ErrorKind::BadCredentials, message)
}

impl SaslSession for PlainSession {
    fn evaluate(&mut self, token: Option<&[u8]>) -> Result<SaslStep, CqlError> {
        // SASL PLAIN: [authzid] NUL authcid NUL password; Cassandra ignores the authzid.
        let token = token.unwrap_or_default();
        let mut parts = token.rsplitn(3, |b| *b == 0);
        let password = parts.next().unwrap_or_default();
        let user = parts.next();
        let user = match user {
            Some(u) if !u.is_empty() => u,
            _ => return Err(bad_credentials("Authentication ID must not be null")),
        };
        if password.is_empty() {
            return Err(bad_credentials("Password must not be null"));
        }
        let user = String::from_utf8_lossy(user).into_owned();
        let password = String::from_utf8_lossy(password);
        if self.auth.check(&user, &password) {
            Ok(SaslStep::Success { user, token: None })
        } else {
            Err(bad_credentials(format!("Provided username {user} and/or password are incorrect")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> PasswordAuthenticator {
        PasswordAuthenticator::new([("alice".to_string(), "s3cret:x".to_string())])
    }

    #[test]
    fn plain_token_with_right_password_succeeds() {
        let step = auth().new_session().evaluate(Some(b"\0alice\0s3cret:x")).unwrap();
        assert_eq!(step, SaslStep::Success { user: "alice".into(), token: None });
    }

    #[test]
    fn wrong_password_gets_cassandras_message() {
        let err = auth().new_session().evaluate(Some(b"\0alice\0nope")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadCredentials);
        assert_eq!(err.message, "Provided username alice and/or password are incorrect");
        let err = auth().new_session().evaluate(Some(b"\0bob\0s3cret:x")).unwrap_err();
        assert_eq!(err.message, "Provided username bob and/or password are incorrect");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        assert!(auth().new_session().evaluate(None).is_err());
        assert!(auth().new_session().evaluate(Some(b"alice")).is_err());
        assert!(auth().new_session().evaluate(Some(b"\0alice\0")).is_err());
    }

    #[test]
    fn user_spec_parsing_and_debug_hides_passwords() {
        assert_eq!(PasswordAuthenticator::parse_user("a:b:c"), Some(("a".into(), "b:c".into())));
        assert_eq!(PasswordAuthenticator::parse_user(":b"), None);
        assert!(!format!("{:?}", auth()).contains("s3cret"));
    }
}
