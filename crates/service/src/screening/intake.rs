//! Screening on intake: every named victim and the threat actor of a
//! report against every registry, recorded in the same append as the
//! report. A watch-list match of a victim raises a W3 flag: evidence for a
//! person to weigh, never a waiver nor a verdict.

use tocsin_domain::ReportId;
use tocsin_domain::event::Event;
use tocsin_domain::report::{ActorKind, TargetKind, ThreatReport};
use tocsin_domain::screening::{
    RegistryUnavailable, ScreenedSubject, Screening, ScreeningHit, SubjectRole, WATCH_LIST_GROUND,
    WatchListFlag,
};
use tocsin_match::{DEFAULT_THRESHOLD, EntryKind, SearchOptions};

use super::{CATALOGUE_KEY, INTAKE_HITS, ScreeningError, permille};
use crate::{Service, ServiceError};

impl Service {
    /// The events recording the screening of a report's names: nothing
    /// when no registry is imported; otherwise a `screening_recorded` and a
    /// `watch_list_flag_raised` for every watch-list match of a victim.
    /// A registry that cannot be used is recorded as unavailable, with
    /// why (so a missing hit is never mistaken for a clean result); when
    /// the catalogue of registries cannot even be read from the store, the
    /// intake fails: "nothing screened" would be a lie.
    pub(crate) async fn screening_events(
        &self,
        report_id: ReportId,
        report: &ThreatReport,
    ) -> Result<Vec<Event>, ServiceError> {
        let cat = match self.registry_catalogue().await {
            Ok((c, _)) => c,
            Err(ScreeningError::Store(e)) => return Err(e.into()),
            Err(e) => {
                return Ok(vec![Event::ScreeningRecorded {
                    screening: Box::new(Screening {
                        report_id,
                        registries: Vec::new(),
                        threshold_permille: permille(DEFAULT_THRESHOLD),
                        subjects: Vec::new(),
                        unnamed_victims: 0,
                        unavailable: vec![RegistryUnavailable {
                            name: CATALOGUE_KEY.to_owned(),
                            reason: e.to_string(),
                        }],
                    }),
                }]);
            }
        };
        if cat.registries.is_empty() {
            return Ok(Vec::new());
        }
        let mut loaded = Vec::new();
        let mut unavailable = Vec::new();
        for info in cat.registries.values() {
            match self.registry_index(info).await {
                Ok(l) => loaded.push(l),
                Err(e) => unavailable.push(RegistryUnavailable {
                    name: info.registry.name.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        let mut subjects = Vec::new();
        let mut unnamed = 0u32;
        let victim_kind = match report.target.kind {
            TargetKind::Person => Some(EntryKind::Person),
            TargetKind::Organisation => Some(EntryKind::Entity),
            TargetKind::Group | TargetKind::Place | TargetKind::Gathering => None,
        };
        for (i, v) in report.target.victims.iter().enumerate() {
            match &v.name {
                Some(n) => subjects.push((SubjectRole::Victim, i as u32, n.as_str(), victim_kind)),
                None => unnamed += 1,
            }
        }
        if let Some(a) = &report.threat_actor {
            let kind = match a.kind {
                ActorKind::Individual => Some(EntryKind::Person),
                ActorKind::State | ActorKind::TerroristGroup | ActorKind::CriminalGroup => {
                    Some(EntryKind::Entity)
                }
                ActorKind::Unknown => None,
            };
            subjects.push((SubjectRole::ThreatActor, 0, a.name.as_str(), kind));
        }
        let mut screened = Vec::new();
        let mut flags = Vec::new();
        for (role, index, name, kind) in subjects {
            let opts = SearchOptions {
                limit: INTAKE_HITS,
                min_score: DEFAULT_THRESHOLD,
                kind,
                ..SearchOptions::default()
            };
            let mut s = ScreenedSubject {
                role,
                index,
                name: name.to_owned(),
                resolved: Vec::new(),
                listed: Vec::new(),
            };
            for l in &loaded {
                let hits = l.index.search(name, &opts).into_iter().map(|h| l.hit(h));
                if l.registry.is_watch_list() {
                    for h in hits {
                        if role == SubjectRole::Victim {
                            flags.push(WatchListFlag {
                                report_id,
                                subject: name.to_owned(),
                                victim_index: index,
                                ground: WATCH_LIST_GROUND.to_owned(),
                                registry: l.registry.clone(),
                                hit: h.clone(),
                            });
                        }
                        s.listed.push(h);
                    }
                } else {
                    s.resolved.extend(hits);
                }
            }
            sort_hits(&mut s.listed);
            sort_hits(&mut s.resolved);
            screened.push(s);
        }
        flags.sort_by(|a, b| {
            (
                a.victim_index,
                std::cmp::Reverse(a.hit.score_permille),
                &a.hit.entry_id,
            )
                .cmp(&(
                    b.victim_index,
                    std::cmp::Reverse(b.hit.score_permille),
                    &b.hit.entry_id,
                ))
        });
        let mut events = vec![Event::ScreeningRecorded {
            screening: Box::new(Screening {
                report_id,
                registries: loaded.iter().map(|l| l.registry.clone()).collect(),
                threshold_permille: permille(DEFAULT_THRESHOLD),
                subjects: screened,
                unnamed_victims: unnamed,
                unavailable,
            }),
        }];
        events.extend(
            flags
                .into_iter()
                .map(|f| Event::WatchListFlagRaised { flag: Box::new(f) }),
        );
        Ok(events)
    }
}

/// Best first; ties by registry and entry id, so the order is stable.
pub(super) fn sort_hits(hits: &mut [ScreeningHit]) {
    hits.sort_by(|a, b| {
        b.score_permille
            .cmp(&a.score_permille)
            .then_with(|| a.registry.cmp(&b.registry))
            .then_with(|| a.entry_id.cmp(&b.entry_id))
    });
}
