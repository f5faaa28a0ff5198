//! Atomicity of refusal, as a property: random sequences of valid and invalid writes (alone,
//! in BEGIN BATCH texts and in protocol BATCH messages) through the scylla driver; after every
//! statement the node refused, every table reads exactly as before it, and the node reopened
//! on its data directory holds exactly what it held (so no refused write reached the journal).

use crate::support;

use std::fmt::Write as _;
use std::path::Path;

use cql_node::engine::{Engine, EngineConfig};
use cql_node::server::Node;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use scylla::value::Row;

/// Whether Cassandra accepts a statement whatever the state, refuses it whatever the state,
/// or decides on the current state (a list index).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Valid,
    Invalid,
    Depends,
}

#[derive(Debug, Clone)]
struct Stmt {
    text: String,
    verdict: Verdict,
    counter: bool,
}

#[derive(Debug, Clone)]
enum Op {
    One(Stmt),
    TextBatch(Vec<Stmt>),
    ProtocolBatch(Vec<Stmt>),
}

fn stmt(text: String, verdict: Verdict) -> Stmt {
    Stmt { text, verdict, counter: false }
}

fn regular() -> impl Strategy<Value = Stmt> {
    let k = 0..3i32;
    let c = 0..3i32;
    let v = -5..50i32;
    let i = 0..3i32;
    prop_oneof![
        (k.clone(), c.clone(), v.clone()).prop_map(|(k, c, v)| stmt(format!("INSERT INTO t (k, c, v) VALUES ({k}, {c}, {v})"), Verdict::Valid)),
        (k.clone(), c.clone(), v.clone()).prop_map(|(k, c, v)| stmt(format!("INSERT INTO t (k, c, v) VALUES ({k}, {c}, {v}) USING TTL 1000"), Verdict::Valid)),
        (k.clone(), c.clone(), v.clone()).prop_map(|(k, c, v)| stmt(format!("UPDATE t SET v = {v}, l = l + [{v}] WHERE k = {k} AND c = {c}"), Verdict::Valid)),
        (k.clone(), v.clone()).prop_map(|(k, v)| stmt(format!("UPDATE t SET s = {v} WHERE k = {k}"), Verdict::Valid)),
        (k.clone(), v.clone()).prop_map(|(k, v)| stmt(format!("INSERT INTO t (k, s) VALUES ({k}, {v})"), Verdict::Valid)),
        (k.clone(), c.clone(), v.clone()).prop_map(|(k, c, v)| stmt(format!("UPDATE t SET m[{v}] = 'x', l = [{v}] + l WHERE k = {k} AND c IN ({c}, 2)"), Verdict::Valid)),
        (k.clone(), c.clone()).prop_map(|(k, c)| stmt(format!("DELETE FROM t WHERE k = {k} AND c = {c}"), Verdict::Valid)),
        // The list may be missing or shorter on one of the rows: Cassandra refuses the whole
        // statement then, including its other row and its other column.
        (k.clone(), c.clone(), i.clone(), v.clone())
            .prop_map(|(k, c, i, v)| stmt(format!("UPDATE t SET v = {v}, l[{i}] = {v} WHERE k = {k} AND c IN ({c}, 1)"), Verdict::Depends)),
        (k.clone(), c.clone(), i).prop_map(|(k, c, i)| stmt(format!("DELETE v, l[{i}] FROM t WHERE k = {k} AND c IN (0, {c})"), Verdict::Depends)),
        (k.clone(), c.clone(), v.clone()).prop_map(|(k, c, v)| stmt(format!("INSERT INTO t (k, c, v) VALUES ({k}, {c}, {v}) USING TTL -5"), Verdict::Invalid)),
        (k.clone(), c.clone()).prop_map(|(k, c)| stmt(format!("UPDATE t USING TTL 700000000 SET v = 1 WHERE k = {k} AND c = {c}"), Verdict::Invalid)),
        (k.clone(), c.clone()).prop_map(|(k, c)| stmt(format!("UPDATE t SET v = 3, l[100] = 1 WHERE k = {k} AND c IN ({c}, 0)"), Verdict::Invalid)),
        (k.clone(), c.clone()).prop_map(|(k, c)| stmt(format!("INSERT INTO t (k, c, v) VALUES ({k}, {c}, 'text')"), Verdict::Invalid)),
        k.prop_map(|k| stmt(format!("UPDATE t SET v = 1 WHERE k = {k}"), Verdict::Invalid)),
        v.prop_map(|v| stmt(format!("INSERT INTO t (k, c, v) VALUES (1, 1, {v}) USING TIMESTAMP -9223372036854775808"), Verdict::Invalid)),
    ]
}

fn counter() -> impl Strategy<Value = Stmt> {
    let s = prop_oneof![
        (0..3i32, -5..5i64).prop_map(|(k, d)| stmt(format!("UPDATE cn SET n = n + {d} WHERE k = {k}"), Verdict::Valid)),
        (0..3i32, -5..5i64).prop_map(|(k, d)| stmt(format!("UPDATE cn SET n = n - {d} WHERE k IN ({k}, 2)"), Verdict::Valid)),
        (0..3i32).prop_map(|k| stmt(format!("UPDATE cn SET n = n + null WHERE k IN (2, {k})"), Verdict::Invalid)),
        (0..3i32).prop_map(|k| stmt(format!("UPDATE cn USING TTL 10 SET n = n + 1 WHERE k = {k}"), Verdict::Invalid)),
    ];
    s.prop_map(|s| Stmt { counter: true, ..s })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => regular().prop_map(Op::One),
        1 => counter().prop_map(Op::One),
        2 => prop::collection::vec(regular(), 1..5).prop_map(Op::TextBatch),
        1 => prop::collection::vec(counter(), 1..4).prop_map(Op::TextBatch),
        2 => prop::collection::vec(regular(), 1..5).prop_map(Op::ProtocolBatch),
        1 => prop::collection::vec(counter(), 1..4).prop_map(Op::ProtocolBatch),
    ]
}

