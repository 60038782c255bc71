//! `carenet support list|show|create|submit`: a node's support requests
//! as a member of staff works them (the support slice checks the role and
//! audits every step and reading): at a school its own requests, drafted
//! and submitted here; at an SWV the ones it received. Text or JSON
//! (`--json`).

use std::process::ExitCode;

use carenet_support::clock::WallClock;
use carenet_support::model::{
    ArrangementLevel, Category, Detail, HistorySource, Kind, Line, SchoolType,
};
use carenet_support::request::{self, HistoryItem, NewRequest, Request};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum SupportCommand {
    /// The requests: a school's own, or the ones an SWV received.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        json: bool,
    },
    /// One request with its history, MDO, advices, decision and objection.
    Show {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        request: String,
        #[arg(long)]
        json: bool,
    },
    /// Drafts a request at the school (prints its id and state).
    Create(Box<CreateArgs>),
    /// Submits a draft to the SWV (prints its id and state).
    Submit {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        request: String,
    },
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    actor: ActorArgs,
    #[command(flatten)]
    form: Form,
}

/// A request's form as flags.
#[derive(clap::Args, Debug)]
pub struct Form {
    /// The SWV it goes to (its party id).
    #[arg(long)]
    swv: String,
    /// The pupil's reference at the school.
    #[arg(long)]
    child: String,
    #[arg(long)]
    child_name: String,
    /// YYYY-MM-DD.
    #[arg(long)]
    child_birth_date: String,
    /// outreach_support, arrangement, rebound, admission_statement (a TLV),
    /// reindication, lwoo or pro.
    #[arg(long)]
    kind: String,
    /// An arrangement's level: light, medium or heavy.
    #[arg(long)]
    level: Option<String>,
    #[arg(long, default_value = "")]
    support_asked: String,
    /// An arrangement's cost in euro cents.
    #[arg(long)]
    cost_cents: Option<i64>,
    /// A TLV's school type: sbo, so or vso.
    #[arg(long)]
    school_type: Option<String>,
    /// A TLV's category: low, medium or high.
    #[arg(long)]
    category: Option<String>,
    /// A re-indication: the TLV decision it renews.
    #[arg(long, default_value = "")]
    previous_decision: String,
    #[arg(long, default_value = "")]
    question: String,
    /// The OPP or groeidocument's text.
    #[arg(long, default_value = "")]
    opp: String,
    /// A reference to the attached OPP.
    #[arg(long, default_value = "")]
    opp_ref: String,
    /// The guardians' view (zienswijze).
    #[arg(long, default_value = "")]
    guardian_view: String,
    /// The pupil's voice (hoorrecht) …
    #[arg(long, default_value = "")]
    pupil_voice: String,
    /// … or the reason it was not recorded.
    #[arg(long, default_value = "")]
    voice_reason: String,
    /// The consent record for support_request.
    #[arg(long, default_value = "")]
    consent: String,
    /// YYYY-MM-DD of the guardians' written application.
    #[arg(long, default_value = "")]
    applied_on: String,
    /// What the class did (first line), in the school's words; repeatable.
    #[arg(long)]
    history_first: Vec<String>,
    /// What the internal care did (second line), in the school's words; repeatable.
    #[arg(long)]
    history_second: Vec<String>,
}

impl Form {
    fn request(self) -> anyhow::Result<NewRequest> {
        let item = |line: Line| {
            move |text: String| HistoryItem {
                source: HistorySource::School,
                line,
                source_ref: String::new(),
                snapshot: text,
                added_by: String::new(),
            }
        };
        let history = self
            .history_first
            .into_iter()
            .map(item(Line::First))
            .chain(self.history_second.into_iter().map(item(Line::Second)))
            .collect();
        Ok(NewRequest {
            swv: self.swv,
            child_ref: self.child,
            child_name: self.child_name,
            child_birth_date: self.child_birth_date,
            kind: Some(Kind::choose("--kind", &self.kind)?),
            detail: Detail {
                level: self
                    .level
                    .map(|v| ArrangementLevel::choose("--level", &v))
                    .transpose()?,
                support_asked: self.support_asked,
                cost_cents: self.cost_cents,
                school_type: self
                    .school_type
                    .map(|v| SchoolType::choose("--school-type", &v))
                    .transpose()?,
                category: self
                    .category
                    .map(|v| Category::choose("--category", &v))
                    .transpose()?,
                previous_decision: self.previous_decision,
            },
            question: self.question,
            opp_text: self.opp,
            opp_ref: self.opp_ref,
            guardian_view: self.guardian_view,
            pupil_voice: self.pupil_voice,
            voice_reason: self.voice_reason,
            consent_record: self.consent,
            applied_on: self.applied_on,
            history,
        })
    }
}

