//! Native scalar functions in selectors, as Cassandra 4.1 answers them (cql3/functions
//! TimeFcts, UuidFcts, BytesConversionFcts): result types and column names, null for a null
//! argument, Invalid for a call no signature matches or bytes a blobAs* type refuses.

use crate::support;

use scylla::client::session::Session;
use scylla::errors::DbError;
use scylla::value::{CqlDate, CqlTimestamp, CqlValue, Row};
use support::{db_error, keyspace, node, session};

/// 2024-03-01T12:00:00Z.
const MS: i64 = 1_709_294_400_000;
const DAY: u32 = (1 << 31) + 19_783;

async fn setup() -> (cql_node::server::Node, Session) {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "fx").await;
    s.use_keyspace("fx", false).await.unwrap();
    s.query_unpaged("CREATE TABLE f (k int PRIMARY KEY, t timestamp, d date, u timeuuid, b blob, i int)", ()).await.unwrap();
    s.query_unpaged(
        format!("INSERT INTO f (k, t, d, u, b, i) VALUES (1, {MS}, '2024-03-01', 50554d6e-29bb-11e5-b345-feff819cdc9f, 0x00000005, 5)"),
        (),
    )
    .await
    .unwrap();
    s.query_unpaged("INSERT INTO f (k) VALUES (2)", ()).await.unwrap();
    (n, s)
}

async fn select(s: &Session, q: &str) -> (Vec<String>, Vec<Vec<Option<CqlValue>>>) {
    let rows = s.query_unpaged(q, ()).await.expect(q).into_rows_result().expect("rows");
    let names = rows.column_specs().iter().map(|c| c.name().to_owned()).collect();
    let values = rows.rows::<Row>().expect("typed").map(|r| r.expect("row").columns).collect();
    (names, values)
}

#[tokio::test]
async fn time_conversions_answer_cassandras_types_and_nulls() {
    let (n, s) = setup().await;
    let (names, rows) = select(
        &s,
        "SELECT toDate(t), toTimestamp(d), toUnixTimestamp(t), toUnixTimestamp(d), toTimestamp(u), toDate(u) FROM f WHERE k = 1",
    )
    .await;
    assert_eq!(
        names,
        ["system.todate(t)", "system.totimestamp(d)", "system.tounixtimestamp(t)", "system.tounixtimestamp(d)", "system.totimestamp(u)", "system.todate(u)"]
    );
    // 50554d6e-29bb-11e5-... is 2015-07-14T00:00:18.805Z.
    let u_ms = 1_436_832_018_805i64;
    assert_eq!(
        rows[0],
        vec![
            Some(CqlValue::Date(CqlDate(DAY))),
            Some(CqlValue::Timestamp(CqlTimestamp(MS - 12 * 3_600_000))),
            Some(CqlValue::BigInt(MS)),
            Some(CqlValue::BigInt(MS - 12 * 3_600_000)),
            Some(CqlValue::Timestamp(CqlTimestamp(u_ms))),
            Some(CqlValue::Date(CqlDate((1 << 31) + (u_ms / 86_400_000) as u32))),
        ]
    );
    let (_, rows) = select(&s, "SELECT toDate(t), toTimestamp(d), toUnixTimestamp(u), blobAsInt(b), intAsBlob(i) FROM f WHERE k = 2").await;
    assert_eq!(rows[0], vec![None, None, None, None, None]);
    n.stop().await;
}

#[tokio::test]
async fn blob_conversions_and_timeuuid_bounds() {
    let (n, s) = setup().await;
    let (names, rows) = select(&s, "SELECT blobAsInt(b), intAsBlob(i), minTimeuuid(t), maxTimeuuid(t), now(), toTimestamp(minTimeuuid(t)) FROM f WHERE k = 1").await;
    assert_eq!(names[0], "system.blobasint(b)");
    assert_eq!(names[5], "system.totimestamp(system.mintimeuuid(t))");
    assert_eq!(rows[0][0], Some(CqlValue::Int(5)));
    assert_eq!(rows[0][1], Some(CqlValue::Blob(vec![0, 0, 0, 5])));
    let (Some(CqlValue::Timeuuid(lo)), Some(CqlValue::Timeuuid(hi))) = (&rows[0][2], &rows[0][3]) else {
        panic!("timeuuids: {:?}", rows[0]);
    };
    assert!(lo.as_bytes()[8..].iter().all(|b| *b == 0x80) && hi.as_bytes()[8..].iter().all(|b| *b == 0x7f));
    assert!(matches!(rows[0][4], Some(CqlValue::Timeuuid(_))));
    assert_eq!(rows[0][5], Some(CqlValue::Timestamp(CqlTimestamp(MS))));
    n.stop().await;
}

