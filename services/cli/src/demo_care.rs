//! Seeds the demo's care coordination at Het Baken College: a running IZO
//! (one registration waiting for triage, one discussed with in-school
//! support), and a ZAT case with the JGZ, school social work and the
//! attendance officer as members, its plan of action opened with actions
//! owned by four parties (the school's own named to its mentor), which the
//! partners then move from their own nodes into several states. Runs once per region (when the school hosts no ZAT
//! case yet).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use carenet_caseplan::{member, plan};
use carenet_consent::{Category, Purpose};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role};
use carenet_node::NodeHandle;
use carenet_proto::v1::{self, IzoOutcome, IzoTriageDecision};
use carenet_referral::slice::ReferralConfig;
use carenet_referral::{izo, izo_meeting, zat};

use crate::demo_seed::consent;

const SCHOOL: &str = "vo-het-baken";

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

fn staff(store: &Store, id: &str, role: Role) -> anyhow::Result<Actor> {
    Ok(Actor::new(store.party.clone(), id, [role])?)
}

fn registration(child: &str, born: &str, problem: &str, question: &str) -> v1::IzoRegistration {
    v1::IzoRegistration {
        child_ref: child.into(),
        child_birth_date: born.into(),
        mentor: "mentor-1".into(),
        guardians_informed: true,
        problem: problem.into(),
        onset: "Sinds de herfstvakantie.".into(),
        what_goes_well: "Sport, en de band met de mentor.".into(),
        pupil_question: question.into(),
        guardians_question: "Hoe kunnen wij thuis helpen?".into(),
        support_question: "Wat heeft deze leerling in de klas nodig?".into(),
        support_requested: vec![
            v1::IzoSupportKind::Pupil as i32,
            v1::IzoSupportKind::Guardians as i32,
        ],
        school: Some(v1::IzoSchoolData {
            absence: "Elf lesuren afwezig in zes weken.".into(),
            wellbeing: "Zegt slecht te slapen.".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn accept() -> v1::IzoTriage {
    v1::IzoTriage {
        decision: IzoTriageDecision::Accept as i32,
        belongs_in_tier2: true,
        questions_clear: true,
        tier1_exhausted: true,
        guardians_and_pupil_informed: true,
        ..Default::default()
    }
}

fn minutes(outcomes: &[IzoOutcome], zat_question: &str) -> v1::IzoMinutes {
    v1::IzoMinutes {
        held_on: day(-14),
        present: vec!["zorgcoördinator".into(), "mentor".into(), "smw".into()],
        analysis: "Slaapt slecht, spanningen thuis, verzuim loopt op.".into(),
        needs: "Rust en een vast aanspreekpunt op school.".into(),
        teacher_coaching: "De mentor krijgt twee gesprekken met de orthopedagoog.".into(),
        guardians_contact: "mentor-1".into(),
        summary: "Afgesproken steun in de school; over vier weken evalueren.".into(),
        zat_question: zat_question.into(),
        evaluation_on: day(14),
        outcomes: outcomes.iter().map(|o| *o as i32).collect(),
        ..Default::default()
    }
}

fn action(owner: &str, what: &str, category: &str, due: i64) -> v1::CaseAction {
    v1::CaseAction {
        owner: owner.into(),
        what: what.into(),
        goal: "Lotte is weer elke dag op school".into(),
        due_on: day(due),
        category: category.into(),
        person: String::new(),
    }
}

/// Seeds once; returns the plan's id, or `None` if the region has it.
pub async fn seed(handles: &HashMap<String, NodeHandle>) -> anyhow::Result<Option<String>> {
    let h = |id: &str| handles.get(id).with_context(|| format!("demo party {id}"));
    let baken = &h(SCHOOL)?.store;
    let zc = staff(baken, "zc-1", Role::CareCoordinator)?;
    if !zat::list(baken, &zc).await?.is_empty() {
        return Ok(None);
    }
    let mentor = staff(baken, "mentor-1", Role::Mentor)?;

    // The IZO: Sem waits for triage; Mila was discussed, support in school.
    izo::register(
        baken,
        &mentor,
        registration(
            "LN-SEM",
            "2012-09-14",
            "Concentreert zich slecht; cijfers zakken.",
            "Ik wil beter kunnen opletten.",
        ),
    )
    .await?;
    let mila = izo::register(
        baken,
        &mentor,
        registration(
            "LN-MILA",
            "2012-03-02",
            "Faalangst bij toetsen.",
            "Ik wil minder zenuwachtig zijn.",
        ),
    )
    .await?;
    izo::triage(baken, &zc, &mila, accept()).await?;
    izo_meeting::record(
        baken,
        &zc,
        &mila,
        minutes(
            &[IzoOutcome::InSchoolSupport, IzoOutcome::TeacherCoaching],
            "",
        ),
    )
    .await?;

    // Lotte: through the IZO to the ZAT, with the guardians' consent.
    const LOTTE: &str = "LN-LOTTE";
    let lotte = izo::register(
        baken,
        &mentor,
        registration(
            LOTTE,
            "2012-06-21",
            "Verzuimt steeds vaker; trekt zich terug.",
            "Ik wil weer naar school durven.",
        ),
    )
    .await?;
    izo::triage(baken, &zc, &lotte, accept()).await?;
    izo_meeting::converse(
        baken,
        &mentor,
        &lotte,
        v1::IzoConversation {
            held_on: day(-16),
            with: v1::IzoConversationWith::Both as i32,
            summary: "Lotte en haar ouders vertellen over slapen en thuis; akkoord met het IZO."
                .into(),
            ..Default::default()
        },
    )
    .await?;
    izo_meeting::record(
        baken,
        &zc,
        &lotte,
        minutes(
            &[IzoOutcome::Zat, IzoOutcome::GuardianSupport],
            "Hoe krijgen school, JGZ, SMW en leerplicht één plan rond Lotte?",
        ),
    )
    .await?;
    let partners = ["jgz-regio", "smw-welzijn", "leerplicht-regio"];
    let zat_consent = consent(
        baken,
        LOTTE,
        Purpose::ReferToZat,
        &partners,
        vec![
            Category::Pupil,
            Category::EducationalSupport,
            Category::CareHistory,
        ],
    )
    .await?;
    let case = zat::refer(
        baken,
        &zc,
        &ReferralConfig::default(),
        v1::ZatReferral {
            child_ref: LOTTE.into(),
            child_name: "Lotte Visser".into(),
            child_birth_date: "2012-06-21".into(),
            origin: "izo".into(),
            izo_id: lotte,
            background: "Twee keer in het IZO; mentor en SMW hadden gesprekken; verzuimgesprek met de ouders.".into(),
            consent_record: zat_consent,
            meeting_on: day(-7),
            ..Default::default()
        },
    )
    .await?;
    let members: Vec<String> = partners.iter().map(|p| (*p).to_owned()).collect();
    zat::distribute(baken, &zc, &case, &members).await?;
    let categories = |extra: Category| vec![Category::ActionPlans, Category::Pupil, extra];
    let membership = Purpose::CaseMembership;
    let jgz_consent = consent(
        baken,
        LOTTE,
        membership,
        &["jgz-regio"],
        categories(Category::ExternalCare),
    )
    .await?;
    let smw_consent = consent(
        baken,
        LOTTE,
        membership,
        &["smw-welzijn"],
        categories(Category::HomeSituation),
    )
    .await?;
    let lp_consent = consent(
        baken,
        LOTTE,
        membership,
        &["leerplicht-regio"],
        categories(Category::Absence),
    )
    .await?;
    let member = |party: &str, role: &str, person: &str, record: String| v1::CaseMember {
        party: party.into(),
        role: role.into(),
        person: person.into(),
        consent_record: record,
        ..Default::default()
    };
    let (_, plan_id) = zat::meet(
        baken,
        &zc,
        &case,
        v1::ZatMeeting {
            held_on: day(-7),
            present: vec![SCHOOL.into(), "jgz-regio".into(), "smw-welzijn".into(), "leerplicht-regio".into()],
            analysis: "Slaapprobleem, spanningen thuis na de scheiding; verzuim als gevolg.".into(),
            needs: "Een vast aanspreekpunt, rust thuis, een haalbaar rooster.".into(),
            directions: "Slaap laten onderzoeken; gezin ondersteunen; verzuim samen aanpakken.".into(),
            decisions: "JGZ onderzoekt, SMW begeleidt het gezin, leerplicht voert een preventief gesprek, school zorgt voor opvang.".into(),
            plan: Some(v1::ZatPlanOfAction {
                coordinator: "zc-1".into(),
                reports_back: "De zorgcoördinator belt Lotte en haar ouders na elke stap".into(),
                evaluation_on: day(35),
                goals: vec![v1::CaseGoal {
                    text: "Lotte is weer elke dag op school".into(),
                    measure: "Verzuim per week in de administratie: nul lesuren".into(),
                    target_on: day(56),
                    ..Default::default()
                }],
                actions: vec![
                    action("jgz-regio", "Slaaponderzoek en gesprek met de jeugdarts", "external_care", 14),
                    action("smw-welzijn", "Drie gesprekken met het gezin", "home_situation", 28),
                    action("leerplicht-regio", "Preventief verzuimgesprek", "absence", 21),
                    // The school's own action names its mentor, who finds
                    // it under "Mijn acties in plannen".
                    v1::CaseAction {
                        person: "mentor-1".into(),
                        ..action(SCHOOL, "Dagelijkse check-in bij de mentor", "action_plans", 7)
                    },
                ],
                members: vec![
                    member("jgz-regio", "jeugdverpleegkundige", "J. de Vries", jgz_consent),
                    member("smw-welzijn", "schoolmaatschappelijk werker", "S. Bakker", smw_consent),
                    member("leerplicht-regio", "leerplichtambtenaar", "L. Smit", lp_consent),
                ],
            }),
            ..Default::default()
        },
    )
    .await?;
    let plan_id = plan_id.context("the ZAT opened no plan")?;

    // The partners move their tasks from their own nodes: the JGZ is at
    // work, school social work has accepted, leerplicht has not answered
    // yet; the school started its check-ins.
    let step = |party: &'static str, steps: &'static [&'static str]| {
        let plan_id = plan_id.clone();
        async move {
            let store = &h(party)?.store;
            let worker = staff(store, &format!("{party}-1"), Role::ZatMember)?;
            for step in steps {
                let task = wait_for_task(store, &worker, &plan_id, party, |_| true).await?;
                member::report(
                    store,
                    &worker,
                    SCHOOL,
                    &plan_id,
                    &task.id,
                    step,
                    task.version,
                    "",
                )
                .await?;
                let wanted = if *step == "accept" {
                    "accepted"
                } else {
                    "in_progress"
                };
                wait_for_task(store, &worker, &plan_id, party, |t| t.state == wanted).await?;
            }
            anyhow::Ok(())
        }
    };
    step("jgz-regio", &["accept", "start"]).await?;
    step("smw-welzijn", &["accept"]).await?;
    let own = plan::show(baken, &zc, &plan_id).await?;
    if let Some(t) = own.tasks.iter().find(|t| t.owner == SCHOOL) {
        let t = plan::step(baken, &zc, &plan_id, &t.id, "accept", t.version, "").await?;
        plan::step(baken, &zc, &plan_id, &t.id, "start", t.version, "").await?;
    }
    Ok(Some(plan_id))
}

/// The party's own task in its latest view of the plan, once `ok` holds.
async fn wait_for_task(
    store: &Store,
    worker: &Actor,
    plan_id: &str,
    party: &str,
    ok: impl Fn(&v1::CaseTask) -> bool,
) -> anyhow::Result<v1::CaseTask> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(v) = member::show(store, worker, SCHOOL, plan_id).await
            && let Some(t) = v.tasks.into_iter().find(|t| t.owner == party)
            && ok(&t)
        {
            return Ok(t);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "a demo partner's view did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
