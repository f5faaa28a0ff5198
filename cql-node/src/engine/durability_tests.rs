//! Durability with a data directory: acknowledged writes survive kill -9 of the process, and
//! a torn journal tail is recovered from. The writer runs in a child process: this test
//! binary re-executes itself with an environment variable that turns the test into the
//! writer, which prints `ack N` after each acknowledged write until it is killed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;

use super::tests::{node, params};
use super::*;

const CHILD_ENV: &str = "CQL_NODE_ENGINE_DURABILITY_CHILD_DIR";
const TEST_NAME: &str = "engine::durability_tests::acknowledged_writes_survive_kill_9_and_a_torn_tail";
const WAIT: Duration = Duration::from_secs(60);

fn run(e: &Engine, q: &str) -> CqlResult<Outcome> {
    let n = node();
    let ctx = ExecContext {
        keyspace: Some("ks"),
        node: &n,
        copies: None,
    };
    let st = e.prepare(q, Some("ks"))?;
    e.execute(&ctx, &st, &params(vec![]))
}

/// The child: writes rows forever, acknowledging each on stdout.
fn writer(dir: &Path) -> ! {
    let e = Engine::open(EngineConfig {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    })
    .expect("open");
    run(
        &e,
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    )
    .expect("ks");
    run(&e, "CREATE TABLE IF NOT EXISTS ks.t (k int, c int, v text, PRIMARY KEY (k, c))").expect("table");
    let n = node();
    let ctx = ExecContext {
        keyspace: Some("ks"),
        node: &n,
        copies: None,
    };
    let ins = e.prepare("INSERT INTO ks.t (k, c, v) VALUES (?, ?, ?)", None).expect("prepare");
    let upd = e.prepare("UPDATE ks.t SET v = ? WHERE k = ? AND c = ?", None).expect("prepare");
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    let b = |x: i32| BoundValue::Bytes(Bytes::copy_from_slice(&x.to_be_bytes()));
    // Bounded, so a writer whose parent died cannot run forever.
    for i in 0i32..2_000_000 {
        let v = BoundValue::Bytes(Bytes::from(format!("v{i}")));
        e.execute(&ctx, &ins, &params(vec![b(i % 17), b(i), v])).expect("insert");
        // Overwrite an older row too, so recovery must keep the latest version.
        if i >= 10 {
            let v2 = BoundValue::Bytes(Bytes::from(format!("u{i}")));
            e.execute(&ctx, &upd, &params(vec![v2, b((i - 10) % 17), b(i - 10)]))
                .expect("update");
        }
        writeln!(out, "ack {i}").expect("stdout");
        out.flush().expect("flush");
    }
    std::process::exit(0)
}

/// Kills the writer if the test fails before it does.
struct Writer(std::process::Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn expected_value(i: i32, acked: i32) -> String {
    // Row i was updated to u{i+10} when write i+10 was acknowledged.
    if i + 10 <= acked { format!("u{}", i + 10) } else { format!("v{i}") }
}

fn read_all(dir: &Path) -> Vec<(i32, i32, String)> {
    let e = Engine::open(EngineConfig {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    })
    .expect("reopen after kill -9");
    let Outcome::Rows(r) = run(&e, "SELECT k, c, v FROM ks.t").expect("select") else {
        panic!("rows expected")
    };
    let int = |b: &Option<Bytes>| i32::from_be_bytes(b.clone().expect("value")[..].try_into().expect("int"));
    let mut rows: Vec<(i32, i32, String)> = r
        .rows
        .iter()
        .map(|row| {
            (
                int(&row[0]),
                int(&row[1]),
                String::from_utf8(row[2].clone().expect("v").to_vec()).expect("utf8"),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.1);
    rows
}

fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains("journal") || p.extension().is_some_and(|x| x == "jnl") {
                out.push(p);
            }
        }
    }
    out
}

