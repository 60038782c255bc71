//! `carenet zat list|show`, `carenet zat received` and `carenet case
//! list|show`: the ZAT cases a school hosts, the case files a ZAT member
//! received before the meeting (until the meeting's plan replaces them),
//! and the case plans a party holds or is a member of, as a
//! member of staff reads them (the slices check the role and audit every
//! reading), as text or JSON (`--json`).

use std::process::ExitCode;

use carenet_caseplan::model::MemberView;
use carenet_caseplan::{member, plan};
use carenet_proto::v1;
use carenet_referral::zat;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::target::{ActorArgs, TargetArgs};

#[derive(Subcommand)]
pub enum ZatCommand {
    /// The ZAT cases this school hosts (for the chair).
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        json: bool,
    },
    /// One case: the referral, to whom its file went, the meetings.
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
    /// The case files this party received as a ZAT member (for its
    /// members: zat_member, case_coordinator, swv_staff, trajectory_guide);
    /// with `--id`, one of them. Each reading is audited.
    Received {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        /// The message id of one case file.
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum CaseCommand {
    /// The plans this party holds and those it is a member of (as far as
    /// the actor's roles reach).
    List {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        json: bool,
    },
    /// One plan: the holder's whole plan, or with `--holder` this member's
    /// view of a plan held elsewhere.
    Show {
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        actor: ActorArgs,
        #[arg(long)]
        id: String,
        /// The party that holds the plan, when this party is a member.
        #[arg(long)]
        holder: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_zat(command: ZatCommand) -> anyhow::Result<ExitCode> {
    match command {
        ZatCommand::List {
            target,
            actor,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let listed = zat::list(&store, &actor).await?;
            if json {
                let rows: Vec<Value> = listed
                    .iter()
                    .map(|l| {
                        json!({
                            "id": l.id, "child_ref": l.child_ref, "child_name": l.child_name,
                            "state": l.state.as_str(), "meeting_on": l.meeting_on,
                            "plan_id": l.plan_id, "updated_at_ms": l.updated_at_ms,
                        })
                    })
                    .collect();
                println!("{}", Value::Array(rows));
            } else {
                for l in listed {
                    println!(
                        "{} {:<24} {:<12} meeting {}{}",
                        l.id,
                        l.child_name,
                        l.state.as_str(),
                        l.meeting_on,
                        l.plan_id.map(|p| format!(", plan {p}")).unwrap_or_default()
                    );
                }
            }
        }
        ZatCommand::Show {
            target,
            actor,
            id,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let case = zat::show(&store, &actor, &id).await?;
            let r = &case.referral;
            if json {
                let value = json!({
                    "id": r.id, "state": case.state.as_str(), "child_ref": r.child_ref,
                    "child_name": r.child_name, "child_birth_date": r.child_birth_date,
                    "origin": r.origin, "izo_id": r.izo_id, "question": r.question,
                    "background": r.background, "consent_record": r.consent_record,
                    "meeting_on": r.meeting_on, "referred_by": r.referred_by, "referred_on": r.referred_on,
                    "members": case.members.iter().map(|(p, m, at)| json!({"party": p, "message_id": m, "sent_at_ms": at})).collect::<Vec<_>>(),
                    "meetings": case.meetings.iter().map(meeting).collect::<Vec<_>>(),
                    "plan_id": case.plan_id,
                });
                println!("{value}");
            } else {
                println!("{} {}", r.id, case.state.as_str());
                println!(
                    "pupil: {} ({}, born {})",
                    r.child_name, r.child_ref, r.child_birth_date
                );
                println!(
                    "referred: {} by {} from {}, consent {}",
                    r.referred_on, r.referred_by, r.origin, r.consent_record
                );
                println!("question: {}", r.question);
                println!("meeting: {}", r.meeting_on);
                for (party, _, _) in &case.members {
                    println!("case file sent to: {party}");
                }
                for m in &case.meetings {
                    println!(
                        "meeting {}: {}",
                        m.held_on,
                        first_line(&m.decisions, &m.review)
                    );
                }
                if let Some(p) = case.plan_id {
                    println!("plan: {p}");
                }
            }
        }
        ZatCommand::Received {
            target,
            actor,
            id,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let files = match id {
                Some(id) => vec![zat::received_one(&store, &actor, &id).await?],
                None => zat::received(&store, &actor).await?,
            };
            if json {
                let rows: Vec<Value> = files.iter().map(received_json).collect();
                println!("{}", Value::Array(rows));
            } else {
                for r in &files {
                    print_received_text(r);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn received_json(r: &zat::Received) -> Value {
    json!({
        "id": r.message_id, "school": r.school, "case_id": r.case_id,
        "received_at_ms": r.received_at_ms, "plan_id": r.plan_id,
        "case_file": r.file.as_ref().map(|f| json!({
            "child_name": f.child_name, "child_birth_date": f.child_birth_date,
            "question": f.question, "background": f.background, "meeting_on": f.meeting_on,
        })),
    })
}

fn print_received_text(r: &zat::Received) {
    println!("{} from {} (case {})", r.message_id, r.school, r.case_id);
    match &r.file {
        Some(f) => {
            println!("  pupil: {} (born {})", f.child_name, f.child_birth_date);
            println!("  meeting: {}", f.meeting_on);
            println!("  question: {}", f.question);
            if !f.background.is_empty() {
                println!("  done so far: {}", f.background);
            }
        }
        None => println!("  replaced by the meeting's plan"),
    }
    if let Some(p) = &r.plan_id {
        println!(
            "  plan: {p} (carenet case show --holder {} --id {p})",
            r.school
        );
    }
}

fn first_line<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() { b } else { a }
}

fn meeting(m: &v1::ZatMeeting) -> Value {
    json!({
        "id": m.id, "held_on": m.held_on, "present": m.present, "analysis": m.analysis,
        "needs": m.needs, "directions": m.directions, "decisions": m.decisions,
        "review": m.review, "close_case": m.close_case, "recorded_by": m.recorded_by,
    })
}

fn task(t: &v1::CaseTask) -> Value {
    json!({
        "id": t.id, "owner": t.owner, "what": t.what, "goal": t.goal, "due_on": t.due_on,
        "state": t.state, "version": t.version, "category": t.category, "reason": t.reason,
    })
}

fn goal(g: &v1::CaseGoal) -> Value {
    json!({"id": g.id, "text": g.text, "measure": g.measure, "target_on": g.target_on, "category": g.category})
}

fn member_json(m: &v1::CaseMember) -> Value {
    json!({
        "party": m.party, "role": m.role, "person": m.person, "valid_from": m.valid_from,
        "valid_until": m.valid_until, "consent_record": m.consent_record,
        "ended_on": m.ended_on, "end_reason": m.end_reason,
    })
}

fn event(e: &v1::CaseEvent) -> Value {
    json!({"at_ms": e.at_ms, "party": e.party, "kind": e.kind, "task_id": e.task_id, "text": e.text})
}

fn header(h: &v1::CasePlanHeader) -> Value {
    json!({
        "holder": h.holder, "coordinator": h.coordinator, "reports_back": h.reports_back,
        "evaluation_on": h.evaluation_on, "status": h.status, "origin": h.origin,
        "members": h.members.iter().map(member_json).collect::<Vec<_>>(),
    })
}

fn print_plan_text(
    id: &str,
    pupil: Option<&v1::CasePupil>,
    h: Option<&v1::CasePlanHeader>,
    goals: &[v1::CaseGoal],
    tasks: &[v1::CaseTask],
    events: &[v1::CaseEvent],
) {
    match h {
        Some(h) => println!(
            "{id} {} (holder {}, coordinator {})",
            h.status, h.holder, h.coordinator
        ),
        None => println!("{id}"),
    }
    if let Some(p) = pupil {
        println!("pupil: {} (born {})", p.name, p.birth_date);
    }
    if let Some(h) = h {
        println!(
            "evaluation: {}; reports back: {}",
            h.evaluation_on, h.reports_back
        );
        for m in &h.members {
            let ended = if m.ended_on.is_empty() {
                String::new()
            } else {
                format!(" (ended {}: {})", m.ended_on, m.end_reason)
            };
            println!("member: {} {} {}{ended}", m.party, m.role, m.person);
        }
    }
    for g in goals {
        println!(
            "goal: {} (measure: {}; by {})",
            g.text, g.measure, g.target_on
        );
    }
    for t in tasks {
        println!(
            "task {} {:<11} {} — {} (due {})",
            t.id, t.state, t.owner, t.what, t.due_on
        );
    }
    for e in events {
        println!("  {} {} {}", e.party, e.kind, e.text);
    }
}

fn view_json(v: &MemberView) -> Value {
    json!({
        "holder": v.holder, "plan_id": v.plan_id, "version": v.version,
        "categories": v.categories,
        "pupil": v.pupil.as_ref().map(|p| json!({"name": p.name, "birth_date": p.birth_date})),
        "header": v.header.as_ref().map(header),
        "goals": v.goals.iter().map(goal).collect::<Vec<_>>(),
        "tasks": v.tasks.iter().map(task).collect::<Vec<_>>(),
        "notes": v.notes.iter().map(|n| json!({"kind": n.kind, "text": n.text})).collect::<Vec<_>>(),
        "events": v.events.iter().map(event).collect::<Vec<_>>(),
    })
}

pub async fn run_case(command: CaseCommand) -> anyhow::Result<ExitCode> {
    match command {
        CaseCommand::List {
            target,
            actor,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            let member::Overview {
                held, member_of, ..
            } = member::overview(&store, &actor).await?;
            if json {
                let value = json!({
                    "held": held.iter().map(|l| json!({
                        "id": l.id, "child_ref": l.child_ref, "child_name": l.child_name,
                        "status": l.status, "version": l.version, "open_tasks": l.open_tasks,
                        "members": l.members, "evaluation_on": l.evaluation_on,
                        "updated_at_ms": l.updated_at_ms,
                    })).collect::<Vec<_>>(),
                    "member_of": member_of.iter().map(|l| json!({
                        "holder": l.holder, "plan_id": l.plan_id, "version": l.version,
                        "pupil_name": l.pupil_name, "received_at_ms": l.received_at_ms,
                    })).collect::<Vec<_>>(),
                });
                println!("{value}");
            } else {
                for l in held {
                    println!(
                        "{} {:<24} {:<6} {} open task(s), {} member(s), evaluation {}",
                        l.id, l.child_name, l.status, l.open_tasks, l.members, l.evaluation_on
                    );
                }
                for l in member_of {
                    println!(
                        "{} {:<24} held by {} (version {})",
                        l.plan_id,
                        l.pupil_name.as_deref().unwrap_or("-"),
                        l.holder,
                        l.version
                    );
                }
            }
        }
        CaseCommand::Show {
            target,
            actor,
            id,
            holder,
            json,
        } => {
            let store = target.open().await?;
            let actor = actor.actor(&store)?;
            match holder {
                Some(holder) => {
                    let v = member::show(&store, &actor, &holder, &id).await?;
                    if json {
                        println!("{}", view_json(&v));
                    } else {
                        print_plan_text(
                            &id,
                            v.pupil.as_ref(),
                            v.header.as_ref(),
                            &v.goals,
                            &v.tasks,
                            &v.events,
                        );
                    }
                }
                None => {
                    let p = plan::show(&store, &actor, &id).await?;
                    if json {
                        let value = json!({
                            "id": p.id, "child_ref": p.child_ref, "version": p.version,
                            "pupil": {"name": p.pupil.name, "birth_date": p.pupil.birth_date},
                            "header": header(&p.header),
                            "goals": p.goals.iter().map(goal).collect::<Vec<_>>(),
                            "tasks": p.tasks.iter().map(task).collect::<Vec<_>>(),
                            "evaluations": p.evaluations.iter().map(|e| json!({
                                "id": e.id, "held_on": e.held_on, "text": e.text, "outcome": e.outcome, "by": e.by,
                            })).collect::<Vec<_>>(),
                            "notes": p.notes.iter().map(|n| json!({"kind": n.kind, "text": n.text, "category": n.category})).collect::<Vec<_>>(),
                            "events": p.events.iter().map(event).collect::<Vec<_>>(),
                        });
                        println!("{value}");
                    } else {
                        print_plan_text(
                            &p.id,
                            Some(&p.pupil),
                            Some(&p.header),
                            &p.goals,
                            &p.tasks,
                            &p.events,
                        );
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
