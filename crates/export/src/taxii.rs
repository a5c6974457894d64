//! TAXII 2.1 (OASIS) as data: the media types, an object's header (id,
//! type, spec version, version), where an object sits in a collection's
//! order ([`Position`]: date added, then a sequence) and the opaque paging
//! cursor that names it, and the query of a `GET objects` (`added_after`,
//! `limit`, `next`, `match[...]`). Pure: the service keeps the collections
//! and decides who sees what.
//!
//! Every parser here reads outside input (a partner's objects, a query
//! string, a cursor it handed back): each refuses with the parameter or
//! property it could not read (fuzz target `taxii_query`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::Value;

/// The TAXII 2.1 media type, on every answer.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The STIX 2.1 media type of a collection's objects.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// A page holds at most this many objects: a larger `limit` is capped.
pub const MAX_PAGE: u32 = 1000;
/// A page without a `limit` holds this many.
pub const DEFAULT_PAGE: u32 = 100;

/// Why a TAXII input was refused: the parameter or property, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct TaxiiError {
    pub field: String,
    pub reason: String,
}

fn err(field: impl Into<String>, reason: impl Into<String>) -> TaxiiError {
    TaxiiError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A TAXII timestamp: RFC 3339 in UTC with microseconds
/// (`2026-12-04T16:00:00.123456Z`).
pub fn timestamp_text(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `t` without what is finer than a microsecond (dates added are kept so,
/// and so compare exactly with their text).
pub fn to_micros(t: Timestamp) -> Timestamp {
    let us = t.as_microsecond();
    Timestamp::from_microsecond(us).unwrap_or(t)
}

/// Where an object sits in its collection's order: the date it was added
/// (microseconds since the epoch), then its sequence in the collection.
/// Many objects may share a date; none share a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub micros: u64,
    pub seq: u64,
}

impl Position {
    /// The position of the `seq`th object added at `date_added`.
    pub fn new(date_added: Timestamp, seq: u64) -> Self {
        Position {
            micros: u64::try_from(date_added.as_microsecond()).unwrap_or(0),
            seq,
        }
    }

    /// The last position an object added at or before `t` can have: the
    /// key after which `added_after=t` (exclusive) starts.
    pub fn after_date(t: Timestamp) -> Self {
        Position {
            micros: u64::try_from(t.as_microsecond()).unwrap_or(0),
            seq: u64::MAX,
        }
    }

    /// The date added.
    pub fn date_added(&self) -> Timestamp {
        i64::try_from(self.micros)
            .ok()
            .and_then(|us| Timestamp::from_microsecond(us).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// A key whose text order is this order (fixed width).
    pub fn key(&self) -> String {
        format!("{:020}.{:020}", self.micros, self.seq)
    }

    /// The position a [`Position::key`] names.
    pub fn from_key(key: &str) -> Option<Position> {
        let (m, s) = key.split_once('.')?;
        if m.len() != 20 || s.len() != 20 {
            return None;
        }
        if !m.bytes().chain(s.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Position {
            micros: m.parse().ok()?,
            seq: s.parse().ok()?,
        })
    }

    /// The opaque `next` cursor that resumes after this position.
    pub fn cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key())
    }

    /// The position a cursor names.
    pub fn from_cursor(cursor: &str) -> Result<Position, TaxiiError> {
        let bad = || err("next", "not a cursor this server handed out");
        if cursor.len() > 64 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        Position::from_key(text).ok_or_else(bad)
    }
}

/// What TAXII needs of a STIX object: its id, type, spec version and
/// version (`modified`, else `created`; neither: the date added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHeader {
    pub id: String,
    pub kind: String,
    pub spec_version: String,
    /// `modified` or `created` as written, when the object has one.
    pub version: Option<Timestamp>,
}

/// Whether `s` is a STIX type name: 3 to 250 of `a-z 0-9 -`, not starting
/// or ending with `-`.
fn is_type_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a STIX identifier (`type--UUID`).
pub fn is_stix_id(s: &str) -> bool {
    match s.split_once("--") {
        Some((t, u)) => is_type_name(t) && uuid::Uuid::try_parse(u).is_ok(),
        None => false,
    }
}

impl ObjectHeader {
    /// The header of `object`, or why it is no STIX object.
    pub fn read(object: &Value) -> Result<ObjectHeader, TaxiiError> {
        let o = object
            .as_object()
            .ok_or_else(|| err("object", "not a JSON object"))?;
        let text = |name: &str| -> Result<Option<&str>, TaxiiError> {
            match o.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(err(name, "not a string")),
            }
        };
        let kind = text("type")?.ok_or_else(|| err("type", "missing"))?;
        if !is_type_name(kind) {
            return Err(err("type", "not a STIX type name"));
        }
        let id = text("id")?.ok_or_else(|| err("id", "missing"))?;
        if !is_stix_id(id) || id.split_once("--").map(|(t, _)| t) != Some(kind) {
            return Err(err("id", format!("not an identifier of type {kind}")));
        }
        let spec_version = text("spec_version")?.unwrap_or("2.1");
        if spec_version != "2.1" && spec_version != "2.0" {
            return Err(err("spec_version", "only STIX 2.1 (or 2.0) is accepted"));
        }
        let time = |name: &str| -> Result<Option<Timestamp>, TaxiiError> {
            text(name)?
                .map(|s| {
                    s.parse::<Timestamp>()
                        .map_err(|_| err(name, "not an RFC 3339 timestamp"))
                })
                .transpose()
        };
        let version = match time("modified")? {
            Some(m) => Some(m),
            None => time("created")?,
        };
        Ok(ObjectHeader {
            id: id.to_owned(),
            kind: kind.to_owned(),
            spec_version: spec_version.to_owned(),
            version,
        })
    }
}

