//! The web side of the SWV's support requests (`carenet-support`, ADR
//! 0010): at a school, the IB or zorgcoördinator drafts a request from the
//! pupil's IZO registration or ZAT case, with the history the school's own
//! records hold, and submits it; at the SWV, the loket and the
//! trajectbegeleider take it through the intake, the MDO, the expert
//! advices and the decision. One path serves both sides
//! (`/ondersteuning`): what a page offers follows the party's kind and the
//! person's roles. The pages and the templates (`templates/`).

pub(crate) mod history;
pub(crate) mod loket;
pub(crate) mod overview;
pub(crate) mod portal;
pub(crate) mod school;
pub(crate) mod words;

/// The filters of the slice's templates: ids in links, dates in Dutch.
pub(crate) mod filters {
    pub(crate) use crate::href::filters::seg;

    /// A stored date (YYYY-MM-DD) as the pages show dates: dd-mm-jjjj.
    pub(crate) fn date_nl(
        date: impl std::fmt::Display,
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        Ok(crate::labels::date_text(&date.to_string()))
    }
}

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// The slice's pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ondersteuning", get(school::index))
        .route(
            "/ondersteuning/nieuw",
            get(school::new_form).post(school::create),
        )
        .route("/ondersteuning/overzicht", get(overview::show))
        .route("/ondersteuning/overzicht/{figure}", get(overview::csv))
        .route("/ondersteuning/{id}", get(school::show))
        .route("/ondersteuning/{id}/aanpassen", post(school::update))
        .route("/ondersteuning/{id}/indienen", post(school::submit))
        .route("/ondersteuning/{id}/antwoorden", post(school::answer))
        .route("/ondersteuning/{id}/intrekken", post(school::withdraw))
        .route("/ondersteuning/{id}/vraag", post(loket::question))
        .route("/ondersteuning/{id}/trajectbegeleider", post(loket::assign))
        .route("/ondersteuning/{id}/mdo", post(loket::plan_mdo))
        .route("/ondersteuning/{id}/mdo-verslag", post(loket::hold_mdo))
        .route("/ondersteuning/{id}/advies", post(loket::advice))
        .route("/ondersteuning/{id}/adviezen", post(loket::advise))
        .route("/ondersteuning/{id}/besluit", post(loket::decide))
        .route("/ouders/kind/{n}/ondersteuning/{id}", get(portal::show))
        .route(
            "/ouders/kind/{n}/ondersteuning/{id}/zienswijze",
            post(portal::give_view),
        )
}
