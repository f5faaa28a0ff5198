//! Issue 10, point 3: after a create's "outcome unknown" 503, a retry with the same
//! Idempotency-Key converges on one product and a 201, whether the lost write was applied
//! (the node applies it, then answers a timeout: `after_apply`) or not (the timeout comes
//! first). And a read's 503 says nothing was done.

use std::time::Duration;

use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use store_tests::{TestApp, product, spawn_app_configured};

/// The statements whose answer the faults lose: the SKU claim's commit, and the product's
/// batch (written after it).
const TARGETS: &[(&str, &str)] = &[("commit", "SET committed = true"), ("batch", "INTO store.products (")];

async fn app() -> (TestApp, FaultRegistry) {
    let faults = FaultRegistry::new();
    // A persistent timeout runs a create to its deadline: keep it short.
    let app = spawn_app_configured(faults.clone(), |c| c.create_deadline = Duration::from_millis(800)).await;
    app.create_db.warm_up().await.unwrap();
    app.list_db.warm_up().await.unwrap();
    (app, faults)
}

#[tokio::test]
async fn a_retry_with_the_same_key_after_an_unknown_outcome_converges_on_one_201() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app().await;
    for (i, (what, text)) in TARGETS.iter().enumerate() {
        for applied in [true, false] {
            let sku = format!("UNK-{i}-{applied}");
            let key = format!("key-{sku}");
            let mut fault = Fault::new(FaultKind::WriteTimeout).matching(Match::TextContains((*text).into()));
            if applied {
                fault = fault.after_apply();
            }
            let id = faults.inject(fault);
            let first = app.post_with_key(&product(&sku), &key).await;
            let case = format!("{what}, applied: {applied}: {}", first.text);
            assert_eq!((first.status, first.json["outcome"].as_str()), (503, Some("unknown")), "{case}");
            assert!(first.json["detail"].as_str().unwrap().contains("same Idempotency-Key"), "{case}");
            faults.remove(id);
            // Whether the lost commit applied shows: a committed claim reads as the product,
            // a pending one does not. (The product's batch follows the commit: its claim
            // reads as the product either way.)
            let by_sku = app.list(&[("sku", &sku)]).await;
            let visible = by_sku.json["items"].as_array().unwrap().len();
            if *what == "commit" {
                assert_eq!(visible, usize::from(applied), "{case}");
            }

            let retry = app.post_with_key(&product(&sku), &key).await;
            assert_eq!(retry.status, 201, "{case}; retry: {}", retry.text);
            if visible == 1 {
                assert_eq!(retry.json["id"], by_sku.json["items"][0]["id"], "{case}");
            }
            let again = app.post_with_key(&product(&sku), &key).await;
            assert_eq!((again.status, &again.json["id"]), (201, &retry.json["id"]), "{case}");
            let by_sku = app.list(&[("sku", &sku)]).await;
            assert_eq!(by_sku.json["items"][0]["id"], retry.json["id"], "{case}");
        }
    }
    // One product per SKU, nothing else.
    assert_eq!(app.listed_ids().await.len(), TARGETS.len() * 2);
}

#[tokio::test]
async fn a_reads_503_says_nothing_was_done() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let (app, faults) = app().await;
    for kind in [FaultKind::Unavailable, FaultKind::ReadTimeout, FaultKind::Overloaded] {
        let id = faults.inject(Fault::new(kind.clone()));
        let r = app.list(&[]).await;
        assert_eq!((r.status, r.json["outcome"].as_str()), (503, Some("not_done")), "{kind:?}: {}", r.text);
        faults.remove(id);
    }
}
