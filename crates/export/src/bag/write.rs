//! Writing a bag from what the service gathered: the payload files, the
//! BagIt tag files and both manifests. The tag manifest is signed by the
//! caller (the deployment's key lives in the store): [`write`] returns an
//! [`Unsigned`] bag whose [`Unsigned::tag_manifest`] is the text to sign,
//! and [`Unsigned::seal`] adds the signed note.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tocsin_ledger::Hash;

use super::render::render_text;
use super::wire::{DisposedFile, ExportScope, RecordFile, WithheldList};
use super::{
    ALGORITHMS, Algorithm, BAGIT_TXT, CHECKPOINT, Files, LEAVES, SCOPE, SIGNATURE, VERIFIER_KEY,
    WITHHELD, disposed_path, manifest_text, payload, payload_oxum, record_path, record_text_path,
};

/// `bag-info.txt`'s values.
#[derive(Clone, Debug)]
pub struct BagInfo {
    pub source_organization: String,
    pub external_description: String,
    /// `YYYY-MM-DD`.
    pub bagging_date: String,
}

/// Everything a bag holds, gathered by the service.
#[derive(Clone, Debug)]
pub struct ExportInput {
    /// The signed checkpoint (C2SP signed note) of the range's end.
    pub checkpoint: String,
    pub verifier_key: String,
    pub scope: ExportScope,
    /// Every position of the range, in order: its leaf hash, and the
    /// whole leaf for a version-2 leaf (it holds no content).
    pub leaves: Vec<(Hash, Option<Vec<u8>>)>,
    pub records: Vec<RecordFile>,
    pub disposed: Vec<DisposedFile>,
    pub withheld: WithheldList,
    pub info: BagInfo,
}

/// A bag whose tag manifest is not signed yet.
#[derive(Clone, Debug)]
pub struct Unsigned {
    files: Files,
}

impl Unsigned {
    /// The text to sign: `tagmanifest-sha256.txt`.
    pub fn tag_manifest(&self) -> &str {
        self.files
            .get(&Algorithm::Sha256.tag_manifest())
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    /// The whole bag, with `signed` (the tag manifest as a signed note).
    pub fn seal(mut self, signed: String) -> Files {
        self.files.insert(SIGNATURE.to_owned(), signed.into_bytes());
        self.files
    }
}

/// Builds the bag's files.
pub fn write(input: &ExportInput) -> Unsigned {
    let mut files = Files::new();
    files.insert(CHECKPOINT.into(), input.checkpoint.clone().into_bytes());
    files.insert(
        VERIFIER_KEY.into(),
        format!("{}\n", input.verifier_key.trim()).into_bytes(),
    );
    files.insert(SCOPE.into(), json(&input.scope));
    files.insert(LEAVES.into(), leaves_text(&input.leaves).into_bytes());
    files.insert(WITHHELD.into(), json(&input.withheld));
    for r in &input.records {
        files.insert(record_path(r.position), json(r));
        files.insert(record_text_path(r.position), render_text(r).into_bytes());
    }
    for d in &input.disposed {
        files.insert(disposed_path(d.position), json(d));
    }
    let mut tags = Files::new();
    tags.insert("bagit.txt".into(), BAGIT_TXT.as_bytes().to_vec());
    tags.insert(
        "bag-info.txt".into(),
        bag_info(&input.info, &input.scope, &files).into_bytes(),
    );
    for alg in ALGORITHMS {
        tags.insert(
            alg.manifest(),
            manifest_text(alg, payload(&files)).into_bytes(),
        );
    }
    let tag_manifests: Vec<(String, Vec<u8>)> = ALGORITHMS
        .iter()
        .map(|alg| (alg.tag_manifest(), manifest_text(*alg, &tags).into_bytes()))
        .collect();
    files.extend(tags);
    files.extend(tag_manifests);
    Unsigned { files }
}

/// `data/ledger-leaves.txt`: `<position> <leaf hash hex>[ <leaf base64>]`.
pub(super) fn leaves_text(leaves: &[(Hash, Option<Vec<u8>>)]) -> String {
    let mut out = String::with_capacity(leaves.len() * 80);
    for (i, (h, leaf)) in leaves.iter().enumerate() {
        out.push_str(&i.to_string());
        out.push(' ');
        out.push_str(&h.to_hex());
        if let Some(l) = leaf {
            out.push(' ');
            out.push_str(&BASE64.encode(l));
        }
        out.push('\n');
    }
    out
}

fn bag_info(info: &BagInfo, scope: &ExportScope, files: &Files) -> String {
    let line = |k: &str, v: &str| {
        let v: String = v
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{k}: {}\n", v.trim())
    };
    [
        line("Source-Organization", &info.source_organization),
        line("External-Description", &info.external_description),
        line("External-Identifier", &scope.export_id),
        line("Bagging-Date", &info.bagging_date),
        line("Bag-Software-Agent", "tocsin records export"),
        line("Payload-Oxum", &payload_oxum(files)),
    ]
    .concat()
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // Our own types always serialise (no maps with non-string keys).
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}
