use std::collections::HashMap;
use std::time::Duration;

use cql_node::cluster::{Cluster, ClusterBuilder};
use cql_node::engine::paxos::PaxosConfig;
use cql_node::engine::{Engine, EngineConfig};
use cql_node::faults::FaultRegistry;
use http_api::lambda_http::http::{self, HeaderMap};
use http_api::identity::{self, WritePolicy};
use http_api::lambda_http::request::RequestContext;
use http_api::lambda_http::{Body, Request, RequestExt};
use serde_json::Value;
use page_cache::{CacheConfig, PageCache};
use store::{Config, Db};

use crate::openapi;

pub struct TestApp {
    /// The in-process CQL node(s); `None` against an external cluster (`target`).
    node: Option<Cluster>,
    pub config: Config,
    /// The create-product function's handle.
    pub create_db: Db,
    /// The list-products function's handle.
    pub list_db: Db,
    /// Each function's page cache (`STORE_CACHE_URL`), as two containers would have them;
    /// `None` unless the test gave a Redis.
    pub create_cache: Option<PageCache>,
    pub list_cache: Option<PageCache>,
}

#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// `Value::Null` when the body is not JSON.
    pub json: Value,
}

impl TestResponse {
    pub fn from_response(response: http::Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = match response.body() {
            Body::Text(t) => t.clone(),
            Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse { status, headers, text, json }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Settings for tests: short timeouts so failures are quick; everything else as production.
pub fn test_config(port: u16) -> Config {
    let mut config = Config::local(port);
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(5);
    // Faults that never clear run a create to its deadline: keep that short.
    config.create_deadline = Duration::from_secs(2);
    config
}

/// A CQL node of its own, or a fresh keyspace on the external cluster (`target`).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(FaultRegistry::new()).await
}

/// With a fault registry the test keeps, to inject faults into the node. (Against an external
/// cluster the registry reaches nothing: such tests start with `requires_cql_node!`.)
pub async fn spawn_app_with(faults: FaultRegistry) -> TestApp {
    spawn_app_configured(faults, |_| {}).await
}

/// With a fault registry and settings of the test's own on top of `test_config`.
pub async fn spawn_app_configured(faults: FaultRegistry, adjust: impl FnOnce(&mut Config)) -> TestApp {
    if let Some(external) = crate::target::external() {
        let mut config = external.config();
        adjust(&mut config);
        apply_schema(&config).await;
        return TestApp::external(config);
    }
    spawn_app_on(Cluster::builder().faults(faults), adjust).await
}

/// On a node whose lightweight transactions follow `paxos` (say, far more "result unknown"
/// answers than the default few percent).
pub async fn spawn_app_with_paxos(paxos: PaxosConfig) -> TestApp {
    let engine = Engine::open(EngineConfig { paxos, ..Default::default() }).expect("open the engine");
    spawn_app_on(Cluster::builder().engine(engine), |_| {}).await
}

async fn spawn_app_on(cluster: ClusterBuilder, adjust: impl FnOnce(&mut Config)) -> TestApp {
    assert!(crate::target::external().is_none(), "this test needs the CQL node: start it with requires_cql_node!");
    let cluster = cluster.nodes(1).start().await.expect("start the CQL node");
    let mut config = test_config(cluster.port());
    adjust(&mut config);
    apply_schema(&config).await;
    TestApp::new(cluster, config)
}

/// `spawn_app`, with both functions caching list pages in the Redis at `url`, connected as
/// their init connects them. Redis calls get a test's generous bound (tests run in
/// parallel on a busy machine, in a debug build), not the deployed few milliseconds.
pub async fn spawn_app_cached(url: &str) -> TestApp {
    let mut app = spawn_app().await;
    let mut config = CacheConfig::from_lookup(|name| (name == page_cache::URL).then(|| url.to_owned())).unwrap().expect("a cache");
    config.timeout = Duration::from_millis(500);
    for cache in [&mut app.create_cache, &mut app.list_cache] {
        let connected = PageCache::new(&config, &app.config.keyspace).expect("a function's cache");
        assert!(connected.warm_up(Duration::from_secs(5)).await, "Redis at {url} answers");
        *cache = Some(connected);
    }
    app
}

pub async fn apply_schema(config: &Config) {
    let session = store::db::session_builder(config).build().await.expect("connect for the schema");
    let statements = store::schema::statements(&config.keyspace, &config.replication);
    store::schema::apply(&session, &statements).await.expect("apply the schema");
}

/// The deployed write policy: the authorizer's claims with the default write scope.
pub fn employees() -> WritePolicy {
    WritePolicy::Gateway { write_scope: identity::DEFAULT_WRITE_SCOPE.to_owned() }
}

/// The subject of the employee every `post_request` comes from.
pub const EMPLOYEE: &str = "employee-1";

/// `POST /products` as API Gateway hands it over after its JWT authorizer accepted an
/// employee's token with the write scope.
pub fn post_request(body: &str, headers: &[(&str, &str)]) -> Request {
    let claims = [("sub", EMPLOYEE), ("scope", "openid products/write")];
    post_request_as(body, headers, Some(identity::authorized_context("POST", &claims, None)))
}

/// `POST /products` with the authorizer's context of the test's choosing (`None`: no
/// authorizer ran).
pub fn post_request_as(body: &str, headers: &[(&str, &str)], context: Option<RequestContext>) -> Request {
    let mut b = http::Request::builder().method("POST").uri("/products");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Body::Text(body.to_owned())).expect("request");
    match context {
        Some(context) => req.with_request_context(context),
        None => req,
    }
}

pub fn list_request(params: &[(&str, &str)]) -> Request {
    let map: HashMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    http::Request::builder()
        .method("GET")
        .uri("/products")
        .body(Body::Empty)
        .expect("request")
        .with_query_string_parameters(map)
}

/// `GET /products/{id}` as API Gateway hands it over: the raw path and the path parameter.
pub fn get_request(id: &str) -> Request {
    let path_parameters: HashMap<String, String> = HashMap::from([("id".to_owned(), id.to_owned())]);
    http::Request::builder()
        .method("GET")
        .uri(format!("/products/{id}"))
        .body(Body::Empty)
        .expect("request")
        .with_path_parameters(path_parameters)
}

impl TestApp {
    /// The two functions' handles on `cluster`, without a cache.
    pub fn new(cluster: Cluster, config: Config) -> TestApp {
        Self::on(Some(cluster), config)
    }

