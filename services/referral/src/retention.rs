//! Retention of the school's own IZO and ZAT records: a pupil's care
//! records, kept two years after the case ends (the handbook's and the
//! law's period for pupil care records, unless a longer legal period
//! applies: the node's config changes it by the kind's name, [`IZO`] and
//! [`ZAT`]). What "the case ends" means per record (ADR 0006, "Retention
//! of care records"):
//!
//! - a ZAT case ends when a meeting closes it; a case whose plan of action
//!   runs lasts as long as that plan (its end is the plan's closing when
//!   that is later); a case that never got a plan (referred, distributed)
//!   has no closing step and ends at its last recorded step;
//! - an IZO registration has no closing step: it ends at its last recorded
//!   step (registration, triage, answer, minutes, conversation), and a
//!   registration the ZAT took over lasts as long as that ZAT case.
//!
//! The purge deletes a record with everything written about it (minutes,
//! conversations; meetings, the members it went to) in one transaction with
//! a `purged` record in the audit chain naming its id and the hash of what
//! was deleted. The case files the members received are the fabric's
//! (purged from delivery on); the plan is the caseplan slice's.

use std::collections::BTreeMap;

use carenet_caseplan::retention::{PlanEnd, ended};
use carenet_fabric::audit::Entry;
use carenet_fabric::crypto::sha256;
use carenet_fabric::slice::{RecordKind, RetentionClock};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited, with_db};
use carenet_proto::v1;
use prost::Message;

use crate::Result;

/// An IZO registration with its minutes and conversations.
pub const IZO: &str = "record.izo";
/// A ZAT case the school hosts, with its meetings.
pub const ZAT: &str = "record.zat";

/// Two years, as a pupil's care record (see the module's doc).
pub const RECORD_DAYS: u32 = 730;

pub static RECORDS: &[RecordKind] = &[
    RecordKind {
        name: IZO,
        retention_days: RECORD_DAYS,
        retention_clock: RetentionClock::CaseEnd,
    },
    RecordKind {
        name: ZAT,
        retention_days: RECORD_DAYS,
        retention_clock: RetentionClock::CaseEnd,
    },
];

const DAY_MS: i64 = 86_400_000;

/// Where a case stands for its retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The case runs: its records are kept.
    Open,
    /// It ended at this time (ms since the epoch).
    At(i64),
}

impl End {
    /// The later of two ends; an open one wins.
    fn later(self, other: End) -> End {
        match (self, other) {
            (End::At(a), End::At(b)) => End::At(a.max(b)),
            _ => End::Open,
        }
    }

    fn before(self, cutoff: i64) -> bool {
        matches!(self, End::At(t) if t < cutoff)
    }
}

#[derive(sqlx::FromRow)]
struct ZatRow {
    id: String,
    state: String,
    referral: Vec<u8>,
    plan_id: Option<String>,
    updated_at_ms: i64,
    closed_at_ms: Option<i64>,
}

/// Every ZAT case's end, with the IZO registration it came from.
async fn zat_ends(store: &Store) -> Result<Vec<(String, Option<String>, End)>> {
    let rows: Vec<ZatRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id, state, referral, plan_id, updated_at_ms, closed_at_ms FROM zat_case ORDER BY id")
            .fetch_all(pool)
            .await?
    });
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let izo_id = v1::ZatReferral::decode(r.referral.as_slice())
            .map_err(|_| Error::Corrupt(format!("zat {}", r.id)))?
            .izo_id;
        let end = match (r.state.as_str(), &r.plan_id) {
            ("closed", _) => End::At(r.closed_at_ms.unwrap_or(r.updated_at_ms)),
            ("planned", Some(plan)) => match ended(store, plan).await? {
                PlanEnd::Open => End::Open,
                PlanEnd::ClosedAt(t) => End::At(t.max(r.updated_at_ms)),
                PlanEnd::Gone => End::At(r.updated_at_ms),
            },
            // No closing step of its own (no plan yet, or its plan could not
            // be written): its last recorded step.
            _ => End::At(r.updated_at_ms),
        };
        out.push((r.id, (!izo_id.is_empty()).then_some(izo_id), end));
    }
    Ok(out)
}

#[derive(sqlx::FromRow)]
struct IzoRow {
    id: String,
    updated_at_ms: i64,
    minutes_at: Option<i64>,
    talk_at: Option<i64>,
}

/// Every IZO registration's end: its last step, or the end of the ZAT
/// case it led to when that is later (or still open).
async fn izo_ends(
    store: &Store,
    zat: &[(String, Option<String>, End)],
) -> Result<Vec<(String, End)>> {
    let rows: Vec<IzoRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT c.id, c.updated_at_ms, \
             (SELECT MAX(m.created_at_ms) FROM izo_meeting m WHERE m.izo_id = c.id) AS minutes_at, \
             (SELECT MAX(v.created_at_ms) FROM izo_conversation v WHERE v.izo_id = c.id) AS talk_at \
             FROM izo_case c ORDER BY c.id",
        )
        .fetch_all(pool)
        .await?
    });
    let mut by_izo: BTreeMap<&str, End> = BTreeMap::new();
    for (_, izo, end) in zat {
        if let Some(izo) = izo {
            let e = by_izo.get(izo.as_str()).map_or(*end, |e| e.later(*end));
            by_izo.insert(izo.as_str(), e);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let last = r
                .updated_at_ms
                .max(r.minutes_at.unwrap_or(0))
                .max(r.talk_at.unwrap_or(0));
            let end = by_izo
                .get(r.id.as_str())
                .map_or(End::At(last), |z| z.later(End::At(last)));
            (r.id, end)
        })
        .collect())
}

