//! The web side of one child, one plan (`carenet-caseplan`): the
//! coordinator's plans, their steps, evaluations and changes
//! ("bijstellen"), a member's view from its own node, the filtered work
//! lists, and a named person's own actions ("Mijn acties in plannen"); the
//! pages, the JSON API and the templates (`templates/`).

pub(crate) mod api;
pub(crate) mod my_actions;
pub(crate) mod plan_change;
pub(crate) mod plans;
pub(crate) mod worklist;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

/// The slice's pages and API routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/mijn-acties", get(my_actions::list))
        .route(
            "/mijn-acties/{holder}/{plan}/{task}",
            get(my_actions::show).post(my_actions::step),
        )
        .route("/plannen", get(plans::plans))
        .route("/plannen/{id}", get(plans::show_plan))
        .route("/plannen/{id}/taken/{task}", post(plans::step))
        .route("/plannen/{id}/evaluatie", post(plans::evaluate))
        .route(
            "/plannen/{id}/bijstellen",
            get(plan_change::show).post(plan_change::add),
        )
        .route("/plannen/{id}/doelen/{goal}", post(plan_change::goal))
        .route("/plannen/{id}/acties/{task}", post(plan_change::action))
        .route("/plannen/{id}/leden/{party}", post(plan_change::end_member))
        .route("/deelname/{holder}/{id}", get(plans::show_view))
        .route("/deelname/{holder}/{id}/taken/{task}", post(plans::report))
        .route("/api/v1/cases", get(api::cases))
        .route("/api/v1/cases/{id}", get(api::show))
        .route("/api/v1/cases/{id}/tasks/{task}", post(api::step))
        .route("/api/v1/cases/{id}/changes", post(api::change))
        .route("/api/v1/cases/{id}/goals/{goal}", post(api::change_goal))
        .route(
            "/api/v1/cases/{id}/tasks/{task}/change",
            post(api::change_action),
        )
        .route(
            "/api/v1/cases/{id}/members/{party}/end",
            post(api::end_member),
        )
        .route("/api/v1/cases/{id}/evaluations", post(api::evaluate))
        .route("/api/v1/memberships/{holder}/{id}", get(api::view))
        .route(
            "/api/v1/memberships/{holder}/{id}/tasks/{task}",
            post(api::report),
        )
}

/// The slice's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    api::cases,
    api::show,
    api::step,
    api::view,
    api::report,
    api::change,
    api::change_goal,
    api::change_action,
    api::end_member,
    api::evaluate
))]
pub(crate) struct Api;
