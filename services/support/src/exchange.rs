//! How a request travels (ADR 0010 §2): the school's node sends it to the
//! SWV's as a `carenet.support_request` document under the guardians' (or
//! the pupil's) consent for `support_request` (version 1 the submission, a
//! later version the answer to a completeness question); the SWV's node
//! answers with `carenet.support_status` documents under the same consent
//! (its record and the receipt that came with the request). The fabric's
//! release policy checks the consent before either leaves.
//!
//! [`sync`] is the slice's arrival job on both sides: at the SWV it takes
//! in requests and answers ([`crate::request::receive`],
//! [`crate::request::receive_answer`], [`crate::request::receive_withdrawal`]);
//! at the school it applies the
//! statuses ([`crate::request::apply_status`]). Each message is taken in
//! once (`support_in`); one that is refused is logged by its id and field,
//! never its content.

use carenet_consent::Purpose;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Error, PartyId, with_db};
use carenet_proto::v1;
use prost::Message;

use crate::Result;
use crate::check::Decision;
use crate::clock::Clock;
use crate::model::{
    ArrangementLevel, Category, Detail, HistorySource, Kind, Line, Outcome, SchoolType, State,
};
use crate::request::{HistoryItem, Request, Status, StoredDecision};
use crate::slice::{REQUEST_TYPE, STATUS_TYPE, SupportConfig};

fn opt(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The request as it travels.
pub fn to_document(r: &Request) -> v1::SupportRequestDocument {
    v1::SupportRequestDocument {
        id: r.id.clone(),
        school: r.school.clone(),
        swv: r.swv.clone(),
        child_ref: r.child_ref.clone(),
        child_name: r.child_name.clone(),
        child_birth_date: r.child_birth_date.clone(),
        kind: r.kind.as_str().into(),
        level: r
            .detail
            .level
            .map(|l| l.as_str().into())
            .unwrap_or_default(),
        support_asked: r.detail.support_asked.clone(),
        cost_cents: r.detail.cost_cents,
        school_type: r
            .detail
            .school_type
            .map(|t| t.as_str().into())
            .unwrap_or_default(),
        category: r
            .detail
            .category
            .map(|c| c.as_str().into())
            .unwrap_or_default(),
        previous_decision: r.detail.previous_decision.clone(),
        question: r.question.clone(),
        opp_text: r.opp_text.clone(),
        opp_ref: r.opp_ref.clone(),
        guardian_view: r.guardian_view.clone(),
        pupil_voice: r.pupil_voice.clone(),
        voice_reason: r.voice_reason.clone(),
        consent_record: r.consent_record.clone(),
        applied_on: r.applied_on.clone(),
        submitted_on: r.submitted_on.clone(),
        created_by: r.created_by.clone(),
        history: r
            .history
            .iter()
            .map(|h| v1::SupportHistoryItem {
                source: h.source.as_str().into(),
                line: h.line.as_str().into(),
                source_ref: h.source_ref.clone(),
                snapshot: h.snapshot.clone(),
                added_by: h.added_by.clone(),
            })
            .collect(),
        completeness_answer: r.completeness_answer.clone(),
        withdrawn: r.state == State::Withdrawn,
    }
}

/// A received request, read as this slice's; a value that is none of the
/// choices is refused naming its field.
pub fn from_document(d: v1::SupportRequestDocument) -> Result<Request> {
    Ok(Request {
        kind: Kind::choose("kind", &d.kind)?,
        detail: Detail {
            level: opt(&d.level)
                .map(|v| ArrangementLevel::choose("level", v))
                .transpose()?,
            support_asked: d.support_asked,
            cost_cents: d.cost_cents,
            school_type: opt(&d.school_type)
                .map(|v| SchoolType::choose("school_type", v))
                .transpose()?,
            category: opt(&d.category)
                .map(|v| Category::choose("category", v))
                .transpose()?,
            previous_decision: d.previous_decision,
        },
        history: d
            .history
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                Ok(HistoryItem {
                    source: HistorySource::choose(&format!("history[{i}].source"), &h.source)?,
                    line: Line::choose(&format!("history[{i}].line"), &h.line)?,
                    source_ref: h.source_ref,
                    snapshot: h.snapshot,
                    added_by: h.added_by,
                })
            })
            .collect::<Result<_>>()?,
        id: d.id,
        school: d.school,
        swv: d.swv,
        child_ref: d.child_ref,
        child_name: d.child_name,
        child_birth_date: d.child_birth_date,
        question: d.question,
        opp_text: d.opp_text,
        opp_ref: d.opp_ref,
        guardian_view: d.guardian_view,
        pupil_voice: d.pupil_voice,
        voice_reason: d.voice_reason,
        consent_record: d.consent_record,
        applied_on: d.applied_on,
        state: State::Submitted,
        version: 1,
        created_by: d.created_by,
        submitted_on: d.submitted_on,
        trajectory_guide: String::new(),
        trajectory_guide_name: String::new(),
        completeness_question: String::new(),
        completeness_answer: d.completeness_answer,
        exit_report: String::new(),
        aftercare: String::new(),
        advices: Vec::new(),
        mdo: None,
        decision: None,
        objection: None,
    })
}

