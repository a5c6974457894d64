//! Circular reporting across cases: which reports of *other* cases, among
//! those the caller may see, a report repeats or is repeated by.
//!
//! Within a case the detector runs at intake and its verdict is recorded
//! (`corroboration::assess`). Across cases it only proposes: the answer
//! names the other reports with their overlap, and the analysts decide (a
//! link or merge of the cases, or marking the report derived once the
//! cases are one). Nothing here writes to the ledger.
//!
//! The index is built from the ledger itself, lazily at the first question
//! and then from where it stopped (the ledger only grows, so several
//! instances on one database each catch up with what the others appended).
//! It keeps, per report, a sample of its word-pair hashes
//! ([`Fingerprint::sample`]): about a quarter of its pairs, 32 bits each,
//! so some 300 bytes for a report of 150 words. A lookup asks for every
//! pair of the report; the reports that share enough sampled pairs are
//! then compared exactly, from their cases, and only those the caller may
//! see are answered.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde::Serialize;
use tocsin_domain::access::{ClearanceLevels, Permission};
use tocsin_domain::case::Case;
use tocsin_domain::corroboration::{Fingerprint, Overlap};
use tocsin_domain::event::Event;
use tocsin_domain::{CaseId, CaseNumber, ReportId, Timestamp};
use tocsin_store::StreamId;
use tocsin_store::leaf::Content;

use crate::access::{Principal, Visible};
use crate::{Service, ServiceError};

/// How many ledger rows one catch-up step reads.
const PAGE: u32 = 2_000;

/// At most this many candidates are compared exactly per question (the
/// ones sharing the most sampled pairs).
const MAX_CANDIDATES: usize = 200;

/// At most this many similar reports are answered.
pub const MAX_SIMILAR: usize = 50;

/// Another case's report that a report repeats, or that repeats it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct SimilarReport {
    pub case_id: CaseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<CaseNumber>,
    pub report_id: ReportId,
    /// Its place among its case's reports (1 is the first).
    pub report: u32,
    pub received_at: Timestamp,
    /// The share of this report's word pairs found in the other (0–100).
    pub this_in_other_percent: u8,
    /// The share of the other report's word pairs found in this one.
    pub other_in_this_percent: u8,
    pub shared_pairs: u32,
    /// Whether the other report was received before this one (so this one
    /// may repeat it) or after (it may repeat this one); of two received
    /// at the same time, the one recorded first counts as before.
    pub received: Received,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Received {
    Before,
    After,
}

/// The sampled pair hashes of every report in the ledger, and where the
/// ledger was read up to.
#[derive(Default)]
pub(crate) struct SimilarIndex {
    /// The next ledger position to read.
    next: u64,
    reports: Vec<(CaseId, ReportId)>,
    /// (pair hash, report index), sorted; `tail` is added since.
    sorted: Vec<(u32, u32)>,
    tail: Vec<(u32, u32)>,
}

impl SimilarIndex {
    fn add(&mut self, case: CaseId, report: ReportId, text: &str) {
        let Ok(i) = u32::try_from(self.reports.len()) else {
            return;
        };
        self.reports.push((case, report));
        self.tail
            .extend(Fingerprint::of(text).sample().into_iter().map(|h| (h, i)));
    }

    /// Moves a long tail into the sorted part (a short one is scanned).
    fn settle(&mut self) {
        if self.tail.len() > 4_096 {
            self.sorted.append(&mut self.tail);
            self.sorted.sort_unstable();
        }
    }

