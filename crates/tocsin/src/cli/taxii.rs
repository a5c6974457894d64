//! TAXII 2.1: `tocsin taxii collection add|list` (admins configure the
//! collections `tocsin serve` offers at `/taxii2/`), `tocsin taxii publish`
//! (a case's STIX bundle into a collection), and `tocsin taxii pull` (a
//! partner's collection, page by page, imported into this deployment, from
//! where the last pull stopped: the cursor is kept in the deployment).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use tocsin_domain::Role;
use tocsin_domain::taxii::{Audience, ObjectMarking, PullCursor, TaxiiCollection};
use tocsin_domain::text::{ElementName, Label};
use tocsin_server::api::taxii::{
    CollectionBody, CollectionList, CursorQuery, CursorView, PublishBody,
};
use tocsin_server::taxii::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE};
use tocsin_service::taxii::Published;
use uuid::Uuid;

use super::case::resolve;
use super::context::Ctx;
use super::input::{parse_flag, wire};
use crate::client::{Client, with_query};

#[derive(Subcommand)]
pub enum TaxiiCmd {
    /// The collections this deployment's TAXII server offers (admins).
    #[command(subcommand)]
    Collection(CollectionCmd),
    /// Publish a case's STIX bundle, as you see it, to a collection you may write.
    Publish {
        /// The case: its number (2026-0007), its id, or a unique prefix of its id.
        #[arg(long)]
        case: String,
        /// The collection's id.
        #[arg(long, value_name = "ID")]
        collection: Uuid,
    },
    /// Pull a partner's TAXII 2.1 collection into this deployment, from where the last pull stopped.
    Pull {
        /// The partner's TAXII API root (http://host:port/taxii2/api/).
        #[arg(long = "from", value_name = "URL")]
        from: String,
        /// The collection's id.
        #[arg(long, value_name = "ID")]
        collection: Uuid,
        /// A file holding the partner's API token (sent as `Authorization: Bearer`).
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Objects asked for per page (1 to 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        page: u32,
    },
}

#[derive(Subcommand)]
pub enum CollectionCmd {
    /// Configure a collection (a new one, or one named by --id).
    Add(Box<CollectionArgs>),
    /// The collections, as configured.
    List,
}

/// A collection's configuration, as flags.
#[derive(clap::Args)]
pub struct CollectionArgs {
    /// The collection's id (default: a new one).
    #[arg(long, value_name = "ID")]
    id: Option<Uuid>,
    /// Its title.
    #[arg(long)]
    title: String,
    /// What it is for.
    #[arg(long)]
    description: Option<String>,
    /// Roles that may read it (repeat, or separate with commas).
    #[arg(long = "read-role", value_delimiter = ',', value_name = "ROLE", value_parser = wire::<Role>(), required = true)]
    read_roles: Vec<Role>,
    /// Only readers in one of these elements (default: any element).
    #[arg(long = "read-element", value_name = "ELEMENT")]
    read_elements: Vec<String>,
    /// Roles that may write it (POST objects, publish).
    #[arg(long = "write-role", value_delimiter = ',', value_name = "ROLE", value_parser = wire::<Role>())]
    write_roles: Vec<Role>,
    /// Only writers in one of these elements (default: any element).
    #[arg(long = "write-element", value_name = "ELEMENT")]
    write_elements: Vec<String>,
    /// The clearance level objects posted to it are marked at.
    #[arg(long)]
    level: String,
    /// A compartment objects posted to it are marked with (repeat).
    #[arg(long = "compartment", value_name = "COMPARTMENT")]
    compartments: Vec<String>,
    /// An element whose members may see objects posted to it (repeat; at least one).
    #[arg(long = "element", value_name = "ELEMENT", required = true)]
    elements: Vec<String>,
}

pub async fn taxii(ctx: &Ctx, cmd: TaxiiCmd) -> Result<ExitCode> {
    match cmd {
        TaxiiCmd::Collection(CollectionCmd::List) => {
            let list: CollectionList = ctx.client()?.get("/api/v1/taxii/collections").await?;
            ctx.emit(&list, |l| {
                if l.items.is_empty() {
                    return "no collections".to_owned();
                }
                l.items.iter().map(describe).collect::<Vec<_>>().join("\n")
            })?;
            Ok(ExitCode::SUCCESS)
        }
        TaxiiCmd::Collection(CollectionCmd::Add(args)) => {
            let CollectionArgs {
                id,
                title,
                description,
                read_roles,
                read_elements,
                write_roles,
                write_elements,
                level,
                compartments,
                elements,
            } = *args;
            let elements_of = |flag: &str, v: &[String]| -> Result<_> {
                v.iter()
                    .map(|e| parse_flag::<ElementName>(flag, e))
                    .collect()
            };
            let body = CollectionBody {
                title: parse_flag("title", &title)?,
                description: description
                    .as_deref()
                    .map(|d| parse_flag("description", d))
                    .transpose()?,
                readers: Audience {
                    roles: read_roles.into_iter().collect(),
                    elements: elements_of("read-element", &read_elements)?,
                },
                writers: Audience {
                    roles: write_roles.into_iter().collect(),
                    elements: elements_of("write-element", &write_elements)?,
                },
                marking: ObjectMarking {
                    levels: [parse_flag::<Label>("level", &level)?].into(),
                    compartments: compartments
                        .iter()
                        .map(|c| parse_flag::<Label>("compartment", c))
                        .collect::<Result<_>>()?,
                    elements: elements_of("element", &elements)?,
                },
            };
            let id = id.unwrap_or_else(Uuid::new_v4);
            let c: TaxiiCollection = ctx
                .client()?
                .put(&format!("/api/v1/taxii/collections/{id}"), &body)
                .await?;
            ctx.emit(&c, describe)?;
            Ok(ExitCode::SUCCESS)
        }
        TaxiiCmd::Publish { case, collection } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case).await?;
            let p: Published = c
                .post(
                    &format!("/api/v1/cases/{id}/taxii"),
                    &PublishBody { collection },
                )
                .await?;
            ctx.emit(&p, |p| {
                format!(
                    "case {case} published to collection {}: {} objects added, {} already there (date added {})",
                    p.collection, p.added, p.unchanged, p.date_added
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        TaxiiCmd::Pull {
            from,
            collection,
            token_file,
            page,
        } => pull(ctx, &from, collection, token_file, page).await,
    }
}

fn describe(c: &TaxiiCollection) -> String {
    let roles = |a: &Audience| {
        let r: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
        let e: Vec<&str> = a.elements.iter().map(|e| e.as_str()).collect();
        if e.is_empty() {
            r.join(",")
        } else {
            format!("{} in {}", r.join(","), e.join(","))
        }
    };
    format!(
        "{}  \"{}\"  read: {}  write: {}  posted objects marked {} {}",
        c.id,
        c.title,
        roles(&c.readers),
        if c.writers.roles.is_empty() {
            "nobody".into()
        } else {
            roles(&c.writers)
        },
        c.marking
            .levels
            .iter()
            .chain(&c.marking.compartments)
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("/"),
        c.marking
            .elements
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// A partner's TAXII server.
struct Partner {
    root: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// One page of a partner's collection.
struct Page {
    objects: Vec<Value>,
    more: bool,
    next: Option<String>,
    last_added: Option<String>,
}

impl Partner {
    fn new(root: &str, token_file: Option<PathBuf>) -> Result<Self> {
        if !root.starts_with("http://") && !root.starts_with("https://") {
            bail!("--from {root}: give the TAXII API root's URL (http://host:port/taxii2/api/)");
        }
        let root = format!("{}/", root.trim_end_matches('/'));
        let token = match token_file {
            Some(f) => {
                let t = std::fs::read_to_string(&f)
                    .with_context(|| format!("--token-file {}", f.display()))?;
                let t = t.trim().to_owned();
                if t.is_empty() {
                    bail!("--token-file {}: the file is empty", f.display());
                }
                Some(t)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(concat!("tocsin-taxii/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()?;
        Ok(Partner { root, token, http })
    }

    /// `GET url` with `query` as TAXII asks: its answer as JSON and its
    /// `X-TAXII-Date-Added-Last`; `None` for a 404 when `missing_ok`; an
    /// error naming the URL, the status and what the partner said
    /// otherwise.
    async fn get(
        &self,
        url: &str,
        query: &[(&str, String)],
        missing_ok: bool,
    ) -> Result<Option<(Value, Option<String>)>> {
        let mut req = self
            .http
            .get(url)
            .query(query)
            .header(reqwest::header::ACCEPT, TAXII_MEDIA_TYPE);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach {url}: {e}"))?;
        let status = resp.status();
        if missing_ok && status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let last_added = resp
            .headers()
            .get("x-taxii-date-added-last")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let v: Value = serde_json::from_slice(&resp.bytes().await?)
            .map_err(|e| anyhow!("{url}: {status}, and the answer is not JSON: {e}"))?;
        if !status.is_success() {
            let said = v["description"]
                .as_str()
                .or(v["title"].as_str())
                .unwrap_or("");
            bail!("{url}: {status}: {said}");
        }
        Ok(Some((v, last_added)))
    }

    /// One object of the collection by id (its latest version), or `None`
    /// when the partner has none it lets us see (404).
    async fn object(&self, collection: Uuid, id: &str) -> Result<Option<Value>> {
        let url = format!("{}collections/{collection}/objects/{id}/", self.root);
        let found = self.get(&url, &[], true).await?;
        // The newest version is the last one of the envelope.
        Ok(found.and_then(|(v, _)| v["objects"].as_array().and_then(|a| a.last()).cloned()))
    }

    async fn page(
        &self,
        collection: Uuid,
        limit: u32,
        added_after: Option<&str>,
        next: Option<&str>,
    ) -> Result<Page> {
        let mut q: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        if let Some(a) = added_after {
            q.push(("added_after", a.to_owned()));
        }
        if let Some(n) = next {
            q.push(("next", n.to_owned()));
        }
        let url = format!("{}collections/{collection}/objects/", self.root);
        let Some((v, last_added)) = self.get(&url, &q, false).await? else {
            bail!("{url}: no answer");
        };
        let objects = match &v["objects"] {
            Value::Array(a) => a.clone(),
            Value::Null => vec![],
            _ => bail!("{url}: `objects` is not a list"),
        };
        Ok(Page {
            objects,
            more: v["more"].as_bool().unwrap_or(false),
            next: v["next"].as_str().map(str::to_owned),
            last_added,
        })
    }
}

/// Objects of earlier pages of this run, by id, that a later page's
/// report may refer to (a partner's bundle can straddle two pages).
#[derive(Default)]
struct Earlier {
    by_id: std::collections::HashMap<String, Value>,
    /// Ids asked for by id that the partner does not serve.
    absent: std::collections::HashSet<String>,
}

/// How many earlier objects a run keeps for later reports to refer to.
const EARLIER_MAX: usize = 20_000;
/// How many objects one page's reports may have fetched by id.
const FETCH_MAX: usize = 1_000;

/// A STIX object the import reads as a threat report.
fn is_report(o: &Value) -> bool {
    matches!(o["type"].as_str(), Some("report" | "grouping"))
}

impl Earlier {
    fn keep(&mut self, objects: &[Value]) {
        for o in objects {
            if self.by_id.len() >= EARLIER_MAX {
                return;
            }
            if let Some(id) = o["id"].as_str()
                && !is_report(o)
            {
                self.by_id.insert(id.to_owned(), o.clone());
            }
        }
    }

    /// An object fetched by id: kept whatever the bound, as a page's
    /// report needs it now.
    fn fetched(&mut self, o: Value) {
        if let Some(id) = o["id"].as_str() {
            self.by_id.insert(id.to_owned(), o.clone());
        }
    }

    /// The earlier objects `page` refers to (through any `*_ref` or
    /// `*_refs` property, and theirs in turn) that the page lacks, and the
    /// ids of those this run has not seen (on a later page, or never
    /// served).
    fn referred_from(&self, page: &[Value]) -> (Vec<Value>, Vec<String>) {
        fn refs(v: &Value, out: &mut Vec<String>) {
            if let Value::Object(m) = v {
                for (k, x) in m {
                    match x {
                        Value::String(s) if k.ends_with("_ref") => out.push(s.clone()),
                        Value::Array(a) if k.ends_with("_refs") => {
                            out.extend(a.iter().filter_map(|i| i.as_str().map(str::to_owned)))
                        }
                        Value::Object(_) | Value::Array(_) => refs(x, out),
                        _ => {}
                    }
                }
            } else if let Value::Array(a) = v {
                a.iter().for_each(|i| refs(i, out));
            }
        }
        let have: std::collections::HashSet<&str> =
            page.iter().filter_map(|o| o["id"].as_str()).collect();
        let mut wanted = vec![];
        page.iter().for_each(|o| refs(o, &mut wanted));
        let mut added = std::collections::BTreeMap::new();
        let mut missing = std::collections::BTreeSet::new();
        while let Some(id) = wanted.pop() {
            if have.contains(id.as_str()) || added.contains_key(&id) || missing.contains(&id) {
                continue;
            }
            match self.by_id.get(&id) {
                Some(o) => {
                    refs(o, &mut wanted);
                    added.insert(id, o.clone());
                }
                None => {
                    missing.insert(id);
                }
            }
        }
        (added.into_values().collect(), missing.into_iter().collect())
    }
}

/// Imports one page's STIX `report`s into this deployment: the page's
/// objects, with the earlier ones they refer to, as one bundle through
/// `POST /api/v1/reports/stix` (the STIX import: its checks, and its
/// idempotency on the report's id and `modified`, so a page fetched twice
/// imports nothing twice). A page without a report carries nothing the
/// import takes.
async fn import(
    c: &Client,
    partner: &Partner,
    collection: Uuid,
    objects: &[Value],
    earlier: &mut Earlier,
) -> Result<usize> {
    let reports = objects.iter().filter(|o| is_report(o)).count();
    if reports == 0 {
        return Ok(0);
    }
    // What a report refers to may come on a later page (a bundle
    // straddling pages, its report first): ask the partner for those
    // objects by id, and for what they refer to in turn. An id the
    // partner does not serve (a TLP marking definition, which the import
    // knows by its published id) is left to the import to judge.
    let mut fetched = 0;
    loop {
        let mut page = objects.to_vec();
        page.extend(earlier.referred_from(objects).0);
        let (_, missing) = earlier.referred_from(&page);
        let missing: Vec<String> = missing
            .into_iter()
            .filter(|id| !earlier.absent.contains(id))
            .collect();
        if missing.is_empty() {
            break;
        }
        for id in missing {
            if fetched >= FETCH_MAX {
                bail!("the page's reports refer to more than {FETCH_MAX} objects it does not hold");
            }
            fetched += 1;
            match partner.object(collection, &id).await? {
                Some(o) if o["id"].as_str() == Some(id.as_str()) => earlier.fetched(o),
                _ => {
                    earlier.absent.insert(id);
                }
            }
        }
    }
    let mut all = earlier.referred_from(objects).0;
    all.extend(objects.iter().cloned());
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", Uuid::new_v4()),
        "objects": all,
    });
    let _: tocsin_service::StixImport = c
        .send(
            reqwest::Method::POST,
            "/api/v1/reports/stix",
            Some(&bundle),
            &[("content-type", STIX_MEDIA_TYPE)],
        )
        .await?
        .json()?;
    Ok(reports)
}

async fn pull(
    ctx: &Ctx,
    from: &str,
    collection: Uuid,
    token_file: Option<PathBuf>,
    limit: u32,
) -> Result<ExitCode> {
    let partner = Partner::new(from, token_file)?;
    let local = ctx.client()?;
    let server = partner.root.clone();
    let saved: CursorView = local
        .get(&with_query(
            "/api/v1/taxii/cursor",
            &CursorQuery {
                server: server.clone(),
                collection,
            },
        )?)
        .await?;
    let mut cursor = saved.cursor.unwrap_or(PullCursor {
        server: server.clone(),
        collection,
        added_after: None,
        next: None,
    });
    let (mut objects, mut reports, mut pages) = (0usize, 0usize, 0usize);
    let mut earlier = Earlier::default();
    loop {
        let page = partner
            .page(
                collection,
                limit,
                cursor.added_after.as_deref(),
                cursor.next.as_deref(),
            )
            .await
            .with_context(|| format!("page {} failed; the cursor stays where it was", pages + 1))?;
        reports += import(&local, &partner, collection, &page.objects, &mut earlier)
            .await
            .with_context(|| {
                format!(
                    "page {}: the import refused it; the cursor stays where it was",
                    pages + 1
                )
            })?;
        earlier.keep(&page.objects);
        pages += 1;
        objects += page.objects.len();
        // The next page resumes at `next`; once the collection is read to
        // its end, the next pull asks for what was added after the last.
        if page.more && page.next.is_some() {
            cursor.next = page.next.clone();
        } else {
            cursor.next = None;
            if page.last_added.is_some() {
                cursor.added_after = page.last_added.clone();
            }
        }
        let _: () = local.put("/api/v1/taxii/cursor", &cursor).await?;
        eprintln!(
            "page {pages}: {} objects ({objects} so far, {reports} reports imported)",
            page.objects.len()
        );
        if !page.more || page.next.is_none() {
            break;
        }
    }
    let summary = json!({
        "server": server,
        "collection": collection,
        "pages": pages,
        "objects": objects,
        "reports": reports,
        "cursor": cursor,
    });
    ctx.emit(&summary, |_| {
        format!(
            "pulled {objects} objects in {pages} pages from collection {collection} ({reports} reports imported); the next pull starts after {}",
            cursor.added_after.as_deref().unwrap_or("the beginning")
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
