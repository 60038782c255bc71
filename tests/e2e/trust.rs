//! Trust that goes stale and servers that hold on (issue 9, items 9, 10 and 12).

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::ca::RegionCa;
use carenet_proto::v1;
use tonic::Code;

use crate::three_parties;

const T: Duration = Duration::from_secs(30);

/// Sets po-1's directory maximum age before it starts.
fn max_age(region: &TestRegion, party: &str, secs: u64) -> anyhow::Result<()> {
    let mut config = region.config(party);
    config.directory.max_age_secs = secs;
    std::fs::write(region.config_path(party), toml::to_string_pretty(&config)?)?;
    Ok(())
}

fn notify_request() -> v1::NotifyRequest {
    v1::NotifyRequest {
        items: vec![v1::NotifyItem {
            message_id: uuid::Uuid::new_v4().to_string(),
            document_type: "test.note".into(),
            resends: 0,
        }],
    }
}

/// A node whose directory is older than its maximum age (cut off from the
/// SWV, or a CA that stopped publishing) refuses new exchanges both ways with
/// an error that says why; a freshly signed directory ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_older_than_its_maximum_age_stops_exchanges_until_refreshed()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    max_age(&region, "po-1", 3)?;
    region.start_all().await?;
    let po = region.handle("po-1");
    // Wait until the directory the CA signed at creation is over 3 s old.
    wait_until(T, || async {
        let snapshot = po.directory.snapshot();
        (carenet_fabric::clock::now_ms() - snapshot.issued_at_ms > 3500).then_some(())
    })
    .await?;
    let err = region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("maximum age"), "{}", err.message());
    let sent = po
        .send(&[document("vo-1", 1, b"while the directory is stale")])
        .await?;
    wait_until(T, || async {
        let items = po.store.list_outbox(Some("pending"), 10).await.ok()?;
        items
            .iter()
            .any(|i| {
                i.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("maximum age"))
            })
            .then_some(())
    })
    .await?;
    assert_eq!(po.store.outbox_count("delivered").await?, 0);
    // The CA re-signs; the SWV serves it, po-1 fetches it, and it is delivered.
    RegionCa::open(&region.dir.path().join("ca"))?.publish_now(None)?;
    wait_delivered(&po.store, 1, T).await?;
    assert!(
        region
            .handle("vo-1")
            .store
            .received(&sent[0])
            .await?
            .is_some()
    );
    region.shutdown().await
}

/// A revocation list past its next update is not trusted: exchanges stop
/// until a fresh one comes with the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crl_past_its_next_update_stops_exchanges_until_refreshed() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let mut ca = RegionCa::open(&region.dir.path().join("ca"))?;
    ca.publish_now(Some(2))?;
    let version = wait_until(T, || async {
        let s = po.directory.snapshot();
        (s.crl_next_update_ms
            .is_some_and(|n| n - carenet_fabric::clock::now_ms() < 5000))
        .then_some(s.version)
    })
    .await?;
    wait_until(T, || async {
        let s = po.directory.snapshot();
        (s.crl_next_update_ms
            .is_some_and(|n| n < carenet_fabric::clock::now_ms()))
        .then_some(())
    })
    .await?;
    let err = region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("next update"), "{}", err.message());
    ca.publish_now(Some(30 * 24 * 3600))?;
    wait_until(T, || async {
        (po.directory.snapshot().version > version).then_some(())
    })
    .await?;
    po.send(&[document("vo-1", 1, b"after the fresh list")])
        .await?;
    wait_delivered(&po.store, 1, T).await?;
    region.shutdown().await
}
