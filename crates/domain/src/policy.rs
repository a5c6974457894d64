//! Policy as data, and the engine that applies it.
//!
//! A policy is a TOML file. The default (ICD 191) is compiled into the
//! binary from `policies/icd-191.toml`; an organisation may load its own.
//! Loading checks the file completely: a syntax error, an unknown key, a
//! value of the wrong kind, or a rule that contradicts another is reported
//! with its line and the reason, and the policy is refused.
//!
//! [`Policy::evaluate`] turns the facts of a case into a [`Determination`]:
//! one verdict, and a trace of every rule with its inputs and outcome.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::Role;
use crate::delivery::PartyKind;
use crate::grading::{
    AdmiraltyGrade, Axis, Detail, InformationCredibility, SourceReliability, Specificity,
};
use crate::report::{HarmType, HarmTypes};
pub use crate::sanitise::SanitisationRules;
use crate::time::{PolicyDuration, ThreatWindow, Timestamp, add, describe_duration};

/// The default policy shipped inside the binary.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../policies/icd-191.toml");

/// The parsed policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub policy: PolicyMeta,
    pub harm: HarmRules,
    pub credibility: CredibilityRules,
    pub specificity: SpecificityRules,
    pub impending: ImpendingRules,
    pub waiver: WaiverRules,
    pub approvals: ApprovalRules,
    pub deadlines: DeadlineRules,
    pub sanitisation: SanitisationRules,
    /// Which warnings of a case are required. Absent (policies written
    /// before a case had several warnings): [`WarningRules::default`].
    #[serde(default)]
    pub warnings: WarningRules,
    /// What accounts may hold. Absent: [`AccountRules::default`].
    #[serde(default)]
    pub accounts: AccountRules,
}

/// What accounts may hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRules {
    /// Whether an admin account may also hold a case role (collector,
    /// analyst, approver, delivery officer, auditor, arbiter). By default
    /// it may not: an admin manages accounts and sees no case content.
    /// Where a deployment allows it, the two-person rules still count
    /// people: a credential an admin's one-time secret led to never makes
    /// the second person beside that admin.
    #[serde(default)]
    pub admins_hold_case_roles: bool,
}

/// Which recipients a case must warn, and when a failed delivery counts as
/// the attempt the duty asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningRules {
    /// The kinds of recipient whose warnings are required: the case is
    /// warned only when each of these warnings is delivered (or failed
    /// after `attempts`). A warning to another kind (a relay state, our
    /// own element, an embassy) is recorded but optional. A case whose
    /// warnings are all optional is warned by the first delivered one.
    #[serde(default = "default_required_recipients")]
    pub required_recipients: BTreeSet<PartyKind>,
    /// A required warning whose hop was recorded failed on this attempt
    /// (1 = the first) or later counts as discharged for closure.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
}

fn default_required_recipients() -> BTreeSet<PartyKind> {
    BTreeSet::from([
        PartyKind::Victim,
        PartyKind::SecurityService,
        PartyKind::Police,
        PartyKind::VenueSecurity,
        PartyKind::CompanySecurity,
        PartyKind::School,
    ])
}

fn default_attempts() -> u32 {
    3
}

impl Default for WarningRules {
    fn default() -> Self {
        Self {
            required_recipients: default_required_recipients(),
            attempts: default_attempts(),
        }
    }
}

