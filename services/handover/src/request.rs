//! OSO's request side: after enrolment the receiving school asks the school a
//! pupil came from for the pupil's transfer dossier (ADR 0005, ADR 0003).
//!
//! The caller names the pupil as OSO does, by BSN (or onderwijsnummer) and
//! date of birth. The request side is no weaker than the push side, where the
//! IB chooses the school:
//! - the dossier is found through its pupil tag ([`crate::lookup`]), a keyed
//!   hash of both fields, never by decoding every dossier;
//! - only the school the pupil goes to (the dossier's destination, recorded
//!   by the IB, [`crate::destination`]) is answered for what it is: a ready
//!   dossier is released to it at once on the route's basis, or it is told
//!   the dossier is pending or already sent;
//! - any other request gets one answer, `RECORDED`, whether the school holds
//!   no dossier for the pupil, one not ready, one already sent, or one for
//!   another school: the answer tells the caller nothing about the child.
//!   A request that matched a dossier becomes an item on the IB's work list
//!   ("dossier gevraagd door ..."), released only when the IB confirms that
//!   school;
//! - each calling party gets at most `handover.request_limit_per_hour`
//!   requests a clock hour; every request is audited with the caller, the
//!   first refusal of an hour too (and logged as a warning), so a flood of
//!   guesses is bounded and visible to the operator.

use carenet_fabric::PartyId;
use carenet_fabric::actor::SYSTEM_STAFF;
use carenet_fabric::audit::{self, Entry};
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::{Directory, PartyEntry};
use carenet_fabric::store::Store;
use carenet_fabric::tls::NodeTls;
use carenet_fabric::{Actor, audited};
use carenet_proto::v1::{self, DossierRequestOutcome as Outcome};

use crate::dossier::{self, DOSSIER_TYPE, DossierState};
use crate::{Error, Result, lookup, roles};

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

/// A clock hour, the window of the rate limit.
const WINDOW_MS: i64 = 3_600_000;

/// Counts `peer`'s request in the current hour's window; past `limit`, it
/// is refused. The first refusal of a window is audited and logged, the
/// others counted beside it (`handover_request_quota.refused`).
async fn admit(store: &Store, peer: &str, limit: u32, now: i64) -> Result<()> {
    let window = now - now.rem_euclid(WINDOW_MS);
    let (admitted, refused) = audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO handover_request_quota (peer, window_start_ms, answered, refused) VALUES ($1, $2, 0, 0) \
             ON CONFLICT (peer) DO NOTHING",
        )
        .bind(peer)
        .bind(window)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE handover_request_quota SET window_start_ms = $2, answered = 0, refused = 0 \
             WHERE peer = $1 AND window_start_ms < $2",
        )
        .bind(peer)
        .bind(window)
        .execute(&mut *tx)
        .await?;
        let admitted = sqlx::query(
            "UPDATE handover_request_quota SET answered = answered + 1 WHERE peer = $1 AND answered < $2",
        )
        .bind(peer)
        .bind(i64::from(limit))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if admitted {
            ((true, 0), Vec::new())
        } else {
            let (refused,): (i64,) = sqlx::query_as(
                "UPDATE handover_request_quota SET refused = refused + 1 WHERE peer = $1 RETURNING refused",
            )
            .bind(peer)
            .fetch_one(&mut *tx)
            .await?;
            let entries = if refused == 1 {
                vec![Entry {
                    actor: SYSTEM_STAFF.to_owned(),
                    action: "dossier_requests_limited".into(),
                    counterparty: peer.to_owned(),
                    purpose: "transfer_dossier".into(),
                    legal_basis: format!("limit:{limit}/h"),
                    ..Entry::default()
                }]
            } else {
                Vec::new()
            };
            ((false, refused), entries)
        }
    });
    if admitted {
        return Ok(());
    }
    if refused == 1 {
        tracing::warn!(
            peer,
            limit,
            "dossier requests over the hourly limit; refusing until the hour ends"
        );
    }
    Err(Error::Fabric(carenet_fabric::Error::ResourceExhausted(
        format!("dossier requests: at most {limit} an hour"),
    )))
}

/// What a request matched, as the audit log says it (the caller is told
/// only the [`Outcome`]).
fn audit_action(outcome: Outcome, waiting: bool, matched: bool) -> &'static str {
    match (outcome, waiting, matched) {
        (Outcome::Queued, _, _) => "dossier_requested:queued",
        (Outcome::AlreadySent, _, _) => "dossier_requested:already_sent",
        (Outcome::Pending, _, _) => "dossier_requested:pending",
        (_, true, _) => "dossier_requested:waiting_for_ib",
        (_, false, true) => "dossier_requested:not_for_caller",
        (_, false, false) => "dossier_requested:unmatched",
    }
}

/// Answers `caller`'s request (at most `limit_per_hour` of theirs a clock
/// hour); returns the outcome and the queued message ids.
pub async fn answer(
    store: &Store,
    directory: &Directory,
    caller: &PartyEntry,
    limit_per_hour: u32,
    pupil_number: &str,
    birth_date: &str,
) -> Result<(Outcome, Vec<String>)> {
    admit(store, caller.id.as_str(), limit_per_hour, now_ms()).await?;
    check(pupil_number, birth_date)?;
    let key = lookup::key(store).await?;
    let tag = lookup::tag(&key, pupil_number, birth_date);
    let found = lookup::find(store, &key, &tag, caller.kind).await?;
    let mut waiting = false;
    let (outcome, ids, subject) = match &found {
        None => (Outcome::Recorded, Vec::new(), String::new()),
        Some(m) if m.destination.as_deref() == Some(caller.id.as_str()) => {
            let d = dossier::get(store, &m.id).await?;
            let sent = store.sent_versions(DOSSIER_TYPE, &d.id).await?;
            let has_it = sent
                .iter()
                .any(|s| s.recipient == caller.id.as_str() && s.version == d.version);
            // The IB named this school: a dossier set ready (or sent
            // elsewhere before the IB changed its destination) goes to it at
            // once on the inspection basis; a route that also needs consent
            // waits for the IB to publish it with the consent record.
            let releasable = matches!(d.state, DossierState::Ready | DossierState::Published)
                && d.route.from_primary()
                && d.inspection_id.is_some();
            if has_it {
                (Outcome::AlreadySent, Vec::new(), d.id)
            } else if releasable {
                let to = [PartyId::parse("caller", caller.id.as_str())?];
                let by = format!("{SYSTEM_STAFF}[request:{}]", caller.id);
                let ids = dossier::release(store, directory, &by, &d.id, &to, None, None).await?;
                (Outcome::Queued, ids, d.id)
            } else {
                (Outcome::Pending, Vec::new(), d.id)
            }
        }
        Some(m) => {
            waiting = crate::destination::note_request(store, &m.id, caller.id.as_str()).await?;
            (Outcome::Recorded, Vec::new(), m.id.clone())
        }
    };
    let entry = Entry {
        actor: SYSTEM_STAFF.to_owned(),
        action: audit_action(outcome, waiting, found.is_some()).into(),
        message_id: subject,
        counterparty: caller.id.to_string(),
        purpose: "transfer_dossier".into(),
        ..Entry::default()
    };
    audit::append(&store.db, std::slice::from_ref(&entry)).await?;
    Ok((outcome, ids))
}
