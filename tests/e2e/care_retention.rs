//! A school's own care records are kept two years after the case ended and
//! then purged with proof (issue 18): the IZO registration, the ZAT case
//! and the plan of a closed case, over real nodes on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL; an open case is kept however old.

use carenet_caseplan::plan;
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, PartyKind, Role, audit, with_db};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, IzoOutcome, IzoTriageDecision};
use carenet_referral::slice::ReferralConfig;
use carenet_referral::{izo, izo_meeting, zat};

const T: std::time::Duration = std::time::Duration::from_secs(30);
const DAY_MS: i64 = 86_400_000;

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

fn day(offset: i64) -> String {
    let d = carenet_fabric::clock::today() + time::Duration::days(offset);
    carenet_consent::record::format_date(d)
}

/// Moves every time a care record's retention reads `days` into the past.
async fn age(store: &Store, days: i64) -> anyhow::Result<()> {
    let by = days * DAY_MS;
    with_db!(&store.db, pool => {
        for sql in [
            "UPDATE izo_case SET created_at_ms = created_at_ms - $1, updated_at_ms = updated_at_ms - $1",
            "UPDATE izo_meeting SET created_at_ms = created_at_ms - $1",
            "UPDATE izo_conversation SET created_at_ms = created_at_ms - $1",
            "UPDATE zat_case SET created_at_ms = created_at_ms - $1, updated_at_ms = updated_at_ms - $1, closed_at_ms = closed_at_ms - $1",
            "UPDATE zat_meeting SET created_at_ms = created_at_ms - $1",
            "UPDATE case_plan SET created_at_ms = created_at_ms - $1, updated_at_ms = updated_at_ms - $1, closed_at_ms = closed_at_ms - $1",
        ] {
            sqlx::query(sql).bind(by).execute(pool).await?;
        }
    });
    Ok(())
}

async fn count(store: &Store, sql: &'static str, id: &str) -> anyhow::Result<i64> {
    Ok(with_db!(&store.db, pool => {
        sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_one(pool).await?
    }))
}

/// How many rows hold something of the IZO registration, the ZAT case and
/// the plan.
async fn rows(store: &Store, izo_id: &str, case_id: &str, plan_id: &str) -> anyhow::Result<i64> {
    let mut n = 0;
    for (sql, id) in [
        ("SELECT COUNT(*) FROM izo_case WHERE id = $1", izo_id),
        ("SELECT COUNT(*) FROM izo_meeting WHERE izo_id = $1", izo_id),
        (
            "SELECT COUNT(*) FROM izo_conversation WHERE izo_id = $1",
            izo_id,
        ),
        ("SELECT COUNT(*) FROM zat_case WHERE id = $1", case_id),
        (
            "SELECT COUNT(*) FROM zat_meeting WHERE case_id = $1",
            case_id,
        ),
        (
            "SELECT COUNT(*) FROM zat_member WHERE case_id = $1",
            case_id,
        ),
        ("SELECT COUNT(*) FROM case_plan WHERE id = $1", plan_id),
        ("SELECT COUNT(*) FROM case_task WHERE plan_id = $1", plan_id),
        (
            "SELECT COUNT(*) FROM case_member WHERE plan_id = $1",
            plan_id,
        ),
        (
            "SELECT COUNT(*) FROM case_event WHERE plan_id = $1",
            plan_id,
        ),
        ("SELECT COUNT(*) FROM case_note WHERE plan_id = $1", plan_id),
        ("SELECT COUNT(*) FROM case_goal WHERE plan_id = $1", plan_id),
    ] {
        n += count(store, sql, id).await?;
    }
    Ok(n)
}

