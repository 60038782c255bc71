//! Safe defaults and visible consequences of releasing a transfer dossier,
//! over real nodes, the real provider and two gateways: the publish form
//! proposes the school the guardians consented to and that consent, with
//! what the guardians answered beside it; a school the consent does not
//! name is refused before anything is queued; withdrawing the consent asks
//! for confirmation first, and afterwards the receiving mentor's list and
//! page and the coordinator's season view say "ingetrokken op …" (no 404),
//! and the sending school sees the withdrawal instead of "read by mentor".

use std::time::Duration;

use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, wait_until};
use carenet_fabric::{PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, DOSSIER_TYPE, DossierState, Route};
use carenet_handover::incoming;
use carenet_handover::model::Extras;
use carenet_node::region::PartyPlan;
use reqwest::header::COOKIE;

use crate::gateway::{bind, gateway, provider};
use crate::gateway_sessions::{csrf, http, page, sign_in};
use crate::handover::{outgoing_status, staff, unseen_povo, wait_incoming};

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_proposes_the_consented_school_refuses_another_and_a_withdrawal_shows_everywhere()
-> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "De Linde"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "Het Baken"),
        PartyPlan::new("vo-2", PartyKind::VoSchool, "De Brug"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);

    // A dossier the guardians saw and agreed with, and their consent to
    // send it to Het Baken (vo-1), not to De Brug (vo-2).
    let id = dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        Route::PoVo,
        &unseen_povo(Extras::default()),
    )
    .await?;
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;
    dossier::record_inspection(
        &po.store,
        &ib,
        &id,
        carenet_fabric::clock::today(),
        dossier::GuardiansView::new(
            Some("Wij herkennen ons kind hierin.".into()),
            dossier::Akkoord::Yes,
        ),
    )
    .await?;
    let all: Vec<Category> = Category::all()
        .filter(|c| c.oso_element().is_some())
        .collect();
    let record =
        carenet_e2e::granted_consent(&po.store, Purpose::TransferDossier, &["vo-1"], all).await?;
    let today = carenet_consent::record::date_text(&carenet_consent::record::format_date(
        carenet_fabric::clock::today(),
    ));

    let (po_listener, po_base) = bind().await?;
    let (vo_listener, vo_base) = bind().await?;
    let (_provider, issuer) = provider(&[&po_base, &vo_base]).await?;
    let po_gw = gateway(&region, "po-1", &issuer, po_listener, &po_base).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;
    let seg = |s: &str| s.replace('.', "%2E");

    // The form proposes the consented school and that consent, and shows
    // what the guardians answered beside the button.
    let ib_jar = sign_in(&po_base, "/inloggen", "ib-1").await?;
    let dossier_path = format!("/dossiers/{}", seg(&id));
    let (status, html) = page(&po_base, &dossier_path, &ib_jar).await?;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("<option value=\"vo-1\" selected>"),
        "the consented school is proposed: {html}"
    );
    assert!(
        !html.contains("<option value=\"vo-2\" selected>"),
        "not another school"
    );
    assert!(
        html.contains(&format!("<option value=\"{record}\" selected>")),
        "the consent naming it is proposed: {html}"
    );
    assert!(
        html.contains(&format!("gezien op {today}")) && html.contains("akkoord met de inhoud"),
        "what the guardians answered, and when: {html}"
    );
    assert!(html.contains("Wij herkennen ons kind hierin."));

    // A school the consent does not name is refused before sending: the
    // field is named, nothing is queued, the dossier stays ready.
    let token = csrf(&html)?;
    let wrong = http()
        .post(format!("{po_base}{dossier_path}/versturen"))
        .header(COOKIE, ib_jar.header())
        .header("origin", &po_base)
        .form(&[
            ("csrf", token.as_str()),
            ("recipient", "vo-2"),
            ("consent_record", record.as_str()),
        ])
        .send()
        .await?;
    let refused_status = wrong.status().as_u16();
    let refused = wrong.text().await?;
    assert_eq!(refused_status, 400, "{refused}");
    assert!(
        refused.contains(
            "De gekozen toestemming geldt niet voor deze leerling, dit doel of deze ontvanger"
        ),
        "the refusal says what is wrong, in Dutch: {refused}"
    );
    assert!(!refused.contains("does not name"), "no English: {refused}");
    assert!(
        po.store.sent_versions(DOSSIER_TYPE, &id).await?.is_empty(),
        "nothing was queued"
    );
    assert_eq!(
        dossier::get(&po.store, &id).await?.state,
        DossierState::Ready
    );
    // The slice refuses it the same way.
    let direct = dossier::publish(
        &po.store,
        &po.directory,
        &ib,
        &id,
        &[PartyId::parse("to", "vo-2")?],
        Some(&record),
    )
    .await;
    assert!(
        matches!(&direct, Err(carenet_handover::Error::InvalidArgument { field, .. }) if field == "recipient"),
        "{direct:?}"
    );
    assert!(po.store.sent_versions(DOSSIER_TYPE, &id).await?.is_empty());

    // The proposed school: sent, assigned to the mentor, read.
    let sent = http()
        .post(format!("{po_base}{dossier_path}/versturen"))
        .header(COOKIE, ib_jar.header())
        .header("origin", &po_base)
        .form(&[
            ("csrf", token.as_str()),
            ("recipient", "vo-1"),
            ("consent_record", record.as_str()),
        ])
        .send()
        .await?;
    assert_eq!(sent.status().as_u16(), 303, "{}", sent.text().await?);
    let item = wait_incoming(&vo.store, 1).await?;
    let message = item.message_id.clone();
    let zc = staff(&vo.store, "zc-9", &[Role::CareCoordinator]);
    incoming::assign(
        &vo.store,
        PartyKind::VoSchool,
        &zc,
        &message,
        "mentor-7",
        &[],
    )
    .await?;
    let mentor = staff(&vo.store, "mentor-7", &[Role::Mentor]);
    incoming::open_digest(&vo.store, &mentor, &message).await?;
    wait_until(T, || async {
        (outgoing_status(&po.store, &id).await?.status == "read").then_some(())
    })
    .await?;

    // Withdrawing asks first, on its own page, what will happen.
    let consent_path = format!("/toestemming/{}/intrekken", seg(&record));
    let (status, confirm) = page(&po_base, &consent_path, &ib_jar).await?;
    assert_eq!(status, 200, "{confirm}");
    for words in [
        "Toestemming intrekken?",
        "Het Baken krijgt meteen bericht",
        "kan het overdrachtsdossier niet meer lezen",
        "Ook de mentor",
        &format!("ingetrokken op {today}"),
        "De ouders zien in het ouderportaal",
        "Ja, toestemming intrekken",
    ] {
        assert!(confirm.contains(words), "{words:?} in {confirm}");
    }
    let withdrawn = http()
        .post(format!("{po_base}{consent_path}"))
        .header(COOKIE, ib_jar.header())
        .header("origin", &po_base)
        .form(&[
            ("csrf", csrf(&confirm)?.as_str()),
            ("grantor_name", "Ouder van de leerling"),
            ("grantor_role", "guardian"),
        ])
        .send()
        .await?;
    assert_eq!(withdrawn.status().as_u16(), 200);
    wait_until(T, || async {
        let i = incoming::get(&vo.store, &message).await.ok()?;
        (!i.available).then_some(())
    })
    .await?;

    // The receiving mentor: the list says so and its entry opens a page
    // that says so (not "Niet gevonden").
    let ingetrokken = format!("ingetrokken op {today}");
    let mentor_jar = sign_in(&vo_base, "/inloggen", "mentor-7").await?;
    let (status, list) = page(&vo_base, "/mijn-leerlingen", &mentor_jar).await?;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&ingetrokken), "{list}");
    assert!(!list.contains("(zonder naam)"), "{list}");
    let digest_path = format!("/ontvangen/{}/samenvatting", seg(&message));
    assert!(list.contains(&digest_path), "{list}");
    let (status, gone) = page(&vo_base, &digest_path, &mentor_jar).await?;
    assert_eq!(status, 200, "{gone}");
    assert!(gone.contains(&ingetrokken), "{gone}");
    assert!(gone.contains("De Linde"), "who withdrew it: {gone}");
    assert!(!gone.contains("Niet gevonden"));

    // The receiving coordinator: the season view and the dossier's page.
    let zc_jar = sign_in(&vo_base, "/inloggen", "zc-9").await?;
    let (status, season) = page(&vo_base, "/dossiers", &zc_jar).await?;
    assert_eq!(status, 200, "{season}");
    assert!(season.contains(&ingetrokken), "{season}");
    assert!(!season.contains("(zonder naam)"), "{season}");
    let (status, gone) = page(&vo_base, &format!("/ontvangen/{}", seg(&message)), &zc_jar).await?;
    assert_eq!(status, 200, "{gone}");
    assert!(gone.contains(&ingetrokken), "{gone}");

    // The sending school sees the withdrawal, not "read by mentor".
    let row = outgoing_status(&po.store, &id).await.unwrap();
    assert_eq!(row.status, "withdrawn");
    let (_, html) = page(&po_base, &dossier_path, &ib_jar).await?;
    assert!(html.contains(&ingetrokken), "{html}");
    assert!(!html.contains("gelezen door mentor"), "{html}");
    let (_, season) = page(&po_base, "/dossiers", &ib_jar).await?;
    assert!(season.contains(&ingetrokken), "{season}");
    assert!(
        season.contains("Daan van de Berg"),
        "the sender keeps the name: {season}"
    );

    po_gw.stop().await;
    vo_gw.stop().await;
    region.shutdown().await
}
