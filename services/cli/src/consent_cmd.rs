//! `carenet consent`: staff record consent on the holder's node. Every staff
//! command names who does it, `--by STAFF --role ROLE`; the consent crate
//! checks the role (`carenet_consent::roles`) and audits a refusal.

use std::process::ExitCode;

use anyhow::{Context, bail};
use carenet_consent::record::{
    ConsentRequest, ConsentStore, Decision, Stored, parse_date, status_name,
};
use carenet_consent::{Category, Purpose};
use carenet_fabric::{PartyId, PartyKind};
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, consent_recipient::Target};
use clap::{Args, Subcommand};

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Ask for consent (status: requested). Roles: mentor,
    /// support_coordinator_po, care_coordinator, case_coordinator,
    /// trajectory_guide, zat_member, swv_staff; all but the coordinators
    /// only for a pupil they have a relation with in carenet. The birth date
    /// must be the school's record of the pupil (a coordinator's first
    /// request records it).
    Request {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The school's own pupil reference (never a BSN).
        #[arg(long)]
        child: String,
        /// YYYY-MM-DD
        #[arg(long)]
        birth_date: String,
        /// transfer_dossier, discuss_in_izo, refer_to_zat, share_with_partner,
        /// support_request, case_membership, feedback_to_sender
        #[arg(long)]
        purpose: String,
        /// party:ID or kind:KIND; repeat for more.
        #[arg(long = "recipient", required = true)]
        recipients: Vec<String>,
        /// A data category; repeat for more.
        #[arg(long = "category", required = true)]
        categories: Vec<String>,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        valid_from: Option<String>,
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Record (or correct) the school's record of a pupil's birth date, which
    /// decides the age rules of every consent about them. Roles:
    /// support_coordinator_po, care_coordinator.
    Pupil {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
        /// YYYY-MM-DD
        #[arg(long)]
        birth_date: String,
    },
    /// Record that consent was given (--by is who records it; the grantors
    /// are who gave it). Roles: as for request.
    Grant(DecisionArgs),
    /// Record that consent was refused. Roles: as for request.
    Refuse(DecisionArgs),
    /// Record that consent was withdrawn; recipients are told. Roles: as for
    /// request.
    Withdraw(DecisionArgs),
    /// The current consents about one child. Roles: as for request.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
    },
    /// Record a safety exception (meldcode): sharing without consent, with a
    /// written reason, reported to the care coordinator. --by is the staff
    /// member who decides. Roles: support_coordinator_po, care_coordinator.
    SafetyException {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
        #[arg(long)]
        reason: String,
        /// Staff id of the care coordinator it is reported to.
        #[arg(long)]
        reported_to: String,
        /// The one party the data may go to.
        #[arg(long)]
        recipient: String,
        /// What it is shared for (e.g. share_with_partner, refer_to_zat).
        #[arg(long)]
        purpose: String,
        /// The last day it allows a release, YYYY-MM-DD (at most 30 days ahead).
        #[arg(long)]
        until: String,
    },
    /// Record that the guardians saw a document (inzage), with their view.
    /// Roles: support_coordinator_po, care_coordinator.
    Inspection {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
        #[arg(long)]
        document_id: String,
        /// YYYY-MM-DD; default today.
        #[arg(long)]
        seen_on: Option<String>,
        /// The guardians' view (zienswijze), if they gave one.
        #[arg(long)]
        guardian_view: Option<String>,
    },
    /// The safety exceptions reported to one care coordinator. Roles:
    /// care_coordinator or support_coordinator_po for their own list
    /// (--coordinator is their --by), team_lead for anyone's.
    SafetyReports {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// Staff id of the care coordinator; default the --by staff member.
        #[arg(long)]
        coordinator: Option<String>,
    },
    /// Who saw what about one child, when, and on what basis.
    Disclosures {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        child: String,
    },
    /// Every version of one record. Roles: as for request.
    Show {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        record: String,
    },
}

