//! The ZAT case file at the member (issue 19, item 3), over real nodes on
//! SQLite and (with `TEST_DATABASE_URL`) PostgreSQL: the JGZ, a ZAT member
//! on its own node, reads the case file the chair sent before the meeting
//! through the JSON API (a client-credentials token of a real OpenID
//! Connect provider) and the command line, each reading audited; the
//! meeting's plan replaces it; the guardians' withdrawal of the consent it
//! travelled under erases its content in the member's store. The pages are
//! checked in a real browser by `care.mjs` (see `gateway.rs`).

use std::time::Duration;

use carenet_consent::record::ConsentStore;
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::{Actor, PartyKind, Role, audit, with_db};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;
use carenet_referral::slice::ReferralConfig;
use carenet_referral::zat;

use crate::gateway::{bind, gateway, provider, token};

const T: Duration = Duration::from_secs(30);
const CHILD: &str = "LL-1919";

fn day(offset: i64) -> String {
    let d = carenet_fabric::clock::today() + time::Duration::days(offset);
    carenet_consent::record::format_date(d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zat_member_reads_the_case_file_until_the_plan_replaces_it_and_a_withdrawal_erases_it()
-> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ Regio"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let mentor = Actor::new(vo.party.clone(), "mentor-1", [Role::Mentor])?;
    let zc = Actor::new(vo.party.clone(), "zc-1", [Role::CareCoordinator])?;

    // The chair refers (from the group review, as this school allows) under
    // the guardians' consent naming the JGZ, and sends the case file.
    let zat_consent = asked_consent(
        &vo,
        CHILD,
        Purpose::ReferToZat,
        &["jgz-1"],
        vec![
            Category::Pupil,
            Category::EducationalSupport,
            Category::CareHistory,
        ],
    )
    .await?;
    grant_consent(&vo, &zat_consent).await?;
    let case_id = zat::refer(
        &vo,
        &mentor,
        &ReferralConfig {
            zat_from_group_review: true,
        },
        v1::ZatReferral {
            child_ref: CHILD.into(),
            child_name: "Noor Jansen".into(),
            child_birth_date: "2012-09-14".into(),
            origin: "group_review".into(),
            question: "Hoe krijgen we Noor weer elke dag op school?".into(),
            background: "Twee gesprekken met de mentor; verzuim loopt op.".into(),
            consent_record: zat_consent.clone(),
            meeting_on: day(7),
            ..Default::default()
        },
    )
    .await?;
    let sent = zat::distribute(&vo, &zc, &case_id, &["jgz-1".into()]).await?;
    let message_id = sent[0].1.clone();

    // The JGZ's own system reads it through the API of the JGZ's gateway.
    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "jgz-1", &issuer, listener, &base).await?;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let jgz_system = token(&issuer, "las-jgz", Some("carenet-api")).await?;
    let listed: serde_json::Value = wait_until(T, || async {
        let v: serde_json::Value = http
            .get(api("/zat/received"))
            .bearer_auth(&jgz_system)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v.as_array().is_some_and(|a| !a.is_empty())).then_some(v)
    })
    .await?;
    assert_eq!(listed[0]["id"], message_id.as_str());
    assert_eq!(listed[0]["school"], "vo-1");
    assert_eq!(listed[0]["case_id"], case_id.as_str());
    assert_eq!(listed[0]["case_file"]["child_name"], "Noor Jansen");
    assert!(listed[0]["plan_id"].is_null());
    let one: serde_json::Value = http
        .get(api(&format!("/zat/received/{message_id}")))
        .bearer_auth(&jgz_system)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert_eq!(
        one["case_file"]["question"],
        "Hoe krijgen we Noor weer elke dag op school?"
    );
    assert_eq!(
        one["case_file"]["background"],
        "Twee gesprekken met de mentor; verzuim loopt op."
    );
    assert_eq!(one["case_file"]["meeting_on"], day(7).as_str());
    let unknown = http
        .get(api("/zat/received/3f0c2a4e-0000-4000-8000-000000000000"))
        .bearer_auth(&jgz_system)
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<serde_json::Value>().await?["error"],
        "not_found"
    );
    // A system without a ZAT member's role is refused (and audited).
    let other = token(&issuer, "las-teacher", Some("carenet-api")).await?;
    let refused = http
        .get(api("/zat/received"))
        .bearer_auth(&other)
        .send()
        .await?;
    assert_eq!(refused.status(), 403);

    // An operator reads the same through the command line.
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(carenet_e2e::carenet_bin())
            .args(["zat", "received"])
            .args(args)
            .arg("--data-dir")
            .arg(region.dir.path())
            .args([
                "--party",
                "jgz-1",
                "--by",
                "jgz-nurse",
                "--role",
                "zat_member",
            ])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run carenet");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = cli(&["--id", &message_id]);
    assert!(
        text.contains("pupil: Noor Jansen") && text.contains("question: Hoe krijgen we Noor"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&cli(&["--json"]))?;
    assert_eq!(json[0]["case_file"]["child_birth_date"], "2012-09-14");

    // Every reading is audited at the member: the API's three (list, one),
    // the command line's two, naming the school it came from.
    let reads = audit::list(&jgz.db, 0, 10_000)
        .await?
        .into_iter()
        .filter(|r| r.action == "zat_case_read" && r.message_id == message_id)
        .collect::<Vec<_>>();
    assert!(reads.len() >= 4, "{} readings audited", reads.len());
    assert!(reads.iter().all(|r| r.counterparty == "vo-1"));
    assert!(reads.iter().any(|r| r.actor.contains("jgz-sys")));
    assert!(reads.iter().any(|r| r.actor.contains("jgz-nurse")));

    // The meeting: its plan of action, with the JGZ as member under its own
    // consent, replaces the case file at the JGZ.
    let member_consent = asked_consent(
        &vo,
        CHILD,
        Purpose::CaseMembership,
        &["jgz-1"],
        vec![
            Category::ActionPlans,
            Category::Pupil,
            Category::ExternalCare,
        ],
    )
    .await?;
    grant_consent(&vo, &member_consent).await?;
    let (_, plan_id) = zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            held_on: day(0),
            present: vec!["vo-1".into(), "jgz-1".into()],
            analysis: "Slaapt slecht; spanningen thuis.".into(),
            needs: "Een vast aanspreekpunt.".into(),
            directions: "Slaap laten onderzoeken.".into(),
            decisions: "JGZ onderzoekt; school vangt op.".into(),
            plan: Some(v1::ZatPlanOfAction {
                coordinator: "zc-1".into(),
                reports_back: "zc-1 belt de ouders".into(),
                evaluation_on: day(42),
                actions: vec![v1::CaseAction {
                    owner: "jgz-1".into(),
                    what: "Slaaponderzoek".into(),
                    goal: "Weer naar school".into(),
                    due_on: day(21),
                    category: "external_care".into(),
                    person: String::new(),
                }],
                members: vec![v1::CaseMember {
                    party: "jgz-1".into(),
                    role: "jeugdverpleegkundige".into(),
                    person: "J. de Vries".into(),
                    consent_record: member_consent.clone(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    let plan_id = plan_id.expect("the first meeting opens the plan");
    let replaced: serde_json::Value = wait_until(T, || async {
        let v: serde_json::Value = http
            .get(api(&format!("/zat/received/{message_id}")))
            .bearer_auth(&jgz_system)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v["plan_id"] == plan_id.as_str()).then_some(v)
    })
    .await?;
    assert!(replaced["case_file"].is_null(), "{replaced}");
    let text = cli(&[]);
    assert!(
        text.contains("replaced by the meeting's plan")
            && text.contains(&plan_id)
            && !text.contains("Noor Jansen"),
        "{text}"
    );

    // The guardians withdraw the consent the case file travelled under: the
    // JGZ's copy is erased, not only hidden.
    ConsentStore::new(vo.clone())
        .withdraw(
            &zc,
            &zat_consent,
            vec![v1::Grantor {
                role: v1::GrantorRole::Guardian as i32,
                name: "ouder".into(),
            }],
            v1::Evidence {
                kind: v1::EvidenceKind::RecordedConversation as i32,
                recorded_by: String::new(),
                document_sha256: vec![],
            },
        )
        .await?;
    wait_until(T, || async {
        let v: serde_json::Value = http
            .get(api("/zat/received"))
            .bearer_auth(&jgz_system)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (v.as_array().is_some_and(Vec::is_empty)).then_some(())
    })
    .await?;
    let gone = http
        .get(api(&format!("/zat/received/{message_id}")))
        .bearer_auth(&jgz_system)
        .send()
        .await?;
    assert_eq!(gone.status(), 404);
    let payload: Vec<u8> = with_db!(&jgz.db, pool => {
        sqlx::query_scalar("SELECT payload FROM inbox WHERE message_id = $1")
            .bind(&message_id)
            .fetch_one(pool)
            .await?
    });
    assert!(payload.is_empty(), "the case file's content is deleted");
    let json: serde_json::Value = serde_json::from_str(&cli(&["--json"]))?;
    assert_eq!(json, serde_json::json!([]));
    let nurse = Actor::new(jgz.party.clone(), "jgz-nurse", [Role::ZatMember])?;
    assert!(zat::received(&jgz, &nurse).await?.is_empty());
    assert!(zat::received_one(&jgz, &nurse, &message_id).await.is_err());

    gw.stop().await;
    region.shutdown().await
}
