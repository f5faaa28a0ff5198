//! SELECT restrictions Cassandra 4.1 accepts and how it refuses the others, through the scylla
//! driver: token relations with literals, `token(...)` values and bind markers
//! (`cql3/TokenRelation`, `restrictions/TokenRestriction`, `TokenFilter`); multi-column
//! clustering relations after an equality, as equality and as tuple IN, and their merging with
//! single-column ones (`MultiColumnRelation`, `MultiColumnRestriction`,
//! `ClusteringColumnRestrictions`).

use crate::support;

use cql_node::engine::token::token_of;
use scylla::client::session::Session;
use scylla::errors::DbError;
use support::{db_error, keyspace, node, session};

async fn setup() -> (cql_node::server::Node, Session) {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "rx").await;
    s.use_keyspace("rx", false).await.unwrap();
    s.query_unpaged("CREATE TABLE t (k int, c1 int, c2 int, c3 int, v int, PRIMARY KEY (k, c1, c2, c3))", ()).await.unwrap();
    let ins = s.prepare("INSERT INTO t (k, c1, c2, c3, v) VALUES (?, ?, ?, ?, ?)").await.unwrap();
    for k in 0..6 {
        for c1 in 0..2 {
            for c2 in 0..2 {
                for c3 in 0..2 {
                    s.execute_unpaged(&ins, (k, c1, c2, c3, k * 100 + c1 * 10 + c2 * 3 + c3)).await.unwrap();
                }
            }
        }
    }
    (n, s)
}

fn tok(k: i32) -> i64 {
    token_of(&k.to_be_bytes())
}

async fn ints(s: &Session, q: &str) -> Vec<i32> {
    let rows = s.query_unpaged(q, ()).await.expect(q).into_rows_result().expect("rows");
    rows.rows::<(i32,)>().expect("int column").map(|r| r.expect("row").0).collect()
}

async fn refused(s: &Session, q: &str) -> (DbError, String) {
    let e = s.query_unpaged(q, ()).await.expect_err(q);
    let (kind, msg) = db_error(&e).unwrap_or_else(|| panic!("{q}: {e}"));
    (kind.clone(), msg.to_owned())
}

/// The partitions of `0..6` in token order whose token satisfies `keep`.
fn keys_where(keep: impl Fn(i64) -> bool) -> Vec<i32> {
    let mut ks: Vec<i32> = (0..6).filter(|k| keep(tok(*k))).collect();
    ks.sort_by_key(|k| tok(*k));
    ks
}

#[tokio::test]
async fn token_relations_with_literals_functions_and_markers() {
    let (n, s) = setup().await;
    let mut by_token: Vec<i32> = (0..6).collect();
    by_token.sort_by_key(|k| tok(*k));
    let (lo, hi) = (tok(by_token[1]), tok(by_token[4]));
    // Literal bounds on both sides (one row per partition through PER PARTITION LIMIT).
    let q = format!("SELECT k FROM t WHERE token(k) > {lo} AND token(k) <= {hi} PER PARTITION LIMIT 1");
    assert_eq!(ints(&s, &q).await, keys_where(|t| t > lo && t <= hi));
    assert_eq!(ints(&s, "SELECT k FROM t WHERE token(k) > -9000000000000000000 PER PARTITION LIMIT 1").await, by_token);
    // `=` and token(value) on the right-hand side: TokenFct of the partition key's type.
    let q = format!("SELECT k FROM t WHERE token(k) = {} PER PARTITION LIMIT 1", tok(3));
    assert_eq!(ints(&s, &q).await, [3]);
    assert_eq!(ints(&s, "SELECT k FROM t WHERE token(k) >= token(3) AND token(k) <= token(3) PER PARTITION LIMIT 1").await, [3]);
    // A literal combined with a bind marker.
    let p = s.prepare(format!("SELECT k FROM t WHERE token(k) >= ? AND token(k) < {hi} PER PARTITION LIMIT 1")).await.unwrap();
    assert_eq!(p.get_variable_col_specs().get_by_index(0).unwrap().name(), "partition key token");
    let rows = s.execute_unpaged(&p, (lo,)).await.unwrap().into_rows_result().unwrap();
    let got: Vec<i32> = rows.rows::<(i32,)>().unwrap().map(|r| r.unwrap().0).collect();
    assert_eq!(got, keys_where(|t| t >= lo && t < hi));
    // With `=`/`IN` on the partition key the token relation filters those partitions (TokenFilter).
    let q = format!("SELECT k FROM t WHERE k IN (0, 1, 2, 3, 4, 5) AND token(k) > {lo} PER PARTITION LIMIT 1");
    let mut want = keys_where(|t| t > lo);
    want.sort();
    assert_eq!(ints(&s, &q).await, want);
    n.stop().await;
}