/// The status of a request at the SWV, as it travels back.
pub fn status_of(r: &Request) -> v1::SupportStatus {
    v1::SupportStatus {
        request_id: r.id.clone(),
        state: r.state.as_str().into(),
        completeness_question: r.completeness_question.clone(),
        trajectory_guide: r.trajectory_guide.clone(),
        trajectory_guide_name: r.trajectory_guide_name.clone(),
        version: r.version,
        decision: r.decision.as_ref().map(|d| v1::SupportDecision {
            id: d.id.clone(),
            outcome: d.decision.outcome.as_str().into(),
            reasons: d.decision.reasons.clone(),
            starts_on: d.decision.starts_on.clone(),
            ends_on: d.decision.ends_on.clone(),
            school_type: d
                .decision
                .school_type
                .map(|t| t.as_str().into())
                .unwrap_or_default(),
            category: d
                .decision
                .category
                .map(|c| c.as_str().into())
                .unwrap_or_default(),
            guardians_agree: d.decision.guardians_agree,
            hearing: d.decision.hearing.clone(),
            decided_on: d.decided_on.clone(),
            decided_by: d.decided_by.clone(),
        }),
    }
}

/// A received status, read as this slice's.
pub fn status_from(s: v1::SupportStatus) -> Result<Status> {
    Ok(Status {
        state: State::choose("state", &s.state)?,
        decision: match s.decision {
            Some(d) => Some(StoredDecision {
                decision: Decision {
                    outcome: Outcome::choose("decision.outcome", &d.outcome)?,
                    reasons: d.reasons,
                    starts_on: d.starts_on,
                    ends_on: d.ends_on,
                    school_type: opt(&d.school_type)
                        .map(|v| SchoolType::choose("decision.school_type", v))
                        .transpose()?,
                    category: opt(&d.category)
                        .map(|v| Category::choose("decision.category", v))
                        .transpose()?,
                    guardians_agree: d.guardians_agree,
                    hearing: d.hearing,
                },
                id: d.id,
                decided_on: d.decided_on,
                decided_by: d.decided_by,
            }),
            None => None,
        },
        version: s.version,
        request_id: s.request_id,
        completeness_question: s.completeness_question,
        trajectory_guide: s.trajectory_guide,
        trajectory_guide_name: s.trajectory_guide_name,
    })
}

/// The request as a categorized document, so the release policy keeps
/// only what the consent covers: the request itself
/// (`educational_support`) and its documented history (`care_history`).
pub fn request_payload(r: &Request) -> Vec<u8> {
    let mut body = to_document(r);
    let history = v1::SupportRequestDocument {
        id: body.id.clone(),
        history: std::mem::take(&mut body.history),
        ..Default::default()
    };
    v1::CategorizedDocument {
        sections: vec![
            v1::Section {
                category: "educational_support".into(),
                name: "support_request".into(),
                content: body.encode_to_vec(),
            },
            v1::Section {
                category: "care_history".into(),
                name: "support_history".into(),
                content: history.encode_to_vec(),
            },
        ],
    }
    .encode_to_vec()
}

