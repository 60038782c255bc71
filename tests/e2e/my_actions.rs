//! A mentor's actions in plans (issue 20, item 2: "actions of mine in
//! plans"), over real nodes (vo-1 holding the plan, the JGZ a member), the
//! school's gateway, the real OpenID Connect provider and a real browser
//! (`tests/browser/my_actions.mjs`): the coordinator names the mentor, by
//! name, on an action of the school (an unknown person is refused naming
//! the field); the mentor's start page counts it and links to her list;
//! she opens the action alone and completes it; the coordinator's plan
//! shows it. The mentor opens neither the plan nor another party's action.
//! A partner's nurse named on her party's action finds and steps it from
//! her own node the same way. On SQLite and (with `TEST_DATABASE_URL`)
//! PostgreSQL.

use carenet_caseplan::{member, plan, work};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::{Actor, PartyKind, Role};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;

use crate::gateway::{bind, browser, gateway, provider, shots_dir};

const CHILD: &str = "LL-3090";

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mentor_named_on_an_action_finds_it_opens_only_it_and_completes_it() -> anyhow::Result<()>
{
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let zc = Actor::new(vo.party.clone(), "zc-9", [Role::CareCoordinator])?;
    let nurse = Actor::new(jgz.party.clone(), "jgz-3", [Role::ZatMember])?;
    let consent = asked_consent(
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
    grant_consent(&vo, &consent).await?;
    // The plan as the first meeting left it: the JGZ's action only, naming
    // its nurse (by the staff id the JGZ gave).
    let plan_id = plan::open(
        &vo,
        &zc,
        plan::NewPlan {
            child_ref: CHILD.into(),
            child_name: "Noor Jansen".into(),
            child_birth_date: "2013-05-01".into(),
            origin: "zat".into(),
            origin_id: "case-1".into(),
            coordinator: "zc-9".into(),
            reports_back: "zc-9".into(),
            evaluation_on: day(14),
            goals: vec![v1::CaseGoal {
                text: "Noor is elke dag op school".into(),
                measure: "Verzuim per week".into(),
                target_on: day(56),
                ..Default::default()
            }],
            actions: vec![v1::CaseAction {
                owner: "jgz-1".into(),
                what: "Slaaponderzoek".into(),
                goal: "Noor is elke dag op school".into(),
                due_on: day(14),
                category: "external_care".into(),
                person: "jgz-3".into(),
            }],
            members: vec![v1::CaseMember {
                party: "jgz-1".into(),
                role: "jeugdverpleegkundige".into(),
                person: "Roos Dijkstra".into(),
                consent_record: consent,
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await?;
    let jgz_task = plan::show(&vo, &zc, &plan_id).await?.tasks[0].id.clone();
    // The slice refuses a person that is no staff id, naming the field.
    let refused = plan::check(
        &vo,
        plan::NewPlan {
            child_ref: CHILD.into(),
            child_name: "Noor Jansen".into(),
            child_birth_date: "2013-05-01".into(),
            coordinator: "zc-9".into(),
            reports_back: "zc-9".into(),
            evaluation_on: day(14),
            actions: vec![v1::CaseAction {
                owner: "jgz-1".into(),
                what: "Gesprek".into(),
                goal: "Noor is elke dag op school".into(),
                due_on: day(14),
                category: "external_care".into(),
                person: "Mark de Wit".into(),
            }],
            ..Default::default()
        },
    )
    .await
    .expect_err("a name where a staff id belongs")
    .to_string();
    assert!(refused.contains("actions[0].person"), "{refused}");

    let (listener, base) = bind().await?;
    let (_provider, issuer) = provider(&[&base]).await?;
    let gw = gateway(&region, "vo-1", &issuer, listener, &base).await?;
    let shots = shots_dir("mijn-acties");
    let _ = std::fs::remove_dir_all(&shots);
    let shots_s = shots.display().to_string();
    browser(
        "my_actions.mjs",
        &[
            ("VO_URL", &base),
            ("PLAN_ID", &plan_id),
            ("OTHER_TASK", &jgz_task),
            ("SHOTS_DIR", &shots_s),
        ],
        "all my-actions checks passed",
    )
    .await?;
    gw.stop().await;
    for shot in [
        "mijn-acties-1-bijstellen-uitvoerder",
        "mijn-acties-2-start-mentor",
        "mijn-acties-3-lijst",
        "mijn-acties-4-actie",
        "mijn-acties-5-afgerond",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}");
    }

    // At the holder: the action names the mentor and is completed by her.
    let p = plan::show(&vo, &zc, &plan_id).await?;
    let mine = p
        .tasks
        .iter()
        .find(|t| t.owner == "vo-1")
        .expect("the school's action");
    assert_eq!(
        (mine.person.as_str(), mine.state.as_str()),
        ("mentor-7", "completed")
    );
    assert_eq!(p.tasks.len(), 2, "the refused form added nothing");
    let mentor = Actor::new(vo.party.clone(), "mentor-7", [Role::Mentor])?;
    assert!(
        work::named(&vo, &mentor, true).await?.is_empty(),
        "none open"
    );
    // Nobody else's: another mentor is not named, and not let in.
    let other = Actor::new(vo.party.clone(), "mentor-8", [Role::Mentor])?;
    assert!(
        work::named_task(&vo, &other, "vo-1", &plan_id, &mine.id)
            .await
            .is_err()
    );
    let log: Vec<(String, String)> = carenet_fabric::audit::list(&vo.db, 0, 10_000)
        .await?
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    for action in [
        "case_named_tasks_listed",
        "case_named_task_read",
        "case_task_step",
        "refused:case_named_task",
    ] {
        assert!(
            log.iter()
                .any(|(a, l)| a.starts_with("mentor-7") && l == action),
            "{action} by the mentor in vo-1's audit log"
        );
    }
    assert!(
        log.iter()
            .any(|(a, l)| a.starts_with("mentor-7") && l == "refused:case_read"),
        "the mentor's try at the plan is audited"
    );
    // The member's view carries the person too (the JGZ sees who at the
    // school does it), in its latest view.
    let v = wait_until(std::time::Duration::from_secs(30), || async {
        let v = member::show(&jgz, &nurse, "vo-1", &plan_id).await.ok()?;
        v.tasks
            .iter()
            .any(|t| t.owner == "vo-1" && t.state == "completed")
            .then_some(v)
    })
    .await?;
    let seen = v.tasks.iter().find(|t| t.owner == "vo-1").expect("task");
    assert_eq!(seen.person, "mentor-7");

    // The JGZ's action names its nurse: in the view at her node she finds
    // it, opens it alone and steps it; the holder applies the step.
    let hers = work::named(&jgz, &nurse, true).await?;
    assert_eq!(hers.len(), 1, "{hers:?}");
    assert_eq!(
        (hers[0].holder.as_str(), hers[0].task_id.as_str()),
        ("vo-1", jgz_task.as_str())
    );
    let task = work::named_task(&jgz, &nurse, "vo-1", &plan_id, &jgz_task).await?;
    assert_eq!(task.pupil_name.as_deref(), Some("Noor Jansen"));
    assert_eq!(task.goal, "Noor is elke dag op school");
    work::named_step(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &jgz_task,
        "accept",
        task.task.version,
        "",
    )
    .await?;
    wait_until(std::time::Duration::from_secs(30), || async {
        let p = plan::show(&vo, &zc, &plan_id).await.ok()?;
        p.task(&jgz_task)
            .is_some_and(|t| t.state == "accepted")
            .then_some(())
    })
    .await?;
    // Her colleague is not named: neither listed nor let in.
    let colleague = Actor::new(jgz.party.clone(), "jgz-4", [Role::ZatMember])?;
    assert!(work::named(&jgz, &colleague, false).await?.is_empty());
    let e = work::named_task(&jgz, &colleague, "vo-1", &plan_id, &jgz_task)
        .await
        .expect_err("not named");
    assert!(matches!(e, carenet_fabric::Error::NotFound(_)), "{e}");
    region.shutdown().await
}
