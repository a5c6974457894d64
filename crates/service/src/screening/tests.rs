//! Registry import and screening against a real SQLite store.

use std::sync::Arc;

use tocsin_domain::event::Event;
use tocsin_domain::{ActorName, LoadedPolicy, ReportId, Timestamp};
use tocsin_ledger::NoteSigner;
use tocsin_store::{DocKind, Store, StreamId};
use tocsin_store_sqlite::{InitParams, SqliteStore};

use super::*;
use crate::access::{Principal, Via};
use crate::{ManualClock, Service, ServiceError};
use tocsin_match::{Alias, AliasQuality};

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    signer: NoteSigner,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.db");
        let signer = NoteSigner::from_seed("tocsin-test", [7; 32]).expect("signer");
        SqliteStore::create(
            &path,
            signer.clone(),
            InitParams {
                deployment_id: "test".into(),
                origin: "tocsin.test/screening".into(),
                created_at: "2024-01-01T00:00:00Z".into(),
            },
        )
        .expect("create");
        Self {
            _dir: dir,
            path,
            signer,
        }
    }

    /// A service on the database, as one server process would have.
    fn service(&self) -> Service {
        let store = SqliteStore::open(&self.path, Some(self.signer.clone())).expect("open");
        Service::new(
            Arc::new(store) as Arc<dyn Store>,
            Arc::new(LoadedPolicy::builtin()),
            Arc::new(ManualClock::new(
                "2024-06-01T00:00:00Z".parse::<Timestamp>().expect("time"),
            )),
        )
    }
}

/// An operator who may also screen (the permission checks are the service's).
fn admin() -> Principal {
    use std::collections::BTreeSet;
    use tocsin_domain::Role;
    use tocsin_domain::access::{Account, AccountSpec};
    use tocsin_domain::text::{Label, Name};
    let roles = BTreeSet::from([Role::Admin, Role::Analyst]);
    let account = Account {
        name: ActorName::new("admin.a").expect("name"),
        spec: AccountSpec {
            display_name: Name::new("admin.a").expect("name"),
            elements: BTreeSet::new(),
            roles: roles.clone(),
            clearance: Label::new("UNCLASSIFIED").expect("label"),
            compartments: BTreeSet::new(),
        },
        disabled: false,
        created_at: Timestamp::UNIX_EPOCH,
        credential_epoch: 0,
    };
    Principal::new(account, roles, Via::Local)
}

fn file(name: &str, text: &str) -> Vec<ImportFile> {
    vec![ImportFile {
        name: name.into(),
        text: text.into(),
    }]
}

const DIR_V1: &str = "id,name,aliases,kind,country\n\
p1,Jane Doe,J. Doe,person,GB\n\
p2,Acme Holdings Ltd,,entity,US\n";

const DIR_V2: &str = "id,name,aliases,kind,country\n\
p1,Jane Doe,J. Doe,person,GB\n\
p2,Acme Holdings Ltd,,entity,US\n\
p3,Viktor Petrov,Виктор Петров,person,RU\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn registry_events(svc: &Service) -> Vec<Event> {
    svc.store
        .read_stream(&StreamId::Registry)
        .await
        .expect("stream")
        .into_iter()
        .map(|e| e.envelope.event)
        .collect()
}