impl WarningRules {
    /// Whether a warning to this kind of recipient is required.
    pub fn requires(&self, kind: PartyKind) -> bool {
        self.required_recipients.contains(&kind)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyMeta {
    pub id: String,
    pub version: String,
    pub title: String,
    pub on_doubt: OnDoubt,
}

/// What a determination says when no test fails but one is still open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDoubt {
    NeedsMoreInformation,
    DutyToWarn,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HarmRules {
    pub in_scope: BTreeSet<HarmType>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredibilityRules {
    pub credible_reliability: BTreeSet<SourceReliability>,
    pub credible_information: BTreeSet<InformationCredibility>,
    #[serde(default)]
    pub undetermined_reliability: BTreeSet<SourceReliability>,
    #[serde(default)]
    pub undetermined_information: BTreeSet<InformationCredibility>,
    pub confirmation_min_independent_sources: u32,
    /// The word-trigram Jaccard threshold of the detector used before
    /// `derived_text_containment`. Still required, so policies already
    /// adopted keep parsing and hashing the same; no longer read.
    pub derived_text_similarity: f64,
    /// A report is proposed as derived from an earlier one when this share
    /// of either report's word pairs is found in the other (shingle
    /// containment, see `corroboration`). Absent: the measured default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_text_containment: Option<f64>,
}

/// The containment threshold when a policy names none: chosen on the
/// tuning part of `bench/corroboration` (see docs/PERFORMANCE.md).
pub const DEFAULT_DERIVED_TEXT_CONTAINMENT: f64 = 0.35;

impl CredibilityRules {
    /// The containment threshold in force.
    pub fn containment_threshold(&self) -> f64 {
        self.derived_text_containment
            .unwrap_or(DEFAULT_DERIVED_TEXT_CONTAINMENT)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecificityRules {
    pub points_present: u32,
    pub points_partial: u32,
    pub min_points: u32,
    #[serde(default)]
    pub require_any_of: BTreeSet<Axis>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpendingRules {
    pub max_lead: PolicyDuration,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverRules {
    pub approver_role: Role,
    pub review_after: PolicyDuration,
    pub grounds: Vec<WaiverGround>,
}

/// One justification for which the duty may be waived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaiverGround {
    pub code: String,
    pub title: String,
    /// The ground could not be checked against the primary text.
    #[serde(default)]
    pub recalled: bool,
    /// A request on this ground must carry a legal review.
    #[serde(default)]
    pub requires_legal_review: bool,
    /// Overrides `waiver.review_after` for this ground.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_after: Option<PolicyDuration>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    pub warning: ApprovalRule,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    pub two_person: bool,
    pub approver_role: Role,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRules {
    pub decide_within: PolicyDuration,
    pub decide_share: f64,
    pub approve_within: PolicyDuration,
    pub approve_share: f64,
    pub deliver_within: PolicyDuration,
    pub deliver_share: f64,
    pub follow_up_after_delivery: PolicyDuration,
    /// How long an arbiter has to resolve a dispute between elements
    /// (`crate::elements`); PT48H when the policy does not say.
    #[serde(default = "default_arbitrate_within")]
    pub arbitrate_within: PolicyDuration,
}

fn default_arbitrate_within() -> PolicyDuration {
    PolicyDuration::from_secs(48 * 3600)
}

/// A policy file that was refused: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{message}", origin_prefix(origin), line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct PolicyError {
    /// Where the policy came from (a path, or "built-in").
    pub origin: String,
    /// 1-based line of the offending value, when known.
    pub line: Option<usize>,
    pub message: String,
}

fn origin_prefix(origin: &str) -> String {
    if origin.is_empty() {
        String::new()
    } else {
        format!("policy {origin}: ")
    }
}

/// Names the policy a determination was made under.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    pub id: String,
    pub version: String,
    /// SHA-256 of the exact policy file, hex.
    pub sha256: String,
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (sha256 {})",
            self.id,
            self.version,
            &self.sha256[..16.min(self.sha256.len())]
        )
    }
}

/// A checked policy with its source text and content hash.
#[derive(Clone, Debug)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub source: String,
    pub origin: String,
    pub sha256: String,
    compiled: crate::sanitise::CompiledRules,
}

impl LoadedPolicy {
    /// The built-in ICD 191 policy.
    pub fn builtin() -> Self {
        match Self::parse(DEFAULT_POLICY_TOML, "built-in icd-191") {
            Ok(p) => p,
            // The built-in file is checked by a unit test; this cannot happen in a release.
            Err(e) => panic!("the built-in policy is invalid: {e}"),
        }
    }

    /// Parses and checks a policy file.
    pub fn parse(source: &str, origin: &str) -> Result<Self, PolicyError> {
        let err_at = |line: Option<usize>, message: String| PolicyError {
            origin: origin.to_owned(),
            line,
            message,
        };
        let policy: Policy = toml::from_str(source).map_err(|e| {
            let line = e.span().map(|s| line_of(source, s.start));
            err_at(line, e.message().trim().to_owned())
        })?;
        if let Err((path, message)) = policy.check() {
            let line = span_of_path(source, &path).map(|start| line_of(source, start));
            return Err(err_at(line, format!("{}: {message}", path_string(&path))));
        }
        let compiled = crate::sanitise::CompiledRules::compile(&policy.sanitisation).map_err(
            |(i, message)| {
                let path = vec![
                    Seg::Key("sanitisation"),
                    Seg::Key("report_number_patterns"),
                    Seg::Index(i),
                ];
                let line = span_of_path(source, &path).map(|s| line_of(source, s));
                err_at(line, format!("{}: {message}", path_string(&path)))
            },
        )?;
        let sha256 = hex(&Sha256::digest(source.as_bytes()));
        Ok(Self {
            policy,
            source: source.to_owned(),
            origin: origin.to_owned(),
            sha256,
            compiled,
        })
    }

    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            id: self.policy.policy.id.clone(),
            version: self.policy.policy.version.clone(),
            sha256: self.sha256.clone(),
        }
    }

