//! Registries and name screening: import a watch list or a directory as a
//! new version, keep a screening index per loaded version, screen a name,
//! and screen a report's victims and threat actor on intake.
//!
//! # Storage
//!
//! Each import is one append on the registry stream
//! ([`StreamId::Registry`]): a [`Event::RegistryImported`] event (name,
//! kind, version, SHA-256 of the content, counts, source files) and, in the
//! same transaction, two documents of kind [`DocKind::Registry`]:
//!
//! * key `NAME`: the registry itself in a compact JSON form
//!   ([`StoredRegistry`]): its reference (version, hash) and its entries as
//!   arrays;
//! * key [`CATALOGUE_KEY`]: the catalogue, a small document naming every
//!   registry with its current version and hash. It is written with a
//!   compare-and-set on its document version, so two imports racing cannot
//!   both win, and a failed import (a malformed file is refused before
//!   anything is written) leaves the previous version in place.
//!
//! # Indexes
//!
//! A [`tocsin_match::Index`] is built per registry version on first use,
//! from the stored document, in a blocking thread. Before every use the
//! catalogue is read (one small document): when another process has
//! imported a new version, the index is rebuilt. Only the newest version of
//! each registry is kept in memory; searches in flight keep the old one
//! alive until they finish.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::event::Event;
use tocsin_domain::screening::{RegistryRef, ScreeningHit};
use tocsin_domain::{ActorName, Timestamp};
pub use tocsin_match::{DEFAULT_THRESHOLD, EntryKind};
use tocsin_match::{ParseError, Progress, Registry, SearchOptions};
use tocsin_store::{DocExpect, DocKind, DocWrite, NewEvents, StoreError, StreamId};

use crate::access::Principal;
use crate::{Service, ServiceError};

mod index;
mod intake;
#[cfg(test)]
mod tests;

pub use index::{Indexes, Loaded};
use index::{StoredRegistry, permille};

/// Key of the catalogue document (cannot be a registry name: those start
/// with a letter or digit).
pub const CATALOGUE_KEY: &str = "_catalogue";

/// Format number of [`StoredRegistry`].
const FORMAT: u32 = 1;

/// Most hits one screening returns.
pub const MAX_LIMIT: usize = 100;

/// Hits kept per subject and registry on intake.
const INTAKE_HITS: usize = 3;

/// The kinds of registry tocsin can import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryKind {
    /// OFAC SDN legacy CSV: `sdn.csv`, optionally with `alt.csv`.
    Ofac,
    /// UN Security Council consolidated list XML.
    Un,
    /// The organisation's own directory (protectees, staff, clients): CSV
    /// `id,name,aliases,kind,country` or JSON lines with the same fields.
    Directory,
}

impl RegistryKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ofac" => Some(Self::Ofac),
            "un" => Some(Self::Un),
            "directory" => Some(Self::Directory),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ofac => "ofac",
            Self::Un => "un",
            Self::Directory => "directory",
        }
    }

    /// Watch lists are screened for W3; directories resolve identities.
    pub fn is_watch_list(self) -> bool {
        self != Self::Directory
    }
}

