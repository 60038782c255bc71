//! Refused calls from other parties, counted instead of written one by one.
//!
//! A peer whose calls this node refuses (the RPC gate, a notification of a
//! type this node does not take) could otherwise append an audit record per
//! call, as fast as it can call. Each refusal is instead added to a tally
//! row keyed by (party, action, subject) in the database, in a transaction
//! of its own before the refusal is answered: a refusal that cannot be
//! counted answers an internal error, as one that could not be audited did
//! (fail closed), and a count survives a crash. When the tally's interval
//! (from its first refusal) has passed, [`Store::flush_refusals`] writes it
//! to the hash chain as one aggregated record (the action, the subject, the
//! party, how many, the first and the last) and deletes the row in the same
//! transaction: every refusal ends up in the chain, counted once.
//!
//! Subjects come from a closed set (a registered RPC path or document type,
//! or a fixed text for anything else), so a peer cannot make the tally grow
//! by varying what it asks for.

use std::future::Future;
use std::time::Duration;

use crate::audit::{Action, Entry, Tally};
use crate::clock::now_ms;
use crate::store::Store;
use crate::{Result, audit_append_tallied, with_db};

/// How long refusals are counted into one record by default.
pub const DEFAULT_INTERVAL_MS: i64 = 60 * 1000;

/// The subject of a refused call to an RPC that no slice serves here.
pub const UNKNOWN_RPC: &str = "(not served here)";
/// The subject of a refused notification of a type no slice registers here.
pub const UNKNOWN_TYPE: &str = "(unregistered type)";

/// Refusals of one kind from one party, to count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The party refused (from its certificate).
    pub counterparty: String,
    pub action: Action,
    /// What it asked for: an RPC path or a document type, from a closed set.
    pub subject: String,
    pub occurrences: i64,
}

/// A tally row, as [`Store::flush_refusals`] takes it out.
#[derive(sqlx::FromRow)]
struct TallyRow {
    counterparty: String,
    action: String,
    subject: String,
    occurrences: i64,
    first_at_ms: i64,
    last_at_ms: i64,
}

/// A count not yet in the chain (for operators and tests).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenTally {
    pub counterparty: String,
    pub action: String,
    pub subject: String,
    pub occurrences: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    pub due_at_ms: i64,
}

impl Store {
    /// Counts refusals, all in one transaction. Call it before answering
    /// the refusal; an error must fail the call.
    pub async fn count_refusals(&self, refused: &[Refused]) -> Result<()> {
        if refused.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let due = now.saturating_add(self.refusal_interval_ms());
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            for r in refused {
                sqlx::query(
                    "INSERT INTO refusal_tally (counterparty, action, subject, occurrences, \
                     first_at_ms, last_at_ms, due_at_ms) VALUES ($1, $2, $3, $4, $5, $5, $6) \
                     ON CONFLICT (counterparty, action, subject) DO UPDATE SET \
                     occurrences = refusal_tally.occurrences + excluded.occurrences, \
                     last_at_ms = excluded.last_at_ms",
                )
                .bind(&r.counterparty)
                .bind(r.action.as_str())
                .bind(&r.subject)
                .bind(r.occurrences)
                .bind(now)
                .bind(due)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Writes every tally due at `now` to the audit chain as one record
    /// each, and deletes them, in one transaction. Returns how many records.
    pub async fn flush_refusals(&self, now: i64) -> Result<usize> {
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            // Deleting takes the rows: a replica flushing at the same time
            // finds them gone, so each count is written once.
            let mut rows: Vec<TallyRow> = sqlx::query_as(
                "DELETE FROM refusal_tally WHERE due_at_ms <= $1 RETURNING counterparty, action, \
                 subject, occurrences, first_at_ms, last_at_ms",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(0);
            }
            rows.sort_by(|a, b| {
                (a.first_at_ms, &a.counterparty, &a.action, &a.subject)
                    .cmp(&(b.first_at_ms, &b.counterparty, &b.action, &b.subject))
            });
            let records: Vec<(Entry, Tally)> = rows
                .into_iter()
                .map(|r| {
                    (
                        Entry {
                            actor: actor.clone(),
                            action: r.action,
                            message_id: r.subject,
                            counterparty: r.counterparty,
                            ..Entry::default()
                        },
                        Tally {
                            occurrences: r.occurrences,
                            first_at_ms: r.first_at_ms,
                            last_at_ms: r.last_at_ms,
                        },
                    )
                })
                .collect();
            audit_append_tallied!(tx, &records);
            tx.commit().await?;
            Ok(records.len())
        })
    }

    /// The counts not yet written to the chain, oldest first.
    pub async fn open_refusals(&self) -> Result<Vec<OpenTally>> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_as(
                "SELECT counterparty, action, subject, occurrences, first_at_ms, last_at_ms, \
                 due_at_ms FROM refusal_tally ORDER BY first_at_ms, counterparty, action, subject",
            )
            .fetch_all(pool)
            .await?)
        })
    }
}

/// Writes due tallies to the chain until `shutdown` completes: at start
/// (what was counted before a restart) and then a few times per interval.
/// What is still counting at shutdown stays in the database for the next run.
pub async fn run(store: Store, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let interval = store.refusal_interval_ms();
    let tick = Duration::from_millis((interval / 4).clamp(250, 15_000) as u64);
    loop {
        match store.flush_refusals(now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(records = n, "refused calls written to the audit log"),
            Err(e) => tracing::warn!(error = %e, "refused calls not written yet; kept counted"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}
