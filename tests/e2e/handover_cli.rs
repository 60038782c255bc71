//! A whole PO→VO season from the command line, over a live region: the
//! `carenet` binary does every step a school's staff do, as the staff member
//! and role it names; a step done in the wrong role exits non-zero naming the
//! roles that would do, and the refusal is in the audit log.

use std::process::{Command, Output};
use std::time::Duration;

use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, wait_until};

const T: Duration = Duration::from_secs(30);

fn run(region: &TestRegion, party: &str, args: &[&str]) -> Output {
    Command::new(carenet_e2e::carenet_bin())
        .args(args)
        .arg("--data-dir")
        .arg(region.dir.path())
        .args(["--party", party])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run carenet")
}

/// Runs `carenet` on a party of the region; returns stdout, or fails with stderr.
fn cli(region: &TestRegion, party: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = run(region, party, args);
    anyhow::ensure!(
        out.status.success(),
        "carenet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

const IB: [&str; 4] = ["--by", "ib-1", "--role", "support_coordinator_po"];
const PO_MENTOR: [&str; 4] = ["--by", "mentor-1", "--role", "mentor"];
const ZC: [&str; 4] = ["--by", "zc-1", "--role", "care_coordinator"];
const MENTOR: [&str; 4] = ["--by", "mentor-1", "--role", "mentor"];

fn with<'a>(args: &[&'a str], actor: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(actor).copied().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_po_vo_season_runs_step_by_step_from_the_command_line() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("unseen.xml");
    let example = crate::oso::examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("POVO_full"))
        .unwrap();
    // A file from the administration system that the guardians have not seen yet.
    std::fs::write(
        &file,
        std::fs::read_to_string(example)?
            .replace("<inzage>true</inzage>", "<inzage>false</inzage>"),
    )?;
    let file = file.display().to_string();

    // PO: the IB imports the OSO file, the mentor adds what OSO lacks.
    let out = cli(
        &region,
        "po-1",
        &with(&["oso", "import", &file, "--child", "pupil-1"], &IB),
    )?;
    let (id, state) = out.trim().split_once(' ').unwrap();
    assert_eq!(state, "draft");
    let id = id.to_owned();
    let out = cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "extras",
                "--dossier",
                &id,
                "--what-works",
                "Korte instructie, vaste plek vooraan.",
                "--avoid",
                "Onverwachte toetsen.",
                "--talents",
                "Tekenen en techniek",
                "--pupil-voice",
                "Ik wil naast iemand zitten die ik ken.",
                "--agreements",
                "Mentor belt ouders in week 2.",
                "--contact",
                "IB-er, 010-1234567",
            ],
            &PO_MENTOR,
        ),
    )?;
    assert_eq!(out.trim(), format!("{id} draft"));
    let early = cli(
        &region,
        "po-1",
        &with(
            &["handover", "publish", "--dossier", &id, "--to", "vo-1"],
            &IB,
        ),
    );
    assert!(early.is_err(), "no release before inzage");
    let out = cli(
        &region,
        "po-1",
        &with(&["handover", "submit", "--dossier", &id], &PO_MENTOR),
    )?;
    assert!(out.contains("awaiting_inspection"), "{out}");

    // The mentor may not record the inzage: the command names the roles that would do.
    let refused = run(
        &region,
        "po-1",
        &with(&["handover", "inspection", "--dossier", &id], &PO_MENTOR),
    );
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("permission denied")
            && err.contains("support_coordinator_po or care_coordinator"),
        "{err}"
    );
    let audit = carenet_fabric::audit::list(&region.handle("po-1").store.db, 0, 100_000).await?;
    assert!(
        audit
            .iter()
            .any(|r| r.action == "refused:inspection_record" && r.actor == "mentor-1[mentor]")
    );
    // A role that does not exist names the flag.
    let bad = run(
        &region,
        "po-1",
        &[
            "handover",
            "submit",
            "--dossier",
            &id,
            "--by",
            "x-1",
            "--role",
            "headmaster",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--role"));

    let inspected = cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "inspection",
                "--dossier",
                &id,
                "--guardian-view",
                "Akkoord",
            ],
            &IB,
        ),
    )?;
    // The inzage is bound to the content hash of this version.
    let hash = inspected
        .trim()
        .rsplit_once(" v1 sha256:")
        .map(|(_, h)| h.to_owned())
        .unwrap_or_default();
    assert_eq!(hash.len(), 64, "{inspected}");
    let queued = cli(
        &region,
        "po-1",
        &with(
            &["handover", "publish", "--dossier", &id, "--to", "vo-1"],
            &IB,
        ),
    )?;
    assert!(queued.starts_with("queued "), "{queued}");

    // VO: the running nodes deliver it; the care coordinator sees it arrive.
    let message = wait_until(T, || async {
        let out = cli(&region, "vo-1", &with(&["handover", "received"], &ZC)).ok()?;
        out.lines()
            .find(|l| {
                l.contains("carenet.transfer_dossier")
                    && l.contains("from:po-1")
                    && l.ends_with("available")
            })
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_owned)
    })
    .await?;
    let season = cli(
        &region,
        "vo-1",
        &with(&["handover", "season", "--direction", "in"], &ZC),
    )?;
    assert!(
        season.contains(&message) && season.contains("received"),
        "{season}"
    );

    // The receiving school's OSO export claims the inzage for that hash.
    let out_file = tmp.path().join("received.xml").display().to_string();
    let exported = cli(
        &region,
        "vo-1",
        &with(
            &["oso", "export", "--message", &message, "--out", &out_file],
            &ZC,
        ),
    )?;
    assert!(
        exported.contains(&format!("inzage: v1 sha256:{hash} akkoord:")),
        "{exported}"
    );

    // A mentor cannot assign; the care coordinator does.
    let refused = run(
        &region,
        "vo-1",
        &with(
            &[
                "handover",
                "assign",
                "--message",
                &message,
                "--mentor",
                "mentor-1",
            ],
            &MENTOR,
        ),
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("care_coordinator"));
    cli(
        &region,
        "vo-1",
        &with(
            &[
                "handover",
                "assign",
                "--message",
                &message,
                "--mentor",
                "mentor-1",
                "--teacher",
                "teacher-2",
                "--child",
                "pupil-1",
            ],
            &ZC,
        ),
    )?;
    let digest = cli(
        &region,
        "vo-1",
        &with(&["handover", "digest", "--message", &message], &MENTOR),
    )?;
    assert!(
        digest.contains("Wat werkt")
            && digest.contains("vaste plek vooraan")
            && digest.contains("Zienswijze ouders")
            && digest.contains("Akkoord"),
        "{digest}"
    );
    cli(
        &region,
        "vo-1",
        &with(
            &[
                "handover",
                "izo",
                "--message",
                &message,
                "--question",
                "Afstemming ondersteuning",
                "--guardians-informed",
            ],
            &MENTOR,
        ),
    )?;

    // PO: the IB sees "read" in the season view.
    wait_until(T, || async {
        let csv = cli(
            &region,
            "po-1",
            &with(&["handover", "season", "--csv"], &IB),
        )
        .ok()?;
        csv.lines()
            .any(|l| l.starts_with("uit,") && l.contains(&id) && l.contains(",read,"))
            .then_some(())
    })
    .await?;

    // The warm handover, with the agenda of PO→VO (handbook 7.1).
    let out = cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "warm",
                "plan",
                "--dossier",
                &id,
                "--participant",
                "support_coordinator_po:po-1:ib-1",
                "--participant",
                "care_coordinator:vo-1:zc-1",
                "--participant",
                "guardian",
                "--participant",
                "pupil",
            ],
            &IB,
        ),
    )?;
    let warm_id = out.split_whitespace().next().unwrap().to_owned();
    assert!(
        out.contains("planned") && out.contains("Talenten, positieve kwaliteiten"),
        "{out}"
    );
    cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "warm",
                "record",
                "--id",
                &warm_id,
                "--minutes",
                "Besproken: instroom en aanpak.",
                "--note",
                "2:Extra tijd bij toetsen",
                "--agreement",
                "Mentor belt ouders in week 2",
                "--aftercare",
                "IB-er tot de herfstvakantie aanspreekpunt",
            ],
            &IB,
        ),
    )?;
    let po_store = region.handle("po-1").store;
    let share_consent = carenet_e2e::granted_consent(
        &po_store,
        Purpose::TransferDossier,
        &["vo-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    let shared = cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "warm",
                "share",
                "--id",
                &warm_id,
                "--consent",
                &share_consent,
            ],
            &IB,
        ),
    )?;
    assert!(shared.starts_with("queued "), "{shared}");
    let csv = cli(
        &region,
        "po-1",
        &with(&["handover", "season", "--csv"], &IB),
    )?;
    assert!(
        csv.lines()
            .any(|l| l.starts_with("uit,") && l.contains(",held,")),
        "{csv}"
    );

    // VO: feedback to the primary school, under its own consent record.
    let vo_store = region.handle("vo-1").store;
    let record = carenet_e2e::granted_consent(
        &vo_store,
        Purpose::FeedbackToSender,
        &["po-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    let sent = cli(
        &region,
        "vo-1",
        &with(
            &[
                "handover",
                "feedback",
                "send",
                "--message",
                &message,
                "--text",
                "Daan is goed gestart in de brugklas.",
                "--consent",
                &record,
                "--child",
                "pupil-1",
            ],
            &MENTOR,
        ),
    )?;
    assert!(sent.starts_with("queued "), "{sent}");
    // The shared warm-handover record reached VO too.
    wait_until(T, || async {
        cli(&region, "vo-1", &with(&["handover", "received"], &ZC))
            .ok()?
            .contains("carenet.warm_handover")
            .then_some(())
    })
    .await?;

    // PO: the IB reads the feedback.
    let feedback = wait_until(T, || async {
        let out = cli(
            &region,
            "po-1",
            &with(&["handover", "feedback", "list"], &IB),
        )
        .ok()?;
        out.contains("goed gestart").then_some(out)
    })
    .await?;
    assert!(
        feedback.contains("from:vo-1") && feedback.contains(&id),
        "{feedback}"
    );
    let refused = run(
        &region,
        "po-1",
        &with(&["handover", "feedback", "list"], &PO_MENTOR),
    );
    assert!(!refused.status.success());

    // A correction: a new version, back to the guardians, then to VO again.
    let out = cli(
        &region,
        "po-1",
        &with(
            &[
                "handover",
                "correct",
                "--dossier",
                &id,
                "--what-works",
                "Instructie in kleine stappen.",
            ],
            &IB,
        ),
    )?;
    assert_eq!(out.trim(), format!("{id} v2 awaiting_inspection"));
    cli(
        &region,
        "po-1",
        &with(&["handover", "inspection", "--dossier", &id], &IB),
    )?;
    cli(
        &region,
        "po-1",
        &with(&["handover", "publish", "--dossier", &id], &IB),
    )?;
    wait_until(T, || async {
        let out = cli(&region, "vo-1", &with(&["handover", "received"], &ZC)).ok()?;
        (out.lines()
            .filter(|l| l.contains("carenet.transfer_dossier"))
            .count()
            == 2)
            .then_some(())
    })
    .await?;

    // The SWV lists what it received too (any staff role), never content.
    let swv = cli(
        &region,
        "swv",
        &[
            "handover",
            "received",
            "--by",
            "swv-1",
            "--role",
            "swv_staff",
        ],
    );
    assert!(swv.is_ok(), "{swv:?}");
    region.shutdown().await
}

