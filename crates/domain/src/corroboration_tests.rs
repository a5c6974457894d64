//! Property and example tests of independent-source counting, through the
//! case state machine (`Case::handle` attaches, `Case::independent_sources`
//! counts): a derived report never adds a source, a new origin adds exactly
//! one, and the order reports arrive in does not change the count.

use proptest::prelude::*;

use crate::case::Command;
use crate::case_tests::{Harness, report};
use crate::event::{DerivationBasis, Event, Independence};
use crate::ids::ReportId;
use crate::policy::RuleId;
use crate::report::ThreatReport;
use crate::text::{ElementName, Narrative, Origin};

/// Words the generated narratives are made of; "fresh" words (never in
/// this list) make a narrative that shares nothing with the others.
const VOCAB: &[&str] = &[
    "source",
    "reports",
    "attack",
    "crowd",
    "memorial",
    "ceremony",
    "cemetery",
    "vests",
    "coats",
    "road",
    "city",
    "centre",
    "pilgrims",
    "checkpoint",
    "cell",
    "leader",
    "devices",
    "car",
    "december",
    "afternoon",
    "venue",
    "concert",
    "rifles",
    "audience",
    "rooms",
    "channel",
    "consulate",
    "journalist",
    "jets",
    "team",
    "hospital",
    "network",
    "backup",
    "weekend",
    "synagogue",
    "service",
    "camera",
    "pupil",
    "cafeteria",
    "friday",
    "brothers",
    "bombs",
    "finish",
    "line",
    "truck",
    "market",
    "lorry",
    "harbour",
    "evening",
    "border",
];

fn rid(n: u64) -> ReportId {
    ReportId::from_uuid(uuid::Uuid::from_u128(1000 + u128::from(n)))
}

/// A generated report: a narrative of `words` indices into VOCAB and an
/// optional origin out of a few.
#[derive(Clone, Debug)]
struct Spec {
    words: Vec<usize>,
    origin: Option<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(0..VOCAB.len(), 6..30),
        prop::option::of(0u8..4),
    )
        .prop_map(|(words, origin)| Spec { words, origin })
}

/// A few generated reports, some of them mutated copies of earlier ones so
/// that text links (and chains of them) occur.
fn specs() -> impl Strategy<Value = Vec<Spec>> {
    (
        prop::collection::vec(spec(), 2..7),
        prop::collection::vec(
            (any::<prop::sample::Index>(), 0usize..30, 0..VOCAB.len()),
            0..4,
        ),
    )
        .prop_map(|(mut v, copies)| {
            for (from, at, word) in copies {
                let mut c = v[from.index(v.len())].clone();
                let i = at % c.words.len();
                c.words[i] = word;
                c.origin = None;
                v.push(c);
            }
            v
        })
}

fn to_report(s: &Spec, n: usize) -> ThreatReport {
    let text: Vec<&str> = s.words.iter().map(|i| VOCAB[*i]).collect();
    let mut r = report(&text.join(" "), "B2", None);
    r.originating_element = ElementName::new(format!("Element {n}")).unwrap();
    r.origin = s
        .origin
        .map(|o| Origin::new(format!("Publication {o}, 2024-01-0{o}")).unwrap());
    r
}

fn attach(h: &mut Harness, id: ReportId, r: ThreatReport) -> Independence {
    let evs = h.ok(
        "collector.c",
        Command::AttachReport {
            report_id: id,
            report: Box::new(r),
        },
    );
    match &evs[0] {
        Event::ReportAttached { independence, .. } => independence.clone(),
        e => panic!("{e:?}"),
    }
}

