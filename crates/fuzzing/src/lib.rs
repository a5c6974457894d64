//! # tocsin-fuzzing
//!
//! The bodies of the fuzz targets in `fuzz/`: one function per parser of
//! outside input, taking the fuzzer's bytes. Each asserts what must hold for
//! any input (no panic) and, where it is cheap, a round trip: what parses
//! re-encodes and parses to the same value.
//!
//! The bodies live here, in the main workspace, so that an ordinary
//! `cargo test` replays every saved input: the test below runs each file of
//! `fuzz/regressions/<target>/` and `fuzz/corpus/<target>/` through its
//! function. `fuzz/fuzz_targets/<target>.rs` only calls the function.

use std::sync::OnceLock;

use tocsin_domain::reference::{Directory, Relations};
use tocsin_domain::sanitise::{CompiledRules, FindingCategory, ProtectedTerm};
use tocsin_domain::{CaseId, CaseNumber, CaseRef, LoadedPolicy, ThreatReport, parse_report};
use tocsin_ledger::{
    Checkpoint, Hash, MemoryTree, NoteSigner, NoteVerifier, leaf_hash, open_checkpoint, open_note,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
use tocsin_match::registry::{
    Registry, parse_directory_csv, parse_directory_jsonl, parse_ofac, parse_un_xml,
};
use tocsin_store::leaf;

/// The body of a fuzz target.
pub type Target = fn(&[u8]);

/// Every target: its name (the file under `fuzz/fuzz_targets/`) and body.
pub const TARGETS: &[(&str, Target)] = &[
    ("intake_json", intake_json),
    ("policy_toml", policy_toml),
    ("ofac_csv", ofac_csv),
    ("un_xml", un_xml),
    ("directory", directory),
    ("sanitiser", sanitiser),
    ("leaf", leaf),
    ("proof", proof),
    ("checkpoint_note", checkpoint_note),
    ("case_ref", case_ref),
    ("reference", reference),
    ("stix_bundle", stix_bundle),
    ("taxii_query", taxii_query),
    ("bag_verify", bag_verify),
    ("records_toml", records_toml),
];

/// The intake JSON of `POST /api/v1/reports` (the server's parser) and of
/// `tocsin report submit` ([`parse_report`]): both accept the same
/// documents as the same report, and a report re-serialises to itself.
pub fn intake_json(data: &[u8]) {
    let server = tocsin_server::table::parse_json::<ThreatReport>(data).ok();
    if let Ok(text) = std::str::from_utf8(data) {
        let cli = parse_report(text).ok();
        assert_eq!(server, cli, "the server and the CLI read a report alike");
    }
    if let Some(report) = server {
        let _ = report.protected_terms();
        let json = serde_json::to_string(&report).expect("a report serialises");
        let back = parse_report(&json).expect("a serialised report parses");
        assert_eq!(back, report, "a report round-trips through JSON");
    }
}

/// A STIX 2.1 bundle as the import reads it ([`tocsin_export::stix::import`]):
/// never a panic; a bundle read whole or refused with a reason; and what
/// it reads is the same from the text and from the parsed JSON.
pub fn stix_bundle(data: &[u8]) {
    use tocsin_export::stix::import::{Limits, read_bundle, read_bundle_value};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let read = read_bundle(text, Limits::default());
    if let Err(e) = &read {
        assert!(!e.reason.is_empty(), "a refusal says why");
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        assert_eq!(
            read,
            read_bundle_value(&v, Limits::default()),
            "text and value read alike"
        );
    }
}

/// What a TAXII client sends the server to read ([`tocsin_export::taxii`]):
/// the query of `GET objects` (`added_after`, `limit`, `next`,
/// `match[...]`; the input split as `k=v&k=v`), the opaque `next` cursor,
/// and an object's header (the input as JSON). Never a panic; a refusal
/// names its parameter; a limit read is within the page bounds; a cursor
/// read names a position whose own cursor reads back to it.
pub fn taxii_query(data: &[u8]) {
    use tocsin_export::taxii::{MAX_PAGE, ObjectHeader, Position, Query};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pairs = text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")));
    match Query::parse(pairs) {
        Ok(q) => {
            assert!((1..=MAX_PAGE).contains(&q.limit), "limit {}", q.limit);
            let _ = q.start();
        }
        Err(e) => assert!(!e.field.is_empty() && !e.reason.is_empty()),
    }
    if let Ok(p) = Position::from_cursor(text) {
        assert_eq!(
            Position::from_cursor(&p.cursor()),
            Ok(p),
            "a cursor round-trips"
        );
        assert_eq!(Position::from_key(&p.key()), Some(p));
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        match ObjectHeader::read(&v) {
            Ok(h) => assert!(tocsin_export::taxii::is_stix_id(&h.id)),
            Err(e) => assert!(!e.field.is_empty()),
        }
    }
}

/// An oversight export as `tocsin records verify-export` reads it
/// ([`tocsin_export::bag::verify`], issue 14): the input is the bag's
/// files, each `path NUL content NUL`, checked with the key the bag names.
/// Never a panic; a bag that verifies accounts for no more records than
/// its range holds; a bag refused names at least one problem, each saying
/// what.
pub fn bag_verify(data: &[u8]) {
    match tocsin_export::bag::verify(&bag_files(data), None) {
        Ok(v) => assert!(
            (v.records as u64) <= v.size && (v.withheld as u64) <= v.size,
            "{v:?}"
        ),
        Err(problems) => {
            assert!(!problems.is_empty());
            for p in &problems {
                assert!(!p.message.is_empty(), "{p:?}");
            }
        }
    }
}

/// A bag's files from `path NUL content NUL ...` (a path that is not
/// UTF-8 is left out).
fn bag_files(data: &[u8]) -> tocsin_export::bag::Files {
    let mut files = tocsin_export::bag::Files::new();
    let mut parts = data.split(|b| *b == 0);
    while let (Some(path), Some(content)) = (parts.next(), parts.next()) {
        if let Ok(path) = std::str::from_utf8(path) {
            files.insert(path.to_owned(), content.to_vec());
        }
    }
    files
}

/// A policy file as `tocsin policy check` and `--policy` read it: a policy
/// that loads re-serialises to TOML that loads to the same policy.
pub fn policy_toml(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(loaded) = LoadedPolicy::parse(source, "fuzz") else {
        return;
    };
    let _ = loaded.reference();
    let received = tocsin_domain::Timestamp::UNIX_EPOCH;
    let _ = loaded.policy.deadlines(received, None);
    if let Ok(again) = toml::to_string(&loaded.policy) {
        let back = LoadedPolicy::parse(&again, "fuzz, re-serialised")
            .unwrap_or_else(|e| panic!("a re-serialised policy loads: {e}\n{again}"));
        assert_eq!(
            back.policy, loaded.policy,
            "a policy round-trips through TOML"
        );
    }
}

/// A records officer's TOML file, as `tocsin records schedule set` and
/// `tocsin records exemptions set` read it (the same bytes as both): a
/// refused file says why; accepted schedules re-serialise to a file that
/// parses to the same schedules, and each period adds to any time without
/// overflowing; accepted codes are each fit to be shown in a mark.
pub fn records_toml(data: &[u8]) {
    use tocsin_domain::records::{RetentionSchedule, RetentionSchedules};
    use tocsin_domain::redaction::{Exemptions, mark};
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match RetentionSchedules::parse(source, "fuzz") {
        Err(e) => assert!(!e.message.is_empty(), "a refusal says why"),
        Ok(s) => {
            #[derive(serde::Serialize)]
            struct File<'a> {
                schedule: Vec<&'a RetentionSchedule>,
            }
            let again = toml::to_string(&File {
                schedule: s.iter().collect(),
            })
            .expect("schedules serialise");
            let back = RetentionSchedules::parse(&again, "fuzz, re-serialised")
                .unwrap_or_else(|e| panic!("re-serialised schedules parse: {e}\n{again}"));
            assert!(back.iter().eq(s.iter()), "schedules round-trip: {again}");
            for x in s.iter() {
                let _ = x.period.after(tocsin_domain::Timestamp::UNIX_EPOCH);
                let _ = x.period.after(tocsin_domain::Timestamp::MAX);
            }
        }
    }
    match Exemptions::parse(source) {
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal says why"),
        Ok(x) => {
            for (code, _) in x.codes() {
                assert!(
                    !code.is_empty() && !code.contains(['[', ']', ',', '\n']),
                    "{code:?} cannot be shown in a mark"
                );
                assert!(mark(code, 3).starts_with(&format!("[{code}, ")));
            }
        }
    }
}

