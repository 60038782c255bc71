//! The SWV's support requests over real nodes (issue 21), on SQLite and
//! (with `TEST_DATABASE_URL`) PostgreSQL: a primary school's TLV request
//! under the guardians' consent, the SWV's completeness question and the
//! school's answer, the trajectbegeleider, the MDO, the two expert advices
//! (each legal guard refused with its own code until it holds), the
//! decision and its status back at the school, and an objection through
//! the committee; the legal clocks on a clock the test moves; and the
//! `carenet support` command on a node's data directory.
//!
//! The request travels from the school's node to the SWV's as an exchange
//! document under the guardians' consent, and each status comes back the
//! same way; the test waits for each arrival.

use std::process::Command;
use std::time::Duration;

use carenet_consent::{Category as ConsentCategory, Purpose};
use carenet_e2e::{TestRegion, Tuning, asked_consent, grant_consent, wait_until};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, PartyId, Reason, Role};
use carenet_support::check::{Advice, Decision, Qualification};
use carenet_support::clock::{Clock, SetClock};
use carenet_support::deadline::{self, DeadlineKind};
use carenet_support::intake;
use carenet_support::model::{
    Category, Detail, HistorySource, Kind, Line, ObjectionOutcome, Outcome, ParticipantRole,
    SchoolType, State,
};
use carenet_support::overview;
use carenet_support::request::{self, HistoryItem, NewRequest, Participant, Request};
use carenet_support::slice::SupportConfig;

const CHILD: &str = "LL-5101";
const T: Duration = Duration::from_secs(30);

/// Waits until request `id` at `store` is in `state`.
async fn arrives(store: &Store, id: &str, state: State) -> anyhow::Result<Request> {
    let waited = wait_until(T, || async move {
        request::load(store, id)
            .await
            .ok()
            .filter(|r| r.state == state)
    })
    .await;
    match waited {
        Ok(r) => Ok(r),
        Err(e) => {
            let now = request::load(store, id).await.map(|r| r.state);
            anyhow::bail!("{e}: {} waited for {state}, has {now:?}", store.party)
        }
    }
}

fn staff(store: &Store, id: &str, roles: &[Role]) -> Actor {
    Actor::new(store.party.clone(), id, roles.iter().copied()).unwrap()
}

/// The code and field of a refusal.
fn refusal(e: &Error) -> (Option<Reason>, String) {
    match e {
        Error::InvalidArgument { field, code, .. } => (*code, field.clone()),
        Error::FailedPrecondition(why) => (why.code, String::new()),
        other => panic!("not a refusal: {other:?}"),
    }
}

fn form(consent: &str) -> NewRequest {
    NewRequest {
        swv: "swv".into(),
        child_ref: CHILD.into(),
        child_name: "Daan Visser".into(),
        child_birth_date: "2017-05-14".into(),
        kind: Some(Kind::AdmissionStatement),
        detail: Detail {
            school_type: Some(SchoolType::So),
            category: Some(Category::Low),
            ..Detail::default()
        },
        question: "Kan Daan naar het speciaal onderwijs (SO)? De basisschool kan zijn ondersteuningsbehoefte niet meer bieden.".into(),
        opp_text: "OPP: uitstroomniveau praktijkonderwijs; belemmerend: prikkelgevoeligheid, taalachterstand.".into(),
        opp_ref: "opp-daan-2026.pdf".into(),
        guardian_view: String::new(),
        pupil_voice: "Ik wil naar een kleine klas waar het rustig is.".into(),
        voice_reason: String::new(),
        consent_record: consent.into(),
        applied_on: String::new(),
        history: vec![
            HistoryItem {
                source: HistorySource::IzoMinutes,
                line: Line::Second,
                source_ref: "0b8c1f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into(),
                snapshot: "Leerlingbespreking 3 maart: extra instructie in kleine groep, geen vooruitgang.".into(),
                added_by: String::new(),
            },
            HistoryItem {
                source: HistorySource::School,
                line: Line::First,
                source_ref: String::new(),
                snapshot: "Groepsplan: verlengde instructie en een rustige werkplek sinds groep 4.".into(),
                added_by: String::new(),
            },
        ],
    }
}

