//! `store-schema backfill-newest` against the CQL node, through the real driver: products
//! stored before the newest-first table existed are listed newest first afterwards, and a
//! second run writes the same rows.

use std::process::Command;

use cql_node::cluster::Cluster;
use scylla::client::session::Session;
use store::{Config, Db};
use uuid::Uuid;

const PRODUCTS: usize = 1_234;
/// 2026-11-01T00:00:00Z; products are spread over about ten days, three a minute.
const BASE_MS: i64 = 1_793_491_200_000;

fn run_backfill(port: u16) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_store-schema"))
        .arg("backfill-newest")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("STORE_DOTENV", "off")
        .env("STORE_CONTACT_POINTS", format!("127.0.0.1:{port}"))
        .output()
        .expect("run store-schema");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

async fn newest_rows(session: &Session) -> Vec<(i32, i32, i64, Uuid)> {
    let result = session
        .query_unpaged("SELECT bucket, shard, created_at, id FROM store.products_by_newest", ())
        .await
        .unwrap()
        .into_rows_result()
        .unwrap();
    let mut rows: Vec<(i32, i32, i64, Uuid)> = result
        .rows::<(i32, i32, scylla::value::CqlTimestamp, Uuid)>()
        .unwrap()
        .map(|r| r.map(|(b, s, t, id)| (b, s, t.0, id)).unwrap())
        .collect();
    rows.sort();
    rows
}

async fn walk_newest(db: &Db) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.list_newest(100, cursor.as_deref()).await.expect("a page");
        seen.extend(page.items.into_iter().map(|p| (p.created_at, p.id.to_string())));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return seen,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_lists_existing_products_newest_first_and_a_rerun_writes_the_same_rows() {
    let cluster = Cluster::builder().nodes(1).start().await.expect("start the CQL node");
    let config = Config::local(cluster.port());
    let session = store::db::session_builder(&config).build().await.expect("connect");
    store::schema::apply(&session, &store::schema::statements(&config.keyspace, &config.replication)).await.unwrap();
    // Products as the earlier protocol wrote them: a `products` row and nothing else.
    let insert = session
        .prepare("INSERT INTO store.products (id, name, sku, price, created_at) VALUES (?, ?, ?, 2.5, ?)")
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..PRODUCTS {
        let id = Uuid::new_v4();
        let at = BASE_MS + (i as i64) * 20_000;
        session
            .execute_unpaged(&insert, (id, format!("Old {i}"), format!("OLD-{i}"), scylla::value::CqlTimestamp(at)))
            .await
            .unwrap();
        expected.push((at, id));
    }
    expected.sort_by(|a, b| b.cmp(a));
    let db = Db::new(config.clone());
    assert!(walk_newest(&db).await.is_empty(), "nothing is listed newest first before the backfill");

    let first = run_backfill(cluster.port());
    assert!(first.contains(&format!("backfilled {PRODUCTS} products into products_by_newest")), "{first}");
    let walked = walk_newest(&db).await;
    let walked_ids: Vec<String> = walked.iter().map(|(_, id)| id.clone()).collect();
    let expected_ids: Vec<String> = expected.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(walked_ids, expected_ids);
    let rows = newest_rows(&session).await;
    assert_eq!(rows.len(), PRODUCTS);

    let second = run_backfill(cluster.port());
    assert!(second.contains(&format!("backfilled {PRODUCTS} products")), "{second}");
    assert_eq!(newest_rows(&session).await, rows, "a rerun writes the same rows");
    assert_eq!(walk_newest(&db).await, walked);
}
