//! Client-observable semantics: last write wins, row liveness, TTL, LWT, paging, ordering,
//! counters, collections, batches.

use bytes::Bytes;

use super::tests::{H, ints, params};
use super::*;
use crate::error::ErrorKind;

fn i(v: i32) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&v.to_be_bytes()))
}
fn t(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}
fn b(v: bool) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&[v as u8]))
}
fn names(r: &Rows) -> Vec<&str> {
    r.columns.iter().map(|c| c.name.as_str()).collect()
}

fn h() -> H {
    let mut h = H::new();
    h.setup();
    h
}

#[test]
fn last_write_wins_by_timestamp() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    h.ok("INSERT INTO t (k, v) VALUES (1, 10) USING TIMESTAMP 100");
    h.ok("INSERT INTO t (k, v) VALUES (1, 5) USING TIMESTAMP 50");
    assert_eq!(h.rows("SELECT v FROM t WHERE k = 1").rows, vec![vec![i(10)]]);
    h.ok("UPDATE t USING TIMESTAMP 200 SET v = 20 WHERE k = 1");
    assert_eq!(
        h.rows("SELECT v, writetime(v) FROM t WHERE k = 1").rows,
        vec![vec![i(20), Some(Bytes::copy_from_slice(&200i64.to_be_bytes()))]]
    );
    // A delete older than the data does not remove it; a newer one does.
    h.ok("DELETE FROM t USING TIMESTAMP 150 WHERE k = 1");
    assert_eq!(h.rows("SELECT v FROM t WHERE k = 1").rows.len(), 1);
    h.ok("DELETE FROM t USING TIMESTAMP 300 WHERE k = 1");
    assert_eq!(h.rows("SELECT v FROM t WHERE k = 1").rows.len(), 0);
    // A write older than the tombstone stays shadowed.
    h.ok("INSERT INTO t (k, v) VALUES (1, 7) USING TIMESTAMP 250");
    assert_eq!(h.rows("SELECT v FROM t WHERE k = 1").rows.len(), 0);
    // Protocol-level timestamps are honoured too.
    let mut p = params(vec![]);
    p.timestamp = Some(400);
    h.run_p("INSERT INTO t (k, v) VALUES (1, 8)", &p).unwrap();
    assert_eq!(h.rows("SELECT v FROM t WHERE k = 1").rows, vec![vec![i(8)]]);
}

#[test]
fn row_liveness_follows_the_insert_marker() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    h.ok("INSERT INTO t (k, v) VALUES (1, 1)");
    h.ok("UPDATE t SET v = 2 WHERE k = 2");
    h.ok("DELETE v FROM t WHERE k = 1");
    h.ok("DELETE v FROM t WHERE k = 2");
    let r = h.rows("SELECT k, v FROM t");
    assert_eq!(
        r.rows,
        vec![vec![i(1), None]],
        "the INSERTed row survives with null v; the UPDATEd one is gone"
    );
}

#[test]
fn ttl_expires_cells_and_reports_remaining() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int, w int)");
    h.ok("INSERT INTO t (k, v, w) VALUES (1, 1, 1) USING TTL 1000");
    let r = h.rows("SELECT ttl(v) FROM t WHERE k = 1");
    let ttl = i32::from_be_bytes(r.rows[0][0].clone().unwrap()[..].try_into().unwrap());
    assert!((990..=1000).contains(&ttl), "{ttl}");
    // Expiry is computed against the clock at read time: write one already in the past.
    {
        let mut st = h.e.inner_state_for_tests();
        for td in st.data.values_mut() {
            for p in td.partitions.values_mut() {
                for row in p.rows.iter_mut() {
                    row.update(|row| {
                        if let Some(m) = row.marker.as_mut() {
                            m.expire = 1;
                        }
                        for c in row.cells.iter_mut().flatten() {
                            c.expire = 1;
                        }
                    });
                }
            }
        }
    }
    assert_eq!(h.rows("SELECT * FROM t").rows.len(), 0);
    assert_eq!(h.err("INSERT INTO t (k, v) VALUES (1, 1) USING TTL -1").kind, ErrorKind::Invalid);
    h.ok("CREATE TABLE d (k int PRIMARY KEY, v int) WITH default_time_to_live = 500");
    h.ok("INSERT INTO d (k, v) VALUES (1, 1)");
    let r = h.rows("SELECT ttl(v) FROM d WHERE k = 1");
    assert!(r.rows[0][0].is_some());
}

