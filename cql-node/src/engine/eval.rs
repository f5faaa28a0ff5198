//! Evaluation of resolved expressions against bound values, once per execution.

use bytes::Bytes;

use super::BoundValue;
use super::plan::{Expr, KeyRestr};
use super::value::{decode_collection, decode_map, encode_collection, encode_map, normalize_map, normalize_set, validate};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Unset,
    V(Bytes),
}

impl Val {
    pub fn bytes(self) -> Option<Bytes> {
        match self {
            Val::V(b) => Some(b),
            _ => None,
        }
    }
}

/// What an execution needs to evaluate expressions: the bound values and the clock.
pub struct Env<'a> {
    pub binds: &'a [BoundValue],
    pub now_micros: i64,
}

fn now_v1(micros: i64) -> uuid::Uuid {
    // A time-based UUID for now(): 100ns ticks since 1582, random clock sequence and node.
    let secs = micros.div_euclid(1_000_000) as u64;
    let nanos = (micros.rem_euclid(1_000_000) * 1000) as u32;
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos);
    let rnd = uuid::Uuid::new_v4();
    let b = rnd.as_bytes();
    let node = [b[10] | 0x01, b[11], b[12], b[13], b[14], b[15]];
    let u = uuid::Uuid::new_v1(ts, &node);
    // Randomise the clock sequence so two now() in the same tick differ.
    let mut bytes = *u.as_bytes();
    bytes[8] = (bytes[8] & 0xc0) | (b[8] & 0x3f);
    bytes[9] = b[9];
    uuid::Uuid::from_bytes(bytes)
}

/// now() as its 16 bytes.
pub fn now_timeuuid(micros: i64) -> Bytes {
    Bytes::copy_from_slice(now_v1(micros).as_bytes())
}

fn timeuuid_millis(v: &[u8]) -> Option<i64> {
    if v.len() != 16 {
        return None;
    }
    let u = uuid::Uuid::from_slice(v).ok()?;
    let (s, n) = u.get_timestamp()?.to_unix();
    Some(s as i64 * 1000 + (n / 1_000_000) as i64)
}

pub fn eval(e: &Expr, env: &Env<'_>) -> CqlResult<Val> {
    Ok(match e {
        Expr::Const(None) => Val::Null,
        Expr::Const(Some(b)) => Val::V(b.clone()),
        Expr::Bind(i, ty, name) => match env.binds.get(*i) {
            Some(BoundValue::Bytes(b)) => {
                validate(ty, b, name)?;
                match ty {
                    ColumnType::Set(e) => {
                        let items = decode_collection(b).ok_or_else(|| CqlError::invalid("Invalid set value"))?;
                        let items = normalize_set(e, items.into_iter().flatten().collect());
                        Val::V(encode_collection(items.iter()))
                    }
                    ColumnType::Map(k, _) => {
                        let items = decode_map(b).ok_or_else(|| CqlError::invalid("Invalid map value"))?;
                        let items = normalize_map(k, items.into_iter().filter_map(|(k, v)| Some((k, v?))).collect());
                        Val::V(encode_map(items.iter().map(|(a, b)| (a, b))))
                    }
                    _ => Val::V(b.clone()),
                }
            }
            Some(BoundValue::Null) => Val::Null,
            Some(BoundValue::Unset) => Val::Unset,
            None => return Err(CqlError::invalid(format!("No value bound for {name}"))),
        },
        Expr::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match eval(it, env)? {
                    Val::V(b) => out.push(b),
                    _ => return Err(CqlError::invalid("null is not supported inside collections")),
                }
            }
            Val::V(encode_collection(out.iter()))
        }
        Expr::Set(ety, items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                match eval(it, env)? {
                    Val::V(b) => out.push(b),
                    _ => return Err(CqlError::invalid("null is not supported inside collections")),
                }
            }
            let out = normalize_set(ety, out);
            Val::V(encode_collection(out.iter()))
        }
        Expr::Map(kty, items) => {
            let mut out = Vec::with_capacity(items.len());
            for (k, v) in items {
                match (eval(k, env)?, eval(v, env)?) {
                    (Val::V(a), Val::V(b)) => out.push((a, b)),
                    _ => return Err(CqlError::invalid("null is not supported inside collections")),
                }
            }
            let out = normalize_map(kty, out);
            Val::V(encode_map(out.iter().map(|(a, b)| (a, b))))
        }
        Expr::Tuple(items) => {
            let mut out = Vec::new();
            for it in items {
                match eval(it, env)? {
                    Val::V(b) => {
                        out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        out.extend_from_slice(&b);
                    }
                    _ => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
            Val::V(Bytes::from(out))
        }
        Expr::Now => Val::V(Bytes::copy_from_slice(now_v1(env.now_micros).as_bytes())),
        Expr::NewUuid => Val::V(Bytes::copy_from_slice(uuid::Uuid::new_v4().as_bytes())),
        Expr::CurrentTimestamp => Val::V(Bytes::copy_from_slice(&(env.now_micros / 1000).to_be_bytes())),
        Expr::CurrentDate => {
            let days = (env.now_micros / 1000).div_euclid(86_400_000);
            Val::V(Bytes::copy_from_slice(&((days + (1i64 << 31)) as u32).to_be_bytes()))
        }
        Expr::ToTimestamp(inner) | Expr::ToUnixTimestamp(inner) | Expr::ToDate(inner) => match eval(inner, env)? {
            Val::V(b) => {
                let ms = timeuuid_millis(&b).ok_or_else(|| CqlError::invalid("Invalid timeuuid argument"))?;
                match e {
                    Expr::ToDate(_) => {
                        let days = ms.div_euclid(86_400_000);
                        Val::V(Bytes::copy_from_slice(&((days + (1i64 << 31)) as u32).to_be_bytes()))
                    }
                    _ => Val::V(Bytes::copy_from_slice(&ms.to_be_bytes())),
                }
            }
            other => other,
        },
        Expr::TupleList(inner) => eval(inner, env)?,
        Expr::Token(parts) => {
            let mut vals = Vec::with_capacity(parts.len());
            for p in parts {
                match eval(p, env)? {
                    Val::V(b) => vals.push(b),
                    _ => return Ok(Val::Null),
                }
            }
            let refs: Vec<&[u8]> = vals.iter().map(|b| &b[..]).collect();
            let key = super::token::serialize_partition_key(&refs);
            Val::V(Bytes::copy_from_slice(&super::token::token_of(&key).to_be_bytes()))
        }
    })
}

