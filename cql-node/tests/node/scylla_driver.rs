//! The real scylla driver 1.x, default session config (schema metadata fetching on), against
//! the node over the real protocol.

use crate::support;

use std::sync::Arc;

use scylla::errors::DbError;
use scylla::response::{PagingState, PagingStateResponse};
use scylla::statement::batch::{Batch, BatchType};
use support::*;

#[tokio::test]
async fn create_insert_select_with_prepared_statements() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "shop").await;
    session
        .query_unpaged("CREATE TABLE shop.products (id uuid PRIMARY KEY, name text, price decimal, stock int)", ())
        .await
        .unwrap();
    let insert = session.prepare("INSERT INTO shop.products (id, name, stock) VALUES (?, ?, ?)").await.unwrap();
    let select = session.prepare("SELECT name, stock FROM shop.products WHERE id = ?").await.unwrap();
    assert_eq!(select.get_variable_pk_indexes().len(), 1, "partition-key index sent for routing");
    assert!(select.is_token_aware());
    let id = uuid::Uuid::new_v4();
    session.execute_unpaged(&insert, (id, "pen", 12i32)).await.unwrap();
    let row: (String, i32) = session
        .execute_unpaged(&select, (id,))
        .await
        .unwrap()
        .into_rows_result()
        .unwrap()
        .single_row()
        .unwrap();
    assert_eq!(row, ("pen".to_string(), 12));
    // The driver's schema metadata saw the table arrive.
    session.refresh_metadata().await.unwrap();
    let state = session.get_cluster_state();
    let ks = state.get_keyspace("shop").expect("keyspace in driver metadata");
    assert!(ks.tables.contains_key("products"), "table in driver metadata");
    node.stop().await;
}

#[tokio::test]
async fn use_keyspace_then_unqualified_names() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "u").await;
    session.use_keyspace("u", false).await.unwrap();
    session.query_unpaged("CREATE TABLE t (k int PRIMARY KEY, v int)", ()).await.unwrap();
    session.query_unpaged("INSERT INTO t (k, v) VALUES (1, 2)", ()).await.unwrap();
    let (v,): (i32,) =
        session.query_unpaged("SELECT v FROM t WHERE k = 1", ()).await.unwrap().into_rows_result().unwrap().single_row().unwrap();
    assert_eq!(v, 2);
    node.stop().await;
}

#[tokio::test]
async fn paging_resumes_with_the_paging_state() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "pg").await;
    session.query_unpaged("CREATE TABLE pg.t (p int, c int, PRIMARY KEY (p, c))", ()).await.unwrap();
    let insert = session.prepare("INSERT INTO pg.t (p, c) VALUES (?, ?)").await.unwrap();
    for c in 0..25i32 {
        session.execute_unpaged(&insert, (1i32, c)).await.unwrap();
    }
    let mut select = session.prepare("SELECT c FROM pg.t WHERE p = ?").await.unwrap();
    select.set_page_size(10);
    let mut state = PagingState::start();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (result, next) = session.execute_single_page(&select, (1i32,), state).await.unwrap();
        pages += 1;
        let rows = result.into_rows_result().unwrap();
        assert!(rows.rows_num() <= 10);
        for row in rows.rows::<(i32,)>().unwrap() {
            seen.push(row.unwrap().0);
        }
        match next {
            PagingStateResponse::HasMorePages { state: s } => state = s,
            PagingStateResponse::NoMorePages => break,
        }
    }
    assert_eq!(seen, (0..25).collect::<Vec<_>>(), "every row once, in clustering order");
    assert!(pages >= 3);
    node.stop().await;
}

#[tokio::test]
async fn lightweight_transactions_report_applied() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "lwt").await;
    session.query_unpaged("CREATE TABLE lwt.t (k int PRIMARY KEY, v text)", ()).await.unwrap();
    let insert = session.prepare("INSERT INTO lwt.t (k, v) VALUES (?, ?) IF NOT EXISTS").await.unwrap();
    let first = session.execute_unpaged(&insert, (1i32, "a")).await.unwrap().into_rows_result().unwrap();
    let (applied,): (bool,) = first.single_row().expect("only [applied] when applied, as Cassandra answers");
    assert!(applied);
    let second = session.execute_unpaged(&insert, (1i32, "b")).await.unwrap().into_rows_result().unwrap();
    let (applied, k, v): (bool, Option<i32>, Option<String>) = second.single_row().unwrap();
    assert!(!applied);
    assert_eq!((k, v.as_deref()), (Some(1), Some("a")), "the current row comes back");
    node.stop().await;
}

