//! The Kerman and Crocus exports against hand-checked golden files, parsed
//! back by an independent CAP implementation (the `oasiscap` crate) and
//! checked against the content model of the CAP 1.2 XML schema.
//!
//! To regenerate the golden files after a deliberate change, run with
//! `TOCSIN_UPDATE_GOLDEN=1` and check the diff by hand before committing.

use std::path::PathBuf;

use quick_xml::Reader;
use quick_xml::events::Event;
use tocsin_domain::Timestamp;
use tocsin_domain::delivery::{LanguageTag, Party, PartyKind, WarningText};
use tocsin_domain::geo::{GeoPoint, Location};
use tocsin_domain::grading::InformationCredibility;
use tocsin_domain::report::{HarmType, HarmTypes, TargetKind};
use tocsin_domain::text::{Name, Note};
use tocsin_domain::time::{ThreatWindow, TimeZoneName};
use tocsin_export::cap::{self, Alert, Assessment, CapAddress, CapId, Scope};
use tocsin_export::{ApprovedWarning, Letter, letter, text_of};

/// The Kerman scenario's approved warning (crates/tocsin/src/scenarios.rs).
const KERMAN_WARNING: &str = "The United States has information indicating that there is a terrorist threat \
within Iran's borders: a plan to carry out bombings against the crowds attending the commemoration at the \
Kerman Martyrs' Cemetery on or around 3 January 2024. We urge the relevant authorities to increase security \
at the cemetery and its approaches and to screen attendees.";

/// The Crocus scenario's approved warning.
const CROCUS_WARNING: &str = "The United States has information that extremists have imminent plans to \
target large gatherings in Moscow, to include concerts, including at the Crocus City Hall venue, possibly \
within the next 48 hours. We share this under our duty to warn so that you can take protective measures.";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}
fn tz(s: &str) -> TimeZoneName {
    TimeZoneName::new(s).unwrap()
}
fn party(n: &str, kind: PartyKind, c: &str) -> Party {
    Party {
        name: name(n),
        kind,
        country: Some(c.parse().unwrap()),
    }
}
fn approved(text: &str) -> ApprovedWarning {
    let t = WarningText::new(text).unwrap();
    let sha = t.sha256();
    ApprovedWarning::new(t, 1, &sha).unwrap()
}

struct Scenario {
    name: &'static str,
    sender: Party,
    via: Vec<Party>,
    recipient: Party,
    sent: Timestamp,
    recipient_tz: TimeZoneName,
    warning: ApprovedWarning,
    scope: Scope,
    harm: HarmTypes,
    target: TargetKind,
    credibility: InformationCredibility,
    window: ThreatWindow,
    location: Location,
    event: Name,
    headline: Name,
}

fn kerman() -> Scenario {
    Scenario {
        name: "kerman",
        sender: party("US Department of State", PartyKind::OwnElement, "US"),
        via: vec![party(
            "Embassy of Switzerland in Tehran, Foreign Interests Section",
            PartyKind::ProtectingPower,
            "CH",
        )],
        recipient: party(
            "Government of Iran, Ministry of Intelligence",
            PartyKind::SecurityService,
            "IR",
        ),
        sent: ts("2023-12-28T15:00:00Z"),
        recipient_tz: tz("Asia/Tehran"),
        warning: approved(KERMAN_WARNING),
        scope: Scope::Restricted {
            restriction: Note::new(
                "For the security services of the government of Iran, passed through the protecting power (Switzerland). Not for public release.",
            )
            .unwrap(),
        },
        harm: HarmTypes::new([HarmType::IntentionalKilling, HarmType::SeriousBodilyInjury])
            .unwrap(),
        target: TargetKind::Gathering,
        credibility: InformationCredibility::ProbablyTrue,
        window: ThreatWindow::new(
            ts("2024-01-03T00:00:00+03:30"),
            ts("2024-01-04T00:00:00+03:30"),
            tz("Asia/Tehran"),
        )
        .unwrap(),
        location: Location {
            description: name("Kerman Martyrs' Cemetery, Soleimani memorial"),
            country: "IR".parse().unwrap(),
            locality: Some(name("Kerman")),
            point: Some(GeoPoint::new(30.2839, 57.0834, Some(2.0)).unwrap()),
        },
        event: name("Terrorist threat to life"),
        headline: name("Terrorist threat to the commemoration in Kerman"),
    }
}

