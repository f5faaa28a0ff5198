use icu_properties::CodePointSetData;
use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint};
use unicode_normalization::UnicodeNormalization;

use super::ValidationError;

/// A product name: 1 to 200 characters (Unicode scalar values) once trimmed and normalised to
/// NFC, so that "Café" typed with a precomposed é or with e + U+0301 is one name (and one
/// Idempotency-Key fingerprint). Refused: control characters, bidirectional controls (U+202E
/// and the other Bidi_Control characters, which reorder how the text and what follows it
/// display), tag characters (U+E0000-U+E007F, invisible), and names with nothing visible, i.e.
/// only whitespace and default-ignorable characters (U+200B, U+2060, U+FEFF, variation
/// selectors...). Default-ignorable characters between visible ones (ZWJ in emoji, ZWNJ in
/// Persian) are kept. Stored trimmed and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

/// Tag characters: they only make sense in emoji tag sequences and are invisible elsewhere.
const TAGS: std::ops::RangeInclusive<char> = '\u{E0000}'..='\u{E007F}';

impl Name {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let normalised: String = raw.trim().nfc().collect();
        let count = normalised.chars().count();
        if count == 0 {
            return Err(ValidationError::new("name", "must not be empty or only whitespace"));
        }
        if count > Self::MAX_CHARS {
            return Err(ValidationError::new("name", format!("must be at most {} characters, got {count}", Self::MAX_CHARS)));
        }
        if normalised.chars().any(char::is_control) {
            return Err(ValidationError::new("name", "must not contain control characters"));
        }
        if let Some(c) = normalised.chars().find(|&c| CodePointSetData::new::<BidiControl>().contains(c)) {
            return Err(ValidationError::new(
                "name",
                format!("must not contain bidirectional control characters (U+{:04X})", u32::from(c)),
            ));
        }
        if let Some(c) = normalised.chars().find(|c| TAGS.contains(c)) {
            return Err(ValidationError::new("name", format!("must not contain tag characters (U+{:04X})", u32::from(c))));
        }
        let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
        if normalised.chars().all(|c| c.is_whitespace() || ignorable.contains(c)) {
            return Err(ValidationError::new("name", "must contain a visible character, not only invisible ones"));
        }
        Ok(Name(normalised))
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
        for bad in ["", "   ", "\t\n", "tab\tinside", "nul\0", "bell\u{7}", "del\u{7f}", "c1\u{85}x"] {
            assert_eq!(Name::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    #[test]
    fn nfc_and_nfd_are_one_name() {
        let nfc = Name::parse("Caf\u{e9}").unwrap();
        let nfd = Name::parse("Cafe\u{301}").unwrap();
        assert_eq!(nfc, nfd);
        assert_eq!(nfd.as_str(), "Caf\u{e9}");
        // 200 decomposed é (400 scalar values) are 200 characters once composed.
        assert!(Name::parse(&"e\u{301}".repeat(200)).is_ok());
    }

    #[test]
    fn refuses_invisible_only_bidi_controls_and_tags() {
        for bad in [
            "\u{200B}",
            "\u{2060}",
            "\u{FEFF}",
            " \u{200B} \u{200D} ",
            "\u{FE0F}",
            "\u{3164}",
            "abc\u{202E}fed",
            "\u{2067}x\u{2069}",
            "x\u{200F}",
            "flag\u{E0067}\u{E007F}",
        ] {
            assert_eq!(Name::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    #[test]
    fn keeps_joiners_between_visible_characters() {
        for ok in ["\u{1F469}\u{200D}\u{1F4BB}", "\u{645}\u{6CC}\u{200C}\u{62E}\u{648}\u{627}\u{647}\u{645}", "\u{2764}\u{FE0F}"] {
            assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
        }
    }
}