/// Which versions of an object a request wants (`match[version]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Versions {
    pub first: bool,
    pub last: bool,
    pub all: bool,
    pub at: Vec<Timestamp>,
}

/// A `GET objects` (or manifest, object, versions) query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Objects added strictly after this.
    pub added_after: Option<Timestamp>,
    /// At most this many (already capped at [`MAX_PAGE`]).
    pub limit: u32,
    /// Resume after this position.
    pub next: Option<Position>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    /// `None`: the last version.
    pub versions: Option<Versions>,
    pub spec_versions: Vec<String>,
}

/// How many values one `match[...]` may list.
const MAX_VALUES: usize = 100;

impl Query {
    /// Reads a query string's pairs (already percent-decoded). An unknown
    /// parameter is refused, so a filter the server does not apply is
    /// never mistaken for one it does.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Query, TaxiiError> {
        let mut q = Query {
            limit: DEFAULT_PAGE,
            ..Query::default()
        };
        let list = |name: &str, v: &str| -> Result<Vec<String>, TaxiiError> {
            let items: Vec<String> = v.split(',').map(|s| s.trim().to_owned()).collect();
            if items.len() > MAX_VALUES || items.iter().any(|s| s.is_empty() || s.len() > 300) {
                return Err(err(name, "a list of up to 100 non-empty values"));
            }
            Ok(items)
        };
        let time = |name: &str, v: &str| -> Result<Timestamp, TaxiiError> {
            v.parse::<Timestamp>()
                .map_err(|_| err(name, "not an RFC 3339 timestamp"))
        };
        let mut seen = std::collections::BTreeSet::new();
        for (k, v) in pairs {
            if k.is_empty() {
                return Err(err("query", "a parameter without a name"));
            }
            if !seen.insert(k.to_owned()) {
                return Err(err(k, "given twice"));
            }
            match k {
                "added_after" => q.added_after = Some(time(k, v)?),
                "limit" => {
                    let n: u64 = v
                        .parse()
                        .map_err(|_| err(k, "not a positive whole number"))?;
                    if n == 0 {
                        return Err(err(k, "must be at least 1"));
                    }
                    q.limit = u32::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE);
                }
                "next" => q.next = Some(Position::from_cursor(v)?),
                "match[id]" => {
                    q.ids = list(k, v)?;
                    if let Some(bad) = q.ids.iter().find(|i| !is_stix_id(i)) {
                        return Err(err(k, format!("{bad:.80} is not a STIX identifier")));
                    }
                }
                "match[type]" => {
                    q.types = list(k, v)?;
                    if q.types.iter().any(|t| !is_type_name(t)) {
                        return Err(err(k, "not a list of STIX type names"));
                    }
                }
                "match[version]" => {
                    let mut vs = Versions::default();
                    for item in list(k, v)? {
                        match item.as_str() {
                            "first" => vs.first = true,
                            "last" => vs.last = true,
                            "all" => vs.all = true,
                            t => vs.at.push(time(k, t)?),
                        }
                    }
                    q.versions = Some(vs);
                }
                "match[spec_version]" => {
                    q.spec_versions = list(k, v)?;
                    if q.spec_versions.iter().any(|s| s != "2.0" && s != "2.1") {
                        return Err(err(k, "only 2.0 and 2.1"));
                    }
                }
                other => {
                    return Err(err(
                        other.chars().take(80).collect::<String>(),
                        "not a parameter of this endpoint",
                    ));
                }
            }
        }
        Ok(q)
    }

    /// Where a page starts: after `next`, and after `added_after`.
    pub fn start(&self) -> Option<Position> {
        let after = self.added_after.map(Position::after_date);
        match (self.next, after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether an object's header passes the id, type and spec-version
    /// filters (the version filter needs the object's other versions).
    pub fn matches(&self, id: &str, kind: &str, spec_version: &str) -> bool {
        (self.ids.is_empty() || self.ids.iter().any(|i| i == id))
            && (self.types.is_empty() || self.types.iter().any(|t| t == kind))
            && (self.spec_versions.is_empty()
                || self.spec_versions.iter().any(|s| s == spec_version))
    }
}

impl Versions {
    /// The last version only (the default).
    pub fn last() -> Versions {
        Versions {
            last: true,
            ..Versions::default()
        }
    }

    /// Whether `version` is wanted, among `all` the versions of its object
    /// a reader may see (`first` and `last` are read there).
    pub fn wants(&self, version: Timestamp, all: &[Timestamp]) -> bool {
        self.all
            || (self.first && all.iter().min() == Some(&version))
            || (self.last && all.iter().max() == Some(&version))
            || self.at.contains(&version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(q: &[(&str, &str)]) -> Result<Query, TaxiiError> {
        Query::parse(q.iter().copied())
    }

    #[test]
    fn positions_order_as_their_keys_and_cursors_round_trip() {
        let t: Timestamp = "2026-12-04T16:00:00.123456789Z".parse().unwrap();
        let a = Position::new(t, 7);
        let b = Position::new(t, 10);
        let c = Position::new(to_micros(t) + jiff::SignedDuration::from_micros(1), 0);
        assert!(a < b && b < c);
        assert!(a.key() < b.key() && b.key() < c.key());
        assert_eq!(Position::from_cursor(&b.cursor()), Ok(b));
        assert_eq!(a.date_added(), to_micros(t));
        assert_eq!(
            timestamp_text(a.date_added()),
            "2026-12-04T16:00:00.123456Z"
        );
        for bad in ["", "!!", "MDAw", &"A".repeat(100)] {
            assert!(Position::from_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn added_after_is_exclusive() {
        let t: Timestamp = "2026-12-04T16:00:00.000001Z".parse().unwrap();
        let start = Position::after_date(t);
        assert!(Position::new(t, 0) < start && Position::new(t, u64::MAX - 1) < start);
        let later = Position::new(t + jiff::SignedDuration::from_micros(1), 0);
        assert!(later > start);
    }

    #[test]
    fn a_parameter_without_a_name_is_refused_as_such() {
        // Found by the taxii_query fuzz target (`=a"`): the refusal named
        // an empty parameter.
        for pairs in [vec![("", "a\"")], vec![("", "a"), ("", "b")]] {
            let e = Query::parse(pairs).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.reason.as_str()),
                ("query", "a parameter without a name")
            );
        }
    }

    #[test]
    fn limits_zero_is_refused_and_large_is_capped() {
        assert_eq!(parse(&[]).unwrap().limit, DEFAULT_PAGE);
        assert_eq!(parse(&[("limit", "5000")]).unwrap().limit, MAX_PAGE);
        assert_eq!(
            parse(&[("limit", "99999999999999999")]).unwrap().limit,
            MAX_PAGE
        );
        assert_eq!(parse(&[("limit", "0")]).unwrap_err().field, "limit");
        assert_eq!(parse(&[("limit", "-1")]).unwrap_err().field, "limit");
        assert_eq!(parse(&[("colour", "red")]).unwrap_err().field, "colour");
        assert_eq!(
            parse(&[("limit", "1"), ("limit", "2")]).unwrap_err().field,
            "limit"
        );
    }

    #[test]
    fn match_filters_read_lists() {
        let id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
        let q = parse(&[
            ("match[id]", id),
            ("match[type]", "indicator,report"),
            ("match[version]", "first,2026-01-01T00:00:00Z"),
            ("match[spec_version]", "2.1"),
        ])
        .unwrap();
        assert_eq!(q.ids, vec![id]);
        assert_eq!(q.types.len(), 2);
        let v = q.versions.unwrap();
        assert!(v.first && !v.last && v.at.len() == 1);
        assert!(parse(&[("match[id]", "nope")]).is_err());
        assert!(parse(&[("match[type]", "Bad Type")]).is_err());
        assert!(parse(&[("match[version]", "yesterday")]).is_err());
        assert!(parse(&[("match[spec_version]", "3.0")]).is_err());
    }

    #[test]
    fn headers_are_read_or_refused_naming_the_property() {
        let ok = json!({"type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-02T00:00:00.000Z"});
        let h = ObjectHeader::read(&ok).unwrap();
        assert_eq!(h.version, Some("2026-01-02T00:00:00Z".parse().unwrap()));
        let mut wrong = ok.clone();
        wrong["id"] = json!("report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert_eq!(ObjectHeader::read(&wrong).unwrap_err().field, "id");
        let mut wrong = ok.clone();
        wrong["modified"] = json!(5);
        assert_eq!(ObjectHeader::read(&wrong).unwrap_err().field, "modified");
        assert_eq!(ObjectHeader::read(&json!([])).unwrap_err().field, "object");
    }

    #[test]
    fn first_and_last_are_read_among_the_versions_seen() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let all = [t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:00Z")];
        assert!(Versions::last().wants(all[1], &all));
        assert!(!Versions::last().wants(all[0], &all));
        assert!(Versions::last().wants(all[0], &all[..1]));
    }
}
