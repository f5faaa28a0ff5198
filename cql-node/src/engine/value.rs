//! Values of CQL types in their protocol encoding: literals to bytes, validation of bound bytes,
//! ordering (for clustering and filtering), collections, and Cassandra's type names.

use std::cmp::Ordering;

use bytes::Bytes;

use super::ast::Literal;
use crate::error::{CqlError, CqlResult};
use crate::types::ColumnType;

/// Cassandra's CQL name of a type (`text`, `map<text, int>`, `frozen<list<int>>`).
pub fn type_name(ty: &ColumnType, frozen: bool) -> String {
    let inner = match ty {
        ColumnType::Custom(c) => format!("'{c}'"),
        ColumnType::Ascii => "ascii".into(),
        ColumnType::Bigint => "bigint".into(),
        ColumnType::Blob => "blob".into(),
        ColumnType::Boolean => "boolean".into(),
        ColumnType::Counter => "counter".into(),
        ColumnType::Decimal => "decimal".into(),
        ColumnType::Double => "double".into(),
        ColumnType::Float => "float".into(),
        ColumnType::Int => "int".into(),
        ColumnType::Timestamp => "timestamp".into(),
        ColumnType::Uuid => "uuid".into(),
        ColumnType::Varchar => "text".into(),
        ColumnType::Varint => "varint".into(),
        ColumnType::Timeuuid => "timeuuid".into(),
        ColumnType::Inet => "inet".into(),
        ColumnType::Date => "date".into(),
        ColumnType::Time => "time".into(),
        ColumnType::Smallint => "smallint".into(),
        ColumnType::Tinyint => "tinyint".into(),
        ColumnType::Duration => "duration".into(),
        // Collections nested in collections are always frozen in Cassandra.
        ColumnType::List(e) => format!("list<{}>", type_name(e, is_multicell_type(e))),
        ColumnType::Set(e) => format!("set<{}>", type_name(e, is_multicell_type(e))),
        ColumnType::Map(k, v) => {
            format!(
                "map<{}, {}>",
                type_name(k, is_multicell_type(k)),
                type_name(v, is_multicell_type(v))
            )
        }
        ColumnType::Tuple(ts) => {
            let parts: Vec<String> = ts.iter().map(|t| type_name(t, false)).collect();
            return format!("frozen<tuple<{}>>", parts.join(", "));
        }
    };
    if frozen { format!("frozen<{inner}>") } else { inner }
}

fn is_multicell_type(ty: &ColumnType) -> bool {
    matches!(ty, ColumnType::List(_) | ColumnType::Set(_) | ColumnType::Map(_, _))
}

pub fn is_collection(ty: &ColumnType) -> bool {
    is_multicell_type(ty)
}

fn literal_kind(l: &Literal) -> &'static str {
    match l {
        Literal::Str(_) => "STRING",
        Literal::Int(_) => "INTEGER",
        Literal::Float(_) | Literal::NaN | Literal::Infinity(_) => "FLOAT",
        Literal::Hex(_) => "HEX",
        Literal::Uuid(_) => "UUID",
        Literal::Bool(_) => "BOOLEAN",
        Literal::Null => "NULL",
    }
}

pub fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Str(s) | Literal::Int(s) | Literal::Float(s) => s.clone(),
        Literal::NaN => "NaN".into(),
        Literal::Infinity(n) => {
            if *n {
                "-Infinity".into()
            } else {
                "Infinity".into()
            }
        }
        Literal::Hex(b) => format!("0x{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Literal::Uuid(u) => u.to_string(),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => "null".into(),
    }
}

fn bad_literal(l: &Literal, col: &str, ty: &ColumnType) -> CqlError {
    CqlError::invalid(format!(
        "Invalid {} constant ({}) for \"{}\" of type {}",
        literal_kind(l),
        literal_text(l),
        col,
        type_name(ty, false)
    ))
}

