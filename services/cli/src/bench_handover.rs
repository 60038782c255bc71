//! `carenet bench handover`: how long a transfer dossier takes from an OSO
//! file to the receiving school, between two real nodes over mTLS, durable on
//! both sides. One at a time (the latency of one dossier), then all queued at
//! once (the rate a school's season can be pushed through).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;
use carenet_fabric::{PartyId, PartyKind};
use carenet_handover::dossier::{self, Route};
use carenet_node::region::PartyPlan;

use crate::bench::BenchRegion;
use crate::demo_seed::POVO_FULL;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

pub async fn run(dossiers: usize, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    if dossiers == 0 {
        bail!("--dossiers must be at least 1");
    }
    let plans = vec![
        PartyPlan::new("swv-bench", PartyKind::Swv, "Bench SWV"),
        PartyPlan::new("po-bench", PartyKind::PoSchool, "Bench PO"),
        PartyPlan::new("vo-bench", PartyKind::VoSchool, "Bench VO"),
    ];
    let bench = BenchRegion::start(plans, database_url, |_| {}).await?;
    let po = &bench.handles[1];
    let vo = &bench.handles[2];
    let to = [PartyId::parse("to", "vo-bench")?];
    let wait_delivered = |n: i64| async move {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if po.store.outbox_count("delivered").await? >= n {
                return anyhow::Ok(());
            }
            if Instant::now() > deadline {
                bail!("dossiers were not delivered in 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };

    // The primary school's IB imports and releases.
    let ib = carenet_fabric::Actor::new(
        po.store.party.clone(),
        "ib-1",
        [carenet_fabric::Role::SupportCoordinatorPo],
    )?;

    // One at a time: import (parse, check, categorise, store, record the
    // inzage the file states), release, delivery with the signed receipt back.
    let mut import = Vec::with_capacity(dossiers);
    let mut total = Vec::with_capacity(dossiers);
    for i in 0..dossiers {
        let start = Instant::now();
        let id = dossier::import_oso(
            &po.store,
            &ib,
            POVO_FULL,
            &format!("bench-{i}"),
            Route::PoVo,
        )
        .await?;
        import.push(ms(start.elapsed()));
        dossier::publish(&po.store, &po.directory, &ib, &id, &to, None).await?;
        wait_delivered(i as i64 + 1).await?;
        total.push(ms(start.elapsed()));
    }
    import.sort_by(f64::total_cmp);
    total.sort_by(f64::total_cmp);

    // All at once.
    let start = Instant::now();
    for i in 0..dossiers {
        let id = dossier::import_oso(&po.store, &ib, POVO_FULL, &format!("bulk-{i}"), Route::PoVo)
            .await?;
        dossier::publish(&po.store, &po.directory, &ib, &id, &to, None).await?;
    }
    wait_delivered(2 * dossiers as i64).await?;
    let bulk = start.elapsed().as_secs_f64();
    let received = vo.store.inbox_received_count().await?;
    if received != 2 * dossiers as i64 {
        bail!(
            "the secondary school holds {received} dossiers, expected {}",
            2 * dossiers
        );
    }
    bench.stop().await?;
    println!(
        "setup: {dossiers} dossiers of {} KB (OSO POVO example), {}",
        POVO_FULL.len() / 1024,
        if database_url.is_some() {
            "postgresql"
        } else {
            "sqlite"
        }
    );
    println!(
        "handover: one at a time import p50 {:.1} ms, import+release+delivery p50 {:.1} ms p99 {:.1} ms; \
         all queued at once {:.1} dossiers/s",
        pct(&import, 0.5),
        pct(&total, 0.5),
        pct(&total, 0.99),
        dossiers as f64 / bulk
    );
    Ok(ExitCode::SUCCESS)
}
