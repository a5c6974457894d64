//! The simple protectee / directory format, as CSV (header
//! `id,name,aliases,kind,country`, aliases separated by `;`) or as JSON
//! lines (one object per line with the same fields; `aliases` may be a
//! `;`-separated string or an array).

use std::io::BufRead;

use rustc_hash::FxHashSet;
use serde::Deserialize;

use super::{Alias, AliasQuality, Entry, EntryKind, LineTracker, ParseError, Progress, Registry};

const CSV_SRC: &str = "directory CSV";
const JSONL_SRC: &str = "directory JSON lines";
const PROGRESS_EVERY: u64 = 1000;

fn split_aliases(s: &str) -> Vec<Alias> {
    s.split(';')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| Alias {
            name: a.to_string(),
            quality: AliasQuality::Strong,
        })
        .collect()
}

struct RowCheck<'a> {
    source_name: &'static str,
    line: u64,
    list: &'a str,
    seen: &'a mut FxHashSet<String>,
}

impl RowCheck<'_> {
    fn build(
        self,
        id: &str,
        name: &str,
        aliases: Vec<Alias>,
        kind: &str,
        country: Option<&str>,
    ) -> Result<Entry, ParseError> {
        let id = id.trim();
        let err = |reason: String| ParseError::Record {
            source_name: self.source_name,
            line: self.line,
            record: (!id.is_empty()).then(|| id.to_string()),
            reason,
        };
        if id.is_empty() {
            return Err(err("empty id".into()));
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(err("empty name".into()));
        }
        let kind = EntryKind::parse(kind).ok_or_else(|| {
            err(format!(
                "unknown kind {:?} (expected person or entity)",
                kind.trim()
            ))
        })?;
        if !self.seen.insert(id.to_string()) {
            return Err(err("duplicate id".into()));
        }
        Ok(Entry {
            id: id.to_string(),
            list: self.list.to_string(),
            kind,
            name: name.to_string(),
            aliases,
            original_script: Vec::new(),
            country: country
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            program: None,
        })
    }
}

