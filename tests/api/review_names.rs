//! Issue 16, point 6: names are NFC-normalised (one name, one Idempotency-Key fingerprint,
//! whichever way the client encoded it), and invisible-only names, bidirectional controls and
//! tag characters are 422 naming `name`.

use serde_json::json;
use store_tests::spawn_app;

const NFC: &str = "Caf\u{e9}";
const NFD: &str = "Cafe\u{301}";

#[tokio::test]
async fn nfc_and_nfd_under_one_key_are_one_request() {
    let app = spawn_app().await;
    let first = app.post_with_key(&json!({"name": NFC, "sku": "CAFE-1", "price": "3.20"}), "cafe-key").await;
    assert_eq!(first.status, 201, "{}", first.text);
    // A retry whose client re-encoded the body in NFD: the same request, so the first answer.
    let retry = app.post_with_key(&json!({"name": NFD, "sku": "CAFE-1", "price": "3.20"}), "cafe-key").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.json["id"], first.json["id"]);
    assert_eq!(app.walk(10).await.len(), 1);
}

#[tokio::test]
async fn names_are_stored_in_nfc() {
    let app = spawn_app().await;
    let r = app.post_product(&json!({"name": NFD, "sku": "CAFE-2", "price": 1})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["name"], NFC);
    assert_eq!(app.walk(10).await[0]["name"], NFC);
}

#[tokio::test]
async fn invisible_and_direction_changing_names_are_422_naming_name() {
    let app = spawn_app().await;
    for name in ["\u{200B}", "\u{2060}\u{FEFF}", " \u{200B} ", "abc\u{202E}def", "\u{2066}x\u{2069}", "tag\u{E0041}"] {
        let r = app.post_product(&json!({"name": name, "sku": "INVIS-1", "price": 1})).await;
        assert_eq!(r.status, 422, "{name:?}: {}", r.text);
        assert_eq!(r.json["field"], "name", "{name:?}");
    }
    assert!(app.walk(10).await.is_empty(), "nothing stored");
}
