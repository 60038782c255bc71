//! The warm handover and the feedback between schools in the JSON API: the
//! same actions as the pages (`/warme-overdracht/…`, feedback on a received
//! dossier), through the same slice functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_handover::{dossier, incoming, warm};
use carenet_proto::v1::{self, ParticipantRole};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Published;
use crate::api::{ApiError, ApiResult, Body, Caller, Path};
use crate::{AppState, Error};

/// One who takes part in the conversation.
#[derive(Deserialize, Serialize, ToSchema)]
pub(crate) struct Participant {
    /// `support_coordinator_po`, `group8_teacher`, `team_lead`,
    /// `care_coordinator`, `mentor`, `guardian` or `pupil`.
    role: String,
    /// The party a member of staff speaks for; empty for guardians and pupil.
    #[serde(default)]
    party_id: String,
    /// A staff id at that party (never a name); at this school one its
    /// staff directory knows (else 400, field `participants[n].staff_ref`).
    #[serde(default)]
    staff_ref: String,
}

fn name_of(role: i32) -> String {
    ParticipantRole::try_from(role)
        .unwrap_or(ParticipantRole::Unspecified)
        .as_str_name()
        .trim_start_matches("PARTICIPANT_ROLE_")
        .to_ascii_lowercase()
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct PlanRequest {
    /// An id the client chooses (a UUID): the same plan sent again plans
    /// one conversation and answers the same.
    #[serde(default)]
    id: String,
    /// YYYY-MM-DD.
    planned_on: String,
    /// For a conversation about a dossier that is not this school's own:
    /// `po_vo`, `po_po`, `vo_vo`, `vo_vervolg` or `internal`.
    #[serde(default)]
    route: Option<String>,
    participants: Vec<Participant>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Planned {
    id: String,
}

/// Plans the handover conversation about a dossier; the agenda is the
/// handbook's for the route.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/warm-handovers", operation_id = "planWarmHandover", tag = "warm handover", request_body = PlanRequest,
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 201, body = Planned),
        (status = 400, description = "input that cannot be read, or a participant of this school not in its staff directory: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn plan(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<PlanRequest>,
) -> ApiResult<(StatusCode, Json<Planned>)> {
    let planned_on = dossier::parse_date("planned_on", &body.planned_on)?;
    let route = body
        .route
        .as_deref()
        .map(|r| dossier::Route::parse("route", r))
        .transpose()?;
    let mut participants = Vec::with_capacity(body.participants.len());
    // This school's own people are people of its staff directory (the role
    // first: who may not plan learns nothing of the directory).
    let own = state.inner.party.as_str();
    if actor
        .may(&state.inner.store.party, &carenet_handover::roles::WARM)
        .is_ok()
    {
        for (i, p) in body.participants.iter().enumerate() {
            if p.party_id == own && !p.staff_ref.is_empty() {
                let field = format!("participants[{i}].staff_ref");
                crate::staff_directory::resolve(&state, "staff_ref", &p.staff_ref, &[])
                    .await?
                    .map_err(|_| {
                        Error::invalid(
                            field,
                            "not a member of staff in this party's directory: pick one it lists",
                        )
                    })?;
            }
        }
    }
    for (i, p) in body.participants.into_iter().enumerate() {
        participants.push(v1::Participant {
            role: crate::handover::warm::participant_role(
                &format!("participants[{i}].role"),
                &p.role,
            )? as i32,
            party_id: p.party_id,
            staff_ref: p.staff_ref,
        });
    }
    let id = warm::plan_named(
        &state.inner.store,
        &actor,
        &body.id,
        &id,
        route,
        participants,
        planned_on,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Planned { id })))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AgendaItem {
    topic: String,
    notes: String,
}

/// A handover conversation of this school's.
#[derive(Serialize, ToSchema)]
pub(crate) struct WarmHandover {
    id: String,
    dossier_id: String,
    /// `planned` or `held`.
    state: String,
    planned_on: String,
    held_on: String,
    participants: Vec<Participant>,
    agenda: Vec<AgendaItem>,
    minutes: String,
    agreements: Vec<String>,
    aftercare: String,
}

