//! Listing: default and maximum limits, walking every page exactly once (also while products
//! are being created), and cursors that are not ours answered with 400.

use std::collections::{HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use store_tests::{TestApp, product, spawn_app};

async fn create_many(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let ids: Vec<String> = futures::stream::iter(0..n)
        .map(|i| async move {
            let r = app.post_product(&product(&format!("{prefix}-{i:05}"))).await;
            assert_eq!(r.status, 201, "{}", r.text);
            r.json["id"].as_str().unwrap().to_owned()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    ids
}

#[tokio::test]
async fn default_limit_is_50_and_maximum_500() {
    let app = spawn_app().await;
    create_many(&app, "LIM", 60).await;
    let page = app.list(&[]).await;
    assert_eq!(page.json["items"].as_array().unwrap().len(), 50);
    assert!(page.json["next_cursor"].is_string());
    let page = app.list(&[("limit", "500")]).await;
    assert_eq!(page.json["items"].as_array().unwrap().len(), 60);
    assert!(page.json["next_cursor"].is_null());
}

#[tokio::test]
async fn walking_over_1000_products_sees_each_once_while_creates_run() {
    let app = spawn_app().await;
    let existing = create_many(&app, "WALK", 1_050).await;

    // Walk with an odd page size while another task keeps creating products.
    let walk = app.walk(97);
    let creates = create_many(&app, "NEW", 150);
    let (seen, added) = tokio::join!(walk, creates);

    let mut counts: HashMap<String, usize> = HashMap::new();
    for item in &seen {
        *counts.entry(item["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "seen twice: {duplicated:?}");
    let missing: Vec<_> = existing.iter().filter(|id| !counts.contains_key(*id)).collect();
    assert!(missing.is_empty(), "{} pre-existing products not seen", missing.len());
    // Whatever was seen is either pre-existing or created during the walk.
    let known: HashSet<&String> = existing.iter().chain(added.iter()).collect();
    assert!(counts.keys().all(|id| known.contains(id)));
}

#[tokio::test]
async fn foreign_tampered_and_truncated_cursors_are_400() {
    let app = spawn_app().await;
    create_many(&app, "CUR", 5).await;
    let first = app.list(&[("limit", "2")]).await;
    let cursor = first.json["next_cursor"].as_str().unwrap().to_owned();

    let mut bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let tampered = URL_SAFE_NO_PAD.encode(&bytes);
    let truncated = cursor[..cursor.len() / 2].to_owned();
    // Signed with our key but minted for another keyspace.
    let foreign = store::Cursor::from_paging_state(b"\x00\x04abcd\x7f\xff\xff\xfe").encode(&app.config.cursor_key, "another_keyspace");
    for bad in [tampered.as_str(), truncated.as_str(), foreign.as_str(), "garbage!", "AAAA", &"A".repeat(3000)] {
        let r = app.list(&[("cursor", bad), ("limit", "2")]).await;
        assert_eq!((r.status, r.json["field"].as_str()), (400, Some("cursor")), "{bad}: {}", r.text);
    }
    // A cursor with our signature around a paging state the database cannot use: still 400.
    let forged = store::Cursor::from_paging_state(b"\x01\x02\x03").encode(&app.config.cursor_key, &app.config.keyspace);
    let r = app.list(&[("cursor", forged.as_str())]).await;
    assert!(r.status == 400 || r.status == 200, "never a 500: {}", r.text);
    // And the genuine cursor still works.
    let second = app.list(&[("cursor", cursor.as_str()), ("limit", "2")]).await;
    assert_eq!(second.status, 200);
}

/// Cassandra hands a paging state back with a page the rows exactly fill (its next page is
/// empty): the API looks past it, so the last page has no cursor leading nowhere.
#[tokio::test]
async fn a_last_page_the_products_exactly_fill_has_no_cursor() {
    let app = spawn_app().await;
    let ids = create_many(&app, "FULL", 6).await;
    let whole = app.list(&[("limit", "6")]).await;
    assert_eq!(whole.json["items"].as_array().unwrap().len(), 6, "{}", whole.text);
    assert!(whole.json["next_cursor"].is_null(), "a cursor to an empty page: {}", whole.text);

    let first = app.list(&[("limit", "3")]).await;
    assert_eq!(first.json["items"].as_array().unwrap().len(), 3);
    let cursor = first.json["next_cursor"].as_str().expect("rows follow the first page").to_owned();
    let second = app.list(&[("limit", "3"), ("cursor", cursor.as_str())]).await;
    assert_eq!(second.json["items"].as_array().unwrap().len(), 3, "{}", second.text);
    assert!(second.json["next_cursor"].is_null(), "a cursor to an empty page: {}", second.text);

    let mut walked: Vec<String> = app.walk(2).await.iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    let mut expected = ids.clone();
    walked.sort();
    expected.sort();
    assert_eq!(walked, expected);
}

/// A cursor whose following rows went away since it was handed out leads to an empty last
/// page: 200 with no items and no cursor, never an error.
#[tokio::test]
async fn a_cursor_whose_rows_were_deleted_answers_an_empty_last_page() {
    let app = spawn_app().await;
    create_many(&app, "GONE", 4).await;
    let first = app.list(&[("limit", "2")]).await;
    let cursor = first.json["next_cursor"].as_str().expect("rows follow").to_owned();
    let shown: HashSet<&str> = first.json["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    let session = store::db::session_builder(&app.config).build().await.expect("connect");
    for id in app.listed_ids().await.iter().filter(|id| !shown.contains(id.as_str())) {
        let id = uuid::Uuid::parse_str(id).unwrap();
        session
            .query_unpaged(format!("DELETE FROM {}.products WHERE id = ?", app.config.keyspace), (id,))
            .await
            .expect("delete");
    }
    let last = app.list(&[("limit", "2"), ("cursor", cursor.as_str())]).await;
    assert_eq!(last.status, 200, "{}", last.text);
    assert_eq!(last.json["items"].as_array().unwrap().len(), 0, "{}", last.text);
    assert!(last.json["next_cursor"].is_null(), "{}", last.text);
}
