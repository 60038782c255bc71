//! One child, one plan in the JSON API: the holder's plans, their task
//! steps and changes, a member's views and its progress: the same actions
//! as the pages (`/plannen/…`, `/deelname/…`), through the same slice
//! functions. The plan's parts (goals, actions, members) are also the parts
//! of the plan of action a ZAT meeting opens ([`crate::referral::api`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_caseplan::{member, plan};
use carenet_proto::v1;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{ApiError, ApiResult, Body, Caller, Path};

#[derive(Deserialize, Serialize, ToSchema)]
pub(crate) struct Goal {
    #[serde(default)]
    id: String,
    text: String,
    measure: String,
    /// YYYY-MM-DD.
    target_on: String,
    #[serde(default)]
    category: String,
}

#[derive(Deserialize, Serialize, ToSchema)]
pub(crate) struct Member {
    party: String,
    role: String,
    person: String,
    /// The guardians' consent for `case_membership` naming this party.
    consent_record: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_until: String,
    /// Set when the membership ended.
    #[serde(default)]
    ended_on: String,
    #[serde(default)]
    end_reason: String,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct Action {
    /// The party that carries it out: this school or a member.
    owner: String,
    what: String,
    goal: String,
    /// YYYY-MM-DD.
    due_on: String,
    /// A data category (`action_plans`, `external_care`, …).
    #[serde(default)]
    category: String,
    /// The staff id of the person at the owner who does it (optional).
    #[serde(default)]
    person: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Task {
    id: String,
    owner: String,
    what: String,
    goal: String,
    due_on: String,
    /// requested, accepted, rejected, in_progress, on_hold, completed,
    /// failed or cancelled.
    state: String,
    /// Name it when stepping the task.
    version: u32,
    category: String,
    reason: String,
    /// The staff id of the person at the owner who does it; empty when
    /// none is named.
    person: String,
}

fn task(t: v1::CaseTask) -> Task {
    Task {
        id: t.id,
        owner: t.owner,
        what: t.what,
        goal: t.goal,
        due_on: t.due_on,
        state: t.state,
        version: t.version,
        category: t.category,
        reason: t.reason,
        person: t.person,
    }
}

fn member_of(m: v1::CaseMember) -> Member {
    Member {
        party: m.party,
        role: m.role,
        person: m.person,
        consent_record: m.consent_record,
        valid_from: m.valid_from,
        valid_until: m.valid_until,
        ended_on: m.ended_on,
        end_reason: m.end_reason,
    }
}

fn goal(g: v1::CaseGoal) -> Goal {
    Goal {
        id: g.id,
        text: g.text,
        measure: g.measure,
        target_on: g.target_on,
        category: g.category,
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Event {
    at_ms: i64,
    party: String,
    kind: String,
    task_id: String,
    text: String,
}

fn event(e: v1::CaseEvent) -> Event {
    Event {
        at_ms: e.at_ms,
        party: e.party,
        kind: e.kind,
        task_id: e.task_id,
        text: e.text,
    }
}

/// A plan as its holder, or a member as far as its consent reaches, sees it.
#[derive(Serialize, ToSchema)]
pub(crate) struct CasePlan {
    id: String,
    holder: String,
    version: u64,
    /// The pupil's name, if the viewer may see it.
    pupil: Option<String>,
    /// `open` or `closed`.
    status: String,
    coordinator: String,
    reports_back: String,
    evaluation_on: String,
    members: Vec<Member>,
    goals: Vec<Goal>,
    tasks: Vec<Task>,
    events: Vec<Event>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Cases {
    /// Plans this party holds: (id, pupil, status).
    held: Vec<HeldPlan>,
    /// Plans of other parties this party is a member of.
    member_of: Vec<Membership>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HeldPlan {
    id: String,
    pupil: String,
    status: String,
    open_tasks: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Membership {
    holder: String,
    plan_id: String,
    pupil: Option<String>,
}

/// The plans this party holds and those it is a member of (as far as the
/// caller's roles reach).
#[utoipa::path(get, path = "/api/v1/cases", operation_id = "listCases", tag = "care",
    responses(
        (status = 200, body = Cases),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn cases(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<Cases>> {
    let member::Overview {
        held, member_of, ..
    } = member::overview(&state.inner.store, &actor).await?;
    Ok(Json(Cases {
        held: held
            .into_iter()
            .map(|p| HeldPlan {
                id: p.id,
                pupil: p.child_name,
                status: p.status,
                open_tasks: p.open_tasks,
            })
            .collect(),
        member_of: member_of
            .into_iter()
            .map(|m| Membership {
                holder: m.holder,
                plan_id: m.plan_id,
                pupil: m.pupil_name,
            })
            .collect(),
    }))
}

/// The whole plan this party holds (the reading is audited).
#[utoipa::path(get, path = "/api/v1/cases/{id}", operation_id = "getCasePlan", tag = "care",
    params(("id" = String, Path, description = "plan id")),
    responses(
        (status = 200, body = CasePlan),
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
) -> ApiResult<Json<CasePlan>> {
    let p = plan::show(&state.inner.store, &actor, &id).await?;
    Ok(Json(CasePlan {
        id: p.id,
        holder: p.header.holder,
        version: p.version,
        pupil: Some(p.pupil.name),
        status: p.header.status,
        coordinator: p.header.coordinator,
        reports_back: p.header.reports_back,
        evaluation_on: p.header.evaluation_on,
        members: p.header.members.into_iter().map(member_of).collect(),
        goals: p.goals.into_iter().map(goal).collect(),
        tasks: p.tasks.into_iter().map(task).collect(),
        events: p.events.into_iter().map(event).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct StepRequest {
    /// accept, reject, start, hold, resume, complete, fail or cancel.
    step: String,
    /// The task version the step was decided on.
    version: u32,
    /// Needed for reject, hold, fail and cancel; a note otherwise.
    #[serde(default)]
    reason: String,
}

/// A step on a task by the holder: its own tasks, or cancelling any.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks/{task}", operation_id = "stepCaseTask", tag = "care", request_body = StepRequest,
    params(("id" = String, Path, description = "plan id"), ("task" = String, Path, description = "task id")),
    responses(
        (status = 200, body = Task),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn step(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, task_id)): Path<(String, String)>,
    Body(body): Body<StepRequest>,
) -> ApiResult<Json<Task>> {
    let t = plan::step(
        &state.inner.store,
        &actor,
        &id,
        &task_id,
        &body.step,
        body.version,
        &body.reason,
    )
    .await?;
    Ok(Json(task(t)))
}

/// This member's latest view of a plan held by `holder`: only the sections
/// its consent covers (the reading is audited).
#[utoipa::path(get, path = "/api/v1/memberships/{holder}/{id}", operation_id = "getMembershipView", tag = "care",
    params(("holder" = String, Path, description = "the party holding the plan"), ("id" = String, Path, description = "plan id")),
    responses(
        (status = 200, body = CasePlan),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn view(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((holder, id)): Path<(String, String)>,
) -> ApiResult<Json<CasePlan>> {
    let v = member::show(&state.inner.store, &actor, &holder, &id).await?;
    let header = v.header.unwrap_or_default();
    Ok(Json(CasePlan {
        id: v.plan_id,
        holder: v.holder,
        version: v.version,
        pupil: v.pupil.map(|p| p.name),
        status: header.status,
        coordinator: header.coordinator,
        reports_back: header.reports_back,
        evaluation_on: header.evaluation_on,
        members: header.members.into_iter().map(member_of).collect(),
        goals: v.goals.into_iter().map(goal).collect(),
        tasks: v.tasks.into_iter().map(task).collect(),
        events: v.events.into_iter().map(event).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Reported {
    message_id: String,
}

/// This member reports a step on its own task to the holder (through the
/// exchange; the holder applies it and sends a new view).
#[utoipa::path(post, path = "/api/v1/memberships/{holder}/{id}/tasks/{task}", operation_id = "reportMembershipTask", tag = "care", request_body = StepRequest,
    params(("holder" = String, Path, description = "the party holding the plan"), ("id" = String, Path, description = "plan id"), ("task" = String, Path, description = "task id")),
    responses(
        (status = 202, body = Reported),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((holder, id, task_id)): Path<(String, String, String)>,
    Body(body): Body<StepRequest>,
) -> ApiResult<(StatusCode, Json<Reported>)> {
    let message_id = member::report(
        &state.inner.store,
        &actor,
        &holder,
        &id,
        &task_id,
        &body.step,
        body.version,
        &body.reason,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(Reported { message_id })))
}

// ---- Changing a plan after its first meeting (as `/plannen/{id}/bijstellen`).
//
// Each change is decided on the plan version the caller read (`version`, from
// `GET /api/v1/cases/{id}`): a plan changed meanwhile is a 409 and nothing is
// written. Each change is a new version, sent to the members.

impl From<Goal> for v1::CaseGoal {
    fn from(g: Goal) -> Self {
        v1::CaseGoal {
            text: g.text,
            measure: g.measure,
            target_on: g.target_on,
            category: g.category,
            ..Default::default()
        }
    }
}

impl From<Action> for v1::CaseAction {
    fn from(a: Action) -> Self {
        v1::CaseAction {
            owner: a.owner,
            what: a.what,
            goal: a.goal,
            due_on: a.due_on,
            category: a.category,
            person: a.person,
        }
    }
}

impl From<Member> for v1::CaseMember {
    fn from(m: Member) -> Self {
        v1::CaseMember {
            party: m.party,
            role: m.role,
            person: m.person,
            consent_record: m.consent_record,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
            ..Default::default()
        }
    }
}

/// The refusal of a person this party's staff directory does not know.
fn unknown_person(field: String) -> crate::Error {
    carenet_fabric::Error::invalid(
        field,
        "not a member of staff in this party's directory: pick one it lists",
    )
    .coded(carenet_fabric::Reason::UnknownPerson)
    .into()
}

/// `actions` with each person named on this party's own action resolved
/// in the staff directory, as the pages do: an unknown one is a 400 naming
/// `actions[i].person`. (A member party's person is its own staff id; this
/// directory does not know them, the slice checks its form.)
pub(crate) async fn named(
    state: &AppState,
    mut actions: Vec<v1::CaseAction>,
) -> Result<Vec<v1::CaseAction>, crate::api::Failure> {
    for (i, a) in actions.iter_mut().enumerate() {
        if a.person.is_empty() || a.owner != state.inner.party.as_str() {
            continue;
        }
        a.person =
            crate::caseplan::my_actions::resolve_person(state, "person", &a.owner, &a.person)
                .await?
                .map_err(|_| unknown_person(format!("actions[{i}].person")))?;
    }
    Ok(actions)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChangeRequest {
    /// The plan version the change was decided on.
    version: u64,
    /// A change id the client chooses (a UUID): the same request sent again
    /// changes nothing a second time (409).
    #[serde(default)]
    id: String,
    #[serde(default)]
    goals: Vec<Goal>,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    members: Vec<Member>,
}

/// Adds goals, actions and members to an open plan this party holds.
#[utoipa::path(post, path = "/api/v1/cases/{id}/changes", operation_id = "addToCasePlan", tag = "care", request_body = ChangeRequest,
    params(("id" = String, Path, description = "plan id")),
    responses(
        (status = 204, description = "added; the members receive the new version"),
        (status = 400, description = "input that cannot be read, or refused: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the plan is closed, or changed since `version`", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn change(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<ChangeRequest>,
) -> ApiResult<StatusCode> {
    carenet_caseplan::change::add(
        &state.inner.store,
        &actor,
        &id,
        body.version,
        &body.id,
        carenet_caseplan::change::Addition {
            goals: body.goals.into_iter().map(Into::into).collect(),
            actions: named(&state, body.actions.into_iter().map(Into::into).collect()).await?,
            members: body.members.into_iter().map(Into::into).collect(),
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct GoalChange {
    /// The plan version the change was decided on.
    version: u64,
    /// `open` changes the goal's text, measure and target date; `achieved`
    /// or `dropped` ends it with `reason`.
    #[serde(default = "open")]
    status: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    measure: String,
    /// YYYY-MM-DD.
    #[serde(default)]
    target_on: String,
    #[serde(default)]
    reason: String,
}

fn open() -> String {
    "open".to_owned()
}

/// Changes an open goal, or ends it as achieved or dropped.
#[utoipa::path(post, path = "/api/v1/cases/{id}/goals/{goal}", operation_id = "changeCaseGoal", tag = "care", request_body = GoalChange,
    params(("id" = String, Path, description = "plan id"), ("goal" = String, Path, description = "goal id")),
    responses(
        (status = 204, description = "changed; the members receive the new version"),
        (status = 400, description = "input that cannot be read, or refused: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the plan or goal is closed, or changed since `version`", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn change_goal(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, goal_id)): Path<(String, String)>,
    Body(body): Body<GoalChange>,
) -> ApiResult<StatusCode> {
    let store = &state.inner.store;
    if body.status == "open" {
        carenet_caseplan::change::edit_goal(
            store,
            &actor,
            &id,
            body.version,
            &goal_id,
            &body.text,
            &body.measure,
            &body.target_on,
        )
        .await?;
    } else {
        carenet_caseplan::change::end_goal(
            store,
            &actor,
            &id,
            body.version,
            &goal_id,
            &body.status,
            &body.reason,
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ActionChange {
    /// The plan version the change was decided on.
    version: u64,
    what: String,
    /// YYYY-MM-DD.
    due_on: String,
    /// The staff id of the person at the owner who does it; empty names
    /// no one.
    #[serde(default)]
    person: String,
}

/// Changes what an open action is and when it is due (the coordinator
/// cancels one with a step: `POST /api/v1/cases/{id}/tasks/{task}`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks/{task}/change", operation_id = "changeCaseAction", tag = "care", request_body = ActionChange,
    params(("id" = String, Path, description = "plan id"), ("task" = String, Path, description = "task id")),
    responses(
        (status = 204, description = "changed; the members receive the new version"),
        (status = 400, description = "input that cannot be read, or refused: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the plan or action is closed, or changed since `version`", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn change_action(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, task_id)): Path<(String, String)>,
    Body(body): Body<ActionChange>,
) -> ApiResult<StatusCode> {
    // Only this party's own people can be named from here (as on the page).
    let own = state.inner.party.as_str();
    let person = crate::caseplan::my_actions::resolve_person(&state, "person", own, &body.person)
        .await?
        .map_err(|_| unknown_person("person".to_owned()))?;
    carenet_caseplan::change::edit_task(
        &state.inner.store,
        &actor,
        &id,
        body.version,
        &task_id,
        &body.what,
        &body.due_on,
        &person,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct MemberEnd {
    /// The plan version the change was decided on.
    version: u64,
    reason: String,
}

/// Ends a member's participation; its open actions are cancelled and it
/// gets no further versions.
#[utoipa::path(post, path = "/api/v1/cases/{id}/members/{party}/end", operation_id = "endCaseMember", tag = "care", request_body = MemberEnd,
    params(("id" = String, Path, description = "plan id"), ("party" = String, Path, description = "the member party's id")),
    responses(
        (status = 204, description = "ended"),
        (status = 400, description = "input that cannot be read, or refused: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the plan is closed, or changed since `version`", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn end_member(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, party)): Path<(String, String)>,
    Body(body): Body<MemberEnd>,
) -> ApiResult<StatusCode> {
    carenet_caseplan::change::end_member(
        &state.inner.store,
        &actor,
        &id,
        body.version,
        &party,
        &body.reason,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct EvaluationRequest {
    /// An evaluation id the client chooses (a UUID): the same request sent
    /// again records one evaluation.
    #[serde(default)]
    id: String,
    /// YYYY-MM-DD.
    held_on: String,
    text: String,
    /// `continue`, `adjust` or `close` (closes the plan).
    outcome: String,
    /// The next evaluation date (YYYY-MM-DD), unless it closes the plan.
    #[serde(default)]
    next_on: String,
}

/// Records an evaluation of an open plan this party holds.
#[utoipa::path(post, path = "/api/v1/cases/{id}/evaluations", operation_id = "evaluateCasePlan", tag = "care", request_body = EvaluationRequest,
    params(("id" = String, Path, description = "plan id")),
    responses(
        (status = 204, description = "recorded"),
        (status = 400, description = "input that cannot be read, or refused: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the plan is closed", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn evaluate(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<EvaluationRequest>,
) -> ApiResult<StatusCode> {
    plan::evaluate(
        &state.inner.store,
        &actor,
        &id,
        &plan::Evaluation {
            id: body.id,
            held_on: body.held_on,
            text: body.text,
            outcome: body.outcome,
            next_on: body.next_on,
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
