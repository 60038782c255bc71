//! Large documents arrive: a 50 MB dossier (scanned reports) and others
//! queued with it travel between real nodes, answers to a fetch are bounded
//! by bytes (the rest is deferred, not failed), both sides use the same
//! message limits, and a document over the sending node's maximum is refused
//! when it is queued, with a clear error.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::crypto::sha256;

use crate::three_parties;

const MB: usize = 1024 * 1024;

fn payload(size: usize, seed: u8) -> Vec<u8> {
    // Not compressible, as a scan is.
    let mut rng = fastrand::Rng::with_seed(u64::from(seed));
    (0..size).map(|_| rng.u8(..)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_dossier_arrives_with_the_rest_of_its_batch() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");
    let sizes = [50 * MB, 20 * MB, 20 * MB, 1000, 1000];
    let docs: Vec<_> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| document("vo-1", i, &payload(n, i as u8)))
        .collect();
    let hashes: Vec<[u8; 32]> = docs.iter().map(|d| sha256(&d.payload)).collect();
    let ids = po.send(&docs).await?;
    drop(docs);
    wait_delivered(&po.store, sizes.len() as i64, Duration::from_secs(120)).await?;
    for (id, hash) in ids.iter().zip(&hashes) {
        let got = vo.store.received(id).await?.expect("received");
        assert_eq!(&sha256(&got.payload), hash, "{id} arrived whole");
    }
    // Nothing was counted as a failure on the way.
    let failed = vo.store.inbox_count("dead").await? + po.store.outbox_count("dead").await?;
    assert_eq!(failed, 0);

    // Over the protocol's 64 MiB: refused when queued, naming the field and
    // the limit.
    let err = po
        .send(&[document("vo-1", 9, &vec![0u8; 65 * MB])])
        .await
        .expect_err("too large");
    let text = err.to_string();
    assert!(
        text.contains("messages[0].payload") && text.contains("delivery.max_payload_bytes"),
        "{text}"
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_refuses_documents_over_its_configured_maximum() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // The primary school sends at most 1 MB.
    let path = region.config_path("po-1");
    let mut config = region.config("po-1");
    config.delivery.max_payload_bytes = MB;
    std::fs::write(&path, toml::to_string_pretty(&config)?)?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let err = po
        .send(&[document("vo-1", 1, &vec![0u8; 2 * MB])])
        .await
        .expect_err("over the node's maximum");
    assert!(err.to_string().contains(&format!("({MB} bytes")), "{err}");
    po.send(&[document("vo-1", 2, &vec![0u8; MB / 2])]).await?;
    wait_delivered(&po.store, 1, Duration::from_secs(20)).await?;
    wait_until(Duration::from_secs(20), || async {
        (region
            .handle("vo-1")
            .store
            .inbox_count("acked")
            .await
            .ok()?
            == 1)
            .then_some(())
    })
    .await?;
    region.shutdown().await
}
