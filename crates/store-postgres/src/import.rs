//! [`Store::import_raw`] (what `tocsin migrate` writes with): rows copied
//! from another store, in one transaction on a pooled connection, under
//! the write lock (the `ledger_head` row), so it is serialised with every
//! writer; the writer reloads its frontier at its next group, as after
//! any other process's commit.
//!
//! [`Store::import_raw`]: tocsin_store::Store::import_raw

use std::collections::HashSet;

use sqlx::postgres::PgPool;
use tocsin_store::append::check_continues;
use tocsin_store::columns::i64_of;
use tocsin_store::{RawRows, StoreError};

use crate::common::db;
use crate::flush::{Buffer, flush};

pub async fn import(pool: &PgPool, rows: RawRows) -> Result<(), StoreError> {
    let mut tx = pool.begin().await.map_err(db)?;
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head FOR UPDATE")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    let size = size as u64;
    match rows {
        RawRows::Ledger {
            leaves,
            nodes,
            checkpoints,
        } => {
            check_continues(size, &leaves)?;
            let mut buf = Buffer::default();
            for row in leaves.iter() {
                buf.push_leaf(row);
            }
            buf.push_nodes(&nodes);
            flush(&mut tx, &mut buf).await?;
            let sizes: Vec<i64> = checkpoints.iter().map(|c| i64_of(c.size)).collect();
            let notes: Vec<&str> = checkpoints.iter().map(|c| c.note.as_str()).collect();
            sqlx::query(
                "WITH c AS (INSERT INTO checkpoints (size, note)
                            SELECT * FROM unnest($1::int8[], $2::text[]))
                 UPDATE ledger_head SET size = $3",
            )
            .bind(sizes)
            .bind(notes)
            .bind(i64_of(size + leaves.len() as u64))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        RawRows::Cases(cases) => {
            let mut buf = Buffer::default();
            for s in &cases {
                buf.push_case(s, None);
            }
            flush(&mut tx, &mut buf).await?;
        }
        RawRows::Docs(docs) => {
            let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
            let keys: Vec<&str> = docs.iter().map(|d| d.key.as_str()).collect();
            let versions: Vec<i64> = docs.iter().map(|d| i64_of(d.version)).collect();
            let bodies: Vec<&[u8]> = docs.iter().map(|d| d.body.as_slice()).collect();
            // Every document must be new: those that were not inserted
            // name the conflict (and the transaction is dropped, so none
            // is written).
            let inserted: Vec<(String, String)> = sqlx::query_as(
                "INSERT INTO docs (kind, key, version, body)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[])
                 ON CONFLICT (kind, key) DO NOTHING RETURNING kind, key",
            )
            .bind(kinds)
            .bind(keys)
            .bind(versions)
            .bind(bodies)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
            if inserted.len() != docs.len() {
                let done: HashSet<(&str, &str)> = inserted
                    .iter()
                    .map(|(k, key)| (k.as_str(), key.as_str()))
                    .collect();
                let mut seen = HashSet::new();
                for d in &docs {
                    let id = (d.kind.as_str(), d.key.as_str());
                    if !done.contains(&id) || !seen.insert(id) {
                        return Err(StoreError::DocConflict {
                            kind: d.kind,
                            key: d.key.clone(),
                        });
                    }
                }
            }
        }
    }
    tx.commit().await.map_err(db)
}
