//! OFAC SDN legacy CSV: `sdn.csv` (12 columns, no header, `-0-` = empty)
//! and `alt.csv` (5 columns: ent_num, alt_num, alt_type, alt_name,
//! alt_remarks). Files may end with a DOS end-of-file byte (0x1A).

use std::io::BufRead;

use rustc_hash::FxHashMap;

use super::{
    Alias, AliasQuality, Entry, EntryKind, LineTracker, ParseError, Progress, Registry, decode_text,
};

const SDN: &str = "OFAC sdn.csv";
const ALT: &str = "OFAC alt.csv";
/// Name of the list in [`Entry::list`].
pub const OFAC_LIST: &str = "OFAC SDN";
const PROGRESS_EVERY: u64 = 500;

fn field(rec: &csv::ByteRecord, i: usize) -> Option<String> {
    let s = decode_text(rec.get(i)?);
    let t = s.trim();
    (!t.is_empty() && t != "-0-").then(|| t.to_string())
}

fn is_eof_marker(rec: &csv::ByteRecord) -> bool {
    rec.len() == 1
        && rec
            .get(0)
            .is_some_and(|f| f.iter().all(|&b| b == 0x1a || b.is_ascii_whitespace()))
}

fn csv_error<R: std::io::Read>(
    source_name: &'static str,
    e: &csv::Error,
    rdr: &mut csv::Reader<LineTracker<R>>,
) -> ParseError {
    let byte = e
        .position()
        .map_or_else(|| rdr.position().byte(), csv::Position::byte);
    let line = rdr.get_mut().line_at(byte);
    match e.kind() {
        csv::ErrorKind::Io(io) => ParseError::Io {
            source_name,
            line,
            message: io.to_string(),
        },
        _ => ParseError::Record {
            source_name,
            line,
            record: None,
            reason: e.to_string(),
        },
    }
}

/// Parse `sdn.csv` alone. See [`parse_ofac`].
///
/// # Errors
/// A [`ParseError`] naming the line and `ent_num` of the first malformed
/// record.
pub fn parse_ofac_sdn<R: BufRead>(
    sdn: R,
    progress: impl FnMut(Progress),
) -> Result<Registry, ParseError> {
    parse_ofac(sdn, None::<&[u8]>, progress)
}

