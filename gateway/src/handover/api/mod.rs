//! Transfer dossiers in the JSON API: the season view, import of an OSO
//! file, one outgoing dossier (submit, publish), a received dossier's
//! assignment, and the modules for received dossiers and the warm
//! handover: the same actions as the pages, through the same slice
//! functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_fabric::PartyId;
use carenet_handover::dossier::{self, Route};
use carenet_handover::{incoming, season};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, Body, Caller, Path};
use crate::{AppState, Error};

pub(crate) mod received;
pub(crate) mod warm;

/// One row of the season view.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeasonRow {
    /// `out` or `in`.
    direction: String,
    /// Outgoing: the dossier id; incoming: the message id.
    id: String,
    pupil: String,
    counterparty: String,
    route: String,
    version: u32,
    /// `draft`, `awaiting_inspection`, `ready`, `published`, `delivered`,
    /// `read`, `withdrawn`; incoming `received`, `assigned`, `read`,
    /// `withdrawn`, `purged`.
    status: String,
    warm_handover: String,
    feedback: bool,
}

/// The season view of this school year.
#[utoipa::path(get, path = "/api/v1/season", operation_id = "getSeason", tag = "dossiers",
    responses(
        (status = 200, body = [SeasonRow]),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn season_view(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<Vec<SeasonRow>>> {
    let rows = season::season(
        &state.inner.store,
        state.inner.kind,
        &actor,
        season::school_year_start_ms(),
        &season::Filter::default(),
    )
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SeasonRow {
                direction: r.direction.into(),
                id: r.id,
                pupil: r.pupil,
                counterparty: r.counterparty,
                route: r.route,
                version: r.version,
                status: r.status,
                warm_handover: r.warm_handover,
                feedback: r.feedback,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ImportRequest {
    /// The school's own pupil reference.
    child_ref: String,
    /// `po_vo`, `po_po`, `vo_vo`, `vo_vervolg` or `internal`.
    route: String,
    /// The OSO 2019.1 file, as text.
    oso: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: String,
}

/// Imports an OSO file as a draft dossier (or ready, if it states its inzage).
#[utoipa::path(post, path = "/api/v1/dossiers", operation_id = "importDossier", tag = "dossiers", request_body = ImportRequest,
    responses(
        (status = 201, body = Created),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn import(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<ImportRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let route = Route::parse("route", &body.route)?;
    let id = dossier::import_oso(
        &state.inner.store,
        &actor,
        &body.oso,
        &body.child_ref,
        route,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DossierView {
    id: String,
    route: String,
    state: String,
    version: u32,
    pupil_name: String,
    advice: Option<String>,
    guardian_view: Option<String>,
}

/// One outgoing dossier (the reading is audited).
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", operation_id = "getDossier", tag = "dossiers",
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 200, body = DossierView),
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
) -> ApiResult<Json<DossierView>> {
    let d = dossier::view(&state.inner.store, &actor, &id).await?;
    let s = d.dossier.summary();
    Ok(Json(DossierView {
        id: d.id,
        route: d.route.as_str().into(),
        state: d.state.as_str().into(),
        version: d.version,
        pupil_name: s.pupil_name,
        advice: s.advice,
        guardian_view: d.dossier.extras.guardian_view,
    }))
}

/// Puts a draft dossier before the guardians (inzage).
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/submit", operation_id = "submitDossier", tag = "dossiers",
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    dossier::submit_for_inspection(&state.inner.store, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct PublishRequest {
    /// The receiving party's id.
    recipient: String,
    /// The guardians' consent record it goes out under, if any.
    consent_record: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Published {
    message_ids: Vec<String>,
}

/// Releases a ready dossier to the receiving school.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/publish", operation_id = "publishDossier", tag = "dossiers", request_body = PublishRequest,
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 200, body = Published),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn publish(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<PublishRequest>,
) -> ApiResult<Json<Published>> {
    let store = &state.inner.store;
    let recipient = PartyId::parse("recipient", &body.recipient)?;
    let directory = store
        .directory()
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))?;
    let message_ids = dossier::publish(
        store,
        directory,
        &actor,
        &id,
        std::slice::from_ref(&recipient),
        body.consent_record.as_deref(),
    )
    .await?;
    Ok(Json(Published { message_ids }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct AssignRequest {
    /// The mentor's staff id; one the party's staff directory does not
    /// know is refused (400, field `mentor`).
    mentor: String,
    /// The teachers' staff ids, each in the staff directory (else 400,
    /// field `teachers`).
    #[serde(default)]
    teachers: Vec<String>,
    /// This school's own reference of the pupil (needed before feedback).
    #[serde(default)]
    child_ref: Option<String>,
}

/// Assigns a received dossier to the mentor (and teachers).
#[utoipa::path(post, path = "/api/v1/received/{id}/assign", operation_id = "assignReceivedDossier", tag = "dossiers", request_body = AssignRequest,
    params(("id" = String, Path, description = "message id of the received dossier")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read, or a mentor or teacher not in the staff directory: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn assign(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<AssignRequest>,
) -> ApiResult<StatusCode> {
    let (store, kind) = (&state.inner.store, state.inner.kind);
    // Only people of the staff directory: a typo reaches nobody. (The role
    // first: who may not assign learns nothing of the directory.)
    carenet_fabric::actor::require(store, &actor, &carenet_handover::roles::assign(kind), &id)
        .await?;
    let mentor = crate::staff_directory::resolve(
        &state,
        "mentor",
        &body.mentor,
        &crate::handover::dossiers::mentor_roles(kind),
    )
    .await?
    .map_err(|unknown| unknown.error())?;
    let mut teachers = Vec::new();
    for t in &body.teachers {
        teachers.push(
            crate::staff_directory::resolve(
                &state,
                "teachers",
                t,
                crate::handover::dossiers::TEACHER_ROLES,
            )
            .await?
            .map_err(|unknown| unknown.error())?,
        );
    }
    if let Some(child_ref) = &body.child_ref {
        incoming::register_pupil(store, kind, &actor, &id, child_ref).await?;
    }
    incoming::assign(store, kind, &actor, &id, &mentor, &teachers).await?;
    Ok(StatusCode::NO_CONTENT)
}
