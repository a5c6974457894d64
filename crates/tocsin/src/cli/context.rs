//! What every command is given: the global options, how it prints (text,
//! or `--json`), an API client with the caller's credential, and, for the
//! operator commands, the policy and the database. A leaf: it imports no
//! other command module.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;
use tocsin_domain::{LoadedPolicy, Timestamp};
use tocsin_service::Service;

use crate::app::{self, Paths};
use crate::client::{self, Client};
use crate::out;

/// The server client commands talk to when neither `--server` nor a
/// saved login names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Exit code for a ledger or projection check that failed.
pub const EXIT_VERIFY_FAILED: u8 = 3;

/// The global options, as every command sees them.
pub struct Ctx {
    pub paths: Paths,
    pub policy_path: Option<PathBuf>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub json: bool,
    pub now: Option<Timestamp>,
}

impl Ctx {
    /// The policy in force: `--policy`, else the built-in one.
    pub fn policy(&self) -> Result<LoadedPolicy> {
        app::load_policy(self.policy_path.as_deref())
    }

    /// The service on the database, opened for writing (operator commands).
    pub async fn write_service(&self) -> Result<Service> {
        let policy = self.policy()?;
        let store = app::open_write(&self.paths).await?;
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