#[test]
fn lwt_insert_update_delete() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int, w text)");
    let r = h.rows("INSERT INTO t (k, v, w) VALUES (1, 1, 'a') IF NOT EXISTS");
    assert_eq!(names(&r), ["[applied]"]);
    assert_eq!(r.rows, vec![vec![b(true)]]);
    let r = h.rows("INSERT INTO t (k, v, w) VALUES (1, 2, 'b') IF NOT EXISTS");
    assert_eq!(names(&r), ["[applied]", "k", "v", "w"]);
    assert_eq!(r.rows, vec![vec![b(false), i(1), i(1), t("a")]]);
    let r = h.rows("UPDATE t SET v = 3 WHERE k = 1 IF v = 2");
    assert_eq!(names(&r), ["[applied]", "v"]);
    assert_eq!(r.rows, vec![vec![b(false), i(1)]]);
    let r = h.rows("UPDATE t SET v = 3 WHERE k = 1 IF v = 1 AND w = 'a'");
    assert_eq!(r.rows, vec![vec![b(true)]]);
    let r = h.rows("UPDATE t SET v = 4 WHERE k = 9 IF EXISTS");
    assert_eq!(r.rows, vec![vec![b(false)]]);
    assert_eq!(h.rows("SELECT * FROM t WHERE k = 9").rows.len(), 0);
    let r = h.rows("DELETE FROM t WHERE k = 1 IF v > 10");
    assert_eq!(r.rows, vec![vec![b(false), i(3)]]);
    let r = h.rows("DELETE FROM t WHERE k = 1 IF EXISTS");
    assert_eq!(r.rows, vec![vec![b(true)]]);
    assert_eq!(h.rows("SELECT * FROM t").rows.len(), 0);
    let p = h.e.prepare("UPDATE t SET v = ? WHERE k = ? IF v = ?", Some("ks")).unwrap();
    assert!(p.is_lwt);
}

#[test]
fn lwt_is_linearizable_under_concurrency() {
    let h = h();
    let mut h = h;
    h.ok("CREATE TABLE c (k int PRIMARY KEY, v int)");
    h.ok("INSERT INTO c (k, v) VALUES (1, 0)");
    let engine = h.e.clone();
    let node = h.node.clone();
    // Each thread does compare-and-set increments; every applied CAS must be unique.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let e = engine.clone();
            let node = node.clone();
            std::thread::spawn(move || {
                let ctx = ExecContext {
                    keyspace: Some("ks"),
                    node: &node,
                    copies: None,
                };
                let sel = e.prepare("SELECT v FROM c WHERE k = 1", Some("ks")).unwrap();
                let cas = e.prepare("UPDATE c SET v = ? WHERE k = 1 IF v = ?", Some("ks")).unwrap();
                let mut applied = 0;
                for _ in 0..200 {
                    let Outcome::Rows(r) = e.execute(&ctx, &sel, &params(vec![])).unwrap() else {
                        panic!()
                    };
                    let cur = i32::from_be_bytes(r.rows[0][0].clone().unwrap()[..].try_into().unwrap());
                    let vals = vec![
                        BoundValue::Bytes(Bytes::copy_from_slice(&(cur + 1).to_be_bytes())),
                        BoundValue::Bytes(Bytes::copy_from_slice(&cur.to_be_bytes())),
                    ];
                    let Outcome::Rows(r) = e.execute(&ctx, &cas, &params(vals)).unwrap() else {
                        panic!()
                    };
                    if r.rows[0][0].as_deref() == Some(&[1u8][..]) {
                        applied += 1;
                    }
                }
                applied
            })
        })
        .collect();
    let total: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let r = h.rows("SELECT v FROM c WHERE k = 1");
    assert_eq!(ints(&r, 0), vec![total], "every applied CAS incremented exactly once");
}