/// The case built from `specs` in the given order.
fn case_of(specs: &[Spec], order: &[usize]) -> Harness {
    let mut h = Harness::open(
        to_report(&specs[order[0]], order[0]),
        "2024-01-01T01:00:00Z",
    );
    for &i in &order[1..] {
        attach(&mut h, rid(i as u64), to_report(&specs[i], i));
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_count_does_not_depend_on_the_order_of_reports(
        specs in specs(),
        shuffle in any::<prop::sample::Index>(),
    ) {
        let forward: Vec<usize> = (0..specs.len()).collect();
        let mut other = forward.clone();
        // A deterministic permutation from the index: rotate, then reverse.
        other.rotate_left(shuffle.index(specs.len()));
        other.reverse();
        let a = case_of(&specs, &forward).case.independent_sources();
        let b = case_of(&specs, &other).case.independent_sources();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn a_derived_report_never_adds_a_source(
        specs in specs(),
        pick in any::<prop::sample::Index>(),
        how in 0u8..3,
    ) {
        let order: Vec<usize> = (0..specs.len()).collect();
        let mut h = case_of(&specs, &order);
        let before = h.case.independent_sources();
        let k = pick.index(specs.len());
        let earlier = h.case.reports[k].id;
        let mut r = to_report(&specs[k], 99);
        match how {
            // Declared.
            0 => {
                r.narrative = Narrative::new("Unrelated words entirely: zebra quartz".to_owned()).unwrap();
                r.origin = None;
                r.derived_from = Some(earlier);
            }
            // Forwarded with a header.
            1 => {
                r.narrative = Narrative::new(format!("FWD: partner\nFrom: desk\n{}", r.narrative)).unwrap();
                r.origin = None;
            }
            // Same origin, different words.
            _ => {
                r.narrative = Narrative::new("Unrelated words entirely: zebra quartz".to_owned()).unwrap();
                r.origin = Some(Origin::new("Publication X").unwrap());
                let mut first = to_report(&specs[k], 98);
                first.origin = Some(Origin::new("publication  x").unwrap());
                first.narrative = Narrative::new("Other unrelated words: yak umber".to_owned()).unwrap();
                attach(&mut h, rid(98), first);
            }
        }
        let mid = h.case.independent_sources();
        let ind = attach(&mut h, rid(99), r);
        let is_derived = matches!(ind, Independence::Derived { .. });
        prop_assert!(is_derived, "{:?}", ind);
        prop_assert!(h.case.independent_sources() <= mid);
        prop_assert!(mid <= before + 1);
    }

    #[test]
    fn a_new_origin_adds_exactly_one_source(specs in specs()) {
        let order: Vec<usize> = (0..specs.len()).collect();
        let mut h = case_of(&specs, &order);
        let before = h.case.independent_sources();
        let mut r = to_report(&specs[0], 99);
        r.narrative = Narrative::new("An informant in the port saw crates of detonators unloaded at night.".to_owned()).unwrap();
        r.origin = Some(Origin::new("A first-hand informant never named before").unwrap());
        let ind = attach(&mut h, rid(99), r);
        prop_assert_eq!(ind, Independence::Independent);
        prop_assert_eq!(h.case.independent_sources(), before + 1);
    }
}

#[test]
fn origins_compare_without_case_punctuation_or_spacing() {
    let a = Origin::new("Wall Street Journal, 2024-01-05").unwrap();
    let b = Origin::new("wall street journal 2024 01 05").unwrap();
    assert_eq!(a.key(), b.key());
    assert_ne!(
        a.key(),
        Origin::new("Wall Street Journal, 2024-01-06")
            .unwrap()
            .key()
    );
}

#[test]
fn three_forwards_of_one_informant_are_one_source_in_the_rule_trace() {
    let mut first = report(
        "An informant says the journalist will be seized at the consulate on Tuesday.",
        "B2",
        None,
    );
    first.origin = Some(Origin::new("Informant K-7").unwrap());
    let mut h = Harness::open(first, "2024-01-01T01:00:00Z");
    for (n, text) in [
        (
            1,
            "Per our partner service: a kidnapping is planned at the consulate this week.",
        ),
        (
            2,
            "A liaison contact relays that a team intends to take a reporter by force.",
        ),
    ] {
        let mut r = report(text, "B2", None);
        r.originating_element = ElementName::new(format!("Element {n}")).unwrap();
        r.origin = Some(Origin::new("informant k-7").unwrap());
        let ind = attach(&mut h, rid(n), r);
        assert!(
            matches!(
                &ind,
                Independence::Derived {
                    basis: DerivationBasis::SameOrigin { .. },
                    ..
                }
            ),
            "{ind:?}"
        );
    }
    assert_eq!(h.case.independent_sources(), 1);
    let evs = h.ok("analyst.a", Command::Determine { note: None });
    let Event::DeterminationMade { determination, .. } = &evs[0] else {
        panic!("{evs:?}")
    };
    let credible = determination
        .trace
        .iter()
        .find(|r| r.rule == RuleId::Credible)
        .unwrap();
    let inputs: Vec<(&str, &str)> = credible
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.value.as_str()))
        .collect();
    assert!(inputs.contains(&("independent_sources", "1")), "{inputs:?}");
    let sources = inputs.iter().find(|(n, _)| *n == "sources").unwrap().1;
    assert!(
        sources.starts_with("source 1: reports 1, 2, 3 ("),
        "{sources}"
    );
    assert!(
        sources.contains("report 2 repeats report 1: same origin \"Informant K-7\""),
        "{sources}"
    );
    assert!(sources.contains("report 3 repeats report 1"), "{sources}");
}

