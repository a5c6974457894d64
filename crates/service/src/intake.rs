//! Intake: a threat report opens a case or joins one.
//!
//! The checks every face gets: the submitter may submit reports; the
//! report's originating element is one of the submitter's own; its
//! classification is a level of this deployment at or below the
//! submitter's clearance, and its compartments are ones the submitter
//! holds (a report cannot be marked beyond what its author may read); a
//! case joined is one the submitter may see (a [`Visible<Case>`]), and the
//! report's marking must not hide it from its owner (nor a new case from
//! the owner named for it); and with an idempotency key the same request
//! (body, case joined and owner named) is answered with its first result
//! and writes nothing, also when two copies race (the key's record is
//! written in the same transaction as the report, with compare-and-set).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tocsin_domain::access::{ClearanceLevels, Marking, Permission, Visibility, visibility};
use tocsin_domain::case::{Case, Command, Ctx, OpenCase};
use tocsin_domain::report::Handling;
use tocsin_domain::{ActorName, CaseId, CaseNumber, ReportId, ThreatReport};
use tocsin_store::{CaseSummary, DocExpect, DocKind, DocWrite, NewEvents, StoreError, StreamId};

use crate::access::{Principal, Visible};
use crate::command::{envelopes, fold_new};
use crate::{Service, ServiceError, new_uuid};

/// A report to take in.
pub struct Intake {
    pub report: ThreatReport,
    /// Join this case instead of opening a new one.
    pub join: Option<Visible<Case>>,
    /// The accountable owner of a new case (default: the submitter).
    pub owner: Option<ActorName>,
    /// Makes a retried submission safe.
    pub idempotency: Option<Idempotency>,
}

impl Intake {
    /// A report that opens a new case, owned by its submitter.
    pub fn new(report: ThreatReport) -> Self {
        Self {
            report,
            join: None,
            owner: None,
            idempotency: None,
        }
    }
}

/// An idempotency key with the digest of the request it came with.
#[derive(Clone, Debug)]
pub struct Idempotency {
    key: String,
    request_sha256: String,
    /// A key of the deployment (a STIX report version, a receipt), the
    /// same whoever asks; otherwise the key is the account's own.
    shared: bool,
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key: give 1 to 200 visible ASCII characters")]
pub struct BadIdempotencyKey;

impl Idempotency {
    /// `key` as the client sent it, and the request's exact bytes.
    pub fn new(key: &str, request: &[u8]) -> Result<Self, BadIdempotencyKey> {
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadIdempotencyKey);
        }
        Ok(Self {
            key: key.to_owned(),
            request_sha256: hex::encode(Sha256::digest(request)),
            shared: false,
        })
    }

    /// A key of the deployment rather than of the account: the key names
    /// the request whole (`stix:ID@MODIFIED`, `receipt:ID`), so whoever
    /// repeats it is answered with the first result. Such keys hold no
    /// `/`, which every account's key holds.
    pub(crate) fn shared(key: String) -> Self {
        let request_sha256 = hex::encode(Sha256::digest(key.as_bytes()));
        Self {
            key: key.replace('/', "_"),
            request_sha256,
            shared: true,
        }
    }

    /// The document key: the account's, or the deployment's.
    fn doc_key(&self, p: &Principal) -> String {
        if self.shared {
            self.key.clone()
        } else {
            format!("{}/{}", p.name(), self.key)
        }
    }

    /// The digest of the whole request: the body, and the case it joins
    /// and the owner it names, when it does (a request without either
    /// keeps the body's digest, as records written before this had).
    fn request_digest(&self, join: Option<CaseId>, owner: Option<&ActorName>) -> String {
        if join.is_none() && owner.is_none() {
            return self.request_sha256.clone();
        }
        let whole = format!(
            "{}\ncase={}\nowner={}",
            self.request_sha256,
            join.map(|c| c.to_string()).unwrap_or_default(),
            owner.map(|o| o.to_string()).unwrap_or_default()
        );
        hex::encode(Sha256::digest(whole.as_bytes()))
    }
}

