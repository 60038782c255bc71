//! The ZAT in the JSON API: record a meeting with its plan of action, send
//! the case file to the members, and a member's received case files: the
//! same actions as the pages (`/zat/…`), through the same slice functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_proto::v1;
use carenet_referral::zat;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{ApiError, ApiResult, Body, Caller, Path};
use crate::caseplan::api::{Action, Goal, Member, named};

#[derive(Deserialize, ToSchema)]
pub(crate) struct PlanOfAction {
    /// Staff id of the case coordinator at this school; one the school's
    /// staff directory does not know is refused (400, field `coordinator`).
    coordinator: String,
    reports_back: String,
    evaluation_on: String,
    #[serde(default)]
    goals: Vec<Goal>,
    actions: Vec<Action>,
    #[serde(default)]
    members: Vec<Member>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MeetingRequest {
    /// A meeting id the client chooses (a UUID): the same request sent
    /// again records one meeting and answers as the first did.
    #[serde(default)]
    id: String,
    held_on: String,
    #[serde(default)]
    analysis: String,
    #[serde(default)]
    needs: String,
    #[serde(default)]
    directions: String,
    #[serde(default)]
    decisions: String,
    /// A follow-up's review of the progress.
    #[serde(default)]
    review: String,
    #[serde(default)]
    close_case: bool,
    /// The first meeting's plan of action.
    #[serde(default)]
    plan: Option<PlanOfAction>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Met {
    meeting_id: String,
    plan_id: Option<String>,
}

/// Records a ZAT meeting; the first sets the plan of action and opens the
/// child's plan.
#[utoipa::path(post, path = "/api/v1/zat/{id}/meetings", operation_id = "recordZatMeeting", tag = "care", request_body = MeetingRequest,
    params(("id" = String, Path, description = "ZAT case id")),
    responses(
        (status = 201, body = Met),
        (status = 400, description = "input that cannot be read, or a case coordinator not in the staff directory (field `coordinator`): the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn meet(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<MeetingRequest>,
) -> ApiResult<(StatusCode, Json<Met>)> {
    // The case coordinator is one of this school's staff, as on the page:
    // a typo coordinates nothing. (The role first: who may not record the
    // meeting learns nothing of the directory.)
    let chair = actor
        .may(
            &state.inner.store.party,
            &carenet_referral::roles::ZAT_CHAIR,
        )
        .is_ok();
    let coordinator = match &body.plan {
        Some(p) if chair => Some(
            crate::staff_directory::resolve(&state, "coordinator", &p.coordinator, &[])
                .await?
                .map_err(|unknown| unknown.error())?,
        ),
        _ => None,
    };
    let plan = match body.plan {
        Some(p) => Some(v1::ZatPlanOfAction {
            coordinator: coordinator.unwrap_or(p.coordinator),
            reports_back: p.reports_back,
            evaluation_on: p.evaluation_on,
            goals: p.goals.into_iter().map(Into::into).collect(),
            actions: named(&state, p.actions.into_iter().map(Into::into).collect()).await?,
            members: p.members.into_iter().map(Into::into).collect(),
        }),
        None => None,
    };
    let (meeting_id, plan_id) = zat::meet(
        &state.inner.store,
        &actor,
        &id,
        v1::ZatMeeting {
            id: body.id,
            held_on: body.held_on,
            analysis: body.analysis,
            needs: body.needs,
            directions: body.directions,
            decisions: body.decisions,
            review: body.review,
            close_case: body.close_case,
            plan,
            ..Default::default()
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(Met {
            meeting_id,
            plan_id,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DistributeRequest {
    /// Party ids the referral's consent names.
    members: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Sent {
    party: String,
    message_id: String,
}

/// Sends the case file to members of the ZAT.
#[utoipa::path(post, path = "/api/v1/zat/{id}/distribute", operation_id = "distributeZatCaseFile", tag = "care", request_body = DistributeRequest,
    params(("id" = String, Path, description = "ZAT case id")),
    responses(
        (status = 200, body = [Sent]),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn distribute(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<DistributeRequest>,
) -> ApiResult<Json<Vec<Sent>>> {
    let sent = zat::distribute(&state.inner.store, &actor, &id, &body.members).await?;
    Ok(Json(
        sent.into_iter()
            .map(|(party, message_id)| Sent { party, message_id })
            .collect(),
    ))
}

/// The content of a ZAT case file as the chair sent it.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaseFile {
    /// The pupil's name.
    child_name: String,
    /// YYYY-MM-DD.
    child_birth_date: String,
    /// The question to the ZAT.
    question: String,
    /// What was done already; empty when not shared.
    background: String,
    /// The meeting's date, YYYY-MM-DD.
    meeting_on: String,
}

/// A case file this party received as a ZAT member.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReceivedCaseFile {
    /// The message id it came with.
    id: String,
    /// The school hosting the ZAT.
    school: String,
    /// The ZAT case id at that school.
    case_id: String,
    /// YYYY-MM-DD.
    received_on: String,
    /// The content; null once the meeting's plan replaced it.
    case_file: Option<CaseFile>,
    /// The plan (held by `school`) that replaced it, read at
    /// `/api/v1/memberships/{school}/{plan_id}`.
    plan_id: Option<String>,
}

fn received_case_file(r: zat::Received) -> ReceivedCaseFile {
    ReceivedCaseFile {
        id: r.message_id,
        school: r.school,
        case_id: r.case_id,
        received_on: carenet_consent::record::format_date(carenet_fabric::clock::date_of(
            r.received_at_ms,
        )),
        case_file: r.file.map(|f| CaseFile {
            child_name: f.child_name,
            child_birth_date: f.child_birth_date,
            question: f.question,
            background: f.background,
            meeting_on: f.meeting_on,
        }),
        plan_id: r.plan_id,
    }
}

/// The ZAT case files this party received, newest first (each reading is
/// audited; a withdrawn one is gone).
#[utoipa::path(get, path = "/api/v1/zat/received", operation_id = "listReceivedZatCaseFiles", tag = "care",
    responses(
        (status = 200, body = [ReceivedCaseFile]),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn received(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<Vec<ReceivedCaseFile>>> {
    let files = zat::received(&state.inner.store, &actor).await?;
    Ok(Json(files.into_iter().map(received_case_file).collect()))
}

/// One ZAT case file this party received (the reading is audited).
#[utoipa::path(get, path = "/api/v1/zat/received/{id}", operation_id = "getReceivedZatCaseFile", tag = "care",
    params(("id" = String, Path, description = "message id of the received case file")),
    responses(
        (status = 200, body = ReceivedCaseFile),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn received_file(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReceivedCaseFile>> {
    let file = zat::received_one(&state.inner.store, &actor, &id).await?;
    Ok(Json(received_case_file(file)))
}
