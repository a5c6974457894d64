//! UN Security Council consolidated list (XML): `INDIVIDUALS/INDIVIDUAL`
//! and `ENTITIES/ENTITY` records with `FIRST_NAME`..`FOURTH_NAME`,
//! `NAME_ORIGINAL_SCRIPT` and `*_ALIAS` (`QUALITY`, `ALIAS_NAME`, `NOTE`).
//! Streaming: memory stays proportional to one record.

use std::io::BufRead;

use quick_xml::events::Event;

use super::{
    Alias, AliasQuality, CountingReader, Entry, EntryKind, ParseError, Progress, Registry,
};

const SRC: &str = "UN consolidated XML";
/// Name of the list in [`Entry::list`].
pub const UN_LIST: &str = "UN";
const PROGRESS_EVERY: u64 = 200;

#[derive(Default)]
struct Rec {
    kind: Option<EntryKind>,
    line: u64,
    dataid: Option<String>,
    names: [Option<String>; 4],
    list_type: Option<String>,
    reference: Option<String>,
    original: Vec<String>,
    aliases: Vec<Alias>,
    nationality: Option<String>,
    country: Option<String>,
}

#[derive(Default)]
struct AliasRec {
    quality: Option<String>,
    name: Option<String>,
    note: Option<String>,
}

/// Split `Amir Khazmat (original script: Амир Хазмат)` into the alias and
/// its original-script form.
fn split_original(name: &str) -> (String, Option<String>) {
    if let Some(pos) = name.find("(original script:") {
        let rest = &name[pos + "(original script:".len()..];
        let orig = rest.trim_end().trim_end_matches(')').trim();
        let base = name[..pos].trim();
        return (
            base.to_string(),
            (!orig.is_empty()).then(|| orig.to_string()),
        );
    }
    (name.to_string(), None)
}