#[test]
fn clustering_order_slices_and_order_by() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int, c int, d text, v int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC)");
    for c in 0..5 {
        for d in ["a", "b"] {
            h.ok(&format!("INSERT INTO t (k, c, d, v) VALUES (1, {c}, '{d}', {})", c * 10));
        }
    }
    let r = h.rows("SELECT c FROM t WHERE k = 1");
    assert_eq!(ints(&r, 0), vec![4, 4, 3, 3, 2, 2, 1, 1, 0, 0]);
    let r = h.rows("SELECT c, d FROM t WHERE k = 1 AND c >= 1 AND c < 3");
    assert_eq!(ints(&r, 0), vec![2, 2, 1, 1]);
    let r = h.rows("SELECT c FROM t WHERE k = 1 AND c = 3 AND d > 'a'");
    assert_eq!(ints(&r, 0), vec![3]);
    let r = h.rows("SELECT c FROM t WHERE k = 1 ORDER BY c ASC LIMIT 3");
    assert_eq!(ints(&r, 0), vec![0, 0, 1]);
    for k in [2, 3] {
        h.ok(&format!("INSERT INTO t (k, c, d, v) VALUES ({k}, {k}, 'z', 0)"));
    }
    let r = h.rows("SELECT c FROM t WHERE k IN (1, 2, 3) ORDER BY c ASC LIMIT 5");
    assert_eq!(ints(&r, 0), vec![0, 0, 1, 1, 2], "rows of IN partitions merge in ORDER BY order");
    let mut p = params(vec![]);
    p.page_size = Some(100);
    let e = h.run_p("SELECT c FROM t WHERE k IN (1, 2) ORDER BY c ASC", &p).unwrap_err();
    assert!(
        e.message.starts_with("Cannot page queries with both ORDER BY and a IN restriction"),
        "{}",
        e.message
    );
    assert!(h.run_p("SELECT c FROM t WHERE k IN (1) ORDER BY c ASC", &p).is_err(), "any IN counts, as in Cassandra");
    let r = match h.run_p("SELECT c FROM t WHERE k IN (1, 2) ORDER BY c ASC LIMIT 3", &p).unwrap() {
        Outcome::Rows(r) => r,
        o => panic!("{o:?}"),
    };
    assert_eq!(ints(&r, 0), vec![0, 0, 1], "a LIMIT within one page needs no paging");
    h.ok("DELETE FROM t WHERE k IN (2, 3)");
    let r = h.rows("SELECT c FROM t WHERE k = 1 AND c IN (0, 4)");
    assert_eq!(ints(&r, 0), vec![4, 4, 0, 0]);
    let r = h.rows("SELECT COUNT(*) FROM t WHERE k = 1");
    assert_eq!(names(&r), ["count"]);
    assert_eq!(r.rows[0][0], Some(Bytes::copy_from_slice(&10i64.to_be_bytes())));
    let r = h.rows("SELECT COUNT(*), COUNT(v), min(v), max(v), sum(v), avg(v) FROM t WHERE k = 1");
    assert_eq!(
        names(&r),
        [
            "count",
            "system.count(v)",
            "system.min(v)",
            "system.max(v)",
            "system.sum(v)",
            "system.avg(v)"
        ]
    );
    let l = |v: i64| Some(Bytes::copy_from_slice(&v.to_be_bytes()));
    assert_eq!(r.rows, vec![vec![l(10), l(10), i(0), i(40), i(200), i(20)]]);
    let r = h.rows("SELECT COUNT(*), min(v), sum(v) FROM t WHERE k = 99");
    assert_eq!(r.rows, vec![vec![l(0), None, i(0)]]);
    let r = h.rows("SELECT COUNT(*) FROM t WHERE k = 1 LIMIT 3");
    assert_eq!(
        r.rows[0][0],
        Some(Bytes::copy_from_slice(&10i64.to_be_bytes())),
        "LIMIT applies to the one result row"
    );
    let r = h.rows("SELECT c FROM t WHERE k = 1 AND (c, d) > (3, 'a')");
    assert_eq!(ints(&r, 0), vec![4, 4, 3]);
    assert_eq!(h.err("SELECT c FROM t WHERE k = 1 AND d = 'a'").kind, ErrorKind::Invalid);
    // Range deletion of a clustering slice.
    h.ok("DELETE FROM t WHERE k = 1 AND c > 2");
    let r = h.rows("SELECT c FROM t WHERE k = 1");
    assert_eq!(ints(&r, 0), vec![2, 2, 1, 1, 0, 0]);
}