fn crocus() -> Scenario {
    let fsb = party(
        "Federal Security Service (FSB)",
        PartyKind::SecurityService,
        "RU",
    );
    Scenario {
        name: "crocus",
        sender: party("CIA Moscow Station", PartyKind::OwnElement, "US"),
        via: vec![],
        scope: Scope::Private {
            addresses: vec![CapAddress::for_party(&fsb).unwrap()],
        },
        recipient: fsb,
        sent: ts("2024-03-07T11:15:00+03:00"),
        recipient_tz: tz("Europe/Moscow"),
        warning: approved(CROCUS_WARNING),
        harm: HarmTypes::new([HarmType::IntentionalKilling]).unwrap(),
        target: TargetKind::Place,
        credibility: InformationCredibility::ProbablyTrue,
        window: ThreatWindow::new(
            ts("2024-03-07T00:00:00+03:00"),
            ts("2024-03-09T00:00:00+03:00"),
            tz("Europe/Moscow"),
        )
        .unwrap(),
        location: Location {
            description: name("Crocus City Hall concert venue"),
            country: "RU".parse().unwrap(),
            locality: Some(name("Krasnogorsk, Moscow region")),
            point: None,
        },
        event: name("Terrorist threat to life"),
        headline: name("Threat of attacks on large gatherings in Moscow"),
    }
}

fn cap_xml(s: &Scenario) -> String {
    let id = CapId::new(format!("tocsin-{}-warning-1", s.name)).unwrap();
    let sender = CapId::new("duty-to-warn@tocsin.example").unwrap();
    let sender_name = name("United States Government");
    cap::alert(&Alert {
        identifier: &id,
        sender: &sender,
        sent: s.sent,
        sent_time_zone: &s.recipient_tz,
        scope: s.scope.clone(),
        warning: &s.warning,
        language: &LanguageTag::english(),
        event: &s.event,
        sender_name: Some(&sender_name),
        headline: Some(&s.headline),
        assessment: Assessment {
            harm_types: &s.harm,
            target_kind: s.target,
            credibility: s.credibility,
            window: Some(&s.window),
        },
        location: Some(&s.location),
    })
    .unwrap()
}

fn letter_text(s: &Scenario) -> String {
    letter(&Letter {
        sender: &s.sender,
        recipient: &s.recipient,
        via: &s.via,
        date: s.sent,
        time_zone: &s.recipient_tz,
        warning: &s.warning,
    })
}

fn golden(file: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    if std::env::var_os("TOCSIN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with TOCSIN_UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "{file} differs from the golden file");
}

#[test]
fn kerman_matches_the_golden_files() {
    let s = kerman();
    golden("kerman.cap.xml", &cap_xml(&s));
    golden("kerman.letter.txt", &letter_text(&s));
}

#[test]
fn crocus_matches_the_golden_files() {
    let s = crocus();
    golden("crocus.cap.xml", &cap_xml(&s));
    golden("crocus.letter.txt", &letter_text(&s));
}

#[test]
fn letters_carry_the_exact_text_and_its_hash() {
    for s in [kerman(), crocus()] {
        let l = letter_text(&s);
        assert_eq!(text_of(&l), Some(s.warning.text().as_str()));
        assert!(l.contains(s.warning.sha256()));
    }
    let k = letter_text(&kerman());
    assert!(
        k.contains("Date:    28 December 2023, 18:30 (UTC+03:30), Asia/Tehran"),
        "{k}"
    );
    assert!(k.contains(
        "Via:     Embassy of Switzerland in Tehran, Foreign Interests Section, Switzerland"
    ));
    let c = letter_text(&crocus());
    assert!(
        c.contains("Date:    7 March 2024, 11:15 (UTC+03:00), Europe/Moscow"),
        "{c}"
    );
}

/// Parsed back by `oasiscap`, every field is what we meant.
#[test]
fn an_independent_parser_reads_them_back() {
    use oasiscap::v1dot2::{
        Category, Certainty, MessageType, Scope as S, Severity, Status, Urgency,
    };
    for (s, scope, urgency) in [
        (kerman(), S::Restricted, Urgency::Expected),
        (crocus(), S::Private, Urgency::Immediate),
    ] {
        let xml = cap_xml(&s);
        let alert: oasiscap::Alert = xml
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}\n{xml}", s.name));
        let oasiscap::Alert::V1dot2(a) = alert else {
            panic!("{}: not read as CAP 1.2", s.name)
        };
        assert_eq!(
            a.identifier.as_ref() as &str,
            format!("tocsin-{}-warning-1", s.name)
        );
        assert_eq!(a.status, Status::Actual);
        assert_eq!(a.message_type, MessageType::Alert);
        assert_eq!(a.scope, scope);
        assert_eq!(a.info.len(), 1);
        let info = &a.info[0];
        assert_eq!(info.categories, vec![Category::Security]);
        assert_eq!(info.urgency, urgency);
        assert_eq!(info.severity, Severity::Extreme);
        assert_eq!(info.certainty, Certainty::Likely);
        assert_eq!(info.description.as_deref(), Some(s.warning.text().as_str()));
        assert_eq!(
            info.parameters.get(cap::PARAM_SHA256),
            Some(s.warning.sha256())
        );
        assert_eq!(info.parameters.get(cap::PARAM_VERSION), Some("1"));
        assert_eq!(
            info.expires.as_ref().unwrap().to_string(),
            cap::cap_time(s.window.not_after(), s.window.time_zone().zone())
        );
        assert_eq!(
            a.sent.to_string(),
            cap::cap_time(s.sent, s.recipient_tz.zone())
        );
        assert_eq!(info.areas.len(), 1);
        match &s.scope {
            Scope::Private { .. } => {
                let addrs: Vec<String> = a
                    .addresses
                    .as_ref()
                    .unwrap()
                    .iter()
                    .map(|i| i.to_string())
                    .collect();
                assert_eq!(addrs, vec![s.recipient.name.to_string()]);
                assert!(info.areas[0].circles.is_empty());
            }
            Scope::Restricted { restriction } => {
                assert_eq!(a.restriction.as_deref(), Some(restriction.as_str()));
                assert_eq!(info.areas[0].circles.len(), 1);
                assert_eq!(info.areas[0].circles[0].radius, 2.0);
            }
        }
    }
}

