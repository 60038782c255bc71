//! The safety exception (meldcode, risk to the child): data may leave without
//! consent, but only on a recorded exception with a written reason, the staff
//! member who takes responsibility (the actor who records it: a care
//! coordinator, see [`crate::roles`]), and the care coordinator it was
//! reported to. It names what it allows: documents about one child, to one
//! recipient, for one purpose, until an end date at most
//! [`MAX_DAYS`] ahead. The record stays on the holder's node; the audit log
//! names it by id.

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
    /// The one party the data may go to.
    pub recipient: String,
    pub purpose: crate::Purpose,
    /// The last day it allows a release (Europe/Amsterdam).
    pub valid_until: time::Date,
}

/// An exception is for an urgent situation, not a standing permission.
pub const MAX_DAYS: i64 = 30;

/// Records a safety exception decided by `actor` and returns its id, the
/// reference a message's legal basis names. The record's `staff` is the
/// actor's staff id; the audit record names the actor with roles.
pub async fn record(store: &Store, actor: &Actor, e: &SafetyException) -> Result<String> {
    roles::require(store, actor, &roles::RECORD_SAFETY_EXCEPTION, &e.child_ref).await?;
    if e.child_ref.trim().is_empty() {
        return Err(Error::invalid("child_ref", "must not be empty")
            .coded(carenet_fabric::Reason::Required));
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
    carenet_fabric::PartyId::parse("recipient", &e.recipient)?;
    let today = carenet_fabric::clock::today();
    if e.valid_until < today || (e.valid_until - today).whole_days() > MAX_DAYS {
        return Err(Error::invalid(
            "valid_until",
            format!("must be a date from today up to {MAX_DAYS} days ahead"),
        ));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let entry = carenet_fabric::audit::Entry {
        legal_basis: format!("safety_exception:{id}"),
        ..actor.entry("safety_exception_recorded", &id)
    };
    Ok(audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO safety_exception (id, child_ref, reason, staff, reported_to, recorded_at_ms, \
             recipient, purpose, valid_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&e.child_ref)
        .bind(&e.reason)
        .bind(&actor.staff)
        .bind(&e.reported_to)
        .bind(now_ms())
        .bind(&e.recipient)
        .bind(e.purpose.as_str())
        .bind(crate::record::format_date(e.valid_until))
        .execute(&mut *tx)
        .await?;
        (id, vec![entry])
    }))
}

#[derive(sqlx::FromRow)]
struct Scope {
    child_ref: String,
    recipient: String,
    purpose: String,
    valid_until: String,
}

/// One release a safety exception is asked to allow.
pub struct Release<'a> {
    pub child_ref: Option<&'a str>,
    pub recipient: &'a str,
    pub purpose: &'a str,
    pub today: time::Date,
}

/// Whether the recorded exception `id` allows this release: `Err` with the
/// reason (naming no personal data) if not.
pub async fn allows(
    store: &Store,
    id: &str,
    r: &Release<'_>,
) -> Result<std::result::Result<(), &'static str>> {
    let scope: Option<Scope> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT child_ref, recipient, purpose, valid_until FROM safety_exception \
             WHERE id = $1 AND reason <> ''",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    let Some(scope) = scope else {
        return Ok(Err(
            "safety exception needs its recorded reason and staff member",
        ));
    };
    Ok(if r.child_ref != Some(scope.child_ref.as_str()) {
        Err("the safety exception is for another child")
    } else if scope.recipient != r.recipient {
        Err("the safety exception does not name this recipient")
    } else if scope.purpose != r.purpose {
        Err("the safety exception is for another purpose")
    } else if scope.valid_until.is_empty()
        || crate::record::parse_date("valid_until", &scope.valid_until)? < r.today
    {
        Err("the safety exception has expired")
    } else {
        Ok(())
    })
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