/// Encodes a scalar literal for a column of type `ty` (None for the `null` literal).
pub fn encode_literal(ty: &ColumnType, lit: &Literal, col: &str) -> CqlResult<Option<Bytes>> {
    if matches!(lit, Literal::Null) {
        return Ok(None);
    }
    let bad = || bad_literal(lit, col, ty);
    let int_of = |min: i128, max: i128| -> CqlResult<i128> {
        match lit {
            Literal::Int(s) => s.parse::<i128>().ok().filter(|v| *v >= min && *v <= max).ok_or_else(bad),
            _ => Err(bad()),
        }
    };
    let v: Vec<u8> = match ty {
        ColumnType::Ascii => match lit {
            Literal::Str(s) if s.is_ascii() => s.as_bytes().to_vec(),
            Literal::Str(_) => {
                return Err(CqlError::invalid(format!(
                    "Invalid ASCII character in string literal for \"{col}\""
                )));
            }
            _ => return Err(bad()),
        },
        ColumnType::Varchar => match lit {
            Literal::Str(s) => s.as_bytes().to_vec(),
            _ => return Err(bad()),
        },
        ColumnType::Blob => match lit {
            Literal::Hex(b) => b.clone(),
            _ => return Err(bad()),
        },
        ColumnType::Boolean => match lit {
            Literal::Bool(b) => vec![*b as u8],
            _ => return Err(bad()),
        },
        ColumnType::Tinyint => (int_of(i8::MIN as i128, i8::MAX as i128)? as i8).to_be_bytes().to_vec(),
        ColumnType::Smallint => (int_of(i16::MIN as i128, i16::MAX as i128)? as i16).to_be_bytes().to_vec(),
        ColumnType::Int => (int_of(i32::MIN as i128, i32::MAX as i128)? as i32).to_be_bytes().to_vec(),
        ColumnType::Bigint | ColumnType::Counter => (int_of(i64::MIN as i128, i64::MAX as i128)? as i64).to_be_bytes().to_vec(),
        ColumnType::Varint => match lit {
            Literal::Int(s) => varint_from_decimal_str(s).ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        ColumnType::Decimal => match lit {
            Literal::Int(s) | Literal::Float(s) => decimal_from_str(s).ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        ColumnType::Float | ColumnType::Double => {
            let f: f64 = match lit {
                Literal::Int(s) | Literal::Float(s) => s.parse().map_err(|_| bad())?,
                Literal::NaN => f64::NAN,
                Literal::Infinity(neg) => {
                    if *neg {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }
                }
                _ => return Err(bad()),
            };
            if matches!(ty, ColumnType::Float) {
                (f as f32).to_be_bytes().to_vec()
            } else {
                f.to_be_bytes().to_vec()
            }
        }
        ColumnType::Timestamp => match lit {
            Literal::Int(s) => s.parse::<i64>().map_err(|_| bad())?.to_be_bytes().to_vec(),
            Literal::Str(s) => parse_timestamp(s)
                .ok_or_else(|| CqlError::invalid(format!("Unable to coerce '{s}' to a formatted date (long)")))?
                .to_be_bytes()
                .to_vec(),
            _ => return Err(bad()),
        },
        ColumnType::Date => match lit {
            Literal::Int(s) => s.parse::<u32>().map_err(|_| bad())?.to_be_bytes().to_vec(),
            Literal::Str(s) => {
                let days = parse_date(s).ok_or_else(|| CqlError::invalid(format!("Unable to coerce '{s}' to a formatted date (long)")))?;
                ((days + (1i64 << 31)) as u32).to_be_bytes().to_vec()
            }
            _ => return Err(bad()),
        },
        ColumnType::Time => match lit {
            Literal::Int(s) => s.parse::<i64>().map_err(|_| bad())?.to_be_bytes().to_vec(),
            Literal::Str(s) => parse_time(s)
                .ok_or_else(|| CqlError::invalid(format!("Unable to coerce '{s}' to a formatted time (long)")))?
                .to_be_bytes()
                .to_vec(),
            _ => return Err(bad()),
        },
        ColumnType::Uuid => match lit {
            Literal::Uuid(u) => u.as_bytes().to_vec(),
            _ => return Err(bad()),
        },
        ColumnType::Timeuuid => match lit {
            Literal::Uuid(u) if u.get_version_num() == 1 => u.as_bytes().to_vec(),
            Literal::Uuid(_) => {
                return Err(CqlError::invalid(format!(
                    "Invalid UUID constant ({}) for \"{col}\" of type timeuuid",
                    literal_text(lit)
                )));
            }
            _ => return Err(bad()),
        },
        ColumnType::Inet => match lit {
            Literal::Str(s) => match s.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(a)) => a.octets().to_vec(),
                Ok(std::net::IpAddr::V6(a)) => a.octets().to_vec(),
                Err(_) => return Err(CqlError::invalid(format!("Unable to make inet address from '{s}'"))),
            },
            _ => return Err(bad()),
        },
        _ => {
            return Err(CqlError::invalid(format!(
                "Type {} is not supported by this node",
                type_name(ty, false)
            )));
        }
    };
    Ok(Some(Bytes::from(v)))
}

