//! The sanitisation check: what in a warning's text would reveal the source,
//! the method, a code word, a report number or a classification marking.
//!
//! A warning with any finding cannot be recorded as a draft or approved
//! (the analyst sees every finding with its position and rephrases).
//!
//! What is checked, each finding with its byte span:
//!
//! * the case's **protected terms** (source identifiers, report numbers,
//!   secret terms from its reports), in any case and with any separators
//!   (`CS-4471` also finds `cs 4471` and `CS4471`); nothing excuses them;
//!   a report number is caught by its format as well, so the numbers of
//!   other cases in the same format are too (`NYFO/21/0118` finds
//!   `NYFO/21/0977`);
//! * **code words** the organisation lists, any case;
//! * **report and serial numbers** (patterns: `TD-314/012345-24`,
//!   `IIR 6 123 4567 24`, `report no. 118`, cable numbers...);
//! * **classification markings**: banners (`TOP SECRET//NOFORN`, exact
//!   case), portion marks (`(S//REL TO USA, FVEY)`, `(U)`) and bare
//!   control chains (`S//NF`);
//! * **source designators**: `source ALPHA-7`, `CS-4471`, `NY-SRC-19`;
//! * **method words** (`intercept`, `SIGINT`, `implant`, `asset`...), any case;
//! * likely **code words**: `Operation NIGHTJAR`, and any word of five or
//!   more capitals in a text written in mixed case, unless it is a known
//!   organisation or alert word ([`DEFAULT_ALLOWED_CAPITALS`]).
//!
//! The lists are the defaults of this module plus an organisation's
//! additions ([`SanitiserConfig`]; the policy's `[sanitisation]` section is
//! read as additions). A method word, marking or capitalised word inside an
//! allowed phrase ("asset freeze", "dental implant", "TLP:AMBER") is
//! excused. The check leans toward flagging: a false alarm costs the
//! analyst a rephrasing, a miss can cost a source.

use std::collections::BTreeSet;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

/// The policy's sanitisation section: words and patterns a warning must not carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SanitisationRules {
    #[serde(default)]
    pub method_words: Vec<String>,
    #[serde(default)]
    pub code_words: Vec<String>,
    #[serde(default)]
    pub classification_markings: Vec<String>,
    #[serde(default)]
    pub report_number_patterns: Vec<String>,
}

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

impl Finding {
    /// The byte range of the offending text in the checked text.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

/// A term from the case that must not appear.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectedTerm {
    pub term: String,
    pub category: FindingCategory,
}

/// Words that reveal how information was collected, always checked
/// (whole words, any case). An organisation adds its own
/// ([`SanitiserConfig::method_words`], or `method_words` in the policy).
pub const DEFAULT_METHOD_WORDS: &[&str] = &[
    "intercept",
    "intercepts",
    "intercepted",
    "intercepting",
    "interception",
    "interceptions",
    "SIGINT",
    "HUMINT",
    "IMINT",
    "GEOINT",
    "MASINT",
    "OSINT",
    "COMINT",
    "ELINT",
    "FISINT",
    "TECHINT",
    "wiretap",
    "wiretaps",
    "wiretapped",
    "wiretapping",
    "phone tap",
    "tapped phone",
    "tapped phones",
    "informant",
    "informants",
    "asset",
    "clandestine source",
    "human source",
    "human sources",
    "confidential human source",
    "sensitive source",
    "sensitive sources",
    "covert source",
    "liaison service",
    "liaison partner",
    "collection platform",
    "implant",
    "implants",
    "signals intelligence",
    "human intelligence",
    "imagery intelligence",
    "technical collection",
    "technical operation",
    "debrief",
    "debriefed",
    "debriefing",
    "satellite imagery",
    "overhead imagery",
    "decrypt",
    "decrypted",
    "decryption",
    "listening device",
    "double agent",
    "undercover officer",
    "cooperating witness",
    "CHS",
    "FISA",
];

