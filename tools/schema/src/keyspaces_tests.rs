//! The Keyspaces mode against recorded control-plane exchanges (the AWS SDK's own
//! `StaticReplayClient`): responses are replayed in order, and afterwards every request the
//! SDK really sent is checked against the recording (operation and body, compared as values).
//! The Keyspaces SDK speaks Smithy RPC v2 CBOR, so recordings are written as JSON values here
//! and encoded to CBOR, and request bodies are decoded from CBOR to be compared.
//! Time is tokio's paused clock, so "waited past the bound" takes no real time.

use super::*;
use aws_sdk_keyspaces::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn uri(operation: &str) -> String {
    format!("https://cassandra.{REGION}.amazonaws.com/service/KeyspacesService/operation/{operation}")
}

fn request(operation: &str, body: Value) -> http::Request<SdkBody> {
    http::Request::builder().method("POST").uri(uri(operation)).body(SdkBody::from(cbor(&body))).unwrap()
}

fn response(status: u16, body: Value) -> http::Response<SdkBody> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .body(SdkBody::from(cbor(&body)))
        .unwrap()
}

/// Every recorded request was sent, in order, to the same operation with the same body.
fn assert_requests_match(http: &StaticReplayClient, expected: &[(String, Value)]) {
    let actual: Vec<(String, Value)> = http
        .actual_requests()
        .map(|r| {
            let body: Value = ciborium::from_reader(r.body().bytes().unwrap_or_default()).unwrap();
            (r.uri().to_string(), body)
        })
        .collect();
    assert_eq!(actual, expected);
}

fn recorded(events: &[ReplayEvent]) -> Vec<(String, Value)> {
    events
        .iter()
        .map(|e| (e.request().uri().to_string(), ciborium::from_reader(e.request().body().bytes().unwrap()).unwrap()))
        .collect()
}

fn not_found() -> http::Response<SdkBody> {
    response(400, json!({"__type": "com.amazonaws.cassandra#ResourceNotFoundException", "message": "not found"}))
}

fn get_keyspace(found: bool) -> ReplayEvent {
    let answer = if found {
        response(200, json!({"keyspaceName": "store", "resourceArn": "arn:aws:cassandra:eu-west-1:111122223333:/keyspace/store/", "replicationStrategy": "SINGLE_REGION"}))
    } else {
        not_found()
    };
    ReplayEvent::new(request("GetKeyspace", json!({"keyspaceName": "store"})), answer)
}

fn get_table(table: &str, status: Option<&str>) -> ReplayEvent {
    get_table_ttl(table, status, true)
}

fn get_table_ttl(table: &str, status: Option<&str>, ttl_enabled: bool) -> ReplayEvent {
    let answer = match status {
        Some(status) => {
            let mut body = json!({"keyspaceName": "store", "tableName": table, "status": status,
                   "resourceArn": format!("arn:aws:cassandra:eu-west-1:111122223333:/keyspace/store/table/{table}")});
            if ttl_enabled {
                body["ttl"] = json!({"status": "ENABLED"});
            }
            response(200, body)
        }
        None => not_found(),
    };
    ReplayEvent::new(request("GetTable", json!({"keyspaceName": "store", "tableName": table})), answer)
}

fn client(events: Vec<ReplayEvent>) -> (SdkSchemaApi, Checker) {
    let expected = recorded(&events);
    let http = StaticReplayClient::new(events);
    let config = aws_sdk_keyspaces::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::for_tests())
        .http_client(http.clone())
        .build();
    (SdkSchemaApi { client: Client::from_conf(config) }, Checker { http, expected })
}

struct Checker {
    http: StaticReplayClient,
    expected: Vec<(String, Value)>,
}

impl Checker {
    fn assert_requests_match(&self) {
        assert_requests_match(&self.http, &self.expected);
    }
}

fn products() -> TableDef {
    table_from_cql("CREATE TABLE IF NOT EXISTS store.products (id uuid PRIMARY KEY, name text, price decimal)").unwrap()
}

const WAIT: WaitPolicy = WaitPolicy { poll_every: Duration::from_secs(2), bound: Duration::from_secs(4) };

async fn run(api: &SdkSchemaApi, tables: &[TableDef]) -> (Result<(), KeyspacesSchemaError>, Vec<String>) {
    let mut lines = Vec::new();
    let result = apply(api, "store", tables, WAIT, &mut |line| lines.push(line)).await;
    (result, lines)
}