    pub(crate) fn sanitiser(&self) -> &crate::sanitise::CompiledRules {
        &self.compiled
    }
}

impl std::ops::Deref for LoadedPolicy {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.policy
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub(crate) fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// One step of a path into the TOML document.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
}

pub(crate) fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Byte offset of the value at `path`, found by walking the spanned document.
pub(crate) fn span_of_path(source: &str, path: &[Seg]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(source).ok()?;
    let mut span = doc.span();
    let mut cur: Option<&DeValue<'_>> = None;
    let mut table = Some(doc.get_ref());
    for seg in path {
        match *seg {
            Seg::Key(k) => {
                let t = match cur {
                    None => table?,
                    Some(DeValue::Table(t)) => t,
                    Some(_) => return Some(span.start),
                };
                let (_, v) = t.iter().find(|(key, _)| key.get_ref().as_ref() == k)?;
                span = v.span();
                cur = Some(v.get_ref());
                table = None;
            }
            Seg::Index(i) => match cur {
                Some(DeValue::Array(a)) => {
                    let v = a.get(i)?;
                    span = v.span();
                    cur = Some(v.get_ref());
                }
                _ => return Some(span.start),
            },
        }
    }
    Some(span.start)
}

type CheckResult = Result<(), (Vec<Seg>, String)>;

