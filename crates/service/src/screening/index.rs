//! The stored form of a registry and its in-memory screening indexes: a
//! [`tocsin_match::Index`] per registry, built on first use from the stored
//! document in a blocking thread, rebuilt when the catalogue names a newer
//! version (another process may have imported one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tocsin_domain::screening::{RegistryRef, ScreeningHit};
use tocsin_match::{
    Alias, AliasQuality, Entry, EntryKind, Index, IndexOptions, NameSource, Registry,
};
use tocsin_store::DocKind;

use super::{FORMAT, RegistryInfo, ScreeningError};
use crate::Service;

/// One entry in the stored form: list index, id, kind, name, aliases,
/// indices of the weak aliases, original-script names, country, programme.
#[derive(Serialize, Deserialize)]
struct CompactEntry(
    u16,
    String,
    EntryKind,
    String,
    Vec<String>,
    Vec<u32>,
    Vec<String>,
    Option<String>,
    Option<String>,
);

/// The stored form of a registry (the body of document `NAME`).
#[derive(Serialize, Deserialize)]
pub struct StoredRegistry {
    format: u32,
    registry: RegistryRef,
    lists: Vec<String>,
    entries: Vec<CompactEntry>,
}

impl StoredRegistry {
    pub(super) fn encode(r: &RegistryRef, reg: &Registry) -> Result<Vec<u8>, ScreeningError> {
        let mut lists: Vec<String> = Vec::new();
        let mut entries = Vec::with_capacity(reg.entries.len());
        for e in &reg.entries {
            let li = match lists.iter().position(|l| *l == e.list) {
                Some(i) => i,
                None => {
                    lists.push(e.list.clone());
                    lists.len() - 1
                }
            };
            let li = u16::try_from(li)
                .map_err(|_| ScreeningError::Invalid("more than 65535 lists".into()))?;
            entries.push(CompactEntry(
                li,
                e.id.clone(),
                e.kind,
                e.name.clone(),
                e.aliases.iter().map(|a| a.name.clone()).collect(),
                e.aliases
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.quality == AliasQuality::Weak)
                    .map(|(i, _)| i as u32)
                    .collect(),
                e.original_script.clone(),
                e.country.clone(),
                e.program.clone(),
            ));
        }
        serde_json::to_vec(&StoredRegistry {
            format: FORMAT,
            registry: r.clone(),
            lists,
            entries,
        })
        .map_err(|e| ScreeningError::Invalid(format!("cannot encode the registry: {e}")))
    }

    /// Decodes a stored registry and checks its content hash.
    pub(super) fn decode(
        name: &str,
        body: &[u8],
    ) -> Result<(RegistryRef, Registry), ScreeningError> {
        let damaged = |reason: String| ScreeningError::Damaged {
            name: name.to_owned(),
            reason,
        };
        let s: StoredRegistry = serde_json::from_slice(body).map_err(|e| damaged(e.to_string()))?;
        if s.format != FORMAT {
            return Err(damaged(format!("unknown format {}", s.format)));
        }
        let mut reg = Registry::new(name);
        reg.entries.reserve(s.entries.len());
        for CompactEntry(li, id, kind, primary, aliases, weak, original, country, program) in
            s.entries
        {
            let list = s
                .lists
                .get(li as usize)
                .ok_or_else(|| damaged(format!("entry {id}: no list {li}")))?
                .clone();
            let aliases = aliases
                .into_iter()
                .enumerate()
                .map(|(i, n)| Alias {
                    name: n,
                    quality: if weak.contains(&(i as u32)) {
                        AliasQuality::Weak
                    } else {
                        AliasQuality::Strong
                    },
                })
                .collect();
            reg.entries.push(Entry {
                id,
                list,
                kind,
                name: primary,
                aliases,
                original_script: original,
                country,
                program,
            });
        }
        let sha = reg.content_hash().to_string();
        if sha != s.registry.sha256 {
            return Err(damaged(format!(
                "content hash {sha} differs from the recorded {}",
                s.registry.sha256
            )));
        }
        Ok((s.registry, reg))
    }
}

/// Programme and country of one entry.
type EntryExtra = (Option<Box<str>>, Option<Box<str>>);

