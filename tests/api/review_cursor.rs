//! Issue 16, point 9: cursors carry a keyed HMAC, so a cursor minted without the key (even
//! with the old, unkeyed checksum computed correctly) is a 400 before the database sees it, and
//! no 400 body ever carries the database's own error text.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cql_node::faults::{Fault, FaultKind, Match};
use serde_json::json;
use sha2::{Digest, Sha256};
use store_tests::spawn_app;

/// The cursor layout before issue 16: version 1, the first 16 bytes of an unkeyed SHA-256
/// over a public tag, the keyspace and the paging state, then the state. Anyone could compute it.
fn mint_unkeyed(keyspace: &str, state: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"store-manager/products/list/v1");
    h.update((keyspace.len() as u64).to_be_bytes());
    h.update(keyspace.as_bytes());
    h.update(state);
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&h.finalize()[..16]);
    bytes.extend_from_slice(state);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The same, in the current layout (version 2, a 32-byte tag), with SHA-256 in place of HMAC.
fn mint_unkeyed_v2(keyspace: &str, state: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"store-manager/products/list/v2");
    h.update((keyspace.len() as u64).to_be_bytes());
    h.update(keyspace.as_bytes());
    h.update(state);
    let mut bytes = vec![2u8];
    bytes.extend_from_slice(&h.finalize());
    bytes.extend_from_slice(state);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_minted_cursor_is_400_before_the_database() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let app = spawn_app().await;
    for i in 0..3 {
        assert_eq!(app.post_product(&json!({"name": "n", "sku": format!("MINT-{i}"), "price": 1})).await.status, 201);
    }
    let genuine = app.list(&[("limit", "1")]).await.json["next_cursor"].as_str().unwrap().to_owned();
    // The paging state the database itself issued: only the tag is forged.
    let state = URL_SAFE_NO_PAD.decode(&genuine).unwrap()[33..].to_vec();
    let ks = app.config.keyspace.clone();

    // Any listing SELECT that reaches the node fails: a 503 would show the cursor got through.
    let fault = app.faults().inject(
        Fault::new(FaultKind::ServerError).matching(Match::TextContains(format!("FROM {ks}.products"))),
    );
    let fired = || app.faults().list().into_iter().find(|(id, _, _)| *id == fault).map(|(_, _, n)| n).unwrap();
    for minted in [mint_unkeyed(&ks, &state), mint_unkeyed_v2(&ks, &state)] {
        let r = app.list(&[("limit", "1"), ("cursor", minted.as_str())]).await;
        assert_eq!((r.status, r.json["field"].as_str()), (400, Some("cursor")), "{}", r.text);
    }
    assert_eq!(fired(), 0, "no minted cursor reached the database");
    // The control: a genuine cursor does reach it, and meets the fault.
    let r = app.list(&[("limit", "1"), ("cursor", genuine.as_str())]).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert!(fired() >= 1);
}

#[tokio::test]
async fn a_paging_state_the_database_refuses_is_400_without_its_message() {
    let app = spawn_app().await;
    // Signed with the key (as only a key holder could), around bytes no database issued.
    let forged = store::Cursor::from_paging_state(b"\x01\x02\x03").encode(&app.config.cursor_key, &app.config.keyspace);
    let r = app.list(&[("cursor", forged.as_str())]).await;
    assert_eq!((r.status, r.json["field"].as_str()), (400, Some("cursor")), "{}", r.text);
    let text = r.text.to_lowercase();
    for database_words in ["paging state", "protocol", "database returned", "invalid value"] {
        assert!(!text.contains(database_words), "the body carries database text: {}", r.text);
    }
}