/// Parse `sdn.csv` and, optionally, `alt.csv` into a registry named
/// `OFAC SDN`. Entry ids are `ofac:<ent_num>`.
///
/// # Errors
/// A [`ParseError`] naming the file, the line and the `ent_num` of the
/// first malformed record: wrong number of fields, non-numeric or
/// duplicate `ent_num`, empty name, unknown `SDN_Type` or `alt_type`, an
/// alias pointing to an unknown entry, or a read error.
pub fn parse_ofac<R1: BufRead, R2: BufRead>(
    sdn: R1,
    alt: Option<R2>,
    mut progress: impl FnMut(Progress),
) -> Result<Registry, ParseError> {
    let mut reg = Registry::new(OFAC_LIST);
    let mut by_num: FxHashMap<u64, usize> = FxHashMap::default();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(sdn));
    let mut rec = csv::ByteRecord::new();
    let mut records = 0u64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(SDN, &e, &mut rdr)),
        }
        let byte = rec.position().map_or(0, csv::Position::byte);
        let line = rdr.get_mut().line_at(byte);
        if is_eof_marker(&rec) {
            continue;
        }
        let id_text = rec
            .get(0)
            .map(|f| decode_text(f).trim().to_string())
            .unwrap_or_default();
        let err = |reason: String| ParseError::Record {
            source_name: SDN,
            line,
            record: (!id_text.is_empty()).then(|| id_text.clone()),
            reason,
        };
        if rec.len() != 12 {
            return Err(err(format!("expected 12 fields, found {}", rec.len())));
        }
        let ent_num: u64 = id_text
            .parse()
            .map_err(|_| err(format!("ent_num {id_text:?} is not a number")))?;
        let name = field(&rec, 1).ok_or_else(|| err("empty SDN_Name".into()))?;
        let kind = match field(&rec, 2)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => EntryKind::Entity,
            Some("individual") => EntryKind::Person,
            Some("vessel") => EntryKind::Vessel,
            Some("aircraft") => EntryKind::Aircraft,
            Some(other) => return Err(err(format!("unknown SDN_Type {other:?}"))),
        };
        if by_num.insert(ent_num, reg.entries.len()).is_some() {
            return Err(err("duplicate ent_num".into()));
        }
        reg.entries.push(Entry {
            id: format!("ofac:{ent_num}"),
            list: OFAC_LIST.into(),
            kind,
            name,
            aliases: Vec::new(),
            original_script: Vec::new(),
            country: None,
            program: field(&rec, 3),
        });
        records += 1;
        if records.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress {
                records,
                bytes: rdr.position().byte(),
            });
        }
    }
    let sdn_bytes = rdr.position().byte();
    progress(Progress {
        records,
        bytes: sdn_bytes,
    });
    let Some(alt) = alt else { return Ok(reg) };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(LineTracker::new(alt));
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(ALT, &e, &mut rdr)),
        }
        let byte = rec.position().map_or(0, csv::Position::byte);
        let line = rdr.get_mut().line_at(byte);
        if is_eof_marker(&rec) {
            continue;
        }
        let id_text = rec
            .get(0)
            .map(|f| decode_text(f).trim().to_string())
            .unwrap_or_default();
        let err = |reason: String| ParseError::Record {
            source_name: ALT,
            line,
            record: (!id_text.is_empty()).then(|| id_text.clone()),
            reason,
        };
        if rec.len() != 5 {
            return Err(err(format!("expected 5 fields, found {}", rec.len())));
        }
        let ent_num: u64 = id_text
            .parse()
            .map_err(|_| err(format!("ent_num {id_text:?} is not a number")))?;
        let &idx = by_num.get(&ent_num).ok_or_else(|| {
            err(format!(
                "alias refers to ent_num {ent_num}, which is not in sdn.csv"
            ))
        })?;
        match field(&rec, 2)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("aka" | "fka" | "nka") | None => {}
            Some(other) => return Err(err(format!("unknown alt_type {other:?}"))),
        }
        let name = field(&rec, 3).ok_or_else(|| err("empty alt_name".into()))?;
        reg.entries[idx].aliases.push(Alias {
            name,
            quality: AliasQuality::Strong,
        });
        records += 1;
        if records.is_multiple_of(PROGRESS_EVERY) {
            progress(Progress {
                records,
                bytes: sdn_bytes + rdr.position().byte(),
            });
        }
    }
    progress(Progress {
        records,
        bytes: sdn_bytes + rdr.position().byte(),
    });
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDN_OK: &str = "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\
        1572,\"NORIEGA, Manuel Antonio\",\"individual\",\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n\u{1a}";
    const ALT_OK: &str = "36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \r\n\u{1a}";

    #[test]
    fn parses_entries_and_aliases() {
        let mut calls = Vec::new();
        let reg = parse_ofac(SDN_OK.as_bytes(), Some(ALT_OK.as_bytes()), |p| {
            calls.push(p)
        })
        .expect("parse");
        assert_eq!(reg.len(), 2);
        assert_eq!(reg.entries[0].id, "ofac:36");
        assert_eq!(reg.entries[0].kind, EntryKind::Entity);
        assert_eq!(reg.entries[0].program.as_deref(), Some("CUBA"));
        assert_eq!(reg.entries[0].aliases[0].name, "AERO-CARIBBEAN");
        assert_eq!(reg.entries[1].kind, EntryKind::Person);
        assert_eq!(reg.entries[1].name, "NORIEGA, Manuel Antonio");
        let last = calls.last().expect("progress reported");
        assert_eq!(last.records, 3);
        assert_eq!(last.bytes as usize, SDN_OK.len() + ALT_OK.len());
    }

    #[test]
    fn malformed_records_name_line_and_record() {
        let bad_fields = "36,\"A\",-0- ,\"CUBA\"\n";
        let e = parse_ofac_sdn(bad_fields.as_bytes(), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "OFAC sdn.csv, line 1 (record 36): expected 12 fields, found 4"
        );

        let bad_num = format!(
            "{}x7,\"B\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n",
            SDN_OK.trim_end_matches('\u{1a}')
        );
        let e = parse_ofac_sdn(bad_num.as_bytes(), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "OFAC sdn.csv, line 3 (record x7): ent_num \"x7\" is not a number"
        );

        let bad_type = "9,\"B\",\"robot\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
        let e = parse_ofac_sdn(bad_type.as_bytes(), |_| {}).expect_err("must fail");
        assert!(e.to_string().contains("unknown SDN_Type \"robot\""), "{e}");

        let dup = "9,\"B\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n9,\"C\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
        let e = parse_ofac_sdn(dup.as_bytes(), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "OFAC sdn.csv, line 2 (record 9): duplicate ent_num"
        );

        let empty_name = "9,-0- ,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n";
        let e = parse_ofac_sdn(empty_name.as_bytes(), |_| {}).expect_err("must fail");
        assert!(e.to_string().contains("empty SDN_Name"), "{e}");

        let orphan = "999,1,\"aka\",\"X\",-0-\n";
        let e =
            parse_ofac(SDN_OK.as_bytes(), Some(orphan.as_bytes()), |_| {}).expect_err("must fail");
        assert_eq!(
            e.to_string(),
            "OFAC alt.csv, line 1 (record 999): alias refers to ent_num 999, which is not in sdn.csv"
        );
        let unterminated = "36,\"AERO";
        let e = parse_ofac_sdn(unterminated.as_bytes(), |_| {});
        // An unterminated quote at EOF is read as one short record.
        assert!(e.is_err());
    }

    #[test]
    fn latin1_is_decoded() {
        let mut bytes = b"7,\"CAF".to_vec();
        bytes.push(0xC9); // É in Latin-1
        bytes.extend_from_slice(b"\",-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-,-0-\n");
        let reg = parse_ofac_sdn(&bytes[..], |_| {}).expect("parse");
        assert_eq!(reg.entries[0].name, "CAFÉ");
    }
}