/// What must hold of any registry a parser returns; the names go through
/// the matcher's normaliser, as screening does.
fn check_registry(reg: &Registry) {
    let _ = reg.content_hash();
    assert!(reg.name_count() >= reg.len());
    for entry in &reg.entries {
        assert!(!entry.id.is_empty(), "an entry has an id");
        for name in entry.names() {
            let _ = tocsin_match::normalise(name);
        }
    }
}

/// OFAC's `sdn.csv`, and with a NUL byte in the input, `alt.csv` after it.
pub fn ofac_csv(data: &[u8]) {
    let (sdn, alt) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    if let Ok(reg) = parse_ofac(sdn, alt, |_| {}) {
        check_registry(&reg);
    }
}

/// The UN consolidated list (XML).
pub fn un_xml(data: &[u8]) {
    if let Ok(reg) = parse_un_xml(data, |_| {}) {
        check_registry(&reg);
    }
}

/// A screening directory: CSV when the first byte is even, JSON lines when
/// it is odd (the rest of the input is the file).
pub fn directory(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    let parsed = if first % 2 == 0 {
        parse_directory_csv(file, "fuzz", |_| {})
    } else {
        parse_directory_jsonl(file, "fuzz", |_| {})
    };
    if let Ok(reg) = parsed {
        check_registry(&reg);
    }
}