impl Policy {
    /// Checks rules that a single field's type cannot express.
    fn check(&self) -> CheckResult {
        use Seg::{Index, Key};
        let fail = |path: Vec<Seg>, m: &str| Err((path, m.to_owned()));
        let meta = &self.policy;
        if meta.id.trim().is_empty() || meta.id.len() > 64 {
            return fail(vec![Key("policy"), Key("id")], "must be 1 to 64 characters");
        }
        if meta.version.trim().is_empty() || meta.version.len() > 64 {
            return fail(
                vec![Key("policy"), Key("version")],
                "must be 1 to 64 characters",
            );
        }
        if self.warnings.attempts == 0 {
            return fail(
                vec![Key("warnings"), Key("attempts")],
                "attempts count from 1",
            );
        }
        if self.harm.in_scope.is_empty() {
            return fail(
                vec![Key("harm"), Key("in_scope")],
                "at least one harm type must be in scope",
            );
        }
        let c = &self.credibility;
        if c.credible_reliability.is_empty() {
            return fail(
                vec![Key("credibility"), Key("credible_reliability")],
                "must list at least one grade",
            );
        }
        if c.credible_information.is_empty() {
            return fail(
                vec![Key("credibility"), Key("credible_information")],
                "must list at least one grade",
            );
        }
        if let Some(r) = c
            .credible_reliability
            .intersection(&c.undetermined_reliability)
            .next()
        {
            return fail(
                vec![Key("credibility"), Key("undetermined_reliability")],
                &format!("{} is listed as both credible and undetermined", r.letter()),
            );
        }
        if let Some(i) = c
            .credible_information
            .intersection(&c.undetermined_information)
            .next()
        {
            return fail(
                vec![Key("credibility"), Key("undetermined_information")],
                &format!("{} is listed as both credible and undetermined", *i as u8),
            );
        }
        if c.confirmation_min_independent_sources < 1 {
            return fail(
                vec![
                    Key("credibility"),
                    Key("confirmation_min_independent_sources"),
                ],
                "must be at least 1",
            );
        }
        if !(c.derived_text_similarity > 0.0 && c.derived_text_similarity <= 1.0) {
            return fail(
                vec![Key("credibility"), Key("derived_text_similarity")],
                "must be greater than 0 and at most 1",
            );
        }
        if let Some(t) = c.derived_text_containment
            && !(t > 0.0 && t <= 1.0)
        {
            return fail(
                vec![Key("credibility"), Key("derived_text_containment")],
                "must be greater than 0 and at most 1",
            );
        }
        let s = &self.specificity;
        if s.points_present <= s.points_partial {
            return fail(
                vec![Key("specificity"), Key("points_present")],
                "must be greater than points_partial",
            );
        }
        if s.points_present > 100 {
            return fail(
                vec![Key("specificity"), Key("points_present")],
                "must be at most 100",
            );
        }
        if s.min_points > 4 * s.points_present {
            return fail(
                vec![Key("specificity"), Key("min_points")],
                &format!(
                    "{} can never be reached: four axes at {} points each make {}",
                    s.min_points,
                    s.points_present,
                    4 * s.points_present
                ),
            );
        }
        if self.impending.max_lead.as_secs() <= 0 {
            return fail(
                vec![Key("impending"), Key("max_lead")],
                "must be longer than zero",
            );
        }
        let w = &self.waiver;
        if w.review_after.as_secs() <= 0 {
            return fail(
                vec![Key("waiver"), Key("review_after")],
                "must be longer than zero",
            );
        }
        if w.grounds.is_empty() {
            return fail(
                vec![Key("waiver"), Key("grounds")],
                "at least one waiver ground is required",
            );
        }
        let mut seen = BTreeSet::new();
        for (i, g) in w.grounds.iter().enumerate() {
            let path = |k| vec![Key("waiver"), Key("grounds"), Index(i), Key(k)];
            if g.code.is_empty()
                || g.code.len() > 16
                || !g
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return fail(
                    path("code"),
                    "a ground code is 1 to 16 upper-case letters, digits, '_' or '-'",
                );
            }
            if !seen.insert(g.code.as_str()) {
                return fail(path("code"), &format!("ground {} is defined twice", g.code));
            }
            if g.title.trim().is_empty() {
                return fail(path("title"), "must not be empty");
            }
            if let Some(r) = g.review_after
                && r.as_secs() <= 0
            {
                return fail(path("review_after"), "must be longer than zero");
            }
        }
        let d = &self.deadlines;
        let steps = [
            (
                "decide_within",
                d.decide_within,
                "decide_share",
                d.decide_share,
            ),
            (
                "approve_within",
                d.approve_within,
                "approve_share",
                d.approve_share,
            ),
            (
                "deliver_within",
                d.deliver_within,
                "deliver_share",
                d.deliver_share,
            ),
        ];
        for (wk, within, sk, share) in steps {
            if within.as_secs() <= 0 {
                return fail(vec![Key("deadlines"), Key(wk)], "must be longer than zero");
            }
            if !(share > 0.0 && share <= 1.0) {
                return fail(
                    vec![Key("deadlines"), Key(sk)],
                    "must be greater than 0 and at most 1",
                );
            }
        }
        if !(d.decide_within <= d.approve_within && d.approve_within <= d.deliver_within) {
            return fail(
                vec![Key("deadlines"), Key("approve_within")],
                "steps must be in order: decide_within <= approve_within <= deliver_within",
            );
        }
        if !(d.decide_share <= d.approve_share && d.approve_share <= d.deliver_share) {
            return fail(
                vec![Key("deadlines"), Key("approve_share")],
                "steps must be in order: decide_share <= approve_share <= deliver_share",
            );
        }
        if d.follow_up_after_delivery.as_secs() <= 0 {
            return fail(
                vec![Key("deadlines"), Key("follow_up_after_delivery")],
                "must be longer than zero",
            );
        }
        for (key, list) in [
            ("method_words", &self.sanitisation.method_words),
            ("code_words", &self.sanitisation.code_words),
            (
                "classification_markings",
                &self.sanitisation.classification_markings,
            ),
        ] {
            for (i, word) in list.iter().enumerate() {
                if word.trim().is_empty() {
                    return fail(
                        vec![Key("sanitisation"), Key(key), Index(i)],
                        "must not be empty",
                    );
                }
            }
        }
        Ok(())
    }

    pub fn ground(&self, code: &str) -> Option<&WaiverGround> {
        self.waiver.grounds.iter().find(|g| g.code == code)
    }

    /// Deadlines for a case whose information was received at `received`.
    pub fn deadlines(&self, received: Timestamp, window: Option<&ThreatWindow>) -> Deadlines {
        let d = &self.deadlines;
        let step = |within: PolicyDuration, share: f64| -> Timestamp {
            let by_offset = add(received, within.signed());
            match window {
                None => by_offset,
                Some(w) => {
                    let left = w.not_before().duration_since(received);
                    if left.is_negative() || left.is_zero() {
                        received
                    } else {
                        let secs = (left.as_secs() as f64 * share).floor() as i64;
                        by_offset.min(add(received, jiff::SignedDuration::from_secs(secs)))
                    }
                }
            }
        };
        Deadlines {
            decide_by: step(d.decide_within, d.decide_share),
            approve_by: step(d.approve_within, d.approve_share),
            deliver_by: step(d.deliver_within, d.deliver_share),
        }
    }

    /// Applies the policy to the facts of a case, as of `as_of`.
    pub fn evaluate(&self, facts: &CaseFacts, as_of: Timestamp) -> (Verdict, Vec<RuleResult>) {
        let trace = vec![
            self.rule_harm(facts),
            self.rule_credible(facts),
            self.rule_specific(facts),
            self.rule_impending(facts, as_of),
        ];
        let failed: Vec<RuleId> = trace
            .iter()
            .filter(|r| r.outcome == RuleOutcome::Fail)
            .map(|r| r.rule)
            .collect();
        let open: Vec<RuleId> = trace
            .iter()
            .filter(|r| r.outcome == RuleOutcome::Open)
            .map(|r| r.rule)
            .collect();
        let verdict = if !failed.is_empty() {
            Verdict::ThresholdNotMet { failed }
        } else if !open.is_empty() {
            match self.policy.on_doubt {
                OnDoubt::NeedsMoreInformation => Verdict::NeedsMoreInformation { open },
                OnDoubt::DutyToWarn => Verdict::DutyToWarn,
            }
        } else {
            Verdict::DutyToWarn
        };
        (verdict, trace)
    }

    fn rule_harm(&self, f: &CaseFacts) -> RuleResult {
        let in_scope: Vec<&str> = f
            .harm_types
            .set()
            .iter()
            .filter(|h| self.harm.in_scope.contains(h))
            .map(|h| h.as_str())
            .collect();
        let scope = self
            .harm
            .in_scope
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let (outcome, explanation) = if in_scope.is_empty() {
            (
                RuleOutcome::Fail,
                format!(
                    "none of the harms ({}) is in scope; in scope: {scope}",
                    f.harm_types.describe()
                ),
            )
        } else {
            (
                RuleOutcome::Pass,
                format!("{} is in scope", in_scope.join(", ")),
            )
        };
        RuleResult {
            rule: RuleId::HarmInScope,
            question: "Is the harm threatened one that creates the duty?".into(),
            inputs: vec![
                RuleInput::new("harm_types", f.harm_types.describe()),
                RuleInput::new("policy.harm.in_scope", scope),
            ],
            outcome,
            explanation,
        }
    }

    fn rule_credible(&self, f: &CaseFacts) -> RuleResult {
        let c = &self.credibility;
        let grade = f.grade;
        let mut notes = Vec::new();
        let mut info = grade.credibility;
        if info == InformationCredibility::Confirmed
            && f.independent_sources < c.confirmation_min_independent_sources
        {
            info = InformationCredibility::ProbablyTrue;
            notes.push(format!(
                "graded 1 (confirmed) but only {} independent source(s) where {} are required; counted as 2 (probably true)",
                f.independent_sources, c.confirmation_min_independent_sources
            ));
        }
        let rel_ok = c.credible_reliability.contains(&grade.reliability);
        let info_ok = c.credible_information.contains(&info);
        let rel_open = c.undetermined_reliability.contains(&grade.reliability);
        let info_open = c.undetermined_information.contains(&info);
        let (outcome, mut explanation) = if rel_ok && info_ok {
            (
                RuleOutcome::Pass,
                format!(
                    "source {} ({}) and information {} ({}) meet the threshold",
                    grade.reliability.letter(),
                    grade.reliability.meaning(),
                    info as u8,
                    info.meaning()
                ),
            )
        } else if (rel_ok || rel_open) && (info_ok || info_open) {
            (
                RuleOutcome::Open,
                format!(
                    "cannot be judged yet: source {} ({}), information {} ({})",
                    grade.reliability.letter(),
                    grade.reliability.meaning(),
                    info as u8,
                    info.meaning()
                ),
            )
        } else {
            let mut why = Vec::new();
            if !(rel_ok || rel_open) {
                why.push(format!(
                    "source {} is {}",
                    grade.reliability.letter(),
                    grade.reliability.meaning()
                ));
            }
            if !(info_ok || info_open) {
                why.push(format!("information {} is {}", info as u8, info.meaning()));
            }
            (
                RuleOutcome::Fail,
                format!("not credible: {}", why.join("; ")),
            )
        };
        if !notes.is_empty() {
            explanation = format!("{explanation} ({})", notes.join("; "));
        }
        let list_r = c
            .credible_reliability
            .iter()
            .map(|r| r.letter().to_string())
            .collect::<Vec<_>>()
            .join("");
        let list_i = c
            .credible_information
            .iter()
            .map(|i| (*i as u8).to_string())
            .collect::<Vec<_>>()
            .join("");
        RuleResult {
            rule: RuleId::Credible,
            question: "Is the information credible?".into(),
            inputs: vec![
                RuleInput::new("grade", grade.to_string()),
                RuleInput::new("independent_sources", f.independent_sources.to_string()),
            ]
            .into_iter()
            .chain((!f.sources.is_empty()).then(|| {
                RuleInput::new(
                    "sources",
                    f.sources
                        .iter()
                        .enumerate()
                        .map(|(i, s)| format!("source {}: {}", i + 1, s.describe()))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            }))
            .chain([RuleInput::new(
                "policy.credible",
                format!("reliability {list_r}, information {list_i}"),
            )])
            .collect(),
            outcome,
            explanation,
        }
    }

    fn rule_specific(&self, f: &CaseFacts) -> RuleResult {
        let s = &self.specificity;
        let pts = |d: Detail| match d {
            Detail::Present => s.points_present,
            Detail::Partial => s.points_partial,
            Detail::Absent => 0,
        };
        let total: u32 = Axis::ALL.iter().map(|a| pts(f.specificity.get(*a))).sum();
        let any_ok = s.require_any_of.is_empty()
            || s.require_any_of
                .iter()
                .any(|a| f.specificity.get(*a) != Detail::Absent);
        let any_list = s
            .require_any_of
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let (outcome, explanation) = if total >= s.min_points && any_ok {
            (
                RuleOutcome::Pass,
                format!("{total} points of {} needed", s.min_points),
            )
        } else {
            let mut why = Vec::new();
            if total < s.min_points {
                why.push(format!("{total} points where {} are needed", s.min_points));
            }
            if !any_ok {
                why.push(format!("neither {any_list} is known"));
            }
            (
                RuleOutcome::Fail,
                format!("not specific enough: {}", why.join("; ")),
            )
        };
        RuleResult {
            rule: RuleId::Specific,
            question:
                "Is there enough detail on who, where, when and how for a warning to save lives?"
                    .into(),
            inputs: vec![
                RuleInput::new("specificity", f.specificity.describe()),
                RuleInput::new(
                    "policy.specificity",
                    format!(
                        "present {} / partial {} points, at least {}{}",
                        s.points_present,
                        s.points_partial,
                        s.min_points,
                        if any_list.is_empty() {
                            String::new()
                        } else {
                            format!(", and {any_list} known")
                        }
                    ),
                ),
            ],
            outcome,
            explanation,
        }
    }

    fn rule_impending(&self, f: &CaseFacts, as_of: Timestamp) -> RuleResult {
        let max_lead = self.impending.max_lead;
        let mut inputs = vec![
            RuleInput::new("as_of", as_of.to_string()),
            RuleInput::new("policy.impending.max_lead", max_lead.to_string()),
        ];
        let (outcome, explanation) = match &f.window {
            None => (RuleOutcome::Open, "no time window is known".to_owned()),
            Some(w) => {
                inputs.insert(0, RuleInput::new("window", w.describe()));
                if w.has_lapsed(as_of) {
                    (
                        RuleOutcome::Fail,
                        format!(
                            "the window lapsed {} ago",
                            describe_duration(as_of.duration_since(w.not_after()))
                        ),
                    )
                } else {
                    let lead = w.not_before().duration_since(as_of);
                    if lead.as_secs() > max_lead.as_secs() {
                        (
                            RuleOutcome::Fail,
                            format!(
                                "the window opens in {}, beyond the {} horizon",
                                describe_duration(lead),
                                max_lead
                            ),
                        )
                    } else if lead.is_negative() {
                        (
                            RuleOutcome::Pass,
                            format!(
                                "the window is open now and closes in {}",
                                describe_duration(w.not_after().duration_since(as_of))
                            ),
                        )
                    } else {
                        (
                            RuleOutcome::Pass,
                            format!("the window opens in {}", describe_duration(lead)),
                        )
                    }
                }
            }
        };
        RuleResult {
            rule: RuleId::Impending,
            question: "Is the threat impending?".into(),
            inputs,
            outcome,
            explanation,
        }
    }
}