fn verdict(stmts: &[Stmt]) -> Verdict {
    if stmts.iter().any(|s| s.verdict == Verdict::Invalid) {
        Verdict::Invalid
    } else if stmts.iter().any(|s| s.verdict == Verdict::Depends) {
        Verdict::Depends
    } else {
        Verdict::Valid
    }
}

/// Everything the tables hold, write times and TTLs included, as comparable text.
async fn snapshot(session: &Session) -> String {
    let mut out = String::new();
    for q in [
        "SELECT k, c, v, s, l, m, writetime(v), writetime(s), ttl(v) FROM t",
        "SELECT k, n FROM cn",
    ] {
        let rows = session.query_unpaged(q, ()).await.expect("snapshot read").into_rows_result().expect("rows");
        for r in rows.rows::<Row>().expect("typed rows") {
            // TTLs count down between reads; whether one is set is what a trace would change.
            let mut r = r.expect("row");
            if let Some(ttl) = r.columns.get_mut(8) {
                *ttl = ttl.take().map(|_| scylla::value::CqlValue::Int(1));
            }
            let _ = writeln!(out, "{:?}", r.columns);
        }
    }
    out
}

async fn run(session: &Session, op: &Op) -> (Verdict, Result<(), String>) {
    match op {
        Op::One(s) => (s.verdict, session.query_unpaged(s.text.as_str(), ()).await.map(|_| ()).map_err(|e| e.to_string())),
        Op::TextBatch(stmts) => {
            let kind = if stmts[0].counter { "COUNTER " } else { "" };
            let mut text = format!("BEGIN {kind}BATCH ");
            for s in stmts {
                text.push_str(&s.text);
                text.push_str("; ");
            }
            text.push_str("APPLY BATCH");
            (verdict(stmts), session.query_unpaged(text, ()).await.map(|_| ()).map_err(|e| e.to_string()))
        }
        Op::ProtocolBatch(stmts) => {
            let mut batch = Batch::new(if stmts[0].counter { BatchType::Counter } else { BatchType::Logged });
            for s in stmts {
                batch.append_statement(s.text.as_str());
            }
            let values = vec![(); stmts.len()];
            (verdict(stmts), session.batch(&batch, values).await.map(|_| ()).map_err(|e| e.to_string()))
        }
    }
}

async fn start(dir: &Path) -> (Node, Session) {
    let engine = Engine::open(EngineConfig { data_dir: Some(dir.to_path_buf()), ..Default::default() }).expect("engine opens its data directory");
    let node = Node::builder().engine(engine).start().await.expect("node starts");
    let session = support::session(node.addr()).await;
    session.use_keyspace("a", false).await.expect("use");
    (node, session)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_statement_or_batch_leaves_no_trace() {
    let dir = std::env::temp_dir().join(format!("cql-node-atomic-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let engine = Engine::open(EngineConfig { data_dir: Some(dir.clone()), ..Default::default() }).expect("engine opens");
    let node = Node::builder().engine(engine).start().await.expect("node starts");
    let session = support::session(node.addr()).await;
    support::keyspace(&session, "a").await;
    session.use_keyspace("a", false).await.expect("use");
    for ddl in [
        "CREATE TABLE t (k int, c int, v int, s int static, l list<int>, m map<int, text>, PRIMARY KEY (k, c))",
        "CREATE TABLE cn (k int PRIMARY KEY, n counter)",
    ] {
        session.query_unpaged(ddl, ()).await.expect("create table");
    }

    let handle = tokio::runtime::Handle::current();
    // TestRunner takes a Fn: the tallies are cells.
    let refused = std::cell::Cell::new(0usize);
    let accepted = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(Config {
        cases: 40,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = prop::collection::vec(op(), 1..10);
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |ops| {
            handle.block_on(async {
                for t in ["TRUNCATE t", "TRUNCATE cn"] {
                    session.query_unpaged(t, ()).await.expect("truncate");
                }
                for op in &ops {
                    let before = snapshot(&session).await;
                    let (expected, outcome) = run(&session, op).await;
                    match (&outcome, expected) {
                        (Ok(()), Verdict::Invalid) => return Err(TestCaseError::fail(format!("accepted what Cassandra refuses: {op:?}"))),
                        (Err(e), Verdict::Valid) => return Err(TestCaseError::fail(format!("refused a valid write {op:?}: {e}"))),
                        _ => {}
                    }
                    if outcome.is_err() {
                        refused.set(refused.get() + 1);
                        let after = snapshot(&session).await;
                        prop_assert_eq!(&before, &after, "a refused write left a trace: {:?}: {:?}", op, outcome);
                    } else {
                        accepted.set(accepted.get() + 1);
                    }
                }
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (refused, accepted) = (refused.get(), accepted.get());
    assert!(refused > 0 && accepted > 0, "the generator exercised both outcomes ({refused} refused, {accepted} accepted)");

    // What the journal holds is what was acknowledged: reopened, the node reads the same.
    let last = snapshot(&session).await;
    drop(session);
    node.stop().await;
    let (node, session) = start(&dir).await;
    assert_eq!(snapshot(&session).await, last, "the data directory holds exactly the accepted writes");
    drop(session);
    node.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
