//! An approved warning as an OASIS CAP 1.2 alert.
//!
//! The alert is `status` Actual, `msgType` Alert, `scope` Private (with
//! `addresses` naming the recipients) or Restricted (with `restriction`),
//! one `info` in the warning's language with `category` Security, the
//! exact approved text as `description`, the warning version and SHA-256
//! as `parameter`s, `onset`/`expires` from the threat window and an `area`
//! from the location.
//!
//! ## How the assessment maps to CAP
//!
//! * **urgency** ([`urgency`]), from the threat window and the time sent:
//!   no window → Unknown; the window has ended → Past; it is open or opens
//!   within 72 hours → Immediate; within 30 days → Expected; later → Future.
//! * **severity** ([`severity`]), from the harm and the target: intentional
//!   killing of a group, an organisation, a place or a gathering (a mass
//!   casualty threat) → Extreme; intentional killing of one person,
//!   kidnapping or serious bodily injury → Severe; any other harm → Moderate.
//! * **certainty** ([`certainty`]), from the information credibility of the
//!   Admiralty grade: 1 confirmed or 2 probably true → Likely (p > ~50 %);
//!   3 possibly true → Possible; 4 doubtful or 5 improbable → Unlikely;
//!   6 cannot be judged → Unknown. (Observed is never used: a plot has not
//!   "occurred".)
//!
//! Times are written as CAP requires: `YYYY-MM-DDThh:mm:ss±hh:mm`, whole
//! seconds, UTC as `-00:00`. Text is escaped (`&`, `<`, `>`, and carriage
//! returns as `&#13;` so that an XML parser gives back the exact bytes).

use std::fmt;

use jiff::tz::TimeZone;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use tocsin_domain::Timestamp;
use tocsin_domain::delivery::{LanguageTag, Party};
use tocsin_domain::geo::Location;
use tocsin_domain::grading::InformationCredibility;
use tocsin_domain::report::{HarmType, HarmTypes, TargetKind};
use tocsin_domain::text::{Name, Note};
use tocsin_domain::time::{ThreatWindow, TimeZoneName};

use crate::{ApprovedWarning, ExportError};

/// The CAP 1.2 namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// `parameter` name carrying the warning version.
pub const PARAM_VERSION: &str = "tocsin:warning-version";
/// The number of the warning within its case (only for W2 and after).
pub const PARAM_WARNING: &str = "tocsin:warning";
/// `parameter` name carrying the SHA-256 of the warning text.
pub const PARAM_SHA256: &str = "tocsin:warning-sha256";

/// A CAP `identifier` or `sender`: non-empty, no whitespace, commas, `<` or `&`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CapId(String);

impl CapId {
    pub fn new(s: impl Into<String>) -> Result<Self, ExportError> {
        let s: String = s.into();
        let bad = s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&'));
        if bad {
            Err(ExportError::CapId(s))
        } else {
            Ok(Self(s))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CapId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of CAP `addresses`: an identifier or address of a recipient.
/// One with spaces is written in double quotes, so it may not contain one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CapAddress(String);

impl CapAddress {
    pub fn new(s: impl Into<String>) -> Result<Self, ExportError> {
        let s: String = s.into();
        if s.trim().is_empty() || s.contains('"') || s.chars().any(char::is_control) {
            Err(ExportError::CapAddress(s))
        } else {
            Ok(Self(s.trim().to_owned()))
        }
    }
    /// The recipient of a route, by name.
    pub fn for_party(p: &Party) -> Result<Self, ExportError> {
        Self::new(p.name.as_str())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    fn render(&self) -> String {
        if self.0.contains(char::is_whitespace) {
            format!("\"{}\"", self.0)
        } else {
            self.0.clone()
        }
    }
}

/// Who may see the alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// For the named recipients only.
    Private { addresses: Vec<CapAddress> },
    /// For those the rule allows.
    Restricted { restriction: Note },
}

/// CAP `urgency`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    Immediate,
    Expected,
    Future,
    Past,
    Unknown,
}

/// CAP `severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Extreme,
    Severe,
    Moderate,
    Minor,
    Unknown,
}

/// CAP `certainty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    Observed,
    Likely,
    Possible,
    Unlikely,
    Unknown,
}

