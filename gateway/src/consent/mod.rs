//! The web side of consent (`carenet-consent`): ask for consent, look up a
//! pupil's records and who saw what, record a decision, a signed form or a
//! withdrawal given at school, and the parent portal's links (invite,
//! revoke, renew); the pages, the JSON API and the templates (`templates/`).

pub(crate) mod api;
pub(crate) mod links;
pub(crate) mod pages;
pub(crate) mod withdrawal;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

/// The slice's pages and API routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/toestemming", get(pages::index))
        .route("/toestemming/leerling", post(pages::lookup))
        .route("/toestemming/aanvragen", post(pages::request))
        .route("/ouderportaal", get(links::index))
        .route("/ouderportaal/leerling", post(links::lookup))
        .route("/ouderportaal/uitnodigen", post(links::invite))
        .route(
            "/ouderportaal/koppeling/{id}/beeindigen",
            post(links::revoke),
        )
        .route("/ouderportaal/koppeling/{id}/verlengen", post(links::renew))
        .route(
            "/ouderportaal/uitnodiging/{id}/intrekken",
            post(links::withdraw),
        )
        .route(
            "/toestemming/{record}/intrekken",
            get(withdrawal::confirm).post(pages::withdraw),
        )
        .route("/toestemming/{record}/besluit", post(pages::decide))
        .route("/toestemming/{record}/formulier", post(pages::signed_form))
        .route("/api/v1/consents", post(api::ask))
        .route("/api/v1/consents/search", post(api::search))
        .route("/api/v1/consents/{record}/withdraw", post(api::withdraw))
        .route("/api/v1/guardian-invitations", post(api::links::invite))
        .route(
            "/api/v1/guardian-invitations/{id}/withdraw",
            post(api::links::withdraw),
        )
        .route("/api/v1/guardian-links/search", post(api::links::search))
        .route(
            "/api/v1/guardian-links/{id}/revoke",
            post(api::links::revoke),
        )
        .route("/api/v1/guardian-links/{id}/renew", post(api::links::renew))
}

/// The slice's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    api::ask,
    api::search,
    api::withdraw,
    api::links::invite,
    api::links::search,
    api::links::revoke,
    api::links::renew,
    api::links::withdraw
))]
pub(crate) struct Api;
