//! Issue 16, point 8: a consistency level the store cannot both read and write at stops
//! start-up naming STORE_CONSISTENCY, instead of every listing answering 500; every level
//! accepted serves a create and a listing.

use http_api::startup::db_from_lookup;
use store_tests::TestResponse;
use store_tests::app::{list_request, post_request};
use store_tests::spawn_app;

#[test]
fn write_only_levels_stop_start_up_naming_the_variable() {
    for level in ["ANY", "any", "EACH_QUORUM"] {
        for backend in ["cassandra", "keyspaces"] {
            let vars = [("STORE_CONSISTENCY", level), ("STORE_BACKEND", backend), ("AWS_REGION", "eu-west-1")];
            let err = db_from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
                .err()
                .unwrap_or_else(|| panic!("{level} on {backend} was accepted"));
            assert!(err.contains("STORE_CONSISTENCY"), "{err}");
        }
    }
}

#[tokio::test]
async fn every_accepted_level_creates_and_lists() {
    let app = spawn_app().await;
    // The app's cluster and keyspace (the CQL node, or the external cluster's), as variables.
    let c = &app.config;
    let contact = c.known_nodes().join(",");
    let mut base = vec![("STORE_CONTACT_POINTS", contact), ("STORE_KEYSPACE", c.keyspace.clone())];
    if let Some(credentials) = &c.credentials {
        base.push(("STORE_USERNAME", credentials.username.clone()));
        base.push(("STORE_PASSWORD", credentials.password.expose().to_owned()));
    }
    if let Some(dc) = &c.local_dc {
        base.push(("STORE_LOCAL_DC", dc.clone()));
    }
    for (i, level) in ["ONE", "LOCAL_ONE", "QUORUM", "LOCAL_QUORUM", "ALL"].into_iter().enumerate() {
        let mut vars = base.clone();
        vars.push(("STORE_CONSISTENCY", level.to_owned()));
        let db = db_from_lookup(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone())).unwrap();
        let body = format!(r#"{{"name": "n", "sku": "CL-{i}", "price": 1}}"#);
        let created = create_product::handler(&db, &store_tests::app::employees(), post_request(&body, &[("content-type", "application/json")])).await;
        assert_eq!(created.status(), 201, "{level}");
        let listed = TestResponse::from_response(list_products::handler(&db, list_request(&[])).await);
        assert_eq!(listed.status, 200, "{level}: {}", listed.text);
    }
}
