//! Parental inzage: before the PO→VO transfer report leaves, the guardians
//! must have seen it, and their view (zienswijze) may be attached (WPO art. 42,
//! OSO rules). A release on the inspection basis must name such a record for
//! the same document.
//!
//! Recording one is a coordinator's action ([`crate::roles::RECORD_INSPECTION`]).
//! Two ways in:
//!
//! - [`record`]: checks the actor's role (auditing a refusal), then stores the
//!   record and its audit entry in a transaction of its own (the CLI).
//! - [`inspection_record!`](crate::inspection_record): inside the caller's
//!   transaction, so a slice can record the inzage and change its own state
//!   in one commit (the handover dossier becomes ready). The caller first
//!   calls [`authorize`] with the actor, before it opens the transaction, and
//!   fills [`Inspection::recorded_by`] with `actor.audit_name()`; the macro
//!   refuses a recorder whose audit name holds no coordinator role.
//!
//! A record may be bound to what was seen ([`ContentSeen`]): the version of
//! the document, a hash of its content and the guardians' answer (OSO
//! `akkoord`). A release on the inspection basis then covers that version
//! only ([`covers_version`]); the transfer dossier refuses to publish content
//! whose hash is not the one the guardians saw.

use carenet_fabric::audit::Entry;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, audited, with_db};
use time::Date;

use crate::{Error, Result, roles};

#[derive(Clone, Debug)]
pub struct Inspection {
    pub child_ref: String,
    /// The document the guardians saw (all its versions share this id).
    pub document_id: String,
    pub seen_on: Date,
    /// The guardians' view, if they gave one; it travels with the dossier.
    pub guardian_view: Option<String>,
    /// Who records it: the actor's audit name, `actor.audit_name()`
    /// (`staff[role+role]`). [`record`] fills it in from its actor, whatever
    /// was here; with [`inspection_record!`](crate::inspection_record) the
    /// caller does.
    pub recorded_by: String,
    /// What exactly the guardians saw and said, when the document is one
    /// carenet holds (a transfer dossier); `None` for a document held
    /// elsewhere (`carenet consent inspection`).
    pub seen: Option<ContentSeen>,
}

/// The version of the document the guardians saw, the hash of its content
/// (hex SHA-256, see `carenet_handover::inzage`) and their answer to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentSeen {
    pub version: u32,
    pub content_sha256: String,
    /// OSO `akkoord` (codelijst 37): `Ja`, `Nee` or `Onbekend`.
    pub akkoord: String,
}

/// The `akkoord` values the `inspection` table accepts (its CHECK).
pub const AKKOORD_CODES: &[&str] = &["Ja", "Nee", "Onbekend"];

/// Checks that `actor` may record an inspection on `store`'s node; a refusal
/// is audited (about `document_id`) and returned as a permission error. Call
/// it before opening the transaction [`inspection_record!`](crate::inspection_record)
/// runs in.
pub async fn authorize(store: &Store, actor: &Actor, document_id: &str) -> Result<()> {
    roles::require(store, actor, &roles::RECORD_INSPECTION, document_id).await
}

/// Records that the guardians saw a document; returns the record id that a
/// message's inspection basis names. `i.recorded_by` is replaced by the
/// actor's audit name.
pub async fn record(store: &Store, actor: &Actor, i: &Inspection) -> Result<String> {
    authorize(store, actor, &i.document_id).await?;
    let i = Inspection {
        recorded_by: actor.audit_name(),
        ..i.clone()
    };
    check(actor, &i)?;
    Ok(audited!(&store.db, tx => {
        let id = crate::inspection_record!(tx, actor, &i);
        (id, Vec::new())
    }))
}

/// The checks [`inspection_record!`](crate::inspection_record) makes before
/// it writes: the fields, and an actor (typed, not a name) holding a role
/// that may record an inspection.
pub fn check(actor: &Actor, i: &Inspection) -> Result<()> {
    if i.child_ref.trim().is_empty() {
        return Err(Error::invalid("child_ref", "must not be empty")
            .coded(carenet_fabric::Reason::Required));
    }
    if i.document_id.trim().is_empty() {
        return Err(Error::invalid(
            "document_id",
            "name the document the guardians saw",
        ));
    }
    actor.require(
        roles::RECORD_INSPECTION.what,
        roles::RECORD_INSPECTION.roles,
    )?;
    check_seen(i)
}