fn sanitiser_rules() -> &'static CompiledRules {
    static RULES: OnceLock<CompiledRules> = OnceLock::new();
    RULES.get_or_init(CompiledRules::builtin)
}

/// The sanitisation check a warning text goes through. The first line
/// holds the case's protected terms, separated by `|`; the rest is the
/// text. Findings are ordered spans of the text, and a protected term
/// written out on its own is always found (a finding overlaps it).
pub fn sanitiser(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (terms, text) = input.split_once('\n').unwrap_or(("", input));
    let protected: Vec<ProtectedTerm> = terms
        .split('|')
        .filter(|t| !t.trim().is_empty())
        .map(|t| ProtectedTerm {
            term: t.to_owned(),
            category: FindingCategory::SecretTerm,
        })
        .collect();
    let rules = sanitiser_rules();
    let findings = rules.check(text, &protected);
    let mut last = 0;
    for f in &findings {
        assert!(
            f.start <= f.end && f.end <= text.len(),
            "a finding is a span of the text"
        );
        assert_eq!(text.get(f.start..f.end), Some(f.text.as_str()));
        assert!(f.start < f.end, "a finding is not empty");
        assert!(f.start >= last, "findings are ordered and do not nest");
        last = f.start;
    }
    for p in &protected {
        let term = p.term.trim();
        let alone = format!("Warn them: {term} .");
        let found = rules.check(&alone, std::slice::from_ref(p));
        assert!(
            found
                .iter()
                .any(|f| f.start < 11 + term.len() && 11 < f.end),
            "the protected term {term:?} is found in {alone:?}: {found:?}"
        );
    }
}

/// A ledger leaf of either version. Version 1: the header and the whole
/// leaf decode alike, and a decoded leaf re-encodes to one that decodes to
/// the same header and event. Version 2: it holds no event (read alone, it
/// is a disposed one), its own hash verifies it, and the bytes after its
/// header never verify as content kept beside it unless they are its
/// commitment's preimage.
pub fn leaf(data: &[u8]) {
    let peeked = leaf::peek_header(data).map(|(h, body)| (h.stream.to_owned(), body.len()));
    let header = leaf::decode_header(data).map(|(h, body)| (h.stream, body.len()));
    assert_eq!(peeked, header);
    if let Ok((h, leaf::Sealed::Commitment(c))) = leaf::peek(data) {
        assert_eq!(h.version, leaf::LEAF_VERSION_2);
        assert_eq!(peeked, Err(leaf::LeafError::Committed));
        let read = leaf::decode_stored(data, None).map(|(_, c)| c);
        assert_eq!(read, Ok(leaf::Content::Disposed));
        leaf::verify_disposed(data, tocsin_ledger::leaf_hash(data).as_bytes())
            .expect("a version-2 leaf verifies by its own hash");
        // The commitment as the body, a zero salt: not its preimage.
        assert!(leaf::verify_present(data, &[0; 32], c).is_err());
        return;
    }
    let Ok((h, env)) = leaf::decode(data) else {
        return;
    };
    let stored = leaf::decode_stored(data, None).map(|(_, c)| c);
    assert_eq!(stored, Ok(leaf::Content::Event(env.clone())));
    let again = leaf::encode_event(h.position, &h.stream, h.seq, &env);
    let (h2, env2) = leaf::decode(&again).expect("a re-encoded leaf decodes");
    assert_eq!(h2, h);
    assert_eq!(env2, env);
    assert_eq!(
        leaf::encode_event(h2.position, &h2.stream, h2.seq, &env2),
        again,
        "the encoding is deterministic"
    );
}

