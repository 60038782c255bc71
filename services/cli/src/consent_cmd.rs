//! `carenet consent`: staff and operators record consent on the holder's node.

use std::process::ExitCode;

use anyhow::{Context, bail};
use carenet_consent::age::Regime;
use carenet_consent::record::{
    ConsentRequest, ConsentStore, Decision, Stored, parse_date, status_name,
};
use carenet_consent::{Category, Purpose};
use carenet_fabric::{PartyId, PartyKind};
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, consent_recipient::Target};
use clap::{Args, Subcommand};

use crate::target::TargetArgs;

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Ask for consent (status: requested).
    Request {
        #[command(flatten)]
        target: TargetArgs,
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
        /// Staff id of who asks.
        #[arg(long)]
        recorded_by: String,
    },
    /// Record that consent was given.
    Grant(DecisionArgs),
    /// Record that consent was refused.
    Refuse(DecisionArgs),
    /// Record that consent was withdrawn; recipients are told.
    Withdraw(DecisionArgs),
    /// The current consents about one child.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        child: String,
    },
    /// Record a safety exception (meldcode): sharing without consent, with a
    /// written reason, reported to the care coordinator.
    SafetyException {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        child: String,
        #[arg(long)]
        reason: String,
        /// Staff id of who decides.
        #[arg(long)]
        staff: String,
        /// Staff id of the care coordinator.
        #[arg(long)]
        reported_to: String,
    },
    /// Record that the guardians saw a document (inzage), with their view.
    Inspection {
        #[command(flatten)]
        target: TargetArgs,
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
        #[arg(long)]
        recorded_by: String,
    },
    /// The safety exceptions reported to one care coordinator.
    SafetyReports {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        coordinator: String,
    },
    /// Who saw what about one child, when, and on what basis.
    Disclosures {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        child: String,
    },
    /// Every version of one record.
    Show {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long)]
        record: String,
    },
}

#[derive(Args)]
pub struct DecisionArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[arg(long)]
    record: String,
    /// guardian:NAME, legal_representative:NAME or pupil:NAME; repeat for more.
    #[arg(long = "grantor", required = true)]
    grantors: Vec<String>,
    /// portal_login, signed_form or recorded_conversation.
    #[arg(long)]
    evidence: String,
    /// SHA-256 (hex) of the signed form.
    #[arg(long)]
    document_sha256: Option<String>,
    /// Staff id of who records it.
    #[arg(long)]
    recorded_by: String,
    /// education (default) or youth_care: which age rules apply.
    #[arg(long, default_value = "education")]
    regime: String,
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
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
        let regime = match self.regime.as_str() {
            "education" => Regime::Education,
            "youth_care" => Regime::YouthCare,
            _ => bail!("--regime: education or youth_care"),
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
                recorded_by: self.recorded_by.clone(),
                document_sha256,
            },
            regime,
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
            recorded_by,
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
                recorded_by,
            };
            let store = target.open().await?;
            let stored = ConsentStore::new(store.clone()).request(&request).await?;
            store.db.close().await;
            print(&stored);
        }
        ConsentCommand::Grant(args) => decide(args, "grant").await?,
        ConsentCommand::Refuse(args) => decide(args, "refuse").await?,
        ConsentCommand::Withdraw(args) => decide(args, "withdraw").await?,
        ConsentCommand::List { target, child } => {
            let store = target.open().await?;
            for s in ConsentStore::new(store.clone()).for_child(&child).await? {
                print(&s);
            }
            store.db.close().await;
        }
        ConsentCommand::SafetyException {
            target,
            child,
            reason,
            staff,
            reported_to,
        } => {
            let store = target.open().await?;
            let id = carenet_consent::safety::record(
                &store,
                &carenet_consent::safety::SafetyException {
                    child_ref: child,
                    reason,
                    staff,
                    reported_to,
                },
            )
            .await;
            store.db.close().await;
            println!("{}", id?);
        }
        ConsentCommand::Inspection {
            target,
            child,
            document_id,
            seen_on,
            guardian_view,
            recorded_by,
        } => {
            let inspection = carenet_consent::inspection::Inspection {
                child_ref: child,
                document_id,
                seen_on: match seen_on {
                    Some(d) => parse_date("--seen-on", &d)?,
                    None => today(),
                },
                guardian_view,
                recorded_by,
            };
            let store = target.open().await?;
            let id = carenet_consent::inspection::record(&store, &inspection).await;
            store.db.close().await;
            println!("{}", id?);
        }
        ConsentCommand::SafetyReports {
            target,
            coordinator,
        } => {
            let store = target.open().await?;
            let reports = carenet_consent::safety::reported_to(&store, &coordinator).await;
            store.db.close().await;
            for r in reports? {
                println!(
                    "{} {} child={} staff={} reason={}",
                    r.recorded_at_ms, r.id, r.child_ref, r.staff, r.reason
                );
            }
        }
        ConsentCommand::Disclosures { target, child } => {
            let store = target.open().await?;
            let seen = carenet_consent::disclosure::who_saw_what(&store, &child).await?;
            store.db.close().await;
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
        ConsentCommand::Show { target, record } => {
            let store = target.open().await?;
            let history = ConsentStore::new(store.clone()).history(&record).await?;
            store.db.close().await;
            if history.is_empty() {
                bail!("consent record {record}: not found");
            }
            for s in &history {
                print(s);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn decide(args: DecisionArgs, change: &str) -> anyhow::Result<()> {
    let decision = args.decision()?;
    let store = args.target.open().await?;
    let consents = ConsentStore::new(store.clone());
    let result = match change {
        "grant" => consents.grant(&args.record, &decision).await,
        "refuse" => consents.refuse(&args.record, &decision).await,
        _ => {
            consents
                .withdraw(&args.record, decision.grantors, decision.evidence)
                .await
        }
    };
    store.db.close().await;
    print(&result?);
    Ok(())
}
