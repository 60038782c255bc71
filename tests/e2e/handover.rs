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
use carenet_fabric::{PartyId, PartyKind};
use carenet_handover::dossier::{self, Route};
use carenet_handover::model::{Dossier, Extras};
use carenet_handover::season::{self, Filter};
use carenet_handover::{Error, incoming, oso, warm};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, ParticipantRole};
use prost::Message;
use time::OffsetDateTime;

use crate::oso::{examples, validate};

const T: Duration = Duration::from_secs(30);

fn example(part: &str) -> String {
    let path = examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains(part))
        .unwrap();
    std::fs::read_to_string(path).unwrap()
}

/// The POVO example without its inzage block: a dossier the guardians have not seen yet.
fn unseen_povo(extras: Extras) -> Dossier {
    let sections = oso::import(&example("POVO_full")).unwrap().sections;
    Dossier {
        sections: sections
            .into_iter()
            .filter(|s| s.category != Category::GuardianInspection)
            .collect(),
        extras,
    }
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

async fn wait_incoming(store: &Store, version: u32) -> anyhow::Result<incoming::Incoming> {
    wait_until(T, || async {
        incoming::list(store)
            .await
            .ok()?
            .into_iter()
            .find(|i| i.version == version)
    })
    .await
}

async fn outgoing_status(store: &Store, id: &str) -> Option<season::SeasonRow> {
    season::season(
        store,
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

    // The IB composes the dossier with what OSO lacks.
    let extras = Extras {
        what_works: Some("Korte instructie, daarna zelf aan de slag; vaste plek vooraan.".into()),
        what_to_avoid: Some("Onverwachte toetsen zonder aankondiging.".into()),
        talents: Some("Tekenen en techniek".into()),
        pupil_voice: Some("Ik wil graag naast iemand zitten die ik ken.".into()),
        ..Extras::default()
    };
    let id = dossier::create(
        &po.store,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(extras),
        "ib-1",
    )
    .await?;

    // No release before the guardians saw it.
    let refused = dossier::publish(&po.store, &po.directory, &id, &vo_id, None, "ib-1").await;
    assert!(matches!(refused, Err(Error::State { .. })), "{refused:?}");
    dossier::submit_for_inspection(&po.store, &id, "ib-1").await?;
    assert!(
        dossier::publish(&po.store, &po.directory, &id, &vo_id, None, "ib-1")
            .await
            .is_err()
    );
    // The guardians see it and add their view; the dossier is set ready.
    dossier::record_inspection(
        &po.store,
        &id,
        today(),
        Some("Wij herkennen ons kind hierin.".into()),
        "ib-1",
    )
    .await?;
    // Only a secondary school may receive a PO->VO dossier.
    let to_swv = dossier::publish(
        &po.store,
        &po.directory,
        &id,
        &[PartyId::parse("to", "swv")?],
        None,
        "ib-1",
    )
    .await;
    assert!(
        matches!(to_swv, Err(Error::InvalidArgument { .. })),
        "{to_swv:?}"
    );
    dossier::publish(&po.store, &po.directory, &id, &vo_id, None, "ib-1").await?;

    // The VO school receives it, verified, with the guardians' view and OSO inzage.
    let item = wait_incoming(&vo.store, 1).await?;
    assert_eq!(item.sender, "po-1");
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

    // Nobody but the recipient can claim the dossier was read.
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
            }
            .encode_to_vec(),
            actor: "x".into(),
            child_ref: None,
        }])
        .await?;
    wait_until(T, || async { po.store.received(&forged[0]).await.ok()? }).await?;
    wait_until(T, || async {
        outgoing_status(&po.store, &id)
            .await
            .filter(|r| r.status == "delivered")
    })
    .await?;

    // The care coordinator assigns it; only the mentor and teachers read the digest.
    incoming::assign(
        &vo.store,
        &item.message_id,
        "mentor-7",
        &["docent-3".into()],
        "zoco-1",
    )
    .await?;
    assert!(
        incoming::open_digest(&vo.store, &item.message_id, "someone-else")
            .await
            .is_err()
    );
    let digest = incoming::open_digest(&vo.store, &item.message_id, "mentor-7").await?;
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
    assert!(
        vo_audit
            .iter()
            .any(|r| r.action == "digest_opened" && r.message_id == item.message_id)
    );
    assert!(carenet_fabric::audit::verify(&vo.store.db).await?.is_ok());
    assert!(carenet_fabric::audit::verify(&po.store.db).await?.is_ok());

    // The receiving school registers the pupil for its IZO straight from the dossier.
    assert!(
        incoming::register_for_izo(
            &vo.store,
            &item.message_id,
            "Afstemming ondersteuning",
            false,
            None,
            "mentor-7"
        )
        .await
        .is_err()
    );
    incoming::register_for_izo(
        &vo.store,
        &item.message_id,
        "Afstemming ondersteuning",
        true,
        None,
        "mentor-7",
    )
    .await?;

    // A correction reaches the recipient as a new version, back to the guardians first.
    let mut corrected = dossier::get(&po.store, &id).await?.dossier;
    corrected.extras.what_works =
        Some("Instructie in kleine stappen, met een voorbeeld op het bord.".into());
    assert_eq!(
        dossier::correct(&po.store, &id, &corrected, "ib-1").await?,
        2
    );
    assert!(
        dossier::publish(&po.store, &po.directory, &id, &[], None, "ib-1")
            .await
            .is_err()
    );
    dossier::record_inspection(&po.store, &id, today(), None, "ib-1").await?;
    dossier::publish(&po.store, &po.directory, &id, &[], None, "ib-1").await?;
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
    let digest = incoming::open_digest(&vo.store, &v2.message_id, "mentor-7").await?;
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
    incoming::send_feedback(
        &vo.store,
        &due[0].message_id,
        "Daan is goed gestart in de brugklas.",
        &record,
        "mentor-7",
    )
    .await?;
    wait_until(T, || async {
        outgoing_status(&po.store, &id).await.filter(|r| r.feedback)
    })
    .await?;

    // The season views, and their CSV.
    let rows = season::season(&vo.store, 0, &Filter::default()).await?;
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
    let id = dossier::import_oso(
        &vo1.store,
        &example("VOVO_full"),
        "pupil-1",
        Route::VoVo,
        "zoco-1",
    )
    .await?;
    let to = [PartyId::parse("to", "vo-2")?];
    // VO->VO needs consent: no consent record, no release.
    let none = dossier::publish(&vo1.store, &vo1.directory, &id, &to, None, "zoco-1").await;
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
    dossier::publish(
        &vo1.store,
        &vo1.directory,
        &id,
        &to,
        Some(&record),
        "zoco-1",
    )
    .await?;
    let again = dossier::publish(
        &vo1.store,
        &vo1.directory,
        &id,
        &to,
        Some(&record),
        "zoco-1",
    )
    .await;
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
    let next = dossier::import_oso(
        &vo1.store,
        &example("VOVO_full"),
        "pupil-1",
        Route::VoVervolg,
        "mentor-4",
    )
    .await?;
    let mbo = [PartyId::parse("to", "mbo-1")?];
    let wrong = dossier::publish(
        &vo1.store,
        &vo1.directory,
        &next,
        &to,
        Some(&record),
        "mentor-4",
    )
    .await;
    assert!(
        wrong.is_err(),
        "a vervolg dossier goes to a follow-up institution: {wrong:?}"
    );
    let all: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .collect();
    let pupil_consent =
        carenet_e2e::granted_consent(&vo1.store, Purpose::TransferDossier, &["mbo-1"], all).await?;
    dossier::publish(
        &vo1.store,
        &vo1.directory,
        &next,
        &mbo,
        Some(&pupil_consent),
        "mentor-4",
    )
    .await?;
    let at_mbo = wait_incoming(&region.handle("mbo-1").store, 1).await?;
    assert_eq!(at_mbo.sender, "vo-1");

    // The guardians withdraw the VO->VO consent: VO 2 stops showing the dossier.
    ConsentStore::new(vo1.store.clone())
        .withdraw(
            &record,
            vec![v1::Grantor {
                role: GrantorRole::Guardian as i32,
                name: "ouder".into(),
            }],
            v1::Evidence {
                kind: EvidenceKind::PortalLogin as i32,
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
    assert!(
        incoming::assign(&vo2.store, &item.message_id, "mentor-1", &[], "zoco-2")
            .await
            .is_err()
    );
    let rows = season::season(&vo2.store, 0, &Filter::default()).await?;
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
    let id = dossier::create(
        &po.store,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
        "ib-1",
    )
    .await?;
    let participant = |role: ParticipantRole, party: &str, staff: &str| v1::Participant {
        role: role as i32,
        party_id: party.into(),
        staff_ref: staff.into(),
    };
    let warm_id = warm::plan(
        &po.store,
        &id,
        vec![
            participant(ParticipantRole::SupportCoordinatorPo, "po-1", "ib-1"),
            participant(ParticipantRole::CareCoordinator, "vo-1", "zoco-1"),
            participant(ParticipantRole::TeamLead, "smw-1", "smw-2"),
            participant(ParticipantRole::Guardian, "", ""),
            participant(ParticipantRole::Pupil, "", ""),
        ],
        today(),
        "ib-1",
    )
    .await?;
    let (planned, state) = warm::get(&po.store, &warm_id).await?;
    assert_eq!(state, "planned");
    assert_eq!(
        planned.agenda.len(),
        warm::AGENDA.len(),
        "the handbook's agenda"
    );
    warm::hold(
        &po.store,
        &warm_id,
        warm::Held {
            minutes: "Besproken: instroom, aanpak bij rekenen, contact met ouders.".into(),
            notes: vec![(1, "Extra tijd bij toetsen".into())],
            agreements: vec!["Mentor belt ouders in week 2".into()],
            aftercare: "IB-er is tot de herfstvakantie aanspreekpunt".into(),
            ..warm::Held::default()
        },
        "ib-1",
    )
    .await?;
    assert!(
        warm::share(&po.store, &po.directory, &warm_id, "", "ib-1")
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
    let sent = warm::share(&po.store, &po.directory, &warm_id, &record, "ib-1").await?;
    assert_eq!(sent.len(), 2, "vo-1 and smw-1, not the school itself");
    for party in ["vo-1", "smw-1"] {
        let store = region.handle(party).store;
        let got = wait_until(T, || async {
            warm::received(&store).await.ok()?.into_iter().next()
        })
        .await?;
        assert_eq!(got.id, warm_id);
        assert_eq!(got.agreements, ["Mentor belt ouders in week 2"]);
        assert_eq!(got.agenda[1].notes, "Extra tijd bij toetsen");
        assert!(!got.held_on.is_empty());
    }
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
    let id = dossier::import_oso(
        &vo.store,
        &example("BB_full"),
        "pupil-1",
        Route::Internal,
        "zoco-1",
    )
    .await?;
    let to = [PartyId::parse("to", "vo-1")?];
    assert!(
        dossier::publish(&vo.store, &vo.directory, &id, &to, None, "zoco-1")
            .await
            .is_err(),
        "nothing leaves the school"
    );
    let item = dossier::hand_over_internally(&vo.store, &id, "mentor-2b", &[], "zoco-1").await?;
    let digest = incoming::open_digest(&vo.store, &item, "mentor-2b").await?;
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
    let id = dossier::create(
        &store,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
        "ib-1",
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

/// Runs `carenet` on a party of a live test region; returns stdout, or fails with stderr.
fn cli(region: &TestRegion, party: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(carenet_e2e::carenet_bin())
        .args(args)
        .arg("--data-dir")
        .arg(region.dir.path())
        .args(["--party", party])
        .env("RUST_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "carenet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handover_runs_from_the_command_line_on_a_live_region() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("unseen.xml");
    // A file from the administration system that the guardians have not seen yet.
    std::fs::write(
        &file,
        example("POVO_full").replace("<inzage>true</inzage>", "<inzage>false</inzage>"),
    )?;
    let out = cli(
        &region,
        "po-1",
        &[
            "oso",
            "import",
            &file.display().to_string(),
            "--recorded-by",
            "ib-1",
        ],
    )?;
    let (id, state) = out.trim().split_once(' ').unwrap();
    assert_eq!(state, "draft");
    let early = cli(
        &region,
        "po-1",
        &[
            "handover",
            "publish",
            "--dossier",
            id,
            "--to",
            "vo-1",
            "--by",
            "ib-1",
        ],
    );
    assert!(early.is_err(), "no release before inzage");
    cli(
        &region,
        "po-1",
        &[
            "handover",
            "inspection",
            "--dossier",
            id,
            "--guardian-view",
            "Akkoord",
            "--by",
            "ib-1",
        ],
    )?;
    let queued = cli(
        &region,
        "po-1",
        &[
            "handover",
            "publish",
            "--dossier",
            id,
            "--to",
            "vo-1",
            "--by",
            "ib-1",
        ],
    )?;
    assert!(queued.starts_with("queued "), "{queued}");
    // The running nodes deliver it; the VO school works from the command line too.
    let vo = region.handle("vo-1");
    let item = wait_incoming(&vo.store, 1).await?;
    let season = cli(
        &region,
        "vo-1",
        &["handover", "season", "--direction", "in"],
    )?;
    assert!(
        season.contains(&item.message_id) && season.contains("received"),
        "{season}"
    );
    cli(
        &region,
        "vo-1",
        &[
            "handover",
            "assign",
            "--message",
            &item.message_id,
            "--mentor",
            "mentor-7",
            "--by",
            "zoco-1",
        ],
    )?;
    let digest = cli(
        &region,
        "vo-1",
        &[
            "handover",
            "digest",
            "--message",
            &item.message_id,
            "--staff",
            "mentor-7",
        ],
    )?;
    assert!(
        digest.contains("Zienswijze ouders") && digest.contains("Akkoord"),
        "{digest}"
    );
    let po = region.handle("po-1");
    wait_until(T, || async {
        outgoing_status(&po.store, id)
            .await
            .filter(|r| r.status == "read")
    })
    .await?;
    let csv = cli(&region, "po-1", &["handover", "season", "--csv"])?;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("uit,") && l.contains(",read,")),
        "{csv}"
    );
    region.shutdown().await
}
