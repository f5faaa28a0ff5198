//! `store-seed` (issue 9) through the very code the command runs, then checked through the
//! API: seeded products hold their SKUs as created ones do, and a rerun after an interruption
//! (or over rows lost after their claim) converges on the same catalogue.

use std::collections::HashSet;

use serde_json::json;
use store_seed::catalogue::Catalogue;
use store_seed::run::{self, Plan, Summary};
use store_tests::{TestApp, spawn_app};

use crate::newest::{assert_newest_first, walk_newest};

const PREFIX: &str = "SEEDT";

fn plan(from: u64, to: u64) -> Plan {
    Plan { from, to, in_flight: 16, rate: None, show_progress: false }
}

async fn seed(app: &TestApp, now_ms: i64, from: u64, to: u64) -> (Catalogue, Summary) {
    let (catalogue, first) = run::anchored_catalogue(&app.create_db, PREFIX, now_ms).await.expect("product 0");
    let mut summary = run::seed_range(&app.create_db, &catalogue, &plan(from.max(1), to)).await.expect("seed");
    if from == 0 {
        summary.count(&first);
    }
    (catalogue, summary)
}

#[tokio::test]
async fn seeded_products_hold_their_skus_and_reruns_converge() {
    let app = spawn_app().await;
    // An employee created one of the catalogue's SKUs first: the seed leaves it to them.
    let theirs = app.post_product(&json!({"name": "Theirs", "sku": "SEEDT-0000007", "price": "1.00"})).await;
    assert_eq!(theirs.status, 201);

    // A first run stopped after 120 products...
    let now = run::now_ms();
    let (catalogue, first) = seed(&app, now, 1, 120).await;
    assert_eq!((first.written, first.already_there, first.taken), (118, 0, 1), "{}", first.line());
    // ...then the full command again, an hour later: same products, same dates.
    let (again, second) = seed(&app, now + 3_600_000, 0, 200).await;
    assert_eq!(again.product(5), catalogue.product(5));
    assert_eq!((second.written, second.already_there, second.taken), (80, 119, 1), "{}", second.line());

    let listed = app.walk(37).await;
    assert_eq!(listed.len(), 200, "199 seeded and the employee's");
    let skus: HashSet<&str> = listed.iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(skus.len(), 200, "every SKU once");
    let newest = walk_newest(&app, 23).await;
    assert_eq!(newest.len(), 200);
    assert_newest_first(&newest);
    // Product 0 is dated at the first run (to the second), the others a second apart before.
    let top: HashSet<&str> = newest[..2].iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(top, HashSet::from(["SEEDT-0000000", "SEEDT-0000007"]));

    // Each seeded product is what the catalogue says, exactly, and created by the loader.
    for i in [0u64, 1, 42, 199] {
        let want = catalogue.product(i);
        let got = app.list(&[("sku", &want.sku)]).await.json["items"][0].clone();
        assert_eq!(got["id"], want.id.to_string());
        assert_eq!(got["name"], want.name);
        assert_eq!(got["price"], want.price.to_string());
        assert_eq!(got["created_by"], run::CREATED_BY);
        let by_id = app.get_product(&want.id.to_string()).await;
        assert_eq!(by_id.json, got);
    }
    let held = app.list(&[("sku", "SEEDT-0000007")]).await;
    assert_eq!(held.json["items"][0]["name"], "Theirs");

    // A create of a seeded SKU is a conflict naming the seeded product.
    let dup = app.post_product(&json!({"name": "Again", "sku": "SEEDT-0000042", "price": "2.00"})).await;
    assert_eq!(dup.status, 409);
    assert!(dup.text.contains(&catalogue.product(42).id.to_string()), "{}", dup.text);
}

#[tokio::test]
async fn rows_lost_after_their_claim_are_written_again_by_a_rerun() {
    let app = spawn_app().await;
    let now = run::now_ms();
    let (catalogue, _) = seed(&app, now, 1, 30).await;
    // As if the first run had stopped between a claim and its batch.
    let session = store::db::session_builder(&app.config).build().await.expect("connect");
    let lost = catalogue.product(17);
    session
        .query_unpaged(format!("DELETE FROM {}.products WHERE id = ?", app.config.keyspace), (lost.id,))
        .await
        .expect("delete");
    assert_eq!(app.get_product(&lost.id.to_string()).await.status, 404);

    let (_, rerun) = seed(&app, now, 0, 30).await;
    assert_eq!((rerun.written, rerun.already_there), (0, 30));
    let back = app.get_product(&lost.id.to_string()).await;
    assert_eq!(back.status, 200);
    assert_eq!(back.json["sku"], lost.sku);
    assert_eq!(app.walk(500).await.len(), 30);
}
