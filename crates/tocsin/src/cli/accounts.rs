//! What an admin manages, as `tocsin account|element|token|clearance`:
//! accounts (the first admin straight into the database, the rest through
//! the API), elements, API tokens and the clearance levels.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tocsin_domain::access::{Account, AccountSpec, ClearanceLevels, ElementInfo, TokenInfo};
use tocsin_domain::text::{ElementName, Label, Name};
use tocsin_domain::{ActorName, Role};
use tocsin_server::api::admin::{ElementBody, EnrolmentView, NewAccountBody, PasswordBody};
use tocsin_server::api::common::{List, ReasonBody};
use tocsin_server::api::session::{NewTokenView, OwnTokenBody};

use super::args::Store;
use super::context::Ctx;
use super::input::{parse_flag, parse_flags, parse_opt, read_password, wire};
use crate::client::segment;
use crate::out;
use crate::render::join;

#[derive(Args, Clone)]
pub struct AccountArgs {
    /// How the person is shown [default: the account name].
    #[arg(long, value_name = "NAME")]
    display_name: Option<String>,
    /// Elements the person belongs to (repeat or comma-separate).
    #[arg(long = "element", value_delimiter = ',', value_name = "ELEMENT")]
    elements: Vec<String>,
    /// Roles (repeat or comma-separate); `tocsin help roles` says what each may do.
    #[arg(long = "role", value_delimiter = ',', value_name = "ROLE", value_parser = wire::<Role>())]
    roles: Vec<Role>,
    /// The clearance level, one of `tocsin clearance show` [default: the lowest].
    #[arg(long, value_name = "LEVEL")]
    clearance: Option<String>,
    /// Compartments held (repeat or comma-separate).
    #[arg(
        long = "compartment",
        value_delimiter = ',',
        value_name = "COMPARTMENT"
    )]
    compartments: Vec<String>,
}

