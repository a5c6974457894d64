//! The sanitisation check: what in a warning's text would reveal the source,
//! the method, a code word, a report number or a classification marking.
//!
//! A warning with any finding cannot be recorded as a draft or approved
//! (the analyst sees every finding with its position and rephrases).

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::policy::SanitisationRules;

/// What kind of thing a finding reveals.
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
pub enum FindingCategory {
    /// An identifier of the source (from a report of the case).
    SourceIdentifier,
    /// A term the case marks as secret (an asset's name, a code word).
    SecretTerm,
    /// An organisation-wide code word from the policy.
    CodeWord,
    /// A report or serial number.
    ReportNumber,
    /// A classification banner or portion marking.
    ClassificationMarking,
    /// A word that reveals how the information was collected.
    MethodWord,
}

impl FindingCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SourceIdentifier => "source identifier",
            Self::SecretTerm => "secret term",
            Self::CodeWord => "code word",
            Self::ReportNumber => "report number",
            Self::ClassificationMarking => "classification marking",
            Self::MethodWord => "method word",
        }
    }
}

/// One thing found in a text: what, where (byte offsets) and the matched text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    pub category: FindingCategory,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} '{}' at {}..{}",
            self.category.as_str(),
            self.text,
            self.start,
            self.end
        )
    }
}

/// A term from the case that must not appear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedTerm {
    pub term: String,
    pub category: FindingCategory,
}

/// The policy's sanitisation rules, compiled once when the policy loads.
#[derive(Clone, Debug)]
pub struct CompiledRules {
    method: Option<Regex>,
    code: Option<Regex>,
    banner: Option<Regex>,
    portion: Regex,
    report_numbers: Vec<Regex>,
}

fn word_list_regex(words: &[String], case_insensitive: bool) -> Option<Regex> {
    if words.is_empty() {
        return None;
    }
    let mut sorted: Vec<&String> = words.iter().collect();
    // Longest first, so "TOP SECRET" wins over "SECRET".
    sorted.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let alts: Vec<String> = sorted.iter().map(|w| bounded(w)).collect();
    RegexBuilder::new(&alts.join("|"))
        .case_insensitive(case_insensitive)
        .build()
        .ok()
}

/// `term` escaped, with word boundaries on the sides that start or end with a word character.
fn bounded(term: &str) -> String {
    let t = term.trim();
    let esc = regex::escape(t).replace(' ', r"\s+");
    let starts = t
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    let ends = t
        .chars()
        .last()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    format!(
        "{}{}{}",
        if starts { r"\b" } else { "" },
        esc,
        if ends { r"\b" } else { "" }
    )
}

impl CompiledRules {
    /// Compiles the rules; an invalid pattern is returned as (index, reason).
    pub(crate) fn compile(r: &SanitisationRules) -> Result<Self, (usize, String)> {
        let mut report_numbers = Vec::new();
        for (i, p) in r.report_number_patterns.iter().enumerate() {
            let re =
                Regex::new(p).map_err(|e| (i, format!("not a valid regular expression: {e}")))?;
            report_numbers.push(re);
        }
        Ok(Self {
            method: word_list_regex(&r.method_words, true),
            code: word_list_regex(&r.code_words, true),
            banner: word_list_regex(&r.classification_markings, false),
            // Portion marks: (U), (C), (S), (TS), (S//NF), (TS//SI//REL TO USA, GBR) ...
            portion: Regex::new(r"\((?:U|C|S|TS|R|CUI)(?://[A-Z0-9 ,/-]+)?\)")
                .expect("static pattern"),
            report_numbers,
        })
    }

    /// Every finding in `text`, ordered by position.
    pub fn check(&self, text: &str, protected: &[ProtectedTerm]) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |cat: FindingCategory, m: regex::Match<'_>| {
            out.push(Finding {
                category: cat,
                start: m.start(),
                end: m.end(),
                text: m.as_str().to_owned(),
            })
        };
        for p in protected {
            if p.term.trim().is_empty() {
                continue;
            }
            if let Ok(re) = RegexBuilder::new(&bounded(&p.term))
                .case_insensitive(true)
                .build()
            {
                for m in re.find_iter(text) {
                    push(p.category, m);
                }
            }
        }
        if let Some(re) = &self.code {
            for m in re.find_iter(text) {
                push(FindingCategory::CodeWord, m);
            }
        }
        for re in &self.report_numbers {
            for m in re.find_iter(text) {
                push(FindingCategory::ReportNumber, m);
            }
        }
        if let Some(re) = &self.banner {
            for m in re.find_iter(text) {
                push(FindingCategory::ClassificationMarking, m);
            }
        }
        for m in self.portion.find_iter(text) {
            push(FindingCategory::ClassificationMarking, m);
        }
        if let Some(re) = &self.method {
            for m in re.find_iter(text) {
                push(FindingCategory::MethodWord, m);
            }
        }
        out.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        // Drop findings wholly inside an earlier one (a report number inside a source id...).
        let mut kept: Vec<Finding> = Vec::with_capacity(out.len());
        for f in out {
            if kept.iter().any(|k| k.start <= f.start && f.end <= k.end) {
                continue;
            }
            kept.push(f);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::LoadedPolicy;

    fn check(text: &str) -> Vec<Finding> {
        let p = LoadedPolicy::builtin();
        let protected = vec![
            ProtectedTerm {
                term: "CS-4471".into(),
                category: FindingCategory::SourceIdentifier,
            },
            ProtectedTerm {
                term: "NIGHTJAR".into(),
                category: FindingCategory::SecretTerm,
            },
            ProtectedTerm {
                term: "TD-314/00123-23".into(),
                category: FindingCategory::ReportNumber,
            },
        ];
        p.sanitiser().check(text, &protected)
    }

    fn cats(text: &str) -> Vec<FindingCategory> {
        check(text).into_iter().map(|f| f.category).collect()
    }

    #[test]
    fn clean_warning_has_no_findings() {
        let t = "There is a terrorist threat to the commemoration at the Kerman cemetery on 3 January 2024. \
                 Attackers may use explosives. Increase security at the site and screen attendees.";
        assert!(check(t).is_empty(), "{:?}", check(t));
        assert!(check("A secret meeting place is not a marking in lower case.").is_empty());
    }

    #[test]
    fn findings_are_found_with_spans() {
        let t = "(S//NF) Source CS-4471 reports, per TD-314/00123-23, an intercept about NIGHTJAR.";
        let f = check(t);
        let c: Vec<_> = f.iter().map(|f| f.category).collect();
        assert_eq!(
            c,
            vec![
                FindingCategory::ClassificationMarking,
                FindingCategory::SourceIdentifier,
                FindingCategory::ReportNumber,
                FindingCategory::MethodWord,
                FindingCategory::SecretTerm,
            ],
            "{f:#?}"
        );
        assert_eq!(&t[f[1].start..f[1].end], "CS-4471");
    }

    #[test]
    fn banners_and_method_words() {
        assert_eq!(
            cats("TOP SECRET//HCS warning text"),
            vec![
                FindingCategory::ClassificationMarking,
                FindingCategory::ClassificationMarking
            ]
        );
        assert_eq!(
            cats("SIGINT indicates an attack"),
            vec![FindingCategory::MethodWord]
        );
        assert_eq!(
            cats("a human  source said"),
            vec![FindingCategory::MethodWord]
        );
        assert_eq!(
            cats("see report no. 2024-118"),
            vec![FindingCategory::ReportNumber]
        );
        assert_eq!(
            cats("cs-4471 lower case"),
            vec![FindingCategory::SourceIdentifier]
        );
    }
}
