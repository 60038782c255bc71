//! `carenet gateway`: runs a party's web UI (`--config gateway.toml`), and
//! `carenet gateway sessions end`, with which an admin ends every gateway
//! session of a staff id at once (the sessions live in the node's database;
//! the gateway refuses an ended session at its next request), and
//! `carenet gateway staff import --file staff.csv`, with which an admin
//! uploads the staff list the pages name people from (all or nothing).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
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
    /// The staff directory the pages name people from.
    #[command(subcommand)]
    Staff(StaffCommand),
}

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Takes a staff list (CSV: staff id, name, roles, groups; roles and
    /// groups separated by spaces or `|`; commas or semicolons between the
    /// fields; a header line is skipped) as the directory's uploaded part,
    /// all or nothing: a bad line is named by line and field and nothing is
    /// kept. Whoever an earlier list named and this one does not is taken
    /// out. An admin's action, audited.
    Import {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
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
        (
            None,
            Some(GatewayCommand::Staff(StaffCommand::Import {
                target,
                actor,
                file,
                json,
            })),
        ) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let n = carenet_gateway::staff_directory::import(&store, &actor, &text)
                .await
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if json {
                println!("{}", serde_json::json!({ "imported": n }));
            } else {
                println!(
                    "{n} staff member(s) in the directory from {}",
                    file.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => anyhow::bail!("give --config FILE to run the gateway, or a subcommand"),
    }
}
