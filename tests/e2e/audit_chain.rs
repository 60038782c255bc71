//! `carenet audit verify` finds a changed, an inserted and a deleted record and
//! names the first one that is broken.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, wait_delivered};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;

use crate::three_parties;

fn verify_cli(region: &TestRegion, party: &str) -> (bool, String) {
    let out = std::process::Command::new(carenet_bin())
        .args(["audit", "verify", "--offline", "--data-dir"])
        .arg(region.dir.path())
        .args(["--party", party])
        .output()
        .expect("run carenet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    )
}

async fn exec(store: &Store, sql: &'static str, seq: i64, text: &str) -> anyhow::Result<u64> {
    Ok(with_db!(&store.db, pool => {
        sqlx::query(sql).bind(text).bind(seq).execute(pool).await?.rows_affected()
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_finds_changed_inserted_and_deleted_records() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    po.send(&[
        document("vo-1", 1, b"a"),
        document("vo-1", 2, b"b"),
        document("vo-1", 3, b"c"),
    ])
    .await?;
    wait_delivered(&po.store, 3, Duration::from_secs(30)).await?;
    region.stop("po-1").await?;
    let store = region.open_store("po-1").await?;

    let (ok, out) = verify_cli(&region, "po-1");
    assert!(ok, "{out}");
    assert!(out.starts_with("ok: 9 records ("), "{out}");

    // Changed.
    let original = carenet_fabric::audit::list(&store.db, 1, 1).await?[0]
        .purpose
        .clone();
    assert_eq!(
        exec(
            &store,
            "UPDATE audit SET purpose = $1 WHERE seq = $2",
            2,
            "edited"
        )
        .await?,
        1
    );
    let (ok, out) = verify_cli(&region, "po-1");
    assert!(!ok);
    assert!(out.contains("record 2") && out.contains("changed"), "{out}");
    exec(
        &store,
        "UPDATE audit SET purpose = $1 WHERE seq = $2",
        2,
        &original,
    )
    .await?;
    assert!(verify_cli(&region, "po-1").0);

    // Inserted at the end.
    assert_eq!(
        exec(
            &store,
            "INSERT INTO audit (seq, at_ms, actor, action, message_id, counterparty, purpose, legal_basis, \
             payload_sha256, prev_hash, hash) SELECT seq + 1, at_ms, $1, action, message_id, counterparty, \
             purpose, legal_basis, payload_sha256, hash, hash FROM audit WHERE seq = $2",
            9,
            "intruder",
        )
        .await?,
        1
    );
    let (ok, out) = verify_cli(&region, "po-1");
    assert!(!ok);
    assert!(
        out.contains("record 10") && out.contains("inserted"),
        "{out}"
    );
    exec(
        &store,
        "DELETE FROM audit WHERE actor = $1 AND seq = $2",
        10,
        "intruder",
    )
    .await?;
    assert!(verify_cli(&region, "po-1").0);

    // Deleted from the middle.
    exec(
        &store,
        "DELETE FROM audit WHERE actor <> $1 AND seq = $2",
        5,
        "",
    )
    .await?;
    let (ok, out) = verify_cli(&region, "po-1");
    assert!(!ok);
    assert!(out.contains("record 5") && out.contains("deleted"), "{out}");
    store.db.close().await;
    region.shutdown().await
}

/// Waits until the SWV holds a checkpoint of po-1 of at least record `seq`;
/// returns the highest it holds.
async fn latest_checkpoint(swv: &Store, seq: u64) -> anyhow::Result<u64> {
    use prost::Message;
    carenet_e2e::wait_until(Duration::from_secs(30), || async {
        let held = carenet_fabric::checkpoint::list_from(swv, "po-1", 0, 100_000)
            .await
            .ok()?;
        let latest = held
            .iter()
            .filter_map(|c| carenet_proto::v1::AuditCheckpoint::decode(c.payload.as_slice()).ok())
            .map(|c| c.seq)
            .max()?;
        (latest >= seq).then_some(latest)
    })
    .await
}

/// Issue 9.7: deleting the last records of a node's log and rewriting its
/// head row passes the chain check, but not the comparison with the signed
/// checkpoint the SWV holds; `audit compare` finds a record the other side
/// does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_cut_short_is_found_against_the_checkpoint_the_swv_holds() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // The node's jobs (checkpoints among them) every second.
    let mut config = region.config("po-1");
    config.purge_interval_secs = 1;
    std::fs::write(region.config_path("po-1"), toml::to_string_pretty(&config)?)?;
    region.start_all().await?;
    let po = region.handle("po-1");
    let notes: Vec<_> = (0..5).map(|n| document("vo-1", n, b"note")).collect();
    let ids = po.send(&notes).await?;
    wait_delivered(&po.store, 5, Duration::from_secs(30)).await?;
    let delivered = carenet_fabric::audit::list(&po.store.db, 0, 10_000)
        .await?
        .iter()
        .filter(|r| r.action == "delivered")
        .map(|r| r.seq)
        .max()
        .unwrap_or(0);
    let swv = region.handle("swv").store;
    let covered = latest_checkpoint(&swv, delivered).await?;
    region.stop("po-1").await?;

    let dir = region.dir.path().to_owned();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(carenet_bin())
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .args(["--party", "po-1"])
            .output()
            .expect("run carenet");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    };
    let (code, out) = run(&["audit", "verify"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("(the latest of record {covered})")),
        "{out}"
    );
    let (code, out) = run(&["audit", "compare", "--with", "vo-1"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("agree: 5 messages with vo-1"), "{out}");

    // Cut the log below the checkpoint and make the head row fit.
    let store = region.open_store("po-1").await?;
    let keep = covered as i64 - 3;
    with_db!(&store.db, pool => {
        sqlx::query("DELETE FROM audit WHERE seq > $1").bind(keep).execute(pool).await?;
        sqlx::query(
            "UPDATE audit_head SET seq = $1, last_hash = (SELECT hash FROM audit WHERE seq = $1) WHERE id = 1",
        )
        .bind(keep)
        .execute(pool)
        .await?;
    });
    store.db.close().await;
    let (code, out) = run(&["audit", "verify", "--offline"]);
    assert_eq!(code, Some(0), "the chain alone cannot see it: {out}");
    let (code, out) = run(&["audit", "verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "truncated: the SWV holds a checkpoint of record {covered}"
        )),
        "{out}"
    );

    // The node runs on: its log grows past the cut and a new checkpoint is
    // sent for the rewritten chain. The older checkpoint still differs.
    let po = region.start("po-1").await?;
    let more: Vec<_> = (5..10).map(|n| document("vo-1", n, b"note")).collect();
    po.send(&more).await?;
    wait_delivered(&po.store, 10, Duration::from_secs(30)).await?;
    let head = carenet_fabric::audit::list(&po.store.db, 0, 100_000)
        .await?
        .last()
        .map_or(0, |r| r.seq);
    assert!(head > covered, "the log grew past the checkpoint");
    latest_checkpoint(&swv, head).await?;
    region.stop("po-1").await?;
    let (code, out) = run(&["audit", "verify"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("record {covered} differs from the checkpoint")),
        "{out}"
    );

    // Remove what po-1 recorded of one message: vo-1's records of it
    // no longer have a counterpart, and the comparison names it.
    let store = region.open_store("po-1").await?;
    with_db!(&store.db, pool => {
        sqlx::query("DELETE FROM audit WHERE message_id = $1").bind(&ids[0]).execute(pool).await?;
    });
    store.db.close().await;
    let (code, out) = run(&["audit", "compare", "--with", "vo-1"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("differs: message {}", ids[0])),
        "{out}"
    );
    region.shutdown().await
}
