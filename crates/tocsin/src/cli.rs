//! The command line.
//!
//! Two kinds of command. **Operator commands** open the database directly:
//! `init`, `serve`, `user add --admin` (the first admin), `audit verify`,
//! `audit checkpoint|prove|consistency`, `admin rebuild`, `migrate`,
//! `backup`, `demo`, and the
//! local `policy` and `report schema`. **Everything else** acts through
//! the HTTP API as an account (`--server`, a token from `tocsin login` or
//! `TOCSIN_TOKEN`), so the same access policy and two-person rules hold on
//! every path.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tocsin_domain::case::Case;
use tocsin_domain::delivery::{Hop, Party, RouteAlternative};
use tocsin_domain::grading::{AdmiraltyGrade, Detail};
use tocsin_domain::report::{HarmType, NonEmptyVec};
use tocsin_domain::sanitise::Finding;
use tocsin_domain::text::{ElementName, Name, Reason};
use tocsin_domain::{ActorName, RecordedEvent, Timestamp, parse_report};
use tocsin_ledger::{Checkpoint, NoteVerifier, open_checkpoint};
use tocsin_service::Service;
use tocsin_store::audit::{VerifyOptions, consistency, inclusion, verify};

use crate::app::{self, Paths};
use crate::client::{self, Client, q};
use crate::render;

mod screening;

const ABOUT: &str = "tocsin: a system of record for the duty to warn.

Threat reports go in; a determination with a rule trace comes out; waivers
need a second person; a sanitised warning is drafted, approved, delivered and
answered; every step lands in a tamper-evident, verifiable ledger.

Start with `tocsin demo` (a server with the Kerman and Crocus cases), or
`tocsin init`, `tocsin user add --admin NAME`, `tocsin serve`, `tocsin login`.";

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

