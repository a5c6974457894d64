//! Who the command line acts as: `tocsin login` (a password once, then an
//! API token kept for the other commands), `logout` and `whoami`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Args;
use reqwest::Method;
use serde::Serialize;
use tocsin_domain::access::TokenInfo;
use tocsin_domain::text::Name;
use tocsin_server::api::session::{LoginBody, MeView, NewTokenView, OwnTokenBody, SessionView};

use super::args::{Output, ServerArg};
use super::context::Ctx;
use super::input::read_password;
use crate::client::{self, Client, NO_BODY, segment};
use crate::render::join;

#[derive(Args)]
pub struct LoginArgs {
    #[command(flatten)]
    server: ServerArg,
    #[command(flatten)]
    output: Output,
    /// The account name, e.g. analyst.kim.
    name: String,
    /// Read the password from standard input instead of prompting.
    #[arg(long)]
    password_stdin: bool,
    /// Days the saved token stays valid.
    #[arg(long, default_value_t = 30)]
    days: u32,
}

/// What `tocsin login` saved.
#[derive(Serialize)]
struct LoginView<'a> {
    server: &'a str,
    account: &'a str,
    token_id: &'a str,
    saved: PathBuf,
}

pub async fn login(ctx: Ctx, args: LoginArgs) -> Result<ExitCode> {
    let LoginArgs {
        server,
        output,
        name,
        password_stdin,
        days,
    } = args;
    let ctx = ctx.for_login(&server).printing(&output);
    let c = Client::for_login(&ctx.login_server())?;
    let (password, _) = read_password(password_stdin, "password: ", false)?;
    let login = LoginBody {
        name: name.clone(),
        password,
    };
    let answer = c
        .send(Method::POST, "/api/v1/session", Some(&login), &[])
        .await?;
    let cookie = answer
        .headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().map(str::to_owned))
        .ok_or_else(|| anyhow!("the server set no session cookie"))?;
    let session: SessionView = answer.json()?;
    let with_session = [
        ("cookie", cookie.as_str()),
        ("x-csrf-token", session.csrf_token.as_str()),
    ];
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".into());
    let body = OwnTokenBody {
        label: Name::new(format!("tocsin CLI on {host}"))
            .map_err(|e| anyhow!("the token's label: {e}"))?,
        roles: None,
        valid_for_days: Some(days),
    };
    let token: NewTokenView = c
        .send(
            Method::POST,
            "/api/v1/me/tokens",
            Some(&body),
            &with_session,
        )
        .await?
        .json()?;
    let _ = c
        .send(Method::DELETE, "/api/v1/session", NO_BODY, &with_session)
        .await;
    let saved = client::Saved {
        server: c.base().to_owned(),
        account: name.clone(),
        token: token.secret,
        token_id: token.token.token_id.to_string(),
    };
    let path = client::save(&saved)?;
    let view = LoginView {
        server: &saved.server,
        account: &name,
        token_id: &saved.token_id,
        saved: path,
    };
    ctx.emit(&view, |v| {
        format!(
            "logged in to {} as {name}; token {} saved in {} (valid {days} days)",
            v.server,
            v.token_id,
            v.saved.display()
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct LogoutView {
    logged_out: bool,
}

pub async fn logout(ctx: &Ctx) -> Result<ExitCode> {
    if let Some(s) = client::load_saved()? {
        let c = Client::new(&s.server, Some(s.token.clone()))?;
        let revoked: Result<TokenInfo> = c
            .delete(&format!("/api/v1/me/tokens/{}", segment(&s.token_id)))
            .await;
        if let Err(e) = revoked {
            eprintln!("note: could not revoke the token on the server: {e:#}");
        }
    }
    let view = LogoutView {
        logged_out: client::forget()?,
    };
    ctx.emit(&view, |v| {
        if v.logged_out {
            "logged out: the saved token is revoked and forgotten".into()
        } else {
            "not logged in".into()
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn whoami(ctx: &Ctx) -> Result<ExitCode> {
    let me: MeView = ctx.client()?.get("/api/v1/me").await?;
    ctx.emit(&me, |me| {
        let a = &me.account;
        format!(
            "{} ({}) via {}\n  roles       {}\n  elements    {}\n  clearance   {}\n  compartments {}",
            a.name,
            a.spec.display_name.as_str(),
            me.via,
            join(me.roles.iter().map(|r| r.as_str())),
            join(a.spec.elements.iter().map(|e| e.as_str())),
            a.spec.clearance.as_str(),
            join(a.spec.compartments.iter().map(|c| c.as_str())),
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