#[tokio::test]
async fn calls_no_signature_matches_are_invalid() {
    let (n, s) = setup().await;
    for q in [
        "SELECT toDate(i) FROM f",
        "SELECT blobAsInt(i) FROM f",
        "SELECT intAsBlob(b) FROM f",
        "SELECT toTimestamp(t, d) FROM f",
        "SELECT nosuchfunction(i) FROM f",
    ] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert_eq!(db_error(&e).map(|(e, _)| e.clone()), Some(DbError::Invalid), "{q}: {e}");
    }
    s.query_unpaged("INSERT INTO f (k, b) VALUES (3, 0x000001)", ()).await.unwrap();
    let e = s.query_unpaged("SELECT blobAsInt(b) FROM f WHERE k = 3", ()).await.expect_err("3 bytes are no int");
    let (kind, msg) = db_error(&e).expect("server error");
    assert_eq!(
        (kind.clone(), msg),
        (DbError::Invalid, "In call to function system.blobasint, value 0x000001 is not a valid binary representation for type int")
    );
    n.stop().await;
}

/// sum and avg over decimal and varint (BigDecimal / BigInteger in Cassandra): exact, the
/// decimal sum at the largest scale, the decimal average rounded half even at each step.
#[tokio::test]
async fn sum_and_avg_over_decimal_and_varint() {
    let (n, s) = setup().await;
    s.query_unpaged("CREATE TABLE m (k int, c int, d decimal, v varint, PRIMARY KEY (k, c))", ()).await.unwrap();
    for (c, d, v) in [(1, "1.5", "10"), (2, "2.25", "-3"), (3, "3", "100000000000000000000")] {
        s.query_unpaged(format!("INSERT INTO m (k, c, d, v) VALUES (1, {c}, {d}, {v})"), ()).await.unwrap();
    }
    let (names, rows) = select(&s, "SELECT sum(d), avg(d), sum(v), avg(v) FROM m WHERE k = 1").await;
    assert_eq!(names, ["system.sum(d)", "system.avg(d)", "system.sum(v)", "system.avg(v)"]);
    let dec = |d: &Option<CqlValue>| match d {
        Some(CqlValue::Decimal(x)) => {
            let (bytes, scale) = x.as_signed_be_bytes_slice_and_exponent();
            (bytes.to_vec(), scale)
        }
        other => panic!("not a decimal: {other:?}"),
    };
    assert_eq!(dec(&rows[0][0]), (vec![0x02, 0xa3], 2), "6.75");
    assert_eq!(dec(&rows[0][1]), (vec![0x00, 0xe1], 2), "2.25");
    let int = |v: &Option<CqlValue>| match v {
        Some(CqlValue::Varint(x)) => num_of(x.as_signed_bytes_be_slice()),
        other => panic!("not a varint: {other:?}"),
    };
    assert_eq!(int(&rows[0][2]), 100_000_000_000_000_000_007i128);
    assert_eq!(int(&rows[0][3]), 33_333_333_333_333_333_335i128);
    // No rows: zero, as Cassandra answers.
    let (_, rows) = select(&s, "SELECT sum(d), avg(v) FROM m WHERE k = 9").await;
    assert_eq!(dec(&rows[0][0]), (vec![0], 0));
    assert_eq!(int(&rows[0][1]), 0);
    n.stop().await;
}

