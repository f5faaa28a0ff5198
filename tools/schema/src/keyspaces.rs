//! The schema command's Amazon Keyspaces mode. Keyspaces creates keyspaces and tables
//! asynchronously: a new table is CREATING for seconds to minutes and refuses reads and writes
//! until it is ACTIVE. So this mode creates what is missing, then waits, bounded and showing
//! progress, until every table reports ACTIVE.
//!
//! Two ways to ask, one waiting loop:
//! - `SdkSchemaApi`: the Keyspaces control plane through `aws-sdk-keyspaces` (`GetKeyspace`,
//!   `CreateKeyspace`, `GetTable`, `CreateTable`): what production uses.
//! - `CqlSchemaApi`: CQL `CREATE ... IF NOT EXISTS` and the `system_schema_mcs` status columns,
//!   as AWS documents for CQL clients: what runs against the CQL node's Keyspaces profile.
//!
//! The tables come from the store's own CQL (`store::schema::create_tables`), parsed here, so
//! both modes always create the same tables.

use std::future::Future;
use std::time::Duration;

use aws_sdk_keyspaces::Client;
use aws_sdk_keyspaces::types::{
    CapacitySpecification, ClusteringKey, ColumnDefinition, PartitionKey, SchemaDefinition, SortOrder, TableStatus,
    ThroughputMode, TimeToLive, TimeToLiveStatus,
};
use aws_smithy_types::error::display::DisplayErrorContext;
use scylla::client::session::Session;

/// One table as Keyspaces's `CreateTable` wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub name: String,
    /// (name, CQL type) in declaration order.
    pub columns: Vec<(String, String)>,
    pub partition_key: Vec<String>,
    pub clustering_key: Vec<String>,
    /// The CQL it was parsed from, for the CQL mode.
    pub cql: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyspacesSchemaError {
    #[error("cannot translate the store's CQL for Keyspaces: {0}")]
    Parse(String),
    #[error("Keyspaces API: {0}")]
    Api(String),
    #[error("{what} is still {status} after {waited:?} (bound {bound:?}); run the command again to keep waiting")]
    NotActive { what: String, status: String, waited: Duration, bound: Duration },
    #[error("{what} is {status}: it will not become ACTIVE")]
    Failed { what: String, status: String },
}

/// How long and how often to ask whether the tables are ACTIVE.
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    pub poll_every: Duration,
    pub bound: Duration,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy { poll_every: Duration::from_secs(2), bound: Duration::from_secs(300) }
    }
}

/// A resource's state as the service reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Missing,
    Active,
    /// Will become ACTIVE (CREATING, UPDATING, RESTORING).
    Pending(String),
    /// Will not (DELETING, DELETED, INACCESSIBLE_ENCRYPTION_CREDENTIALS...).
    Broken(String),
}

/// What the apply loop needs from Keyspaces.
pub trait SchemaApi {
    fn keyspace_status(&self, keyspace: &str) -> impl Future<Output = Result<Status, KeyspacesSchemaError>>;
    fn create_keyspace(&self, keyspace: &str) -> impl Future<Output = Result<(), KeyspacesSchemaError>>;
    fn table_status(&self, keyspace: &str, table: &str) -> impl Future<Output = Result<Status, KeyspacesSchemaError>>;
    fn create_table(&self, keyspace: &str, table: &TableDef) -> impl Future<Output = Result<(), KeyspacesSchemaError>>;
    /// Turns on row TTLs for an existing table that lacks them (the store writes claim rows
    /// with a TTL, which Keyspaces refuses otherwise); `true` when it had to.
    fn enable_ttl(&self, _keyspace: &str, _table: &str) -> impl Future<Output = Result<bool, KeyspacesSchemaError>> {
        std::future::ready(Ok(false))
    }
}

