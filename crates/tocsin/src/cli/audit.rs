//! The ledger, as `tocsin audit`: full verification (exit 3 at the first
//! bad position), the latest signed checkpoint and inclusion and
//! consistency proofs, read from the database itself; and the access log,
//! read through the server as an auditor.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tocsin_ledger::{Checkpoint, NoteVerifier, open_checkpoint};
use tocsin_server::api::audit::{ConsistencyView, InclusionView};
use tocsin_server::api::common::{List, PageQuery};
use tocsin_service::LoggedEvent;
use tocsin_store::audit::{VerifyOptions, consistency, inclusion, root_at_size, verify};

use super::args::{Conn, DbOnly, Store};
use super::context::{Ctx, EXIT_VERIFY_FAILED};
use crate::app;
use crate::client::with_query;
use crate::out;

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Verify the whole ledger in the database (exit 0 when intact, 3 with the first bad position otherwise).
    Verify {
        #[command(flatten)]
        store: Store,
        /// A checkpoint you kept (a file from `tocsin audit checkpoint`): prove the log extends it.
        #[arg(long, value_name = "FILE")]
        since: Option<PathBuf>,
        /// The verifier key to check signatures with, or a file holding it [default: from the signing key, else the database's record].
        #[arg(long, value_name = "KEY|FILE")]
        vkey: Option<String>,
        /// Also fold the accounts and every case from the ledger alone: every case action was taken by an account holding the role, element and clearance it needed at that position; no two-person rule was met by one person; every query-table row and derived document equals the fold.
        #[arg(long)]
        deep: bool,
        /// Also check the database itself (SQLite quick_check; on PostgreSQL the ledger head, tree levels and tables against each other).
        #[arg(long)]
        physical: bool,
    },
    /// Print the latest signed checkpoint (keep it to check the log later).
    Checkpoint(DbOnly),
    /// Inclusion proof for the event at a position.
    Prove {
        #[command(flatten)]
        db: DbOnly,
        /// The event's position in the ledger (from 0).
        #[arg(long)]
        position: u64,
        /// The size of the log to prove it in [default: the current size].
        #[arg(long)]
        size: Option<u64>,
    },
    /// Consistency proof between two sizes of the log.
    Consistency {
        #[command(flatten)]
        db: DbOnly,
        /// The smaller size (a checkpoint you kept).
        #[arg(long, value_name = "SIZE")]
        from: u64,
        /// The larger size [default: the current size].
        #[arg(long, value_name = "SIZE")]
        to: Option<u64>,
    },
    /// The access log from the server: reads of restricted content and refusals.
    Access {
        #[command(flatten)]
        conn: Conn,
        /// Most events on a page.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue from the cursor printed with the previous page.
        #[arg(long)]
        after: Option<String>,
    },
}

/// A ledger that verified.
#[derive(Serialize)]
struct Verified {
    ok: bool,
    size: u64,
    root: String,
    streams: u64,
    checkpoints: u64,
    since: Option<Since>,
    /// Leaves whose content was disposed of (each named by a tombstone),
    /// verified by their commitments.
    disposed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    deep: Option<Deep>,
}

/// An inclusion proof, and for a disposed leaf where its tombstone is.
#[derive(Serialize)]
struct Proved {
    #[serde(flatten)]
    proof: InclusionView,
    #[serde(skip_serializing_if = "Option::is_none")]
    disposed_tombstone: Option<u64>,
}

/// What `--deep` went through.
#[derive(Serialize)]
struct Deep {
    cases: u64,
    actions: u64,
    docs: u64,
}

/// What `--deep` found the ledger does not bear out.
#[derive(Serialize)]
struct DeepFailed {
    ok: bool,
    deep: bool,
    position: Option<u64>,
    problem: String,
}

/// The kept checkpoint a verified ledger extends.
#[derive(Serialize)]
struct Since {
    size: u64,
    proof_len: usize,
}

/// A ledger that did not verify: the first bad position.
#[derive(Serialize)]
struct Failed {
    ok: bool,
    position: u64,
    last: Option<u64>,
    problem: String,
}

/// The latest signed checkpoint.
#[derive(Serialize)]
struct CheckpointNote {
    size: u64,
    root: String,
    checkpoint: String,
}

