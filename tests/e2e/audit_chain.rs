//! `carenet audit verify` finds a changed, an inserted and a deleted record and
//! names the first one that is broken.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, wait_delivered};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;

use crate::three_parties;

fn verify_cli(region: &TestRegion, party: &str) -> (bool, String) {
    let out = std::process::Command::new(carenet_bin())
        .args(["audit", "verify", "--data-dir"])
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
    assert_eq!(out, "ok: 9 records");

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
