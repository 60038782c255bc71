//! `carenet bench gateway`: the web UI under load. A secondary school that
//! received a season of transfer dossiers (real nodes over mTLS, on SQLite),
//! its gateway in this process, and `sessions` staff sessions at once, each
//! signed in and opening the season view and its own pupil's classroom
//! digest in turn over HTTP. Reports p50/p99 per page.
//!
//! The sessions sign in with the demo sign-in (the bench has no identity
//! provider): the same session cookie a real login makes, so every request
//! goes through the same session check, role check and audit as a real one.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_gateway::GatewayConfig;
use carenet_gateway::demo::{Persona, Who};
use carenet_handover::dossier::{self, Route};
use carenet_handover::incoming;
use carenet_node::region::PartyPlan;

use crate::bench::BenchRegion;
use crate::demo_seed::POVO_FULL;

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

pub async fn run(
    sessions: usize,
    rounds: usize,
    pupils: usize,
    think_ms: u64,
    database_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    if sessions == 0 || rounds == 0 || pupils < sessions {
        bail!("--sessions and --rounds must be at least 1, --pupils at least --sessions");
    }
    let plans = vec![
        PartyPlan::new("swv-bench", PartyKind::Swv, "Bench SWV"),
        PartyPlan::new("po-bench", PartyKind::PoSchool, "Bench PO"),
        PartyPlan::new("vo-bench", PartyKind::VoSchool, "Bench VO"),
    ];
    let bench = BenchRegion::start(plans, database_url, |_| {}).await?;
    let po = &bench.handles[1];
    let vo = &bench.handles[2];

    // A season: the primary school releases `pupils` dossiers to vo-bench.
    let ib = Actor::new(po.store.party.clone(), "ib-1", [Role::SupportCoordinatorPo])?;
    let to = [PartyId::parse("to", "vo-bench")?];
    for i in 0..pupils {
        let id =
            dossier::import_oso(&po.store, &ib, POVO_FULL, &format!("p-{i}"), Route::PoVo).await?;
        dossier::publish(&po.store, &po.directory, &ib, &id, &to, None).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while vo.store.inbox_received_count().await? < pupils as i64 {
        if Instant::now() > deadline {
            bail!("the season did not arrive in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The care coordinator assigns them over the mentors.
    let zc = Actor::new(vo.store.party.clone(), "zc-1", [Role::CareCoordinator])?;
    let items = incoming::list(&vo.store).await?;
    let mut digest_of = vec![String::new(); sessions];
    for (k, item) in items.iter().enumerate() {
        let mentor = format!("mentor-{}", k % sessions);
        incoming::assign(
            &vo.store,
            PartyKind::VoSchool,
            &zc,
            &item.message_id,
            &mentor,
            &[],
        )
        .await?;
        // Opened once by the mentor (a button on the page), so that the
        // timed views show the digest itself.
        let mentor = Actor::new(vo.store.party.clone(), &mentor, [Role::Mentor])?;
        incoming::open_digest(&vo.store, &mentor, &item.message_id).await?;
        digest_of[k % sessions] = format!("/ontvangen/{}/samenvatting", item.message_id);
    }

    if digest_of.iter().any(String::is_empty) {
        bail!("fewer received dossiers than sessions");
    }
    // The school's gateway; each session a mentor who also coordinates care
    // (so one session may open both the season view and a digest).
    let party = bench
        .region
        .parties
        .iter()
        .find(|p| p.id == "vo-bench")
        .context("vo-bench")?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let dir = tempfile::tempdir()?;
    let config = GatewayConfig::local(
        address.to_string(),
        format!("http://{address}"),
        party.config.clone(),
        dir.path().join("session.key"),
    );
    let personas = (0..sessions)
        .map(|s| Persona {
            label: format!("mentor-{s}"),
            who: Who::Staff {
                staff: format!("mentor-{s}"),
                name: format!("Mentor {s}"),
                roles: vec!["care_coordinator".into(), "mentor".into()],
            },
        })
        .collect();
    let state = carenet_gateway::build_demo(config, personas).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(carenet_gateway::serve(state, listener, async move {
        let _ = stopped.await;
    }));

    let base = format!("http://{address}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(sessions)
        .build()?;
    let mut cookies = Vec::with_capacity(sessions);
    for s in 0..sessions {
        let answer = http
            .post(format!("{base}/demo/inloggen"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("persona={s}"))
            .send()
            .await?;
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .context("no session cookie")?
            .to_owned();
        cookies.push(cookie);
    }

    let start = Instant::now();
    let mut tasks = Vec::with_capacity(sessions);
    for (cookie, digest) in cookies.into_iter().zip(digest_of) {
        let http = http.clone();
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut season = Vec::with_capacity(rounds);
            let mut digests = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                for (path, into) in [("/dossiers", &mut season), (digest.as_str(), &mut digests)] {
                    if think_ms > 0 {
                        let pause = think_ms / 2 + fastrand::u64(0..=think_ms);
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                    let t = Instant::now();
                    let answer = http
                        .get(format!("{base}{path}"))
                        .header("cookie", &cookie)
                        .send()
                        .await?;
                    let status = answer.status();
                    let body = answer.bytes().await?;
                    into.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !status.is_success() || body.is_empty() {
                        bail!("{path}: {status}");
                    }
                }
            }
            anyhow::Ok((season, digests))
        }));
    }
    let mut season = Vec::new();
    let mut digests = Vec::new();
    for t in tasks {
        let (s, d) = t.await??;
        season.extend(s);
        digests.extend(d);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    bench.stop().await?;
    let requests = season.len() + digests.len();
    let mut all: Vec<f64> = season.iter().chain(&digests).copied().collect();
    season.sort_by(f64::total_cmp);
    digests.sort_by(f64::total_cmp);
    all.sort_by(f64::total_cmp);
    let backend = if database_url.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    println!(
        "setup: {sessions} concurrent staff sessions, {rounds} rounds each, think time {think_ms} ms (50-150%), a season of {pupils} received dossiers, {backend}"
    );
    println!(
        "gateway: season view p50 {:.1} ms p99 {:.1} ms; digest p50 {:.1} ms p99 {:.1} ms; all p50 {:.1} ms p99 {:.1} ms; {:.0} requests/s",
        pct(&season, 0.5),
        pct(&season, 0.99),
        pct(&digests, 0.5),
        pct(&digests, 0.99),
        pct(&all, 0.5),
        pct(&all, 0.99),
        requests as f64 / elapsed
    );
    Ok(ExitCode::SUCCESS)
}
