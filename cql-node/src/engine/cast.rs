//! `CAST(x AS type)` in selectors, as Cassandra 4.1 resolves and runs it
//! (`cql3/selection/Selectable.WithCast`, `cql3/functions/CastFcts`): a cast to the argument's
//! own type is dropped; otherwise the native function `castAs<Type>` is looked up like any
//! overloaded function (an exact argument type wins, a value-compatible one is a weak match),
//! and runs with Java's conversions (`Number.intValue()` and friends, `BigDecimal.valueOf(double)`,
//! the serializers' CQL literal for text). A null argument gives null.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::BigInt;
use bytes::Bytes;

use super::value::type_name;
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

/// One `castAs<Type>` overload: its declared argument type and its result type.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub from: ColumnType,
    pub to: ColumnType,
}

/// What a cast resolves to at prepare time.
pub enum Resolved {
    /// The argument already has the type: Cassandra ignores the cast (and its column name).
    Identity,
    Call(Cast),
}

const NUMERIC: [ColumnType; 9] = [
    ColumnType::Tinyint,
    ColumnType::Smallint,
    ColumnType::Int,
    ColumnType::Bigint,
    ColumnType::Float,
    ColumnType::Double,
    ColumnType::Decimal,
    ColumnType::Counter,
    ColumnType::Varint,
];

/// The argument types of the `castAs<to>` overloads, in CastFcts' registration order; empty
/// when Cassandra has no function of that name.
fn overloads(to: &ColumnType) -> Vec<ColumnType> {
    use ColumnType as T;
    let numeric_to = matches!(to, T::Tinyint | T::Smallint | T::Int | T::Bigint | T::Float | T::Double | T::Decimal | T::Varint);
    if numeric_to {
        return NUMERIC.iter().filter(|t| *t != to).cloned().collect();
    }
    match to {
        T::Ascii | T::Varchar => {
            let mut v: Vec<T> = NUMERIC.to_vec();
            if *to == T::Varchar {
                v.push(T::Ascii);
            }
            v.extend([T::Inet, T::Boolean, T::Timeuuid, T::Timestamp, T::Date, T::Time, T::Uuid]);
            v
        }
        T::Date => vec![T::Timeuuid, T::Timestamp],
        T::Timestamp => vec![T::Timeuuid, T::Date],
        _ => Vec::new(),
    }
}

/// Types whose values an argument of type `param` also accepts (AbstractType
/// isValueCompatibleWith): bigint and varint read a timestamp's 8 bytes, varint an int's.
fn weakly_accepts(param: &ColumnType, arg: &ColumnType) -> bool {
    use ColumnType as T;
    matches!((param, arg), (T::Bigint, T::Timestamp) | (T::Varint, T::Timestamp | T::Int | T::Bigint))
}

/// Cassandra's CQL name of a type in a cast (`text` and `varchar` stay as written).
fn cql_name(t: &ColumnType, written_varchar: bool) -> String {
    if *t == ColumnType::Varchar {
        return if written_varchar { "varchar".into() } else { "text".into() };
    }
    type_name(t, false)
}

/// `castAsInt`: CastFcts.getFunctionName, the capitalised CQL type name.
fn function_name(to: &ColumnType, written_varchar: bool) -> String {
    let n = cql_name(to, written_varchar);
    let mut c = n.chars();
    let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or_default();
    format!("system.castAs{first}{}", c.as_str())
}

fn signature(name: &str, from: &ColumnType, to: &ColumnType) -> String {
    format!("{name} : ({}) -> {}", type_name(from, false), cql_name(to, false))
}

