//! The wire protocol seen from raw TCP: version negotiation as Cassandra 4.1 answers it,
//! malformed frames closing only their own connection, and the handshake's messages.

use crate::support;

use support::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const PROTOCOL_ERROR: i32 = 0x000A;

#[tokio::test]
async fn a_v5_opener_gets_the_protocol_error_drivers_downgrade_on() {
    let node = node().await;
    let mut conn = TcpStream::connect(node.addr()).await.unwrap();
    // The Python driver opens with OPTIONS in v5 on a chosen stream.
    conn.write_all(&frame(5, 0, 42, 0x05, &[])).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!(r.version, 0x84, "answered in the highest version we speak");
    assert_eq!(r.stream, 42, "answered on the client's stream");
    let (code, message) = r.error();
    assert_eq!(code, PROTOCOL_ERROR);
    assert_eq!(message, "Invalid or unsupported protocol version (5); supported versions are (4/v4)");
    assert_closed(&mut conn).await;
    node.stop().await;
}

#[tokio::test]
async fn v3_is_refused_in_v3_framing() {
    let node = node().await;
    let mut conn = TcpStream::connect(node.addr()).await.unwrap();
    conn.write_all(&frame(3, 0, 7, 0x01, &startup_body())).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!(r.version, 0x83);
    assert_eq!(r.stream, 7);
    assert_eq!(r.error(), (PROTOCOL_ERROR, "Invalid or unsupported protocol version (3); supported versions are (4/v4)".into()));
    node.stop().await;
}

#[tokio::test]
async fn options_lists_what_the_node_speaks() {
    let node = node().await;
    let mut conn = TcpStream::connect(node.addr()).await.unwrap();
    conn.write_all(&frame(4, 0, 3, 0x05, &[])).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!((r.version, r.stream, r.opcode), (0x84, 3, 0x06));
    let text = String::from_utf8_lossy(&r.body);
    for expected in ["CQL_VERSION", "3.4.6", "COMPRESSION", "PROTOCOL_VERSIONS", "4/v4"] {
        assert!(text.contains(expected), "SUPPORTED lacks {expected}: {text}");
    }
    node.stop().await;
}

#[tokio::test]
async fn queries_before_startup_are_refused_and_startup_needs_cql_version() {
    let node = node().await;
    let mut conn = TcpStream::connect(node.addr()).await.unwrap();
    let mut query = Vec::new();
    query.extend_from_slice(&(8i32).to_be_bytes());
    query.extend_from_slice(b"SELECT 1");
    query.extend_from_slice(&[0, 1, 0]);
    conn.write_all(&frame(4, 0, 1, 0x07, &query)).await.unwrap();
    let (code, message) = read_response(&mut conn).await.error();
    assert_eq!(code, PROTOCOL_ERROR);
    assert!(message.contains("expecting STARTUP"), "{message}");
    conn.write_all(&frame(4, 0, 2, 0x01, &[0, 0])).await.unwrap();
    let (code, message) = read_response(&mut conn).await.error();
    assert_eq!((code, message.as_str()), (PROTOCOL_ERROR, "Missing value CQL_VERSION in STARTUP message"));
    node.stop().await;
}

/// Each malformed frame gets a ProtocolError and its connection closed.
#[tokio::test]
async fn malformed_frames_close_their_connection() {
    let node = node().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unknown opcode", frame(4, 0, 5, 0x42, &[])),
        ("compression flag without compression", frame(4, 0x01, 5, 0x07, &[1, 2, 3])),
        ("body over 256 MB", {
            let mut f = frame(4, 0, 5, 0x07, &[]);
            f[5..9].copy_from_slice(&(256u32 * 1024 * 1024 + 1).to_be_bytes());
            f
        }),
        ("body that does not parse", frame(4, 0, 5, 0x07, &[0xff, 0xff, 0xff, 0x00])),
    ];
    for (what, bytes) in cases {
        let mut conn = raw_ready(node.addr()).await;
        conn.write_all(&bytes).await.unwrap();
        let r = read_response(&mut conn).await;
        assert_eq!(r.stream, 5, "{what}: answered on its stream");
        assert_eq!(r.error().0, PROTOCOL_ERROR, "{what}");
        assert_closed(&mut conn).await;
    }
    // A header announcing more body than ever arrives (the client half-closes).
    let mut conn = raw_ready(node.addr()).await;
    let mut f = frame(4, 0, 6, 0x07, &[0, 0, 0, 1]);
    f[5..9].copy_from_slice(&100u32.to_be_bytes());
    conn.write_all(&f).await.unwrap();
    conn.shutdown().await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!((r.stream, r.error().0), (6, PROTOCOL_ERROR));
    assert_closed(&mut conn).await;
    node.stop().await;
}

