//! Issue 16, point 5: on the Keyspaces backend the STORE_* request timeout, connect timeout and
//! local data center reach the driver, and fetching credentials is bounded. The `Db` is built
//! by `http_api::startup` from variables, as `main` builds it, and talks TLS + SigV4 to the CQL
//! node's Keyspaces profile.

use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::future::ProvideCredentials as ProvideFuture;
use cql_node::faults::{Fault, Match};
use store::Db;
use store_tests::TestResponse;
use store_tests::app::list_request;
use store_tests::keyspaces::{KeyspacesNode, REGION, node_credentials, provider};

/// Guards against a hang only; no assertion is made about how fast the answer comes.
const HANG_GUARD: Duration = Duration::from_secs(60);

async fn list(db: &Db) -> TestResponse {
    let response = tokio::time::timeout(HANG_GUARD, list_products::handler(db, list_request(&[("limit", "5")])))
        .await
        .expect("the listing answered instead of hanging");
    let r = TestResponse::from_response(response);
    store_tests::openapi::assert_conforms("/products", "get", &r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_bounds_a_slow_keyspaces_read() {
    store_tests::requires_cql_node!(store_tests::target::OWN_NODE);
    let node = KeyspacesNode::start().await;
    let db = node.db(&[("STORE_REQUEST_TIMEOUT_MS", "1000")], node_credentials());
    let r = list(&db).await;
    assert_eq!(r.status, 200, "TLS, SigV4 and the listing work: {}", r.text);

    // Slower than STORE_REQUEST_TIMEOUT_MS, faster than the 5 s the session used to hard-code:
    // only a session that honours the variable gives up and answers 503.
    node.faults().inject(Fault::latency(Duration::from_secs(4)).matching(Match::TextContains("FROM store.products".into())));
    let r = list(&db).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_data_center_reaches_the_load_balancing_policy() {
    store_tests::requires_cql_node!(store_tests::target::OWN_NODE);
    let node = KeyspacesNode::start().await;
    // Keyspaces reports the region as every host's data center: unset, or set to the region,
    // the driver finds the host.
    for extra in [&[][..], &[("STORE_LOCAL_DC", REGION)][..]] {
        let r = list(&node.db(extra, node_credentials())).await;
        assert_eq!(r.status, 200, "{extra:?}: {}", r.text);
    }
    // Another data center: the policy (no failover) has no host to send to, so a 503, which
    // only happens if the variable reached it.
    let r = list(&node.db(&[("STORE_LOCAL_DC", "us-east-1"), ("STORE_CONNECT_TIMEOUT_MS", "500")], node_credentials())).await;
    assert_eq!(r.status, 503, "{}", r.text);
    node.stop().await;
}

/// A credential source that never answers (a black-holed metadata endpoint).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_source_that_never_answers_gives_503_not_a_hang() {
    store_tests::requires_cql_node!(store_tests::target::OWN_NODE);
    let node = KeyspacesNode::start().await;
    let db = node.db(&[("STORE_CONNECT_TIMEOUT_MS", "300")], provider(Silent));
    for _ in 0..2 {
        let r = list(&db).await;
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(r.header("retry-after").is_some());
    }
    node.stop().await;
}