/// Classification banners and control markings, always checked (whole
/// words, exact case: "SECRET" is a marking, "secret" is a word).
pub const DEFAULT_CLASSIFICATION_MARKINGS: &[&str] = &[
    "TOP SECRET",
    "SECRET",
    "CONFIDENTIAL",
    "RESTRICTED",
    "UNCLASSIFIED",
    "CLASSIFIED",
    "NOFORN",
    "ORCON",
    "ORIGINATOR CONTROLLED",
    "REL TO",
    "RELIDO",
    "FVEY",
    "HCS",
    "SCI",
    "TS/SCI",
    "TALENT KEYHOLE",
    "NOCONTRACT",
    "PROPIN",
    "IMCON",
    "FOUO",
    "FOR OFFICIAL USE ONLY",
    "LIMDIS",
    "EXDIS",
    "NODIS",
    "SBU",
    "SENSITIVE BUT UNCLASSIFIED",
    "LES",
    "CUI",
    "EYES ONLY",
    "DISPLAY ONLY",
    "OFFICIAL-SENSITIVE",
    "OFFICIAL SENSITIVE",
    "NATO SECRET",
    "COSMIC TOP SECRET",
    "PROTECTED A",
    "PROTECTED B",
    "PROTECTED C",
];

/// Report and serial numbers, always checked (regular expressions).
pub const DEFAULT_REPORT_NUMBER_PATTERNS: &[&str] = &[
    // TD-314/012345-24, IIR 6 123 4567 24, INTREP 24-0456
    r"\b(?:TD|TDX|IIR|DOI|SR|CR|INTREP|INTSUM|SITREP)[- ]?\d[\d/ -]{3,}\d\b",
    // ABC-123/45, XY-2024-0012
    r"\b[A-Z]{2,6}-\d{2,}(?:[/-]\d+)+\b",
    // report no. 2024-118, serial #44A, reference #A-2291 (the number has a digit)
    r"(?i)\b(?:report|serial|ref(?:erence)?|case|file|cable|message|msg)\s*(?:no\.?|number|nr\.?|#)\s*[A-Z0-9/-]*\d[A-Z0-9/-]*",
    // 2/OO/512345-24 (signals report serial)
    r"\b\d/[A-Z]{1,3}/\d{3,}-\d{2}\b",
    // 24 STATE 123456, 23 MOSCOW 1234 (cable numbers)
    r"\b\d{2} [A-Z]{4,12} \d{4,6}\b",
    // 071115ZMAR24 (date-time group of a message)
    r"\b\d{6}Z ?[A-Z]{3} ?\d{2}\b",
];

/// Phrases in which a default method word or marking is innocent ("asset
/// freeze", "dental implant", "TLP:AMBER"): a finding wholly inside one is
/// dropped. Never applies to a case's protected terms or to an
/// organisation's code words.
pub const DEFAULT_ALLOWED_PHRASES: &[&str] = &[
    "asset freeze",
    "asset freezes",
    "asset management",
    "asset manager",
    "asset managers",
    "asset class",
    "asset prices",
    "fixed asset",
    "financial asset",
    "dental implant",
    "dental implants",
    "breast implant",
    "breast implants",
    "cochlear implant",
    "cochlear implants",
    "hip implant",
    "TLP:RED",
    "TLP:AMBER+STRICT",
    "TLP:AMBER",
    "TLP:GREEN",
    "TLP:CLEAR",
    "TLP:WHITE",
];

/// All-capital words of five letters or more that are not code words
/// (organisations, alert words). Any other such word in a text written in
/// mixed case is flagged as a possible code word.
pub const DEFAULT_ALLOWED_CAPITALS: &[&str] = &[
    "UNESCO",
    "UNICEF",
    "INTERPOL",
    "EUROPOL",
    "FRONTEX",
    "UNHCR",
    "UNRWA",
    "UNIFIL",
    "MONUSCO",
    "MINUSMA",
    "NORAD",
    "CENTCOM",
    "EUCOM",
    "AFRICOM",
    "INDOPACOM",
    "SOCOM",
    "COVID",
    "HAMAS",
    "FATAH",
    "ASEAN",
    "ECOWAS",
    "MERCOSUR",
    "SWIFT",
    "FINCEN",
    "NASDAQ",
    "URGENT",
    "WARNING",
    "ATTENTION",
    "IMPORTANT",
    "NOTICE",
    "ALERT",
    "DANGER",
    "PLEASE",
    "IMMEDIATE",
    "ACTION",
    "THREAT",
    "UPDATE",
    "AMBER",
    "GREEN",
    "CLEAR",
    "STRICT",
];

/// The NATO spelling alphabet: `ALPHA-7`, `ZULU 9` are source designators.
const PHONETIC: &str = "ALPHA|BRAVO|CHARLIE|DELTA|ECHO|FOXTROT|GOLF|HOTEL|INDIA|JULIET|KILO|LIMA|MIKE|NOVEMBER|OSCAR|PAPA|QUEBEC|ROMEO|SIERRA|TANGO|UNIFORM|VICTOR|WHISKEY|XRAY|X-RAY|YANKEE|ZULU";

