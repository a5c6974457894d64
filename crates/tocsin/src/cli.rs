//! The command line.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::json;
use tocsin_domain::case::{CaseState, Command};
use tocsin_domain::delivery::*;
use tocsin_domain::event::Assessment;
use tocsin_domain::grading::{AdmiraltyGrade, Detail, Grading, Specificity};
use tocsin_domain::report::{HarmType, HarmTypes, NonEmptyVec};
use tocsin_domain::text::{ElementName, Name, Note, Reason};
use tocsin_domain::time::{ThreatWindow, TimeZoneName};
use tocsin_domain::{Actor, ActorName, Timestamp, WaiverId, parse_report};
use tocsin_ledger::{Checkpoint, NoteVerifier, open_checkpoint};
use tocsin_service::{ManualClock, Service};
use tocsin_store::audit::{VerifyOptions, consistency, inclusion, verify};
use tocsin_store::{CaseQuery, Store};

use crate::app::{self, Paths};
use crate::render;

const ABOUT: &str = "tocsin: a system of record for the duty to warn.

Threat reports go in; a determination with a rule trace comes out; waivers
need a second person; a sanitised warning is drafted, approved, delivered and
answered; every step lands in a tamper-evident, verifiable ledger.

Start with `tocsin demo`, or `tocsin init` then `tocsin report submit FILE`.";