/// Parse the UN consolidated list into a registry named `UN Consolidated`.
/// Entry ids are `un:<DATAID>`; `program` is the `UN_LIST_TYPE`.
///
/// # Errors
/// A [`ParseError`] naming the line and the record (`DATAID` or reference
/// number) for malformed XML, a record without `DATAID` or name, an
/// unknown entity reference, or a read error.
pub fn parse_un_xml<R: BufRead>(
    input: R,
    mut progress: impl FnMut(Progress),
) -> Result<Registry, ParseError> {
    let mut xml = quick_xml::Reader::from_reader(CountingReader::new(input));
    let mut reg = Registry::new("UN Consolidated");
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut rec: Option<Rec> = None;
    let mut alias: Option<AliasRec> = None;
    let mut records = 0u64;
    loop {
        let ev = match xml.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(e) => {
                let line = xml.get_ref().newlines + 1;
                return Err(match e {
                    quick_xml::Error::Io(io) => ParseError::Io {
                        source_name: SRC,
                        line,
                        message: io.to_string(),
                    },
                    other => ParseError::Record {
                        source_name: SRC,
                        line,
                        record: rec.as_ref().and_then(rec_label),
                        reason: format!("malformed XML: {other}"),
                    },
                });
            }
        };
        // Line of the end of the event just read.
        let line = xml.get_ref().newlines + 1;
        let err = |reason: String, rec: &Option<Rec>| ParseError::Record {
            source_name: SRC,
            line,
            record: rec.as_ref().and_then(rec_label),
            reason,
        };
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                text.clear();
                match name.as_str() {
                    "INDIVIDUAL" | "ENTITY" => {
                        rec = Some(Rec {
                            kind: Some(if name == "INDIVIDUAL" {
                                EntryKind::Person
                            } else {
                                EntryKind::Entity
                            }),
                            line,
                            ..Rec::default()
                        });
                    }
                    "INDIVIDUAL_ALIAS" | "ENTITY_ALIAS" => alias = Some(AliasRec::default()),
                    _ => {}
                }
                stack.push(name);
            }
            Event::Empty(_) => text.clear(),
            Event::Text(t) => {
                let s = t
                    .decode()
                    .map_err(|e| err(format!("invalid text: {e}"), &rec))?;
                text.push_str(&s);
            }
            Event::CData(t) => {
                let s = t
                    .decode()
                    .map_err(|e| err(format!("invalid text: {e}"), &rec))?;
                text.push_str(&s);
            }
            Event::GeneralRef(r) => {
                if let Some(c) = r
                    .resolve_char_ref()
                    .map_err(|e| err(format!("bad character reference: {e}"), &rec))?
                {
                    text.push(c);
                } else {
                    let name = r
                        .decode()
                        .map_err(|e| err(format!("bad entity: {e}"), &rec))?;
                    let v = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| err(format!("unknown entity &{name};"), &rec))?;
                    text.push_str(v);
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                stack.pop();
                let parent = stack.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_string();
                text.clear();
                let value = (!value.is_empty()).then_some(value);
                if let Some(a) = alias.as_mut() {
                    match name.as_str() {
                        "QUALITY" => a.quality = value,
                        "ALIAS_NAME" => a.name = value,
                        "NOTE" => a.note = value,
                        "INDIVIDUAL_ALIAS" | "ENTITY_ALIAS" => {
                            let a = alias.take().unwrap_or_default();
                            if let (Some(r), Some(n)) = (rec.as_mut(), a.name) {
                                let (n, orig) = split_original(&n);
                                if let Some(o) = orig {
                                    r.original.push(o);
                                }
                                let quality = if a
                                    .quality
                                    .as_deref()
                                    .is_some_and(|q| q.eq_ignore_ascii_case("low"))
                                {
                                    AliasQuality::Weak
                                } else {
                                    AliasQuality::Strong
                                };
                                if !n.is_empty() {
                                    r.aliases.push(Alias { name: n, quality });
                                }
                                if let Some(o) = a
                                    .note
                                    .as_deref()
                                    .and_then(|s| s.strip_prefix("original script:"))
                                {
                                    let o = o.trim();
                                    if !o.is_empty() {
                                        r.original.push(o.to_string());
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    continue;
                }
                let Some(r) = rec.as_mut() else { continue };
                match (name.as_str(), parent) {
                    ("DATAID", _) => r.dataid = value,
                    ("FIRST_NAME", _) => r.names[0] = value,
                    ("SECOND_NAME", _) => r.names[1] = value,
                    ("THIRD_NAME", _) => r.names[2] = value,
                    ("FOURTH_NAME", _) => r.names[3] = value,
                    ("UN_LIST_TYPE", _) => r.list_type = value,
                    ("REFERENCE_NUMBER", _) => r.reference = value,
                    ("NAME_ORIGINAL_SCRIPT", _) => {
                        if let Some(v) = value {
                            r.original.insert(0, v);
                        }
                    }
                    ("VALUE", "NATIONALITY") if r.nationality.is_none() => r.nationality = value,
                    ("COUNTRY", "ENTITY_ADDRESS" | "INDIVIDUAL_ADDRESS") if r.country.is_none() => {
                        r.country = value
                    }
                    ("INDIVIDUAL" | "ENTITY", _) => {
                        let r = rec.take().unwrap_or_default();
                        reg.entries.push(finish(r)?);
                        records += 1;
                        if records.is_multiple_of(PROGRESS_EVERY) {
                            progress(Progress {
                                records,
                                bytes: xml.get_ref().bytes,
                            });
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(err(format!("unexpected end of file inside <{open}>"), &rec));
                }
                break;
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    progress(Progress {
        records,
        bytes: xml.get_ref().bytes,
    });
    Ok(reg)
}

fn rec_label(r: &Rec) -> Option<String> {
    r.dataid.clone().or_else(|| r.reference.clone())
}

fn finish(r: Rec) -> Result<Entry, ParseError> {
    let label = rec_label(&r);
    let err = |reason: &str| ParseError::Record {
        source_name: SRC,
        line: r.line,
        record: label.clone(),
        reason: reason.to_string(),
    };
    let Some(dataid) = r.dataid.as_deref() else {
        return Err(err("record has no DATAID"));
    };
    if !dataid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("DATAID is not a number"));
    }
    let name = r
        .names
        .iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        return Err(err("record has no FIRST_NAME"));
    }
    Ok(Entry {
        id: format!("un:{dataid}"),
        list: UN_LIST.into(),
        kind: r.kind.unwrap_or(EntryKind::Entity),
        name,
        aliases: r.aliases,
        original_script: r.original,
        country: r.nationality.or(r.country),
        program: r.list_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST>
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>6908555</DATAID>
      <FIRST_NAME>SADDAM</FIRST_NAME>
      <SECOND_NAME>HUSSEIN</SECOND_NAME>
      <THIRD_NAME>AL-TIKRITI</THIRD_NAME>
      <UN_LIST_TYPE>Iraq</UN_LIST_TYPE>
      <NAME_ORIGINAL_SCRIPT>صدام حسين التكريتي</NAME_ORIGINAL_SCRIPT>
      <NATIONALITY><VALUE>Iraq</VALUE></NATIONALITY>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Abu Ali</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Amir Khazmat (original script: Амир Хазмат)</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY/><ALIAS_NAME/></INDIVIDUAL_ALIAS>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>6908402</DATAID>
      <FIRST_NAME>A &amp; B &#1040;</FIRST_NAME>
      <ENTITY_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>ADF</ALIAS_NAME></ENTITY_ALIAS>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>"#;

    #[test]
    fn parses_individuals_and_entities() {
        let mut last = Progress::default();
        let reg = parse_un_xml(OK.as_bytes(), |p| last = p).expect("parse");
        assert_eq!(reg.len(), 2);
        let e = &reg.entries[0];
        assert_eq!(e.id, "un:6908555");
        assert_eq!(e.name, "SADDAM HUSSEIN AL-TIKRITI");
        assert_eq!(e.kind, EntryKind::Person);
        assert_eq!(
            e.original_script,
            vec!["صدام حسين التكريتي".to_string(), "Амир Хазмат".to_string()]
        );
        assert_eq!(e.aliases.len(), 2);
        assert_eq!(e.aliases[1].name, "Amir Khazmat");
        assert_eq!(e.aliases[1].quality, AliasQuality::Weak);
        assert_eq!(e.country.as_deref(), Some("Iraq"));
        assert_eq!(e.program.as_deref(), Some("Iraq"));
        assert_eq!(reg.entries[1].name, "A & B А");
        assert_eq!(reg.entries[1].kind, EntryKind::Entity);
        assert_eq!(last.records, 2);
        assert_eq!(last.bytes as usize, OK.len());
    }

    #[test]
    fn malformed_input_names_line_and_record() {
        let no_name = OK.replace("<FIRST_NAME>SADDAM</FIRST_NAME>\n      <SECOND_NAME>HUSSEIN</SECOND_NAME>\n      <THIRD_NAME>AL-TIKRITI</THIRD_NAME>", "");
        let e = parse_un_xml(no_name.as_bytes(), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "UN consolidated XML, line 4 (record 6908555): record has no FIRST_NAME"
        );

        let no_id = OK.replace("<DATAID>6908402</DATAID>", "");
        let e = parse_un_xml(no_id.as_bytes(), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "UN consolidated XML, line 18: record has no DATAID"
        );

        let bad_tag = OK.replace("</SECOND_NAME>", "</SECOND>");
        let e = parse_un_xml(bad_tag.as_bytes(), |_| {}).expect_err("must fail");
        let s = e.to_string();
        assert!(
            s.starts_with("UN consolidated XML, line 7 (record 6908555): malformed XML"),
            "{s}"
        );

        let truncated = &OK[..OK.find("</ENTITIES>").expect("present")];
        let e = parse_un_xml(truncated.as_bytes(), |_| {}).expect_err("must fail");
        assert!(
            e.to_string()
                .contains("unexpected end of file inside <ENTITIES>"),
            "{e}"
        );

        let bad_entity = OK.replace("&amp;", "&bogus;");
        let e = parse_un_xml(bad_entity.as_bytes(), |_| {}).expect_err("must fail");
        assert!(e.to_string().contains("unknown entity &bogus;"), "{e}");
    }
}
