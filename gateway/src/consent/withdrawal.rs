//! The confirmation before staff record a withdrawal of consent the
//! guardians (or the pupil) gave at school: one page that says in plain
//! Dutch what follows (who loses the data, what the receiving school and
//! its mentor see, what the parents see), with the form that records it.
//! The withdrawal itself is [`crate::consent::pages::withdraw`].

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use carenet_consent::Purpose;
use carenet_consent::record::{ConsentStore, basis_reference};
use carenet_proto::v1;

use crate::href::filters;
use crate::pages::render;
use crate::session::Staff;
use crate::{AppState, Error, labels};

#[derive(Template)]
#[template(path = "withdraw_confirm.html")]
struct ConfirmPage {
    csrf: String,
    record: String,
    purpose: &'static str,
    /// Whom the consent names, in words.
    recipients: String,
    /// The parties that received data under it, by name.
    holders: Vec<String>,
    /// Whether it is the consent a transfer dossier travelled under.
    transfer: bool,
    /// Today (dd-mm-jjjj): the date the receivers will show.
    today: String,
    /// The name typed, when a refused form comes back.
    typed_name: String,
    refused: crate::reasons::Refusal,
}

/// `GET /toestemming/{record}/intrekken`: what withdrawing this consent
/// does, and the form that does it. Only a granted consent is withdrawn.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    staff: Staff,
    Path(record): Path<String>,
) -> Result<Response, Error> {
    let page = confirm_page(
        &state,
        &staff,
        &record,
        String::new(),
        crate::reasons::Refusal::none(),
    )
    .await?;
    Ok(render(&page))
}

/// A refused withdrawal: the same page again, with the name typed, the
/// field marked and what to do in Dutch.
pub(crate) async fn refused(
    state: &AppState,
    staff: &Staff,
    record: &str,
    typed_name: String,
    err: Error,
) -> Result<Response, Error> {
    let refused =
        crate::reasons::refusal(err)?.at(&[("grantors", "grantor_name"), ("name", "grantor_name")]);
    let page = confirm_page(
        state,
        staff,
        record,
        typed_name,
        crate::reasons::Refusal(Some(refused.clone())),
    )
    .await?;
    Ok(refused.respond(render(&page)))
}

async fn confirm_page(
    state: &AppState,
    staff: &Staff,
    record: &str,
    typed_name: String,
    refused: crate::reasons::Refusal,
) -> Result<ConfirmPage, Error> {
    let store = &state.inner.store;
    let history = ConsentStore::new(store.clone())
        .show(&staff.actor, record)
        .await?;
    let Some(latest) = history.last() else {
        return Err(Error::NotFound);
    };
    if latest.status() != v1::ConsentStatus::Granted {
        return Err(Error::invalid(
            "record",
            "only a granted consent can be withdrawn",
        ));
    }
    let mut holders: Vec<String> =
        carenet_fabric::audit::released_under(&store.db, &basis_reference(record))
            .await?
            .into_iter()
            .map(|(_, party)| labels::party_name(state, &party))
            .collect();
    holders.sort();
    holders.dedup();
    let v = &latest.version;
    Ok(ConfirmPage {
        csrf: staff.session.csrf.clone(),
        record: v.record_id.clone(),
        purpose: labels::purpose_code(&v.purpose),
        recipients: labels::recipients(state, &v.recipients, |id| id.to_owned()),
        holders,
        transfer: v.purpose == Purpose::TransferDossier.as_str(),
        today: crate::pages::date_of(carenet_fabric::clock::now_ms()),
        typed_name,
        refused,
    })
}
