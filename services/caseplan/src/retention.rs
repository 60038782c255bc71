//! Retention of the plans this party holds: a pupil's care record, kept two
//! years after the case ends (the handbook's and the law's period for pupil
//! care records, unless a longer legal period applies: the node's config
//! changes it by the kind's name, [`RECORD`]). A plan ends when it is
//! closed (an evaluation that closes it, or the ZAT case closing); an open
//! plan is kept. Its members' copies are the fabric's (their views are
//! purged from delivery on).
//!
//! The purge deletes the whole plan (goals, tasks, members, notes,
//! evaluations, timeline, the progress it recorded) in one transaction with
//! a `purged` record in the audit chain that names the plan and the hash of
//! what was deleted (the plan as its view holds it).

use carenet_fabric::audit::Entry;
use carenet_fabric::crypto::sha256;
use carenet_fabric::slice::{RecordKind, RetentionClock};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited, with_db};

use crate::{Result, plan};

/// A plan held here, from the case's end.
pub const RECORD: &str = "record.case_plan";

/// Two years, as a pupil's care record (see the module's doc).
pub const RECORD_DAYS: u32 = 730;

pub static RECORDS: &[RecordKind] = &[RecordKind {
    name: RECORD,
    retention_days: RECORD_DAYS,
    retention_clock: RetentionClock::CaseEnd,
}];

const DAY_MS: i64 = 86_400_000;

/// Where a plan stands for the retention of the records around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanEnd {
    /// Open: the case runs.
    Open,
    /// Closed at this time (ms since the epoch).
    ClosedAt(i64),
    /// Not (or no longer) held here.
    Gone,
}

/// Whether plan `id` is open, when it closed, or that it is gone (for the
/// referral slice: a ZAT case runs as long as its plan).
pub async fn ended(store: &Store, id: &str) -> Result<PlanEnd> {
    let row: Option<(String, Option<i64>, i64)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT status, closed_at_ms, updated_at_ms FROM case_plan WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    Ok(match row {
        None => PlanEnd::Gone,
        Some((status, _, _)) if status == "open" => PlanEnd::Open,
        Some((_, closed, updated)) => PlanEnd::ClosedAt(closed.unwrap_or(updated)),
    })
}

/// Deletes a plan's parts, then the plan (`$1` its id).
const DELETE: &[&str] = &[
    "DELETE FROM case_event WHERE plan_id = $1",
    "DELETE FROM case_note WHERE plan_id = $1",
    "DELETE FROM case_evaluation WHERE plan_id = $1",
    "DELETE FROM case_task WHERE plan_id = $1",
    "DELETE FROM case_goal WHERE plan_id = $1",
    "DELETE FROM case_member WHERE plan_id = $1",
    "DELETE FROM case_plan_source WHERE plan_id = $1",
    "DELETE FROM case_progress_in WHERE plan_id = $1",
    "DELETE FROM case_plan WHERE id = $1",
];

/// Deletes every plan closed more than `days` before `now`, each with a
/// `purged` audit record. Returns how many plans were deleted. A job: it
/// acts as the node itself.
pub async fn purge_expired(store: &Store, days: u32, now: i64) -> Result<usize> {
    let cutoff = now - i64::from(days) * DAY_MS;
    let ids: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id FROM case_plan WHERE status = 'closed' AND COALESCE(closed_at_ms, updated_at_ms) < $1 ORDER BY id",
        )
        .bind(cutoff)
        .fetch_all(pool)
        .await?
    });
    let system = Actor::system(store.party.clone());
    let mut purged = 0;
    for (id,) in ids {
        let plan = match plan::load(store, &id).await {
            Ok(p) => p,
            Err(Error::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let entry = Entry {
            purpose: format!("retention:{days}d"),
            legal_basis: "retention".into(),
            payload_sha256: sha256(&plan.view_payload()).to_vec(),
            ..system.entry("purged", &id)
        };
        let deleted = audited!(&store.db, tx => {
            // Still closed and past the period (nothing reopened it meanwhile).
            let still: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM case_plan WHERE id = $1 AND status = 'closed' AND COALESCE(closed_at_ms, updated_at_ms) < $2",
            )
            .bind(&id)
            .bind(cutoff)
            .fetch_optional(&mut *tx)
            .await?;
            if still.is_some() {
                for sql in DELETE.iter().copied() {
                    sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
                }
                (true, vec![entry])
            } else {
                (false, Vec::new())
            }
        });
        if deleted {
            purged += 1;
        }
    }
    Ok(purged)
}