/// One input file of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFile {
    /// The file's name (recorded in the ledger; used to tell `alt.csv` from `sdn.csv`).
    pub name: String,
    pub text: String,
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ScreeningError {
    /// The request itself is wrong (a bad name, kind or file list).
    #[error("{0}")]
    Invalid(String),
    /// A file is malformed: the file, the line, the record and the reason.
    #[error("{file}: {source}")]
    Parse { file: String, source: ParseError },
    #[error("there is no registry '{0}' (import one with `tocsin registry import`)")]
    NoSuchRegistry(String),
    #[error("registry '{0}' kept changing while it was imported; try again")]
    Contention(String),
    #[error("registry '{name}' is damaged in the store: {reason}")]
    Damaged { name: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registry name: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), ScreeningError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ScreeningError::Invalid(format!(
            "registry name '{name}': give 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        )))
    }
}

/// Parses the files of an import into a registry named `name`, reporting
/// progress (records and bytes over all files). OFAC takes `sdn.csv` and
/// optionally `alt.csv` (a file whose name contains `alt` is the alias
/// file; otherwise the second one is); UN one XML file; a directory one CSV
/// or JSON-lines file (by its extension, else by its first character).
///
/// # Errors
/// [`ScreeningError::Parse`] with the file, line, record and reason of the
/// first malformed record; [`ScreeningError::Invalid`] for a wrong number
/// of files or a registry with no entries.
pub fn parse_registry(
    kind: RegistryKind,
    name: &str,
    files: &[ImportFile],
    mut progress: impl FnMut(Progress),
) -> Result<Registry, ScreeningError> {
    check_name(name)?;
    let parse_err = |file: &ImportFile| {
        let file = file.name.clone();
        move |source| ScreeningError::Parse { file, source }
    };
    let mut reg = match (kind, files) {
        (RegistryKind::Ofac, [sdn]) => {
            tocsin_match::registry::parse_ofac_sdn(sdn.text.as_bytes(), &mut progress)
                .map_err(parse_err(sdn))?
        }
        (RegistryKind::Ofac, [a, b]) => {
            let is_alt = |f: &ImportFile| f.name.to_ascii_lowercase().contains("alt");
            let (sdn, alt) = if is_alt(a) && !is_alt(b) {
                (b, a)
            } else {
                (a, b)
            };
            tocsin_match::registry::parse_ofac(
                sdn.text.as_bytes(),
                Some(alt.text.as_bytes()),
                &mut progress,
            )
            .map_err(|source| {
                let in_alt = matches!(&source,
                    ParseError::Record { source_name, .. } | ParseError::Io { source_name, .. }
                        if source_name.contains("alt"));
                ScreeningError::Parse {
                    file: if in_alt {
                        alt.name.clone()
                    } else {
                        sdn.name.clone()
                    },
                    source,
                }
            })?
        }
        (RegistryKind::Un, [xml]) => {
            tocsin_match::registry::parse_un_xml(xml.text.as_bytes(), &mut progress)
                .map_err(parse_err(xml))?
        }
        (RegistryKind::Directory, [f]) => {
            let lower = f.name.to_ascii_lowercase();
            let jsonl = lower.ends_with(".jsonl")
                || lower.ends_with(".ndjson")
                || lower.ends_with(".json")
                || (!lower.ends_with(".csv") && f.text.trim_start().starts_with('{'));
            if jsonl {
                tocsin_match::registry::parse_directory_jsonl(
                    f.text.as_bytes(),
                    name,
                    &mut progress,
                )
            } else {
                tocsin_match::registry::parse_directory_csv(f.text.as_bytes(), name, &mut progress)
            }
            .map_err(parse_err(f))?
        }
        (RegistryKind::Ofac, _) => {
            return Err(ScreeningError::Invalid(format!(
                "an OFAC import takes sdn.csv and optionally alt.csv, not {} file(s)",
                files.len()
            )));
        }
        (k, _) => {
            return Err(ScreeningError::Invalid(format!(
                "a {} import takes exactly one file, not {}",
                k.as_str(),
                files.len()
            )));
        }
    };
    if reg.is_empty() {
        return Err(ScreeningError::Invalid(format!(
            "{}: no entries; refusing to replace registry '{name}' with an empty one",
            files
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    reg.name = name.to_owned();
    Ok(reg)
}

/// Reads a file for an import: UTF-8, or Latin-1 (older OFAC files) when it
/// is not valid UTF-8.
pub fn decode_file(name: &str, bytes: Vec<u8>) -> ImportFile {
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    };
    ImportFile {
        name: name.to_owned(),
        text,
    }
}

/// One registry in the catalogue: what the latest import recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryInfo {
    pub registry: RegistryRef,
    pub entries: u64,
    pub names: u64,
    pub sources: Vec<String>,
    pub imported_at: Timestamp,
    pub imported_by: ActorName,
}

/// The catalogue document: every registry's current version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub registries: BTreeMap<String, RegistryInfo>,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub info: RegistryInfo,
    /// Ledger position of the `registry_imported` event.
    pub position: u64,
    /// The version it replaced, if any.
    pub replaced: Option<RegistryRef>,
}

/// What to screen against.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreenOptions {
    /// Registry names (`None`: every registry).
    pub registries: Option<Vec<String>>,
    /// Most hits returned (1 to [`MAX_LIMIT`]).
    pub limit: usize,
    /// Hits scoring below this are dropped (default [`DEFAULT_THRESHOLD`]).
    pub min_score: f32,
    /// Only entries of this kind.
    pub kind: Option<EntryKind>,
}

impl Default for ScreenOptions {
    fn default() -> Self {
        Self {
            registries: None,
            limit: 10,
            min_score: DEFAULT_THRESHOLD,
            kind: None,
        }
    }
}

/// The answer to a screening.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScreenResult {
    pub name: String,
    /// The registries searched, with the versions used.
    pub registries: Vec<RegistryRef>,
    /// Best first.
    pub hits: Vec<ScreeningHit>,
}