macro_rules! as_str {
    ($t:ty { $($v:ident),* }) => {
        impl $t {
            /// The CAP value.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => stringify!($v)),* }
            }
        }
    };
}
as_str!(Urgency {
    Immediate,
    Expected,
    Future,
    Past,
    Unknown
});
as_str!(Severity {
    Extreme,
    Severe,
    Moderate,
    Minor,
    Unknown
});
as_str!(Certainty {
    Observed,
    Likely,
    Possible,
    Unlikely,
    Unknown
});

/// Urgency from the window and the time sent (see the module documentation).
pub fn urgency(sent: Timestamp, window: Option<&ThreatWindow>) -> Urgency {
    let Some(w) = window else {
        return Urgency::Unknown;
    };
    if w.not_after() <= sent {
        return Urgency::Past;
    }
    let until = w.not_before().duration_since(sent).as_secs();
    if until <= 72 * 3600 {
        Urgency::Immediate
    } else if until <= 30 * 86400 {
        Urgency::Expected
    } else {
        Urgency::Future
    }
}

/// Severity from the harm and the target kind (see the module documentation).
pub fn severity(harm: &HarmTypes, target: TargetKind) -> Severity {
    let s = harm.set();
    if s.contains(&HarmType::IntentionalKilling) {
        if target == TargetKind::Person {
            Severity::Severe
        } else {
            Severity::Extreme
        }
    } else if s.contains(&HarmType::Kidnapping) || s.contains(&HarmType::SeriousBodilyInjury) {
        Severity::Severe
    } else {
        Severity::Moderate
    }
}

/// Certainty from the information credibility (see the module documentation).
pub fn certainty(c: InformationCredibility) -> Certainty {
    match c {
        InformationCredibility::Confirmed | InformationCredibility::ProbablyTrue => {
            Certainty::Likely
        }
        InformationCredibility::PossiblyTrue => Certainty::Possible,
        InformationCredibility::Doubtful | InformationCredibility::Improbable => {
            Certainty::Unlikely
        }
        InformationCredibility::CannotBeJudged => Certainty::Unknown,
    }
}

/// The assessment the CAP values are derived from.
#[derive(Clone, Copy, Debug)]
pub struct Assessment<'a> {
    pub harm_types: &'a HarmTypes,
    pub target_kind: TargetKind,
    pub credibility: InformationCredibility,
    pub window: Option<&'a ThreatWindow>,
}

/// Everything a CAP alert says. Every value is an argument: no clock.
#[derive(Clone, Debug)]
pub struct Alert<'a> {
    pub identifier: &'a CapId,
    pub sender: &'a CapId,
    pub sent: Timestamp,
    /// The offset `sent` is written with (the recipient's time zone).
    pub sent_time_zone: &'a TimeZoneName,
    pub scope: Scope,
    pub warning: &'a ApprovedWarning,
    pub language: &'a LanguageTag,
    /// The CAP `event`: what kind of threat ("Terrorist threat to life").
    pub event: &'a Name,
    pub sender_name: Option<&'a Name>,
    pub headline: Option<&'a Name>,
    pub assessment: Assessment<'a>,
    pub location: Option<&'a Location>,
}

/// A CAP date-time: whole seconds, numeric offset, UTC as `-00:00`.
pub fn cap_time(ts: Timestamp, tz: TimeZone) -> String {
    let s = ts.to_zoned(tz).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    match s.strip_suffix("+00:00") {
        Some(base) => format!("{base}-00:00"),
        None => s,
    }
}

