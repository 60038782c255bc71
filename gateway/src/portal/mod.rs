//! The parent portal (`/ouders`), in plain Dutch and phone-first: the
//! guardians' own login, linking a child with the school's one-time code,
//! consent decisions and withdrawals, the transfer dossier to read and
//! answer (zienswijze), and the child's plan; the pages and the templates
//! (`templates/`). It has no JSON API: guardians use the pages.

pub(crate) mod pages;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

/// The portal's pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ouders", get(pages::home))
        .route("/ouders/inloggen", get(pages::login))
        .route("/ouders/auth/callback", get(pages::callback))
        .route("/ouders/uitloggen", post(pages::logout))
        .route("/ouders/koppelen", post(pages::redeem))
        .route("/ouders/meldingen", post(pages::notifications))
        .route("/ouders/kind/{n}", get(pages::child))
        .route("/ouders/kind/{n}/gezien", get(pages::seen))
        .route("/ouders/kind/{n}/plan", get(pages::plan))
        .route("/ouders/toestemming/{record}", post(pages::decide))
        .route(
            "/ouders/toestemming/{record}/intrekken",
            get(pages::confirm_withdrawal),
        )
        .route("/ouders/dossier/{id}", get(pages::read_dossier))
        .route("/ouders/dossier/{id}/zienswijze", post(pages::give_view))
        .route("/ouders/dossier/{id}/bijlagen/{n}", get(pages::attachment))
}
