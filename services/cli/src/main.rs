//! The `carenet` command: runs nodes and the demo region, and gives operators
//! the trust anchor, audit, outbox and benchmark commands.

mod bench;
mod bench_caseplan;
mod bench_gateway;
mod bench_handover;
mod bench_support;
mod care_cmd;
mod commands;
mod consent_cmd;
mod demo;
mod demo_care;
mod demo_gateway;
mod demo_seed;
mod demo_support;
mod gateway_cmd;
mod handover_cmd;
mod izo_cmd;
mod portal_cmd;
mod support_cmd;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "carenet",
    version,
    about = "Federated care network for Dutch education"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Region trust anchor: init, sign a join request, issue, revoke, publish.
    #[command(subcommand)]
    Ca(commands::CaCommand),
    /// A party's own keys: generate them and the join request for the CA.
    #[command(subcommand)]
    Keys(commands::KeysCommand),
    /// Run one party's node.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the web UI of one party's node (OpenID Connect login), or end
    /// its sessions of a staff id (`gateway sessions end`).
    Gateway(gateway_cmd::GatewayArgs),
    /// Create (or reuse) a demo region and run all its nodes on loopback.
    Demo(demo::DemoArgs),
    /// A demo region's health.
    #[command(subcommand)]
    Region(commands::RegionCommand),
    /// Consent records: request, grant, refuse, withdraw, list, show.
    #[command(subcommand)]
    Consent(consent_cmd::ConsentCommand),
    /// The parent portal's links: invite a guardian, list a pupil's links,
    /// revoke one, withdraw an invitation, renew a link.
    #[command(subcommand)]
    Portal(portal_cmd::PortalCommand),
    /// OSO 2019.1 transfer dossiers: import and export.
    #[command(subcommand)]
    Oso(handover_cmd::OsoCommand),
    /// Transfer dossiers: the season view, assigning to the mentor, the digest.
    #[command(subcommand)]
    Handover(handover_cmd::HandoverCommand),
    /// The internal care team (IZO): registrations and their triage.
    #[command(subcommand)]
    Izo(izo_cmd::IzoCommand),
    /// The ZAT the school hosts: its cases, their members and meetings.
    #[command(subcommand)]
    Zat(care_cmd::ZatCommand),
    /// One child, one plan: the plans this party holds or is a member of.
    #[command(subcommand)]
    Case(care_cmd::CaseCommand),
    /// The SWV's support requests: a school's own, or those an SWV received.
    #[command(subcommand)]
    Support(support_cmd::SupportCommand),
    /// The audit chain.
    #[command(subcommand)]
    Audit(commands::AuditCommand),
    /// The delivery outbox.
    #[command(subcommand)]
    Outbox(commands::OutboxCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A node's own config may name the OTLP endpoint; other commands read the
    // environment (CARENET_OTLP_ENDPOINT).
    let (otlp, service) = match &cli.command {
        Command::Node { config } => match carenet_node::NodeConfig::load(config) {
            Ok(c) => (c.otlp_endpoint.clone(), format!("carenet-{}", c.party)),
            Err(_) => (None, "carenet".to_owned()),
        },
        _ => (
            std::env::var("CARENET_OTLP_ENDPOINT")
                .ok()
                .filter(|s| !s.is_empty()),
            "carenet".to_owned(),
        ),
    };
    let _telemetry = match carenet_node::telemetry::init(otlp.as_deref(), &service) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Ca(c) => commands::ca(c),
            Command::Keys(c) => commands::keys(c),
            Command::Node { config } => commands::node(&config).await,
            Command::Gateway(args) => gateway_cmd::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Region(c) => commands::region(c).await,
            Command::Consent(c) => consent_cmd::run(c).await,
            Command::Portal(c) => portal_cmd::run(c).await,
            Command::Oso(c) => handover_cmd::oso(c).await,
            Command::Handover(c) => handover_cmd::handover(c).await,
            Command::Izo(c) => izo_cmd::run(c).await,
            Command::Zat(c) => care_cmd::run_zat(c).await,
            Command::Case(c) => care_cmd::run_case(c).await,
            Command::Support(c) => support_cmd::run(c).await,
            Command::Audit(c) => commands::audit(c).await,
            Command::Outbox(c) => commands::outbox(c).await,
            Command::Bench(c) => bench::run(c).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // The database's own text never reaches the message: a refused
            // constraint is named by its field, anything else goes to the log.
            let (message, log) = carenet_fabric::error::public_chain(e.chain());
            if let Some(db) = log {
                tracing::error!(error = %db, "database error");
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