/// What the sanitiser checks besides a case's protected terms: the
/// defaults plus an organisation's additions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SanitiserConfig {
    /// Words that reveal how information was collected (whole words, any case).
    #[serde(default)]
    pub method_words: Vec<String>,
    /// Code words (programme and operation names; whole words, any case).
    /// Never excused by an allowed phrase.
    #[serde(default)]
    pub code_words: Vec<String>,
    /// Classification and control markings (whole words, exact case).
    #[serde(default)]
    pub classification_markings: Vec<String>,
    /// Report and serial numbers (regular expressions).
    #[serde(default)]
    pub report_number_patterns: Vec<String>,
    /// Phrases that excuse a method word or marking inside them.
    #[serde(default)]
    pub allowed_phrases: Vec<String>,
    /// All-capital words that are not code words.
    #[serde(default)]
    pub allowed_capitals: Vec<String>,
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn merge(into: &mut Vec<String>, more: &[String], case_insensitive: bool) {
    for m in more {
        let m = m.trim();
        if m.is_empty() {
            continue;
        }
        let dup = into.iter().any(|w| {
            if case_insensitive {
                w.eq_ignore_ascii_case(m)
            } else {
                w == m
            }
        });
        if !dup {
            into.push(m.to_owned());
        }
    }
}

impl SanitiserConfig {
    /// The defaults shipped with tocsin.
    pub fn defaults() -> Self {
        Self {
            method_words: owned(DEFAULT_METHOD_WORDS),
            code_words: vec![],
            classification_markings: owned(DEFAULT_CLASSIFICATION_MARKINGS),
            report_number_patterns: owned(DEFAULT_REPORT_NUMBER_PATTERNS),
            allowed_phrases: owned(DEFAULT_ALLOWED_PHRASES),
            allowed_capitals: owned(DEFAULT_ALLOWED_CAPITALS),
        }
    }

    /// The lists of a policy's `[sanitisation]` section, as additions.
    pub fn from_rules(r: &SanitisationRules) -> Self {
        Self {
            method_words: r.method_words.clone(),
            code_words: r.code_words.clone(),
            classification_markings: r.classification_markings.clone(),
            report_number_patterns: r.report_number_patterns.clone(),
            allowed_phrases: vec![],
            allowed_capitals: vec![],
        }
    }

    /// `self` with an organisation's additions (duplicates are dropped).
    pub fn extended(mut self, additions: &SanitiserConfig) -> Self {
        merge(&mut self.method_words, &additions.method_words, true);
        merge(&mut self.code_words, &additions.code_words, true);
        merge(
            &mut self.classification_markings,
            &additions.classification_markings,
            false,
        );
        merge(
            &mut self.report_number_patterns,
            &additions.report_number_patterns,
            false,
        );
        merge(&mut self.allowed_phrases, &additions.allowed_phrases, true);
        merge(
            &mut self.allowed_capitals,
            &additions.allowed_capitals,
            false,
        );
        self
    }
}

/// A sanitiser configuration that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("report_number_patterns[{index}] '{pattern}': not a valid regular expression: {message}")]
pub struct SanitiseError {
    /// Index into [`SanitiserConfig::report_number_patterns`].
    pub index: usize,
    pub pattern: String,
    pub message: String,
}

/// A compiled sanitiser (the policy holds one; [`Sanitiser::new`] builds
/// one from any configuration).
pub type Sanitiser = CompiledRules;

/// The sanitisation rules, compiled once.
#[derive(Clone, Debug)]
pub struct CompiledRules {
    method: Option<Regex>,
    code: Option<Regex>,
    banner: Option<Regex>,
    portion: Regex,
    chain: Regex,
    report_numbers: Vec<Regex>,
    source_context: Regex,
    source_bare: Vec<Regex>,
    code_context: Regex,
    capitals: Regex,
    allowed_phrases: Option<Regex>,
    allowed_capitals: BTreeSet<String>,
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

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `term` escaped, with word boundaries on the sides that start or end with a word character.
fn bounded(term: &str) -> String {
    let t = term.trim();
    let esc = regex::escape(t).replace(' ', r"\s+");
    edges(t, esc)
}

/// Whether `\b` sees `c` as a word character (Unicode `\w`: letters,
/// marks, decimal digits, connectors; not `²` or `½`, which
/// [`is_word_char`] counts).
fn is_boundary_word_char(c: char) -> bool {
    static WORD: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^\w$").expect("static pattern"));
    WORD.is_match(c.encode_utf8(&mut [0; 4]))
}

/// `\b` if `\b` counts `c` as a word character, else nothing (a boundary
/// beside a character that is not one could never match).
fn edge(c: Option<char>) -> &'static str {
    if c.is_some_and(is_boundary_word_char) {
        r"\b"
    } else {
        ""
    }
}

