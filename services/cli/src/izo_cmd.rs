//! `carenet izo list|show`: the IZO registrations of a school's node and
//! their triage, as a member of staff reads them (the referral slice checks
//! the role and audits the reading), as text or JSON (`--json`).

use std::process::ExitCode;

use carenet_proto::v1::{self, IzoSupportKind, IzoTriageDecision};
use carenet_referral::izo;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum IzoCommand {
    /// The registrations: all of them for a coordinator, one's own for anyone
    /// else who may register.
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        json: bool,
    },
    /// One registration with every field of the form and its triage.
    Show {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn support(kinds: &[i32]) -> Vec<String> {
    kinds
        .iter()
        .map(|k| {
            IzoSupportKind::try_from(*k)
                .unwrap_or(IzoSupportKind::Unspecified)
                .as_str_name()
                .trim_start_matches("IZO_SUPPORT_KIND_")
                .to_ascii_lowercase()
        })
        .collect()
}

fn registration(r: &v1::IzoRegistration) -> Value {
    let school = r.school.clone().unwrap_or_default();
    json!({
        "id": r.id, "child_ref": r.child_ref, "child_birth_date": r.child_birth_date,
        "registered_by": r.registered_by, "registered_on": r.registered_on, "mentor": r.mentor,
        "guardians_informed": r.guardians_informed, "not_informed_reason": r.not_informed_reason,
        "problem": r.problem, "onset": r.onset, "hindering_factors": r.hindering_factors,
        "functioning_at_home": r.functioning_at_home, "what_goes_well": r.what_goes_well,
        "pupil_question": r.pupil_question, "guardians_question": r.guardians_question,
        "support_question": r.support_question, "support_requested": support(&r.support_requested),
        "support_other": r.support_other, "done_so_far": r.done_so_far,
        "previous_help": r.previous_help, "earlier_izo_zat": r.earlier_izo_zat,
        "research": r.research, "diagnosis": r.diagnosis,
        "school": {
            "grades": school.grades, "opp_exit": school.opp_exit,
            "social_emotional": school.social_emotional, "interaction": school.interaction,
            "work_attitude": school.work_attitude, "homework": school.homework,
            "motivation": school.motivation, "wellbeing": school.wellbeing, "absence": school.absence,
        },
        "school_career": r.school_career, "home_situation": r.home_situation, "talents": r.talents,
    })
}

fn decision(t: &v1::IzoTriage) -> String {
    IzoTriageDecision::try_from(t.decision)
        .unwrap_or(IzoTriageDecision::Unspecified)
        .as_str_name()
        .trim_start_matches("IZO_TRIAGE_DECISION_")
        .to_ascii_lowercase()
}

fn triage(t: &v1::IzoTriage) -> Value {
    json!({
        "decision": decision(t), "belongs_in_tier2": t.belongs_in_tier2,
        "questions_clear": t.questions_clear, "tier1_exhausted": t.tier1_exhausted,
        "guardians_and_pupil_informed": t.guardians_and_pupil_informed,
        "note": t.note, "decided_by": t.decided_by, "decided_on": t.decided_on,
    })
}

pub async fn run(command: IzoCommand) -> anyhow::Result<ExitCode> {
    match command {
        IzoCommand::List {
            target,
            actor,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let listed = izo::list(&store, &actor).await?;
            if json {
                let rows: Vec<Value> = listed
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id, "child_ref": l.child_ref, "state": l.state.as_str(),
                            "registered_by": l.registered_by, "updated_at_ms": l.updated_at_ms,
                        })
                    })
                    .collect();
                println!("{}", Value::Array(rows));
            } else {
                for l in listed {
                    println!(
                        "{} {:<16} {:<14} by {}",
                        l.id,
                        l.child_ref,
                        l.state.as_str(),
                        l.registered_by
                    );
                }
            }
        }
        IzoCommand::Show {
            target,
            actor,
            id,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let case = izo::show(&store, &actor, &id).await?;
            if json {
                let value = json!({
                    "state": case.state.as_str(),
                    "registration": registration(&case.registration),
                    "triage": case.triage.as_ref().map(triage),
                });
                println!("{value}");
            } else {
                let r = &case.registration;
                println!("{} {}", r.id, case.state.as_str());
                println!("pupil: {} (born {})", r.child_ref, r.child_birth_date);
                println!(
                    "registered: {} by {}, mentor {}",
                    r.registered_on, r.registered_by, r.mentor
                );
                if r.guardians_informed {
                    println!("guardians informed: yes");
                } else {
                    println!("guardians informed: no ({})", r.not_informed_reason);
                }
                println!("problem: {}", r.problem);
                println!("pupil's question: {}", r.pupil_question);
                println!("guardians' question: {}", r.guardians_question);
                println!("school's question: {}", r.support_question);
                println!(
                    "support asked: {}",
                    support(&r.support_requested).join(", ")
                );
                if let Some(t) = &case.triage {
                    println!(
                        "triage: {} by {} on {}{}",
                        decision(t),
                        t.decided_by,
                        t.decided_on,
                        if t.note.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", t.note)
                        }
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
