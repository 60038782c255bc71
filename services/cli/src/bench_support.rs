//! `carenet bench support`: an SWV's node holding the requests of a whole
//! region (by default 20,000 over five school years from 60 schools, each
//! kind, most decided, the TLVs with their validity), and the region
//! overview's aggregates read by its staff (`support::overview::read`, what
//! `/ondersteuning/overzicht` draws), p50/p99 over repeated reads.
//!
//! The requests are written as the SWV's node stores what arrived (rows of
//! `support_request` and `support_decision`, in batches), since the bench
//! measures the reading, not the intake.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use carenet_fabric::{Actor, PartyKind, Role, with_db};
use carenet_node::region::PartyPlan;
use carenet_support::clock::WallClock;
use carenet_support::overview;

use crate::bench::BenchRegion;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

const KINDS: [&str; 7] = [
    "arrangement",
    "outreach_support",
    "admission_statement",
    "arrangement",
    "rebound",
    "reindication",
    "lwoo",
];

/// Request `i` of the region: its school, kind, submission date (spread
/// over five years back), and its decision if it has one.
struct Seeded {
    school: String,
    kind: &'static str,
    submitted_on: String,
    decided: Option<(&'static str, String, String, String)>,
}

fn seeded(i: usize, schools: usize, today: time::Date) -> Seeded {
    let submitted = today - time::Duration::days((i * 7 % (5 * 365)) as i64);
    let kind = KINDS[i % KINDS.len()];
    let fmt = carenet_consent::record::format_date;
    // Four in five decided, one in eight of those refused, 10-60 days later.
    let decided = (!i.is_multiple_of(5)).then(|| {
        let on = submitted + time::Duration::days(10 + (i % 50) as i64);
        let outcome = if i.is_multiple_of(8) {
            "refused"
        } else {
            "granted"
        };
        let ends = on + time::Duration::days(400 + (i % 400) as i64);
        (
            outcome,
            fmt(on),
            fmt(on + time::Duration::days(1)),
            fmt(ends),
        )
    });
    Seeded {
        school: format!("school-{:02}", i % schools),
        kind,
        submitted_on: fmt(submitted),
        decided,
    }
}

pub async fn run(
    requests: usize,
    schools: usize,
    reads: usize,
    database_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    if schools == 0 || requests == 0 || reads == 0 {
        bail!("--requests, --schools and --reads must be at least 1");
    }
    let plans = vec![PartyPlan::new("swv-bench", PartyKind::Swv, "Bench SWV")];
    let bench = BenchRegion::start(plans, database_url, |_| {}).await?;
    let store = &bench.handles[0].store;
    let loket = Actor::new(store.party.clone(), "swv-1", [Role::SwvStaff])?;
    let today = carenet_fabric::clock::today();

    let seed = Instant::now();
    for chunk in (0..requests).collect::<Vec<_>>().chunks(500) {
        with_db!(&store.db, pool => {
            let mut tx = pool.begin().await?;
            for &i in chunk {
                let s = seeded(i, schools, today);
                let id = format!("00000000-0000-7000-8000-{i:012}");
                let state = if s.decided.is_some() { "decided" } else { "in_intake" };
                let (school_type, category) = if s.kind == "admission_statement" || s.kind == "reindication" {
                    (Some("so"), Some("low"))
                } else {
                    (None, None)
                };
                sqlx::query(
                    "INSERT INTO support_request (id, school, swv, child_ref, child_name, child_birth_date, kind, level, \
                     support_asked, cost_cents, school_type, category, previous_decision, question, opp_text, opp_ref, \
                     guardian_view, pupil_voice, voice_reason, consent_record, applied_on, state, version, created_by, \
                     submitted_on, trajectory_guide, completeness_question, completeness_answer, exit_report, aftercare, \
                     created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, 'swv-bench', $3, $4, '2014-05-01', $5, NULL, '', NULL, $6, $7, '', $8, 'OPP', '', \
                     'Wij steunen de aanvraag.', 'Ik wil een rustige klas.', '', '', $9, $10, 3, '', $9, 'tb-1', '', '', '', '', 0, 0)",
                )
                .bind(&id)
                .bind(&s.school)
                .bind(format!("bench-{i}"))
                .bind(format!("Leerling {i}"))
                .bind(s.kind)
                .bind(school_type)
                .bind(category)
                .bind("Welke ondersteuning heeft deze leerling nodig?")
                .bind(&s.submitted_on)
                .bind(state)
                .execute(&mut *tx)
                .await?;
                if let Some((outcome, on, starts, ends)) = &s.decided {
                    let (school_type, category) = if *outcome == "granted" { (school_type, category) } else { (None, None) };
                    sqlx::query(
                        "INSERT INTO support_decision (id, request_id, outcome, reasons, starts_on, ends_on, school_type, \
                         category, guardians_agree, hearing, decided_on, decided_by, created_at_ms) \
                         VALUES ($1, $2, $3, 'Gemotiveerd besluit.', $4, $5, $6, $7, TRUE, '', $8, 'swv-1', 0)",
                    )
                    .bind(format!("d-{id}"))
                    .bind(&id)
                    .bind(*outcome)
                    .bind(if *outcome == "granted" { starts.as_str() } else { "" })
                    .bind(if *outcome == "granted" { ends.as_str() } else { "" })
                    .bind(school_type)
                    .bind(category)
                    .bind(on)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
    }
    let seeded_in = seed.elapsed();

    let mut times = Vec::with_capacity(reads);
    let mut counted = 0;
    for _ in 0..reads {
        let start = Instant::now();
        let o = overview::read(store, &loket, &WallClock).await?;
        times.push(ms(start.elapsed()));
        counted = o.per_school.iter().map(|c| c.requested).sum::<i64>();
    }
    times.sort_by(f64::total_cmp);
    bench.stop().await?;
    println!(
        "setup: {requests} support requests from {schools} schools over five school years on {}, seeded in {:.1} s",
        if database_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        },
        seeded_in.as_secs_f64()
    );
    println!(
        "support: region overview (per month, school and kind, waiting time, TLVs ending) p50 {:.2} ms p99 {:.2} ms ({reads} reads; {counted} requests in its two school years)",
        pct(&times, 0.5),
        pct(&times, 0.99),
    );
    Ok(ExitCode::SUCCESS)
}
