use std::str::FromStr;

use rust_decimal::Decimal;

use super::ValidationError;

/// A price from 0 to 1,000,000,000 inclusive with at most two decimal places *as written*
/// (`19.9` and `19.90` are accepted, `19.900` is refused even though it is equal: the client
/// wrote a precision we would silently drop). Always held, stored and shown with scale 2
/// (`"19.90"`). Never passes through binary floating point: it is read from the JSON token's
/// text and written as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(Decimal);

impl Price {
    pub const MAX_UNITS: i64 = 1_000_000_000;

    /// Parses the raw JSON token of the `price` member: a JSON number (`19.99`) or a JSON
    /// string holding one (`"19.99"`).
    pub fn parse_json(raw_token: &str) -> Result<Self, ValidationError> {
        let token = raw_token.trim();
        if token.starts_with('"') {
            let text: String = serde_json::from_str(token).map_err(|_| {
                ValidationError::new("price", "must be a number or a string holding a number")
            })?;
            Self::parse(&text)
        } else if token.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            Self::parse(token)
        } else {
            Err(ValidationError::new(
                "price",
                "must be a number or a string holding a number",
            ))
        }
    }

    /// Parses decimal text: digits, optionally `.` and one or two digits. No sign, exponent,
    /// spaces, leading zeros, `NaN` or `Infinity`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let err = |m: &str| ValidationError::new("price", m);
        if text.starts_with('-') {
            return Err(err("must not be negative"));
        }
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(int_part) || frac_part.is_some_and(|f| !digits_only(f)) {
            return Err(err(
                "must be a plain decimal number such as 19.99 (no exponent, sign or spaces)",
            ));
        }
        if int_part.len() > 1 && int_part.starts_with('0') {
            return Err(err("must not have leading zeros"));
        }
        if frac_part.is_some_and(|f| f.len() > 2) {
            return Err(err("must have at most 2 decimal places"));
        }
        if int_part.len() > 10 {
            return Err(err("must be at most 1000000000"));
        }
        let mut value =
            Decimal::from_str(text).map_err(|_| err("is not a valid decimal number"))?;
        if value > Decimal::from(Self::MAX_UNITS) {
            return Err(err("must be at most 1000000000"));
        }
        value.rescale(2);
        Ok(Price(value))
    }

    /// Rebuilds a price read back from the database (scale normalised to 2).
    pub fn from_stored(mut value: Decimal) -> Self {
        value.rescale(2);
        Price(value)
    }

    pub fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl std::fmt::Display for Price {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings_are_exact_with_scale_two() {
        assert_eq!(Price::parse_json("19.99").unwrap().to_string(), "19.99");
        assert_eq!(Price::parse_json("\"19.99\"").unwrap().to_string(), "19.99");
        assert_eq!(Price::parse_json("0.1").unwrap().to_string(), "0.10");
        assert_eq!(Price::parse_json("0").unwrap().to_string(), "0.00");
        assert_eq!(
            Price::parse_json("1000000000").unwrap().to_string(),
            "1000000000.00"
        );
        assert_eq!(
            Price::parse_json("\"1000000000.00\"").unwrap().to_string(),
            "1000000000.00"
        );
        // A value f64 cannot hold exactly stays exact.
        assert_eq!(
            Price::parse_json("999999999.99").unwrap().to_string(),
            "999999999.99"
        );
    }

    #[test]
    fn refuses_what_the_rules_forbid() {
        for bad in [
            "-1",
            "-0",
            "\"-0.01\"",
            "1000000000.01",
            "10000000000",
            "19.999",
            "19.900",
            "1e3",
            "1E3",
            "\"1e3\"",
            "\"NaN\"",
            "\"Infinity\"",
            "\"\"",
            "\" 1\"",
            "\"1.\"",
            "\".5\"",
            "\"01\"",
            "true",
            "null",
            "[1]",
            "{}",
            "\"+1\"",
            "\"1,5\"",
        ] {
            assert_eq!(Price::parse_json(bad).unwrap_err().field, "price", "{bad}");
        }
    }
}
