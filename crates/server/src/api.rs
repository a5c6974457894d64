//! The routes and their handlers. [`routes`] is the route table: each entry
//! pairs an [`Op`] (path, access, documentation) with its handler.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tocsin_domain::access::{
    Account, AccountSpec, ClearanceLevels, ElementInfo, Password, Permission, TokenInfo,
    Visibility, visibility,
};
use tocsin_domain::case::{Case, Command, WarningVersion};
use tocsin_domain::delivery::{
    AdvisoryDecision, Delivery, LanguageTag, OutcomeRecord, Response as RecipientResponse, Route,
    RouteAlternative, WarningText, WithheldCategory,
};
use tocsin_domain::event::{Assessment, Event};
use tocsin_domain::sanitise::Finding;
use tocsin_domain::text::{ElementName, Name, Note, Reason};
use tocsin_domain::{
    ActorName, CaseId, CaseState, ReportId, Role, ThreatReport, TokenId, WaiverId,
};
use tocsin_service::{Principal, Via};
use tocsin_store::audit::VerifyOptions;
use tocsin_store::{AccessFilter, CaseQuery, CaseSummary, DocExpect, DocKind, DocWrite, StreamId};

use crate::AppState;
use crate::auth;
use crate::problem::{ApiError, Kind};
use crate::table::{Access, Caller, Op, PathParams, QueryParams, RawBody, Table, client_address};

const V1: &str = "/api/v1";

pub(crate) fn needs(p: Permission) -> Access {
    Access::Needs(p)
}

