//! `tocsin help roles`: who may run what. Nothing here copies the role
//! table: each client command names the API operations it calls
//! ([`CALLS`]); the server's route table says which permission each
//! operation needs, and `Permission::roles` (the one role table) which
//! roles grant it. The tests check that every client command has an entry
//! and every entry names a command and an operation that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use clap::Command;
use tocsin_domain::Role;
use tocsin_domain::access::Permission;
use tocsin_server::{Access, Op};

use super::tree::{Kind, OPERATOR_FLAG, leaves, wrap};

/// The API operations (by operation id) each client command calls, beside
/// finding the case it names. A command with an option after its name
/// calls those operations only with that option.
pub const CALLS: &[(&str, &[&str])] = &[
    ("login", &["login"]),
    ("enrol", &["login"]),
    ("logout", &["revoke_own_token"]),
    ("whoami", &["me"]),
    ("account add", &["create_account", "issue_enrolment"]),
    ("account list", &["list_accounts"]),
    ("account show", &["get_account"]),
    ("account change", &["change_account"]),
    ("account disable", &["disable_account"]),
    ("account enable", &["enable_account"]),
    ("account enrol", &["issue_enrolment"]),
    ("account password", &["set_password"]),
    ("element add", &["register_element"]),
    ("element list", &["list_elements"]),
    ("token issue", &["issue_own_token"]),
    ("token list", &["list_tokens"]),
    ("token revoke", &["revoke_token"]),
    ("clearance show", &["get_clearance_levels"]),
    ("clearance set", &["set_clearance_levels"]),
    ("report submit", &["submit_report"]),
    ("report import", &["import_stix"]),
    ("report inbox", &["receipt_inbox"]),
    ("report assess", &["assess_receipt"]),
    ("admin partner map", &["map_partner"]),
    ("admin partner list", &["list_partners"]),
    ("case list", &["list_cases"]),
    ("case show", &["case_events"]),
    ("case assess", &["assess"]),
    ("case determine", &["determine"]),
    ("case reassess", &["reassess"]),
    ("case confirm", &["confirm_determination"]),
    ("case handoff", &["hand_off"]),
    ("case independence", &["mark_independence"]),
    ("case similar", &["similar_reports"]),
    ("case export", &["case_stix"]),
    ("case sweep", &["sweep"]),
    ("case merge", &["merge_cases"]),
    ("case link", &["link_cases"]),
    ("contribution submit", &["submit_contribution"]),
    ("contribution status", &["contribution_status"]),
    ("contribution list", &["list_contributions"]),
    ("contribution accept", &["accept_contribution"]),
    ("contribution decline", &["decline_contribution"]),
    ("dispute raise", &["raise_dispute"]),
    ("dispute list", &["list_disputes"]),
    ("dispute resolve", &["resolve_dispute"]),
    ("records dispose propose", &["propose_disposal"]),
    ("records dispose approve", &["approve_disposal"]),
    ("records dispose list", &["list_disposals"]),
    ("waiver request", &["request_waiver"]),
    ("waiver approve", &["approve_waiver"]),
    ("waiver reject", &["reject_waiver"]),
    ("route plan", &["route_plan"]),
    ("route choose", &["choose_route", "choose_candidate"]),
    ("reference relations", &["get_relations"]),
    ("reference relations --set", &["set_relations"]),
    ("reference directory", &["get_directory"]),
    ("reference directory --set", &["set_directory"]),
    ("notice target set", &["set_notification_target"]),
    ("notice target list", &["list_notification_targets"]),
    ("notice target remove", &["remove_notification_target"]),
    ("notice list", &["list_notices"]),
    ("warning check", &["check_warning"]),
    ("warning draft", &["draft_warning"]),
    ("warning approve", &["approve_warning"]),
    ("warning show", &["case_events"]),
    ("warning template", &["warning_template"]),
    ("warning export", &["warning_letter", "warning_cap"]),
    ("delivery record", &["record_delivery"]),
    ("response record", &["record_response"]),
    ("advisory decide", &["decide_advisory"]),
    ("outcome record", &["record_outcome"]),
    ("audit access", &["access_log"]),
    ("records schedule show", &["get_retention_schedules"]),
    ("records schedule set", &["set_retention_schedules"]),
    ("records hold request", &["request_hold"]),
    ("records hold approve", &["approve_hold"]),
    ("records hold decline", &["decline_hold"]),
    ("records hold release", &["request_hold_release"]),
    ("records hold list", &["list_holds"]),
    ("records report", &["records_report"]),
    ("records export", &["records_export"]),
    // Reads only the bag's directory: anyone may verify an export.
    ("records verify-export", &[]),
    ("records redact request", &["request_redaction"]),
    ("records redact approve", &["approve_redaction"]),
    ("records redact list", &["list_redactions"]),
    ("records exemptions show", &["get_exemptions"]),
    ("records exemptions set", &["set_exemptions"]),
    ("screen", &["screen_name"]),
    ("registry import", &["import_registry"]),
    ("registry list", &["list_registries"]),
    ("taxii collection add", &["set_taxii_collection"]),
    ("taxii collection list", &["list_taxii_collections"]),
    ("taxii publish", &["publish_case"]),
    (
        "taxii pull",
        &["pull_cursor", "import_stix", "set_pull_cursor"],
    ),
];

