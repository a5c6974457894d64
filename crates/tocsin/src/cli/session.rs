//! Who the command line acts as: `tocsin login` (a password once, then an
//! API token kept for the other commands), `enrol` (a one-time secret an
//! admin set, then a password of one's own), `logout` and `whoami`.

use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal as _;

use anyhow::{Result, anyhow, bail};
use clap::Args;
use reqwest::Method;
use serde::Serialize;
use tocsin_domain::access::TokenInfo;
use tocsin_domain::text::Name;
use tocsin_server::api::session::{
    LoginBody, MeView, NewTokenView, OwnPasswordBody, OwnTokenBody, SessionView,
};

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
    let session = Session::open(&c, &name, password).await?;
    if session.view.password_change_required {
        session.close(&c).await;
        bail!(
            "{name}'s password is a one-time enrolment secret an admin set: it only lets you set a password of your own; run `tocsin enrol {name}` (it asks for that secret, then for your new password)"
        );
    }
    save_token(&ctx, &c, &name, &session, days).await
}

#[derive(Args)]
pub struct EnrolArgs {
    #[command(flatten)]
    server: ServerArg,
    #[command(flatten)]
    output: Output,
    /// The account name, e.g. analyst.kim.
    name: String,
    /// The one-time enrolment secret the admin gave you (otherwise `TOCSIN_ENROLMENT_SECRET`, or prompted).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true)]
    secret: Option<String>,
    /// Read your new password from standard input (otherwise `TOCSIN_PASSWORD`, or prompted twice).
    #[arg(long)]
    password_stdin: bool,
    /// Days the saved token stays valid.
    #[arg(long, default_value_t = 30)]
    days: u32,
}

/// `tocsin enrol`: log in once with the one-time secret an admin set, set
/// a password of one's own, and log in with it.
pub async fn enrol(ctx: Ctx, args: EnrolArgs) -> Result<ExitCode> {
    let EnrolArgs {
        server,
        output,
        name,
        secret,
        password_stdin,
        days,
    } = args;
    let ctx = ctx.for_login(&server).printing(&output);
    let c = Client::for_login(&ctx.login_server())?;
    let secret = match secret.or_else(|| std::env::var("TOCSIN_ENROLMENT_SECRET").ok()) {
        Some(s) => s,
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("one-time enrolment secret: ")?
        }
        None => bail!("no enrolment secret: give --secret, TOCSIN_ENROLMENT_SECRET or a terminal"),
    };
    let (new, _) = read_password(password_stdin, "your new password: ", false)?;
    let session = Session::open(&c, &name, secret.clone()).await?;
    if !session.view.password_change_required {
        session.close(&c).await;
        bail!("{name} has a password of their own already: use `tocsin login {name}`");
    }
    let body = OwnPasswordBody {
        current: secret,
        new: new.clone(),
    };
    // Setting the password ends every session of the account, this one too.
    c.send(
        Method::PUT,
        "/api/v1/me/password",
        Some(&body),
        &session.headers(),
    )
    .await?;
    let session = Session::open(&c, &name, new).await?;
    save_token(&ctx, &c, &name, &session, days).await
}

/// A login session, held only to issue the CLI's token.
struct Session {
    cookie: String,
    view: SessionView,
}

impl Session {
    async fn open(c: &Client, name: &str, password: String) -> Result<Session> {
        let login = LoginBody {
            name: name.to_owned(),
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
        Ok(Session {
            cookie,
            view: answer.json()?,
        })
    }

    fn headers(&self) -> [(&'static str, &str); 2] {
        [
            ("cookie", self.cookie.as_str()),
            ("x-csrf-token", self.view.csrf_token.as_str()),
        ]
    }

    async fn close(&self, c: &Client) {
        let _ = c
            .send(Method::DELETE, "/api/v1/session", NO_BODY, &self.headers())
            .await;
    }
}

/// Issues the CLI's own token with the session, ends the session, and
/// saves the token for the other commands.
async fn save_token(
    ctx: &Ctx,
    c: &Client,
    name: &str,
    session: &Session,
    days: u32,
) -> Result<ExitCode> {
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
            &session.headers(),
        )
        .await?
        .json()?;
    session.close(c).await;
    let saved = client::Saved {
        server: c.base().to_owned(),
        account: name.to_owned(),
        token: token.secret,
        token_id: token.token.token_id.to_string(),
    };
    let path = client::save(&saved)?;
    let view = LoginView {
        server: &saved.server,
        account: name,
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