/// Creates the keyspace and tables that are missing, then waits until all are ACTIVE.
/// `progress` receives one human-readable line per step and per poll.
pub async fn apply(
    api: &impl SchemaApi,
    keyspace: &str,
    tables: &[TableDef],
    wait: WaitPolicy,
    progress: &mut dyn FnMut(String),
) -> Result<(), KeyspacesSchemaError> {
    let ks_label = format!("keyspace {keyspace}");
    if api.keyspace_status(keyspace).await? == Status::Missing {
        progress(format!("{ks_label}: absent, creating"));
        api.create_keyspace(keyspace).await?;
    } else {
        progress(format!("{ks_label}: exists"));
    }
    wait_active(&ks_label, || api.keyspace_status(keyspace), wait, progress).await?;

    for table in tables {
        let label = format!("table {keyspace}.{}", table.name);
        if api.table_status(keyspace, &table.name).await? == Status::Missing {
            progress(format!("{label}: absent, creating"));
            api.create_table(keyspace, table).await?;
        } else if api.enable_ttl(keyspace, &table.name).await? {
            progress(format!("{label}: exists, TTL enabled"));
        } else {
            progress(format!("{label}: exists"));
        }
    }
    for table in tables {
        let label = format!("table {keyspace}.{}", table.name);
        wait_active(&label, || api.table_status(keyspace, &table.name), wait, progress).await?;
    }
    Ok(())
}

async fn wait_active<F, Fut>(
    what: &str,
    mut status: F,
    wait: WaitPolicy,
    progress: &mut dyn FnMut(String),
) -> Result<(), KeyspacesSchemaError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Status, KeyspacesSchemaError>>,
{
    let started = tokio::time::Instant::now();
    loop {
        let waited = started.elapsed();
        let still = match status().await? {
            Status::Active => {
                progress(format!("{what}: ACTIVE"));
                return Ok(());
            }
            Status::Broken(status) => return Err(KeyspacesSchemaError::Failed { what: what.to_owned(), status }),
            // Just created and not listed yet: as good as CREATING.
            Status::Missing => "not visible yet".to_owned(),
            Status::Pending(status) => status,
        };
        progress(format!("{what}: {still} (waited {}s of {}s)", waited.as_secs(), wait.bound.as_secs()));
        if waited >= wait.bound {
            return Err(KeyspacesSchemaError::NotActive { what: what.to_owned(), status: still, waited, bound: wait.bound });
        }
        tokio::time::sleep(wait.poll_every).await;
    }
}

/// `--target keyspaces`: the control plane in `KEYSPACES_REGION`/`AWS_REGION`, credentials
/// from the standard AWS chain. `wait` bounds the wait for ACTIVE (0: the default 5 minutes).
pub async fn apply_sdk(config: &store::Config, wait: Duration) -> Result<(), String> {
    let region = ::keyspaces::KeyspacesConfig::from_env().map_err(|e| e.to_string())?.region;
    let api = SdkSchemaApi::from_env(&region).await;
    apply_with(&api, config, wait).await
}

/// `--target keyspaces-cql`: CQL with the Keyspaces connection settings (`KEYSPACES_*`).
pub async fn apply_cql(config: &store::Config, wait: Duration) -> Result<(), String> {
    let cfg = ::keyspaces::KeyspacesConfig::from_env().map_err(|e| e.to_string())?;
    // The standard chain is loaded here, not in the `keyspaces` crate, so the Lambda functions
    // (which share that crate) never link aws-config.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(cfg.region.clone()))
        .load()
        .await;
    let provider = sdk.credentials_provider().ok_or("the AWS default chain has no credentials provider")?;
    let credentials = std::sync::Arc::new(::keyspaces::CredentialSource::Provider(provider).open(cfg.connect_timeout));
    let builder = ::keyspaces::configure_with_credentials(scylla::client::session_builder::SessionBuilder::new(), &cfg, credentials)
        .await
        .map_err(|e| e.to_string())?;
    let session = builder.build().await.map_err(|e| format!("cannot connect to Keyspaces at {}: {e}", cfg.contact_point()))?;
    apply_with(&CqlSchemaApi { session: &session }, config, wait).await
}

