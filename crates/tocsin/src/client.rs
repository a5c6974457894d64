//! The CLI as a client of the HTTP API: every lifecycle command acts through
//! the server as an account, so the access policy and the two-person rules
//! hold on every path.
//!
//! Answers are read into the types the server writes
//! (`tocsin_server::api::*`, the domain's and the service's), and request
//! bodies are the server's request types: [`Client::get`], [`Client::post`],
//! [`Client::put`] and [`Client::delete`] serialise and deserialise them.
//! A problem answer becomes a [`Problem`] error.
//!
//! Credentials: `--token` / `TOCSIN_TOKEN`, else the token `tocsin login`
//! saved in the user's configuration directory (owner-only permissions).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use tocsin_domain::sanitise::Finding;

/// What `tocsin login` keeps.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Saved {
    pub server: String,
    pub account: String,
    pub token: String,
    pub token_id: String,
}

/// Where the saved credentials live: `$TOCSIN_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/tocsin`, else `~/.config/tocsin`.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("TOCSIN_CONFIG_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("tocsin"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| {
        anyhow!("cannot find a configuration directory: set HOME or TOCSIN_CONFIG_DIR")
    })?;
    Ok(PathBuf::from(home).join(".config").join("tocsin"))
}

fn credentials_path() -> Result<PathBuf> {
    Ok(config_dir()?.join("credentials.json"))
}

pub fn load_saved() -> Result<Option<Saved>> {
    let p = credentials_path()?;
    match std::fs::read_to_string(&p) {
        Ok(s) => Ok(Some(serde_json::from_str(&s).with_context(|| {
            format!("{} is damaged: run `tocsin login` again", p.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

pub fn save(saved: &Saved) -> Result<PathBuf> {
    let dir = config_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let p = dir.join("credentials.json");
    let tmp = dir.join("credentials.json.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(serde_json::to_string_pretty(saved)?.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &p)?;
    Ok(p)
}

pub fn forget() -> Result<bool> {
    let p = credentials_path()?;
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// An error the server answered with: an RFC 9457 problem details
/// document. (Its fields are those of `tocsin_server::problem::Problem`,
/// which the server only serialises.)
#[derive(Debug, Deserialize)]
pub struct Problem {
    /// The HTTP status.
    #[serde(default)]
    pub status: u16,
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// The JSON path of the offending field, for validation problems.
    #[serde(default)]
    pub field: Option<String>,
    /// What is allowed next, for illegal transitions.
    #[serde(default)]
    pub allowed: Vec<String>,
    /// The findings of the sanitisation check, for a refused draft.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// A refused STIX bundle: the object at fault, the path, the reason.
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl Problem {
    /// The problem in an error answer of `status`: the problem details
    /// document, or (from something that is not tocsin) the status and
    /// the text of the body.
    fn of(status: StatusCode, body: &[u8]) -> Self {
        match serde_json::from_slice::<Problem>(body) {
            Ok(p) if !p.title.is_empty() => p,
            parsed => Problem {
                status: status.as_u16(),
                type_: parsed.map(|p| p.type_).unwrap_or_default(),
                title: status.to_string(),
                detail: if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
                    String::new()
                } else {
                    String::from_utf8_lossy(body).into_owned()
                },
                field: None,
                allowed: Vec::new(),
                findings: Vec::new(),
                object: None,
                path: None,
                reason: None,
            },
        }
    }

    /// The stable kind (the last part of `type`).
    pub fn kind(&self) -> &str {
        self.type_.rsplit('/').next().unwrap_or("")
    }
}

/// A successful answer: its headers and body.
pub struct Answer {
    pub headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The body read as `T` (an empty body reads as JSON `null`, so as `()`).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.is_empty() {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| anyhow!("unexpected answer from the server: {e}"))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// No request body (for [`Client::send`]).
pub const NO_BODY: Option<&()> = None;

/// A connection to a tocsin server.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
    /// Whether a refusal for want of a credential says how to get one.
    login_hint: bool,
}

impl Client {
    /// A client for `tocsin login`: a refused password says so and no
    /// more (logging in is what it was doing).
    pub fn for_login(server: &str) -> Result<Self> {
        Ok(Self {
            login_hint: false,
            ..Self::new(server, None)?
        })
    }

    pub fn new(server: &str, token: Option<String>) -> Result<Self> {
        if token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            bail!(
                "the token is empty: --token or TOCSIN_TOKEN is set to nothing (give a token, or unset TOCSIN_TOKEN to use the one `tocsin login` saved)"
            );
        }
        let base = server.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            bail!("--server {server}: give a URL such as http://127.0.0.1:8080");
        }
        if base.starts_with("https://") {
            bail!(
                "--server {server}: this build of the CLI speaks plain HTTP only; reach the server on a trusted network or through a local TLS-terminating proxy"
            );
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("tocsin-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            base,
            token,
            http,
            login_hint: true,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request with `body` as JSON and extra `headers`. A problem
    /// answer becomes a [`Problem`] error.
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_connect() {
                anyhow!(
                    "cannot reach the tocsin server at {}: is `tocsin serve` running? (set --server or TOCSIN_SERVER)",
                    self.base
                )
            } else {
                anyhow!("{method} {url}: {e}")
            }
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?.to_vec();
        if status.is_success() {
            return Ok(Answer { headers, body });
        }
        let mut p = Problem::of(status, &body);
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() && self.login_hint {
            p.detail
                .push_str(" (log in with `tocsin login`, or set TOCSIN_TOKEN)");
        }
        Err(p.into())
    }

    /// `GET path`, read as `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(Method::GET, path, NO_BODY, &[]).await?.json()
    }

    /// `GET path`, a text answer (a letter, a CAP alert).
    pub async fn get_text(&self, path: &str) -> Result<String> {
        Ok(self.send(Method::GET, path, NO_BODY, &[]).await?.text())
    }

    /// `POST path` with `body`, read as `T`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(Method::POST, path, Some(body), &[]).await?.json()
    }

    /// `POST path` without a body, read as `T`.
    pub async fn post_empty<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(Method::POST, path, NO_BODY, &[]).await?.json()
    }

    /// `PUT path` with `body`, read as `T` (`()` for no content).
    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T> {
        self.send(Method::PUT, path, Some(body), &[]).await?.json()
    }

    /// `DELETE path`, read as `T` (`()` for no content).
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.send(Method::DELETE, path, NO_BODY, &[]).await?.json()
    }
}

/// What a path segment may hold unencoded: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (an account name, a target name...).
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `path` with `query` (one of the server's query types) as its query
/// string; fields that are `None` are left out.
pub fn with_query<Q: Serialize>(path: &str, query: &Q) -> Result<String> {
    let q = serde_urlencoded::to_string(query)
        .map_err(|e| anyhow!("cannot encode the query of {path}: {e}"))?;
    Ok(if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    })
}
