//! `tocsin demo`: a fresh deployment with the Kerman and Crocus cases walked
//! through their whole lifecycle at their historical dates, demo accounts
//! for the people in them, then the server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use tocsin_domain::LoadedPolicy;
use tocsin_service::{ManualClock, Service, SystemClock};
use tocsin_store::audit::{VerifyOptions, verify};

use crate::app::{self, Db, Paths};
use crate::out;
use crate::render;
use crate::scenarios::{self, Cast, PEOPLE};

/// The password of every demo account (it is a demo).
pub const DEMO_PASSWORD: &str = "tocsin-demo-password";

/// The server of the demo: its login page lists the demo accounts.
pub fn demo_config() -> tocsin_server::ServerConfig {
    tocsin_server::ServerConfig {
        demo: Some(tocsin_server::DemoAccounts {
            accounts: PEOPLE
                .iter()
                .map(|(n, roles, _)| {
                    let r: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                    ((*n).to_owned(), r.join(", "))
                })
                .collect(),
            password: DEMO_PASSWORD.to_owned(),
        }),
        ..Default::default()
    }
}

pub async fn run(
    given: &Paths,
    policy: LoadedPolicy,
    force: bool,
    no_serve: bool,
    bind: &str,
) -> Result<ExitCode> {
    let paths = if given.db == Db::Sqlite(PathBuf::from("tocsin.db")) {
        Paths::new(PathBuf::from("tocsin-demo.db"), None)
    } else {
        given.clone()
    };
    let key = paths.key()?.to_owned();
    let loaded = match &paths.db {
        Db::Sqlite(db) => db.exists() || key.exists(),
        Db::Postgres(_) => key.exists(),
    };
    if loaded && !force {
        out::line(format!(
            "the demo is already loaded in {} (pass --force to load it afresh)",
            paths.db
        ))?;
        if no_serve {
            return Ok(ExitCode::SUCCESS);
        }
        let store = app::open_write(&paths).await?;
        let live = Arc::new(Service::new(store, Arc::new(policy), Arc::new(SystemClock)));
        app::init_logging("text")?;
        out::line(format!(
            "demo accounts: {} (password '{DEMO_PASSWORD}'); then: tocsin --server http://{bind} login analyst.kim",
            PEOPLE
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        app::serve(live, demo_config(), bind).await?;
        return Ok(ExitCode::SUCCESS);
    }
    match &paths.db {
        Db::Sqlite(db) => {
            if loaded {
                for p in [db.as_path(), key.as_path()] {
                    let _ = std::fs::remove_file(p);
                }
                for suffix in ["-wal", "-shm"] {
                    let mut p = db.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(p));
                }
            }
        }
        Db::Postgres(_) => {
            if loaded {
                bail!(
                    "--force replaces only an SQLite demo file; tocsin does not empty a PostgreSQL database: drop and create it again (dropdb, createdb) and remove {}",
                    key.display()
                );
            }
        }
    }
    let init = app::init(&paths, Some("tocsin.demo/kerman".into())).await?;
    out::line(format!(
        "tocsin demo: the Kerman case of January 2024 and the Crocus City Hall case of March 2024, in {}",
        paths.db
    ))?;
    out::line(
        "(the clock is set to the historical dates; every step is recorded in the ledger)\n",
    )?;
    let store = app::open_write(&paths).await?;
    let policy = Arc::new(policy);
    // The people of the cases are accounts before the cases begin, so every
    // step goes through the service as one of them.
    let clock = Arc::new(ManualClock::new(scenarios::ts("2023-12-01T09:00:00Z")));
    let svc = Service::new(store.clone(), policy.clone(), clock.clone());
    let cast = Cast::enrol(&svc, PEOPLE, Some(DEMO_PASSWORD)).await?;
    // A narrative line that cannot be written is dropped; the next
    // `out::line` stops the demo on a closed pipe.
    let mut say = |s: &str| {
        let _ = out::line(s);
    };
    let kerman = scenarios::run_kerman(&svc, &clock, &cast, &mut say).await?;
    out::line("")?;
    let mut quiet = |_: &str| {};
    let crocus = scenarios::run_crocus(&svc, &clock, &cast, &mut quiet).await?;
    out::line(format!(
        "\n{}",
        render::case(&kerman.case, tocsin_service::Clock::now(&*clock))
    ))?;

    let live = Arc::new(Service::new(
        store.clone(),
        policy.clone(),
        Arc::new(SystemClock),
    ));

    let outcome = verify(
        store.clone(),
        &VerifyOptions {
            accept_disposed: false,
            verifier: init.verifier.clone(),
            since: None,
            deep: true,
            progress: None,
        },
    )
    .await?;
    match outcome {
        Ok(r) => out::line(format!(
            "audit verify: OK, {} events, root {}",
            r.size,
            r.root.to_base64()
        ))?,
        Err(f) => bail!("the demo ledger does not verify: {f}"),
    }
    let head = store.ledger_head().await?;
    out::line(format!(
        "\nlatest signed checkpoint:\n{}",
        head.checkpoint.unwrap_or_default()
    ))?;
    let mut shown = Vec::new();
    for (name, id) in [("Kerman", kerman.case_id), ("Crocus", crocus.id)] {
        let number = store.case_summary(id).await?.and_then(|c| c.number);
        shown.push(match number {
            Some(n) => format!("{name} {n} ({id})"),
            None => format!("{name} {id}"),
        });
    }
    out::line(format!("cases: {}", shown.join(" and ")))?;
    out::line(format!(
        "demo accounts (password '{DEMO_PASSWORD}'): {}",
        PEOPLE
            .iter()
            .map(|(n, _, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    if no_serve {
        let key = match &paths.db {
            Db::Postgres(_) => format!(" --key {}", init.key.display()),
            Db::Sqlite(_) => String::new(),
        };
        out::line(format!(
            "serve it: tocsin --db {}{key} serve; then tocsin login analyst.kim",
            paths.db
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(svc);
    app::init_logging("text")?;
    out::line(format!(
        "then, in another terminal: tocsin --server http://{bind} login analyst.kim\n"
    ))?;
    app::serve(live, demo_config(), bind).await?;
    Ok(ExitCode::SUCCESS)
}
