//! Corroboration: which reports are one source (circular reporting).
//!
//! A report that re-states another is not a second source. Two things make
//! reports one source here:
//!
//! * the same **origin** (the first-hand source or the publication both
//!   repeat), compared by [`Origin::key`];
//! * **shared text**: shingle *containment* in both directions. Headers and
//!   forwarding boilerplate are stripped, words are lower-cased and lightly
//!   stemmed, and the text becomes its set of word pairs. If a share of
//!   either report's pairs at least the policy's threshold is found in the
//!   other (and a few pairs at least), the later report is proposed as
//!   derived. Containment, unlike Jaccard, does not punish a forwarded
//!   summary for being short, nor an original for saying more.
//!
//! [`assess`] decides a new report's [`Independence`] against the case's
//! earlier reports when it is attached (the decision is recorded in the
//! event, so a changed detector never changes an old ledger's fold).
//! [`sources`] groups a case's reports into independent sources from what
//! was recorded: every derived link and every shared origin joins two
//! reports into one source. Each attach links the new report to *every*
//! earlier report it re-states, so the grouping, and the count, do not
//! depend on the order the reports arrived in.
//!
//! Pure: no IO. The measured precision and recall are in
//! docs/PERFORMANCE.md (`cargo run -p tocsin-domain --example corroboration`).

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{DerivationBasis, DerivedLink, Event, Independence};
use crate::ids::ReportId;
use crate::policy::Source;
use crate::report::ThreatReport;
use crate::text::Origin;

/// Fewer shared word pairs than this never make a report derived, whatever
/// the share (a two-line report shares a place and a date with many).
pub const MIN_SHARED_PAIRS: usize = 4;

/// One in how many word pairs a cross-case index keeps ([`Fingerprint::sample`]).
pub const SAMPLE_EVERY: u64 = 4;

/// How many of a text's least pair hashes the index keeps besides.
pub const SAMPLE_LEAST: usize = 4;

