//! The demo sign-in of `carenet demo`: pick a demo person instead of signing
//! in at a provider. Only [`crate::build_demo`] turns it on (no setting of
//! `carenet gateway` does), it serves loopback only, and every page says
//! DEMO. The session it makes is the same as a real login's (kept in the
//! node's database, never re-checked: there is no provider), so every page
//! and every rule behind it is the real one.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_fabric::clock::now_ms;
use serde::Deserialize;

use crate::form::Form;
use crate::pages::render;
use crate::session::{GUARDIAN_COOKIE, SESSION_COOKIE, start};
use crate::sessions::{self, Kind, Tokens};
use crate::{AppState, Error, Login};

/// Someone to sign in as in the demo.
#[derive(Clone, Debug)]
pub struct Persona {
    /// How the sign-in page names them (a role and a school, or "ouder van …").
    pub label: String,
    pub who: Who,
}

#[derive(Clone, Debug)]
pub enum Who {
    /// A staff member: staff id, the name the pages show, role names.
    Staff {
        staff: String,
        name: String,
        roles: Vec<String>,
    },
    /// A guardian: the subject a login broker would give, and a name.
    Guardian { subject: String, name: String },
}

/// The issuer the demo's guardians are pseudonymised under.
pub const DEMO_ISSUER: &str = "carenet-demo";

#[derive(Template)]
#[template(path = "demo_login.html")]
struct DemoPage {
    /// (index, label)
    people: Vec<(usize, String)>,
    guardians: bool,
}

/// The demo sign-in page: staff (or, for the parent portal, guardians).
pub(crate) fn page(personas: &[Persona], guardians: bool) -> Response {
    let people = personas
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.who, Who::Guardian { .. }) == guardians)
        .map(|(i, p)| (i, p.label.clone()))
        .collect();
    render(&DemoPage { people, guardians })
}

#[derive(Deserialize)]
pub(crate) struct PickForm {
    persona: usize,
}

/// `POST /demo/inloggen`: starts the session of the picked person.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<PickForm>,
) -> Result<Response, Error> {
    let Login::Demo(personas) = &state.inner.login else {
        return Err(Error::NotFound);
    };
    // No session yet to hold a token: the form must come from this site.
    crate::session::check_origin(&headers, &state.inner.config.public_url)?;
    let persona = personas
        .get(form.persona)
        .ok_or_else(|| Error::invalid("persona", "not one of the demo's people"))?;
    let config = &state.inner.config;
    let expires_at_ms = now_ms() + config.session_minutes * 60_000;
    let none = Tokens::default();
    let (jar, to) = match &persona.who {
        Who::Staff { staff, roles, .. } => {
            let (id, _) = sessions::create(
                &state.inner.store.db,
                &sessions::New {
                    kind: Kind::Staff,
                    subject: staff,
                    roles,
                    name: "",
                    tokens: &none,
                    expires_at_ms,
                },
            )
            .await?;
            (start(jar, SESSION_COOKIE, id, config.secure_cookies), "/")
        }
        Who::Guardian { subject, name } => {
            let guardian = carenet_consent::portal::Guardian::from_login(
                state.inner.party.clone(),
                &state.inner.signing,
                DEMO_ISSUER,
                subject,
                name,
            );
            let (id, _) = sessions::create(
                &state.inner.store.db,
                &sessions::New {
                    kind: Kind::Guardian,
                    subject: &guardian.id,
                    roles: &[],
                    name: &guardian.name,
                    tokens: &none,
                    expires_at_ms,
                },
            )
            .await?;
            (
                start(jar, GUARDIAN_COOKIE, id, config.secure_cookies),
                "/ouders",
            )
        }
    };
    tracing::info!(party = %state.inner.party, "demo sign-in");
    Ok((jar, Redirect::to(to)).into_response())
}