/// Text that needs escaping comes back byte for byte.
#[test]
fn escaping_round_trips_through_the_independent_parser() {
    let mut s = crocus();
    let raw = "Threat to <venue> & \"friends\" 'here'\r\nLine two\n  indented\tend";
    s.warning = approved(raw);
    let xml = cap_xml(&s);
    assert!(xml.contains("&lt;venue&gt; &amp;"), "{xml}");
    let oasiscap::Alert::V1dot2(a) = xml.parse::<oasiscap::Alert>().unwrap() else {
        panic!()
    };
    assert_eq!(a.info[0].description.as_deref(), Some(raw));
}

// The content model of the CAP 1.2 schema (CAP-v1.2.xsd): each element's
// children in schema order, with (name, min, max); max 0 = unbounded.
const ALERT: &[(&str, usize, usize)] = &[
    ("identifier", 1, 1),
    ("sender", 1, 1),
    ("sent", 1, 1),
    ("status", 1, 1),
    ("msgType", 1, 1),
    ("source", 0, 1),
    ("scope", 1, 1),
    ("restriction", 0, 1),
    ("addresses", 0, 1),
    ("code", 0, 0),
    ("note", 0, 1),
    ("references", 0, 1),
    ("incidents", 0, 1),
    ("info", 0, 0),
];
const INFO: &[(&str, usize, usize)] = &[
    ("language", 0, 1),
    ("category", 1, 0),
    ("event", 1, 1),
    ("responseType", 0, 0),
    ("urgency", 1, 1),
    ("severity", 1, 1),
    ("certainty", 1, 1),
    ("audience", 0, 1),
    ("eventCode", 0, 0),
    ("effective", 0, 1),
    ("onset", 0, 1),
    ("expires", 0, 1),
    ("senderName", 0, 1),
    ("headline", 0, 1),
    ("description", 0, 1),
    ("instruction", 0, 1),
    ("web", 0, 1),
    ("contact", 0, 1),
    ("parameter", 0, 0),
    ("resource", 0, 0),
    ("area", 0, 0),
];
const PARAMETER: &[(&str, usize, usize)] = &[("valueName", 1, 1), ("value", 1, 1)];
const AREA: &[(&str, usize, usize)] = &[
    ("areaDesc", 1, 1),
    ("polygon", 0, 0),
    ("circle", 0, 0),
    ("geocode", 0, 0),
    ("altitude", 0, 1),
    ("ceiling", 0, 1),
];
const ENUMS: &[(&str, &[&str])] = &[
    ("status", &["Actual", "Exercise", "System", "Test", "Draft"]),
    ("msgType", &["Alert", "Update", "Cancel", "Ack", "Error"]),
    ("scope", &["Public", "Restricted", "Private"]),
    (
        "category",
        &[
            "Geo",
            "Met",
            "Safety",
            "Security",
            "Rescue",
            "Fire",
            "Health",
            "Env",
            "Transport",
            "Infra",
            "CBRNE",
            "Other",
        ],
    ),
    (
        "urgency",
        &["Immediate", "Expected", "Future", "Past", "Unknown"],
    ),
    (
        "severity",
        &["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
    ),
    (
        "certainty",
        &["Observed", "Likely", "Possible", "Unlikely", "Unknown"],
    ),
];
const DATE_TIMES: &[&str] = &["sent", "effective", "onset", "expires"];

/// The schema's dateTime pattern: `\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-,+]\d\d:\d\d`.
fn is_cap_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:dd+dd:dd".as_bytes();
    b.len() == shape.len()
        && b.iter().zip(shape).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            b'+' => *c == b'+' || *c == b'-',
            p => c == p,
        })
}

