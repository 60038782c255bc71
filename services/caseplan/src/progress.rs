//! The holder applies the members' progress (`carenet.case_progress`), in
//! the order it arrived, each message once: a step on the member's own task,
//! checked against the task state machine, the member's active membership
//! (its consent and period today) and the consent it answers under. A step
//! that does not hold is refused on the timeline with its reason, so
//! neither of two concurrent updates is lost silently; the member sees the
//! outcome in its next view.
//!
//! Nothing is written into a plan before the sender is known to be an
//! active member of it under the consent the message names: a message
//! naming another plan (another child's, one that does not exist, or one
//! whose membership ended) is refused in the audit log of this node only,
//! and changes no plan, its version or its members' views. Each member may
//! send at most `progress_per_hour` messages in any hour (`[caseplan]`);
//! more are refused unread, one audit record per member and run.

use std::collections::BTreeMap;

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::store::Store;
use carenet_fabric::{Error, audited, with_db};
use carenet_proto::v1;
use prost::Message;

use crate::model::{NOTE_STEP, PROGRESS_TYPE, Plan, is_id};
use crate::plan::{self, bump, event};
use crate::task::{self, State, Step, Who};
use crate::{Result, members, view};

/// The outcome recorded for a message refused by the rate limit (not
/// counted against the limit itself).
const FLOODED: &str = "refused: more progress than the rate limit allows";

const HOUR_MS: i64 = 3_600_000;

