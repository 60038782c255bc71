//! The IZO on both backends: a mentor registers a pupil with the handbook's
//! form, the care coordinator triages it (a question back, the answer,
//! acceptance with the four checks), every step checks its role and state,
//! bad input names its field, and every step and reading is audited.

use carenet_e2e::fresh_store;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, Role, audit};
use carenet_proto::v1::{self, IzoSupportKind, IzoTriageDecision};
use carenet_referral::izo::{self, State};

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

/// A registration as the form fills it.
fn form(child: &str) -> v1::IzoRegistration {
    v1::IzoRegistration {
        child_ref: child.into(),
        child_birth_date: "2013-04-02".into(),
        mentor: "mentor-1".into(),
        guardians_informed: true,
        problem: "Trekt zich terug in de klas; cijfers dalen sinds de herfst.".into(),
        onset: "Na de verhuizing in september.".into(),
        what_goes_well: "Tekenen, en samenwerken in tweetallen.".into(),
        pupil_question: "Ik wil weer met plezier naar school.".into(),
        guardians_question: "Hoe kunnen wij thuis helpen?".into(),
        support_question: "Hoe bieden we in de klas houvast?".into(),
        support_requested: vec![
            IzoSupportKind::Pupil as i32,
            IzoSupportKind::MentorTeachers as i32,
        ],
        school: Some(v1::IzoSchoolData {
            absence: "Drie keer ziek gemeld in vier weken.".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn triage(decision: IzoTriageDecision, checks: bool, note: &str) -> v1::IzoTriage {
    v1::IzoTriage {
        decision: decision as i32,
        belongs_in_tier2: checks,
        questions_clear: checks,
        tier1_exhausted: checks,
        guardians_and_pupil_informed: checks,
        note: note.into(),
        ..Default::default()
    }
}

fn field_of(e: &Error) -> &str {
    match e {
        Error::InvalidArgument { field, .. } => field,
        other => panic!("not an invalid argument: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_is_returned_answered_and_accepted() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let other_mentor = staff(&store, "mentor-2", &[Role::Mentor]);
    let teacher = staff(&store, "teacher-1", &[Role::Teacher]);
    let zc = staff(&store, "zc-1", &[Role::CareCoordinator]);

    // A teacher does not register; a mentor does.
    assert!(izo::register(&store, &teacher, form("LL-1")).await.is_err());
    let id = izo::register(&store, &mentor, form("LL-1")).await?;
    let case = izo::show(&store, &mentor, &id).await?;
    assert_eq!(case.state, State::Registered);
    assert_eq!(case.registration.registered_by, "mentor-1");
    assert!(!case.registration.registered_on.is_empty());
    // Another mentor neither reads nor lists it; the coordinator does both.
    assert!(izo::show(&store, &other_mentor, &id).await.is_err());
    assert!(izo::list(&store, &other_mentor).await?.is_empty());
    assert_eq!(izo::list(&store, &zc).await?.len(), 1);
    // Only the coordinator triages; a question back needs the question.
    assert!(
        izo::triage(
            &store,
            &mentor,
            &id,
            triage(IzoTriageDecision::Accept, true, "")
        )
        .await
        .is_err()
    );
    let e = izo::triage(
        &store,
        &zc,
        &id,
        triage(IzoTriageDecision::Return, false, ""),
    )
    .await
    .expect_err("no question");
    assert_eq!(field_of(&e), "note");
    let to = izo::triage(
        &store,
        &zc,
        &id,
        triage(
            IzoTriageDecision::Return,
            false,
            "Wat is er in de klas al geprobeerd?",
        ),
    )
    .await?;
    assert_eq!(to, State::Returned);
    // Returned: no triage until it is answered; the answer keeps the pupil.
    assert!(matches!(
        izo::triage(
            &store,
            &zc,
            &id,
            triage(IzoTriageDecision::Accept, true, "")
        )
        .await,
        Err(Error::FailedPrecondition(_))
    ));
    let e = izo::answer(&store, &mentor, &id, form("LL-2"))
        .await
        .expect_err("another pupil");
    assert_eq!(field_of(&e), "child_ref");
    assert!(
        izo::answer(&store, &other_mentor, &id, form("LL-1"))
            .await
            .is_err()
    );
    let mut answer = form("LL-1");
    answer.done_so_far = "Vaste plek, korte instructie, wekelijks gesprekje.".into();
    izo::answer(&store, &mentor, &id, answer).await?;
    // Acceptance needs the four checks; it names the one missing.
    let mut almost = triage(IzoTriageDecision::Accept, true, "");
    almost.tier1_exhausted = false;
    let e = izo::triage(&store, &zc, &id, almost)
        .await
        .expect_err("a check");
    assert_eq!(field_of(&e), "tier1_exhausted");
    let to = izo::triage(
        &store,
        &zc,
        &id,
        triage(IzoTriageDecision::Accept, true, ""),
    )
    .await?;
    assert_eq!(to, State::Accepted);
    let case = izo::show(&store, &zc, &id).await?;
    assert_eq!(case.state, State::Accepted);
    assert_eq!(
        case.registration.done_so_far,
        "Vaste plek, korte instructie, wekelijks gesprekje."
    );
    let t = case.triage.expect("the triage");
    assert_eq!(
        (t.decided_by.as_str(), t.decision),
        ("zc-1", IzoTriageDecision::Accept as i32)
    );
    // Accepted is not answered again.
    assert!(matches!(
        izo::answer(&store, &mentor, &id, form("LL-1")).await,
        Err(Error::FailedPrecondition(_))
    ));

    // Every step and reading audited, under the IZO's purpose; refusals too.
    let log = audit::list(&store.db, 0, 10_000).await?;
    let of = |action: &str| log.iter().filter(|r| r.action == action).count();
    assert_eq!(of("izo_registered"), 1);
    assert_eq!(of("izo_triaged"), 2);
    assert_eq!(of("izo_answered"), 1);
    assert!(of("izo_viewed") >= 2);
    assert!(
        log.iter()
            .filter(|r| r.action.starts_with("izo_"))
            .all(|r| r.purpose == "discuss_in_izo")
    );
    assert_eq!(of("refused:izo_register"), 1, "the teacher");
    assert_eq!(of("refused:izo_triage"), 1, "the mentor");
    assert_eq!(
        of("refused:izo_read"),
        2,
        "the other mentor's reading and answer"
    );
    // No pupil's words in the log.
    assert!(log.iter().all(|r| !r.message_id.contains("LL-")));
    Ok(())
}

/// What makes a good form bad in one field.
type Spoil = Box<dyn Fn(&mut v1::IzoRegistration)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_registration_names_its_field_and_stores_nothing() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("vo-1").await?;
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let cases: Vec<(&str, Spoil)> = vec![
        ("child_ref", Box::new(|r| r.child_ref.clear())),
        (
            "child_birth_date",
            Box::new(|r| r.child_birth_date = "2-4-2013".into()),
        ),
        ("mentor", Box::new(|r| r.mentor.clear())),
        (
            "not_informed_reason",
            Box::new(|r| r.guardians_informed = false),
        ),
        ("problem", Box::new(|r| r.problem = "  ".into())),
        (
            "pupil_question",
            Box::new(|r| {
                r.pupil_question.clear();
                r.guardians_question.clear();
            }),
        ),
        ("support_question", Box::new(|r| r.support_question.clear())),
        (
            "support_requested",
            Box::new(|r| r.support_requested.clear()),
        ),
        (
            "support_requested[0]",
            Box::new(|r| r.support_requested = vec![0]),
        ),
        (
            "support_other",
            Box::new(|r| r.support_requested = vec![IzoSupportKind::Other as i32]),
        ),
    ];
    for (field, spoil) in cases {
        let mut r = form("LL-1");
        spoil(&mut r);
        let e = izo::register(&store, &mentor, r).await.expect_err(field);
        assert_eq!(field_of(&e), field);
    }
    // Not informed, with the reason: accepted as a registration.
    let mut r = form("LL-1");
    r.guardians_informed = false;
    r.not_informed_reason = "De veiligheid van de leerling".into();
    izo::register(&store, &mentor, r).await?;
    let zc = staff(&store, "zc-1", &[Role::CareCoordinator]);
    assert_eq!(izo::list(&store, &zc).await?.len(), 1, "only the valid one");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_coordinators_triaging_at_once_do_not_both_decide() -> anyhow::Result<()> {
    let (_dir, store) = fresh_store("po-1").await?;
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let ib = staff(&store, "ib-1", &[Role::SupportCoordinatorPo]);
    let ib2 = staff(&store, "ib-2", &[Role::SupportCoordinatorPo]);
    let id = izo::register(&store, &mentor, form("LL-7")).await?;
    let (a, b) = tokio::join!(
        izo::triage(
            &store,
            &ib,
            &id,
            triage(IzoTriageDecision::Accept, true, "")
        ),
        izo::triage(
            &store,
            &ib2,
            &id,
            triage(
                IzoTriageDecision::Bilateral,
                false,
                "Eerst een gesprek met de mentor."
            ),
        ),
    );
    let decided = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(decided, 1, "{a:?} {b:?}");
    for r in [&a, &b] {
        if let Err(e) = r {
            assert!(
                matches!(e, Error::Aborted(_) | Error::FailedPrecondition(_)),
                "{e:?}"
            );
        }
    }
    let log = audit::list(&store.db, 0, 10_000).await?;
    assert_eq!(log.iter().filter(|r| r.action == "izo_triaged").count(), 1);
    Ok(())
}

/// `carenet izo list|show` on a node of a region, as text and JSON, with the
/// role checked and the reading audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_and_show_registrations_from_the_command_line() -> anyhow::Result<()> {
    let mut region =
        carenet_e2e::TestRegion::create(crate::three_parties(), carenet_e2e::Tuning::default())
            .await?;
    region.start("swv").await?;
    let vo = region.start("vo-1").await?;
    let mentor = staff(&vo.store, "mentor-1", &[Role::Mentor]);
    let id = izo::register(&vo.store, &mentor, form("LL-3")).await?;
    let cli = |args: &[&str]| {
        std::process::Command::new(carenet_e2e::carenet_bin())
            .args(args)
            .arg("--data-dir")
            .arg(region.dir.path())
            .args(["--party", "vo-1"])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run carenet")
    };
    let zc = ["--by", "zc-1", "--role", "care_coordinator"];
    let out = cli(&[&["izo", "list", "--json"][..], &zc[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["state"], "registered");
    let out = cli(&[&["izo", "show", "--id", &id, "--json"][..], &zc[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(shown["registration"]["child_ref"], "LL-3");
    assert_eq!(
        shown["registration"]["support_requested"],
        serde_json::json!(["pupil", "mentor_teachers"])
    );
    assert_eq!(
        shown["registration"]["school"]["absence"],
        "Drie keer ziek gemeld in vier weken."
    );
    assert!(shown["triage"].is_null());
    let out = cli(&[&["izo", "show", "--id", &id][..], &zc[..]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("registered") && text.contains("guardians informed: yes"),
        "{text}"
    );
    // A teacher is refused, naming the roles that would do.
    let out = cli(&[
        "izo", "show", "--id", &id, "--by", "t-1", "--role", "teacher",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("care_coordinator"));
    let log = audit::list(&vo.store.db, 0, 10_000).await?;
    assert_eq!(log.iter().filter(|r| r.action == "izo_viewed").count(), 2);
    assert_eq!(
        log.iter()
            .filter(|r| r.action == "refused:izo_read")
            .count(),
        1
    );
    region.shutdown().await
}

/// The form names its registration: sent twice (a double click, a retry)
/// it registers once; kept open, changed and sent again, or sent by
/// someone else under the same id, it is a registration of its own, so
/// nothing sent is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_form_sent_twice_registers_once_and_a_changed_one_anew() -> anyhow::Result<()>
{
    let (_dir, store) = fresh_store("vo-1").await?;
    let mentor = staff(&store, "mentor-1", &[Role::Mentor]);
    let other_mentor = staff(&store, "mentor-2", &[Role::Mentor]);
    let zc = staff(&store, "zc-1", &[Role::CareCoordinator]);
    let sent = v1::IzoRegistration {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        ..form("LL-1")
    };
    let id = izo::register(&store, &mentor, sent.clone()).await?;
    assert_eq!(id, sent.id);
    assert_eq!(izo::register(&store, &mentor, sent.clone()).await?, id);
    assert_eq!(izo::list(&store, &zc).await?.len(), 1);
    let changed = v1::IzoRegistration {
        problem: "Na de kerstvakantie is het verzuim verdubbeld.".into(),
        ..sent.clone()
    };
    let second = izo::register(&store, &mentor, changed).await?;
    let third = izo::register(&store, &other_mentor, sent.clone()).await?;
    assert!(second != id && third != id && second != third);
    assert_eq!(izo::list(&store, &zc).await?.len(), 3);
    assert_eq!(
        izo::show(&store, &mentor, &id).await?.registration.problem,
        form("LL-1").problem,
        "the first is unchanged"
    );
    let e = izo::register(
        &store,
        &mentor,
        v1::IzoRegistration {
            id: "not-an-id".into(),
            ..form("LL-2")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(field_of(&e), "id");
    Ok(())
}