#[derive(Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Who records it (staff), not who decided (the grantors).
    #[command(flatten)]
    actor: ActorArgs,
    #[arg(long)]
    record: String,
    /// guardian:NAME, legal_representative:NAME or pupil:NAME; repeat for more.
    #[arg(long = "grantor", required = true)]
    grantors: Vec<String>,
    /// signed_form or recorded_conversation (a portal login is the parent
    /// portal's own evidence: staff cannot record it).
    #[arg(long)]
    evidence: String,
    /// SHA-256 (hex) of the signed form.
    #[arg(long)]
    document_sha256: Option<String>,
}

fn today() -> time::Date {
    carenet_fabric::clock::today()
}

fn recipient(i: usize, s: &str) -> anyhow::Result<v1::ConsentRecipient> {
    let field = format!("--recipient[{i}]");
    let target = match s.split_once(':') {
        Some(("party", id)) => Target::PartyId(PartyId::parse(&field, id)?.to_string()),
        Some(("kind", kind)) => Target::Kind(PartyKind::parse(&field, kind)?.to_proto() as i32),
        _ => bail!("{field}: party:ID or kind:KIND"),
    };
    Ok(v1::ConsentRecipient {
        target: Some(target),
    })
}

fn grantor(i: usize, s: &str) -> anyhow::Result<v1::Grantor> {
    let (role, name) = s
        .split_once(':')
        .with_context(|| format!("--grantor[{i}]: ROLE:NAME"))?;
    let role = match role {
        "guardian" => GrantorRole::Guardian,
        "legal_representative" => GrantorRole::LegalRepresentative,
        "pupil" => GrantorRole::Pupil,
        _ => bail!("--grantor[{i}]: role is guardian, legal_representative or pupil"),
    };
    Ok(v1::Grantor {
        role: role as i32,
        name: name.to_owned(),
    })
}

impl DecisionArgs {
    fn decision(&self) -> anyhow::Result<Decision> {
        let kind = match self.evidence.as_str() {
            "portal_login" => EvidenceKind::PortalLogin,
            "signed_form" => EvidenceKind::SignedForm,
            "recorded_conversation" => EvidenceKind::RecordedConversation,
            _ => bail!("--evidence: portal_login, signed_form or recorded_conversation"),
        };
        let document_sha256 = match &self.document_sha256 {
            Some(h) => hex::decode(h).context("--document-sha256: not hex")?,
            None => Vec::new(),
        };
        Ok(Decision {
            grantors: self
                .grantors
                .iter()
                .enumerate()
                .map(|(i, g)| grantor(i, g))
                .collect::<Result<_, _>>()?,
            evidence: v1::Evidence {
                kind: kind as i32,
                // The consent crate fills it in from the actor.
                recorded_by: String::new(),
                document_sha256,
            },
            today: today(),
        })
    }
}

fn print(s: &Stored) {
    let v = &s.version;
    let grantors: Vec<String> = v
        .grantors
        .iter()
        .map(|g| {
            let role = match GrantorRole::try_from(g.role) {
                Ok(GrantorRole::Guardian) => "guardian",
                Ok(GrantorRole::LegalRepresentative) => "legal_representative",
                Ok(GrantorRole::Pupil) => "pupil",
                _ => "unknown",
            };
            format!("{role}:{}", g.name)
        })
        .collect();
    println!(
        "{} v{} {} purpose={} categories={} valid={}..{} grantors=[{}] hash={}",
        v.record_id,
        v.version,
        status_name(s.status()),
        v.purpose,
        v.categories.join(","),
        v.valid_from,
        v.valid_until,
        grantors.join(", "),
        hex::encode(s.sha256)
    );
}

