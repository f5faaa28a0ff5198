use serde_json::json;
use store_tests::{product, spawn_app};

#[tokio::test]
async fn create_then_list_returns_the_stored_product() {
    let app = spawn_app().await;
    let created = app.post_product(&json!({"name": "  Green tea ", "sku": "TEA-001", "price": 19.99})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let p = &created.json;
    assert_eq!(p["name"], "Green tea");
    assert_eq!(p["sku"], "TEA-001");
    assert_eq!(p["price"], "19.99");
    assert!(uuid::Uuid::parse_str(p["id"].as_str().unwrap()).is_ok());

    let page = app.list(&[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json["items"], json!([created.json]));
    assert_eq!(page.json["next_cursor"], json!(null));
}

#[tokio::test]
async fn prices_are_exact_in_and_out() {
    let app = spawn_app().await;
    // Neither value survives a trip through f64 as written; both must come back exact.
    let cases = [("P-1", json!(0.1), "0.10"), ("P-2", json!("999999999.99"), "999999999.99"), ("P-3", json!(1000000000), "1000000000.00")];
    for (sku, price, expected) in cases {
        let r = app.post_product(&json!({"name": "n", "sku": sku, "price": price})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.json["price"], expected);
    }
    // A raw token with more digits than f64 keeps: refused as >2 places, not rounded.
    let r = app.post_raw(r#"{"name":"n","sku":"P-4","price":19.990000000000001}"#, &[("content-type", "application/json")]).await;
    assert_eq!(r.status, 422);
    let mut listed: Vec<String> =
        app.walk(50).await.iter().map(|p| p["price"].as_str().unwrap().to_owned()).collect();
    listed.sort();
    assert_eq!(listed, ["0.10", "1000000000.00", "999999999.99"]);
}

#[tokio::test]
async fn duplicate_sku_answers_409_with_the_existing_id() {
    let app = spawn_app().await;
    let first = app.post_product(&product("DUP-1")).await;
    assert_eq!(first.status, 201);
    let second = app.post_product(&json!({"name": "Other", "sku": "DUP-1", "price": 1})).await;
    assert_eq!(second.status, 409, "{}", second.text);
    assert_eq!(second.json["existing_id"], first.json["id"]);
    assert_eq!(second.json["type"], "/problems/duplicate-sku");
    // SKUs are case-sensitive: another spelling is another product.
    assert_eq!(app.post_product(&product("dup-1")).await.status, 201);
    assert_eq!(app.walk(10).await.len(), 2);
}
