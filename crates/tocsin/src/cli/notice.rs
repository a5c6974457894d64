//! Escalation notices, as `tocsin notice`: the targets they are sent to
//! (`notice target set|list|remove`) and the notices not yet delivered
//! (`notice list`). `notify` and its words `set`, `targets` and `remove`
//! still work, hidden.

use std::process::ExitCode;

use anyhow::Result;
use clap::builder::PossibleValuesParser;
use clap::{Args, Subcommand};
use serde::Serialize;
use tocsin_domain::notice::{NoticeChannel, NoticeTarget};
use tocsin_server::api::common::List;
use tocsin_server::api::delivery::{NoticeQuery, TargetBody};
use tocsin_service::{Notice, NoticeStatus};

use super::context::Ctx;
use super::input::{parse_flag, read_line, wire_names};
use crate::client::{Client, segment, with_query};

#[derive(Subcommand)]
pub enum NoticeCmd {
    /// Where escalation notices are sent: webhooks and email addresses.
    #[command(subcommand)]
    Target(TargetCmd),
    /// Escalation notices not yet delivered (pending, sending, failed).
    List {
        /// Only notices in this state.
        #[arg(long, value_parser = PossibleValuesParser::new(wire_names::<NoticeStatus>()))]
        status: Option<String>,
    },
    /// `notice target set` (the old `notify set`).
    #[command(hide = true)]
    Set(TargetArgs),
    /// `notice target list` (the old `notify targets`).
    #[command(hide = true)]
    Targets,
    /// `notice target remove` (the old `notify remove`).
    #[command(hide = true)]
    Remove {
        /// The target's name.
        name: String,
    },
}

#[derive(Subcommand)]
pub enum TargetCmd {
    /// Add or change a target: --webhook URL (with --secret-stdin for an HMAC secret) or --email ADDRESSES.
    Set(TargetArgs),
    /// List targets.
    List,
    /// Remove a target.
    Remove {
        /// The target's name.
        name: String,
    },
}

#[derive(Args)]
pub struct TargetArgs {
    /// The target's name, e.g. duty-desk.
    name: String,
    /// A webhook URL: each notice is POSTed to it as JSON.
    #[arg(
        long,
        conflicts_with = "email",
        required_unless_present = "email",
        value_name = "URL"
    )]
    webhook: Option<String>,
    /// Email addresses to send each notice to (repeat or comma-separate; needs `tocsin serve --smtp`).
    #[arg(long, value_delimiter = ',', value_name = "ADDRESS")]
    email: Vec<String>,
    /// Read the webhook's signing secret (at least 16 characters) from standard input; notices are then signed with HMAC-SHA256.
    #[arg(long, requires = "webhook")]
    secret_stdin: bool,
}

#[derive(Serialize)]
struct Removed {
    removed: String,
}

pub async fn notice(ctx: &Ctx, cmd: NoticeCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        NoticeCmd::Target(TargetCmd::Set(args)) | NoticeCmd::Set(args) => {
            set_target(ctx, &c, args).await?
        }
        NoticeCmd::Target(TargetCmd::List) | NoticeCmd::Targets => {
            let page: List<NoticeTarget> = c.get("/api/v1/notification-targets").await?;
            ctx.emit(&page, |p| {
                p.items
                    .iter()
                    .map(|t| {
                        let channel = serde_json::to_string(&t.channel).unwrap_or_default();
                        format!("{}  {channel}", t.name.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        NoticeCmd::Target(TargetCmd::Remove { name }) | NoticeCmd::Remove { name } => {
            let () = c
                .delete(&format!("/api/v1/notification-targets/{}", segment(&name)))
                .await?;
            ctx.emit(&Removed { removed: name }, |r| {
                format!("notice target {} removed", r.removed)
            })?;
        }
        NoticeCmd::List { status } => {
            let query = NoticeQuery {
                status,
                limit: None,
                after: None,
            };
            let page: List<Notice> = c.get(&with_query("/api/v1/notifications", &query)?).await?;
            ctx.emit(&page, |p| {
                let mut s = String::new();
                for n in &p.items {
                    s.push_str(&format!(
                        "{}  {:<8} attempts {}  next {}  {}\n",
                        n.id,
                        n.status.as_str(),
                        n.attempts,
                        n.next_attempt_at,
                        n.last_error.as_deref().unwrap_or("")
                    ));
                }
                if s.is_empty() {
                    "no notices waiting".into()
                } else {
                    s.trim_end().to_owned()
                }
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_target(ctx: &Ctx, c: &Client, args: TargetArgs) -> Result<()> {
    let channel = match &args.webhook {
        Some(url) => NoticeChannel::Webhook {
            url: parse_flag("webhook", url)?,
        },
        None => NoticeChannel::Email {
            to: args
                .email
                .iter()
                .map(|e| parse_flag("email", e))
                .collect::<Result<_>>()?,
        },
    };
    let secret = if args.secret_stdin {
        Some(read_line()?)
    } else {
        None
    };
    let t: NoticeTarget = c
        .put(
            &format!("/api/v1/notification-targets/{}", segment(&args.name)),
            &TargetBody { channel, secret },
        )
        .await?;
    ctx.emit(&t, |t| {
        format!(
            "notice target {} set{}",
            args.name,
            if t.signed { " (signed)" } else { "" }
        )
    })
}
