//! The release decision under consent: a matrix over purposes, recipient kinds
//! and consent states, data minimisation, inspection as a basis, and the
//! receiver's check of the consent receipt.

use std::collections::BTreeSet;
use std::sync::Arc;

use carenet_consent::policy::{ConsentArrival, ConsentPolicy, project};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision as ConsentDecision};
use carenet_consent::{Category, Purpose, receipt};
use carenet_e2e::{TestRegion, Tuning, document, fresh_store};
use carenet_fabric::crypto::SigningKey;
use carenet_fabric::directory::PartyEntry;
use carenet_fabric::policy::{Arrival, ArrivalCheck, Decision, ReleasePolicy, ReleaseRequest};
use carenet_fabric::{PartyId, PartyKind};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{
    self, EvidenceKind, GrantorRole, LegalBasisKind, consent_recipient::Target,
};
use prost::Message;
use time::macros::date;

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    None,
    Requested,
    Granted,
    Refused,
    Withdrawn,
    Expired,
    OtherRecipient,
    OtherCategory,
    OtherPurpose,
    /// Granted, but for another child than the document is about.
    OtherChild,
    /// Granted, and the document names no child at all.
    NoChild,
}

const STATES: [State; 11] = [
    State::None,
    State::Requested,
    State::Granted,
    State::Refused,
    State::Withdrawn,
    State::Expired,
    State::OtherRecipient,
    State::OtherCategory,
    State::OtherPurpose,
    State::OtherChild,
    State::NoChild,
];

fn key() -> Arc<SigningKey> {
    Arc::new(SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap())
}

fn party(id: &str, kind: PartyKind, signing_key: Vec<u8>) -> PartyEntry {
    PartyEntry {
        id: PartyId::parse("id", id).unwrap(),
        kind,
        discipline: (kind == PartyKind::ZatPartner).then(|| "jgz".to_owned()),
        name: id.into(),
        endpoint: "127.0.0.1:1".into(),
        spki_sha256: [0; 32],
        signing_key,
    }
}

fn payload() -> Vec<u8> {
    let section = |category: &str, name: &str| v1::Section {
        category: category.into(),
        name: name.into(),
        content: format!("{name} text").into_bytes(),
    };
    v1::CategorizedDocument {
        sections: vec![
            section("educational_support", "needs"),
            section("absence", "absence"),
            section("diagnosis", "diagnosis"),
        ],
    }
    .encode_to_vec()
}

fn grantors() -> Vec<v1::Grantor> {
    vec![
        v1::Grantor {
            role: GrantorRole::Guardian as i32,
            name: "ouder".into(),
        },
        v1::Grantor {
            role: GrantorRole::Pupil as i32,
            name: "leerling".into(),
        },
    ]
}

fn decision(today: time::Date) -> ConsentDecision {
    ConsentDecision {
        grantors: grantors(),
        evidence: v1::Evidence {
            kind: EvidenceKind::RecordedConversation as i32,
            recorded_by: "staff-1".into(),
            document_sha256: vec![],
        },
        today,
    }
}

