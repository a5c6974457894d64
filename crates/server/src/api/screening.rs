//! Routes for registries and name screening.
//!
//! * `POST /api/v1/screenings` (permission `screen`): screen a name against
//!   the registries, best hits first, with scores and explanations.
//! * `GET /api/v1/registries` (any account): the registries with their
//!   current version, hash and counts.
//! * `POST /api/v1/registries` (permission `operate`): import a registry
//!   (OFAC SDN CSV, UN XML, a directory) as a new version, atomically.
//!
//! The import carries the files' text in a JSON body. Real lists are larger
//! than the server's general body limit (the OFAC SDN CSV and its aliases
//! are 2.6 MB), so this one route reads its body itself, up to
//! [`IMPORT_BODY_LIMIT`] or the configured limit if that is larger; only an
//! authenticated account with `operate` gets that far (the route layer
//! checks before the body is read).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Permission;
use tocsin_domain::screening::{RegistryRef, ScreeningHit};
use tocsin_domain::{ActorName, Timestamp};
use tocsin_service::screening::{EntryKind, ImportFile, RegistryInfo, RegistryKind, ScreenOptions};

use super::common::{created, ok};
use crate::AppState;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, RawBody, Table};

/// Largest registry import body accepted (unless the server's own body
/// limit is larger): 256 MiB, room for a directory of a few million names.
pub const IMPORT_BODY_LIMIT: usize = 256 * 1024 * 1024;

/// The routes of this module.
pub fn routes(t: &mut Table) {
    t.add(
        Op::post(
            "screen_name",
            "/api/v1/screenings",
            Access::Needs(Permission::Screen),
        )
        .tag("screening")
        .summary("Screen a name against the registries (watch lists and directories)")
        .describe("Matches across spellings, word orders and scripts (Arabic, Persian, Cyrillic, Greek...). Returns the best hits over the chosen registries with a score in [0, 1] and an explanation of which name parts matched. Nothing is written.")
        .body::<ScreenBody>()
        .returns::<ScreenView>(StatusCode::OK)
        .errors(&[Kind::NotFound]),
        screen_name,
    );
    t.add(
        Op::get(
            "list_registries",
            "/api/v1/registries",
            Access::Authenticated,
        )
        .tag("screening")
        .summary("The registries: current version, content hash, counts, source files")
        .returns::<RegistryList>(StatusCode::OK),
        list_registries,
    );
    t.add(
        Op::post(
            "import_registry",
            "/api/v1/registries",
            Access::Needs(Permission::Operate),
        )
        .tag("screening")
        .summary("Import a registry as a new version (replaces the current one atomically)")
        .describe("`kind` is `ofac` (files: sdn.csv and optionally alt.csv), `un` (the consolidated XML) or `directory` (CSV `id,name,aliases,kind,country` or JSON lines). A malformed file is refused with its line, record and reason, and the previous version stays in place. The body may be up to 256 MiB (or the server's body limit, if larger).")
        .body::<ImportBody>()
        .returns::<ImportView>(StatusCode::CREATED)
        .errors(&[Kind::Conflict]),
        import_registry,
    );
}

/// A screening request.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenBody {
    /// The name, in any script.
    pub name: String,
    /// Registry names (default: every registry).
    #[serde(default)]
    pub registries: Option<Vec<String>>,
    /// Most hits (1 to 100, default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
    /// Drop hits scoring below this (0 to 1; default 0.72, the calibrated threshold).
    #[serde(default)]
    pub min_score: Option<f32>,
    /// Only entries of this kind: `person`, `entity`, `vessel`, `aircraft`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// The answer to a screening.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ScreenView {
    pub name: String,
    /// The registries searched, with the versions used.
    pub registries: Vec<RegistryRef>,
    /// Best first.
    pub hits: Vec<ScreeningHit>,
}

/// One file of an import.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFileBody {
    /// The file's name (recorded; `alt.csv` marks the OFAC alias file).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A registry import.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// `ofac`, `un` or `directory`.
    pub kind: String,
    /// The registry's name: 1 to 64 of a-z, 0-9, `.`, `_`, `-`.
    pub name: String,
    pub files: Vec<ImportFileBody>,
}

/// A registry and what its latest import recorded.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryView {
    pub registry: RegistryRef,
    pub entries: u64,
    pub names: u64,
    pub sources: Vec<String>,
    pub imported_at: Timestamp,
    pub imported_by: ActorName,
    /// Approximate heap bytes of its screening index in this server
    /// process (absent until it is first used here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RegistryList {
    pub items: Vec<RegistryView>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportView {
    #[serde(flatten)]
    pub registry: RegistryView,
    /// Ledger position of the `registry_imported` event.
    pub position: u64,
    /// The version it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<RegistryRef>,
}

fn view(i: RegistryInfo, index_bytes: Option<u64>) -> RegistryView {
    RegistryView {
        registry: i.registry,
        entries: i.entries,
        names: i.names,
        sources: i.sources,
        imported_at: i.imported_at,
        imported_by: i.imported_by,
        index_bytes,
    }
}

async fn screen_name(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let body: ScreenBody = body.parse()?;
    let kind = match &body.kind {
        None => None,
        Some(k) => Some(EntryKind::parse(k).ok_or_else(|| {
            ApiError::validation(format!(
                "kind: '{k}' is not one of person, entity, vessel, aircraft"
            ))
            .field("kind")
        })?),
    };
    let defaults = ScreenOptions::default();
    let opts = ScreenOptions {
        registries: body.registries,
        limit: body.limit.unwrap_or(defaults.limit),
        min_score: body.min_score.unwrap_or(defaults.min_score),
        kind,
    };
    let r = state.svc.screen(&p, &body.name, &opts).await?;
    ok(&ScreenView {
        name: r.name,
        registries: r.registries,
        hits: r.hits,
    })
}

async fn list_registries(
    State(state): State<AppState>,
    Caller(_): Caller,
) -> Result<Response, ApiError> {
    let items = state
        .svc
        .registries()
        .await?
        .into_iter()
        .map(|(i, bytes)| view(i, bytes))
        .collect();
    ok(&RegistryList { items })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        Kind::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes (or broke off)"),
    )
}

async fn import_registry(
    State(state): State<AppState>,
    Caller(p): Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let limit = state.config.body_limit.max(IMPORT_BODY_LIMIT);
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| too_large(limit))?;
    let body: ImportBody = crate::table::parse_json(&bytes)?;
    drop(bytes);
    let kind = RegistryKind::parse(&body.kind).ok_or_else(|| {
        ApiError::validation(format!(
            "kind: '{}' is not one of ofac, un, directory",
            body.kind
        ))
        .field("kind")
    })?;
    let files = body
        .files
        .into_iter()
        .map(|f| ImportFile {
            name: f.name,
            text: f.text,
        })
        .collect();
    let imported = state
        .svc
        .import_registry(&p, kind, &body.name, files)
        .await?;
    // Build the new index now, so the next intake does not wait for it.
    let svc = state.svc.clone();
    let name = body.name.clone();
    tokio::spawn(async move {
        if let Err(e) = svc.warm_registry(&name).await {
            tracing::warn!(registry = %name, error = %e, "cannot build the screening index");
        }
    });
    created(&ImportView {
        registry: view(imported.info, None),
        position: imported.position,
        replaced: imported.replaced,
    })
}
