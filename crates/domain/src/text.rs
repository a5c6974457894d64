//! Bounded text newtypes.
//!
//! Every piece of free text that enters the domain goes through one of these
//! constructors, so the rest of the code never sees an empty name, a reason of
//! only spaces or a 10 MB title.

use std::fmt;

/// Why a piece of text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("is {len} characters long; at most {max} are allowed")]
    TooLong { len: usize, max: usize },
    #[error("must be a single line (found a line break)")]
    LineBreak,
    #[error("contains a control character (U+{0:04X})")]
    Control(u32),
    #[error("{0}")]
    Invalid(&'static str),
}

/// The first character of `s` that changes the direction of the text
/// around it (the bidirectional embeddings, overrides and isolates, and the
/// direction marks): printed, such a character can make a name read
/// differently from what is stored (a right-to-left override reverses
/// what follows it).
pub fn bidi_control(s: &str) -> Option<char> {
    s.chars().find(|c| {
        matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
    })
}

pub(crate) fn check_text(s: &str, max: usize, multiline: bool) -> Result<(), TextError> {
    if s.trim().is_empty() {
        return Err(TextError::Empty);
    }
    let len = s.chars().count();
    if len > max {
        return Err(TextError::TooLong { len, max });
    }
    for c in s.chars() {
        if c == '\n' || c == '\r' {
            if !multiline {
                return Err(TextError::LineBreak);
            }
        } else if c == '\t' {
            // tabs are harmless
        } else if c.is_control() {
            return Err(TextError::Control(c as u32));
        }
    }
    Ok(())
}

/// Defines a string newtype with a validating constructor, serde support
/// through that constructor, and a JSON Schema.
macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, max = $max:expr, multiline = $ml:expr, describe = $desc:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Largest number of characters accepted.
            pub const MAX_CHARS: usize = $max;

            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, $crate::text::TextError> {
                let s: String = s.into();
                $crate::text::check_text(&s, $max, $ml)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::text::TextError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::text::TextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let pattern = if $ml { "\\S" } else { "^[^\\r\\n]*\\S[^\\r\\n]*$" };
                schemars::json_schema!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": $max,
                    "pattern": pattern,
                    "description": $desc,
                })
            }
        }
    };
}
pub(crate) use bounded_text;

bounded_text!(
    /// A short single-line title (of a case, a report).
    Title, max = 200, multiline = false,
    describe = "A short single-line title."
);
bounded_text!(
    /// The narrative of a threat report: what the information says.
    Narrative, max = 100_000, multiline = true,
    describe = "Free text of the report (at most 100,000 characters)."
);
bounded_text!(
    /// A written reason for a decision (grading, waiver, approval, rejection).
    Reason, max = 10_000, multiline = true,
    describe = "A written reason (at most 10,000 characters)."
);
bounded_text!(
    /// A short free-text note or description.
    Note, max = 10_000, multiline = true,
    describe = "A free-text note (at most 10,000 characters)."
);
bounded_text!(
    /// The name of a person, group or organisation as written in the source.
    Name, max = 300, multiline = false,
    describe = "A name as written in the source (one line, at most 300 characters)."
);
bounded_text!(
    /// An organisation that holds or receives information: an agency, a
    /// service, a station, a security team ("element" in DOMAIN.md).
    ElementName, max = 200, multiline = false,
    describe = "The name of an element (organisation)."
);
bounded_text!(
    /// A term that must never appear in a delivered warning: a source
    /// identifier, an asset's name, a code word.
    SecretTerm, max = 200, multiline = false,
    describe = "A term that must never appear in a delivered warning."
);
bounded_text!(
    /// Where a report's information first came from: the first-hand source,
    /// or the publication it repeats ("Wall Street Journal, 2024-01-05").
    /// Reports with the same origin ([`Origin::key`]) count as one source.
    Origin, max = 300, multiline = false,
    describe = "The first-hand source or the publication a report repeats (one line, at most 300 characters). Reports with the same origin (compared without case, punctuation or extra spaces) count as one source."
);