#[tokio::test]
async fn token_relations_cassandra_refuses() {
    let (n, s) = setup().await;
    s.query_unpaged("CREATE TABLE two (a int, b int, v int, PRIMARY KEY ((a, b)))", ()).await.unwrap();
    for (q, msg) in [
        ("SELECT * FROM t WHERE token(k) IN (1, 2)", "IN cannot be used with the token function"),
        ("SELECT * FROM t WHERE token(k) != 1", "Unsupported \"!=\" relation: token(k) != 1"),
        ("SELECT * FROM two WHERE token(a) > 1", "The token() function must be applied to all partition key components or none of them"),
        ("SELECT * FROM two WHERE token(a, b, a) > 1", "The token() function contains duplicate partition key components"),
        ("SELECT * FROM two WHERE token(a, b, v) > 1", "The token() function must contains only partition key components"),
        ("SELECT * FROM two WHERE token(b, a) > 1", "The token function arguments must be in the partition key order: a, b"),
        ("SELECT * FROM t WHERE token(k) = 1 AND token(k) > 0", "k cannot be restricted by more than one relation if it includes an Equal"),
        ("SELECT * FROM t WHERE token(k) > 1 AND token(k) = 0", "Columns \"k\" cannot be restricted by both an equality and an inequality relation"),
        ("SELECT * FROM t WHERE token(k) > 1 AND token(k) >= 0", "More than one restriction was found for the start bound on k"),
        ("SELECT * FROM t WHERE token(k) < 1 AND token(k) <= 0", "More than one restriction was found for the end bound on k"),
        ("SELECT * FROM t WHERE token(k) > token(1, 2)", "Invalid number of arguments in call to function system.token: 1 required but 2 provided"),
        ("SELECT * FROM t WHERE token(k) > 'x'", "Invalid STRING constant (x) for \"partition key token\" of type bigint"),
    ] {
        assert_eq!(refused(&s, q).await, (DbError::Invalid, msg.to_owned()), "{q}");
    }
    n.stop().await;
}

async fn clusterings(s: &Session, q: &str) -> Vec<(i32, i32, i32)> {
    let rows = s.query_unpaged(q, ()).await.expect(q).into_rows_result().expect("rows");
    rows.rows::<(i32, i32, i32)>().expect("three ints").map(|r| r.expect("row")).collect()
}

