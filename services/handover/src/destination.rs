//! The school a pupil goes to, as the sending school's IB (or care
//! coordinator) records it from the enrolment, and the requests of other
//! schools that wait for the IB's answer.
//!
//! A dossier's *destination* decides who is answered at once when it asks
//! for the dossier ([`crate::request`]) and who the IB may push it to
//! ([`crate::dossier::publish`] refuses another school). It is recorded and
//! changed with [`set`]; each change is audited (`dossier_destination_set`).
//!
//! A request from a school that is not the destination is noted once per
//! school and dossier ([`note_request`]) and shows on the IB's work list
//! ([`waiting`], "dossier gevraagd door ..."). [`confirm`] makes that school
//! the destination and releases the dossier to it when it can be released;
//! [`decline`] closes the item. The requesting school is told neither.

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyId, audited, with_db};

use crate::dossier::{self, DOSSIER_TYPE, DossierState};
use crate::{Error, Result, roles};

/// Records (or changes) the school the pupil of dossier `id` goes to: a
/// party of the kind the dossier's route delivers to, from the directory.
pub async fn set(
    store: &Store,
    directory: &Directory,
    actor: &Actor,
    id: &str,
    school: &PartyId,
) -> Result<()> {
    roles::check(store, actor, roles::PUBLISH, id).await?;
    let d = dossier::get(store, id).await?;
    let Some(kind) = d.route.recipient_kind() else {
        return Err(Error::invalid(
            "school",
            "an internal handover has no receiving school",
        ));
    };
    check_school(directory, store, school, kind)?;
    audited!(&store.db, tx => {
        let done = sqlx::query("UPDATE handover_dossier SET destination = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(school.as_str())
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(Error::NotFound(format!("dossier {id}")));
        }
        let entry = carenet_fabric::audit::Entry {
            counterparty: school.to_string(),
            ..actor.entry("dossier_destination_set", id)
        };
        ((), vec![entry])
    });
    Ok(())
}

fn check_school(
    directory: &Directory,
    store: &Store,
    school: &PartyId,
    kind: carenet_fabric::PartyKind,
) -> Result<()> {
    let Some(entry) = directory.get(school.as_str()) else {
        return Err(Error::invalid(
            "school",
            "not a party in the region directory",
        ));
    };
    if entry.kind != kind || entry.id == store.party {
        return Err(Error::invalid(
            "school",
            "this route goes to another kind of party",
        ));
    }
    Ok(())
}

/// Notes that `requester` (not the destination) asked for dossier `id`: one
/// work-list item per school and dossier. Returns whether an item waits for
/// the IB (false when the school already has the current version, or the
/// IB declined it before: asking again does not reopen it).
pub(crate) async fn note_request(store: &Store, id: &str, requester: &str) -> Result<bool> {
    let d = dossier::get(store, id).await?;
    let has_it = store
        .sent_versions(DOSSIER_TYPE, id)
        .await?
        .iter()
        .any(|s| s.recipient == requester && s.version == d.version);
    if has_it {
        return Ok(false);
    }
    let item = uuid::Uuid::new_v4().hyphenated().to_string();
    let state: (String,) = with_db!(&store.db, pool => {
        sqlx::query(
            "INSERT INTO handover_request (id, dossier_id, requester, state, requested_at_ms) \
             VALUES ($1, $2, $3, 'pending', $4) ON CONFLICT (dossier_id, requester) DO NOTHING",
        )
        .bind(&item)
        .bind(id)
        .bind(requester)
        .bind(now_ms())
        .execute(pool)
        .await?;
        sqlx::query_as("SELECT state FROM handover_request WHERE dossier_id = $1 AND requester = $2")
            .bind(id)
            .bind(requester)
            .fetch_one(pool)
            .await?
    });
    Ok(state.0 == "pending")
}

/// A request on the IB's work list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The work-list item's id (for [`confirm`] and [`decline`]).
    pub id: String,
    pub dossier_id: String,
    /// The pupil's name as the dossier gives it (for this school's own staff).
    pub pupil: String,
    /// The school that asked (a party id; pages show its name).
    pub requester: String,
    pub requested_at_ms: i64,
    /// The school the dossier is recorded to go to, if any.
    pub destination: Option<String>,
}

#[derive(sqlx::FromRow)]
struct WaitingRow {
    id: String,
    dossier_id: String,
    pupil_name: Option<String>,
    requester: String,
    requested_at_ms: i64,
    destination: Option<String>,
}

/// The requests waiting for the IB, oldest first.
pub async fn waiting(store: &Store, actor: &Actor) -> Result<Vec<Waiting>> {
    roles::check(store, actor, roles::PUBLISH, "dossier_requests").await?;
    let rows: Vec<WaitingRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT r.id, r.dossier_id, d.pupil_name, r.requester, r.requested_at_ms, d.destination \
             FROM handover_request r JOIN handover_dossier d ON d.id = r.dossier_id \
             WHERE r.state = 'pending' ORDER BY r.requested_at_ms, r.id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|r| Waiting {
            id: r.id,
            dossier_id: r.dossier_id,
            pupil: r.pupil_name.unwrap_or_default(),
            requester: r.requester,
            requested_at_ms: r.requested_at_ms,
            destination: r.destination,
        })
        .collect())
}