/// FNV-1a (64 bits) of a word pair: stable across builds and machines,
/// unlike the standard library's hasher.
fn pair_hash(a: &str, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.bytes().chain([0xff]).chain(b.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A text reduced to what the detector compares: its set of word pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pairs: BTreeSet<(String, String)>,
}

impl Fingerprint {
    pub fn of(text: &str) -> Self {
        let words = words(text);
        let pairs = if words.len() == 1 {
            BTreeSet::from([(words[0].clone(), String::new())])
        } else {
            words
                .windows(2)
                .map(|w| (w[0].clone(), w[1].clone()))
                .collect()
        };
        Self { pairs }
    }

    /// The hash of every pair (the upper 32 bits of its stable 64-bit
    /// hash), sorted: what a lookup in a cross-case index asks for.
    pub fn hashes(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .pairs
            .iter()
            .map(|(a, b)| (pair_hash(a, b) >> 32) as u32)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The hashes a cross-case index keeps for this text (a subset of
    /// [`Self::hashes`]): the pairs whose 64-bit hash falls in one of every
    /// [`SAMPLE_EVERY`] values, and the [`SAMPLE_LEAST`] least hashes. The
    /// first part is consistent (a pair two texts share is kept for both
    /// or for neither), so a text that repeats an indexed one finds about
    /// a quarter of the repeated pairs; the second gives a short text
    /// entries of its own, which a longer text that contains it finds.
    pub fn sample(&self) -> Vec<u32> {
        let all: Vec<(u64, u32)> = {
            let mut v: Vec<(u64, u32)> = self
                .pairs
                .iter()
                .map(|(a, b)| pair_hash(a, b))
                .map(|h| (h, (h >> 32) as u32))
                .collect();
            v.sort_unstable_by_key(|(_, top)| *top);
            v
        };
        let mut out: Vec<u32> = all
            .iter()
            .enumerate()
            .filter(|(i, (h, _))| *i < SAMPLE_LEAST || h % SAMPLE_EVERY == 0)
            .map(|(_, (_, top))| *top)
            .collect();
        out.dedup();
        out
    }

    /// How many distinct word pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// How much two texts share, both ways.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overlap {
    /// Distinct word pairs in both.
    pub shared: usize,
    /// The share of this text's pairs found in the other (0 to 1).
    pub this_in_other: f64,
    /// The share of the other text's pairs found in this one (0 to 1).
    pub other_in_this: f64,
}

impl Overlap {
    pub fn between(this: &Fingerprint, other: &Fingerprint) -> Self {
        let shared = this.pairs.intersection(&other.pairs).count();
        let share = |n: usize| {
            if n == 0 {
                0.0
            } else {
                shared as f64 / n as f64
            }
        };
        Self {
            shared,
            this_in_other: share(this.len()),
            other_in_this: share(other.len()),
        }
    }

    /// The larger containment: what the threshold is compared with.
    pub fn score(&self) -> f64 {
        self.this_in_other.max(self.other_in_this)
    }

    /// Whether this overlap makes one text a re-statement of the other.
    /// Symmetric: swapping the two texts never changes the answer.
    pub fn is_derived(&self, threshold: f64) -> bool {
        self.shared >= MIN_SHARED_PAIRS && self.score() >= threshold
    }

    fn basis(&self) -> DerivationBasis {
        let pct = |x: f64| (x * 100.0).round().clamp(0.0, 100.0) as u8;
        DerivationBasis::SharedText {
            this_in_other_percent: pct(self.this_in_other),
            other_in_this_percent: pct(self.other_in_this),
            shared_pairs: u32::try_from(self.shared).unwrap_or(u32::MAX),
        }
    }
}

/// The best-matching earlier text for a new one, if it is derived.
#[derive(Clone, Debug, PartialEq)]
pub struct Match<K> {
    pub earlier: K,
    pub overlap: Overlap,
}

/// The earlier text `new` re-states most (highest [`Overlap::score`], the
/// first on a tie), if any reaches `threshold`.
pub fn best_match<'a, K: Clone + 'a>(
    new: &str,
    earlier: impl IntoIterator<Item = (K, &'a str)>,
    threshold: f64,
) -> Option<Match<K>> {
    let new = Fingerprint::of(new);
    let mut best: Option<Match<K>> = None;
    for (k, text) in earlier {
        let overlap = Overlap::between(&new, &Fingerprint::of(text));
        if overlap.is_derived(threshold)
            && best
                .as_ref()
                .is_none_or(|b| overlap.score() > b.overlap.score())
        {
            best = Some(Match {
                earlier: k,
                overlap,
            });
        }
    }
    best
}

/// A new report's independence among the case's `earlier` reports (in the
/// order they reached the case): derived from every earlier report it
/// declares, shares an origin with, or shares text with; the first link is
/// the declared one, else the earliest same origin, else the strongest text.
/// `derived_from` must already have been checked to name an earlier report.
pub fn assess<'a>(
    new: &ThreatReport,
    earlier: impl IntoIterator<Item = (ReportId, &'a ThreatReport)>,
    threshold: f64,
) -> Independence {
    let fp = Fingerprint::of(new.narrative.as_str());
    let key = new.origin.as_ref().map(Origin::key);
    let mut declared = Vec::new();
    let mut origin = Vec::new();
    let mut text: Vec<(DerivedLink, f64)> = Vec::new();
    for (id, r) in earlier {
        if new.derived_from == Some(id) {
            declared.push(DerivedLink {
                of: id,
                basis: DerivationBasis::Declared,
            });
        } else if let (Some(k), Some(o)) = (&key, &r.origin)
            && *k == o.key()
        {
            origin.push(DerivedLink {
                of: id,
                basis: DerivationBasis::SameOrigin { origin: o.clone() },
            });
        } else {
            let overlap = Overlap::between(&fp, &Fingerprint::of(r.narrative.as_str()));
            if overlap.is_derived(threshold) {
                text.push((
                    DerivedLink {
                        of: id,
                        basis: overlap.basis(),
                    },
                    overlap.score(),
                ));
            }
        }
    }
    // The strongest text match first; a stable sort keeps the earlier on a tie.
    text.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut links = declared
        .into_iter()
        .chain(origin)
        .chain(text.into_iter().map(|(l, _)| l));
    match links.next() {
        None => Independence::Independent,
        Some(first) => Independence::Derived {
            of: first.of,
            basis: first.basis,
            also: links.collect(),
        },
    }
}

/// One report as the grouping sees it.
#[derive(Clone, Copy, Debug)]
pub struct Recorded<'a> {
    pub id: ReportId,
    pub origin: Option<&'a Origin>,
    pub independence: &'a Independence,
}

/// The case's independent sources, from what was recorded: reports joined
/// by a derived link or a shared origin are one source. Reports are
/// numbered from 1 in the order given (the case's order); sources come in
/// the order of their first report. For a ledger recorded before origins
/// and `also` links existed, the count equals the number of reports
/// recorded as independent.
pub fn sources(reports: &[Recorded<'_>]) -> Vec<Source> {
    let index: BTreeMap<ReportId, usize> =
        reports.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut parent: Vec<usize> = (0..reports.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Joins the sources of two reports; false when they were one already
    // (then the link explains nothing new and is not listed).
    let mut union = |a: usize, b: usize| {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        // The earlier report stays the root, so a source is named by its first.
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi] = lo;
        ra != rb
    };
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); reports.len()];
    let mut first_of_origin: BTreeMap<String, usize> = BTreeMap::new();
    for (i, r) in reports.iter().enumerate() {
        if let Independence::Derived { of, basis, also } = r.independence {
            let links = std::iter::once((of, basis)).chain(also.iter().map(|l| (&l.of, &l.basis)));
            for (of, basis) in links {
                if let Some(&j) = index.get(of)
                    && union(i, j)
                {
                    reasons[i].push(format!(
                        "report {} repeats report {}: {}",
                        i + 1,
                        j + 1,
                        basis.describe()
                    ));
                }
            }
        }
        if let Some(o) = r.origin {
            match first_of_origin.get(&o.key()) {
                Some(&j) => {
                    if union(i, j) {
                        reasons[i].push(format!(
                            "report {} repeats report {}: same origin \"{o}\"",
                            i + 1,
                            j + 1
                        ));
                    }
                }
                None => {
                    first_of_origin.insert(o.key(), i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Source> = BTreeMap::new();
    for (i, why) in reasons.into_iter().enumerate() {
        let g = groups
            .entry(root(&mut parent, i))
            .or_insert_with(|| Source {
                reports: Vec::new(),
                merged: Vec::new(),
            });
        g.reports.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
        g.merged.extend(why);
    }
    groups.into_values().collect()
}

/// The words of a text as the detector compares them: header and
/// forwarding lines dropped, lower case, split at anything but letters and
/// digits, lightly stemmed.
pub fn words(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !is_header(l))
        .flat_map(|l| l.split(|c: char| !c.is_alphanumeric()))
        .filter(|w| !w.is_empty())
        .map(|w| stem(&w.to_lowercase()))
        .collect()
}

/// Strips one common English ending ("-ing", "-ed", "-es", "-s") from a word
/// longer than the ending by more than three letters: "attacks" and
/// "attack", "planned" and "plann" compare equal; short words stay.
fn stem(w: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = w.strip_suffix(suffix)
            && stem.chars().count() > 3
        {
            return stem.to_owned();
        }
    }
    w.to_owned()
}

/// A line that is a message header or forwarding boilerplate, not content:
/// `FWD:`/`FW:`/`RE:` subject lines, e-mail header fields, separator lines
/// (`-----Original Message-----`), and cable headers (`ZCZC`, a
/// date-time group such as `R 081200Z MAR 24`, `FM ...`/`TO ...`, `SUBJ:`,
/// `BT`, `NNNN`).
fn is_header(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return false;
    }
    let lower = t.to_lowercase();
    if let Some((field, _)) = lower.split_once(':')
        && matches!(
            field.trim(),
            "fwd" | "fw" | "re" | "from" | "sent" | "to" | "cc" | "date" | "subject" | "subj"
        )
    {
        return true;
    }
    if matches!(
        lower.as_str(),
        "zczc" | "nnnn" | "bt" | "end fwd" | "end of message"
    ) {
        return true;
    }
    let fence = |c: char| c == '-' || c == '=';
    if t.starts_with("--") && t.ends_with("--") || t.starts_with("==") && t.ends_with("==") {
        return t.chars().filter(|c| fence(*c)).count() >= 4;
    }
    let mut tokens = t.split_whitespace();
    let (first, second) = (tokens.next().unwrap_or(""), tokens.next().unwrap_or(""));
    // A cable's precedence and date-time group: "R 081200Z", "O 140800Z".
    if matches!(first, "R" | "O" | "P" | "Z")
        && second.len() == 7
        && second.ends_with('Z')
        && second[..6].chars().all(|c| c.is_ascii_digit())
    {
        return true;
    }
    // A cable's addressees: "FM FIELD OFFICE BOSTON", "TO HQ THREAT DESK".
    matches!(first, "FM" | "TO") && !t.chars().any(|c| c.is_lowercase())
}

impl crate::case::Case {
    /// An analyst confirms, rejects or sets whether a report is an
    /// independent source: `derived_of` another report of the case, or
    /// independent. The detector only proposes; this is recorded (a
    /// confirmation too), replaces what was recorded before, and flags a determined case for
    /// re-assessment when the count of independent sources changes. (Two
    /// reports that name one origin stay one source whatever is marked:
    /// correct the origin by a new report instead.)
    pub(crate) fn mark_independence(
        &self,
        report_id: ReportId,
        derived_of: Option<ReportId>,
        reason: crate::text::Reason,
    ) -> Result<Vec<Event>, crate::case::CaseError> {
        use crate::case::{CaseError, CaseState};
        use crate::event::{Action, ReassessmentReason};
        if self.state == CaseState::Closed {
            return Err(CaseError::NotAllowed {
                action: Action::MarkIndependence,
                state: self.state,
                allowed: self.state.allowed().to_vec(),
            });
        }
        if !self.reports.iter().any(|r| r.id == report_id) {
            return Err(CaseError::UnknownReport(report_id));
        }
        let independence = match derived_of {
            None => Independence::Independent,
            Some(of) if of == report_id => return Err(CaseError::DerivedFromItself(report_id)),
            Some(of) if !self.reports.iter().any(|r| r.id == of) => {
                return Err(CaseError::UnknownDerivedFrom(of));
            }
            Some(of) => Independence::Derived {
                of,
                basis: DerivationBasis::Marked {
                    reason: reason.clone(),
                },
                also: Vec::new(),
            },
        };
        let before = self.independent_sources();
        let mut after = self.clone();
        if let Some(r) = after.reports.iter_mut().find(|r| r.id == report_id) {
            r.independence = independence.clone();
        }
        let count = after.independent_sources();
        let mut events = vec![Event::IndependenceMarked {
            report_id,
            independence,
            reason,
        }];
        if count != before && self.is_determined() {
            events.push(Event::ReassessmentFlagged {
                reason: ReassessmentReason::NewInformation,
                detail: format!(
                    "an analyst marked report {report_id}: {before} independent source(s) before, {count} now"
                ),
            });
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "A source reports that two members of the cell plan to attack the crowd at the memorial ceremony in Kerman on 3 January, wearing explosive vests under winter coats, and will approach along the road from the city centre.";

    #[test]
    fn a_forward_with_a_cable_header_is_contained_in_its_original() {
        let fwd = "ZCZC\nR 081200Z JAN 24\nFM LIAISON OFFICE\nTO HQ THREAT DESK\nSUBJ: KERMAN\n1. Two members of the cell plan to attack the crowd at the memorial ceremony in Kerman on 3 January.\nNNNN";
        let o = Overlap::between(&Fingerprint::of(fwd), &Fingerprint::of(ORIGINAL));
        assert!(o.this_in_other > 0.9, "{o:?}");
        assert!(o.is_derived(0.35));
    }

    #[test]
    fn a_rewrite_shares_sampled_pairs_with_its_original() {
        let original = "The cell plans to detonate two explosive devices at the memorial \
                        procession on the anniversary, near the cemetery gate, at midday.";
        let rewrite = "The cell plans to detonate two explosive devices at the memorial \
                       procession near the cemetery gate.";
        let (a, b) = (Fingerprint::of(original), Fingerprint::of(rewrite));
        let found = |query: &Fingerprint, indexed: &Fingerprint| {
            let sample = indexed.sample();
            query.hashes().iter().filter(|h| sample.contains(h)).count()
        };
        // Whichever came first, the later one finds the earlier.
        assert!(found(&b, &a) > 0 && found(&a, &b) > 0);
        // Stable: the same text samples the same, sorted and without repeats.
        assert_eq!(Fingerprint::of(original).sample(), a.sample());
        assert!(a.sample().windows(2).all(|w| w[0] < w[1]));
        assert!(a.sample().iter().all(|h| a.hashes().contains(h)));
        let unrelated = Fingerprint::of("Quarterly budget figures for the regional water board.");
        assert_eq!(found(&unrelated, &a), 0);
    }

    #[test]
    fn headers_are_not_words() {
        assert_eq!(
            words("FWD: urgent\n-----Original Message-----\nFrom: desk\nAttacks planned"),
            ["attack", "plann"]
        );
        // An ordinary sentence with a colon stays.
        assert_eq!(words("Note: two men"), ["note", "two", "men"]);
    }

    #[test]
    fn containment_is_symmetric_in_its_decision() {
        let a = Fingerprint::of(ORIGINAL);
        let b =
            Fingerprint::of("Two members of the cell plan to attack the crowd at the memorial.");
        let (ab, ba) = (Overlap::between(&a, &b), Overlap::between(&b, &a));
        assert_eq!(ab.score(), ba.score());
        assert_eq!(ab.is_derived(0.35), ba.is_derived(0.35));
    }

    #[test]
    fn a_few_shared_words_are_not_enough() {
        let o = Overlap::between(
            &Fingerprint::of("Kerman on 3 January"),
            &Fingerprint::of(ORIGINAL),
        );
        assert_eq!(o.this_in_other, 1.0);
        assert!(!o.is_derived(0.35), "{o:?}");
    }

    #[test]
    fn best_match_names_the_closest_earlier_text() {
        let m = best_match(
            "Two members of the cell plan to attack the crowd at the memorial ceremony in Kerman.",
            [
                (1, "A different report about a school in Ohio and a rifle."),
                (2, ORIGINAL),
            ],
            0.35,
        )
        .unwrap();
        assert_eq!(m.earlier, 2);
    }
}
