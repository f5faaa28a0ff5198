//! Cassandra 4.1's native scalar functions in selectors (cql3/functions TimeFcts, UuidFcts,
//! BytesConversionFcts): resolved once against the argument types, as Cassandra picks an
//! overload, then evaluated per row. A null argument gives null, as in Cassandra.

use bytes::Bytes;

use super::value::{type_name, validate};
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

/// A selector expression: a column of the row, or a function of selector expressions.
#[derive(Debug, Clone)]
pub enum SelExpr {
    Col(usize),
    Call(Scalar, Vec<SelExpr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Now,
    Uuid,
    CurrentTimestamp,
    CurrentDate,
    CurrentTime,
    /// toTimestamp / dateOf: from a timeuuid or a date.
    ToTimestamp(ColumnType),
    /// toDate: from a timeuuid or a timestamp.
    ToDate(ColumnType),
    /// toUnixTimestamp / unixTimestampOf: milliseconds of a timeuuid, timestamp or date.
    ToUnix(ColumnType),
    MinTimeuuid,
    MaxTimeuuid,
    /// `<type>AsBlob`: the same bytes, typed blob.
    AsBlob,
    /// `blobAs<type>`: the bytes checked against the type.
    BlobAs(ColumnType),
    /// `CAST(x AS type)`: a `castAs<Type>` overload (`cast.rs`).
    Cast(super::cast::Cast),
}

const DAY_MS: i64 = 86_400_000;
const EPOCH_DAY: i64 = 1 << 31;
/// 100 ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: i64 = 0x01B2_1DD2_1381_4000;

fn scalar_types() -> &'static [(&'static str, ColumnType)] {
    use ColumnType::*;
    &[
        ("ascii", Ascii),
        ("bigint", Bigint),
        ("boolean", Boolean),
        ("counter", Counter),
        ("date", Date),
        ("decimal", Decimal),
        ("double", Double),
        ("float", Float),
        ("inet", Inet),
        ("int", Int),
        ("smallint", Smallint),
        ("text", Varchar),
        ("time", Time),
        ("timestamp", Timestamp),
        ("timeuuid", Timeuuid),
        ("tinyint", Tinyint),
        ("uuid", Uuid),
        ("varchar", Varchar),
        ("varint", Varint),
    ]
}

fn no_signature(name: &str, sigs: &str) -> CqlError {
    CqlError::invalid(format!(
        "Invalid call to function {name}, none of its type signatures match (known type signatures: {sigs})"
    ))
}

/// Cassandra's refusal of a call with the wrong number of arguments (selectors here, values in
/// `plan.rs`).
pub(super) fn argc(name: &str, provided: usize, n: usize) -> CqlResult<()> {
    if provided == n {
        Ok(())
    } else {
        Err(CqlError::invalid(format!(
            "Invalid number of arguments in call to function system.{name}: {n} required but {provided} provided"
        )))
    }
}

/// Resolves `name(args)` (lower-cased name, argument types); `None` when no native scalar
/// function has that name. Returns the function and its result type.
pub fn resolve(name: &str, args: &[ColumnType]) -> Option<CqlResult<(Scalar, ColumnType)>> {
    use ColumnType as T;
    let one = |f: &dyn Fn(&T) -> Option<(Scalar, T)>, sigs: &str| -> CqlResult<(Scalar, T)> {
        argc(name, args.len(), 1)?;
        f(&args[0]).ok_or_else(|| no_signature(name, sigs))
    };
    let none = |s: Scalar, t: T| -> CqlResult<(Scalar, T)> {
        argc(name, args.len(), 0)?;
        Ok((s, t))
    };
    Some(match name {
        "now" | "currenttimeuuid" => none(Scalar::Now, T::Timeuuid),
        "uuid" => none(Scalar::Uuid, T::Uuid),
        "currenttimestamp" => none(Scalar::CurrentTimestamp, T::Timestamp),
        "currentdate" => none(Scalar::CurrentDate, T::Date),
        "currenttime" => none(Scalar::CurrentTime, T::Time),
        "totimestamp" => one(
            &|a| matches!(a, T::Timeuuid | T::Date).then(|| (Scalar::ToTimestamp(a.clone()), T::Timestamp)),
            "system.totimestamp : (timeuuid) -> timestamp, system.totimestamp : (date) -> timestamp",
        ),
        "dateof" => one(
            &|a| matches!(a, T::Timeuuid).then(|| (Scalar::ToTimestamp(a.clone()), T::Timestamp)),
            "system.dateof : (timeuuid) -> timestamp",
        ),
        "todate" => one(
            &|a| matches!(a, T::Timeuuid | T::Timestamp).then(|| (Scalar::ToDate(a.clone()), T::Date)),
            "system.todate : (timeuuid) -> date, system.todate : (timestamp) -> date",
        ),
        "tounixtimestamp" => one(
            &|a| matches!(a, T::Timeuuid | T::Timestamp | T::Date).then(|| (Scalar::ToUnix(a.clone()), T::Bigint)),
            "system.tounixtimestamp : (timeuuid) -> bigint, system.tounixtimestamp : (timestamp) -> bigint, system.tounixtimestamp : (date) -> bigint",
        ),
        "unixtimestampof" => one(
            &|a| matches!(a, T::Timeuuid).then(|| (Scalar::ToUnix(a.clone()), T::Bigint)),
            "system.unixtimestampof : (timeuuid) -> bigint",
        ),
        "mintimeuuid" | "maxtimeuuid" => one(
            &|a| {
                let f = if name == "mintimeuuid" { Scalar::MinTimeuuid } else { Scalar::MaxTimeuuid };
                matches!(a, T::Timestamp).then_some((f, T::Timeuuid))
            },
            &format!("system.{name} : (timestamp) -> timeuuid"),
        ),
        _ => {
            if let Some(ty) = name.strip_suffix("asblob") {
                let (_, t) = scalar_types().iter().find(|(n, _)| *n == ty)?;
                return Some(one(&|a| (a == t).then_some((Scalar::AsBlob, T::Blob)), &format!("system.{name} : ({ty}) -> blob")));
            }
            let ty = name.strip_prefix("blobas")?;
            let (_, t) = scalar_types().iter().find(|(n, _)| *n == ty)?;
            one(&|a| (*a == T::Blob).then(|| (Scalar::BlobAs(t.clone()), t.clone())), &format!("system.{name} : (blob) -> {ty}"))
        }
    })
}