pub async fn audit(ctx: Ctx, cmd: AuditCmd) -> Result<ExitCode> {
    let ctx = match &cmd {
        AuditCmd::Access { conn, limit, after } => {
            return access(&ctx.on_server(conn), *limit, after.clone()).await;
        }
        AuditCmd::Verify { store, .. } => ctx.on_store(store),
        AuditCmd::Checkpoint(db)
        | AuditCmd::Prove { db, .. }
        | AuditCmd::Consistency { db, .. } => ctx.on_db(db),
    };
    let store = app::open_read(ctx.paths()?).await?;
    match cmd {
        AuditCmd::Access { .. } => bail!("the access log is read through the server"),
        AuditCmd::Verify {
            store: _,
            since,
            vkey,
            deep,
            physical,
        } => {
            let (verifier, from) = match vkey {
                Some(k) => {
                    let text = if Path::new(&k).exists() {
                        std::fs::read_to_string(&k)?
                    } else {
                        k.clone()
                    };
                    (
                        NoteVerifier::parse(text.trim()).map_err(|e| anyhow!("--vkey: {e}"))?,
                        "the given verifier key",
                    )
                }
                None => match ctx.paths()?.key().and_then(app::read_key) {
                    Ok(signer) => (signer.verifier(), "the signing key"),
                    Err(_) => {
                        eprintln!(
                            "note: no --vkey and no signing key: checking signatures against the key recorded in the database itself"
                        );
                        (
                            NoteVerifier::parse(&store.meta().verifier_key)?,
                            "the database's own record",
                        )
                    }
                },
            };
            if verifier.to_string() != store.meta().verifier_key {
                eprintln!(
                    "warning: the verifier key ({from}) differs from the one recorded at init ({})",
                    store.meta().verifier_key
                );
            }
            let since_cp: Option<Checkpoint> = match since {
                Some(p) => {
                    let note = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    Some(open_checkpoint(&note, &verifier).map_err(|e| {
                        anyhow!(
                            "{}: not a checkpoint signed by {verifier}: {e}",
                            p.display()
                        )
                    })?)
                }
                None => None,
            };
            let integrity = if physical {
                store.integrity_check().await?
            } else {
                Vec::new()
            };
            if !integrity.is_empty() {
                out::line(format!(
                    "FAILED: the database file is damaged: {}",
                    integrity.join("; ")
                ))?;
                return Ok(ExitCode::from(EXIT_VERIFY_FAILED));
            }
            // On standard error, and only when it is a terminal.
            let bar = if ctx.json {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(0)
            };
            bar.set_style(ProgressStyle::with_template("verifying {pos}/{len}")?);
            let progress = |done: u64, total: u64| {
                bar.set_length(total);
                bar.set_position(done);
            };
            let opts = VerifyOptions {
                accept_disposed: false,
                verifier,
                since: since_cp,
                deep,
                progress: if bar.is_hidden() {
                    None
                } else {
                    Some(&progress)
                },
            };
            let outcome = verify(store.clone(), &opts).await?;
            bar.finish();
            let folded = match (&outcome, deep) {
                (Ok(_), true) => {
                    let svc = app::service(store.clone(), ctx.policy()?, app::clock(ctx.now));
                    match svc.verify_deep().await? {
                        Ok(r) => Some(Deep {
                            cases: r.cases,
                            actions: r.actions,
                            docs: r.docs,
                        }),
                        Err(d) => {
                            let view = DeepFailed {
                                ok: false,
                                deep: true,
                                position: d.position,
                                problem: d.problem.clone(),
                            };
                            ctx.emit(&view, |_| {
                                format!("FAILED: the ledger does not bear this out: {d}")
                            })?;
                            return Ok(ExitCode::from(EXIT_VERIFY_FAILED));
                        }
                    }
                }
                _ => None,
            };
            match outcome {
                Ok(r) => {
                    let view = Verified {
                        ok: true,
                        size: r.size,
                        root: r.root.to_base64(),
                        streams: r.streams,
                        checkpoints: r.checkpoints,
                        since: r.since.map(|(size, proof_len)| Since { size, proof_len }),
                        disposed: r.disposed,
                        deep: folded,
                    };
                    ctx.emit(&view, |v| {
                        let mut s = format!(
                            "OK: {} events in {} streams; {} Merkle nodes and {} checkpoints match; signed by {}\nroot {}",
                            v.size, v.streams, r.nodes, v.checkpoints, opts.verifier, v.root
                        );
                        if v.disposed > 0 {
                            s.push_str(&format!(
                                "\n{} leaves disposed of (verified by their commitments)",
                                v.disposed
                            ));
                        }
                        if let Some(Since { size, proof_len }) = &v.since {
                            s.push_str(&format!("\nthe log extends your checkpoint of size {size} (consistency proof of {proof_len} hashes verified)"));
                        }
                        if let Some(Deep { cases, actions, docs }) = &v.deep {
                            s.push_str(&format!("\nthe ledger bears out {actions} actions on {cases} cases (each by an account with the role, element and clearance it needed then; two people for every two-person rule), every query-table row and {docs} derived documents"));
                        }
                        s
                    })?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(f) => {
                    let view = Failed {
                        ok: false,
                        position: f.position,
                        last: f.last,
                        problem: f.problem.clone(),
                    };
                    ctx.emit(&view, |_| format!("FAILED at {f}"))?;
                    Ok(ExitCode::from(EXIT_VERIFY_FAILED))
                }
            }
        }
        AuditCmd::Checkpoint(_) => {
            let head = store.ledger_head().await?;
            let note = head
                .checkpoint
                .ok_or_else(|| anyhow!("the ledger is empty: there is no checkpoint yet"))?;
            if ctx.json {
                let view = CheckpointNote {
                    size: head.size,
                    root: head.root.to_base64(),
                    checkpoint: note,
                };
                out::line(serde_json::to_string(&view)?)?;
            } else {
                out::text(note)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Prove {
            db: _,
            position,
            size,
        } => {
            let p = inclusion(&*store, position, size)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            tocsin_ledger::verify_inclusion(&p.leaf_hash, p.position, p.size, &p.proof, &p.root)?;
            let view = Proved {
                proof: InclusionView {
                    position: p.position,
                    size: p.size,
                    leaf_hash: p.leaf_hash.to_base64(),
                    root: p.root.to_base64(),
                    proof: p.proof.iter().map(|h| h.to_base64()).collect(),
                },
                disposed_tombstone: tocsin_store::audit::disposed_by(&*store, position).await?,
            };
            ctx.emit(&view, |Proved { proof: v, disposed_tombstone }| {
                let mut s = format!(
                    "event {} is in the log of size {}\nleaf hash {}\nroot {}\nproof ({} hashes):",
                    v.position,
                    v.size,
                    v.leaf_hash,
                    v.root,
                    v.proof.len()
                );
                for h in &v.proof {
                    s.push_str(&format!("\n  {h}"));
                }
                if let Some(t) = disposed_tombstone {
                    s.push_str(&format!(
                        "\ncontent disposed of; see the tombstone at position {t}"
                    ));
                }
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCmd::Consistency { db: _, from, to } => {
            let to = match to {
                Some(t) => t,
                None => store.ledger_head().await?.size,
            };
            let proof = consistency(&*store, from, to)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r1 = root_at_size(&*store, from)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            let r2 = root_at_size(&*store, to)
                .await?
                .map_err(|e| anyhow!("{e}"))?;
            tocsin_ledger::verify_consistency(from, to, &r1, &r2, &proof)?;
            let view = ConsistencyView {
                size1: from,
                size2: to,
                root1: r1.to_base64(),
                root2: r2.to_base64(),
                proof: proof.iter().map(|h| h.to_base64()).collect(),
            };
            ctx.emit(&view, |v| {
                let mut s = format!(
                    "size {from} (root {}) is a prefix of size {to} (root {})\nproof ({} hashes):",
                    v.root1,
                    v.root2,
                    v.proof.len()
                );
                for h in &v.proof {
                    s.push_str(&format!("\n  {h}"));
                }
                s
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The access log, through the server.
async fn access(ctx: &Ctx, limit: u32, after: Option<String>) -> Result<ExitCode> {
    let query = PageQuery {
        limit: Some(limit),
        after,
    };
    let page: List<LoggedEvent> = ctx
        .client()?
        .get(&with_query("/api/v1/audit/access", &query)?)
        .await?;
    ctx.emit(&page, |p| {
        let mut s = String::new();
        for e in &p.items {
            s.push_str(&format!(
                "#{:<6} {}  {:<16} {}\n",
                e.position,
                e.recorded_at,
                e.actor.as_str(),
                e.event.summary()
            ));
        }
        if let Some(n) = &p.next {
            s.push_str(&format!("more: --after {n}\n"));
        }
        s.trim_end().to_owned()
    })?;
    Ok(ExitCode::SUCCESS)
}