/// `body` with word boundaries on the sides of `t` that start or end with a
/// character `\b` counts as a word character.
fn edges(t: &str, body: String) -> String {
    format!(
        "{}{}{}",
        edge(t.chars().next()),
        body,
        edge(t.chars().last())
    )
}

/// A protected term as a pattern that also matches it with other
/// separators: `CS-4471` matches `CS 4471`, `CS4471`, `CS–4471`, `cs.4471`;
/// and always as written (`Smith & Co`, `O'Brien`). A term without a word
/// character is matched as written.
fn protected_pattern(term: &str) -> String {
    let t = term.trim();
    let mut body = String::new();
    // The non-word characters since the last word character.
    let mut sep = String::new();
    for c in t.chars() {
        if is_word_char(c) {
            if !sep.is_empty() {
                body.push_str(r"(?:[\s\-\u{2010}-\u{2015}/._:]*|");
                body.push_str(&regex::escape(&sep));
                body.push(')');
                sep.clear();
            }
            body.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
        } else {
            sep.push(c);
        }
    }
    if body.is_empty() {
        return regex::escape(t);
    }
    // The text may end the term at its last word character or after its
    // trailing separators, each with its own boundary: `CS7\u{32c}` ends on
    // a mark, a word character to `\b`, so `CS7\b` alone never matches it.
    let start = edge(t.chars().next());
    let core_end = edge(t.trim_end_matches(|c| !is_word_char(c)).chars().last());
    if sep.is_empty() {
        return format!("{start}{body}{core_end}");
    }
    let sep_end = edge(sep.chars().last());
    format!(
        "{start}{body}(?:{}{sep_end}|{core_end})",
        regex::escape(&sep)
    )
}

/// The *format* of a report number as a pattern: its letters as they are
/// (any case), each run of digits as any digits of about that length
/// (one more or fewer from three digits up), any separators. So a case
/// whose report number is `NYFO/21/0118` also catches `NYFO/21/0977`,
/// another case's number of the same format. `None` for a term too
/// plain to generalise without catching ordinary numbers: it needs a run
/// of two or more letters and a digit, or three runs of digits, and at
/// least four digits in all.
pub fn report_number_format(term: &str) -> Option<String> {
    #[derive(PartialEq)]
    enum Run {
        Letters(String),
        Digits(usize),
    }
    let t = term.trim();
    let mut runs: Vec<(Run, bool)> = Vec::new(); // (run, a separator before it)
    let mut sep = false;
    for c in t.chars() {
        let last = runs.last_mut();
        if c.is_ascii_digit() {
            match last {
                Some((Run::Digits(n), _)) if !sep => *n += 1,
                _ => runs.push((Run::Digits(1), sep)),
            }
            sep = false;
        } else if is_word_char(c) {
            match last {
                Some((Run::Letters(l), _)) if !sep => l.push(c),
                _ => runs.push((Run::Letters(c.to_string()), sep)),
            }
            sep = false;
        } else {
            sep = true;
        }
    }
    let digit_runs: Vec<usize> = runs
        .iter()
        .filter_map(|(r, _)| match r {
            Run::Digits(n) => Some(*n),
            _ => None,
        })
        .collect();
    let lettered = runs
        .iter()
        .any(|(r, _)| matches!(r, Run::Letters(l) if l.chars().count() >= 2));
    let digits: usize = digit_runs.iter().sum();
    if digits < 4 || !(lettered && !digit_runs.is_empty() || digit_runs.len() >= 3) {
        return None;
    }
    let mut body = String::new();
    for (i, (run, sep_before)) in runs.iter().enumerate() {
        if i > 0 {
            body.push_str(if *sep_before {
                r"[\s\-\u{2010}-\u{2015}/._:]+"
            } else {
                r"[\s\-\u{2010}-\u{2015}/._:]*"
            });
        }
        match run {
            Run::Letters(l) => body.push_str(&regex::escape(l)),
            Run::Digits(n) if *n >= 3 => body.push_str(&format!(r"\d{{{},{}}}", n - 1, n + 1)),
            Run::Digits(n) => body.push_str(&format!(r"\d{{{n}}}")),
        }
    }
    Some(edges(t, body))
}

