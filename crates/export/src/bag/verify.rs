//! Verifying a bag: a pure function of its files and, optionally, the
//! verifier key the caller trusts. Every problem found is reported (file,
//! position where there is one, what is wrong); nothing here panics on
//! any input.
//!
//! What the bag alone proves, in order: the BagIt declaration and both
//! manifests (every payload file listed and matching, nothing extra); the
//! tag manifest's signature and the checkpoint's, by the key; the root of
//! the checkpoint rebuilt from the listed leaf hashes of the whole range
//! (nothing left out, nothing added); each exported record's leaf, its
//! content against the leaf (version 1: the body is in the leaf; version
//! 2: the commitment recomputed from the salt and body) and its inclusion
//! proof; the scope file against the `records_exported` event that
//! recorded it in the ledger; and completeness: every leaf of a stream in
//! scope is exported, disposed of (with its tombstone) or withheld with a
//! code, with no gap in any stream's event numbers, and every
//! version-2 leaf of the range (whose header the bag holds) that belongs
//! to a stream in scope is accounted for. What it cannot prove: that a
//! version-1 leaf not in the bag (its hash alone is listed) belongs to no
//! stream in scope when it would be its stream's last, and that the query
//! resolved to the right cases; both are checked against the ledger.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tocsin_ledger::{Hash, NoteVerifier, leaf_hash, open_checkpoint, open_note, root_of};
use tocsin_store::leaf::{Salt, Sealed, commitment, peek};

use super::render::render_text;
use super::wire::{DisposedFile, ExportScope, RecordFile, RecordRole, WithheldList};
use super::{
    ALGORITHMS, Algorithm, BAGIT_TXT, CHECKPOINT, Files, LEAVES, SCOPE, SIGNATURE, VERIFIER_KEY,
    WITHHELD, payload, payload_oxum, unhex,
};

/// One thing wrong with a bag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file it is in (relative to the bag).
    pub file: String,
    /// The ledger position it is about, if any.
    pub position: Option<u64>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}: position {p}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// What a bag that verifies holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The checkpoint's size: the range scanned is `0..size`.
    pub size: u64,
    pub streams: usize,
    pub records: usize,
    pub tombstones: usize,
    pub disposed: usize,
    pub withheld: usize,
    /// Whether the signatures were checked with the key the bag itself
    /// names (no key was given): that proves the bag is whole, not whose.
    pub key_from_bag: bool,
    pub release: bool,
}

/// Verifies a bag's files. `key`: the verifier key (C2SP vkey) to check
/// the signatures with; without one, the bag's `data/verifier-key.txt`.
pub fn verify(files: &Files, key: Option<&str>) -> Result<Verified, Vec<Problem>> {
    let mut v = Check::default();
    v.bagit(files);
    let vkey = v.key(files, key);
    let cp = vkey.as_ref().and_then(|k| v.checkpoint(files, k));
    let Some((size, root)) = cp else {
        return Err(v.problems);
    };
    let leaves = v.leaves(files, size, &root);
    let scope = v.scope(files, size);
    let tree = Tree {
        leaves: &leaves,
        size,
        root,
    };
    let records = v.records(files, &tree, scope.as_ref());
    let disposed = v.disposed(files, &tree, &records);
    let withheld = v.withheld(files, &tree);
    v.unexpected(files);
    let Some(scope) = scope else {
        return Err(v.problems);
    };
    v.recorded_scope(&scope, &records);
    v.complete(&scope, &leaves, &records, &disposed, &withheld);
    if !v.problems.is_empty() {
        return Err(v.problems);
    }
    let count = |role| records.values().filter(|r| r.role == role).count();
    Ok(Verified {
        size,
        streams: scope.streams.len(),
        records: count(RecordRole::Record),
        tombstones: count(RecordRole::Tombstone),
        disposed: disposed.len(),
        withheld: withheld.records.len(),
        key_from_bag: key.is_none(),
        release: scope.release,
    })
}

/// The checkpoint's tree as the bag lists it.
struct Tree<'a> {
    leaves: &'a [ListedLeaf],
    size: u64,
    root: Hash,
}