/// Escapes text content; refuses characters XML 1.0 cannot carry.
fn text(field: &'static str, s: &str) -> Result<String, ExportError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let ok = matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}';
        if !ok {
            return Err(ExportError::NotXml {
                field,
                code: c as u32,
            });
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    Ok(out)
}

type W = Writer<Vec<u8>>;

fn el(w: &mut W, name: &str, field: &'static str, value: &str) -> Result<(), ExportError> {
    let escaped = text(field, value)?;
    w.create_element(name)
        .write_text_content(BytesText::from_escaped(escaped))
        .map_err(|e| ExportError::Xml(e.to_string()))?;
    Ok(())
}

fn io(e: std::io::Error) -> ExportError {
    ExportError::Xml(e.to_string())
}

/// The alert as a CAP 1.2 XML document (UTF-8, indented by two spaces).
pub fn alert(a: &Alert<'_>) -> Result<String, ExportError> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(io)?;
    let result: Result<(), ExportError> = (|| {
        let mut err = None;
        w.create_element("alert")
            .with_attribute(("xmlns", NAMESPACE))
            .write_inner_content(|w| {
                if let Err(e) = body(w, a) {
                    err = Some(e);
                }
                Ok(())
            })
            .map_err(io)?;
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    })();
    result?;
    let mut out = String::from_utf8(w.into_inner()).map_err(|e| ExportError::Xml(e.to_string()))?;
    out.push('\n');
    Ok(out)
}

fn body(w: &mut W, a: &Alert<'_>) -> Result<(), ExportError> {
    el(w, "identifier", "identifier", a.identifier.as_str())?;
    el(w, "sender", "sender", a.sender.as_str())?;
    el(
        w,
        "sent",
        "sent",
        &cap_time(a.sent, a.sent_time_zone.zone()),
    )?;
    el(w, "status", "status", "Actual")?;
    el(w, "msgType", "msgType", "Alert")?;
    match &a.scope {
        Scope::Private { addresses } => {
            if addresses.is_empty() {
                return Err(ExportError::NoAddresses);
            }
            el(w, "scope", "scope", "Private")?;
            let list: Vec<String> = addresses.iter().map(CapAddress::render).collect();
            el(w, "addresses", "addresses", &list.join(" "))?;
        }
        Scope::Restricted { restriction } => {
            el(w, "scope", "scope", "Restricted")?;
            el(w, "restriction", "restriction", restriction.as_str())?;
        }
    }
    let mut err = None;
    w.create_element("info")
        .write_inner_content(|w| {
            if let Err(e) = info(w, a) {
                err = Some(e);
            }
            Ok(())
        })
        .map_err(io)?;
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn info(w: &mut W, a: &Alert<'_>) -> Result<(), ExportError> {
    let s = &a.assessment;
    el(w, "language", "language", a.language.as_str())?;
    el(w, "category", "category", "Security")?;
    el(w, "event", "event", a.event.as_str())?;
    el(w, "urgency", "urgency", urgency(a.sent, s.window).as_str())?;
    el(
        w,
        "severity",
        "severity",
        severity(s.harm_types, s.target_kind).as_str(),
    )?;
    el(
        w,
        "certainty",
        "certainty",
        certainty(s.credibility).as_str(),
    )?;
    if let Some(win) = s.window {
        let tz = win.time_zone().zone();
        el(w, "onset", "onset", &cap_time(win.not_before(), tz.clone()))?;
        el(w, "expires", "expires", &cap_time(win.not_after(), tz))?;
    }
    if let Some(n) = a.sender_name {
        el(w, "senderName", "senderName", n.as_str())?;
    }
    if let Some(h) = a.headline {
        el(w, "headline", "headline", h.as_str())?;
    }
    el(w, "description", "description", a.warning.text().as_str())?;
    let number = a.warning.warning();
    let warning = (!number.is_first()).then(|| (PARAM_WARNING, number.get().to_string()));
    for (name, value) in warning.into_iter().chain([
        (PARAM_VERSION, a.warning.version().to_string()),
        (PARAM_SHA256, a.warning.sha256().to_owned()),
    ]) {
        w.create_element("parameter")
            .write_inner_content(|w| {
                w.create_element("valueName")
                    .write_text_content(BytesText::new(name))?;
                w.create_element("value")
                    .write_text_content(BytesText::new(&value))?;
                Ok(())
            })
            .map_err(io)?;
    }
    if let Some(l) = a.location {
        let mut desc = vec![l.description.to_string()];
        if let Some(loc) = &l.locality {
            desc.push(loc.to_string());
        }
        desc.push(l.country.name().to_owned());
        let desc = text("areaDesc", &desc.join(", "))?;
        let circle = l.point.map(|p| {
            format!(
                "{},{} {}",
                p.latitude(),
                p.longitude(),
                p.radius_km().unwrap_or(0.0)
            )
        });
        w.create_element("area")
            .write_inner_content(|w| {
                w.create_element("areaDesc")
                    .write_text_content(BytesText::from_escaped(desc.as_str()))?;
                if let Some(c) = &circle {
                    w.create_element("circle")
                        .write_text_content(BytesText::new(c))?;
                }
                Ok(())
            })
            .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::time::TimeZoneName;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn window(a: &str, b: &str) -> ThreatWindow {
        ThreatWindow::new(ts(a), ts(b), TimeZoneName::utc()).unwrap()
    }

    #[test]
    fn urgency_mapping() {
        let w = window("2024-01-10T00:00:00Z", "2024-01-11T00:00:00Z");
        assert_eq!(urgency(ts("2024-01-01T00:00:00Z"), None), Urgency::Unknown);
        assert_eq!(
            urgency(ts("2024-01-10T12:00:00Z"), Some(&w)),
            Urgency::Immediate
        );
        assert_eq!(
            urgency(ts("2024-01-07T00:00:00Z"), Some(&w)),
            Urgency::Immediate
        );
        assert_eq!(
            urgency(ts("2024-01-06T23:59:59Z"), Some(&w)),
            Urgency::Expected
        );
        assert_eq!(
            urgency(ts("2023-12-11T00:00:00Z"), Some(&w)),
            Urgency::Expected
        );
        assert_eq!(
            urgency(ts("2023-12-10T23:00:00Z"), Some(&w)),
            Urgency::Future
        );
        assert_eq!(urgency(ts("2024-01-11T00:00:00Z"), Some(&w)), Urgency::Past);
    }

    #[test]
    fn severity_and_certainty_mapping() {
        let kill = HarmTypes::new([HarmType::IntentionalKilling]).unwrap();
        let kidnap = HarmTypes::new([HarmType::Kidnapping]).unwrap();
        let property = HarmTypes::new([HarmType::PropertyDamage]).unwrap();
        assert_eq!(severity(&kill, TargetKind::Gathering), Severity::Extreme);
        assert_eq!(severity(&kill, TargetKind::Group), Severity::Extreme);
        assert_eq!(severity(&kill, TargetKind::Person), Severity::Severe);
        assert_eq!(severity(&kidnap, TargetKind::Person), Severity::Severe);
        assert_eq!(severity(&property, TargetKind::Place), Severity::Moderate);
        use InformationCredibility as C;
        let got: Vec<Certainty> = [
            C::Confirmed,
            C::ProbablyTrue,
            C::PossiblyTrue,
            C::Doubtful,
            C::Improbable,
            C::CannotBeJudged,
        ]
        .into_iter()
        .map(certainty)
        .collect();
        assert_eq!(
            got,
            vec![
                Certainty::Likely,
                Certainty::Likely,
                Certainty::Possible,
                Certainty::Unlikely,
                Certainty::Unlikely,
                Certainty::Unknown
            ]
        );
    }

    #[test]
    fn cap_times() {
        let t = ts("2024-03-07T08:15:00.123Z");
        assert_eq!(
            cap_time(t, TimeZoneName::new("Europe/Moscow").unwrap().zone()),
            "2024-03-07T11:15:00+03:00"
        );
        assert_eq!(cap_time(t, TimeZone::UTC), "2024-03-07T08:15:00-00:00");
        assert_eq!(
            cap_time(t, TimeZoneName::new("Asia/Tehran").unwrap().zone()),
            "2024-03-07T11:45:00+03:30"
        );
    }

    #[test]
    fn ids_addresses_and_escaping() {
        assert!(CapId::new("tocsin-01J").is_ok());
        for bad in ["", "a b", "a,b", "a<b", "a&b"] {
            assert!(CapId::new(bad).is_err(), "{bad}");
        }
        assert_eq!(CapAddress::new("FSB").unwrap().render(), "FSB");
        assert_eq!(
            CapAddress::new("Federal Security Service")
                .unwrap()
                .render(),
            "\"Federal Security Service\""
        );
        assert!(CapAddress::new("a \"b\"").is_err());
        assert_eq!(
            text("d", "a & b < c > d\r\n").unwrap(),
            "a &amp; b &lt; c &gt; d&#13;\n"
        );
        assert!(matches!(
            text("d", "bad \u{FFFE}"),
            Err(ExportError::NotXml { code: 0xFFFE, .. })
        ));
    }
}
