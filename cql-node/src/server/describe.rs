//! Server-side DESCRIBE, as Cassandra 4.x answers it: cqlsh >= 6 sends `DESCRIBE ...` to any
//! server whose release_version is 4 or more and prints the rows it gets back (columns
//! `keyspace_name, type, name[, create_statement]`). Built here, on top of the engine's
//! public API, from the same `system_schema` tables drivers read, so it cannot disagree
//! with them.

use bytes::Bytes;

use crate::engine::{BoundValues, ColumnSpec, Engine, ExecContext, Outcome, QueryParams, Rows};
use crate::error::{CqlError, CqlResult};
use crate::types::{ColumnType, Consistency};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Describe {
    Cluster,
    Keyspaces,
    Tables,
    Keyspace(Option<String>),
    Table(Option<String>, String),
}

/// Recognises the DESCRIBE forms served here; `None` leaves the text to the engine.
pub fn parse(query: &str) -> Option<Describe> {
    let text = query.trim().trim_end_matches(';').trim();
    let mut words = text.split_whitespace();
    let first = words.next()?.to_ascii_lowercase();
    if first != "describe" && first != "desc" {
        return None;
    }
    let what = words.next().map(|w| w.to_ascii_lowercase());
    let arg = words.next();
    if words.next().is_some() {
        return None;
    }
    Some(match (what.as_deref(), arg) {
        (Some("cluster"), None) => Describe::Cluster,
        (Some("keyspaces"), None) => Describe::Keyspaces,
        (Some("tables") | Some("columnfamilies"), None) => Describe::Tables,
        (Some("keyspace"), ks) => Describe::Keyspace(ks.map(unquote)),
        (Some("table") | Some("columnfamily"), Some(name)) => {
            let (ks, table) = split_name(name);
            Describe::Table(ks, table)
        }
        _ => return None,
    })
}

fn unquote(name: &str) -> String {
    match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => name.to_ascii_lowercase(),
    }
}

fn split_name(name: &str) -> (Option<String>, String) {
    match name.split_once('.') {
        Some((ks, t)) => (Some(unquote(ks)), unquote(t)),
        None => (None, unquote(name)),
    }
}

fn params() -> QueryParams {
    QueryParams {
        consistency: Consistency::One,
        values: BoundValues::Positional(Vec::new()),
        skip_metadata: false,
        page_size: None,
        paging_state: None,
        serial_consistency: None,
        timestamp: None,
    }
}

fn select(engine: &Engine, ctx: &ExecContext<'_>, cql: &str) -> CqlResult<Vec<Vec<Option<Bytes>>>> {
    let p = engine.prepare(cql, None)?;
    match engine.execute(ctx, &p, &params())? {
        Outcome::Rows(rows) => Ok(rows.rows),
        _ => Err(CqlError::server(format!("no rows from {cql}"))),
    }
}

fn text(cell: &Option<Bytes>) -> String {
    cell.as_deref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

fn int(cell: &Option<Bytes>) -> i32 {
    cell.as_deref().and_then(|b| b.try_into().ok()).map(i32::from_be_bytes).unwrap_or(-1)
}

/// A map<text, text> cell in its protocol encoding.
fn text_map(cell: &Option<Bytes>) -> Vec<(String, String)> {
    let Some(b) = cell.as_deref() else { return Vec::new() };
    let mut out = Vec::new();
    let mut at = 0usize;
    let next = |at: &mut usize| -> Option<String> {
        let len = i32::from_be_bytes(b.get(*at..*at + 4)?.try_into().ok()?);
        *at += 4;
        let s = String::from_utf8_lossy(b.get(*at..*at + usize::try_from(len).ok()?)?).into_owned();
        *at += len as usize;
        Some(s)
    };
    let Some(n) = b.get(0..4).map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]])) else { return out };
    at += 4;
    for _ in 0..n {
        match (next(&mut at), next(&mut at)) {
            (Some(k), Some(v)) => out.push((k, v)),
            _ => break,
        }
    }
    out
}

/// A name as CQL needs it written: quoted unless it is a plain lower-case identifier.
fn ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// A keyspace's name, replication options and durable_writes.
type KeyspaceRow = (String, Vec<(String, String)>, bool);

