//! `carenet oso` and `carenet handover`: OSO files in and out of a node, and
//! every step of a handover from the command line: the sending school's
//! extras, inzage, release and corrections; the receiving school's
//! assignment, digest, IZO registration and feedback; the warm handover; what
//! a party received and the season view. Every staff command names its actor
//! with `--by STAFF --role ROLE` and is checked against the handover's role
//! table (`carenet_handover::roles`); a refusal names the roles that would do.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use carenet_fabric::credentials::Credentials;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::{PartyId, PartyKind};
use carenet_handover::dossier::{self, ExtrasEdit, ExtrasOutcome, Route};
use carenet_handover::season::{self, Filter};
use carenet_handover::{destination, incoming, model::Dossier, warm};
use carenet_proto::v1;
use clap::{Args, Subcommand};

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum OsoCommand {
    /// Read an OSO 2019.1 dossier (from a school's administration system) into
    /// a node as a draft transfer dossier. Prints the dossier id and state.
    Import {
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The school's own pupil reference (never a BSN); default the file's leerlingid.
        #[arg(long)]
        child: Option<String>,
        /// po_vo (default), po_po, vo_vo, vo_vervolg or internal; must agree with the file (overstap).
        #[arg(long, default_value = "po_vo")]
        route: String,
    },
    /// Write one dossier as an OSO 2019.1 file: the latest of a pupil, a
    /// dossier by id, or a received one by message id.
    Export {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
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
    /// Check an OSO SWV dossier (PaO profile POSWV or VOSWV, the dossier of
    /// a support request) without a node: read it as carenet imports one,
    /// against the profile's rules, and print its profile and what it holds
    /// (counts only). With --out, write it again as carenet exports it
    /// (for --profile, default the file's own).
    CheckSwv {
        file: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        /// POSWV or VOSWV.
        #[arg(long)]
        profile: Option<String>,
    },
}

/// The handbook's extras of a dossier; an empty text clears a field.
#[derive(Args, Debug, Clone, Default)]
pub struct ExtrasArgs {
    /// Wat werkt: what works with this pupil.
    #[arg(long)]
    what_works: Option<String>,
    /// Wat te vermijden.
    #[arg(long)]
    avoid: Option<String>,
    /// Talents and positive qualities.
    #[arg(long)]
    talents: Option<String>,
    /// Interests.
    #[arg(long)]
    interests: Option<String>,
    /// The pupil's own voice.
    #[arg(long)]
    pupil_voice: Option<String>,
    /// Agreements made with pupil and guardians.
    #[arg(long)]
    agreements: Option<String>,
    /// Who to contact about the pupil.
    #[arg(long)]
    contact: Option<String>,
}

impl ExtrasArgs {
    fn edit(&self) -> ExtrasEdit {
        ExtrasEdit {
            talents: self.talents.clone(),
            interests: self.interests.clone(),
            what_works: self.what_works.clone(),
            what_to_avoid: self.avoid.clone(),
            pupil_voice: self.pupil_voice.clone(),
            agreements: self.agreements.clone(),
            contact: self.contact.clone(),
        }
    }
}

#[derive(Subcommand)]
pub enum HandoverCommand {
    /// Compose or edit the handbook's extras of a dossier: a draft is edited;
    /// a ready or published dossier gets a correction (a new version).
    Extras {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        #[command(flatten)]
        extras: ExtrasArgs,
    },
    /// Correct a ready or published dossier: a new version, from a new OSO
    /// file and/or changed extras (back to the guardians first: every transfer needs their inzage).
    Correct {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        /// A new OSO file for the dossier's OSO parts.
        #[arg(long)]
        oso: Option<PathBuf>,
        #[command(flatten)]
        extras: ExtrasArgs,
    },
    /// Put a draft before the guardians (inzage).
    Submit {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
    },
    /// The guardians saw a dossier (inzage), with their view: it is set ready.
    Inspection {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        seen_on: Option<String>,
        /// The guardians' view (zienswijze), if they gave one.
        #[arg(long)]
        guardian_view: Option<String>,
        /// Whether the guardians agree with the content (OSO akkoord): ja, nee
        /// or onbekend.
        #[arg(long, default_value = "onbekend")]
        akkoord: String,
    },
    /// Release a ready dossier to the receiving party (or a correction to
    /// every earlier recipient); the node delivers it. Needs the node's data
    /// directory (or a region's, with --party) for the region directory.
    Publish {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        /// The receiving party; repeat for more; none for a correction.
        #[arg(long = "to")]
        to: Vec<String>,
        /// The consent record, for the routes that need consent.
        #[arg(long)]
        consent: Option<String>,
    },
    /// Record (or change) the school the pupil goes to, from the enrolment:
    /// that school's request for the dossier is answered at once, and the
    /// dossier is published to no other school.
    Destination {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        /// The school the pupil goes to (a party id from the region directory).
        #[arg(long)]
        school: String,
    },
    /// Requests for a dossier from a school that is not its destination:
    /// list them, confirm one (the school becomes the destination and gets
    /// the dossier) or decline one.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// This school year's outgoing and incoming dossiers and where they stand.
    Season {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// in or out
        #[arg(long)]
        direction: Option<String>,
        #[arg(long)]
        status: Option<String>,
        /// Write CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Every handover document this party received (any kind of party):
    /// type, sender, when, and whether it is still there; never content.
    Received {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// Write CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Ask the school a pupil came from for the pupil's dossier (after
    /// enrolment; OSO's request side). The node must have run once (its
    /// credentials and region directory are used).
    Request {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The school the pupil came from.
        #[arg(long)]
        from: String,
        /// The pupil's BSN or onderwijsnummer (9 digits).
        #[arg(long)]
        pupil_number: String,
        /// The pupil's date of birth, YYYY-MM-DD.
        #[arg(long)]
        birth_date: String,
    },
    /// Assign a received dossier to the mentor (and teachers).
    Assign {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        message: String,
        #[arg(long)]
        mentor: String,
        #[arg(long = "teacher")]
        teachers: Vec<String>,
        /// This school's own reference of the pupil (needed before feedback).
        #[arg(long)]
        child: Option<String>,
    },
    /// Hand an internal dossier over to a new mentor inside the school.
    Internal {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        dossier: String,
        #[arg(long)]
        mentor: String,
        #[arg(long = "teacher")]
        teachers: Vec<String>,
    },
    /// Open the classroom digest of a received dossier (as its assigned
    /// mentor or teacher: --by is the staff id it was assigned to).
    Digest {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        message: String,
    },
    /// Register the pupil of a received dossier for the school's IZO.
    Izo {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        message: String,
        /// What the IZO is asked.
        #[arg(long)]
        question: String,
        /// The guardians know.
        #[arg(
            long,
            conflicts_with = "not_informed_reason",
            required_unless_present = "not_informed_reason"
        )]
        guardians_informed: bool,
        /// Why the guardians are not told (the pupil's safety).
        #[arg(long)]
        not_informed_reason: Option<String>,
    },
    /// Feedback to the sending school, and the feedback received.
    #[command(subcommand)]
    Feedback(FeedbackCommand),
    /// The warm handover: plan the conversation, record it, share the record.
    #[command(subcommand)]
    Warm(WarmCommand),
}

#[derive(Subcommand)]
pub enum RequestsCommand {
    /// The requests waiting for the IB: item id, dossier, pupil, the school
    /// that asked, when, and the destination recorded so far.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
    },
    /// Confirm that the school that asked is the pupil's school.
    Confirm {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The work-list item (from `requests list`).
        #[arg(long)]
        id: String,
        /// The consent record, for the routes that need consent.
        #[arg(long)]
        consent: Option<String>,
    },
    /// Decline a request: nothing is released and the school is not told.
    Decline {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum FeedbackCommand {
    /// Tell the sending school how the pupil is doing, under this school's
    /// consent record for feedback_to_sender.
    Send {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The received dossier, by message id.
        #[arg(long)]
        message: String,
        #[arg(long)]
        text: String,
        /// The consent record the feedback goes out on.
        #[arg(long)]
        consent: String,
        /// This school's own reference of the pupil (the one its consent names).
        #[arg(long)]
        child: String,
    },
    /// The feedback receiving schools sent about this school's dossiers.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
    },
}

#[derive(Subcommand)]
pub enum WarmCommand {
    /// Plan the conversation; the agenda is the handbook's for the route
    /// (7.1 PO→VO, 7.2 mentor change, 7.3 VO→vervolg). Prints its id.
    Plan {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The dossier it is about.
        #[arg(long)]
        dossier: String,
        /// po_vo, vo_vo, vo_vervolg or internal; default the dossier's own.
        #[arg(long)]
        route: Option<String>,
        /// ROLE[:PARTY:STAFF], e.g. care_coordinator:vo-1:zc-1, guardian,
        /// pupil; roles: support_coordinator_po, group8_teacher, team_lead,
        /// care_coordinator, mentor, guardian, pupil. Repeat.
        #[arg(long = "participant", required = true)]
        participants: Vec<String>,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        on: Option<String>,
    },
    /// Record that the conversation was held: minutes, notes per agenda
    /// item, agreements and aftercare.
    Record {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The warm handover's id.
        #[arg(long)]
        id: String,
        #[arg(long)]
        minutes: String,
        /// N:TEXT, notes on agenda item N (from 1). Repeat.
        #[arg(long = "note")]
        notes: Vec<String>,
        /// Repeat.
        #[arg(long = "agreement")]
        agreements: Vec<String>,
        #[arg(long, default_value = "")]
        aftercare: String,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        held_on: Option<String>,
    },
    /// Share the record with every participant's party, under the guardians'
    /// consent record.
    Share {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        id: String,
        #[arg(long)]
        consent: String,
        /// This school's own reference of the pupil, when the conversation is
        /// about a received dossier (for its own dossier the dossier's pupil).
        #[arg(long)]
        child: Option<String>,
    },
}

/// The region directory the node keeps (publish and warm share need it).
fn directory(target: &TargetArgs, what: &str) -> anyhow::Result<Directory> {
    let Some(config) = target.node_config()? else {
        bail!("{what} needs the node's data directory (or a region's with --party)");
    };
    let creds = Credentials::load(&config.credentials_dir())?;
    let directory = Directory::open(
        creds.ca_public_key,
        Some(config.data_dir.join("directory.cache")),
    );
    if directory.snapshot().signed.is_empty() {
        bail!("the node has no region directory yet: start it once first");
    }
    Ok(directory)
}

/// This party's kind, from the region directory (some roles depend on it).
fn party_kind(target: &TargetArgs, store: &Store) -> anyhow::Result<PartyKind> {
    if let Some(entry) = store.directory().and_then(|d| d.get(store.party.as_str())) {
        return Ok(entry.kind);
    }
    directory(target, "this command")?
        .get(store.party.as_str())
        .map(|e| e.kind)
        .context("--party: not a party in the region directory")
}

fn date_or_today(field: &str, value: Option<&str>) -> anyhow::Result<time::Date> {
    Ok(match value {
        Some(d) => dossier::parse_date(field, d)?,
        None => carenet_fabric::clock::today(),
    })
}

/// `ROLE[:PARTY:STAFF]` as a warm-handover participant.
fn participant(s: &str) -> anyhow::Result<v1::Participant> {
    let mut parts = s.splitn(3, ':');
    let role_name = parts.next().unwrap_or_default();
    let role = v1::ParticipantRole::from_str_name(&format!(
        "PARTICIPANT_ROLE_{}",
        role_name.to_ascii_uppercase()
    ))
    .filter(|r| *r != v1::ParticipantRole::Unspecified)
    .with_context(|| {
        format!(
            "--participant: unknown role {role_name:?}; one of support_coordinator_po, \
             group8_teacher, team_lead, care_coordinator, mentor, guardian, pupil"
        )
    })?;
    let party = parts.next().unwrap_or_default();
    let staff = parts.next().unwrap_or_default();
    if !party.is_empty() {
        PartyId::parse("--participant", party)?;
    }
    Ok(v1::Participant {
        role: role as i32,
        party_id: party.to_owned(),
        staff_ref: staff.to_owned(),
    })
}

pub async fn oso(cmd: OsoCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OsoCommand::CheckSwv { file, out, profile } => {
            use carenet_handover::oso::pao;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let read = pao::import(&bytes)?;
            let profile = match profile {
                Some(code) => pao::PaoProfile::parse(&code)
                    .with_context(|| format!("--profile: {code} is not POSWV or VOSWV"))?,
                None => read.profile,
            };
            println!("{}: {}", read.profile.code(), read.dossier.summary());
            if let Some(out) = out {
                let text = pao::export(&read.dossier, profile)?;
                std::fs::write(&out, text)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                println!("written as {} to {}", profile.code(), out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        OsoCommand::Import {
            file,
            target,
            actor,
            child,
            route,
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
            let actor = actor.actor(&store)?;
            let id = dossier::import_oso(&store, &actor, &text, &child, route).await?;
            let d = dossier::get(&store, &id).await?;
            println!("{id} {}", d.state);
            Ok(ExitCode::SUCCESS)
        }
        OsoCommand::Export {
            target,
            actor,
            pupil,
            dossier: id,
            message,
            out,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let source = match (pupil, id, message) {
                (_, _, Some(m)) => dossier::ExportSource::Received(m),
                (_, Some(id), None) => dossier::ExportSource::Own(id),
                (Some(p), None, None) => {
                    let Some((id, _, _)) = dossier::for_child(&store, &p).await?.into_iter().next()
                    else {
                        bail!("no dossier for pupil {p}");
                    };
                    dossier::ExportSource::Own(id)
                }
                (None, None, None) => {
                    let all = dossier::all(&store).await?;
                    match all.as_slice() {
                        [one] => dossier::ExportSource::Own(one.clone()),
                        [] => bail!("this node holds no dossier"),
                        _ => bail!(
                            "this node holds {} dossiers: name one with --pupil, --dossier or --message",
                            all.len()
                        ),
                    }
                }
            };
            let (xml, claim) = dossier::export_oso_checked(&store, &actor, &source).await?;
            // A whole dossier: the owner's only.
            carenet_fabric::private_fs::write_private(&out, xml.as_bytes())
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("written: {}", out.display());
            match claim {
                dossier::InzageClaim::Bound {
                    version,
                    content_sha256,
                    akkoord,
                } => println!("inzage: v{version} sha256:{content_sha256} akkoord:{akkoord}"),
                dossier::InzageClaim::NotClaimed(why) => {
                    println!("inzage: not claimed (provisional): {why}")
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn handover(cmd: HandoverCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HandoverCommand::Extras {
            target,
            actor,
            dossier: id,
            extras,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            match dossier::set_extras(&store, &actor, &id, &extras.edit()).await? {
                ExtrasOutcome::Edited => println!("{id} draft"),
                ExtrasOutcome::Corrected(v) => {
                    let d = dossier::get(&store, &id).await?;
                    println!("{id} v{v} {}", d.state);
                }
            }
        }
        HandoverCommand::Correct {
            target,
            actor,
            dossier: id,
            oso,
            extras,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let edit = extras.edit();
            if oso.is_none() && edit.is_empty() {
                bail!("--oso or an extras flag: say what changes");
            }
            let mut d = dossier::get(&store, &id).await?.dossier;
            if let Some(file) = oso {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("--oso: cannot read {}", file.display()))?;
                d.sections = carenet_handover::oso::import(&text)?.sections;
            }
            edit.apply(&mut d.extras);
            let v = dossier::correct(&store, &actor, &id, &d).await?;
            let d = dossier::get(&store, &id).await?;
            println!("{id} v{v} {}", d.state);
        }
        HandoverCommand::Submit {
            target,
            actor,
            dossier: id,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            dossier::submit_for_inspection(&store, &actor, &id).await?;
            println!("{id} awaiting_inspection");
        }
        HandoverCommand::Inspection {
            target,
            actor,
            dossier: id,
            seen_on,
            guardian_view,
            akkoord,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let seen_on = date_or_today("--seen-on", seen_on.as_deref())?;
            let view = dossier::GuardiansView::new(
                guardian_view,
                dossier::Akkoord::parse("--akkoord", &akkoord)?,
            );
            let inspection = dossier::record_inspection(&store, &actor, &id, seen_on, view).await?;
            let d = dossier::get(&store, &id).await?;
            let content = carenet_handover::inzage::ContentHash::of(&d.dossier).hex();
            println!(
                "{id} ready inspection:{inspection} v{} sha256:{content}",
                d.version
            );
        }
        HandoverCommand::Publish {
            target,
            actor,
            dossier: id,
            to,
            consent,
        } => {
            let directory = directory(&target, "publish")?;
            let to = to
                .iter()
                .map(|p| PartyId::parse("--to", p))
                .collect::<Result<Vec<_>, _>>()?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            for message in
                dossier::publish(&store, &directory, &actor, &id, &to, consent.as_deref()).await?
            {
                println!("queued {message}");
            }
        }
        HandoverCommand::Destination {
            target,
            actor,
            dossier: id,
            school,
        } => {
            let directory = directory(&target, "destination")?;
            let school = PartyId::parse("--school", &school)?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            destination::set(&store, &directory, &actor, &id, &school).await?;
            println!("destination {school}");
        }
        HandoverCommand::Requests(cmd) => requests(cmd).await?,
        HandoverCommand::Season {
            target,
            actor,
            direction,
            status,
            csv,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let kind = party_kind(&target, &store)?;
            let rows = season::season(
                &store,
                kind,
                &actor,
                season::school_year_start_ms(),
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
        }
        HandoverCommand::Received { target, actor, csv } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let kind = party_kind(&target, &store)?;
            let rows = incoming::received_documents(&store, kind, &actor).await?;
            if csv {
                println!("bericht,type,afzender,ontvangen_ms,status");
            }
            for r in &rows {
                if csv {
                    println!(
                        "{},{},{},{},{}",
                        r.message_id, r.document_type, r.sender, r.received_at_ms, r.status
                    );
                } else {
                    println!(
                        "{} {:<28} from:{:<16} at:{} {}",
                        r.message_id, r.document_type, r.sender, r.received_at_ms, r.status
                    );
                }
            }
        }
        HandoverCommand::Request {
            target,
            actor,
            from,
            pupil_number,
            birth_date,
        } => {
            let Some(config) = target.node_config()? else {
                bail!("request needs the node's data directory (or a region's with --party)");
            };
            let Some(directory) = target.cached_directory()? else {
                bail!("the node has no region directory yet: start it once first");
            };
            let tls = carenet_fabric::tls::NodeTls::new(
                Credentials::load(&config.credentials_dir())?,
                &directory.snapshot().crls,
            )?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let from = PartyId::parse("--from", &from)?;
            let reply = carenet_handover::request::ask(
                &store,
                &actor,
                &tls,
                &directory,
                &from,
                &pupil_number,
                &birth_date,
            )
            .await?;
            let outcome = carenet_proto::v1::DossierRequestOutcome::try_from(reply.outcome)
                .map(|o| {
                    o.as_str_name()
                        .trim_start_matches("DOSSIER_REQUEST_OUTCOME_")
                        .to_ascii_lowercase()
                })
                .unwrap_or_else(|_| "unknown".into());
            println!("{outcome}");
            for id in reply.message_ids {
                println!("queued {id}");
            }
        }
        HandoverCommand::Assign {
            target,
            actor,
            message,
            mentor,
            teachers,
            child,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let kind = party_kind(&target, &store)?;
            if let Some(child) = &child {
                incoming::register_pupil(&store, kind, &actor, &message, child).await?;
            }
            incoming::assign(&store, kind, &actor, &message, &mentor, &teachers).await?;
            println!("assigned");
        }
        HandoverCommand::Internal {
            target,
            actor,
            dossier: id,
            mentor,
            teachers,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let kind = party_kind(&target, &store)?;
            let item = dossier::hand_over_internally(&store, kind, &actor, &id, &mentor, &teachers)
                .await?;
            println!("{item}");
        }
        HandoverCommand::Digest {
            target,
            actor,
            message,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            print!(
                "{}",
                incoming::open_digest(&store, &actor, &message)
                    .await?
                    .to_text()
            );
        }
        HandoverCommand::Izo {
            target,
            actor,
            message,
            question,
            guardians_informed,
            not_informed_reason,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let id = incoming::register_for_izo(
                &store,
                &actor,
                &message,
                &question,
                guardians_informed,
                not_informed_reason.as_deref(),
            )
            .await?;
            println!("{id}");
        }
        HandoverCommand::Feedback(FeedbackCommand::Send {
            target,
            actor,
            message,
            text,
            consent,
            child,
        }) => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let id =
                incoming::send_feedback(&store, &actor, &message, &text, &consent, &child).await?;
            println!("queued {id}");
        }
        HandoverCommand::Feedback(FeedbackCommand::List { target, actor }) => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            for f in incoming::feedback_received(&store, &actor).await? {
                println!(
                    "{} dossier:{} v{} from:{} on:{} by:{}\n  {}",
                    f.message_id,
                    f.document_id,
                    f.version,
                    f.from_party,
                    f.written_on,
                    f.staff_ref,
                    f.text.replace('\n', "\n  ")
                );
            }
        }
        HandoverCommand::Warm(WarmCommand::Plan {
            target,
            actor,
            dossier: id,
            route,
            participants,
            on,
        }) => {
            let route = route.map(|r| Route::parse("--route", &r)).transpose()?;
            let participants = participants
                .iter()
                .map(|p| participant(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let on = date_or_today("--on", on.as_deref())?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let warm_id = warm::plan(&store, &actor, &id, route, participants, on).await?;
            let (record, state) = warm::get(&store, &warm_id).await?;
            println!("{warm_id} {state}");
            for (i, item) in record.agenda.iter().enumerate() {
                println!("  {}. {}", i + 1, item.topic);
            }
        }
        HandoverCommand::Warm(WarmCommand::Record {
            target,
            actor,
            id,
            minutes,
            notes,
            agreements,
            aftercare,
            held_on,
        }) => {
            let notes = notes
                .iter()
                .map(|n| {
                    let (i, text) = n
                        .split_once(':')
                        .context("--note: N:TEXT, N the agenda item from 1")?;
                    let i: usize = i
                        .trim()
                        .parse()
                        .ok()
                        .filter(|i| *i >= 1)
                        .context("--note: N:TEXT, N the agenda item from 1")?;
                    Ok((i - 1, text.to_owned()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let held_on = held_on
                .map(|d| dossier::parse_date("--held-on", &d))
                .transpose()?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            warm::hold(
                &store,
                &actor,
                &id,
                warm::Held {
                    held_on,
                    minutes,
                    notes,
                    agreements,
                    aftercare,
                },
            )
            .await?;
            println!("{id} held");
        }
        HandoverCommand::Warm(WarmCommand::Share {
            target,
            actor,
            id,
            consent,
            child,
        }) => {
            let directory = directory(&target, "sharing the warm handover")?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let shared =
                warm::share(&store, &directory, &actor, &id, &consent, child.as_deref()).await?;
            for message in shared {
                println!("queued {message}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn requests(cmd: RequestsCommand) -> anyhow::Result<()> {
    match cmd {
        RequestsCommand::List { target, actor } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            for w in destination::waiting(&store, &actor).await? {
                println!(
                    "{} dossier:{} pupil:{:?} from:{} at:{} destination:{}",
                    w.id,
                    w.dossier_id,
                    w.pupil,
                    w.requester,
                    w.requested_at_ms,
                    w.destination.as_deref().unwrap_or("-")
                );
            }
        }
        RequestsCommand::Confirm {
            target,
            actor,
            id,
            consent,
        } => {
            let directory = directory(&target, "requests confirm")?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            match destination::confirm(&store, &directory, &actor, &id, consent.as_deref()).await? {
                destination::Confirmed::Released(ids) => {
                    for message in ids {
                        println!("queued {message}");
                    }
                }
                destination::Confirmed::Recorded => {
                    println!("confirmed; the dossier goes when it is published");
                }
            }
        }
        RequestsCommand::Decline { target, actor, id } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            destination::decline(&store, &actor, &id).await?;
            println!("declined");
        }
    }
    Ok(())
}
