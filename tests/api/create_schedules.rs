//! Seeded random schedules of concurrent creates of one SKU, through the real handlers and
//! the CQL node, with injected latency and timeouts (before and after the write applies),
//! refusals, claims expiring (the node's clock jumps), and retries under Idempotency-Keys.
//! After each schedule, the same properties as the model check
//! (shared/store/tests/create_protocol_model.rs) must hold.
//!
//! `CREATE_SCHEDULES` (default 200) sets how many; `CREATE_SCHEDULES_SEED` replays one run
//! (every failure names its seed).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cql_node::faults::{Fault, FaultKind, FaultRegistry, Match};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use store_tests::{TestApp, TestResponse, spawn_app_configured};

/// The statements of a create, as fault targets (substrings of their CQL).
const STATEMENTS: &[&str] = &[
    "INTO store.idempotency_keys (key, fingerprint, product_id, created_at) VALUES",
    "INTO store.products_by_sku",
    "SET committed = true",
    "INTO store.products (",
    "status, body",
    "DELETE FROM store.products_by_sku",
];

#[derive(Debug)]
struct Request {
    key: Option<String>,
    start_after: Duration,
}

#[derive(Debug, Default)]
struct Tally {
    schedules: usize,
    requests: usize,
    by_answer: BTreeMap<String, usize>,
}

#[tokio::test]
async fn random_schedules_keep_skus_unique_and_answers_true() {
    store_tests::requires_cql_node!(store_tests::target::FAULTS);
    let count: u64 = std::env::var("CREATE_SCHEDULES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let seeds: Vec<u64> = match std::env::var("CREATE_SCHEDULES_SEED").ok().and_then(|v| v.parse().ok()) {
        Some(seed) => vec![seed],
        None => (1..=count).collect(),
    };
    let faults = FaultRegistry::new();
    let app = spawn_app_configured(faults.clone(), |c| {
        c.create_deadline = Duration::from_millis(600);
        c.request_timeout = Duration::from_millis(300);
    })
    .await;
    app.create_db.warm_up().await.unwrap();
    app.list_db.warm_up().await.unwrap();
    let mut tally = Tally::default();
    for seed in seeds {
        run_schedule(&app, &faults, seed, &mut tally).await;
    }
    println!("{tally:?}");
    assert!(tally.by_answer.get("201").is_some_and(|n| *n > 0), "{tally:?}");
    assert!(tally.by_answer.keys().any(|k| k.starts_with("503")), "faults never bit: {tally:?}");
}

fn random_fault(rng: &mut StdRng) -> Fault {
    let target = STATEMENTS[rng.random_range(0..STATEMENTS.len())];
    let kind = match rng.random_range(0..4) {
        0 => FaultKind::WriteTimeout,
        1 => FaultKind::Unavailable,
        _ => FaultKind::Latency { millis: rng.random_range(20..400) },
    };
    let after_apply = !matches!(kind, FaultKind::Unavailable) && rng.random_bool(0.5);
    let mut fault = Fault::new(kind).matching(Match::TextContains(target.into())).times(rng.random_range(1..=3));
    if after_apply {
        fault = fault.after_apply();
    }
    fault
}

