//! The web side of the referrals (`carenet-referral`): the internal care
//! team (IZO; at a primary school the leerlingbespreking) and the ZAT the
//! school hosts, with a member's received case files; the pages, the JSON
//! API and the templates (`templates/`).

pub(crate) mod api;
pub(crate) mod izo;
pub(crate) mod zat;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

/// The slice's pages and API routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/izo", get(izo::index))
        .route("/izo/aanmelden", post(izo::register))
        .route("/izo/{id}", get(izo::show))
        .route("/izo/{id}/beoordelen", post(izo::triage))
        .route("/izo/{id}/verslag", post(izo::minutes))
        .route("/izo/{id}/gesprek", post(izo::conversation))
        .route("/izo/{id}/antwoorden", post(izo::answer))
        .route("/zat", get(zat::index))
        .route("/zat/aanmelden", post(zat::refer))
        .route("/zat/ontvangen", get(zat::received))
        .route("/zat/ontvangen/{id}", get(zat::received_file))
        .route("/zat/{id}", get(zat::show))
        .route("/zat/{id}/verspreiden", post(zat::distribute))
        .route("/zat/{id}/overleg", post(zat::meet))
        .route("/api/v1/zat/{id}/meetings", post(api::meet))
        .route("/api/v1/zat/{id}/distribute", post(api::distribute))
        .route("/api/v1/zat/received", get(api::received))
        .route("/api/v1/zat/received/{id}", get(api::received_file))
}

/// The slice's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(api::meet, api::distribute, api::received, api::received_file))]
pub(crate) struct Api;
