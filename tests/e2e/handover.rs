//! Transfer dossiers over real nodes: a primary school's dossier reaches the
//! secondary school's mentor, the sender sees "read by mentor"; release waits
//! for inzage or consent and carries only the allowed categories; corrections,
//! reminders, feedback, IZO registration and the warm handover.

use std::time::Duration;

use carenet_consent::record::ConsentStore;
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, wait_until};
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, Route};
use carenet_handover::model::{Dossier, Extras};
use carenet_handover::season::{self, Filter};
use carenet_handover::{Error, incoming, oso, warm};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, ParticipantRole};
use prost::Message;

use crate::oso::{examples, validate};

const T: Duration = Duration::from_secs(30);

/// The call is refused with a permission error, and exactly this refusal is
/// added to the audit log, naming the actor (counted before and after).
macro_rules! assert_refused {
    ($store:expr, $call:expr, $actor:expr, $action:expr $(,)?) => {{
        let before = refusals($store, $actor, $action).await;
        check_refused($call, $action);
        assert_eq!(
            refusals($store, $actor, $action).await,
            before + 1,
            "no new audited refusal {} by {}",
            $action,
            $actor.audit_name()
        );
    }};
}

/// The text of the vendored OSO example whose name contains `part`.
pub fn example(part: &str) -> String {
    let path = examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains(part))
        .unwrap();
    std::fs::read_to_string(path).unwrap()
}

/// The POVO example without its inzage block: a dossier the guardians have not seen yet.
pub fn unseen_povo(extras: Extras) -> Dossier {
    let sections = oso::import(&example("POVO_full")).unwrap().sections;
    Dossier {
        sections: sections
            .into_iter()
            .filter(|s| s.category != Category::GuardianInspection)
            .collect(),
        extras,
    }
}

/// A VO→vervolg dossier (the VOVO example as VOMBO, ADR 0005) the
/// guardians have not seen yet.
pub fn unseen_vombo() -> Dossier {
    let vombo =
        example("VOVO_full").replace("<overstap>VOVO</overstap>", "<overstap>VOMBO</overstap>");
    Dossier {
        sections: oso::import(&vombo)
            .unwrap()
            .sections
            .into_iter()
            .filter(|s| s.category != Category::GuardianInspection)
            .collect(),
        extras: Extras::default(),
    }
}

/// A staff member of the party `store` belongs to.
pub fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

fn today() -> time::Date {
    carenet_fabric::clock::today()
}

pub async fn wait_incoming(store: &Store, version: u32) -> anyhow::Result<incoming::Incoming> {
    wait_until(T, || async {
        incoming::list(store)
            .await
            .ok()?
            .into_iter()
            .find(|i| i.version == version)
    })
    .await
}