async fn run_schedule(app: &TestApp, faults: &FaultRegistry, seed: u64, tally: &mut Tally) {
    let mut rng = StdRng::seed_from_u64(seed);
    let sku = format!("SCH-{seed}");
    let keys = [format!("k{seed}-a"), format!("k{seed}-b")];
    let requests: Vec<Request> = (0..rng.random_range(2..=4))
        .map(|_| Request {
            key: match rng.random_range(0..3) {
                0 => None,
                1 => Some(keys[0].clone()),
                _ => Some(keys[1].clone()),
            },
            start_after: Duration::from_millis(rng.random_range(0..60)),
        })
        .collect();
    let injected: Vec<_> = (0..rng.random_range(0..=3)).map(|_| faults.inject(random_fault(&mut rng))).collect();
    let expire_after = rng.random_bool(0.3).then(|| Duration::from_millis(rng.random_range(0..300)));
    let body = serde_json::json!({"name": format!("Product {sku}"), "sku": sku, "price": "5.00"});

    let sends = requests.iter().map(|r| {
        let body = &body;
        async move {
            tokio::time::sleep(r.start_after).await;
            match &r.key {
                Some(k) => app.post_with_key(body, k).await,
                None => app.post_product(body).await,
            }
        }
    });
    let clock = async {
        if let Some(after) = expire_after {
            tokio::time::sleep(after).await;
            app.advance_clock(Duration::from_secs(61));
        }
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(sends), clock);
    for id in injected {
        faults.remove(id);
    }

    // Retries once the faults are gone, as a client would after a 503: they must converge.
    let mut retries = Vec::new();
    for (r, a) in requests.iter().zip(&answers) {
        if a.status == 503 && r.key.is_some() {
            // Abandoned claims may still block the SKU: let them expire first.
            app.advance_clock(Duration::from_secs(61));
            retries.push((r.key.clone(), app.post_with_key(&body, r.key.as_ref().unwrap()).await));
        }
    }
    let all: Vec<(Option<String>, &TestResponse)> = requests
        .iter()
        .map(|r| r.key.clone())
        .zip(answers.iter())
        .chain(retries.iter().map(|(k, a)| (k.clone(), a)))
        .collect();
    check(app, seed, &sku, &all).await;

    tally.schedules += 1;
    for (_, a) in &all {
        tally.requests += 1;
        let label = match a.json["outcome"].as_str() {
            Some(o) => format!("{} {o}", a.status),
            None => a.status.to_string(),
        };
        *tally.by_answer.entry(label).or_default() += 1;
    }
}

async fn check(app: &TestApp, seed: u64, sku: &str, all: &[(Option<String>, &TestResponse)]) {
    let context = || format!("seed {seed}: {:#?}", all.iter().map(|(k, a)| (k, a.status, &a.text)).collect::<Vec<_>>());
    let listed: Vec<Value> = app.walk(500).await.into_iter().filter(|p| p["sku"] == sku).collect();
    assert!(listed.len() <= 1, "two products share the SKU; {}", context());
    let listed_id = listed.first().map(|p| p["id"].as_str().unwrap().to_owned());

    for (_, a) in all {
        assert!([201, 409, 503].contains(&a.status), "unexpected answer; {}", context());
        let named = match a.status {
            201 => Some(&a.json["id"]),
            409 => Some(&a.json["existing_id"]),
            _ => None,
        };
        if let Some(named) = named {
            assert_eq!(named.as_str(), listed_id.as_deref(), "an answer names a product that is not listed; {}", context());
        }
    }
    let mut finals: BTreeMap<&str, BTreeSet<(u16, String)>> = BTreeMap::new();
    for (key, a) in all {
        if let (Some(k), 201 | 409) = (key, a.status) {
            finals.entry(k.as_str()).or_default().insert((a.status, a.json.to_string()));
        }
    }
    for (k, answers) in &finals {
        assert_eq!(answers.len(), 1, "key {k} gave different answers; {}", context());
    }
    if let Some(id) = &listed_id {
        let explained = all.iter().any(|(_, a)| {
            (a.status == 201 && a.json["id"] == id.as_str()) || (a.status == 503 && a.json["outcome"] == "unknown")
        });
        assert!(explained, "a product exists that no answer admits; {}", context());
    }

    // Nothing is left blocking: once pending claims have expired, the SKU is free or held
    // by the listed product.
    app.advance_clock(Duration::from_secs(61));
    let body = serde_json::json!({"name": "probe", "sku": sku, "price": "1.00"});
    let probe = app.post_product(&body).await;
    match &listed_id {
        Some(id) => {
            assert_eq!(probe.status, 409, "probe; {}", context());
            assert_eq!(probe.json["existing_id"], id.as_str(), "probe; {}", context());
        }
        None => assert_eq!(probe.status, 201, "the SKU is blocked by nothing listed; {}", context()),
    }
}