/// Reads the fuzzer's bytes in pieces, with zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.take())
    }
    fn hash(&mut self) -> Hash {
        Hash::from_slice(&self.take::<32>()).expect("32 bytes are a hash")
    }
}

/// Proof verification: arbitrary indexes, sizes, roots and proof hashes
/// never panic; the honest proofs of a small tree verify, and any change to
/// one byte of them fails.
pub fn proof(data: &[u8]) {
    let mut b = Bytes(data);
    let (index, size) = (b.u64(), b.u64());
    let (leaf, root) = (b.hash(), b.hash());
    let rest = b.0;
    let proof: Vec<Hash> = rest
        .chunks_exact(32)
        .map(|c| Hash::from_slice(c).expect("32 bytes are a hash"))
        .collect();
    let _ = verify_inclusion(&leaf, index, size, &proof, &root);
    let _ = root_from_inclusion_proof(&leaf, index, size, &proof);
    let _ = verify_consistency(index, size, &leaf, &root, &proof);

    // An honest tree of 1 to 64 leaves.
    let n = size % 64 + 1;
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_be_bytes()));
    }
    let flip = |p: &mut Vec<Hash>| -> bool {
        if p.is_empty() {
            return false;
        }
        let k = (index as usize) % p.len();
        let mut bytes = *p[k].as_bytes();
        let at = (index >> 32) as usize % 32;
        bytes[at] ^= rest.first().copied().unwrap_or(1).max(1);
        p[k] = Hash::from_slice(&bytes).expect("32 bytes are a hash");
        true
    };
    let i = index % n;
    let s = i + 1 + (index >> 8) % (n - i);
    let root_s = tree.root_at(s).expect("root of a stored size");
    let lh = tree.leaf_hashes()[i as usize];
    let mut p = tree.inclusion_proof(i, s).expect("inclusion proof");
    verify_inclusion(&lh, i, s, &p, &root_s).expect("an honest inclusion proof verifies");
    if flip(&mut p) {
        assert!(verify_inclusion(&lh, i, s, &p, &root_s).is_err());
    }
    let s1 = 1 + (index >> 16) % n;
    let s2 = s1 + (index >> 24) % (n - s1 + 1);
    let (r1, r2) = (tree.root_at(s1).unwrap(), tree.root_at(s2).unwrap());
    let mut c = tree.consistency_proof(s1, s2).expect("consistency proof");
    verify_consistency(s1, s2, &r1, &r2, &c).expect("an honest consistency proof verifies");
    if flip(&mut c) {
        assert!(verify_consistency(s1, s2, &r1, &r2, &c).is_err());
    }
}

fn note_keys() -> &'static (NoteSigner, NoteVerifier) {
    static KEYS: OnceLock<(NoteSigner, NoteVerifier)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let signer = NoteSigner::from_seed("fuzz.example/log", [7; 32]).expect("a valid key name");
        let verifier = signer.verifier();
        (signer, verifier)
    })
}

