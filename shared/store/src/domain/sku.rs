use super::ValidationError;

/// A stock-keeping unit: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`. Compared as written (case
/// sensitive): `ab-1` and `AB-1` are two SKUs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

impl Sku {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let mut chars = raw.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok {
            return Err(ValidationError::new(
                "sku",
                "must start with a letter or digit",
            ));
        }
        if raw.len() > Self::MAX_LEN {
            return Err(ValidationError::new(
                "sku",
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err(ValidationError::new(
                "sku",
                "may only contain letters, digits, '.', '_' and '-'",
            ));
        }
        Ok(Sku(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["A", "9", "abc-DEF_1.2", &format!("a{}", "b".repeat(63))] {
            assert_eq!(Sku::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn refuses_everything_else() {
        let too_long = "a".repeat(65);
        for bad in [
            "",
            "-a",
            ".a",
            "_a",
            "a b",
            "a/b",
            "é",
            "a\n",
            " a",
            too_long.as_str(),
        ] {
            assert_eq!(Sku::parse(bad).unwrap_err().field, "sku", "{bad:?}");
        }
    }
}
