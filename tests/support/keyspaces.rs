//! A CQL node with its Amazon Keyspaces profile (TLS with its own CA, SigV4, Keyspaces'
//! consistency rules, the region as data center) and the store's tables, for tests that build
//! the functions' `Db` through `http_api::startup` exactly as `main` does with
//! `STORE_BACKEND=keyspaces`. Credentials are given to the driver as a provider instead of
//! through the AWS chain, which reads the process environment that tests must not change.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use cql_node::cluster::Cluster;
use cql_node::faults::FaultRegistry;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig as NodeConfig, KeyspacesProfile};
use http_api::startup::db_from_lookup_with;
use keyspaces::{CredentialSource, KeyspacesConfig, RefreshingCredentials};
use scylla::client::session_builder::SessionBuilder;
use store::Db;

pub const REGION: &str = "eu-west-3";
const ACCESS_KEY: &str = "AKIDSTORETESTS";
// A credential of the test double only, never an AWS one.
const SECRET_KEY: &str = "store-tests-secret";

pub struct KeyspacesNode {
    pub cluster: Cluster,
    dir: PathBuf,
}

/// The credentials the node accepts.
pub fn node_credentials() -> CredentialSource {
    provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "store-tests"))
}

pub fn provider(p: impl ProvideCredentials + 'static) -> CredentialSource {
    CredentialSource::Provider(SharedCredentialsProvider::new(p))
}

impl KeyspacesNode {
    /// A public endpoint's topology (the host reached and nine peers, the profile's default),
    /// tables ACTIVE at once, the schema applied over a Keyspaces session.
    pub async fn start() -> KeyspacesNode {
        let config = NodeConfig::new(REGION)
            .aws_credential(AwsCredential::new(ACCESS_KEY, SECRET_KEY))
            .creating_for(std::time::Duration::ZERO);
        let profile = KeyspacesProfile::new(config).expect("certificates");
        let dir = std::env::temp_dir().join(format!("store-tests-keyspaces-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        profile.tls.write_ca_pem(&dir.join("ca.pem")).expect("CA written");
        let cluster =
            Cluster::builder().faults(FaultRegistry::new()).keyspaces(profile).start().await.expect("node starts");
        let node = KeyspacesNode { cluster, dir };
        node.apply_schema().await;
        node
    }

    fn client_config(&self) -> KeyspacesConfig {
        let mut cfg = KeyspacesConfig::new(REGION);
        let addr = self.cluster.node_addr(0);
        cfg.endpoint_host = Some(addr.ip().to_string());
        cfg.endpoint_port = Some(addr.port());
        cfg.ca_file = Some(self.dir.join("ca.pem"));
        cfg
    }

    async fn apply_schema(&self) {
        let creds = Arc::new(RefreshingCredentials::new(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "schema")));
        let builder = keyspaces::configure_with_credentials(SessionBuilder::new(), &self.client_config(), creds)
            .await
            .expect("Keyspaces settings");
        let session = builder.build().await.expect("connect for the schema");
        let mut statements =
            vec!["CREATE KEYSPACE IF NOT EXISTS store WITH replication = {'class': 'SingleRegionStrategy'}".to_owned()];
        // As the schema command's Keyspaces mode creates them: with row TTLs enabled, which
        // Keyspaces needs before it accepts the claims' `USING TTL`.
        statements.extend(
            store::schema::create_tables("store")
                .into_iter()
                .map(|t| format!("{t} WITH CUSTOM_PROPERTIES = {{'ttl': {{'status': 'enabled'}}}}")),
        );
        store::schema::apply(&session, &statements).await.expect("apply the schema");
    }

    /// The variables `main` would see on Keyspaces (pointed at this node), plus `extra`.
    pub fn variables(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let addr = self.cluster.node_addr(0);
        let mut vars: HashMap<String, String> = [
            ("STORE_BACKEND", "keyspaces".to_owned()),
            ("KEYSPACES_REGION", REGION.to_owned()),
            ("KEYSPACES_ENDPOINT", addr.to_string()),
            ("KEYSPACES_CA_FILE", self.dir.join("ca.pem").display().to_string()),
            ("STORE_CONNECT_TIMEOUT_MS", "2000".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    /// The functions' `Db`, built by `http_api::startup` from these variables.
    pub fn db(&self, extra: &[(&str, &str)], credentials: CredentialSource) -> Db {
        let vars = self.variables(extra);
        db_from_lookup_with(|name| vars.get(name).cloned(), credentials).expect("a valid configuration")
    }

    pub fn faults(&self) -> &FaultRegistry {
        self.cluster.faults()
    }

    pub async fn stop(self) {
        self.cluster.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
