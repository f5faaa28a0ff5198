//! rust_decimal <-> CQL decimal (unscaled varint + scale), without floating point.

use rust_decimal::Decimal;
use scylla::value::CqlDecimal;

pub(crate) fn to_cql(d: Decimal) -> CqlDecimal {
    let bytes = d.mantissa().to_be_bytes();
    // Minimal two's complement: drop leading bytes that only repeat the sign.
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    CqlDecimal::from_signed_be_bytes_slice_and_exponent(&bytes[start..], d.scale() as i32)
}

pub(crate) fn from_cql(d: &CqlDecimal) -> Option<Decimal> {
    let (bytes, scale) = d.as_signed_be_bytes_slice_and_exponent();
    if bytes.is_empty() || bytes.len() > 16 || !(0..=28).contains(&scale) {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Decimal::try_from_i128_with_scale(i128::from_be_bytes(buf), scale as u32).ok()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn round_trips_exactly() {
        for text in [
            "0.00",
            "19.99",
            "1000000000.00",
            "-1.50",
            "127",
            "128",
            "-128",
            "-129",
            "0.01",
        ] {
            let d = Decimal::from_str(text).unwrap();
            let back = from_cql(&to_cql(d)).unwrap();
            assert_eq!(back, d);
            assert_eq!(back.to_string(), text);
        }
    }

    #[test]
    fn encodes_minimally() {
        let d = to_cql(Decimal::from_str("19.99").unwrap());
        assert_eq!(
            d.as_signed_be_bytes_slice_and_exponent(),
            (&[0x07u8, 0xcf][..], 2)
        ); // 1999
        let d = to_cql(Decimal::from_str("1.28").unwrap());
        assert_eq!(
            d.as_signed_be_bytes_slice_and_exponent().0,
            &[0x00u8, 0x80][..]
        ); // 128 needs a sign byte
    }
}