#[tokio::test(start_paused = true)]
async fn creates_keyspace_and_table_from_nothing_and_waits_through_creating() {
    let (api, http) = client(vec![
        get_keyspace(false),
        ReplayEvent::new(
            request("CreateKeyspace", json!({"keyspaceName": "store"})),
            response(200, json!({"resourceArn": "arn:aws:cassandra:eu-west-1:111122223333:/keyspace/store/"})),
        ),
        get_keyspace(true),
        get_table("products", None),
        ReplayEvent::new(
            request(
                "CreateTable",
                json!({
                    "keyspaceName": "store",
                    "tableName": "products",
                    "schemaDefinition": {
                        "allColumns": [
                            {"name": "id", "type": "uuid"},
                            {"name": "name", "type": "text"},
                            {"name": "price", "type": "decimal"}
                        ],
                        "partitionKeys": [{"name": "id"}]
                    },
                    "capacitySpecification": {"throughputMode": "PAY_PER_REQUEST"},
                    "ttl": {"status": "ENABLED"}
                }),
            ),
            response(200, json!({"resourceArn": "arn:aws:cassandra:eu-west-1:111122223333:/keyspace/store/table/products"})),
        ),
        get_table("products", Some("CREATING")),
        get_table("products", Some("ACTIVE")),
    ]);
    let (result, lines) = run(&api, &[products()]).await;
    result.unwrap();
    http.assert_requests_match();
    assert!(lines.contains(&"keyspace store: absent, creating".to_owned()), "{lines:#?}");
    assert!(lines.contains(&"table store.products: absent, creating".to_owned()), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("table store.products: CREATING (waited 0s")), "{lines:#?}");
    assert_eq!(lines.last().unwrap(), "table store.products: ACTIVE");
}

