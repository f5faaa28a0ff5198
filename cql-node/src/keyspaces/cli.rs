//! The binary's options for the test-double features (profile, several nodes, fault admin API),
//! as a clap `Args` group the binary flattens into its own, and `start` that runs them.
//!
//! ```text
//! cql-node --profile keyspaces --region eu-west-3 --ca-out /tmp/ks-ca.pem \
//!          --aws-credential AKIDTEST:secret --nodes 3 --admin 127.0.0.1:9100
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::Authenticator;

use crate::cluster::Cluster;
use crate::engine::Engine;
use crate::faults::{FaultRegistry, admin};
use crate::keyspaces::sasl::ServiceCredential;
use crate::keyspaces::{AwsCredential, KeyspacesConfig, KeyspacesProfile, KEYSPACES_PORT};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Plain Cassandra 4.1 behaviour.
    Cassandra,
    /// Amazon Keyspaces: TLS only, SigV4 or service-specific credentials, its rules.
    Keyspaces,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TestDoubleArgs {
    /// Which service to behave as.
    #[arg(long, value_enum, default_value = "cassandra", env = "CQL_NODE_PROFILE")]
    pub profile: Profile,
    /// Keyspaces region: the certificate is for cassandra.<region>.amazonaws.com and SigV4
    /// signatures must be scoped to it.
    #[arg(long, default_value = "us-east-1", env = "CQL_NODE_REGION")]
    pub region: String,
    /// Where to write the generated CA certificate (PEM) clients must trust (Keyspaces).
    #[arg(long, env = "CQL_NODE_CA_OUT")]
    pub ca_out: Option<PathBuf>,
    /// Test credentials SigV4 accepts, `KEY_ID:SECRET` or `KEY_ID:SECRET:SESSION_TOKEN`
    /// (the latter stands for temporary credentials). Repeatable; comma-separated in the env.
    #[arg(long = "aws-credential", env = "CQL_NODE_AWS_CREDENTIALS", value_delimiter = ',', hide_env_values = true, value_parser = parse_aws_credential)]
    pub aws_credentials: Vec<AwsCredential>,
    /// Service-specific credentials accepted with PLAIN, `USER:PASSWORD` (Keyspaces). Repeatable.
    #[arg(long = "service-user", value_parser = parse_service_user)]
    pub service_users: Vec<ServiceCredential>,
    /// How long a new keyspace/table stays CREATING (Keyspaces), in milliseconds.
    #[arg(long, default_value_t = 2000, env = "CQL_NODE_CREATING_MS")]
    pub creating_ms: u64,
    /// How many nodes, on 127.0.0.1, 127.0.0.2, ... with the same port. Default 1, or with
    /// `--profile keyspaces` a public endpoint's ten (the one reached and nine peers).
    #[arg(long, env = "CQL_NODE_NODES")]
    pub nodes: Option<usize>,
    /// Serve the fault-injection HTTP API here (keep it on loopback).
    #[arg(long, env = "CQL_NODE_ADMIN")]
    pub admin: Option<SocketAddr>,
    /// Several nodes: how long a killed node goes unnoticed by the others, in milliseconds
    /// (default ≈ Cassandra's failure detector). See docs/REPLICATION.md.
    #[arg(long, env = "CQL_NODE_DETECTION_MS")]
    pub detection_ms: Option<u64>,
    /// Several nodes: `write_request_timeout` and `read_request_timeout` in milliseconds,
    /// how long a request waits for a replica that never answers (default 2000 and 5000).
    #[arg(long, env = "CQL_NODE_WRITE_TIMEOUT_MS")]
    pub write_timeout_ms: Option<u64>,
    #[arg(long, env = "CQL_NODE_READ_TIMEOUT_MS")]
    pub read_timeout_ms: Option<u64>,
    /// Several nodes: how long after a stopped node is back the writes it missed are
    /// delivered to it (hinted handoff), in milliseconds of the engine's clock (default
    /// 10000). Until then a read at ONE it serves can be stale.
    #[arg(long, env = "CQL_NODE_HINT_DELAY_MS")]
    pub hint_delay_ms: Option<u64>,
    /// Several nodes: where each sits, `DC:RACK` per node in order (cycled), e.g.
    /// `dc1:r1,dc1:r2,dc2:r1`. Default: all in datacenter1, rack1.
    #[arg(long, env = "CQL_NODE_PLACEMENT", value_delimiter = ',', value_parser = parse_place)]
    pub placement: Vec<(String, String)>,
}

fn parse_place(spec: &str) -> Result<(String, String), String> {
    match spec.split_once(':') {
        Some((dc, rack)) if !dc.is_empty() && !rack.is_empty() => Ok((dc.into(), rack.into())),
        _ => Err(format!("expected DC:RACK, got {spec}")),
    }
}

fn parse_aws_credential(spec: &str) -> Result<AwsCredential, String> {
    let mut parts = spec.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(id), Some(secret), token) if !id.is_empty() && !secret.is_empty() => {
            let credential = AwsCredential::new(id, secret);
            Ok(match token {
                Some(t) if !t.is_empty() => credential.with_session_token(t),
                _ => credential,
            })
        }
        // Never echo the spec: it holds a secret.
        _ => Err("expected KEY_ID:SECRET[:SESSION_TOKEN]".into()),
    }
}