fn shown(r: &Request) -> Value {
    json!({
        "id": r.id, "school": r.school, "swv": r.swv, "state": r.state.as_str(),
        "version": r.version, "kind": r.kind.as_str(),
        "child_ref": r.child_ref, "child_name": r.child_name, "child_birth_date": r.child_birth_date,
        "detail": {
            "level": r.detail.level.map(|l| l.as_str()), "support_asked": r.detail.support_asked,
            "cost_cents": r.detail.cost_cents, "school_type": r.detail.school_type.map(|t| t.as_str()),
            "category": r.detail.category.map(|c| c.as_str()),
            "previous_decision": r.detail.previous_decision,
        },
        "question": r.question, "opp_text": r.opp_text, "opp_ref": r.opp_ref,
        "guardian_view": r.guardian_view, "pupil_voice": r.pupil_voice, "voice_reason": r.voice_reason,
        "consent_record": r.consent_record, "applied_on": r.applied_on, "submitted_on": r.submitted_on,
        "trajectory_guide": r.trajectory_guide, "completeness_question": r.completeness_question,
        "completeness_answer": r.completeness_answer,
        "history": r.history.iter().map(|h| json!({
            "source": h.source.as_str(), "line": h.line.as_str(), "source_ref": h.source_ref,
            "snapshot": h.snapshot, "added_by": h.added_by,
        })).collect::<Vec<_>>(),
        "mdo": r.mdo.as_ref().map(|m| json!({
            "planned_on": m.planned_on, "held_on": m.held_on, "outcome": m.outcome,
            "participants": m.participants.iter().map(|p| json!({
                "role": p.role.as_str(), "name": p.name, "party": p.party,
            })).collect::<Vec<_>>(),
        })),
        "advices": r.advices.iter().map(|a| json!({
            "advisor_name": a.advisor_name, "qualification": a.qualification.as_str(),
            "employer_party": a.employer_party, "employer_name": a.employer_name,
            "document_ref": a.document_ref, "written_on": a.written_on,
        })).collect::<Vec<_>>(),
        "decision": r.decision.as_ref().map(|d| json!({
            "id": d.id, "outcome": d.decision.outcome.as_str(), "reasons": d.decision.reasons,
            "starts_on": d.decision.starts_on, "ends_on": d.decision.ends_on,
            "school_type": d.decision.school_type.map(|t| t.as_str()),
            "category": d.decision.category.map(|c| c.as_str()),
            "decided_on": d.decided_on, "decided_by": d.decided_by,
        })),
        "objection": r.objection.as_ref().map(|o| json!({
            "lodged_on": o.lodged_on, "grounds": o.grounds, "defence_sent_on": o.defence_sent_on,
            "committee_advised_on": o.committee_advised_on,
            "outcome": o.outcome.map(|x| x.as_str()), "decided_on": o.decided_on,
        })),
    })
}

pub async fn run(command: SupportCommand) -> anyhow::Result<ExitCode> {
    match command {
        SupportCommand::List {
            target,
            actor,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let listed = request::list(&store, &actor).await?;
            if json {
                let rows: Vec<Value> = listed
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id, "school": l.school, "child_ref": l.child_ref,
                            "kind": l.kind.as_str(), "state": l.state.as_str(), "version": l.version,
                            "trajectory_guide": l.trajectory_guide, "submitted_on": l.submitted_on,
                            "updated_at_ms": l.updated_at_ms,
                        })
                    })
                    .collect();
                println!("{}", Value::Array(rows));
            } else {
                for l in listed {
                    println!(
                        "{} {:<8} {:<16} {:<20} {}",
                        l.id,
                        l.school,
                        l.child_ref,
                        l.kind.as_str(),
                        l.state.as_str()
                    );
                }
            }
        }
        SupportCommand::Show {
            target,
            actor,
            request: id,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let r = request::show(&store, &actor, &id).await?;
            if json {
                println!("{}", shown(&r));
            } else {
                println!("{} {} {}", r.id, r.kind.as_str(), r.state.as_str());
                println!("pupil: {} (born {})", r.child_ref, r.child_birth_date);
                println!("from {} to {}", r.school, r.swv);
                println!("question: {}", r.question);
                for h in &r.history {
                    println!("history ({} line, {}): {}", h.line, h.source, h.snapshot);
                }
                println!("guardians' view: {}", r.guardian_view);
                if r.pupil_voice.is_empty() {
                    println!("pupil not heard: {}", r.voice_reason);
                } else {
                    println!("pupil's voice: {}", r.pupil_voice);
                }
                if !r.trajectory_guide.is_empty() {
                    println!("trajectbegeleider: {}", r.trajectory_guide);
                }
                if let Some(d) = &r.decision {
                    println!(
                        "decision {} on {}: {} ({} to {})",
                        d.id,
                        d.decided_on,
                        d.decision.outcome,
                        d.decision.starts_on,
                        d.decision.ends_on
                    );
                    println!("reasons: {}", d.decision.reasons);
                }
            }
        }
        SupportCommand::Create(args) => {
            let CreateArgs {
                target,
                actor,
                form,
            } = *args;
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let id = request::create(&store, &actor, form.request()?).await?;
            println!("{id} draft");
        }
        SupportCommand::Submit {
            target,
            actor,
            request: id,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let seen = request::load(&store, &id).await?.version;
            let r = request::submit(&store, &actor, &WallClock, &id, seen).await?;
            println!("{} {}", r.id, r.state.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}
