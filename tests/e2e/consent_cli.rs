//! `carenet consent` records consent on a node's database, names the field of
//! bad input, and keeps every version.

use std::process::{Command, Output};

use carenet_e2e::carenet_bin;

fn run(target: &[String], args: &[&str]) -> Output {
    Command::new(carenet_bin())
        .args(args)
        .args(target)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run carenet")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_cli_requests_grants_withdraws_and_shows_history() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut target = carenet_e2e::node_database(dir.path()).await?;
    target.extend(["--party".to_owned(), "vo-1".to_owned()]);
    let requested = run(
        &target,
        &[
            "consent",
            "request",
            "--child",
            "pupil-3",
            "--birth-date",
            "2013-09-01",
            "--purpose",
            "refer_to_zat",
            "--recipient",
            "kind:zat_partner",
            "--recipient",
            "party:swv-1",
            "--category",
            "educational_support",
            "--category",
            "absence",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(
        requested.status.success(),
        "{}",
        String::from_utf8_lossy(&requested.stderr)
    );
    let line = stdout(&requested);
    assert!(line.contains(" v1 requested "), "{line}");
    let record = line.split_whitespace().next().unwrap().to_owned();

    let bad = run(
        &target,
        &[
            "consent",
            "grant",
            "--record",
            &record,
            "--grantor",
            "pupil:Sam",
            "--evidence",
            "recorded_conversation",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(!bad.status.success(), "a 13-year-old alone cannot consent");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("grantors"));

    let granted = run(
        &target,
        &[
            "consent",
            "grant",
            "--record",
            &record,
            "--grantor",
            "guardian:Ouder Een",
            "--evidence",
            "signed_form",
            "--document-sha256",
            &"ab".repeat(32),
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(
        granted.status.success(),
        "{}",
        String::from_utf8_lossy(&granted.stderr)
    );
    assert!(stdout(&granted).contains(" v2 granted "));

    let withdrawn = run(
        &target,
        &[
            "consent",
            "withdraw",
            "--record",
            &record,
            "--grantor",
            "guardian:Ouder Een",
            "--evidence",
            "recorded_conversation",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(
        withdrawn.status.success(),
        "{}",
        String::from_utf8_lossy(&withdrawn.stderr)
    );

    // A mentor with no relation to the pupil in carenet sees nothing of it.
    for args in [
        ["consent", "list", "--child", "pupil-3"],
        ["consent", "show", "--record", &record],
    ] {
        let refused = run(
            &target,
            &[&args[..], &["--by", "m-1", "--role", "mentor"]].concat(),
        );
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("needs a relation with this pupil"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    let listed = run(
        &target,
        &[
            "consent",
            "list",
            "--child",
            "pupil-3",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(
        stdout(&listed).contains(" v3 withdrawn "),
        "{}",
        stdout(&listed)
    );
    let shown = run(
        &target,
        &[
            "consent",
            "show",
            "--record",
            &record,
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    let text = stdout(&shown);
    assert_eq!(text.lines().count(), 3, "{text}");

    let bad = run(
        &target,
        &[
            "consent",
            "request",
            "--child",
            "pupil-3",
            "--birth-date",
            "2013-13-01",
            "--purpose",
            "refer_to_zat",
            "--recipient",
            "kind:zat_partner",
            "--category",
            "absence",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--birth-date"));
    let bad = run(
        &target,
        &[
            "consent",
            "request",
            "--child",
            "pupil-3",
            "--birth-date",
            "2013-01-01",
            "--purpose",
            "gossip",
            "--recipient",
            "kind:zat_partner",
            "--category",
            "absence",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--purpose"));

    let disclosures = run(
        &target,
        &[
            "consent",
            "disclosures",
            "--child",
            "pupil-3",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(disclosures.status.success());
    assert_eq!(
        stdout(&disclosures)
            .lines()
            .filter(|l| l.contains("consent_"))
            .count(),
        3
    );

    let until = carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(7),
    );
    let bad = run(
        &target,
        &[
            "consent",
            "safety-exception",
            "--child",
            "pupil-3",
            "--reason",
            "",
            "--by",
            "ib-2",
            "--role",
            "care_coordinator",
            "--reported-to",
            "zc-1",
            "--recipient",
            "jgz-1",
            "--purpose",
            "share_with_partner",
            "--until",
            &until,
        ],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("reason"));
    let recorded = run(
        &target,
        &[
            "consent",
            "safety-exception",
            "--child",
            "pupil-3",
            "--reason",
            "zorgen over de thuissituatie",
            "--by",
            "ib-2",
            "--role",
            "care_coordinator",
            "--reported-to",
            "zc-1",
            "--recipient",
            "jgz-1",
            "--purpose",
            "share_with_partner",
            "--until",
            &until,
        ],
    );
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    let reports = run(
        &target,
        &[
            "consent",
            "safety-reports",
            "--by",
            "zc-1",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(
        stdout(&reports).contains(stdout(&recorded).trim()),
        "the coordinator sees the report"
    );
    assert!(
        stdout(&run(
            &target,
            &[
                "consent",
                "safety-reports",
                "--by",
                "zc-2",
                "--role",
                "care_coordinator"
            ]
        ))
        .is_empty()
    );
    let other = run(
        &target,
        &[
            "consent",
            "safety-reports",
            "--coordinator",
            "zc-1",
            "--by",
            "zc-2",
            "--role",
            "care_coordinator",
        ],
    );
    assert!(!other.status.success(), "another coordinator's reports");
    assert!(String::from_utf8_lossy(&other.stderr).contains("team_lead"));

    let inspected = run(
        &target,
        &[
            "consent",
            "inspection",
            "--child",
            "pupil-3",
            "--document-id",
            "okr-1",
            "--seen-on",
            "2026-03-02",
            "--guardian-view",
            "akkoord",
            "--by",
            "ib-1",
            "--role",
            "support_coordinator_po",
        ],
    );
    assert!(
        inspected.status.success(),
        "{}",
        String::from_utf8_lossy(&inspected.stderr)
    );
    let bad = run(
        &target,
        &[
            "consent",
            "inspection",
            "--child",
            "pupil-3",
            "--document-id",
            "",
            "--by",
            "ib-1",
            "--role",
            "support_coordinator_po",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("document_id"));

    // A wrong role: refused, naming the roles that would do, and audited.
    let wrong = run(
        &target,
        &[
            "consent",
            "inspection",
            "--child",
            "pupil-3",
            "--document-id",
            "okr-1",
            "--by",
            "m-1",
            "--role",
            "mentor",
        ],
    );
    assert!(!wrong.status.success(), "a mentor records no inzage");
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("permission denied"), "{err}");
    assert!(
        err.contains("support_coordinator_po or care_coordinator"),
        "{err}"
    );
    let unknown = run(
        &target,
        &[
            "consent",
            "list",
            "--child",
            "pupil-3",
            "--by",
            "m-1",
            "--role",
            "headmaster",
        ],
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--role"));
    let missing = run(
        &target,
        &["consent", "list", "--child", "pupil-3", "--by", "m-1"],
    );
    assert!(!missing.status.success(), "--role is required");

    let verified = Command::new(carenet_bin())
        .args(["audit", "verify", "--offline"])
        .args(&target)
        .output()?;
    // The pupil's birth date recorded, 3 consent changes, 1 safety
    // exception, 1 inzage, 4 refusals (the mentor's list and show of a pupil
    // not theirs, another coordinator's reports, the mentor's inzage), and
    // the reading of the disclosures.
    assert!(
        stdout(&verified).starts_with("ok: 11 records ("),
        "{}",
        stdout(&verified)
    );
    Ok(())
}