/// Parse a directory CSV (`id,name,aliases,kind,country`; column order is
/// taken from the header, `aliases` and `country` may be absent).
///
/// # Errors
/// A [`ParseError`] naming the line and id of the first malformed row:
/// missing header column, wrong number of fields, empty id or name,
/// unknown kind, duplicate id, or a read error.
pub fn parse_directory_csv<R: BufRead>(
    input: R,
    list: &str,
    mut progress: impl FnMut(Progress),
) -> Result<Registry, ParseError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(LineTracker::new(input));
    let io_err = |e: &csv::Error, rdr: &mut csv::Reader<LineTracker<R>>| {
        let byte = e
            .position()
            .map_or_else(|| rdr.position().byte(), csv::Position::byte);
        let line = rdr.get_mut().line_at(byte);
        match e.kind() {
            csv::ErrorKind::Io(io) => ParseError::Io {
                source_name: CSV_SRC,
                line,
                message: io.to_string(),
            },
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => ParseError::Record {
                source_name: CSV_SRC,
                line,
                record: None,
                reason: format!("expected {expected_len} fields, found {len}"),
            },
            _ => ParseError::Record {
                source_name: CSV_SRC,
                line,
                record: None,
                reason: e.to_string(),
            },
        }
    };
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(io_err(&e, &mut rdr)),
    };
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let missing = |name: &str| ParseError::Record {
        source_name: CSV_SRC,
        line: 1,
        record: None,
        reason: format!("header has no {name:?} column (expected id,name,aliases,kind,country)"),
    };
    let c_id = col("id").ok_or_else(|| missing("id"))?;
    let c_name = col("name").ok_or_else(|| missing("name"))?;
    let c_kind = col("kind").ok_or_else(|| missing("kind"))?;
    let c_aliases = col("aliases");
    let c_country = col("country");
    let mut reg = Registry::new(list);
    let mut seen = FxHashSet::default();
    let mut rec = csv::StringRecord::new();
    let mut records = 0u64;
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(io_err(&e, &mut rdr)),
        }
        let byte = rec.position().map_or(0, csv::Position::byte);
        let line = rdr.get_mut().line_at(byte);
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("");
        let check = RowCheck {
            source_name: CSV_SRC,
            line,
            list,
            seen: &mut seen,
        };
        let entry = check.build(
            get(Some(c_id)),
            get(Some(c_name)),
            split_aliases(get(c_aliases)),
            get(Some(c_kind)),
            Some(get(c_country)),
        )?;
        reg.entries.push(entry);
        records += 1;
        if records.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress {
                records,
                bytes: rdr.position().byte(),
            });
        }
    }
    progress(Progress {
        records,
        bytes: rdr.position().byte(),
    });
    Ok(reg)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdField {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AliasesField {
    Joined(String),
    List(Vec<String>),
}

#[derive(Deserialize)]
struct JsonRow {
    id: IdField,
    name: String,
    #[serde(default)]
    aliases: Option<AliasesField>,
    kind: String,
    #[serde(default)]
    country: Option<String>,
}

/// Parse a directory in JSON lines: one object per line with `id`, `name`,
/// `aliases` (string with `;` or array), `kind`, `country`. Blank lines are
/// skipped.
///
/// # Errors
/// A [`ParseError`] naming the line (and id, when readable) of the first
/// malformed line: invalid JSON, missing or mistyped field, empty id or
/// name, unknown kind, duplicate id, or a read error.
pub fn parse_directory_jsonl<R: BufRead>(
    mut input: R,
    list: &str,
    mut progress: impl FnMut(Progress),
) -> Result<Registry, ParseError> {
    let mut reg = Registry::new(list);
    let mut seen = FxHashSet::default();
    let mut line_buf = Vec::new();
    let mut line = 0u64;
    let mut bytes = 0u64;
    let mut records = 0u64;
    loop {
        line_buf.clear();
        let n = input
            .read_until(b'\n', &mut line_buf)
            .map_err(|e| ParseError::Io {
                source_name: JSONL_SRC,
                line: line + 1,
                message: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        line += 1;
        bytes += n as u64;
        let text = String::from_utf8_lossy(&line_buf);
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let row: JsonRow = serde_json::from_str(text).map_err(|e| {
            let record = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| {
                    v.get("id")
                        .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string))
                });
            ParseError::Record {
                source_name: JSONL_SRC,
                line,
                record,
                reason: format!("invalid entry: {e}"),
            }
        })?;
        let id = match row.id {
            IdField::Text(s) => s,
            IdField::Number(n) => n.to_string(),
        };
        let aliases = match row.aliases {
            None => Vec::new(),
            Some(AliasesField::Joined(s)) => split_aliases(&s),
            Some(AliasesField::List(v)) => v.iter().flat_map(|s| split_aliases(s)).collect(),
        };
        let check = RowCheck {
            source_name: JSONL_SRC,
            line,
            list,
            seen: &mut seen,
        };
        reg.entries.push(check.build(
            &id,
            &row.name,
            aliases,
            &row.kind,
            row.country.as_deref(),
        )?);
        records += 1;
        if records.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress { records, bytes });
        }
    }
    progress(Progress { records, bytes });
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_directory() {
        let data = "id,name,aliases,kind,country\n\
                    p1,Jane Doe,J. Doe; Janie Doe,person,GB\n\
                    o1,\"Acme, Ltd.\",,entity,\n";
        let reg = parse_directory_csv(data.as_bytes(), "protectees", |_| {}).expect("parse");
        assert_eq!(reg.len(), 2);
        assert_eq!(reg.entries[0].aliases.len(), 2);
        assert_eq!(reg.entries[0].aliases[1].name, "Janie Doe");
        assert_eq!(reg.entries[0].country.as_deref(), Some("GB"));
        assert_eq!(reg.entries[1].kind, EntryKind::Entity);
        assert_eq!(reg.entries[1].country, None);
        assert_eq!(reg.entries[1].list, "protectees");
    }

    #[test]
    fn csv_errors_name_line_and_id() {
        let e = parse_directory_csv("id,name,kind\np1,Jane,robot\n".as_bytes(), "d", |_| {})
            .expect_err("fail");
        assert_eq!(
            e.to_string(),
            "directory CSV, line 2 (record p1): unknown kind \"robot\" (expected person or entity)"
        );
        let e = parse_directory_csv(
            "id,name,kind\np1,Jane,person\np1,John,person\n".as_bytes(),
            "d",
            |_| {},
        )
        .expect_err("fail");
        assert_eq!(
            e.to_string(),
            "directory CSV, line 3 (record p1): duplicate id"
        );
        let e = parse_directory_csv("id,name,kind\np1,,person\n".as_bytes(), "d", |_| {})
            .expect_err("fail");
        assert_eq!(
            e.to_string(),
            "directory CSV, line 2 (record p1): empty name"
        );
        let e = parse_directory_csv("id,name,kind\np1,Jane\n".as_bytes(), "d", |_| {})
            .expect_err("fail");
        assert_eq!(
            e.to_string(),
            "directory CSV, line 2: expected 3 fields, found 2"
        );
        let e = parse_directory_csv("ident,name,kind\n".as_bytes(), "d", |_| {}).expect_err("fail");
        assert!(e.to_string().contains("header has no \"id\" column"), "{e}");
    }

    #[test]
    fn jsonl_directory() {
        let data = "{\"id\":\"p1\",\"name\":\"Jane Doe\",\"aliases\":\"JD;Janie\",\"kind\":\"person\",\"country\":\"GB\"}\n\
                    \n\
                    {\"id\":7,\"name\":\"Acme\",\"aliases\":[\"Acme Ltd\"],\"kind\":\"entity\"}\n";
        let mut last = Progress::default();
        let reg = parse_directory_jsonl(data.as_bytes(), "d", |p| last = p).expect("parse");
        assert_eq!(reg.len(), 2);
        assert_eq!(reg.entries[0].aliases.len(), 2);
        assert_eq!(reg.entries[1].id, "7");
        assert_eq!(reg.entries[1].aliases[0].name, "Acme Ltd");
        assert_eq!(last.records, 2);
        assert_eq!(last.bytes as usize, data.len());
    }

    #[test]
    fn jsonl_errors_name_line_and_id() {
        let data = "{\"id\":\"p1\",\"name\":\"A\",\"kind\":\"person\"}\n{\"id\":\"p2\",\"kind\":\"person\"}\n";
        let e = parse_directory_jsonl(data.as_bytes(), "d", |_| {}).expect_err("fail");
        let s = e.to_string();
        assert!(
            s.starts_with(
                "directory JSON lines, line 2 (record p2): invalid entry: missing field `name`"
            ),
            "{s}"
        );
        let e = parse_directory_jsonl("{not json\n".as_bytes(), "d", |_| {}).expect_err("fail");
        assert!(
            e.to_string()
                .starts_with("directory JSON lines, line 1: invalid entry"),
            "{e}"
        );
    }
}
