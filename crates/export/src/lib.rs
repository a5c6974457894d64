//! # tocsin-export
//!
//! The formats an approved warning is delivered in (DOMAIN.md section 5):
//!
//! * [`letter`]: a plain-text printable letter, with sender, recipient (and
//!   any relay of the route), the date in the recipient's time zone, the
//!   exact approved text between markers, and the warning version and its
//!   SHA-256 in the footer;
//! * [`cap::alert`]: an OASIS CAP 1.2 XML alert (scope Private or
//!   Restricted, category Security, urgency, severity and certainty derived
//!   from the assessment as documented in [`cap`]);
//! * [`stix`]: a case as a STIX 2.1 bundle, with the duty-to-warn record in
//!   tocsin's own property extension, and the TLP 2.0 marking table;
//! * [`taxii`]: TAXII 2.1 as data (object headers, the paging position and
//!   its opaque cursor, the `GET objects` query).
//!
//! Pure, like the domain: no IO, no clock, no randomness. The identifier,
//! the time sent and every other value come in as arguments, so the same
//! inputs always give the same bytes (the golden files under `tests/golden`
//! hold the Kerman and Crocus outputs).

pub mod bag;
pub mod cap;
mod letter;
pub mod stix;
pub mod taxii;

pub use letter::{BEGIN, END, Letter, letter, text_of};

use tocsin_domain::case::{WarningNumber, WarningVersion};
use tocsin_domain::delivery::WarningText;

/// Why an export could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error(
        "the SHA-256 given ({given}) is not the hash of the warning text ({actual}): export the exact approved text"
    )]
    HashMismatch { given: String, actual: String },
    #[error("warning versions start at 1")]
    VersionZero,
    #[error("warning version {0} is not approved: only an approved warning is exported")]
    NotApproved(u32),
    #[error("{field}: U+{code:04X} cannot appear in an XML 1.0 document")]
    NotXml { field: &'static str, code: u32 },
    #[error(
        "'{0}' cannot be a CAP identifier or sender: it must be non-empty, without spaces, commas, '<' or '&'"
    )]
    CapId(String),
    #[error("'{0}' cannot be a CAP address: it must be non-empty and without double quotes")]
    CapAddress(String),
    #[error("a Private CAP alert needs at least one address")]
    NoAddresses,
    #[error("writing the XML failed: {0}")]
    Xml(String),
}

/// The approved warning to export: its exact text, version and hash.
/// Constructed only if the hash is the text's SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedWarning {
    text: WarningText,
    version: u32,
    sha256: String,
    /// Which warning of its case (W1 unless [`ApprovedWarning::of_warning`]).
    warning: WarningNumber,
}

impl ApprovedWarning {
    /// Checks that `sha256` is the SHA-256 of `text` (lower-case hex, as
    /// the case records it) and that the version is 1 or more.
    pub fn new(text: WarningText, version: u32, sha256: &str) -> Result<Self, ExportError> {
        if version == 0 {
            return Err(ExportError::VersionZero);
        }
        let actual = text.sha256();
        if !actual.eq_ignore_ascii_case(sha256.trim()) {
            return Err(ExportError::HashMismatch {
                given: sha256.to_owned(),
                actual,
            });
        }
        Ok(Self {
            text,
            version,
            sha256: actual,
            warning: WarningNumber::FIRST,
        })
    }

    /// The same, as a version of warning `n` of its case (a case may warn
    /// several recipients). An export of W1 reads as it always did; the
    /// others name their warning.
    pub fn of_warning(self, n: WarningNumber) -> Self {
        Self { warning: n, ..self }
    }

    /// Which warning of its case this is.
    pub fn warning(&self) -> WarningNumber {
        self.warning
    }

    /// The approved version of a case's warning.
    pub fn from_version(w: &WarningVersion) -> Result<Self, ExportError> {
        if w.approved_by.is_none() {
            return Err(ExportError::NotApproved(w.version));
        }
        Self::new(w.text.clone(), w.version, &w.sha256)
    }

    pub fn text(&self) -> &WarningText {
        &self.text
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    /// Lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_must_be_of_the_text() {
        let t = WarningText::new("There is a threat.").unwrap();
        let sha = t.sha256();
        assert!(ApprovedWarning::new(t.clone(), 1, &sha).is_ok());
        assert!(ApprovedWarning::new(t.clone(), 1, &sha.to_uppercase()).is_ok());
        assert!(matches!(
            ApprovedWarning::new(t.clone(), 0, &sha),
            Err(ExportError::VersionZero)
        ));
        let other = WarningText::new("There is a threat. ").unwrap().sha256();
        assert!(matches!(
            ApprovedWarning::new(t, 1, &other),
            Err(ExportError::HashMismatch { .. })
        ));
    }
}
