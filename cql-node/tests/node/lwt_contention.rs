//! Lightweight transactions under contention, through the real scylla driver: rivals on one
//! partition compete for Paxos ballots, and what a client may see is what Cassandra 4.1 sends
//! (applied, not applied with the winner's row, or WriteTimeout of write type CAS whose outcome
//! may be either). The assertions hold for every interleaving; the seeded draws only decide
//! how often each answer comes.

use std::sync::Arc;
use std::time::Duration;

use cql_node::cluster::Cluster;
use cql_node::engine::paxos::PaxosConfig;
use cql_node::engine::{Engine, EngineConfig};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, RequestAttemptError, WriteType};
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};

async fn start(paxos: PaxosConfig) -> (Cluster, Arc<Session>) {
    let engine = Engine::open(EngineConfig { paxos, ..Default::default() }).expect("engine");
    let cluster = Cluster::builder().nodes(1).engine(engine).start().await.expect("node starts");
    let session = SessionBuilder::new().known_node_addr(cluster.node_addr(0)).build().await.expect("connects");
    for q in [
        "CREATE KEYSPACE c WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE c.t (k text PRIMARY KEY, a int)",
    ] {
        session.query_unpaged(q, ()).await.expect(q);
    }
    (cluster, Arc::new(session))
}

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Applied,
    /// Not applied, showing the row's `a`.
    Held(i32),
    /// WriteTimeout, write type CAS, with how many acknowledged.
    CasTimeout { received: i32 },
}

async fn claim(session: &Session, insert: &PreparedStatement, k: &str, a: i32) -> Answer {
    match session.execute_unpaged(insert, (k, a)).await {
        Ok(result) => {
            let columns = result.into_rows_result().expect("rows").single_row::<Row>().expect("one row").columns;
            match (&columns[0], columns.get(2)) {
                (Some(CqlValue::Boolean(true)), _) => Answer::Applied,
                (Some(CqlValue::Boolean(false)), Some(Some(CqlValue::Int(held)))) => Answer::Held(*held),
                other => panic!("unexpected LWT row {other:?}"),
            }
        }
        Err(ExecutionError::LastAttemptError(RequestAttemptError::DbError(
            DbError::WriteTimeout { consistency, received, required, write_type },
            message,
        ))) => {
            assert_eq!(write_type, WriteType::Cas, "{message}");
            assert_eq!((consistency, required), (Consistency::LocalSerial, 2), "{message}");
            let expected = match received {
                0 => "CAS operation timed out - encountered contentions: ",
                1 => "CAS operation result is unknown - proposal accepted by 1 but not a quorum.",
                n => panic!("received {n}"),
            };
            assert!(message.starts_with(expected), "{message}");
            Answer::CasTimeout { received }
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

async fn prepare_insert(session: &Session) -> PreparedStatement {
    let mut insert = session.prepare("INSERT INTO c.t (k, a) VALUES (?, ?) IF NOT EXISTS").await.expect("prepare");
    insert.set_serial_consistency(Some(SerialConsistency::LocalSerial));
    insert
}

/// The row's `a`, read at SERIAL (which completes a proposal in progress first).
async fn serial_read(session: &Session, k: &str) -> Option<i32> {
    let mut select = session.prepare("SELECT a FROM c.t WHERE k = ?").await.expect("prepare");
    select.set_consistency(Consistency::Serial);
    let rows = session.execute_unpaged(&select, (k,)).await.expect("serial read").into_rows_result().expect("rows");
    rows.maybe_first_row::<(Option<i32>,)>().expect("typed").and_then(|(a,)| a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_rivals_get_one_winner_and_every_other_answer_agrees_with_it() {
    // A high unknown rate and a short contention timeout, so every kind of answer comes up.
    let config = PaxosConfig { contention_timeout: Duration::from_millis(150), unknown_rate: 0.2, seed: 13, draw_alone: false };
    let (_cluster, session) = start(config).await;
    let insert = prepare_insert(&session).await;
    let mut counts = [0usize; 4];
    for round in 0..10 {
        let k = format!("sku-{round}");
        let rivals: Vec<_> = (0..20)
            .map(|a| {
                let (session, insert, k) = (session.clone(), insert.clone(), k.clone());
                tokio::spawn(async move { claim(&session, &insert, &k, a).await })
            })
            .collect();
        let mut answers = Vec::new();
        for r in rivals {
            answers.push(r.await.expect("rival"));
        }
        let row = serial_read(&session, &k).await;
        let winners: Vec<i32> = (0..20).filter(|a| answers[*a as usize] == Answer::Applied).collect();
        assert!(winners.len() <= 1, "round {round}: {answers:?}");
        if let [w] = winners[..] {
            assert_eq!(row, Some(w), "round {round}: the winner's row is the row");
        }
        for (a, answer) in answers.iter().enumerate() {
            match answer {
                Answer::Held(held) => assert_eq!(Some(*held), row, "round {round}: rival {a} saw another row"),
                // An unknown outcome may be the row, but only if nobody else won.
                Answer::CasTimeout { .. } if row == Some(a as i32) => assert!(winners.is_empty(), "round {round}"),
                _ => {}
            }
        }
        if let (true, Some(owner)) = (winners.is_empty(), row) {
            let owner = owner as usize;
            assert!(matches!(answers[owner], Answer::CasTimeout { .. }), "round {round}: a row nobody was told about: {answers:?}");
        }
        for answer in &answers {
            counts[match answer {
                Answer::Applied => 0,
                Answer::Held(_) => 1,
                Answer::CasTimeout { received: 1 } => 2,
                Answer::CasTimeout { .. } => 3,
            }] += 1;
        }
    }
    println!("applied {} / not applied {} / unknown {} / contention timeout {}", counts[0], counts[1], counts[2], counts[3]);
    assert_eq!(counts.iter().sum::<usize>(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_completed_by_the_next_round_or_lost_for_good() {
    // Alone and in sequence, the seeded draws repeat exactly: both fates come up.
    let config = PaxosConfig { unknown_rate: 0.5, seed: 3, draw_alone: true, ..Default::default() };
    let (_cluster, session) = start(config).await;
    let insert = prepare_insert(&session).await;
    let (mut completed, mut lost) = (0, 0);
    for i in 0..30 {
        let k = format!("k{i}");
        if claim(&session, &insert, &k, 1).await != (Answer::CasTimeout { received: 1 }) {
            continue;
        }
        let seen = serial_read(&session, &k).await;
        let again = loop {
            match claim(&session, &insert, &k, 2).await {
                Answer::CasTimeout { .. } => continue,
                settled => break settled,
            }
        };
        match seen {
            Some(1) => {
                assert_eq!(again, Answer::Held(1), "{k}: completed by the SERIAL read, so the next round sees it");
                completed += 1;
            }
            None => {
                assert_eq!(again, Answer::Applied, "{k}: lost, so the key is free");
                lost += 1;
            }
            other => panic!("{k}: {other:?}"),
        }
    }
    assert!(completed > 0 && lost > 0, "completed {completed}, lost {lost}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_that_runs_out_of_contention_time_answers_a_cas_write_timeout() {
    let config = PaxosConfig { contention_timeout: Duration::ZERO, ..Default::default() };
    let (_cluster, session) = start(config).await;
    let insert = prepare_insert(&session).await;
    assert_eq!(claim(&session, &insert, "k", 1).await, Answer::CasTimeout { received: 0 });
    assert_eq!(serial_read(&session, "k").await, None, "a round that never proposed leaves nothing");
}
