//! The guardians' inzage bound to what leaves, over real nodes: the akkoord
//! given on the portal is recorded with the content hash of the version the
//! guardians read; the receiving school gets that hash (the seal) and its
//! OSO export claims the inzage for it; a correction asks the guardians
//! again, an answer to the old version is refused, and a dossier whose
//! content is not what they approved does not leave.

use carenet_consent::links;
use carenet_consent::portal::{self, Guardian, Linked};
use carenet_e2e::{TestRegion, Tuning};
use carenet_fabric::store::Store;
use carenet_fabric::{PartyId, Role, with_db};
use carenet_handover::dossier::{self, Akkoord, DossierState, GuardiansView, InzageClaim};
use carenet_handover::inzage::{self, ContentHash};
use carenet_handover::model::Extras;
use carenet_handover::{Error, incoming};

use crate::handover::{staff, unseen_povo, wait_incoming};
use crate::oso::validate;

/// A guardian who signed in on the portal (a pseudonym of their login).
fn guardian(store: &Store) -> Guardian {
    use carenet_fabric::crypto::SigningKey;
    let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
    Guardian::from_login(
        store.party.clone(),
        &key,
        "https://broker.example",
        "ouder-inzage",
        "J. de Vries",
    )
}

/// The guardian linked to `child` with the school's one-time code.
async fn linked(store: &Store, child: &str) -> anyhow::Result<Linked> {
    let ib = staff(store, "ib-1", &[Role::SupportCoordinatorPo]);
    let code = links::invite(
        store,
        &ib,
        &links::NewInvitation {
            child_ref: child.into(),
            guardian_name: "J. de Vries".into(),
            child_birth_date: time::macros::date!(2014 - 05 - 01),
            days: 7,
        },
        true,
    )
    .await?
    .code;
    let g = guardian(store);
    portal::redeem(store, &g, &code).await?;
    Ok(portal::linked(store, &g, child).await?)
}