async fn apply_with(api: &impl SchemaApi, config: &store::Config, wait: Duration) -> Result<(), String> {
    let tables = tables_from_cql(&store::schema::create_tables(&config.keyspace)).map_err(|e| e.to_string())?;
    let mut policy = WaitPolicy::default();
    if !wait.is_zero() {
        policy.bound = wait;
    }
    apply(api, &config.keyspace, &tables, policy, &mut |line| eprintln!("store-schema: {line}"))
        .await
        .map_err(|e| e.to_string())
}

/// Parses the store's `CREATE TABLE` statements (see `store::schema::create_tables`).
/// Refuses any clause it does not translate, so a schema change cannot be silently dropped.
pub fn tables_from_cql(statements: &[String]) -> Result<Vec<TableDef>, KeyspacesSchemaError> {
    statements.iter().map(|s| table_from_cql(s)).collect()
}

pub fn table_from_cql(cql: &str) -> Result<TableDef, KeyspacesSchemaError> {
    let err = |why: &str| KeyspacesSchemaError::Parse(format!("{why}: {cql}"));
    let open = cql.find('(').ok_or_else(|| err("no column list"))?;
    let close = cql.rfind(')').ok_or_else(|| err("no column list"))?;
    if !cql[close + 1..].trim().is_empty() {
        return Err(err("table options are not translated"));
    }
    let head: Vec<&str> = cql[..open].split_whitespace().collect();
    let qualified = head.last().ok_or_else(|| err("no table name"))?;
    let name = qualified.rsplit('.').next().unwrap_or(qualified).trim_matches('"').to_owned();
    if !head.first().is_some_and(|w| w.eq_ignore_ascii_case("CREATE")) || name.is_empty() {
        return Err(err("not a CREATE TABLE"));
    }
    let mut table = TableDef { name, columns: vec![], partition_key: vec![], clustering_key: vec![], cql: cql.to_owned() };
    for part in split_top_level(&cql[open + 1..close]) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
        if upper.len() >= 2 && upper[0] == "PRIMARY" && upper[1].starts_with("KEY") {
            let keys = part.split_once('(').map(|(_, keys)| keys).ok_or_else(|| err("PRIMARY KEY without columns"))?;
            let keys = keys.strip_suffix(')').ok_or_else(|| err("unbalanced PRIMARY KEY"))?;
            let mut groups = split_top_level(keys).into_iter();
            let partition = groups.next().ok_or_else(|| err("empty PRIMARY KEY"))?;
            table.partition_key =
                split_top_level(partition.trim_start_matches('(').trim_end_matches(')')).into_iter().map(|s| s.trim().to_owned()).collect();
            table.clustering_key = groups.map(|s| s.trim().to_owned()).collect();
        } else if words.len() >= 2 {
            let inline_pk = upper.ends_with(&["PRIMARY".to_owned(), "KEY".to_owned()]);
            let type_words = if inline_pk { &words[1..words.len() - 2] } else { &words[1..] };
            if type_words.is_empty() || type_words.iter().any(|w| w.eq_ignore_ascii_case("static")) {
                return Err(err("unsupported column definition"));
            }
            table.columns.push((words[0].to_owned(), type_words.join(" ").to_ascii_lowercase()));
            if inline_pk {
                table.partition_key = vec![words[0].to_owned()];
            }
        } else {
            return Err(err("unsupported column definition"));
        }
    }
    if table.partition_key.is_empty() {
        return Err(err("no primary key"));
    }
    let known = |k: &String| table.columns.iter().any(|(c, _)| c == k);
    if !table.partition_key.iter().chain(&table.clustering_key).all(known) {
        return Err(err("a key column is not declared"));
    }
    Ok(table)
}