fn is_roman_numeral(s: &str) -> bool {
    s.chars()
        .all(|c| matches!(c, 'I' | 'V' | 'X' | 'L' | 'C' | 'D' | 'M'))
}

impl CompiledRules {
    /// Compiles a configuration.
    pub fn new(config: &SanitiserConfig) -> Result<Self, SanitiseError> {
        let mut report_numbers = Vec::new();
        for (i, p) in config.report_number_patterns.iter().enumerate() {
            let re = Regex::new(p).map_err(|e| SanitiseError {
                index: i,
                pattern: p.clone(),
                message: e.to_string(),
            })?;
            report_numbers.push(re);
        }
        let stat = |p: &str| Regex::new(p).expect("static pattern");
        Ok(Self {
            method: word_list_regex(&config.method_words, true),
            code: word_list_regex(&config.code_words, true),
            banner: word_list_regex(&config.classification_markings, false),
            // Portion marks: (U), (C), (S), (TS), (S//NF), (S/NF), (TS//SI//REL TO USA, GBR) ...
            portion: stat(r"\((?:U|C|S|TS|R|CUI|FOUO|SBU|LES|NF)(?:/{1,2}[A-Z0-9 ,/-]+)?\)"),
            // Markings without parentheses: S//NF, TS//SI//NF, U//FOUO.
            chain: stat(r"\b(?:TS|S|C|U|R)//[A-Z][A-Z0-9 ,/-]*[A-Z0-9]"),
            report_numbers,
            // "source ALPHA-7", "asset BRAVO", "informant 27B": the designator after the word.
            source_context: stat(
                r"(?i:\b(?:source|sources|sub-?source|asset|informant|agent|CHS)\s+)([A-Z0-9][A-Z0-9]*(?:[-/][A-Z0-9]+)*)\b",
            ),
            source_bare: vec![
                // CS-4471, X-2041, CHS-1138
                stat(r"\b[A-Z]{1,4}-\d{3,6}\b"),
                // NY-SRC-19
                stat(r"\b[A-Z]{2,}(?:-[A-Z]{2,})+-\d{2,}\b"),
                // ALPHA-7, ZULU 9
                stat(&format!(r"\b(?:{PHONETIC})[- ]?\d{{1,4}}\b")),
            ],
            // "Operation NIGHTJAR", "project OAK", "programme RED FOX"
            code_context: stat(
                r"(?i:\b(?:operation|op\.|project|programme|program|code\s*word|code\s*name|codename)\s+)([A-Z]{3,}(?:\s[A-Z]{3,})*)\b",
            ),
            capitals: stat(r"\b[A-Z]{5,}\b"),
            allowed_phrases: word_list_regex(&config.allowed_phrases, true),
            allowed_capitals: config.allowed_capitals.iter().cloned().collect(),
        })
    }

    /// The defaults alone.
    pub fn builtin() -> Self {
        Self::new(&SanitiserConfig::defaults()).expect("the default patterns compile")
    }

    /// Compiles a policy's rules on top of the defaults; an invalid pattern
    /// is returned as (index in the policy's list, reason).
    pub(crate) fn compile(r: &SanitisationRules) -> Result<Self, (usize, String)> {
        let config = SanitiserConfig::defaults().extended(&SanitiserConfig::from_rules(r));
        Self::new(&config).map_err(|e| {
            let index = r
                .report_number_patterns
                .iter()
                .position(|p| *p == e.pattern)
                .unwrap_or(e.index);
            (
                index,
                format!("not a valid regular expression: {}", e.message),
            )
        })
    }

    /// Every finding in `text`, ordered by position, with its byte span.
    ///
    /// `protected` are the terms the case marks secret (source identifiers,
    /// report numbers, secret terms); they are found in any case and with
    /// any separators, and nothing excuses them.
    pub fn check(&self, text: &str, protected: &[ProtectedTerm]) -> Vec<Finding> {
        self.check_in(text, protected, &[])
    }