#[test]
fn partition_key_in_and_token_ranges() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    for k in 0..20 {
        h.ok(&format!("INSERT INTO t (k, v) VALUES ({k}, {k})"));
    }
    let r = h.rows("SELECT k FROM t WHERE k IN (3, 1, 2, 3)");
    assert_eq!(ints(&r, 0), vec![1, 2, 3], "IN answers in key order, without duplicates");
    let mut got = Vec::new();
    let mut state = None;
    loop {
        let r = page(&mut h, "SELECT k FROM t WHERE k IN (9, 4, 7, 5, 6)", 2, state);
        got.extend(ints(&r, 0));
        state = r.paging_state;
        if state.is_none() {
            break;
        }
    }
    assert_eq!(got, vec![4, 5, 6, 7, 9]);
    let all = h.rows("SELECT k, token(k) FROM t");
    let toks: Vec<i64> = all
        .rows
        .iter()
        .map(|r| i64::from_be_bytes(r[1].clone().unwrap()[..].try_into().unwrap()))
        .collect();
    let mut sorted = toks.clone();
    sorted.sort();
    assert_eq!(toks, sorted, "full scans are in token order");
    let mid = toks[10];
    let r = h.rows(&format!("SELECT k FROM t WHERE token(k) > {mid}"));
    assert_eq!(r.rows.len(), 9);
    let r = h.rows(&format!("SELECT k FROM t WHERE token(k) > {} AND token(k) <= {mid}", toks[2]));
    assert_eq!(r.rows.len(), 8);
    let r = h.rows("SELECT k FROM t WHERE v > 15 ALLOW FILTERING");
    assert_eq!(r.rows.len(), 4);
    let r = h.rows("SELECT k FROM t LIMIT 5");
    assert_eq!(r.rows.len(), 5);
}

fn page(h: &mut H, q: &str, size: i32, state: Option<Bytes>) -> Rows {
    let mut p = params(vec![]);
    p.page_size = Some(size);
    p.paging_state = state;
    match h.run_p(q, &p).unwrap() {
        Outcome::Rows(r) => r,
        o => panic!("{o:?}"),
    }
}

#[test]
fn paging_resumes_exactly_with_writes_between_pages() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))");
    for k in 0..5 {
        for c in 0..10 {
            h.ok(&format!("INSERT INTO t (k, c, v) VALUES ({k}, {c}, 0)"));
        }
    }
    let full = h.rows("SELECT k, c FROM t");
    assert_eq!(full.rows.len(), 50);
    let mut seen = Vec::new();
    let mut state = None;
    let mut pages = 0;
    loop {
        let r = page(&mut h, "SELECT k, c FROM t", 7, state.clone());
        pages += 1;
        assert!(r.rows.len() <= 7);
        seen.extend(r.rows.clone());
        if pages == 2 {
            // One row behind the cursor (c = -1 sorts first in the first partition) and a new
            // partition that may land before or after it in token order.
            let first_k = i32::from_be_bytes(seen[0][0].clone().unwrap()[..].try_into().unwrap());
            h.ok(&format!("INSERT INTO t (k, c, v) VALUES ({first_k}, -1, 1)"));
            h.ok("INSERT INTO t (k, c, v) VALUES (1000, 0, 1)");
        }
        match r.paging_state {
            Some(s) => state = Some(s),
            None => break,
        }
        assert!(pages < 100);
    }
    let mut dedup = seen.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), seen.len(), "no row repeated");
    let now_full = h.rows("SELECT k, c FROM t");
    for row in &full.rows {
        assert!(seen.contains(row), "missing {row:?}");
    }
    assert!(
        !seen.iter().any(|r| r[1] == i(-1)),
        "a row written behind the cursor is not returned"
    );
    let pos = |row: &Vec<Option<Bytes>>| now_full.rows.iter().position(|r| r == row).unwrap();
    let cursor = pos(&seen[13]);
    let new_part = now_full.rows.iter().position(|r| r[0] == i(1000)).unwrap();
    assert_eq!(
        seen.iter().any(|r| r[0] == i(1000)),
        new_part > cursor,
        "a row ahead of the cursor is returned"
    );
    // LIMIT carries across pages.
    let r1 = page(&mut h, "SELECT k, c FROM t LIMIT 10", 6, None);
    assert_eq!(r1.rows.len(), 6);
    let r2 = page(&mut h, "SELECT k, c FROM t LIMIT 10", 6, r1.paging_state.clone());
    assert_eq!(r2.rows.len(), 4);
    assert!(r2.paging_state.is_none());
    // Single-partition paging, reversed.
    let mut state = None;
    let mut cs = Vec::new();
    loop {
        let r = page(&mut h, "SELECT c FROM t WHERE k = 3 ORDER BY c DESC", 4, state);
        cs.extend(ints(&r, 0));
        state = r.paging_state;
        if state.is_none() {
            break;
        }
    }
    assert_eq!(cs, (0..10).rev().collect::<Vec<_>>());
    let mut p = params(vec![]);
    p.page_size = Some(5);
    p.paging_state = Some(Bytes::from_static(b"garbage"));
    let e = h.run_p("SELECT * FROM t", &p).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ProtocolError);
}

