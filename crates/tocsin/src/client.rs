//! The CLI as a client of the HTTP API: every lifecycle command acts through
//! the server as an account, so the access policy and the two-person rules
//! hold on every path.
//!
//! Credentials: `--token` / `TOCSIN_TOKEN`, else the token `tocsin login`
//! saved in the user's configuration directory (owner-only permissions).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// An error the server answered with (a problem details document).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub type_: String,
    pub title: String,
    pub detail: String,
    pub body: Value,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.title, self.detail)?;
        if let Some(Value::Array(a)) = self.body.get("allowed")
            && a.is_empty()
        {
            write!(f, " (nothing is allowed next)")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl Problem {
    /// The stable kind (the last part of `type`).
    pub fn kind(&self) -> &str {
        self.type_.rsplit('/').next().unwrap_or("")
    }
}

/// A connection to a tocsin server.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Self> {
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
        Ok(Self { base, token, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn with_token(&self, token: String) -> Self {
        Self {
            token: Some(token),
            ..self.clone()
        }
    }

    /// Sends a request and returns the status, headers and JSON body
    /// (`Value::Null` for an empty one). Problem answers become errors.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Value)> {
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
        let bytes = resp.bytes().await?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if status.is_success() {
            return Ok((status, headers, value));
        }
        let get = |k: &str| {
            value
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut p = Problem {
            status,
            type_: get("type"),
            title: get("title"),
            detail: get("detail"),
            body: value.clone(),
        };
        if p.title.is_empty() {
            p.title = status.to_string();
            p.detail = value.as_str().unwrap_or_default().to_owned();
        }
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            p.detail
                .push_str(" (log in with `tocsin login`, or set TOCSIN_TOKEN)");
        }
        Err(p.into())
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let (_, _, v) = self.send(method, path, body, &[]).await?;
        serde_json::from_value(v).map_err(|e| anyhow!("unexpected answer from the server: {e}"))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T> {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::DELETE, path, None).await
    }
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
