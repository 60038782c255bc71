//! `carenet oso` and `carenet handover`: OSO files in and out of a node, the
//! sending school's inzage and release, and the receiving school's last mile
//! from the command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use carenet_fabric::PartyId;
use carenet_fabric::credentials::Credentials;
use carenet_fabric::directory::Directory;
use carenet_handover::dossier::{self, Route};
use carenet_handover::season::{self, Filter};
use carenet_handover::{incoming, model::Dossier};
use clap::Subcommand;

use crate::target::TargetArgs;

#[derive(Subcommand)]
pub enum OsoCommand {
    /// Read an OSO 2019.1 dossier (from a school's administration system) into
    /// a node as a draft transfer dossier. Prints the dossier id.
    Import {
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        /// The school's own pupil reference (never a BSN); default the file's leerlingid.
        #[arg(long)]
        child: Option<String>,
        /// po_vo (default), vo_vo, vo_vervolg or internal.
        #[arg(long, default_value = "po_vo")]
        route: String,
        /// Staff id of who imports it.
        #[arg(long, default_value = "operator")]
        recorded_by: String,
    },
    /// Write one dossier as an OSO 2019.1 file: the latest of a pupil, a
    /// dossier by id, or a received one by message id.
    Export {
        #[command(flatten)]
        target: TargetArgs,
        /// The pupil reference the dossier was created with.
        #[arg(long)]
        pupil: Option<String>,
        #[arg(long)]
        dossier: Option<String>,
        /// A received dossier, by message id.
        #[arg(long)]
        message: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum HandoverCommand {
    /// The guardians saw a dossier (inzage), with their view: it is set ready.
    Inspection {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        dossier: String,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        seen_on: Option<String>,
        /// The guardians' view (zienswijze), if they gave one.
        #[arg(long)]
        guardian_view: Option<String>,
        /// Staff id of who records it.
        #[arg(long)]
        by: String,
    },
    /// Release a ready dossier to the receiving party (or a correction to
    /// every earlier recipient); the node delivers it. Needs the node's data
    /// directory (or a region's, with --party) for the region directory.
    Publish {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        dossier: String,
        /// The receiving party; repeat for more; none for a correction.
        #[arg(long = "to")]
        to: Vec<String>,
        /// The consent record, for the routes that need consent.
        #[arg(long)]
        consent: Option<String>,
        #[arg(long)]
        by: String,
    },
    /// This school year's outgoing and incoming dossiers and where they stand.
    Season {
        #[command(flatten)]
        target: TargetArgs,
        /// in or out
        #[arg(long)]
        direction: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// Write CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Assign a received dossier to the mentor (and teachers).
    Assign {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        message: String,
        #[arg(long)]
        mentor: String,
        #[arg(long = "teacher")]
        teachers: Vec<String>,
        /// Staff id of the care coordinator who assigns it.
        #[arg(long)]
        by: String,
    },
    /// Open the classroom digest of a received dossier (as its mentor or a teacher).
    Digest {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        message: String,
        #[arg(long)]
        staff: String,
    },
}

pub async fn oso(cmd: OsoCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OsoCommand::Import {
            file,
            target,
            child,
            route,
            recorded_by,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let imported = carenet_handover::oso::import(&text)?;
            let route = Route::parse("--route", &route)?;
            let child = match child {
                Some(c) => c,
                None => Dossier {
                    sections: imported.sections,
                    extras: Default::default(),
                }
                .summary()
                .pupil_id
                .context("the file has no leerlingid: give --child")?,
            };
            let store = target.open().await?;
            let id = dossier::import_oso(&store, &text, &child, route, &recorded_by).await?;
            let d = dossier::get(&store, &id).await?;
            println!("{id} {}", d.state);
            Ok(ExitCode::SUCCESS)
        }
        OsoCommand::Export {
            target,
            pupil,
            dossier: id,
            message,
            out,
        } => {
            let store = target.open().await?;
            let d = match (pupil, id, message) {
                (_, _, Some(m)) => incoming::dossier(&store, &m).await?,
                (_, Some(id), None) => dossier::get(&store, &id).await?.dossier,
                (Some(p), None, None) => {
                    let Some((id, _, _)) = dossier::for_child(&store, &p).await?.into_iter().next()
                    else {
                        bail!("no dossier for pupil {p}");
                    };
                    dossier::get(&store, &id).await?.dossier
                }
                (None, None, None) => {
                    let all = dossier::all(&store).await?;
                    match all.as_slice() {
                        [one] => dossier::get(&store, one).await?.dossier,
                        [] => bail!("this node holds no dossier"),
                        _ => bail!(
                            "this node holds {} dossiers: name one with --pupil, --dossier or --message",
                            all.len()
                        ),
                    }
                }
            };
            std::fs::write(&out, d.to_oso()?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("written: {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn handover(cmd: HandoverCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HandoverCommand::Inspection {
            target,
            dossier: id,
            seen_on,
            guardian_view,
            by,
        } => {
            let store = target.open().await?;
            let seen_on = match seen_on {
                Some(d) => dossier::parse_date("--seen-on", &d)?,
                None => time::OffsetDateTime::now_utc().date(),
            };
            dossier::record_inspection(&store, &id, seen_on, guardian_view, &by).await?;
            println!("{id} ready");
            Ok(ExitCode::SUCCESS)
        }
        HandoverCommand::Publish {
            target,
            dossier: id,
            to,
            consent,
            by,
        } => {
            let Some(config) = target.node_config()? else {
                bail!("publish needs the node's data directory (or a region's with --party)");
            };
            let creds = Credentials::load(&config.credentials_dir())?;
            let directory = Directory::open(
                creds.ca_public_key,
                Some(config.data_dir.join("directory.cache")),
            );
            if directory.snapshot().signed.is_empty() {
                bail!("the node has no region directory yet: start it once first");
            }
            let to = to
                .iter()
                .map(|p| PartyId::parse("--to", p))
                .collect::<Result<Vec<_>, _>>()?;
            let store = target.open().await?;
            for message in
                dossier::publish(&store, &directory, &id, &to, consent.as_deref(), &by).await?
            {
                println!("queued {message}");
            }
            Ok(ExitCode::SUCCESS)
        }
        HandoverCommand::Season {
            target,
            direction,
            status,
            csv,
        } => {
            let store = target.open().await?;
            let rows = season::season(
                &store,
                school_year_start_ms(),
                &Filter { direction, status },
            )
            .await?;
            if csv {
                print!("{}", season::to_csv(&rows));
            } else {
                for r in &rows {
                    println!(
                        "{:<3} {} {:<24} {:<16} v{} {:<20} warm:{:<7} feedback:{} izo:{}",
                        r.direction,
                        r.id,
                        r.pupil,
                        r.counterparty,
                        r.version,
                        r.status,
                        if r.warm_handover.is_empty() {
                            "-"
                        } else {
                            &r.warm_handover
                        },
                        if r.feedback { "ja" } else { "nee" },
                        if r.izo { "ja" } else { "nee" },
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HandoverCommand::Assign {
            target,
            message,
            mentor,
            teachers,
            by,
        } => {
            let store = target.open().await?;
            incoming::assign(&store, &message, &mentor, &teachers, &by).await?;
            println!("assigned");
            Ok(ExitCode::SUCCESS)
        }
        HandoverCommand::Digest {
            target,
            message,
            staff,
        } => {
            let store = target.open().await?;
            print!(
                "{}",
                incoming::open_digest(&store, &message, &staff)
                    .await?
                    .to_text()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// 1 August of the current school year, 00:00 UTC.
fn school_year_start_ms() -> i64 {
    let today = time::OffsetDateTime::now_utc().date();
    let year = if today.month() as u8 >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    time::Date::from_calendar_date(year, time::Month::August, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .unwrap_or(0)
}