/// The facts of a case that the policy decides on, consolidated from its
/// reports and the analyst's assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseFacts {
    pub harm_types: HarmTypes,
    pub grade: AdmiraltyGrade,
    pub independent_sources: u32,
    pub specificity: Specificity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ThreatWindow>,
    /// The independent sources behind `independent_sources`: which reports
    /// were counted as one, and why. Absent in determinations recorded
    /// before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

/// One independent source: the reports counted as one, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The reports, in the order they reached the case (1 is the first).
    pub reports: Vec<u32>,
    /// Why each later report was counted with the others, one per link.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<String>,
}

impl Source {
    /// "reports 1, 3 (report 3 ...)" or "report 2".
    pub fn describe(&self) -> String {
        let list = self
            .reports
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let head = if self.reports.len() == 1 {
            format!("report {list}")
        } else {
            format!("reports {list}")
        };
        if self.merged.is_empty() {
            head
        } else {
            format!("{head} ({})", self.merged.join("; "))
        }
    }
}

/// The three possible determinations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// The duty applies: warn, unless a waiver is approved.
    DutyToWarn,
    /// No duty: at least one test failed.
    ThresholdNotMet { failed: Vec<RuleId> },
    /// No test failed, but some cannot be judged yet.
    NeedsMoreInformation { open: Vec<RuleId> },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[RuleId]| v.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
        match self {
            Verdict::DutyToWarn => f.write_str("duty to warn"),
            Verdict::ThresholdNotMet { failed } => {
                write!(f, "threshold not met (failed: {})", list(failed))
            }
            Verdict::NeedsMoreInformation { open } => {
                write!(f, "needs more information (open: {})", list(open))
            }
        }
    }
}

