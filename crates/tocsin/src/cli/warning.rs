//! Warning texts, as `tocsin warning`: the sanitisation check, drafts,
//! approval, the exact text of a version, a draft from the template, and
//! the approved warning as a letter or a CAP alert.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::{Subcommand, ValueEnum};
use serde::Serialize;
use tocsin_domain::delivery::{WarningText, WithheldCategory};
use tocsin_domain::template::Draft;
use tocsin_domain::warning::WarningNumber;
use tocsin_server::api::cases::{ApproveWarningBody, CheckView, DraftBody};
use tocsin_server::api::common::{CommandResult, TextBody};
use tocsin_server::api::delivery::{CapQuery, TemplateQuery};

use super::args::Output;
use super::case::{CaseArg, command, fetch_case, resolve};
use super::context::Ctx;
use super::delivery::warning_query;
use super::input::{TextArgs, parse_flag, wire};
use crate::client::{self, with_query};
use crate::out;
use crate::render::{self, join};

#[derive(Subcommand)]
pub enum WarningCmd {
    /// Show what the sanitisation check finds in a text (writes nothing).
    Check {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        text: TextArgs,
    },
    /// Record a new draft (refused if the check finds anything).
    Draft {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        output: Output,
        #[command(flatten)]
        text: TextArgs,
        /// What the text leaves out on purpose (repeat or comma-separate).
        #[arg(
            long,
            value_delimiter = ',',
            value_name = "CATEGORY",
            value_parser = wire::<WithheldCategory>()
        )]
        withheld: Vec<WithheldCategory>,
        /// The language of the text (a BCP 47 tag: en, fa, ru, en-GB).
        #[arg(long, default_value = "en", value_name = "TAG")]
        language: String,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,
    },
    /// Approve a draft (two-person): give the sha256 you read to be sure it did not change.
    Approve {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        output: Output,
        /// The warning version to approve.
        #[arg(long)]
        version: u32,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,

        /// The sha256 of the text you read (printed by `warning draft` and `warning show`), required: refused if the draft differs.
        #[arg(long, value_name = "HEX")]
        sha256: String,
    },
    /// Print the exact text of a warning version and its hash.
    Show {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        output: Output,
        /// The warning version [default: the latest].
        #[arg(long)]
        version: Option<u32>,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,
    },
    /// A draft from the template for the case's target kind.
    Template {
        #[command(flatten)]
        case: CaseArg,
        #[command(flatten)]
        output: Output,
        /// Who speaks in the text, e.g. "The United States".
        #[arg(long, value_name = "NAME")]
        sender: Option<String>,
    },
    /// The approved warning as a printable letter or an OASIS CAP 1.2 alert.
    Export {
        #[command(flatten)]
        case: CaseArg,
        /// The approved warning version.
        #[arg(long)]
        version: u32,
        /// The warning (1 for W1, 2 for W2...) [default: the case's only one].
        #[arg(long, value_name = "N")]
        warning: Option<WarningNumber>,

        /// The form of the export.
        #[arg(long, value_enum, default_value_t = ExportFormat::Letter)]
        format: ExportFormat,
        /// For cap: addressed to the route's recipient (private), or restricted [default: private].
        #[arg(long, value_parser = ["private", "restricted"])]
        scope: Option<String>,
    },
}

/// What `warning draft` recorded: the command's result and the hash of
/// the text, which the approver gives back.
#[derive(Serialize)]
struct Drafted {
    #[serde(flatten)]
    result: CommandResult,
    sha256: String,
}

/// The forms `warning export` writes.
#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// A printable letter (text).
    Letter,
    /// An OASIS CAP 1.2 alert (XML).
    Cap,
}

