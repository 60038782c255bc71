//! Care coordination over real nodes (issue 11): the IZO, the ZAT under the
//! guardians' consent, and one child, one plan held at the school, with the
//! JGZ and school social work as members on their own nodes; on SQLite and
//! (with `TEST_DATABASE_URL`) PostgreSQL.

use std::time::Duration;

use carenet_caseplan::model::MemberView;
use carenet_caseplan::{member, plan};
use carenet_consent::record::ConsentStore;
use carenet_consent::{Category, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, PartyKind, Role, audit};
use carenet_node::region::PartyPlan;
use carenet_proto::v1::{self, IzoOutcome, IzoTriageDecision};
use carenet_referral::slice::ReferralConfig;
use carenet_referral::{izo, izo_meeting, zat};

const T: Duration = Duration::from_secs(30);
const CHILD: &str = "LL-2031";

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

fn day(offset: i64) -> String {
    let d = carenet_fabric::clock::today() + time::Duration::days(offset);
    carenet_consent::record::format_date(d)
}

fn field_of(e: &Error) -> String {
    match e {
        Error::InvalidArgument { field, .. } => field.clone(),
        other => panic!("not an invalid argument: {other:?}"),
    }
}

fn registration() -> v1::IzoRegistration {
    v1::IzoRegistration {
        child_ref: CHILD.into(),
        child_birth_date: "2013-04-02".into(),
        mentor: "mentor-1".into(),
        guardians_informed: true,
        problem: "Verzuimt vaak, slaapt slecht, trekt zich terug.".into(),
        pupil_question: "Ik wil weer naar school kunnen.".into(),
        guardians_question: "Wij maken ons zorgen over het slapen.".into(),
        support_question: "Wat heeft hij nodig om weer te komen?".into(),
        support_requested: vec![v1::IzoSupportKind::Pupil as i32],
        ..Default::default()
    }
}

fn minutes(outcomes: &[IzoOutcome]) -> v1::IzoMinutes {
    v1::IzoMinutes {
        held_on: day(0),
        present: vec!["zorgcoördinator".into(), "mentor".into(), "smw".into()],
        analysis: "Slaapproblemen en spanningen thuis; verzuim loopt op.".into(),
        needs: "Rust, een vast aanspreekpunt, hulp voor het gezin.".into(),
        guardians_contact: "mentor-1".into(),
        summary: "Naar het ZAT: meer partijen nodig.".into(),
        zat_question: "Hoe krijgen we school, JGZ en SMW achter één plan?".into(),
        evaluation_on: day(28),
        outcomes: outcomes.iter().map(|o| *o as i32).collect(),
        ..Default::default()
    }
}

fn member(party: &str, role: &str, person: &str, record: &str) -> v1::CaseMember {
    v1::CaseMember {
        party: party.into(),
        role: role.into(),
        person: person.into(),
        consent_record: record.into(),
        ..Default::default()
    }
}

fn action(owner: &str, what: &str, category: &str) -> v1::CaseAction {
    v1::CaseAction {
        owner: owner.into(),
        what: what.into(),
        goal: "Weer volledig naar school".into(),
        due_on: day(21),
        category: category.into(),
        person: String::new(),
    }
}

/// The member's latest view once `ok` holds for it.
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

/// The coordinator's plan once `ok` holds for it.
async fn plan_when(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    ok: impl Fn(&carenet_caseplan::Plan) -> bool,
) -> anyhow::Result<carenet_caseplan::Plan> {
    wait_until(T, || async {
        let p = plan::show(store, actor, plan_id).await.ok()?;
        ok(&p).then_some(p)
    })
    .await
}

fn task_of<'a>(tasks: &'a [v1::CaseTask], owner: &str) -> &'a v1::CaseTask {
    tasks
        .iter()
        .find(|t| t.owner == owner)
        .unwrap_or_else(|| panic!("a task of {owner}"))
}