#[tokio::test]
async fn multi_column_relations_after_an_equality_as_equality_and_as_tuple_in() {
    let (n, s) = setup().await;
    let q = |w: &str| format!("SELECT c1, c2, c3 FROM t WHERE k = 1 AND {w}");
    assert_eq!(clusterings(&s, &q("c1 = 0 AND (c2, c3) > (0, 0)")).await, [(0, 0, 1), (0, 1, 0), (0, 1, 1)]);
    assert_eq!(clusterings(&s, &q("c1 = 1 AND (c2, c3) <= (0, 1)")).await, [(1, 0, 0), (1, 0, 1)]);
    assert_eq!(clusterings(&s, &q("(c1, c2) = (0, 1)")).await, [(0, 1, 0), (0, 1, 1)]);
    assert_eq!(clusterings(&s, &q("(c1, c2) = (0, 1) AND c3 = 1")).await, [(0, 1, 1)]);
    assert_eq!(clusterings(&s, &q("(c1, c2) IN ((1, 0), (0, 1), (5, 5))")).await, [(0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 0, 1)]);
    assert_eq!(clusterings(&s, &q("c1 = 1 AND (c2, c3) IN ((1, 1), (0, 0))")).await, [(1, 0, 0), (1, 1, 1)]);
    // A slice on the first column of a tuple slice merges with it (both bounds kept).
    assert_eq!(clusterings(&s, &q("(c1, c2, c3) > (0, 1, 0) AND c1 < 1")).await, [(0, 1, 1)]);
    assert_eq!(clusterings(&s, &q("(c1, c2) >= (0, 1) AND (c1, c2) < (1, 1)")).await, [(0, 1, 0), (0, 1, 1), (1, 0, 0), (1, 0, 1)]);
    // Bind markers inside the tuples.
    let p = s.prepare("SELECT c1, c2, c3 FROM t WHERE k = ? AND (c1, c2) IN ((?, ?), (?, ?)) AND c3 = ?").await.unwrap();
    let rows = s.execute_unpaged(&p, (2, 1, 1, 0, 0, 1)).await.unwrap().into_rows_result().unwrap();
    let got: Vec<(i32, i32, i32)> = rows.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, [(0, 0, 1), (1, 1, 1)]);
    // One marker for the whole list of tuples, named as Tuples.makeInReceiver names it.
    let p = s.prepare("SELECT c1, c2, c3 FROM t WHERE k = 2 AND (c1, c2) IN ? AND c3 = 0").await.unwrap();
    assert_eq!(p.get_variable_col_specs().get_by_index(0).unwrap().name(), "in(c1,c2)");
    let rows = s.execute_unpaged(&p, (vec![(1, 0), (0, 1), (7, 7)],)).await.unwrap().into_rows_result().unwrap();
    let got: Vec<(i32, i32, i32)> = rows.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, [(0, 1, 0), (1, 0, 0)]);
    n.stop().await;
}

#[tokio::test]
async fn multi_column_relations_cassandra_refuses() {
    let (n, s) = setup().await;
    for (w, msg) in [
        ("(k, c1) = (1, 0)", "Multi-column relations can only be applied to clustering columns but was applied to: k"),
        ("(c2, c1) = (0, 0)", "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c2, c1) = (0, 0)"),
        ("(c1, c3) = (0, 0)", "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: (c1, c3) = (0, 0)"),
        ("(c1, c1) = (0, 0)", "Column \"c1\" appeared twice in a relation: (c1, c1) = (0, 0)"),
        ("(c1, c2) = (0, 0, 1)", "Expected 2 elements in value tuple, but got 3: (0, 0, 1)"),
        ("(c1, c2) IN ((0, 0), (1))", "Expected 2 elements in value tuple, but got 1: (1)"),
        ("(c1, c2) != (0, 0)", "Unsupported \"!=\" relation: (c1, c2) != (0, 0)"),
        ("c1 = (0, 0)", "Invalid tuple type literal for c1 of type int"),
        ("(c2, c3) = (0, 0)", "PRIMARY KEY column \"c2\" cannot be restricted as preceding column \"c1\" is not restricted"),
        ("c1 > 0 AND (c2, c3) > (0, 0)", "Clustering column \"c2\" cannot be restricted (preceding column \"c1\" is restricted by a non-EQ relation)"),
        ("(c2, c3) > (0, 0) AND c1 > 0", "PRIMARY KEY column \"c2\" cannot be restricted (preceding column \"c1\" is restricted by a non-EQ relation)"),
        ("(c1, c2) > (0, 0) AND c2 < 1", "Column \"c2\" cannot be restricted by two inequalities not starting with the same column"),
        ("(c1, c2) > (0, 0) AND (c1) > (1)", "More than one restriction was found for the start bound on c1"),
        ("(c1, c2) > (0, 0) AND (c1, c2) = (1, 1)", "Column \"c1\" cannot be restricted by an equality relation and an inequality relation"),
        ("c1 > 0 AND (c1, c2) = (1, 1)", "Column \"c1\" cannot be restricted by both an equality and an inequality relation"),
        ("(c1, c2) = (0, 0) AND c1 = 1", "c1 cannot be restricted by more than one relation if it includes an Equal"),
        ("c1 IN (0, 1) AND (c1, c2) = (0, 0)", "c1 cannot be restricted by more than one relation if it includes a IN"),
    ] {
        let q = format!("SELECT * FROM t WHERE k = 1 AND {w}");
        assert_eq!(refused(&s, &q).await, (DbError::Invalid, msg.to_owned()), "{q}");
    }
    n.stop().await;
}
