//! `carenet portal`: the school's side of the parent portal's links on the
//! holder's node: invite a guardian, list a pupil's links and unused
//! invitations, revoke a link (with the reason the guardian reads),
//! withdraw an invitation, renew a link at its yearly review. Every command
//! names who does it, `--by STAFF --role ROLE`; the consent crate checks the
//! role (support_coordinator_po or care_coordinator) and audits.

use std::process::ExitCode;

use carenet_consent::links::{self, LinkState, NewInvitation};
use carenet_consent::record::{format_date, parse_date};
use clap::Subcommand;

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum PortalCommand {
    /// Invite a guardian of a pupil: prints the one-time code (shown once)
    /// and when it expires.
    Invite {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The school's own pupil reference.
        #[arg(long)]
        child: String,
        /// The guardian the code is for, as the school knows them.
        #[arg(long)]
        guardian_name: String,
        /// The pupil's birth date as the school recorded it, YYYY-MM-DD.
        #[arg(long)]
        birth_date: String,
        /// Days the code waits for its use (1-60).
        #[arg(long, default_value_t = links::DEFAULT_INVITATION_DAYS)]
        days: u32,
        /// The school holds the pupil's dossier in its own system (no
        /// consent record or dossier on this node yet).
        #[arg(long)]
        held_elsewhere: bool,
        /// The code is for the pupil themself (16 or older; `--guardian-name`
        /// then names the pupil): they sign in like a guardian and decide
        /// their own consents (ADR 0008).
        #[arg(long)]
        pupil: bool,
    },
    /// A pupil's links (active and ended) and unused invitations.
    Links {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
    },
    /// End a link now; the guardian reads the reason on the portal.
    Revoke {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        link: String,
        /// Why, in Dutch (the guardian reads it).
        #[arg(long)]
        reason: String,
    },
    /// Withdraw an unused invitation: its code links no one.
    WithdrawInvitation {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        invitation: String,
    },
    /// The yearly review: the link stays for another year.
    Renew {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        link: String,
        /// Corrects the pupil's birth date, YYYY-MM-DD.
        #[arg(long)]
        birth_date: Option<String>,
    },
}

fn date(ms: i64) -> String {
    format_date(carenet_fabric::clock::date_of(ms))
}

pub async fn run(command: PortalCommand) -> anyhow::Result<ExitCode> {
    match command {
        PortalCommand::Invite {
            target,
            actor,
            child,
            guardian_name,
            birth_date,
            days,
            held_elsewhere,
            pupil,
        } => {
            let new = NewInvitation {
                child_ref: child,
                guardian_name,
                child_birth_date: parse_date("--birth-date", &birth_date)?,
                days,
            };
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let invitee = if pupil {
                links::Invitee::Pupil
            } else {
                links::Invitee::Guardian
            };
            let made = links::invite_as(&store, &actor, &new, held_elsewhere, invitee).await;
            store.db.close().await;
            let made = made?;
            println!(
                "invitation={} code={} expires={}",
                made.id,
                made.code,
                date(made.expires_at_ms)
            );
        }
        PortalCommand::Links {
            target,
            actor,
            child,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let found = links::for_child(&store, &actor, &child).await;
            store.db.close().await;
            let found = found?;
            for l in found.links {
                let state = match &l.state {
                    LinkState::Active => format!("active until={}", date(l.review_by_ms)),
                    LinkState::Revoked { at_ms, reason } => {
                        format!("revoked on={} reason={reason}", date(*at_ms))
                    }
                    LinkState::Lapsed { at_ms } => format!("lapsed on={}", date(*at_ms)),
                };
                println!(
                    "link={} guardian={:?} invited_as={:?} since={} {state}",
                    l.id,
                    l.guardian_name,
                    l.invited_as.unwrap_or_default(),
                    date(l.linked_at_ms)
                );
            }
            for i in found.invitations {
                println!(
                    "invitation={} for={:?} made={} expires={}",
                    i.id,
                    i.guardian_name,
                    date(i.created_at_ms),
                    date(i.expires_at_ms)
                );
            }
        }
        PortalCommand::Revoke {
            target,
            actor,
            link,
            reason,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let done = links::revoke(&store, &actor, &link, &reason).await;
            store.db.close().await;
            done?;
            println!("revoked {link}");
        }
        PortalCommand::WithdrawInvitation {
            target,
            actor,
            invitation,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let done = links::withdraw_invitation(&store, &actor, &invitation).await;
            store.db.close().await;
            done?;
            println!("withdrawn {invitation}");
        }
        PortalCommand::Renew {
            target,
            actor,
            link,
            birth_date,
        } => {
            let birth = birth_date
                .map(|d| parse_date("--birth-date", &d))
                .transpose()?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let done = links::renew(&store, &actor, &link, birth).await;
            store.db.close().await;
            let (_, review_by_ms) = done?;
            println!("renewed {link} until={}", date(review_by_ms));
        }
    }
    Ok(ExitCode::SUCCESS)
}
