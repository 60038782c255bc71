//! Each role its own work (issue 20, item 2): `carenet demo` runs the demo
//! region, and one real browser signs in as every demo person of every
//! party (`tests/browser/roles.mjs`): each clicks every link of its menu
//! and start page and meets no 403, no 404, no "Geen toegang" and no
//! "Niet gevonden"; each "wat wacht op mij" line opens a filtered list
//! holding exactly the items it counts.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use carenet_e2e::{KillOnDrop, carenet_bin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_of_the_demo_region_opens_each_link_of_its_menu_and_start_page()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("region");
    let base = crate::demo::free_port_base(9);
    let mut child = Command::new(carenet_bin())
        .args([
            "demo",
            "--no-browser",
            "--port-base",
            &base.to_string(),
            "--data-dir",
        ])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map(KillOnDrop)?;
    let stdout = child.0.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The gateways, then the seeded season and care (the last seeding).
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("demo did not seed care; got {lines:?}"));
        if line.starts_with("seeded care: ") {
            break;
        }
        lines.push(line);
    }
    let parties: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            let (party, url) = l.split_once(' ')?;
            let url = url.trim();
            url.starts_with("http://")
                .then(|| (party.trim_end_matches(':').to_owned(), url.to_owned()))
        })
        .map(|(party, url)| {
            // The first gateway is printed as "gateway: <url>".
            let party = if party == "gateway" {
                url.trim_start_matches("http://")
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                party
            };
            (party, url)
        })
        .collect();
    assert_eq!(parties.len(), 9, "{lines:?}");
    let shots = crate::gateway::shots_dir("rollen");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    let parties_s = serde_json::to_string(&parties)?;
    crate::gateway::browser(
        "roles.mjs",
        &[("DEMO_PARTIES", &parties_s), ("SHOTS_DIR", &shots_s)],
        "all role checks passed",
    )
    .await?;
    // Every person's start page was photographed.
    let taken = std::fs::read_dir(&shots)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rol-"))
        .count();
    assert!(taken >= 20, "{taken} start pages photographed");
    let killed = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()?;
    assert!(killed.success());
    assert!(child.0.wait()?.success());
    Ok(())
}
