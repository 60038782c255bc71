//! `carenet bench caseplan`: a school holding 10,000 case plans (each with
//! goals, tasks, notes and a timeline), a JGZ node a member of some of them.
//! Measures (1) assembling one member's view of a plan as the holder sends
//! it (load, memberships checked against their consent today, cut to the
//! member's categories), and (2) how long after a partner reports progress
//! from its own node the coordinator's plan shows it (the exchange over
//! mTLS, the holder's arrival job, the state machine, the timeline).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use carenet_caseplan::plan::{self, NewPlan};
use carenet_caseplan::{member, view};
use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_fabric::{Actor, PartyKind, Role};
use carenet_node::region::PartyPlan;
use carenet_proto::v1;

use crate::bench::BenchRegion;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

fn day(offset: i64) -> String {
    carenet_consent::record::format_date(
        carenet_fabric::clock::today() + time::Duration::days(offset),
    )
}

/// A plan as a ZAT opens it: a goal, three actions, four notes.
fn new_plan(i: usize, owner: &str, members: Vec<v1::CaseMember>) -> NewPlan {
    let action = |owner: &str, what: &str, category: &str| v1::CaseAction {
        owner: owner.into(),
        what: what.into(),
        goal: "Weer elke dag naar school".into(),
        due_on: day(21),
        category: category.into(),
        person: String::new(),
    };
    let note = |kind: &str, category: &str| v1::CaseNote {
        kind: kind.into(),
        text: format!(
            "{kind}: een alinea tekst van het overleg over leerling {i}, zoals een ZAT die schrijft."
        ),
        category: category.into(),
    };
    NewPlan {
        child_ref: format!("bench-{i}"),
        child_name: format!("Leerling {i}"),
        child_birth_date: "2012-05-01".into(),
        origin: "zat".into(),
        origin_id: format!("zat-{i}"),
        coordinator: "zc-1".into(),
        reports_back: "zc-1".into(),
        evaluation_on: day(42),
        goals: vec![v1::CaseGoal {
            text: "Verzuim terug naar nul".into(),
            measure: "Verzuim per week".into(),
            target_on: day(56),
            ..Default::default()
        }],
        actions: vec![
            action("vo-bench", "Dagelijkse check-in", "action_plans"),
            action(owner, "Gesprek met de jeugdarts", "external_care"),
            action("vo-bench", "Huiswerkbegeleiding", "educational_support"),
        ],
        members,
        notes: vec![
            note("analysis", "care_history"),
            note("needs", "educational_support"),
            note("directions", "action_plans"),
            note("decisions", "action_plans"),
        ],
        source: format!("zat-meeting:bench-{i}"),
    }
}