#[test]
fn import_versions_and_screens() {
    let f = Fixture::new();
    let svc = f.service();
    rt().block_on(async {
        let a = svc
            .import_registry(
                &admin(),
                RegistryKind::Directory,
                "protectees",
                file("p.csv", DIR_V1),
            )
            .await
            .expect("import");
        assert_eq!(a.info.registry.version, 1);
        assert_eq!((a.info.entries, a.info.names), (2, 3));
        assert!(a.replaced.is_none());

        let r = svc
            .screen(&admin(), "DOE, Jane", &ScreenOptions::default())
            .await
            .expect("screen");
        assert_eq!(r.hits[0].entry_id, "p1");
        assert_eq!(r.registries, vec![a.info.registry.clone()]);
        assert!(r.hits[0].score_permille >= 750, "{:?}", r.hits[0]);
        assert!(!r.hits[0].explanation.is_empty());
        assert_eq!(r.hits[0].country.as_deref(), Some("GB"));

        // Re-import: version 2, a new hash, the new entry found, the old
        // version recorded as replaced; both imports are in the ledger.
        let b = svc
            .import_registry(
                &admin(),
                RegistryKind::Directory,
                "protectees",
                file("p2.csv", DIR_V2),
            )
            .await
            .expect("re-import");
        assert_eq!(b.info.registry.version, 2);
        assert_ne!(b.info.registry.sha256, a.info.registry.sha256);
        assert_eq!(b.replaced.as_ref(), Some(&a.info.registry));
        let r = svc
            .screen(&admin(), "Петров Виктор", &ScreenOptions::default())
            .await
            .expect("screen");
        assert_eq!(r.hits[0].entry_id, "p3", "{r:?}");
        assert_eq!(r.registries[0].version, 2);
        let evs = registry_events(&svc).await;
        assert_eq!(evs.len(), 2);
        assert!(
            matches!(&evs[1], Event::RegistryImported { registry, sources, .. }
            if registry.version == 2 && sources == &vec!["p2.csv".to_owned()])
        );

        // Unknown registry, bad limit, bad name.
        let e = svc
            .screen(
                &admin(),
                "x",
                &ScreenOptions {
                    registries: Some(vec!["nope".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                ServiceError::Screening(ScreeningError::NoSuchRegistry(_))
            ),
            "{e}"
        );
        let e = svc
            .screen(
                &admin(),
                "x",
                &ScreenOptions {
                    limit: 0,
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
        let e = svc
            .import_registry(
                &admin(),
                RegistryKind::Directory,
                "Bad/Name",
                file("p.csv", DIR_V1),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(e, ServiceError::Screening(ScreeningError::Invalid(_))),
            "{e}"
        );
    });
}

#[test]
fn malformed_import_names_the_line_and_keeps_the_previous_version() {
    let f = Fixture::new();
    let svc = f.service();
    rt().block_on(async {
        svc.import_registry(
            &admin(),
            RegistryKind::Directory,
            "protectees",
            file("p.csv", DIR_V1),
        )
        .await
        .expect("import");
        let before_doc = svc
            .store
            .get_doc(DocKind::Registry, "protectees")
            .await
            .expect("doc")
            .expect("present");
        let before_cat = svc.registry_catalogue().await.expect("catalogue");
        let bad = "id,name,aliases,kind,country\np1,Jane Doe,,person,GB\np2,,,person,GB\n";
        let e = svc
            .import_registry(
                &admin(),
                RegistryKind::Directory,
                "protectees",
                file("bad.csv", bad),
            )
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("bad.csv") && msg.contains("line 3") && msg.contains("empty name"),
            "{msg}"
        );
        // OFAC: a wrong field count in sdn.csv names its line and record.
        let sdn = "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n\
                   173,\"ANGLO-CARIBBEAN CO., LTD.\",-0- ,\"CUBA\"\n";
        let e = svc
            .import_registry(&admin(), RegistryKind::Ofac, "ofac", file("sdn.csv", sdn))
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("sdn.csv") && msg.contains("line 2") && msg.contains("173"),
            "{msg}"
        );
        // An alias file pointing nowhere names alt.csv.
        let ok_sdn = "36,\"AEROCARIBBEAN AIRLINES\",-0- ,\"CUBA\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n";
        let alt = "36,12,\"aka\",\"AERO-CARIBBEAN\",-0- \n99,13,\"aka\",\"NOBODY\",-0- \n";
        let e = svc
            .import_registry(
                &admin(),
                RegistryKind::Ofac,
                "ofac",
                vec![
                    ImportFile {
                        name: "alt.csv".into(),
                        text: alt.into(),
                    },
                    ImportFile {
                        name: "sdn.csv".into(),
                        text: ok_sdn.into(),
                    },
                ],
            )
            .await
            .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("alt.csv: ") && msg.contains("line 2"), "{msg}");
        // An empty file is refused too (it would silently empty the list).
        let e = svc
            .import_registry(
                &admin(),
                RegistryKind::Directory,
                "protectees",
                file("empty.csv", "id,name,aliases,kind,country\n"),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("no entries"), "{e}");

        let after_doc = svc
            .store
            .get_doc(DocKind::Registry, "protectees")
            .await
            .expect("doc")
            .expect("present");
        assert_eq!(after_doc, before_doc, "the previous version stays in place");
        assert_eq!(svc.registry_catalogue().await.expect("catalogue"), before_cat);
        assert_eq!(registry_events(&svc).await.len(), 1, "nothing recorded");
        let r = svc
            .screen(&admin(), "Jane Doe", &ScreenOptions::default())
            .await
            .expect("screen");
        assert_eq!(r.registries[0].version, 1);
    });
}

/// Two server processes on one database: an import by one is seen by the
/// other at its next screening (its index is rebuilt for the new version).
#[test]
fn another_process_import_rebuilds_the_index() {
    let f = Fixture::new();
    let one = f.service();
    let two = f.service();
    rt().block_on(async {
        one.import_registry(
            &admin(),
            RegistryKind::Directory,
            "protectees",
            file("p.csv", DIR_V1),
        )
        .await
        .expect("import");
        let r = two
            .screen(&admin(), "Viktor Petrov", &ScreenOptions::default())
            .await
            .expect("screen");
        assert!(r.hits.is_empty(), "{r:?}");
        assert_eq!(two.indexes.memory()[0].0.version, 1);
        one.import_registry(
            &admin(),
            RegistryKind::Directory,
            "protectees",
            file("p2.csv", DIR_V2),
        )
        .await
        .expect("re-import");
        let r = two
            .screen(&admin(), "Viktor Petrov", &ScreenOptions::default())
            .await
            .expect("screen");
        assert_eq!(r.hits[0].entry_id, "p3");
        let mem = two.indexes.memory();
        assert_eq!(mem.len(), 1, "only the newest version is kept");
        assert_eq!(mem[0].0.version, 2);
        assert!(mem[0].1 > 0);
    });
}

#[test]
fn a_damaged_registry_is_recorded_as_unavailable_on_intake() {
    let f = Fixture::new();
    let svc = f.service();
    rt().block_on(async {
        svc.import_registry(
            &admin(),
            RegistryKind::Directory,
            "protectees",
            file("p.csv", DIR_V1),
        )
        .await
        .expect("import");
        // Damage the stored entries behind the service's back.
        svc.store
            .write_docs(vec![DocWrite {
                kind: DocKind::Registry,
                key: "protectees".into(),
                expect: DocExpect::Any,
                body: Some(b"{\"format\":1}".to_vec()),
            }])
            .await
            .expect("write");
        let report = tocsin_domain::parse_report(include_str!(
            "../../../tocsin/scenarios/edge3-kidnapping.json"
        ))
        .expect("report");
        let evs = svc
            .screening_events(ReportId::from_uuid(uuid::Uuid::now_v7()), &report)
            .await
            .expect("screening events");
        let Event::ScreeningRecorded { screening } = &evs[0] else {
            panic!("{evs:?}")
        };
        assert!(screening.registries.is_empty());
        assert_eq!(screening.unavailable[0].name, "protectees");
        assert!(screening.unavailable[0].reason.contains("damaged"));
        assert!(
            evs[0].summary().contains("NOT screened"),
            "{}",
            evs[0].summary()
        );
    });
}

#[test]
fn stored_form_round_trips_with_its_hash() {
    let mut reg =
        tocsin_match::registry::parse_directory_csv(DIR_V2.as_bytes(), "p", |_| {}).expect("parse");
    reg.entries[0].aliases.push(Alias {
        name: "Janie".into(),
        quality: AliasQuality::Weak,
    });
    reg.entries[0].program = Some("X".into());
    let r = RegistryRef {
        name: "p".into(),
        kind: "directory".into(),
        version: 3,
        sha256: reg.content_hash().to_string(),
    };
    let body = StoredRegistry::encode(&r, &reg).expect("encode");
    let (r2, reg2) = StoredRegistry::decode("p", &body).expect("decode");
    assert_eq!((r2, reg2), (r, reg));
}

/// A store whose catalogue of registries cannot be read (every other call
/// goes through): a store failing at the moment intake screens.
struct CatalogueUnreadable(Arc<dyn Store>);

#[async_trait::async_trait]
impl Store for CatalogueUnreadable {
    fn meta(&self) -> &tocsin_store::StoreMeta {
        self.0.meta()
    }
    async fn append(
        &self,
        b: tocsin_store::NewEvents,
    ) -> Result<tocsin_store::Appended, tocsin_store::StoreError> {
        self.0.append(b).await
    }
    async fn dispose(
        &self,
        d: tocsin_store::Disposal,
    ) -> Result<tocsin_store::Appended, tocsin_store::StoreError> {
        self.0.dispose(d).await
    }
    async fn read_stream(
        &self,
        s: &StreamId,
    ) -> Result<Vec<tocsin_store::StoredEvent>, tocsin_store::StoreError> {
        self.0.read_stream(s).await
    }
    async fn list_cases(
        &self,
        q: &tocsin_store::CaseQuery,
    ) -> Result<tocsin_store::Page<tocsin_store::CaseSummary>, tocsin_store::StoreError> {
        self.0.list_cases(q).await
    }
    async fn case_ids_with_prefix(
        &self,
        p: &str,
        l: u32,
    ) -> Result<Vec<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        self.0.case_ids_with_prefix(p, l).await
    }
    async fn case_ids(&self) -> Result<Vec<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        self.0.case_ids().await
    }
    async fn report_number_formats(&self) -> Result<Vec<String>, tocsin_store::StoreError> {
        self.0.report_number_formats().await
    }
    async fn case_gauges(
        &self,
        now: tocsin_domain::Timestamp,
    ) -> Result<tocsin_store::counts::CaseGauges, tocsin_store::StoreError> {
        self.0.case_gauges(now).await
    }
    async fn case_counters(
        &self,
    ) -> Result<std::collections::BTreeMap<String, i64>, tocsin_store::StoreError> {
        self.0.case_counters().await
    }
    async fn unmeasured_cases(&self) -> Result<u64, tocsin_store::StoreError> {
        self.0.unmeasured_cases().await
    }
    async fn case_summary(
        &self,
        id: tocsin_domain::CaseId,
    ) -> Result<Option<tocsin_store::CaseSummary>, tocsin_store::StoreError> {
        self.0.case_summary(id).await
    }
    async fn case_by_number(
        &self,
        n: tocsin_domain::CaseNumber,
    ) -> Result<Option<tocsin_domain::CaseId>, tocsin_store::StoreError> {
        self.0.case_by_number(n).await
    }
    async fn ledger_head(&self) -> Result<tocsin_store::LedgerHead, tocsin_store::StoreError> {
        self.0.ledger_head().await
    }
    async fn read_leaves(
        &self,
        f: u64,
        l: u32,
    ) -> Result<tocsin_store::LeafPage, tocsin_store::StoreError> {
        self.0.read_leaves(f, l).await
    }
    async fn read_nodes(
        &self,
        ids: &[tocsin_ledger::NodeId],
    ) -> Result<Vec<Option<tocsin_ledger::Hash>>, tocsin_store::StoreError> {
        self.0.read_nodes(ids).await
    }
    async fn read_level(
        &self,
        level: u8,
        from: u64,
        limit: u32,
    ) -> Result<Vec<(u64, tocsin_ledger::Hash)>, tocsin_store::StoreError> {
        self.0.read_level(level, from, limit).await
    }
    async fn read_checkpoints(
        &self,
        from: u64,
        limit: u32,
    ) -> Result<Vec<tocsin_store::StoredCheckpoint>, tocsin_store::StoreError> {
        self.0.read_checkpoints(from, limit).await
    }
    async fn replace_projections(
        &self,
        c: Vec<tocsin_store::CaseSummary>,
        d: Vec<tocsin_store::Doc>,
    ) -> Result<(), tocsin_store::StoreError> {
        self.0.replace_projections(c, d).await
    }
    async fn projection_digest(
        &self,
    ) -> Result<tocsin_store::ProjectionDigest, tocsin_store::StoreError> {
        self.0.projection_digest().await
    }
    async fn get_doc(
        &self,
        kind: DocKind,
        key: &str,
    ) -> Result<Option<tocsin_store::Doc>, tocsin_store::StoreError> {
        if kind == DocKind::Registry && key == CATALOGUE_KEY {
            return Err(tocsin_store::StoreError::backend(
                "cannot read the registry catalogue",
                std::io::Error::other("the disk went away"),
            ));
        }
        self.0.get_doc(kind, key).await
    }
    async fn list_docs(
        &self,
        kind: DocKind,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<tocsin_store::Doc>, tocsin_store::StoreError> {
        self.0.list_docs(kind, after, limit).await
    }
    async fn write_docs(&self, w: Vec<DocWrite>) -> Result<Vec<u64>, tocsin_store::StoreError> {
        self.0.write_docs(w).await
    }
    async fn integrity_check(&self) -> Result<Vec<String>, tocsin_store::StoreError> {
        self.0.integrity_check().await
    }
    async fn import_raw(&self, r: tocsin_store::RawRows) -> Result<(), tocsin_store::StoreError> {
        self.0.import_raw(r).await
    }
}