#[test]
fn a_light_paraphrase_is_derived_where_jaccard_missed_it() {
    let original = "A source with direct access to the cell reports that two members plan to attack the crowd at the memorial ceremony at the cemetery on 3 January. The attackers intend to wear explosive vests under winter coats and to approach along the road from the city centre, where pilgrims queue before the security checkpoint.";
    let light = "A source with direct access to the cell says that two of its members intend to attack the crowd at the memorial ceremony at the cemetery on 3 January. They plan to wear explosive vests beneath their winter coats and to come along the road from the centre of the city, where pilgrims wait in line before the security checkpoint.";
    let mut h = Harness::open(report(original, "B2", None), "2024-01-01T01:00:00Z");
    let mut r = report(light, "B2", None);
    r.originating_element = ElementName::new("Element B").unwrap();
    let ind = attach(&mut h, rid(1), r);
    assert!(
        matches!(
            &ind,
            Independence::Derived {
                basis: DerivationBasis::SharedText { .. },
                ..
            }
        ),
        "{ind:?}"
    );
    assert_eq!(h.case.independent_sources(), 1);
}

#[test]
fn an_old_ledgers_independence_reads_and_counts_as_before() {
    // As recorded before `also`, `shared_text` and origins existed.
    let a: Independence = serde_json::from_str(r#"{"kind":"independent"}"#).unwrap();
    let b: Independence = serde_json::from_str(&format!(
        r#"{{"kind":"derived","of":"{}","basis":{{"kind":"similar_text","similarity_percent":62}}}}"#,
        rid(0)
    ))
    .unwrap();
    let c: Independence = serde_json::from_str(&format!(
        r#"{{"kind":"derived","of":"{}","basis":{{"kind":"declared"}}}}"#,
        rid(1)
    ))
    .unwrap();
    assert!(matches!(&b, Independence::Derived { also, .. } if also.is_empty()));
    // Re-serialised, an old value is byte-for-byte what was recorded.
    assert_eq!(
        serde_json::to_string(&b).unwrap(),
        format!(
            r#"{{"kind":"derived","of":"{}","basis":{{"kind":"similar_text","similarity_percent":62}}}}"#,
            rid(0)
        )
    );
    let d = Independence::Independent;
    let recorded: Vec<crate::corroboration::Recorded<'_>> = [(0, &a), (1, &b), (2, &c), (3, &d)]
        .into_iter()
        .map(|(n, i)| crate::corroboration::Recorded {
            id: rid(n),
            origin: None,
            independence: i,
        })
        .collect();
    let sources = crate::corroboration::sources(&recorded);
    // The old count: reports recorded as independent.
    assert_eq!(sources.len(), 2);
    assert_eq!(sources[0].reports, [1, 2, 3]);
    assert_eq!(sources[1].reports, [4]);
}