/// Issue 18 from the command line: the IB records the school the pupil goes
/// to; that school's request is answered at once, another school's waits on
/// the IB's list until the IB confirms it; the push side follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ib_names_the_pupils_school_and_answers_other_requests_from_the_command_line()
-> anyhow::Result<()> {
    use carenet_fabric::PartyKind;
    use carenet_node::region::PartyPlan;

    let mut plans = crate::three_parties();
    plans.push(PartyPlan::new("vo-2", PartyKind::VoSchool, "VO 2"));
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let file = crate::oso::examples()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("POVO_full"))
        .unwrap()
        .display()
        .to_string();
    // The file states the guardians' inzage: the dossier is ready.
    let out = cli(
        &region,
        "po-1",
        &with(&["oso", "import", &file, "--child", "pupil-1"], &IB),
    )?;
    let (id, state) = out.trim().split_once(' ').unwrap();
    assert_eq!(state, "ready");
    let id = id.to_owned();
    let destination = |school: &str| {
        run(
            &region,
            "po-1",
            &with(
                &[
                    "handover",
                    "destination",
                    "--dossier",
                    &id,
                    "--school",
                    school,
                ],
                &IB,
            ),
        )
    };
    // Only a school of the route's receiving kind, from the directory.
    let out = destination("swv");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("school:"),
        "{out:?}"
    );
    let out = destination("vo-1");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "destination vo-1"
    );
    let request = |school: &str| {
        cli(
            &region,
            school,
            &with(
                &[
                    "handover",
                    "request",
                    "--from",
                    "po-1",
                    "--pupil-number",
                    "269326728",
                    "--birth-date",
                    "2003-03-17",
                ],
                &ZC,
            ),
        )
    };
    // Another school: the one answer, and an item on the IB's list.
    assert_eq!(request("vo-2")?.trim(), "recorded");
    let list = cli(
        &region,
        "po-1",
        &with(&["handover", "requests", "list"], &IB),
    )?;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 1, "{list}");
    assert!(
        lines[0].contains(&format!("dossier:{id}")) && lines[0].contains("from:vo-2"),
        "{list}"
    );
    assert!(lines[0].contains("destination:vo-1"), "{list}");
    let item = lines[0].split(' ').next().unwrap().to_owned();
    // The pupil's school: at once.
    let out = request("vo-1")?;
    assert!(out.starts_with("queued\nqueued "), "{out}");
    // A mentor may not answer the list; the IB confirms vo-2, which gets it.
    let out = run(
        &region,
        "po-1",
        &with(
            &["handover", "requests", "confirm", "--id", &item],
            &PO_MENTOR,
        ),
    );
    assert!(!out.status.success());
    let out = cli(
        &region,
        "po-1",
        &with(&["handover", "requests", "confirm", "--id", &item], &IB),
    )?;
    assert!(out.starts_with("queued "), "{out}");
    let list = cli(
        &region,
        "po-1",
        &with(&["handover", "requests", "list"], &IB),
    )?;
    assert!(list.trim().is_empty(), "{list}");
    let vo2 = region.handle("vo-2");
    wait_until(T, || async {
        (carenet_handover::incoming::list(&vo2.store)
            .await
            .ok()?
            .len()
            == 1)
            .then_some(())
    })
    .await?;
    // vo-2 is now the destination: a push to vo-1 again names the school.
    let out = run(
        &region,
        "po-1",
        &with(
            &["handover", "publish", "--dossier", &id, "--to", "vo-1"],
            &IB,
        ),
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("recipient:"),
        "{out:?}"
    );
    region.shutdown().await
}