fn kill_after(dir: &Path, acks: i32) -> i32 {
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let mut child = Writer(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("ack ").and_then(|n| n.parse::<i32>().ok())
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
    let mut last = -1;
    while last < acks {
        last = rx.recv_timeout(WAIT).expect("writer acknowledges writes");
    }
    child.0.kill().expect("SIGKILL");
    let _ = child.0.wait();
    // Acks printed before the kill landed count too: read until the pipe closes.
    while let Ok(n) = rx.recv_timeout(WAIT) {
        last = last.max(n);
    }
    last
}

#[test]
fn acknowledged_writes_survive_kill_9_and_a_torn_tail() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        writer(Path::new(&dir));
    }
    let base = std::env::temp_dir().join(format!("cql-node-durability-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    // 1. kill -9 mid-writes: every acknowledged write is there after restart.
    let acked = kill_after(&base, 300);
    let rows = read_all(&base);
    assert!(
        rows.len() as i32 > acked,
        "all {} acknowledged rows recovered, got {}",
        acked + 1,
        rows.len()
    );
    for i in 0..=acked {
        let row = &rows[i as usize];
        assert_eq!((row.0, row.1), (i % 17, i));
        // The update of row i happens with write i+10; if i+10 <= acked it must be there.
        if i + 10 <= acked {
            assert_eq!(row.2, expected_value(i, acked), "row {i}");
        }
    }
    // 2. A torn tail: cut the last bytes of the newest journal file, as a crash mid-append
    // would leave it. Opening must succeed and keep a consistent prefix of the writes.
    let acked2 = kill_after(&base, acked + 200);
    let mut files = journal_files(&base);
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let newest = files.last().expect("a journal file exists").clone();
    // The journal file is preallocated with zeros: cut inside the last record written.
    let bytes = std::fs::read(&newest).expect("journal");
    let end = bytes.iter().rposition(|b| *b != 0).expect("journal has content") + 1;
    assert!(end > 10, "journal has content");
    let f = std::fs::OpenOptions::new().write(true).open(&newest).expect("open journal");
    f.set_len(end as u64 - 7).expect("truncate");
    drop(f);
    let rows = read_all(&base);
    assert!(rows.len() as i32 > acked, "writes before the torn batch survive");
    assert!(acked2 > acked);
    for (n, row) in rows.iter().enumerate() {
        assert_eq!(row.1, n as i32, "a prefix of the writes, without holes");
    }
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn restart_keeps_schema_deletions_and_latest_versions() {
    let dir = std::env::temp_dir().join(format!("cql-node-restart-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    {
        let e = Engine::open(EngineConfig {
            data_dir: Some(dir.clone()),
            ..Default::default()
        })
        .unwrap();
        run(
            &e,
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        )
        .unwrap();
        run(
            &e,
            "CREATE TABLE ks.t (k int, c int, s int STATIC, v int, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)",
        )
        .unwrap();
        run(&e, "CREATE TABLE ks.gone (k int PRIMARY KEY)").unwrap();
        for c in 0..5 {
            run(&e, &format!("INSERT INTO ks.t (k, c, s, v) VALUES (1, {c}, 7, {c})")).unwrap();
            run(&e, &format!("INSERT INTO ks.t (k, c, v) VALUES (2, {c}, {c})")).unwrap();
        }
        run(&e, "DELETE FROM ks.t WHERE k = 2").unwrap();
        run(&e, "INSERT INTO ks.t (k, c, v) VALUES (2, 9, 9)").unwrap();
        run(&e, "DELETE FROM ks.t WHERE k = 1 AND c = 3").unwrap();
        run(&e, "UPDATE ks.t SET v = 100 WHERE k = 1 AND c = 4").unwrap();
        run(&e, "ALTER TABLE ks.t ADD w text").unwrap();
        run(&e, "UPDATE ks.t SET w = 'w' WHERE k = 1 AND c = 0").unwrap();
        run(&e, "DROP TABLE ks.gone").unwrap();
    }
    let e = Engine::open(EngineConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    })
    .unwrap();
    let Outcome::Rows(r) = run(&e, "SELECT k, c, s, v, w FROM ks.t").unwrap() else {
        panic!()
    };
    let int = |b: &Option<Bytes>| b.as_ref().map(|b| i32::from_be_bytes(b[..].try_into().unwrap()));
    type Got = (Option<i32>, Option<i32>, Option<i32>, Option<i32>, bool);
    let got: Vec<Got> = r
        .rows
        .iter()
        .map(|row| (int(&row[0]), int(&row[1]), int(&row[2]), int(&row[3]), row[4].is_some()))
        .collect();
    let mut want = vec![
        (Some(1), Some(4), Some(7), Some(100), false),
        (Some(1), Some(2), Some(7), Some(2), false),
        (Some(1), Some(1), Some(7), Some(1), false),
        (Some(1), Some(0), Some(7), Some(0), true),
        (Some(2), Some(9), None, Some(9), false),
    ];
    // Partition order is by token; compare per partition.
    let tok = |k: i32| token::token_of(&k.to_be_bytes());
    if tok(2) < tok(1) {
        want.rotate_right(1);
    }
    assert_eq!(got, want);
    assert_eq!(run(&e, "SELECT * FROM ks.gone").unwrap_err().message, "unconfigured table gone");
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Per-node copies (a multi-node cluster): a write that reached only some copies is
/// journaled from the first it reached, and a restart from the data directory starts every
/// copy from the journal.
#[test]
fn a_write_that_reached_some_copies_survives_a_restart_in_every_copy() {
    let dir = std::env::temp_dir().join(format!("cql-node-copies-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    let open = || Engine::open(EngineConfig { data_dir: Some(dir.clone()), ..Default::default() }).unwrap();
    let read_from = |e: &Engine, copy: usize| {
        let n = node();
        let read = move |_: i64| vec![copy];
        let copies = Copies { write: &[], read: &read, repair: false };
        let ctx = ExecContext { keyspace: Some("ks"), node: &n, copies: Some(&copies) };
        let st = e.prepare("SELECT v FROM ks.t WHERE k = 1", Some("ks")).unwrap();
        match e.execute(&ctx, &st, &params(vec![])).unwrap() {
            Outcome::Rows(r) => r.rows.len(),
            _ => panic!("rows"),
        }
    };
    {
        let e = open();
        run(&e, "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}").unwrap();
        run(&e, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)").unwrap();
        e.hold_copies(3);
        let n = node();
        let read = |_: i64| vec![1];
        let copies = Copies { write: &[1, 2], read: &read, repair: false };
        let ctx = ExecContext { keyspace: Some("ks"), node: &n, copies: Some(&copies) };
        let st = e.prepare("INSERT INTO ks.t (k, v) VALUES (1, 1)", Some("ks")).unwrap();
        e.execute(&ctx, &st, &params(vec![])).unwrap();
        assert_eq!((read_from(&e, 0), read_from(&e, 1), read_from(&e, 2)), (0, 1, 1), "copy 0 missed it");
    }
    let e = open();
    e.hold_copies(3);
    assert_eq!((read_from(&e, 0), read_from(&e, 1), read_from(&e, 2)), (1, 1, 1));
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}
