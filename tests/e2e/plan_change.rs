//! The plan changes over time (issue 20), over real nodes: after an
//! evaluation with "bijstellen" the coordinator adds an action and a member
//! (and a goal), edits and ends a goal, edits an action and ends a
//! membership; each change is one version on the timeline and reaches the
//! members' nodes. A member's progress note without a change of state
//! reaches the coordinator and waits there as new. A stale form (decided on
//! an older version, or sent twice) has no second effect. On SQLite and
//! (with `TEST_DATABASE_URL`) PostgreSQL.

use std::time::Duration;

use carenet_caseplan::change::{self, Addition};
use carenet_caseplan::model::MemberView;
use carenet_caseplan::{member, plan};
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, PartyKind, Role};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;

const T: Duration = Duration::from_secs(30);
const CHILD: &str = "LL-2077";

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

async fn view_when(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    ok: impl Fn(&MemberView) -> bool,
) -> anyhow::Result<MemberView> {
    wait_until(T, || async {
        let v = member::show(store, actor, "vo-1", plan_id).await.ok()?;
        ok(&v).then_some(v)
    })
    .await
}

fn aborted(r: carenet_caseplan::Result<()>) -> bool {
    matches!(r, Err(Error::Aborted(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_is_adjusted_after_an_evaluation_and_the_members_follow() -> anyhow::Result<()> {
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
        PartyPlan::zat("smw-1", "smw", "Schoolmaatschappelijk werk"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let smw = region.handle("smw-1").store;
    let zc = Actor::new(vo.party.clone(), "zc-1", [Role::CareCoordinator])?;
    let nurse = Actor::new(jgz.party.clone(), "jgz-nurse", [Role::ZatMember])?;
    let social = Actor::new(smw.party.clone(), "smw-worker", [Role::ZatMember])?;

    let consent = |party: &'static str, extra: Category| {
        let vo = vo.clone();
        async move {
            let id = asked_consent(
                &vo,
                CHILD,
                Purpose::CaseMembership,
                &[party],
                vec![Category::ActionPlans, Category::Pupil, extra],
            )
            .await?;
            grant_consent(&vo, &id).await?;
            anyhow::Ok(id)
        }
    };
    let jgz_consent = consent("jgz-1", Category::ExternalCare).await?;
    let smw_consent = consent("smw-1", Category::HomeSituation).await?;

    // The first meeting's plan: one goal, the JGZ's action, the JGZ a member.
    let plan_id = plan::open(
        &vo,
        &zc,
        plan::NewPlan {
            child_ref: CHILD.into(),
            child_name: "Noor Jansen".into(),
            child_birth_date: "2013-05-01".into(),
            origin: "zat".into(),
            origin_id: "case-1".into(),
            coordinator: "zc-1".into(),
            reports_back: "zc-1 belt de ouders".into(),
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
                person: String::new(),
            }],
            members: vec![v1::CaseMember {
                party: "jgz-1".into(),
                role: "jeugdverpleegkundige".into(),
                person: "J. de Vries".into(),
                consent_record: jgz_consent.clone(),
                ..Default::default()
            }],
            ..Default::default()
        },
    )
    .await?;
    view_when(&jgz, &nurse, &plan_id, |_| true).await?;

    // The evaluation says "bijstellen".
    plan::evaluate(
        &vo,
        &zc,
        &plan_id,
        &plan::Evaluation {
            held_on: day(0),
            text: "Slaap beter, thuis nog onrustig.".into(),
            outcome: "adjust".into(),
            next_on: day(28),
            ..Default::default()
        },
    )
    .await?;
    let before = plan::show(&vo, &zc, &plan_id).await?;

    // The coordinator adds a goal, the SMW as a member and its action.
    let form_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let addition = Addition {
        goals: vec![v1::CaseGoal {
            text: "Rust thuis bij het slapengaan".into(),
            measure: "Gesprek met de ouders".into(),
            target_on: day(42),
            ..Default::default()
        }],
        actions: vec![v1::CaseAction {
            owner: "smw-1".into(),
            what: "Drie gesprekken met het gezin".into(),
            goal: "Rust thuis bij het slapengaan".into(),
            due_on: day(35),
            category: "home_situation".into(),
            person: String::new(),
        }],
        members: vec![v1::CaseMember {
            party: "smw-1".into(),
            role: "schoolmaatschappelijk werker".into(),
            person: "S. Bakker".into(),
            consent_record: smw_consent.clone(),
            ..Default::default()
        }],
    };
    change::add(
        &vo,
        &zc,
        &plan_id,
        before.version,
        &form_id,
        addition.clone(),
    )
    .await?;
    let after = plan::show(&vo, &zc, &plan_id).await?;
    assert_eq!(after.version, before.version + 1, "one change, one version");
    assert_eq!((after.goals.len(), after.tasks.len()), (2, 2));
    // The same form again (a second click): no second effect.
    assert!(aborted(
        change::add(
            &vo,
            &zc,
            &plan_id,
            before.version,
            &form_id,
            addition.clone()
        )
        .await
    ));
    // Another form decided on the old version: stale, nothing added.
    let other = uuid::Uuid::new_v4().hyphenated().to_string();
    assert!(aborted(
        change::add(&vo, &zc, &plan_id, before.version, &other, addition).await
    ));
    let now = plan::show(&vo, &zc, &plan_id).await?;
    assert_eq!((now.version, now.tasks.len()), (after.version, 2));

    // The new member receives the plan with its action, at its own node;
    // the JGZ receives the new version with the new goal.
    let smw_view = view_when(&smw, &social, &plan_id, |v| v.version == after.version).await?;
    assert!(
        smw_view
            .tasks
            .iter()
            .any(|t| t.owner == "smw-1" && t.what == "Drie gesprekken met het gezin")
    );
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |v| v.version == after.version).await?;
    assert_eq!(jgz_view.goals.len(), 2);
    assert!(
        jgz_view
            .header
            .as_ref()
            .unwrap()
            .members
            .iter()
            .any(|m| m.party == "smw-1"),
        "the JGZ sees who else is a member"
    );

    // Edit a goal, then end it; an edit decided on the old version is stale.
    let goal = after.goals[0].clone();
    change::edit_goal(
        &vo,
        &zc,
        &plan_id,
        after.version,
        &goal.id,
        "Noor is vier dagen per week op school",
        "Verzuim per week",
        &day(49),
    )
    .await?;
    assert!(aborted(
        change::edit_goal(
            &vo,
            &zc,
            &plan_id,
            after.version,
            &goal.id,
            "Dubbel",
            "Dubbel",
            &day(49),
        )
        .await
    ));
    let edited = plan::show(&vo, &zc, &plan_id).await?;
    assert_eq!(
        edited.goals[0].text,
        "Noor is vier dagen per week op school"
    );
    assert_eq!(edited.goals[0].target_on, day(49));
    let e = change::end_goal(&vo, &zc, &plan_id, edited.version, &goal.id, "achieved", "")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { field, .. } if field == "reason"),
        "{e:?}"
    );
    change::end_goal(
        &vo,
        &zc,
        &plan_id,
        edited.version,
        &goal.id,
        "achieved",
        "Vier weken zonder verzuim",
    )
    .await?;
    let ended = plan::show(&vo, &zc, &plan_id).await?;
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |v| v.version == ended.version).await?;
    let seen_goal = jgz_view.goals.iter().find(|g| g.id == goal.id).unwrap();
    assert_eq!(
        (
            seen_goal.text.as_str(),
            seen_goal.status.as_str(),
            seen_goal.end_reason.as_str()
        ),
        (
            "Noor is vier dagen per week op school",
            "achieved",
            "Vier weken zonder verzuim"
        )
    );

    // Edit the JGZ's action; the JGZ sees the new text and date.
    let jgz_task = ended
        .tasks
        .iter()
        .find(|t| t.owner == "jgz-1")
        .unwrap()
        .clone();
    change::edit_task(
        &vo,
        &zc,
        &plan_id,
        ended.version,
        &jgz_task.id,
        "Slaaponderzoek en slaapdagboek",
        &day(21),
        "",
    )
    .await?;
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |v| {
        v.tasks
            .iter()
            .any(|t| t.what == "Slaaponderzoek en slaapdagboek")
    })
    .await?;
    let task = jgz_view.tasks.iter().find(|t| t.owner == "jgz-1").unwrap();
    assert_eq!(
        (task.due_on.as_str(), task.state.as_str()),
        (day(21).as_str(), "requested")
    );

    // The nurse writes a note on her action without changing its state.
    let unread = |vo: Store, zc: Actor| async move {
        let listed = plan::list(&vo, &zc).await?;
        anyhow::Ok(listed[0].new_notes)
    };
    assert_eq!(unread(vo.clone(), zc.clone()).await?, 0);
    let e = member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &task.id,
        "note",
        task.version,
        " ",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument { field, .. } if field == "note"),
        "{e:?}"
    );
    member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &task.id,
        "note",
        task.version,
        "Eerste afspraak gemaakt; ouders houden een slaapdagboek bij.",
    )
    .await?;
    wait_until(T, || async {
        (unread(vo.clone(), zc.clone()).await.ok()? == 1).then_some(())
    })
    .await?;
    let noted = plan::show(&vo, &zc, &plan_id).await?;
    assert!(noted.events.iter().any(|e| e.kind == "task_note"
        && e.party == "jgz-1"
        && e.text == "Eerste afspraak gemaakt; ouders houden een slaapdagboek bij."));
    let t = noted.task(&task.id).unwrap();
    assert_eq!(t.state, "requested", "a note changes no state");
    assert_eq!(
        unread(vo.clone(), zc.clone()).await?,
        0,
        "opened: no longer new"
    );
    // The member sees its note on the timeline of its next view.
    view_when(&jgz, &nurse, &plan_id, |v| {
        v.events.iter().any(|e| e.kind == "task_note")
    })
    .await?;

    // End the SMW's membership: its open action is cancelled, the JGZ sees it.
    change::end_member(
        &vo,
        &zc,
        &plan_id,
        noted.version,
        "smw-1",
        "Gezin krijgt hulp via het wijkteam",
    )
    .await?;
    let last = plan::show(&vo, &zc, &plan_id).await?;
    let smw_member = last
        .header
        .members
        .iter()
        .find(|m| m.party == "smw-1")
        .unwrap();
    assert!(!smw_member.ended_on.is_empty());
    assert!(
        last.tasks
            .iter()
            .any(|t| t.owner == "smw-1" && t.state == "cancelled")
    );
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |v| v.version == last.version).await?;
    assert!(
        jgz_view
            .header
            .as_ref()
            .unwrap()
            .members
            .iter()
            .any(|m| m.party == "smw-1" && !m.ended_on.is_empty())
    );
    assert!(aborted(
        change::end_member(&vo, &zc, &plan_id, noted.version, "jgz-1", "Dubbel").await
    ));

    // The timeline: each change once, in order.
    let kinds: Vec<&str> = last
        .events
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| {
            matches!(
                *k,
                "goal_added"
                    | "member_added"
                    | "task_added"
                    | "goal_changed"
                    | "goal_ended"
                    | "task_changed"
                    | "task_note"
                    | "member_removed"
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "member_added",
            "goal_added",
            "task_added",
            "member_added",
            "goal_added",
            "task_added",
            "goal_changed",
            "goal_ended",
            "task_changed",
            "task_note",
            "member_removed"
        ]
    );
    region.shutdown().await
}
