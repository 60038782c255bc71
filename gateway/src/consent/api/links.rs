//! The parent portal's links in the JSON API: a school's system invites a
//! guardian, lists a pupil's links and open invitations, revokes a link,
//! withdraws an invitation and renews a link, through the same slice
//! functions as the staff page ([`carenet_consent::links`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_consent::links::{self, LinkState, NewInvitation};
use carenet_consent::record::{format_date, parse_date};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ChildQuery;
use crate::AppState;
use crate::api::{ApiError, ApiResult, Body, Caller, Path};

fn date(ms: i64) -> String {
    format_date(carenet_fabric::clock::date_of(ms))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct InvitationAsk {
    child_ref: String,
    /// The guardian the code is for, as the school knows them.
    guardian_name: String,
    /// YYYY-MM-DD, as the school recorded it.
    child_birth_date: String,
    /// Days the code waits for its use (1-60); default as configured.
    #[serde(default)]
    days: Option<u32>,
    /// `guardian` (default) or `pupil`: the code is for the pupil themself
    /// (16 or older; `guardian_name` then names the pupil).
    #[serde(default)]
    invitee: Option<String>,
}

/// A fresh invitation: the code is shown this once.
#[derive(Serialize, ToSchema)]
pub(crate) struct InvitationMade {
    id: String,
    code: String,
    /// YYYY-MM-DD.
    expires_on: String,
}

/// Invites a guardian of a pupil to the parent portal.
#[utoipa::path(post, path = "/api/v1/guardian-invitations", operation_id = "inviteGuardian", tag = "portal", request_body = InvitationAsk,
    responses(
        (status = 201, body = InvitationMade),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn invite(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<InvitationAsk>,
) -> ApiResult<(StatusCode, Json<InvitationMade>)> {
    let store = &state.inner.store;
    let child_ref = body.child_ref.trim();
    let dossiers = !carenet_handover::dossier::for_child(store, child_ref)
        .await?
        .is_empty();
    let new = NewInvitation {
        child_ref: child_ref.to_owned(),
        guardian_name: body.guardian_name,
        child_birth_date: parse_date("child_birth_date", &body.child_birth_date)?,
        days: body
            .days
            .unwrap_or(state.inner.config.portal.invitation_days),
    };
    let invitee = match body.invitee.as_deref() {
        None => links::Invitee::Guardian,
        Some(i) => links::Invitee::parse("invitee", i)?,
    };
    let made = links::invite_as(store, &actor, &new, dossiers, invitee).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationMade {
            id: made.id,
            code: made.code,
            expires_on: date(made.expires_at_ms),
        }),
    ))
}

/// One link between a guardian's login and the pupil.
#[derive(Serialize, ToSchema)]
pub(crate) struct Link {
    id: String,
    /// As the guardian's login named them.
    guardian_name: String,
    /// As the school's invitation named them.
    invited_as: Option<String>,
    linked_on: String,
    /// `active`, `revoked` or `lapsed` (not renewed by its review date).
    state: &'static str,
    /// Active: the review date; revoked or lapsed: when it ended.
    until: String,
    /// Why the school revoked it.
    reason: Option<String>,
    /// `guardian`, or `pupil`: the login is the pupil's own.
    linked_as: &'static str,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OpenInvitation {
    id: String,
    guardian_name: String,
    made_on: String,
    expires_on: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PupilLinks {
    links: Vec<Link>,
    invitations: Vec<OpenInvitation>,
}

/// A pupil's links and unused invitations (a POST: the pupil reference
/// stays out of URLs and logs).
#[utoipa::path(post, path = "/api/v1/guardian-links/search", operation_id = "searchGuardianLinks", tag = "portal", request_body = ChildQuery,
    responses(
        (status = 200, body = PupilLinks),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn search(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<ChildQuery>,
) -> ApiResult<Json<PupilLinks>> {
    let found = links::for_child(&state.inner.store, &actor, body.child_ref.trim()).await?;
    Ok(Json(PupilLinks {
        links: found
            .links
            .into_iter()
            .map(|l| {
                let (state, until, reason) = match l.state {
                    LinkState::Active => ("active", date(l.review_by_ms), None),
                    LinkState::Revoked { at_ms, reason } => ("revoked", date(at_ms), Some(reason)),
                    LinkState::Lapsed { at_ms } => ("lapsed", date(at_ms), None),
                };
                Link {
                    id: l.id,
                    guardian_name: l.guardian_name,
                    invited_as: l.invited_as,
                    linked_on: date(l.linked_at_ms),
                    state,
                    until,
                    reason,
                    linked_as: l.linked_as.as_str(),
                }
            })
            .collect(),
        invitations: found
            .invitations
            .into_iter()
            .map(|i| OpenInvitation {
                id: i.id,
                guardian_name: i.guardian_name,
                made_on: date(i.created_at_ms),
                expires_on: date(i.expires_at_ms),
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RevokeRequest {
    /// Why, in Dutch: the guardian reads it on the portal.
    reason: String,
}

/// Ends a link; the guardian loses access at their next request.
#[utoipa::path(post, path = "/api/v1/guardian-links/{id}/revoke", operation_id = "revokeGuardianLink", tag = "portal", request_body = RevokeRequest,
    params(("id" = String, Path, description = "link id")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<RevokeRequest>,
) -> ApiResult<StatusCode> {
    links::revoke(&state.inner.store, &actor, &id, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RenewRequest {
    /// YYYY-MM-DD: corrects the pupil's birth date, if given.
    #[serde(default)]
    child_birth_date: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Renewed {
    /// The next review date, YYYY-MM-DD.
    review_on: String,
}

/// The yearly review: the link stays for another year.
#[utoipa::path(post, path = "/api/v1/guardian-links/{id}/renew", operation_id = "renewGuardianLink", tag = "portal", request_body = RenewRequest,
    params(("id" = String, Path, description = "link id")),
    responses(
        (status = 200, body = Renewed),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn renew(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<RenewRequest>,
) -> ApiResult<Json<Renewed>> {
    let birth = body
        .child_birth_date
        .as_deref()
        .map(|d| parse_date("child_birth_date", d))
        .transpose()?;
    let (_, review_by_ms) = links::renew(&state.inner.store, &actor, &id, birth).await?;
    Ok(Json(Renewed {
        review_on: date(review_by_ms),
    }))
}

/// Withdraws an invitation before its use: its code links no one.
#[utoipa::path(post, path = "/api/v1/guardian-invitations/{id}/withdraw", operation_id = "withdrawGuardianInvitation", tag = "portal",
    params(("id" = String, Path, description = "invitation id")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    links::withdraw_invitation(&state.inner.store, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
