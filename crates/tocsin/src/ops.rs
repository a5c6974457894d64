//! Operator commands on whole databases: `tocsin migrate` (copy a
//! deployment to another database, any backend to any backend) and
//! `tocsin backup` (an online copy of an SQLite file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tocsin_ledger::NoteSigner;
use tocsin_store::audit::{VerifyOptions, verify};
use tocsin_store::{CopyProgress, copy};
use tocsin_store_sqlite::SqliteStore;

use crate::app::{self, Db, Identity, Paths};
use crate::out;

/// Exit code for a copy that does not verify.
const EXIT_VERIFY_FAILED: u8 = 3;

/// A progress line on standard error (indicatif draws it only on a
/// terminal), none with `--json`.
fn progress_bar(json: bool) -> Result<ProgressBar> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(ProgressStyle::with_template("{msg}: {pos}/{len}")?);
    Ok(bar)
}

/// Shows where a copy stands.
fn show_copy(bar: &ProgressBar, p: CopyProgress) {
    bar.set_message(format!("copying {}", p.stage));
    bar.set_length(p.total.max(p.done));
    bar.set_position(p.done);
}

/// `tocsin migrate --from A --to B`: copies the deployment in A into B (a
/// new SQLite file, or an existing empty PostgreSQL database), then
/// verifies B in full. Nothing in A changes; stop the servers on A first.
pub async fn migrate(
    from: &Db,
    to: &Db,
    key: Option<PathBuf>,
    check: bool,
    json: bool,
) -> Result<ExitCode> {
    if from == to {
        bail!("--from and --to are the same database");
    }
    let paths = Paths::new(from.clone(), key);
    let key = paths
        .key()
        .context("migrate needs the deployment's signing key: the copy is made for the same key")?;
    let signer: NoteSigner = app::read_key(key)?;
    let source = app::open(from, None)
        .await
        .with_context(|| format!("cannot open the source {from}"))?;
    let meta = source.meta().clone();
    if signer.verifier().to_string() != meta.verifier_key {
        bail!(
            "the signing key {} does not belong to {from} (its key is {}, this one {})",
            key.display(),
            meta.verifier_key,
            signer.verifier()
        );
    }
    let target = app::create(
        to,
        signer.clone(),
        Identity {
            deployment_id: meta.deployment_id.clone(),
            origin: meta.origin.clone(),
            created_at: meta.created_at.clone(),
        },
    )
    .await
    .with_context(|| format!("cannot initialise the target {to}"))?;
    let bar = progress_bar(json)?;
    let show = |p: CopyProgress| show_copy(&bar, p);
    let copied = copy(&*source, &*target, Some(&show)).await;
    bar.finish_and_clear();
    let report = copied.map_err(|e| {
        anyhow!(
            "{e}\nthe target {to} is incomplete: {}",
            match to {
                Db::Sqlite(p) => format!("delete {} before trying again", p.display()),
                Db::Postgres(_) =>
                    "drop the database and create it again before trying again".to_owned(),
            }
        )
    })?;
    let verified = if check {
        let bar = progress_bar(json)?;
        bar.set_message("verifying the copy");
        let show = |done: u64, total: u64| {
            bar.set_length(total);
            bar.set_position(done);
        };
        let opts = VerifyOptions {
            accept_disposed: false,
            verifier: signer.verifier(),
            since: None,
            deep: false,
            progress: Some(&show),
        };
        let outcome = verify(target.clone(), &opts).await?;
        bar.finish_and_clear();
        match outcome {
            Ok(r) => Some(r),
            Err(f) => {
                out::line(format!("FAILED: the copy does not verify, at {f}"))?;
                return Ok(ExitCode::from(EXIT_VERIFY_FAILED));
            }
        }
    } else {
        None
    };
    let key_hint = match to {
        Db::Sqlite(p) => {
            let default = Paths::new(p.clone(), None).key;
            if default.as_deref() == Some(key) {
                String::new()
            } else {
                format!(
                    "\nits signing key is still {}: use --key {} with it (or copy the key to {})",
                    key.display(),
                    key.display(),
                    default.map(|d| d.display().to_string()).unwrap_or_default()
                )
            }
        }
        Db::Postgres(_) => format!(
            "\nits signing key is still {}: use --db '{to}' --key {} with it",
            key.display(),
            key.display()
        ),
    };
    if json {
        out::line(format!(
            "{}",
            json!({
                "from": from.to_string(), "to": to.to_string(),
                "size": report.size, "root": report.root.to_base64(),
                "nodes": report.nodes, "checkpoints": report.checkpoints,
                "cases": report.cases, "docs": report.docs,
                "projection_sha256": report.projection.sha256,
                "verified": verified.is_some(),
            })
        ))?;
    } else {
        out::line(format!(
            "copied {from} to {to}\n  ledger       {} events, {} Merkle nodes, {} checkpoints; root {}\n  query tables {} cases, {} reports (digest {})\n  documents    {}\n  {}{key_hint}",
            report.size,
            report.nodes,
            report.checkpoints,
            report.root.to_base64(),
            report.cases,
            report.projection.reports,
            report.projection.sha256,
            report.docs,
            if verified.is_some() {
                "audit verify: OK on the copy (same root and size as the source)"
            } else {
                "same root and size as the source (not verified: run tocsin audit verify on it)"
            }
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `tocsin backup DEST`: an online copy of the SQLite database (safe while
/// a server writes to it), then a look at what the copy holds.
pub async fn backup(db: &Db, dest: &Path, json: bool) -> Result<ExitCode> {
    let Db::Sqlite(path) = db else {
        bail!(
            "tocsin backup copies an SQLite file; back up a PostgreSQL database with pg_dump (see the README: `pg_dump -Fc -f tocsin.dump ...`, restored with pg_restore)"
        );
    };
    if dest.exists() {
        bail!(
            "{} already exists; refusing to overwrite it",
            dest.display()
        );
    }
    let store = SqliteStore::open(path, None)?;
    store
        .backup_to(dest.to_path_buf())
        .await
        .with_context(|| format!("backing up {} to {}", path.display(), dest.display()))?;
    let copy = SqliteStore::open(dest, None)
        .with_context(|| format!("the backup {} cannot be opened", dest.display()))?;
    let head = tocsin_store::Store::ledger_head(&copy).await?;
    let damaged = tocsin_store::Store::integrity_check(&copy).await?;
    if !damaged.is_empty() {
        bail!(
            "the backup {} is damaged: {}",
            dest.display(),
            damaged.join("; ")
        );
    }
    if json {
        out::line(format!(
            "{}",
            json!({"backup": dest, "size": head.size, "root": head.root.to_base64(), "checkpoint": head.checkpoint})
        ))?;
    } else {
        out::line(format!(
            "backed up {} to {}: {} events, root {}\nrestore: stop the server, put the file in place (with its signing key), then `tocsin audit verify --since` a checkpoint you kept\nthe backup's latest checkpoint:\n{}",
            path.display(),
            dest.display(),
            head.size,
            head.root.to_base64(),
            head.checkpoint.unwrap_or_default().trim_end()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}