/// Splits on commas outside (), <> and quotes.
fn split_top_level(text: &str) -> Vec<String> {
    let (mut parts, mut current, mut depth) = (Vec::new(), String::new(), 0i32);
    for c in text.chars() {
        match c {
            '(' | '<' => depth += 1,
            ')' | '>' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// The Keyspaces control plane through the AWS SDK.
pub struct SdkSchemaApi {
    pub client: Client,
}

impl SdkSchemaApi {
    /// A client for `region` with credentials from the standard AWS chain.
    pub async fn from_env(region: &str) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .load()
            .await;
        SdkSchemaApi { client: Client::new(&config) }
    }
}

fn api_err(e: impl std::error::Error) -> KeyspacesSchemaError {
    KeyspacesSchemaError::Api(DisplayErrorContext(&e).to_string())
}

fn table_status(status: Option<&TableStatus>) -> Status {
    match status {
        Some(TableStatus::Active) => Status::Active,
        Some(s @ (TableStatus::Creating | TableStatus::Updating | TableStatus::Restoring)) => Status::Pending(s.as_str().to_owned()),
        Some(other) => Status::Broken(other.as_str().to_owned()),
        None => Status::Pending("no status yet".to_owned()),
    }
}

impl SchemaApi for SdkSchemaApi {
    async fn keyspace_status(&self, keyspace: &str) -> Result<Status, KeyspacesSchemaError> {
        match self.client.get_keyspace().keyspace_name(keyspace).send().await {
            // GetKeyspace answers once the keyspace is usable for CreateTable.
            Ok(_) => Ok(Status::Active),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(Status::Missing),
            Err(e) => Err(api_err(e)),
        }
    }

    async fn create_keyspace(&self, keyspace: &str) -> Result<(), KeyspacesSchemaError> {
        match self.client.create_keyspace().keyspace_name(keyspace).send().await {
            Ok(_) => Ok(()),
            // Someone else created it meanwhile: that is what we wanted.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conflict_exception()) => Ok(()),
            Err(e) => Err(api_err(e)),
        }
    }

    async fn table_status(&self, keyspace: &str, table: &str) -> Result<Status, KeyspacesSchemaError> {
        match self.client.get_table().keyspace_name(keyspace).table_name(table).send().await {
            Ok(out) => Ok(table_status(out.status())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(Status::Missing),
            Err(e) => Err(api_err(e)),
        }
    }

    async fn enable_ttl(&self, keyspace: &str, table: &str) -> Result<bool, KeyspacesSchemaError> {
        let current = self.client.get_table().keyspace_name(keyspace).table_name(table).send().await.map_err(api_err)?;
        if current.ttl().map(|t| t.status()) == Some(&TimeToLiveStatus::Enabled) {
            return Ok(false);
        }
        let ttl = TimeToLive::builder()
            .status(TimeToLiveStatus::Enabled)
            .build()
            .map_err(|e| KeyspacesSchemaError::Api(e.to_string()))?;
        self.client.update_table().keyspace_name(keyspace).table_name(table).ttl(ttl).send().await.map_err(api_err)?;
        Ok(true)
    }

    async fn create_table(&self, keyspace: &str, table: &TableDef) -> Result<(), KeyspacesSchemaError> {
        let build = |e: aws_smithy_types::error::operation::BuildError| KeyspacesSchemaError::Api(e.to_string());
        let mut schema = SchemaDefinition::builder();
        for (name, ty) in &table.columns {
            schema = schema.all_columns(ColumnDefinition::builder().name(name).r#type(ty).build().map_err(build)?);
        }
        for key in &table.partition_key {
            schema = schema.partition_keys(PartitionKey::builder().name(key).build().map_err(build)?);
        }
        for key in &table.clustering_key {
            schema = schema.clustering_keys(ClusteringKey::builder().name(key).order_by(SortOrder::Asc).build().map_err(build)?);
        }
        let result = self
            .client
            .create_table()
            .keyspace_name(keyspace)
            .table_name(&table.name)
            .schema_definition(schema.build().map_err(build)?)
            .capacity_specification(CapacitySpecification::builder().throughput_mode(ThroughputMode::PayPerRequest).build().map_err(build)?)
            // The store writes claim rows with a TTL; Keyspaces refuses TTLs on tables without it.
            .ttl(TimeToLive::builder().status(TimeToLiveStatus::Enabled).build().map_err(build)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_conflict_exception()) => Ok(()),
            Err(e) => Err(api_err(e)),
        }
    }
}

/// Keyspaces through CQL: DDL as the store writes it, status from `system_schema_mcs`.
pub struct CqlSchemaApi<'a> {
    pub session: &'a Session,
}

impl CqlSchemaApi<'_> {
    async fn status_row(&self, query: &str, values: Vec<String>) -> Result<Status, KeyspacesSchemaError> {
        // LOCAL_ONE is one of the levels Keyspaces accepts for reads.
        let mut statement = scylla::statement::Statement::new(query);
        statement.set_consistency(scylla::statement::Consistency::LocalOne);
        let rows = self.session.query_unpaged(statement, values).await.map_err(api_err)?;
        let rows = rows.into_rows_result().map_err(api_err)?;
        let row = rows.maybe_first_row::<(Option<String>,)>().map_err(api_err)?;
        Ok(match row {
            None => Status::Missing,
            Some((Some(s),)) if s.eq_ignore_ascii_case("ACTIVE") => Status::Active,
            Some((Some(s),)) if ["CREATING", "UPDATING", "RESTORING"].contains(&s.to_ascii_uppercase().as_str()) => Status::Pending(s),
            Some((Some(s),)) => Status::Broken(s),
            Some((None,)) => Status::Pending("no status yet".to_owned()),
        })
    }

    async fn run(&self, cql: String) -> Result<(), KeyspacesSchemaError> {
        self.session.query_unpaged(cql, &[]).await.map(|_| ()).map_err(api_err)
    }
}

impl SchemaApi for CqlSchemaApi<'_> {
    async fn keyspace_status(&self, keyspace: &str) -> Result<Status, KeyspacesSchemaError> {
        self.status_row("SELECT status FROM system_schema_mcs.keyspaces WHERE keyspace_name = ?", vec![keyspace.to_owned()])
            .await
    }

    async fn create_keyspace(&self, keyspace: &str) -> Result<(), KeyspacesSchemaError> {
        // Keyspaces's single-region replication: the strategy AWS documents for CQL.
        self.run(format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {{'class': 'SingleRegionStrategy'}}"))
            .await
    }

    async fn table_status(&self, keyspace: &str, table: &str) -> Result<Status, KeyspacesSchemaError> {
        self.status_row(
            "SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?",
            vec![keyspace.to_owned(), table.to_owned()],
        )
        .await
    }

    async fn create_table(&self, _keyspace: &str, table: &TableDef) -> Result<(), KeyspacesSchemaError> {
        // As the control-plane mode does: TTL on, since Keyspaces refuses USING TTL otherwise.
        self.run(format!("{} WITH {TTL_ENABLED}", table.cql)).await
    }

    async fn enable_ttl(&self, keyspace: &str, table: &str) -> Result<bool, KeyspacesSchemaError> {
        let mut statement = scylla::statement::Statement::new(
            "SELECT custom_properties FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?",
        );
        statement.set_consistency(scylla::statement::Consistency::LocalOne);
        let rows = self.session.query_unpaged(statement, (keyspace, table)).await.map_err(api_err)?;
        let rows = rows.into_rows_result().map_err(api_err)?;
        type Properties = std::collections::HashMap<String, std::collections::HashMap<String, String>>;
        let row = rows.maybe_first_row::<(Option<Properties>,)>().map_err(api_err)?;
        let enabled = row
            .and_then(|(props,)| props)
            .and_then(|props| props.get("ttl").and_then(|ttl| ttl.get("status")).cloned())
            .is_some_and(|status| status.eq_ignore_ascii_case("enabled"));
        if enabled {
            return Ok(false);
        }
        self.run(format!("ALTER TABLE {keyspace}.{table} WITH {TTL_ENABLED}")).await?;
        Ok(true)
    }
}

/// The CQL table option that enables row TTLs on Keyspaces.
const TTL_ENABLED: &str = "CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}}";

#[cfg(test)]
#[path = "keyspaces_tests.rs"]
mod tests;