/// The request a received payload holds (its history only when the
/// consent covered it).
pub fn read_request(payload: &[u8]) -> Result<v1::SupportRequestDocument> {
    let bad = || Error::invalid("payload", "not a support request");
    let doc = v1::CategorizedDocument::decode(payload).map_err(|_| bad())?;
    let section = |name: &str| doc.sections.iter().find(|s| s.name == name);
    let mut body = v1::SupportRequestDocument::decode(
        section("support_request")
            .ok_or_else(bad)?
            .content
            .as_slice(),
    )
    .map_err(|_| bad())?;
    if let Some(h) = section("support_history") {
        let h = v1::SupportRequestDocument::decode(h.content.as_slice()).map_err(|_| bad())?;
        if h.id != body.id {
            return Err(bad());
        }
        body.history = h.history;
    }
    Ok(body)
}

fn status_payload(r: &Request) -> Vec<u8> {
    v1::CategorizedDocument {
        sections: vec![v1::Section {
            category: "educational_support".into(),
            name: "support_status".into(),
            content: status_of(r).encode_to_vec(),
        }],
    }
    .encode_to_vec()
}

fn read_status(payload: &[u8]) -> Result<v1::SupportStatus> {
    let bad = || Error::invalid("payload", "not a support status");
    let doc = v1::CategorizedDocument::decode(payload).map_err(|_| bad())?;
    let section = doc
        .sections
        .iter()
        .find(|s| s.name == "support_status")
        .ok_or_else(bad)?;
    v1::SupportStatus::decode(section.content.as_slice()).map_err(|_| bad())
}

/// The request (or its answer, a later version) to the SWV, under the
/// consent record it names.
pub(crate) fn request_message(r: &Request, version: u64, actor: &str) -> Result<NewMessage> {
    Ok(NewMessage {
        recipient: PartyId::parse("swv", &r.swv)?,
        document_type: REQUEST_TYPE.into(),
        document_id: format!("support-{}", r.id),
        version: u32::try_from(version)
            .map_err(|_| Error::invalid("version", "too many versions"))?,
        purpose: Purpose::SupportRequest.as_str().into(),
        legal_basis: v1::LegalBasis {
            kind: v1::LegalBasisKind::Consent as i32,
            reference: r.consent_record.clone(),
            consent_receipt: Vec::new(),
        },
        payload: request_payload(r),
        actor: actor.to_owned(),
        child_ref: Some(r.child_ref.clone()),
    })
}