fn check_sequence(parent: &str, children: &[String], model: &[(&str, usize, usize)]) {
    let mut pos = 0;
    for (name, min, max) in model {
        let mut n = 0;
        while pos < children.len() && children[pos] == *name {
            n += 1;
            pos += 1;
        }
        assert!(
            n >= *min,
            "{parent}: {name} needed at least {min} times, found {n}"
        );
        assert!(
            *max == 0 || n <= *max,
            "{parent}: {name} at most {max} times, found {n}"
        );
    }
    assert_eq!(
        pos,
        children.len(),
        "{parent}: '{}' is out of schema order or not allowed; children {children:?}",
        children.get(pos).map(String::as_str).unwrap_or("")
    );
}

/// Walks the document and checks every element against the schema's
/// content model, the enumerations and the dateTime pattern.
fn check_against_schema(xml: &str) {
    let mut r = Reader::from_str(xml);
    let mut stack: Vec<(String, Vec<String>, String)> = Vec::new();
    let mut root_ns = None;
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if stack.is_empty() {
                    assert_eq!(name, "alert");
                    root_ns = e
                        .try_get_attribute("xmlns")
                        .unwrap()
                        .map(|a| String::from_utf8(a.value.to_vec()).unwrap());
                }
                if let Some(top) = stack.last_mut() {
                    top.1.push(name.clone());
                }
                stack.push((name, vec![], String::new()));
            }
            Event::Empty(e) => panic!("empty element {:?}", e.name()),
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(_) => {
                if let Some(top) = stack.last_mut() {
                    top.2.push('&');
                }
            }
            Event::End(_) => {
                let (name, children, text) = stack.pop().unwrap();
                match name.as_str() {
                    "alert" => check_sequence("alert", &children, ALERT),
                    "info" => check_sequence("info", &children, INFO),
                    "parameter" => check_sequence("parameter", &children, PARAMETER),
                    "area" => check_sequence("area", &children, AREA),
                    leaf => {
                        assert!(children.is_empty(), "{leaf} has children");
                        if let Some((_, values)) = ENUMS.iter().find(|(n, _)| *n == leaf) {
                            assert!(values.contains(&text.as_str()), "{leaf}: '{text}'");
                        }
                        if DATE_TIMES.contains(&leaf) {
                            assert!(is_cap_date_time(&text), "{leaf}: '{text}'");
                        }
                        if matches!(leaf, "identifier" | "sender") {
                            assert!(
                                !text.is_empty() && !text.contains([' ', ',', '<', '&']),
                                "{leaf}: '{text}'"
                            );
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    assert_eq!(root_ns.as_deref(), Some(cap::NAMESPACE));
}

#[test]
fn the_alerts_follow_the_schema_content_model() {
    for s in [kerman(), crocus()] {
        check_against_schema(&cap_xml(&s));
    }
}

#[test]
fn the_schema_check_can_fail() {
    let xml = cap_xml(&crocus());
    let swapped = xml.replace(
        "<status>Actual</status>\n  <msgType>Alert</msgType>",
        "<msgType>Alert</msgType>\n  <status>Actual</status>",
    );
    assert_ne!(swapped, xml);
    assert!(std::panic::catch_unwind(|| check_against_schema(&swapped)).is_err());
    let bad_time = xml.replace("+03:00</sent>", "Z</sent>");
    assert!(std::panic::catch_unwind(|| check_against_schema(&bad_time)).is_err());
}