/// Checks that bound bytes are a valid serialization of `ty` (Cassandra's validate()).
pub fn validate(ty: &ColumnType, v: &[u8], col: &str) -> CqlResult<()> {
    let fixed = |n: usize, name: &str| -> CqlResult<()> {
        if v.len() == n || v.is_empty() {
            Ok(())
        } else {
            Err(CqlError::invalid(format!("Expected {n} or 0 byte {name} ({})", v.len())))
        }
    };
    match ty {
        ColumnType::Int => fixed(4, "int"),
        ColumnType::Bigint | ColumnType::Counter | ColumnType::Timestamp | ColumnType::Time => fixed(8, "long"),
        ColumnType::Smallint => {
            if v.len() == 2 {
                Ok(())
            } else {
                Err(CqlError::invalid(format!("Expected 2 bytes for a smallint ({})", v.len())))
            }
        }
        ColumnType::Tinyint => {
            if v.len() == 1 {
                Ok(())
            } else {
                Err(CqlError::invalid(format!("Expected 1 byte for a tinyint ({})", v.len())))
            }
        }
        ColumnType::Double => fixed(8, "double"),
        ColumnType::Float => fixed(4, "float"),
        ColumnType::Boolean => {
            if v.len() <= 1 {
                Ok(())
            } else {
                Err(CqlError::invalid(format!("Expected 1 or 0 byte value ({})", v.len())))
            }
        }
        ColumnType::Date => fixed(4, "date"),
        ColumnType::Uuid | ColumnType::Timeuuid => {
            if v.len() == 16 || v.is_empty() {
                if matches!(ty, ColumnType::Timeuuid) && v.len() == 16 && (v[6] >> 4) != 1 {
                    return Err(CqlError::invalid("Unsupported UUID version for timeuuid".to_string()));
                }
                Ok(())
            } else {
                Err(CqlError::invalid(format!("UUID should be 16 or 0 bytes ({})", v.len())))
            }
        }
        ColumnType::Varchar => std::str::from_utf8(v)
            .map(|_| ())
            .map_err(|_| CqlError::invalid(format!("Invalid UTF-8 bytes for \"{col}\""))),
        ColumnType::Ascii => {
            if v.is_ascii() {
                Ok(())
            } else {
                Err(CqlError::invalid(format!("Invalid byte for ascii: for \"{col}\"")))
            }
        }
        ColumnType::Inet => {
            if matches!(v.len(), 0 | 4 | 16) {
                Ok(())
            } else {
                Err(CqlError::invalid(format!("Invalid inet address length {}", v.len())))
            }
        }
        ColumnType::Decimal => {
            if v.is_empty() || v.len() >= 4 {
                Ok(())
            } else {
                Err(CqlError::invalid("Invalid decimal value"))
            }
        }
        ColumnType::List(e) | ColumnType::Set(e) => {
            for x in decode_collection(v).ok_or_else(|| CqlError::invalid(format!("Invalid collection value for \"{col}\"")))? {
                match x {
                    Some(x) => validate(e, &x, col)?,
                    None => return Err(CqlError::invalid("null is not supported inside collections")),
                }
            }
            Ok(())
        }
        ColumnType::Map(k, val) => {
            for (a, b) in decode_map(v).ok_or_else(|| CqlError::invalid(format!("Invalid map value for \"{col}\"")))? {
                validate(k, &a, col)?;
                match b {
                    Some(b) => validate(val, &b, col)?,
                    None => return Err(CqlError::invalid("null is not supported inside collections")),
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn read_i32(v: &[u8], pos: &mut usize) -> Option<i32> {
    let b = v.get(*pos..*pos + 4)?;
    *pos += 4;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_value(v: &[u8], pos: &mut usize) -> Option<Option<Bytes>> {
    let n = read_i32(v, pos)?;
    if n < 0 {
        return Some(None);
    }
    let b = v.get(*pos..*pos + n as usize)?;
    *pos += n as usize;
    Some(Some(Bytes::copy_from_slice(b)))
}

/// A list or set in the protocol v4 encoding: [int n] then n [bytes].
pub fn decode_collection(v: &[u8]) -> Option<Vec<Option<Bytes>>> {
    if v.is_empty() {
        return Some(vec![]);
    }
    let mut pos = 0;
    let n = read_i32(v, &mut pos)?;
    if n < 0 || n as usize > v.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        out.push(read_value(v, &mut pos)?);
    }
    if pos == v.len() { Some(out) } else { None }
}

pub fn decode_map(v: &[u8]) -> Option<Vec<(Bytes, Option<Bytes>)>> {
    if v.is_empty() {
        return Some(vec![]);
    }
    let mut pos = 0;
    let n = read_i32(v, &mut pos)?;
    if n < 0 || n as usize > v.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let k = read_value(v, &mut pos)??;
        out.push((k, read_value(v, &mut pos)?));
    }
    if pos == v.len() { Some(out) } else { None }
}

pub fn encode_collection<'a>(items: impl ExactSizeIterator<Item = &'a Bytes>) -> Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&(items.len() as i32).to_be_bytes());
    for it in items {
        out.extend_from_slice(&(it.len() as i32).to_be_bytes());
        out.extend_from_slice(it);
    }
    Bytes::from(out)
}

pub fn encode_map<'a>(items: impl ExactSizeIterator<Item = (&'a Bytes, &'a Bytes)>) -> Bytes {
    let mut out = Vec::new();
    out.extend_from_slice(&(items.len() as i32).to_be_bytes());
    for (k, v) in items {
        out.extend_from_slice(&(k.len() as i32).to_be_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(&(v.len() as i32).to_be_bytes());
        out.extend_from_slice(v);
    }
    Bytes::from(out)
}

/// Sorts and de-duplicates set elements in the element type's order, as Cassandra keeps them.
pub fn normalize_set(ty: &ColumnType, mut items: Vec<Bytes>) -> Vec<Bytes> {
    items.sort_by(|a, b| compare(ty, a, b));
    items.dedup_by(|a, b| compare(ty, a, b) == Ordering::Equal);
    items
}

/// Sorts map entries by key; a later duplicate key wins.
pub fn normalize_map(kty: &ColumnType, items: Vec<(Bytes, Bytes)>) -> Vec<(Bytes, Bytes)> {
    let mut out: Vec<(Bytes, Bytes)> = Vec::with_capacity(items.len());
    for (k, v) in items {
        match out.binary_search_by(|(x, _)| compare(kty, x, &k)) {
            Ok(i) => out[i].1 = v,
            Err(i) => out.insert(i, (k, v)),
        }
    }
    out
}

fn cmp_signed_be(a: &[u8], b: &[u8]) -> Ordering {
    // Equal-length two's complement: first byte signed, rest unsigned.
    match (a.first(), b.first()) {
        (Some(x), Some(y)) => (*x as i8).cmp(&(*y as i8)).then_with(|| a[1..].cmp(&b[1..])),
        _ => a.len().cmp(&b.len()),
    }
}

fn cmp_varint(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().max(b.len());
    let ext = |v: &[u8]| -> Vec<u8> {
        let fill = if v.first().is_some_and(|x| x & 0x80 != 0) { 0xff } else { 0 };
        let mut out = vec![fill; n - v.len()];
        out.extend_from_slice(v);
        out
    };
    cmp_signed_be(&ext(a), &ext(b))
}

fn varint_to_i128(v: &[u8]) -> Option<i128> {
    if v.is_empty() || v.len() > 16 {
        return None;
    }
    let fill = if v[0] & 0x80 != 0 { 0xffu8 } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - v.len()..].copy_from_slice(v);
    Some(i128::from_be_bytes(buf))
}

