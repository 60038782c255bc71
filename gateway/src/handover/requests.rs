//! The IB's side of who gets a dossier on request: the school the pupil goes
//! to, recorded on the dossier page from the enrolment, and the requests of
//! other schools on the start page's work list ("Dossier gevraagd door ..."),
//! confirmed or declined there. Schools are shown by their name from the
//! region directory. The handover slice checks the role and audits.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::PrivateCookieJar;
use carenet_fabric::PartyId;
use carenet_handover::destination::{self, Confirmed};
use serde::Deserialize;

use crate::form::Form;
use crate::pages::done;
use crate::session::{CsrfForm, Staff};
use crate::{AppState, Error, labels};

/// A request on the work list, as the start page shows it.
pub(crate) struct RequestRow {
    pub id: String,
    pub school: String,
    pub pupil: String,
    pub href: String,
    pub on: String,
}

/// The requests waiting for this member of staff (only asked of a role that
/// may answer them, so that a page view is no audited refusal).
pub(crate) async fn work_list(
    state: &AppState,
    actor: &carenet_fabric::Actor,
) -> Result<Vec<RequestRow>, Error> {
    let rule = carenet_handover::roles::PUBLISH;
    if actor.may(&state.inner.party, &rule).is_err() {
        return Ok(Vec::new());
    }
    Ok(destination::waiting(&state.inner.store, actor)
        .await?
        .into_iter()
        .map(|w| RequestRow {
            school: labels::party_name(state, &w.requester),
            href: crate::href::path(&["dossiers", &w.dossier_id]),
            on: crate::pages::date_of(w.requested_at_ms),
            pupil: w.pupil,
            id: w.id,
        })
        .collect())
}

fn directory(state: &AppState) -> Result<&carenet_fabric::directory::Directory, Error> {
    state
        .inner
        .store
        .directory()
        .map(|d| d.as_ref())
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))
}

#[derive(Deserialize)]
pub(crate) struct DestinationForm {
    #[serde(default)]
    csrf: String,
    school: String,
}

/// `POST /dossiers/{id}/bestemming`: the school the pupil goes to.
pub(crate) async fn set_destination(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DestinationForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let school = PartyId::parse("school", &form.school)?;
    destination::set(
        &state.inner.store,
        directory(&state)?,
        &staff.actor,
        &id,
        &school,
    )
    .await?;
    let name = labels::party_name(&state, school.as_str());
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["dossiers", &id]),
        &format!("De leerling gaat naar {name}."),
    ))
}

/// `POST /verzoeken/{id}/bevestigen`: the school that asked is the pupil's
/// school; it gets the dossier when it can be released.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(item): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    let row = destination::waiting(store, &staff.actor)
        .await?
        .into_iter()
        .find(|w| w.id == item);
    let outcome =
        destination::confirm(store, directory(&state)?, &staff.actor, &item, None).await?;
    let Some(row) = row else {
        return Ok(done(&state, jar, "/", "Bevestigd."));
    };
    let name = labels::party_name(&state, &row.requester);
    let text = match outcome {
        Confirmed::Released(_) => format!("Bevestigd: het dossier is verstuurd naar {name}."),
        Confirmed::Recorded => format!(
            "Bevestigd: de leerling gaat naar {name}. Het dossier gaat daarheen zodra het klaar is en verstuurd wordt."
        ),
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["dossiers", &row.dossier_id]),
        &text,
    ))
}

/// `POST /verzoeken/{id}/afwijzen`: nothing is released; the school is not told.
pub(crate) async fn decline(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(item): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    destination::decline(&state.inner.store, &staff.actor, &item).await?;
    Ok(done(&state, jar, "/", "Het verzoek is afgewezen."))
}
