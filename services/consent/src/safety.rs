//! The safety exception (meldcode, risk to the child): data may leave without
//! consent, but only on a recorded exception with a written reason, the staff
//! member who takes responsibility (the actor who records it: a care
//! coordinator, see [`crate::roles`]), and the care coordinator it was
//! reported to. The record stays on the holder's node; the audit log names it
//! by id.

use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role, audited, with_db};

use crate::{Error, Result, roles};

/// What staff fill in; the staff member who decides is the actor.
#[derive(Clone, Debug)]
pub struct SafetyException {
    pub child_ref: String,
    /// Why the child's safety requires sharing without consent.
    pub reason: String,
    /// Staff id of the care coordinator it is reported to.
    pub reported_to: String,
}

/// Records a safety exception decided by `actor` and returns its id, the
/// reference a message's legal basis names. The record's `staff` is the
/// actor's staff id; the audit record names the actor with roles.
pub async fn record(store: &Store, actor: &Actor, e: &SafetyException) -> Result<String> {
    roles::require(store, actor, &roles::RECORD_SAFETY_EXCEPTION, &e.child_ref).await?;
    if e.child_ref.trim().is_empty() {
        return Err(Error::invalid("child_ref", "must not be empty"));
    }
    if e.reason.trim().chars().count() < 10 {
        return Err(Error::invalid(
            "reason",
            "write down why (at least 10 characters)",
        ));
    }
    if e.reported_to.trim().is_empty() {
        return Err(Error::invalid(
            "reported_to",
            "name the care coordinator it is reported to",
        ));
    }
    carenet_fabric::actor::check_staff_id("reported_to", &e.reported_to)?;
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let entry = carenet_fabric::audit::Entry {
        legal_basis: format!("safety_exception:{id}"),
        ..actor.entry("safety_exception_recorded", &id)
    };
    Ok(audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO safety_exception (id, child_ref, reason, staff, reported_to, recorded_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&e.child_ref)
        .bind(&e.reason)
        .bind(&actor.staff)
        .bind(&e.reported_to)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        (id, vec![entry])
    }))
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Whether a recorded safety exception with this id exists.
pub async fn exists(store: &Store, id: &str) -> Result<bool> {
    let count: Count = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT COUNT(*) AS n FROM safety_exception WHERE id = $1 AND reason <> ''")
            .bind(id)
            .fetch_one(pool)
            .await?
    });
    Ok(count.n > 0)
}

/// A recorded safety exception as the care coordinator sees it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Recorded {
    pub id: String,
    pub child_ref: String,
    pub reason: String,
    /// Staff id of who decided.
    pub staff: String,
    pub recorded_at_ms: i64,
}

/// The safety exceptions reported to one care coordinator, newest first: the
/// coordinator's report list. A coordinator asks for their own list
/// (`coordinator` is the actor's staff id); a team lead for anyone's.
pub async fn reported_to(store: &Store, actor: &Actor, coordinator: &str) -> Result<Vec<Recorded>> {
    roles::require(store, actor, &roles::SAFETY_REPORTS, coordinator).await?;
    if coordinator != actor.staff && !actor.has(Role::TeamLead) {
        roles::require(store, actor, &roles::OTHERS_SAFETY_REPORTS, coordinator).await?;
    }
    Ok(with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, child_ref, reason, staff, recorded_at_ms FROM safety_exception \
             WHERE reported_to = $1 ORDER BY recorded_at_ms DESC, id",
        )
        .bind(coordinator)
        .fetch_all(pool)
        .await?
    }))
}
