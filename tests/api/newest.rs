//! `GET /products?order=newest` (issue 14): newest first, cursor-paged from
//! `products_by_newest`, stable while products are created; through the list function's
//! handler, the driver and the CQL node.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use serde_json::Value;
use store::{Price, Sku};
use store_tests::{TestApp, TestResponse, product, spawn_app, spawn_app_with};
use uuid::Uuid;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// 2026-11-20T00:00:00Z: loaded products are dated in the past, before any created now.
const BASE_MS: i64 = 1_795_132_800_000;

fn assert_bad_parameter(r: &TestResponse, field: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.json["field"], field, "{}", r.text);
}

/// The order a newest-first listing must show: created_at, then id, both descending (the
/// JSON's fixed-width RFC 3339 text and lower-case hyphenated ids sort as their values).
fn newest_key(p: &Value) -> (String, String) {
    (p["created_at"].as_str().expect("created_at").to_owned(), p["id"].as_str().expect("id").to_owned())
}

pub(crate) fn assert_newest_first(items: &[Value]) {
    for pair in items.windows(2) {
        assert!(newest_key(&pair[0]) > newest_key(&pair[1]), "out of order: {} then {}", pair[0], pair[1]);
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

/// Follows `next_cursor` of `order=newest` to the end, checking each page on the way.
pub(crate) async fn walk_newest(app: &TestApp, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let limit_text = limit.to_string();
    loop {
        let mut params = vec![("order", "newest"), ("limit", limit_text.as_str())];
        if let Some(c) = &cursor {
            params.push(("cursor", c.as_str()));
        }
        let page = app.list(&params).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let got = page.json["items"].as_array().expect("items");
        match page.json["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(got.len(), limit, "a page with a next page is full");
                cursor = Some(c.to_owned());
                items.extend(got.iter().cloned());
            }
            None => {
                assert!(!got.is_empty() || items.is_empty(), "an empty last page");
                items.extend(got.iter().cloned());
                return items;
            }
        }
    }
}

async fn create_many(app: &TestApp, prefix: &str, n: usize) -> Vec<Value> {
    futures::stream::iter(0..n)
        .map(|i| async move {
            let r = app.post_product(&product(&format!("{prefix}-{i:05}"))).await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.json
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Writes a product dated `created_at_ms` as a create would (products row, newest-first row,
/// index rows), and returns it as the API shows it.
async fn load(app: &TestApp, sku: &str, created_at_ms: i64) -> Value {
    let id = Uuid::new_v4();
    let sku = Sku::parse(sku).unwrap();
    app.create_db
        .load_product(id, "Loaded", sku.as_str(), Price::parse("4.20").unwrap(), created_at_ms, "loader")
        .await
        .expect("load a product");
    let shown = app.get_product(&id.to_string()).await;
    assert_eq!(shown.status, 200, "{}", shown.text);
    shown.json
}

#[tokio::test]
async fn newest_first_pages_walk_every_product_once_in_order() {
    let app = spawn_app().await;
    let mut created = create_many(&app, "NEW", 23).await;
    created.sort_by_key(|p| std::cmp::Reverse(newest_key(p)));

    let first = app.list(&[("order", "newest"), ("limit", "5")]).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["items"].as_array().unwrap(), &created[..5]);
    assert!(first.json["next_cursor"].is_string());

    assert_eq!(walk_newest(&app, 5).await, created);
    // Exactly a page's worth: one full page and no cursor to an empty one.
    let all = app.list(&[("order", "newest"), ("limit", "23")]).await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 23);
    assert!(all.json["next_cursor"].is_null(), "{}", all.text);
    // The default order lists the same products.
    let mut token: Vec<String> = ids(&app.walk(50).await);
    let mut newest = ids(&created);
    token.sort();
    newest.sort();
    assert_eq!(token, newest);
}

#[tokio::test]
async fn a_walk_skips_empty_minutes_and_days_and_orders_ties_by_id() {
    let app = spawn_app().await;
    let mut loaded = Vec::new();
    // 100 consecutive minutes of one day: more index rows than one index read returns.
    for i in 0..100 {
        loaded.push(load(&app, &format!("MIN-{i}"), BASE_MS + 3 * 3_600_000 + i * MINUTE_MS).await);
    }
    // Twelve products in one millisecond (every shard, ties broken by id), days apart from
    // the rest, and one product alone a month earlier.
    for i in 0..12 {
        loaded.push(load(&app, &format!("TIE-{i}"), BASE_MS - 4 * DAY_MS + 777).await);
    }
    loaded.push(load(&app, "OLD-1", BASE_MS - 30 * DAY_MS).await);
    loaded.sort_by_key(|p| std::cmp::Reverse(newest_key(p)));

    for limit in [1, 5, 7, 64, 500] {
        let walked = walk_newest(&app, limit).await;
        assert_eq!(ids(&walked), ids(&loaded), "limit {limit}");
        assert_newest_first(&walked);
    }
    // A product created now comes first.
    let now = app.post_product(&product("NOW-1")).await;
    assert_eq!(now.status, 201, "{}", now.text);
    let first = app.list(&[("order", "newest"), ("limit", "1")]).await;
    assert_eq!(first.json["items"][0], now.json);
}

#[tokio::test]
async fn bad_order_values_order_with_sku_and_cursors_of_the_other_order_are_400() {
    let app = spawn_app().await;
    create_many(&app, "BAD", 5).await;
    for bad in ["oldest", "", "NEWEST", "newest,token"] {
        assert_bad_parameter(&app.list(&[("order", bad)]).await, "order");
    }
    assert_bad_parameter(&app.list(&[("order", "newest"), ("sku", "BAD-00001")]).await, "order");
    assert_bad_parameter(&app.list(&[("order", "newest"), ("limit", "0")]).await, "limit");

    let token_cursor = app.list(&[("limit", "2")]).await.json["next_cursor"].as_str().unwrap().to_owned();
    let newest_cursor =
        app.list(&[("order", "newest"), ("limit", "2")]).await.json["next_cursor"].as_str().unwrap().to_owned();
    let replayed = app.list(&[("order", "newest"), ("cursor", &token_cursor)]).await;
    assert_bad_parameter(&replayed, "cursor");
    assert!(replayed.json["detail"].as_str().unwrap().contains("another order"), "{}", replayed.text);
    assert_bad_parameter(&app.list(&[("cursor", &newest_cursor)]).await, "cursor");

    let mut bytes = URL_SAFE_NO_PAD.decode(&newest_cursor).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let tampered = URL_SAFE_NO_PAD.encode(&bytes);
    let foreign = store::Cursor::from_paging_state(&[0u8; 24]).encode_as(store::CursorKind::Newest, &app.config.cursor_key, "another_keyspace");
    // Signed as ours but not a position: still a 400, never a 500.
    let odd = store::Cursor::from_paging_state(b"\x01\x02\x03").encode_as(store::CursorKind::Newest, &app.config.cursor_key, &app.config.keyspace);
    for bad in [tampered.as_str(), foreign.as_str(), odd.as_str(), "garbage!", &newest_cursor[..10]] {
        assert_bad_parameter(&app.list(&[("order", "newest"), ("cursor", bad)]).await, "cursor");
    }
    // The genuine cursor still works.
    let second = app.list(&[("order", "newest"), ("limit", "2"), ("cursor", &newest_cursor)]).await;
    assert_eq!(second.json["items"].as_array().unwrap().len(), 2, "{}", second.text);
}

#[tokio::test]
async fn a_newest_first_walk_over_1000_products_sees_each_once_while_creates_run() {
    let app = spawn_app().await;
    let existing = ids(&create_many(&app, "WALK", 1_050).await);

    let walk = walk_newest(&app, 97);
    let creates = create_many(&app, "DURING", 150);
    let (seen, added) = tokio::join!(walk, creates);

    assert_newest_first(&seen);
    let mut counts: HashMap<String, usize> = HashMap::new();
    for id in ids(&seen) {
        *counts.entry(id).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "seen twice: {repeated:?}");
    let missing = existing.iter().filter(|id| !counts.contains_key(*id)).count();
    assert_eq!(missing, 0, "pre-existing products not seen");
    let known: HashSet<String> = existing.into_iter().chain(ids(&added)).collect();
    assert!(counts.keys().all(|id| known.contains(id)));
}

#[tokio::test]
async fn a_product_created_in_the_middle_of_a_walk_is_not_in_it_and_heads_the_next() {
    let app = spawn_app().await;
    let before = create_many(&app, "MID", 9).await;
    let first = app.list(&[("order", "newest"), ("limit", "4")]).await;
    let mut seen = first.json["items"].as_array().unwrap().clone();
    let mut cursor = first.json["next_cursor"].as_str().map(str::to_owned);

    let middle = app.post_product(&product("MID-NEW")).await;
    assert_eq!(middle.status, 201, "{}", middle.text);
    while let Some(c) = cursor {
        let page = app.list(&[("order", "newest"), ("limit", "4"), ("cursor", &c)]).await;
        seen.extend(page.json["items"].as_array().unwrap().iter().cloned());
        cursor = page.json["next_cursor"].as_str().map(str::to_owned);
    }
    assert_newest_first(&seen);
    let mut expected = before.clone();
    expected.sort_by_key(|p| std::cmp::Reverse(newest_key(p)));
    assert_eq!(seen, expected, "the walk shows exactly the products that existed when it started");
    let next = app.list(&[("order", "newest"), ("limit", "1")]).await;
    assert_eq!(next.json["items"][0], middle.json);
}

#[tokio::test]
async fn a_holder_rolled_forward_by_a_duplicate_is_listed_with_its_claims_time() {
    let app = spawn_app().await;
    let session = store::db::session_builder(&app.config).build().await.expect("connect");
    let ks = &app.config.keyspace;
    let id = Uuid::new_v4();
    // A committed claim whose creator stopped before writing the product's rows.
    session
        .query_unpaged(
            format!(
                "INSERT INTO {ks}.products_by_sku (sku, product_id, committed, name, price, created_at) \
                 VALUES ('HELD-1', ?, true, 'Held', 3.5, 1700000000123)"
            ),
            (id,),
        )
        .await
        .unwrap();
    let duplicate = app.post_product(&product("HELD-1")).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    assert_eq!(duplicate.json["existing_id"], id.to_string());
    let again = app.post_product(&product("HELD-1")).await;
    assert_eq!(again.status, 409, "{}", again.text);

    let page = app.list(&[("order", "newest")]).await;
    let items = page.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "rolled forward twice, listed once: {}", page.text);
    assert_eq!(items[0]["id"], id.to_string());
    assert_eq!(items[0]["created_at"], "2023-11-14T22:13:20.123Z");
    assert_eq!(items[0], app.get_product(&id.to_string()).await.json);
}

#[tokio::test]
async fn the_product_row_is_never_written_without_its_newest_first_row() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let faults = FaultRegistry::new();
    let app = spawn_app_with(faults.clone()).await;
    // Every write of the newest-first table is refused: the create cannot finish.
    let refused = faults.inject(Fault::new(FaultKind::Unavailable).matching(Match::TextContains("INSERT INTO store.products_by_newest".into())));
    let failed = app.post_product(&product("BATCH-1")).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    app.fired(refused, 1).await;
    // Written in one batch with it, the products row was not written either.
    assert!(app.walk(50).await.is_empty(), "a product row without its newest-first row");
    assert!(app.list(&[("order", "newest")]).await.json["items"].as_array().unwrap().is_empty());

    // The claim was committed: the next create of the SKU rolls it forward, both rows at once.
    faults.clear();
    let duplicate = app.post_product(&product("BATCH-1")).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    let listed = app.walk(50).await;
    assert_eq!(ids(&listed), vec![duplicate.json["existing_id"].as_str().unwrap().to_owned()]);
    assert_eq!(app.list(&[("order", "newest")]).await.json["items"].as_array().unwrap(), &listed);
}