/// Resolves `CAST(arg AS to)`. `first_column` is the first column the selection names so far
/// (Cassandra names it, not the cast's argument, when no castAs function exists);
/// `written_varchar` whether the type was written `varchar` (its castAsVarchar does not exist).
pub fn resolve(arg: &ColumnType, to: &ColumnType, written_varchar: bool, first_column: Option<&str>) -> CqlResult<Resolved> {
    if arg == to {
        return Ok(Resolved::Identity);
    }
    let name = function_name(to, written_varchar);
    let params = if written_varchar { Vec::new() } else { overloads(to) };
    if params.is_empty() {
        let Some(first) = first_column else {
            return Err(CqlError::server("java.lang.IndexOutOfBoundsException: Index 0 out of bounds for length 0"));
        };
        return Err(CqlError::invalid(format!("{first} cannot be cast to {}", cql_name(to, written_varchar))));
    }
    if params.contains(arg) {
        return Ok(Resolved::Call(Cast { from: arg.clone(), to: to.clone() }));
    }
    let weak: Vec<&ColumnType> = params.iter().filter(|p| weakly_accepts(p, arg)).collect();
    match weak.as_slice() {
        [one] => Ok(Resolved::Call(Cast {
            from: (*one).clone(),
            to: to.clone(),
        })),
        [] => Err(CqlError::invalid(format!(
            "Invalid call to function {name}, none of its type signatures match (known type signatures: {})",
            params.iter().map(|p| signature(&name, p, to)).collect::<Vec<_>>().join(", ")
        ))),
        many => Err(CqlError::invalid(format!(
            "Ambiguous call to function {name} (can be matched by following signatures: {}): use type casts to disambiguate",
            many.iter().map(|p| signature(&name, p, to)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// A Java number as `Number` holds it, after composing the argument's bytes.
enum JNum {
    Long(i64),
    Float(f32),
    Double(f64),
    Dec(BigDecimal),
    Big(BigInt),
}

fn compose(ty: &ColumnType, v: &[u8]) -> Option<JNum> {
    use ColumnType as T;
    Some(match ty {
        T::Tinyint => JNum::Long(i8::from_be_bytes(v.try_into().ok()?) as i64),
        T::Smallint => JNum::Long(i16::from_be_bytes(v.try_into().ok()?) as i64),
        T::Int => JNum::Long(i32::from_be_bytes(v.try_into().ok()?) as i64),
        T::Bigint | T::Counter => JNum::Long(i64::from_be_bytes(v.try_into().ok()?)),
        T::Float => JNum::Float(f32::from_be_bytes(v.try_into().ok()?)),
        T::Double => JNum::Double(f64::from_be_bytes(v.try_into().ok()?)),
        T::Decimal => {
            let scale = i32::from_be_bytes(v.get(..4)?.try_into().ok()?);
            JNum::Dec(BigDecimal::new(BigInt::from_signed_bytes_be(&v[4..]), scale as i64))
        }
        T::Varint => JNum::Big(BigInt::from_signed_bytes_be(v)),
        _ => return None,
    })
}

/// The low 64 bits of an integer (BigInteger.longValue).
fn low_bits(b: &BigInt) -> i64 {
    let bytes = b.to_signed_bytes_le();
    let mut out = [if b.sign() == bigdecimal::num_bigint::Sign::Minus { 0xff } else { 0 }; 8];
    for (o, x) in out.iter_mut().zip(bytes.iter()) {
        *o = *x;
    }
    i64::from_le_bytes(out)
}

impl JNum {
    /// Number.longValue(): integers wrap, floating values saturate (NaN is 0), decimals
    /// truncate toward zero then keep the low 64 bits.
    fn long_value(&self) -> i64 {
        match self {
            JNum::Long(x) => *x,
            JNum::Float(f) => *f as i64,
            JNum::Double(d) => *d as i64,
            JNum::Dec(d) => low_bits(&d.with_scale(0).as_bigint_and_exponent().0),
            JNum::Big(b) => low_bits(b),
        }
    }
    /// Number.intValue(): a float or double saturates at int (not at long), the others wrap;
    /// byteValue/shortValue are `(byte)/(short) intValue()` in Java, hence `as i8/i16` of it.
    fn int_value(&self) -> i32 {
        match self {
            JNum::Float(f) => *f as i32,
            JNum::Double(d) => *d as i32,
            other => other.long_value() as i32,
        }
    }
    fn double_value(&self) -> f64 {
        match self {
            JNum::Long(x) => *x as f64,
            JNum::Float(f) => *f as f64,
            JNum::Double(d) => *d,
            JNum::Dec(d) => f64::from_str(&d.to_string()).unwrap_or(f64::NAN),
            JNum::Big(b) => f64::from_str(&b.to_string()).unwrap_or(f64::NAN),
        }
    }
    fn float_value(&self) -> f32 {
        match self {
            JNum::Long(x) => *x as f32,
            JNum::Float(f) => *f,
            JNum::Double(d) => *d as f32,
            JNum::Dec(d) => f32::from_str(&d.to_string()).unwrap_or(f32::NAN),
            JNum::Big(b) => f32::from_str(&b.to_string()).unwrap_or(f32::NAN),
        }
    }
    /// The serializer's CQL literal (toString; BigDecimal.toPlainString for decimals).
    fn text(&self) -> String {
        match self {
            JNum::Long(x) => x.to_string(),
            JNum::Float(f) => java_float_string(f.is_nan(), f.is_infinite(), *f == 0.0, f.is_sign_negative(), &format!("{f:e}")),
            JNum::Double(d) => java_float_string(d.is_nan(), d.is_infinite(), *d == 0.0, d.is_sign_negative(), &format!("{d:e}")),
            JNum::Dec(d) => plain_string(d),
            JNum::Big(b) => b.to_string(),
        }
    }
}

/// BigDecimal.toPlainString: no exponent, trailing zeros of the scale kept.
fn plain_string(d: &BigDecimal) -> String {
    let (u, scale) = d.as_bigint_and_exponent();
    if scale <= 0 {
        let mut s = u.to_string();
        if u.sign() != bigdecimal::num_bigint::Sign::NoSign {
            s.push_str(&"0".repeat((-scale) as usize));
        }
        return s;
    }
    let neg = u.sign() == bigdecimal::num_bigint::Sign::Minus;
    let digits = u.magnitude().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
    } else {
        digits
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{i}.{f}", if neg { "-" } else { "" })
}

/// Java's Float/Double.toString from Rust's shortest `{:e}` digits: plain notation with at
/// least one fraction digit for 1e-3 <= |x| < 1e7, else `d.dddE<n>`.
fn java_float_string(nan: bool, inf: bool, zero: bool, neg: bool, sci: &str) -> String {
    let sign = if neg { "-" } else { "" };
    if nan {
        return "NaN".into();
    }
    if inf {
        return format!("{sign}Infinity");
    }
    if zero {
        return format!("{sign}0.0");
    }
    let sci = sci.trim_start_matches('-');
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    if (-3..7).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let s = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if (point as usize) >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        return format!("{sign}{s}");
    }
    let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
    format!("{sign}{}.{frac}E{exp}", &digits[..1])
}

/// InetAddress.getHostAddress: dotted IPv4 (also for an IPv4-mapped IPv6 address, which Java
/// reads as IPv4), uncompressed lowercase hex groups for IPv6.
fn inet_text(v: &[u8]) -> Option<String> {
    match v.len() {
        4 => Some(std::net::Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string()),
        16 => {
            let a: [u8; 16] = v.try_into().ok()?;
            let ip = std::net::Ipv6Addr::from(a);
            if let Some(v4) = ip.to_ipv4_mapped() {
                return Some(v4.to_string());
            }
            Some(ip.segments().iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":"))
        }
        _ => None,
    }
}

/// TimestampSerializer's CQL literal: `yyyy-MM-dd'T'HH:mm:ss.SSSZ` in UTC.
fn timestamp_text(ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    ))
}

fn date_text(days: u32) -> Option<String> {
    let d = time::Date::from_julian_day(2_440_588 + (days as i64 - (1 << 31)) as i32).ok()?;
    Some(format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()))
}

/// TimeSerializer.toString: `HH:mm:ss.nnnnnnnnn`.
fn time_text(nanos: i64) -> String {
    let s = nanos / 1_000_000_000;
    format!("{:02}:{:02}:{:02}.{:09}", s / 3600, s / 60 % 60, s % 60, nanos % 1_000_000_000)
}

fn text_of(ty: &ColumnType, v: &[u8]) -> Option<String> {
    use ColumnType as T;
    match ty {
        T::Ascii => std::str::from_utf8(v).ok().map(str::to_owned),
        T::Boolean => Some(if v.first().is_some_and(|b| *b != 0) { "true" } else { "false" }.into()),
        T::Inet => inet_text(v),
        T::Uuid | T::Timeuuid => uuid::Uuid::from_slice(v).ok().map(|u| u.to_string()),
        T::Timestamp => timestamp_text(i64::from_be_bytes(v.try_into().ok()?)),
        T::Date => date_text(u32::from_be_bytes(v.try_into().ok()?)),
        T::Time => Some(time_text(i64::from_be_bytes(v.try_into().ok()?))),
        _ => compose(ty, v).map(|n| n.text()),
    }
}

/// Runs a resolved cast on one value.
pub fn apply(c: &Cast, v: Option<Bytes>, now_micros: i64) -> CqlResult<Option<Bytes>> {
    use super::scalar::{Scalar, call};
    use ColumnType as T;
    let Some(v) = v else { return Ok(None) };
    // An empty value (possible for most types) composes to null in Java: null out.
    if v.is_empty() && !matches!(c.from, T::Ascii | T::Varchar) {
        return Ok(None);
    }
    let bad = || CqlError::server(format!("cannot read a {} value to cast it", type_name(&c.from, false)));
    Ok(Some(match &c.to {
        T::Ascii | T::Varchar => Bytes::from(text_of(&c.from, &v).ok_or_else(bad)?),
        T::Date => return call(&Scalar::ToDate(c.from.clone()), &[Some(v)], now_micros),
        T::Timestamp => return call(&Scalar::ToTimestamp(c.from.clone()), &[Some(v)], now_micros),
        to => {
            let n = compose(&c.from, &v).ok_or_else(bad)?;
            match to {
                T::Tinyint => Bytes::copy_from_slice(&(n.int_value() as i8).to_be_bytes()),
                T::Smallint => Bytes::copy_from_slice(&(n.int_value() as i16).to_be_bytes()),
                T::Int => Bytes::copy_from_slice(&n.int_value().to_be_bytes()),
                T::Bigint => Bytes::copy_from_slice(&n.long_value().to_be_bytes()),
                T::Float => Bytes::copy_from_slice(&n.float_value().to_be_bytes()),
                T::Double => Bytes::copy_from_slice(&n.double_value().to_be_bytes()),
                T::Varint => Bytes::from(BigInt::from(n.long_value()).to_signed_bytes_be()),
                T::Decimal => {
                    // BigDecimal.valueOf(doubleValue()): the digits of Double.toString.
                    let d = n.double_value();
                    if !d.is_finite() {
                        // Double.toString gives "NaN" / "Infinity", which new BigDecimal(String) refuses.
                        let c = if d.is_nan() { 'N' } else { 'I' };
                        return Err(CqlError::server(format!(
                            "java.lang.NumberFormatException: Character {c} is neither a decimal digit number, decimal point, nor \"e\" notation exponential mark."
                        )));
                    }
                    let s = java_float_string(false, false, d == 0.0, d.is_sign_negative(), &format!("{d:e}"));
                    Bytes::from(super::value::decimal_from_str(&s).ok_or_else(bad)?)
                }
                _ => return Err(bad()),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_text() {
        let d = |x: f64| java_float_string(x.is_nan(), x.is_infinite(), x == 0.0, x.is_sign_negative(), &format!("{x:e}"));
        assert_eq!(d(5.0), "5.0");
        assert_eq!(d(1.5), "1.5");
        assert_eq!(d(0.001), "0.001");
        assert_eq!(d(0.0001), "1.0E-4");
        assert_eq!(d(1234567.0), "1234567.0");
        assert_eq!(d(12345678.0), "1.2345678E7");
        assert_eq!(d(-1e20), "-1.0E20");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(f64::NEG_INFINITY), "-Infinity");
        let f = 1.1f32;
        assert_eq!(java_float_string(false, false, false, false, &format!("{f:e}")), "1.1");
        assert_eq!(plain_string(&BigDecimal::from_str("1.50").unwrap()), "1.50");
        assert_eq!(plain_string(&BigDecimal::from_str("-0.005").unwrap()), "-0.005");
        assert_eq!(plain_string(&BigDecimal::from_str("1E+3").unwrap()), "1000");
    }

    #[test]
    fn java_narrowing() {
        assert_eq!(JNum::Double(3.9e10).int_value(), i32::MAX);
        assert_eq!(JNum::Double(f64::NAN).long_value(), 0);
        assert_eq!(JNum::Long(300).int_value() as i8, 44);
        assert_eq!(JNum::Dec(BigDecimal::from_str("-7.9").unwrap()).long_value(), -7);
        assert_eq!(JNum::Big(BigInt::from(1u128 << 64) + 5).long_value(), 5);
    }
}