/// `base` with a report's handling added (what a case's marking becomes).
pub(crate) fn marked(mut base: Marking, h: &Handling) -> Marking {
    if let Some(l) = &h.classification {
        base.levels.insert(l.clone());
    }
    base.compartments.extend(h.compartments.iter().cloned());
    base.existence_restricted |= h.existence_restricted;
    base
}

/// A report that went in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub report_id: ReportId,
    pub case_id: CaseId,
    /// The new case's number (absent when the report joined a case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<CaseNumber>,
    /// The report opened a new case (rather than joining one).
    pub new_case: bool,
}

/// What is kept under an idempotency key (the shape is stored: keep it).
#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    request_sha256: String,
    result: Submitted,
}

impl Service {
    /// Takes in a report: it opens a new case, or joins `intake.join`.
    pub async fn submit_report(
        &self,
        p: &Principal,
        intake: Intake,
    ) -> Result<Submitted, ServiceError> {
        self.authorize(p, Permission::SubmitReport, "submit_report")
            .await?;
        let Intake {
            report,
            join,
            owner,
            idempotency,
        } = intake;
        // Idempotency keys are per account, and name the whole request.
        let key = idempotency.as_ref().map(|i| {
            (
                i.doc_key(p),
                i.request_digest(join.as_ref().map(|c| c.id), owner.as_ref()),
            )
        });
        if let Some((k, sha)) = &key
            && let Some(first) = self.replay(k, sha).await?
        {
            return Ok(first);
        }
        if !p
            .account()
            .spec
            .elements
            .contains(&report.originating_element)
        {
            return Err(ServiceError::invalid(
                "originating_element",
                format_args!(
                    "{} does not belong to {}",
                    p.name(),
                    report.originating_element
                ),
            ));
        }
        let levels = self.clearance_levels().await?;
        self.check_marking(p, &levels, &report.handling)?;
        match (&join, &owner) {
            (Some(case), _) => {
                let before = case.marking();
                let after = marked(before.clone(), &report.handling);
                self.keeps_owner(&levels, &case.owner, Some(&before), &after)
                    .await?
            }
            (None, Some(owner)) => {
                let base = Marking {
                    elements: [report.originating_element.clone()].into(),
                    ..Marking::default()
                };
                self.keeps_owner(&levels, owner, None, &marked(base, &report.handling))
                    .await?
            }
            (None, None) => {}
        }
        let report_id = ReportId::from_uuid(new_uuid());
        let record = |case_id, new_case| match &key {
            Some((k, sha)) => vec![DocWrite::put(
                DocKind::Idempotency,
                k.clone(),
                DocExpect::Absent,
                &IdempotencyRecord {
                    request_sha256: sha.clone(),
                    result: Submitted {
                        report_id,
                        case_id,
                        number: None,
                        new_case,
                    },
                },
            )],
            None => Vec::new(),
        };
        // Victims and threat actor against the registries, in the same append.
        let screening = self.screening_events(report_id, &report).await?;
        let r = match join {
            Some(case) => self
                .command(
                    p,
                    case.id,
                    Command::AttachReport {
                        report_id,
                        report: Box::new(report),
                    },
                    screening,
                    record(case.id, false),
                )
                .await
                .map(|_| Submitted {
                    report_id,
                    case_id: case.id,
                    number: None,
                    new_case: false,
                }),
            None => {
                let open = OpenCase {
                    case_id: CaseId::from_uuid(new_uuid()),
                    report_id,
                    report,
                    owner,
                };
                self.open_case(p, open, screening, record).await
            }
        };
        match (r, &key) {
            // The same key raced in first: answer with its result.
            (Err(ServiceError::Store(StoreError::DocConflict { .. })), Some((k, sha))) => self
                .replay(k, sha)
                .await?
                .ok_or_else(|| ServiceError::Contention(format!("idempotency key {k}"))),
            (r, _) => r,
        }
    }

