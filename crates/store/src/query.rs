//! What the case list can be filtered by, beside [`crate::CaseQuery`]'s
//! plain fields: a determination, and words of the title.

/// A determination to filter the case list by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerdictFilter {
    /// Not determined yet.
    Undetermined,
    DutyToWarn,
    /// The threshold is not met.
    NoDuty,
    NeedsMoreInformation,
}

impl VerdictFilter {
    /// The `LIKE` pattern of the stored verdict text (the verdict's
    /// display, see `Verdict`'s `Display`); `None` for undetermined (no
    /// verdict stored).
    pub fn pattern(self) -> Option<&'static str> {
        match self {
            Self::Undetermined => None,
            Self::DutyToWarn => Some("duty to warn"),
            Self::NoDuty => Some("threshold not met%"),
            Self::NeedsMoreInformation => Some("needs more information%"),
        }
    }
}

/// `text` as a `LIKE` pattern matching titles that contain it, with `\`
/// as the escape character (its `%`, `_` and `\` match themselves).
pub fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}
