//! Engine behaviour through its public contract: CQL text in, results out.

use std::net::{IpAddr, Ipv4Addr};

use bytes::Bytes;

use super::*;
use crate::error::ErrorKind;
use crate::types::{ColumnType, Consistency};

pub(crate) fn node() -> NodeInfo {
    NodeInfo {
        cluster_name: "Test Cluster".into(),
        data_center: "datacenter1".into(),
        rack: "rack1".into(),
        release_version: "4.1.5".into(),
        partitioner: "org.apache.cassandra.dht.Murmur3Partitioner".into(),
        host_id: Uuid::from_u128(1),
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        native_port: 9042,
        tokens: vec![0],
        peers: vec![],
    }
}

pub(crate) struct H {
    pub e: Engine,
    pub node: NodeInfo,
    pub ks: Option<String>,
}

pub(crate) fn params(values: Vec<BoundValue>) -> QueryParams {
    QueryParams {
        consistency: Consistency::One,
        values: BoundValues::Positional(values),
        skip_metadata: false,
        page_size: None,
        paging_state: None,
        serial_consistency: None,
        timestamp: None,
    }
}

impl H {
    pub fn new() -> H {
        H {
            e: Engine::open(EngineConfig::default()).unwrap(),
            node: node(),
            ks: None,
        }
    }
    pub fn run_p(&mut self, q: &str, p: &QueryParams) -> CqlResult<Outcome> {
        let ctx = ExecContext {
            keyspace: self.ks.as_deref(),
            node: &self.node,
            copies: None,
        };
        let st = self.e.prepare(q, self.ks.as_deref())?;
        let out = self.e.execute(&ctx, &st, p)?;
        if let Outcome::SetKeyspace(k) = &out {
            self.ks = Some(k.clone());
        }
        Ok(out)
    }
    pub fn run(&mut self, q: &str) -> CqlResult<Outcome> {
        self.run_p(q, &params(vec![]))
    }
    pub fn ok(&mut self, q: &str) -> Outcome {
        self.run(q).unwrap_or_else(|e| panic!("{q}: {e}"))
    }
    pub fn rows(&mut self, q: &str) -> Rows {
        match self.ok(q) {
            Outcome::Rows(r) => r,
            o => panic!("{q}: expected rows, got {o:?}"),
        }
    }
    pub fn err(&mut self, q: &str) -> crate::error::CqlError {
        match self.run(q) {
            Err(e) => e,
            Ok(o) => panic!("{q}: expected an error, got {o:?}"),
        }
    }
    pub fn setup(&mut self) {
        self.ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
        self.ok("USE ks");
    }
}

fn int(v: i32) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&v.to_be_bytes()))
}
fn text(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}
pub(crate) fn ints(r: &Rows, col: usize) -> Vec<i32> {
    r.rows
        .iter()
        .map(|row| {
            row[col]
                .as_ref()
                .map(|b| i32::from_be_bytes(b[..].try_into().unwrap()))
                .unwrap_or(i32::MIN)
        })
        .collect()
}

#[test]
fn create_insert_select_round_trip() {
    let mut h = H::new();
    h.setup();
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v text)");
    h.ok("INSERT INTO t (k, v) VALUES (1, 'one')");
    h.ok("INSERT INTO t (k, v) VALUES (2, 'it''s')");
    let r = h.rows("SELECT k, v FROM t WHERE k = 2");
    assert_eq!(r.rows, vec![vec![int(2), text("it's")]]);
    assert_eq!(r.columns[1].ty, ColumnType::Varchar);
    let all = h.rows("SELECT * FROM t");
    assert_eq!(all.rows.len(), 2);
    // Partitions come back in Murmur3 token order: token(1) < token(2) for int keys.
    let t1 = token::token_of(&1i32.to_be_bytes());
    let t2 = token::token_of(&2i32.to_be_bytes());
    let expected = if t1 < t2 { vec![1, 2] } else { vec![2, 1] };
    assert_eq!(ints(&all, 0), expected);
}

#[test]
fn bind_markers_and_metadata() {
    let mut h = H::new();
    h.setup();
    h.ok("CREATE TABLE t (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))");
    let p = h.e.prepare("INSERT INTO t (b, a, c, v) VALUES (?, ?, ?, ?)", Some("ks")).unwrap();
    assert_eq!(p.bind.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b", "a", "c", "v"]);
    assert_eq!(p.pk_indexes, vec![1, 0]);
    assert_eq!(p.kind, StatementKind::Insert);
    let again = h.e.prepare("INSERT INTO t (b, a, c, v) VALUES (?, ?, ?, ?)", Some("ks")).unwrap();
    assert_eq!(p.id, again.id);
    assert!(h.e.prepared(&p.id).is_some());
    h.run_p(
        "INSERT INTO t (b, a, c, v) VALUES (?, ?, ?, ?)",
        &params(vec![
            BoundValue::Bytes(Bytes::from_static(b"x")),
            BoundValue::Bytes(Bytes::copy_from_slice(&7i32.to_be_bytes())),
            BoundValue::Bytes(Bytes::copy_from_slice(&1i32.to_be_bytes())),
            BoundValue::Bytes(Bytes::copy_from_slice(&9i32.to_be_bytes())),
        ]),
    )
    .unwrap();
    let r = h.rows("SELECT v FROM t WHERE a = 7 AND b = 'x'");
    assert_eq!(ints(&r, 0), vec![9]);
    let sel = h.e.prepare("SELECT * FROM t WHERE a = ? AND b = ? AND c > ?", Some("ks")).unwrap();
    assert_eq!(sel.result.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "v"]);
    assert_eq!(sel.pk_indexes, vec![0, 1]);
    let e = h
        .run_p("SELECT * FROM t WHERE a = ? AND b = ?", &params(vec![BoundValue::Null]))
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
}