/// A screening that could not run is never recorded as "nothing
/// screened": when the catalogue of registries cannot be read, the intake
/// fails with the store's error and writes nothing.
#[test]
fn an_unreadable_catalogue_fails_the_intake_instead_of_recording_nothing() {
    use std::collections::BTreeSet;
    use tocsin_domain::Role;
    use tocsin_domain::access::{Account, AccountSpec};
    use tocsin_domain::text::{ElementName, Label, Name};
    let f = Fixture::new();
    let store = SqliteStore::open(&f.path, Some(f.signer.clone())).expect("open");
    let svc = Service::new(
        Arc::new(CatalogueUnreadable(Arc::new(store))) as Arc<dyn Store>,
        Arc::new(LoadedPolicy::builtin()),
        Arc::new(ManualClock::new(
            "2021-06-01T14:00:00Z".parse::<Timestamp>().expect("time"),
        )),
    );
    let roles = BTreeSet::from([Role::Collector]);
    let collector = Principal::new(
        Account {
            name: ActorName::new("collector.ny").expect("name"),
            spec: AccountSpec {
                display_name: Name::new("collector.ny").expect("name"),
                elements: BTreeSet::from([
                    ElementName::new("FBI New York Field Office").expect("element")
                ]),
                roles: roles.clone(),
                clearance: Label::new("TOP SECRET").expect("label"),
                compartments: BTreeSet::new(),
            },
            disabled: false,
            created_at: Timestamp::UNIX_EPOCH,
            credential_epoch: 0,
        },
        roles,
        Via::Local,
    );
    let report = tocsin_domain::parse_report(include_str!(
        "../../../tocsin/scenarios/edge3-kidnapping.json"
    ))
    .expect("report");
    rt().block_on(async {
        let before = svc.store.ledger_head().await.expect("head").size;
        let e = svc
            .submit_report(&collector, crate::Intake::new(report))
            .await
            .expect_err("the intake went through unscreened");
        assert!(
            matches!(
                &e,
                ServiceError::Store(tocsin_store::StoreError::Backend { .. })
            ),
            "{e:?}"
        );
        assert_eq!(svc.store.ledger_head().await.expect("head").size, before);
    });
}
