//! sum and avg over decimal and varint, as Cassandra 4.1's AggregateFcts compute them with
//! BigDecimal / BigInteger: a decimal sum keeps the largest scale; a decimal average is kept
//! incrementally (avg += (x - avg) / n, each division at the dividend's scale, rounded half
//! even); a varint average truncates. No rows: zero.

use bigdecimal::BigDecimal;
use bigdecimal::num_bigint::{BigInt, Sign};
use bytes::Bytes;

fn decimal(v: &[u8]) -> Option<BigDecimal> {
    let scale = i32::from_be_bytes(v.get(..4)?.try_into().ok()?);
    Some(BigDecimal::new(BigInt::from_signed_bytes_be(&v[4..]), scale as i64))
}

fn decimal_bytes(d: &BigDecimal) -> Bytes {
    let (unscaled, scale) = d.as_bigint_and_exponent();
    let mut out = (scale as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&unscaled.to_signed_bytes_be());
    Bytes::from(out)
}

/// `d / n` at `d`'s scale, rounded half even (Java's BigDecimal.divide(n, HALF_EVEN)).
fn divide_half_even(d: &BigDecimal, n: i64) -> BigDecimal {
    let (u, scale) = d.as_bigint_and_exponent();
    let n = BigInt::from(n);
    let mut q = &u / &n;
    let r = &u - &q * &n;
    let twice = r.magnitude() * 2u32;
    let up = match twice.cmp(n.magnitude()) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => q.bit(0),
        std::cmp::Ordering::Less => false,
    };
    if up {
        q += if u.sign() == Sign::Minus { -1 } else { 1 };
    }
    BigDecimal::new(q, scale)
}

#[derive(Default)]
pub struct BigAcc {
    count: i64,
    sum: BigDecimal,
    avg: BigDecimal,
    int_sum: BigInt,
}

impl BigAcc {
    pub fn add_decimal(&mut self, v: &[u8]) {
        let Some(x) = decimal(v) else { return };
        self.count += 1;
        self.sum = &self.sum + &x;
        let step = divide_half_even(&(&x - &self.avg), self.count);
        self.avg = &self.avg + step;
    }

    pub fn add_varint(&mut self, v: &[u8]) {
        self.count += 1;
        self.int_sum += BigInt::from_signed_bytes_be(v);
    }

    pub fn decimal(&self, avg: bool) -> Bytes {
        decimal_bytes(if avg { &self.avg } else { &self.sum })
    }

    pub fn varint(&self, avg: bool) -> Bytes {
        let v = if avg && self.count > 0 { &self.int_sum / BigInt::from(self.count) } else { self.int_sum.clone() };
        Bytes::from(v.to_signed_bytes_be())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Vec<u8> {
        decimal_bytes(&s.parse::<BigDecimal>().unwrap()).to_vec()
    }

    #[test]
    fn sums_keep_the_largest_scale_and_averages_round_half_even() {
        let mut a = BigAcc::default();
        for x in ["1.5", "2.25", "3"] {
            a.add_decimal(&dec(x));
        }
        assert_eq!(decimal(&a.decimal(false)).unwrap().to_string(), "6.75");
        // 1.5, then 1.5 + 0.75 / 2 = 1.88 (0.375 rounded at scale 2), then 1.88 + 1.12 / 3 = 2.25.
        assert_eq!(decimal(&a.decimal(true)).unwrap().to_string(), "2.25");
        assert_eq!(divide_half_even(&"0.5".parse().unwrap(), 2).to_string(), "0.2");
        assert_eq!(divide_half_even(&"-0.5".parse().unwrap(), 2).to_string(), "-0.2");
        assert_eq!(divide_half_even(&"0.7".parse().unwrap(), 2).to_string(), "0.4");
        assert_eq!(BigAcc::default().decimal(true).to_vec(), dec("0"));
    }
}
