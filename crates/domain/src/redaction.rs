//! Redaction for release: a records officer names a record (its ledger
//! position), a field of its event (an RFC 6901 JSON pointer into the
//! event envelope, such as `/event/report/narrative`) and an exemption
//! code; a second records officer approves it (never the same person).
//! The release copy of an export shows each approved redaction in place
//! as `[(b)(6), 14 words]`; the ledger keeps the original and its hash.
//! Exemption codes are data ([`Exemptions`], built in from
//! `policies/exemptions.toml`). Pure: the events come in, the state and
//! the refusals go out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::ids::RedactionId;
use crate::text::ActorName;

/// The exemption codes shipped with tocsin (FOIA's most used).
pub const BUILTIN_EXEMPTIONS: &str = include_str!("../policies/exemptions.toml");

/// The exemption codes a redaction may cite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exemptions {
    codes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionsFile {
    exemption: Vec<ExemptionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionEntry {
    code: String,
    meaning: String,
}

impl Exemptions {
    /// Parses an exemptions file: at least one code, none twice, none
    /// empty or with a newline or brackets (it is shown in `[...]`).
    pub fn parse(source: &str) -> Result<Self, RedactionError> {
        let f: ExemptionsFile =
            toml::from_str(source).map_err(|e| RedactionError::Exemptions(e.to_string()))?;
        let mut codes = BTreeMap::new();
        for e in f.exemption {
            let c = e.code.trim();
            if c.is_empty() || c.contains(['\n', '[', ']', ',']) {
                return Err(RedactionError::Exemptions(format!(
                    "'{}' cannot be a code",
                    e.code
                )));
            }
            if codes.insert(c.to_owned(), e.meaning).is_some() {
                return Err(RedactionError::Exemptions(format!("'{c}' is listed twice")));
            }
        }
        if codes.is_empty() {
            return Err(RedactionError::Exemptions("no exemption codes".into()));
        }
        Ok(Self { codes })
    }

    pub fn builtin() -> Self {
        // The shipped file is tested to parse.
        Self::parse(BUILTIN_EXEMPTIONS).unwrap_or(Self {
            codes: BTreeMap::new(),
        })
    }

    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains_key(code)
    }

    pub fn codes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.codes.iter().map(|(c, m)| (c.as_str(), m.as_str()))
    }
}

/// A redaction refused, or an exemptions file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedactionError {
    #[error("exemptions: {0}")]
    Exemptions(String),
    #[error("'{0}' is not an exemption code of this deployment")]
    UnknownExemption(String),
    #[error(
        "'{0}' is not a JSON pointer into the event (it starts with '/', e.g. /event/report/narrative)"
    )]
    Field(String),
    #[error("there is no redaction {0}")]
    NoSuchRedaction(RedactionId),
    #[error("redaction {0} is already approved")]
    AlreadyApproved(RedactionId),
    #[error("{0} requested redaction {1}: a second records officer must approve it")]
    SamePerson(ActorName, RedactionId),
}

/// One redaction, as the records stream says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    pub id: RedactionId,
    pub position: u64,
    pub field: String,
    /// The runs of the field's text redacted; empty: the whole field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<TextSpan>,
    pub exemption: String,
    pub requested_by: ActorName,
    pub approved_by: Option<ActorName>,
}

/// Every redaction, by id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redactions {
    pub all: BTreeMap<RedactionId, Redaction>,
}

impl Redactions {
    /// Folds one records-stream event (others are ignored).
    pub fn apply(&mut self, actor: &ActorName, e: &Event) {
        match e {
            Event::RedactionRequested {
                redaction_id,
                position,
                field,
                spans,
                exemption,
                ..
            } => {
                self.all.insert(
                    *redaction_id,
                    Redaction {
                        id: *redaction_id,
                        position: *position,
                        field: field.clone(),
                        spans: spans.clone(),
                        exemption: exemption.clone(),
                        requested_by: actor.clone(),
                        approved_by: None,
                    },
                );
            }
            Event::RedactionApproved { redaction_id } => {
                if let Some(r) = self.all.get_mut(redaction_id) {
                    r.approved_by = Some(actor.clone());
                }
            }
            _ => {}
        }
    }

    /// Whether `by` may approve redaction `id` (the domain's two-person
    /// rule: never its requester).
    pub fn check_approve(
        &self,
        id: RedactionId,
        by: &ActorName,
    ) -> Result<&Redaction, RedactionError> {
        let r = self
            .all
            .get(&id)
            .ok_or(RedactionError::NoSuchRedaction(id))?;
        if r.approved_by.is_some() {
            return Err(RedactionError::AlreadyApproved(id));
        }
        if &r.requested_by == by {
            return Err(RedactionError::SamePerson(by.clone(), id));
        }
        Ok(r)
    }
}

/// Checks a requested redaction's field and code.
pub fn check_request(
    exemptions: &Exemptions,
    field: &str,
    exemption: &str,
) -> Result<(), RedactionError> {
    if !exemptions.contains(exemption) {
        return Err(RedactionError::UnknownExemption(exemption.to_owned()));
    }
    if !field.starts_with('/') || field.len() < 2 || field.contains('\n') {
        return Err(RedactionError::Field(field.to_owned()));
    }
    Ok(())
}

/// What replaces a redacted value: `[(b)(6), 14 words]`.
pub fn mark(exemption: &str, words: usize) -> String {
    let unit = if words == 1 { "word" } else { "words" };
    format!("[{exemption}, {words} {unit}]")
}

/// A run of a field's text, `[start, end)` counted in characters (Unicode
/// scalar values). A redaction names its spans by place, never by the
/// words themselves, so the records stream (kept as long as the ledger)
/// never holds what was redacted.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct TextSpan {
    pub start: u32,
    pub end: u32,
}

