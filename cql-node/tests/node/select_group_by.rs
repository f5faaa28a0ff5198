//! GROUP BY as Cassandra 4.1 answers it (SelectStatement.getAggregationSpecification,
//! CQLGroupByLimits), through the scylla driver: one row per group of partition-key /
//! clustering-prefix values, aggregates over the group, plain columns from its first row;
//! LIMIT, PER PARTITION LIMIT and page size count groups; no groups, no rows; and its refusals.

use crate::support;

use scylla::client::session::Session;
use scylla::errors::DbError;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::Statement;
use support::{db_error, keyspace, node, session};

async fn setup() -> (cql_node::server::Node, Session) {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "gb").await;
    s.use_keyspace("gb", false).await.unwrap();
    s.query_unpaged("CREATE TABLE t (k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2))", ()).await.unwrap();
    let ins = s.prepare("INSERT INTO t (k, c1, c2, v) VALUES (?, ?, ?, ?)").await.unwrap();
    for k in 0..3 {
        for c1 in 0..3 {
            for c2 in 0..2 {
                s.execute_unpaged(&ins, (k, c1, c2, k * 100 + c1 * 10 + c2)).await.unwrap();
            }
        }
    }
    (n, s)
}

async fn rows(s: &Session, q: &str) -> Vec<(i32, i32, i64, i32)> {
    let r = s.query_unpaged(q, ()).await.expect(q).into_rows_result().expect("rows");
    r.rows::<(i32, i32, i64, i32)>().expect("k, c1, count, int").map(|r| r.expect("row")).collect()
}

/// Partition keys 0..3 in the node's (Murmur3) order.
async fn partition_order(s: &Session) -> Vec<i32> {
    let r = s.query_unpaged("SELECT DISTINCT k FROM t", ()).await.unwrap().into_rows_result().unwrap();
    r.rows::<(i32,)>().unwrap().map(|r| r.unwrap().0).collect()
}

#[tokio::test]
async fn groups_aggregate_and_keep_their_first_row() {
    let (n, s) = setup().await;
    let order = partition_order(&s).await;
    // By partition: count, max, and c1 from each partition's first row.
    let got = rows(&s, "SELECT k, c1, count(*), max(v) FROM t GROUP BY k").await;
    let want: Vec<_> = order.iter().map(|k| (*k, 0, 6i64, k * 100 + 21)).collect();
    assert_eq!(got, want);
    // By clustering prefix in one partition, with sum.
    let got = rows(&s, "SELECT k, c1, count(*), sum(v) FROM t WHERE k = 1 GROUP BY k, c1").await;
    assert_eq!(got, [(1, 0, 2, 201), (1, 1, 2, 221), (1, 2, 2, 241)]);
    // A column skipped in GROUP BY is fine when restricted by `=`.
    let got = rows(&s, "SELECT k, c1, count(*), min(c2) FROM t WHERE k = 2 AND c1 = 1 GROUP BY c1, c2").await;
    assert_eq!(got, [(2, 1, 1, 0), (2, 1, 1, 1)]);
    // LIMIT and PER PARTITION LIMIT count groups.
    let got = rows(&s, "SELECT k, c1, count(*), v FROM t GROUP BY k, c1 LIMIT 4").await;
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], (order[1], 0, 2, order[1] * 100));
    let got = rows(&s, "SELECT k, c1, count(*), v FROM t GROUP BY k, c1 PER PARTITION LIMIT 1").await;
    assert_eq!(got, order.iter().map(|k| (*k, 0, 2i64, k * 100)).collect::<Vec<_>>());
    // No group, no row (an aggregate without GROUP BY answers one row).
    assert!(rows(&s, "SELECT k, c1, count(*), v FROM t WHERE k = 7 GROUP BY k").await.is_empty());
    n.stop().await;
}

/// Every page of `q` at `page_size`: the page sizes and all rows.
async fn paged(s: &Session, q: &str, page_size: i32) -> (Vec<usize>, Vec<(i32, i32, i64, i32)>) {
    let stmt = Statement::new(q).with_page_size(page_size);
    let mut state = PagingState::start();
    let mut all = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let (result, paging) = s.query_single_page(stmt.clone(), (), state).await.unwrap();
        let page: Vec<(i32, i32, i64, i32)> = result.into_rows_result().unwrap().rows().unwrap().map(|r| r.unwrap()).collect();
        sizes.push(page.len());
        all.extend(page);
        match paging {
            PagingStateResponse::HasMorePages { state: next } => state = next,
            PagingStateResponse::NoMorePages => return (sizes, all),
        }
        assert!(sizes.len() < 20, "paging never ends");
    }
}

#[tokio::test]
async fn pages_hold_page_size_groups() {
    let (n, s) = setup().await;
    let q = "SELECT k, c1, count(*), max(v) FROM t GROUP BY k, c1";
    let all = rows(&s, q).await;
    assert_eq!(all.len(), 9);
    let (sizes, got) = paged(&s, q, 2).await;
    assert_eq!(sizes, [2, 2, 2, 2, 1]);
    assert_eq!(got, all, "every group once, whole, in order");
    // Groups that exactly fill the last page: it is full, the next one is empty (as rows do).
    let (sizes, got) = paged(&s, q, 3).await;
    assert_eq!(sizes, [3, 3, 3, 0]);
    assert_eq!(got, all);
    // LIMIT used up ends paging.
    let (sizes, _) = paged(&s, &format!("{q} LIMIT 4"), 2).await;
    assert_eq!(sizes, [2, 2]);
    n.stop().await;
}

#[tokio::test]
async fn group_by_cassandra_refuses() {
    let (n, s) = setup().await;
    s.query_unpaged("CREATE TABLE two (a int, b int, c int, v int, PRIMARY KEY ((a, b), c))", ()).await.unwrap();
    for (q, kind, msg) in [
        ("SELECT count(*) FROM t GROUP BY v", DbError::Invalid, "Group by is currently only supported on the columns of the PRIMARY KEY, got v"),
        ("SELECT count(*) FROM t GROUP BY c1, k", DbError::Invalid, "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
        ("SELECT count(*) FROM t GROUP BY k, c2", DbError::Invalid, "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
        ("SELECT count(*) FROM t WHERE k IN (1, 2) GROUP BY c1", DbError::Invalid, "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
        ("SELECT count(*) FROM two GROUP BY a", DbError::Invalid, "Group by is not supported on only a part of the partition key"),
        ("SELECT DISTINCT k FROM t GROUP BY k, c1", DbError::Invalid, "Grouping on clustering columns is not allowed for SELECT DISTINCT queries"),
        ("SELECT count(*) FROM t GROUP BY nope", DbError::Invalid, "Undefined column name nope in table gb.t"),
    ] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert_eq!(db_error(&e).map(|(e, m)| (e.clone(), m.to_owned())), Some((kind, msg.to_owned())), "{q}");
    }
    // Clause order (Parser.g selectStatement): GROUP BY after WHERE, before ORDER BY.
    for q in ["SELECT count(*) FROM t GROUP BY k WHERE k = 1", "SELECT count(*) FROM t WHERE k = 1 ORDER BY c1 GROUP BY k"] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert_eq!(db_error(&e).map(|(e, _)| e.clone()), Some(DbError::SyntaxError), "{q}: {e}");
    }
    n.stop().await;
}
