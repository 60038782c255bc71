//! The case coordinator changes a plan after any meeting or evaluation
//! (issue 20): adds goals, actions and members (through [`plan::open`],
//! under the form's id, so a form sent twice adds once), edits and ends
//! goals (achieved or dropped, with a reason), edits actions (what, due
//! date) and ends memberships (with a reason; the member's open actions
//! are cancelled with it).
//!
//! Every change names the plan version it was decided on (`seen`): one
//! decided on an older version is refused with `Aborted`, so a stale
//! button or a second click has no second effect and the page shows the
//! plan as it now stands. Each change is one version on the timeline, and
//! the active members get their new view ([`view::send`]).

use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited};
use carenet_proto::v1;

use crate::plan::{self, NewPlan, date, entry, event, required};
use crate::{Result, roles, view};

/// A goal's status: open, or ended as achieved or dropped.
pub const GOAL_STATES: &[&str] = &["open", "achieved", "dropped"];

/// What the coordinator adds to a plan in one form.
#[derive(Clone, Debug, Default)]
pub struct Addition {
    pub goals: Vec<v1::CaseGoal>,
    pub actions: Vec<v1::CaseAction>,
    pub members: Vec<v1::CaseMember>,
}

fn stale(plan_id: &str) -> Error {
    Error::Aborted(format!(
        "case plan {plan_id} changed meanwhile: read it again"
    ))
}

/// The open plan at version `seen`, or why not.
async fn current(store: &Store, plan_id: &str, seen: u64) -> Result<crate::Plan> {
    let plan = plan::load(store, plan_id).await?;
    if plan.header.status != "open" {
        return Err(
            Error::precondition(format!("case plan {plan_id} is closed"))
                .coded(carenet_fabric::Reason::CaseState),
        );
    }
    if plan.version != seen {
        return Err(stale(plan_id));
    }
    Ok(plan)
}

/// Raises the plan's version inside transaction `$tx` only if it is still
/// open at version `$seen`; else the transaction ends with `Aborted`.
macro_rules! claim {
    ($tx:expr, $plan:expr, $seen:expr) => {
        let done = sqlx::query(
            "UPDATE case_plan SET version = version + 1, updated_at_ms = $1 \
             WHERE id = $2 AND version = $3 AND status = 'open'",
        )
        .bind(now_ms())
        .bind($plan)
        .bind(i64::try_from($seen).unwrap_or(i64::MAX))
        .execute(&mut *$tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(stale($plan));
        }
    };
}

/// After a change: the members' new views. One that cannot be queued now
/// is sent by the scheduled job (as after [`plan::open`]).
async fn send(store: &Store, plan_id: &str) {
    if let Err(e) = view::send(store, plan_id, None).await {
        tracing::warn!(error = %e, "case views not queued yet");
    }
}

/// Adds goals, actions and members to the open plan `plan_id`, decided on
/// version `seen`, once per `form_id` (a UUID made when the form was
/// shown). Checked as a plan of action is: fields, each member's consent,
/// each action's owner a member (or this party) who may see it.
pub async fn add(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    seen: u64,
    form_id: &str,
    add: Addition,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    let form_id = carenet_fabric::form_id::named_or_new("form_id", form_id)?;
    let source = format!("plan-change:{plan_id}:{form_id}");
    if plan::plan_of_source(store, &source).await?.is_some() {
        return Err(stale(plan_id));
    }
    if add.goals.is_empty() && add.actions.is_empty() && add.members.is_empty() {
        return Err(Error::invalid("goals", "add a goal, an action or a member"));
    }
    let plan = current(store, plan_id, seen).await?;
    let new = NewPlan {
        child_ref: plan.child_ref.clone(),
        child_name: plan.pupil.name.clone(),
        child_birth_date: plan.pupil.birth_date.clone(),
        origin: plan.header.origin.clone(),
        origin_id: plan.header.origin_id.clone(),
        coordinator: plan.header.coordinator.clone(),
        reports_back: plan.header.reports_back.clone(),
        evaluation_on: plan.header.evaluation_on.clone(),
        goals: add.goals,
        actions: add.actions,
        members: add.members,
        notes: Vec::new(),
        source,
    };
    let added = plan::open(store, actor, new).await?;
    if added != plan_id {
        // The child's open plan is another one: this plan closed meanwhile.
        return Err(stale(plan_id));
    }
    Ok(())
}

/// Changes an open goal's text, measure and target date.
#[allow(clippy::too_many_arguments)]
pub async fn edit_goal(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    seen: u64,
    goal_id: &str,
    text: &str,
    measure: &str,
    target_on: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    required("text", text)?;
    required("measure", measure)?;
    date("target_on", target_on)?;
    let plan = current(store, plan_id, seen).await?;
    let goal = open_goal(&plan, goal_id)?;
    let (party, audit) = (
        store.party.to_string(),
        entry(actor, "case_goal_changed", plan_id),
    );
    let (text, measure) = (text.trim(), measure.trim());
    audited!(&store.db, tx => {
        claim!(tx, plan_id, seen);
        sqlx::query(
            "UPDATE case_goal SET text = $1, measure = $2, target_on = $3 \
             WHERE plan_id = $4 AND id = $5 AND status = 'open'",
        )
        .bind(text)
        .bind(measure)
        .bind(target_on)
        .bind(plan_id)
        .bind(goal_id)
        .execute(&mut *tx)
        .await?;
        event!(tx, plan_id, &party, "goal_changed", "", format!("{text}\n{target_on}"), &goal.category);
        ((), vec![audit])
    });
    send(store, plan_id).await;
    Ok(())
}

