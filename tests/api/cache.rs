//! The list-page cache against a real Redis (`redis-server`): a create is visible to the very
//! next list, hits serve what the database would, and a Redis that is stopped, paused or full
//! never turns a request into an error.

use serde_json::Value;
use store_tests::redis::RedisServer;
use store_tests::{TestApp, TestResponse, product, spawn_app_cached};

async fn list(app: &TestApp, params: &[(&str, &str)]) -> TestResponse {
    let r = app.send_list(store_tests::app::list_request(params)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

fn cache_status(r: &TestResponse) -> &str {
    r.header("cache-status").expect("a Cache-Status header")
}

fn skus(r: &TestResponse) -> Vec<String> {
    r.json["items"].as_array().expect("items").iter().map(|p| p["sku"].as_str().unwrap().to_owned()).collect()
}

async fn create(app: &TestApp, sku: &str) -> Value {
    let r = app.post_product(&product(sku)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

#[tokio::test]
async fn a_second_read_is_a_hit_with_the_same_page() {
    let redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    for i in 0..3 {
        create(&app, &format!("CACHE-HIT-{i}")).await;
    }
    let first = list(&app, &[("limit", "2")]).await;
    assert_eq!(cache_status(&first), "store-manager; fwd=miss; stored");
    let second = list(&app, &[("limit", "2")]).await;
    assert_eq!(cache_status(&second), "store-manager; hit");
    assert_eq!(second.text, first.text);
    // Another limit, order or cursor is another page.
    let newest = list(&app, &[("limit", "2"), ("order", "newest")]).await;
    assert!(cache_status(&newest).contains("miss"));
    let cursor = first.json["next_cursor"].as_str().expect("a next page");
    let next = list(&app, &[("limit", "2"), ("cursor", cursor)]).await;
    assert!(cache_status(&next).contains("miss"));
    assert_eq!(skus(&first).len() + skus(&next).len(), 3);
    assert_eq!(cache_status(&list(&app, &[("limit", "2"), ("cursor", cursor)]).await), "store-manager; hit");
}

#[tokio::test]
async fn an_acknowledged_create_is_in_the_next_list() {
    let redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    create(&app, "CACHE-SEEN-0").await;
    for order in [None, Some("newest")] {
        let params: Vec<(&str, &str)> = order.map(|o| ("order", o)).into_iter().collect();
        list(&app, &params).await;
        assert_eq!(cache_status(&list(&app, &params).await), "store-manager; hit");
    }
    for i in 1..4 {
        let sku = format!("CACHE-SEEN-{i}");
        create(&app, &sku).await;
        for order in [None, Some("newest")] {
            let params: Vec<(&str, &str)> = order.map(|o| ("order", o)).into_iter().collect();
            let r = list(&app, &params).await;
            assert!(cache_status(&r).contains("miss"), "{order:?} after {sku}: {}", cache_status(&r));
            assert!(skus(&r).contains(&sku), "{order:?} after {sku}: {:?}", skus(&r));
        }
    }
    // A refused create (a duplicate SKU) changes nothing, but bumping for it is harmless.
    let dup = app.post_product(&product("CACHE-SEEN-1")).await;
    assert_eq!(dup.status, 409);
    assert_eq!(skus(&list(&app, &[]).await).len(), 4);
}

#[tokio::test]
async fn redis_stopped_mid_run_and_restarted_empty() {
    let mut redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    create(&app, "CACHE-DOWN-0").await;
    list(&app, &[]).await;
    assert_eq!(cache_status(&list(&app, &[]).await), "store-manager; hit");

    redis.stop();
    for _ in 0..3 {
        let r = list(&app, &[]).await;
        assert_eq!(cache_status(&r), "store-manager; fwd=miss; detail=unavailable");
        assert_eq!(skus(&r), ["CACHE-DOWN-0"]);
    }
    // Creates go on, unbumped: the cache is not there to hold anything stale.
    create(&app, "CACHE-DOWN-1").await;
    assert_eq!(skus(&list(&app, &[]).await).len(), 2);

    redis.restart();
    // The connection comes back by itself within a few requests; from then on, the cache
    // works again, from a fresh version (the old keys are gone with the old process).
    let mut statuses = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let r = list(&app, &[]).await;
        assert_eq!(skus(&r).len(), 2);
        statuses.push(cache_status(&r).to_owned());
        if statuses.last().unwrap().ends_with("hit") {
            break;
        }
        tokio::task::yield_now().await;
    }
    statuses.dedup();
    assert!(statuses.last().unwrap().ends_with("hit"), "never a hit again after the restart: {statuses:?}");
    create(&app, "CACHE-DOWN-2").await;
    assert_eq!(skus(&list(&app, &[]).await).len(), 3);
}

#[tokio::test]
async fn a_paused_redis_is_waited_for_only_up_to_the_timeout() {
    let redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    create(&app, "CACHE-SLOW-0").await;
    list(&app, &[]).await;
    // Redis holds every client's commands for ten seconds: the request waits only its
    // bound (500 ms in tests; a hang would trip the test's own timeout), then reads the
    // database.
    redis.command(&["CLIENT", "PAUSE", "10000", "ALL"]).expect("pause");
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), list(&app, &[])).await.expect("not held by Redis");
    assert_eq!(cache_status(&r), "store-manager; fwd=miss; detail=unavailable");
    assert_eq!(skus(&r), ["CACHE-SLOW-0"]);
    let created = tokio::time::timeout(std::time::Duration::from_secs(5), create(&app, "CACHE-SLOW-1")).await.expect("not held by Redis");
    assert_eq!(created["sku"], "CACHE-SLOW-1");
    redis.command(&["CLIENT", "UNPAUSE"]).expect("unpause");
}

#[tokio::test]
async fn a_full_redis_stores_nothing_and_fails_nothing() {
    let redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    create(&app, "CACHE-FULL-0").await;
    assert!(cache_status(&list(&app, &[]).await).contains("stored"));
    let keys = redis.keys();
    redis.command(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]).expect("policy");
    redis.command(&["CONFIG", "SET", "maxmemory", "1"]).expect("maxmemory");
    for _ in 0..3 {
        let r = list(&app, &[("limit", "7")]).await;
        assert_eq!(skus(&r), ["CACHE-FULL-0"]);
        assert!(!cache_status(&r).contains("stored"), "{}", cache_status(&r));
    }
    assert_eq!(redis.keys(), keys, "nothing stored while full");
    // The create is not held up either. (Its bump was refused too: pages cached before it
    // may be read until their TTL, the documented bound; an evicting policy avoids that.)
    create(&app, "CACHE-FULL-1").await;
    assert_eq!(skus(&list(&app, &[("limit", "7")]).await).len(), 2);
}

#[tokio::test]
async fn a_lost_version_key_never_brings_back_older_pages() {
    let redis = RedisServer::start();
    let app = spawn_app_cached(&redis.url()).await;
    create(&app, "CACHE-LOST-0").await;
    list(&app, &[]).await;
    let version: u64 = redis.command(&["GET", "{store:store}:version"]).expect("version").parse().expect("a number");
    // Evicted (or deleted): the next read starts a version from the server's clock, above
    // every earlier one, so the page stored under the old one is not read.
    redis.command(&["DEL", "{store:store}:version"]).expect("del");
    assert!(cache_status(&list(&app, &[]).await).contains("miss"));
    let fresh: u64 = redis.command(&["GET", "{store:store}:version"]).expect("version").parse().expect("a number");
    assert!(fresh > version, "{fresh} > {version}");
    // And bumps count up from it.
    create(&app, "CACHE-LOST-1").await;
    let bumped: u64 = redis.command(&["GET", "{store:store}:version"]).expect("version").parse().expect("a number");
    assert_eq!(bumped, fresh + 1);
}