    /// [`Self::check`], also catching report numbers of the `formats` of
    /// the deployment's other cases ([`report_number_format`] of each
    /// report number it holds).
    pub fn check_in(
        &self,
        text: &str,
        protected: &[ProtectedTerm],
        formats: &[String],
    ) -> Vec<Finding> {
        // (finding, may an allowed phrase excuse it?)
        let mut out: Vec<(Finding, bool)> = Vec::new();
        let mut push = |cat: FindingCategory, m: regex::Match<'_>, excusable: bool| {
            out.push((
                Finding {
                    category: cat,
                    start: m.start(),
                    end: m.end(),
                    text: m.as_str().to_owned(),
                },
                excusable,
            ))
        };
        for p in protected {
            if p.term.trim().is_empty() {
                continue;
            }
            // A report number is caught as itself and by its format: the
            // numbers of other cases, of the same format, with it.
            let format = (p.category == FindingCategory::ReportNumber)
                .then(|| report_number_format(&p.term))
                .flatten();
            for pattern in std::iter::once(protected_pattern(&p.term)).chain(format) {
                if let Ok(re) = RegexBuilder::new(&pattern).case_insensitive(true).build() {
                    for m in re.find_iter(text) {
                        push(p.category, m, false);
                    }
                }
            }
        }
        for pattern in formats {
            if let Ok(re) = RegexBuilder::new(pattern).case_insensitive(true).build() {
                for m in re.find_iter(text) {
                    push(FindingCategory::ReportNumber, m, false);
                }
            }
        }
        if let Some(re) = &self.code {
            for m in re.find_iter(text) {
                push(FindingCategory::CodeWord, m, false);
            }
        }
        for re in &self.report_numbers {
            for m in re.find_iter(text) {
                push(FindingCategory::ReportNumber, m, false);
            }
        }
        if let Some(re) = &self.banner {
            for m in re.find_iter(text) {
                push(FindingCategory::ClassificationMarking, m, true);
            }
        }
        for re in [&self.portion, &self.chain] {
            for m in re.find_iter(text) {
                push(FindingCategory::ClassificationMarking, m, false);
            }
        }
        for c in self.source_context.captures_iter(text) {
            if let Some(m) = c.get(1) {
                let id = m.as_str();
                let designator = id.chars().any(|c| c.is_ascii_digit())
                    || (id.len() >= 4 && !self.allowed_capitals.contains(id));
                if designator {
                    push(FindingCategory::SourceIdentifier, m, false);
                }
            }
        }
        for re in &self.source_bare {
            for m in re.find_iter(text) {
                push(FindingCategory::SourceIdentifier, m, false);
            }
        }
        if let Some(re) = &self.method {
            for m in re.find_iter(text) {
                push(FindingCategory::MethodWord, m, true);
            }
        }
        for c in self.code_context.captures_iter(text) {
            if let Some(m) = c.get(1) {
                push(FindingCategory::CodeWord, m, true);
            }
        }
        // A text in mixed case: a word in capitals is a likely code word.
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        let lower = text.chars().filter(|c| c.is_lowercase()).count();
        if lower >= upper {
            for m in self.capitals.find_iter(text) {
                let w = m.as_str();
                if !self.allowed_capitals.contains(w) && !is_roman_numeral(w) {
                    push(FindingCategory::CodeWord, m, true);
                }
            }
        }
        let excused: Vec<(usize, usize)> = self
            .allowed_phrases
            .as_ref()
            .map(|re| re.find_iter(text).map(|m| (m.start(), m.end())).collect())
            .unwrap_or_default();
        let mut out: Vec<Finding> = out
            .into_iter()
            .filter(|(f, excusable)| {
                !(*excusable && excused.iter().any(|(s, e)| *s <= f.start && f.end <= *e))
            })
            .map(|(f, _)| f)
            .collect();
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
    fn report_numbers_of_any_case_are_caught_by_their_format() {
        let s = Sanitiser::builtin();
        let ours = [ProtectedTerm {
            term: "NYFO/21/0118".into(),
            category: FindingCategory::ReportNumber,
        }];
        // Another case's number, in the format of this case's own.
        let t = "As reported under NYFO/22/0977, the threat is real.";
        // The defaults alone do not know the format...
        assert!(s.check(t, &[]).is_empty(), "{:?}", s.check(t, &[]));
        // ...this case's own number teaches it.
        let f = s.check(t, &ours);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].category, FindingCategory::ReportNumber);
        assert_eq!(f[0].text, "NYFO/22/0977");
        for other in ["nyfo 23 11873", "NYFO-21-018"] {
            assert_eq!(s.check(other, &ours).len(), 1, "{other}");
        }
        // The case's own number, once, with its separators changed.
        assert_eq!(s.check("see NYFO 21 0118", &ours).len(), 1);
        // Ordinary numbers and dates are not report numbers.
        for clean in [
            "On 21 June 2021 at 11:18, about 118 people gathered.",
            "Room 21/0118 of the NYFO building",
            "The NYFO office, 21 floors, 0118 desks",
        ] {
            let f = s.check(clean, &ours);
            assert!(
                f.iter()
                    .all(|f| f.category != FindingCategory::ReportNumber),
                "{clean}: {f:?}"
            );
        }
        // A term too plain to generalise is caught only as itself.
        assert_eq!(report_number_format("118"), None);
        assert_eq!(report_number_format("2024-118"), None);
        assert!(report_number_format("IIR 6 801 0112 24").is_some());
        let iir = [ProtectedTerm {
            term: "2024-118".into(),
            category: FindingCategory::ReportNumber,
        }];
        assert!(s.check("from 2023-119 on", &iir).is_empty());
        assert_eq!(s.check("see 2024 118", &iir).len(), 1);
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

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Corpus {
        additions: SanitiserConfig,
        protected: Vec<CorpusTerm>,
        positive: Vec<Positive>,
        negative: Vec<Negative>,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CorpusTerm {
        term: String,
        category: FindingCategory,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Positive {
        text: String,
        category: FindingCategory,
        #[serde(rename = "match")]
        matched: String,
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Negative {
        text: String,
        why: String,
        #[serde(default)]
        accepted_false_positive: bool,
    }

    const CORPUS: &str = include_str!("../testdata/sanitiser-corpus.toml");

    fn corpus() -> (Corpus, Vec<ProtectedTerm>) {
        let c: Corpus = toml::from_str(CORPUS).unwrap();
        let protected = c
            .protected
            .iter()
            .map(|t| ProtectedTerm {
                term: t.term.clone(),
                category: t.category,
            })
            .collect();
        (c, protected)
    }

    /// The configuration tocsin runs: defaults, the ICD 191 policy's lists,
    /// the organisation's additions.
    fn shipped(additions: &SanitiserConfig) -> Sanitiser {
        let policy = LoadedPolicy::builtin();
        Sanitiser::new(
            &SanitiserConfig::defaults()
                .extended(&SanitiserConfig::from_rules(&policy.sanitisation))
                .extended(additions),
        )
        .unwrap()
    }

    /// Every positive of the corpus is flagged with its category and exact
    /// span: no misses.
    #[test]
    fn corpus_positives_are_all_flagged() {
        let (c, protected) = corpus();
        assert!(c.positive.len() >= 50, "{}", c.positive.len());
        for s in [
            shipped(&c.additions),
            Sanitiser::new(&SanitiserConfig::defaults().extended(&c.additions)).unwrap(),
        ] {
            for p in &c.positive {
                let f = s.check(&p.text, &protected);
                for x in &f {
                    assert_eq!(&p.text[x.span()], x.text, "span of {x} in {:?}", p.text);
                }
                assert!(
                    f.iter()
                        .any(|x| x.category == p.category && x.text == p.matched),
                    "missed {} '{}' in {:?}: found {:?}",
                    p.category.as_str(),
                    p.matched,
                    p.text,
                    f
                );
            }
        }
    }

    /// Negatives are not flagged, except the ones the corpus lists as
    /// accepted false positives (and those must still be flagged, so the
    /// list stays true).
    ///
    /// False-positive rate on the corpus's 65 negatives:
    /// * shipped configuration (defaults + ICD 191 policy lists): 2/65 = 3.1 %,
    ///   both caused by the policy file, not the defaults: "In case no one
    ///   answers" (the policy's `report_number_patterns[2]` needs no digit)
    ///   and "SI units" (`SI` is one of the policy's markings);
    /// * the defaults alone: 0/65 = 0 %.
    #[test]
    fn corpus_negatives_are_not_flagged() {
        let (c, protected) = corpus();
        assert!(c.negative.len() >= 50, "{}", c.negative.len());
        let s = shipped(&c.additions);
        let mut false_positives = 0;
        for n in &c.negative {
            let f = s.check(&n.text, &protected);
            if n.accepted_false_positive {
                assert!(!f.is_empty(), "no longer flagged, unmark it: {:?}", n.text);
                false_positives += 1;
            } else {
                assert!(
                    f.is_empty(),
                    "false positive on {:?} ({}): {:?}",
                    n.text,
                    n.why,
                    f
                );
            }
        }
        assert_eq!((false_positives, c.negative.len()), (2, 65));
        let defaults = Sanitiser::new(&SanitiserConfig::defaults().extended(&c.additions)).unwrap();
        for n in &c.negative {
            let f = defaults.check(&n.text, &protected);
            assert!(f.is_empty(), "defaults flag {:?}: {:?}", n.text, f);
        }
    }

    #[test]
    fn protected_terms_survive_allowed_phrases_and_separators() {
        let s = Sanitiser::builtin();
        let asset = vec![ProtectedTerm {
            term: "asset".into(),
            category: FindingCategory::SecretTerm,
        }];
        // The method word is excused inside "asset freeze"; a case's own term is not.
        assert!(s.check("The asset freeze remains.", &[]).is_empty());
        let f = s.check("The asset freeze remains.", &asset);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].category, FindingCategory::SecretTerm);
        let t = "Zürich: source CS.4471 met them";
        let f = s.check(
            t,
            &[ProtectedTerm {
                term: "cs-4471".into(),
                category: FindingCategory::SourceIdentifier,
            }],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(&t[f[0].span()], "CS.4471");
        assert_eq!(f[0].start, "Zürich: source ".len());
    }

    #[test]
    fn a_protected_term_ends_at_its_last_word_character_or_after_its_tail() {
        let s = Sanitiser::builtin();
        let found = |term: &str, text: &str| -> Vec<String> {
            let p = [ProtectedTerm {
                term: term.into(),
                category: FindingCategory::SourceIdentifier,
            }];
            let f = s.check(text, &p);
            f.iter().map(|f| text[f.span()].to_owned()).collect()
        };
        // A term ending in a combining mark (fuzzing found it missed as written).
        assert_eq!(
            found("CS7\u{32c}", "we met CS7\u{32c} today"),
            ["CS7\u{32c}"]
        );
        assert_eq!(found("CS7\u{32c}", "we met CS7 today"), ["CS7"]);
        // A trailing full stop is optional, and the term still ends where it ends.
        assert_eq!(
            found("kestrel-12.", "we met kestrel-12. today"),
            ["kestrel-12."]
        );
        assert_eq!(
            found("kestrel-12.", "we met kestrel 12, today"),
            ["kestrel 12"]
        );
        assert_eq!(
            found("kestrel-12.", "we met kestrel-125 today"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn organisation_additions_extend_the_defaults() {
        let base = Sanitiser::builtin();
        assert!(base.check("The tasking came late.", &[]).is_empty());
        let org = SanitiserConfig {
            method_words: vec!["tasking".into()],
            code_words: vec!["Blue Heron".into()],
            allowed_capitals: vec!["KHORASAN".into()],
            ..Default::default()
        };
        let s = Sanitiser::new(&SanitiserConfig::defaults().extended(&org)).unwrap();
        assert_eq!(
            cats_with(&s, "The tasking came late."),
            vec![FindingCategory::MethodWord]
        );
        assert_eq!(
            cats_with(&s, "per blue heron"),
            vec![FindingCategory::CodeWord]
        );
        assert!(s.check("ISIS KHORASAN plans an attack.", &[]).is_empty());
        assert_eq!(
            cats_with(&base, "ISIS KHORASAN plans an attack."),
            vec![FindingCategory::CodeWord]
        );
        // The defaults still apply.
        assert_eq!(
            cats_with(&s, "SIGINT shows"),
            vec![FindingCategory::MethodWord]
        );
        // A bad pattern names its index.
        let bad = SanitiserConfig {
            report_number_patterns: vec!["(unclosed".into()],
            ..Default::default()
        };
        let e = Sanitiser::new(&bad).unwrap_err();
        assert_eq!(e.index, 0);
        assert!(e.to_string().contains("(unclosed"), "{e}");
    }

    fn cats_with(s: &Sanitiser, text: &str) -> Vec<FindingCategory> {
        s.check(text, &[]).into_iter().map(|f| f.category).collect()
    }

    #[test]
    fn a_text_in_capitals_is_not_all_code_words() {
        let s = Sanitiser::builtin();
        assert!(
            s.check("THERE IS A THREAT TO THE CEREMONY TOMORROW.", &[])
                .is_empty()
        );
        assert_eq!(
            s.check("There is a threat from NIGHTJAR.", &[])[0].category,
            FindingCategory::CodeWord
        );
    }
}