pub async fn run(
    cases: usize,
    samples: usize,
    database_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    if cases == 0 || samples == 0 || samples > cases {
        bail!("--cases must be at least 1 and --samples between 1 and --cases");
    }
    let plans = vec![
        PartyPlan::new("swv-bench", PartyKind::Swv, "Bench SWV"),
        PartyPlan::new("vo-bench", PartyKind::VoSchool, "Bench VO"),
        PartyPlan::zat("jgz-bench", "jgz", "Bench JGZ"),
    ];
    // One member reports on every sample plan within minutes: the holder's
    // rate limit is raised above that, as the bench measures latency.
    let per_hour = u32::try_from(samples).unwrap_or(u32::MAX).saturating_add(1);
    let bench = BenchRegion::start(plans, database_url, |config| {
        config.caseplan.progress_per_hour = config.caseplan.progress_per_hour.max(per_hour);
    })
    .await?;
    let vo = &bench.handles[1];
    let jgz = &bench.handles[2];
    let zc = Actor::new(vo.store.party.clone(), "zc-1", [Role::CareCoordinator])?;
    let nurse = Actor::new(jgz.store.party.clone(), "jgz-1", [Role::ZatMember])?;
    let consents = ConsentStore::new(vo.store.clone());
    let today = carenet_fabric::clock::today();

    // The school's plans: `samples` of them with the JGZ as a member (under
    // the guardians' consent), the rest the school's own.
    let seed = Instant::now();
    let mut member_plans = Vec::with_capacity(samples);
    for i in 0..cases {
        let members = if i < samples {
            let record = consents
                .request(
                    &zc,
                    &ConsentRequest {
                        child_ref: format!("bench-{i}"),
                        child_birth_date: today.replace_year(today.year() - 12)?,
                        purpose: Purpose::CaseMembership,
                        recipients: vec![v1::ConsentRecipient {
                            target: Some(v1::consent_recipient::Target::PartyId(
                                "jgz-bench".into(),
                            )),
                        }],
                        categories: vec![
                            Category::ActionPlans,
                            Category::Pupil,
                            Category::ExternalCare,
                        ],
                        valid_from: today,
                        valid_until: None,
                    },
                )
                .await?
                .version
                .record_id;
            consents
                .grant(
                    &zc,
                    &record,
                    &Decision {
                        grantors: vec![v1::Grantor {
                            role: v1::GrantorRole::Guardian as i32,
                            name: "ouder".into(),
                        }],
                        evidence: v1::Evidence {
                            kind: v1::EvidenceKind::RecordedConversation as i32,
                            recorded_by: String::new(),
                            document_sha256: vec![],
                        },
                        today,
                    },
                )
                .await?;
            vec![v1::CaseMember {
                party: "jgz-bench".into(),
                role: "jeugdverpleegkundige".into(),
                person: "J. de Vries".into(),
                consent_record: record,
                ..Default::default()
            }]
        } else {
            Vec::new()
        };
        let owner = if members.is_empty() {
            "vo-bench"
        } else {
            "jgz-bench"
        };
        let id = plan::open(&vo.store, &zc, new_plan(i, owner, members)).await?;
        if i < samples {
            member_plans.push(id);
        }
    }
    let seeded = seed.elapsed();

    // (1) One member's view, as the holder assembles it.
    let mut assemble = Vec::with_capacity(samples * 5);
    for _ in 0..5 {
        for id in &member_plans {
            let start = Instant::now();
            let bytes = view::assemble(&vo.store, id, "jgz-bench").await?;
            assemble.push(ms(start.elapsed()));
            if bytes.is_empty() {
                bail!("an empty view");
            }
        }
    }
    assemble.sort_by(f64::total_cmp);

    // The JGZ holds a view of each of its plans before it reports.
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let listed = member::list(&jgz.store, &nurse).await?;
        if listed.len() >= samples {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "the member's views did not arrive in 10 minutes ({} of {samples})",
                listed.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // (2) The JGZ accepts its task on each plan, one at a time; the clock
    // stops when the coordinator's plan shows it.
    let mut visible = Vec::with_capacity(samples);
    for id in &member_plans {
        let v = member::show(&jgz.store, &nurse, "vo-bench", id).await?;
        let Some(task) = v.tasks.iter().find(|t| t.owner == "jgz-bench") else {
            bail!("the member's view lacks its task");
        };
        let start = Instant::now();
        member::report(
            &jgz.store,
            &nurse,
            "vo-bench",
            id,
            &task.id,
            "accept",
            task.version,
            "",
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let p = plan::load(&vo.store, id).await?;
            if p.task(&task.id).is_some_and(|t| t.state == "accepted") {
                break;
            }
            if Instant::now() > deadline {
                bail!("a progress update was not applied in 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        visible.push(ms(start.elapsed()));
    }
    visible.sort_by(f64::total_cmp);
    bench.stop().await?;
    println!(
        "setup: {cases} case plans ({samples} with a JGZ member) on {}, seeded in {:.1} s",
        if database_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
        seeded.as_secs_f64()
    );
    println!(
        "caseplan: member view assembled p50 {:.2} ms p99 {:.2} ms ({} views); partner progress visible to the coordinator p50 {:.1} ms p99 {:.1} ms ({} updates)",
        pct(&assemble, 0.5),
        pct(&assemble, 0.99),
        assemble.len(),
        pct(&visible, 0.5),
        pct(&visible, 0.99),
        visible.len()
    );
    Ok(ExitCode::SUCCESS)
}
