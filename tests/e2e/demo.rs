//! `carenet demo` brings up the whole demo region, seeds a season of transfer
//! dossiers, `region status` sees every party healthy, and Ctrl-C (SIGINT)
//! stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use carenet_e2e::{KillOnDrop, carenet_bin};

/// A run of `n` free ports on loopback, and the demo's gateway ports after it
/// (from base + 80).
pub(crate) fn free_port_base(n: u16) -> u16 {
    'search: for _ in 0..200 {
        let base = 20_000 + fastrand_u16() % 30_000;
        for p in (base..base + n).chain(base + 80..base + 89) {
            if std::net::TcpListener::bind(("127.0.0.1", p)).is_err() {
                continue 'search;
            }
        }
        return base;
    }
    panic!("no run of {n} free ports");
}

fn fastrand_u16() -> u16 {
    (uuid::Uuid::new_v4().as_u128() & 0xffff) as u16
}

#[test]
fn demo_region_starts_reports_healthy_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("region");
    let base = free_port_base(9);
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
        .map(KillOnDrop)
        .unwrap();
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo did not print ready; got {lines:?}"));
        if line == "ready" {
            break;
        }
        lines.push(line);
    }
    let gateway = lines
        .iter()
        .find_map(|l| l.strip_prefix("gateway: "))
        .unwrap_or_else(|| panic!("no gateway line in {lines:?}"))
        .to_owned();
    assert!(
        gateway.starts_with("http://po-de-linde.localhost:"),
        "{gateway}"
    );

    // The demo seeds a season of transfer dossiers while it runs.
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo did not seed; got {lines:?}"));
        if line.starts_with("seeded: ") {
            break;
        }
        lines.push(line);
    }
    let season = Command::new(carenet_bin())
        .args([
            "handover",
            "season",
            "--party",
            "po-de-linde",
            "--by",
            "ib-1",
            "--role",
            "support_coordinator_po",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&season.stdout);
    assert!(season.status.success(), "{text}");
    for state in [
        " read ",
        " delivered ",
        " awaiting_inspection ",
        "warm:planned",
    ] {
        assert!(text.contains(state), "{state} in the season view: {text}");
    }

    // And care coordination: an IZO, a ZAT case, its plan with tasks of
    // four parties in several states.
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo did not seed care; got {lines:?}"));
        if line.starts_with("seeded care: ") {
            break;
        }
        lines.push(line);
    }
    let cli = |party: &str, args: &[&str]| {
        let out = Command::new(carenet_bin())
            .args(args)
            .args(["--party", party, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let zc = ["--by", "zc-1", "--role", "care_coordinator", "--json"];
    let cases = cli("vo-het-baken", &[&["case", "list"][..], &zc[..]].concat());
    let held = &cases["held"][0];
    assert_eq!(held["child_name"], "Lotte Visser");
    assert_eq!(held["members"], 3);
    let plan_id = held["id"].as_str().unwrap().to_owned();
    let shown = cli(
        "vo-het-baken",
        &[&["case", "show", "--id", &plan_id][..], &zc[..]].concat(),
    );
    let mut states: Vec<&str> = shown["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(
        states,
        ["accepted", "in_progress", "in_progress", "requested"]
    );
    let izo = cli("vo-het-baken", &[&["izo", "list"][..], &zc[..]].concat());
    assert_eq!(izo.as_array().map(Vec::len), Some(3));
    let member = cli(
        "jgz-regio",
        &[
            "case",
            "list",
            "--by",
            "jgz-1",
            "--role",
            "zat_member",
            "--json",
        ],
    );
    assert_eq!(member["member_of"][0]["pupil_name"], "Lotte Visser");

    // And the SWV: five requests arrived over the exchange, in the states
    // the loket meets; Noor's is a draft at her school.
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("demo did not seed support; got {lines:?}"));
        if line.starts_with("seeded support: ") {
            break;
        }
        lines.push(line);
    }
    let received = cli(
        "swv-rivierenland",
        &[
            "support",
            "list",
            "--by",
            "swv-1",
            "--role",
            "swv_staff",
            "--json",
        ],
    );
    let mut states: Vec<&str> = received
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    states.sort();
    assert_eq!(
        states,
        ["decided", "decided", "mdo_held", "mdo_planned", "returned"],
        "{received}"
    );

    // The web UI, in a real browser, through the demo sign-in.
    let shots = crate::gateway::shots_dir("demo");
    let _ = std::fs::remove_dir_all(&shots);
    let url_of = |party: &str| {
        lines
            .iter()
            .find_map(|l| {
                l.strip_prefix(party)
                    .map(str::trim)
                    .filter(|u| u.starts_with("http://"))
            })
            .unwrap_or_else(|| panic!("no gateway of {party} in {lines:?}"))
            .to_owned()
    };
    // Every party has its gateway, printed like the schools': the
    // follow-up institution and the SWV after the schools and partners.
    let mbo = url_of("mbo-vakcollege");
    let swv = url_of("swv-rivierenland");
    assert!(mbo.starts_with("http://mbo-vakcollege.localhost:"), "{mbo}");
    assert!(
        swv.starts_with("http://swv-rivierenland.localhost:"),
        "{swv}"
    );
    let run = Command::new("node")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/demo.mjs"))
        .env("DEMO_URL", &gateway)
        .env("DEMO_VO_URL", url_of("vo-het-baken"))
        .env("DEMO_JGZ_URL", url_of("jgz-regio"))
        .env("DEMO_MBO_URL", &mbo)
        .env("DEMO_SWV_URL", &swv)
        .env("SHOTS_DIR", &shots)
        .output()
        .unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success() && log.contains("all demo checks passed"),
        "{log}"
    );

    // The SWV's requests from the guardian's portal to the decision.
    let run = Command::new("node")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/support.mjs"))
        .env("DEMO_URL", &gateway)
        .env("DEMO_VO_URL", url_of("vo-het-baken"))
        .env("DEMO_SWV_URL", &swv)
        .env("SHOTS_DIR", &shots)
        .output()
        .unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success() && log.contains("all support checks passed"),
        "{log}"
    );

    let region = std::fs::read_to_string(data.join("region.toml")).unwrap();
    assert_eq!(region.matches("[[party]]").count(), 9);
    for kind in ["swv", "po_school", "vo_school", "vervolg", "zat_partner"] {
        assert!(
            region.contains(&format!("kind = \"{kind}\"")),
            "{kind} in region.toml"
        );
    }

    let status = Command::new(carenet_bin())
        .args(["region", "status", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.ends_with("serving") && !l.contains("not"))
            .count(),
        9,
        "{text}"
    );

    let killed = Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "demo exit: {exit:?}");

    // Now every node is down, and status says so.
    let status = Command::new(carenet_bin())
        .args(["region", "status", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!status.status.success());
}
