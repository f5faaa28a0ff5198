//! Credentials from the variables Lambda sets for the function's role: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. On `provided.al2023` (no SnapStart for
//! custom runtimes) that is where a function's credentials always are, so the functions need
//! none of the standard chain's network sources (container endpoint, IMDS, STS), whose HTTPS
//! client and second TLS stack were about half of each binary. Tools run by people load the
//! whole chain themselves (aws-config) and pass it as a `CredentialSource::Provider`.

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};

pub const ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads the variables on every fetch (the refreshing cache in front of it keeps the result),
/// so a test can hand it any lookup instead of the process environment.
#[derive(Clone)]
pub struct EnvironmentCredentials {
    lookup: Lookup,
}

impl std::fmt::Debug for EnvironmentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironmentCredentials").finish_non_exhaustive()
    }
}

impl EnvironmentCredentials {
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        EnvironmentCredentials { lookup: Arc::new(lookup) }
    }

    /// The credentials, or which variable is missing (never a value).
    pub fn read(&self) -> Result<Credentials, CredentialsError> {
        let get = |name: &str| (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        match (get(ACCESS_KEY_ID), get(SECRET_ACCESS_KEY)) {
            (Some(id), Some(secret)) => Ok(Credentials::new(id, secret, get(SESSION_TOKEN), None, "Environment")),
            (None, None) => Err(CredentialsError::not_loaded(format!(
                "{ACCESS_KEY_ID} and {SECRET_ACCESS_KEY} are not set (Lambda sets them for the function's role)"
            ))),
            (None, Some(_)) => Err(CredentialsError::invalid_configuration(format!("{SECRET_ACCESS_KEY} is set without {ACCESS_KEY_ID}"))),
            (Some(_), None) => Err(CredentialsError::invalid_configuration(format!("{ACCESS_KEY_ID} is set without {SECRET_ACCESS_KEY}"))),
        }
    }
}

impl ProvideCredentials for EnvironmentCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::error::display::DisplayErrorContext;

    fn from(vars: &'static [(&'static str, &'static str)]) -> EnvironmentCredentials {
        EnvironmentCredentials::from_lookup(move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn a_role_session_gives_its_key_secret_and_token() {
        let creds = from(&[(ACCESS_KEY_ID, "ASIAEXAMPLE"), (SECRET_ACCESS_KEY, "s3cret"), (SESSION_TOKEN, "tok")]).read().unwrap();
        assert_eq!((creds.access_key_id(), creds.secret_access_key(), creds.session_token()), ("ASIAEXAMPLE", "s3cret", Some("tok")));
        let permanent = from(&[(ACCESS_KEY_ID, "AKIAEXAMPLE"), (SECRET_ACCESS_KEY, "s3cret"), (SESSION_TOKEN, " ")]).read().unwrap();
        assert_eq!(permanent.session_token(), None, "a blank token is no token");
    }

    #[test]
    fn a_missing_half_names_the_variable_and_never_the_value() {
        for (vars, named) in [
            (&[][..], ACCESS_KEY_ID),
            (&[(ACCESS_KEY_ID, "AKIAEXAMPLE")][..], SECRET_ACCESS_KEY),
            (&[(SECRET_ACCESS_KEY, "very-secret")][..], ACCESS_KEY_ID),
        ] {
            let vars: &'static [(&'static str, &'static str)] = Box::leak(vars.to_vec().into_boxed_slice());
            let err = DisplayErrorContext(from(vars).read().unwrap_err()).to_string();
            assert!(err.contains(named), "{err}");
            assert!(!err.contains("very-secret"), "{err}");
        }
    }
}