/// One pending request: its dossier and requester.
async fn pending(store: &Store, item: &str) -> Result<(String, PartyId)> {
    let row: Option<(String, String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT dossier_id, requester, state FROM handover_request WHERE id = $1")
            .bind(item)
            .fetch_optional(pool)
            .await?
    });
    let Some((dossier_id, requester, state)) = row else {
        return Err(Error::NotFound(format!("request {item}")));
    };
    if state != "pending" {
        return Err(Error::invalid(
            "request",
            "was already confirmed or declined",
        ));
    }
    Ok((dossier_id, PartyId::parse("requester", &requester)?))
}

/// The audit records of a decision on work-list item about `dossier_id`.
fn decision_entries(
    actor: &Actor,
    dossier_id: &str,
    requester: &PartyId,
    confirmed: bool,
) -> Vec<Entry> {
    let action = if confirmed {
        "dossier_request_confirmed"
    } else {
        "dossier_request_declined"
    };
    let mut entries = vec![Entry {
        counterparty: requester.to_string(),
        ..actor.entry(action, dossier_id)
    }];
    if confirmed {
        entries.push(Entry {
            counterparty: requester.to_string(),
            ..actor.entry("dossier_destination_set", dossier_id)
        });
    }
    entries
}

/// Closes work-list item `item` without a release and, when confirming,
/// makes the requester the dossier's destination: one transaction, audited.
async fn decide(
    store: &Store,
    actor: &Actor,
    item: &str,
    dossier_id: &str,
    requester: &PartyId,
    confirmed: bool,
) -> Result<()> {
    let state = if confirmed { "confirmed" } else { "declined" };
    let entries = decision_entries(actor, dossier_id, requester, confirmed);
    audited!(&store.db, tx => {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE handover_request SET state = $1, decided_by = $2, decided_at_ms = $3 \
             WHERE id = $4 AND state = 'pending'",
        )
        .bind(state)
        .bind(actor.audit_name())
        .bind(now)
        .bind(item)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(format!("request {item}")));
        }
        if confirmed {
            sqlx::query("UPDATE handover_dossier SET destination = $1, updated_at_ms = $2 WHERE id = $3")
                .bind(requester.as_str())
                .bind(now)
                .bind(dossier_id)
                .execute(&mut *tx)
                .await?;
        }
        ((), entries)
    });
    Ok(())
}

/// What [`confirm`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The dossier was released to the school; the queued message ids.
    Released(Vec<String>),
    /// The school is now the destination; the dossier is not ready to be
    /// released yet (or its route needs a consent record): it goes when it
    /// is published, or when the school asks again once it is ready.
    Recorded,
}

/// The IB confirms that the school behind work-list item `item` is the
/// pupil's school: it becomes the dossier's destination and, when the
/// dossier can be released (ready or published, inzage recorded, on a
/// primary-school route or with `consent_record`), it is released to it.
pub async fn confirm(
    store: &Store,
    directory: &Directory,
    actor: &Actor,
    item: &str,
    consent_record: Option<&str>,
) -> Result<Confirmed> {
    roles::check(store, actor, roles::PUBLISH, item).await?;
    let (dossier_id, requester) = pending(store, item).await?;
    let d = dossier::get(store, &dossier_id).await?;
    let kind = d
        .route
        .recipient_kind()
        .ok_or_else(|| Error::invalid("request", "an internal handover is not requested"))?;
    check_school(directory, store, &requester, kind)?;
    let releasable = matches!(d.state, DossierState::Ready | DossierState::Published)
        && d.inspection_id.is_some()
        && (d.route.from_primary() || consent_record.is_some());
    if !releasable {
        decide(store, actor, item, &dossier_id, &requester, true).await?;
        return Ok(Confirmed::Recorded);
    }
    let confirming = dossier::Confirming {
        item,
        requester: &requester,
        decided_by: actor.audit_name(),
        entries: decision_entries(actor, &dossier_id, &requester, true),
    };
    let ids = dossier::release(
        store,
        directory,
        &actor.audit_name(),
        &dossier_id,
        std::slice::from_ref(&requester),
        consent_record,
        Some(confirming),
    )
    .await?;
    Ok(Confirmed::Released(ids))
}

/// The IB declines the request behind work-list item `item`: nothing is
/// released, the requesting school is not told.
pub async fn decline(store: &Store, actor: &Actor, item: &str) -> Result<()> {
    roles::check(store, actor, roles::PUBLISH, item).await?;
    let (dossier_id, requester) = pending(store, item).await?;
    decide(store, actor, item, &dossier_id, &requester, false).await
}
