//! Issue 16, point 10: only `application/json` (UTF-8) creates a product; every other media
//! type, including other `+json` types and a non-UTF-8 charset, is a 415 and stores nothing.

use store_tests::spawn_app;

const BODY: &str = r#"{"name": "Tea", "sku": "CT-1", "price": "1.00"}"#;

#[tokio::test]
async fn other_json_types_and_charsets_are_415() {
    let app = spawn_app().await;
    for content_type in [
        "application/json;charset=UTF-16",
        "application/json; charset=iso-8859-1",
        "application/problem+json",
        "application/merge-patch+json",
        "application/vnd.api+json",
        "text/json",
    ] {
        let r = app.post_raw(BODY, &[("content-type", content_type)]).await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.text);
        assert_eq!(r.json["type"], "/problems/unsupported-media-type", "{content_type}");
    }
    assert!(app.walk(50).await.is_empty(), "a refused body stored nothing");
}

#[tokio::test]
async fn application_json_in_any_case_with_utf8_or_other_parameters_is_accepted() {
    let app = spawn_app().await;
    for (i, content_type) in
        ["application/json", "Application/JSON; charset=UTF-8", "application/json;charset=\"utf-8\"", "application/json; v=1"]
            .into_iter()
            .enumerate()
    {
        let body = format!(r#"{{"name": "Tea", "sku": "CT-OK-{i}", "price": "1.00"}}"#);
        let r = app.post_raw(&body, &[("content-type", content_type)]).await;
        assert_eq!(r.status, 201, "{content_type}: {}", r.text);
    }
}