/// The route table.
pub fn routes(t: &mut Table) {
    let _ = V1;
    // ---- service ----
    t.add(
        Op::get("health", "/healthz", Access::Public)
            .tag("service")
            .summary("Liveness: the process answers")
            .returns::<Health>(StatusCode::OK),
        healthz,
    );
    t.add(
        Op::get("ready", "/readyz", Access::Public)
            .tag("service")
            .summary("Readiness: the store answers")
            .returns::<Health>(StatusCode::OK),
        readyz,
    );
    t.add(
        Op::get("metrics", "/metrics", Access::Public)
            .tag("service")
            .summary("Prometheus metrics (text exposition format)")
            .returns_text(),
        metrics,
    );
    t.add(
        Op::get("openapi", "/openapi.json", Access::Public)
            .tag("service")
            .summary("This API's OpenAPI 3.1 document")
            .returns::<serde_json::Value>(StatusCode::OK),
        openapi_doc,
    );
    // ---- sessions and the caller ----
    t.add(
        Op::post("login", path!("/session"), Access::Public)
            .tag("session")
            .summary("Log in with a password; sets the session cookie")
            .describe("The answer never says whether the account exists. Failed logins are throttled per account and per address, and recorded in the ledger.")
            .body::<LoginBody>()
            .returns::<SessionView>(StatusCode::OK)
            .errors(&[Kind::Unauthenticated, Kind::Throttled]),
        login,
    );
    t.add(
        Op::delete("logout", path!("/session"), Access::Authenticated)
            .tag("session")
            .summary("Log out: ends the session and clears the cookie")
            .no_content(),
        logout,
    );
    t.add(
        Op::get("me", path!("/me"), Access::Authenticated)
            .tag("session")
            .summary("Who the caller is, with the roles this credential may use")
            .returns::<MeView>(StatusCode::OK),
        me,
    );
    t.add(
        Op::put(
            "change_own_password",
            path!("/me/password"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Change one's own password (ends every other session)")
        .body::<OwnPasswordBody>()
        .no_content()
        .errors(&[Kind::Unauthenticated]),
        change_own_password,
    );
    t.add(
        Op::post(
            "issue_own_token",
            path!("/me/tokens"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Issue an API token for oneself (shown once)")
        .body::<OwnTokenBody>()
        .returns::<NewTokenView>(StatusCode::CREATED),
        issue_own_token,
    );
    t.add(
        Op::get(
            "list_own_tokens",
            path!("/me/tokens"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("One's own API tokens")
        .returns::<List<TokenInfo>>(StatusCode::OK),
        list_own_tokens,
    );
    t.add(
        Op::delete(
            "revoke_own_token",
            path!("/me/tokens/{token_id}"),
            Access::Authenticated,
        )
        .tag("session")
        .summary("Revoke one of one's own API tokens")
        .param("token_id", "The token's id")
        .returns::<TokenInfo>(StatusCode::OK),
        revoke_own_token,
    );
    // ---- reports and cases ----
    t.add(
        Op::get(
            "intake_schema",
            path!("/reports/schema"),
            Access::Authenticated,
        )
        .tag("reports")
        .summary("The JSON Schema of the intake format")
        .returns::<serde_json::Value>(StatusCode::OK),
        intake_schema,
    );
    t.add(
        Op::post("submit_report", path!("/reports"), needs(Permission::SubmitReport))
            .tag("reports")
            .summary("Submit a threat report: it opens a case, or joins `case`")
            .describe("Send an `Idempotency-Key` header to make retries safe: the same key with the same body returns the first result and writes nothing.")
            .query::<SubmitQuery>()
            .body::<ThreatReport>()
            .idempotent()
            .returns::<SubmittedView>(StatusCode::CREATED)
            .errors(&[Kind::NotFound, Kind::Conflict, Kind::IllegalTransition]),
        submit_report,
    );
    t.add(
        Op::get("list_cases", path!("/cases"), needs(Permission::ReadCase))
            .tag("cases")
            .summary("Cases the caller may see, newest first")
            .query::<ListCasesQuery>()
            .returns::<CasePage>(StatusCode::OK),
        list_cases,
    );
    t.add(
        Op::get(
            "get_case",
            path!("/cases/{case_id}"),
            needs(Permission::ReadCase),
        )
        .tag("cases")
        .summary("Everything about a case (the read is recorded in the ledger)")
        .param("case_id", "The case id (a UUID)")
        .returns::<Case>(StatusCode::OK),
        get_case,
    );
    t.add(
        Op::get("case_events", path!("/cases/{case_id}/events"), needs(Permission::ReadCase))
            .tag("cases")
            .summary("The case's events in order, with their ledger positions (fold them to rebuild the case)")
            .param("case_id", "The case id (a UUID)")
            .returns::<List<LoggedEvent>>(StatusCode::OK),
        case_events,
    );
    case_command::<Assessment>(
        t,
        "assess",
        path!("/cases/{case_id}/assessments"),
        Permission::Analyse,
        "Record an analyst's assessment of the case's facts",
    );
    case_command::<DetermineBody>(
        t,
        "determine",
        path!("/cases/{case_id}/determinations"),
        Permission::Analyse,
        "Apply the policy and record the determination with its rule trace",
    );
    case_command::<ReasonBody>(
        t,
        "reassess",
        path!("/cases/{case_id}/reassessments"),
        Permission::Analyse,
        "Start a re-assessment",
    );
    case_command::<HandOffBody>(
        t,
        "hand_off",
        path!("/cases/{case_id}/handoffs"),
        Permission::Analyse,
        "Hand the case to another owner and lead element",
    );
    case_command::<WaiverRequestBody>(
        t,
        "request_waiver",
        path!("/cases/{case_id}/waivers"),
        Permission::Analyse,
        "Request a waiver of the duty on a ground of the policy",
    );
    case_command_with::<ApproveWaiverBody>(
        t,
        Op::post(
            "approve_waiver",
            path!("/cases/{case_id}/waivers/{waiver_id}/approval"),
            needs(Permission::Approve),
        )
        .summary("Approve a waiver (never by its requester)")
        .param("waiver_id", "The waiver id"),
    );
    case_command_with::<RejectWaiverBody>(
        t,
        Op::post(
            "reject_waiver",
            path!("/cases/{case_id}/waivers/{waiver_id}/rejection"),
            needs(Permission::Approve),
        )
        .summary("Reject a waiver (never by its requester)")
        .param("waiver_id", "The waiver id"),
    );
    case_command::<RouteBody>(
        t,
        "choose_route",
        path!("/cases/{case_id}/route"),
        Permission::Analyse,
        "Record the chosen route, with the alternatives considered",
    );
    t.add(
        Op::post(
            "check_warning",
            path!("/cases/{case_id}/warning-checks"),
            needs(Permission::Analyse),
        )
        .tag("cases")
        .summary("What the sanitisation check finds in a text (writes nothing)")
        .param("case_id", "The case id (a UUID)")
        .body::<TextBody>()
        .returns::<CheckView>(StatusCode::OK),
        check_warning,
    );
    case_command::<DraftBody>(
        t,
        "draft_warning",
        path!("/cases/{case_id}/warnings"),
        Permission::Analyse,
        "Record a new warning draft (refused with the offending spans if the check finds anything)",
    );
    case_command_with::<ApproveWarningBody>(
        t,
        Op::post(
            "approve_warning",
            path!("/cases/{case_id}/warnings/{version}/approval"),
            needs(Permission::Approve),
        )
        .summary("Approve a warning draft (two-person): give the sha256 you read")
        .param("version", "The warning version"),
    );
    t.add(
        Op::get(
            "get_warning",
            path!("/cases/{case_id}/warnings/{version}"),
            needs(Permission::ReadCase),
        )
        .tag("cases")
        .summary("The exact text of a warning version and its hash")
        .param("case_id", "The case id (a UUID)")
        .param("version", "The warning version")
        .returns::<WarningVersion>(StatusCode::OK),
        get_warning,
    );
    case_command::<Delivery>(
        t,
        "record_delivery",
        path!("/cases/{case_id}/deliveries"),
        Permission::Deliver,
        "Record one hop of delivery: sent, relayed, received or failed",
    );
    case_command::<RecipientResponse>(
        t,
        "record_response",
        path!("/cases/{case_id}/responses"),
        Permission::Deliver,
        "Record a response of the recipient",
    );
    case_command::<AdvisoryDecision>(
        t,
        "decide_advisory",
        path!("/cases/{case_id}/advisory"),
        Permission::Approve,
        "Record the public-advisory (\"no double standard\") decision",
    );
    case_command::<OutcomeRecord>(
        t,
        "record_outcome",
        path!("/cases/{case_id}/outcome"),
        Permission::Deliver,
        "Record what happened in the end",
    );
    t.add(
        Op::post("sweep", path!("/sweep"), needs(Permission::Operate))
            .tag("cases")
            .summary("Apply the clock now: escalations and re-assessment flags")
            .returns::<SweepView>(StatusCode::OK),
        sweep,
    );
    // ---- policy ----
    t.add(
        Op::get("get_policy", path!("/policy"), Access::Authenticated)
            .tag("policy")
            .summary("The active policy: its exact text, id, version and hash")
            .returns::<PolicyView>(StatusCode::OK),
        get_policy,
    );
    t.add(
        Op::post(
            "check_policy",
            path!("/policy/checks"),
            Access::Authenticated,
        )
        .tag("policy")
        .summary("Check a policy file's text without using it")
        .body::<TextBody>()
        .returns::<PolicyCheckView>(StatusCode::OK),
        check_policy,
    );
    // ---- audit ----
    t.add(
        Op::get(
            "checkpoint",
            path!("/audit/checkpoint"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("The latest signed checkpoint of the ledger")
        .returns::<CheckpointView>(StatusCode::OK),
        checkpoint,
    );
    t.add(
        Op::get(
            "verify",
            path!("/audit/verification"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Verify the whole ledger now")
        .returns::<VerificationView>(StatusCode::OK),
        verify_ledger,
    );
    t.add(
        Op::get(
            "inclusion_proof",
            path!("/audit/proofs/inclusion"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Inclusion proof of the event at a position")
        .query::<InclusionQuery>()
        .returns::<InclusionView>(StatusCode::OK),
        inclusion_proof,
    );
    t.add(
        Op::get(
            "consistency_proof",
            path!("/audit/proofs/consistency"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("Consistency proof between two sizes of the ledger")
        .query::<ConsistencyQuery>()
        .returns::<ConsistencyView>(StatusCode::OK),
        consistency_proof,
    );
    t.add(
        Op::get(
            "access_log",
            path!("/audit/access"),
            needs(Permission::Audit),
        )
        .tag("audit")
        .summary("The access log: reads of restricted content and refusals")
        .query::<PageQuery>()
        .returns::<List<LoggedEvent>>(StatusCode::OK),
        access_log,
    );
    // ---- accounts ----
    t.add(
        Op::get("list_elements", path!("/elements"), Access::Authenticated)
            .tag("accounts")
            .summary("Registered elements (organisations)")
            .query::<PageQuery>()
            .returns::<List<ElementInfo>>(StatusCode::OK),
        list_elements,
    );
    t.add(
        Op::post(
            "register_element",
            path!("/elements"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Register an element")
        .body::<ElementBody>()
        .returns::<ElementInfo>(StatusCode::CREATED)
        .errors(&[Kind::Conflict]),
        register_element,
    );
    t.add(
        Op::get(
            "list_accounts",
            path!("/accounts"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Accounts")
        .query::<PageQuery>()
        .returns::<List<Account>>(StatusCode::OK),
        list_accounts,
    );
    t.add(
        Op::post(
            "create_account",
            path!("/accounts"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Create an account")
        .body::<NewAccountBody>()
        .returns::<Account>(StatusCode::CREATED)
        .errors(&[Kind::Conflict, Kind::NotFound]),
        create_account,
    );
    t.add(
        Op::get(
            "get_account",
            path!("/accounts/{name}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("One account")
        .param("name", "The account name")
        .returns::<Account>(StatusCode::OK),
        get_account,
    );
    t.add(
        Op::put(
            "change_account",
            path!("/accounts/{name}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Change an account's roles, clearance, compartments or elements")
        .param("name", "The account name")
        .body::<AccountSpec>()
        .returns::<Account>(StatusCode::OK),
        change_account,
    );
    t.add(
        Op::post(
            "disable_account",
            path!("/accounts/{name}/disable"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Disable an account: every session and token stops working at once")
        .param("name", "The account name")
        .body::<ReasonBody>()
        .returns::<Account>(StatusCode::OK),
        disable_account,
    );
    t.add(
        Op::post(
            "enable_account",
            path!("/accounts/{name}/enable"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Enable a disabled account (old sessions and tokens stay dead)")
        .param("name", "The account name")
        .body::<ReasonBody>()
        .returns::<Account>(StatusCode::OK),
        enable_account,
    );
    t.add(
        Op::put(
            "set_password",
            path!("/accounts/{name}/password"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Set an account's password (ends its sessions)")
        .param("name", "The account name")
        .body::<PasswordBody>()
        .no_content(),
        set_password,
    );
    t.add(
        Op::get(
            "list_tokens",
            path!("/tokens"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("API tokens of every account")
        .returns::<List<TokenInfo>>(StatusCode::OK),
        list_tokens,
    );
    t.add(
        Op::post(
            "issue_token",
            path!("/tokens"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Issue an API token for an account (the secret is shown once)")
        .body::<TokenBody>()
        .returns::<NewTokenView>(StatusCode::CREATED)
        .errors(&[Kind::NotFound]),
        issue_token,
    );
    t.add(
        Op::delete(
            "revoke_token",
            path!("/tokens/{token_id}"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Revoke an API token")
        .param("token_id", "The token's id")
        .returns::<TokenInfo>(StatusCode::OK),
        revoke_token,
    );
    t.add(
        Op::get(
            "get_clearance_levels",
            path!("/clearance-levels"),
            Access::Authenticated,
        )
        .tag("accounts")
        .summary("The deployment's clearance levels, lowest first")
        .returns::<ClearanceLevels>(StatusCode::OK),
        get_levels,
    );
    t.add(
        Op::put(
            "set_clearance_levels",
            path!("/clearance-levels"),
            needs(Permission::ManageAccounts),
        )
        .tag("accounts")
        .summary("Set the clearance levels (every account's level must stay on the list)")
        .body::<ClearanceLevels>()
        .returns::<ClearanceLevels>(StatusCode::OK),
        set_levels,
    );
    crate::api_delivery::routes(t);
    crate::api_screening::routes(t);
}

// ---------------------------------------------------------------------------
// Shapes.

#[derive(Serialize, JsonSchema)]
pub struct Health {
    pub status: String,
}

/// A list with a cursor for the next page.
#[derive(Serialize, JsonSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// At most this many (1 to 1000, default 50).
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    /// The cursor from the previous page.
    pub after: Option<String>,
}

/// A page of an in-memory list ordered by `key`: the items after the
/// cursor `after`, at most `limit`, with the cursor of the next page.
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    q: &PageQuery,
) -> Result<List<T>, ApiError> {
    let limit = q.limit()? as usize;
    let mut rest: Vec<T> = match &q.after {
        Some(a) => items
            .into_iter()
            .filter(|i| key(i).as_str() > a.as_str())
            .collect(),
        None => items,
    };
    let next = if rest.len() > limit {
        rest.truncate(limit);
        rest.last().map(&key)
    } else {
        None
    };
    Ok(List { items: rest, next })
}

impl PageQuery {
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=1000) => Ok(n),
            Some(n) => Err(ApiError::bad_request(format!("limit {n}: give 1 to 1000"))),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub name: String,
    pub password: String,
}

#[derive(Serialize, JsonSchema)]
pub struct SessionView {
    pub account: Account,
    /// Send this in `X-CSRF-Token` with every state change made with the session cookie.
    pub csrf_token: String,
    pub expires_at: tocsin_domain::Timestamp,
}

#[derive(Serialize, JsonSchema)]
pub struct MeView {
    pub account: Account,
    /// The roles this credential may use (a token's scope narrows them).
    pub roles: BTreeSet<Role>,
    /// `session` or `token`.
    pub via: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<TokenId>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnPasswordBody {
    pub current: String,
    pub new: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub password: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnTokenBody {
    /// What the token is for ("laptop CLI").
    pub label: Name,
    /// The roles it may use (default: all the account's roles).
    #[serde(default)]
    pub roles: Option<BTreeSet<Role>>,
    /// Days until it expires (1 to 366, default 30).
    #[serde(default)]
    #[schemars(range(min = 1, max = 366))]
    pub valid_for_days: Option<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub account: ActorName,
    pub label: Name,
    pub roles: BTreeSet<Role>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 366))]
    pub valid_for_days: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
pub struct NewTokenView {
    /// The secret: shown now and never again.
    pub secret: String,
    pub token: TokenInfo,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitQuery {
    /// Join this case (its id) instead of opening a new one.
    pub case: Option<String>,
    /// The accountable owner of a new case (default: the submitter).
    pub owner: Option<String>,
}

#[derive(Serialize, Deserialize, JsonSchema, Clone, PartialEq)]
pub struct SubmittedView {
    pub report_id: ReportId,
    pub case_id: CaseId,
    /// The report opened a new case (rather than joining one).
    pub new_case: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCasesQuery {
    pub state: Option<CaseState>,
    /// Only cases that are not closed.
    pub open: Option<bool>,
    /// Only cases flagged for re-assessment.
    pub reassessment_due: Option<bool>,
    /// Only cases with an overdue step.
    pub overdue: Option<bool>,
    /// Only cases whose id starts with this (at least 4 hexadecimal characters).
    pub prefix: Option<String>,
    #[schemars(range(min = 1, max = 1000))]
    pub limit: Option<u32>,
    pub after: Option<String>,
}

/// One row of the case list.
#[derive(Serialize, JsonSchema)]
pub struct CaseRow {
    pub id: CaseId,
    pub title: String,
    pub state: CaseState,
    pub owner: String,
    pub lead_element: String,
    pub opened_at: tocsin_domain::Timestamp,
    pub updated_at: tocsin_domain::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassessment_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due: Option<tocsin_domain::Timestamp>,
    pub escalations: u32,
    pub reports: u32,
    pub levels: Vec<String>,
    pub compartments: Vec<String>,
}

impl From<CaseSummary> for CaseRow {
    fn from(s: CaseSummary) -> Self {
        Self {
            id: s.id,
            title: s.title,
            state: s.state,
            owner: s.owner,
            lead_element: s.lead_element,
            opened_at: s.opened_at,
            updated_at: s.updated_at,
            verdict: s.verdict,
            reassessment_due: s.reassessment_due,
            next_step: s.next_step,
            next_due: s.next_due,
            escalations: s.escalations,
            reports: s.reports.len() as u32,
            levels: s.levels,
            compartments: s.compartments,
        }
    }
}

pub type CasePage = List<CaseRow>;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetermineBody {
    #[serde(default)]
    pub note: Option<Note>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: Reason,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveWaiverBody {
    pub reason: Reason,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectWaiverBody {
    pub reason: Reason,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOffBody {
    pub owner: ActorName,
    pub lead_element: ElementName,
    pub reason: Reason,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaiverRequestBody {
    /// A ground code of the policy (W1...W6, OTHER).
    pub ground: String,
    pub reason: Reason,
    #[serde(default)]
    pub legal_review: Option<Note>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteBody {
    pub route: Route,
    pub rationale: Reason,
    #[serde(default)]
    pub alternatives: Vec<RouteAlternative>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub text: String,
}

#[derive(Serialize, JsonSchema)]
pub struct CheckView {
    /// What would reveal protected information, with byte spans; empty when the text can be drafted.
    pub findings: Vec<Finding>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    pub text: WarningText,
    #[serde(default)]
    pub withheld: BTreeSet<WithheldCategory>,
    /// BCP 47 language tag (default `en`).
    #[serde(default)]
    pub language: Option<LanguageTag>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveWarningBody {
    /// The SHA-256 of the text the approver read: refused if the draft differs.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// What a command did.
#[derive(Serialize, JsonSchema)]
pub struct CommandResult {
    pub case_id: CaseId,
    pub state: CaseState,
    /// The kinds of the events recorded.
    pub events: Vec<String>,
    /// Ledger position of the first event recorded.
    pub first_position: u64,
    pub count: u64,
    /// Ledger size and root after the commit.
    pub tree_size: u64,
    pub root: String,
    /// The new waiver's id, for a waiver request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver_id: Option<WaiverId>,
    /// The new warning version, for a draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning_version: Option<u32>,
}

#[derive(Serialize, JsonSchema)]
pub struct SweepView {
    pub cases_checked: u64,
    pub events: Vec<SweptEvent>,
}

#[derive(Serialize, JsonSchema)]
pub struct SweptEvent {
    pub case_id: CaseId,
    pub event: Event,
}

#[derive(Serialize, JsonSchema)]
pub struct PolicyView {
    pub id: String,
    pub version: String,
    pub sha256: String,
    pub origin: String,
    /// The exact text of the policy file.
    pub source: String,
}

#[derive(Serialize, JsonSchema)]
pub struct PolicyCheckView {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why the text is not a valid policy (with its line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct CheckpointView {
    pub size: u64,
    /// Base64 root hash.
    pub root: String,
    /// The C2SP signed note (absent for an empty ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The verifier key (C2SP vkey) to check it with.
    pub verifier_key: String,
}

#[derive(Serialize, JsonSchema)]
pub struct VerificationView {
    pub ok: bool,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<u64>,
    /// The first bad position, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    pub position: u64,
    /// The tree size (default: the current one).
    pub size: Option<u64>,
}

#[derive(Serialize, JsonSchema)]
pub struct InclusionView {
    pub position: u64,
    pub size: u64,
    pub leaf_hash: String,
    pub root: String,
    pub proof: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// Default: the current size.
    pub to: Option<u64>,
}

#[derive(Serialize, JsonSchema)]
pub struct ConsistencyView {
    pub size1: u64,
    pub size2: u64,
    pub root1: String,
    pub root2: String,
    pub proof: Vec<String>,
}

/// An event of the ledger with its place.
#[derive(Serialize, JsonSchema)]
pub struct LoggedEvent {
    pub position: u64,
    pub seq: u64,
    pub recorded_at: tocsin_domain::Timestamp,
    pub actor: ActorName,
    pub event: Event,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementBody {
    pub name: ElementName,
    #[serde(default)]
    pub description: Option<Note>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountBody {
    pub name: ActorName,
    #[serde(flatten)]
    pub spec: AccountSpec,
    /// At least 12 characters (optional: without one the account can only use tokens).
    #[serde(default)]
    pub password: Option<String>,
}

// ---------------------------------------------------------------------------
// Helpers.

pub(crate) fn json<T: Serialize>(status: StatusCode, v: &T) -> Response {
    match serde_json::to_vec(v) {
        Ok(body) => {
            let mut r = (status, body).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => ApiError::internal(format!("cannot encode the answer: {e}")).into_response(),
    }
}

pub(crate) fn ok<T: Serialize>(v: &T) -> Result<Response, ApiError> {
    Ok(json(StatusCode::OK, v))
}

fn password(s: String, field: &str) -> Result<Password, ApiError> {
    Password::new(s).map_err(|e| ApiError::validation(format!("{field}: {e}")).field(field))
}

/// The access filter for case lists.
async fn filter(state: &AppState, p: &Principal) -> Result<AccessFilter, ApiError> {
    let levels = state.svc.clearance_levels().await?;
    Ok(AccessFilter {
        levels: levels
            .at_or_below(&p.account.spec.clearance)
            .iter()
            .map(|l| l.to_string())
            .collect(),
        compartments: p
            .account
            .spec
            .compartments
            .iter()
            .map(|c| c.to_string())
            .collect(),
        elements: if p.roles.contains(&Role::Auditor) {
            None
        } else {
            Some(
                p.account
                    .spec
                    .elements
                    .iter()
                    .map(|e| e.to_string())
                    .collect(),
            )
        },
    })
}

/// Loads a case the caller may see. A case the caller may not see is 403,
/// or 404 (exactly as for a missing case) when its existence is restricted.
/// Refusals are recorded in the ledger.
pub async fn visible_case(
    state: &AppState,
    p: &Principal,
    id: &str,
    action: &str,
) -> Result<Case, ApiError> {
    let missing = || ApiError::not_found(format!("there is no case {id}"));
    let Ok(case_id) = id.parse::<CaseId>() else {
        return Err(missing());
    };
    let case = match state.svc.load(case_id).await {
        Ok(c) => c,
        Err(tocsin_service::ServiceError::CaseNotFound(_)) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    let levels = state.svc.clearance_levels().await?;
    match visibility(&p.account, &p.roles, &levels, &case.marking()) {
        Visibility::Visible => Ok(case),
        v => {
            let reason = "no access to this case (clearance, compartments or element)";
            crate::table::refuse(state, p, action, Some(format!("case/{case_id}")), reason).await;
            if v == Visibility::Hidden {
                Err(missing())
            } else {
                Err(ApiError::forbidden(format!(
                    "you may not see case {case_id}: {reason}"
                )))
            }
        }
    }
}

pub async fn run_command(
    state: &AppState,
    p: &Principal,
    case: &Case,
    cmd: Command,
) -> Result<Response, ApiError> {
    let waiver_id = match &cmd {
        Command::RequestWaiver { waiver_id, .. } => Some(*waiver_id),
        _ => None,
    };
    let ex = state.svc.execute(&p.actor(), case.id, cmd).await?;
    let (before, after) = (case.measures(), ex.case.measures());
    if let (None, Some(d)) = (before.time_to_decide, after.time_to_decide) {
        state
            .metrics
            .time_to_decide
            .observe(d.as_secs_f64().max(0.0));
    }
    if let (None, Some(d)) = (before.time_to_warn, after.time_to_warn) {
        state.metrics.time_to_warn.observe(d.as_secs_f64().max(0.0));
    }
    let warning_version = ex.events.iter().find_map(|e| match e {
        Event::WarningDrafted { version, .. } => Some(*version),
        _ => None,
    });
    ok(&CommandResult {
        case_id: ex.case.id,
        state: ex.case.state,
        events: ex.events.iter().map(|e| e.kind().to_owned()).collect(),
        first_position: ex.appended.first_position,
        count: ex.appended.count,
        tree_size: ex.appended.tree_size,
        root: ex.appended.root.to_base64(),
        waiver_id,
        warning_version,
    })
}

fn new_waiver_id() -> WaiverId {
    WaiverId::from_uuid(uuid::Uuid::now_v7())
}

/// A command on a case whose only path parameter is the case.
fn case_command<B>(
    t: &mut Table,
    id: &'static str,
    path: &'static str,
    permission: Permission,
    summary: &'static str,
) where
    B: CaseBody,
{
    case_command_with::<B>(t, Op::post(id, path, needs(permission)).summary(summary));
}

/// A command on a case, with the extra path parameters in `op`.
fn case_command_with<B: CaseBody>(t: &mut Table, op: Op) {
    let op = op
        .tag("cases")
        .param("case_id", "The case id (a UUID)")
        .body::<B>()
        .returns::<CommandResult>(StatusCode::OK)
        .errors(&[Kind::IllegalTransition, Kind::Conflict, Kind::TwoPersonRule]);
    // Move the case parameter first, as it is in the path.
    let mut op = op;
    op.path_params.rotate_right(1);
    let id = op.id;
    t.add(
        op,
        move |State(state): State<AppState>,
              Caller(p): Caller,
              PathParams(params): PathParams<Vec<(String, String)>>,
              body: RawBody| async move {
            let case_id = params
                .iter()
                .find(|(k, _)| k == "case_id")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let case = visible_case(&state, &p, &case_id, id).await?;
            let parsed: B = body.parse()?;
            let cmd = parsed.command(&params, &case)?;
            run_command(&state, &p, &case, cmd).await
        },
    );
}

/// A request body that becomes a case command.
trait CaseBody: serde::de::DeserializeOwned + JsonSchema + Send + 'static {
    fn command(self, params: &[(String, String)], case: &Case) -> Result<Command, ApiError>;
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> &'a str {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

impl CaseBody for Assessment {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::Assess { assessment: self })
    }
}
impl CaseBody for DetermineBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::Determine { note: self.note })
    }
}
impl CaseBody for HandOffBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::HandOff {
            owner: self.owner,
            lead_element: self.lead_element,
            reason: self.reason,
        })
    }
}
impl CaseBody for WaiverRequestBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::RequestWaiver {
            waiver_id: new_waiver_id(),
            ground: self.ground,
            reason: self.reason,
            legal_review: self.legal_review,
        })
    }
}
impl CaseBody for ReasonBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::Reassess {
            reason: self.reason,
        })
    }
}

fn waiver_param(params: &[(String, String)]) -> Result<WaiverId, ApiError> {
    let w = param(params, "waiver_id");
    w.parse()
        .map_err(|_| ApiError::not_found(format!("there is no waiver {w} on this case")))
}

impl CaseBody for ApproveWaiverBody {
    fn command(self, params: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::ApproveWaiver {
            waiver_id: waiver_param(params)?,
            reason: self.reason,
        })
    }
}

impl CaseBody for RejectWaiverBody {
    fn command(self, params: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::RejectWaiver {
            waiver_id: waiver_param(params)?,
            reason: self.reason,
        })
    }
}
impl CaseBody for RouteBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::ChooseRoute {
            route: self.route,
            rationale: self.rationale,
            alternatives: self.alternatives,
        })
    }
}
impl CaseBody for DraftBody {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::DraftWarning {
            text: self.text,
            withheld: self.withheld,
            language: self.language.unwrap_or_else(LanguageTag::english),
        })
    }
}
impl CaseBody for ApproveWarningBody {
    fn command(self, params: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        let v = param(params, "version");
        let version: u32 = v
            .parse()
            .map_err(|_| ApiError::not_found(format!("there is no warning version {v}")))?;
        Ok(Command::ApproveWarning {
            version,
            sha256: self.sha256,
        })
    }
}
impl CaseBody for Delivery {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::RecordDelivery { delivery: self })
    }
}
impl CaseBody for RecipientResponse {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::RecordResponse { response: self })
    }
}
impl CaseBody for AdvisoryDecision {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::DecidePublicAdvisory { advisory: self })
    }
}
impl CaseBody for OutcomeRecord {
    fn command(self, _: &[(String, String)], _: &Case) -> Result<Command, ApiError> {
        Ok(Command::RecordOutcome { outcome: self })
    }
}

// ---------------------------------------------------------------------------
// Handlers.

async fn healthz() -> Result<Response, ApiError> {
    ok(&Health {
        status: "ok".into(),
    })
}

async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.svc.store().ledger_head().await {
        Ok(_) => ok(&Health {
            status: "ready".into(),
        }),
        Err(e) => Err(ApiError::new(
            Kind::Unavailable,
            format!("the store does not answer: {e}"),
        )),
    }
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = state
        .metrics
        .render(&state.svc)
        .await
        .map_err(ApiError::internal)?;
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(r)
}

async fn openapi_doc() -> Result<Response, ApiError> {
    ok(&crate::openapi::spec())
}

async fn login(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<Response, ApiError> {
    let address = client_address(req.extensions());
    let RawBody(bytes) =
        <RawBody as axum::extract::FromRequest<AppState>>::from_request(req, &state).await?;
    let body: LoginBody = crate::table::parse_json(&bytes)?;
    let s = state.svc.login(&body.name, body.password, address).await?;
    let account = state
        .svc
        .account(s.record.account.as_str())
        .await?
        .ok_or_else(|| ApiError::new(Kind::Unauthenticated, "unknown account or wrong password"))?;
    let mut r = json(
        StatusCode::OK,
        &SessionView {
            account,
            csrf_token: s.record.csrf_token.clone(),
            expires_at: s.record.created_at + state.svc.auth_config().session_absolute,
        },
    );
    if let Some(c) = auth::session_cookie(&state, Some(&s.secret)) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Caller(p): Caller,
) -> Result<Response, ApiError> {
    if let Via::Session { .. } = p.via
        && let Some(secret) = auth::cookie(&headers, auth::cookie_name(&state))
    {
        state.svc.logout(secret).await?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Some(c) = auth::session_cookie(&state, None) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

async fn me(Caller(p): Caller) -> Result<Response, ApiError> {
    let (via, csrf_token, token_id) = match &p.via {
        Via::Session { csrf_token, .. } => ("session", Some(csrf_token.clone()), None),
        Via::Token { token_id } => ("token", None, Some(*token_id)),
    };
    ok(&MeView {
        roles: p.roles.clone(),
        account: p.account.clone(),
        via: via.into(),
        csrf_token,
        token_id,
    })
}

async fn change_own_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: OwnPasswordBody = body.parse()?;
    let new = password(b.new, "new")?;
    state
        .svc
        .change_own_password(&p.account.name, b.current, new)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn days(d: Option<u32>) -> Result<Duration, ApiError> {
    match d.unwrap_or(30) {
        n @ 1..=366 => Ok(Duration::from_secs(u64::from(n) * 86_400)),
        n => Err(
            ApiError::validation(format!("valid_for_days {n}: give 1 to 366"))
                .field("valid_for_days"),
        ),
    }
}

async fn issue_own_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: OwnTokenBody = body.parse()?;
    // A token never carries more than the credential that asks for it.
    let roles = b.roles.unwrap_or_else(|| p.roles.clone());
    if let Some(r) = roles.iter().find(|r| !p.roles.contains(r)) {
        return Err(ApiError::validation(format!(
            "roles: this credential does not carry the {r} role"
        ))
        .field("roles"));
    }
    let t = state
        .svc
        .issue_token(
            &p.account.name,
            p.account.name.clone(),
            b.label,
            roles,
            days(b.valid_for_days)?,
        )
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &NewTokenView {
            secret: t.secret,
            token: t.info,
        },
    ))
}

async fn list_own_tokens(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.tokens(Some(&p.account.name)).await?;
    ok(&paginate(items, |t| t.token_id.to_string(), &q)?)
}

async fn revoke_own_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(token_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let missing = || ApiError::not_found(format!("there is no token {token_id}"));
    let id: TokenId = token_id.parse().map_err(|_| missing())?;
    match state.svc.token(id).await? {
        Some(t) if t.account == p.account.name => {}
        _ => return Err(missing()),
    }
    ok(&state.svc.revoke_token(&p.account.name, id).await?)
}

async fn intake_schema() -> Result<Response, ApiError> {
    ok(&tocsin_domain::intake_schema())
}

#[derive(Serialize, Deserialize)]
struct IdempotencyRecord {
    request_sha256: String,
    result: SubmittedView,
}

async fn submit_report(
    State(state): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
    QueryParams(q): QueryParams<SubmitQuery>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => {
            let k = v
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key: give 1 to 200 visible ASCII characters")
                })?;
            Some(format!("{}/{k}", p.account.name))
        }
        None => None,
    };
    let request_sha256: String = sha2::Sha256::digest(&body.0)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let replay = |doc: tocsin_store::Doc| -> Result<Response, ApiError> {
        let rec: IdempotencyRecord = doc.parse()?;
        if rec.request_sha256 != request_sha256 {
            return Err(ApiError::new(
                Kind::IdempotencyKeyReused,
                "this Idempotency-Key was used with a different request body",
            ));
        }
        Ok(json(StatusCode::CREATED, &rec.result))
    };
    if let Some(k) = &key
        && let Some(doc) = state.svc.store().get_doc(DocKind::Idempotency, k).await?
    {
        return replay(doc);
    }
    let join = match &q.case {
        Some(c) => Some(visible_case(&state, &p, c, "submit_report").await?.id),
        None => None,
    };
    let owner = match &q.owner {
        Some(o) => Some(
            ActorName::new(o.as_str())
                .map_err(|e| ApiError::bad_request(format!("owner '{o}': {e}")))?,
        ),
        None => None,
    };
    let report: ThreatReport = body.parse()?;
    if !p
        .account
        .spec
        .elements
        .contains(&report.originating_element)
    {
        return Err(ApiError::validation(format!(
            "originating_element: {} does not belong to {}",
            p.account.name, report.originating_element
        ))
        .field("originating_element"));
    }
    if let Some(level) = &report.handling.classification {
        state
            .svc
            .clearance_levels()
            .await?
            .check(level)
            .map_err(|e| {
                ApiError::validation(format!("handling.classification: {e}"))
                    .field("handling.classification")
            })?;
    }
    let key2 = key.clone();
    let sha = request_sha256.clone();
    let r = state
        .svc
        .submit_report_with(
            &p.actor(),
            report,
            join,
            owner,
            move |case_id, report_id, new_case| match &key2 {
                Some(k) => vec![DocWrite::put(
                    DocKind::Idempotency,
                    k.clone(),
                    DocExpect::Absent,
                    &IdempotencyRecord {
                        request_sha256: sha.clone(),
                        result: SubmittedView {
                            report_id,
                            case_id,
                            new_case,
                        },
                    },
                )],
                None => vec![],
            },
        )
        .await;
    match r {
        Ok(s) => Ok(json(
            StatusCode::CREATED,
            &SubmittedView {
                report_id: s.report_id,
                case_id: s.case_id,
                new_case: s.new_case,
            },
        )),
        // The same key raced in first: answer with its result.
        Err(tocsin_service::ServiceError::Store(tocsin_store::StoreError::DocConflict {
            ..
        })) if key.is_some() => {
            let k = key.unwrap_or_default();
            match state.svc.store().get_doc(DocKind::Idempotency, &k).await? {
                Some(doc) => replay(doc),
                None => Err(ApiError::new(Kind::Conflict, "try again")),
            }
        }
        Err(e) => Err(e.into()),
    }
}

async fn list_cases(
    State(state): State<AppState>,
    Caller(p): Caller,
    QueryParams(q): QueryParams<ListCasesQuery>,
) -> Result<Response, ApiError> {
    let limit = PageQuery {
        limit: q.limit,
        after: None,
    }
    .limit()?;
    let access = filter(&state, &p).await?;
    if let Some(prefix) = &q.prefix {
        let s = prefix.trim().to_ascii_lowercase();
        if s.len() < 4 || !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(ApiError::bad_request(
                "prefix: give at least 4 characters of a case id",
            ));
        }
        let ids = state.svc.store().case_ids_with_prefix(&s, 100).await?;
        let levels = state.svc.clearance_levels().await?;
        let mut items = Vec::new();
        for id in ids {
            let case = state.svc.load(id).await?;
            if visibility(&p.account, &p.roles, &levels, &case.marking()) == Visibility::Visible {
                items.push(CaseRow::from(CaseSummary::of(&case, state.svc.policy())));
            }
        }
        return ok(&List { items, next: None });
    }
    let query = CaseQuery {
        access: Some(access),
        state: q.state,
        open_only: q.open.unwrap_or(false),
        reassessment_due: q.reassessment_due.unwrap_or(false),
        overdue_at: q.overdue.unwrap_or(false).then(|| state.svc.now()),
        sweep_due_at: None,
        after: match q.after {
            Some(a) if a.parse::<u64>().is_ok() => Some(a),
            Some(a) => {
                return Err(ApiError::bad_request(format!(
                    "after '{a}' is not a cursor from a previous page"
                )));
            }
            None => None,
        },
        limit,
    };
    let page = state.svc.list(&query).await?;
    ok(&List {
        items: page.items.into_iter().map(CaseRow::from).collect(),
        next: page.next,
    })
}

async fn get_case(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "get_case").await?;
    let mut parts = vec!["reports".to_owned()];
    if !case.waivers.is_empty() {
        parts.push("waiver_reasons".into());
    }
    if !case.warnings.is_empty() {
        parts.push("warning_basis".into());
    }
    state
        .svc
        .record_access(
            &p.account.name,
            Event::ContentRead {
                case_id: case.id,
                parts,
            },
        )
        .await?;
    ok(&case)
}

async fn case_events(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "case_events").await?;
    let events = state
        .svc
        .store()
        .read_stream(&StreamId::Case(case.id))
        .await?;
    state
        .svc
        .record_access(
            &p.account.name,
            Event::ContentRead {
                case_id: case.id,
                parts: vec!["events".into()],
            },
        )
        .await?;
    ok(&List {
        items: events
            .into_iter()
            .map(|e| LoggedEvent {
                position: e.position,
                seq: e.seq,
                recorded_at: e.envelope.recorded_at,
                actor: e.envelope.actor,
                event: e.envelope.event,
            })
            .collect(),
        next: None,
    })
}

async fn check_warning(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(case_id): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "check_warning").await?;
    let b: TextBody = body.parse()?;
    ok(&CheckView {
        findings: case.check_warning_text(&b.text, state.svc.policy()),
    })
}

async fn get_warning(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams((case_id, version)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let case = visible_case(&state, &p, &case_id, "get_warning").await?;
    let missing =
        || ApiError::not_found(format!("case {case_id} has no warning version {version}"));
    let v: u32 = version.parse().map_err(|_| missing())?;
    let w = case
        .warnings
        .iter()
        .find(|w| w.version == v)
        .ok_or_else(missing)?;
    ok(w)
}

async fn sweep(State(state): State<AppState>) -> Result<Response, ApiError> {
    let r = state.svc.sweep().await?;
    ok(&SweepView {
        cases_checked: r.cases_checked,
        events: r
            .events
            .into_iter()
            .map(|(case_id, event)| SweptEvent { case_id, event })
            .collect(),
    })
}

async fn get_policy(State(state): State<AppState>) -> Result<Response, ApiError> {
    let p = state.svc.policy();
    ok(&PolicyView {
        id: p.policy.policy.id.clone(),
        version: p.policy.policy.version.clone(),
        sha256: p.sha256.clone(),
        origin: p.origin.clone(),
        source: p.source.clone(),
    })
}

async fn check_policy(body: RawBody) -> Result<Response, ApiError> {
    let b: TextBody = body.parse()?;
    ok(
        &match tocsin_domain::LoadedPolicy::parse(&b.text, "request body") {
            Ok(p) => PolicyCheckView {
                valid: true,
                id: Some(p.policy.policy.id),
                version: Some(p.policy.policy.version),
                sha256: Some(p.sha256),
                error: None,
            },
            Err(e) => PolicyCheckView {
                valid: false,
                id: None,
                version: None,
                sha256: None,
                error: Some(e.to_string()),
            },
        },
    )
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let head = state.svc.store().ledger_head().await?;
    ok(&CheckpointView {
        size: head.size,
        root: head.root.to_base64(),
        checkpoint: head.checkpoint,
        verifier_key: state.svc.store().meta().verifier_key.clone(),
    })
}

async fn verify_ledger(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.svc.store().clone();
    let verifier = tocsin_ledger::NoteVerifier::parse(&store.meta().verifier_key)
        .map_err(|e| ApiError::internal(format!("the recorded verifier key is damaged: {e}")))?;
    let opts = VerifyOptions {
        verifier,
        since: None,
        deep: false,
        progress: None,
    };
    let view = match tocsin_store::audit::verify(store, &opts).await? {
        Ok(r) => VerificationView {
            ok: true,
            size: r.size,
            root: Some(r.root.to_base64()),
            streams: Some(r.streams),
            checkpoints: Some(r.checkpoints),
            position: None,
            problem: None,
        },
        Err(f) => VerificationView {
            ok: false,
            size: f.last.unwrap_or(f.position),
            root: None,
            streams: None,
            checkpoints: None,
            position: Some(f.position),
            problem: Some(f.problem),
        },
    };
    ok(&view)
}

async fn inclusion_proof(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<InclusionQuery>,
) -> Result<Response, ApiError> {
    let store = state.svc.store();
    let p = tocsin_store::audit::inclusion(&**store, q.position, q.size)
        .await?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    ok(&InclusionView {
        position: p.position,
        size: p.size,
        leaf_hash: p.leaf_hash.to_base64(),
        root: p.root.to_base64(),
        proof: p.proof.iter().map(|h| h.to_base64()).collect(),
    })
}

async fn consistency_proof(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ConsistencyQuery>,
) -> Result<Response, ApiError> {
    let store = state.svc.store();
    let to = match q.to {
        Some(t) => t,
        None => store.ledger_head().await?.size,
    };
    let bad = |e: tocsin_ledger::ProofError| ApiError::bad_request(e.to_string());
    let proof = tocsin_store::audit::consistency(&**store, q.from, to)
        .await?
        .map_err(bad)?;
    let r1 = tocsin_store::audit::root_at_size(&**store, q.from)
        .await?
        .map_err(bad)?;
    let r2 = tocsin_store::audit::root_at_size(&**store, to)
        .await?
        .map_err(bad)?;
    ok(&ConsistencyView {
        size1: q.from,
        size2: to,
        root1: r1.to_base64(),
        root2: r2.to_base64(),
        proof: proof.iter().map(|h| h.to_base64()).collect(),
    })
}

async fn access_log(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()? as usize;
    let after: u64 = match &q.after {
        Some(a) => a
            .parse()
            .map_err(|_| ApiError::bad_request(format!("after '{a}' is not a cursor")))?,
        None => 0,
    };
    let events = state.svc.store().read_stream(&StreamId::Access).await?;
    let rest: Vec<_> = events.into_iter().filter(|e| e.seq > after).collect();
    let next = (rest.len() > limit).then(|| rest[limit - 1].seq.to_string());
    let items = rest
        .into_iter()
        .take(limit)
        .map(|e| LoggedEvent {
            position: e.position,
            seq: e.seq,
            recorded_at: e.envelope.recorded_at,
            actor: e.envelope.actor,
            event: e.envelope.event,
        })
        .collect();
    ok(&List { items, next })
}

async fn list_elements(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let mut items = state.svc.elements(q.after, limit + 1).await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|e| e.name.to_string())
    } else {
        None
    };
    ok(&List { items, next })
}

async fn register_element(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: ElementBody = body.parse()?;
    let e = state
        .svc
        .register_element(&p.account.name, b.name, b.description)
        .await?;
    Ok(json(StatusCode::CREATED, &e))
}

async fn list_accounts(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let limit = q.limit()?;
    let mut items = state.svc.accounts(q.after, limit + 1).await?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|a| a.name.to_string())
    } else {
        None
    };
    ok(&List { items, next })
}

async fn create_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: NewAccountBody = body.parse()?;
    let pw = b.password.map(|s| password(s, "password")).transpose()?;
    let a = state
        .svc
        .create_account(&p.account.name, b.name, b.spec, pw)
        .await?;
    Ok(json(StatusCode::CREATED, &a))
}

async fn named_account(state: &AppState, name: &str) -> Result<Account, ApiError> {
    let missing = || ApiError::not_found(format!("there is no account '{name}'"));
    let n = ActorName::new(name).map_err(|_| missing())?;
    state.svc.account(n.as_str()).await?.ok_or_else(missing)
}

async fn get_account(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    ok(&named_account(&state, &name).await?)
}

async fn change_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = named_account(&state, &name).await?;
    let spec: AccountSpec = body.parse()?;
    ok(&state
        .svc
        .change_account(&p.account.name, a.name, spec)
        .await?)
}

async fn disable_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = named_account(&state, &name).await?;
    let b: ReasonBody = body.parse()?;
    ok(&state
        .svc
        .set_disabled(&p.account.name, a.name, true, b.reason)
        .await?)
}

async fn enable_account(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = named_account(&state, &name).await?;
    let b: ReasonBody = body.parse()?;
    ok(&state
        .svc
        .set_disabled(&p.account.name, a.name, false, b.reason)
        .await?)
}

async fn set_password(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(name): PathParams<String>,
    body: RawBody,
) -> Result<Response, ApiError> {
    let a = named_account(&state, &name).await?;
    let b: PasswordBody = body.parse()?;
    let pw = password(b.password, "password")?;
    state.svc.set_password(&p.account.name, a.name, pw).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_tokens(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Response, ApiError> {
    let items = state.svc.tokens(None).await?;
    ok(&paginate(items, |t| t.token_id.to_string(), &q)?)
}

async fn issue_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let b: TokenBody = body.parse()?;
    let t = state
        .svc
        .issue_token(
            &p.account.name,
            b.account,
            b.label,
            b.roles,
            days(b.valid_for_days)?,
        )
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &NewTokenView {
            secret: t.secret,
            token: t.info,
        },
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    Caller(p): Caller,
    PathParams(token_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id: TokenId = token_id
        .parse()
        .map_err(|_| ApiError::not_found(format!("there is no token {token_id}")))?;
    ok(&state.svc.revoke_token(&p.account.name, id).await?)
}

async fn get_levels(State(state): State<AppState>) -> Result<Response, ApiError> {
    ok(&state.svc.clearance_levels().await?)
}

async fn set_levels(
    State(state): State<AppState>,
    Caller(p): Caller,
    body: RawBody,
) -> Result<Response, ApiError> {
    let levels: ClearanceLevels = body.parse()?;
    state
        .svc
        .set_clearance_levels(&p.account.name, levels)
        .await?;
    ok(&state.svc.clearance_levels().await?)
}
