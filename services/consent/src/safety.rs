//! The safety exception (meldcode, risk to the child): data may leave without
//! consent, but only on a recorded exception with a written reason, the staff
//! member who takes responsibility, and the care coordinator it was reported
//! to. The record stays on the holder's node; the audit log names it by id.

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{audit_append, with_db};
use sqlx::Row;

use crate::{Error, Result};

/// What staff fill in.
#[derive(Clone, Debug)]
pub struct SafetyException {
    pub child_ref: String,
    /// Why the child's safety requires sharing without consent.
    pub reason: String,
    /// Staff id of who decides.
    pub staff: String,
    /// Staff id of the care coordinator it is reported to.
    pub reported_to: String,
}

/// Records a safety exception and returns its id, the reference a message's
/// legal basis names.
pub async fn record(store: &Store, e: &SafetyException) -> Result<String> {
    if e.child_ref.trim().is_empty() {
        return Err(Error::invalid("child_ref", "must not be empty"));
    }
    if e.reason.trim().chars().count() < 10 {
        return Err(Error::invalid(
            "reason",
            "write down why (at least 10 characters)",
        ));
    }
    if e.staff.trim().is_empty() {
        return Err(Error::invalid("staff", "name the staff member who decides"));
    }
    if e.reported_to.trim().is_empty() {
        return Err(Error::invalid(
            "reported_to",
            "name the care coordinator it is reported to",
        ));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let entry = Entry {
        actor: e.staff.clone(),
        action: "safety_exception_recorded".into(),
        message_id: id.clone(),
        counterparty: String::new(),
        purpose: String::new(),
        legal_basis: format!("safety_exception:{id}"),
        payload_sha256: Vec::new(),
    };
    let result: std::result::Result<(), carenet_fabric::Error> = with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO safety_exception (id, child_ref, reason, staff, reported_to, recorded_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&e.child_ref)
        .bind(&e.reason)
        .bind(&e.staff)
        .bind(&e.reported_to)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
        Ok(())
    });
    result?;
    Ok(id)
}

/// Whether a recorded safety exception with this id exists.
pub async fn exists(store: &Store, id: &str) -> Result<bool> {
    Ok(with_db!(&store.db, pool => {
        let row = sqlx::query("SELECT COUNT(*) FROM safety_exception WHERE id = $1 AND reason <> ''")
            .bind(id)
            .fetch_one(pool)
            .await?;
        row.try_get::<i64, _>(0)? > 0
    }))
}

/// A recorded safety exception as the care coordinator sees it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub id: String,
    pub child_ref: String,
    pub reason: String,
    pub staff: String,
    pub recorded_at_ms: i64,
}

/// The safety exceptions reported to one care coordinator, newest first: the
/// coordinator's report list.
pub async fn reported_to(store: &Store, coordinator: &str) -> Result<Vec<Recorded>> {
    Ok(with_db!(&store.db, pool => {
        let rows = sqlx::query(
            "SELECT id, child_ref, reason, staff, recorded_at_ms FROM safety_exception \
             WHERE reported_to = $1 ORDER BY recorded_at_ms DESC, id",
        )
        .bind(coordinator)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok::<_, sqlx::Error>(Recorded {
                    id: r.try_get(0)?,
                    child_ref: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    staff: r.try_get(3)?,
                    recorded_at_ms: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
    }))
}
