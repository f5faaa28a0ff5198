//! The database a function under test talks to: the CQL node in this process, in its
//! Cassandra or its Keyspaces profile, with the store's schema applied, and the environment
//! a deployed function would get to reach it (on Keyspaces: TLS with the node's CA as the
//! extra CA, SigV4 with temporary credentials in the variables Lambda sets).

use std::path::PathBuf;
use std::sync::Arc;

use aws_credential_types::Credentials;
use cql_node::cluster::Cluster;
use cql_node::keyspaces::{AwsCredential, KeyspacesConfig as NodeConfig, KeyspacesProfile};
use keyspaces::{KeyspacesConfig, RefreshingCredentials};
use scylla::client::session_builder::SessionBuilder;

pub const REGION: &str = "eu-west-3";
// Credentials of the test double only, never AWS ones; shaped like a Lambda role's.
const ACCESS_KEY: &str = "ASIAFUNCTIONBENCH";
const SECRET_KEY: &str = "function-bench-secret";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEFunctionBench//token+with/base64=";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Cassandra,
    Keyspaces,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Cassandra => "cassandra",
            Profile::Keyspaces => "keyspaces",
        }
    }
}

pub struct Database {
    pub profile: Profile,
    cluster: Cluster,
    dir: PathBuf,
}

impl Database {
    /// `nodes`: `None` is the profile's own topology (Keyspaces: a public endpoint's ten hosts).
    pub async fn start(profile: Profile, nodes: Option<usize>) -> Result<Database, String> {
        let dir = std::env::temp_dir().join(format!("function-bench-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let builder = match nodes {
            Some(n) => Cluster::builder().nodes(n),
            None => Cluster::builder(),
        };
        let cluster = match profile {
            Profile::Cassandra => builder.start().await.map_err(|e| e.to_string())?,
            Profile::Keyspaces => {
                let config = NodeConfig::new(REGION)
                    .aws_credential(AwsCredential::new(ACCESS_KEY, SECRET_KEY).with_session_token(SESSION_TOKEN))
                    .creating_for(std::time::Duration::ZERO);
                let ks = KeyspacesProfile::new(config).map_err(|e| e.to_string())?;
                ks.tls.write_ca_pem(&dir.join("ca.pem")).map_err(|e| e.to_string())?;
                builder.keyspaces(ks).start().await.map_err(|e| e.to_string())?
            }
        };
        let db = Database { profile, cluster, dir };
        db.apply_schema().await?;
        Ok(db)
    }

    async fn apply_schema(&self) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| format!("schema on the {} profile: {e}", self.profile.name());
        match self.profile {
            Profile::Cassandra => {
                let config = store::Config::local(self.cluster.port());
                let session = store::db::session_builder(&config).build().await.map_err(|e| err(&e))?;
                let statements = store::schema::statements(&config.keyspace, &config.replication);
                store::schema::apply(&session, &statements).await.map_err(|e| err(&e))
            }
            Profile::Keyspaces => {
                let mut cfg = KeyspacesConfig::new(REGION);
                let addr = self.cluster.node_addr(0);
                cfg.endpoint_host = Some(addr.ip().to_string());
                cfg.endpoint_port = Some(addr.port());
                cfg.ca_file = Some(self.dir.join("ca.pem"));
                let creds = Credentials::new(ACCESS_KEY, SECRET_KEY, Some(SESSION_TOKEN.into()), None, "bench");
                let builder = keyspaces::configure_with_credentials(SessionBuilder::new(), &cfg, Arc::new(RefreshingCredentials::new(creds)))
                    .await
                    .map_err(|e| err(&e))?;
                let session = builder.build().await.map_err(|e| err(&e))?;
                let mut statements =
                    vec!["CREATE KEYSPACE IF NOT EXISTS store WITH replication = {'class': 'SingleRegionStrategy'}".to_owned()];
                statements.extend(
                    store::schema::create_tables("store")
                        .into_iter()
                        .map(|t| format!("{t} WITH CUSTOM_PROPERTIES = {{'ttl': {{'status': 'enabled'}}}}")),
                );
                store::schema::apply(&session, &statements).await.map_err(|e| err(&e))
            }
        }
    }

    /// The variables the function needs to reach this database, as deployed.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        let addr = self.cluster.node_addr(0);
        match self.profile {
            Profile::Cassandra => vec![("STORE_CONTACT_POINTS", addr.to_string())],
            Profile::Keyspaces => vec![
                ("STORE_BACKEND", "keyspaces".into()),
                ("KEYSPACES_ENDPOINT", addr.to_string()),
                ("KEYSPACES_CA_FILE", self.dir.join("ca.pem").display().to_string()),
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
                ("AWS_SESSION_TOKEN", SESSION_TOKEN.into()),
            ],
        }
    }

    pub fn nodes(&self) -> usize {
        self.cluster.len()
    }

    pub async fn stop(self) {
        self.cluster.stop().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
