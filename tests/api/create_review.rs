//! The create path's review findings (issue 16, points 1 to 4), each reproduced through the
//! real handlers and the CQL node's faults and clock. Each failed on the claim/commit code
//! this replaced: two 201s for one SKU, a 409 remembered for a product that never existed,
//! a 201 after 14 s, and a key that answered 422 to its own request.

use std::time::Duration;

use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use http_api::lambda_http::{Context, RequestExt};
use store_tests::{TestApp, TestResponse, product, spawn_app_configured};

const COMMIT: &str = "SET committed = true";
const PENDING_TTL: Duration = Duration::from_secs(61);

async fn app(create_deadline: Duration) -> (TestApp, FaultRegistry) {
    let faults = FaultRegistry::new();
    let app = spawn_app_configured(faults.clone(), |c| c.create_deadline = create_deadline).await;
    app.create_db.warm_up().await.unwrap();
    app.list_db.warm_up().await.unwrap();
    (app, faults)
}

fn commit() -> Match {
    Match::TextContains(COMMIT.into())
}

/// Only one 201 for `sku`, and the one listed product is the one that got it.
async fn assert_one_product(app: &TestApp, answers: &[&TestResponse]) {
    let created: Vec<&str> = answers.iter().filter(|r| r.status == 201).map(|r| r.json["id"].as_str().unwrap()).collect();
    assert_eq!(created.len(), 1, "exactly one 201: {:?}", answers.iter().map(|r| &r.text).collect::<Vec<_>>());
    assert_eq!(app.listed_ids().await, vec![created[0].to_owned()]);
}

#[tokio::test]
async fn a_claim_that_expires_while_its_commit_is_held_cannot_commit_over_another() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    for keyed in [false, true] {
        let (app, faults) = app(Duration::from_secs(6)).await;
        let sku = if keyed { "EXP-KEY" } else { "EXP-1" };
        if keyed {
            // A first keyed attempt leaves its pending claim behind (its commit timed out).
            let fault = faults.inject(Fault::new(FaultKind::WriteTimeout).matching(commit()));
            let first = app.post_with_key(&product(sku), "k-exp").await;
            assert_eq!((first.status, first.json["outcome"].as_str()), (503, Some("unknown")), "{}", first.text);
            faults.remove(fault);
        }
        // The (retried) create's commit is held by the node while its claim expires and a
        // create without a key takes the SKU.
        let held = faults.inject(Fault::latency(Duration::from_secs(2)).matching(commit()).times(1));
        let slow = async {
            if keyed { app.post_with_key(&product(sku), "k-exp").await } else { app.post_product(&product(sku)).await }
        };
        let other = async {
            app.fired(held, 1).await;
            app.advance_clock(PENDING_TTL);
            app.post_product(&product(sku)).await
        };
        let (slow, other) = tokio::join!(slow, other);
        assert_eq!(other.status, 201, "{}", other.text);
        assert_one_product(&app, &[&slow, &other]).await;
        if slow.status == 409 {
            assert_eq!(slow.json["existing_id"], other.json["id"]);
        } else {
            assert_eq!(slow.status, 503, "{}", slow.text);
        }
    }
}

#[tokio::test]
async fn a_409_is_never_given_for_a_product_that_is_only_being_created() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app(Duration::from_millis(800)).await;
    // A create whose commit times out leaves a pending claim that will never commit.
    let fault = faults.inject(Fault::new(FaultKind::WriteTimeout).matching(commit()));
    let ghost = app.post_product(&product("GHOST-1")).await;
    assert_eq!(ghost.status, 503, "{}", ghost.text);
    faults.remove(fault);

    let keyed = app.post_with_key(&product("GHOST-1"), "k-ghost").await;
    assert_ne!(keyed.status, 409, "a 409 naming a product that does not exist: {}", keyed.text);
    assert_eq!((keyed.status, keyed.json["outcome"].as_str()), (503, Some("unknown")), "{}", keyed.text);

    // Once the abandoned claim has expired, the same key creates the product.
    app.advance_clock(PENDING_TTL);
    let retry = app.post_with_key(&product("GHOST-1"), "k-ghost").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(app.listed_ids().await, vec![retry.json["id"].as_str().unwrap().to_owned()]);
    let again = app.post_with_key(&product("GHOST-1"), "k-ghost").await;
    assert_eq!((again.status, &again.json), (201, &retry.json));
}

#[tokio::test]
async fn a_slow_database_gets_a_503_within_the_deadline_not_a_late_201() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app(Duration::from_millis(900)).await;
    // Healthy but slow: every statement takes 400 ms; a keyed create needs at least four.
    faults.inject(Fault::latency(Duration::from_millis(400)).matching(Match::TextContains("store.".into())));
    let r = app.post_with_key(&product("SLOW-1"), "k-slow").await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(r.header("retry-after").is_some());
    assert!(["unknown", "not_created"].contains(&r.json["outcome"].as_str().unwrap_or("")), "{}", r.text);
}

#[tokio::test]
async fn in_lambda_the_invocation_deadline_bounds_the_create_too() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    // The configured budget is generous; the invocation has 1.2 s left.
    let (app, faults) = app(Duration::from_secs(8)).await;
    faults.inject(Fault::latency(Duration::from_millis(400)).matching(Match::TextContains("store.".into())));
    let mut context = Context::default();
    let now_ms = chrono_now_ms();
    context.deadline = now_ms + 1_200;
    let request = store_tests::app::post_request(
        &product("SLOW-2").to_string(),
        &[("content-type", "application/json"), ("idempotency-key", "k-slow-2")],
    )
    .with_lambda_context(context);
    let r = app.send_create(request).await;
    assert_eq!(r.status, 503, "{}", r.text);
}

#[tokio::test]
async fn a_lambda_deadline_already_past_is_an_emulators_placeholder_and_ignored() {
    // `cargo lambda watch` sends `lambda-runtime-deadline-ms: 600000` (1970): a create must
    // still get its configured budget, not none.
    let (app, _faults) = app(Duration::from_secs(2)).await;
    let mut context = Context::default();
    context.deadline = 600_000;
    let request = store_tests::app::post_request(&product("EMU-1").to_string(), &[("content-type", "application/json")])
        .with_lambda_context(context);
    let r = app.send_create(request).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

fn chrono_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn a_key_answers_the_same_for_its_whole_lifetime() {
    store_tests::requires_cql_node!(store_tests::target::CLOCK);
    let (app, faults) = app(Duration::from_secs(2)).await;
    // The first attempt fails; the answer comes from a retry an hour later.
    let fault = faults.inject(Fault::new(FaultKind::WriteTimeout).matching(commit()));
    assert_eq!(app.post_with_key(&product("LIFE-1"), "k-life").await.status, 503);
    faults.remove(fault);
    app.advance_clock(Duration::from_secs(3600));
    let created = app.post_with_key(&product("LIFE-1"), "k-life").await;
    assert_eq!(created.status, 201, "{}", created.text);
    // 24 h after the first request, 23 h after the answer: still the same answer.
    app.advance_clock(Duration::from_secs(23 * 3600 + 1800));
    let replay = app.post_with_key(&product("LIFE-1"), "k-life").await;
    assert_eq!((replay.status, &replay.json), (201, &created.json), "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
}