/// What a record says it was bound to must be what the table accepts.
fn check_seen(i: &Inspection) -> Result<()> {
    let Some(seen) = &i.seen else {
        return Ok(());
    };
    if seen.content_sha256.len() != 64
        || !seen.content_sha256.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(Error::invalid(
            "content_sha256",
            "64 hexadecimal characters",
        ));
    }
    if !AKKOORD_CODES.contains(&seen.akkoord.as_str()) {
        return Err(Error::invalid("akkoord", "must be Ja, Nee or Onbekend"));
    }
    Ok(())
}

#[doc(hidden)]
pub fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[doc(hidden)]
pub const INSERT: &str = "INSERT INTO inspection (id, child_ref, document_id, seen_on, guardian_view, \
     recorded_by, recorded_at_ms, document_version, content_sha256, akkoord) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// The audit entry of inspection record `id`.
pub fn entry(id: &str, i: &Inspection) -> Entry {
    Entry {
        actor: i.recorded_by.clone(),
        action: "inspection_recorded".into(),
        message_id: id.to_owned(),
        legal_basis: format!("inspection:{id}"),
        // The hash the guardians' answer is bound to, in the audit chain too.
        payload_sha256: i
            .seen
            .as_ref()
            .and_then(|s| hex::decode(&s.content_sha256).ok())
            .unwrap_or_default(),
        ..Entry::default()
    }
}

/// Inside transaction `$tx` (`&mut *$tx` is an executor, as in
/// `carenet_fabric::audited!`): checks `$inspection` (a `&Inspection`) with
/// [`check`], inserts it and appends its audit entry; evaluates to the new
/// record's id. `?` inside returns from the caller, whose error type needs
/// `From<carenet_consent::Error>` and `From<sqlx::Error>`; a failed check
/// leaves the transaction untouched, to be dropped (rolled back) by the
/// caller. It does not audit a refusal: call
/// [`authorize`](crate::inspection::authorize) first.
#[macro_export]
macro_rules! inspection_record {
    ($tx:expr, $actor:expr, $inspection:expr) => {{
        let actor: &$crate::__fabric::Actor = $actor;
        let inspection = $crate::inspection::Inspection {
            recorded_by: actor.audit_name(),
            ..::std::clone::Clone::clone($inspection)
        };
        $crate::inspection::check(actor, &inspection)?;
        $crate::__inspection_insert!($tx, &inspection)
    }};
}

/// As [`inspection_record!`](crate::inspection_record), for the guardians
/// themselves on the parent portal: `$link` (a `&portal::Linked`) must be
/// the link to the inspection's child ([`check_portal`]); the record names
/// the guardian's pseudonym as who recorded it.
#[macro_export]
macro_rules! portal_inspection_record {
    ($tx:expr, $link:expr, $inspection:expr) => {{
        let link: &$crate::portal::Linked = $link;
        let inspection = $crate::inspection::Inspection {
            recorded_by: link.guardian().audit_name(),
            ..::std::clone::Clone::clone($inspection)
        };
        $crate::inspection::check_portal(link, &inspection)?;
        $crate::__inspection_insert!($tx, &inspection)
    }};
}

/// The checks [`portal_inspection_record!`](crate::portal_inspection_record)
/// makes: the fields, a link to the inspection's child, and that the
/// guardian may record inzage today ([`crate::access::Access::inspection`]).
pub fn check_portal(link: &crate::portal::Linked, i: &Inspection) -> Result<()> {
    if i.document_id.trim().is_empty() {
        return Err(Error::invalid(
            "document_id",
            "name the document the guardians saw",
        ));
    }
    if i.child_ref != link.child_ref() {
        return Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(
            "this is not about a child the guardian is linked to".into(),
        )));
    }
    if !link.access().inspection() {
        return Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(
            "at this age the pupil decides: the guardian may not see this".into(),
        )));
    }
    check_seen(i)
}