#[test]
fn counters_and_collections() {
    let mut h = h();
    h.ok("CREATE TABLE c (k int PRIMARY KEY, n counter)");
    h.ok("UPDATE c SET n = n + 5 WHERE k = 1");
    h.ok("UPDATE c SET n = n - 2 WHERE k = 1");
    assert_eq!(
        h.rows("SELECT n FROM c WHERE k = 1").rows[0][0],
        Some(Bytes::copy_from_slice(&3i64.to_be_bytes()))
    );
    assert_eq!(h.err("INSERT INTO c (k, n) VALUES (1, 1)").kind, ErrorKind::Invalid);
    assert_eq!(h.err("UPDATE c SET n = 1 WHERE k = 1").kind, ErrorKind::Invalid);
    h.ok("CREATE TABLE t (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>)");
    h.ok("INSERT INTO t (k, l, s, m) VALUES (1, [1, 2], {'b', 'a', 'b'}, {'x': 1})");
    h.ok("UPDATE t SET l = l + [3], l = [0] + l, s = s + {'c'}, m['y'] = 2 WHERE k = 1");
    h.ok("UPDATE t SET s = s - {'a'}, m = m - {'x'} WHERE k = 1");
    let r = h.rows("SELECT l, s, m FROM t WHERE k = 1");
    let l = value::decode_collection(r.rows[0][0].as_ref().unwrap()).unwrap();
    assert_eq!(
        l.iter()
            .map(|x| i32::from_be_bytes(x.clone().unwrap()[..].try_into().unwrap()))
            .collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    let s = value::decode_collection(r.rows[0][1].as_ref().unwrap()).unwrap();
    assert_eq!(s, vec![t("b"), t("c")]);
    let m = value::decode_map(r.rows[0][2].as_ref().unwrap()).unwrap();
    assert_eq!(m, vec![(Bytes::from_static(b"y"), i(2))]);
    h.ok("DELETE m['y'] FROM t WHERE k = 1");
    assert_eq!(h.rows("SELECT m FROM t WHERE k = 1").rows[0][0], None);
    assert_eq!(h.err("UPDATE t SET l[10] = 1 WHERE k = 1").kind, ErrorKind::Invalid);
}

#[test]
fn batches_apply_atomically_and_validate() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))");
    h.ok("CREATE TABLE n (k int PRIMARY KEY, x counter)");
    h.ok("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 1, 1); INSERT INTO t (k, c, v) VALUES (2, 1, 1); UPDATE t SET v = 5 WHERE k = 1 AND c = 2; APPLY BATCH");
    assert_eq!(h.rows("SELECT * FROM t").rows.len(), 3);
    let r = h.rows("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 9, 1) IF NOT EXISTS; UPDATE t SET v = 2 WHERE k = 1 AND c = 1 IF v = 1; APPLY BATCH");
    assert_eq!(r.rows[0][0], b(true));
    let r = h.rows("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 8, 1); UPDATE t SET v = 3 WHERE k = 1 AND c = 1 IF v = 1; APPLY BATCH");
    assert_eq!(names(&r), ["[applied]", "k", "c", "v"], "batch failures name the primary key");
    assert_eq!(r.rows, vec![vec![b(false), i(1), i(1), i(2)]]);
    assert_eq!(h.rows("SELECT * FROM t WHERE k = 1 AND c = 8").rows.len(), 0, "nothing applied");
    assert_eq!(
        h.err("BEGIN BATCH INSERT INTO t (k, c, v) VALUES (1, 8, 1) IF NOT EXISTS; INSERT INTO t (k, c, v) VALUES (2, 8, 1); APPLY BATCH")
            .kind,
        ErrorKind::Invalid
    );
    assert_eq!(
        h.err("BEGIN BATCH UPDATE n SET x = x + 1 WHERE k = 1; APPLY BATCH").kind,
        ErrorKind::Invalid
    );
    assert_eq!(
        h.err("BEGIN BATCH USING TIMESTAMP 5 INSERT INTO t (k, c, v) VALUES (1, 1, 1) USING TIMESTAMP 6; APPLY BATCH").message,
        "Timestamp must be set either on BATCH or individual statements"
    );
    h.ok("BEGIN COUNTER BATCH UPDATE n SET x = x + 1 WHERE k = 1; UPDATE n SET x = x + 1 WHERE k = 1; APPLY BATCH");
    assert_eq!(
        h.rows("SELECT x FROM n WHERE k = 1").rows[0][0],
        Some(Bytes::copy_from_slice(&2i64.to_be_bytes()))
    );
    // Protocol BATCH with prepared statements.
    let ins = h.e.prepare("INSERT INTO t (k, c, v) VALUES (?, ?, ?)", Some("ks")).unwrap();
    let v = |x: i32| BoundValue::Bytes(Bytes::copy_from_slice(&x.to_be_bytes()));
    let req = BatchRequest {
        batch_type: BatchType::Logged,
        statements: vec![
            (ins.clone(), BoundValues::Positional(vec![v(7), v(1), v(1)])),
            (ins, BoundValues::Positional(vec![v(7), v(2), v(2)])),
        ],
        consistency: crate::types::Consistency::One,
        serial_consistency: None,
        timestamp: None,
    };
    let ctx = ExecContext {
        keyspace: Some("ks"),
        node: &h.node,
        copies: None,
    };
    assert!(matches!(h.e.batch(&ctx, &req).unwrap(), Outcome::Void));
    assert_eq!(h.rows("SELECT * FROM t WHERE k = 7").rows.len(), 2);
}

