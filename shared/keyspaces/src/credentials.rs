//! AWS credentials for signing, from the function's environment (the Lambda role's key, secret
//! and session token: `environment.rs`) or any provider the caller holds (the tools run by
//! people pass aws-config's standard chain: environment, profile, SSO, container, IMDS), kept
//! in memory and fetched again a few minutes before they expire so a connection opened late in
//! a role session never signs with a dying key.
//!
//! This crate does not depend on aws-config, not even behind a feature: Cargo unifies features
//! over every package a build selects, and `sam build` / `cargo lambda build --bin ...` select
//! the whole workspace, so a tool turning the chain on put its HTTPS client and second TLS
//! stack into both Lambda zips (issue 11: 5.75 MB where 3 were wanted).
//!
//! aws-config leaves caching to the SDK clients' identity cache, which is not usable outside
//! an SDK client: this is the few lines of it the CQL authenticator needs.
//!
//! Every fetch is bounded (`with_fetch_timeout`): the chain's sources (IMDS, a container
//! endpoint, STS) are network calls with their own, longer, retries, and a cold start or a
//! reconnect must answer 503 rather than wait on them.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::error::display::DisplayErrorContext;
use tokio::sync::Mutex;

use crate::error::KeyspacesError;

/// Credentials this close to expiry are replaced before use.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// Bound on one fetch unless `with_fetch_timeout` says otherwise.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub struct RefreshingCredentials {
    provider: SharedCredentialsProvider,
    current: Mutex<Option<Credentials>>,
    fetch_timeout: Duration,
}

/// Where a Keyspaces session gets its AWS credentials: the variables Lambda sets (the
/// functions) or a given provider (tests, and tools that load the standard chain themselves).
#[derive(Debug, Clone)]
pub enum CredentialSource {
    LambdaEnvironment,
    Provider(SharedCredentialsProvider),
}

impl CredentialSource {
    /// The cache over this source, each fetch bounded by `fetch_timeout`.
    pub fn open(&self, fetch_timeout: Duration) -> RefreshingCredentials {
        let creds = match self {
            CredentialSource::LambdaEnvironment => RefreshingCredentials::new(crate::environment::EnvironmentCredentials::from_process()),
            CredentialSource::Provider(p) => RefreshingCredentials::new(p.clone()),
        };
        creds.with_fetch_timeout(fetch_timeout)
    }
}

impl std::fmt::Debug for RefreshingCredentials {
    // Never print what the cache holds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingCredentials").finish_non_exhaustive()
    }
}

impl RefreshingCredentials {
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        RefreshingCredentials {
            provider: SharedCredentialsProvider::new(provider),
            current: Mutex::new(None),
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }

    /// Bounds each fetch (waiting for another caller's fetch included) by `timeout`.
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// Current credentials, fetched anew when absent or expiring within `REFRESH_AHEAD`.
    /// Fails when the source errs or does not answer within the fetch timeout.
    pub async fn get(&self) -> Result<Credentials, KeyspacesError> {
        let fetch = async {
            let mut current = self.current.lock().await;
            if let Some(creds) = current.as_ref().filter(|c| still_fresh(c, SystemTime::now())) {
                return Ok(creds.clone());
            }
            let fresh = self
                .provider
                .provide_credentials()
                .await
                .map_err(|e| KeyspacesError::Credentials(DisplayErrorContext(&e).to_string()))?;
            *current = Some(fresh.clone());
            Ok(fresh)
        };
        tokio::time::timeout(self.fetch_timeout, fetch).await.unwrap_or_else(|_| {
            Err(KeyspacesError::Credentials(format!(
                "the credential source did not answer within {:?}",
                self.fetch_timeout
            )))
        })
    }
}

fn still_fresh(creds: &Credentials, now: SystemTime) -> bool {
    match creds.expiry() {
        None => true,
        Some(expiry) => expiry.duration_since(now).is_ok_and(|left| left > REFRESH_AHEAD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::future::ProvideCredentials as ProvideFuture;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Hands out numbered credentials valid for `valid_for`, counting calls.
    #[derive(Debug)]
    struct Numbered {
        calls: Arc<AtomicUsize>,
        valid_for: Duration,
    }

    impl ProvideCredentials for Numbered {
        fn provide_credentials<'a>(&'a self) -> ProvideFuture<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = SystemTime::now() + self.valid_for;
            ProvideFuture::ready(Ok(Credentials::new(format!("AKID{n}"), "secret", Some(format!("token{n}")), Some(expiry), "test")))
        }
    }

    fn cache(valid_for: Duration) -> (RefreshingCredentials, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        (RefreshingCredentials::new(Numbered { calls: calls.clone(), valid_for }), calls)
    }

    #[tokio::test]
    async fn long_lived_credentials_are_fetched_once() {
        let (creds, calls) = cache(Duration::from_secs(3600));
        assert_eq!(creds.get().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(creds.get().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn credentials_near_expiry_are_replaced_before_use() {
        let (creds, calls) = cache(Duration::from_secs(60));
        assert_eq!(creds.get().await.unwrap().session_token(), Some("token0"));
        assert_eq!(creds.get().await.unwrap().session_token(), Some("token1"));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A source that never answers, as a black-holed metadata endpoint.
    #[derive(Debug)]
    struct Silent;

    impl ProvideCredentials for Silent {
        fn provide_credentials<'a>(&'a self) -> ProvideFuture<'a>
        where
            Self: 'a,
        {
            ProvideFuture::new(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_silent_source_is_an_error_after_the_fetch_timeout() {
        let creds = RefreshingCredentials::new(Silent).with_fetch_timeout(Duration::from_millis(300));
        let err = creds.get().await.expect_err("bounded");
        assert!(err.to_string().contains("did not answer within 300ms"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let creds = RefreshingCredentials::new(Credentials::new("AKID", "very-secret", None, None, "test"));
        assert!(!format!("{creds:?}").contains("very-secret"));
    }
}