/// Creates the consent record a state calls for; returns the basis reference.
async fn record_for(
    consents: &ConsentStore,
    state: State,
    purpose: Purpose,
    recipient: &str,
) -> anyhow::Result<String> {
    if state == State::None {
        return Ok(uuid::Uuid::new_v4().to_string());
    }
    let expired = state == State::Expired;
    let request = ConsentRequest {
        child_ref: "pupil-1".into(),
        child_birth_date: date!(2012 - 01 - 01),
        purpose: if state == State::OtherPurpose {
            Purpose::all()
                .find(|p| *p != purpose)
                .expect("another purpose")
        } else {
            purpose
        },
        recipients: vec![v1::ConsentRecipient {
            target: Some(Target::PartyId(if state == State::OtherRecipient {
                "someone-else".into()
            } else {
                recipient.into()
            })),
        }],
        categories: if state == State::OtherCategory {
            vec![Category::HomeSituation]
        } else {
            vec![Category::EducationalSupport, Category::Absence]
        },
        valid_from: if expired {
            date!(2020 - 01 - 01)
        } else {
            date!(2026 - 01 - 01)
        },
        valid_until: expired.then_some(date!(2020 - 12 - 31)),
    };
    let by = carenet_fabric::Actor::new(
        consents.store().party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )
    .unwrap();
    let id = consents.request(&by, &request).await?.version.record_id;
    let today = if expired {
        date!(2020 - 06 - 01)
    } else {
        date!(2026 - 01 - 02)
    };
    match state {
        State::Requested => {}
        State::Refused => {
            consents.refuse(&by, &id, &decision(today)).await?;
        }
        State::Withdrawn => {
            consents.grant(&by, &id, &decision(today)).await?;
            consents
                .withdraw(&by, &id, grantors(), decision(today).evidence)
                .await?;
        }
        State::Expired => {
            consents.grant(&by, &id, &decision(today)).await?;
            consents.expire_due(date!(2021 - 01 - 01)).await?;
        }
        _ => {
            consents.grant(&by, &id, &decision(today)).await?;
        }
    }
    Ok(id)
}