#[doc(hidden)]
#[macro_export]
macro_rules! __inspection_insert {
    ($tx:expr, $inspection:expr) => {{
        let inspection: &$crate::inspection::Inspection = $inspection;
        let id = $crate::inspection::new_id();
        sqlx::query($crate::inspection::INSERT)
            .bind(&id)
            .bind(&inspection.child_ref)
            .bind(&inspection.document_id)
            .bind($crate::record::format_date(inspection.seen_on))
            .bind(&inspection.guardian_view)
            .bind(&inspection.recorded_by)
            .bind($crate::__fabric::clock::now_ms())
            .bind(inspection.seen.as_ref().map(|s| i64::from(s.version)))
            .bind(inspection.seen.as_ref().map(|s| s.content_sha256.clone()))
            .bind(inspection.seen.as_ref().map(|s| s.akkoord.clone()))
            .execute(&mut *$tx)
            .await?;
        let entry = $crate::inspection::entry(&id, inspection);
        $crate::__fabric::audit_append!($tx, ::std::slice::from_ref(&entry));
        id
    }};
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Whether inspection record `id` exists for `document_id`.
pub async fn covers(store: &Store, id: &str, document_id: &str) -> Result<bool> {
    let count: Count = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT COUNT(*) AS n FROM inspection WHERE id = $1 AND document_id = $2")
            .bind(id)
            .bind(document_id)
            .fetch_one(pool)
            .await?
    });
    Ok(count.n > 0)
}

/// Whether inspection record `id` covers version `version` of `document_id`:
/// it is about that document and, if it is bound to a version, to this one
/// (the guardians' inzage of version 1 does not release version 2).
pub async fn covers_version(
    store: &Store,
    id: &str,
    document_id: &str,
    version: u32,
) -> Result<bool> {
    let count: Count = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*) AS n FROM inspection WHERE id = $1 AND document_id = $2 \
             AND (document_version IS NULL OR document_version = $3)",
        )
        .bind(id)
        .bind(document_id)
        .bind(i64::from(version))
        .fetch_one(pool)
        .await?
    });
    Ok(count.n > 0)
}

#[derive(sqlx::FromRow)]
struct SeenRow {
    document_id: String,
    document_version: Option<i64>,
    content_sha256: Option<String>,
    akkoord: Option<String>,
}

/// What inspection record `id` says the guardians saw of `document_id`:
/// `None` if there is no such record for that document, `Some(None)` if
/// the record is not bound to content.
pub async fn seen(
    store: &Store,
    id: &str,
    document_id: &str,
) -> Result<Option<Option<ContentSeen>>> {
    let row: Option<SeenRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT document_id, document_version, content_sha256, akkoord FROM inspection WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    let Some(row) = row.filter(|r| r.document_id == document_id) else {
        return Ok(None);
    };
    Ok(Some(
        match (row.document_version, row.content_sha256, row.akkoord) {
            (Some(v), Some(content_sha256), Some(akkoord)) => Some(ContentSeen {
                version: u32::try_from(v)
                    .map_err(|_| Error::Corrupt("inspection.document_version".into()))?,
                content_sha256,
                akkoord,
            }),
            _ => None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use carenet_fabric::{PartyId, Role};

    #[test]
    fn the_recorder_must_hold_a_coordinator_role() {
        let party = PartyId::parse("party", "po-1").expect("party");
        let as_actor = |roles: &[Role]| {
            Actor::new(party.clone(), "staff-1", roles.iter().copied()).expect("actor")
        };
        let i = Inspection {
            child_ref: "pupil-1".into(),
            document_id: "okr-1".into(),
            seen_on: time::macros::date!(2026 - 03 - 02),
            guardian_view: None,
            // What the record says of its recorder does not matter: the actor does.
            recorded_by: "ib-1[support_coordinator_po]".into(),
            seen: None,
        };
        assert!(check(&as_actor(&[Role::SupportCoordinatorPo]), &i).is_ok());
        assert!(check(&as_actor(&[Role::Mentor, Role::CareCoordinator]), &i).is_ok());
        for bad in [as_actor(&[Role::Mentor]), Actor::system(party.clone())] {
            assert!(
                matches!(
                    check(&bad, &i),
                    Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(_)))
                ),
                "{bad:?}"
            );
        }
    }
}
