//! OSO's request side: after enrolment the receiving school asks the school a
//! pupil came from for the pupil's transfer dossier (ADR 0005).
//!
//! The caller names the pupil as OSO does, by BSN (or onderwijsnummer) and
//! date of birth; both must match the dossier's `leerling`. A dossier of a
//! route that delivers to the caller's kind of school, set ready by the
//! sending school, is released to the caller at once on the route's basis
//! (inzage; a route that also needs consent waits for the school to publish
//! it). Every request is audited; the answer names no pupil.

use carenet_fabric::Actor;
use carenet_fabric::PartyId;
use carenet_fabric::actor::SYSTEM_STAFF;
use carenet_fabric::audit::{self, Entry};
use carenet_fabric::directory::{Directory, PartyEntry};
use carenet_fabric::store::Store;
use carenet_fabric::tls::NodeTls;
use carenet_proto::v1::{self, DossierRequestOutcome as Outcome};

use crate::dossier::{self, DOSSIER_TYPE, DossierState};
use crate::{Error, Result, oso, roles};

/// Checks the request's fields: nine digits, and a YYYY-MM-DD date.
fn check(pupil_number: &str, birth_date: &str) -> Result<()> {
    if pupil_number.len() != 9 || !pupil_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "pupil_number",
            "a BSN or onderwijsnummer of 9 digits",
        ));
    }
    dossier::parse_date("birth_date", birth_date)?;
    Ok(())
}

/// The receiving school's side: `actor` asks `from` (a school the pupil
/// came from) for the pupil's dossier over mTLS. The ask is audited with the
/// actor; the pupil's number and date of birth go only to `from`.
pub async fn ask(
    store: &Store,
    actor: &Actor,
    tls: &NodeTls,
    directory: &Directory,
    from: &PartyId,
    pupil_number: &str,
    birth_date: &str,
) -> Result<v1::DossierRequestReply> {
    roles::check(store, actor, roles::REQUEST, from.as_str()).await?;
    check(pupil_number, birth_date)?;
    let Some(entry) = directory.get(from.as_str()) else {
        return Err(Error::invalid(
            "from",
            "not a party in the region directory",
        ));
    };
    let channel = carenet_fabric::tls::channel(
        tls,
        from,
        &entry.endpoint,
        Some(entry.spki_sha256),
        std::time::Duration::from_secs(10),
    )?;
    let reply = v1::handover_client::HandoverClient::new(channel)
        .request_dossier(v1::DossierRequest {
            pupil_number: pupil_number.to_owned(),
            birth_date: birth_date.to_owned(),
        })
        .await
        .map_err(carenet_fabric::Error::Remote)?
        .into_inner();
    let entry = Entry {
        counterparty: from.to_string(),
        purpose: "transfer_dossier".into(),
        ..actor.entry("dossier_asked", "")
    };
    audit::append(&store.db, std::slice::from_ref(&entry)).await?;
    Ok(reply)
}

/// Answers `caller`'s request; returns the outcome and the queued message ids.
pub async fn answer(
    store: &Store,
    directory: &Directory,
    caller: &PartyEntry,
    pupil_number: &str,
    birth_date: &str,
) -> Result<(Outcome, Vec<String>)> {
    check(pupil_number, birth_date)?;
    let mut found = None;
    for id in dossier::all(store).await?.into_iter().rev() {
        let d = dossier::get(store, &id).await?;
        if d.route.recipient_kind() != Some(caller.kind) {
            continue;
        }
        let key = oso::pupil_key(&d.dossier.sections);
        if key.as_ref().map(|(n, b)| (n.as_str(), b.as_str())) == Some((pupil_number, birth_date)) {
            found = Some(d);
            break;
        }
    }
    let (outcome, ids, subject) = match found {
        None => (Outcome::NotFound, Vec::new(), String::new()),
        Some(d) => {
            let sent = store.sent_versions(DOSSIER_TYPE, &d.id).await?;
            let has_it = sent
                .iter()
                .any(|s| s.recipient == caller.id.as_str() && s.version == d.version);
            // Only a dossier set ready and not yet sent to any school is
            // released on request; one that went elsewhere waits for the
            // school's care coordinator (the pupil may be at two schools).
            let ready = d.state == DossierState::Ready && sent.is_empty();
            if has_it {
                (Outcome::AlreadySent, Vec::new(), d.id)
            } else if ready && d.route.from_primary() && d.inspection_id.is_some() {
                let to = [PartyId::parse("caller", caller.id.as_str())?];
                let by = format!("{SYSTEM_STAFF}[request:{}]", caller.id);
                let ids = dossier::release(store, directory, &by, &d.id, &to, None).await?;
                (Outcome::Queued, ids, d.id)
            } else {
                (Outcome::Pending, Vec::new(), d.id)
            }
        }
    };
    let entry = Entry {
        actor: SYSTEM_STAFF.to_owned(),
        action: format!(
            "dossier_requested:{}",
            outcome.as_str_name().to_ascii_lowercase()
        ),
        message_id: subject,
        counterparty: caller.id.to_string(),
        purpose: "transfer_dossier".into(),
        ..Entry::default()
    };
    audit::append(&store.db, std::slice::from_ref(&entry)).await?;
    Ok((outcome, ids))
}