    /// On the external cluster `config` names.
    pub fn external(config: Config) -> TestApp {
        Self::on(None, config)
    }

    fn on(node: Option<Cluster>, config: Config) -> TestApp {
        TestApp { create_db: Db::new(config.clone()), list_db: Db::new(config.clone()), create_cache: None, list_cache: None, node, config }
    }

    /// The in-process CQL node(s); only for tests that start with `requires_cql_node!`.
    pub fn cluster(&self) -> &Cluster {
        self.node.as_ref().expect("this test needs the CQL node: start it with requires_cql_node!")
    }

    pub fn cluster_mut(&mut self) -> &mut Cluster {
        self.node.as_mut().expect("this test needs the CQL node: start it with requires_cql_node!")
    }

    /// The node(s), to stop them.
    pub fn into_cluster(self) -> Cluster {
        self.node.expect("this test needs the CQL node: start it with requires_cql_node!")
    }

    pub fn faults(&self) -> &FaultRegistry {
        self.cluster().faults()
    }

    /// Moves the node's clock forward: TTLs run out at once.
    pub fn advance_clock(&self, by: Duration) {
        self.cluster().advance_clock(by);
    }

    /// Waits until the fault `id` has fired `times` (a request reached it), polling the
    /// node's own count; bounded.
    pub async fn fired(&self, id: cql_node::faults::FaultId, times: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let fired = self.faults().list().iter().find(|(i, ..)| *i == id).map_or(u64::MAX, |(_, _, n)| *n);
            if fired >= times {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "fault {id:?} fired {fired} times, not {times}");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Every listed product, by id.
    pub async fn listed_ids(&self) -> Vec<String> {
        self.walk(500).await.iter().map(|p| p["id"].as_str().expect("id").to_owned()).collect()
    }

    /// Sends any request to the create function (checked against the OpenAPI document).
    pub async fn send_create(&self, req: Request) -> TestResponse {
        let method = req.method().as_str().to_ascii_lowercase();
        let cache = self.create_cache.as_ref();
        let r = TestResponse::from_response(create_product::handler_with_cache(&self.create_db, &employees(), cache, req).await);
        openapi::assert_conforms("/products", &method, &r);
        r
    }

    pub async fn send_list(&self, req: Request) -> TestResponse {
        let method = req.method().as_str().to_ascii_lowercase();
        let r = TestResponse::from_response(list_products::handler_with_cache(&self.list_db, self.list_cache.as_ref(), req).await);
        openapi::assert_conforms("/products", &method, &r);
        r
    }

    /// Sends a request for one product to the list function (the query side serves both
    /// read routes), checked against the document's `/products/{id}`.
    pub async fn send_get(&self, req: Request) -> TestResponse {
        let method = req.method().as_str().to_ascii_lowercase();
        let r = TestResponse::from_response(list_products::handler(&self.list_db, req).await);
        openapi::assert_conforms("/products/{id}", &method, &r);
        r
    }

    /// GET /products/{id}; `id` goes into the path as it is, so malformed ones can be sent.
    pub async fn get_product(&self, id: &str) -> TestResponse {
        self.send_get(get_request(id)).await
    }

    /// POST /products with a JSON body.
    pub async fn post_product(&self, body: &Value) -> TestResponse {
        self.send_create(post_request(&body.to_string(), &[("content-type", "application/json")])).await
    }

    pub async fn post_raw(&self, body: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send_create(post_request(body, headers)).await
    }

    pub async fn post_with_key(&self, body: &Value, key: &str) -> TestResponse {
        let headers = [("content-type", "application/json"), ("idempotency-key", key)];
        self.send_create(post_request(&body.to_string(), &headers)).await
    }

    /// GET /products with these query parameters.
    pub async fn list(&self, params: &[(&str, &str)]) -> TestResponse {
        self.send_list(list_request(params)).await
    }

    /// Follows `next_cursor` to the end; returns every item in order.
    pub async fn walk(&self, limit: u32) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let limit = limit.to_string();
        loop {
            let mut params = vec![("limit", limit.as_str())];
            if let Some(c) = &cursor {
                params.push(("cursor", c.as_str()));
            }
            let page = self.list(&params).await;
            assert_eq!(page.status, 200, "{}", page.text);
            items.extend(page.json["items"].as_array().expect("items").iter().cloned());
            match page.json["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
    }
}

/// A valid create body.
pub fn product(sku: &str) -> Value {
    serde_json::json!({"name": format!("Product {sku}"), "sku": sku, "price": "9.99"})
}