#[test]
fn ddl_lifecycle_and_schema_events() {
    let mut h = H::new();
    let mut events = h.e.schema_events();
    h.ok("CREATE KEYSPACE k2 WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = false");
    let ev = events.try_recv().unwrap();
    assert_eq!(
        ev,
        SchemaChange {
            change: ChangeType::Created,
            target: SchemaTarget::Keyspace("k2".into())
        }
    );
    h.ok("CREATE KEYSPACE IF NOT EXISTS k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    assert!(events.try_recv().is_err(), "no event for a no-op");
    let r = h.rows("SELECT replication, durable_writes FROM system_schema.keyspaces WHERE keyspace_name = 'k2'");
    let m = value::decode_map(r.rows[0][0].as_ref().unwrap()).unwrap();
    assert_eq!(
        m[0],
        (
            Bytes::from_static(b"class"),
            t("org.apache.cassandra.locator.NetworkTopologyStrategy")
        )
    );
    assert_eq!(m[1], (Bytes::from_static(b"dc1"), t("3")));
    assert_eq!(r.rows[0][1], b(false));
    h.ok("CREATE TABLE k2.t (k int PRIMARY KEY, v int)");
    assert!(matches!(events.try_recv().unwrap().target, SchemaTarget::Table { .. }));
    let ins = h.e.prepare("INSERT INTO k2.t (k, v) VALUES (1, 1)", None).unwrap();
    h.ok("INSERT INTO k2.t (k, v) VALUES (1, 1)");
    h.ok("TRUNCATE k2.t");
    assert_eq!(h.rows("SELECT * FROM k2.t").rows.len(), 0);
    h.ok("DROP TABLE k2.t");
    assert_eq!(h.err("SELECT * FROM k2.t").message, "unconfigured table t");
    let node = h.node.clone();
    let ctx = ExecContext {
        keyspace: None,
        node: &node,
        copies: None,
    };
    assert_eq!(
        h.e.execute(&ctx, &ins, &params(vec![])).unwrap_err().message,
        "unconfigured table t"
    );
    h.ok("CREATE TABLE k2.t (k int PRIMARY KEY, v int)");
    // A statement prepared before the table was re-created runs against the new one.
    h.e.execute(&ctx, &ins, &params(vec![])).unwrap();
    assert_eq!(h.rows("SELECT * FROM k2.t").rows.len(), 1);
    h.ok("DROP KEYSPACE k2");
    assert_eq!(h.err("USE k2").kind, ErrorKind::Invalid);
    assert!(matches!(h.ok("DROP KEYSPACE IF EXISTS k2"), Outcome::Void));
    assert_eq!(
        h.err("CREATE KEYSPACE x WITH replication = {'class': 'SimpleStrategy'}").kind,
        ErrorKind::ConfigError
    );
    assert_eq!(h.err("CREATE TABLE ks9.t (k int PRIMARY KEY)").kind, ErrorKind::Invalid);
}

#[test]
fn static_columns_and_distinct() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int, c int, s text STATIC, v int, PRIMARY KEY (k, c))");
    h.ok("INSERT INTO t (k, c, s, v) VALUES (1, 1, 'x', 1)");
    h.ok("INSERT INTO t (k, c, v) VALUES (1, 2, 2)");
    h.ok("UPDATE t SET s = 'only' WHERE k = 2");
    let r = h.rows("SELECT k, c, s FROM t WHERE k = 1");
    assert_eq!(r.rows, vec![vec![i(1), i(1), t("x")], vec![i(1), i(2), t("x")]]);
    let r = h.rows("SELECT k, c, s FROM t WHERE k = 2");
    assert_eq!(r.rows, vec![vec![i(2), None, t("only")]]);
    let r = h.rows("SELECT DISTINCT k FROM t");
    assert_eq!(r.rows.len(), 2);
}