impl Origin {
    /// The form two origins are compared in: lower case, runs of anything
    /// but letters and digits made one space ("Wall Street Journal,
    /// 2024-01-05" and "wall street journal 2024 01 05" are one origin). An
    /// origin with no letter or digit compares as its trimmed text.
    pub fn key(&self) -> String {
        let words: Vec<String> = self
            .0
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        if words.is_empty() {
            self.0.trim().to_owned()
        } else {
            words.join(" ")
        }
    }
}

bounded_text!(
    /// A short label: a classification level, a compartment.
    Label, max = 64, multiline = false,
    describe = "A short label."
);

/// The name of a person acting in tocsin (an analyst, an approver...).
///
/// Lower-case ASCII letters, digits and `.`, `_`, `-`, `@`; 1 to 64
/// characters; starts with a letter or digit. Names are compared exactly,
/// which is what the two-person rule relies on.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ActorName(String);

impl ActorName {
    pub fn new(s: impl Into<String>) -> Result<Self, TextError> {
        let s: String = s.into();
        if s.is_empty() {
            return Err(TextError::Empty);
        }
        if s.len() > 64 {
            return Err(TextError::TooLong {
                len: s.len(),
                max: 64,
            });
        }
        let first = s.as_bytes()[0];
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(TextError::Invalid(
                "must start with a lower-case letter or a digit",
            ));
        }
        if !s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@')
        }) {
            return Err(TextError::Invalid(
                "may contain only lower-case letters, digits, '.', '_', '-' and '@'",
            ));
        }
        Ok(Self(s))
    }

    /// The actor tocsin itself uses for events it raises on its own
    /// (deadline sweeps, re-assessment flags).
    pub fn system() -> Self {
        Self("tocsin".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ActorName {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        Self::new(s)
    }
}
impl From<ActorName> for String {
    fn from(v: ActorName) -> String {
        v.0
    }
}
impl std::str::FromStr for ActorName {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, TextError> {
        Self::new(s)
    }
}
impl fmt::Display for ActorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ActorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}
impl schemars::JsonSchema for ActorName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ActorName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[a-z0-9][a-z0-9._@-]{0,63}$",
            "description": "The account name of a person acting in tocsin.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_blank_text_is_refused() {
        assert_eq!(Title::new(""), Err(TextError::Empty));
        assert_eq!(Reason::new("   \n "), Err(TextError::Empty));
    }

    #[test]
    fn single_line_types_refuse_line_breaks() {
        assert_eq!(Title::new("a\nb"), Err(TextError::LineBreak));
        assert!(Narrative::new("a\nb").is_ok());
    }

    #[test]
    fn bidirectional_controls_are_found() {
        assert_eq!(bidi_control("Embassy \u{202E}eciffo"), Some('\u{202E}'));
        assert_eq!(bidi_control("a\u{2066}b"), Some('\u{2066}'));
        assert_eq!(bidi_control("وزارت امور خارجه"), None);
        assert_eq!(bidi_control("Plain name"), None);
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(Name::new("a\u{7}b"), Err(TextError::Control(7)));
    }

    #[test]
    fn length_is_counted_in_characters() {
        let s: String = "ж".repeat(200);
        assert!(Title::new(s.clone()).is_ok());
        assert!(matches!(
            Title::new(s + "ж"),
            Err(TextError::TooLong { len: 201, max: 200 })
        ));
    }

    #[test]
    fn actor_names() {
        assert!(ActorName::new("analyst.kim").is_ok());
        assert!(ActorName::new("Analyst").is_err());
        assert!(ActorName::new(".x").is_err());
        assert!(ActorName::new("a b").is_err());
        assert!(ActorName::new("").is_err());
    }

    #[test]
    fn serde_goes_through_the_constructor() {
        let r: Result<Title, _> = serde_json::from_str("\"\"");
        assert!(r.unwrap_err().to_string().contains("must not be empty"));
    }
}