/// Applies every progress message not applied yet, at most `per_hour` per
/// member in any hour; returns how many were applied (the refused ones are
/// recorded too). Members of a changed plan get new views.
pub async fn sync(store: &Store, per_hour: u32) -> Result<usize> {
    // Memberships are judged against the region directory (whom a consent
    // names); without it (an operator command on a node that never ran)
    // nothing is decided here: the node applies the progress.
    if store.directory().is_none() {
        return Ok(0);
    }
    let new = store
        .received_not_in(&[PROGRESS_TYPE], "case_progress_in")
        .await?;
    let mut applied = 0;
    let mut changed: Vec<String> = Vec::new();
    // Per sender: messages counted in the last hour, and those refused now.
    let mut used: BTreeMap<String, u32> = BTreeMap::new();
    let mut flooded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in new {
        if !used.contains_key(&item.sender) {
            let n = counted(store, &item.sender).await?;
            used.insert(item.sender.clone(), n);
        }
        let count = used.entry(item.sender.clone()).or_default();
        if *count >= per_hour {
            flooded
                .entry(item.sender.clone())
                .or_default()
                .push(item.message_id.clone());
            continue;
        }
        *count += 1;
        let payload = store.received(&item.message_id).await?.map(|d| d.payload);
        let progress = payload.as_deref().and_then(decode);
        let Some(progress) = progress else {
            refuse(
                store,
                &item.message_id,
                None,
                "",
                &item.sender,
                "unreadable or withdrawn",
            )
            .await?;
            continue;
        };
        // What another node sent reaches a query only in a form it can take.
        if !is_id(&progress.plan_id) || !is_id(&progress.task_id) {
            refuse(
                store,
                &item.message_id,
                None,
                "",
                &item.sender,
                "not a plan and task id",
            )
            .await?;
            continue;
        }
        let basis = item
            .header
            .legal_basis
            .as_ref()
            .map(|b| b.reference.clone())
            .unwrap_or_default();
        // The sender's own active membership first: nothing is written into
        // a plan the sender is not a member of.
        let plan = match member_plan(store, &progress.plan_id, &item.sender, &basis).await? {
            Ok(plan) => plan,
            Err(Refusal(why)) => {
                refuse(
                    store,
                    &item.message_id,
                    None,
                    &progress.task_id,
                    &item.sender,
                    &why,
                )
                .await?;
                continue;
            }
        };
        if progress.note.len() > 4000 || progress.note.contains('\0') || progress.step.len() > 32 {
            refuse(
                store,
                &item.message_id,
                Some(&plan),
                &progress.task_id,
                &item.sender,
                "the note or step is not text of at most 4000 characters",
            )
            .await?;
            if !changed.contains(&progress.plan_id) {
                changed.push(progress.plan_id.clone());
            }
            continue;
        }
        match apply(store, &item.message_id, &item.sender, &basis, &progress).await? {
            Ok(true) => {
                applied += 1;
                if !changed.contains(&progress.plan_id) {
                    changed.push(progress.plan_id.clone());
                }
            }
            Ok(false) => {}
            Err(Refusal(why)) => {
                // A member's refused step goes on its plan's timeline (it
                // sees the reason in its next view); it has a plan here only
                // while that plan is open and it is a member of it.
                let plan = member_plan(store, &progress.plan_id, &item.sender, &basis)
                    .await?
                    .ok();
                let on_plan = plan.is_some();
                refuse(
                    store,
                    &item.message_id,
                    plan.as_ref(),
                    &progress.task_id,
                    &item.sender,
                    &why,
                )
                .await?;
                if on_plan && !changed.contains(&progress.plan_id) {
                    changed.push(progress.plan_id.clone());
                }
            }
        }
    }
    for (sender, ids) in flooded {
        refuse_flood(store, &sender, &ids, per_hour).await?;
    }
    for plan_id in changed {
        match view::send(store, &plan_id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}

/// How many of `sender`'s progress messages were handled in the last hour
/// (applied or refused on their merits; those refused by the rate limit
/// do not count).
async fn counted(store: &Store, sender: &str) -> Result<u32> {
    let n: i64 = with_db!(&store.db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM case_progress_in WHERE sender = $1 AND at_ms >= $2 AND outcome <> $3",
        )
        .bind(sender)
        .bind(now_ms() - HOUR_MS)
        .bind(FLOODED)
        .fetch_one(pool)
        .await?
    });
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The open plan `plan_id` if `sender` is an active member of it under the
/// consent record `basis`; else why not (the same for a plan that does not
/// exist and one the sender is no member of).
async fn member_plan(
    store: &Store,
    plan_id: &str,
    sender: &str,
    basis: &str,
) -> Result<Result<Plan, Refusal>> {
    let no = || {
        Ok(Err(Refusal(
            "not an active member of the plan it names".into(),
        )))
    };
    let plan = match plan::load(store, plan_id).await {
        Ok(plan) => plan,
        Err(Error::NotFound(_)) => return no(),
        Err(e) => return Err(e),
    };
    let Some(member) = members::active(store, &plan, sender).await? else {
        return no();
    };
    if member.consent_record != basis {
        return Ok(Err(Refusal(
            "sent under another consent than the membership's".into(),
        )));
    }
    if plan.header.status != "open" {
        return Ok(Err(Refusal("the plan is closed".into())));
    }
    Ok(Ok(plan))
}

fn decode(payload: &[u8]) -> Option<v1::CaseProgress> {
    let doc = v1::CategorizedDocument::decode(payload).ok()?;
    let section = doc.sections.into_iter().next()?;
    v1::CaseProgress::decode(section.content.as_slice()).ok()
}

/// Why a member's progress is refused for good (names no personal data).
/// Anything else that goes wrong (the database, say) is an error: the
/// message stays unapplied and is tried again.
struct Refusal(String);

/// `Ok(Ok(applied))`, `Ok(Err(refusal))`, or an error to try again later.
async fn apply(
    store: &Store,
    message_id: &str,
    sender: &str,
    basis: &str,
    p: &v1::CaseProgress,
) -> Result<Result<bool, Refusal>> {
    let no = |why: &str| Ok(Err(Refusal(why.to_owned())));
    let plan = match plan::load(store, &p.plan_id).await {
        Ok(plan) => plan,
        Err(Error::NotFound(_)) => return no("no such plan"),
        Err(e) => return Err(e),
    };
    let Some(member) = members::active(store, &plan, sender).await? else {
        return no("not a member of the plan (or its membership ended)");
    };
    if member.consent_record != basis {
        return no("sent under another consent than the membership's");
    }
    if plan.header.status != "open" {
        return no("the plan is closed");
    }
    let Some(task) = plan.task(&p.task_id) else {
        return no("no such task");
    };
    if task.owner != sender {
        return no("the task is another party's");
    }
    if p.step == NOTE_STEP {
        if p.note.trim().is_empty() {
            return no("a note needs text");
        }
        return Ok(Ok(note(store, message_id, sender, basis, p, task).await?));
    }
    let step = match Step::parse("step", &p.step) {
        Ok(step) => step,
        Err(e) => return no(&e.to_string()),
    };
    let from = State::parse("state", &task.state)
        .map_err(|_| Error::Corrupt(format!("task {}", task.id)))?;
    let to = match task::next(from, step, Who::Owner) {
        Ok(to) => to,
        Err(e) => return no(&e.to_string()),
    };
    if step.needs_reason() && p.note.trim().is_empty() {
        return no("this step needs a reason");
    }
    let reason = if step.needs_reason() {
        p.note.as_str()
    } else {
        ""
    };
    // The member's staff id comes from another node: it reaches the audit
    // log only if it has a staff id's form (never free text).
    let actor = match carenet_fabric::actor::check_staff_id("staff_ref", &p.staff_ref) {
        Ok(()) => format!("{sender}:{}", p.staff_ref),
        Err(_) => sender.to_owned(),
    };
    let audit = Entry {
        actor,
        action: "case_progress_applied".into(),
        message_id: message_id.to_owned(),
        counterparty: sender.to_owned(),
        purpose: "case_membership".into(),
        legal_basis: format!("consent:{basis}"),
        ..Entry::default()
    };
    match plan::apply_step(
        store,
        &p.plan_id,
        task,
        to,
        reason,
        sender,
        plan::step_text(from, to, &p.note),
        Some(message_id),
        vec![audit],
    )
    .await
    {
        Ok(applied) => Ok(Ok(applied)),
        // The task changed between reading and writing: read again, so a
        // concurrent change is judged on the new state.
        Err(Error::Aborted(_)) => Box::pin(apply(store, message_id, sender, basis, p)).await,
        Err(e) => Err(e),
    }
}

/// Puts a member's progress note (no change of state) on the plan's
/// timeline, once per message; it waits for the coordinator as a new note
/// (`plan::Listed::new_notes`) until the plan is opened.
async fn note(
    store: &Store,
    message_id: &str,
    sender: &str,
    basis: &str,
    p: &v1::CaseProgress,
    task: &v1::CaseTask,
) -> Result<bool> {
    let actor = match carenet_fabric::actor::check_staff_id("staff_ref", &p.staff_ref) {
        Ok(()) => format!("{sender}:{}", p.staff_ref),
        Err(_) => sender.to_owned(),
    };
    let audit = Entry {
        actor,
        action: "case_progress_note".into(),
        message_id: message_id.to_owned(),
        counterparty: sender.to_owned(),
        purpose: "case_membership".into(),
        legal_basis: format!("consent:{basis}"),
        ..Entry::default()
    };
    let text = p.note.trim();
    Ok(audited!(&store.db, tx => {
        let first = sqlx::query(
            "INSERT INTO case_progress_in (message_id, plan_id, task_id, outcome, at_ms, sender) VALUES ($1, $2, $3, 'applied', $4, $5) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(&p.plan_id)
        .bind(&task.id)
        .bind(now_ms())
        .bind(sender)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if first {
            event!(tx, &p.plan_id, sender, "task_note", &task.id, text, &task.category);
            bump!(tx, &p.plan_id);
        }
        (first, if first { vec![audit] } else { Vec::new() })
    }))
}

/// Records a refused progress message once. Its reason goes on the
/// timeline of `plan` (the open plan the sender is an active member of)
/// and raises its version; without one, the refusal is in this node's
/// audit log only and names no plan.
async fn refuse(
    store: &Store,
    message_id: &str,
    plan: Option<&Plan>,
    task_id: &str,
    sender: &str,
    why: &str,
) -> Result<()> {
    let audit = Entry {
        actor: sender.to_owned(),
        action: "refused:case_progress".into(),
        message_id: message_id.to_owned(),
        counterparty: sender.to_owned(),
        purpose: "case_membership".into(),
        ..Entry::default()
    };
    let outcome = format!("refused: {why}");
    let (plan_id, task_id) = match plan {
        Some(p) => (p.id.as_str(), task_id),
        None => ("", ""),
    };
    audited!(&store.db, tx => {
        let first = sqlx::query(
            "INSERT INTO case_progress_in (message_id, plan_id, task_id, outcome, at_ms, sender) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(plan_id)
        .bind(task_id)
        .bind(&outcome)
        .bind(now_ms())
        .bind(sender)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if first && !plan_id.is_empty() {
            event!(tx, plan_id, sender, "progress_refused", task_id, why, "action_plans");
            bump!(tx, plan_id);
        }
        ((), if first { vec![audit] } else { Vec::new() })
    });
    Ok(())
}

/// Records a member's messages refused by the rate limit, unread: each
/// once, and one audit record for them all (the first message's id, how
/// many, and the hash of their ids as proof of which).
async fn refuse_flood(store: &Store, sender: &str, ids: &[String], per_hour: u32) -> Result<()> {
    let now = now_ms();
    let proof = sha256(ids.join("\n").as_bytes()).to_vec();
    let first_id = ids.first().cloned().unwrap_or_default();
    audited!(&store.db, tx => {
        let mut fresh = 0usize;
        for id in ids {
            fresh += sqlx::query(
                "INSERT INTO case_progress_in (message_id, plan_id, task_id, outcome, at_ms, sender) VALUES ($1, '', '', $2, $3, $4) \
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(id)
            .bind(FLOODED)
            .bind(now)
            .bind(sender)
            .execute(&mut *tx)
            .await?
            .rows_affected() as usize;
        }
        let audit = Entry {
            actor: sender.to_owned(),
            action: "refused:case_progress_rate".into(),
            message_id: first_id.clone(),
            counterparty: sender.to_owned(),
            purpose: "case_membership".into(),
            legal_basis: format!("rate_limit:{per_hour}/h:{fresh}_refused"),
            payload_sha256: proof.clone(),
        };
        ((), if fresh > 0 { vec![audit] } else { Vec::new() })
    });
    tracing::warn!(
        member = sender,
        refused = ids.len(),
        per_hour,
        "case progress over the rate limit"
    );
    Ok(())
}