/// Runs the two slices' purges with the periods the registry gives.
async fn purge(store: &Store) -> anyhow::Result<(usize, usize, usize)> {
    let days = |name: &str| store.registry.retention_days(name).expect(name);
    let now = now_ms();
    let r = carenet_referral::retention::purge_expired(
        store,
        days(carenet_referral::retention::IZO),
        days(carenet_referral::retention::ZAT),
        now,
    )
    .await?;
    let p = carenet_caseplan::retention::purge_expired(
        store,
        days(carenet_caseplan::retention::RECORD),
        now,
    )
    .await?;
    Ok((r.izo, r.zat, p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_cases_izo_zat_and_plan_records_are_purged_after_two_years_with_proof()
-> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let mentor = staff(&vo, "mentor-1", &[Role::Mentor]);
    let zc = staff(&vo, "zc-1", &[Role::CareCoordinator]);
    let child = "LL-2031";

    // The periods are the registry's: two years for each kind of record.
    for kind in ["record.izo", "record.zat", "record.case_plan"] {
        assert_eq!(vo.registry.retention_days(kind), Some(730), "{kind}");
    }

    // One whole case: IZO, ZAT, plan, and the ZAT closes it.
    let izo_id = izo::register(
        &vo,
        &mentor,
        v1::IzoRegistration {
            child_ref: child.into(),
            child_birth_date: "2013-04-02".into(),
            mentor: "mentor-1".into(),
            guardians_informed: true,
            problem: "Verzuimt vaak.".into(),
            pupil_question: "Ik wil weer naar school.".into(),
            support_question: "Wat heeft hij nodig?".into(),
            support_requested: vec![v1::IzoSupportKind::Pupil as i32],
            ..Default::default()
        },
    )
    .await?;
    izo::triage(
        &vo,
        &zc,
        &izo_id,
        v1::IzoTriage {
            decision: IzoTriageDecision::Accept as i32,
            belongs_in_tier2: true,
            questions_clear: true,
            tier1_exhausted: true,
            guardians_and_pupil_informed: true,
            ..Default::default()
        },
    )
    .await?;
    izo_meeting::converse(
        &vo,
        &mentor,
        &izo_id,
        v1::IzoConversation {
            held_on: day(0),
            with: v1::IzoConversationWith::Guardians as i32,
            summary: "Ouders akkoord met bespreking.".into(),
            ..Default::default()
        },
    )
    .await?;
    izo_meeting::record(
        &vo,
        &zc,
        &izo_id,
        v1::IzoMinutes {
            held_on: day(0),
            analysis: "Slaapproblemen.".into(),
            guardians_contact: "mentor-1".into(),
            summary: "Naar het ZAT.".into(),
            zat_question: "Wie helpt?".into(),
            evaluation_on: day(28),
            outcomes: vec![IzoOutcome::Zat as i32],
            ..Default::default()
        },
    )
    .await?;
    let refer = asked_consent(
        &vo,
        child,
        Purpose::ReferToZat,
        &["jgz-1"],
        vec![Category::Pupil, Category::EducationalSupport],
    )
    .await?;
    grant_consent(&vo, &refer).await?;
    let case_id = zat::refer(
        &vo,
        &zc,
        &ReferralConfig::default(),
        v1::ZatReferral {
            child_ref: child.into(),
            child_name: "Daan de Boer".into(),
            child_birth_date: "2013-04-02".into(),
            origin: "izo".into(),
            izo_id: izo_id.clone(),
            consent_record: refer,
            meeting_on: day(7),
            ..Default::default()
        },
    )
    .await?;
    zat::distribute(&vo, &zc, &case_id, &["jgz-1".into()]).await?;
    let member = asked_consent(
        &vo,
        child,
        Purpose::CaseMembership,
        &["jgz-1"],
        vec![
            Category::ActionPlans,
            Category::Pupil,
            Category::ExternalCare,
        ],
    )
    .await?;
    grant_consent(&vo, &member).await?;
    let (_, plan_id) = zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            held_on: day(0),
            analysis: "Slaapprobleem.".into(),
            needs: "Een vast aanspreekpunt.".into(),
            directions: "Slaap laten onderzoeken.".into(),
            decisions: "JGZ onderzoekt.".into(),
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
                    consent_record: member,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await?;
    let plan_id = plan_id.expect("the plan of action");
    zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            held_on: day(0),
            review: "Het gaat goed; de zaak kan dicht.".into(),
            close_case: true,
            ..Default::default()
        },
    )
    .await?;
    assert_eq!(plan::load(&vo, &plan_id).await?.header.status, "closed");

    // Another pupil's plan is still open: kept however old.
    let open_id = plan::open(
        &vo,
        &zc,
        plan::NewPlan {
            child_ref: "LL-2032".into(),
            child_name: "Sanne Smit".into(),
            child_birth_date: "2013-05-01".into(),
            origin: "zat".into(),
            origin_id: "elders".into(),
            coordinator: "zc-1".into(),
            reports_back: "zc-1".into(),
            evaluation_on: day(42),
            actions: vec![v1::CaseAction {
                owner: "vo-1".into(),
                what: "Dagelijkse check-in".into(),
                goal: "Rust".into(),
                due_on: day(21),
                category: "action_plans".into(),
                person: String::new(),
            }],
            source: "test:open".into(),
            ..Default::default()
        },
    )
    .await?;
    // The views of the closed plan have gone out (nothing left to send).
    wait_until(T, || async {
        let sent = vo
            .sent_versions(
                carenet_caseplan::VIEW_TYPE,
                &carenet_caseplan::model::view_document_id(&plan_id),
            )
            .await
            .ok()?;
        sent.iter()
            .all(|s| s.delivered_at_ms.is_some())
            .then_some(())
    })
    .await?;
    let before = rows(&vo, &izo_id, &case_id, &plan_id).await?;
    assert!(before >= 12, "{before} rows of the case");

    // A year and eleven months after the case closed: all kept.
    age(&vo, 700).await?;
    assert_eq!(purge(&vo).await?, (0, 0, 0));
    assert_eq!(rows(&vo, &izo_id, &case_id, &plan_id).await?, before);

    // Past two years: purged, each with a proof in the audit chain.
    age(&vo, 100).await?;
    assert_eq!(purge(&vo).await?, (1, 1, 1));
    assert_eq!(rows(&vo, &izo_id, &case_id, &plan_id).await?, 0);
    assert!(matches!(
        plan::load(&vo, &plan_id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        izo::show(&vo, &zc, &izo_id).await,
        Err(Error::NotFound(_))
    ));
    assert!(zat::list(&vo, &zc).await?.is_empty());
    let log = audit::list(&vo.db, 0, 100_000).await?;
    for id in [&izo_id, &case_id, &plan_id] {
        let proof = log
            .iter()
            .find(|r| r.action == "purged" && &r.message_id == id)
            .unwrap_or_else(|| panic!("a proof of deleting {id}"));
        assert_eq!(proof.purpose, "retention:730d");
        assert_eq!(proof.legal_basis, "retention");
        assert_eq!(proof.payload_sha256.len(), 32, "the hash of what went");
    }
    assert!(audit::verify(&vo.db).await?.is_ok(), "the chain verifies");
    // The open case stays, and a second run finds nothing more.
    assert_eq!(plan::load(&vo, &open_id).await?.header.status, "open");
    assert_eq!(purge(&vo).await?, (0, 0, 0));
    region.shutdown().await
}