/// One of this school's handover conversations (the reading is audited).
#[utoipa::path(get, path = "/api/v1/warm-handovers/{id}", operation_id = "getWarmHandover", tag = "warm handover",
    params(("id" = String, Path, description = "warm handover id")),
    responses(
        (status = 200, body = WarmHandover),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<WarmHandover>> {
    let (r, status) = warm::view(&state.inner.store, &actor, &id).await?;
    Ok(Json(WarmHandover {
        id: r.id,
        dossier_id: r.dossier_id,
        state: status,
        planned_on: r.planned_on,
        held_on: r.held_on,
        participants: r
            .participants
            .into_iter()
            .map(|p| Participant {
                role: name_of(p.role),
                party_id: p.party_id,
                staff_ref: p.staff_ref,
            })
            .collect(),
        agenda: r
            .agenda
            .into_iter()
            .map(|a| AgendaItem {
                topic: a.topic,
                notes: a.notes,
            })
            .collect(),
        minutes: r.minutes,
        agreements: r.agreements,
        aftercare: r.aftercare,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct Note {
    /// The agenda item, from 1.
    item: usize,
    text: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct HoldRequest {
    /// YYYY-MM-DD; today when left out.
    #[serde(default)]
    held_on: Option<String>,
    minutes: String,
    #[serde(default)]
    notes: Vec<Note>,
    #[serde(default)]
    agreements: Vec<String>,
    #[serde(default)]
    aftercare: String,
}

/// Records that the conversation was held: minutes, notes per agenda item,
/// agreements and aftercare.
#[utoipa::path(post, path = "/api/v1/warm-handovers/{id}/record", operation_id = "recordWarmHandover", tag = "warm handover", request_body = HoldRequest,
    params(("id" = String, Path, description = "warm handover id")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn hold(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<HoldRequest>,
) -> ApiResult<StatusCode> {
    let held_on = body
        .held_on
        .as_deref()
        .map(|d| dossier::parse_date("held_on", d))
        .transpose()?;
    let mut notes = Vec::with_capacity(body.notes.len());
    for (i, n) in body.notes.into_iter().enumerate() {
        let item = n.item.checked_sub(1).ok_or_else(|| {
            Error::invalid(format!("notes[{i}].item"), "agenda items count from 1")
        })?;
        notes.push((item, n.text));
    }
    warm::hold(
        &state.inner.store,
        &actor,
        &id,
        warm::Held {
            held_on,
            minutes: body.minutes,
            notes,
            agreements: body.agreements,
            aftercare: body.aftercare,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ShareRequest {
    /// The guardians' consent record for the transfer.
    consent_record: String,
    /// For a conversation about a received dossier: this school's pupil
    /// reference.
    #[serde(default)]
    child_ref: Option<String>,
}

/// Shares the record with every other party that took part.
#[utoipa::path(post, path = "/api/v1/warm-handovers/{id}/share", operation_id = "shareWarmHandover", tag = "warm handover", request_body = ShareRequest,
    params(("id" = String, Path, description = "warm handover id")),
    responses(
        (status = 200, body = Published),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn share(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<ShareRequest>,
) -> ApiResult<Json<Published>> {
    let store = &state.inner.store;
    let directory = store
        .directory()
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))?;
    let message_ids = warm::share(
        store,
        directory,
        &actor,
        &id,
        &body.consent_record,
        body.child_ref.as_deref(),
    )
    .await?;
    Ok(Json(Published { message_ids }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct FeedbackRequest {
    /// This school's reference of the pupil, as registered when the dossier
    /// was assigned (the consent is about it).
    child_ref: String,
    /// This school's consent record for `feedback_to_sender`.
    consent_record: String,
    text: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FeedbackSent {
    message_id: String,
}

/// Tells the sending school how the pupil is doing.
#[utoipa::path(post, path = "/api/v1/received/{id}/feedback", operation_id = "sendFeedback", tag = "dossiers", request_body = FeedbackRequest,
    params(("id" = String, Path, description = "message id of the received dossier")),
    responses(
        (status = 200, body = FeedbackSent),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn feedback(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<FeedbackRequest>,
) -> ApiResult<Json<FeedbackSent>> {
    let message_id = incoming::send_feedback(
        &state.inner.store,
        &actor,
        &id,
        &body.text,
        &body.consent_record,
        &body.child_ref,
    )
    .await?;
    Ok(Json(FeedbackSent { message_id }))
}
