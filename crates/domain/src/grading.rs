//! Admiralty (NATO) grading and the four axes of specificity.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{ActorName, Reason};

/// Source reliability, A (completely reliable) to F (cannot be judged).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum SourceReliability {
    /// Completely reliable.
    A,
    /// Usually reliable.
    B,
    /// Fairly reliable.
    C,
    /// Not usually reliable.
    D,
    /// Unreliable.
    E,
    /// Reliability cannot be judged.
    F,
}

impl SourceReliability {
    pub const ALL: [SourceReliability; 6] = [Self::A, Self::B, Self::C, Self::D, Self::E, Self::F];

    pub fn letter(self) -> char {
        match self {
            Self::A => 'A',
            Self::B => 'B',
            Self::C => 'C',
            Self::D => 'D',
            Self::E => 'E',
            Self::F => 'F',
        }
    }
    pub fn from_letter(c: char) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.letter() == c)
    }
    pub fn meaning(self) -> &'static str {
        match self {
            Self::A => "completely reliable",
            Self::B => "usually reliable",
            Self::C => "fairly reliable",
            Self::D => "not usually reliable",
            Self::E => "unreliable",
            Self::F => "reliability cannot be judged",
        }
    }
}

/// Information credibility, 1 (confirmed by other sources) to 6 (cannot be judged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum InformationCredibility {
    Confirmed = 1,
    ProbablyTrue = 2,
    PossiblyTrue = 3,
    Doubtful = 4,
    Improbable = 5,
    CannotBeJudged = 6,
}

/// A credibility number outside 1–6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not an information credibility grade (1 confirmed … 6 cannot be judged)")]
pub struct CredibilityError(pub u8);

impl TryFrom<u8> for InformationCredibility {
    type Error = CredibilityError;
    fn try_from(n: u8) -> Result<Self, CredibilityError> {
        Ok(match n {
            1 => Self::Confirmed,
            2 => Self::ProbablyTrue,
            3 => Self::PossiblyTrue,
            4 => Self::Doubtful,
            5 => Self::Improbable,
            6 => Self::CannotBeJudged,
            _ => return Err(CredibilityError(n)),
        })
    }
}
impl From<InformationCredibility> for u8 {
    fn from(c: InformationCredibility) -> u8 {
        c as u8
    }
}
impl schemars::JsonSchema for InformationCredibility {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "InformationCredibility".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": 6,
            "description": "1 confirmed by other sources, 2 probably true, 3 possibly true, 4 doubtful, 5 improbable, 6 cannot be judged.",
        })
    }
}

impl InformationCredibility {
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed by other sources",
            Self::ProbablyTrue => "probably true",
            Self::PossiblyTrue => "possibly true",
            Self::Doubtful => "doubtful",
            Self::Improbable => "improbable",
            Self::CannotBeJudged => "cannot be judged",
        }
    }
}

/// An Admiralty grade such as `B2`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AdmiraltyGrade {
    pub reliability: SourceReliability,
    pub credibility: InformationCredibility,
}

/// A grade string that is not letter A–F followed by digit 1–6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not an Admiralty grade: write the source reliability A–F then the information credibility 1–6, e.g. B2"
)]
pub struct GradeError(pub String);

