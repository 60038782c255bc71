//! A party's files are its own: databases (with WAL and SHM), exports, node
//! configs and credentials are 0600 in 0700 directories, whatever the umask
//! the process runs with (the test's is the usual 022). A database URL with
//! its password can come from a file instead of the config.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, postgres_url, wait_delivered};
use carenet_node::NodeConfig;

use crate::three_parties;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partys_files_are_readable_by_its_owner_only() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1");
    po.send(&[document("vo-1", 1, b"a note about a child")])
        .await?;
    wait_delivered(&po.store, 1, Duration::from_secs(20)).await?;

    let root = region.dir.path();
    assert_eq!(mode(&root.join("region.toml")), 0o600);
    for party in ["swv", "po-1", "vo-1"] {
        let dir = root.join("parties").join(party);
        assert_eq!(mode(&dir), 0o700, "{party} data dir");
        assert_eq!(mode(&dir.join("node.toml")), 0o600, "{party} node.toml");
        let creds = dir.join("credentials");
        assert_eq!(mode(&creds), 0o700, "{party} credentials dir");
        for f in std::fs::read_dir(&creds)? {
            let f = f?.path();
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        if postgres_url().is_none() {
            for f in ["carenet.db", "carenet.db-wal", "carenet.db-shm"] {
                assert_eq!(mode(&dir.join(f)), 0o600, "{party} {f}");
            }
        }
        assert_eq!(
            mode(&dir.join("directory.cache")),
            0o600,
            "{party} directory cache"
        );
    }
    assert_eq!(mode(&root.join("parties")), 0o700);
    assert_eq!(mode(&root.join("ca")), 0o700);

    // An export of a dossier is the operator's only.
    let out = root.join("export.xml");
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml");
    let cli = |args: &[&str]| {
        Command::new(carenet_bin())
            .args(args)
            .args(["--data-dir", &root.display().to_string(), "--party", "po-1"])
            .args(["--by", "ib-1", "--role", "support_coordinator_po"])
            .output()
            .expect("run carenet")
    };
    let import = cli(&["oso", "import", &example.display().to_string()]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let export = cli(&["oso", "export", "--out", &out.display().to_string()]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    assert_eq!(mode(&out), 0o600);
    region.shutdown().await
}

#[test]
fn the_database_url_can_come_from_a_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "postgres://carenet:s3cret@127.0.0.1:5432/vo1\n")?;
    let config = dir.path().join("node.toml");
    let base = "party = \"vo-1\"\nlisten = \"127.0.0.1:7403\"\ndata_dir = \"d\"\n\
                [directory]\nswv_party = \"swv\"\nswv_endpoint = \"127.0.0.1:7400\"\n";
    std::fs::write(
        &config,
        format!("database_url_file = \"{}\"\n{base}", secret.display()),
    )?;
    let loaded = NodeConfig::load(&config)?;
    assert_eq!(
        loaded.database_url.as_deref(),
        Some("postgres://carenet:s3cret@127.0.0.1:5432/vo1")
    );
    assert!(
        !format!("{loaded:?}").contains("s3cret"),
        "redacted in Debug"
    );
    // Not both.
    std::fs::write(
        &config,
        format!(
            "database_url = \"postgres://x@h/db\"\ndatabase_url_file = \"{}\"\n{base}",
            secret.display()
        ),
    )?;
    let err = NodeConfig::load(&config).expect_err("both");
    assert!(err.to_string().contains("database_url_file"), "{err}");
    Ok(())
}