/// A garbage connection next to a driver's: the driver never notices.
#[tokio::test]
async fn a_malformed_frame_harms_no_other_connection() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "iso").await;
    session.query_unpaged("CREATE TABLE iso.t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    let insert = session.prepare("INSERT INTO iso.t (k, v) VALUES (?, ?)").await.unwrap();

    let mut bad = raw_ready(node.addr()).await;
    bad.write_all(&frame(4, 0, 9, 0x99, b"garbage")).await.unwrap();
    assert_eq!(read_response(&mut bad).await.error().0, PROTOCOL_ERROR);
    assert_closed(&mut bad).await;

    for k in 0..20i32 {
        session.execute_unpaged(&insert, (k, format!("v{k}"))).await.expect("the driver's connection is unaffected");
    }
    let rows = session.query_unpaged("SELECT k FROM iso.t", ()).await.unwrap().into_rows_result().unwrap();
    assert_eq!(rows.rows_num(), 20);
    node.stop().await;
}

#[tokio::test]
async fn drop_connections_closes_clients_but_keeps_listening() {
    let node = node().await;
    let mut conn = raw_ready(node.addr()).await;
    node.drop_connections();
    assert_closed(&mut conn).await;
    let mut again = raw_ready(node.addr()).await;
    again.write_all(&frame(4, 0, 1, 0x05, &[])).await.unwrap();
    assert_eq!(read_response(&mut again).await.opcode, 0x06);
    let addr = node.addr();
    node.stop().await;
    assert!(TcpStream::connect(addr).await.is_err(), "stopped node no longer listens");
}