/// The hash of what is deleted: each part, length-prefixed, in order.
fn proof(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut buf = Vec::new();
    for p in parts {
        buf.extend_from_slice(&(p.len() as u64).to_be_bytes());
        buf.extend_from_slice(p);
    }
    sha256(&buf).to_vec()
}

fn purged_entry(store: &Store, id: &str, days: u32, parts: &[Vec<u8>]) -> Entry {
    Entry {
        purpose: format!("retention:{days}d"),
        legal_basis: "retention".into(),
        payload_sha256: proof(parts),
        ..Actor::system(store.party.clone()).entry("purged", id)
    }
}

/// What one purge run deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub izo: usize,
    pub zat: usize,
}

/// Deletes every ZAT case (after `zat_days`) and IZO registration (after
/// `izo_days`) whose case ended that long before `now`, each with a
/// `purged` audit record. A job: it acts as the node itself.
pub async fn purge_expired(
    store: &Store,
    izo_days: u32,
    zat_days: u32,
    now: i64,
) -> Result<Purged> {
    let zat = zat_ends(store).await?;
    let izo = izo_ends(store, &zat).await?;
    let mut out = Purged::default();
    let zat_cutoff = now - i64::from(zat_days) * DAY_MS;
    for (id, _, end) in &zat {
        if end.before(zat_cutoff) && purge_zat(store, id, zat_days, zat_cutoff).await? {
            out.zat += 1;
        }
    }
    let izo_cutoff = now - i64::from(izo_days) * DAY_MS;
    for (id, end) in &izo {
        if end.before(izo_cutoff) && purge_izo(store, id, izo_days, izo_cutoff).await? {
            out.izo += 1;
        }
    }
    Ok(out)
}

/// Deletes ZAT case `id` with its meetings and members, unless it changed
/// since `cutoff` (a step meanwhile); whether it did.
async fn purge_zat(store: &Store, id: &str, days: u32, cutoff: i64) -> Result<bool> {
    Ok(audited!(&store.db, tx => {
        let referral: Option<(Vec<u8>,)> = sqlx::query_as("SELECT referral FROM zat_case WHERE id = $1 AND updated_at_ms < $2")
            .bind(id)
            .bind(cutoff)
            .fetch_optional(&mut *tx)
            .await?;
        match referral {
            None => (false, Vec::new()),
            Some((referral,)) => {
                let meetings: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT meeting FROM zat_meeting WHERE case_id = $1 ORDER BY id")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut parts = vec![referral];
                parts.extend(meetings.into_iter().map(|(m,)| m));
                for sql in [
                    "DELETE FROM zat_meeting WHERE case_id = $1",
                    "DELETE FROM zat_member WHERE case_id = $1",
                    "DELETE FROM zat_case WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                }
                (true, vec![purged_entry(store, id, days, &parts)])
            }
        }
    }))
}

/// Deletes IZO registration `id` with its minutes and conversations,
/// unless anything was written about it since `cutoff`; whether it did.
async fn purge_izo(store: &Store, id: &str, days: u32, cutoff: i64) -> Result<bool> {
    Ok(audited!(&store.db, tx => {
        let case: Option<(Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT registration, triage FROM izo_case c WHERE c.id = $1 AND c.updated_at_ms < $2 \
             AND NOT EXISTS (SELECT 1 FROM izo_meeting m WHERE m.izo_id = c.id AND m.created_at_ms >= $2) \
             AND NOT EXISTS (SELECT 1 FROM izo_conversation v WHERE v.izo_id = c.id AND v.created_at_ms >= $2)",
        )
                .bind(id)
                .bind(cutoff)
                .fetch_optional(&mut *tx)
                .await?;
        match case {
            None => (false, Vec::new()),
            Some((registration, triage)) => {
                let minutes: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT minutes FROM izo_meeting WHERE izo_id = $1 ORDER BY id")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let talks: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT conversation FROM izo_conversation WHERE izo_id = $1 ORDER BY id")
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut parts = vec![registration, triage.unwrap_or_default()];
                parts.extend(minutes.into_iter().map(|(m,)| m));
                parts.extend(talks.into_iter().map(|(t,)| t));
                for sql in [
                    "DELETE FROM izo_meeting WHERE izo_id = $1",
                    "DELETE FROM izo_conversation WHERE izo_id = $1",
                    "DELETE FROM izo_case WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                }
                (true, vec![purged_entry(store, id, days, &parts)])
            }
        }
    }))
}
