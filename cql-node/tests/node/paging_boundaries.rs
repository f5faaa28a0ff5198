//! Paging at page boundaries, as Cassandra 4.1's pagers answer (service/pager): a full page has
//! a paging state, also when the rows exactly filled it, and the next page is then empty;
//! except when LIMIT is used up, or when a single-partition (or the last IN partition's) read
//! is known to be done: no clustering columns, only statics, PER PARTITION LIMIT reached.

use crate::support;

use scylla::client::session::Session;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::Statement;
use support::{keyspace, node, session};

/// Every page of `query` at `page_size`: (rows, whether a paging state came with it).
async fn pages(s: &Session, query: &str, page_size: i32) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    let mut state = PagingState::start();
    let stmt = Statement::new(query).with_page_size(page_size);
    loop {
        let (result, paging) = s.query_single_page(stmt.clone(), (), state).await.expect(query);
        let rows = result.into_rows_result().expect("rows").rows_num();
        match paging {
            PagingStateResponse::HasMorePages { state: next } => {
                out.push((rows, true));
                state = next;
            }
            PagingStateResponse::NoMorePages => {
                out.push((rows, false));
                return out;
            }
        }
        assert!(out.len() < 50, "paging never ends: {query}");
    }
}

async fn setup() -> (cql_node::server::Node, Session) {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "pg").await;
    s.use_keyspace("pg", false).await.unwrap();
    for q in [
        "CREATE TABLE kv (k int PRIMARY KEY, v int)",
        "CREATE TABLE wide (k int, c int, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)",
        "CREATE TABLE st (k int, c int, s int static, PRIMARY KEY (k, c))",
    ] {
        s.query_unpaged(q, ()).await.unwrap();
    }
    for k in 1..=4 {
        s.query_unpaged(format!("INSERT INTO kv (k, v) VALUES ({k}, {k})"), ()).await.unwrap();
        for c in 1..=2 {
            s.query_unpaged(format!("INSERT INTO wide (k, c, v) VALUES ({k}, {c}, 0)"), ()).await.unwrap();
        }
    }
    s.query_unpaged("INSERT INTO st (k, s) VALUES (5, 1)", ()).await.unwrap();
    (n, s)
}

#[tokio::test]
async fn a_partition_scan_whose_rows_fill_the_last_page_ends_with_an_empty_page() {
    let (n, s) = setup().await;
    assert_eq!(pages(&s, "SELECT * FROM kv", 2).await, vec![(2, true), (2, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM kv", 4).await, vec![(4, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM kv", 3).await, vec![(3, true), (1, false)]);
    assert_eq!(pages(&s, "SELECT * FROM kv", 5).await, vec![(4, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide", 4).await, vec![(4, true), (4, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT DISTINCT k FROM wide", 2).await, vec![(2, true), (2, true), (0, false)]);
    n.stop().await;
}

#[tokio::test]
async fn a_single_partition_pages_like_cassandra() {
    let (n, s) = setup().await;
    // Clustering rows, in either order: a full page may be followed by an empty one.
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k = 1", 2).await, vec![(2, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k = 1 ORDER BY c ASC", 1).await, vec![(1, true), (1, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k = 1 AND c <= 2", 2).await, vec![(2, true), (0, false)]);
    // No clustering: the partition is done after its row.
    assert_eq!(pages(&s, "SELECT * FROM kv WHERE k = 1", 1).await, vec![(1, false)]);
    // Only statics: done too.
    assert_eq!(pages(&s, "SELECT * FROM st WHERE k = 5", 1).await, vec![(1, false)]);
    // PER PARTITION LIMIT reached: done.
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k = 1 PER PARTITION LIMIT 1", 1).await, vec![(1, false)]);
    n.stop().await;
}

#[tokio::test]
async fn in_queries_page_like_cassandras_multi_partition_pager() {
    let (n, s) = setup().await;
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k IN (1, 2)", 2).await, vec![(2, true), (2, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k IN (1, 2)", 4).await, vec![(4, true), (0, false)]);
    // The last IN partition has no clustering: done when the page fills on it...
    assert_eq!(pages(&s, "SELECT * FROM kv WHERE k IN (1, 2, 3)", 3).await, vec![(3, false)]);
    // ...but not when the page fills on an earlier one, whose followers are still unread.
    assert_eq!(pages(&s, "SELECT * FROM kv WHERE k IN (1, 2, 9)", 2).await, vec![(2, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM kv WHERE k IN (1, 2, 3)", 2).await, vec![(2, true), (1, false)]);
    n.stop().await;
}

#[tokio::test]
async fn limit_ends_paging_when_used_up_not_before() {
    let (n, s) = setup().await;
    assert_eq!(pages(&s, "SELECT * FROM wide LIMIT 4", 2).await, vec![(2, true), (2, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide LIMIT 2", 2).await, vec![(2, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide LIMIT 3", 2).await, vec![(2, true), (1, false)]);
    assert_eq!(pages(&s, "SELECT * FROM kv LIMIT 5", 2).await, vec![(2, true), (2, true), (0, false)]);
    assert_eq!(pages(&s, "SELECT * FROM wide WHERE k = 1 LIMIT 3", 2).await, vec![(2, true), (0, false)]);
    n.stop().await;
}