async fn actions(store: &Store) -> anyhow::Result<Vec<String>> {
    Ok(audit::list(&store.db, 0, 10_000)
        .await?
        .into_iter()
        .map(|r| r.action)
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pupil_goes_from_the_izo_through_the_zat_to_one_plan_across_nodes() -> anyhow::Result<()>
{
    let plans = vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::zat("jgz-1", "jgz", "JGZ"),
        PartyPlan::zat("smw-1", "smw", "Schoolmaatschappelijk werk"),
        PartyPlan::zat("jz-1", "jeugdzorg", "Jeugdzorg"),
    ];
    let mut region = TestRegion::create(plans, Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let jgz = region.handle("jgz-1").store;
    let smw = region.handle("smw-1").store;
    let jz = region.handle("jz-1").store;
    let mentor = staff(&vo, "mentor-1", &[Role::Mentor]);
    let zc = staff(&vo, "zc-1", &[Role::CareCoordinator]);
    let nurse = staff(&jgz, "jgz-nurse", &[Role::ZatMember]);
    let social = staff(&smw, "smw-worker", &[Role::ZatMember]);
    let outsider = staff(&jz, "jz-worker", &[Role::ZatMember]);
    let config = ReferralConfig::default();

    // IZO: the mentor registers, the coordinator accepts, the mentor talks
    // with the guardians, the meeting chooses the ZAT.
    // Each form names what it writes: sent twice, it writes once.
    let named = || uuid::Uuid::new_v4().hyphenated().to_string();
    let form = v1::IzoRegistration {
        id: named(),
        ..registration()
    };
    let izo_id = izo::register(&vo, &mentor, form.clone()).await?;
    assert_eq!(izo::register(&vo, &mentor, form.clone()).await?, izo_id);
    assert_eq!(izo::list(&vo, &zc).await?.len(), 1);
    let accept = v1::IzoTriage {
        decision: IzoTriageDecision::Accept as i32,
        belongs_in_tier2: true,
        questions_clear: true,
        tier1_exhausted: true,
        guardians_and_pupil_informed: true,
        ..Default::default()
    };
    izo::triage(&vo, &zc, &izo_id, accept).await?;
    let talk = v1::IzoConversation {
        id: named(),
        held_on: day(0),
        with: v1::IzoConversationWith::Guardians as i32,
        summary: "Ouders vertellen over de slaapproblemen; akkoord met bespreking.".into(),
        ..Default::default()
    };
    for _ in 0..2 {
        izo_meeting::converse(&vo, &mentor, &izo_id, talk.clone()).await?;
    }
    let held = v1::IzoMinutes {
        id: named(),
        ..minutes(&[IzoOutcome::Zat, IzoOutcome::GuardianSupport])
    };
    for _ in 0..2 {
        let e = izo_meeting::record(&vo, &zc, &izo_id, held.clone()).await;
        assert!(e.is_ok(), "{e:?}");
    }
    let mut no_question = minutes(&[IzoOutcome::Zat]);
    no_question.zat_question.clear();
    let e = izo_meeting::record(&vo, &zc, &izo_id, no_question)
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "zat_question");
    let shown = izo::show(&vo, &zc, &izo_id).await?;
    assert_eq!((shown.minutes.len(), shown.conversations.len()), (1, 1));

    // The ZAT referral waits for the guardians' consent for refer_to_zat.
    let referral = |consent: &str| v1::ZatReferral {
        child_ref: CHILD.into(),
        child_name: "Daan de Boer".into(),
        child_birth_date: "2013-04-02".into(),
        origin: "izo".into(),
        izo_id: izo_id.clone(),
        background: "IZO twee keer besproken; SMW heeft één gesprek gehad.".into(),
        consent_record: consent.into(),
        meeting_on: day(7),
        ..Default::default()
    };
    let e = zat::refer(&vo, &zc, &config, referral(""))
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "consent_record");
    let zat_consent = asked_consent(
        &vo,
        CHILD,
        Purpose::ReferToZat,
        &["jgz-1", "smw-1"],
        vec![
            Category::Pupil,
            Category::EducationalSupport,
            Category::CareHistory,
        ],
    )
    .await?;
    let e = zat::refer(&vo, &zc, &config, referral(&zat_consent))
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "consent_record", "asked is not granted: {e}");
    // From the group review only where the school's setting allows it.
    let mut direct = referral(&zat_consent);
    direct.origin = "group_review".into();
    let e = zat::refer(&vo, &mentor, &config, direct).await.unwrap_err();
    assert_eq!(field_of(&e), "origin");
    grant_consent(&vo, &zat_consent).await?;
    let once = v1::ZatReferral {
        id: named(),
        ..referral(&zat_consent)
    };
    let case_id = zat::refer(&vo, &zc, &config, once.clone()).await?;
    assert_eq!(zat::refer(&vo, &zc, &config, once).await?, case_id);
    assert_eq!(zat::list(&vo, &zc).await?.len(), 1, "referred once");

    // The chair distributes to the members the consent names, not others.
    let e = zat::distribute(&vo, &zc, &case_id, &["jz-1".into()])
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "members[0]");
    let sent = zat::distribute(&vo, &zc, &case_id, &["jgz-1".into(), "smw-1".into()]).await?;
    assert_eq!(sent.len(), 2);
    let files = wait_until(T, || async {
        let r = zat::received(&jgz, &nurse).await.ok()?;
        (!r.is_empty()).then_some(r)
    })
    .await?;
    let file = files[0].file.as_ref().unwrap();
    assert_eq!(file.child_name, "Daan de Boer");
    assert_eq!(file.meeting_on, day(7));
    assert!(file.question.contains("één plan"));
    assert!(zat::received(&jz, &outsider).await?.is_empty());

    // The meeting sets the plan of action: each member under its own
    // consent, with its own categories.
    let jgz_consent = asked_consent(
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
    grant_consent(&vo, &jgz_consent).await?;
    let smw_consent = asked_consent(
        &vo,
        CHILD,
        Purpose::CaseMembership,
        &["smw-1"],
        vec![
            Category::ActionPlans,
            Category::Pupil,
            Category::HomeSituation,
        ],
    )
    .await?;
    grant_consent(&vo, &smw_consent).await?;
    let meeting = v1::ZatMeeting {
        held_on: day(0),
        present: vec!["vo-1".into(), "jgz-1".into(), "smw-1".into()],
        analysis: "Slaapprobleem met spanningen thuis als achtergrond.".into(),
        needs: "Een vast aanspreekpunt op school.".into(),
        directions: "Slaap laten onderzoeken; gezin ondersteunen.".into(),
        decisions: "JGZ onderzoekt, SMW begeleidt het gezin, school zorgt voor opvang.".into(),
        plan: Some(v1::ZatPlanOfAction {
            coordinator: "zc-1".into(),
            reports_back: "zc-1 belt de ouders na elke stap".into(),
            evaluation_on: day(42),
            goals: vec![v1::CaseGoal {
                text: "Daan is weer elke dag op school".into(),
                measure: "Verzuim per week in de administratie".into(),
                target_on: day(56),
                ..Default::default()
            }],
            actions: vec![
                action(
                    "jgz-1",
                    "Slaaponderzoek en gesprek met de jeugdarts",
                    "external_care",
                ),
                action("smw-1", "Drie gesprekken met het gezin", "home_situation"),
                action("vo-1", "Dagelijkse check-in bij de mentor", "action_plans"),
            ],
            members: vec![
                member("jgz-1", "jeugdverpleegkundige", "J. de Vries", &jgz_consent),
                member(
                    "smw-1",
                    "schoolmaatschappelijk werker",
                    "S. Bakker",
                    &smw_consent,
                ),
            ],
        }),
        ..Default::default()
    };
    // An action of a party that is not a member is refused, naming it.
    let mut stray = meeting.clone();
    if let Some(p) = stray.plan.as_mut() {
        p.actions
            .push(action("jz-1", "Ambulante hulp", "external_care"));
    }
    let e = zat::meet(&vo, &zc, &case_id, stray).await.unwrap_err();
    assert_eq!(field_of(&e), "plan.actions[3].owner");
    // An action in a category its owner's consent does not cover is refused
    // too: the owner would never see it.
    let mut unseen = meeting.clone();
    if let Some(p) = unseen.plan.as_mut() {
        p.actions[0].category = "home_situation".into();
    }
    let e = zat::meet(&vo, &zc, &case_id, unseen).await.unwrap_err();
    assert_eq!(field_of(&e), "plan.actions[0].category");
    let mut meeting = meeting;
    meeting.id = uuid::Uuid::new_v4().hyphenated().to_string();
    let (meeting_id, plan_id) = zat::meet(&vo, &zc, &case_id, meeting.clone()).await?;
    assert_eq!(meeting_id, meeting.id, "the form's own id is kept");
    let plan_id = plan_id.expect("the first meeting opens the plan");
    // The same form sent twice answers as the first did and adds nothing;
    // the same meeting under another id is refused: the case is planned,
    // so it would be a follow-up, which reviews the progress.
    let again = zat::meet(&vo, &zc, &case_id, meeting.clone()).await?;
    assert_eq!(again, (meeting_id, Some(plan_id.clone())));
    let e = zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            id: String::new(),
            ..meeting.clone()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_of(&e), "review");
    assert_eq!(plan::show(&vo, &zc, &plan_id).await?.tasks.len(), 3);
    assert_eq!(zat::show(&vo, &zc, &case_id).await?.meetings.len(), 1);
    // Sent again while the first submit has recorded the meeting and not
    // yet linked its plan (as a double click can meet it, or after a crash
    // between the two): it finishes the link and adds nothing to the plan.
    carenet_fabric::with_db!(&vo.db, pool => {
        sqlx::query("UPDATE zat_case SET plan_id = NULL WHERE id = $1")
            .bind(&case_id)
            .execute(pool)
            .await?;
    });
    let again = zat::meet(&vo, &zc, &case_id, meeting.clone()).await?;
    assert_eq!(again, (meeting.id.clone(), Some(plan_id.clone())));
    assert_eq!(plan::show(&vo, &zc, &plan_id).await?.tasks.len(), 3);
    assert_eq!(zat::show(&vo, &zc, &case_id).await?.meetings.len(), 1);

    // Each partner's node receives its own view: its sections only.
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |_| true).await?;
    assert_eq!(
        jgz_view.pupil.as_ref().map(|p| p.name.as_str()),
        Some("Daan de Boer")
    );
    let owners: Vec<&str> = jgz_view.tasks.iter().map(|t| t.owner.as_str()).collect();
    assert_eq!(
        owners,
        ["vo-1", "jgz-1"],
        "the SMW's task (home situation) stays home"
    );
    assert!(
        jgz_view.notes.iter().all(|n| n.kind != "analysis"),
        "no care history for JGZ"
    );
    assert_eq!(jgz_view.goals.len(), 1);
    let smw_view = view_when(&smw, &social, &plan_id, |_| true).await?;
    let owners: Vec<&str> = smw_view.tasks.iter().map(|t| t.owner.as_str()).collect();
    assert_eq!(owners, ["vo-1", "smw-1"]);
    let mut categories = smw_view.categories.clone();
    categories.sort();
    assert_eq!(categories, ["action_plans", "home_situation", "pupil"]);
    assert_eq!(
        member::list(&smw, &social).await?[0].pupil_name.as_deref(),
        Some("Daan de Boer")
    );

    // A partner outside the case cannot fetch the plan; a member can.
    let e = member::ask_view(
        &jz,
        &outsider,
        &region.client_tls("jz-1")?,
        &region.handle("jz-1").directory,
        "vo-1",
        &plan_id,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("only a member"), "{e}");
    assert!(
        actions(&vo)
            .await?
            .contains(&"refused:case_view".to_owned())
    );
    let asked = member::ask_view(
        &jgz,
        &nurse,
        &region.client_tls("jgz-1")?,
        &region.handle("jgz-1").directory,
        "vo-1",
        &plan_id,
    )
    .await?;
    assert!(!asked.is_empty());

    // The partners report progress from their own nodes; an illegal step is
    // refused there with the state named, and the coordinator sees the rest.
    let jgz_task = task_of(&jgz_view.tasks, "jgz-1").clone();
    let e = member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &jgz_task.id,
        "complete",
        jgz_task.version,
        "",
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("requested"), "{e}");
    let e = member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &task_of(&jgz_view.tasks, "vo-1").id,
        "accept",
        1,
        "",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
    member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &jgz_task.id,
        "accept",
        jgz_task.version,
        "",
    )
    .await?;
    let smw_task = task_of(&smw_view.tasks, "smw-1").clone();
    member::report(
        &smw,
        &social,
        "vo-1",
        &plan_id,
        &smw_task.id,
        "accept",
        smw_task.version,
        "",
    )
    .await?;
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |v| {
        task_of(&v.tasks, "jgz-1").state == "accepted"
    })
    .await?;
    let smw_view = view_when(&smw, &social, &plan_id, |v| {
        task_of(&v.tasks, "smw-1").state == "accepted"
    })
    .await?;
    // Two partners at once: neither update is lost.
    let (a, b) = tokio::join!(
        member::report(
            &jgz,
            &nurse,
            "vo-1",
            &plan_id,
            &jgz_task.id,
            "start",
            task_of(&jgz_view.tasks, "jgz-1").version,
            "Afspraak gepland"
        ),
        member::report(
            &smw,
            &social,
            "vo-1",
            &plan_id,
            &smw_task.id,
            "start",
            task_of(&smw_view.tasks, "smw-1").version,
            ""
        ),
    );
    a?;
    b?;
    let seen = plan_when(&vo, &zc, &plan_id, |p| {
        task_of(&p.tasks, "jgz-1").state == "in_progress"
            && task_of(&p.tasks, "smw-1").state == "in_progress"
    })
    .await?;
    assert!(
        seen.events
            .iter()
            .any(|e| e.party == "jgz-1" && e.text.contains("Afspraak gepland"))
    );
    assert!(
        seen.events
            .iter()
            .any(|e| e.party == "smw-1" && e.kind == "task_step")
    );

    // A member's node that sends a malformed answer (ids that are no ids,
    // a NUL in the note) is refused for that message; later progress still
    // applies.
    let views = jgz
        .received_of_types(&[carenet_caseplan::VIEW_TYPE])
        .await?;
    let basis = views
        .last()
        .and_then(|v| v.header.legal_basis.clone())
        .expect("a view with its basis");
    let crafted = |plan_id: &str, note: &str| carenet_fabric::store::outbox::NewMessage {
        recipient: carenet_fabric::PartyId::parse("to", "vo-1").unwrap(),
        document_type: carenet_caseplan::PROGRESS_TYPE.into(),
        document_id: format!("progress-crafted-{}", note.len()),
        version: 1,
        purpose: "case_membership".into(),
        legal_basis: basis.clone(),
        payload: prost::Message::encode_to_vec(&v1::CategorizedDocument {
            sections: vec![v1::Section {
                category: "external_care".into(),
                name: "case_progress".into(),
                content: prost::Message::encode_to_vec(&v1::CaseProgress {
                    plan_id: plan_id.into(),
                    task_id: jgz_task.id.clone(),
                    step: "hold".into(),
                    based_on_version: 1,
                    note: note.into(),
                    staff_ref: "jgz-nurse".into(),
                    at_ms: 0,
                }),
            }],
        }),
        actor: "jgz-nurse".into(),
        child_ref: None,
    };
    jgz.enqueue(&[
        crafted("no\0id", "x"),
        crafted(&plan_id, "nul\0in de tekst"),
    ])
    .await?;
    wait_until(T, || async {
        let log = audit::list(&vo.db, 0, 10_000).await.ok()?;
        (log.iter()
            .filter(|r| r.action == "refused:case_progress")
            .count()
            >= 2)
            .then_some(())
    })
    .await?;
    let jgz_view = view_when(&jgz, &nurse, &plan_id, |_| true).await?;
    let current = task_of(&jgz_view.tasks, "jgz-1").clone();
    member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &current.id,
        "hold",
        current.version,
        "Wacht op de uitslag",
    )
    .await?;
    plan_when(&vo, &zc, &plan_id, |p| {
        task_of(&p.tasks, "jgz-1").state == "on_hold"
    })
    .await?;
    let current = task_of(
        &view_when(&jgz, &nurse, &plan_id, |v| {
            task_of(&v.tasks, "jgz-1").state == "on_hold"
        })
        .await?
        .tasks,
        "jgz-1",
    )
    .clone();
    member::report(
        &jgz,
        &nurse,
        "vo-1",
        &plan_id,
        &current.id,
        "resume",
        current.version,
        "",
    )
    .await?;
    plan_when(&vo, &zc, &plan_id, |p| {
        task_of(&p.tasks, "jgz-1").state == "in_progress"
    })
    .await?;

    // The coordinator cancels the SMW's task while the SMW, offline on the
    // view it has, completes it: the later one is refused on the timeline,
    // not lost, and the SMW's report waits out its node's restart.
    let smw_view = view_when(&smw, &social, &plan_id, |v| {
        task_of(&v.tasks, "smw-1").state == "in_progress"
    })
    .await?;
    region.stop("smw-1").await?;
    let current = task_of(&seen.tasks, "smw-1").clone();
    plan::step(
        &vo,
        &zc,
        &plan_id,
        &current.id,
        "cancel",
        current.version,
        "SMW-traject loopt via het wijkteam",
    )
    .await?;
    let offline = region.open_store("smw-1").await?;
    member::report(
        &offline,
        &social,
        "vo-1",
        &plan_id,
        &smw_task.id,
        "complete",
        task_of(&smw_view.tasks, "smw-1").version,
        "Drie gesprekken gehad",
    )
    .await?;
    offline.db.close().await;
    let smw = region.start("smw-1").await?.store;
    let seen = plan_when(&vo, &zc, &plan_id, |p| {
        p.events.iter().any(|e| e.kind == "progress_refused")
    })
    .await?;
    assert_eq!(task_of(&seen.tasks, "smw-1").state, "cancelled");
    view_when(&smw, &social, &plan_id, |v| {
        task_of(&v.tasks, "smw-1").state == "cancelled"
    })
    .await?;
    // The school steps its own task; an illegal step or a stale version is refused.
    let own = task_of(&seen.tasks, "vo-1").clone();
    let e = plan::step(&vo, &zc, &plan_id, &own.id, "complete", own.version, "")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::FailedPrecondition(_)), "{e}");
    let e = plan::step(&vo, &zc, &plan_id, &own.id, "accept", own.version + 1, "")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Aborted(_)), "{e}");
    plan::step(&vo, &zc, &plan_id, &own.id, "accept", own.version, "").await?;

    // The evaluation; then the SMW's consent is withdrawn: it leaves the
    // plan, its copies are erased, and it can no longer fetch the plan.
    let evaluation = plan::Evaluation {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        held_on: day(0),
        text: "Slapen gaat beter; verzuim daalt.".into(),
        outcome: "continue".into(),
        next_on: day(70),
    };
    plan::evaluate(&vo, &zc, &plan_id, &evaluation).await?;
    // The same form sent twice: one evaluation.
    plan::evaluate(&vo, &zc, &plan_id, &evaluation).await?;
    assert_eq!(plan::show(&vo, &zc, &plan_id).await?.evaluations.len(), 1);
    ConsentStore::new(vo.clone())
        .withdraw(
            &zc,
            &smw_consent,
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
    let seen = plan_when(&vo, &zc, &plan_id, |p| {
        p.header
            .members
            .iter()
            .any(|m| m.party == "smw-1" && !m.ended_on.is_empty())
    })
    .await?;
    let ended = seen
        .header
        .members
        .iter()
        .find(|m| m.party == "smw-1")
        .unwrap();
    assert_eq!(ended.end_reason, "consent withdrawn");
    wait_until(T, || async {
        member::list(&smw, &social)
            .await
            .ok()?
            .is_empty()
            .then_some(())
    })
    .await?;
    let e = member::ask_view(
        &smw,
        &social,
        &region.client_tls("smw-1")?,
        &region.handle("smw-1").directory,
        "vo-1",
        &plan_id,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("only a member"), "{e}");
    // The JGZ stays a member and sees the evaluation's new version.
    view_when(&jgz, &nurse, &plan_id, |v| {
        v.header
            .as_ref()
            .is_some_and(|h| h.evaluation_on == day(70))
    })
    .await?;

    // A follow-up sent twice from one form is recorded once; one that
    // names a meeting that is no id is refused, naming the field.
    let follow_up = v1::ZatMeeting {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        held_on: day(0),
        review: "JGZ en school op schema.".into(),
        ..Default::default()
    };
    zat::meet(&vo, &zc, &case_id, follow_up.clone()).await?;
    zat::meet(&vo, &zc, &case_id, follow_up.clone()).await?;
    assert_eq!(zat::show(&vo, &zc, &case_id).await?.meetings.len(), 2);
    let e = zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            id: "../x".into(),
            ..follow_up
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_of(&e), "id");

    // A follow-up ZAT meeting closes the case and its plan.
    zat::meet(
        &vo,
        &zc,
        &case_id,
        v1::ZatMeeting {
            held_on: day(0),
            review: "Doelen gehaald; school en JGZ ronden af.".into(),
            close_case: true,
            ..Default::default()
        },
    )
    .await?;
    let closed = plan::show(&vo, &zc, &plan_id).await?;
    assert_eq!(closed.header.status, "closed");
    assert!(
        closed
            .tasks
            .iter()
            .all(|t| ["cancelled", "completed", "rejected", "failed"].contains(&t.state.as_str()))
    );
    assert_eq!(
        zat::show(&vo, &zc, &case_id).await?.state,
        zat::State::Closed
    );
    view_when(&jgz, &nurse, &plan_id, |v| {
        v.header.as_ref().is_some_and(|h| h.status == "closed")
    })
    .await?;

    // Every step is in the school's audit log.
    let log = actions(&vo).await?;
    for a in [
        "izo_minutes_recorded",
        "izo_conversation_recorded",
        "zat_referred",
        "zat_distributed",
        "zat_meeting_recorded",
        "case_plan_opened",
        "case_progress_applied",
        "refused:case_progress",
        "case_task_step",
        "case_evaluated",
        "case_plan_viewed",
        "case_plan_closed",
    ] {
        assert!(log.iter().any(|l| l == a), "{a} audited");
    }
    assert!(actions(&jgz).await?.contains(&"case_view_read".to_owned()));

    // Operators read the same through the command line, as text or JSON.
    let cli = |party: &str, args: &[&str]| {
        let out = std::process::Command::new(carenet_e2e::carenet_bin())
            .args(args)
            .arg("--data-dir")
            .arg(region.dir.path())
            .args(["--party", party])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run carenet");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let chair = ["--by", "zc-1", "--role", "care_coordinator"];
    let (ok, out, err) = cli(
        "vo-1",
        &[&["zat", "list", "--json"][..], &chair[..]].concat(),
    );
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(listed[0]["state"], "closed");
    assert_eq!(listed[0]["plan_id"], plan_id.as_str());
    let (ok, out, err) = cli(
        "vo-1",
        &[&["zat", "show", "--id", &case_id][..], &chair[..]].concat(),
    );
    assert!(ok && out.contains("case file sent to: jgz-1"), "{out}{err}");
    let (ok, out, err) = cli(
        "vo-1",
        &[
            &["case", "show", "--id", &plan_id, "--json"][..],
            &chair[..],
        ]
        .concat(),
    );
    assert!(ok, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(shown["header"]["status"], "closed");
    assert_eq!(shown["tasks"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        shown["header"]["members"][1]["end_reason"],
        "consent withdrawn"
    );
    let (ok, out, err) = cli("vo-1", &[&["case", "list"][..], &chair[..]].concat());
    assert!(
        ok && out.contains("Daan de Boer") && out.contains("closed"),
        "{out}{err}"
    );
    let nurse_args = ["--by", "jgz-nurse", "--role", "zat_member"];
    let (ok, out, err) = cli(
        "jgz-1",
        &[&["case", "list", "--json"][..], &nurse_args[..]].concat(),
    );
    assert!(ok, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(listed["member_of"][0]["plan_id"], plan_id.as_str());
    assert_eq!(listed["member_of"][0]["pupil_name"], "Daan de Boer");
    let (ok, out, err) = cli(
        "jgz-1",
        &[
            &["case", "show", "--holder", "vo-1", "--id", &plan_id][..],
            &nurse_args[..],
        ]
        .concat(),
    );
    assert!(
        ok && out.contains("Slaaponderzoek") && !out.contains("Drie gesprekken"),
        "{out}{err}"
    );
    let (ok, _, err) = cli(
        "vo-1",
        &[
            "case", "show", "--id", &plan_id, "--by", "t-1", "--role", "teacher",
        ],
    );
    assert!(!ok && err.contains("care_coordinator"), "{err}");

    // A primary school runs the same flow under its own names, and its
    // level 3 needs the guardians' consent first.
    let po = region.handle("po-1").store;
    let ib = staff(&po, "ib-1", &[Role::SupportCoordinatorPo]);
    let po_izo = izo::register(&po, &ib, registration()).await?;
    let accept = v1::IzoTriage {
        decision: IzoTriageDecision::Accept as i32,
        belongs_in_tier2: true,
        questions_clear: true,
        tier1_exhausted: true,
        guardians_and_pupil_informed: true,
        ..Default::default()
    };
    izo::triage(&po, &ib, &po_izo, accept).await?;
    let e = izo_meeting::record(&po, &ib, &po_izo, minutes(&[IzoOutcome::InSchoolSupport]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("leerlingbespreking"), "{e}");
    let izo_consent = asked_consent(
        &po,
        CHILD,
        Purpose::DiscussInIzo,
        &["po-1"],
        vec![Category::EducationalSupport],
    )
    .await?;
    grant_consent(&po, &izo_consent).await?;
    izo_meeting::record(&po, &ib, &po_izo, minutes(&[IzoOutcome::InSchoolSupport])).await?;
    assert_eq!(
        carenet_referral::names::of(PartyKind::PoSchool).team,
        "knooppuntoverleg"
    );

    region.shutdown().await
}

/// The handbook says both "only through the IZO" and "straight from the
/// group review": a school's setting decides, and the consent is needed
/// either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_school_that_allows_it_refers_from_the_group_review() -> anyhow::Result<()> {
    let (_dir, store) = carenet_e2e::fresh_store("vo-1").await?;
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let teacher = staff(&store, "teacher-1", &[Role::Teacher]);
    let allows = ReferralConfig {
        zat_from_group_review: true,
    };
    let referral = |consent: &str| v1::ZatReferral {
        child_ref: CHILD.into(),
        child_name: "Daan de Boer".into(),
        child_birth_date: "2013-04-02".into(),
        origin: "group_review".into(),
        question: "Groepsbespreking: verzuim en terugtrekken.".into(),
        consent_record: consent.into(),
        meeting_on: day(7),
        ..Default::default()
    };
    // Off by default.
    let e = zat::refer(&store, &mentor, &ReferralConfig::default(), referral(""))
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "origin");
    // Allowed: still no referral without the guardians' consent.
    let e = zat::refer(&store, &mentor, &allows, referral(""))
        .await
        .unwrap_err();
    assert_eq!(field_of(&e), "consent_record");
    let consent = asked_consent(
        &store,
        CHILD,
        Purpose::ReferToZat,
        &["jgz-1"],
        vec![Category::Pupil, Category::EducationalSupport],
    )
    .await?;
    grant_consent(&store, &consent).await?;
    // A teacher does not refer; the mentor does.
    assert!(matches!(
        zat::refer(&store, &teacher, &allows, referral(&consent)).await,
        Err(Error::PermissionDenied(_))
    ));
    let id = zat::refer(&store, &mentor, &allows, referral(&consent)).await?;
    let zc = staff(&store, "zc-1", &[Role::CareCoordinator]);
    let case = zat::show(&store, &zc, &id).await?;
    assert_eq!(case.state, zat::State::Referred);
    assert_eq!(case.referral.origin, "group_review");
    assert!(case.referral.izo_id.is_empty());
    assert!(actions(&store).await?.contains(&"zat_referred".to_owned()));
    Ok(())
}