/// Every purpose × recipient kind × consent state, through real fetches from
/// the holder's node over mTLS: released exactly when the consent allows it,
/// with only the consented categories and a receipt the receiver accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_matrix_purpose_by_recipient_kind_by_consent_state() -> anyhow::Result<()> {
    let recipients = [
        (PartyKind::PoSchool, "po-1"),
        (PartyKind::VoSchool, "vo-2"),
        (PartyKind::Swv, "swv"),
        (PartyKind::ZatPartner, "jgz-1"),
        (PartyKind::Vervolg, "mbo-1"),
    ];
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
        PartyPlan::new("mbo-1", PartyKind::Vervolg, "MBO 1"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    // Only the holder and the directory host run: the test fetches as each recipient.
    region.start("swv").await?;
    let holder = region.start("vo-1").await?;
    let sender = holder.directory.get("vo-1").expect("holder in directory");
    let consents = ConsentStore::new(holder.store.clone());
    let allowed: BTreeSet<Category> = [Category::EducationalSupport, Category::Absence].into();
    let (mut released, mut cases) = (0, 0);
    for (kind, recipient) in recipients {
        let mut client = region.exchange_client(recipient, "vo-1")?;
        for purpose in Purpose::all() {
            for state in STATES {
                cases += 1;
                let case = format!("{purpose:?} to {kind:?} with {state:?}");
                let reference = record_for(&consents, state, purpose, recipient).await?;
                let mut message = document(recipient, cases, &payload());
                message.child_ref = match state {
                    State::OtherChild => Some("pupil-2".into()),
                    State::NoChild => None,
                    _ => Some("pupil-1".into()),
                };
                message.purpose = purpose.as_str().into();
                message.legal_basis = v1::LegalBasis {
                    kind: LegalBasisKind::Consent as i32,
                    reference: reference.clone(),
                    consent_receipt: vec![],
                };
                let ids = holder.send(&[message]).await?;
                let fetched = client
                    .fetch(v1::FetchRequest {
                        message_ids: ids.clone(),
                    })
                    .await?
                    .into_inner();
                if state != State::Granted {
                    assert!(fetched.envelopes.is_empty(), "{case}: released");
                    assert_eq!(fetched.refused.len(), 1, "{case}");
                    continue;
                }
                released += 1;
                assert!(
                    fetched.refused.is_empty(),
                    "{case}: refused {:?}",
                    fetched.refused
                );
                let envelope = &fetched.envelopes[0];
                let header = v1::EnvelopeHeader::decode(envelope.header.as_slice())?;
                let (_, present) =
                    project(&envelope.payload, &Category::all().collect()).expect("categorized");
                assert_eq!(
                    present, allowed,
                    "{case}: only the consented categories leave"
                );
                let body = receipt::verify(
                    &header.legal_basis.as_ref().unwrap().consent_receipt,
                    &sender.signing_key,
                )?;
                assert_eq!(
                    (body.recipient.as_str(), body.record_id.as_str()),
                    (recipient, reference.as_str()),
                    "{case}"
                );
                // The receipt names the child (as the envelope does) and
                // the one document version it covers.
                assert!(
                    !header.child.is_empty(),
                    "{case}: the envelope names the child"
                );
                assert_ne!(
                    header.child, "pupil-1",
                    "{case}: a pseudonym, not the reference"
                );
                assert_eq!(body.child, header.child, "{case}");
                assert_eq!(
                    (body.document_id.as_str(), body.document_version),
                    (header.document_id.as_str(), header.version),
                    "{case}"
                );
                assert_eq!(body.payload_sha256, header.payload_sha256, "{case}");
                ConsentArrival::default()
                    .check(&Arrival {
                        header: &header,
                        payload: &envelope.payload,
                        sender: &sender,
                        receiver: recipient,
                    })
                    .unwrap_or_else(|e| panic!("{case}: the receiver rejects it: {e}"));
            }
        }
    }
    assert_eq!(cases, 7 * 5 * 11);
    assert_eq!(released, 7 * 5);
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspection_releases_only_the_po_to_vo_report_the_guardians_saw() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    struct Holder {
        policy: ConsentPolicy,
        kind: PartyKind,
    }
    let po = Holder {
        policy: ConsentPolicy::new(ConsentStore::new(store.clone()), key(), "po-1"),
        kind: PartyKind::PoSchool,
    };
    let vo = Holder {
        policy: ConsentPolicy::new(ConsentStore::new(store.clone()), key(), "vo-1"),
        kind: PartyKind::VoSchool,
    };
    let seen = carenet_consent::inspection::record(
        &store,
        &carenet_fabric::Actor::new(
            store.party.clone(),
            "ib-1",
            [carenet_fabric::Role::SupportCoordinatorPo],
        )?,
        &carenet_consent::inspection::Inspection {
            child_ref: "pupil-1".into(),
            document_id: "okr-2026-1".into(),
            seen_on: date!(2026 - 03 - 01),
            guardian_view: Some("wij herkennen het beeld".into()),
            recorded_by: "ib-1".into(),
            seen: None,
        },
    )
    .await?;
    let payload = payload();
    // (holder, purpose, recipient kind, inspection record, document, released?)
    for (holder, purpose, kind, reference, document, expect) in [
        (
            &po,
            Purpose::TransferDossier,
            PartyKind::VoSchool,
            seen.as_str(),
            "okr-2026-1",
            true,
        ),
        (
            &po,
            Purpose::TransferDossier,
            PartyKind::VoSchool,
            "inzage-1",
            "okr-2026-1",
            false,
        ),
        (
            &po,
            Purpose::TransferDossier,
            PartyKind::VoSchool,
            seen.as_str(),
            "okr-other",
            false,
        ),
        (
            &po,
            Purpose::TransferDossier,
            PartyKind::ZatPartner,
            seen.as_str(),
            "okr-2026-1",
            false,
        ),
        (
            &po,
            Purpose::ReferToZat,
            PartyKind::VoSchool,
            seen.as_str(),
            "okr-2026-1",
            false,
        ),
        (
            &vo,
            Purpose::TransferDossier,
            PartyKind::VoSchool,
            seen.as_str(),
            "okr-2026-1",
            false,
        ),
    ] {
        let basis = v1::LegalBasis {
            kind: LegalBasisKind::Inspection as i32,
            reference: reference.into(),
            consent_receipt: vec![],
        };
        let recipient = party("r-1", kind, vec![]);
        let d = holder
            .policy
            .decide(ReleaseRequest {
                message_id: "m",
                holder_kind: Some(holder.kind),
                document_type: "transfer.report",
                document_id: document,
                version: 1,
                child_ref: Some("pupil-1"),
                child: Some("c-1"),
                recipient: &recipient,
                purpose: purpose.as_str(),
                legal_basis: Some(&basis),
                payload: &payload,
            })
            .await?;
        assert_eq!(
            matches!(d, Decision::Release { .. }),
            expect,
            "{purpose:?} to {kind:?} with record {reference} for {document}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_rejects_tampered_and_foreign_consent_receipts() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store);
    let holder_key = key();
    let policy = ConsentPolicy::new(consents.clone(), holder_key.clone(), "vo-1");
    let receiver = party("jgz-1", PartyKind::ZatPartner, vec![]);
    let id = record_for(
        &consents,
        State::Granted,
        Purpose::ShareWithPartner,
        "jgz-1",
    )
    .await?;
    let basis = v1::LegalBasis {
        kind: LegalBasisKind::Consent as i32,
        reference: id.clone(),
        consent_receipt: vec![],
    };
    let original = payload();
    let Decision::Release {
        payload,
        legal_basis,
        ..
    } = policy
        .decide(ReleaseRequest {
            message_id: "m",
            holder_kind: Some(PartyKind::VoSchool),
            document_type: "test.note",
            document_id: "doc-1",
            version: 2,
            child_ref: Some("pupil-1"),
            child: Some("c-1"),
            recipient: &receiver,
            purpose: "share_with_partner",
            legal_basis: Some(&basis),
            payload: &original,
        })
        .await?
    else {
        panic!("a granted consent releases");
    };
    let basis = legal_basis.unwrap();
    let sender = party("vo-1", PartyKind::VoSchool, holder_key.public_key());
    let genuine = v1::EnvelopeHeader {
        sender: "vo-1".into(),
        recipient: "jgz-1".into(),
        purpose: "share_with_partner".into(),
        document_id: "doc-1".into(),
        version: 2,
        child: "c-1".into(),
        ..Default::default()
    };
    let with =
        |basis: &v1::LegalBasis, payload: &[u8], header: &v1::EnvelopeHeader| v1::EnvelopeHeader {
            legal_basis: Some(basis.clone()),
            payload_sha256: carenet_fabric::crypto::sha256(payload).to_vec(),
            ..header.clone()
        };
    let check_header =
        |basis: &v1::LegalBasis, payload: &[u8], receiver: &str, h: &v1::EnvelopeHeader| {
            ConsentArrival::default().check(&Arrival {
                header: &with(basis, payload, h),
                payload,
                sender: &sender,
                receiver,
            })
        };
    let check = |basis: &v1::LegalBasis, payload: &[u8], receiver: &str| {
        check_header(basis, payload, receiver, &genuine)
    };
    check(&basis, &payload, "jgz-1").expect("the genuine receipt is accepted");

    // The same receipt on another child's, another document's or another
    // version's envelope: rejected.
    for (what, other) in [
        (
            "another child",
            v1::EnvelopeHeader {
                child: "c-2".into(),
                ..genuine.clone()
            },
        ),
        (
            "no child",
            v1::EnvelopeHeader {
                child: String::new(),
                ..genuine.clone()
            },
        ),
        (
            "another document",
            v1::EnvelopeHeader {
                document_id: "doc-2".into(),
                ..genuine.clone()
            },
        ),
        (
            "another version",
            v1::EnvelopeHeader {
                version: 3,
                ..genuine.clone()
            },
        ),
    ] {
        let err = check_header(&basis, &payload, "jgz-1", &other).unwrap_err();
        assert!(err.to_string().contains("another"), "{what}: {err}");
    }
    // Other bytes under the genuine header's ids (a different payload hash).
    let mut other = v1::CategorizedDocument::decode(payload.as_slice())?;
    other.sections[0].content = b"other words".to_vec();
    let other_bytes = other.encode_to_vec();
    assert!(
        ConsentArrival::default()
            .check(&Arrival {
                header: &with(&basis, &other_bytes, &genuine),
                payload: &other_bytes,
                sender: &sender,
                receiver: "jgz-1",
            })
            .is_err(),
        "the receipt covers the bytes released, not others"
    );

    let mut tampered = basis.clone();
    let mut r = v1::ConsentReceipt::decode(tampered.consent_receipt.as_slice())?;
    let mut body = v1::ConsentReceiptBody::decode(r.body.as_slice())?;
    body.categories.push("diagnosis".into());
    r.body = body.encode_to_vec();
    tampered.consent_receipt = r.encode_to_vec();
    assert!(
        check(&tampered, &original, "jgz-1").is_err(),
        "a tampered receipt"
    );

    let mut foreign = basis.clone();
    let forged = v1::ConsentReceiptBody::decode(
        v1::ConsentReceipt::decode(basis.consent_receipt.as_slice())?
            .body
            .as_slice(),
    )?;
    foreign.consent_receipt = receipt::sign(&key(), &forged).encode_to_vec();
    assert!(
        check(&foreign, &payload, "jgz-1").is_err(),
        "a receipt signed by another key"
    );

    assert!(
        check(&basis, &payload, "smw-1").is_err(),
        "a receipt for another recipient"
    );
    assert!(
        check(&basis, &original, "jgz-1").is_err(),
        "a payload with a category the receipt does not name"
    );
    Ok(())
}

/// Issue 9.6: a fetch that read "granted" must not commit its release after
/// the consent was withdrawn; the release transaction checks the consent's
/// version and refuses instead (on both backends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_between_the_decision_and_its_commit_stops_the_release() -> anyhow::Result<()>
{
    use carenet_fabric::store::outbox::Release;
    let (_dir, store) = fresh_store("vo-1").await?;
    let consents = ConsentStore::new(store.clone());
    let policy = ConsentPolicy::new(consents.clone(), key(), "vo-1");
    let receiver = party("jgz-1", PartyKind::ZatPartner, vec![]);
    let id = record_for(
        &consents,
        State::Granted,
        Purpose::ShareWithPartner,
        "jgz-1",
    )
    .await?;
    let mut message = document("jgz-1", 1, &payload());
    message.child_ref = Some("pupil-1".into());
    message.legal_basis = v1::LegalBasis {
        kind: LegalBasisKind::Consent as i32,
        reference: id.clone(),
        consent_receipt: vec![],
    };
    let ids = store.enqueue(&[message]).await?;
    let m = store.load_messages(&ids).await?.remove(0).expect("queued");
    let decide = || {
        policy.decide(ReleaseRequest {
            message_id: &m.message_id,
            holder_kind: Some(PartyKind::VoSchool),
            document_type: &m.document_type,
            document_id: &m.document_id,
            version: m.version,
            child_ref: m.child_ref.as_deref(),
            child: Some("c-1"),
            recipient: &receiver,
            purpose: &m.purpose,
            legal_basis: Some(&m.legal_basis),
            payload: &m.payload,
        })
    };
    let release = |d: Decision| match d {
        Decision::Release {
            payload,
            legal_basis,
            hold,
        } => Release {
            message_id: m.message_id.clone(),
            legal_basis: legal_basis.expect("a consent receipt"),
            recipient: "jgz-1".into(),
            purpose: m.purpose.clone(),
            basis: format!("consent:{id}"),
            released_sha256: carenet_fabric::crypto::sha256(&payload),
            hold,
        },
        Decision::Refuse(why) | Decision::NotYet(why) => {
            panic!("a granted consent releases: {why}")
        }
    };
    // The fetch decides under the granted consent...
    let decided = release(decide().await?);
    assert!(
        decided.hold.is_some(),
        "a consent release holds its version"
    );
    // ...the guardians withdraw before its transaction commits...
    let by = carenet_fabric::Actor::new(
        store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    consents
        .withdraw(
            &by,
            &id,
            grantors(),
            v1::Evidence {
                kind: EvidenceKind::RecordedConversation as i32,
                recorded_by: String::new(),
                document_sha256: vec![],
            },
        )
        .await?;
    // ...and the commit refuses it: nothing is recorded as released.
    let stale = store.record_releases(&[decided], &[]).await?;
    assert_eq!(stale.len(), 1, "the release is refused at commit");
    assert!(
        carenet_fabric::audit::released_under(&store.db, &format!("consent:{id}"))
            .await?
            .is_empty()
    );
    let dead = store.list_outbox(Some("dead"), 10).await?;
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("the basis changed while it was released")),
        "{dead:?}"
    );
    Ok(())
}
