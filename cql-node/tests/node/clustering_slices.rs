//! Slices on a clustering column (`c < ?`, `c >= ?`...) after an `=` prefix, in both
//! clustering orders and both read directions, answer exactly the matching rows: the node
//! finds them by binary search rather than by stepping through the partition, and this pins
//! that the search keeps every row the filter would (bounds between, on and beyond the rows).

use crate::support;

use scylla::client::session::Session;
use support::{keyspace, node, session};

async fn values(s: &Session, query: &str, bind: i32) -> Vec<i32> {
    let rows = s.query_unpaged(query, (bind,)).await.expect(query).into_rows_result().expect("rows");
    rows.rows::<(i32,)>().expect("typed").map(|r| r.expect("row").0).collect()
}

#[tokio::test]
async fn slices_after_an_equality_prefix_keep_exactly_the_matching_rows() {
    let n = node().await;
    let s = session(n.addr()).await;
    keyspace(&s, "sl").await;
    s.use_keyspace("sl", false).await.unwrap();
    for order in ["ASC", "DESC"] {
        let table = format!("t_{}", order.to_lowercase());
        s.query_unpaged(
            format!("CREATE TABLE {table} (p int, a int, c int, v int, PRIMARY KEY (p, a, c)) WITH CLUSTERING ORDER BY (a ASC, c {order})"),
            (),
        )
        .await
        .unwrap();
        // Even values 0..=40 under a = 1, with neighbours under a = 0 and a = 2 that no slice
        // of a = 1 may reach.
        for a in 0..3 {
            for c in (0..=40).step_by(2) {
                s.query_unpaged(format!("INSERT INTO {table} (p, a, c, v) VALUES (1, ?, ?, ?)"), (a, c, c)).await.unwrap();
            }
        }
        for (op, keep) in [
            ("<", (|c: i32, b: i32| c < b) as fn(i32, i32) -> bool),
            ("<=", |c, b| c <= b),
            (">", |c, b| c > b),
            (">=", |c, b| c >= b),
        ] {
            for bound in [-5, 0, 1, 17, 18, 40, 41, 99] {
                let mut want: Vec<i32> = (0..=40).step_by(2).filter(|&c| keep(c, bound)).collect();
                for (direction, reversed) in [("ASC", false), ("DESC", true)] {
                    let query = format!("SELECT c FROM {table} WHERE p = 1 AND a = 1 AND c {op} ? ORDER BY a {direction}, c {}",
                        if (order == "ASC") != reversed { "ASC" } else { "DESC" });
                    let got = values(&s, &query, bound).await;
                    let mut expected = want.clone();
                    // Rows come in clustering order, or reversed.
                    if (order == "DESC") != reversed {
                        expected.reverse();
                    }
                    assert_eq!(got, expected, "{query} with {bound}");
                }
                want.clear();
            }
        }
        // Two slices on one column intersect.
        let both = values(&s, &format!("SELECT c FROM {table} WHERE p = 1 AND a = 1 AND c > 10 AND c <= ?"), 20).await;
        let mut expected = vec![12, 14, 16, 18, 20];
        if order == "DESC" {
            expected.reverse();
        }
        assert_eq!(both, expected, "{table}");
    }
}