#[test]
fn system_local_and_schema_tables() {
    let mut h = H::new();
    let r = h.rows("SELECT * FROM system.local WHERE key='local'");
    assert_eq!(r.rows.len(), 1);
    let col = |r: &Rows, n: &str| r.columns.iter().position(|c| c.name == n).unwrap();
    let row = &r.rows[0];
    assert_eq!(row[col(&r, "partitioner")], text("org.apache.cassandra.dht.Murmur3Partitioner"));
    assert_eq!(row[col(&r, "cluster_name")], text("Test Cluster"));
    let v1 = row[col(&r, "schema_version")].clone();
    assert_eq!(h.rows("SELECT * FROM system.peers").rows.len(), 0);
    assert_eq!(h.rows("SELECT * FROM system.peers_v2").rows.len(), 0);
    h.setup();
    h.ok("CREATE TABLE t (k int, c text, v list<int>, PRIMARY KEY (k, c)) WITH CLUSTERING ORDER BY (c DESC)");
    let r2 = h.rows("SELECT schema_version FROM system.local WHERE key='local'");
    assert_ne!(r2.rows[0][0], v1, "schema_version changes with the schema");
    let kss = h.rows("SELECT keyspace_name FROM system_schema.keyspaces");
    let names: Vec<String> = kss
        .rows
        .iter()
        .map(|r| String::from_utf8(r[0].clone().unwrap().to_vec()).unwrap())
        .collect();
    for n in [
        "ks",
        "system",
        "system_schema",
        "system_auth",
        "system_distributed",
        "system_traces",
    ] {
        assert!(names.contains(&n.to_string()), "{n} in {names:?}");
    }
    let cols = h.rows("SELECT column_name, kind, position, type, clustering_order FROM system_schema.columns WHERE keyspace_name = 'ks' AND table_name = 't'");
    let got: Vec<Vec<String>> = cols
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| {
                    let b = c.clone().unwrap();
                    if b.len() == 4 && b[0] & 0x80 != 0 || b.len() == 4 && b[..3] == [0, 0, 0] {
                        i32::from_be_bytes(b[..].try_into().unwrap()).to_string()
                    } else {
                        String::from_utf8_lossy(&b).into_owned()
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(
        got,
        vec![
            vec!["c", "clustering", "0", "text", "desc"],
            vec!["k", "partition_key", "0", "int", "none"],
            vec!["v", "regular", "-1", "list<int>", "none"],
        ]
    );
    let t = h.rows("SELECT * FROM system_schema.tables WHERE keyspace_name = 'ks'");
    assert_eq!(t.rows.len(), 1);
    for n in [
        "bloom_filter_fp_chance",
        "caching",
        "compaction",
        "compression",
        "default_time_to_live",
        "flags",
        "id",
        "speculative_retry",
    ] {
        assert!(t.columns.iter().any(|c| c.name == n), "{n}");
    }
    for tb in ["types", "functions", "aggregates", "views", "indexes", "triggers"] {
        assert_eq!(h.rows(&format!("SELECT * FROM system_schema.{tb}")).rows.len(), 0);
    }
}

#[test]
fn schema_errors_use_cassandra_classes() {
    let mut h = H::new();
    assert_eq!(h.err("SELECT * FROM nope.t").message, "Keyspace 'nope' does not exist");
    assert_eq!(h.err("SELECT * FROM t").kind, ErrorKind::Invalid);
    h.setup();
    assert_eq!(h.err("SELECT * FROM foo").message, "unconfigured table foo");
    let e = h.err("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    assert!(matches!(e.kind, ErrorKind::AlreadyExists { .. }));
    assert!(matches!(
        h.ok("CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"),
        Outcome::Void
    ));
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    assert!(matches!(
        h.err("CREATE TABLE t (k int PRIMARY KEY)").kind,
        ErrorKind::AlreadyExists { .. }
    ));
    assert_eq!(h.err("SELEC * FROM t").kind, ErrorKind::SyntaxError);
    let e = h.err("SELECT * FROM t WHERE v = 1");
    assert!(
        e.message
            .starts_with("Cannot execute this query as it might involve data filtering"),
        "{}",
        e.message
    );
    assert_eq!(h.rows("SELECT * FROM t WHERE v = 1 ALLOW FILTERING").rows.len(), 0);
    assert!(
        h.err("SELECT * FROM t WHERE v != 1 ALLOW FILTERING")
            .message
            .starts_with("Unsupported \"!=\" relation")
    );
    assert_eq!(
        h.err("INSERT INTO t (v) VALUES (1)").message,
        "Some partition key parts are missing: k"
    );
    assert_eq!(h.err("SELECT nope FROM t").kind, ErrorKind::Invalid);
    assert_eq!(h.err("INSERT INTO system.local (key) VALUES ('x')").kind, ErrorKind::Unauthorized);
    assert_eq!(h.err("DROP KEYSPACE system").kind, ErrorKind::Unauthorized);
    assert_eq!(h.err("DESCRIBE TYPES").kind, ErrorKind::Invalid);
    assert_eq!(h.err("CREATE INDEX ON t (v)").kind, ErrorKind::Invalid);
    assert_eq!(h.err("LIST ROLES").kind, ErrorKind::Unauthorized);
    let mut p = params(vec![]);
    p.consistency = Consistency::Serial;
    assert_eq!(h.run_p("INSERT INTO t (k, v) VALUES (1, 1)", &p).unwrap_err().message, "You must use conditional updates for serializable writes");
    assert!(h.run_p("SELECT * FROM t WHERE k = 1", &p).is_ok(), "SERIAL reads are fine");
    p.consistency = Consistency::Any;
    assert_eq!(h.run_p("SELECT * FROM t", &p).unwrap_err().message, "ANY ConsistencyLevel is only supported for writes");
    p.consistency = Consistency::Quorum;
    p.serial_consistency = Some(Consistency::One);
    assert_eq!(h.run_p("INSERT INTO t (k, v) VALUES (1, 1) IF NOT EXISTS", &p).unwrap_err().kind, ErrorKind::Invalid);
}

#[test]
fn custom_properties_are_keyspaces_only() {
    let mut h = H::new();
    h.setup();
    let e = h.err("CREATE TABLE t (k int PRIMARY KEY) WITH CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}}");
    assert_eq!(e.kind, ErrorKind::SyntaxError);
    assert_eq!(e.message, "Unknown property 'custom_properties'");
    // Cassandra has no TTL switch: any table takes USING TTL.
    h.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    h.ok("INSERT INTO t (k, v) VALUES (1, 1) USING TTL 60");
}

#[test]
fn keyspaces_refuses_using_ttl_until_ttl_is_enabled_and_never_disables_it() {
    let mut h = H::new();
    h.e.use_keyspaces_rules();
    h.setup();
    h.ok("CREATE TABLE plain (k int PRIMARY KEY, v int)");
    for q in [
        "INSERT INTO plain (k, v) VALUES (1, 1) USING TTL 60",
        "INSERT INTO plain (k, v) VALUES (1, 1) IF NOT EXISTS USING TTL 60",
        "UPDATE plain USING TTL 0 SET v = 2 WHERE k = 1",
        "BEGIN BATCH INSERT INTO plain (k, v) VALUES (1, 1) USING TTL 5 APPLY BATCH",
    ] {
        let e = h.err(q);
        assert_eq!((e.kind, e.message.as_str()), (ErrorKind::Invalid, "TTL is not yet supported."), "{q}");
    }
    h.ok("INSERT INTO plain (k, v) VALUES (1, 1)");
    // Enabled by ALTER TABLE (merged into the table's properties), at CREATE, or by a default.
    h.ok("ALTER TABLE plain WITH CUSTOM_PROPERTIES = {'ttl': {'status': 'enabled'}}");
    h.ok("INSERT INTO plain (k, v) VALUES (2, 2) USING TTL 60");
    h.ok("CREATE TABLE created (k int PRIMARY KEY) WITH CUSTOM_PROPERTIES = {'ttl': {'status': 'ENABLED'}}");
    h.ok("INSERT INTO created (k) VALUES (1) USING TTL 60");
    h.ok("CREATE TABLE defaulted (k int PRIMARY KEY, v int) WITH default_time_to_live = 30");
    h.ok("UPDATE defaulted USING TTL 60 SET v = 1 WHERE k = 1");
    // A default back at 0 does not turn TTL off; nothing does.
    h.ok("ALTER TABLE defaulted WITH default_time_to_live = 0");
    h.ok("UPDATE defaulted USING TTL 60 SET v = 1 WHERE k = 1");
    let e = h.err("ALTER TABLE created WITH CUSTOM_PROPERTIES = {'ttl': {'status': 'disabled'}}");
    assert_eq!(e.kind, ErrorKind::Invalid, "{}", e.message);
    h.ok("INSERT INTO created (k) VALUES (2) USING TTL 60");
}