pub async fn warning(ctx: Ctx, cmd: WarningCmd) -> Result<ExitCode> {
    let ctx = &match &cmd {
        WarningCmd::Check { output, .. }
        | WarningCmd::Draft { output, .. }
        | WarningCmd::Approve { output, .. }
        | WarningCmd::Show { output, .. }
        | WarningCmd::Template { output, .. } => ctx.printing(output),
        WarningCmd::Export { .. } => ctx,
    };
    match cmd {
        WarningCmd::Check { case, text, .. } => {
            let text = text.read()?;
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let body = TextBody { text: text.clone() };
            let r: CheckView = c
                .post(&format!("/api/v1/cases/{id}/warning-checks"), &body)
                .await?;
            ctx.emit(&r, |r| {
                if r.findings.is_empty() {
                    "no findings: the text can be drafted".to_owned()
                } else {
                    render::findings(&text, &r.findings)
                }
            })?;
            Ok(if r.findings.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        WarningCmd::Draft {
            case,
            text,
            withheld,
            language,
            warning,
            ..
        } => {
            let text = text.read()?;
            let text_checked =
                WarningText::new(text.as_str()).map_err(|e| anyhow!("the text: {e}"))?;
            // The hash the case records for this draft: the same function
            // of the same text.
            let sha256 = text_checked.sha256();
            let body = DraftBody {
                text: text_checked,
                withheld: withheld.into_iter().collect(),
                language: Some(parse_flag("language", &language)?),
            };
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let drafted: Result<CommandResult> = c
                .post(
                    &format!("/api/v1/cases/{id}/warnings{}", warning_query(warning)),
                    &body,
                )
                .await;
            match drafted {
                Ok(result) => {
                    let view = Drafted { result, sha256 };
                    let id = super::case::shown(id, &case.case);
                    ctx.emit(&view, |v| {
                        let version = v
                            .result
                            .warning_version
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        let of = warning
                            .map(|n| format!(" of {n}"))
                            .unwrap_or_default();
                        let flag = warning
                            .map(|n| format!(" --warning {}", n.get()))
                            .unwrap_or_default();
                        format!(
                            "warning version {version}{of} drafted on case {id}; it is now {}\nsha256 {} (an approver gives it: tocsin warning approve {id}{flag} --version {version} --sha256 {})",
                            v.result.state.as_str(),
                            v.sha256,
                            v.sha256
                        )
                    })?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if let Some(p) = e.downcast_ref::<client::Problem>()
                        && p.kind() == "sanitisation-findings"
                        && !ctx.json
                    {
                        eprintln!("{}", render::findings(&text, &p.findings));
                    }
                    Err(e)
                }
            }
        }
        WarningCmd::Approve {
            case,
            version,
            sha256,
            warning,
            ..
        } => {
            let body = ApproveWarningBody { sha256 };
            command(
                ctx,
                &case.case,
                &format!("warnings/{version}/approval{}", warning_query(warning)),
                &body,
            )
            .await
        }
        WarningCmd::Template { case, sender, .. } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let path = with_query(
                &format!("/api/v1/cases/{id}/warning-template"),
                &TemplateQuery { sender },
            )?;
            let d: Draft = c.get(&path).await?;
            ctx.emit(&d, |d| {
                format!(
                    "{}\n--- withheld: {}",
                    d.text.as_str(),
                    join(d.withheld.iter().map(|w| w.as_str()))
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        WarningCmd::Export {
            case,
            version,
            format,
            scope,
            warning,
        } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let base = format!("/api/v1/cases/{id}/warnings/{version}");
            let path = match format {
                ExportFormat::Letter => format!("{base}/letter{}", warning_query(warning)),
                ExportFormat::Cap => with_query(
                    &format!("{base}/cap"),
                    &CapQuery {
                        scope,
                        restriction: None,
                        warning,
                    },
                )?,
            };
            out::text(c.get_text(&path).await?)?;
            Ok(ExitCode::SUCCESS)
        }
        WarningCmd::Show {
            case,
            version,
            warning,
            ..
        } => {
            let c = ctx.client()?;
            let id = resolve(&c, &case.case).await?;
            let cs = fetch_case(&c, id).await?;
            let n = cs.resolve_warning(warning).map_err(|e| anyhow!("{e}"))?;
            let versions = cs.warning(n).map(|w| w.versions.as_slice()).unwrap_or(&[]);
            let w = match version {
                Some(v) => versions.iter().find(|w| w.version == v),
                None => versions.last(),
            }
            .ok_or_else(|| anyhow!("case {id} has no such version of {n}"))?;
            ctx.emit(w, |w| {
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
                    join(w.withheld.iter().map(|x| x.as_str())),
                    w.text
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
