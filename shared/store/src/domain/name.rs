use super::ValidationError;

/// A product name: 1 to 200 characters (Unicode scalar values) once trimmed, no control
/// characters. Stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let count = trimmed.chars().count();
        if count == 0 {
            return Err(ValidationError::new(
                "name",
                "must not be empty or only whitespace",
            ));
        }
        if count > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!(
                    "must be at most {} characters, got {count}",
                    Self::MAX_CHARS
                ),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Name(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_unicode() {
        assert_eq!(Name::parse("  Café crème ").unwrap().as_str(), "Café crème");
    }

    #[test]
    fn length_is_counted_in_characters_after_trimming() {
        assert!(Name::parse(&"é".repeat(200)).is_ok());
        assert!(Name::parse(&format!("  {}  ", "a".repeat(200))).is_ok());
        assert_eq!(Name::parse(&"a".repeat(201)).unwrap_err().field, "name");
    }

    #[test]
    fn refuses_empty_blank_and_control_characters() {
        for bad in [
            "",
            "   ",
            "\t\n",
            "tab\tinside",
            "nul\0",
            "bell\u{7}",
            "del\u{7f}",
            "c1\u{85}x",
        ] {
            assert_eq!(Name::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }
}