#[tokio::test]
async fn batches_apply_every_statement() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "b").await;
    session.query_unpaged("CREATE TABLE b.t (k int PRIMARY KEY, v int)", ()).await.unwrap();
    let prepared = session.prepare("INSERT INTO b.t (k, v) VALUES (?, ?)").await.unwrap();
    for kind in [BatchType::Logged, BatchType::Unlogged] {
        let mut batch = Batch::new(kind);
        batch.append_statement(prepared.clone());
        batch.append_statement("INSERT INTO b.t (k, v) VALUES (100, 100)");
        batch.append_statement(prepared.clone());
        session.batch(&batch, ((1i32, 10i32), (), (2i32, 20i32))).await.unwrap();
    }
    let rows = session.query_unpaged("SELECT k, v FROM b.t", ()).await.unwrap().into_rows_result().unwrap();
    let mut got: Vec<(i32, i32)> = rows.rows().unwrap().map(Result::unwrap).collect();
    got.sort();
    assert_eq!(got, vec![(1, 10), (2, 20), (100, 100)]);
    node.stop().await;
}

#[tokio::test]
async fn errors_surface_as_the_right_db_errors() {
    let node = node().await;
    let session = session(node.addr()).await;
    keyspace(&session, "e").await;

    let err = session.query_unpaged("SELEKT * FROM e.t", ()).await.unwrap_err();
    assert!(matches!(db_error(&err), Some((DbError::SyntaxError, _))), "{err:?}");

    let err = session.query_unpaged("SELECT * FROM e.missing", ()).await.unwrap_err();
    assert!(matches!(db_error(&err), Some((DbError::Invalid, _))), "{err:?}");

    let err = session
        .query_unpaged("CREATE KEYSPACE e WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}", ())
        .await
        .unwrap_err();
    assert!(matches!(db_error(&err), Some((DbError::AlreadyExists { keyspace, .. }, _)) if keyspace == "e"), "{err:?}");
    node.stop().await;
}

/// Many requests in flight on the driver's connection at once, all answered correctly.
#[tokio::test]
async fn many_concurrent_streams() {
    let node = node().await;
    let session = Arc::new(session(node.addr()).await);
    keyspace(&session, "c").await;
    session.query_unpaged("CREATE TABLE c.t (k int PRIMARY KEY, v int)", ()).await.unwrap();
    let insert = session.prepare("INSERT INTO c.t (k, v) VALUES (?, ?)").await.unwrap();
    let select = session.prepare("SELECT v FROM c.t WHERE k = ?").await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..500i32 {
        let (session, insert, select) = (session.clone(), insert.clone(), select.clone());
        tasks.spawn(async move {
            session.execute_unpaged(&insert, (k, k * 3)).await.unwrap();
            let (v,): (i32,) = session.execute_unpaged(&select, (k,)).await.unwrap().into_rows_result().unwrap().single_row().unwrap();
            assert_eq!(v, k * 3);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("every request answered correctly");
    }
    node.stop().await;
}

/// A node stopped and started again on the same address with the same engine keeps its data,
/// and the driver reconnects to it.
#[tokio::test]
async fn restart_on_the_same_address_keeps_data() {
    let node = node().await;
    let addr = node.addr();
    let engine = node.engine().clone();
    let session = session(addr).await;
    keyspace(&session, "r").await;
    session.query_unpaged("CREATE TABLE r.t (k int PRIMARY KEY)", ()).await.unwrap();
    session.query_unpaged("INSERT INTO r.t (k) VALUES (7)", ()).await.unwrap();
    node.stop().await;
    let node = cql_node::server::Node::builder().bind(addr).engine(engine).start().await.expect("restarts on the same address");
    let fresh = support::session(addr).await;
    let rows = fresh.query_unpaged("SELECT k FROM r.t", ()).await.unwrap().into_rows_result().unwrap();
    assert_eq!(rows.rows_num(), 1);
    node.stop().await;
}
