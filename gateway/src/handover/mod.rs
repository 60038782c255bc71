//! The web side of the transfer dossiers (`carenet-handover`): the season
//! view, one outgoing dossier (before the guardians, inzage, publish, its
//! destination), OSO import, received dossiers and their digest, the
//! requests of other schools, the warm handover and the feedback between
//! schools; the pages, the JSON API and the templates (`templates/`).

pub(crate) mod api;
pub(crate) mod dossier_content;
pub(crate) mod dossiers;
pub(crate) mod import;
pub(crate) mod requests;
pub(crate) mod warm;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::AppState;

/// The slice's pages and API routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dossiers", get(dossiers::season_view))
        .route(
            "/dossiers/importeren",
            get(import::form).post(import::upload),
        )
        .route("/dossiers/importeren/{job}", get(import::progress))
        .route("/dossiers/{id}", get(dossiers::show))
        .route("/dossiers/{id}/voorleggen", post(dossiers::submit))
        .route("/dossiers/{id}/aanvullen", post(dossiers::extras))
        .route("/dossiers/{id}/inzage", post(dossiers::inspection))
        .route("/dossiers/{id}/versturen", post(dossiers::publish))
        .route("/dossiers/{id}/bestemming", post(requests::set_destination))
        .route("/verzoeken/{id}/bevestigen", post(requests::confirm))
        .route("/verzoeken/{id}/afwijzen", post(requests::decline))
        .route("/dossiers/{id}/warme-overdracht", post(warm::plan))
        .route("/warme-overdracht/{id}", get(warm::show))
        .route("/warme-overdracht/{id}/vastleggen", post(warm::hold))
        .route("/warme-overdracht/{id}/delen", post(warm::share))
        .route("/ontvangen/{id}", get(dossiers::received))
        .route("/ontvangen/{id}/bijlagen/{n}", get(dossiers::attachment))
        .route("/ontvangen/{id}/oso", post(dossiers::export))
        .route("/ontvangen/{id}/toewijzen", post(dossiers::assign))
        .route("/ontvangen/{id}/terugkoppeling", post(warm::feedback))
        .route(
            "/ontvangen/{id}/warme-overdracht",
            post(warm::plan_received),
        )
        .route(
            "/ontvangen/{id}/samenvatting",
            get(dossiers::digest).post(dossiers::open_digest),
        )
        .route("/mijn-leerlingen", get(dossiers::mine))
        .route("/api/v1/season", get(api::season_view))
        .route("/api/v1/dossiers", post(api::import))
        .route("/api/v1/dossiers/{id}", get(api::show))
        .route("/api/v1/dossiers/{id}/submit", post(api::submit))
        .route("/api/v1/dossiers/{id}/publish", post(api::publish))
        .route("/api/v1/received", get(api::received::list))
        .route("/api/v1/received/{id}", get(api::received::show))
        .route("/api/v1/received/{id}/oso", get(api::received::export))
        .route(
            "/api/v1/received/{id}/attachments/{n}",
            get(api::received::attachment),
        )
        .route("/api/v1/received/{id}/assign", post(api::assign))
        .route("/api/v1/received/{id}/feedback", post(api::warm::feedback))
        .route(
            "/api/v1/dossiers/{id}/warm-handovers",
            post(api::warm::plan),
        )
        .route("/api/v1/warm-handovers/{id}", get(api::warm::show))
        .route("/api/v1/warm-handovers/{id}/record", post(api::warm::hold))
        .route("/api/v1/warm-handovers/{id}/share", post(api::warm::share))
}

/// The slice's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(
    api::season_view,
    api::import,
    api::show,
    api::submit,
    api::publish,
    api::assign,
    api::warm::plan,
    api::warm::show,
    api::warm::hold,
    api::warm::share,
    api::warm::feedback,
    api::received::list,
    api::received::show,
    api::received::attachment,
    api::received::export
))]
pub(crate) struct Api;
