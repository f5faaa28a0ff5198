//! Statements Cassandra 4.1 refuses are refused with the same error class (SyntaxError where
//! its grammar, Parser.g, has no rule for them; Invalid where a cql3/statements class checks
//! them), through the scylla driver; and what it accepts at those edges is accepted.

use crate::support;

use scylla::client::session::Session;
use scylla::errors::DbError;
use support::{db_error, keyspace, node, session};

async fn setup() -> (cql_node::server::Node, Session) {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "vp").await;
    s.use_keyspace("vp", false).await.unwrap();
    for q in [
        "CREATE TABLE kv (k int PRIMARY KEY, v int)",
        "CREATE TABLE wide (k int, c int, v int, s int static, PRIMARY KEY (k, c))",
        "CREATE TABLE cn (k int PRIMARY KEY, n counter)",
    ] {
        s.query_unpaged(q, ()).await.unwrap();
    }
    (n, s)
}

/// k, c, v, s of `wide`.
type WideRow = (i32, Option<i32>, Option<i32>, Option<i32>);

async fn refused(s: &Session, q: &str) -> (DbError, String) {
    let e = s.query_unpaged(q, ()).await.expect_err(q);
    let (db, msg) = db_error(&e).unwrap_or_else(|| panic!("{q}: not a server error: {e}"));
    (db.clone(), msg.to_owned())
}

#[tokio::test]
async fn clause_orders_the_grammar_does_not_have_are_syntax_errors() {
    let (n, s) = setup().await;
    for q in [
        // normalInsertStatement: IF NOT EXISTS comes before USING.
        "INSERT INTO kv (k, v) VALUES (1, 1) USING TTL 5 IF NOT EXISTS",
        "INSERT INTO kv (k, v) VALUES (1, 1) IF EXISTS",
        // usingClauseDelete: TIMESTAMP only.
        "DELETE FROM kv USING TTL 5 WHERE k = 1",
        "DELETE FROM kv USING TIMESTAMP 5 AND TTL 3 WHERE k = 1",
        // updateStatement: USING before SET; no IF NOT EXISTS.
        "UPDATE kv SET v = 1 USING TTL 5 WHERE k = 1",
        "UPDATE kv SET v = 1 WHERE k = 1 IF NOT EXISTS",
        // batchStatement: at most one ';' after each statement, none before the first.
        "BEGIN BATCH ; INSERT INTO kv (k, v) VALUES (1, 1) APPLY BATCH",
        "BEGIN BATCH INSERT INTO kv (k, v) VALUES (1, 1);; APPLY BATCH",
        "BEGIN BATCH SELECT * FROM kv APPLY BATCH",
        // selectStatement: WHERE, GROUP BY, ORDER BY, PER PARTITION LIMIT, LIMIT, ALLOW FILTERING.
        "SELECT * FROM kv LIMIT 1 WHERE k = 1",
        "SELECT * FROM wide WHERE k = 1 LIMIT 1 ORDER BY c",
        "SELECT * FROM wide PER PARTITION LIMIT 1 ORDER BY c",
        "SELECT * FROM wide LIMIT 1 PER PARTITION LIMIT 1",
        "SELECT * FROM kv ALLOW FILTERING LIMIT 1",
    ] {
        let (e, msg) = refused(&s, q).await;
        assert_eq!(e, DbError::SyntaxError, "{q}: {msg}");
    }
    // And nothing of those was written.
    let rows = s.query_unpaged("SELECT * FROM kv", ()).await.unwrap().into_rows_result().unwrap();
    assert_eq!(rows.rows_num(), 0);
    n.stop().await;
}

#[tokio::test]
async fn what_the_statement_classes_refuse_is_invalid_with_their_message() {
    let (n, s) = setup().await;
    for (q, message) in [
        ("UPDATE kv SET k = 2 WHERE k = 1", "PRIMARY KEY part k found in SET part"),
        ("UPDATE kv SET v = 1 WHERE k = 1 IF k = 1", "PRIMARY KEY column 'k' cannot have IF conditions"),
        ("UPDATE cn SET n = n + 1 WHERE k = 1 IF n = 1", "Conditional updates are not supported on counter tables"),
        ("UPDATE cn SET n = n + 1 WHERE k = 1 IF EXISTS", "Conditional updates are not supported on counter tables"),
        ("DELETE FROM cn WHERE k = 1 IF EXISTS", "Conditional updates are not supported on counter tables"),
        (
            "UPDATE cn SET n = 1 WHERE k = 1",
            "Cannot set the value of counter column n (counters can only be incremented/decremented, not set)",
        ),
        ("INSERT INTO cn (k, n) VALUES (1, 1)", "INSERT statements are not allowed on counter tables, use UPDATE instead"),
        ("UPDATE cn USING TTL 5 SET n = n + 1 WHERE k = 1", "Cannot provide custom TTL for counter updates"),
        ("INSERT INTO kv (k, v) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5", "Cannot provide custom timestamp for conditional updates"),
        ("DELETE k FROM kv WHERE k = 1", "Invalid identifier k for deletion (should not be a PRIMARY KEY part)"),
        ("INSERT INTO wide (k, v) VALUES (1, 1)", "Some clustering keys are missing: c"),
        ("INSERT INTO wide (k) VALUES (1)", "Some clustering keys are missing: c"),
        ("BEGIN BATCH USING TTL 5 INSERT INTO kv (k, v) VALUES (1, 1) APPLY BATCH", "Global TTL on the BATCH statement is not supported."),
    ] {
        let (e, msg) = refused(&s, q).await;
        assert_eq!((e, msg.as_str()), (DbError::Invalid, message), "{q}");
    }
    n.stop().await;
}