#[derive(Subcommand)]
pub enum AccountCmd {
    /// Add an account, and print the one-time enrolment secret the person sets their own password with (`tocsin enrol`). With --admin, create the first admin directly in the database.
    Add {
        /// The account name, e.g. analyst.kim (what `tocsin login` takes).
        name: String,
        /// The first admin of a new deployment, created in the database itself (--db, --key) rather than through the server; refused once any account exists.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        store: Store,
        #[command(flatten)]
        account: AccountArgs,
        /// Read the password from standard input: for the first admin its password, for anyone else a one-time enrolment secret of your choosing [default: the first admin's is prompted for, or generated and shown; anyone else's is generated and shown].
        #[arg(long)]
        password_stdin: bool,
        /// No password and no enrolment secret yet (`tocsin account enrol` makes one later).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
        /// Print only the one-time enrolment secret, for scripts (`SECRET=$(tocsin account add ... -q)`).
        #[arg(short, long, conflicts_with = "no_password")]
        quiet: bool,
    },
    /// List accounts.
    List,
    /// Show an account.
    Show {
        /// The account name.
        name: String,
    },
    /// Replace an account's roles, clearance, compartments and elements.
    Change {
        /// The account name.
        name: String,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Disable an account: its sessions and tokens stop working at once.
    Disable {
        /// The account name.
        name: String,
        /// Why (recorded on the accounts stream).
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled account.
    Enable {
        /// The account name.
        name: String,
        /// Why (recorded on the accounts stream).
        #[arg(long)]
        reason: String,
    },
    /// Issue a one-time enrolment secret for an account (ends its sessions and tokens); the person runs `tocsin enrol` with it to set a password of their own.
    Enrol {
        /// The account name.
        name: String,
        /// Print only the secret, for scripts.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Set a one-time enrolment password of your choosing for an account (ends its sessions and tokens); like `enrol`, it is good only to set the person's own password.
    Password {
        /// The account name.
        name: String,
        /// Read the one-time password from standard input (otherwise prompted, or generated and shown).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
pub enum ElementCmd {
    /// Register an element.
    Add {
        /// The element's name, e.g. "Counterterrorism Center".
        name: String,
        /// What the element is.
        #[arg(long)]
        description: Option<String>,
    },
    /// List elements.
    List,
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Issue a token for your own account (the secret is printed once). Nobody issues tokens for someone else.
    Issue {
        /// What the token is for (shown by `tocsin token list`).
        #[arg(long)]
        label: String,
        /// The roles the token may use, among the ones you are logged in with (repeat or comma-separate) [default: all of them].
        #[arg(
            long = "role",
            value_delimiter = ',',
            value_name = "ROLE",
            value_parser = wire::<Role>()
        )]
        roles: Vec<Role>,
        /// Days until the token expires.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Print only the secret, for scripts (`TOKEN=$(tocsin token issue ... -q)`).
        #[arg(short, long)]
        quiet: bool,
    },
    /// List tokens.
    List,
    /// Revoke a token.
    Revoke {
        /// The token's id (from `tocsin token list`).
        token_id: String,
    },
}

#[derive(Subcommand)]
pub enum ClearanceCmd {
    /// Print the levels, lowest first.
    Show,
    /// Set the levels, lowest first (comma-separated).
    Set {
        /// The levels, lowest first, comma-separated, e.g. "UNCLASSIFIED,SECRET,TOP SECRET".
        #[arg(value_delimiter = ',', required = true, value_name = "LEVELS")]
        levels: Vec<String>,
    },
}

/// A new account, or a password set, with the password when it was generated.
#[derive(Serialize)]
struct WithPassword<A> {
    account: A,
    generated_password: Option<String>,
}

/// A one-time enrolment secret, shown once: with the account when it was
/// just created, alone with `-q`.
fn show_enrolment(ctx: &Ctx, e: &EnrolmentView, quiet: bool, a: Option<&Account>) -> Result<()> {
    if quiet {
        return Ok(out::line(&e.secret)?);
    }
    #[derive(Serialize)]
    struct View<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<&'a Account>,
        enrolment: &'a EnrolmentView,
    }
    ctx.emit(
        &View {
            account: a,
            enrolment: e,
        },
        |v| {
            let mut s = v.account.map(account_text).unwrap_or_default();
            if !s.is_empty() {
                s.push('\n');
            }
            s.push_str(&format!(
                "one-time enrolment secret (shown once, good until {}): {}\ngive it to {} in person; they run `tocsin enrol {}` to set a password of their own",
                e.expires_at, e.secret, e.account, e.account
            ));
            s
        },
    )
}

fn account_name(name: &str) -> Result<ActorName> {
    ActorName::new(name).map_err(|e| anyhow!("{name}: {e}"))
}

fn display_name(given: Option<&str>, name: &str) -> Result<Name> {
    Name::new(given.unwrap_or(name)).map_err(|e| anyhow!("--display-name: {e}"))
}

/// The spec of a new account: the flags, with the display name defaulting
/// to the account name and the clearance to `lowest`.
fn new_spec(name: &str, a: &AccountArgs, lowest: Option<&Label>) -> Result<AccountSpec> {
    let clearance = match (&a.clearance, lowest) {
        (Some(c), _) => parse_flag("clearance", c)?,
        (None, Some(l)) => l.clone(),
        (None, None) => bail!("give --clearance LEVEL"),
    };
    Ok(AccountSpec {
        display_name: display_name(a.display_name.as_deref(), name)?,
        elements: parse_flags("element", &a.elements)?,
        roles: a.roles.iter().copied().collect(),
        clearance,
        compartments: parse_flags("compartment", &a.compartments)?,
    })
}

/// `current` with what the flags give replaced.
fn changed_spec(current: AccountSpec, a: &AccountArgs) -> Result<AccountSpec> {
    Ok(AccountSpec {
        display_name: match &a.display_name {
            Some(d) => display_name(Some(d), d)?,
            None => current.display_name,
        },
        elements: if a.elements.is_empty() {
            current.elements
        } else {
            parse_flags("element", &a.elements)?
        },
        roles: if a.roles.is_empty() {
            current.roles
        } else {
            a.roles.iter().copied().collect()
        },
        clearance: match &a.clearance {
            Some(c) => parse_flag("clearance", c)?,
            None => current.clearance,
        },
        compartments: if a.compartments.is_empty() {
            current.compartments
        } else {
            parse_flags("compartment", &a.compartments)?
        },
    })
}

fn account_text(a: &Account) -> String {
    format!(
        "{} ({}){}\n  roles        {}\n  elements     {}\n  clearance    {}\n  compartments {}",
        a.name.as_str(),
        a.spec.display_name.as_str(),
        if a.disabled { " DISABLED" } else { "" },
        join(a.spec.roles.iter().map(|r| r.as_str())),
        join(a.spec.elements.iter().map(|e| e.as_str())),
        a.spec.clearance.as_str(),
        join(a.spec.compartments.iter().map(|c| c.as_str()))
    )
}

fn accounts_text(page: &List<Account>) -> String {
    let mut s = String::new();
    for a in &page.items {
        s.push_str(&format!(
            "{:<24} {:<14} {:<40} {}{}\n",
            a.name.as_str(),
            a.spec.clearance.as_str(),
            join(a.spec.roles.iter().map(|r| r.as_str())),
            join(a.spec.elements.iter().map(|e| e.as_str())),
            if a.disabled { "  DISABLED" } else { "" }
        ));
    }
    s.trim_end().to_owned()
}

fn account_path(name: &str) -> String {
    format!("/api/v1/accounts/{}", segment(name))
}

pub async fn account(ctx: &Ctx, cmd: AccountCmd) -> Result<ExitCode> {
    match cmd {
        AccountCmd::Add {
            name,
            admin: true,
            store,
            account,
            password_stdin,
            no_password,
            quiet: _,
        } => {
            if no_password {
                bail!("the first admin needs a password, to log in");
            }
            let ctx = &ctx.clone().on_store(&store);
            let svc = ctx.write_service().await?;
            let n = account_name(&name)?;
            let display = display_name(account.display_name.as_deref(), &name)?;
            let element = ElementName::new(
                account
                    .elements
                    .first()
                    .map(String::as_str)
                    .unwrap_or("Administration"),
            )
            .map_err(|e| anyhow!("--element: {e}"))?;
            let (pw, generated) = read_password(password_stdin, "password for the admin: ", true)?;
            let pw =
                tocsin_domain::access::Password::new(pw).map_err(|e| anyhow!("password: {e}"))?;
            let shown = generated.then(|| pw.expose().to_owned());
            let a = svc.bootstrap_admin(n, display, element, pw).await?;
            let view = WithPassword {
                account: a,
                generated_password: shown,
            };
            ctx.emit(&view, |v| {
                let a = &v.account;
                let mut s = format!(
                    "created the first admin {} in element {}; log in with `tocsin login {}` once `tocsin serve` runs",
                    a.name,
                    join(a.spec.elements.iter().map(|e| e.as_str())),
                    a.name
                );
                if let Some(p) = &v.generated_password {
                    s.push_str(&format!("\ngenerated password (shown once): {p}"));
                }
                s
            })?;
        }
        AccountCmd::Add {
            name,
            admin: false,
            store: _,
            account,
            password_stdin,
            no_password,
            quiet,
        } => {
            let c = ctx.client()?;
            let levels: ClearanceLevels = c.get("/api/v1/clearance-levels").await?;
            let spec = new_spec(&name, &account, levels.levels().first())?;
            let password = if password_stdin {
                Some(super::input::read_line()?)
            } else {
                None
            };
            let chosen = password.is_some();
            let body = NewAccountBody {
                name: account_name(&name)?,
                spec,
                password,
            };
            let a: Account = c.post("/api/v1/accounts", &body).await?;
            if no_password || chosen {
                if !quiet {
                    ctx.emit(&a, account_text)?;
                }
                if chosen && !quiet && !ctx.json {
                    out::line(format!(
                        "the password you gave is a one-time enrolment secret: {name} runs `tocsin enrol {name}` with it within 3 days"
                    ))?;
                }
            } else {
                let e: EnrolmentView = c
                    .post_empty(&format!("{}/enrolment", account_path(&name)))
                    .await?;
                show_enrolment(ctx, &e, quiet, Some(&a))?;
            }
        }
        AccountCmd::List => {
            let page: List<Account> = ctx.client()?.get("/api/v1/accounts?limit=1000").await?;
            ctx.emit(&page, accounts_text)?;
        }
        AccountCmd::Show { name } => {
            let a: Account = ctx.client()?.get(&account_path(&name)).await?;
            ctx.emit(&a, account_text)?;
        }
        AccountCmd::Change { name, account } => {
            let c = ctx.client()?;
            let current: Account = c.get(&account_path(&name)).await?;
            let spec = changed_spec(current.spec, &account)?;
            let a: Account = c.put(&account_path(&name), &spec).await?;
            ctx.emit(&a, account_text)?;
        }
        AccountCmd::Disable { name, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            let path = format!("{}/disable", account_path(&name));
            let a: Account = ctx.client()?.post(&path, &body).await?;
            ctx.emit(&a, account_text)?;
        }
        AccountCmd::Enable { name, reason } => {
            let body = ReasonBody {
                reason: parse_flag("reason", &reason)?,
            };
            let path = format!("{}/enable", account_path(&name));
            let a: Account = ctx.client()?.post(&path, &body).await?;
            ctx.emit(&a, account_text)?;
        }
        AccountCmd::Enrol { name, quiet } => {
            let e: EnrolmentView = ctx
                .client()?
                .post_empty(&format!("{}/enrolment", account_path(&name)))
                .await?;
            show_enrolment(ctx, &e, quiet, None)?;
        }
        AccountCmd::Password {
            name,
            password_stdin,
        } => {
            let (pw, generated) =
                read_password(password_stdin, &format!("new password for {name}: "), true)?;
            let body = PasswordBody {
                password: pw.clone(),
            };
            let path = format!("{}/password", account_path(&name));
            let () = ctx.client()?.put(&path, &body).await?;
            let view = WithPassword {
                account: name,
                generated_password: generated.then_some(pw),
            };
            ctx.emit(&view, |v| {
                let mut s = format!(
                    "one-time enrolment password of {0} set; its sessions and tokens are ended; {0} runs `tocsin enrol {0}` with it within 3 days",
                    v.account
                );
                if let Some(p) = &v.generated_password {
                    s.push_str(&format!("\ngenerated password (shown once): {p}"));
                }
                s
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn element(ctx: &Ctx, cmd: ElementCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        ElementCmd::Add { name, description } => {
            let body = ElementBody {
                name: ElementName::new(name.as_str()).map_err(|e| anyhow!("{name}: {e}"))?,
                description: parse_opt("description", description.as_deref())?,
            };
            let e: ElementInfo = c.post("/api/v1/elements", &body).await?;
            ctx.emit(&e, |e| format!("registered element {}", e.name.as_str()))?;
        }
        ElementCmd::List => {
            let page: List<ElementInfo> = c.get("/api/v1/elements?limit=1000").await?;
            ctx.emit(&page, |p| {
                p.items
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(ctx: &Ctx, cmd: TokenCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    match cmd {
        TokenCmd::Issue {
            label,
            roles,
            days,
            quiet,
        } => {
            let body = OwnTokenBody {
                label: parse_flag("label", &label)?,
                roles: (!roles.is_empty()).then(|| roles.into_iter().collect()),
                valid_for_days: Some(days),
            };
            let t: NewTokenView = c.post("/api/v1/me/tokens", &body).await?;
            if quiet {
                crate::out::line(&t.secret)?;
                return Ok(ExitCode::SUCCESS);
            }
            ctx.emit(&t, |t| {
                format!(
                    "token {} for {} ({}), expires {}\nsecret (shown once): {}",
                    t.token.token_id,
                    t.token.account,
                    join(t.token.roles.iter().map(|r| r.as_str())),
                    t.token.expires_at,
                    t.secret
                )
            })?;
        }
        TokenCmd::List => {
            let page: List<TokenInfo> = c.get("/api/v1/tokens").await?;
            ctx.emit(&page, |p| {
                let mut s = String::new();
                for t in &p.items {
                    s.push_str(&format!(
                        "{}  {:<20} {:<30} expires {}{}\n",
                        t.token_id,
                        t.account.as_str(),
                        t.label.as_str(),
                        t.expires_at,
                        if t.revoked { "  REVOKED" } else { "" }
                    ));
                }
                s.trim_end().to_owned()
            })?;
        }
        TokenCmd::Revoke { token_id } => {
            let t: TokenInfo = c
                .delete(&format!("/api/v1/tokens/{}", segment(&token_id)))
                .await?;
            ctx.emit(&t, |t| format!("token {} revoked", t.token_id))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn clearance(ctx: &Ctx, cmd: ClearanceCmd) -> Result<ExitCode> {
    let c = ctx.client()?;
    let levels: ClearanceLevels = match cmd {
        ClearanceCmd::Show => c.get("/api/v1/clearance-levels").await?,
        ClearanceCmd::Set { levels } => {
            let labels = levels
                .iter()
                .map(|l| Label::new(l.as_str()).map_err(|e| anyhow!("{l}: {e}")))
                .collect::<Result<Vec<_>>>()?;
            let body = ClearanceLevels::new(labels).map_err(|e| anyhow!("{e}"))?;
            c.put("/api/v1/clearance-levels", &body).await?
        }
    };
    ctx.emit(&levels, |l| {
        l.levels()
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(" < ")
    })?;
    Ok(ExitCode::SUCCESS)
}