fn keyspaces(engine: &Engine, ctx: &ExecContext<'_>) -> CqlResult<Vec<KeyspaceRow>> {
    let mut out: Vec<_> = select(engine, ctx, "SELECT keyspace_name, replication, durable_writes FROM system_schema.keyspaces")?
        .iter()
        .map(|r| (text(&r[0]), text_map(&r[1]), r[2].as_deref() != Some(&[0][..])))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn tables(engine: &Engine, ctx: &ExecContext<'_>) -> CqlResult<Vec<(String, String)>> {
    let mut out: Vec<_> = select(engine, ctx, "SELECT keyspace_name, table_name FROM system_schema.tables")?
        .iter()
        .map(|r| (text(&r[0]), text(&r[1])))
        .collect();
    out.sort();
    Ok(out)
}

struct Column {
    name: String,
    kind: String,
    position: i32,
    ty: String,
    order: String,
}

fn create_table(engine: &Engine, ctx: &ExecContext<'_>, ks: &str, table: &str) -> CqlResult<String> {
    let mut cols: Vec<Column> = select(
        engine,
        ctx,
        "SELECT keyspace_name, table_name, column_name, kind, position, type, clustering_order FROM system_schema.columns",
    )?
    .iter()
    .filter(|r| text(&r[0]) == ks && text(&r[1]) == table)
    .map(|r| Column { name: text(&r[2]), kind: text(&r[3]), position: int(&r[4]), ty: text(&r[5]), order: text(&r[6]) })
    .collect();
    let by_kind = |kind: &str, cols: &[Column]| -> Vec<(i32, String, String)> {
        let mut v: Vec<_> =
            cols.iter().filter(|c| c.kind == kind).map(|c| (c.position, c.name.clone(), c.order.clone())).collect();
        v.sort();
        v
    };
    let pk = by_kind("partition_key", &cols);
    let ck = by_kind("clustering", &cols);
    // Cassandra lists key columns first (in key order), then the others by name.
    cols.sort_by(|a, b| {
        let rank = |c: &Column| match c.kind.as_str() {
            "partition_key" => (0, c.position, String::new()),
            "clustering" => (1, c.position, String::new()),
            "static" => (2, 0, c.name.clone()),
            _ => (3, 0, c.name.clone()),
        };
        rank(a).cmp(&rank(b))
    });
    let simple_key = pk.len() == 1 && ck.is_empty();
    let mut lines = Vec::new();
    for c in &cols {
        let mut line = format!("    {} {}", ident(&c.name), c.ty);
        if c.kind == "static" {
            line.push_str(" static");
        }
        if simple_key && c.kind == "partition_key" {
            line.push_str(" PRIMARY KEY");
        }
        lines.push(line);
    }
    if !simple_key {
        let names = |v: &[(i32, String, String)]| v.iter().map(|(_, n, _)| ident(n)).collect::<Vec<_>>().join(", ");
        let partition = if pk.len() == 1 { names(&pk) } else { format!("({})", names(&pk)) };
        let key = if ck.is_empty() { partition } else { format!("{partition}, {}", names(&ck)) };
        lines.push(format!("    PRIMARY KEY ({key})"));
    }
    let mut stmt = format!("CREATE TABLE {}.{} (\n{}\n)", ident(ks), ident(table), lines.join(",\n"));
    if !ck.is_empty() {
        let orders: Vec<String> =
            ck.iter().map(|(_, n, o)| format!("{} {}", ident(n), if o.eq_ignore_ascii_case("desc") { "DESC" } else { "ASC" })).collect();
        stmt.push_str(&format!(" WITH CLUSTERING ORDER BY ({})", orders.join(", ")));
    }
    stmt.push(';');
    Ok(stmt)
}

fn create_keyspace(name: &str, replication: &[(String, String)], durable: bool) -> String {
    let mut repl: Vec<_> = replication.to_vec();
    // 'class' first, as Cassandra prints it.
    repl.sort_by_key(|(k, _)| (k != "class", k.clone()));
    let repl = repl.iter().map(|(k, v)| format!("'{k}': '{v}'")).collect::<Vec<_>>().join(", ");
    format!("CREATE KEYSPACE {} WITH replication = {{{repl}}}  AND durable_writes = {durable};", ident(name))
}

fn spec(name: &str) -> ColumnSpec {
    ColumnSpec { keyspace: String::new(), table: String::new(), name: name.into(), ty: ColumnType::Varchar }
}

fn cell(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

/// Runs a DESCRIBE and shapes the rows as Cassandra 4.1 does.
pub fn execute(engine: &Engine, ctx: &ExecContext<'_>, what: &Describe) -> CqlResult<Outcome> {
    let list = |rows: Vec<Vec<Option<Bytes>>>| {
        Outcome::Rows(Rows { columns: vec![spec("keyspace_name"), spec("type"), spec("name")], rows, paging_state: None })
    };
    let elements = |rows: Vec<Vec<Option<Bytes>>>| {
        Outcome::Rows(Rows {
            columns: vec![spec("keyspace_name"), spec("type"), spec("name"), spec("create_statement")],
            rows,
            paging_state: None,
        })
    };
    let current = || ctx.keyspace.map(str::to_string);
    match what {
        Describe::Cluster => Ok(Outcome::Rows(Rows {
            columns: vec![spec("cluster"), spec("partitioner"), spec("snitch")],
            rows: vec![vec![
                cell(&ctx.node.cluster_name),
                cell(&ctx.node.partitioner),
                cell("org.apache.cassandra.locator.SimpleSnitch"),
            ]],
            paging_state: None,
        })),
        Describe::Keyspaces => {
            Ok(list(keyspaces(engine, ctx)?.into_iter().map(|(k, ..)| vec![cell(&k), cell("keyspace"), cell(&k)]).collect()))
        }
        Describe::Tables => {
            let only = current();
            Ok(list(
                tables(engine, ctx)?
                    .into_iter()
                    .filter(|(k, _)| only.as_ref().is_none_or(|o| o == k))
                    .map(|(k, t)| vec![cell(&k), cell("table"), cell(&t)])
                    .collect(),
            ))
        }
        Describe::Keyspace(ks) => {
            let ks = ks.clone().or_else(current).ok_or_else(|| CqlError::invalid("No keyspace specified and no current keyspace"))?;
            let all = keyspaces(engine, ctx)?;
            let (_, repl, durable) =
                all.iter().find(|(k, ..)| *k == ks).ok_or_else(|| CqlError::invalid(format!("'{ks}' not found in keyspaces")))?;
            let mut rows = vec![vec![cell(&ks), cell("keyspace"), cell(&ks), cell(&create_keyspace(&ks, repl, *durable))]];
            for (_, t) in tables(engine, ctx)?.into_iter().filter(|(k, _)| *k == ks) {
                rows.push(vec![cell(&ks), cell("table"), cell(&t), cell(&create_table(engine, ctx, &ks, &t)?)]);
            }
            Ok(elements(rows))
        }
        Describe::Table(ks, table) => {
            let ks = ks.clone().or_else(current).ok_or_else(|| CqlError::invalid("No keyspace specified and no current keyspace"))?;
            if !keyspaces(engine, ctx)?.iter().any(|(k, ..)| *k == ks) {
                return Err(CqlError::invalid(format!("'{ks}' not found in keyspaces")));
            }
            if !tables(engine, ctx)?.iter().any(|(k, t)| *k == ks && t == table) {
                return Err(CqlError::invalid(format!("'{table}' not found in keyspace '{ks}'")));
            }
            let stmt = create_table(engine, ctx, &ks, table)?;
            Ok(elements(vec![vec![cell(&ks), cell("table"), cell(table), cell(&stmt)]]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_cqlsh_sends() {
        assert_eq!(parse("DESCRIBE KEYSPACES"), Some(Describe::Keyspaces));
        assert_eq!(parse("desc tables;"), Some(Describe::Tables));
        assert_eq!(parse("DESCRIBE KEYSPACE Shop"), Some(Describe::Keyspace(Some("shop".into()))));
        assert_eq!(parse("DESCRIBE TABLE shop.\"Items\""), Some(Describe::Table(Some("shop".into()), "Items".into())));
        assert_eq!(parse("DESC TABLE t"), Some(Describe::Table(None, "t".into())));
        assert_eq!(parse("SELECT * FROM t"), None);
        assert_eq!(parse("DESCRIBE CLUSTER"), Some(Describe::Cluster));
        assert_eq!(parse("DESCRIBE SCHEMA"), None);
    }

    #[test]
    fn decodes_replication_maps() {
        let mut b = Vec::new();
        b.extend_from_slice(&1i32.to_be_bytes());
        for s in ["class", "SimpleStrategy"] {
            b.extend_from_slice(&(s.len() as i32).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        assert_eq!(text_map(&Some(Bytes::from(b))), vec![("class".to_string(), "SimpleStrategy".to_string())]);
        assert!(text_map(&Some(Bytes::from_static(&[0, 0, 0, 5, 0]))).is_empty(), "truncated map yields nothing");
    }

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(ident("price_2"), "price_2");
        assert_eq!(ident("Name"), "\"Name\"");
    }
}
