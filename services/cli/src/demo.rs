//! `carenet demo`: a whole region on one machine, on SQLite.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use carenet_node::Node;
use carenet_node::region::{self, REGION_FILE, RegionFile};
use tokio::sync::watch;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the region lives; reused when it already holds one.
    #[arg(long, default_value = "demo-region")]
    data_dir: PathBuf,
    /// First port; the parties take the ports after it.
    #[arg(long, default_value_t = 7400)]
    port_base: u16,
    /// Do not open the web UI in a browser.
    #[arg(long)]
    no_browser: bool,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let region = if args.data_dir.join(REGION_FILE).exists() {
        RegionFile::load(&args.data_dir)?
    } else {
        let plans = region::demo_plans();
        let addresses: Vec<String> = (0..plans.len())
            .map(|i| format!("127.0.0.1:{}", args.port_base as usize + i))
            .collect();
        carenet_fabric::private_fs::private_dir(&args.data_dir)?;
        let region = region::create(&args.data_dir, "rivierenland", &plans, &addresses, None)?;
        println!("created demo region in {}", args.data_dir.display());
        region
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut handles = HashMap::new();
    for p in &region.parties {
        let config = region.node_config(&p.id)?;
        let listener = tokio::net::TcpListener::bind(&p.address)
            .await
            .with_context(|| format!("cannot listen on {} for {}", p.address, p.id))?;
        let node = Node::build(config)
            .await
            .with_context(|| format!("party {}", p.id))?;
        handles.insert(p.id.clone(), node.handle());
        let mut rx = stop_rx.clone();
        tasks.push(tokio::spawn(node.serve(listener, async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
        println!("{:<20} {:<12} {}", p.id, p.kind, p.address);
    }

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut healthy = 0;
        for p in &region.parties {
            let config = region.node_config(&p.id)?;
            if matches!(
                crate::commands::check_health(&config, &p.id, &p.address).await,
                Ok(true)
            ) {
                healthy += 1;
            }
        }
        if healthy == region.parties.len() {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "only {healthy} of {} nodes became healthy",
                region.parties.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("region: {}", args.data_dir.join(REGION_FILE).display());
    // The web UI: a gateway per school, with the demo sign-in.
    let (gateways, gateway_tasks) =
        crate::demo_gateway::start(&args.data_dir, &region, args.port_base, stop_rx.clone())
            .await?;
    for (party, url) in gateways.iter().skip(1) {
        println!("{party:<20} {url}");
    }
    let first = gateways
        .first()
        .map(|(_, url)| url.clone())
        .unwrap_or_default();
    println!("gateway: {first}");
    println!("ready");
    if !args.no_browser {
        open_browser(&first);
    }
    // A season of transfer dossiers, once per region, while the nodes run.
    let data_dir = args.data_dir.clone();
    let linde_key = carenet_fabric::credentials::Credentials::load(
        &region.node_config("po-de-linde")?.credentials_dir(),
    )?
    .signing;
    tokio::spawn(async move {
        match crate::demo_seed::seed(&handles).await {
            Ok(0) => {}
            Ok(n) => println!(
                "seeded: {n} transfer dossiers; see `carenet handover season --data-dir {} --party po-de-linde --by ib-1 --role support_coordinator_po`",
                data_dir.display()
            ),
            Err(e) => eprintln!("demo seeding failed: {e:#}"),
        }
        if let Err(e) = crate::demo_seed::seed_portal(&handles, &linde_key).await {
            eprintln!("demo seeding of the parent portal failed: {e:#}");
        }
        match crate::demo_care::seed(&handles).await {
            Ok(None) => {}
            Ok(Some(plan)) => println!(
                "seeded care: an IZO, a ZAT case and its plan {plan}; see `carenet case show --id {plan} --data-dir {} --party vo-het-baken --by zc-1 --role care_coordinator`",
                data_dir.display()
            ),
            Err(e) => eprintln!("demo seeding of care coordination failed: {e:#}"),
        }
        match crate::demo_support::seed(&handles).await {
            Ok(0) => {}
            Ok(n) => println!(
                "seeded support: {n} requests to the SWV; see `carenet support list --data-dir {} --party swv-rivierenland --by swv-1 --role swv_staff`",
                data_dir.display()
            ),
            Err(e) => eprintln!("demo seeding of the SWV's support requests failed: {e:#}"),
        }
    });

    crate::shutdown_signal().await;
    println!("stopping");
    let _ = stop_tx.send(true);
    for t in gateway_tasks {
        let _ = t.await;
    }
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("node stopped with an error: {e}"),
            Err(e) => eprintln!("node task failed: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` in the desktop's browser, if there is a desktop.
fn open_browser(url: &str) {
    let desktop =
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if !desktop {
        return;
    }
    let _ = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}