fn millis_of(ty: &ColumnType, v: &[u8]) -> Option<i64> {
    match ty {
        ColumnType::Timeuuid => {
            let u = uuid::Uuid::from_slice(v).ok()?;
            let (s, n) = u.get_timestamp()?.to_unix();
            Some(s as i64 * 1000 + (n / 1_000_000) as i64)
        }
        ColumnType::Timestamp => Some(i64::from_be_bytes(v.try_into().ok()?)),
        ColumnType::Date => Some((u32::from_be_bytes(v.try_into().ok()?) as i64 - EPOCH_DAY) * DAY_MS),
        _ => None,
    }
}

/// A version-1 UUID at `ms` with Cassandra's extreme clock-and-node bytes (UUIDGen).
fn bound_timeuuid(ms: i64, max: bool) -> Bytes {
    let ticks = if max {
        (ms + 1) * 10_000 + UUID_EPOCH_OFFSET - 1
    } else {
        ms * 10_000 + UUID_EPOCH_OFFSET
    };
    let msb = ((ticks & 0xFFFF_FFFF) << 32) | ((ticks & 0xFFFF_0000_0000) >> 16) | 0x1000 | ((ticks >> 48) & 0x0FFF);
    let lsb: u64 = if max { 0x7f7f_7f7f_7f7f_7f7f } else { 0x8080_8080_8080_8080 };
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&msb.to_be_bytes());
    out.extend_from_slice(&lsb.to_be_bytes());
    Bytes::from(out)
}

fn be<const N: usize>(b: [u8; N]) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&b))
}

/// Applies `f` to its evaluated arguments; `now_micros` is the statement's clock.
pub fn call(f: &Scalar, args: &[Option<Bytes>], now_micros: i64) -> CqlResult<Option<Bytes>> {
    let now_ms = now_micros.div_euclid(1000);
    let arg = args.first().cloned().flatten();
    Ok(match f {
        Scalar::Now => Some(super::eval::now_timeuuid(now_micros)),
        Scalar::Uuid => Some(Bytes::copy_from_slice(uuid::Uuid::new_v4().as_bytes())),
        Scalar::CurrentTimestamp => be(now_ms.to_be_bytes()),
        Scalar::CurrentDate => be(((now_ms.div_euclid(DAY_MS) + EPOCH_DAY) as u32).to_be_bytes()),
        Scalar::CurrentTime => be((now_micros.rem_euclid(DAY_MS * 1000) * 1000).to_be_bytes()),
        Scalar::ToTimestamp(ty) => arg.and_then(|v| millis_of(ty, &v)).and_then(|ms| be(ms.to_be_bytes())),
        Scalar::ToUnix(ty) => arg.and_then(|v| millis_of(ty, &v)).and_then(|ms| be(ms.to_be_bytes())),
        Scalar::ToDate(ty) => arg
            .and_then(|v| millis_of(ty, &v))
            .and_then(|ms| be(((ms.div_euclid(DAY_MS) + EPOCH_DAY) as u32).to_be_bytes())),
        Scalar::MinTimeuuid | Scalar::MaxTimeuuid => arg
            .and_then(|v| millis_of(&ColumnType::Timestamp, &v))
            .map(|ms| bound_timeuuid(ms, *f == Scalar::MaxTimeuuid)),
        Scalar::AsBlob => arg,
        Scalar::Cast(c) => return super::cast::apply(c, arg, now_micros),
        Scalar::BlobAs(ty) => match arg {
            None => None,
            Some(v) => {
                let ty_name = type_name(ty, false);
                if validate(ty, &v, &ty_name).is_err() {
                    return Err(CqlError::invalid(format!(
                        "In call to function system.blobas{ty_name}, value 0x{} is not a valid binary representation for type {ty_name}",
                        hex::encode(&v)
                    )));
                }
                Some(v)
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_and_max_timeuuid_bracket_every_timeuuid_of_their_millisecond() {
        let ms = 1_700_000_000_123i64;
        for (max, lsb) in [(false, 0x80u8), (true, 0x7f)] {
            let b = bound_timeuuid(ms, max);
            let u = uuid::Uuid::from_slice(&b).unwrap();
            assert_eq!(u.get_version_num(), 1);
            assert_eq!(millis_of(&ColumnType::Timeuuid, &b), Some(ms));
            assert!(b[8..].iter().all(|x| *x == lsb));
        }
    }
}
