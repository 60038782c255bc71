//! Who on the staff may see and record the consents of one pupil: consent
//! is decided per child, not per role. A role says what a person may do; the
//! pupil must also be one of theirs in carenet:
//!
//! - the school's care coordinator and IB ([`roles::COORDINATORS`]) for
//!   every pupil of their school (the node they act for);
//! - anyone else only for a pupil a slice's own records relate them to
//!   ([`carenet_fabric::slice::Relation`]): assigned as mentor or teacher,
//!   the author of the school's dossier, the registrant of an IZO
//!   registration, the coordinator of the pupil's plan.
//!
//! A mentor, ZAT member or SWV staff member without such a relation learns
//! nothing, not even whether the pupil has consent records (which would
//! reveal youth-care involvement): the refusal is the same either way and is
//! audited (`refused:<action>`, naming the pupil's reference, never a name).

use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error as FabricError};

use crate::Result;
use crate::roles::{self, Action};

/// Passes when `actor` holds a role of `action` and may act for this pupil;
/// otherwise audits the refusal and returns the permission error.
pub async fn require(store: &Store, actor: &Actor, action: &Action, child_ref: &str) -> Result<()> {
    roles::require(store, actor, action, child_ref).await?;
    related(store, actor, action, child_ref).await
}

/// The pupil half of [`require`], for a caller that checked the role first
/// (before it could know which pupil a record is about).
pub async fn related(store: &Store, actor: &Actor, action: &Action, child_ref: &str) -> Result<()> {
    if holds(store, actor, child_ref).await? {
        return Ok(());
    }
    carenet_fabric::audit::append(&store.db, &[actor.refusal_entry(action.action, child_ref)])
        .await?;
    Err(FabricError::PermissionDenied(format!(
        "{} needs a relation with this pupil in carenet (mentor, teacher, IZO registrant, case coordinator) or the role support_coordinator_po or care_coordinator",
        action.what
    ))
    .into())
}

/// Whether `actor` may act for this pupil (a coordinator of the school, or a
/// relation a slice's records show), without auditing anything: for a page
/// that only offers a pupil's consents as choices when its reader may see
/// them, instead of refusing the whole page.
pub async fn holds(store: &Store, actor: &Actor, child_ref: &str) -> Result<bool> {
    if actor.party != store.party {
        return Ok(false);
    }
    if roles::COORDINATORS.iter().any(|r| actor.has(*r)) {
        return Ok(true);
    }
    Ok(store
        .registry
        .relation(store, child_ref, &actor.staff)
        .await?
        .is_some())
}