/// A leaf of the range as the bag lists it.
struct ListedLeaf {
    hash: Hash,
    /// From a version-2 leaf's header: its stream and seq.
    header: Option<(String, u64)>,
}

#[derive(Default)]
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn fail(&mut self, file: &str, position: Option<u64>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_owned(),
            position,
            message: message.into(),
        });
    }

    fn text<'a>(&mut self, files: &'a Files, path: &str) -> Option<&'a str> {
        match files.get(path).map(|b| std::str::from_utf8(b)) {
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => {
                self.fail(path, None, "is not UTF-8");
                None
            }
            None => {
                self.fail(path, None, "is missing");
                None
            }
        }
    }

    fn bagit(&mut self, files: &Files) {
        if let Some(t) = self.text(files, "bagit.txt")
            && t != BAGIT_TXT
        {
            self.fail("bagit.txt", None, "is not the BagIt 1.0 declaration");
        }
        for alg in ALGORITHMS {
            self.manifest(files, &alg.manifest(), alg, true);
            self.manifest(files, &alg.tag_manifest(), alg, false);
        }
        if let Some(info) = self.text(files, "bag-info.txt") {
            let oxum = info
                .lines()
                .find_map(|l| l.strip_prefix("Payload-Oxum:"))
                .map(str::trim);
            let actual = payload_oxum(files);
            if oxum != Some(actual.as_str()) {
                self.fail(
                    "bag-info.txt",
                    None,
                    format!("Payload-Oxum is {oxum:?}, the payload is {actual}"),
                );
            }
        }
    }

    /// A payload (`payload`) or tag manifest: every entry present and
    /// matching; a payload manifest lists every payload file.
    fn manifest(&mut self, files: &Files, name: &str, alg: Algorithm, payload_manifest: bool) {
        let Some(text) = self.text(files, name) else {
            return;
        };
        let mut listed = BTreeSet::new();
        for (i, line) in text.lines().enumerate() {
            let Some((digest, path)) = line.split_once(char::is_whitespace) else {
                self.fail(
                    name,
                    None,
                    format!("line {} is not '<digest> <path>'", i + 1),
                );
                continue;
            };
            let path = path.trim_start();
            if path.starts_with("data/") != payload_manifest || path.contains("..") {
                self.fail(
                    name,
                    None,
                    format!("line {}: '{path}' cannot be listed here", i + 1),
                );
                continue;
            }
            if !listed.insert(path.to_owned()) {
                self.fail(name, None, format!("'{path}' is listed twice"));
            }
            match files.get(path) {
                None => self.fail(path, None, format!("is listed in {name} but missing")),
                Some(b) if alg.digest(b) != digest.to_ascii_lowercase() => self.fail(
                    path,
                    None,
                    format!("does not match its {} in {name}", alg.name()),
                ),
                Some(_) => {}
            }
        }
        let must_list: Vec<&String> = if payload_manifest {
            payload(files).map(|(p, _)| p).collect()
        } else {
            // Every tag file but the tag manifests and the signature.
            files
                .keys()
                .filter(|p| {
                    !p.starts_with("data/") && !p.starts_with("tagmanifest-") && *p != SIGNATURE
                })
                .collect()
        };
        for path in must_list {
            if !listed.contains(path.as_str()) {
                self.fail(path, None, format!("is not listed in {name}"));
            }
        }
    }

    /// The key, and the tag manifest's signature by it.
    fn key(&mut self, files: &Files, given: Option<&str>) -> Option<NoteVerifier> {
        let text = match given {
            Some(k) => k.trim().to_owned(),
            None => self.text(files, VERIFIER_KEY)?.trim().to_owned(),
        };
        let file = if given.is_some() {
            "the key given"
        } else {
            VERIFIER_KEY
        };
        let vkey = match NoteVerifier::parse(&text) {
            Ok(k) => k,
            Err(e) => {
                self.fail(file, None, format!("is not a verifier key: {e}"));
                return None;
            }
        };
        let manifest = Algorithm::Sha256.tag_manifest();
        if let (Some(sig), Some(signed)) = (
            self.text(files, SIGNATURE),
            files.get(&manifest).map(Vec::as_slice),
        ) {
            match open_note(sig, &vkey) {
                Ok(text) if text.as_bytes() == signed => {}
                Ok(_) => self.fail(
                    SIGNATURE,
                    None,
                    format!("signs another text than {manifest}"),
                ),
                Err(e) => self.fail(
                    SIGNATURE,
                    None,
                    format!("the signature does not verify: {e}"),
                ),
            }
        }
        Some(vkey)
    }

    fn checkpoint(&mut self, files: &Files, vkey: &NoteVerifier) -> Option<(u64, Hash)> {
        let note = self.text(files, CHECKPOINT)?;
        match open_checkpoint(note, vkey) {
            Ok(cp) => Some((cp.size, cp.root)),
            Err(e) => {
                self.fail(
                    CHECKPOINT,
                    None,
                    format!("the checkpoint does not verify: {e}"),
                );
                None
            }
        }
    }

    /// Every position of the range, its hash and (version 2) header; the
    /// root rebuilt from them.
    fn leaves(&mut self, files: &Files, size: u64, root: &Hash) -> Vec<ListedLeaf> {
        let Some(text) = self.text(files, LEAVES) else {
            return Vec::new();
        };
        let mut out: Vec<ListedLeaf> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let pos = i as u64;
            let mut parts = line.split(' ');
            let (p, h, leaf) = (parts.next(), parts.next(), parts.next());
            if parts.next().is_some() || p != Some(pos.to_string().as_str()) {
                self.fail(
                    LEAVES,
                    Some(pos),
                    format!("line {} is not '{pos} <hash>[ <leaf>]'", i + 1),
                );
                return Vec::new();
            }
            let Some(hash) = h.and_then(|h| Hash::from_hex(h).ok()) else {
                self.fail(LEAVES, Some(pos), "the leaf hash is not 64 hex digits");
                return Vec::new();
            };
            let mut header = None;
            if let Some(b64) = leaf {
                match BASE64.decode(b64) {
                    Ok(bytes) if leaf_hash(&bytes) != hash => self.fail(
                        LEAVES,
                        Some(pos),
                        "the leaf does not hash to the hash listed",
                    ),
                    Ok(bytes) => match peek(&bytes) {
                        Ok((h, Sealed::Commitment(_))) if h.position == pos => {
                            header = Some((h.stream.to_owned(), h.seq))
                        }
                        Ok(_) => self.fail(
                            LEAVES,
                            Some(pos),
                            "the leaf listed is not a version-2 leaf of this position",
                        ),
                        Err(e) => self.fail(LEAVES, Some(pos), format!("the leaf: {e}")),
                    },
                    Err(_) => self.fail(LEAVES, Some(pos), "the leaf is not base64"),
                }
            }
            out.push(ListedLeaf { hash, header });
        }
        if out.len() as u64 != size {
            self.fail(
                LEAVES,
                None,
                format!(
                    "lists {} leaves; the checkpoint's tree has {size}",
                    out.len()
                ),
            );
            return Vec::new();
        }
        let hashes: Vec<Hash> = out.iter().map(|l| l.hash).collect();
        if root_of(&hashes) != *root {
            self.fail(
                LEAVES,
                None,
                "the leaves listed do not make the checkpoint's root (a leaf left out, added or changed, or another checkpoint)",
            );
            return Vec::new();
        }
        out
    }

    fn scope(&mut self, files: &Files, size: u64) -> Option<ExportScope> {
        let scope: ExportScope = self.json(files, SCOPE)?;
        if scope.range.from != 0 || scope.range.to != size {
            self.fail(
                SCOPE,
                None,
                format!(
                    "the range is {}..{}, the checkpoint's tree is 0..{size}",
                    scope.range.from, scope.range.to
                ),
            );
        }
        if scope.recorded_at >= size {
            self.fail(
                SCOPE,
                Some(scope.recorded_at),
                "the scope was recorded after the checkpoint",
            );
        }
        Some(scope)
    }

    fn json<T: serde::de::DeserializeOwned>(&mut self, files: &Files, path: &str) -> Option<T> {
        let bytes = match files.get(path) {
            Some(b) => b,
            None => {
                self.fail(path, None, "is missing");
                return None;
            }
        };
        match serde_json::from_slice(bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(path, None, format!("is not what it should hold: {e}"));
                None
            }
        }
    }

    /// A listed position's hash equals `hash_hex`, and `proof` proves it.
    fn proven(
        &mut self,
        file: &str,
        pos: u64,
        hash_hex: &str,
        proof: &[String],
        tree: &Tree<'_>,
    ) -> Option<Hash> {
        let Ok(hash) = Hash::from_hex(hash_hex) else {
            self.fail(file, Some(pos), "the leaf hash is not 64 hex digits");
            return None;
        };
        if let Some(l) = usize::try_from(pos).ok().and_then(|i| tree.leaves.get(i))
            && l.hash != hash
        {
            self.fail(
                file,
                Some(pos),
                format!("the leaf hash differs from {LEAVES}"),
            );
        }
        let proof: Option<Vec<Hash>> = proof.iter().map(|h| Hash::from_hex(h).ok()).collect();
        match proof.map(|p| tocsin_ledger::verify_inclusion(&hash, pos, tree.size, &p, &tree.root))
        {
            Some(Ok(())) => Some(hash),
            Some(Err(e)) => {
                self.fail(file, Some(pos), format!("the inclusion proof fails: {e}"));
                None
            }
            None => {
                self.fail(
                    file,
                    Some(pos),
                    "the inclusion proof holds a hash that is not hex",
                );
                None
            }
        }
    }

    fn records(
        &mut self,
        files: &Files,
        tree: &Tree<'_>,
        scope: Option<&ExportScope>,
    ) -> BTreeMap<u64, RecordFile> {
        let release = scope.is_some_and(|s| s.release);
        let mut out = BTreeMap::new();
        for path in files.keys() {
            let Some(pos) = numbered(path, "data/records/", ".json") else {
                continue;
            };
            let Some(r) = self.json::<RecordFile>(files, path) else {
                continue;
            };
            if r.position != pos {
                self.fail(path, Some(pos), format!("says position {}", r.position));
                continue;
            }
            self.proven(path, pos, &r.leaf_hash, &r.proof, tree);
            self.content(path, &r, release);
            let text = crate::bag::record_text_path(pos);
            if files.get(&text).map(Vec::as_slice) != Some(render_text(&r).as_bytes()) {
                self.fail(&text, Some(pos), "is missing or is not the record's text");
            }
            out.insert(pos, r);
        }
        out
    }

    /// A record's leaf and content against each other.
    fn content(&mut self, path: &str, r: &RecordFile, release: bool) {
        let pos = Some(r.position);
        let redacted = release && r.body.is_none() && r.released.is_some();
        let Some(b64) = &r.leaf else {
            if !redacted || r.leaf_version != 1 {
                self.fail(path, pos, "the leaf is missing");
            }
            return;
        };
        let Ok(leaf) = BASE64.decode(b64) else {
            self.fail(path, pos, "the leaf is not base64");
            return;
        };
        if Hash::from_hex(&r.leaf_hash).ok() != Some(leaf_hash(&leaf)) {
            self.fail(path, pos, "the leaf does not hash to its leaf hash");
        }
        let (h, sealed) = match peek(&leaf) {
            Ok(x) => x,
            Err(e) => {
                self.fail(path, pos, format!("the leaf: {e}"));
                return;
            }
        };
        if (h.position, h.stream, h.seq, h.version)
            != (r.position, r.stream.as_str(), r.seq, r.leaf_version)
        {
            self.fail(path, pos, "the leaf's header is not the position, stream, event number and version the file states");
        }
        let body = r.body.as_deref().map(str::as_bytes);
        match (sealed, body) {
            (_, None) if redacted => {}
            (Sealed::Body(inside), Some(b)) if inside == b => {}
            (Sealed::Body(_), _) => self.fail(path, pos, "the body is not the one the leaf holds"),
            (Sealed::Commitment(c), Some(b)) => {
                let salt = r
                    .salt
                    .as_deref()
                    .and_then(unhex)
                    .and_then(|s| Salt::try_from(s.as_slice()).ok());
                match salt {
                    Some(salt) if commitment(&salt, b) == *c => {}
                    Some(_) => self.fail(
                        path,
                        pos,
                        "the salt and body do not match the leaf's commitment",
                    ),
                    None => self.fail(path, pos, "the salt is missing or not 32 bytes of hex"),
                }
            }
            (Sealed::Commitment(_), None) => self.fail(path, pos, "the body is missing"),
        }
        if let Some(b) = body {
            let kind = serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| v["event"]["type"].as_str().map(str::to_owned));
            if kind.as_deref() != Some(r.kind.as_str()) {
                self.fail(
                    path,
                    pos,
                    format!("the body is not an event of kind '{}'", r.kind),
                );
            }
        }
    }

    fn disposed(
        &mut self,
        files: &Files,
        tree: &Tree<'_>,
        records: &BTreeMap<u64, RecordFile>,
    ) -> BTreeMap<u64, DisposedFile> {
        let mut out = BTreeMap::new();
        for path in files.keys() {
            let Some(pos) = numbered(path, "data/disposed/", ".json") else {
                continue;
            };
            let Some(d) = self.json::<DisposedFile>(files, path) else {
                continue;
            };
            if d.position != pos {
                self.fail(path, Some(pos), format!("says position {}", d.position));
                continue;
            }
            self.proven(path, pos, &d.leaf_hash, &d.proof, tree);
            let header = BASE64
                .decode(&d.leaf)
                .ok()
                .filter(|l| Hash::from_hex(&d.leaf_hash).ok() == Some(leaf_hash(l)));
            match header.as_deref().map(peek) {
                Some(Ok((h, Sealed::Commitment(_))))
                    if (h.position, h.stream, h.seq) == (pos, d.stream.as_str(), d.seq) => {}
                _ => self.fail(
                    path,
                    Some(pos),
                    "the leaf is not this position's version-2 leaf",
                ),
            }
            let named = records.get(&d.tombstone).is_some_and(|t| {
                t.role == RecordRole::Tombstone
                    && t.body
                        .as_deref()
                        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                        .is_some_and(|v| {
                            v["event"]["type"] == "record_disposed" && v["event"]["position"] == pos
                        })
            });
            if !named {
                self.fail(
                    path,
                    Some(pos),
                    format!("no tombstone at position {} names it", d.tombstone),
                );
            }
            out.insert(pos, d);
        }
        out
    }

    fn withheld(&mut self, files: &Files, tree: &Tree<'_>) -> WithheldList {
        let Some(list) = self.json::<WithheldList>(files, WITHHELD) else {
            return WithheldList::default();
        };
        for w in &list.records {
            self.proven(WITHHELD, w.position, &w.leaf_hash, &w.proof, tree);
            if w.exemption.trim().is_empty() {
                self.fail(
                    WITHHELD,
                    Some(w.position),
                    "withheld without an exemption code",
                );
            }
            if let Some(Some((stream, seq))) = usize::try_from(w.position)
                .ok()
                .and_then(|i| tree.leaves.get(i))
                .map(|l| &l.header)
                && (stream.as_str(), *seq) != (w.stream.as_str(), w.seq)
            {
                self.fail(
                    WITHHELD,
                    Some(w.position),
                    "the stream and event number are not the leaf's",
                );
            }
        }
        list
    }

    /// Payload files the layout does not have.
    fn unexpected(&mut self, files: &Files) {
        for (path, _) in payload(files) {
            let known = [CHECKPOINT, VERIFIER_KEY, SCOPE, LEAVES, WITHHELD]
                .contains(&path.as_str())
                || numbered(path, "data/records/", ".json").is_some()
                || numbered(path, "data/records/", ".txt")
                    .is_some_and(|p| files.contains_key(&crate::bag::record_path(p)))
                || numbered(path, "data/disposed/", ".json").is_some();
            if !known {
                self.fail(path, None, "is not part of an export");
            }
        }
    }

    /// The scope file says what the ledger recorded before the bag was
    /// written.
    fn recorded_scope(&mut self, scope: &ExportScope, records: &BTreeMap<u64, RecordFile>) {
        let at = scope.recorded_at;
        let event = records
            .get(&at)
            .filter(|r| r.role == RecordRole::Scope && r.kind == "records_exported")
            .and_then(|r| r.body.as_deref())
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
        let Some(v) = event else {
            self.fail(
                SCOPE,
                Some(at),
                "the records_exported event it names is not in the bag",
            );
            return;
        };
        let e = &v["event"];
        let streams: Option<BTreeSet<String>> = e["cases"].as_array().map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(|c| format!("case/{c}")))
                .collect()
        });
        let listed: BTreeSet<String> = scope.streams.iter().cloned().collect();
        if streams.as_ref() != Some(&listed) || listed.len() != scope.streams.len() {
            self.fail(
                SCOPE,
                Some(at),
                "the streams are not those the ledger recorded for this export",
            );
        }
        if e["query"] != scope.query {
            self.fail(
                SCOPE,
                Some(at),
                "the query is not the one the ledger recorded",
            );
        }
        if e["export_id"] != scope.export_id.as_str() || e["release"] != scope.release {
            self.fail(
                SCOPE,
                Some(at),
                "the export id or release flag is not the one the ledger recorded",
            );
        }
    }

    /// Every leaf of a stream in scope is exported, disposed of or
    /// withheld, once, and no stream has a gap.
    fn complete(
        &mut self,
        scope: &ExportScope,
        leaves: &[ListedLeaf],
        records: &BTreeMap<u64, RecordFile>,
        disposed: &BTreeMap<u64, DisposedFile>,
        withheld: &WithheldList,
    ) {
        let in_scope: BTreeSet<&str> = scope.streams.iter().map(String::as_str).collect();
        let mut covered: BTreeMap<u64, (&str, u64)> = BTreeMap::new();
        let accounted = records
            .values()
            .filter(|r| r.role == RecordRole::Record)
            .map(|r| {
                (
                    r.position,
                    r.stream.as_str(),
                    r.seq,
                    crate::bag::record_path(r.position),
                )
            })
            .chain(disposed.values().map(|d| {
                (
                    d.position,
                    d.stream.as_str(),
                    d.seq,
                    crate::bag::disposed_path(d.position),
                )
            }))
            .chain(
                withheld
                    .records
                    .iter()
                    .map(|w| (w.position, w.stream.as_str(), w.seq, WITHHELD.to_owned())),
            );
        for (pos, stream, seq, file) in accounted {
            if !in_scope.contains(stream) {
                self.fail(
                    &file,
                    Some(pos),
                    format!("stream {stream} is not in the scope"),
                );
            }
            if covered.insert(pos, (stream, seq)).is_some() {
                self.fail(&file, Some(pos), "is accounted for twice");
            }
        }
        for r in records.values().filter(|r| r.role == RecordRole::Tombstone) {
            let names = r
                .body
                .as_deref()
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|v| v["event"]["position"].as_u64());
            if !names.is_some_and(|p| disposed.contains_key(&p)) {
                self.fail(
                    &crate::bag::record_path(r.position),
                    Some(r.position),
                    "a tombstone exported for no disposed leaf of the scope",
                );
            }
        }
        for (i, l) in leaves.iter().enumerate() {
            if let Some((stream, seq)) = &l.header
                && in_scope.contains(stream.as_str())
                && !covered.contains_key(&(i as u64))
            {
                self.fail(LEAVES, Some(i as u64), format!("event {seq} of {stream} is in scope but neither exported, disposed of nor withheld"));
            }
        }
        let mut seqs: BTreeMap<&str, BTreeSet<u64>> =
            in_scope.iter().map(|s| (*s, BTreeSet::new())).collect();
        for (stream, seq) in covered.values() {
            seqs.entry(stream).or_default().insert(*seq);
        }
        for (stream, got) in seqs {
            let max = got.last().copied().unwrap_or(0);
            if let Some(missing) = (1..=max).find(|s| !got.contains(s)) {
                self.fail(
                    SCOPE,
                    None,
                    format!("{stream}: event {missing} is missing (a gap in the stream)"),
                );
            }
            if max == 0 {
                self.fail(
                    SCOPE,
                    None,
                    format!("{stream}: no event of the stream is in the bag"),
                );
            }
        }
    }
}

/// `N` of `<dir>N<ext>` in its canonical decimal form.
fn numbered(path: &str, dir: &str, ext: &str) -> Option<u64> {
    let n = path.strip_prefix(dir)?.strip_suffix(ext)?;
    let v: u64 = n.parse().ok()?;
    (v.to_string() == n).then_some(v)
}