/// Ends an open goal: `achieved` or `dropped`, with the reason.
pub async fn end_goal(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    seen: u64,
    goal_id: &str,
    status: &str,
    reason: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    if !matches!(status, "achieved" | "dropped") {
        return Err(Error::invalid("status", "achieved or dropped"));
    }
    required("reason", reason)?;
    let plan = current(store, plan_id, seen).await?;
    let goal = open_goal(&plan, goal_id)?;
    let (party, audit) = (
        store.party.to_string(),
        entry(actor, "case_goal_ended", plan_id),
    );
    let reason = reason.trim();
    audited!(&store.db, tx => {
        claim!(tx, plan_id, seen);
        sqlx::query(
            "UPDATE case_goal SET status = $1, end_reason = $2 WHERE plan_id = $3 AND id = $4 AND status = 'open'",
        )
        .bind(status)
        .bind(reason)
        .bind(plan_id)
        .bind(goal_id)
        .execute(&mut *tx)
        .await?;
        event!(tx, plan_id, &party, "goal_ended", "", format!("{status}\n{}\n{reason}", goal.text), &goal.category);
        ((), vec![audit])
    });
    send(store, plan_id).await;
    Ok(())
}

fn open_goal(plan: &crate::Plan, goal_id: &str) -> Result<v1::CaseGoal> {
    let goal = plan
        .goals
        .iter()
        .find(|g| g.id == goal_id)
        .ok_or_else(|| Error::NotFound(format!("goal {goal_id}")))?;
    if !matches!(goal.status.as_str(), "open" | "") {
        return Err(Error::precondition(format!("goal {goal_id} has ended"))
            .coded(carenet_fabric::Reason::CaseState));
    }
    Ok(goal.clone())
}

/// Changes what an open action is, when it is due and who at this party
/// does it (`person`, on this party's own action; empty: the party); the
/// task's version rises (its owner's step decided on the old one is
/// judged on the new).
#[allow(clippy::too_many_arguments)]
pub async fn edit_task(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    seen: u64,
    task_id: &str,
    what: &str,
    due_on: &str,
    person: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    required("what", what)?;
    date("due_on", due_on)?;
    let plan = current(store, plan_id, seen).await?;
    let task = plan
        .task(task_id)
        .ok_or_else(|| Error::NotFound(format!("task {task_id}")))?
        .clone();
    plan::person("person", person)?;
    let (party, audit) = (
        store.party.to_string(),
        entry(actor, "case_task_changed", plan_id),
    );
    let what = what.trim();
    audited!(&store.db, tx => {
        claim!(tx, plan_id, seen);
        let done = sqlx::query(
            "UPDATE case_task SET what = $1, due_on = $2, version = version + 1, updated_at_ms = $3, person = $6 \
             WHERE plan_id = $4 AND id = $5 AND state IN ('requested', 'accepted', 'in_progress', 'on_hold')",
        )
        .bind(what)
        .bind(due_on)
        .bind(now_ms())
        .bind(plan_id)
        .bind(task_id)
        .bind(person)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::precondition(format!("task {task_id} has ended")).coded(carenet_fabric::Reason::CaseState));
        }
        event!(tx, plan_id, &party, "task_changed", task_id, format!("{}\n{what}\n{due_on}", task.owner), &task.category);
        ((), vec![audit])
    });
    send(store, plan_id).await;
    Ok(())
}

/// The prefix of a membership's end reason when the coordinator ended it
/// (the other reasons are the consent's or the period's).
pub const ENDED_BY_COORDINATOR: &str = "coordinator: ";

/// Ends `party`'s active membership with the reason; its open actions are
/// cancelled. It gets no further views.
pub async fn end_member(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    seen: u64,
    party: &str,
    reason: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    required("reason", reason)?;
    let plan = current(store, plan_id, seen).await?;
    if !plan.active_members().any(|m| m.party == party) {
        return Err(Error::NotFound(format!("member {party}")));
    }
    let (holder, audit) = (
        store.party.to_string(),
        entry(actor, "case_member_ended", plan_id),
    );
    let reason = reason.trim();
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, plan_id, seen);
        sqlx::query(
            "UPDATE case_member SET ended_at_ms = $1, end_reason = $2 \
             WHERE plan_id = $3 AND party = $4 AND ended_at_ms IS NULL",
        )
        .bind(now)
        .bind(format!("{ENDED_BY_COORDINATOR}{reason}"))
        .bind(plan_id)
        .bind(party)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE case_task SET state = 'cancelled', version = version + 1, reason = 'membership ended', updated_at_ms = $1 \
             WHERE plan_id = $2 AND owner = $3 AND state IN ('requested', 'accepted', 'in_progress', 'on_hold')",
        )
        .bind(now)
        .bind(plan_id)
        .bind(party)
        .execute(&mut *tx)
        .await?;
        event!(tx, plan_id, &holder, "member_removed", "", format!("{party}\n{reason}"), "action_plans");
        ((), vec![audit])
    });
    send(store, plan_id).await;
    Ok(())
}