/// Signed checkpoint notes: arbitrary text is opened (and does not verify
/// unless signed); a checkpoint body that parses re-encodes to itself, and
/// signing it then opening the note gives it back. Verifier keys parse
/// back from their text form.
pub fn checkpoint_note(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (signer, verifier) = note_keys();
    let _ = open_checkpoint(text, verifier);
    if let Ok(v) = NoteVerifier::parse(text) {
        let back = NoteVerifier::parse(&v.to_string()).expect("a verifier key round-trips");
        assert_eq!((back.name(), back.key_id()), (v.name(), v.key_id()));
        assert_eq!(back.public_key(), v.public_key());
    }
    if let Ok(cp) = Checkpoint::parse_body(text) {
        cp.validate().expect("a parsed checkpoint is valid");
        assert_eq!(Checkpoint::parse_body(&cp.body()).as_ref(), Ok(&cp));
        let note = signer
            .try_sign_checkpoint(&cp)
            .expect("a valid checkpoint signs");
        assert_eq!(open_checkpoint(&note, verifier).as_ref(), Ok(&cp));
    }
    if let Ok(note) = signer.sign_note(text) {
        assert_eq!(open_note(&note, verifier), Ok(text), "a signed note opens");
    }
}

/// Case references as a person types them (a case id or a case number):
/// what parses prints as text that parses to the same reference.
pub fn case_ref(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = text.parse::<CaseRef>() {
        assert_eq!(r.to_string().parse::<CaseRef>().ok(), Some(r));
    }
    if let Ok(n) = text.parse::<CaseNumber>() {
        assert_eq!(n.to_string().parse::<CaseNumber>().ok(), Some(n));
    }
    if let Ok(id) = text.parse::<CaseId>() {
        assert_eq!(id.to_string().parse::<CaseId>().ok(), Some(id));
    }
}

/// Reference data an operator imports: the relations table and the
/// recipients directory, as TOML files or as the API's JSON (the first byte
/// chooses). What loads round-trips through JSON.
pub fn reference(data: &[u8]) {
    let Some((&first, file)) = data.split_first() else {
        return;
    };
    fn round_trip<T>(v: &T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let json = serde_json::to_string(v).expect("reference data serialises");
        let back: T = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("re-serialised reference data loads: {e}\n{json}"));
        assert_eq!(&back, v);
    }
    match first % 4 {
        0 => {
            if let Ok(d) = std::str::from_utf8(file).map(Directory::from_toml)
                && let Ok(d) = d
            {
                round_trip(&d);
            }
        }
        1 => {
            if let Ok(r) = std::str::from_utf8(file).map(Relations::from_toml)
                && let Ok(r) = r
            {
                round_trip(&r);
            }
        }
        2 => {
            if let Ok(d) = serde_json::from_slice::<Directory>(file) {
                round_trip(&d);
            }
        }
        _ => {
            if let Ok(r) = serde_json::from_slice::<Relations>(file) {
                round_trip(&r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::TARGETS;

    fn fuzz_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
    }

    /// The files of `fuzz/<kind>/<target>/` whose names start with
    /// `prefix`, sorted (none if it is absent).
    fn inputs(kind: &str, target: &str, prefix: &str) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .collect();
        files.sort();
        files
    }

    /// The bag seed is a whole export (the demo's Kerman case, by
    /// `tocsin records export`), so the fuzzer starts from a bag that
    /// verifies, not only from refusals.
    #[test]
    fn the_bag_seed_is_a_bag_that_verifies() {
        let data = std::fs::read(fuzz_dir().join("corpus/bag_verify/seed-kerman-bag")).unwrap();
        let v = tocsin_export::bag::verify(&super::bag_files(&data), None).unwrap();
        assert_eq!(v.records, 17, "{v:?}");
    }

    /// Every saved crash input and every committed seed (`seed-*`; a local
    /// fuzzing run adds thousands of other files to the corpus) goes
    /// through its target again; a panic names the file.
    #[test]
    fn fuzz_inputs_replay() {
        let mut ran = 0;
        for (target, body) in TARGETS {
            assert!(
                fuzz_dir()
                    .join("fuzz_targets")
                    .join(format!("{target}.rs"))
                    .is_file(),
                "fuzz/fuzz_targets/{target}.rs calls {target}"
            );
            for (kind, prefix) in [("regressions", ""), ("corpus", "seed-")] {
                for path in inputs(kind, target, prefix) {
                    let data = std::fs::read(&path).expect("read a fuzz input");
                    let r = std::panic::catch_unwind(|| body(&data));
                    assert!(r.is_ok(), "{target} panics on {}", path.display());
                    ran += 1;
                }
            }
        }
        assert!(
            ran > 0,
            "no fuzz inputs found under {}",
            fuzz_dir().display()
        );
    }
}