#[derive(Parser)]
#[command(name = "tocsin", version, about = "A system of record for the duty to warn", long_about = ABOUT)]
struct Cli {
    /// The database file.
    #[arg(long, env = "TOCSIN_DB", default_value = "tocsin.db", global = true)]
    db: PathBuf,
    /// The signing key file (default: the database path with `.key` appended).
    #[arg(long, env = "TOCSIN_KEY", global = true)]
    key: Option<PathBuf>,
    /// A policy file to use instead of the built-in ICD 191 policy.
    #[arg(long, env = "TOCSIN_POLICY", global = true)]
    policy: Option<PathBuf>,
    /// Who is acting (until accounts arrive with the HTTP API).
    #[arg(long = "as", env = "TOCSIN_AS", global = true, value_name = "NAME")]
    actor: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Use this fixed time as "now" (RFC 3339). For exercises, replays and tests.
    #[arg(long, env = "TOCSIN_NOW", global = true, hide = true)]
    now: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new database and its signing key.
    Init {
        /// The checkpoint origin line (default: tocsin.local/<deployment id>).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Threat reports: submit, and the intake schema.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Cases: list, show, assess, determine, re-assess, hand off, sweep.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Waivers of the duty (two-person).
    #[command(subcommand)]
    Waiver(WaiverCmd),
    /// The route a warning takes.
    #[command(subcommand)]
    Route(RouteCmd),
    /// Warning texts: check, draft, approve, show.
    #[command(subcommand)]
    Warning(WarningCmd),
    /// Delivery of the warning, per hop.
    #[command(subcommand)]
    Delivery(DeliveryCmd),
    /// The recipient's responses.
    #[command(subcommand)]
    Response(ResponseCmd),
    /// The public-advisory ("no double standard") decision.
    #[command(subcommand)]
    Advisory(AdvisoryCmd),
    /// What happened in the end.
    #[command(subcommand)]
    Outcome(OutcomeCmd),
    /// The tamper-evident ledger: verify, checkpoints, proofs.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The policy the duty is decided under.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Load the Kerman case of January 2024 into a fresh database and walk it through the lifecycle.
    Demo {
        /// Replace the demo database if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum ReportCmd {
    /// Submit reports (JSON files in the intake format; `-` reads standard input).
    Submit {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Join this case instead of opening a new one.
        #[arg(long)]
        case: Option<String>,
        /// The accountable owner of a new case (default: the submitter).
        #[arg(long)]
        owner: Option<String>,
        /// Each file holds one report per line (JSON lines).
        #[arg(long)]
        jsonl: bool,
        /// Reports in flight at once (they share commits).
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Print the JSON Schema of the intake format.
    Schema,
}

#[derive(Args)]
struct CaseArg {
    /// The case id (or a unique prefix of at least 4 characters).
    case: String,
}

#[derive(Subcommand)]
enum CaseCmd {
    /// List cases, newest first.
    List {
        #[arg(long)]
        state: Option<String>,
        /// Only cases that are not closed.
        #[arg(long)]
        open: bool,
        /// Only cases flagged for re-assessment.
        #[arg(long)]
        reassessment_due: bool,
        /// Only cases with an overdue step.
        #[arg(long)]
        overdue: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue from the cursor printed with the previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Everything about a case: facts, determination with rule trace, waivers, route, warning, deliveries, responses, timeline.
    Show(CaseArg),
    /// Record an analyst's assessment of the case's facts.
    Assess {
        #[command(flatten)]
        case: CaseArg,
        /// Admiralty grade, e.g. B2.
        #[arg(long)]
        grade: Option<String>,
        #[arg(long)]
        who: Option<String>,
        #[arg(long = "where")]
        where_: Option<String>,
        #[arg(long)]
        when: Option<String>,
        #[arg(long)]
        how: Option<String>,
        /// Harm types, comma-separated (intentional_killing, serious_bodily_injury, kidnapping, ...).
        #[arg(long, value_delimiter = ',')]
        harm: Vec<String>,
        #[arg(long, requires_all = ["window_end", "time_zone"])]
        window_start: Option<String>,
        #[arg(long, requires_all = ["window_start", "time_zone"])]
        window_end: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
        #[arg(long)]
        reason: String,
    },
    /// Apply the policy and record the determination with its rule trace.
    Determine {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        note: Option<String>,
    },
    /// Start a re-assessment (after a lapse, a new report, a waiver review).
    Reassess {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        reason: String,
    },
    /// Hand the case to another owner and lead element.
    Handoff {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        owner: String,
        #[arg(long)]
        element: String,
        #[arg(long)]
        reason: String,
    },
    /// Apply the clock: escalate overdue steps, flag lapsed windows and due waiver reviews.
    Sweep,
}

#[derive(Subcommand)]
enum WaiverCmd {
    /// Request a waiver on a ground of the policy.
    Request {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        ground: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        legal_review: Option<String>,
    },
    /// Approve a waiver (never by its requester).
    Approve {
        #[command(flatten)]
        case: CaseArg,
        waiver: String,
        #[arg(long)]
        reason: String,
    },
    /// Reject a waiver (never by its requester).
    Reject {
        #[command(flatten)]
        case: CaseArg,
        waiver: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum RouteCmd {
    /// Record the chosen route from a JSON file: {"recipient", "hops", "rationale", "alternatives"}.
    Choose {
        #[command(flatten)]
        case: CaseArg,
        file: PathBuf,
    },
}

#[derive(Args)]
struct TextArgs {
    /// The text.
    #[arg(long, conflicts_with = "file")]
    text: Option<String>,
    /// A file with the exact text (`-` for standard input).
    #[arg(long)]
    file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum WarningCmd {
    /// Show what the sanitisation check finds in a text (writes nothing).
    Check {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        text: TextArgs,
    },
    /// Record a new draft (refused if the check finds anything).
    Draft {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        text: TextArgs,
        /// Categories withheld, comma-separated (source_identity, collection_method, exact_timing, ...).
        #[arg(long, value_delimiter = ',')]
        withheld: Vec<String>,
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// Approve a draft (two-person): give the sha256 you read to be sure it did not change.
    Approve {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        version: u32,
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Print the exact text of a warning version and its hash.
    Show {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        version: Option<u32>,
    },
}

#[derive(Subcommand)]
enum DeliveryCmd {
    /// Record one hop: sent, relayed, received or failed.
    Record {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        hop: u32,
        #[arg(long)]
        status: String,
        #[arg(long)]
        sender: String,
        #[arg(long)]
        receiver: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        medium: String,
        /// When (RFC 3339 with offset).
        #[arg(long)]
        at: String,
        /// The recipient's IANA time zone.
        #[arg(long)]
        time_zone: String,
        #[arg(long, default_value = "en")]
        language: String,
        #[arg(long, requires = "proof")]
        proof_kind: Option<String>,
        #[arg(long, requires = "proof_kind")]
        proof: Option<String>,
        #[arg(long)]
        failure: Option<String>,
        #[arg(long, default_value_t = 1)]
        attempt: u32,
        /// The warning version (default: the approved one).
        #[arg(long)]
        version: Option<u32>,
    },
}

#[derive(Subcommand)]
enum ResponseCmd {
    /// Record a response: no_response, acknowledged, requested_more_information, disputed, dismissed, action_reported, action_observed.
    Record {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        at: String,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdvisoryCmd {
    /// Record the decision: issued or not_issued.
    Decide {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        decision: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        issued_at: Option<String>,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        issuer: Option<String>,
    },
}

#[derive(Subcommand)]
enum OutcomeCmd {
    /// Record the outcome: prevented, attack_occurred, no_event, unknown.
    Record {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify the whole ledger (exit 0 when intact, 3 with the first bad position otherwise).
    Verify {
        /// A checkpoint you kept: prove the log extends it.
        #[arg(long)]
        since: Option<PathBuf>,
        /// The verifier key to check signatures with (default: from the signing key, else the database's record).
        #[arg(long)]
        vkey: Option<String>,
        /// Also parse every event.
        #[arg(long)]
        deep: bool,
        /// Also check the database file itself (SQLite quick_check; takes about as long again).
        #[arg(long)]
        physical: bool,
    },
    /// Print the latest signed checkpoint (keep it to check the log later).
    Checkpoint,
    /// Inclusion proof for the event at a position.
    Prove {
        #[arg(long)]
        position: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// Consistency proof between two sizes of the log.
    Consistency {
        #[arg(long)]
        from: u64,
        #[arg(long)]
        to: Option<u64>,
    },
}

#[derive(Subcommand)]
enum PolicyCmd {
    /// Print the active policy (its exact text, with id, version and hash).
    Show,
    /// Check a policy file without using it.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Rebuild the query tables from the ledger and compare with what was there.
    Rebuild,
}

/// Exit code for a ledger that does not verify.
const EXIT_VERIFY_FAILED: u8 = 3;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Ctx {
    paths: Paths,
    policy_path: Option<PathBuf>,
    actor: Option<String>,
    json: bool,
    now: Option<Timestamp>,
}

impl Ctx {
    fn policy(&self) -> Result<tocsin_domain::LoadedPolicy> {
        app::load_policy(self.policy_path.as_deref())
    }
    fn write_service(&self) -> Result<Service> {
        let store = app::open_write(&self.paths)?;
        Ok(app::service(store, self.policy()?, app::clock(self.now)))
    }
    fn read_service(&self) -> Result<Service> {
        let store = app::open_read(&self.paths)?;
        Ok(app::service(store, self.policy()?, app::clock(self.now)))
    }
    fn actor(&self) -> Result<Actor> {
        let name = self
            .actor
            .as_deref()
            .ok_or_else(|| anyhow!("say who is acting with --as NAME (or TOCSIN_AS)"))?;
        let name = ActorName::new(name).map_err(|e| anyhow!("--as {name}: {e}"))?;
        Ok(Actor::with_all_roles(name))
    }
    fn emit(&self, human: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Value) {
        if self.json {
            println!("{}", json());
        } else {
            println!("{}", human());
        }
    }
}

fn parse_time(what: &str, s: &str) -> Result<Timestamp> {
    s.parse::<Timestamp>()
        .map_err(|e| anyhow!("{what}: '{s}' is not an RFC 3339 time with an offset, e.g. 2024-03-07T11:15:00+03:00 ({e})"))
}

/// Parses a closed-set value by its wire name.
fn parse_enum<T: DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| anyhow!("--{what} {s}: {e}"))
}

fn text<T, E: std::fmt::Display>(what: &str, r: std::result::Result<T, E>) -> Result<T> {
    r.map_err(|e| anyhow!("--{what}: {e}"))
}

fn read_text(args: &TextArgs) -> Result<String> {
    match (&args.text, &args.file) {
        (Some(t), None) => Ok(t.clone()),
        (None, Some(p)) if p.as_os_str() == "-" => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            Ok(s)
        }
        (None, Some(p)) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => bail!("give the text with --text TEXT or --file FILE"),
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let now = cli
        .now
        .as_deref()
        .map(|s| parse_time("--now", s))
        .transpose()?;
    if now.is_some() {
        eprintln!("note: the clock is fixed by --now/TOCSIN_NOW; events are recorded at that time");
    }
    let ctx = Ctx {
        paths: Paths::new(cli.db.clone(), cli.key.clone()),
        policy_path: cli.policy.clone(),
        actor: cli.actor.clone(),
        json: cli.json,
        now,
    };
    match cli.command {
        Cmd::Init { origin } => {
            let init = app::init(&ctx.paths, origin)?;
            ctx.emit(
                || {
                    format!(
                        "initialised {}\n  deployment  {}\n  origin      {}\n  signing key {} (keep it secret; back it up)\n  verifier    {}",
                        ctx.paths.db.display(),
                        init.deployment_id,
                        init.origin,
                        ctx.paths.key.display(),
                        init.verifier
                    )
                },
                || json!({"db": ctx.paths.db, "deployment_id": init.deployment_id, "origin": init.origin, "key": ctx.paths.key, "verifier_key": init.verifier.to_string()}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Report(cmd) => report(&ctx, cmd).await,
        Cmd::Case(cmd) => case(&ctx, cmd).await,
        Cmd::Waiver(cmd) => waiver(&ctx, cmd).await,
        Cmd::Route(RouteCmd::Choose { case, file }) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct RouteFile {
                recipient: Party,
                hops: NonEmptyVec<Hop>,
                rationale: Reason,
                #[serde(default)]
                alternatives: Vec<RouteAlternative>,
            }
            let raw = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let rf: RouteFile =
                from_json_with_path(&raw).with_context(|| format!("{}", file.display()))?;
            let route =
                Route::new(rf.recipient, rf.hops).with_context(|| format!("{}", file.display()))?;
            execute(
                &ctx,
                &case.case,
                Command::ChooseRoute {
                    route,
                    rationale: rf.rationale,
                    alternatives: rf.alternatives,
                },
            )
            .await
        }
        Cmd::Warning(cmd) => warning(&ctx, cmd).await,
        Cmd::Delivery(DeliveryCmd::Record {
            case,
            hop,
            status,
            sender,
            receiver,
            channel,
            medium,
            at,
            time_zone,
            language,
            proof_kind,
            proof,
            failure,
            attempt,
            version,
        }) => {
            let version = match version {
                Some(v) => v,
                None => {
                    let svc = ctx.read_service()?;
                    let id = svc.resolve(&case.case).await?;
                    svc.load(id)
                        .await?
                        .approved_warning()
                        .map(|w| w.version)
                        .ok_or_else(|| anyhow!("no warning is approved on this case yet"))?
                }
            };
            let proof = match (proof_kind, proof) {
                (Some(k), Some(r)) => Some(Proof {
                    kind: parse_enum("proof-kind", &k)?,
                    reference: text("proof", Note::new(r))?,
                }),
                _ => None,
            };
            let delivery = Delivery::new(
                version,
                hop,
                parse_enum("status", &status)?,
                text("sender", Name::new(sender))?,
                text("receiver", Name::new(receiver))?,
                parse_enum("channel", &channel)?,
                parse_enum("medium", &medium)?,
                parse_time("--at", &at)?,
                text("time-zone", TimeZoneName::new(time_zone))?,
                text("language", LanguageTag::new(language))?,
                proof,
                failure
                    .map(Note::new)
                    .transpose()
                    .map_err(|e| anyhow!("--failure: {e}"))?,
                attempt,
            )?;
            execute(&ctx, &case.case, Command::RecordDelivery { delivery }).await
        }
        Cmd::Response(ResponseCmd::Record {
            case,
            kind,
            at,
            note,
        }) => {
            let response = Response {
                kind: parse_enum("kind", &kind)?,
                at: parse_time("--at", &at)?,
                note: note
                    .map(Note::new)
                    .transpose()
                    .map_err(|e| anyhow!("--note: {e}"))?,
            };
            execute(&ctx, &case.case, Command::RecordResponse { response }).await
        }
        Cmd::Advisory(AdvisoryCmd::Decide {
            case,
            decision,
            reason,
            issued_at,
            text: t,
            issuer,
        }) => {
            let advisory = AdvisoryDecision::new(
                parse_enum("decision", &decision)?,
                text("reason", Reason::new(reason))?,
                issued_at
                    .map(|s| parse_time("--issued-at", &s))
                    .transpose()?,
                t.map(Note::new)
                    .transpose()
                    .map_err(|e| anyhow!("--text: {e}"))?,
                issuer
                    .map(Name::new)
                    .transpose()
                    .map_err(|e| anyhow!("--issuer: {e}"))?,
            )?;
            execute(&ctx, &case.case, Command::DecidePublicAdvisory { advisory }).await
        }
        Cmd::Outcome(OutcomeCmd::Record {
            case,
            outcome,
            at,
            note,
        }) => {
            let outcome = OutcomeRecord {
                outcome: parse_enum("outcome", &outcome)?,
                at: at.map(|s| parse_time("--at", &s)).transpose()?,
                note: note
                    .map(Note::new)
                    .transpose()
                    .map_err(|e| anyhow!("--note: {e}"))?,
            };
            execute(&ctx, &case.case, Command::RecordOutcome { outcome }).await
        }
        Cmd::Audit(cmd) => audit(&ctx, cmd).await,
        Cmd::Policy(PolicyCmd::Show) => {
            let p = ctx.policy()?;
            ctx.emit(
                || format!("# active policy: {} ({})\n# sha256: {}\n{}", p.reference(), p.origin, p.sha256, p.source),
                || json!({"id": p.policy.policy.id, "version": p.policy.policy.version, "sha256": p.sha256, "origin": p.origin, "source": p.source}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Policy(PolicyCmd::Check { file }) => {
            let p = app::load_policy(Some(&file))?;
            ctx.emit(
                || format!("{} is a valid policy: {} (sha256 {})", file.display(), p.reference(), p.sha256),
                || json!({"valid": true, "id": p.policy.policy.id, "version": p.policy.policy.version, "sha256": p.sha256}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Admin(AdminCmd::Rebuild) => {
            let svc = ctx.write_service()?;
            let r = svc.rebuild().await?;
            ctx.emit(
                || {
                    format!(
                        "rebuilt the query tables from {} events in {} cases\n  before {} cases, {} reports, sha256 {}\n  after  {} cases, {} reports, sha256 {}\n  {}",
                        r.events,
                        r.cases,
                        r.before.cases,
                        r.before.reports,
                        r.before.sha256,
                        r.after.cases,
                        r.after.reports,
                        r.after.sha256,
                        if r.identical() { "identical: the tables are exactly what the ledger says" } else { "DIFFERENT: the old tables did not match the ledger; they are now rebuilt from it" }
                    )
                },
                || json!({"events": r.events, "cases": r.cases, "before": r.before.sha256, "after": r.after.sha256, "identical": r.identical()}),
            );
            Ok(if r.identical() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_VERIFY_FAILED)
            })
        }
        Cmd::Demo { force } => demo(&ctx, force).await,
    }
}

/// Deserialises JSON with the path of the failing field in the error.
fn from_json_with_path<T: DeserializeOwned>(raw: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let t = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| anyhow!("{}: {}", e.path(), e.inner()))?;
    de.end().map_err(|e| anyhow!("{e}"))?;
    Ok(t)
}

async fn execute(ctx: &Ctx, case: &str, cmd: Command) -> Result<ExitCode> {
    let actor = ctx.actor()?;
    let svc = ctx.write_service()?;
    let id = svc.resolve(case).await?;
    let ex = svc.execute(&actor, id, cmd).await?;
    ctx.emit(
        || {
            let mut s = String::new();
            for e in &ex.events {
                s.push_str(&format!("{}\n", e.summary()));
            }
            s.push_str(&format!(
                "case {} is now {} (ledger positions {}..{}, size {})",
                ex.case.id,
                ex.case.state,
                ex.appended.first_position,
                ex.appended.first_position + ex.appended.count - 1,
                ex.appended.tree_size
            ));
            s
        },
        || json!({"case": ex.case.id, "state": ex.case.state, "events": ex.events.iter().map(|e| e.kind()).collect::<Vec<_>>(), "first_position": ex.appended.first_position, "count": ex.appended.count, "tree_size": ex.appended.tree_size, "root": ex.appended.root.to_base64()}),
    );
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &Path) -> Result<String> {
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

async fn report(ctx: &Ctx, cmd: ReportCmd) -> Result<ExitCode> {
    match cmd {
        ReportCmd::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&tocsin_domain::intake_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        ReportCmd::Submit {
            files,
            case,
            owner,
            jsonl,
            concurrency,
        } => {
            // Read every input, then check every document before writing
            // anything: one bad document and nothing is submitted. Documents
            // are parsed again as they are submitted, so memory holds the raw
            // text, not a million parsed reports.
            let mut docs: Vec<(String, String)> = Vec::new();
            for f in &files {
                let raw = read_input(f)?;
                let label = if f.as_os_str() == "-" {
                    "stdin".to_owned()
                } else {
                    f.display().to_string()
                };
                docs.push((label, raw));
            }
            let mut units: Vec<(String, std::ops::Range<usize>, usize)> = Vec::new();
            for (d, (label, raw)) in docs.iter().enumerate() {
                if jsonl {
                    let mut start = 0;
                    for (i, line) in raw.split_inclusive('\n').enumerate() {
                        let end = start + line.len();
                        if !line.trim().is_empty() {
                            units.push((format!("{label}:{}", i + 1), start..end, d));
                        }
                        start = end;
                    }
                } else {
                    units.push((label.clone(), 0..raw.len(), d));
                }
            }
            let mut errors = Vec::new();
            for (label, range, d) in &units {
                if let Err(e) = parse_report(&docs[*d].1[range.clone()]) {
                    errors.push(format!("{label}: {e}"));
                }
            }
            if !errors.is_empty() {
                for e in errors.iter().take(50) {
                    eprintln!("invalid report: {e}");
                }
                if errors.len() > 50 {
                    eprintln!("... and {} more", errors.len() - 50);
                }
                bail!("{} report(s) invalid; nothing was submitted", errors.len());
            }
            if units.is_empty() {
                bail!("no reports found in the input");
            }
            let actor = ctx.actor()?;
            let owner = owner
                .map(|o| ActorName::new(&o).map_err(|e| anyhow!("--owner {o}: {e}")))
                .transpose()?;
            let svc = Arc::new(ctx.write_service()?);
            let case_id = match case {
                Some(c) => Some(svc.resolve(&c).await?),
                None => None,
            };
            let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            let json = ctx.json;
            let mut failed = 0;
            for (label, range, d) in units {
                let r = parse_report(&docs[d].1[range])?;
                let permit = sem.clone().acquire_owned().await?;
                let (svc, actor, owner) = (svc.clone(), actor.clone(), owner.clone());
                tasks.spawn(async move {
                    let res = svc.submit_report(&actor, r, case_id, owner).await;
                    drop(permit);
                    (label, res)
                });
                // Acknowledge reports as their commits complete.
                while let Some(done) = tasks.try_join_next() {
                    if print_ack(json, done?).is_err() {
                        failed += 1;
                    }
                }
            }
            while let Some(done) = tasks.join_next().await {
                if print_ack(json, done?).is_err() {
                    failed += 1;
                }
            }
            if failed > 0 {
                bail!("{failed} report(s) were not accepted");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_ack(
    json: bool,
    (label, res): (
        String,
        Result<tocsin_service::Submitted, tocsin_service::ServiceError>,
    ),
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match res {
        Ok(s) => {
            let last = s.appended.first_position + s.appended.count - 1;
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({"accepted": label, "report": s.report_id, "case": s.case_id, "new_case": s.new_case, "positions": [s.appended.first_position, last], "state": s.case.state})
                )?;
            } else {
                writeln!(
                    out,
                    "accepted {label}: report {} {} case {} (ledger positions {}..{})",
                    s.report_id,
                    if s.new_case { "opened" } else { "joined" },
                    s.case_id,
                    s.appended.first_position,
                    last
                )?;
            }
            out.flush()?;
            Ok(())
        }
        Err(e) => {
            eprintln!("not accepted {label}: {e}");
            Err(anyhow!("not accepted"))
        }
    }
}

async fn case(ctx: &Ctx, cmd: CaseCmd) -> Result<ExitCode> {
    match cmd {
        CaseCmd::List {
            state,
            open,
            reassessment_due,
            overdue,
            limit,
            after,
        } => {
            let svc = ctx.read_service()?;
            let state = state
                .map(|s| {
                    CaseState::parse(&s).ok_or_else(|| {
                        anyhow!(
                            "--state {s}: not a state; states are {}",
                            CaseState::ALL.map(|s| s.as_str()).join(", ")
                        )
                    })
                })
                .transpose()?;
            let q = CaseQuery {
                state,
                open_only: open,
                reassessment_due,
                overdue_at: overdue.then(|| svc.now()),
                after,
                limit,
                access: None,
            };
            let page = svc.list(&q).await?;
            if ctx.json {
                println!("{}", json!({"items": page.items, "next": page.next}));
            } else {
                print!("{}", render::case_list(&page.items, svc.now()));
                if let Some(n) = page.next {
                    println!("more: --after {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Show(c) => {
            let svc = ctx.read_service()?;
            let id = svc.resolve(&c.case).await?;
            let case = svc.load(id).await?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&case)?);
            } else {
                print!("{}", render::case(&case, svc.now()));
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Assess {
            case,
            grade,
            who,
            where_,
            when,
            how,
            harm,
            window_start,
            window_end,
            time_zone,
            reason,
        } => {
            let actor = ctx.actor()?;
            let grading = grade
                .map(|g| -> Result<Grading> {
                    Ok(Grading {
                        grade: AdmiraltyGrade::parse(&g).map_err(|e| anyhow!("--grade: {e}"))?,
                        assessor: actor.name.clone(),
                        reason: text("reason", Reason::new(reason.clone()))?,
                    })
                })
                .transpose()?;
            let axes = [&who, &where_, &when, &how];
            let specificity = if axes.iter().any(|a| a.is_some()) {
                if !axes.iter().all(|a| a.is_some()) {
                    bail!(
                        "give all four of --who, --where, --when and --how (present, partial or absent)"
                    );
                }
                let d = |n: &str, v: &Option<String>| {
                    parse_enum::<Detail>(n, v.as_deref().unwrap_or(""))
                };
                Some(Specificity {
                    who: d("who", &who)?,
                    where_: d("where", &where_)?,
                    when: d("when", &when)?,
                    how: d("how", &how)?,
                })
            } else {
                None
            };
            let harm_types = if harm.is_empty() {
                None
            } else {
                let hs: Vec<HarmType> = harm
                    .iter()
                    .map(|h| parse_enum("harm", h))
                    .collect::<Result<_>>()?;
                Some(HarmTypes::new(hs).map_err(|e| anyhow!("--harm: {e}"))?)
            };
            let window = match (window_start, window_end, time_zone) {
                (Some(a), Some(b), Some(z)) => Some(
                    ThreatWindow::new(
                        parse_time("--window-start", &a)?,
                        parse_time("--window-end", &b)?,
                        text("time-zone", TimeZoneName::new(z))?,
                    )
                    .map_err(|e| anyhow!("window: {e}"))?,
                ),
                _ => None,
            };
            let assessment = Assessment {
                grading,
                specificity,
                harm_types,
                window,
                reason: text("reason", Reason::new(reason))?,
            };
            execute(ctx, &case.case, Command::Assess { assessment }).await
        }
        CaseCmd::Determine { case, note } => {
            let note = note
                .map(Note::new)
                .transpose()
                .map_err(|e| anyhow!("--note: {e}"))?;
            execute(ctx, &case.case, Command::Determine { note }).await
        }
        CaseCmd::Reassess { case, reason } => {
            execute(
                ctx,
                &case.case,
                Command::Reassess {
                    reason: text("reason", Reason::new(reason))?,
                },
            )
            .await
        }
        CaseCmd::Handoff {
            case,
            owner,
            element,
            reason,
        } => {
            let cmd = Command::HandOff {
                owner: text("owner", ActorName::new(owner))?,
                lead_element: text("element", ElementName::new(element))?,
                reason: text("reason", Reason::new(reason))?,
            };
            execute(ctx, &case.case, cmd).await
        }
        CaseCmd::Sweep => {
            let svc = ctx.write_service()?;
            let r = svc.sweep().await?;
            ctx.emit(
                || {
                    let mut s = format!("checked {} open case(s); {} event(s) raised\n", r.cases_checked, r.events.len());
                    for (id, e) in &r.events {
                        s.push_str(&format!("  {id}  {}\n", e.summary()));
                    }
                    s.trim_end().to_owned()
                },
                || json!({"cases_checked": r.cases_checked, "events": r.events.iter().map(|(id, e)| json!({"case": id, "event": e})).collect::<Vec<_>>()}),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn waiver(ctx: &Ctx, cmd: WaiverCmd) -> Result<ExitCode> {
    match cmd {
        WaiverCmd::Request {
            case,
            ground,
            reason,
            legal_review,
        } => {
            let cmd = Command::RequestWaiver {
                waiver_id: WaiverId::from_uuid(uuid::Uuid::new_v4()),
                ground,
                reason: text("reason", Reason::new(reason))?,
                legal_review: legal_review
                    .map(Note::new)
                    .transpose()
                    .map_err(|e| anyhow!("--legal-review: {e}"))?,
            };
            execute(ctx, &case.case, cmd).await
        }
        WaiverCmd::Approve {
            case,
            waiver,
            reason,
        } => {
            let waiver_id: WaiverId = waiver.parse()?;
            execute(
                ctx,
                &case.case,
                Command::ApproveWaiver {
                    waiver_id,
                    reason: text("reason", Reason::new(reason))?,
                },
            )
            .await
        }
        WaiverCmd::Reject {
            case,
            waiver,
            reason,
        } => {
            let waiver_id: WaiverId = waiver.parse()?;
            execute(
                ctx,
                &case.case,
                Command::RejectWaiver {
                    waiver_id,
                    reason: text("reason", Reason::new(reason))?,
                },
            )
            .await
        }
    }
}

async fn warning(ctx: &Ctx, cmd: WarningCmd) -> Result<ExitCode> {
    match cmd {
        WarningCmd::Check { case, text: t } => {
            let body = read_text(&t)?;
            let svc = ctx.read_service()?;
            let id = svc.resolve(&case.case).await?;
            let c = svc.load(id).await?;
            let findings = c.check_warning_text(&body, svc.policy());
            ctx.emit(
                || {
                    if findings.is_empty() {
                        "no findings: the text can be drafted".to_owned()
                    } else {
                        render::findings(&body, &findings)
                    }
                },
                || json!({"findings": findings}),
            );
            Ok(if findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        WarningCmd::Draft {
            case,
            text: t,
            withheld,
            language,
        } => {
            let body = read_text(&t)?;
            let withheld: BTreeSet<WithheldCategory> = withheld
                .iter()
                .map(|w| parse_enum("withheld", w))
                .collect::<Result<_>>()?;
            let cmd = Command::DraftWarning {
                text: text("text", WarningText::new(body))?,
                withheld,
                language: text("language", LanguageTag::new(language))?,
            };
            execute(ctx, &case.case, cmd).await
        }
        WarningCmd::Approve {
            case,
            version,
            sha256,
        } => execute(ctx, &case.case, Command::ApproveWarning { version, sha256 }).await,
        WarningCmd::Show { case, version } => {
            let svc = ctx.read_service()?;
            let id = svc.resolve(&case.case).await?;
            let c = svc.load(id).await?;
            let w = match version {
                Some(v) => c.warnings.iter().find(|w| w.version == v),
                None => c.warnings.last(),
            }
            .ok_or_else(|| anyhow!("case {id} has no such warning version"))?;
            ctx.emit(
                || {
                    format!(
                        "warning v{} ({}), sha256 {}\ndrafted by {} at {}; {}\nwithheld: {}\n---\n{}\n---",
                        w.version,
                        w.language,
                        w.sha256,
                        w.drafted_by,
                        w.drafted_at,
                        match (&w.approved_by, w.approved_at) {
                            (Some(by), Some(at)) => format!("approved by {by} at {at}"),
                            _ => "not approved".into(),
                        },
                        w.withheld.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
                        w.text
                    )
                },
                || serde_json::to_value(w).unwrap_or_default(),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn audit(ctx: &Ctx, cmd: AuditCmd) -> Result<ExitCode> {
    let store = app::open_read(&ctx.paths)?;
    match cmd {
        AuditCmd::Verify {
            since,
            vkey,
            deep,
            physical,
        } => {
            let (verifier, from) = match vkey {
                Some(k) => {
                    let text = if Path::new(&k).exists() {
                        std::fs::read_to_string(&k)?
                    } else {
                        k.clone()
                    };
                    (
                        NoteVerifier::parse(text.trim()).map_err(|e| anyhow!("--vkey: {e}"))?,
                        "the given verifier key",
                    )
                }
                None => match app::read_key(&ctx.paths.key) {
                    Ok(signer) => (signer.verifier(), "the signing key"),
                    Err(_) => {
                        eprintln!(
                            "note: no --vkey and no signing key: checking signatures against the key recorded in the database itself"
                        );
                        (
                            NoteVerifier::parse(&store.meta().verifier_key)?,
                            "the database's own record",
                        )
                    }
                },
            };
            if verifier.to_string() != store.meta().verifier_key {
                eprintln!(
                    "warning: the verifier key ({from}) differs from the one recorded at init ({})",
                    store.meta().verifier_key
                );
            }
            let since_cp: Option<Checkpoint> = match since {
                Some(p) => {
                    let note = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    Some(open_checkpoint(&note, &verifier).map_err(|e| {
                        anyhow!(
                            "{}: not a checkpoint signed by {verifier}: {e}",
                            p.display()
                        )
                    })?)
                }
                None => None,
            };
            let integrity = if physical {
                store.integrity_check().await?
            } else {
                Vec::new()
            };
            if !integrity.is_empty() {
                println!(
                    "FAILED: the database file is damaged: {}",
                    integrity.join("; ")
                );
                return Ok(ExitCode::from(EXIT_VERIFY_FAILED));
            }
            let show_progress = !ctx.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
            let progress = |done: u64, total: u64| {
                eprint!("\rverifying {done}/{total}");
            };
            let opts = VerifyOptions {
                verifier,
                since: since_cp,
                deep,
                progress: if show_progress { Some(&progress) } else { None },
            };
            let outcome = verify(std::sync::Arc::new(store.clone()), &opts).await?;
            if show_progress {
                eprintln!();
            }
            match outcome {
                Ok(r) => {
                    ctx.emit(
                        || {
                            let mut s = format!(
                                "OK: {} events in {} streams; {} Merkle nodes and {} checkpoints match; signed by {}\nroot {}",
                                r.size, r.streams, r.nodes, r.checkpoints, opts.verifier, r.root.to_base64()
                            );
                            if let Some((m, len)) = r.since {
                                s.push_str(&format!("\nthe log extends your checkpoint of size {m} (consistency proof of {len} hashes verified)"));
                            }
                            s
                        },
                        || json!({"ok": true, "size": r.size, "root": r.root.to_base64(), "streams": r.streams, "checkpoints": r.checkpoints, "since": r.since.map(|(m, l)| json!({"size": m, "proof_len": l}))}),
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(f) => {
                    ctx.emit(|| format!("FAILED at {f}"), || json!({"ok": false, "position": f.position, "last": f.last, "problem": f.problem}));
                    Ok(ExitCode::from(EXIT_VERIFY_FAILED))
                }
            }
        }
        AuditCmd::Checkpoint => {
            let head = store.ledger_head().await?;
            let note = head
                .checkpoint
                .ok_or_else(|| anyhow!("the ledger is empty: there is no checkpoint yet"))?;
            if ctx.json {
                println!(
                    "{}",
                    json!({"size": head.size, "root": head.root.to_base64(), "checkpoint": note})
                );
            } else {
                print!("{note}");
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Prove { position, size } => {
            let p = inclusion(&store, position, size)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            tocsin_ledger::verify_inclusion(&p.leaf_hash, p.position, p.size, &p.proof, &p.root)?;
            ctx.emit(
                || {
                    let mut s = format!("event {} is in the log of size {}\nleaf hash {}\nroot {}\nproof ({} hashes):", p.position, p.size, p.leaf_hash.to_base64(), p.root.to_base64(), p.proof.len());
                    for h in &p.proof {
                        s.push_str(&format!("\n  {}", h.to_base64()));
                    }
                    s
                },
                || json!({"position": p.position, "size": p.size, "leaf_hash": p.leaf_hash.to_base64(), "root": p.root.to_base64(), "proof": p.proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>()}),
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Consistency { from, to } => {
            let to = match to {
                Some(t) => t,
                None => store.ledger_head().await?.size,
            };
            let proof = consistency(&store, from, to)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r1 = tocsin_store::audit::root_at_size(&store, from)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r2 = tocsin_store::audit::root_at_size(&store, to)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            tocsin_ledger::verify_consistency(from, to, &r1, &r2, &proof)?;
            ctx.emit(
                || {
                    let mut s = format!("size {from} (root {}) is a prefix of size {to} (root {})\nproof ({} hashes):", r1.to_base64(), r2.to_base64(), proof.len());
                    for h in &proof {
                        s.push_str(&format!("\n  {}", h.to_base64()));
                    }
                    s
                },
                || json!({"size1": from, "size2": to, "root1": r1.to_base64(), "root2": r2.to_base64(), "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>()}),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn demo(ctx: &Ctx, force: bool) -> Result<ExitCode> {
    let paths = if ctx.paths.db == Path::new("tocsin.db") {
        Paths::new(PathBuf::from("tocsin-demo.db"), None)
    } else {
        ctx.paths.clone()
    };
    if paths.db.exists() || paths.key.exists() {
        if !force {
            bail!(
                "{} already exists: pass --force to replace the demo database",
                paths.db.display()
            );
        }
        for p in [&paths.db, &paths.key] {
            let _ = std::fs::remove_file(p);
        }
        for suffix in ["-wal", "-shm"] {
            let mut p = paths.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let init = app::init(&paths, Some("tocsin.demo/kerman".into()))?;
    println!(
        "tocsin demo: the Kerman case of January 2024, in {}",
        paths.db.display()
    );
    println!("(the clock is set to the historical dates; every step is recorded in the ledger)\n");
    let store = app::open_write(&paths)?;
    let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
    let svc = Service::new(
        Arc::new(store.clone()) as Arc<dyn Store>,
        Arc::new(ctx.policy()?),
        clock.clone(),
    );
    let mut say = |s: &str| println!("{s}");
    let run = crate::scenarios::run_kerman(&svc, &clock, &mut say).await?;
    println!("\n{}", render::case(&run.case, clock_now(&clock)));
    let outcome = verify(
        std::sync::Arc::new(store.clone()),
        &VerifyOptions {
            verifier: init.verifier.clone(),
            since: None,
            deep: true,
            progress: None,
        },
    )
    .await?;
    match outcome {
        Ok(r) => println!(
            "audit verify: OK, {} events, root {}",
            r.size,
            r.root.to_base64()
        ),
        Err(f) => bail!("the demo ledger does not verify: {f}"),
    }
    let head = store.ledger_head().await?;
    println!(
        "\nlatest signed checkpoint:\n{}",
        head.checkpoint.unwrap_or_default()
    );
    println!(
        "explore it: tocsin --db {} case show {}",
        paths.db.display(),
        run.case_id
    );
    Ok(ExitCode::SUCCESS)
}

fn clock_now(c: &ManualClock) -> Timestamp {
    tocsin_service::Clock::now(c)
}
