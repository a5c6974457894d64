//! What every command is given: how it prints (text, or `--json`), the
//! fixed "now" of exercises and tests, and what its options say about
//! where it acts: an API client with the caller's credential (client
//! commands), the database and the policy (operator commands). A leaf: it
//! imports no other command module.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use serde::Serialize;
use tocsin_domain::{LoadedPolicy, Timestamp};
use tocsin_service::Service;

use super::args::{Conn, DbOnly, Output, PolicyArg, ServerArg, Store};
use crate::app::{self, Paths};
use crate::client::{self, Client};
use crate::out;

/// The server client commands talk to when neither `--server` nor a
/// saved login names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Exit code for a ledger or projection check that failed.
pub const EXIT_VERIFY_FAILED: u8 = 3;

/// A command's context, from the options it declares ([`super::args`]).
/// What a command does not declare stays empty, and it never asks for it.
#[derive(Clone, Default)]
pub struct Ctx {
    pub json: bool,
    pub now: Option<Timestamp>,
    pub server: Option<String>,
    pub token: Option<String>,
    paths: Option<Paths>,
    policy_path: Option<PathBuf>,
}

impl Ctx {
    pub fn new(now: Option<Timestamp>) -> Self {
        Self {
            now,
            ..Self::default()
        }
    }

    /// With `--json` as given.
    pub fn printing(mut self, o: &Output) -> Self {
        self.json = o.json;
        self
    }

    /// With `--server` and `--token` as given.
    pub fn on_server(mut self, c: &Conn) -> Self {
        self.server = c.server.server.clone();
        self.token = c.token.clone();
        self
    }

    /// With `--server` as given (and no token: `tocsin login`).
    pub fn for_login(mut self, s: &ServerArg) -> Self {
        self.server = s.server.clone();
        self
    }

    /// With `--db` and `--key` as given.
    pub fn on_store(mut self, s: &Store) -> Self {
        self.paths = Some(Paths::new(s.db.clone(), s.key.clone()));
        self
    }

    /// With `--db` as given (a command that only reads).
    pub fn on_db(mut self, s: &DbOnly) -> Self {
        self.paths = Some(Paths::new(s.db.clone(), None));
        self
    }

    /// With `--policy` as given.
    pub fn under(mut self, p: &PolicyArg) -> Self {
        self.policy_path = p.policy.clone();
        self
    }

    /// The database and key: only for a command that declares `--db`.
    pub fn paths(&self) -> Result<&Paths> {
        self.paths
            .as_ref()
            .ok_or_else(|| anyhow!("this command does not open the database"))
    }

    /// The policy in force: `--policy`, else the built-in one.
    pub fn policy(&self) -> Result<LoadedPolicy> {
        app::load_policy(self.policy_path.as_deref())
    }

    /// The service on the database, opened for writing (operator commands).
    pub async fn write_service(&self) -> Result<Service> {
        let policy = self.policy()?;
        let store = app::open_write(self.paths()?).await?;
        Ok(app::service(store, policy, app::clock(self.now)))
    }

    /// Prints `value`: as one line of JSON with `--json`, else as `human`
    /// writes it.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<()> {
        if self.json {
            out::line(serde_json::to_string(value)?)?;
        } else {
            out::line(human(value))?;
        }
        Ok(())
    }

    /// The server to log in to: `--server`, else the one of the saved
    /// login, else [`DEFAULT_SERVER`].
    pub fn login_server(&self) -> String {
        self.server
            .clone()
            .or_else(|| client::load_saved().ok().flatten().map(|s| s.server))
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
    }

    /// A client with the caller's credential.
    pub fn client(&self) -> Result<Client> {
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