#[derive(Parser)]
#[command(name = "tocsin", version, about = "A system of record for the duty to warn", long_about = ABOUT)]
struct Cli {
    /// The database (operator commands): an SQLite file, or a PostgreSQL URL
    /// (postgres://user@host:port/database).
    #[arg(
        long,
        env = "TOCSIN_DB",
        default_value = "tocsin.db",
        global = true,
        hide_env_values = true
    )]
    db: PathBuf,
    /// The signing key file (default for an SQLite file: its path with `.key` appended; required for PostgreSQL).
    #[arg(long, env = "TOCSIN_KEY", global = true)]
    key: Option<PathBuf>,
    /// A policy file to use instead of the built-in ICD 191 policy.
    #[arg(long, env = "TOCSIN_POLICY", global = true)]
    policy: Option<PathBuf>,
    /// The tocsin server (default: the one `tocsin login` used, else http://127.0.0.1:8080).
    #[arg(long, env = "TOCSIN_SERVER", global = true)]
    server: Option<String>,
    /// An API token (default: the one `tocsin login` saved).
    #[arg(long, env = "TOCSIN_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
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
    /// Run the HTTP API server.
    Serve(ServeArgs),
    /// Log in to a server and keep an API token for the other commands.
    Login {
        /// The account name.
        name: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Days the saved token stays valid.
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Forget the saved token (and revoke it on the server).
    Logout,
    /// Who the server says you are.
    Whoami,
    /// Accounts (the first admin directly in the database; the rest through the API).
    #[command(subcommand)]
    User(UserCmd),
    /// Elements (organisations).
    #[command(subcommand)]
    Element(ElementCmd),
    /// API tokens for machines.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The deployment's clearance levels.
    #[command(subcommand)]
    Clearance(ClearanceCmd),
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
    /// Reference data: relations between states, the recipients directory.
    #[command(subcommand)]
    Reference(ReferenceCmd),
    /// Where escalations are sent, and the notices not yet delivered.
    #[command(subcommand)]
    Notify(NotifyCmd),
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
    /// The tamper-evident ledger: verify, checkpoints, proofs, the access log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// The policy the duty is decided under.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Operator tasks.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Screen a name against the registries (watch lists and directories), in any script.
    Screen {
        name: String,
        /// Only these registries (repeat or comma-separate; default: all).
        #[arg(long = "registry", value_delimiter = ',')]
        registries: Vec<String>,
        /// Most hits shown (1 to 100).
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Drop hits scoring below this (default 0.75, the calibrated threshold).
        #[arg(long)]
        min_score: Option<f32>,
        /// Only entries of this kind: person, entity, vessel, aircraft.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Registries (watch lists, directories): import a new version, list them.
    #[command(subcommand)]
    Registry(screening::RegistryCmd),
    /// Copy a whole deployment into a new database (another backend, too), then verify the copy.
    Migrate(MigrateArgs),
    /// Back up the SQLite database to a new file (online: safe while the server runs).
    Backup {
        /// The backup file to create.
        dest: PathBuf,
    },
    /// A demonstration deployment: the Kerman and Crocus cases with demo accounts, then the server.
    Demo {
        /// Replace the demo database if it exists.
        #[arg(long)]
        force: bool,
        /// Load and print the demo, then stop instead of serving it.
        #[arg(long)]
        no_serve: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
    },
}

#[derive(Args)]
struct MigrateArgs {
    /// The database to copy: an SQLite path (or sqlite://PATH) or a
    /// postgres:// URL. Stop the servers writing to it first.
    #[arg(long)]
    from: PathBuf,
    /// The new database: an SQLite path that does not exist yet, or an
    /// existing, empty PostgreSQL database (postgres://...). The signing
    /// key (--key; for an SQLite source, by default the one beside it)
    /// stays the deployment's key.
    #[arg(long)]
    to: PathBuf,
    /// Do not run a full `audit verify` on the copy afterwards.
    #[arg(long)]
    no_verify: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// Where to listen.
    #[arg(long, env = "TOCSIN_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Log lines as `text` or `json`.
    #[arg(long, default_value = "text")]
    log_format: String,
    /// Session cookies without `Secure` and the `__Host-` prefix (plain HTTP beyond localhost only).
    #[arg(long)]
    insecure_cookies: bool,
    /// Largest request body, in bytes.
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    body_limit: usize,
    /// Seconds between applications of the clock (escalations, re-assessment flags).
    #[arg(long, default_value_t = 30)]
    sweep_interval: u64,
    /// Seconds between looks for escalation notices to send.
    #[arg(long, default_value_t = 2, hide = true)]
    jobs_tick: u64,
    /// Seconds to wait after a failed notice before retrying (doubled each time).
    #[arg(long, default_value_t = 10)]
    retry_base: u64,
    /// Attempts before a notice is given up (and recorded as failed on its case).
    #[arg(long, default_value_t = 8)]
    retry_attempts: u32,
    /// Run no background jobs (no sweep, no notices): another process does them.
    #[arg(long)]
    no_jobs: bool,
    /// An SMTP relay for email notification targets, HOST:PORT (plain SMTP).
    #[arg(long, env = "TOCSIN_SMTP")]
    smtp: Option<String>,
    /// The sender address of notification emails.
    #[arg(long, env = "TOCSIN_SMTP_FROM", default_value = "tocsin@localhost")]
    smtp_from: String,
}

#[derive(Args, Clone)]
struct AccountArgs {
    /// How the person is shown (default: the account name).
    #[arg(long)]
    display_name: Option<String>,
    /// Elements the person belongs to (repeat or comma-separate).
    #[arg(long = "element", value_delimiter = ',')]
    elements: Vec<String>,
    /// Roles: collector, analyst, approver, delivery_officer, auditor, admin.
    #[arg(long = "role", value_delimiter = ',')]
    roles: Vec<String>,
    /// The clearance level (default: the lowest).
    #[arg(long)]
    clearance: Option<String>,
    /// Compartments held (repeat or comma-separate).
    #[arg(long = "compartment", value_delimiter = ',')]
    compartments: Vec<String>,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add an account. With --admin, create the first admin directly in the database.
    Add {
        name: String,
        /// The first admin of a new deployment (needs --db; refused once any account exists).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        account: AccountArgs,
        /// Read the password from standard input (otherwise prompted, or generated and shown).
        #[arg(long)]
        password_stdin: bool,
        /// No password: the account uses tokens only.
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
    },
    /// List accounts.
    List,
    /// Show an account.
    Show { name: String },
    /// Replace an account's roles, clearance, compartments and elements.
    Change {
        name: String,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Disable an account: its sessions and tokens stop working at once.
    Disable {
        name: String,
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled account.
    Enable {
        name: String,
        #[arg(long)]
        reason: String,
    },
    /// Set an account's password.
    Password {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum ElementCmd {
    /// Register an element.
    Add {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// List elements.
    List,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Issue a token for an account (the secret is printed once).
    Issue {
        #[arg(long)]
        account: String,
        #[arg(long)]
        label: String,
        #[arg(long = "role", value_delimiter = ',', required = true)]
        roles: Vec<String>,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// List tokens.
    List,
    /// Revoke a token.
    Revoke { token_id: String },
}

#[derive(Subcommand)]
enum ClearanceCmd {
    /// Print the levels, lowest first.
    Show,
    /// Set the levels, lowest first (comma-separated).
    Set {
        #[arg(value_delimiter = ',', required = true)]
        levels: Vec<String>,
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
        /// Reports in flight at once.
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
    /// Ranked route candidates for the case, with their reasons, and what is excluded and why.
    Plan(CaseArg),
    /// Record the chosen route: a candidate of the plan (--candidate N), or a
    /// JSON file {"recipient", "hops", "rationale", "alternatives"}.
    Choose {
        #[command(flatten)]
        case: CaseArg,
        #[arg(required_unless_present = "candidate", conflicts_with = "candidate")]
        file: Option<PathBuf>,
        /// The rank of a candidate in `tocsin route plan`.
        #[arg(long)]
        candidate: Option<u32>,
        /// Why (default: the candidate's reason).
        #[arg(long)]
        rationale: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReferenceCmd {
    /// Print the relations between our state and the others.
    Relations {
        /// Replace them with this JSON file (as printed by --json).
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// Print the recipients directory.
    Directory {
        /// Replace it with this JSON file (as printed by --json).
        #[arg(long)]
        set: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum NotifyCmd {
    /// Add or change a target: --webhook URL (with --secret-stdin for an HMAC secret) or --email ADDRESSES.
    Set {
        name: String,
        #[arg(long, conflicts_with = "email", required_unless_present = "email")]
        webhook: Option<String>,
        #[arg(long, value_delimiter = ',')]
        email: Vec<String>,
        /// Read the webhook's signing secret from standard input.
        #[arg(long, requires = "webhook")]
        secret_stdin: bool,
    },
    /// List targets.
    Targets,
    /// Remove a target.
    Remove { name: String },
    /// Escalation notices not yet delivered (pending, sending, failed).
    List {
        #[arg(long)]
        status: Option<String>,
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
    /// A draft from the template for the case's target kind.
    Template {
        #[command(flatten)]
        case: CaseArg,
        /// Who speaks in the text ("The United States").
        #[arg(long)]
        sender: Option<String>,
    },
    /// The approved warning as a printable letter or an OASIS CAP 1.2 alert.
    Export {
        #[command(flatten)]
        case: CaseArg,
        #[arg(long)]
        version: u32,
        /// letter or cap.
        #[arg(long, default_value = "letter")]
        format: String,
        /// For cap: private (the default) or restricted.
        #[arg(long)]
        scope: Option<String>,
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
    /// Verify the whole ledger in the database (exit 0 when intact, 3 with the first bad position otherwise).
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
        /// Also check the database itself (SQLite quick_check; on PostgreSQL the ledger head, tree levels and tables against each other).
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
    /// The access log from the server: reads of restricted content and refusals.
    Access {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        after: Option<String>,
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
    server: Option<String>,
    token: Option<String>,
    json: bool,
    now: Option<Timestamp>,
}

impl Ctx {
    fn policy(&self) -> Result<tocsin_domain::LoadedPolicy> {
        app::load_policy(self.policy_path.as_deref())
    }
    async fn write_service(&self) -> Result<Service> {
        let policy = self.policy()?;
        let store = app::open_write(&self.paths).await?;
        Ok(app::service(store, policy, app::clock(self.now)))
    }
    fn emit(&self, human: impl FnOnce() -> String, json: impl FnOnce() -> Value) {
        if self.json {
            println!("{}", json());
        } else {
            println!("{}", human());
        }
    }
    /// A client with the caller's credential.
    fn client(&self) -> Result<Client> {
        let saved = client::load_saved()?;
        let server = self
            .server
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let token = self.token.clone().or_else(|| {
            saved
                .filter(|s| s.server.trim_end_matches('/') == server.trim_end_matches('/'))
                .map(|s| s.token)
        });
        Client::new(&server, token)
    }
}

fn parse_time(what: &str, s: &str) -> Result<Timestamp> {
    s.parse::<Timestamp>()
        .map_err(|e| anyhow!("{what}: '{s}' is not an RFC 3339 time with an offset, e.g. 2024-03-07T11:15:00+03:00 ({e})"))
}

/// Parses a closed-set value by its wire name.
fn parse_enum<T: DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|e| anyhow!("--{what} {s}: {e}"))
}

fn read_text(args: &TextArgs) -> Result<String> {
    match (&args.text, &args.file) {
        (Some(t), None) => Ok(t.clone()),
        (None, Some(p)) => read_input(p),
        _ => bail!("give the text with --text TEXT or --file FILE"),
    }
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

/// Deserialises JSON with the path of the failing field in the error.
fn from_json_with_path<T: DeserializeOwned>(raw: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let t = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| anyhow!("{}: {}", e.path(), e.inner()))?;
    de.end().map_err(|e| anyhow!("{e}"))?;
    Ok(t)
}

fn opt(v: Option<String>) -> Value {
    v.map(Value::String).unwrap_or(Value::Null)
}

/// Drops JSON nulls from an object (optional fields left out).
fn compact(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
    }
    v
}

/// A password: from standard input, a prompt, or (when allowed) generated.
fn read_password(from_stdin: bool, prompt: &str, may_generate: bool) -> Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_line(&mut s)?;
        let s = s.trim_end_matches(['\n', '\r']).to_owned();
        return Ok((s, false));
    }
    if let Ok(p) = std::env::var("TOCSIN_PASSWORD") {
        return Ok((p, false));
    }
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password(prompt)?;
        if may_generate {
            let b = rpassword::prompt_password("again: ")?;
            if a != b {
                bail!("the two passwords differ");
            }
        }
        return Ok((a, false));
    }
    if may_generate {
        let mut b = [0u8; 18];
        getrandom::fill(&mut b).map_err(|e| anyhow!("no OS randomness: {e}"))?;
        use base64::Engine as _;
        return Ok((
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
            true,
        ));
    }
    bail!("no password: use --password-stdin, TOCSIN_PASSWORD or a terminal")
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let now = cli
        .now
        .as_deref()
        .map(|s| parse_time("--now", s))
        .transpose()?;
    let key_arg = cli.key.clone();
    let ctx = Ctx {
        paths: Paths::new(cli.db.clone(), cli.key.clone()),
        policy_path: cli.policy.clone(),
        server: cli.server.clone(),
        token: cli.token.clone(),
        json: cli.json,
        now,
    };
    match cli.command {
        Cmd::Init { origin } => {
            let init = app::init(&ctx.paths, origin).await?;
            ctx.emit(
                || {
                    format!(
                        "initialised {}\n  deployment  {}\n  origin      {}\n  signing key {} (keep it secret; back it up)\n  verifier    {}\nnext: tocsin user add --admin NAME, then tocsin serve",
                        ctx.paths.db,
                        init.deployment_id,
                        init.origin,
                        init.key.display(),
                        init.verifier
                    )
                },
                || json!({"db": ctx.paths.db.to_string(), "deployment_id": init.deployment_id, "origin": init.origin, "key": init.key, "verifier_key": init.verifier.to_string()}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve(args) => serve(&ctx, args).await,
        Cmd::Login {
            name,
            password_stdin,
            days,
        } => login(&ctx, &name, password_stdin, days).await,
        Cmd::Logout => {
            let saved = client::load_saved()?;
            if let Some(s) = &saved {
                let c = Client::new(&s.server, Some(s.token.clone()))?;
                let r: Result<Value> = c.delete(&format!("/api/v1/me/tokens/{}", s.token_id)).await;
                if let Err(e) = r {
                    eprintln!("note: could not revoke the token on the server: {e:#}");
                }
            }
            let forgotten = client::forget()?;
            ctx.emit(
                || {
                    if forgotten {
                        "logged out: the saved token is revoked and forgotten".into()
                    } else {
                        "not logged in".into()
                    }
                },
                || json!({"logged_out": forgotten}),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Whoami => {
            let me: Value = ctx.client()?.get("/api/v1/me").await?;
            ctx.emit(
                || {
                    let a = &me["account"];
                    format!(
                        "{} ({}) via {}\n  roles       {}\n  elements    {}\n  clearance   {}\n  compartments {}",
                        a["name"].as_str().unwrap_or(""),
                        a["display_name"].as_str().unwrap_or(""),
                        me["via"].as_str().unwrap_or(""),
                        join(&me["roles"]),
                        join(&a["elements"]),
                        a["clearance"].as_str().unwrap_or(""),
                        join(&a["compartments"]),
                    )
                },
                || me.clone(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::User(cmd) => user(&ctx, cmd).await,
        Cmd::Element(cmd) => element(&ctx, cmd).await,
        Cmd::Token(cmd) => token(&ctx, cmd).await,
        Cmd::Clearance(cmd) => clearance(&ctx, cmd).await,
        Cmd::Report(cmd) => report(&ctx, cmd).await,
        Cmd::Case(cmd) => case(&ctx, cmd).await,
        Cmd::Waiver(cmd) => waiver(&ctx, cmd).await,
        Cmd::Route(RouteCmd::Plan(case)) => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let plan: Value = c.get(&format!("/api/v1/cases/{id}/route-plan")).await?;
            ctx.emit(|| render::route_plan(&plan), || plan.clone());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Route(RouteCmd::Choose {
            case,
            file: None,
            candidate: Some(n),
            rationale,
        }) => {
            command(
                &ctx,
                &case.case,
                "route-choice",
                compact(json!({"candidate": n, "rationale": opt(rationale)})),
            )
            .await
        }
        Cmd::Route(RouteCmd::Choose { case, file, .. }) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct RouteFile {
                recipient: Party,
                hops: NonEmptyVec<Hop>,
                rationale: Reason,
                #[serde(default)]
                alternatives: Vec<RouteAlternative>,
            }
            let file = file.ok_or_else(|| anyhow!("give a route file or --candidate N"))?;
            let raw = read_input(&file)?;
            let rf: RouteFile =
                from_json_with_path(&raw).with_context(|| format!("{}", file.display()))?;
            let route = tocsin_domain::delivery::Route::new(rf.recipient, rf.hops)
                .with_context(|| format!("{}", file.display()))?;
            let body =
                json!({"route": route, "rationale": rf.rationale, "alternatives": rf.alternatives});
            command(&ctx, &case.case, "route", body).await
        }
        Cmd::Reference(cmd) => {
            let c = ctx.client()?;
            let (path, set) = match cmd {
                ReferenceCmd::Relations { set } => ("/api/v1/reference/relations", set),
                ReferenceCmd::Directory { set } => ("/api/v1/reference/directory", set),
            };
            let v: Value = match set {
                Some(f) => {
                    let body: Value = from_json_with_path(&read_input(&f)?)
                        .with_context(|| format!("{}", f.display()))?;
                    c.put(path, &body).await?
                }
                None => c.get(path).await?,
            };
            ctx.emit(
                || serde_json::to_string_pretty(&v).unwrap_or_default(),
                || v.clone(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Notify(cmd) => notify(&ctx, cmd).await,
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
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let version = match version {
                Some(v) => v,
                None => fetch_case(&c, &id)
                    .await?
                    .approved_warning()
                    .map(|w| w.version)
                    .ok_or_else(|| anyhow!("no warning is approved on this case yet"))?,
            };
            let proof = match (proof_kind, proof) {
                (Some(k), Some(r)) => json!({"kind": k, "reference": r}),
                _ => Value::Null,
            };
            let body = compact(json!({
                "warning_version": version, "hop": hop, "status": status, "sender": sender,
                "receiver": receiver, "channel": channel, "medium": medium,
                "at": parse_time("--at", &at)?, "time_zone": time_zone, "language": language,
                "proof": proof, "failure": opt(failure), "attempt": attempt,
            }));
            command_on(&ctx, &c, &id, "deliveries", body).await
        }
        Cmd::Response(ResponseCmd::Record {
            case,
            kind,
            at,
            note,
        }) => {
            let body =
                compact(json!({"kind": kind, "at": parse_time("--at", &at)?, "note": opt(note)}));
            command(&ctx, &case.case, "responses", body).await
        }
        Cmd::Advisory(AdvisoryCmd::Decide {
            case,
            decision,
            reason,
            issued_at,
            text,
            issuer,
        }) => {
            let issued_at = issued_at
                .map(|s| parse_time("--issued-at", &s))
                .transpose()?;
            let body = compact(json!({"decision": decision, "reason": reason,
                "issued_at": issued_at, "text": opt(text), "issuer": opt(issuer)}));
            command(&ctx, &case.case, "advisory", body).await
        }
        Cmd::Outcome(OutcomeCmd::Record {
            case,
            outcome,
            at,
            note,
        }) => {
            let at = at.map(|s| parse_time("--at", &s)).transpose()?;
            let body = compact(json!({"outcome": outcome, "at": at, "note": opt(note)}));
            command(&ctx, &case.case, "outcome", body).await
        }
        Cmd::Audit(AuditCmd::Access { limit, after }) => {
            let mut path = format!("/api/v1/audit/access?limit={limit}");
            if let Some(a) = after {
                path.push_str(&format!("&after={}", q(&a)));
            }
            let page: Value = ctx.client()?.get(&path).await?;
            ctx.emit(
                || {
                    let mut s = String::new();
                    for e in page["items"].as_array().into_iter().flatten() {
                        let ev: Option<tocsin_domain::Event> =
                            serde_json::from_value(e["event"].clone()).ok();
                        s.push_str(&format!(
                            "#{:<6} {}  {:<16} {}\n",
                            e["position"],
                            e["recorded_at"].as_str().unwrap_or(""),
                            e["actor"].as_str().unwrap_or(""),
                            ev.map(|e| e.summary()).unwrap_or_default()
                        ));
                    }
                    if let Some(n) = page["next"].as_str() {
                        s.push_str(&format!("more: --after {n}\n"));
                    }
                    s.trim_end().to_owned()
                },
                || page.clone(),
            );
            Ok(ExitCode::SUCCESS)
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
        Cmd::Screen {
            name,
            registries,
            limit,
            min_score,
            kind,
        } => screening::screen(&ctx, &name, registries, limit, min_score, kind).await,
        Cmd::Registry(cmd) => screening::registry(&ctx, cmd).await,
        Cmd::Admin(AdminCmd::Rebuild) => {
            let svc = ctx.write_service().await?;
            let r = svc.rebuild().await?;
            ctx.emit(
                || {
                    format!(
                        "rebuilt the query tables from {} events in {} cases\n  before {} cases, {} reports, {} documents, sha256 {}\n  after  {} cases, {} reports, {} documents, sha256 {}\n  {}",
                        r.events,
                        r.cases,
                        r.before.cases,
                        r.before.reports,
                        r.before.docs,
                        r.before.sha256,
                        r.after.cases,
                        r.after.reports,
                        r.after.docs,
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
        Cmd::Migrate(m) => {
            crate::ops::migrate(
                &app::Db::parse(m.from),
                &app::Db::parse(m.to),
                key_arg,
                !m.no_verify,
                ctx.json,
            )
            .await
        }
        Cmd::Backup { dest } => crate::ops::backup(&ctx.paths.db, &dest, ctx.json).await,
        Cmd::Demo {
            force,
            no_serve,
            bind,
        } => crate::demo::run(&ctx.paths, ctx.policy()?, force, no_serve, &bind).await,
    }
}

fn join(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

async fn serve(ctx: &Ctx, args: ServeArgs) -> Result<ExitCode> {
    crate::app::init_logging(&args.log_format)?;
    let svc = Arc::new(ctx.write_service().await?);
    let smtp = match &args.smtp {
        Some(s) => {
            let (host, port) = s
                .rsplit_once(':')
                .ok_or_else(|| anyhow!("--smtp {s}: give HOST:PORT"))?;
            Some(tocsin_server::jobs::SmtpConfig {
                host: host.to_owned(),
                port: port
                    .parse()
                    .map_err(|_| anyhow!("--smtp {s}: the port is not a number"))?,
                from: args.smtp_from.clone(),
            })
        }
        None => None,
    };
    let jobs = (!args.no_jobs).then(|| tocsin_server::jobs::JobsConfig {
        tick: std::time::Duration::from_secs(args.jobs_tick.max(1)),
        sweep_every: std::time::Duration::from_secs(args.sweep_interval.max(1)),
        retry: tocsin_service::RetryPolicy {
            base: std::time::Duration::from_secs(args.retry_base.max(1)),
            max_attempts: args.retry_attempts.max(1),
            ..Default::default()
        },
        smtp,
        ..Default::default()
    });
    let config = tocsin_server::ServerConfig {
        body_limit: args.body_limit,
        secure_cookies: !args.insecure_cookies,
        jobs,
        ..Default::default()
    };
    crate::app::serve(svc, config, &args.bind).await?;
    Ok(ExitCode::SUCCESS)
}

async fn login(ctx: &Ctx, name: &str, password_stdin: bool, days: u32) -> Result<ExitCode> {
    let server = ctx
        .server
        .clone()
        .or_else(|| client::load_saved().ok().flatten().map(|s| s.server))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let c = Client::new(&server, None)?;
    let (password, _) = read_password(password_stdin, "password: ", false)?;
    let (_, headers, session) = c
        .send(
            Method::POST,
            "/api/v1/session",
            Some(&json!({"name": name, "password": password})),
            &[],
        )
        .await?;
    let cookie = headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().map(str::to_owned))
        .ok_or_else(|| anyhow!("the server set no session cookie"))?;
    let csrf = session["csrf_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
    let (_, _, token) = c
        .send(
            Method::POST,
            "/api/v1/me/tokens",
            Some(&json!({"label": format!("tocsin CLI on {host}"), "valid_for_days": days})),
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        )
        .await?;
    let _ = c
        .send(
            Method::DELETE,
            "/api/v1/session",
            None,
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        )
        .await;
    let saved = client::Saved {
        server: c.base().to_owned(),
        account: name.to_owned(),
        token: token["secret"].as_str().unwrap_or_default().to_owned(),
        token_id: token["token"]["token_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let path = client::save(&saved)?;
    ctx.emit(
        || {
            format!(
                "logged in to {} as {name}; token {} saved in {} (valid {days} days)",
                saved.server,
                saved.token_id,
                path.display()
            )
        },
        || json!({"server": saved.server, "account": name, "token_id": saved.token_id, "saved": path}),
    );
    Ok(ExitCode::SUCCESS)
}

fn spec_json(name: &str, a: &AccountArgs, default_clearance: Option<&str>) -> Result<Value> {
    let clearance = a
        .clearance
        .clone()
        .or_else(|| default_clearance.map(str::to_owned))
        .ok_or_else(|| anyhow!("give --clearance LEVEL"))?;
    Ok(json!({
        "display_name": a.display_name.clone().unwrap_or_else(|| name.to_owned()),
        "elements": a.elements,
        "roles": a.roles,
        "clearance": clearance,
        "compartments": a.compartments,
    }))
}

fn print_account(ctx: &Ctx, a: &Value) {
    ctx.emit(
        || {
            format!(
                "{} ({}){}\n  roles        {}\n  elements     {}\n  clearance    {}\n  compartments {}",
                a["name"].as_str().unwrap_or(""),
                a["display_name"].as_str().unwrap_or(""),
                if a["disabled"].as_bool() == Some(true) { " DISABLED" } else { "" },
                join(&a["roles"]),
                join(&a["elements"]),
                a["clearance"].as_str().unwrap_or(""),
                join(&a["compartments"])
            )
        },
        || a.clone(),
    );
}

async fn user(ctx: &Ctx, cmd: UserCmd) -> Result<ExitCode> {
    match cmd {
        UserCmd::Add {
            name,
            admin: true,
            account,
            password_stdin,
            no_password,
        } => {
            if no_password {
                bail!("the first admin needs a password, to log in");
            }
            let svc = ctx.write_service().await?;
            let n = ActorName::new(name.as_str()).map_err(|e| anyhow!("{name}: {e}"))?;
            let display = Name::new(account.display_name.clone().unwrap_or_else(|| name.clone()))
                .map_err(|e| anyhow!("--display-name: {e}"))?;
            let element = ElementName::new(
                account
                    .elements
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "Administration".to_owned()),
            )
            .map_err(|e| anyhow!("--element: {e}"))?;
            let (pw, generated) = read_password(password_stdin, "password for the admin: ", true)?;
            let pw =
                tocsin_domain::access::Password::new(pw).map_err(|e| anyhow!("password: {e}"))?;
            let shown = generated.then(|| pw.expose().to_owned());
            let a = svc.bootstrap_admin(n, display, element, pw).await?;
            ctx.emit(
                || {
                    let mut s = format!(
                        "created the first admin {} in element {}; log in with `tocsin login {}` once `tocsin serve` runs",
                        a.name,
                        a.spec.elements.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "),
                        a.name
                    );
                    if let Some(p) = &shown {
                        s.push_str(&format!("\ngenerated password (shown once): {p}"));
                    }
                    s
                },
                || json!({"account": a, "generated_password": shown}),
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Add {
            name,
            admin: false,
            account,
            password_stdin,
            no_password,
        } => {
            let c = ctx.client()?;
            let levels: Vec<String> = c.get("/api/v1/clearance-levels").await?;
            let mut body = spec_json(&name, &account, levels.first().map(|s| s.as_str()))?;
            body["name"] = json!(name);
            let mut generated = None;
            if !no_password {
                let (pw, g) =
                    read_password(password_stdin, &format!("password for {name}: "), true)?;
                if g {
                    generated = Some(pw.clone());
                }
                body["password"] = json!(pw);
            }
            let a: Value = c.post("/api/v1/accounts", &body).await?;
            print_account(ctx, &a);
            if let Some(p) = generated
                && !ctx.json
            {
                println!("generated password (shown once): {p}");
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::List => {
            let page: Value = ctx.client()?.get("/api/v1/accounts?limit=1000").await?;
            ctx.emit(
                || {
                    let mut s = String::new();
                    for a in page["items"].as_array().into_iter().flatten() {
                        s.push_str(&format!(
                            "{:<24} {:<14} {:<40} {}{}\n",
                            a["name"].as_str().unwrap_or(""),
                            a["clearance"].as_str().unwrap_or(""),
                            join(&a["roles"]),
                            join(&a["elements"]),
                            if a["disabled"].as_bool() == Some(true) {
                                "  DISABLED"
                            } else {
                                ""
                            }
                        ));
                    }
                    s.trim_end().to_owned()
                },
                || page.clone(),
            );
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Show { name } => {
            let a: Value = ctx
                .client()?
                .get(&format!("/api/v1/accounts/{}", q(&name)))
                .await?;
            print_account(ctx, &a);
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Change { name, account } => {
            let c = ctx.client()?;
            let current: Value = c.get(&format!("/api/v1/accounts/{}", q(&name))).await?;
            let mut merged = account.clone();
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            };
            if merged.elements.is_empty() {
                merged.elements = strings(&current["elements"]);
            }
            if merged.roles.is_empty() {
                merged.roles = strings(&current["roles"]);
            }
            if merged.compartments.is_empty() {
                merged.compartments = strings(&current["compartments"]);
            }
            if merged.display_name.is_none() {
                merged.display_name = current["display_name"].as_str().map(str::to_owned);
            }
            let body = spec_json(&name, &merged, current["clearance"].as_str())?;
            let a: Value = c
                .put(&format!("/api/v1/accounts/{}", q(&name)), &body)
                .await?;
            print_account(ctx, &a);
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Disable { name, reason } => {
            let a: Value = ctx
                .client()?
                .post(
                    &format!("/api/v1/accounts/{}/disable", q(&name)),
                    &json!({"reason": reason}),
                )
                .await?;
            print_account(ctx, &a);
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Enable { name, reason } => {
            let a: Value = ctx
                .client()?
                .post(
                    &format!("/api/v1/accounts/{}/enable", q(&name)),
                    &json!({"reason": reason}),
                )
                .await?;
            print_account(ctx, &a);
            Ok(ExitCode::SUCCESS)
        }
        UserCmd::Password {
            name,
            password_stdin,
        } => {
            let (pw, generated) =
                read_password(password_stdin, &format!("new password for {name}: "), true)?;
            let (_, _, _) = ctx
                .client()?
                .send(
                    Method::PUT,
                    &format!("/api/v1/accounts/{}/password", q(&name)),
                    Some(&json!({"password": pw})),
                    &[],
                )
                .await?;
            ctx.emit(
                || {
                    let mut s = format!("password of {name} set; its sessions are ended");
                    if generated {
                        s.push_str(&format!("\ngenerated password (shown once): {pw}"));
                    }
                    s
                },
                || json!({"account": name, "generated_password": generated.then_some(&pw)}),
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn notify(ctx: &Ctx, cmd: NotifyCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        NotifyCmd::Set {
            name,
            webhook,
            email,
            secret_stdin,
        } => {
            let channel = match webhook {
                Some(url) => json!({"kind": "webhook", "url": url}),
                None => json!({"kind": "email", "to": email}),
            };
            let secret = if secret_stdin {
                let mut s = String::new();
                std::io::stdin().read_line(&mut s)?;
                Value::String(s.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                Value::Null
            };
            let t: Value = c
                .put(
                    &format!("/api/v1/notification-targets/{}", q(&name)),
                    &compact(json!({"channel": channel, "secret": secret})),
                )
                .await?;
            ctx.emit(
                || {
                    format!(
                        "notification target {} set{}",
                        name,
                        if t["signed"] == true { " (signed)" } else { "" }
                    )
                },
                || t.clone(),
            );
        }
        NotifyCmd::Targets => {
            let page: Value = c.get("/api/v1/notification-targets").await?;
            ctx.emit(
                || {
                    page["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|t| format!("{}  {}", t["name"].as_str().unwrap_or(""), t["channel"]))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                || page.clone(),
            );
        }
        NotifyCmd::Remove { name } => {
            c.send(
                Method::DELETE,
                &format!("/api/v1/notification-targets/{}", q(&name)),
                None,
                &[],
            )
            .await?;
            ctx.emit(
                || format!("notification target {name} removed"),
                || json!({"removed": name}),
            );
        }
        NotifyCmd::List { status } => {
            let path = match status {
                Some(s) => format!("/api/v1/notifications?status={}", q(&s)),
                None => "/api/v1/notifications".into(),
            };
            let page: Value = c.get(&path).await?;
            ctx.emit(
                || {
                    let mut s = String::new();
                    for n in page["items"].as_array().into_iter().flatten() {
                        s.push_str(&format!(
                            "{}  {:<8} attempts {}  next {}  {}\n",
                            n["id"].as_str().unwrap_or(""),
                            n["status"].as_str().unwrap_or(""),
                            n["attempts"],
                            n["next_attempt_at"].as_str().unwrap_or(""),
                            n["last_error"].as_str().unwrap_or("")
                        ));
                    }
                    if s.is_empty() {
                        "no notices waiting".into()
                    } else {
                        s.trim_end().to_owned()
                    }
                },
                || page.clone(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn element(ctx: &Ctx, cmd: ElementCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        ElementCmd::Add { name, description } => {
            let e: Value = c
                .post(
                    "/api/v1/elements",
                    &compact(json!({"name": name, "description": opt(description)})),
                )
                .await?;
            ctx.emit(
                || format!("registered element {}", e["name"].as_str().unwrap_or("")),
                || e.clone(),
            );
        }
        ElementCmd::List => {
            let page: Value = c.get("/api/v1/elements?limit=1000").await?;
            ctx.emit(
                || {
                    page["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|e| e["name"].as_str().unwrap_or("").to_owned())
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                || page.clone(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn token(ctx: &Ctx, cmd: TokenCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        TokenCmd::Issue {
            account,
            label,
            roles,
            days,
        } => {
            let t: Value = c
                .post(
                    "/api/v1/tokens",
                    &json!({"account": account, "label": label, "roles": roles, "valid_for_days": days}),
                )
                .await?;
            ctx.emit(
                || {
                    format!(
                        "token {} for {} ({}), expires {}\nsecret (shown once): {}",
                        t["token"]["token_id"].as_str().unwrap_or(""),
                        t["token"]["account"].as_str().unwrap_or(""),
                        join(&t["token"]["roles"]),
                        t["token"]["expires_at"].as_str().unwrap_or(""),
                        t["secret"].as_str().unwrap_or("")
                    )
                },
                || t.clone(),
            );
        }
        TokenCmd::List => {
            let page: Value = c.get("/api/v1/tokens").await?;
            ctx.emit(
                || {
                    let mut s = String::new();
                    for t in page["items"].as_array().into_iter().flatten() {
                        s.push_str(&format!(
                            "{}  {:<20} {:<30} expires {}{}\n",
                            t["token_id"].as_str().unwrap_or(""),
                            t["account"].as_str().unwrap_or(""),
                            t["label"].as_str().unwrap_or(""),
                            t["expires_at"].as_str().unwrap_or(""),
                            if t["revoked"].as_bool() == Some(true) {
                                "  REVOKED"
                            } else {
                                ""
                            }
                        ));
                    }
                    s.trim_end().to_owned()
                },
                || page.clone(),
            );
        }
        TokenCmd::Revoke { token_id } => {
            let t: Value = c
                .delete(&format!("/api/v1/tokens/{}", q(&token_id)))
                .await?;
            ctx.emit(
                || format!("token {} revoked", t["token_id"].as_str().unwrap_or("")),
                || t.clone(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn clearance(ctx: &Ctx, cmd: ClearanceCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let levels: Value = match cmd {
        ClearanceCmd::Show => c.get("/api/v1/clearance-levels").await?,
        ClearanceCmd::Set { levels } => c.put("/api/v1/clearance-levels", &json!(levels)).await?,
    };
    ctx.emit(
        || {
            levels
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(" < ")
        },
        || levels.clone(),
    );
    Ok(ExitCode::SUCCESS)
}

/// A case id from an id or a unique prefix of the cases the caller may see.
async fn resolve(c: &Client, id_or_prefix: &str) -> Result<String> {
    let s = id_or_prefix.trim();
    if s.parse::<tocsin_domain::CaseId>().is_ok() {
        return Ok(s.to_owned());
    }
    if s.len() < 4 {
        bail!("'{s}': give a case id or at least 4 characters of one");
    }
    let page: Value = c.get(&format!("/api/v1/cases?prefix={}", q(s))).await?;
    let ids: Vec<String> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    match ids.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!("there is no case {s}"),
        _ => bail!("'{s}' matches {} cases; give more of the id", ids.len()),
    }
}

/// The case, folded here from its events (the same pure fold the server uses).
async fn fetch_case(c: &Client, id: &str) -> Result<Case> {
    let page: Value = c.get(&format!("/api/v1/cases/{id}/events")).await?;
    let mut recorded = Vec::new();
    for e in page["items"].as_array().into_iter().flatten() {
        recorded.push(RecordedEvent {
            seq: e["seq"].as_u64().unwrap_or(0),
            recorded_at: serde_json::from_value(e["recorded_at"].clone())?,
            actor: serde_json::from_value(e["actor"].clone())?,
            event: serde_json::from_value(e["event"].clone())?,
        });
    }
    Case::from_events(&recorded).map_err(|e| anyhow!("case {id} does not fold: {e}"))
}

async fn command(ctx: &Ctx, case: &str, what: &str, body: Value) -> Result<ExitCode> {
    let c = ctx.client()?;
    let id = resolve(&c, case).await?;
    command_on(ctx, &c, &id, what, body).await
}

async fn command_on(ctx: &Ctx, c: &Client, id: &str, what: &str, body: Value) -> Result<ExitCode> {
    let r: Value = c.post(&format!("/api/v1/cases/{id}/{what}"), &body).await?;
    ctx.emit(
        || {
            let mut s = format!(
                "recorded {} on case {}; it is now {} (ledger positions {}..{}, size {})",
                join(&r["events"]),
                id,
                r["state"].as_str().unwrap_or(""),
                r["first_position"],
                r["first_position"].as_u64().unwrap_or(0) + r["count"].as_u64().unwrap_or(1) - 1,
                r["tree_size"]
            );
            if let Some(w) = r["waiver_id"].as_str() {
                s.push_str(&format!("\nwaiver {w}"));
            }
            if let Some(v) = r["warning_version"].as_u64() {
                s.push_str(&format!("\nwarning version {v}"));
            }
            s
        },
        || r.clone(),
    );
    Ok(ExitCode::SUCCESS)
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
            // Check every document before sending anything: one bad
            // document and nothing is submitted.
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
            let mut units: Vec<(String, String)> = Vec::new();
            for (label, raw) in &docs {
                if jsonl {
                    for (i, line) in raw.lines().enumerate() {
                        if !line.trim().is_empty() {
                            units.push((format!("{label}:{}", i + 1), line.to_owned()));
                        }
                    }
                } else {
                    units.push((label.clone(), raw.clone()));
                }
            }
            drop(docs);
            let mut errors = Vec::new();
            for (label, text) in &units {
                if let Err(e) = parse_report(text) {
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
            let c = ctx.client()?;
            let mut query = Vec::new();
            if let Some(cs) = case {
                query.push(format!("case={}", resolve(&c, &cs).await?));
            }
            if let Some(o) = owner {
                query.push(format!("owner={}", q(&o)));
            }
            let path = if query.is_empty() {
                "/api/v1/reports".to_owned()
            } else {
                format!("/api/v1/reports?{}", query.join("&"))
            };
            let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            let mut failed = 0;
            for (label, text) in units {
                let permit = sem.clone().acquire_owned().await?;
                let (c, path) = (c.clone(), path.clone());
                tasks.spawn(async move {
                    let res = submit_one(&c, &path, &label, &text).await;
                    drop(permit);
                    (label, res)
                });
                while let Some(done) = tasks.try_join_next() {
                    if print_ack(ctx.json, done?).is_err() {
                        failed += 1;
                    }
                }
            }
            while let Some(done) = tasks.join_next().await {
                if print_ack(ctx.json, done?).is_err() {
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

/// Submits one report with an idempotency key derived from its place and
/// content, retrying connection failures: a retry never duplicates it.
async fn submit_one(c: &Client, path: &str, label: &str, text: &str) -> Result<Value> {
    use sha2::Digest;
    let key: String = sha2::Sha256::digest(format!("{label}\n{text}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    let body: Value = serde_json::from_str(text)?;
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 0..5 {
        match c
            .send(
                Method::POST,
                path,
                Some(&body),
                &[("idempotency-key", &key)],
            )
            .await
        {
            Ok((_, _, v)) => return Ok(v),
            Err(e) if e.downcast_ref::<client::Problem>().is_none() && attempt < 4 => {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    bail!("gave up after retries")
}

fn print_ack(json: bool, (label, res): (String, Result<Value>)) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match res {
        Ok(v) => {
            if json {
                writeln!(
                    out,
                    "{}",
                    json!({"accepted": label, "report": v["report_id"], "case": v["case_id"], "new_case": v["new_case"]})
                )?;
            } else {
                writeln!(
                    out,
                    "accepted {label}: report {} {} case {}",
                    v["report_id"].as_str().unwrap_or(""),
                    if v["new_case"].as_bool() == Some(true) {
                        "opened"
                    } else {
                        "joined"
                    },
                    v["case_id"].as_str().unwrap_or("")
                )?;
            }
            out.flush()?;
            Ok(())
        }
        Err(e) => {
            eprintln!("not accepted {label}: {e:#}");
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
            let mut query = vec![format!("limit={limit}")];
            if let Some(s) = state {
                if tocsin_domain::CaseState::parse(&s).is_none() {
                    bail!(
                        "--state {s}: not a state; states are {}",
                        tocsin_domain::CaseState::ALL.map(|s| s.as_str()).join(", ")
                    );
                }
                query.push(format!("state={}", q(&s)));
            }
            for (flag, on) in [
                ("open", open),
                ("reassessment_due", reassessment_due),
                ("overdue", overdue),
            ] {
                if on {
                    query.push(format!("{flag}=true"));
                }
            }
            if let Some(a) = after {
                query.push(format!("after={}", q(&a)));
            }
            let page: Value = ctx
                .client()?
                .get(&format!("/api/v1/cases?{}", query.join("&")))
                .await?;
            if ctx.json {
                println!("{page}");
            } else {
                let rows: Vec<render::Row> = serde_json::from_value(page["items"].clone())?;
                print!("{}", render::case_list(&rows, Timestamp::now()));
                if let Some(n) = page["next"].as_str() {
                    println!("more: --after {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CaseCmd::Show(c) => {
            let cl = ctx.client()?;
            let id = resolve(&cl, &c.case).await?;
            let case = fetch_case(&cl, &id).await?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&case)?);
            } else {
                print!(
                    "{}",
                    render::case(&case, ctx.now.unwrap_or_else(Timestamp::now))
                );
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
            let c = ctx.client()?;
            let me: Value = c.get("/api/v1/me").await?;
            let grading = match grade {
                Some(g) => {
                    AdmiraltyGrade::parse(&g).map_err(|e| anyhow!("--grade: {e}"))?;
                    json!({"grade": g, "assessor": me["account"]["name"], "reason": reason})
                }
                None => Value::Null,
            };
            let axes = [&who, &where_, &when, &how];
            let specificity = if axes.iter().any(|a| a.is_some()) {
                if !axes.iter().all(|a| a.is_some()) {
                    bail!(
                        "give all four of --who, --where, --when and --how (present, partial or absent)"
                    );
                }
                for (n, v) in [
                    ("who", &who),
                    ("where", &where_),
                    ("when", &when),
                    ("how", &how),
                ] {
                    parse_enum::<Detail>(n, v.as_deref().unwrap_or(""))?;
                }
                json!({"who": who, "where": where_, "when": when, "how": how})
            } else {
                Value::Null
            };
            let harm_types = if harm.is_empty() {
                Value::Null
            } else {
                for h in &harm {
                    parse_enum::<HarmType>("harm", h)?;
                }
                json!(harm)
            };
            let window = match (window_start, window_end, time_zone) {
                (Some(a), Some(b), Some(z)) => json!({
                    "not_before": parse_time("--window-start", &a)?,
                    "not_after": parse_time("--window-end", &b)?,
                    "time_zone": z,
                }),
                _ => Value::Null,
            };
            let body = compact(json!({
                "grading": grading, "specificity": specificity, "harm_types": harm_types,
                "window": window, "reason": reason,
            }));
            let id = resolve(&c, &case.case).await?;
            command_on(ctx, &c, &id, "assessments", body).await
        }
        CaseCmd::Determine { case, note } => {
            command(
                ctx,
                &case.case,
                "determinations",
                compact(json!({"note": opt(note)})),
            )
            .await
        }
        CaseCmd::Reassess { case, reason } => {
            command(ctx, &case.case, "reassessments", json!({"reason": reason})).await
        }
        CaseCmd::Handoff {
            case,
            owner,
            element,
            reason,
        } => {
            command(
                ctx,
                &case.case,
                "handoffs",
                json!({"owner": owner, "lead_element": element, "reason": reason}),
            )
            .await
        }
        CaseCmd::Sweep => {
            let r: Value = ctx.client()?.post("/api/v1/sweep", &json!({})).await?;
            ctx.emit(
                || {
                    let events = r["events"].as_array().cloned().unwrap_or_default();
                    let mut s = format!(
                        "checked {} open case(s); {} event(s) raised\n",
                        r["cases_checked"],
                        events.len()
                    );
                    for e in &events {
                        let ev: Option<tocsin_domain::Event> =
                            serde_json::from_value(e["event"].clone()).ok();
                        s.push_str(&format!(
                            "  {}  {}\n",
                            e["case_id"].as_str().unwrap_or(""),
                            ev.map(|e| e.summary()).unwrap_or_default()
                        ));
                    }
                    s.trim_end().to_owned()
                },
                || r.clone(),
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
            let body = compact(
                json!({"ground": ground, "reason": reason, "legal_review": opt(legal_review)}),
            );
            command(ctx, &case.case, "waivers", body).await
        }
        WaiverCmd::Approve {
            case,
            waiver,
            reason,
        } => {
            let w: tocsin_domain::WaiverId = waiver.parse()?;
            command(
                ctx,
                &case.case,
                &format!("waivers/{w}/approval"),
                json!({"reason": reason}),
            )
            .await
        }
        WaiverCmd::Reject {
            case,
            waiver,
            reason,
        } => {
            let w: tocsin_domain::WaiverId = waiver.parse()?;
            command(
                ctx,
                &case.case,
                &format!("waivers/{w}/rejection"),
                json!({"reason": reason}),
            )
            .await
        }
    }
}

async fn warning(ctx: &Ctx, cmd: WarningCmd) -> Result<ExitCode> {
    match cmd {
        WarningCmd::Check { case, text: t } => {
            let body = read_text(&t)?;
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let r: Value = c
                .post(
                    &format!("/api/v1/cases/{id}/warning-checks"),
                    &json!({"text": body}),
                )
                .await?;
            let findings: Vec<Finding> = serde_json::from_value(r["findings"].clone())?;
            ctx.emit(
                || {
                    if findings.is_empty() {
                        "no findings: the text can be drafted".to_owned()
                    } else {
                        render::findings(&body, &findings)
                    }
                },
                || r.clone(),
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
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let r = c
                .send(
                    Method::POST,
                    &format!("/api/v1/cases/{id}/warnings"),
                    Some(&json!({"text": body, "withheld": withheld, "language": language})),
                    &[],
                )
                .await;
            match r {
                Ok((_, _, v)) => {
                    ctx.emit(
                        || {
                            format!(
                                "warning version {} drafted on case {id}; it is now {}",
                                v["warning_version"],
                                v["state"].as_str().unwrap_or("")
                            )
                        },
                        || v.clone(),
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if let Some(p) = e.downcast_ref::<client::Problem>()
                        && p.kind() == "sanitisation-findings"
                        && !ctx.json
                    {
                        let findings: Vec<Finding> =
                            serde_json::from_value(p.body["findings"].clone()).unwrap_or_default();
                        eprintln!("{}", render::findings(&body, &findings));
                    }
                    Err(e)
                }
            }
        }
        WarningCmd::Approve {
            case,
            version,
            sha256,
        } => {
            command(
                ctx,
                &case.case,
                &format!("warnings/{version}/approval"),
                compact(json!({"sha256": opt(sha256)})),
            )
            .await
        }
        WarningCmd::Template { case, sender } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let path = match sender {
                Some(s) => format!("/api/v1/cases/{id}/warning-template?sender={}", q(&s)),
                None => format!("/api/v1/cases/{id}/warning-template"),
            };
            let d: Value = c.get(&path).await?;
            ctx.emit(
                || {
                    format!(
                        "{}\n--- withheld: {}",
                        d["text"].as_str().unwrap_or(""),
                        join(&d["withheld"])
                    )
                },
                || d.clone(),
            );
            Ok(ExitCode::SUCCESS)
        }
        WarningCmd::Export {
            case,
            version,
            format,
            scope,
        } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let path = match (format.as_str(), scope) {
                ("letter", _) => format!("/api/v1/cases/{id}/warnings/{version}/letter"),
                ("cap", None) => format!("/api/v1/cases/{id}/warnings/{version}/cap"),
                ("cap", Some(s)) => {
                    format!("/api/v1/cases/{id}/warnings/{version}/cap?scope={}", q(&s))
                }
                (other, _) => bail!("--format {other}: give letter or cap"),
            };
            let (_, _, body) = c.send(Method::GET, &path, None, &[]).await?;
            print!("{}", body.as_str().unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        WarningCmd::Show { case, version } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let cs = fetch_case(&c, &id).await?;
            let w = match version {
                Some(v) => cs.warnings.iter().find(|w| w.version == v),
                None => cs.warnings.last(),
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
    let store = app::open_read(&ctx.paths).await?;
    match cmd {
        AuditCmd::Access { .. } => bail!("the access log is read through the server"),
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
                None => match ctx.paths.key().and_then(app::read_key) {
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
            let outcome = verify(store.clone(), &opts).await?;
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
            let p = inclusion(&*store, position, size)
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
            let proof = consistency(&*store, from, to)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r1 = tocsin_store::audit::root_at_size(&*store, from)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r2 = tocsin_store::audit::root_at_size(&*store, to)
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
