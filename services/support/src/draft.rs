//! Changing a draft before it is submitted: the school's question, the OPP,
//! the guardians' view (zienswijze), the pupil's voice (or why it was not
//! recorded), the consent it travels under and the date of the written
//! application. A submission refused for a missing view or voice is
//! mended here, on the same request.

use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, Reason, audited};

use crate::model::State;
use crate::request::{entry, is_id, load};
use crate::{Result, roles};

/// What a draft's holder may change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftChange {
    pub question: String,
    pub opp_text: String,
    pub opp_ref: String,
    pub guardian_view: String,
    pub pupil_voice: String,
    pub voice_reason: String,
    pub consent_record: String,
    /// YYYY-MM-DD, or empty: the day it is submitted.
    pub applied_on: String,
}

/// Changes draft `id` (at version `seen`) of this school.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    change: DraftChange,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    if r.school != store.party.as_str() {
        return Err(Error::PermissionDenied(format!(
            "support request {id} was made by another school"
        )));
    }
    if r.state != State::Draft {
        return Err(Error::precondition(format!(
            "support request {id} is {}: only a draft is changed",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    for (field, value) in [
        ("question", &change.question),
        ("opp_text", &change.opp_text),
        ("opp_ref", &change.opp_ref),
        ("guardian_view", &change.guardian_view),
        ("pupil_voice", &change.pupil_voice),
        ("voice_reason", &change.voice_reason),
    ] {
        if value.chars().count() > 8000 {
            return Err(Error::invalid(field, "at most 8000 characters").coded(Reason::TooLong));
        }
    }
    if !change.applied_on.is_empty() {
        carenet_consent::record::parse_date("applied_on", &change.applied_on)?;
    }
    if !change.consent_record.is_empty() && !is_id(&change.consent_record) {
        return Err(Error::invalid("consent_record", "a consent record's id"));
    }
    let audit = entry(actor, "support_draft_changed", id);
    audited!(&store.db, tx => {
        let done = sqlx::query(
            "UPDATE support_request SET question = $1, opp_text = $2, opp_ref = $3, guardian_view = $4, \
             pupil_voice = $5, voice_reason = $6, consent_record = $7, applied_on = $8, \
             version = version + 1, updated_at_ms = $9 \
             WHERE id = $10 AND state = $11 AND version = $12",
        )
        .bind(&change.question)
        .bind(&change.opp_text)
        .bind(&change.opp_ref)
        .bind(&change.guardian_view)
        .bind(&change.pupil_voice)
        .bind(&change.voice_reason)
        .bind(&change.consent_record)
        .bind(&change.applied_on)
        .bind(carenet_fabric::clock::now_ms())
        .bind(id)
        .bind(State::Draft.as_str())
        .bind(i64::try_from(seen).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(crate::request::stale(id));
        }
        ((), vec![audit])
    });
    Ok(())
}