impl Service {
    /// The catalogue of registries (empty when none was imported) and its
    /// document version.
    pub async fn registry_catalogue(&self) -> Result<(Catalogue, u64), ScreeningError> {
        match self.store.get_doc(DocKind::Registry, CATALOGUE_KEY).await? {
            None => Ok((Catalogue::default(), 0)),
            Some(d) => {
                let c: Catalogue =
                    serde_json::from_slice(&d.body).map_err(|e| ScreeningError::Damaged {
                        name: CATALOGUE_KEY.into(),
                        reason: e.to_string(),
                    })?;
                Ok((c, d.version))
            }
        }
    }

    /// Imports `files` as a new version of registry `name`: parses them
    /// (a malformed file fails with its line and record, and nothing is
    /// written), then writes the entries, the catalogue and the
    /// `registry_imported` event in one append.
    pub async fn import_registry(
        &self,
        p: &Principal,
        kind: RegistryKind,
        name: &str,
        files: Vec<ImportFile>,
    ) -> Result<Imported, ServiceError> {
        let counter = Arc::new(crate::background::Counter::default());
        self.import_registry_counting(p, kind, name, files, counter)
            .await
    }

    /// [`Service::import_registry`], counting the bytes parsed on `counter`
    /// (see [`crate::background::RegistryImport`]).
    pub(crate) async fn import_registry_counting(
        &self,
        p: &Principal,
        kind: RegistryKind,
        name: &str,
        files: Vec<ImportFile>,
        counter: Arc<crate::background::Counter>,
    ) -> Result<Imported, ServiceError> {
        self.authorize(p, Permission::Operate, "import_registry")
            .await?;
        let actor = p.name();
        check_name(name)?;
        let owned_name = name.to_owned();
        let sources: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
        let total: u64 = files.iter().map(|f| f.text.len() as u64).sum();
        counter.set(0, total);
        let reg = tokio::task::spawn_blocking(move || {
            parse_registry(kind, &owned_name, &files, |pr| counter.set(pr.bytes, total))
        })
        .await
        .map_err(|e| ServiceError::internal("the import stopped", e))??;
        let sha256 = reg.content_hash().to_string();
        let (entries, names) = (reg.len() as u64, reg.name_count() as u64);
        let reg = Arc::new(reg);
        for _ in 0..crate::MAX_ATTEMPTS {
            let (mut catalogue, doc_version) = self.registry_catalogue().await?;
            let replaced = catalogue.registries.get(name).map(|i| i.registry.clone());
            let registry = RegistryRef {
                name: name.to_owned(),
                kind: kind.as_str().to_owned(),
                version: replaced.as_ref().map_or(1, |r| r.version + 1),
                sha256: sha256.clone(),
            };
            let now = self.clock.now();
            let info = RegistryInfo {
                registry: registry.clone(),
                entries,
                names,
                sources: sources.clone(),
                imported_at: now,
                imported_by: actor.clone(),
            };
            catalogue.registries.insert(name.to_owned(), info.clone());
            let (r2, reg2) = (registry.clone(), reg.clone());
            let body = tokio::task::spawn_blocking(move || StoredRegistry::encode(&r2, &reg2))
                .await
                .map_err(|e| ServiceError::internal("the import stopped", e))??;
            let docs = vec![
                DocWrite {
                    kind: DocKind::Registry,
                    key: name.to_owned(),
                    expect: DocExpect::Any,
                    body: Some(body),
                },
                DocWrite::put(
                    DocKind::Registry,
                    CATALOGUE_KEY,
                    if doc_version == 0 {
                        DocExpect::Absent
                    } else {
                        DocExpect::Version(doc_version)
                    },
                    &catalogue,
                ),
            ];
            let r = self
                .store
                .append(NewEvents {
                    stream: StreamId::Registry,
                    expected_version: None,
                    // Not a case or the access stream: every leaf is version 1.
                    salts: Vec::new(),
                    events: crate::command::envelopes(
                        actor,
                        now,
                        vec![Event::RegistryImported {
                            registry,
                            entries,
                            names,
                            sources: sources.clone(),
                        }],
                    ),
                    summary: None,
                    docs,
                })
                .await;
            match r {
                Ok(a) => {
                    return Ok(Imported {
                        info,
                        position: a.first_position,
                        replaced,
                    });
                }
                Err(StoreError::DocConflict { .. } | StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScreeningError::Contention(name.to_owned()).into())
    }

    /// Every registry with what its latest import recorded, and the heap
    /// bytes of its screening index in this process (if it was used here).
    pub async fn registries(&self) -> Result<Vec<(RegistryInfo, Option<u64>)>, ServiceError> {
        let (cat, _) = self.registry_catalogue().await?;
        let mem = self.indexes.memory();
        Ok(cat
            .registries
            .into_values()
            .map(|i| {
                let bytes = mem
                    .iter()
                    .find(|(r, _)| *r == i.registry)
                    .map(|(_, b)| *b as u64);
                (i, bytes)
            })
            .collect())
    }

    /// Builds the index of a registry now (after an import, so that the
    /// first screening does not wait for it).
    pub async fn warm_registry(&self, name: &str) -> Result<(), ScreeningError> {
        let (cat, _) = self.registry_catalogue().await?;
        if let Some(info) = cat.registries.get(name) {
            self.registry_index(info).await?;
        }
        Ok(())
    }

    /// Screens one name against the chosen registries (all by default):
    /// the best hits over all of them, with scores and explanations.
    pub async fn screen(
        &self,
        p: &Principal,
        name: &str,
        opts: &ScreenOptions,
    ) -> Result<ScreenResult, ServiceError> {
        self.authorize(p, Permission::Screen, "screen_name").await?;
        let query = name.trim();
        if query.is_empty() || query.chars().count() > 500 {
            return Err(ScreeningError::Invalid("name: give 1 to 500 characters".into()).into());
        }
        if !(1..=MAX_LIMIT).contains(&opts.limit) {
            return Err(ScreeningError::Invalid(format!(
                "limit {}: give 1 to {MAX_LIMIT}",
                opts.limit
            ))
            .into());
        }
        if !(0.0..=1.0).contains(&opts.min_score) {
            return Err(
                ScreeningError::Invalid("min_score: give a number from 0 to 1".into()).into(),
            );
        }
        let (cat, _) = self.registry_catalogue().await?;
        let chosen: Vec<&RegistryInfo> = match &opts.registries {
            None => cat.registries.values().collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    cat.registries
                        .get(n)
                        .ok_or_else(|| ScreeningError::NoSuchRegistry(n.clone()))
                })
                .collect::<Result<_, ScreeningError>>()?,
        };
        let search = SearchOptions {
            limit: opts.limit,
            min_score: opts.min_score,
            kind: opts.kind,
            ..SearchOptions::default()
        };
        let mut registries = Vec::new();
        let mut hits = Vec::new();
        for info in chosen {
            let loaded = self.registry_index(info).await?;
            hits.extend(
                loaded
                    .index
                    .search(query, &search)
                    .into_iter()
                    .map(|h| loaded.hit(h)),
            );
            registries.push(loaded.registry.clone());
        }
        intake::sort_hits(&mut hits);
        hits.truncate(opts.limit);
        Ok(ScreenResult {
            name: query.to_owned(),
            registries,
            hits,
        })
    }
}