#[tokio::test(start_paused = true)]
async fn existing_keyspace_and_active_table_are_left_alone() {
    let (api, http) = client(vec![
        get_keyspace(true),
        get_keyspace(true),
        get_table("products", Some("ACTIVE")),
        // TTL already on: nothing to update.
        get_table("products", Some("ACTIVE")),
        get_table("products", Some("ACTIVE")),
    ]);
    let (result, lines) = run(&api, &[products()]).await;
    result.unwrap();
    // No Create* call was made: the recording has none, and every request matched it.
    http.assert_requests_match();
    assert!(lines.contains(&"keyspace store: exists".to_owned()));
    assert!(lines.contains(&"table store.products: exists".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn an_existing_table_without_ttl_gets_it_and_is_waited_for() {
    let (api, http) = client(vec![
        get_keyspace(true),
        get_keyspace(true),
        get_table_ttl("products", Some("ACTIVE"), false),
        get_table_ttl("products", Some("ACTIVE"), false),
        ReplayEvent::new(
            request("UpdateTable", json!({"keyspaceName": "store", "tableName": "products", "ttl": {"status": "ENABLED"}})),
            response(200, json!({"resourceArn": "arn:aws:cassandra:eu-west-1:111122223333:/keyspace/store/table/products"})),
        ),
        get_table("products", Some("UPDATING")),
        get_table("products", Some("ACTIVE")),
    ]);
    let (result, lines) = run(&api, &[products()]).await;
    result.unwrap();
    http.assert_requests_match();
    assert!(lines.contains(&"table store.products: exists, TTL enabled".to_owned()), "{lines:#?}");
    assert!(lines.iter().any(|l| l.starts_with("table store.products: UPDATING")), "{lines:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_table_stuck_creating_past_the_bound_is_a_clear_error() {
    let (api, http) = client(vec![
        get_keyspace(true),
        get_keyspace(true),
        get_table("products", Some("CREATING")),
        get_table("products", Some("CREATING")),
        // Polled at 0 s, 2 s and 4 s (the bound), still CREATING each time.
        get_table("products", Some("CREATING")),
        get_table("products", Some("CREATING")),
        get_table("products", Some("CREATING")),
    ]);
    let (result, lines) = run(&api, &[products()]).await;
    http.assert_requests_match();
    let err = result.unwrap_err();
    assert!(matches!(&err, KeyspacesSchemaError::NotActive { status, .. } if status == "CREATING"), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("table store.products is still CREATING after 4s"), "{message}");
    assert_eq!(lines.iter().filter(|l| l.contains("CREATING (waited")).count(), 3, "{lines:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_table_being_deleted_fails_at_once() {
    let (api, _http) = client(vec![
        get_keyspace(true),
        get_keyspace(true),
        get_table("products", Some("DELETING")),
        get_table("products", Some("DELETING")),
        get_table("products", Some("DELETING")),
    ]);
    let (result, _) = run(&api, &[products()]).await;
    assert!(matches!(result, Err(KeyspacesSchemaError::Failed { ref status, .. }) if status == "DELETING"));
}

#[tokio::test(start_paused = true)]
async fn access_denied_surfaces_with_the_service_message() {
    let denied = response(400, json!({"__type": "com.amazonaws.cassandra#AccessDeniedException", "message": "User is not authorized to perform: cassandra:Select"}));
    let (api, _http) = client(vec![ReplayEvent::new(request("GetKeyspace", json!({"keyspaceName": "store"})), denied)]);
    let (result, _) = run(&api, &[products()]).await;
    let message = result.unwrap_err().to_string();
    assert!(message.contains("not authorized"), "{message}");
}

#[test]
fn every_store_table_translates_for_keyspaces() {
    let tables = tables_from_cql(&store::schema::create_tables("store")).unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    use store::schema::*;
    assert_eq!(names, [PRODUCTS, PRODUCTS_BY_SKU, IDEMPOTENCY_KEYS, PRODUCTS_BY_NEWEST, NEWEST_BUCKETS, NEWEST_DAYS]);
    let newest = &tables[3];
    assert_eq!(newest.partition_key, ["bucket", "shard"]);
    assert_eq!(newest.clustering_key, ["created_at", "id"]);
    let products = &tables[0];
    assert_eq!(products.partition_key, ["id"]);
    assert!(products.columns.contains(&("price".to_owned(), "decimal".to_owned())));
}

#[test]
fn compound_keys_and_parameterised_types_parse() {
    let t = table_from_cql("CREATE TABLE ks.t (a text, b int, c map<text, int>, d frozen<list<int>>, PRIMARY KEY ((a, b), d))").unwrap();
    assert_eq!(t.partition_key, ["a", "b"]);
    assert_eq!(t.clustering_key, ["d"]);
    assert_eq!(t.columns[2], ("c".to_owned(), "map<text, int>".to_owned()));
}

#[test]
fn clauses_it_cannot_translate_are_refused() {
    for cql in [
        "CREATE TABLE ks.t (a int PRIMARY KEY) WITH default_time_to_live = 5",
        "CREATE TABLE ks.t (a int, b int)",
        "CREATE TABLE ks.t (a int, b int static, PRIMARY KEY (a))",
        "CREATE TABLE ks.t (a int, PRIMARY KEY (a, z))",
        "SELECT * FROM ks.t",
    ] {
        assert!(table_from_cql(cql).is_err(), "{cql}");
    }
}

/// The CQL mode against the CQL node's Keyspaces profile, where new keyspaces and tables stay
/// CREATING for a while and refuse statements until ACTIVE, as on Keyspaces.
mod against_node {
    use super::*;
    use std::sync::Arc;

    use ::keyspaces::{KeyspacesConfig, RefreshingCredentials, configure_with_credentials};
    use cql_node::cluster::Cluster;
    use cql_node::keyspaces::{AwsCredential, KeyspacesConfig as NodeConfig, KeyspacesProfile};
    use scylla::client::session_builder::SessionBuilder;

    const NODE_REGION: &str = "eu-west-3";

    async fn node(creating_for: Duration) -> (Cluster, Session, std::path::PathBuf) {
        let config = NodeConfig::new(NODE_REGION).aws_credential(AwsCredential::new("AKIDSCHEMA", "schema-secret")).creating_for(creating_for);
        let profile = KeyspacesProfile::new(config).expect("certificates");
        let ca = std::env::temp_dir().join(format!("schema-ks-ca-{}.pem", uuid::Uuid::new_v4()));
        profile.tls.write_ca_pem(&ca).expect("CA written");
        let cluster = Cluster::builder().nodes(1).keyspaces(profile).start().await.expect("node starts");
        let mut cfg = KeyspacesConfig::new(NODE_REGION);
        cfg.endpoint_host = Some(cluster.node_addr(0).ip().to_string());
        cfg.endpoint_port = Some(cluster.port());
        cfg.ca_file = Some(ca.clone());
        let creds = aws_credential_types::Credentials::new("AKIDSCHEMA", "schema-secret", None, None, "test");
        let builder = configure_with_credentials(SessionBuilder::new(), &cfg, Arc::new(RefreshingCredentials::new(creds))).await.unwrap();
        let session = tokio::time::timeout(Duration::from_secs(30), builder.build()).await.expect("bounded").expect("connects");
        (cluster, session, ca)
    }

    fn store_tables() -> Vec<TableDef> {
        tables_from_cql(&store::schema::create_tables("store")).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waits_through_creating_and_returns_only_once_tables_are_usable() {
        let (cluster, session, ca) = node(Duration::from_secs(2)).await;
        let mut lines = Vec::new();
        let policy = WaitPolicy { poll_every: Duration::from_millis(100), bound: Duration::from_secs(60) };
        apply(&CqlSchemaApi { session: &session }, "store", &store_tables(), policy, &mut |l| lines.push(l)).await.expect("applied");
        assert!(lines.iter().any(|l| l.starts_with("table store.products: CREATING")), "{lines:#?}");
        // Returned means ACTIVE (the profile refuses statements on a CREATING table), with TTL
        // enabled: the store writes its claims and keys USING TTL, which Keyspaces refuses otherwise.
        for insert in [
            "INSERT INTO store.products_by_sku (sku, product_id, committed) VALUES ('A-1', uuid(), false) USING TTL 60",
            "INSERT INTO store.idempotency_keys (key, status) VALUES ('k-1', 201) USING TTL 60",
        ] {
            session.query_unpaged(insert, ()).await.expect("table usable, with TTLs, once apply returns");
        }
        // Applying again finds everything and creates nothing.
        let mut again = Vec::new();
        apply(&CqlSchemaApi { session: &session }, "store", &store_tables(), policy, &mut |l| again.push(l)).await.unwrap();
        assert!(again.iter().all(|l| !l.contains("creating")), "{again:#?}");
        cluster.stop().await;
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_existing_table_without_ttl_gets_it_over_cql() {
        let (cluster, session, ca) = node(Duration::ZERO).await;
        session.query_unpaged("CREATE KEYSPACE store WITH replication = {'class': 'SingleRegionStrategy'}", ()).await.unwrap();
        // Created as plain CQL (the store's own DDL, no CUSTOM_PROPERTIES): no TTL yet.
        session.query_unpaged(store::schema::create_tables("store")[1].clone(), ()).await.unwrap();
        let claim = "INSERT INTO store.products_by_sku (sku, product_id, committed) VALUES ('A-1', uuid(), false) USING TTL 60";
        let err = session.query_unpaged(claim, ()).await.unwrap_err();
        assert!(err.to_string().contains("TTL is not yet supported"), "{err}");
        let mut lines = Vec::new();
        let policy = WaitPolicy { poll_every: Duration::from_millis(50), bound: Duration::from_secs(30) };
        apply(&CqlSchemaApi { session: &session }, "store", &store_tables(), policy, &mut |l| lines.push(l)).await.expect("applied");
        assert!(lines.contains(&"table store.products_by_sku: exists, TTL enabled".to_owned()), "{lines:#?}");
        session.query_unpaged(claim, ()).await.expect("TTL enabled on the existing table");
        // Once on, it stays on: applying again changes nothing.
        let mut again = Vec::new();
        apply(&CqlSchemaApi { session: &session }, "store", &store_tables(), policy, &mut |l| again.push(l)).await.unwrap();
        assert!(again.contains(&"table store.products_by_sku: exists".to_owned()), "{again:#?}");
        cluster.stop().await;
        let _ = std::fs::remove_file(ca);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keyspace_creating_longer_than_the_bound_is_reported_not_waited_for() {
        let (cluster, session, ca) = node(Duration::from_secs(600)).await;
        let policy = WaitPolicy { poll_every: Duration::from_millis(50), bound: Duration::from_millis(300) };
        let err = apply(&CqlSchemaApi { session: &session }, "store", &store_tables(), policy, &mut |_| {}).await.unwrap_err();
        assert!(matches!(&err, KeyspacesSchemaError::NotActive { status, .. } if status == "CREATING"), "{err}");
        assert!(err.to_string().contains("keyspace store is still CREATING"), "{err}");
        cluster.stop().await;
        let _ = std::fs::remove_file(ca);
    }
}