fn first_advice() -> Advice {
    Advice {
        advisor_name: "Drs. Karin Mulder".into(),
        advisor_registration: "NIP-10234".into(),
        qualification: Qualification::Orthopedagogue,
        employer_party: "swv".into(),
        employer_name: "Samenwerkingsverband".into(),
        document_ref: "advies-mulder.pdf".into(),
        signatories: 1,
        by_committee: false,
        support_plan_test: "Getoetst aan het ondersteuningsplan §4.2: de behoefte gaat boven de extra ondersteuning uit.".into(),
        why_not_regular: "Twee jaar arrangement in de basisschool gaf onvoldoende resultaat.".into(),
        written_on: "2026-11-20".into(),
    }
}

fn second_advice() -> Advice {
    Advice {
        advisor_name: "Ahmed el Amrani".into(),
        advisor_registration: "BIG-88812".into(),
        qualification: Qualification::ChildPsychiatrist,
        employer_party: String::new(),
        employer_name: "Praktijk De Linde".into(),
        document_ref: "advies-elamrani.pdf".into(),
        ..first_advice()
    }
}

async fn version(store: &Store, id: &str) -> u64 {
    request::load(store, id).await.unwrap().version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tlv_request_runs_from_the_school_to_a_decision_that_holds_in_an_objection()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1").store;
    let swv = region.handle("swv").store;
    let ib = staff(&po, "ib-1", &[Role::SupportCoordinatorPo]);
    let mentor = staff(&po, "mentor-1", &[Role::Mentor]);
    let loket = staff(&swv, "loket-1", &[Role::SwvStaff]);
    let guide = staff(&swv, "tb-1", &[Role::TrajectoryGuide]);
    let other_guide = staff(&swv, "tb-2", &[Role::TrajectoryGuide]);
    let config = SupportConfig::default();
    let clock = SetClock::at(carenet_fabric::clock::today());
    let start = clock.today();

    // The school drafts; a mentor may not.
    assert!(matches!(
        request::create(&po, &mentor, form("")).await,
        Err(Error::PermissionDenied(_))
    ));
    let id = request::create(&po, &ib, form("")).await?;
    // Refused, each naming its rule: no guardians' view, no pupil's voice
    // (or reason), no consent.
    let e = request::submit(&po, &ib, &clock, &id, 1)
        .await
        .expect_err("no view");
    assert_eq!(
        refusal(&e),
        (Some(Reason::ViewMissing), "guardian_view".into())
    );
    let mut revised = form("");
    revised.guardian_view = "Wij zien dat Daan vastloopt en steunen de aanvraag.".into();
    revised.pupil_voice = String::new();
    request::revise(&po, &ib, &id, 1, revised.clone()).await?;
    let e = request::submit(&po, &ib, &clock, &id, 2)
        .await
        .expect_err("no voice");
    assert_eq!(
        refusal(&e),
        (Some(Reason::VoiceMissing), "pupil_voice".into())
    );
    revised.voice_reason =
        "Daan is gehoord in een kindgesprek; hij wilde het niet op papier.".into();
    request::revise(&po, &ib, &id, 2, revised.clone()).await?;
    let e = request::submit(&po, &ib, &clock, &id, 3)
        .await
        .expect_err("no consent");
    assert_eq!(
        refusal(&e),
        (Some(Reason::ConsentMissing), "consent_record".into())
    );
    // A consent asked but not granted is not enough either.
    let consent = asked_consent(
        &po,
        CHILD,
        Purpose::SupportRequest,
        &["swv"],
        vec![
            ConsentCategory::Pupil,
            ConsentCategory::EducationalSupport,
            ConsentCategory::CareHistory,
        ],
    )
    .await?;
    revised.consent_record = consent.clone();
    request::revise(&po, &ib, &id, 3, revised).await?;
    let e = request::submit(&po, &ib, &clock, &id, 4)
        .await
        .expect_err("not granted");
    assert_eq!(refusal(&e).0, Some(Reason::ConsentNotGranted));
    grant_consent(&po, &consent).await?;
    // An old version is stale.
    assert!(matches!(
        request::submit(&po, &ib, &clock, &id, 3).await,
        Err(Error::Aborted(_))
    ));
    let sent = request::submit(&po, &ib, &clock, &id, 4).await?;
    assert_eq!(sent.state, State::Submitted);
    // The school's duty of care runs: 6 weeks, extendable once by 4.
    let due = deadline::due(&po, &clock, 42).await?;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, DeadlineKind::DutyOfCare);
    assert!(deadline::due(&po, &clock, 41).await?.is_empty());
    request::extend_duty_of_care(&po, &ib, &id).await?;
    assert!(deadline::due(&po, &clock, 69).await?.is_empty());
    let e = request::extend_duty_of_care(&po, &ib, &id)
        .await
        .expect_err("once");
    assert_eq!(refusal(&e).0, Some(Reason::Duplicate));

    // It arrives at the SWV over the exchange: the decision time runs.
    arrives(&swv, &id, State::Submitted).await?;
    let school = PartyId::parse("school", "po-1")?;
    // Not taken in again, and never as another school's.
    let vo = PartyId::parse("school", "vo-1")?;
    assert!(
        request::receive(&swv, &clock, &config, &vo, sent.clone())
            .await
            .is_err()
    );
    assert!(
        request::receive(&swv, &clock, &config, &school, sent.clone())
            .await
            .is_err()
    );
    assert_eq!(request::list(&swv, &loket).await?.len(), 1);
    assert!(
        request::list(&po, &ib)
            .await?
            .iter()
            .all(|l| l.school == "po-1")
    );

    // The loket asks a completeness question; the school sees it and
    // answers on the same request, which the SWV receives.
    let v = version(&swv, &id).await;
    // The trajectbegeleider cannot return it; the loket can.
    assert!(
        intake::return_question(&swv, &guide, &id, v, "Vraag")
            .await
            .is_err()
    );
    intake::return_question(
        &swv,
        &loket,
        &id,
        v,
        "Wilt u het verslag van de orthopedagoog toevoegen?",
    )
    .await?;
    let returned = arrives(&po, &id, State::Returned).await?;
    assert_eq!(
        returned.completeness_question,
        "Wilt u het verslag van de orthopedagoog toevoegen?"
    );
    request::answer(
        &po,
        &ib,
        &id,
        returned.version,
        "Toegevoegd: verslag van 12 oktober (bijlage).",
    )
    .await?;
    let answered = arrives(&swv, &id, State::Answered).await?;
    assert_eq!(
        answered.completeness_answer,
        "Toegevoegd: verslag van 12 oktober (bijlage)."
    );

    // A trajectbegeleider is named; the MDO is planned with school and
    // guardians, and held.
    let v = version(&swv, &id).await;
    intake::assign(&swv, &loket, &id, v, "tb-1", "Anouk Peters").await?;
    let participants = vec![
        Participant {
            role: ParticipantRole::School,
            name: "Intern begeleider".into(),
            party: "po-1".into(),
        },
        Participant {
            role: ParticipantRole::Guardians,
            name: "Moeder van Daan".into(),
            party: String::new(),
        },
        Participant {
            role: ParticipantRole::Swv,
            name: "Trajectbegeleider".into(),
            party: "swv".into(),
        },
    ];
    let v = version(&swv, &id).await;
    // Another trajectbegeleider does not plan it; without the guardians it is refused.
    assert!(matches!(
        intake::plan_mdo(
            &swv,
            &other_guide,
            &id,
            v,
            "2026-12-15",
            participants.clone()
        )
        .await,
        Err(Error::PermissionDenied(_))
    ));
    let e = intake::plan_mdo(
        &swv,
        &guide,
        &id,
        v,
        "2026-12-15",
        participants[..1].to_vec(),
    )
    .await
    .expect_err("no guardians");
    assert_eq!(refusal(&e), (Some(Reason::Required), "participants".into()));
    intake::plan_mdo(&swv, &guide, &id, v, "2026-12-15", participants).await?;
    let v = version(&swv, &id).await;
    intake::hold_mdo(
        &swv,
        &guide,
        &id,
        v,
        "2026-12-15",
        "Allen eens: TLV SO aanvragen.",
    )
    .await?;

    // The advices: each legal guard refuses until it holds.
    let advise = |v| intake::advise(&swv, &guide, &id, v);
    let v = version(&swv, &id).await;
    intake::record_advice(&swv, &guide, &id, v, 0, first_advice()).await?;
    let v = version(&swv, &id).await;
    assert_eq!(
        refusal(&advise(v).await.expect_err("one")).0,
        Some(Reason::AdviceCount)
    );
    let from_school = Advice {
        employer_party: "po-1".into(),
        employer_name: "Basisschool De Regenboog".into(),
        ..second_advice()
    };
    intake::record_advice(&swv, &guide, &id, v, 1, from_school).await?;
    let v = version(&swv, &id).await;
    assert_eq!(
        refusal(&advise(v).await.expect_err("not independent")),
        (
            Some(Reason::AdviceNotIndependent),
            "advices[1].employer_party".into()
        )
    );
    let same_person = Advice {
        qualification: Qualification::Pedagogue,
        document_ref: "tweede.pdf".into(),
        ..first_advice()
    };
    intake::record_advice(&swv, &guide, &id, v, 1, same_person).await?;
    let v = version(&swv, &id).await;
    assert_eq!(
        refusal(&advise(v).await.expect_err("same person")).0,
        Some(Reason::AdviceSamePerson)
    );
    let collective = Advice {
        by_committee: true,
        ..second_advice()
    };
    intake::record_advice(&swv, &guide, &id, v, 1, collective).await?;
    let v = version(&swv, &id).await;
    assert_eq!(
        refusal(&advise(v).await.expect_err("committee")).0,
        Some(Reason::AdviceCollective)
    );
    let not_first = Advice {
        qualification: Qualification::SocialWorker,
        ..first_advice()
    };
    intake::record_advice(&swv, &guide, &id, v, 0, not_first).await?;
    intake::record_advice(&swv, &guide, &id, v + 1, 1, second_advice()).await?;
    let v = version(&swv, &id).await;
    assert_eq!(
        refusal(&advise(v).await.expect_err("first")).0,
        Some(Reason::AdviceFirstQualification)
    );
    intake::record_advice(&swv, &guide, &id, v, 0, first_advice()).await?;
    let v = version(&swv, &id).await;
    advise(v).await?;

    // The decision: reasons and dates are required; then it is taken.
    let starts = start + time::Duration::days(14);
    let granted = Decision {
        outcome: Outcome::Granted,
        reasons: "Beide deskundigen adviseren SO; de basisschool kan de ondersteuning niet bieden."
            .into(),
        starts_on: carenet_consent::record::format_date(starts),
        ends_on: carenet_consent::record::format_date(intake::default_validity(&config, starts)),
        school_type: Some(SchoolType::So),
        category: Some(Category::Low),
        guardians_agree: true,
        hearing: String::new(),
    };
    let v = version(&swv, &id).await;
    let e = intake::decide(
        &swv,
        &loket,
        &clock,
        &config,
        &id,
        v,
        Decision {
            reasons: String::new(),
            ..granted.clone()
        },
    )
    .await
    .expect_err("reasons");
    assert_eq!(
        refusal(&e),
        (Some(Reason::DecisionReasons), "reasons".into())
    );
    let e = intake::decide(
        &swv,
        &loket,
        &clock,
        &config,
        &id,
        v,
        Decision {
            ends_on: String::new(),
            ..granted.clone()
        },
    )
    .await
    .expect_err("dates");
    assert_eq!(refusal(&e), (Some(Reason::DecisionDates), "ends_on".into()));
    let e = intake::decide(
        &swv,
        &loket,
        &clock,
        &config,
        &id,
        v,
        Decision {
            guardians_agree: false,
            ..granted.clone()
        },
    )
    .await
    .expect_err("not heard");
    assert_eq!(refusal(&e), (Some(Reason::Required), "hearing".into()));
    // The decision time: due 6 weeks after arrival.
    clock.advance_days(43);
    let due = deadline::due(&swv, &clock, 0).await?;
    assert_eq!(
        due.iter().map(|d| (d.kind, d.overdue)).collect::<Vec<_>>(),
        vec![(DeadlineKind::Decision, true)]
    );
    let decision_id = intake::decide(&swv, &loket, &clock, &config, &id, v, granted).await?;
    let decided = request::show(&swv, &loket, &id).await?;
    assert_eq!(decided.state, State::Decided);
    let stored = decided.decision.clone().unwrap();
    assert_eq!(stored.id, decision_id);
    // The decision time is met; the objection window and the re-indication reminder run.
    let open: Vec<DeadlineKind> = deadline::due(&swv, &clock, 3650)
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(
        open,
        vec![DeadlineKind::ObjectionWindow, DeadlineKind::Reindication]
    );

    // The decision returns to the school: its duty of care is met.
    let at_school = arrives(&po, &id, State::Decided).await?;
    assert_eq!(at_school.decision, Some(stored));
    assert_eq!(at_school.trajectory_guide, "tb-1");
    assert_eq!(at_school.trajectory_guide_name, "Anouk Peters");
    assert!(deadline::due(&po, &clock, 3650).await?.is_empty());

    // The region's overview at the SWV (SQL aggregates on both backends):
    // this month one request, granted; the TLV ends within three months
    // only once the clock is near its end; a school has no overview.
    let o = overview::read(&swv, &loket, &clock).await?;
    assert_eq!(o.per_month.len(), 1);
    assert_eq!(
        (
            o.per_month[0].requested,
            o.per_month[0].granted,
            o.per_month[0].refused
        ),
        (1, 1, 0)
    );
    assert_eq!(o.per_school.len(), 1);
    assert_eq!(o.per_school[0].key, "po-1");
    assert_eq!(o.per_school[0].kind, Some(Kind::AdmissionStatement));
    assert_eq!(o.waiting.len(), 1);
    assert_eq!(o.waiting[0].decided, 1);
    assert!(o.waiting[0].average_days >= 43, "{:?}", o.waiting);
    assert!(o.expiring.is_empty());
    assert!(overview::read(&po, &ib, &clock).await.is_err());

    // An objection: the defence is due in 14 days, the committee's advice
    // 4 weeks after it; the decision on it closes them.
    let v = version(&swv, &id).await;
    let lodged = carenet_consent::record::format_date(clock.today());
    intake::object(
        &swv,
        &loket,
        &id,
        v,
        &lodged,
        "Wij willen dat Daan naar SBO gaat, niet SO.",
    )
    .await?;
    clock.advance_days(15);
    let due = deadline::due(&swv, &clock, 0).await?;
    assert_eq!(
        due.iter().map(|d| d.kind).collect::<Vec<_>>(),
        vec![DeadlineKind::ObjectionDefence]
    );
    let v = version(&swv, &id).await;
    // Not decided before the committee advised.
    let e = intake::decide_objection(
        &swv,
        &loket,
        &clock,
        &id,
        v,
        ObjectionOutcome::Dismissed,
        "x",
    )
    .await
    .expect_err("no advice");
    assert_eq!(refusal(&e).1, "committee_advice");
    intake::send_defence(&swv, &loket, &clock, &id, v).await?;
    assert!(deadline::due(&swv, &clock, 27).await?.is_empty());
    assert_eq!(
        deadline::due(&swv, &clock, 28).await?[0].kind,
        DeadlineKind::CommitteeAdvice
    );
    let v = version(&swv, &id).await;
    intake::record_committee_advice(&swv, &loket, &clock, &id, v, "Het bezwaar is ongegrond.")
        .await?;
    let v = version(&swv, &id).await;
    intake::decide_objection(
        &swv,
        &loket,
        &clock,
        &id,
        v,
        ObjectionOutcome::Dismissed,
        "Conform het advies van de commissie.",
    )
    .await?;
    let r = request::show(&swv, &loket, &id).await?;
    assert_eq!(r.state, State::ObjectionDecided);
    arrives(&po, &id, State::ObjectionDecided).await?;
    assert_eq!(
        r.objection.unwrap().outcome,
        Some(ObjectionOutcome::Dismissed)
    );
    // Only the re-indication reminder is left.
    let open: Vec<DeadlineKind> = deadline::due(&swv, &clock, 3650)
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(open, vec![DeadlineKind::Reindication]);

    // The re-indication: a new request naming the decision; its arrival
    // meets the reminder.
    let mut renew = form(&consent);
    renew.kind = Some(Kind::Reindication);
    renew.detail.previous_decision = decision_id.clone();
    renew.guardian_view = "Wij willen dat Daan op het SO blijft.".into();
    let renewal = request::create(&po, &ib, renew).await?;
    request::submit(&po, &ib, &clock, &renewal, 1).await?;
    arrives(&swv, &renewal, State::Submitted).await?;
    let open: Vec<DeadlineKind> = deadline::due(&swv, &clock, 3650)
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(open, vec![DeadlineKind::Decision]);

    // The school withdraws the re-indication before a decision: the SWV
    // learns it, and its decision time stops.
    let v = version(&po, &renewal).await;
    request::withdraw(&po, &ib, &renewal, v).await?;
    arrives(&swv, &renewal, State::Withdrawn).await?;
    assert!(deadline::due(&swv, &clock, 3650).await?.is_empty());
    assert!(deadline::due(&po, &clock, 3650).await?.is_empty());
    // A withdrawn request is not withdrawn again.
    let v = version(&po, &renewal).await;
    assert_eq!(
        refusal(
            &request::withdraw(&po, &ib, &renewal, v)
                .await
                .expect_err("final")
        )
        .0,
        Some(Reason::CaseState)
    );

    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_support_command_drafts_submits_lists_and_shows_on_a_node() -> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let po = region.handle("po-1").store;
    let consent = asked_consent(
        &po,
        CHILD,
        Purpose::SupportRequest,
        &["swv"],
        vec![ConsentCategory::Pupil, ConsentCategory::EducationalSupport],
    )
    .await?;
    grant_consent(&po, &consent).await?;
    let dir = region.dir.path().display().to_string();
    let cli = |args: &[&str]| {
        Command::new(carenet_e2e::carenet_bin())
            .args(args)
            .args(["--data-dir", &dir, "--party", "po-1"])
            .env("RUST_LOG", "warn")
            .output()
            .expect("run carenet")
    };
    let ib = ["--by", "ib-1", "--role", "support_coordinator_po"];
    let with = |args: &[&'static str], actor: &[&'static str]| -> Vec<&'static str> {
        args.iter().chain(actor).copied().collect()
    };
    let create = [
        "support",
        "create",
        "--swv",
        "swv",
        "--child",
        CHILD,
        "--child-name",
        "Daan Visser",
        "--child-birth-date",
        "2017-05-14",
        "--kind",
        "arrangement",
        "--level",
        "medium",
        "--support-asked",
        "Twee dagdelen begeleiding in de klas.",
        "--cost-cents",
        "450000",
        "--question",
        "Kan het SWV een arrangement toekennen?",
        "--opp",
        "OPP: uitstroom VMBO-basis.",
        "--history-second",
        "Leerlingbespreking: extra instructie, onvoldoende resultaat.",
        "--pupil-voice",
        "Ik wil hulp in mijn eigen klas.",
    ];
    let mut create: Vec<&str> = create.to_vec();
    create.extend(["--consent", consent.as_str()]);
    create.extend(ib);
    let out = cli(&create);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (id, state) = stdout.trim().split_once(' ').unwrap();
    assert_eq!(state, "draft");
    let id = id.to_owned();

    // Without the guardians' view the submit is refused, naming the rule.
    let out = cli(&[&["support", "submit", "--request", &id][..], &ib[..]].concat());
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("guardian_view") && err.contains("zienswijze"),
        "{err}"
    );

    // A mentor may not list them: the command names the roles that would do.
    let out = cli(&with(
        &["support", "list"],
        &["--by", "mentor-1", "--role", "mentor"],
    ));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("support_coordinator_po or care_coordinator")
    );

    // With the view it is submitted.
    let mut complete = create.clone();
    complete.extend(["--guardian-view", "Wij steunen de aanvraag."]);
    let out = cli(&complete);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (second, _) = stdout.trim().split_once(' ').unwrap();
    let out = cli(&[&["support", "submit", "--request", second][..], &ib[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{second} submitted")
    );

    let out = cli(&[&["support", "list", "--json"][..], &ib[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let first = rows.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(first["kind"], "arrangement");
    assert_eq!(first["state"], "draft");

    let out = cli(&[
        &["support", "show", "--request", &id, "--json"][..],
        &ib[..],
    ]
    .concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(shown["detail"]["cost_cents"], 450000);
    assert_eq!(shown["detail"]["level"], "medium");
    assert_eq!(shown["history"][0]["source"], "school");
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebound_placement_is_decided_without_advices_and_closed_with_its_exit_report()
-> anyhow::Result<()> {
    let mut region = TestRegion::create(crate::three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let vo = region.handle("vo-1").store;
    let swv = region.handle("swv").store;
    let zc = staff(&vo, "zc-1", &[Role::CareCoordinator]);
    let loket = staff(&swv, "loket-1", &[Role::SwvStaff]);
    let guide = staff(&swv, "tb-1", &[Role::TrajectoryGuide]);
    let config = SupportConfig::default();
    let clock = SetClock::at(carenet_fabric::clock::today());
    let consent = asked_consent(
        &vo,
        CHILD,
        Purpose::SupportRequest,
        &["swv"],
        vec![ConsentCategory::Pupil, ConsentCategory::EducationalSupport],
    )
    .await?;
    grant_consent(&vo, &consent).await?;
    let mut rebound = form(&consent);
    rebound.kind = Some(Kind::Rebound);
    rebound.detail = Detail {
        support_asked: "Acht weken rebound: rust, structuur en terugkeer naar de klas.".into(),
        ..Detail::default()
    };
    rebound.guardian_view = "Wij vinden een time-out goed, als hij ingeschreven blijft.".into();
    // A secondary school asks no SO; a rebound carries no TLV category.
    let mut wrong = rebound.clone();
    wrong.detail.category = Some(Category::High);
    let e = request::create(&vo, &zc, wrong)
        .await
        .expect_err("category");
    assert_eq!(refusal(&e).1, "category");
    let id = request::create(&vo, &zc, rebound).await?;
    request::submit(&vo, &zc, &clock, &id, 1).await?;
    // The history went along: the consent covers only the request itself
    // (educational_support), so the history (care_history) stayed at the school.
    let arrived = arrives(&swv, &id, State::Submitted).await?;
    assert!(arrived.history.is_empty());
    assert_eq!(request::load(&vo, &id).await?.history.len(), 2);

    let v = version(&swv, &id).await;
    intake::assign(&swv, &loket, &id, v, "tb-1", "Anouk Peters").await?;
    let v = version(&swv, &id).await;
    let participants = vec![
        Participant {
            role: ParticipantRole::School,
            name: "Zorgcoördinator".into(),
            party: "vo-1".into(),
        },
        Participant {
            role: ParticipantRole::Guardians,
            name: "Vader".into(),
            party: String::new(),
        },
        Participant {
            role: ParticipantRole::Pupil,
            name: "Daan".into(),
            party: String::new(),
        },
    ];
    intake::plan_mdo(&swv, &guide, &id, v, "2026-12-17", participants).await?;
    let v = version(&swv, &id).await;
    intake::hold_mdo(
        &swv,
        &guide,
        &id,
        v,
        "2026-12-17",
        "Rebound voor acht weken.",
    )
    .await?;
    // No advices for a rebound, and no step to `advised`.
    let v = version(&swv, &id).await;
    let e = intake::record_advice(&swv, &guide, &id, v, 0, first_advice())
        .await
        .expect_err("not a TLV");
    assert_eq!(refusal(&e).1, "kind");
    assert_eq!(
        refusal(
            &intake::advise(&swv, &guide, &id, v)
                .await
                .expect_err("no advised")
        )
        .0,
        Some(Reason::CaseState)
    );
    let today = clock.today();
    let granted = Decision {
        outcome: Outcome::Granted,
        reasons: "De school heeft alles geprobeerd; een tijdelijke plek geeft rust.".into(),
        starts_on: carenet_consent::record::format_date(today),
        ends_on: carenet_consent::record::format_date(today + time::Duration::weeks(8)),
        school_type: None,
        category: Some(Category::Low),
        guardians_agree: true,
        hearing: String::new(),
    };
    let e = intake::decide(&swv, &loket, &clock, &config, &id, v, granted.clone())
        .await
        .expect_err("a category");
    assert_eq!(
        refusal(&e),
        (Some(Reason::DecisionCategory), "category".into())
    );
    intake::decide(
        &swv,
        &loket,
        &clock,
        &config,
        &id,
        v,
        Decision {
            category: None,
            ..granted
        },
    )
    .await?;
    arrives(&vo, &id, State::Decided).await?;
    // No re-indication for a rebound: only the objection window runs.
    let open: Vec<DeadlineKind> = deadline::due(&swv, &clock, 3650)
        .await?
        .into_iter()
        .map(|d| d.kind)
        .collect();
    assert_eq!(open, vec![DeadlineKind::ObjectionWindow]);
    // The placement ends with its exit report and aftercare, once.
    let v = version(&swv, &id).await;
    let e = intake::close_rebound(&swv, &guide, &id, v, "Gaat weer naar de klas.", "")
        .await
        .expect_err("aftercare");
    assert_eq!(refusal(&e).1, "aftercare");
    intake::close_rebound(
        &swv,
        &guide,
        &id,
        v,
        "Daan gaat weer naar de klas; hij werkt met een rustplek.",
        "Zes weken wekelijks contact tussen mentor en trajectbegeleider.",
    )
    .await?;
    let closed = request::show(&swv, &guide, &id).await?;
    assert!(closed.exit_report.starts_with("Daan gaat weer"));
    let v = closed.version;
    assert_eq!(
        refusal(
            &intake::close_rebound(&swv, &guide, &id, v, "x", "y")
                .await
                .expect_err("once")
        )
        .0,
        Some(Reason::CaseState)
    );
    region.shutdown().await
}
