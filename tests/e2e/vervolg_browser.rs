//! The follow-up institution works like a school (issue 19, item 2): the
//! VO→vervolg route in real browsers (headless Chromium against the
//! gateways of a secondary school and an mbo, real nodes, the real OpenID
//! Connect provider; `tests/browser/vervolg.mjs`), then what the nodes
//! recorded: the pupil's own consent from the portal, the mbo's own roles
//! at work, "read" back at the sender, the warm handover with the
//! handbook's 7.3 agenda and the feedback.

use carenet_consent::record::ConsentStore;
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::{Actor, PartyKind, Role};
use carenet_handover::dossier::{self, DossierState, Route};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;

use crate::gateway::{bind, browser, gateway, provider, shots_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_of_17_consents_and_the_mbo_reads_assigns_and_answers_in_the_browser()
-> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("mbo-1", PartyKind::Vervolg, "MBO 1"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let mbo = region.handle("mbo-1").store;
    let zc = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 17)?;
    let child = "vo-pupil-17";
    // The VO school's dossier for the mbo: the OSO file (VOMBO) states the
    // inzage, which the care coordinator's import records: ready to send.
    let vombo = crate::handover::example("VOVO_full")
        .replace("<overstap>VOVO</overstap>", "<overstap>VOMBO</overstap>");
    let id = dossier::import_oso(&vo, &zc, &vombo, child, Route::VoVervolg).await?;
    assert_eq!(dossier::get(&vo, &id).await?.state, DossierState::Ready);
    // The mbo's staff list: its SLB is picked by name before first signing in.
    let beheer = Actor::new(mbo.party.clone(), "beheer-1", [Role::Admin])?;
    carenet_gateway::staff_directory::import(
        &mbo,
        &beheer,
        "slb-5;Youssef Bennani;study_career_coach;ov-1\nintake-4;Karin Smit;intake_coordinator;\n",
    )
    .await?;

    let (vo_listener, vo_base) = bind().await?;
    let (mbo_listener, mbo_base) = bind().await?;
    let (_provider, issuer) = provider(&[&vo_base, &mbo_base]).await?;
    let vo_gw = gateway(&region, "vo-1", &issuer, vo_listener, &vo_base).await?;
    let mbo_gw = gateway(&region, "mbo-1", &issuer, mbo_listener, &mbo_base).await?;
    let shots = shots_dir("vervolg");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    let born_s = carenet_consent::record::format_date(born);
    browser(
        "vervolg.mjs",
        &[
            ("VO_URL", &vo_base),
            ("MBO_URL", &mbo_base),
            ("SHOTS_DIR", &shots_s),
            ("DOSSIER_ID", &id),
            ("CHILD", child),
            ("BORN", &born_s),
        ],
        "all vervolg checks passed",
    )
    .await?;
    vo_gw.stop().await;
    mbo_gw.stop().await;
    for shot in [
        "50-uitnodiging-leerling-zelf",
        "52-leerling-start",
        "53-leerling-toestemmingsvraag",
        "54a-leerling-dossier",
        "56-mbo-intake-start",
        "58-mbo-toegewezen",
        "60-slb-samenvatting",
        "61-vo-gelezen-door-begeleider",
        "63-slb-warme-overdracht-verslag",
        "65-vo-terugkoppeling-ontvangen",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}");
    }

    // The consent the dossier left under is the pupil's own, from the portal.
    let records: Vec<(String,)> = carenet_fabric::with_db!(&vo.db, pool => {
        sqlx::query_as(
            "SELECT DISTINCT record_id FROM consent_version WHERE child_ref = $1 AND purpose = 'transfer_dossier'",
        )
        .bind(child)
        .fetch_all(pool)
        .await?
    });
    assert_eq!(records.len(), 1, "{records:?}");
    let consent = ConsentStore::new(vo.clone())
        .latest(&records[0].0)
        .await?
        .expect("the record");
    assert_eq!(consent.status(), v1::ConsentStatus::Granted);
    let grantors = &consent.version.grantors;
    assert_eq!(grantors.len(), 1);
    assert_eq!(grantors[0].role, v1::GrantorRole::Pupil as i32);
    assert_eq!(
        consent.version.evidence.as_ref().map(|e| e.kind),
        Some(v1::EvidenceKind::PortalLogin as i32)
    );
    let vo_log = carenet_fabric::audit::list(&vo.db, 0, 100_000).await?;
    let actions: Vec<&str> = vo_log.iter().map(|r| r.action.as_str()).collect();
    for a in ["pupil_invited", "pupil_linked"] {
        assert!(actions.contains(&a), "{a} at the VO school: {actions:?}");
    }
    // The grant was the login's own, not a member of staff's.
    assert!(
        vo_log
            .iter()
            .any(|r| r.action == "consent_grant" && r.actor.starts_with("guardian.")),
        "{actions:?}"
    );
    // At the mbo its own roles did the work; nothing was refused on the way.
    let mbo_log = carenet_fabric::audit::list(&mbo.db, 0, 100_000).await?;
    let did = |action: &str, who: &str| {
        mbo_log
            .iter()
            .any(|r| r.action == action && r.actor.starts_with(who))
    };
    assert!(
        did("dossier_assigned", "intake-4[intake_coordinator]"),
        "{:?}",
        mbo_log
            .iter()
            .map(|r| (&r.actor, &r.action))
            .collect::<Vec<_>>()
    );
    assert!(did("digest_opened", "slb-5[study_career_coach]"));
    // The SLB's feedback reached the VO school's dossier.
    let feedback = carenet_handover::incoming::feedback_about(&vo, &zc, &id).await?;
    assert!(
        feedback
            .iter()
            .any(|f| f.from_party == "mbo-1" && f.text.contains("stage gevonden")),
        "{feedback:?}"
    );
    let refused: Vec<_> = mbo_log
        .iter()
        .filter(|r| r.action.starts_with("refused:"))
        .map(|r| (&r.actor, &r.action))
        .collect();
    assert!(refused.is_empty(), "refusals at the mbo: {refused:?}");
    // The warm handover the SLB held carries the handbook's whole 7.3 agenda.
    let warm: Vec<(Vec<u8>, String)> = carenet_fabric::with_db!(&mbo.db, pool => {
        sqlx::query_as("SELECT record, state FROM warm_handover").fetch_all(pool).await?
    });
    assert_eq!(warm.len(), 1);
    assert_eq!(warm[0].1, "held");
    let record = <v1::WarmHandover as prost::Message>::decode(warm[0].0.as_slice())?;
    let topics: Vec<&str> = record.agenda.iter().map(|a| a.topic.as_str()).collect();
    assert_eq!(
        topics,
        carenet_handover::warm::agenda(Route::VoVervolg).to_vec()
    );
    assert!(!record.aftercare.is_empty());
    region.shutdown().await
}