/// A registry loaded for screening: its version and index.
pub struct Loaded {
    pub registry: RegistryRef,
    pub index: Index,
    /// Programme and country per entry (the index keeps names only).
    extra: Vec<EntryExtra>,
}

impl Loaded {
    fn build(registry: RegistryRef, reg: Registry) -> Loaded {
        let index = Index::build_with(reg.entries.iter(), &IndexOptions::default());
        let extra = reg
            .entries
            .into_iter()
            .map(|e| {
                (
                    e.program.map(String::into_boxed_str),
                    e.country.map(String::into_boxed_str),
                )
            })
            .collect();
        Loaded {
            registry,
            index,
            extra,
        }
    }

    pub(super) fn hit(&self, h: tocsin_match::Hit) -> ScreeningHit {
        let (program, country) = self
            .extra
            .get(h.entry as usize)
            .map(|(p, c)| {
                (
                    // OFAC joins programmes as `SDGT] [IRGC`.
                    p.as_deref().map(|p| p.replace("] [", ", ")),
                    c.as_deref().map(str::to_owned),
                )
            })
            .unwrap_or_default();
        ScreeningHit {
            registry: self.registry.name.clone(),
            entry_id: h.entry_id,
            entry_kind: h.kind.to_string(),
            listed_name: h.primary_name,
            matched_name: h.matched_name,
            name_source: match h.source {
                NameSource::Primary => "primary",
                NameSource::Alias => "alias",
                NameSource::WeakAlias => "weak_alias",
                NameSource::OriginalScript => "original_script",
            }
            .to_owned(),
            score_permille: permille(h.score),
            explanation: h.explanation.to_string(),
            program,
            country,
        }
    }
}

pub(super) fn permille(score: f32) -> u16 {
    (f64::from(score.clamp(0.0, 1.0)) * 1000.0).round() as u16
}

/// The in-memory indexes of one service (one per registry, newest version).
#[derive(Default)]
pub struct Indexes {
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    /// One build at a time (an index build uses every core).
    building: tokio::sync::Mutex<()>,
}

impl Indexes {
    fn cached(&self, r: &RegistryRef) -> Option<Arc<Loaded>> {
        let g = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        // A newer version than asked for (read by a racing call) will do.
        g.get(&r.name)
            .filter(|l| l.registry == *r || l.registry.version > r.version)
            .cloned()
    }

    /// Heap bytes held by the loaded indexes (approximate), per registry.
    pub fn memory(&self) -> Vec<(RegistryRef, usize)> {
        let g = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = g
            .values()
            .map(|l| (l.registry.clone(), l.index.stats().heap_bytes))
            .collect();
        v.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        v
    }
}

impl Service {
    /// The loaded index of a registry at the version the catalogue names,
    /// building it (from the stored document) if needed.
    pub async fn registry_index(&self, info: &RegistryInfo) -> Result<Arc<Loaded>, ScreeningError> {
        if let Some(l) = self.indexes.cached(&info.registry) {
            return Ok(l);
        }
        let _one = self.indexes.building.lock().await;
        if let Some(l) = self.indexes.cached(&info.registry) {
            return Ok(l);
        }
        let name = info.registry.name.clone();
        let doc = self
            .store
            .get_doc(DocKind::Registry, &name)
            .await?
            .ok_or_else(|| ScreeningError::Damaged {
                name: name.clone(),
                reason: "the catalogue names it but its entries are missing".into(),
            })?;
        let n2 = name.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let (r, reg) = StoredRegistry::decode(&n2, &doc.body)?;
            Ok::<_, ScreeningError>(Loaded::build(r, reg))
        })
        .await
        .map_err(|e| ScreeningError::Damaged {
            name: name.clone(),
            reason: format!("building the index stopped: {e}"),
        })??;
        // The document may be newer than the catalogue read a moment ago
        // (an import in between): it is consistent in itself, so use it.
        let loaded = Arc::new(loaded);
        let mut g = self
            .indexes
            .loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let keep = match g.get(&name) {
            Some(old) => old.registry.version <= loaded.registry.version,
            None => true,
        };
        if keep {
            g.insert(name, loaded.clone());
        }
        Ok(loaded)
    }
}