/// The rules of the engine, in the order they are evaluated.
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
pub enum RuleId {
    HarmInScope,
    Credible,
    Specific,
    Impending,
}

impl RuleId {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::HarmInScope => "harm_in_scope",
            RuleId::Credible => "credible",
            RuleId::Specific => "specific",
            RuleId::Impending => "impending",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    Pass,
    Fail,
    /// Cannot be judged on what is known.
    Open,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleInput {
    pub name: String,
    pub value: String,
}

impl RuleInput {
    fn new(name: &str, value: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            value: value.into(),
        }
    }
}

/// One line of a rule trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuleResult {
    pub rule: RuleId,
    pub question: String,
    pub inputs: Vec<RuleInput>,
    pub outcome: RuleOutcome,
    pub explanation: String,
}

/// A determination: the verdict, why, on which facts and under which policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Determination {
    pub verdict: Verdict,
    pub trace: Vec<RuleResult>,
    pub facts: CaseFacts,
    pub policy: PolicyRef,
    pub as_of: Timestamp,
}

/// When each step of a case is due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Deadlines {
    pub decide_by: Timestamp,
    pub approve_by: Timestamp,
    pub deliver_by: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::TimeZoneName;

    fn facts(
        grade: &str,
        spec: [Detail; 4],
        window: Option<(&str, &str)>,
        harms: &[HarmType],
    ) -> CaseFacts {
        CaseFacts {
            harm_types: HarmTypes::new(harms.iter().copied()).unwrap(),
            grade: AdmiraltyGrade::parse(grade).unwrap(),
            independent_sources: 1,
            specificity: Specificity {
                who: spec[0],
                where_: spec[1],
                when: spec[2],
                how: spec[3],
            },
            window: window.map(|(a, b)| {
                ThreatWindow::new(a.parse().unwrap(), b.parse().unwrap(), TimeZoneName::utc())
                    .unwrap()
            }),
            sources: Vec::new(),
        }
    }

    use Detail::{Absent, Partial, Present};

    #[test]
    fn builtin_policy_loads() {
        let p = LoadedPolicy::builtin();
        assert_eq!(p.policy.policy.id, "icd-191");
        assert_eq!(p.sha256.len(), 64);
        assert!(p.ground("W3").is_some());
        assert!(p.ground("ADVERSARY").is_none());
    }

    #[test]
    fn kerman_like_facts_give_a_duty() {
        let p = LoadedPolicy::builtin();
        let f = facts(
            "B2",
            [Partial, Present, Partial, Present],
            Some(("2024-01-02T20:30:00Z", "2024-01-03T20:30:00Z")),
            &[HarmType::IntentionalKilling],
        );
        let (v, trace) = p.evaluate(&f, "2023-12-27T09:00:00Z".parse().unwrap());
        assert_eq!(v, Verdict::DutyToWarn);
        assert!(
            trace.iter().all(|r| r.outcome == RuleOutcome::Pass),
            "{trace:#?}"
        );
        assert!(
            trace[3].explanation.contains("opens in 6d"),
            "{}",
            trace[3].explanation
        );
    }

    #[test]
    fn out_of_scope_and_not_credible() {
        let p = LoadedPolicy::builtin();
        let f = facts(
            "B2",
            [Present, Present, Present, Present],
            Some(("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")),
            &[HarmType::PropertyDamage],
        );
        let (v, _) = p.evaluate(&f, "2024-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            v,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::HarmInScope]
            }
        );

        let f = facts(
            "F5",
            [Absent, Partial, Absent, Absent],
            None,
            &[HarmType::SeriousBodilyInjury],
        );
        let (v, trace) = p.evaluate(&f, "2024-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            v,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::Credible, RuleId::Specific]
            }
        );
        assert_eq!(trace[3].outcome, RuleOutcome::Open);
    }

    #[test]
    fn cannot_be_judged_needs_more_information() {
        let p = LoadedPolicy::builtin();
        let f = facts(
            "F2",
            [Present, Present, Present, Present],
            Some(("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")),
            &[HarmType::Kidnapping],
        );
        let (v, _) = p.evaluate(&f, "2024-01-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            v,
            Verdict::NeedsMoreInformation {
                open: vec![RuleId::Credible]
            }
        );
    }

    #[test]
    fn confirmation_needs_independent_sources() {
        let p = LoadedPolicy::builtin();
        let mut f = facts("A1", [Present; 4], None, &[HarmType::Kidnapping]);
        let (_, trace) = p.evaluate(&f, "2024-01-01T00:00:00Z".parse().unwrap());
        assert!(
            trace[1].explanation.contains("counted as 2"),
            "{}",
            trace[1].explanation
        );
        f.independent_sources = 2;
        let (_, trace) = p.evaluate(&f, "2024-01-01T00:00:00Z".parse().unwrap());
        assert!(!trace[1].explanation.contains("counted as 2"));
    }

    #[test]
    fn lapsed_and_far_windows_fail_impending() {
        let p = LoadedPolicy::builtin();
        let f = facts(
            "B2",
            [Present; 4],
            Some(("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")),
            &[HarmType::Kidnapping],
        );
        let (v, t) = p.evaluate(&f, "2024-02-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            v,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::Impending]
            }
        );
        assert!(t[3].explanation.contains("lapsed"));
        let (v, t) = p.evaluate(&f, "2023-06-01T00:00:00Z".parse().unwrap());
        assert_eq!(
            v,
            Verdict::ThresholdNotMet {
                failed: vec![RuleId::Impending]
            }
        );
        assert!(t[3].explanation.contains("beyond"));
    }

    #[test]
    fn deadlines_shrink_with_little_time_left() {
        let p = LoadedPolicy::builtin();
        let received: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let w = ThreatWindow::new(
            "2024-01-01T06:00:00Z".parse().unwrap(),
            "2024-01-02T00:00:00Z".parse().unwrap(),
            TimeZoneName::utc(),
        )
        .unwrap();
        let d = p.deadlines(received, Some(&w));
        assert_eq!(d.decide_by.to_string(), "2024-01-01T01:30:00Z");
        assert_eq!(d.approve_by.to_string(), "2024-01-01T03:00:00Z");
        assert_eq!(d.deliver_by.to_string(), "2024-01-01T04:30:00Z");
        let d = p.deadlines(received, None);
        assert_eq!(d.decide_by.to_string(), "2024-01-02T00:00:00Z");
    }

    fn refused(src: &str) -> PolicyError {
        LoadedPolicy::parse(src, "test.toml").unwrap_err()
    }

    #[test]
    fn invalid_policies_name_line_and_reason() {
        let good = DEFAULT_POLICY_TOML;
        let line_of_text =
            |needle: &str, src: &str| src.lines().position(|l| l.contains(needle)).unwrap() + 1;

        // An unknown harm type.
        let src = good.replace(
            "in_scope = [\"intentional_killing\"",
            "in_scope = [\"arson\"",
        );
        let e = refused(&src);
        assert_eq!(
            e.line,
            Some(line_of_text("in_scope = [\"arson\"", &src)),
            "{e}"
        );
        assert!(e.message.contains("arson"), "{e}");
        assert!(e.to_string().starts_with("policy test.toml: line "), "{e}");

        // A contradiction between two fields.
        let src = good.replace(
            "undetermined_information = [6]",
            "undetermined_information = [3]",
        );
        let e = refused(&src);
        assert_eq!(
            e.line,
            Some(line_of_text("undetermined_information = [3]", &src)),
            "{e}"
        );
        assert!(e.message.contains("both credible and undetermined"), "{e}");

        // A duplicated ground.
        let src = good.replace("code = \"W2\"", "code = \"W1\"");
        let e = refused(&src);
        assert!(e.message.contains("defined twice"), "{e}");
        let second = src.match_indices("code = \"W1\"").nth(1).unwrap().0;
        assert_eq!(e.line, Some(src[..second].lines().count() + 1), "{e}");

        // An unknown key.
        let src = good.replace("[impending]", "[impending]\nsoon = true");
        let e = refused(&src);
        assert!(e.message.contains("unknown field `soon`"), "{e}");
        assert_eq!(e.line, Some(line_of_text("soon = true", &src)), "{e}");

        // A syntax error.
        let e = refused("[policy\nid = 1");
        assert_eq!(e.line, Some(1), "{e}");

        // A bad duration.
        let src = good.replace("max_lead = \"P90D\"", "max_lead = \"90 days\"");
        let e = refused(&src);
        assert!(e.message.contains("ISO 8601"), "{e}");
        assert_eq!(e.line, Some(line_of_text("max_lead", &src)), "{e}");

        // A regular expression that does not compile.
        let src = good.replace(
            "report_number_patterns = [",
            "report_number_patterns = [\n  '(unclosed',",
        );
        let e = refused(&src);
        assert!(e.message.contains("report_number_patterns[0]"), "{e}");
        assert_eq!(e.line, Some(line_of_text("'(unclosed'", &src)), "{e}");
    }
}