fn cmp_decimal(a: &[u8], b: &[u8]) -> Ordering {
    let parse = |v: &[u8]| -> Option<(i32, i128)> {
        let s = i32::from_be_bytes(v.get(0..4)?.try_into().ok()?);
        Some((s, varint_to_i128(&v[4..])?))
    };
    if let (Some((sa, ua)), Some((sb, ub))) = (parse(a), parse(b)) {
        let m = sa.max(sb);
        let scale = |u: i128, d: i32| -> Option<i128> {
            let mut u = u;
            for _ in 0..d {
                u = u.checked_mul(10)?;
            }
            Some(u)
        };
        if let (Some(x), Some(y)) = (scale(ua, m - sa), scale(ub, m - sb)) {
            return x.cmp(&y);
        }
        return ua.signum().cmp(&ub.signum());
    }
    a.cmp(b)
}

fn uuid_timestamp(v: &[u8]) -> u64 {
    let hi = u16::from_be_bytes([v[6] & 0x0f, v[7]]) as u64;
    let mid = u16::from_be_bytes([v[4], v[5]]) as u64;
    let low = u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as u64;
    (hi << 48) | (mid << 32) | low
}

fn cmp_signed_bytes(a: &[u8], b: &[u8]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = (*x as i8).cmp(&(*y as i8));
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Orders two serialized values of `ty` the way Cassandra's AbstractType.compare does.
/// Empty values (allowed for most types) sort first.
pub fn compare(ty: &ColumnType, a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return a.len().cmp(&b.len());
    }
    match ty {
        ColumnType::Int
        | ColumnType::Bigint
        | ColumnType::Smallint
        | ColumnType::Tinyint
        | ColumnType::Counter
        | ColumnType::Timestamp
        | ColumnType::Time => {
            if a.len() == b.len() {
                cmp_signed_be(a, b)
            } else {
                a.len().cmp(&b.len())
            }
        }
        ColumnType::Varint => cmp_varint(a, b),
        ColumnType::Decimal => cmp_decimal(a, b),
        ColumnType::Float if a.len() == 4 && b.len() == 4 => {
            let x = f32::from_be_bytes([a[0], a[1], a[2], a[3]]);
            let y = f32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            x.total_cmp(&y)
        }
        ColumnType::Double if a.len() == 8 && b.len() == 8 => {
            let x = f64::from_be_bytes(a.try_into().unwrap_or([0; 8]));
            let y = f64::from_be_bytes(b.try_into().unwrap_or([0; 8]));
            x.total_cmp(&y)
        }
        ColumnType::Timeuuid if a.len() == 16 && b.len() == 16 => uuid_timestamp(a)
            .cmp(&uuid_timestamp(b))
            .then_with(|| cmp_signed_bytes(&a[8..], &b[8..])),
        ColumnType::Uuid if a.len() == 16 && b.len() == 16 => {
            let (va, vb) = (a[6] >> 4, b[6] >> 4);
            va.cmp(&vb).then_with(|| {
                if va == 1 {
                    uuid_timestamp(a)
                        .cmp(&uuid_timestamp(b))
                        .then_with(|| cmp_signed_bytes(&a[8..], &b[8..]))
                } else {
                    a.cmp(b)
                }
            })
        }
        ColumnType::List(e) | ColumnType::Set(e) => match (decode_collection(a), decode_collection(b)) {
            (Some(x), Some(y)) => {
                for (p, q) in x.iter().zip(y.iter()) {
                    let o = compare(e, p.as_deref().unwrap_or(&[]), q.as_deref().unwrap_or(&[]));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            _ => a.cmp(b),
        },
        ColumnType::Map(k, v) => match (decode_map(a), decode_map(b)) {
            (Some(x), Some(y)) => {
                for ((pk, pv), (qk, qv)) in x.iter().zip(y.iter()) {
                    let o = compare(k, pk, qk).then_with(|| compare(v, pv.as_deref().unwrap_or(&[]), qv.as_deref().unwrap_or(&[])));
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                x.len().cmp(&y.len())
            }
            _ => a.cmp(b),
        },
        _ => a.cmp(b),
    }
}

/// Minimal two's-complement big-endian bytes of a decimal integer string ("-123").
pub fn varint_from_decimal_str(s: &str) -> Option<Vec<u8>> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Magnitude, big-endian base 256.
    let mut mag: Vec<u8> = vec![0];
    for d in digits.bytes() {
        let mut carry = (d - b'0') as u32;
        for byte in mag.iter_mut().rev() {
            let v = *byte as u32 * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    mag.insert(0, 0); // room for the sign bit
    if neg {
        // Two's complement: invert and add one.
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, overflow) = b.overflowing_add(1);
            *b = v;
            if !overflow {
                break;
            }
        }
    }
    // Strip redundant sign bytes.
    while mag.len() > 1 && ((mag[0] == 0 && mag[1] & 0x80 == 0) || (mag[0] == 0xff && mag[1] & 0x80 != 0)) {
        mag.remove(0);
    }
    Some(mag)
}

/// `decimal` bytes (i32 scale + varint unscaled) of a literal like "-1.50e3", exactly.
pub fn decimal_from_str(s: &str) -> Option<Vec<u8>> {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let digits = format!("{int_part}{frac}");
    let scale = (frac.len() as i32).checked_sub(exp)?;
    let unscaled = varint_from_decimal_str(&digits)?;
    let mut out = scale.to_be_bytes().to_vec();
    out.extend_from_slice(&unscaled);
    Some(out)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut it = rest.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(if neg { -y } else { y }, m, d))
}

/// `HH:MM:SS[.fffffffff]` as nanoseconds since midnight.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (hms, frac) = match s.find('.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut it = hms.split(':');
    let h: i64 = it.next()?.parse().ok()?;
    let m: i64 = it.next()?.parse().ok()?;
    let sec: i64 = it.next().unwrap_or("0").parse().ok()?;
    if h > 23 || m > 59 || sec > 59 || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut nanos: i64 = 0;
    for (i, c) in frac.bytes().enumerate() {
        nanos += (c - b'0') as i64 * 10i64.pow(8 - i as u32);
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000_000 + nanos)
}

