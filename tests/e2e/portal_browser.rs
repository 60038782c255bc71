//! The parent portal's links and age rules in real browsers (headless
//! Chromium against the gateways of real nodes and a real OpenID Connect
//! provider; see `tests/browser/portal_links.mjs` and `portal_age.mjs`),
//! then what the nodes recorded.

use carenet_consent::links::{self, NewInvitation};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::{Actor, PartyKind, Role};
use carenet_proto::v1::{self, consent_recipient::Target};

use crate::gateway::{bind, browser, gateway, provider, shots_dir};
use crate::three_parties;

/// Item 2 in the browser: a revoked guardian is signed out of the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_guardian_is_signed_out_of_the_child() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let po = region.start("po-1").await?;
    let ib = Actor::new(po.store.party.clone(), "ib-1", [Role::SupportCoordinatorPo])?;
    // The school asks the guardians' consent for pupil-1's dossier.
    let born = time::macros::date!(2014 - 05 - 01);
    ConsentStore::new(po.store.clone())
        .request(
            &ib,
            &ConsentRequest {
                child_ref: "pupil-1".into(),
                child_birth_date: born,
                purpose: Purpose::TransferDossier,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("vo-1".into())),
                }],
                categories: vec![Category::Pupil, Category::TransferAdvice],
                valid_from: carenet_fabric::clock::today(),
                valid_until: None,
            },
        )
        .await?;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "po-1", &issuer, listener, &base).await?;
    let shots = shots_dir("portal-links");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    browser(
        "portal_links.mjs",
        &[
            ("PO_URL", &base),
            ("SHOTS_DIR", &shots_s),
            ("CHILD", "pupil-1"),
            ("BORN", "2014-05-01"),
        ],
        "all portal link checks passed",
    )
    .await?;
    gw.stop().await;
    let log = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in [
        "guardian_invited",
        "guardian_invitation_withdrawn",
        "guardian_linked",
        "guardian_link_revoked",
        "refused:portal_child",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(
        log.iter().all(|r| !format!("{r:?}").contains("rechtbank")),
        "the reason stays out of the audit log"
    );
    region.shutdown().await
}

/// Item 3 in the browser: a guardian of a 17-year-old does not see the
/// pupil's own consents (nor their disclosures, dossier or plan).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_of_a_17_year_old_does_not_see_the_pupils_own_consents() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    let vo = region.start("vo-1").await?;
    let store = vo.store.clone();
    let zc = Actor::new(store.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let today = carenet_fabric::clock::today();
    let born = today.replace_year(today.year() - 17)?;
    // The pupil consented alone to sharing with any ZAT partner (youth care).
    let consents = ConsentStore::new(store.clone());
    let own = consents
        .request(
            &zc,
            &ConsentRequest {
                child_ref: "vo-pupil-17".into(),
                child_birth_date: born,
                purpose: Purpose::ShareWithPartner,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::Kind(PartyKind::ZatPartner.to_proto() as i32)),
                }],
                categories: vec![Category::Pupil, Category::CareHistory],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    consents
        .grant(
            &zc,
            &own,
            &Decision {
                grantors: vec![v1::Grantor {
                    role: v1::GrantorRole::Pupil as i32,
                    name: "de leerling".into(),
                }],
                evidence: v1::Evidence {
                    kind: v1::EvidenceKind::RecordedConversation as i32,
                    ..Default::default()
                },
                today,
            },
        )
        .await?;
    let dossier = carenet_handover::dossier::create(
        &store,
        &zc,
        "vo-pupil-17",
        carenet_handover::dossier::Route::VoVervolg,
        &crate::handover::unseen_vombo(),
    )
    .await?;
    carenet_handover::dossier::submit_for_inspection(&store, &zc, &dossier).await?;
    let code = links::invite(
        &store,
        &zc,
        &NewInvitation {
            child_ref: "vo-pupil-17".into(),
            guardian_name: "J. de Vries".into(),
            child_birth_date: born,
            days: 30,
        },
        true,
    )
    .await?
    .code;
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "vo-1", &issuer, listener, &base).await?;
    let shots = shots_dir("portal-age");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    browser(
        "portal_age.mjs",
        &[
            ("VO_URL", &base),
            ("SHOTS_DIR", &shots_s),
            ("CODE", &code),
            ("DOSSIER_ID", &dossier),
        ],
        "all portal age checks passed",
    )
    .await?;
    gw.stop().await;
    // Nothing changed: the pupil's consent stands, no inzage was recorded.
    let current = consents.latest(&own).await?.expect("record");
    assert_eq!(current.status(), v1::ConsentStatus::Granted);
    let d = carenet_handover::dossier::get(&store, &dossier).await?;
    assert_eq!(
        d.state,
        carenet_handover::dossier::DossierState::AwaitingInspection
    );
    let log = carenet_fabric::audit::list(&store.db, 0, 10_000).await?;
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in [
        "refused:portal_disclosures",
        "refused:portal_dossier",
        "refused:portal_inspection",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    region.shutdown().await
}