#[test]
fn random_statements_never_panic() {
    // Statement soup against a real schema: every outcome must be a result or a CQL error.
    let mut h = h();
    h.ok("CREATE TABLE t (k int, c text, s int STATIC, v int, l list<int>, m map<text, int>, PRIMARY KEY (k, c))");
    h.ok("CREATE TABLE n (k int PRIMARY KEY, x counter)");
    let parts: &[&[&str]] = &[
        &[
            "SELECT",
            "INSERT INTO",
            "UPDATE",
            "DELETE",
            "BEGIN BATCH",
            "SELECT COUNT(*)",
            "SELECT DISTINCT k",
            "SELECT token(k)",
        ],
        &[
            " * FROM t",
            " t (k, c, v) VALUES (1, 'a', 2)",
            " t SET v = 3",
            " FROM t",
            " n SET x = x + 1",
            " l FROM t",
            " t (k, c) VALUES (?, ?)",
        ],
        &[
            " WHERE k = 1",
            " WHERE k IN (1, 2)",
            " WHERE c = 'a'",
            " WHERE k = 1 AND c > 'a'",
            " WHERE token(k) > 0",
            "",
            " WHERE v = 1",
            " WHERE k = null",
        ],
        &[
            "",
            " AND c = 'a'",
            " AND v > 1",
            " IF EXISTS",
            " IF NOT EXISTS",
            " IF v = 2",
            " LIMIT 1",
            " ALLOW FILTERING",
            " ORDER BY c DESC",
            " USING TTL 5",
            " APPLY BATCH",
        ],
    ];
    let mut seed: u64 = 0x2545f4914f6cdd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let q: String = parts.iter().map(|p| p[(next() % p.len() as u64) as usize]).collect();
        let mut p = params(vec![]);
        if next() % 2 == 0 {
            p.page_size = Some((next() % 3) as i32 + 1);
        }
        let _ = h.run_p(&q, &p);
        let vals = vec![BoundValue::Bytes(Bytes::from_static(&[0, 0, 0, 1])), BoundValue::Unset];
        let _ = h.run_p(&q, &params(vals));
    }
    // The node still answers.
    assert!(h.run("SELECT * FROM t").is_ok());
}