/// Who may call an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Anyone,
    AnyAccount,
    Roles(BTreeSet<Role>),
}

impl Who {
    fn of(op: &Op) -> Who {
        let who = match op.access {
            Access::Public => Who::Anyone,
            Access::Authenticated => Who::AnyAccount,
            Access::Needs(p) => Who::Roles(p.roles().iter().copied().collect()),
        };
        // The service lets a caller act on a case only if it may read it.
        if op.path.starts_with("/api/v1/cases/{") {
            who.and(&Who::of_permission(Permission::ReadCase))
        } else {
            who
        }
    }

    fn of_permission(p: Permission) -> Who {
        Who::Roles(p.roles().iter().copied().collect())
    }

    /// Who may do both.
    fn and(self, other: &Who) -> Who {
        match (self, other) {
            (Who::Anyone, o) => o.clone(),
            (s, Who::Anyone) => s,
            (Who::AnyAccount, o) => o.clone(),
            (s, Who::AnyAccount) => s,
            (Who::Roles(a), Who::Roles(b)) => Who::Roles(a.intersection(b).copied().collect()),
        }
    }

    fn describe(&self) -> String {
        match self {
            Who::Anyone => "anyone (no account needed)".into(),
            Who::AnyAccount => "any account".into(),
            Who::Roles(r) if r.is_empty() => "no role".into(),
            Who::Roles(r) => r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// Who may run each entry of [`CALLS`], from the route table `ops`.
pub fn who_may(ops: &[Op]) -> Result<Vec<(&'static str, Who)>, String> {
    let by_id: BTreeMap<&str, &Op> = ops.iter().map(|o| (o.id, o)).collect();
    CALLS
        .iter()
        .map(|(command, ids)| {
            let mut who = Who::Anyone;
            for id in *ids {
                let op = by_id
                    .get(id)
                    .ok_or_else(|| format!("{command}: no API operation {id}"))?;
                who = who.and(&Who::of(op));
            }
            Ok((*command, who))
        })
        .collect()
}

/// The text of `tocsin help roles`, for the command tree `cli` (built).
pub fn topic(cli: &Command) -> String {
    let ops = tocsin_server::router::ops();
    let mut s = wrap(
        "Who may run what. An account holds roles; each role grants permissions, and the \
server checks the permission of every request (`tocsin whoami` shows your roles; a token \
may carry fewer).",
        "",
    );
    s.push_str("\nRoles and the permissions they grant:\n");
    for role in Role::ALL {
        let granted: Vec<&str> = Permission::ALL
            .iter()
            .filter(|p| p.roles().contains(&role))
            .map(|p| p.as_str())
            .collect();
        let _ = writeln!(s, "  {:<18}{}", role.as_str(), granted.join(", "));
    }
    s.push_str("\nCommands and the roles that may run them:\n");
    match who_may(&ops) {
        Ok(rows) => {
            for (command, who) in rows {
                let _ = writeln!(s, "  {command:<28}{}", who.describe());
            }
        }
        Err(e) => {
            let _ = writeln!(s, "  (cannot tell: {e})");
        }
    }
    s.push('\n');
    s.push_str(&wrap(
        "On a case you also need to see it: your clearance, compartments and elements must \
cover its marking. Two people: whoever requests a waiver cannot approve or reject it, and \
whoever drafts a warning cannot approve it.",
        "",
    ));
    let of_kind = |k: Kind| {
        leaves(cli)
            .into_iter()
            .filter(|(_, c)| Kind::of(c).contains(&k))
            // `logout` has no --server: it uses the saved login's.
            .filter(|(path, _)| k != Kind::Local || !CALLS.iter().any(|(c, _)| c == path))
            .map(|(path, c)| match Kind::of(c).as_slice() {
                [_, _] => format!("{path} {OPERATOR_FLAG}"),
                _ => path,
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.push('\n');
    s.push_str(&wrap(
        &format!(
            "Operator commands need no account: they open the database itself (--db), and \
those that write need its signing key (--key): {}.",
            of_kind(Kind::Operator)
        ),
        "",
    ));
    s.push('\n');
    s.push_str(&wrap(
        &format!("Local commands need neither: {}.", of_kind(Kind::Local)),
        "",
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_command_says_what_it_calls_and_every_call_exists() {
        let mut cli = super::super::command();
        cli.build();
        let ops = tocsin_server::router::ops();
        let rows = who_may(&ops).unwrap();
        let leaves = leaves(&cli);
        for (path, c) in &leaves {
            if Kind::of(c).contains(&Kind::Client) {
                assert!(
                    CALLS.iter().any(|(command, _)| command == path),
                    "`tocsin {path}` talks to the server: add the operations it calls to roles::CALLS"
                );
            }
        }
        for (command, _) in CALLS {
            let (path, flag) = match command.split_once(" --") {
                Some((p, f)) => (p, Some(f)),
                None => (*command, None),
            };
            let (_, c) = leaves
                .iter()
                .find(|(p, _)| p == path)
                .unwrap_or_else(|| panic!("roles::CALLS names `{path}`, not a command"));
            if let Some(f) = flag {
                assert!(
                    c.get_arguments().any(|a| a.get_long() == Some(f)),
                    "`tocsin {path}` has no --{f}"
                );
            }
        }
        let who = |c: &str| rows.iter().find(|(x, _)| *x == c).unwrap().1.clone();
        let roles = |r: &[Role]| Who::Roles(r.iter().copied().collect());
        // What the issue found: an analyst may sweep (the cases they may
        // see); screen refuses admin; a drafter must be an analyst. Anyone
        // issues their own token, and nobody one for someone else.
        assert_eq!(who("token issue"), Who::AnyAccount);
        assert_eq!(who("case sweep"), roles(&[Role::Analyst, Role::Admin]));
        assert_eq!(who("notice target set"), roles(&[Role::Admin]));
        assert_eq!(who("registry import"), roles(&[Role::Admin]));
        assert_eq!(
            who("screen"),
            roles(&[Role::Collector, Role::Analyst, Role::Approver])
        );
        assert_eq!(who("warning draft"), roles(&[Role::Analyst]));
        assert_eq!(who("warning approve"), roles(&[Role::Approver]));
        assert_eq!(
            who("delivery record"),
            roles(&[Role::Analyst, Role::DeliveryOfficer])
        );
        assert_eq!(who("login"), Who::Anyone);
        assert_eq!(who("whoami"), Who::AnyAccount);
    }

    #[test]
    fn the_topic_names_roles_commands_and_operators() {
        let mut cli = super::super::command();
        cli.build();
        let t = topic(&cli);
        for want in [
            "  analyst           submit_report, read_case, analyse, deliver, screen, sweep",
            "  case sweep                  analyst, admin",
            "  warning approve             approver",
            "account add --admin",
            "audit verify",
            "policy show",
        ] {
            assert!(t.contains(want), "missing {want:?} in:\n{t}");
        }
        assert!(!t.contains("cannot tell"), "{t}");
    }
}
