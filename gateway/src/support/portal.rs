//! The support requests on the parent portal (`/ouders/kind/{n}/…`): the
//! guardians (or the pupil of 16 and older) read the requests the school
//! made about the child, the trajectbegeleider the SWV named, the decision
//! with its reasons and how to object; on a draft they give their view
//! (zienswijze), which the school cannot submit without. Plain Dutch,
//! "u" for a guardian and "je" for the pupil.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use carenet_consent::portal::Linked;
use carenet_support::model::{Outcome, State as RequestState};
use carenet_support::request::Request;
use serde::Deserialize;

use super::filters;
use super::words;
use crate::form::Form;
use crate::pages::render;
use crate::session::Parent;
use crate::{AppState, Error, labels};

/// One request as the child's portal page lists it: (href, what, state).
pub(crate) type Line = (String, &'static str, &'static str);

/// What the parents read of a request's state.
fn state_for_parent(s: RequestState) -> &'static str {
    match s {
        RequestState::Draft => "de school bereidt de aanvraag voor; uw zienswijze is welkom",
        RequestState::Submitted | RequestState::Answered => {
            "ingediend bij het samenwerkingsverband"
        }
        RequestState::Returned => "het samenwerkingsverband heeft een vraag aan de school",
        RequestState::InIntake | RequestState::MdoPlanned | RequestState::MdoHeld => {
            "in behandeling bij het samenwerkingsverband"
        }
        RequestState::Advised => "de deskundigen hebben geadviseerd; het besluit volgt",
        RequestState::Decided => "er is een besluit",
        RequestState::Objected => "er is bezwaar gemaakt",
        RequestState::ObjectionDecided => "er is beslist op het bezwaar",
        RequestState::Withdrawn => "ingetrokken door de school",
    }
}

/// The child's requests for the portal's child page `n`; none where the
/// pupil decides (the slice refuses, audited).
pub(crate) async fn lines(state: &AppState, link: &Linked, n: usize) -> Result<Vec<Line>, Error> {
    let requests = match carenet_support::portal::for_guardian(&state.inner.store, link).await {
        Ok(r) => r,
        Err(carenet_fabric::Error::PermissionDenied(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    Ok(requests
        .iter()
        .map(|r| {
            (
                format!(
                    "/ouders/kind/{n}/ondersteuning/{}",
                    crate::href::segment(&r.id)
                ),
                words::kind(r.kind),
                state_for_parent(r.state),
            )
        })
        .collect())
}

#[derive(Template)]
#[template(path = "portal_support.html")]
struct RequestPage {
    csrf: String,
    n: usize,
    id: String,
    pupil: bool,
    r: Request,
    kind: &'static str,
    state: &'static str,
    swv: String,
    /// (label, value) of the decision.
    decision: Vec<(&'static str, String)>,
    granted: bool,
    may_give_view: bool,
}

async fn link_of(state: &AppState, parent: &Parent, n: usize) -> Result<Linked, Error> {
    let store = &state.inner.store;
    let links = carenet_consent::portal::links(store, &parent.guardian).await?;
    let link = n
        .checked_sub(1)
        .and_then(|i| links.get(i))
        .ok_or(Error::NotFound)?;
    Ok(carenet_consent::portal::linked(store, &parent.guardian, &link.child_ref).await?)
}

/// `GET /ouders/kind/{n}/ondersteuning/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    parent: Parent,
    Path((n, id)): Path<(usize, String)>,
) -> Result<Response, Error> {
    let link = link_of(&state, &parent, n).await?;
    let r = carenet_support::portal::one_for_guardian(&state.inner.store, &link, &id).await?;
    let mut decision = Vec::new();
    let mut granted = false;
    if let Some(d) = &r.decision {
        granted = d.decision.outcome == Outcome::Granted;
        decision.push(("Besluit", words::outcome(d.decision.outcome).to_owned()));
        decision.push(("Datum", labels::date_text(&d.decided_on)));
        if !d.decision.starts_on.is_empty() {
            decision.push((
                "Geldig",
                format!(
                    "van {} tot en met {}",
                    labels::date_text(&d.decision.starts_on),
                    labels::date_text(&d.decision.ends_on)
                ),
            ));
        }
        if let Some(t) = d.decision.school_type {
            decision.push(("Schooltype", words::school_type(t).to_owned()));
        }
        if let Some(c) = d.decision.category {
            decision.push(("Categorie", words::category(c).to_owned()));
        }
        decision.push(("Waarom", d.decision.reasons.clone()));
    }
    Ok(render(&RequestPage {
        csrf: parent.session.csrf.clone(),
        n,
        id: r.id.clone(),
        pupil: link.is_pupil(),
        kind: words::kind(r.kind),
        state: state_for_parent(r.state),
        swv: labels::party_name(&state, &r.swv),
        decision,
        granted,
        may_give_view: r.state == RequestState::Draft,
        r,
    }))
}

#[derive(Deserialize)]
pub(crate) struct ViewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    zienswijze: String,
}

/// `POST /ouders/kind/{n}/ondersteuning/{id}/zienswijze`.
pub(crate) async fn give_view(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
    Path((n, id)): Path<(usize, String)>,
    Form(form): Form<ViewForm>,
) -> Result<Response, Error> {
    parent.check(&form.csrf, &headers, &state)?;
    let link = link_of(&state, &parent, n).await?;
    carenet_support::portal::give_view(&state.inner.store, &link, &id, &form.zienswijze).await?;
    Ok(Redirect::to(&format!(
        "/ouders/kind/{n}/ondersteuning/{}",
        crate::href::segment(&id)
    ))
    .into_response())
}
