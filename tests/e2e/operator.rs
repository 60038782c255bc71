//! Operator commands check the database they are pointed at, wherever they
//! are run from: relative paths in `node.toml` and `region.toml` resolve
//! against the file that holds them, and an operator command never creates a
//! database (only a node does), so a wrong directory is an error naming the
//! path rather than "ok: 0 records".

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, postgres_url, wait_delivered};

use crate::three_parties;

fn verify(cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(carenet_bin())
        .current_dir(cwd)
        .args(["audit", "verify", "--offline"])
        .args(args)
        .output()
        .expect("run carenet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_find_the_nodes_database_from_anywhere_and_never_create_one()
-> anyhow::Result<()> {
    if postgres_url().is_some() {
        // The paths at stake are SQLite's; the PostgreSQL run has no file.
        return Ok(());
    }
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    po.send(&[document("vo-1", 1, b"note")]).await?;
    wait_delivered(&po.store, 1, Duration::from_secs(20)).await?;
    for id in ["swv", "po-1", "vo-1"] {
        region.stop(id).await?;
    }

    let root = region.dir.path().to_owned();
    let node_dir = root.join("parties").join("po-1");
    // The node's own config says where its data is, relative to itself.
    let config = node_dir.join("node.toml");
    let text = std::fs::read_to_string(&config)?;
    let relative: String = text
        .lines()
        .map(|l| {
            if l.starts_with("data_dir") {
                "data_dir = \".\"".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&config, relative)?;

    let elsewhere = tempfile::tempdir()?;
    let (ok, out, err) = verify(
        elsewhere.path(),
        &["--data-dir", &node_dir.display().to_string()],
    );
    assert!(ok, "{err}");
    let n: u64 = out
        .strip_prefix("ok: ")
        .and_then(|s| s.split_once(" records"))
        .map(|(n, _)| n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(n > 0, "checked the node's own chain: {out}");
    assert!(
        !elsewhere.path().join("carenet.db").exists(),
        "no database created where the command ran"
    );
    // The region file's paths are relative to the region too.
    let (ok, out, err) = verify(
        elsewhere.path(),
        &["--data-dir", &root.display().to_string(), "--party", "po-1"],
    );
    assert!(
        ok && out.starts_with(&format!("ok: {n} records (")),
        "{out} {err}"
    );

    // A directory without a database: an error naming it, nothing created.
    let empty = tempfile::tempdir()?;
    let (ok, _, err) = verify(
        elsewhere.path(),
        &["--data-dir", &empty.path().display().to_string()],
    );
    assert!(!ok, "no database is not ok");
    assert!(
        err.contains(&empty.path().display().to_string())
            && err.contains("a node creates its database"),
        "{err}"
    );
    assert!(!empty.path().join("carenet.db").exists(), "nothing created");
    Ok(())
}