fn agree() -> GuardiansView {
    GuardiansView::new(Some("Wij herkennen ons kind.".into()), Akkoord::Yes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_akkoord_is_bound_to_the_version_the_guardians_saw() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let to_vo = [PartyId::parse("to", "vo-1")?];
    let ib = staff(&po.store, "ib-1", &[Role::SupportCoordinatorPo]);
    let zc = staff(&vo.store, "zc-1", &[Role::CareCoordinator]);
    let extras = Extras {
        what_works: Some("Korte instructie, daarna zelf aan de slag.".into()),
        ..Extras::default()
    };
    let id = dossier::create(
        &po.store,
        &ib,
        "pupil-1",
        dossier::Route::PoVo,
        &unseen_povo(extras),
    )
    .await?;
    dossier::submit_for_inspection(&po.store, &ib, &id).await?;

    // The guardian reads version 1; what they read has one hash.
    let link = linked(&po.store, "pupil-1").await?;
    let read = dossier::read_by_guardian(&po.store, &link, &id).await?;
    assert_eq!(read.version, 1);
    let v1 = ContentHash::of(&read.dossier).hex();
    assert!(
        !read.dossier.attachments().is_empty(),
        "attachments leave too"
    );
    // An answer to other content than the dossier's is not recorded.
    let stale =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &"0".repeat(64))
            .await;
    assert!(matches!(stale, Err(Error::Conflict(_))), "{stale:?}");
    assert_eq!(
        dossier::get(&po.store, &id).await?.state,
        DossierState::AwaitingInspection
    );
    let inspection =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v1).await?;

    // Stored: the inzage record holds the version, the hash and the akkoord
    // (and the audit chain the hash).
    let seen = carenet_consent::inspection::seen(&po.store, &inspection, &id)
        .await?
        .flatten()
        .expect("bound to content");
    assert_eq!(
        (
            seen.version,
            seen.content_sha256.as_str(),
            seen.akkoord.as_str()
        ),
        (1, v1.as_str(), "Ja")
    );
    let log = carenet_fabric::audit::list(&po.store.db, 0, 10_000).await?;
    assert!(log.iter().any(|r| r.action == "inspection_recorded"
        && r.message_id == inspection
        && hex::encode(&r.payload_sha256) == v1));
    // Their answer is not content: the ready dossier still has the hash they approved.
    let ready = dossier::get(&po.store, &id).await?;
    assert_eq!(ContentHash::of(&ready.dossier).hex(), v1);
    assert_eq!(
        ready.dossier.extras.guardian_view.as_deref(),
        Some("Wij herkennen ons kind.")
    );

    // Released: the receiving school gets the hash the guardians saw.
    dossier::publish(&po.store, &po.directory, &ib, &id, &to_vo, None).await?;
    let item = wait_incoming(&vo.store, 1).await?;
    let payload = vo
        .store
        .received(&item.message_id)
        .await?
        .expect("received")
        .payload;
    let received = incoming::dossier(&vo.store, &item.message_id).await?;
    let seal = inzage::check_received(&payload, &received).expect("a seal that verifies");
    assert_eq!(
        (seal.version, seal.content.hex(), seal.akkoord.as_str()),
        (1, v1.clone(), "Ja")
    );
    assert_eq!(seal.seen_on, carenet_fabric::clock::today().to_string());
    // Its OSO export claims the inzage for that hash, and is valid.
    let source = dossier::ExportSource::Received(item.message_id.clone());
    let (xml, claim) = dossier::export_oso_checked(&vo.store, &zc, &source).await?;
    assert_eq!(
        claim,
        InzageClaim::Bound {
            version: 1,
            content_sha256: v1.clone(),
            akkoord: "Ja".into()
        }
    );
    assert!(xml.contains("<inzage>true</inzage>") && xml.contains("<akkoord>Ja</akkoord>"));
    let file = region.dir.path().join("received-v1.xml");
    std::fs::write(&file, &xml)?;
    validate(&file, None)?;

    // A correction (the extras changed): a new version, before the guardians again.
    let edit = dossier::ExtrasEdit {
        what_works: Some("Vaste plek vooraan, korte instructie.".into()),
        ..Default::default()
    };
    assert_eq!(
        dossier::set_extras(&po.store, &ib, &id, &edit).await?,
        dossier::ExtrasOutcome::Corrected(2)
    );
    let listed = dossier::for_guardian(&po.store, &link).await?;
    assert_eq!(
        listed,
        vec![(id.clone(), 2, DossierState::AwaitingInspection)],
        "asked again"
    );
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    assert!(
        refused.is_err(),
        "no release of version 2 on version 1's inzage"
    );
    // The school's own export no longer claims version 1's inzage for version 2.
    let (xml, claim) =
        dossier::export_oso_checked(&po.store, &ib, &dossier::ExportSource::Own(id.clone()))
            .await?;
    assert!(matches!(claim, InzageClaim::NotClaimed(_)), "{claim:?}");
    assert!(
        xml.contains("<voorlopigdossier>true</voorlopigdossier>")
            && xml.contains("<inzage>false</inzage>")
            && !xml.contains("<akkoord>"),
        "{xml}"
    );
    // The page the guardian read before is stale: its answer is refused.
    let old = dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v1).await;
    assert!(matches!(old, Err(Error::Conflict(_))), "{old:?}");
    let v2 = ContentHash::of(
        &dossier::read_by_guardian(&po.store, &link, &id)
            .await?
            .dossier,
    )
    .hex();
    assert_ne!(v2, v1);
    let second =
        dossier::record_inspection_by_guardian(&po.store, &link, &id, agree(), &v2).await?;

    // A standing akkoord for other content: publishing is refused, naming
    // the versions and hashes (the first inzage put back on version 2).
    let set_inspection = |inspection: String| {
        let store = po.store.clone();
        let id = id.clone();
        async move {
            with_db!(&store.db, pool => {
                sqlx::query("UPDATE handover_dossier SET inspection_id = $1 WHERE id = $2")
                    .bind(inspection)
                    .bind(&id)
                    .execute(pool)
                    .await
                    .map(|_| ())?
            });
            anyhow::Ok(())
        }
    };
    set_inspection(inspection.clone()).await?;
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    let Err(Error::Fabric(carenet_fabric::Error::FailedPrecondition(why))) = &refused else {
        panic!("{refused:?}");
    };
    assert!(
        why.contains("the guardians saw version 1") && why.contains(&inzage::short(&v1)),
        "{why}"
    );
    // The same when the content changed under the right record.
    set_inspection(second.clone()).await?;
    let honest = dossier::get(&po.store, &id).await?;
    let mut changed = honest.dossier.clone();
    changed.extras.what_to_avoid = Some("Onverwachte toetsen.".into());
    let set_document = |bytes: Vec<u8>| {
        let store = po.store.clone();
        let id = id.clone();
        async move {
            with_db!(&store.db, pool => {
                sqlx::query("UPDATE handover_dossier SET document = $1 WHERE id = $2")
                    .bind(bytes)
                    .bind(&id)
                    .execute(pool)
                    .await
                    .map(|_| ())?
            });
            anyhow::Ok(())
        }
    };
    set_document(changed.encode()).await?;
    let refused = dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await;
    assert!(
        matches!(&refused, Err(Error::Fabric(carenet_fabric::Error::FailedPrecondition(w))) if w.contains(&inzage::short(&v2))),
        "{refused:?}"
    );
    set_document(honest.dossier.encode()).await?;

    // Version 2 as approved leaves, with its own hash.
    dossier::publish(&po.store, &po.directory, &ib, &id, &[], None).await?;
    let item = wait_incoming(&vo.store, 2).await?;
    let payload = vo
        .store
        .received(&item.message_id)
        .await?
        .expect("received")
        .payload;
    let received = incoming::dossier(&vo.store, &item.message_id).await?;
    assert_eq!(
        received.extras.what_works.as_deref(),
        Some("Vaste plek vooraan, korte instructie.")
    );
    let seal = inzage::check_received(&payload, &received).expect("a seal that verifies");
    assert_eq!((seal.version, seal.content.hex()), (2, v2));
    region.shutdown().await
}