/// The season row of an outgoing dossier, as the IB (or care coordinator) sees it.
pub async fn outgoing_status(store: &Store, id: &str) -> Option<season::SeasonRow> {
    let coordinator = staff(
        store,
        "coordinator-1",
        &[Role::SupportCoordinatorPo, Role::CareCoordinator],
    );
    let kind = store
        .directory()
        .and_then(|d| d.get(store.party.as_str()))
        .map(|e| e.kind)?;
    season::season(
        store,
        kind,
        &coordinator,
        0,
        &Filter {
            direction: Some("out".into()),
            status: None,
        },
    )
    .await
    .ok()?
    .into_iter()
    .find(|r| r.id == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_po_dossier_reaches_the_mentor_and_the_sender_sees_read_by_mentor() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let vo_id = [PartyId::parse("to", "vo-1")?];
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let zc = staff(&vo.store, "zc-1", &[Role::CareCoordinator]);
    let mentor = staff(&vo.store, "mentor-7", &[Role::Mentor]);

    // The IB composes the dossier with what OSO lacks.
    let extras = Extras {
        what_works: Some("Korte instructie, daarna zelf aan de slag; vaste plek vooraan.".into()),
        what_to_avoid: Some("Onverwachte toetsen zonder aankondiging.".into()),
        talents: Some("Tekenen en techniek".into()),
        pupil_voice: Some("Ik wil graag naast iemand zitten die ik ken.".into()),
        ..Extras::default()
    };
    let id = dossier::create(&po.store, &ib, "pupil-1", Route::PoVo, &unseen_povo(extras)).await?;

    // No release before the guardians saw it.
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &vo_id, None).await;
    assert!(matches!(refused, Err(Error::State { .. })), "{refused:?}");
    assert!(matches!(
        carenet_fabric::Error::from(refused.unwrap_err()),
        carenet_fabric::Error::FailedPrecondition(_)
    ));
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;
    assert!(
        dossier::publish(&po.store, &po.directory, &ib, &id, &vo_id, None)
            .await
            .is_err()
    );
    // Submitting twice is a step the state does not allow.
    assert!(matches!(
        dossier::submit_for_inspection(&po.store, &ib, &id).await,
        Err(Error::State { .. })
    ));
    // The guardians see it and add their view; the dossier is set ready.
    dossier::record_inspection(
        &po.store,
        &ib,
        &id,
        today(),
        dossier::GuardiansView::new(
            Some("Wij herkennen ons kind hierin.".into()),
            dossier::Akkoord::Yes,
        ),
    )
    .await?;
    let ready = dossier::get(&po.store, &id).await?;
    assert_eq!(ready.state, dossier::DossierState::Ready);
    assert!(
        ready.inspection_id.is_some(),
        "inzage and ready in one step"
    );
    // Only a secondary school may receive a PO->VO dossier.
    let to_swv = dossier::publish(
        &po.store,
        &po.directory,
        &ib,
        &id,
        &[PartyId::parse("to", "swv")?],
        None,
    )
    .await;
    assert!(
        matches!(to_swv, Err(Error::InvalidArgument { .. })),
        "{to_swv:?}"
    );
    dossier::publish(&po.store, &po.directory, &ib, &id, &vo_id, None).await?;

    // The VO school receives it, verified, with the guardians' view and OSO inzage.
    let item = wait_incoming(&vo.store, 1).await?;
    assert_eq!(item.sender, "po-1");
    // Indexed on arrival with the pupil's name as its list label.
    let labels = vo
        .store
        .received_labels(std::slice::from_ref(&item.message_id))
        .await?;
    assert_eq!(
        labels[&item.message_id].as_deref(),
        Some("Daan van de Berg"),
        "the list label is set on arrival"
    );
    let received = incoming::dossier(&vo.store, &item.message_id).await?;
    assert_eq!(
        received.extras.guardian_view.as_deref(),
        Some("Wij herkennen ons kind hierin.")
    );
    let oso_out = received.to_oso()?;
    assert!(
        oso_out.contains("<inzage>true</inzage>")
            && oso_out.contains(&format!("<inzagedatum>{}</inzagedatum>", today()))
    );
    let file = region.dir.path().join("received.xml");
    std::fs::write(&file, &oso_out)?;
    validate(&file, None)?;

    // Nobody but the recipient can claim the dossier was read: the SWV may
    // not even send a handover status (the slice's registry), and the season
    // view counts a status only from a party the dossier went to.
    let forged = region
        .handle("swv")
        .send(&[NewMessage {
            recipient: PartyId::parse("to", "po-1")?,
            document_type: incoming::STATUS_TYPE.into(),
            document_id: "forged".into(),
            version: 1,
            purpose: Purpose::TransferDossier.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: v1::LegalBasisKind::StatutoryTask as i32,
                reference: "forged".into(),
                consent_receipt: vec![],
            },
            payload: v1::HandoverStatus {
                document_id: id.clone(),
                version: 1,
                status: v1::HandoverStatusKind::ReadByMentor as i32,
                at_ms: now_ms(),
                reader_role: String::new(),
            }
            .encode_to_vec(),
            actor: "x".into(),
            child_ref: None,
        }])
        .await;
    assert!(
        matches!(
            forged,
            Err(carenet_node::Error::Fabric(
                carenet_fabric::Error::PermissionDenied(_)
            ))
        ),
        "{forged:?}"
    );
    wait_until(T, || async {
        outgoing_status(&po.store, &id)
            .await
            .filter(|r| r.status == "delivered")
    })
    .await?;

    // The care coordinator assigns it; only the mentor and teachers read the digest.
    incoming::assign(
        &vo.store,
        PartyKind::VoSchool,
        &zc,
        &item.message_id,
        "mentor-7",
        &["docent-3".into()],
    )
    .await?;
    let someone_else = staff(&vo.store, "someone-else", &[Role::Mentor]);
    assert!(
        incoming::open_digest(&vo.store, &someone_else, &item.message_id)
            .await
            .unwrap_err()
            .is_permission_denied()
    );
    let digest = incoming::open_digest(&vo.store, &mentor, &item.message_id).await?;
    let text = digest.to_text();
    assert!(
        text.contains("Daan van de Berg")
            && text.contains("Wat werkt")
            && text.contains("vaste plek vooraan"),
        "{text}"
    );
    assert!(
        text.contains("Aandachtspunten") && text.contains("Zienswijze ouders"),
        "{text}"
    );

    // The sender sees "delivered", then "read by mentor".
    let row = wait_until(T, || async {
        outgoing_status(&po.store, &id)
            .await
            .filter(|r| r.status == "read")
    })
    .await?;
    assert_eq!(row.counterparty, "vo-1");
    assert_eq!(row.pupil, "Daan van de Berg");
    // Both sides audited the reading and the receipt.
    let vo_audit = carenet_fabric::audit::list(&vo.store.db, 0, 1000).await?;
    assert!(vo_audit.iter().any(|r| r.action == "digest_opened"
        && r.message_id == item.message_id
        && r.actor == "mentor-7[mentor]"));
    assert!(carenet_fabric::audit::verify(&vo.store.db).await?.is_ok());
    assert!(carenet_fabric::audit::verify(&po.store.db).await?.is_ok());

    // The receiving school registers the pupil for its IZO straight from the dossier.
    assert!(
        incoming::register_for_izo(
            &vo.store,
            &mentor,
            &item.message_id,
            "Afstemming ondersteuning",
            false,
            None,
        )
        .await
        .is_err()
    );
    incoming::register_for_izo(
        &vo.store,
        &mentor,
        &item.message_id,
        "Afstemming ondersteuning",
        true,
        None,
    )
    .await?;

    // A correction reaches the recipient as a new version, back to the guardians first.
    let mut corrected = dossier::get(&po.store, &id).await?.dossier;
    corrected.extras.what_works =
        Some("Instructie in kleine stappen, met een voorbeeld op het bord.".into());
    assert_eq!(dossier::correct(&po.store, &ib, &id, &corrected).await?, 2);
    assert!(
        dossier::publish(&po.store, &po.directory, &ib, &id, &[], None)
            .await
            .is_err()
    );
    dossier::record_inspection(&po.store, &ib, &id, today(), dossier::GuardiansView::none())
        .await?;
    dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await?;
    let v2 = wait_incoming(&vo.store, 2).await?;
    assert_eq!(v2.document_id, item.document_id);
    assert_eq!(
        v2.mentor.as_deref(),
        Some("mentor-7"),
        "the correction goes to the same mentor"
    );
    assert!(v2.opened_at_ms.is_none(), "and is unread");

    // The unread correction is reminded after the configured days, once per period.
    assert!(
        incoming::remind_unread(&vo.store, now_ms(), 5)
            .await?
            .is_empty()
    );
    let later = now_ms() + 6 * 86_400_000;
    let reminders = incoming::remind_unread(&vo.store, later, 5).await?;
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].message_id, v2.message_id);
    assert!(
        incoming::remind_unread(&vo.store, later, 5)
            .await?
            .is_empty()
    );
    let digest = incoming::open_digest(&vo.store, &mentor, &v2.message_id).await?;
    assert!(digest.to_text().contains("kleine stappen"));
    assert!(
        incoming::remind_unread(&vo.store, later + 30 * 86_400_000, 5)
            .await?
            .is_empty()
    );

    // Feedback to the sending school after the period, on the VO school's own consent.
    assert!(
        incoming::feedback_due(&vo.store, now_ms(), 42)
            .await?
            .is_empty()
    );
    let due = incoming::feedback_due(&vo.store, now_ms() + 43 * 86_400_000, 42).await?;
    assert_eq!(due.len(), 1);
    let record = carenet_e2e::granted_consent(
        &vo.store,
        Purpose::FeedbackToSender,
        &["po-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    incoming::register_pupil(
        &vo.store,
        PartyKind::VoSchool,
        &zc,
        &due[0].message_id,
        "pupil-1",
    )
    .await?;
    incoming::send_feedback(
        &vo.store,
        &mentor,
        &due[0].message_id,
        "Daan is goed gestart in de brugklas.",
        &record,
        "pupil-1",
    )
    .await?;
    wait_until(T, || async {
        outgoing_status(&po.store, &id).await.filter(|r| r.feedback)
    })
    .await?;
    // The IB reads it.
    let feedback = incoming::feedback_received(&po.store, &ib).await?;
    assert_eq!(feedback.len(), 1);
    assert_eq!(feedback[0].text, "Daan is goed gestart in de brugklas.");
    assert_eq!(
        (
            feedback[0].from_party.as_str(),
            feedback[0].staff_ref.as_str()
        ),
        ("vo-1", "mentor-7")
    );
    // The dossier's page asks only its own: none for another document id.
    assert_eq!(
        incoming::feedback_about(&po.store, &ib, &id).await?,
        feedback
    );
    assert!(
        incoming::feedback_about(&po.store, &ib, "another-dossier")
            .await?
            .is_empty()
    );

    // The season views, and their CSV.
    let rows = season::season(&vo.store, PartyKind::VoSchool, &zc, 0, &Filter::default()).await?;
    assert_eq!(rows.len(), 1, "one incoming dossier, newest version");
    assert_eq!(
        (
            rows[0].status.as_str(),
            rows[0].version,
            rows[0].izo,
            rows[0].feedback
        ),
        ("read", 2, true, true)
    );
    let csv = season::to_csv(&rows);
    assert!(
        csv.starts_with("richting,") && csv.contains("in,") && csv.contains("Daan van de Berg"),
        "{csv}"
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vo_dossier_under_consent_carries_only_the_consented_categories() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"),
        PartyPlan::new("mbo-1", PartyKind::Vervolg, "MBO 1"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo1 = region.handle("vo-1");
    let vo2 = region.handle("vo-2");
    let zc = staff(&vo1.store, "zc-1", &[Role::CareCoordinator]);
    let id = dossier::import_oso(
        &vo1.store,
        &zc,
        &example("VOVO_full"),
        "pupil-1",
        Route::VoVo,
    )
    .await?;
    let to = [PartyId::parse("to", "vo-2")?];
    // VO->VO needs consent: no consent record, no release.
    let none = dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, None).await;
    assert!(
        matches!(none, Err(Error::InvalidArgument { .. })),
        "{none:?}"
    );
    // The guardians consent to all but the support, absence and plans.
    let allowed: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .filter(|c| {
            !matches!(
                c,
                Category::EducationalSupport | Category::Absence | Category::ActionPlans
            )
        })
        .collect();
    let record =
        carenet_e2e::granted_consent(&vo1.store, Purpose::TransferDossier, &["vo-2"], allowed)
            .await?;
    dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, Some(&record)).await?;
    let again = dossier::publish(&vo1.store, &vo1.directory, &zc, &id, &to, Some(&record)).await;
    assert!(
        again.is_err(),
        "the same version is not sent twice: {again:?}"
    );
    let item = wait_incoming(&vo2.store, 1).await?;
    let got = incoming::dossier(&vo2.store, &item.message_id).await?;
    let categories = got.categories();
    assert!(
        categories.contains(&Category::TransferAdvice) && categories.contains(&Category::Pupil)
    );
    for withheld in [
        Category::EducationalSupport,
        Category::Absence,
        Category::ActionPlans,
    ] {
        assert!(
            !categories.contains(&withheld),
            "{withheld:?} left the node"
        );
    }
    let out = got.to_oso()?;
    assert!(
        !out.contains("<diagnose>")
            && !out.contains("<verzuim>")
            && !out.contains("<handelingsplan>")
    );
    assert!(out.contains("<toestemming>Ja</toestemming>"));
    // What the receiver holds is still a valid OSO dossier, saying what was left out.
    let file = region.dir.path().join("vovo-partial.xml");
    std::fs::write(&file, &out)?;
    validate(&file, None)?;

    // VO -> follow-up education, under consent.
    let mentor4 = staff(&vo1.store, "mentor-4", &[Role::Mentor]);
    // VO->vervolg is not an OV profile (ADR 0005): the file says VOMBO.
    let vombo =
        example("VOVO_full").replace("<overstap>VOVO</overstap>", "<overstap>VOMBO</overstap>");
    let next =
        dossier::import_oso(&vo1.store, &mentor4, &vombo, "pupil-1", Route::VoVervolg).await?;
    // A mentor's import stays a draft: the care coordinator confirms the
    // inzage the file states.
    assert_eq!(
        dossier::get(&vo1.store, &next).await?.state,
        dossier::DossierState::Draft
    );
    dossier::record_inspection(
        &vo1.store,
        &zc,
        &next,
        today(),
        dossier::GuardiansView::none(),
    )
    .await?;
    let mbo = [PartyId::parse("to", "mbo-1")?];
    let wrong = dossier::publish(&vo1.store, &vo1.directory, &zc, &next, &to, Some(&record)).await;
    assert!(
        wrong.is_err(),
        "a vervolg dossier goes to a follow-up institution: {wrong:?}"
    );
    let all: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .collect();
    let pupil_consent =
        carenet_e2e::granted_consent(&vo1.store, Purpose::TransferDossier, &["mbo-1"], all).await?;
    // The mentor composes, the care coordinator releases.
    assert!(
        dossier::publish(
            &vo1.store,
            &vo1.directory,
            &mentor4,
            &next,
            &mbo,
            Some(&pupil_consent)
        )
        .await
        .unwrap_err()
        .is_permission_denied()
    );
    dossier::publish(
        &vo1.store,
        &vo1.directory,
        &zc,
        &next,
        &mbo,
        Some(&pupil_consent),
    )
    .await?;
    let mbo_store = region.handle("mbo-1").store;
    let at_mbo = wait_incoming(&mbo_store, 1).await?;
    assert_eq!(at_mbo.sender, "vo-1");
    // A follow-up institution lists what it received, with any staff role.
    let guide = staff(&mbo_store, "lob-1", &[Role::TrajectoryGuide]);
    let listed = incoming::received_documents(&mbo_store, PartyKind::Vervolg, &guide).await?;
    assert!(listed.iter().any(|r| r.message_id == at_mbo.message_id
        && r.document_type == dossier::DOSSIER_TYPE
        && r.sender == "vo-1"
        && r.status == "available"));

    // The guardians withdraw the VO->VO consent: VO 2 stops showing the dossier.
    ConsentStore::new(vo1.store.clone())
        .withdraw(
            &zc,
            &record,
            vec![v1::Grantor {
                role: GrantorRole::Guardian as i32,
                name: "ouder".into(),
            }],
            v1::Evidence {
                kind: EvidenceKind::RecordedConversation as i32,
                recorded_by: "portal".into(),
                document_sha256: vec![],
            },
        )
        .await?;
    wait_until(T, || async {
        let i = incoming::get(&vo2.store, &item.message_id).await.ok()?;
        (!i.available).then_some(())
    })
    .await?;
    assert!(
        incoming::dossier(&vo2.store, &item.message_id)
            .await
            .is_err()
    );
    let zc2 = staff(&vo2.store, "zc-2", &[Role::CareCoordinator]);
    assert!(
        incoming::assign(
            &vo2.store,
            PartyKind::VoSchool,
            &zc2,
            &item.message_id,
            "mentor-1",
            &[]
        )
        .await
        .is_err()
    );
    let listed = incoming::received_documents(&vo2.store, PartyKind::VoSchool, &zc2).await?;
    assert!(
        listed
            .iter()
            .any(|r| r.message_id == item.message_id && r.status == "withdrawn")
    );
    let rows = season::season(&vo2.store, PartyKind::VoSchool, &zc2, 0, &Filter::default()).await?;
    assert_eq!(rows[0].status, "withdrawn");
    assert!(rows[0].pupil.is_empty(), "no name of a withdrawn dossier");
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_warm_handover_record_reaches_every_participant_party() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("smw-1", "smw", "SMW"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let id = dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    let participant = |role: ParticipantRole, party: &str, staff: &str| v1::Participant {
        role: role as i32,
        party_id: party.into(),
        staff_ref: staff.into(),
    };
    let who = vec![
        participant(ParticipantRole::SupportCoordinatorPo, "po-1", "ib-1"),
        participant(ParticipantRole::CareCoordinator, "vo-1", "zoco-1"),
        participant(ParticipantRole::TeamLead, "smw-1", "smw-2"),
        participant(ParticipantRole::Guardian, "", ""),
        participant(ParticipantRole::Pupil, "", ""),
    ];
    // The form names the conversation: sent twice it plans one.
    let form_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let plan = |who: Vec<v1::Participant>, on| {
        warm::plan_named(&po.store, &ib, &form_id, &id, None, who, on)
    };
    let warm_id = plan(who.clone(), today()).await?;
    assert_eq!(warm_id, form_id);
    assert_eq!(plan(who.clone(), today()).await?, warm_id);
    assert_eq!(warm::of_dossier(&po.store, &ib, &id).await?.len(), 1);
    let (planned, state) = warm::get(&po.store, &warm_id).await?;
    assert_eq!(state, "planned");
    assert_eq!(
        planned.agenda.len(),
        warm::AGENDA.len(),
        "the handbook's agenda"
    );
    warm::hold(
        &po.store,
        &ib,
        &warm_id,
        warm::Held {
            minutes: "Besproken: instroom, aanpak bij rekenen, contact met ouders.".into(),
            notes: vec![(1, "Extra tijd bij toetsen".into())],
            agreements: vec!["Mentor belt ouders in week 2".into()],
            aftercare: "IB-er is tot de herfstvakantie aanspreekpunt".into(),
            ..warm::Held::default()
        },
    )
    .await?;
    assert!(
        warm::share(&po.store, &po.directory, &ib, &warm_id, "", None)
            .await
            .is_err(),
        "no basis, no sharing"
    );
    let record = carenet_e2e::granted_consent(
        &po.store,
        Purpose::TransferDossier,
        &["vo-1", "smw-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    let sent = warm::share(&po.store, &po.directory, &ib, &warm_id, &record, None).await?;
    assert_eq!(sent.len(), 2, "vo-1 and smw-1, not the school itself");
    for (party, kind, role) in [
        ("vo-1", PartyKind::VoSchool, Role::CareCoordinator),
        ("smw-1", PartyKind::ZatPartner, Role::ZatMember),
    ] {
        let store = region.handle(party).store;
        let reader = staff(&store, "reader-1", &[role]);
        let got = wait_until(T, || async {
            warm::received(&store, kind, &reader)
                .await
                .ok()?
                .into_iter()
                .next()
        })
        .await?;
        let listed = incoming::received_documents(&store, kind, &reader).await?;
        assert!(listed.iter().any(|r| r.document_type == incoming::WARM_TYPE
            && r.sender == "po-1"
            && r.status == "available"));
        assert_eq!(got.id, warm_id);
        assert_eq!(got.agreements, ["Mentor belt ouders in week 2"]);
        assert_eq!(got.agenda[1].notes, "Extra tijd bij toetsen");
        assert!(!got.held_on.is_empty());
        // The received dossier's page: only what that sender shared about
        // that dossier.
        let about = warm::received_about(&store, kind, &reader, "po-1", &id).await?;
        assert_eq!(about, [got]);
        assert!(
            warm::received_about(&store, kind, &reader, "po-2", &id)
                .await?
                .is_empty()
        );
        assert!(
            warm::received_about(&store, kind, &reader, "po-1", "other")
                .await?
                .is_empty()
        );
    }
    // The dossier's own page lists its conversations, without content.
    let listed = warm::of_dossier(&po.store, &ib, &id).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].state.as_str()),
        (warm_id.as_str(), "held")
    );
    assert!(warm::of_dossier(&po.store, &ib, "other").await?.is_empty());
    let teacher = staff(&po.store, "t-1", &[Role::Teacher]);
    assert!(warm::of_dossier(&po.store, &teacher, &id).await.is_err());
    assert!(warm::view(&po.store, &teacher, &warm_id).await.is_err());
    // Changed and sent again under the form's id: a conversation of its own.
    let later = today().next_day().expect("a next day");
    let other = plan(who, later).await?;
    assert_ne!(other, warm_id);
    assert_eq!(warm::of_dossier(&po.store, &ib, &id).await?.len(), 2);
    let row = outgoing_status(&po.store, &id).await.unwrap();
    assert_eq!(row.warm_handover, "held");
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_change_inside_one_school_reaches_the_new_mentor() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1");
    let zc = staff(&vo.store, "zc-1", &[Role::CareCoordinator]);
    let id = dossier::import_oso(
        &vo.store,
        &zc,
        &example("BB_full"),
        "pupil-1",
        Route::Internal,
    )
    .await?;
    let to = [PartyId::parse("to", "vo-1")?];
    assert!(
        dossier::publish(&vo.store, &vo.directory, &zc, &id, &to, None)
            .await
            .is_err(),
        "nothing leaves the school"
    );
    // The mentor change has its own agenda (handbook 7.2).
    let warm_id = warm::plan(
        &vo.store,
        &zc,
        &id,
        None,
        vec![v1::Participant {
            role: ParticipantRole::Mentor as i32,
            party_id: "vo-1".into(),
            staff_ref: "mentor-2b".into(),
        }],
        today(),
    )
    .await?;
    let (planned, _) = warm::get(&vo.store, &warm_id).await?;
    assert_eq!(planned.agenda.len(), warm::AGENDA_MENTOR_CHANGE.len());
    assert!(planned.agenda[1].topic.contains("vorige mentor"));
    let item =
        dossier::hand_over_internally(&vo.store, PartyKind::VoSchool, &zc, &id, "mentor-2b", &[])
            .await?;
    let new_mentor = staff(&vo.store, "mentor-2b", &[Role::Mentor]);
    let digest = incoming::open_digest(&vo.store, &new_mentor, &item).await?;
    assert_eq!(digest.pupil, "Daan van de Berg");
    let row = outgoing_status(&vo.store, &id).await.unwrap();
    assert_eq!(row.status, "read");
    assert_eq!(
        vo.store.outbox_count("pending").await? + vo.store.outbox_count("delivered").await?,
        0
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_purge_deletes_old_dossiers_and_leaves_proof() -> anyhow::Result<()> {
    let (_dir, store) = carenet_e2e::fresh_store("po-1").await?;
    let ib = staff(&store, "ib-1", &[Role::SupportCoordinatorPo]);
    let id = dossier::create(
        &store,
        &ib,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    assert_eq!(
        dossier::purge_expired(&store, 730, now_ms()).await?,
        0,
        "not yet"
    );
    let later = now_ms() + 731 * 86_400_000;
    assert_eq!(dossier::purge_expired(&store, 730, later).await?, 1);
    assert!(matches!(
        dossier::get(&store, &id).await,
        Err(Error::NotFound(_))
    ));
    let audit = carenet_fabric::audit::list(&store.db, 0, 100).await?;
    assert!(
        audit
            .iter()
            .any(|r| r.action == "purged" && r.message_id == id && !r.payload_sha256.is_empty())
    );
    assert!(carenet_fabric::audit::verify(&store.db).await?.is_ok());
    Ok(())
}

/// The refusal is a permission error naming the roles that would do, and the
/// audit log holds `refused:<action>` with the actor's staff id and roles.
/// How many refusals of `action` by `actor` the log holds.
async fn refusals(store: &Store, actor: &Actor, action: &str) -> usize {
    carenet_fabric::audit::list(&store.db, 0, 100_000)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.action == format!("refused:{action}") && r.actor == actor.audit_name())
        .count()
}

fn check_refused<T: std::fmt::Debug>(result: Result<T, Error>, action: &str) {
    let err = result.expect_err("refused");
    assert!(err.is_permission_denied(), "{action}: {err:?}");
    let text = err.to_string();
    assert!(
        text.contains("needs the role")
            || text.contains("assigned")
            || text.contains("is for staff of"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_handover_step_checks_the_role_and_audits_a_refusal() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let swv = region.handle("swv");
    let (p, v) = (&po.store, &vo.store);
    let ib = staff(p, "ib-1", &[Role::SupportCoordinatorPo]);
    let po_mentor = staff(p, "mentor-1", &[Role::Mentor]);
    let po_teacher = staff(p, "teacher-1", &[Role::Teacher]);
    let zc = staff(v, "zc-1", &[Role::CareCoordinator]);
    let mentor = staff(v, "mentor-1", &[Role::Mentor]);
    let teacher = staff(v, "teacher-2", &[Role::Teacher]);
    let team_lead = staff(v, "tl-1", &[Role::TeamLead]);
    let vo_ib = staff(v, "ib-9", &[Role::SupportCoordinatorPo]);

    // Compose: IB, care coordinator or mentor; not a teacher.
    let d = unseen_povo(Extras::default());
    assert_refused!(
        p,
        dossier::create(p, &po_teacher, "pupil-1", Route::PoVo, &d).await,
        &po_teacher,
        "dossier_compose",
    );
    // Staff of another party act for nobody here.
    let outsider = staff(v, "zc-1", &[Role::CareCoordinator]);
    assert_refused!(
        p,
        dossier::create(p, &outsider, "pupil-1", Route::PoVo, &d).await,
        &outsider,
        "dossier_compose",
    );
    let id = dossier::create(p, &po_mentor, "pupil-1", Route::PoVo, &d).await?;
    let edit = dossier::ExtrasEdit {
        what_works: Some("Vaste plek vooraan.".into()),
        ..Default::default()
    };
    assert_refused!(
        p,
        dossier::set_extras(p, &po_teacher, &id, &edit).await,
        &po_teacher,
        "dossier_compose",
    );
    assert_eq!(
        dossier::set_extras(p, &po_mentor, &id, &edit).await?,
        dossier::ExtrasOutcome::Edited
    );
    assert_refused!(
        p,
        dossier::submit_for_inspection(p, &po_teacher, &id).await,
        &po_teacher,
        "dossier_compose",
    );
    dossier::submit_for_inspection(p, &po_mentor, &id).await?;

    // Inzage and release: IB or care coordinator only.
    assert_refused!(
        p,
        dossier::record_inspection(p, &po_mentor, &id, today(), dossier::GuardiansView::none())
            .await,
        &po_mentor,
        "inspection_record",
    );
    assert_eq!(
        dossier::get(p, &id).await?.state,
        dossier::DossierState::AwaitingInspection,
        "a refusal changes nothing"
    );
    dossier::record_inspection(p, &ib, &id, today(), dossier::GuardiansView::none()).await?;
    let to = [PartyId::parse("to", "vo-1")?];
    assert_refused!(
        p,
        dossier::publish(p, &po.directory, &po_mentor, &id, &to, None).await,
        &po_mentor,
        "dossier_publish",
    );
    dossier::publish(p, &po.directory, &ib, &id, &to, None).await?;
    let item = wait_incoming(v, 1).await?;

    // The overview: care coordinator, IB, team lead; not a mentor.
    assert_refused!(
        v,
        season::season(v, PartyKind::VoSchool, &mentor, 0, &Filter::default()).await,
        &mentor,
        "handover_overview",
    );
    assert_eq!(
        season::season(v, PartyKind::VoSchool, &team_lead, 0, &Filter::default())
            .await?
            .len(),
        1
    );
    assert_refused!(
        v,
        incoming::received_documents(v, PartyKind::VoSchool, &teacher).await,
        &teacher,
        "handover_overview",
    );
    assert!(
        !incoming::received_documents(v, PartyKind::VoSchool, &zc)
            .await?
            .is_empty()
    );
    // At the SWV any staff role lists what it received, but not the admin.
    let swv_staff = staff(&swv.store, "swv-1", &[Role::SwvStaff]);
    let admin = staff(&swv.store, "admin-1", &[Role::Admin]);
    incoming::received_documents(&swv.store, PartyKind::Swv, &swv_staff).await?;
    assert_refused!(
        &swv.store,
        incoming::received_documents(&swv.store, PartyKind::Swv, &admin).await,
        &admin,
        "handover_overview",
    );

    // Assign: the care coordinator (an IB only at a primary school).
    let m = item.message_id.as_str();
    assert_refused!(
        v,
        incoming::assign(v, PartyKind::VoSchool, &mentor, m, "mentor-1", &[]).await,
        &mentor,
        "dossier_assign",
    );
    assert_refused!(
        v,
        incoming::assign(v, PartyKind::VoSchool, &vo_ib, m, "mentor-1", &[]).await,
        &vo_ib,
        "dossier_assign",
    );
    incoming::assign(
        v,
        PartyKind::VoSchool,
        &zc,
        m,
        "mentor-1",
        &["teacher-2".into()],
    )
    .await?;

    // The digest: only the assigned mentor or teacher, in that role.
    assert_refused!(
        v,
        incoming::open_digest(v, &zc, m).await,
        &zc,
        "digest_open",
    );
    let other_teacher = staff(v, "teacher-9", &[Role::Teacher]);
    assert_refused!(
        v,
        incoming::open_digest(v, &other_teacher, m).await,
        &other_teacher,
        "digest_open",
    );
    let mentor_as_coordinator = staff(v, "mentor-1", &[Role::CareCoordinator]);
    assert_refused!(
        v,
        incoming::open_digest(v, &mentor_as_coordinator, m).await,
        &mentor_as_coordinator,
        "digest_open",
    );
    incoming::open_digest(v, &teacher, m).await?;
    incoming::open_digest(v, &mentor, m).await?;

    // IZO: mentor or care coordinator.
    assert_refused!(
        v,
        incoming::register_for_izo(v, &teacher, m, "Afstemming", true, None).await,
        &teacher,
        "izo_register",
    );
    incoming::register_for_izo(v, &mentor, m, "Afstemming", true, None).await?;

    // Feedback: sent by a mentor or care coordinator, read by the IB.
    let record = carenet_e2e::granted_consent(
        v,
        Purpose::FeedbackToSender,
        &["po-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    assert_refused!(
        v,
        incoming::send_feedback(v, &teacher, m, "Goed gestart.", &record, "pupil-1").await,
        &teacher,
        "feedback_send",
    );
    // The pupil this school registered for the dossier: by the one who assigns.
    assert_refused!(
        v,
        incoming::register_pupil(v, PartyKind::VoSchool, &mentor, m, "pupil-1").await,
        &mentor,
        "dossier_assign",
    );
    let e = incoming::send_feedback(v, &zc, m, "Goed gestart.", &record, "pupil-1")
        .await
        .expect_err("no pupil registered yet");
    assert!(e.to_string().starts_with("child_ref:"), "{e}");
    incoming::register_pupil(v, PartyKind::VoSchool, &zc, m, "pupil-1").await?;
    let e = incoming::send_feedback(v, &zc, m, "Goed gestart.", &record, "pupil-9")
        .await
        .expect_err("another pupil's consent");
    assert!(e.to_string().starts_with("child_ref:"), "{e}");
    // A mentor who is not this pupil's mentor: refused and audited.
    let other_mentor = staff(v, "mentor-3", &[Role::Mentor]);
    assert_refused!(
        v,
        incoming::send_feedback(v, &other_mentor, m, "Goed gestart.", &record, "pupil-1").await,
        &other_mentor,
        "feedback_send",
    );
    incoming::send_feedback(v, &zc, m, "Goed gestart.", &record, "pupil-1").await?;
    assert_refused!(
        p,
        incoming::feedback_received(p, &po_mentor).await,
        &po_mentor,
        "feedback_read",
    );
    let fb = wait_until(T, || async {
        let f = incoming::feedback_received(p, &ib).await.ok()?;
        (!f.is_empty()).then_some(f)
    })
    .await?;
    assert_eq!(fb[0].text, "Goed gestart.");
    let po_audit = carenet_fabric::audit::list(&p.db, 0, 100_000).await?;
    assert!(
        po_audit
            .iter()
            .any(|r| r.action == "feedback_read" && r.actor == "ib-1[support_coordinator_po]")
    );

    // The warm handover: care coordinator, IB or mentor.
    let participants = vec![v1::Participant {
        role: ParticipantRole::SupportCoordinatorPo as i32,
        party_id: "po-1".into(),
        staff_ref: "ib-1".into(),
    }];
    assert_refused!(
        p,
        warm::plan(p, &po_teacher, &id, None, participants.clone(), today()).await,
        &po_teacher,
        "warm_handover",
    );
    let warm_id = warm::plan(p, &po_mentor, &id, None, participants, today()).await?;
    let held = || warm::Held {
        minutes: "Besproken.".into(),
        ..warm::Held::default()
    };
    assert_refused!(
        p,
        warm::hold(p, &po_teacher, &warm_id, held()).await,
        &po_teacher,
        "warm_handover",
    );
    warm::hold(p, &ib, &warm_id, held()).await?;

    // Correct: IB or care coordinator.
    let mut corrected = dossier::get(p, &id).await?.dossier;
    corrected.extras.talents = Some("Tekenen".into());
    assert_refused!(
        p,
        dossier::correct(p, &po_mentor, &id, &corrected).await,
        &po_mentor,
        "dossier_correct",
    );
    assert_eq!(dossier::correct(p, &ib, &id, &corrected).await?, 2);

    // A handover inside the school: the care coordinator; at a primary school the IB too.
    let internal =
        dossier::import_oso(v, &zc, &example("BB_full"), "pupil-2", Route::Internal).await?;
    assert_refused!(
        v,
        dossier::hand_over_internally(v, PartyKind::VoSchool, &mentor, &internal, "mentor-2", &[])
            .await,
        &mentor,
        "internal_handover",
    );
    dossier::hand_over_internally(v, PartyKind::VoSchool, &zc, &internal, "mentor-2", &[]).await?;
    let po_internal =
        dossier::import_oso(p, &ib, &example("BB_full"), "pupil-3", Route::Internal).await?;
    dossier::hand_over_internally(p, PartyKind::PoSchool, &ib, &po_internal, "mentor-1", &[])
        .await?;

    // Successful steps name the actor and role in the audit log.
    let vo_audit = carenet_fabric::audit::list(&v.db, 0, 100_000).await?;
    for (action, who) in [
        ("dossier_assigned", "zc-1[care_coordinator]"),
        ("digest_opened", "mentor-1[mentor]"),
        ("izo_registered", "mentor-1[mentor]"),
    ] {
        assert!(
            vo_audit
                .iter()
                .any(|r| r.action == action && r.actor == who),
            "{action} by {who}"
        );
    }
    let po_audit = carenet_fabric::audit::list(&p.db, 0, 100_000).await?;
    for (action, who) in [
        ("dossier_created", "mentor-1[mentor]"),
        ("dossier_ready", "ib-1[support_coordinator_po]"),
        ("dossier_corrected", "ib-1[support_coordinator_po]"),
        ("warm_handover_held", "ib-1[support_coordinator_po]"),
    ] {
        assert!(
            po_audit
                .iter()
                .any(|r| r.action == action && r.actor == who),
            "{action} by {who}"
        );
    }
    assert!(carenet_fabric::audit::verify(&p.db).await?.is_ok());
    assert!(carenet_fabric::audit::verify(&v.db).await?.is_ok());
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_staff_editing_a_draft_at_once_lose_neither_edit() -> anyhow::Result<()> {
    let (_dir, store) = carenet_e2e::fresh_store("po-1").await?;
    let ib = staff(&store, "ib-1", &[Role::SupportCoordinatorPo]);
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let id = dossier::create(
        &store,
        &ib,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    for round in 0..10 {
        let works = dossier::ExtrasEdit {
            what_works: Some(format!("Korte opdrachten {round}")),
            ..Default::default()
        };
        let talents = dossier::ExtrasEdit {
            talents: Some(format!("Tekenen {round}")),
            ..Default::default()
        };
        let (a, b) = tokio::join!(
            dossier::set_extras(&store, &ib, &id, &works),
            dossier::set_extras(&store, &mentor, &id, &talents),
        );
        a?;
        b?;
        let extras = dossier::get(&store, &id).await?.dossier.extras;
        assert_eq!(extras.what_works, works.what_works, "round {round}");
        assert_eq!(extras.talents, talents.talents, "round {round}");
    }
    Ok(())
}
