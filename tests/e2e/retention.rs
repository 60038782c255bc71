//! The retention purge deletes content whose period ended, leaves a proof of
//! deletion in the audit chain, keeps what must be kept longer, and the chain
//! still verifies.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::audit;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use carenet_proto::v1;

use crate::three_parties;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Moves every message's receipt and delivery `days` into the past.
async fn age_everything(store: &Store, days: i64) -> anyhow::Result<()> {
    let then = now_ms() - days * DAY_MS;
    with_db!(&store.db, pool => {
        sqlx::query("UPDATE inbox SET received_at_ms = $1 WHERE received_at_ms IS NOT NULL").bind(then).execute(pool).await?;
        sqlx::query("UPDATE outbox SET delivered_at_ms = $1 WHERE delivered_at_ms IS NOT NULL").bind(then).execute(pool).await?;
    });
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_deletes_expired_content_with_proof_and_the_chain_still_verifies()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let mut zat = document("vo-1", 3, b"zat referral");
    zat.document_type = "test.care_note".into();
    let ids = po
        .send(&[
            document("vo-1", 1, b"dossier one"),
            document("vo-1", 2, b"dossier two"),
            zat,
        ])
        .await?;
    wait_delivered(&po.store, 3, Duration::from_secs(30)).await?;
    wait_until(Duration::from_secs(30), || async {
        (vo.store.inbox_count("acked").await.ok()? == 3).then_some(())
    })
    .await?;

    // A slice's list label lives beside the content and goes with it.
    for id in &ids {
        vo.store.label_received(id, "Daan van de Berg").await?;
    }

    // 800 days later: past the two years of a dossier, within the five of ZAT data.
    age_everything(&po.store, 800).await?;
    age_everything(&vo.store, 800).await?;
    // The periods come from the registered document types.
    let registry = vo.store.registry.clone();
    let received = vo.store.purge_expired(&registry, now_ms()).await?;
    let sent = po.store.purge_expired(&registry, now_ms()).await?;
    assert_eq!((received.received, received.sent), (2, 0));
    assert_eq!((sent.received, sent.sent), (0, 2));
    // Running it again finds nothing more.
    assert_eq!(
        vo.store.purge_expired(&registry, now_ms()).await?.received,
        0
    );

    assert!(
        vo.store
            .received(&ids[0])
            .await?
            .unwrap()
            .payload
            .is_empty(),
        "content deleted"
    );
    assert_eq!(
        vo.store.received(&ids[2]).await?.unwrap().payload,
        b"zat referral",
        "ZAT data kept longer"
    );
    let labels = vo.store.received_labels(&ids).await?;
    assert!(
        !labels.contains_key(&ids[0]) && !labels.contains_key(&ids[1]),
        "purged: no label listed"
    );
    assert_eq!(labels[&ids[2]].as_deref(), Some("Daan van de Berg"));
    let stored: Vec<(Option<String>,)> = carenet_fabric::with_db!(&vo.store.db, pool => {
        sqlx::query_as("SELECT label FROM inbox WHERE message_id = $1 OR message_id = $2")
            .bind(&ids[0])
            .bind(&ids[1])
            .fetch_all(pool)
            .await?
    });
    assert_eq!(
        stored,
        [(None,), (None,)],
        "the labels are erased with the content"
    );
    for store in [&po.store, &vo.store] {
        let records = audit::list(&store.db, 0, 1000).await?;
        let purged: Vec<&str> = records
            .iter()
            .filter(|r| r.action == "purged")
            .map(|r| r.message_id.as_str())
            .collect();
        assert_eq!(purged.len(), 2);
        assert!(purged.contains(&ids[0].as_str()) && purged.contains(&ids[1].as_str()));
        assert!(
            audit::verify(&store.db).await?.is_ok(),
            "the chain verifies after the purge"
        );
    }
    // A purged message can no longer be fetched: it is refused (and only
    // it, not the batch it is asked in).
    let got = region
        .exchange_client("vo-1", "po-1")?
        .fetch(v1::FetchRequest {
            message_ids: vec![ids[0].clone()],
        })
        .await?
        .into_inner();
    assert!(got.envelopes.is_empty());
    assert_eq!(got.refused.len(), 1);
    assert_eq!(got.refused[0].reason, "no such message for the caller");
    assert!(!got.refused[0].retry);
    region.shutdown().await
}

/// Issue 18: an IZO registration made from a received dossier is a pupil
/// care record (its question is free text about the pupil): purged after
/// the IZO records' period with proof in the audit, kept before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn izo_registrations_from_received_dossiers_are_purged_after_their_period()
-> anyhow::Result<()> {
    let (_dir, store) = carenet_e2e::fresh_store("vo-1").await?;
    let day = 86_400_000_i64;
    let now = carenet_fabric::clock::now_ms();
    for (id, age_days) in [("izo-old", 800), ("izo-new", 700)] {
        carenet_fabric::with_db!(&store.db, pool => {
            sqlx::query(
                "INSERT INTO izo_registration (id, message_id, question, guardians_informed, registered_by, at_ms) \
                 VALUES ($1, $2, 'Slaapt slecht, verzuimt vaak.', 1, 'm-1[mentor]', $3)",
            )
            .bind(id)
            .bind(format!("msg-{id}"))
            .bind(now - age_days * day)
            .execute(pool)
            .await?;
        });
    }
    let purged = carenet_handover::incoming::purge_izo_registrations(
        &store,
        carenet_handover::incoming::IZO_REGISTRATION_DAYS,
        now,
    )
    .await?;
    assert_eq!(purged, 1);
    let left: Vec<(String,)> = carenet_fabric::with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id FROM izo_registration").fetch_all(pool).await?
    });
    assert_eq!(left, [("izo-new".to_owned(),)]);
    let records = carenet_fabric::audit::list(&store.db, 0, 100).await?;
    let proof = records
        .iter()
        .find(|r| r.action == "purged" && r.message_id == "izo-old")
        .expect("the purge is audited");
    assert_eq!(proof.purpose, "retention:730d");
    assert_eq!(
        proof.payload_sha256,
        carenet_fabric::crypto::sha256("Slaapt slecht, verzuimt vaak.".as_bytes()).to_vec()
    );
    assert!(carenet_fabric::audit::verify(&store.db).await?.is_ok());
    Ok(())
}
