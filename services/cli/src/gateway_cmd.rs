//! `carenet gateway`: runs a party's web UI (`--config gateway.toml`), and
//! `carenet gateway sessions end`, with which an admin ends every gateway
//! session of a staff id at once (the sessions live in the node's database;
//! the gateway refuses an ended session at its next request).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::target::{ActorArgs, TargetArgs};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GatewayArgs {
    /// The gateway's config file (runs the gateway).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<GatewayCommand>,
}

#[derive(Subcommand)]
pub enum GatewayCommand {
    /// The gateway's login sessions.
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Ends every session of a staff id (an admin's action, audited): a lost
    /// laptop, a leaver, a role taken away that must count at once.
    End {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The staff id whose sessions end.
        #[arg(long)]
        staff: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    match (args.config, args.command) {
        (Some(config), None) => crate::commands::gateway(&config).await,
        (
            None,
            Some(GatewayCommand::Sessions(SessionsCommand::End {
                target,
                actor,
                staff,
                json,
            })),
        ) => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let ended = carenet_gateway::sessions::end_staff(&store, &actor, &staff)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::json!({ "staff": staff, "ended": ended }));
            } else {
                println!("{ended} session(s) of {staff} ended");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => anyhow::bail!("give --config FILE to run the gateway, or a subcommand"),
    }
}