    /// Where `report` stands in the ledger's order of reports.
    fn rank(&self, report: ReportId) -> Option<u32> {
        self.reports
            .iter()
            .position(|(_, r)| *r == report)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Reports sharing sampled pairs with `hashes`, most shared first, with
    /// their rank in the ledger's order.
    fn candidates(&self, hashes: &[u32]) -> Vec<(CaseId, ReportId, u32)> {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        for h in hashes {
            let from = self.sorted.partition_point(|(x, _)| x < h);
            for (_, i) in self.sorted[from..].iter().take_while(|(x, _)| x == h) {
                *counts.entry(*i).or_default() += 1;
            }
        }
        if !self.tail.is_empty() {
            for (h, i) in &self.tail {
                if hashes.binary_search(h).is_ok() {
                    *counts.entry(*i).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(u32, u32)> = counts.into_iter().map(|(i, n)| (n, i)).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked
            .into_iter()
            .take(MAX_CANDIDATES)
            .filter_map(|(_, i)| self.reports.get(i as usize).map(|(c, r)| (*c, *r, i)))
            .collect()
    }

    /// Reads what the ledger gained since the last call.
    async fn catch_up(&mut self, store: &dyn tocsin_store::Store) -> Result<(), ServiceError> {
        loop {
            let page = store.read_leaves(self.next, PAGE).await?;
            if page.is_empty() {
                self.settle();
                return Ok(());
            }
            for i in 0..page.len() {
                let Some(row) = page.get(i) else { continue };
                self.next = row.position + 1;
                if !row.stream.starts_with("case/") {
                    continue;
                }
                let body = row.content.map(|c| c.body);
                let Ok((_, Content::Event(env))) =
                    tocsin_store::leaf::decode_stored(row.leaf, body)
                else {
                    // `audit verify` names a damaged leaf; the index skips
                    // it, and a disposed one has nothing to index.
                    continue;
                };
                if let Event::ReportAttached {
                    report_id, report, ..
                } = &env.event
                    && let Ok(StreamId::Case(case)) = row.stream.parse::<StreamId>()
                {
                    self.add(case, *report_id, report.narrative.as_str());
                }
            }
            if page.len() < PAGE as usize {
                self.settle();
                return Ok(());
            }
        }
    }
}

impl Service {
    /// The reports of other cases, among those `p` may see, that report
    /// `report_id` of `case` repeats or is repeated by (shingle
    /// containment at the policy's threshold, both ways), closest first.
    pub async fn similar_reports(
        &self,
        p: &Principal,
        case: &Visible<Case>,
        report_id: ReportId,
    ) -> Result<Vec<SimilarReport>, ServiceError> {
        self.authorize(p, Permission::ReadCase, "similar_reports")
            .await?;
        let Some(entry) = case.reports.iter().find(|r| r.id == report_id) else {
            return Err(ServiceError::NotFound(format!(
                "case {} has no report {report_id}",
                case.id
            )));
        };
        let threshold = self.policy.credibility.containment_threshold();
        let this = Fingerprint::of(entry.report.narrative.as_str());
        let (candidates, rank) = {
            let mut index = self.similar.lock().await;
            index.catch_up(self.store.as_ref()).await?;
            (index.candidates(&this.hashes()), index.rank(report_id))
        };
        let levels: ClearanceLevels = self.clearance_levels().await?;
        let mut cases: HashMap<CaseId, Option<Case>> = HashMap::new();
        let mut out = Vec::new();
        for (case_id, other_id, other_rank) in candidates {
            if case_id == case.id {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) = cases.entry(case_id) {
                let other = match self.load(case_id).await {
                    Ok(c) if Service::sees(p, &c, &levels) => Some(c),
                    Ok(_) | Err(ServiceError::CaseNotFound(_)) => None,
                    Err(e) => return Err(e),
                };
                slot.insert(other);
            }
            let Some(Some(other)) = cases.get(&case_id) else {
                continue;
            };
            // A report merged or moved elsewhere is answered where it is now.
            let Some((place, r)) = other
                .reports
                .iter()
                .enumerate()
                .find(|(_, r)| r.id == other_id)
            else {
                continue;
            };
            let overlap = Overlap::between(&this, &Fingerprint::of(r.report.narrative.as_str()));
            if !overlap.is_derived(threshold) {
                continue;
            }
            let pct = |x: f64| (x * 100.0).round().clamp(0.0, 100.0) as u8;
            out.push((
                overlap.score(),
                SimilarReport {
                    case_id,
                    case_number: None,
                    report_id: other_id,
                    report: u32::try_from(place + 1).unwrap_or(u32::MAX),
                    received_at: r.report.received_at,
                    this_in_other_percent: pct(overlap.this_in_other),
                    other_in_this_percent: pct(overlap.other_in_this),
                    shared_pairs: u32::try_from(overlap.shared).unwrap_or(u32::MAX),
                    // Received at the same time: the ledger's order decides.
                    received: match r.report.received_at.cmp(&entry.report.received_at) {
                        std::cmp::Ordering::Less => Received::Before,
                        std::cmp::Ordering::Greater => Received::After,
                        std::cmp::Ordering::Equal if rank.is_some_and(|me| other_rank < me) => {
                            Received::Before
                        }
                        std::cmp::Ordering::Equal => Received::After,
                    },
                },
            ));
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0));
        out.truncate(MAX_SIMILAR);
        let mut answer = Vec::with_capacity(out.len());
        for (_, mut s) in out {
            s.case_number = self
                .store
                .case_summary(s.case_id)
                .await?
                .and_then(|c| c.number);
            answer.push(s);
        }
        Ok(answer)
    }
}
