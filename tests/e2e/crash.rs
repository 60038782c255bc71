//! A sender killed with SIGKILL in the middle of a batch loses nothing and
//! delivers every message exactly once after it restarts.

use std::process::{Command, Stdio};
use std::time::Duration;

use carenet_e2e::{KillOnDrop, TestRegion, Tuning, carenet_bin, status_document, wait_until};
use carenet_fabric::audit;

use crate::three_parties;

fn spawn_node(region: &TestRegion, party: &str) -> KillOnDrop {
    KillOnDrop(
        Command::new(carenet_bin())
            .args(["node", "--config"])
            .arg(region.config_path(party))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start carenet node"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_killed_mid_batch_delivers_everything_exactly_once() -> anyhow::Result<()> {
    const N: usize = 1000;
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let receiver = region.handle("po-1").store;

    // Queue the batch in the sender's own database, then start it as a real
    // process (a secondary school's statuses to a primary school: a type the
    // real node registers).
    let sender = region.open_store("vo-1").await?;
    let docs: Vec<_> = (0..N)
        .map(|i| status_document("po-1", i, format!("document {i}").repeat(50).as_bytes()))
        .collect();
    for chunk in docs.chunks(250) {
        sender.enqueue(chunk).await?;
    }
    let mut child = spawn_node(&region, "vo-1");
    wait_until(Duration::from_secs(60), || async {
        let n = receiver.inbox_received_count().await.ok()?;
        (n >= 100).then_some(())
    })
    .await?;
    child.0.kill()?; // SIGKILL
    child.0.wait()?;
    let at_kill = sender.outbox_count("delivered").await?;
    assert!(
        at_kill < N as i64,
        "the kill came after the batch was done; nothing was tested"
    );

    let _child = spawn_node(&region, "vo-1");
    // Rows the killed process had claimed wait out their lease (a replica
    // cannot tell a dead worker from a slow one), so a kill that lands
    // inside a claim finishes only after it: the wait covers the lease.
    let lease = Duration::from_millis(carenet_fabric::delivery::CLAIM_LEASE_MS as u64);
    wait_until(lease + Duration::from_secs(90), || async {
        (sender.outbox_count("delivered").await.ok()? == N as i64).then_some(())
    })
    .await?;
    wait_until(Duration::from_secs(30), || async {
        (receiver.inbox_count("acked").await.ok()? == N as i64).then_some(())
    })
    .await?;
    let records = audit::list(&receiver.db, 0, 100_000).await?;
    let received: std::collections::HashSet<&str> = records
        .iter()
        .filter(|r| r.action == "received")
        .map(|r| r.message_id.as_str())
        .collect();
    assert_eq!(
        records.iter().filter(|r| r.action == "received").count(),
        N,
        "received once each"
    );
    assert_eq!(received.len(), N);
    assert!(audit::verify(&sender.db).await?.is_ok());
    assert!(audit::verify(&receiver.db).await?.is_ok());
    sender.db.close().await;
    region.shutdown().await
}