/// Timestamp strings Cassandra accepts: `yyyy-mm-dd[( |T)HH:MM[:SS[.fff]]][Z|±HH[:]MM]`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 10 {
        return None;
    }
    let days = parse_date(s.get(..10)?)?;
    let mut rest = s.get(10..)?;
    let mut ms: i64 = days * 86_400_000;
    if let Some(r) = rest.strip_prefix(['T', ' ']) {
        let end = r.find(['Z', '+', '-']).unwrap_or(r.len());
        let (time, zone) = r.split_at(end);
        let mut it = time.split(':');
        let h: i64 = it.next()?.trim().parse().ok()?;
        let m: i64 = it.next()?.trim().parse().ok()?;
        let sec_s = it.next().unwrap_or("0");
        let (sec, frac) = match sec_s.find('.') {
            Some(i) => (&sec_s[..i], &sec_s[i + 1..]),
            None => (sec_s, ""),
        };
        let sec: i64 = sec.trim().parse().ok()?;
        let mut fms = 0i64;
        for (i, c) in frac.bytes().take(3).enumerate() {
            if !c.is_ascii_digit() {
                return None;
            }
            fms += (c - b'0') as i64 * 10i64.pow(2 - i as u32);
        }
        if h > 23 || m > 59 || sec > 60 {
            return None;
        }
        ms += ((h * 60 + m) * 60 + sec) * 1000 + fms;
        rest = zone;
    }
    let rest = rest.trim();
    if rest.is_empty() || rest == "Z" {
        return Some(ms);
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let z: String = rest[1..].chars().filter(|c| *c != ':').collect();
    if z.len() != 4 && z.len() != 2 {
        return None;
    }
    let zh: i64 = z.get(..2)?.parse().ok()?;
    let zm: i64 = if z.len() == 4 { z.get(2..)?.parse().ok()? } else { 0 };
    Some(ms - sign * (zh * 60 + zm) * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_minimal_twos_complement() {
        assert_eq!(varint_from_decimal_str("0").unwrap(), vec![0]);
        assert_eq!(varint_from_decimal_str("127").unwrap(), vec![0x7f]);
        assert_eq!(varint_from_decimal_str("128").unwrap(), vec![0x00, 0x80]);
        assert_eq!(varint_from_decimal_str("-1").unwrap(), vec![0xff]);
        assert_eq!(varint_from_decimal_str("-128").unwrap(), vec![0x80]);
        assert_eq!(varint_from_decimal_str("-129").unwrap(), vec![0xff, 0x7f]);
        assert_eq!(
            varint_from_decimal_str("18446744073709551616").unwrap(),
            vec![1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn decimals_keep_exact_scale() {
        assert_eq!(decimal_from_str("1.50").unwrap(), vec![0, 0, 0, 2, 0x00, 0x96]);
        assert_eq!(decimal_from_str("-1e3").unwrap(), vec![0xff, 0xff, 0xff, 0xfd, 0xff]);
        let a = decimal_from_str("1.5").unwrap();
        let b = decimal_from_str("1.50").unwrap();
        let c = decimal_from_str("2").unwrap();
        assert_eq!(compare(&ColumnType::Decimal, &a, &b), Ordering::Equal);
        assert_eq!(compare(&ColumnType::Decimal, &a, &c), Ordering::Less);
    }

    #[test]
    fn timestamps_and_dates_parse() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_timestamp("2020-02-29 12:00:00.5+0100"), Some(1582974000500));
        assert_eq!(parse_timestamp("2020-02-29"), Some(1582934400000));
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_time("01:00:00.000000001"), Some(3_600_000_000_001));
        assert!(parse_timestamp("nonsense").is_none());
    }

    #[test]
    fn ordering_follows_types() {
        let i = |v: i32| v.to_be_bytes().to_vec();
        assert_eq!(compare(&ColumnType::Int, &i(-5), &i(3)), Ordering::Less);
        let v = |s: &str| varint_from_decimal_str(s).unwrap();
        assert_eq!(compare(&ColumnType::Varint, &v("-300"), &v("2")), Ordering::Less);
        assert_eq!(compare(&ColumnType::Varint, &v("300"), &v("2")), Ordering::Greater);
        assert_eq!(compare(&ColumnType::Varchar, b"a", b"b"), Ordering::Less);
    }

    #[test]
    fn bad_literals_are_invalid_not_panics() {
        let e = encode_literal(&ColumnType::Int, &Literal::Str("x".into()), "k").unwrap_err();
        assert_eq!(e.message, "Invalid STRING constant (x) for \"k\" of type int");
        assert!(encode_literal(&ColumnType::Tinyint, &Literal::Int("300".into()), "k").is_err());
        assert!(validate(&ColumnType::Int, &[1, 2], "k").is_err());
        assert!(validate(&ColumnType::List(Box::new(ColumnType::Int)), &[0, 0, 0, 9], "k").is_err());
    }
}