fn parse_service_user(spec: &str) -> Result<ServiceCredential, String> {
    match spec.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(ServiceCredential { username: user.into(), password: password.into() }),
        _ => Err("expected USER:PASSWORD".into()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TestDoubleError {
    #[error(transparent)]
    Tls(#[from] super::tls::TlsSetupError),
    #[error(transparent)]
    Start(#[from] crate::server::StartError),
    #[error("cannot serve the admin API on {addr}: {source}")]
    Admin { addr: SocketAddr, source: std::io::Error },
}

/// What `start` runs: the nodes, and the admin API task if asked for.
pub struct Running {
    pub cluster: Cluster,
    pub admin: Option<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)>,
}

impl Running {
    pub async fn stop(self) {
        if let Some((_, task)) = self.admin {
            task.abort();
        }
        self.cluster.stop().await;
    }
}

impl TestDoubleArgs {
    /// The port to use when the binary was given none: 9142 for Keyspaces, else `default`.
    pub fn default_port(&self, default: u16) -> u16 {
        if self.profile == Profile::Keyspaces { KEYSPACES_PORT } else { default }
    }

    /// Whether any of these options asks for more than one plain node.
    pub fn is_active(&self) -> bool {
        self.profile != Profile::Cassandra || self.nodes.is_some_and(|n| n > 1) || self.admin.is_some()
    }

    /// Starts the nodes from `first` on `port` (0: any free port) over `engine`, and the
    /// admin API. `auth` applies to the Cassandra profile (Keyspaces brings its own).
    pub async fn start(&self, engine: Engine, first: Ipv4Addr, port: u16, auth: Option<Arc<dyn Authenticator>>) -> Result<Running, TestDoubleError> {
        let faults = FaultRegistry::new();
        let mut builder = Cluster::builder().first_address(first).port(port).engine(engine).faults(faults.clone());
        // Unset: one Cassandra node, or the cluster builder's Keyspaces public endpoint.
        if let Some(n) = self.nodes.or((self.profile == Profile::Cassandra).then_some(1)) {
            builder = builder.nodes(n);
        }
        if let Some(auth) = auth {
            builder = builder.authenticator(auth);
        }
        // The replica layer's knobs (several Cassandra nodes only).
        if let Some(ms) = self.detection_ms {
            builder = builder.detection_delay(Duration::from_millis(ms));
        }
        if self.write_timeout_ms.is_some() || self.read_timeout_ms.is_some() {
            let write = Duration::from_millis(self.write_timeout_ms.unwrap_or(2000));
            let read = Duration::from_millis(self.read_timeout_ms.unwrap_or(5000));
            builder = builder.request_timeouts(write, read);
        }
        if let Some(ms) = self.hint_delay_ms {
            builder = builder.hint_delay(Duration::from_millis(ms));
        }
        if !self.placement.is_empty() {
            builder = builder.placement(self.placement.iter().cloned());
        }
        if self.profile == Profile::Keyspaces {
            let mut config = KeyspacesConfig::new(self.region.clone()).creating_for(Duration::from_millis(self.creating_ms));
            for c in &self.aws_credentials {
                config = config.aws_credential(c.clone());
            }
            for c in &self.service_users {
                config = config.service_credential(c.username.clone(), c.password.clone());
            }
            let profile = KeyspacesProfile::new(config)?;
            if let Some(path) = &self.ca_out {
                profile.tls.write_ca_pem(path)?;
                tracing::info!(path = %path.display(), host = profile.tls.host(), "Keyspaces CA certificate written");
            }
            builder = builder.keyspaces(profile);
        }
        let cluster = builder.start().await?;
        let admin = match self.admin {
            None => None,
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| TestDoubleError::Admin { addr, source })?;
                let bound = listener.local_addr().map_err(|source| TestDoubleError::Admin { addr, source })?;
                tracing::info!(%bound, "fault admin API listening");
                // Node control (kill/stop/start, see replication::admin) beside the faults.
                let routes = admin::router(faults).merge(crate::replication::admin::router(cluster.control()));
                Some((bound, tokio::spawn(async move { axum::serve(listener, routes).await })))
            }
        };
        Ok(Running { cluster, admin })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        extras: TestDoubleArgs,
    }

    #[test]
    fn parses_keyspaces_options() {
        let cli = Cli::try_parse_from([
            "cql-node",
            "--profile",
            "keyspaces",
            "--aws-credential",
            "AKID:sec:tok",
            "--aws-credential",
            "AKID2:sec2",
            "--service-user",
            "alice:pw",
            "--nodes",
            "3",
            "--admin",
            "127.0.0.1:0",
        ])
        .unwrap();
        let a = cli.extras;
        assert_eq!(a.profile, Profile::Keyspaces);
        assert_eq!(a.aws_credentials, vec![AwsCredential::new("AKID", "sec").with_session_token("tok"), AwsCredential::new("AKID2", "sec2")]);
        assert_eq!(a.service_users, vec![ServiceCredential { username: "alice".into(), password: "pw".into() }]);
        assert!(!format!("{a:?}").contains("sec2"), "no secret in Debug output");
        assert_eq!(a.nodes, Some(3));
        assert_eq!(a.default_port(9042), 9142);
        assert!(Cli::try_parse_from(["cql-node", "--aws-credential", "nosecret"]).is_err());
    }
}
