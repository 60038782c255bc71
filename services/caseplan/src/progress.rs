//! The holder applies the members' progress (`carenet.case_progress`), in
//! the order it arrived, each message once: a step on the member's own task,
//! checked against the task state machine, the member's active membership
//! (its consent and period today) and the consent it answers under. A step
//! that does not hold is refused on the timeline with its reason, so
//! neither of two concurrent updates is lost silently; the member sees the
//! outcome in its next view.

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Error, audited};
use carenet_proto::v1;
use prost::Message;

use crate::model::{PROGRESS_TYPE, is_id};
use crate::plan::{self, bump, event};
use crate::task::{self, State, Step, Who};
use crate::{Result, members, view};

/// Applies every progress message not applied yet; returns how many were
/// applied (the refused ones are recorded too). Members get new views.
pub async fn sync(store: &Store) -> Result<usize> {
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
    for item in new {
        let payload = store.received(&item.message_id).await?.map(|d| d.payload);
        let progress = payload.as_deref().and_then(decode);
        let Some(progress) = progress else {
            refuse(
                store,
                &item.message_id,
                "",
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
                "",
                "",
                &item.sender,
                "not a plan and task id",
            )
            .await?;
            continue;
        }
        if progress.note.len() > 4000 || progress.note.contains('\0') || progress.step.len() > 32 {
            refuse(
                store,
                &item.message_id,
                &progress.plan_id,
                &progress.task_id,
                &item.sender,
                "the note or step is not text of at most 4000 characters",
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
        match apply(store, &item.message_id, &item.sender, &basis, &progress).await? {
            Ok(true) => {
                applied += 1;
                if !changed.contains(&progress.plan_id) {
                    changed.push(progress.plan_id.clone());
                }
            }
            Ok(false) => {}
            Err(Refusal(why)) => {
                refuse(
                    store,
                    &item.message_id,
                    &progress.plan_id,
                    &progress.task_id,
                    &item.sender,
                    &why,
                )
                .await?;
                if !changed.contains(&progress.plan_id) {
                    changed.push(progress.plan_id.clone());
                }
            }
        }
    }
    for plan_id in changed {
        match view::send(store, &plan_id, None).await {
            Ok(_) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
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

/// Records a refused progress message once, with its reason on the
/// timeline when it names a plan of this party.
async fn refuse(
    store: &Store,
    message_id: &str,
    plan_id: &str,
    task_id: &str,
    sender: &str,
    why: &str,
) -> Result<()> {
    let exists = !plan_id.is_empty() && plan::load(store, plan_id).await.is_ok();
    let audit = Entry {
        actor: sender.to_owned(),
        action: "refused:case_progress".into(),
        message_id: message_id.to_owned(),
        counterparty: sender.to_owned(),
        purpose: "case_membership".into(),
        ..Entry::default()
    };
    let outcome = format!("refused: {why}");
    audited!(&store.db, tx => {
        let first = sqlx::query(
            "INSERT INTO case_progress_in (message_id, plan_id, task_id, outcome, at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(plan_id)
        .bind(task_id)
        .bind(&outcome)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        if first.rows_affected() != 1 {
            return Ok(());
        }
        if exists {
            event!(tx, plan_id, sender, "progress_refused", task_id, why, "action_plans");
            bump!(tx, plan_id);
        }
        ((), vec![audit])
    });
    Ok(())
}