fn num_of(b: &[u8]) -> i128 {
    let mut buf = [if b.first().is_some_and(|x| x & 0x80 != 0) { 0xff } else { 0 }; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    i128::from_be_bytes(buf)
}

/// CAST(x AS type) as Cassandra 4.1 runs it (CastFcts): Java's numeric conversions, the
/// serializers' text, `cast(x as t)` column names, the cast to the column's own type dropped,
/// and null for a null argument.
#[tokio::test]
async fn casts_convert_like_cassandra() {
    let (n, s) = setup().await;
    s.query_unpaged(
        "CREATE TABLE c (k int PRIMARY KEY, i int, big bigint, f float, db double, d decimal, v varint, a ascii, ip inet, ok boolean, ts timestamp, tm time, u timeuuid)",
        (),
    )
    .await
    .unwrap();
    s.query_unpaged(
        format!(
            "INSERT INTO c (k, i, big, f, db, d, v, a, ip, ok, ts, tm, u) VALUES (1, 300, 5000000000, 2.5, 3.9e10, -7.95, 100000000000000000005, 'hi', '::1', true, {MS}, '01:02:03.000000004', 50554d6e-29bb-11e5-b345-feff819cdc9f)"
        ),
        (),
    )
    .await
    .unwrap();
    s.query_unpaged("INSERT INTO c (k) VALUES (2)", ()).await.unwrap();
    let (names, rows) = select(
        &s,
        "SELECT CAST(i AS tinyint), CAST(big AS int), CAST(db AS int), CAST(d AS bigint), CAST(v AS bigint), CAST(i AS decimal), CAST(f AS double), CAST(i AS int), CAST(a AS text) FROM c WHERE k = 1",
    )
    .await;
    assert_eq!(
        names,
        ["cast(i as tinyint)", "cast(big as int)", "cast(db as int)", "cast(d as bigint)", "cast(v as bigint)", "cast(i as decimal)", "cast(f as double)", "i", "cast(a as text)"]
    );
    let decimal_of_300 = match &rows[0][5] {
        Some(CqlValue::Decimal(x)) => {
            let (b, scale) = x.as_signed_be_bytes_slice_and_exponent();
            (num_of(b), scale)
        }
        other => panic!("not a decimal: {other:?}"),
    };
    assert_eq!(
        rows[0][..5],
        [
            Some(CqlValue::TinyInt(44)),             // (byte) 300
            Some(CqlValue::Int(705_032_704)),        // (int) 5000000000
            Some(CqlValue::Int(i32::MAX)),           // (int) 3.9e10 saturates
            Some(CqlValue::BigInt(-7)),              // BigDecimal.longValue truncates
            Some(CqlValue::BigInt(7_766_279_631_452_241_925)), // low 64 bits
        ]
    );
    assert_eq!(decimal_of_300, (3000, 1), "BigDecimal.valueOf(300.0) is 300.0");
    assert_eq!(rows[0][6], Some(CqlValue::Double(2.5)));
    assert_eq!(rows[0][7], Some(CqlValue::Int(300)));
    assert_eq!(rows[0][8], Some(CqlValue::Text("hi".into())));

    let (_, rows) = select(
        &s,
        "SELECT CAST(db AS text), CAST(d AS text), CAST(ip AS text), CAST(ok AS ascii), CAST(ts AS text), CAST(tm AS text), CAST(u AS text), CAST(u AS timestamp), CAST(ts AS date) FROM c WHERE k = 1",
    )
    .await;
    let text = |v: &Option<CqlValue>| match v {
        Some(CqlValue::Text(s)) | Some(CqlValue::Ascii(s)) => s.clone(),
        other => panic!("not text: {other:?}"),
    };
    assert_eq!(
        rows[0][..7].iter().map(text).collect::<Vec<_>>(),
        ["3.9E10", "-7.95", "0:0:0:0:0:0:0:1", "true", "2024-03-01T12:00:00.000Z", "01:02:03.000000004", "50554d6e-29bb-11e5-b345-feff819cdc9f"]
    );
    assert_eq!(rows[0][7], Some(CqlValue::Timestamp(CqlTimestamp(1_436_832_018_805))));
    assert_eq!(rows[0][8], Some(CqlValue::Date(CqlDate(DAY))));

    let (_, rows) = select(&s, "SELECT CAST(i AS text), CAST(d AS double), CAST(u AS date) FROM c WHERE k = 2").await;
    assert_eq!(rows[0], vec![None, None, None]);
    n.stop().await;
}

/// What Cassandra 4.1 refuses: no castAs function for the target (naming the first selected
/// column, as Selectable.WithCast does), no overload for the argument, an ambiguous weak match,
/// and (grammar) a target that is not a native type.
#[tokio::test]
async fn casts_cassandra_refuses() {
    let (n, s) = setup().await;
    for (q, kind, msg) in [
        ("SELECT k, CAST(i AS blob) FROM f", DbError::Invalid, "k cannot be cast to blob"),
        ("SELECT CAST(i AS varchar) FROM f", DbError::Invalid, "i cannot be cast to varchar"),
        ("SELECT CAST(t AS uuid) FROM f", DbError::Invalid, "t cannot be cast to uuid"),
        (
            "SELECT CAST(b AS date) FROM f",
            DbError::Invalid,
            "Invalid call to function system.castAsDate, none of its type signatures match (known type signatures: system.castAsDate : (timeuuid) -> date, system.castAsDate : (timestamp) -> date)",
        ),
        (
            "SELECT CAST(t AS int) FROM f",
            DbError::Invalid,
            "Ambiguous call to function system.castAsInt (can be matched by following signatures: system.castAsInt : (bigint) -> int, system.castAsInt : (varint) -> int): use type casts to disambiguate",
        ),
    ] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert_eq!(db_error(&e).map(|(e, m)| (e.clone(), m.to_owned())), Some((kind, msg.to_owned())), "{q}");
    }
    for q in ["SELECT CAST(i AS list<int>) FROM f", "SELECT CAST(i AS frozen<int>) FROM f", "SELECT CAST(i int) FROM f"] {
        let e = s.query_unpaged(q, ()).await.expect_err(q);
        assert_eq!(db_error(&e).map(|(e, _)| e.clone()), Some(DbError::SyntaxError), "{q}: {e}");
    }
    // A timestamp reads as a bigint through castAsBigint(varint), its only weak match.
    let (_, rows) = select(&s, "SELECT CAST(t AS bigint) FROM f WHERE k = 1").await;
    assert_eq!(rows[0][0], Some(CqlValue::BigInt(MS)));
    n.stop().await;
}