impl AdmiraltyGrade {
    pub fn new(reliability: SourceReliability, credibility: InformationCredibility) -> Self {
        Self {
            reliability,
            credibility,
        }
    }
    pub fn parse(s: &str) -> Result<Self, GradeError> {
        let err = || GradeError(s.to_owned());
        let mut chars = s.chars();
        let (Some(l), Some(d), None) = (chars.next(), chars.next(), chars.next()) else {
            return Err(err());
        };
        let reliability = SourceReliability::from_letter(l.to_ascii_uppercase()).ok_or_else(err)?;
        let n = d.to_digit(10).ok_or_else(err)? as u8;
        let credibility = InformationCredibility::try_from(n).map_err(|_| err())?;
        Ok(Self {
            reliability,
            credibility,
        })
    }
}
impl fmt::Display for AdmiraltyGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.reliability.letter(), self.credibility as u8)
    }
}
impl fmt::Debug for AdmiraltyGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl TryFrom<String> for AdmiraltyGrade {
    type Error = GradeError;
    fn try_from(s: String) -> Result<Self, GradeError> {
        Self::parse(&s)
    }
}
impl From<AdmiraltyGrade> for String {
    fn from(g: AdmiraltyGrade) -> String {
        g.to_string()
    }
}
impl std::str::FromStr for AdmiraltyGrade {
    type Err = GradeError;
    fn from_str(s: &str) -> Result<Self, GradeError> {
        Self::parse(s)
    }
}
impl schemars::JsonSchema for AdmiraltyGrade {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AdmiraltyGrade".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Fa-f][1-6]$",
            "description": "Admiralty grade: source reliability A–F then information credibility 1–6, e.g. B2.",
        })
    }
}

/// A grade with who gave it and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grading {
    pub grade: AdmiraltyGrade,
    /// Who graded the source and the information.
    pub assessor: ActorName,
    /// Why this grade.
    pub reason: Reason,
}

/// How much is known on one axis of specificity.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    Absent,
    Partial,
    Present,
}

impl Detail {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Absent => "absent",
            Self::Partial => "partial",
            Self::Present => "present",
        }
    }
}

/// One of the four axes of specificity.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// The victim is identifiable.
    Who,
    /// The place is known.
    Where,
    /// The time is known (a window).
    When,
    /// The method or the perpetrator is known.
    How,
}

impl Axis {
    pub const ALL: [Axis; 4] = [Axis::Who, Axis::Where, Axis::When, Axis::How];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Who => "who",
            Self::Where => "where",
            Self::When => "when",
            Self::How => "how",
        }
    }
}

/// Specificity on the four axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Specificity {
    /// Is the intended victim identifiable?
    pub who: Detail,
    /// Is the place known?
    #[serde(rename = "where")]
    pub where_: Detail,
    /// Is the time known?
    pub when: Detail,
    /// Is the method or the perpetrator known?
    pub how: Detail,
}

impl Specificity {
    pub fn get(&self, axis: Axis) -> Detail {
        match axis {
            Axis::Who => self.who,
            Axis::Where => self.where_,
            Axis::When => self.when,
            Axis::How => self.how,
        }
    }

    /// The better of the two on each axis.
    pub fn max(&self, other: &Specificity) -> Specificity {
        Specificity {
            who: self.who.max(other.who),
            where_: self.where_.max(other.where_),
            when: self.when.max(other.when),
            how: self.how.max(other.how),
        }
    }

    pub fn describe(&self) -> String {
        Axis::ALL
            .iter()
            .map(|a| format!("{} {}", a.as_str(), self.get(*a).as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_and_print() {
        let g = AdmiraltyGrade::parse("B2").unwrap();
        assert_eq!(g.reliability, SourceReliability::B);
        assert_eq!(g.credibility, InformationCredibility::ProbablyTrue);
        assert_eq!(g.to_string(), "B2");
        assert_eq!(AdmiraltyGrade::parse("f5").unwrap().to_string(), "F5");
        for bad in ["", "B", "B7", "G2", "B0", "B22", "2B"] {
            assert!(AdmiraltyGrade::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credibility_out_of_range_is_refused_by_serde() {
        assert!(serde_json::from_str::<InformationCredibility>("7").is_err());
        assert_eq!(
            serde_json::from_str::<InformationCredibility>("3").unwrap(),
            InformationCredibility::PossiblyTrue
        );
    }

    #[test]
    fn specificity_uses_where_on_the_wire() {
        let s: Specificity = serde_json::from_str(
            r#"{"who":"partial","where":"present","when":"partial","how":"present"}"#,
        )
        .unwrap();
        assert_eq!(s.where_, Detail::Present);
        assert!(serde_json::from_str::<Specificity>(r#"{"who":"partial"}"#).is_err());
    }
}