    /// A report is marked at most as high as its submitter is cleared, and
    /// only with compartments the submitter holds.
    pub(crate) fn check_marking(
        &self,
        p: &Principal,
        levels: &ClearanceLevels,
        h: &Handling,
    ) -> Result<(), ServiceError> {
        let spec = &p.account().spec;
        if let Some(level) = &h.classification {
            levels
                .check(level)
                .map_err(|e| ServiceError::invalid("handling.classification", e))?;
            if !levels.at_or_below(&spec.clearance).contains(level) {
                return Err(ServiceError::invalid(
                    "handling.classification",
                    format_args!(
                        "{level} is above the clearance of {} ({}): a report is marked at most at its submitter's level",
                        p.name(),
                        spec.clearance
                    ),
                ));
            }
        }
        let foreign: Vec<String> = h
            .compartments
            .difference(&spec.compartments)
            .map(|c| c.to_string())
            .collect();
        if !foreign.is_empty() {
            return Err(ServiceError::invalid(
                "handling.compartments",
                format_args!(
                    "{} does not hold {}: a report is marked only with compartments its submitter holds",
                    p.name(),
                    foreign.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The owner of a case who sees it under `before` (a new case: always)
    /// must still see it under `marking`; an owner named must exist.
    pub(crate) async fn keeps_owner(
        &self,
        levels: &ClearanceLevels,
        owner: &ActorName,
        before: Option<&Marking>,
        marking: &Marking,
    ) -> Result<(), ServiceError> {
        let Some(account) = self.account(owner.as_str()).await? else {
            return Err(ServiceError::invalid(
                "owner",
                format_args!("there is no account '{owner}'"),
            ));
        };
        let sees = |m: &Marking| {
            visibility(&account, &account.spec.roles, levels, m) == Visibility::Visible
        };
        if before.is_none_or(sees) && !sees(marking) {
            return Err(ServiceError::invalid(
                "handling",
                format_args!(
                    "this marking would hide the case from its owner {owner} (clearance, compartments or element): the owner must be able to see the case"
                ),
            ));
        }
        Ok(())
    }

    /// The first result under a deployment's key
    /// ([`Idempotency::shared`]), if there is one.
    pub(crate) async fn first_result(
        &self,
        i: &Idempotency,
    ) -> Result<Option<Submitted>, ServiceError> {
        debug_assert!(i.shared);
        self.replay(&i.key, &i.request_sha256).await
    }

    /// The first result under an idempotency key, if there is one.
    async fn replay(&self, key: &str, sha: &str) -> Result<Option<Submitted>, ServiceError> {
        let Some(doc) = self.store.get_doc(DocKind::Idempotency, key).await? else {
            return Ok(None);
        };
        let mut rec: IdempotencyRecord = doc.parse()?;
        if rec.request_sha256 != sha {
            return Err(ServiceError::IdempotencyKeyReused);
        }
        // The record is written before the store numbers the case: the
        // number is the case's own.
        if rec.result.new_case && rec.result.number.is_none() {
            rec.result.number = self
                .store
                .case_summary(rec.result.case_id)
                .await?
                .and_then(|s| s.number);
        }
        Ok(Some(rec.result))
    }

    async fn open_case(
        &self,
        p: &Principal,
        open: OpenCase,
        screening: Vec<tocsin_domain::Event>,
        record: impl Fn(CaseId, bool) -> Vec<DocWrite>,
    ) -> Result<Submitted, ServiceError> {
        let now = self.clock.now();
        let actor = p.actor();
        let (case_id, report_id) = (open.case_id, open.report_id);
        let mut events = Case::open(
            open,
            Ctx {
                actor: &actor,
                now,
                policy: &self.policy,
                report_formats: &[],
            },
        )?;
        events.extend(screening);
        let envelopes = envelopes(p.name(), now, events);
        let case = fold_new(case_id, None, &envelopes)?;
        let appended = self
            .store
            .append(NewEvents {
                stream: StreamId::Case(case_id),
                expected_version: Some(0),
                salts: crate::salts(&envelopes)?,
                events: envelopes,
                summary: Some(CaseSummary::of(&case, &self.policy)),
                docs: record(case_id, true),
            })
            .await?;
        Ok(Submitted {
            report_id,
            case_id,
            number: appended.case_number,
            new_case: true,
        })
    }
}