fn string_list(items: &[&str]) -> Vec<u8> {
    let mut b = (items.len() as u16).to_be_bytes().to_vec();
    for s in items {
        b.extend_from_slice(&(s.len() as u16).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
    }
    b
}

fn query_body(cql: &str) -> Vec<u8> {
    let mut b = (cql.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(cql.as_bytes());
    b.extend_from_slice(&[0, 1, 0]); // consistency ONE, no flags
    b
}

#[tokio::test]
async fn registered_connections_get_schema_change_events() {
    let node = node().await;
    let mut listener = raw_ready(node.addr()).await;
    listener.write_all(&frame(4, 0, 2, 0x0B, &string_list(&["SCHEMA_CHANGE", "STATUS_CHANGE"]))).await.unwrap();
    assert_eq!(read_response(&mut listener).await.opcode, 0x02, "READY to REGISTER");

    let mut other = raw_ready(node.addr()).await;
    other.write_all(&frame(4, 0, 3, 0x0B, &string_list(&["NOT_AN_EVENT"]))).await.unwrap();
    assert_eq!(read_response(&mut other).await.error().0, PROTOCOL_ERROR);

    let session = session(node.addr()).await;
    keyspace(&session, "evented").await;
    let event = read_response(&mut listener).await;
    assert_eq!((event.stream, event.opcode), (-1, 0x0C));
    let text = String::from_utf8_lossy(&event.body);
    for part in ["SCHEMA_CHANGE", "CREATED", "KEYSPACE", "evented"] {
        assert!(text.contains(part), "event lacks {part}: {text}");
    }
    node.stop().await;
}

/// Many connections, each with many requests pipelined on distinct streams: every stream
/// gets exactly one answer.
#[tokio::test]
async fn many_connections_with_pipelined_streams() {
    let node = node().await;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let addr = node.addr();
        clients.spawn(async move {
            let mut conn = raw_ready(addr).await;
            let mut burst = Vec::new();
            for stream in 10..60i16 {
                burst.extend(frame(4, 0, stream, 0x07, &query_body("SELECT release_version FROM system.local")));
            }
            conn.write_all(&burst).await.unwrap();
            let mut seen = Vec::new();
            for _ in 10..60 {
                let r = read_response(&mut conn).await;
                assert_eq!(r.opcode, 0x08, "a RESULT");
                seen.push(r.stream);
            }
            seen.sort();
            assert_eq!(seen, (10..60).collect::<Vec<i16>>());
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("every connection served");
    }
    node.stop().await;
}

#[tokio::test]
async fn unknown_prepared_id_answers_unprepared_with_the_id() {
    let node = node().await;
    let mut conn = raw_ready(node.addr()).await;
    let mut body = vec![0, 4, 0xde, 0xad, 0xbe, 0xef]; // [short bytes] id
    body.extend_from_slice(&[0, 1, 0]);
    conn.write_all(&frame(4, 0, 8, 0x0A, &body)).await.unwrap();
    let r = read_response(&mut conn).await;
    let (code, message) = r.error();
    assert_eq!(code, 0x2500);
    assert!(message.contains("deadbeef"), "{message}");
    assert_eq!(&r.body[r.body.len() - 6..], &[0, 4, 0xde, 0xad, 0xbe, 0xef], "the id comes back for re-preparing");
    // The connection stays usable after an ordinary error.
    conn.write_all(&frame(4, 0, 9, 0x07, &query_body("SELECT cluster_name FROM system.local"))).await.unwrap();
    assert_eq!(read_response(&mut conn).await.opcode, 0x08);
    node.stop().await;
}

#[tokio::test]
async fn a_custom_payload_is_accepted_and_ignored() {
    let node = node().await;
    let mut conn = raw_ready(node.addr()).await;
    let mut body = vec![0, 1, 0, 1, b'k', 0, 0, 0, 1, b'v']; // [bytes map] {"k": "v"}
    body.extend(query_body("SELECT cluster_name FROM system.local"));
    conn.write_all(&frame(4, 0x04, 4, 0x07, &body)).await.unwrap();
    let r = read_response(&mut conn).await;
    assert_eq!((r.stream, r.opcode), (4, 0x08));
    node.stop().await;
}

/// With a tiny in-flight bound, a burst far larger than it is still answered in full:
/// the bound slows reading down, it never loses or refuses requests.
#[tokio::test]
async fn in_flight_bound_applies_back_pressure_without_losing_requests() {
    let node = cql_node::server::Node::builder().max_in_flight(2).start().await.unwrap();
    let mut conn = raw_ready(node.addr()).await;
    let mut burst = Vec::new();
    for stream in 0..300i16 {
        burst.extend(frame(4, 0, stream, 0x07, &query_body("SELECT key FROM system.local")));
    }
    conn.write_all(&burst).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..300 {
        let r = read_response(&mut conn).await;
        assert_eq!(r.opcode, 0x08);
        seen.push(r.stream);
    }
    seen.sort();
    assert_eq!(seen, (0..300).collect::<Vec<i16>>());
    node.stop().await;
}

#[tokio::test]
async fn compression_is_refused_at_startup() {
    let node = node().await;
    let mut conn = TcpStream::connect(node.addr()).await.unwrap();
    let mut body = vec![0, 2];
    for s in ["CQL_VERSION", "3.0.0", "COMPRESSION", "lz4"] {
        body.extend_from_slice(&(s.len() as u16).to_be_bytes());
        body.extend_from_slice(s.as_bytes());
    }
    conn.write_all(&frame(4, 0, 1, 0x01, &body)).await.unwrap();
    assert_eq!(read_response(&mut conn).await.error(), (PROTOCOL_ERROR, "This instance does not support LZ4 compression".into()));
    // Without compression the same connection starts normally.
    conn.write_all(&frame(4, 0, 2, 0x01, &startup_body())).await.unwrap();
    assert_eq!(read_response(&mut conn).await.opcode, 0x02);
    node.stop().await;
}