/// At the SWV: sends the school the request's current status, under the
/// legal basis the request arrived with. A request that did not arrive
/// over the exchange (none stored) has no one to send it to: nothing is sent.
pub async fn send_status(store: &Store, id: &str, actor: &str) -> Result<Option<String>> {
    let r = crate::request::load(store, id).await?;
    let basis: Option<(Option<Vec<u8>>,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT legal_basis FROM support_request WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let Some((Some(basis),)) = basis else {
        return Ok(None);
    };
    let legal_basis = v1::LegalBasis::decode(basis.as_slice())
        .map_err(|_| Error::Corrupt(format!("support request {id}: legal basis")))?;
    let messages = [NewMessage {
        recipient: PartyId::parse("school", &r.school)?,
        document_type: STATUS_TYPE.into(),
        document_id: format!("support-status-{id}"),
        version: u32::try_from(r.version)
            .map_err(|_| Error::Corrupt(format!("support request {id}: version")))?,
        purpose: Purpose::SupportRequest.as_str().into(),
        legal_basis,
        payload: status_payload(&r),
        actor: actor.to_owned(),
        child_ref: None,
    }];
    let ids = store.prepare(&messages).await?;
    carenet_fabric::audited!(&store.db, tx => {
        let mut entries = Vec::new();
        carenet_fabric::outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(ids.into_iter().next())
}

/// Marks message `id` as taken in; whether this was the first time.
async fn first_time(store: &Store, message_id: &str) -> Result<bool> {
    Ok(with_db!(&store.db, pool => {
        sqlx::query("INSERT INTO support_in (message_id) VALUES ($1) ON CONFLICT (message_id) DO NOTHING")
            .bind(message_id)
            .execute(pool)
            .await?
            .rows_affected()
            == 1
    }))
}

/// The arrival job: takes in what arrived of this slice's types, each
/// message once. Returns how many were taken in.
pub async fn sync(store: &Store, clock: &dyn Clock, config: &SupportConfig) -> Result<usize> {
    let mut taken = 0;
    for item in store
        .received_not_in(&[REQUEST_TYPE, STATUS_TYPE], "support_in")
        .await?
    {
        let Ok(sender) = PartyId::parse("sender", &item.sender) else {
            continue;
        };
        let payload = match store.received(&item.message_id).await? {
            Some(doc) if !doc.payload.is_empty() => doc.payload,
            // Withdrawn or purged before it was taken in: nothing to take.
            _ => {
                first_time(store, &item.message_id).await?;
                continue;
            }
        };
        let done = if item.document_type == REQUEST_TYPE {
            take_request(store, clock, config, &sender, &item.header, &payload).await
        } else {
            match read_status(&payload).and_then(status_from) {
                Ok(status) => crate::request::apply_status(store, &sender, &status).await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = done {
            // The error names a field or a state, never the content.
            tracing::warn!(message_id = %item.message_id, error = %e, "support document refused at arrival");
        } else {
            taken += 1;
        }
        first_time(store, &item.message_id).await?;
    }
    Ok(taken)
}

/// A request (version 1) or an answer (a later version) arrived at the SWV.
async fn take_request(
    store: &Store,
    clock: &dyn Clock,
    config: &SupportConfig,
    sender: &PartyId,
    header: &v1::EnvelopeHeader,
    payload: &[u8],
) -> Result<()> {
    let doc = read_request(payload)?;
    let withdrawn = doc.withdrawn;
    let r = from_document(doc)?;
    let id = r.id.clone();
    let known = match crate::request::load(store, &id).await {
        Ok(_) => true,
        Err(Error::NotFound(_)) => false,
        Err(e) => return Err(e),
    };
    if known && withdrawn {
        return crate::request::receive_withdrawal(store, sender, &id).await;
    }
    if known {
        return crate::request::receive_answer(store, sender, &id, &r.completeness_answer).await;
    }
    if withdrawn {
        // Withdrawn before it was taken in: there is nothing to hold.
        return Ok(());
    }
    crate::request::receive(store, clock, config, sender, r).await?;
    if let Some(basis) = &header.legal_basis {
        with_db!(&store.db, pool => {
            sqlx::query("UPDATE support_request SET legal_basis = $1 WHERE id = $2")
                .bind(basis.encode_to_vec())
                .bind(&id)
                .execute(pool)
                .await?;
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_travels_in_two_categories_and_reads_back_the_same() {
        let doc = v1::SupportRequestDocument {
            id: "0b8c1f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into(),
            kind: "arrangement".into(),
            level: "light".into(),
            support_asked: "Begeleiding in de klas.".into(),
            cost_cents: Some(120_000),
            history: vec![v1::SupportHistoryItem {
                source: "school".into(),
                line: "first".into(),
                snapshot: "Verlengde instructie.".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = from_document(doc.clone()).expect("request");
        let payload = request_payload(&r);
        let back = read_request(&payload).expect("read");
        assert_eq!(back.history, doc.history);
        assert_eq!(from_document(back).expect("request"), r);
        // Without the care_history section (a consent that does not cover
        // it), the request arrives without its history.
        let kept = carenet_consent::policy::project(
            &payload,
            &[carenet_consent::Category::EducationalSupport]
                .into_iter()
                .collect(),
        )
        .expect("categorized");
        let partial = read_request(&kept.0.encode_to_vec()).expect("read");
        assert!(partial.history.is_empty());
        assert!(read_request(b"not a document").is_err());
    }
}