/// INSERT of static columns alone writes the partition's static row (no clustering given).
#[tokio::test]
async fn inserting_static_columns_alone_writes_the_static_row() {
    let (n, s) = setup().await;
    s.query_unpaged("INSERT INTO wide (k, s) VALUES (1, 7)", ()).await.expect("static-only insert");
    let rows = s.query_unpaged("SELECT k, c, v, s FROM wide WHERE k = 1", ()).await.unwrap().into_rows_result().unwrap();
    let got: Vec<WideRow> = rows.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![(1, None, None, Some(7))]);
    // A clustering row joins it; the static row shows in every row of the partition.
    s.query_unpaged("INSERT INTO wide (k, c, v) VALUES (1, 1, 3)", ()).await.unwrap();
    let rows = s.query_unpaged("SELECT k, c, v, s FROM wide WHERE k = 1", ()).await.unwrap().into_rows_result().unwrap();
    let got: Vec<WideRow> = rows.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, vec![(1, Some(1), Some(3), Some(7))]);
    // IF NOT EXISTS on the static row alone.
    let r = s.query_unpaged("INSERT INTO wide (k, s) VALUES (2, 1) IF NOT EXISTS", ()).await.unwrap().into_rows_result().unwrap();
    let (applied,): (bool,) = r.first_row().unwrap();
    assert!(applied);
    // An empty batch is a no-op, as in Cassandra.
    s.query_unpaged("BEGIN BATCH APPLY BATCH", ()).await.expect("empty batch");
    n.stop().await;
}

/// The WHERE clause of UPDATE and DELETE (ModificationStatement, StatementRestrictions): no
/// token relations, no clustering slices in UPDATE nor when deleting columns, and the
/// multi-column equalities Cassandra 4.1 accepts there; SELECT DISTINCT restricted by
/// partition-key (or static) columns only.
#[tokio::test]
async fn write_where_clauses_and_distinct_restrictions_as_cassandra() {
    let (n, s) = setup().await;
    for (q, msg) in [
        ("UPDATE wide SET v = 1 WHERE token(k) = token(1) AND c = 1", "The token function cannot be used in WHERE clauses for UPDATE statements"),
        ("DELETE FROM wide WHERE token(k) = 1", "The token function cannot be used in WHERE clauses for DELETE statements"),
        ("UPDATE wide SET v = 1 WHERE k = 1 AND c > 1", "Slice restrictions are not supported on the clustering columns in UPDATE statements"),
        ("UPDATE wide SET v = 1 WHERE k = 1 AND (c) > (1)", "Slice restrictions are not supported on the clustering columns in UPDATE statements"),
        ("DELETE v FROM wide WHERE k = 1 AND c > 1", "Range deletions are not supported for specific columns"),
        ("SELECT DISTINCT k FROM wide WHERE k = 1 AND c = 1", "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns."),
        ("SELECT DISTINCT k FROM wide WHERE v = 1 ALLOW FILTERING", "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns."),
    ] {
        assert_eq!(refused(&s, q).await, (DbError::Invalid, msg.to_owned()), "{q}");
    }
    // Multi-column equality and single-column tuple IN in writes, as UpdateTest expects.
    s.query_unpaged("UPDATE wide SET v = 7 WHERE k = 1 AND (c) = (1)", ()).await.unwrap();
    s.query_unpaged("UPDATE wide SET v = 8 WHERE k = 1 AND (c) IN ((2), (3))", ()).await.unwrap();
    s.query_unpaged("DELETE FROM wide WHERE k = 1 AND (c) = (3)", ()).await.unwrap();
    let rows = s.query_unpaged("SELECT k, c, v, s FROM wide WHERE k = 1", ()).await.unwrap().into_rows_result().unwrap();
    let got: Vec<WideRow> = rows.rows().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(got, [(1, Some(1), Some(7), None), (1, Some(2), Some(8), None)]);
    // Static-only DISTINCT restrictions stay allowed.
    s.query_unpaged("SELECT DISTINCT k, s FROM wide WHERE s = 1 ALLOW FILTERING", ()).await.unwrap();
    n.stop().await;
}