/// Every occurrence of `needle` in `text`, without overlap, left to right
/// (none for an empty or blank needle).
pub fn spans_of(text: &str, needle: &str) -> Vec<TextSpan> {
    if needle.trim().is_empty() {
        return Vec::new();
    }
    let len = needle.chars().count() as u32;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        let start = text[..at].chars().count() as u32;
        out.push(TextSpan {
            start,
            end: start + len,
        });
        from = at + needle.len();
    }
    out
}

/// Applies a redaction to an envelope as JSON: the value at the `field`
/// pointer is replaced by its mark, or, with `spans`, each span of its
/// text by its own mark. Returns the words removed, or `None` when the
/// pointer names nothing, or the spans do not fit its text (not a
/// string, out of bounds, empty or overlapping).
pub fn redact(
    envelope: &mut serde_json::Value,
    field: &str,
    spans: &[TextSpan],
    exemption: &str,
) -> Option<usize> {
    let v = envelope.pointer_mut(field)?;
    if spans.is_empty() {
        let words = match &*v {
            serde_json::Value::String(s) => s.split_whitespace().count(),
            other => other.to_string().split_whitespace().count(),
        };
        *v = serde_json::Value::String(mark(exemption, words));
        return Some(words);
    }
    let serde_json::Value::String(text) = &*v else {
        return None;
    };
    let chars: Vec<char> = text.chars().collect();
    let mut sorted = spans.to_vec();
    sorted.sort();
    let (mut out, mut at, mut total) = (String::new(), 0usize, 0usize);
    for s in &sorted {
        let (start, end) = (s.start as usize, s.end as usize);
        if start < at || end <= start || end > chars.len() {
            return None;
        }
        out.extend(&chars[at..start]);
        let words = chars[start..end]
            .iter()
            .collect::<String>()
            .split_whitespace()
            .count();
        out.push_str(&mark(exemption, words));
        total += words;
        at = end;
    }
    out.extend(&chars[at..]);
    *v = serde_json::Value::String(out);
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_codes_parse_and_a_bad_file_is_refused() {
        let e = Exemptions::builtin();
        for c in ["(b)(1)", "(b)(3)", "(b)(6)", "(b)(7)(C)"] {
            assert!(e.contains(c), "{c}");
        }
        assert!(Exemptions::parse("").is_err());
        assert!(Exemptions::parse("[[exemption]]\ncode = \"[x]\"\nmeaning = \"m\"\n").is_err());
    }

    #[test]
    fn a_redaction_is_shown_in_place_with_its_code_and_size() {
        let mut v = serde_json::json!({"event": {"text": "one two three"}});
        assert_eq!(redact(&mut v, "/event/text", &[], "(b)(6)"), Some(3));
        assert_eq!(v["event"]["text"], "[(b)(6), 3 words]");
        assert_eq!(redact(&mut v, "/event/none", &[], "(b)(6)"), None);
    }

    #[test]
    fn a_span_is_redacted_in_place_and_the_rest_of_the_text_stays() {
        let text = "Ahmad Rezaei lives at 14 Rue des Tanneurs; Rezaei é at 14 Rue des Tanneurs.";
        let spans = spans_of(text, "14 Rue des Tanneurs");
        assert_eq!(spans.len(), 2);
        // Counted in characters: the second follows an 'é' (two bytes).
        let chars: Vec<char> = text.chars().collect();
        let s = spans[1];
        assert_eq!(
            chars[s.start as usize..s.end as usize]
                .iter()
                .collect::<String>(),
            "14 Rue des Tanneurs"
        );
        let mut v = serde_json::json!({"event": {"text": text}});
        assert_eq!(redact(&mut v, "/event/text", &spans, "(b)(6)"), Some(8));
        assert_eq!(
            v["event"]["text"],
            "Ahmad Rezaei lives at [(b)(6), 4 words]; Rezaei é at [(b)(6), 4 words]."
        );
        // Spans that do not fit the text are refused, not guessed at.
        for bad in [
            vec![TextSpan { start: 3, end: 3 }],
            vec![TextSpan { start: 0, end: 999 }],
            vec![TextSpan { start: 0, end: 5 }, TextSpan { start: 4, end: 8 }],
        ] {
            let mut v = serde_json::json!({"event": {"text": text}});
            assert_eq!(
                redact(&mut v, "/event/text", &bad, "(b)(6)"),
                None,
                "{bad:?}"
            );
        }
        let mut v = serde_json::json!({"event": {"n": 3}});
        assert_eq!(redact(&mut v, "/event/n", &spans, "(b)(6)"), None);
        assert!(spans_of(text, " ").is_empty());
    }

    #[test]
    fn the_requester_never_approves() {
        let mut r = Redactions::default();
        let id = RedactionId::from_uuid(uuid::Uuid::from_u128(1));
        let alice = ActorName::new("alice").unwrap();
        r.apply(
            &alice,
            &Event::RedactionRequested {
                redaction_id: id,
                position: 3,
                field: "/event/text".into(),
                spans: vec![],
                exemption: "(b)(6)".into(),
                reason: crate::text::Reason::new("privacy").unwrap(),
            },
        );
        assert!(matches!(
            r.check_approve(id, &alice),
            Err(RedactionError::SamePerson(..))
        ));
        let bob = ActorName::new("bob").unwrap();
        assert!(r.check_approve(id, &bob).is_ok());
        r.apply(&bob, &Event::RedactionApproved { redaction_id: id });
        assert!(matches!(
            r.check_approve(id, &bob),
            Err(RedactionError::AlreadyApproved(_))
        ));
    }
}