#[test]
fn alter_table_add_drop_with() {
    let mut h = h();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, b int, d int)");
    h.ok("INSERT INTO t (k, b, d) VALUES (1, 2, 4)");
    let sel = h.e.prepare("SELECT * FROM t", Some("ks")).unwrap();
    let mut events = h.e.schema_events();
    h.ok("ALTER TABLE t ADD c text");
    assert_eq!(events.try_recv().unwrap().change, ChangeType::Updated);
    assert!(
        h.e.prepared(&sel.id).is_none(),
        "statements on the altered table must be prepared again"
    );
    h.ok("UPDATE t SET c = 'x' WHERE k = 1");
    let r = h.rows("SELECT * FROM t");
    assert_eq!(names(&r), ["k", "b", "c", "d"]);
    assert_eq!(r.rows, vec![vec![i(1), i(2), t("x"), i(4)]]);
    h.ok("ALTER TABLE t DROP b");
    assert_eq!(names(&h.rows("SELECT * FROM t")), ["k", "c", "d"]);
    h.ok("ALTER TABLE t ADD b int");
    assert_eq!(
        h.rows("SELECT b FROM t WHERE k = 1").rows,
        vec![vec![None]],
        "a re-added column starts empty"
    );
    h.ok("ALTER TABLE t WITH comment = 'hello' AND default_time_to_live = 10");
    let r = h.rows("SELECT comment, default_time_to_live FROM system_schema.tables WHERE keyspace_name = 'ks' AND table_name = 't'");
    assert_eq!(r.rows, vec![vec![t("hello"), i(10)]]);
    assert_eq!(h.err("ALTER TABLE t ADD c int").message, "Column with name 'c' already exists");
    assert_eq!(h.err("ALTER TABLE t DROP k").message, "Cannot drop PRIMARY KEY column k");
    assert_eq!(h.err("ALTER TABLE nope ADD x int").kind, ErrorKind::Invalid);
}

#[test]
fn the_store_dao_statements_work() {
    // The statements shared/store prepares, with the values it binds.
    let mut h = h();
    h.ok("CREATE TABLE IF NOT EXISTS ks.products_by_sku (sku text PRIMARY KEY, product_id uuid, committed boolean)");
    h.ok("CREATE TABLE IF NOT EXISTS ks.products (id uuid PRIMARY KEY, name text, sku text, price decimal, created_at timestamp)");
    let claim = "INSERT INTO ks.products_by_sku (sku, product_id, committed) VALUES (?, ?, false) IF NOT EXISTS USING TTL 30";
    let id = uuid::Uuid::new_v4();
    let bv = |b: &[u8]| BoundValue::Bytes(Bytes::copy_from_slice(b));
    let r = match h.run_p(claim, &params(vec![bv(b"SKU-1"), bv(id.as_bytes())])).unwrap() {
        Outcome::Rows(r) => r,
        o => panic!("{o:?}"),
    };
    assert_eq!(r.rows[0][0], b(true));
    let r = match h.run_p(claim, &params(vec![bv(b"SKU-1"), bv(uuid::Uuid::new_v4().as_bytes())])).unwrap() {
        Outcome::Rows(r) => r,
        o => panic!("{o:?}"),
    };
    assert_eq!(names(&r), ["[applied]", "sku", "committed", "product_id"]);
    assert_eq!(r.rows[0][0], b(false));
    assert_eq!(r.rows[0][3], Some(Bytes::copy_from_slice(id.as_bytes())));
    let release = "DELETE FROM ks.products_by_sku WHERE sku = ? IF product_id = ? AND committed = false";
    let r = match h.run_p(release, &params(vec![bv(b"SKU-1"), bv(id.as_bytes())])).unwrap() {
        Outcome::Rows(r) => r,
        o => panic!("{o:?}"),
    };
    assert_eq!(r.rows, vec![vec![b(true)]]);
    let price = value::decimal_from_str("19.99").unwrap();
    let ts = 1_700_000_000_000i64.to_be_bytes();
    h.run_p(
        "INSERT INTO ks.products (id, name, sku, price, created_at) VALUES (?, ?, ?, ?, ?)",
        &params(vec![bv(id.as_bytes()), bv(b"Mug"), bv(b"SKU-1"), bv(&price), bv(&ts)]),
    )
    .unwrap();
    let r = h.rows("SELECT id, name, sku, price, created_at FROM ks.products");
    assert_eq!(r.rows, vec![vec![Some(Bytes::copy_from_slice(id.as_bytes())), t("Mug"), t("SKU-1"), Some(Bytes::from(price)), Some(Bytes::copy_from_slice(&ts))]]);
}