/// The values of an `=`/`IN` restriction; null or unset values are errors named after `col`.
pub fn eval_restr(r: &KeyRestr, env: &Env<'_>, col: &str) -> CqlResult<Vec<Bytes>> {
    let one = |v: Val| -> CqlResult<Bytes> {
        match v {
            Val::V(b) => Ok(b),
            Val::Null => Err(CqlError::invalid(format!("Invalid null value in condition for column {col}"))),
            Val::Unset => Err(CqlError::invalid(format!("Invalid unset value for column {col}"))),
        }
    };
    match r {
        KeyRestr::Eq(e) => Ok(vec![one(eval(e, env)?)?]),
        KeyRestr::In(es) => es.iter().map(|e| one(eval(e, env)?)).collect(),
        KeyRestr::InMarker(e) => match eval(e, env)? {
            Val::V(b) => {
                let items = decode_collection(&b).ok_or_else(|| CqlError::invalid("Invalid list value for IN"))?;
                items
                    .into_iter()
                    .map(|x| x.ok_or_else(|| CqlError::invalid(format!("Invalid null value in condition for column {col}"))))
                    .collect()
            }
            Val::Null => Err(CqlError::invalid(format!("Invalid null value for IN restriction on column {col}"))),
            Val::Unset => Err(CqlError::invalid(format!("Invalid unset value for column {col}"))),
        },
    }
}

/// Restriction values that may contain null (conditions): `None` is null.
pub fn eval_restr_nullable(r: &KeyRestr, env: &Env<'_>) -> CqlResult<Vec<Option<Bytes>>> {
    let one = |v: Val| -> CqlResult<Option<Bytes>> {
        match v {
            Val::V(b) => Ok(Some(b)),
            Val::Null => Ok(None),
            Val::Unset => Err(CqlError::invalid("Invalid unset value in condition")),
        }
    };
    match r {
        KeyRestr::Eq(e) => Ok(vec![one(eval(e, env)?)?]),
        KeyRestr::In(es) => es.iter().map(|e| one(eval(e, env)?)).collect(),
        KeyRestr::InMarker(e) => match eval(e, env)? {
            Val::V(b) => Ok(decode_collection(&b).ok_or_else(|| CqlError::invalid("Invalid list value for IN"))?),
            _ => Ok(vec![]),
        },
    }
}