pub async fn run(command: ConsentCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConsentCommand::Request {
            target,
            child,
            birth_date,
            purpose,
            recipients,
            categories,
            valid_from,
            valid_until,
            actor,
        } => {
            let request = ConsentRequest {
                child_ref: child,
                child_birth_date: parse_date("--birth-date", &birth_date)?,
                purpose: Purpose::parse("--purpose", &purpose)?,
                recipients: recipients
                    .iter()
                    .enumerate()
                    .map(|(i, r)| recipient(i, r))
                    .collect::<Result<_, _>>()?,
                categories: categories
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Category::parse(&format!("--category[{i}]"), c))
                    .collect::<Result<_, _>>()?,
                valid_from: match valid_from {
                    Some(d) => parse_date("--valid-from", &d)?,
                    None => today(),
                },
                valid_until: valid_until
                    .map(|d| parse_date("--valid-until", &d))
                    .transpose()?,
            };
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let stored = ConsentStore::new(store.clone())
                .request(&actor, &request)
                .await;
            store.db.close().await;
            print(&stored?);
        }
        ConsentCommand::Pupil {
            target,
            actor,
            child,
            birth_date,
        } => {
            let birth = parse_date("--birth-date", &birth_date)?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let recorded = carenet_consent::pupil::record(&store, &actor, &child, birth).await;
            store.db.close().await;
            recorded?;
            println!("recorded: {child}");
        }
        ConsentCommand::Grant(args) => decide(args, "grant").await?,
        ConsentCommand::Refuse(args) => decide(args, "refuse").await?,
        ConsentCommand::Withdraw(args) => decide(args, "withdraw").await?,
        ConsentCommand::List {
            target,
            actor,
            child,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let listed = ConsentStore::new(store.clone()).list(&actor, &child).await;
            store.db.close().await;
            for s in listed? {
                print(&s);
            }
        }
        ConsentCommand::SafetyException {
            target,
            actor,
            child,
            reason,
            reported_to,
            recipient,
            purpose,
            until,
        } => {
            let purpose = Purpose::parse("--purpose", &purpose)?;
            let valid_until = carenet_consent::record::parse_date("--until", &until)?;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let id = carenet_consent::safety::record(
                &store,
                &actor,
                &carenet_consent::safety::SafetyException {
                    child_ref: child,
                    reason,
                    reported_to,
                    recipient,
                    purpose,
                    valid_until,
                },
            )
            .await;
            store.db.close().await;
            println!("{}", id?);
        }
        ConsentCommand::Inspection {
            target,
            actor,
            child,
            document_id,
            seen_on,
            guardian_view,
        } => {
            let inspection = carenet_consent::inspection::Inspection {
                child_ref: child,
                document_id,
                seen_on: match seen_on {
                    Some(d) => parse_date("--seen-on", &d)?,
                    None => today(),
                },
                guardian_view,
                // Filled in from the actor.
                recorded_by: String::new(),
                // A document held elsewhere: its content is not here to hash.
                seen: None,
            };
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let id = carenet_consent::inspection::record(&store, &actor, &inspection).await;
            store.db.close().await;
            println!("{}", id?);
        }
        ConsentCommand::SafetyReports {
            target,
            actor,
            coordinator,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let coordinator = coordinator.unwrap_or_else(|| actor.staff.clone());
            let reports = carenet_consent::safety::reported_to(&store, &actor, &coordinator).await;
            store.db.close().await;
            for r in reports? {
                println!(
                    "{} {} child={} staff={} reason={}",
                    r.recorded_at_ms, r.id, r.child_ref, r.staff, r.reason
                );
            }
        }
        ConsentCommand::Disclosures {
            target,
            actor,
            child,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let seen = carenet_consent::disclosure::who_saw_what(&store, &actor, &child).await;
            store.db.close().await;
            let seen = seen?;
            for d in seen {
                println!(
                    "{} {:<16} {} recipient={} actor={} purpose={} basis={} categories={}",
                    d.at_ms,
                    d.action,
                    d.subject_id,
                    d.recipient,
                    d.actor,
                    d.purpose,
                    d.basis,
                    d.categories.join(",")
                );
            }
        }
        ConsentCommand::Show {
            target,
            actor,
            record,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let history = ConsentStore::new(store.clone()).show(&actor, &record).await;
            store.db.close().await;
            for s in &history? {
                print(s);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(args: DecisionArgs, change: &str) -> anyhow::Result<()> {
    let decision = args.decision()?;
    let store = args.target.open().await?;
    let actor = args.actor.actor(&store)?;
    let consents = ConsentStore::new(store.clone());
    let result = match change {
        "grant" => consents.grant(&actor, &args.record, &decision).await,
        "refuse" => consents.refuse(&actor, &args.record, &decision).await,
        _ => {
            consents
                .withdraw(&actor, &args.record, decision.grantors, decision.evidence)
                .await
        }
    };
    store.db.close().await;
    print(&result?);
    Ok(())
}
