//! What waits for a member of staff in the plans, as lists (read-only): the
//! case coordinator's overdue actions and evaluations due in the plans they
//! coordinate, a member party's own open actions in the plans it is a
//! member of, and the open actions that name one person of this party
//! ([`named`]: a mentor's "mijn acties", who may open only those, one by
//! one, [`named_task`], and take their owner's steps, [`named_step`]). The start page counts these and links to the list that shows
//! exactly them; the same conditions as the notifications' derivation.

use carenet_fabric::store::Store;
use carenet_fabric::{Actor, with_db};

use crate::{Result, roles};

/// The states in which an action still waits for its owner.
pub const OPEN_STATES: &[&str] = &["requested", "accepted", "in_progress", "on_hold"];

/// One action, as a work list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// The party holding the plan (this party, for the coordinator's list).
    pub holder: String,
    pub plan_id: String,
    /// The pupil's name, if the reader may see it.
    pub pupil_name: Option<String>,
    pub task_id: String,
    /// The party that carries it out.
    pub owner: String,
    pub what: String,
    /// `YYYY-MM-DD` or empty.
    pub due_on: String,
    pub state: String,
}

/// One action named to a person, as that person may read it: the task and
/// the text of its goal, nothing else of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTask {
    pub holder: String,
    pub plan_id: String,
    pub pupil_name: Option<String>,
    pub task: carenet_proto::v1::CaseTask,
    /// The goal the action serves, as the plan words it.
    pub goal: String,
}

impl Action {
    /// Whether its date has passed on `today` (`YYYY-MM-DD`).
    pub fn overdue(&self, today: &str) -> bool {
        !self.due_on.is_empty() && self.due_on.as_str() < today
    }
}

/// The open actions past their date in the open plans `actor` coordinates
/// here, oldest date first. Audited as a listing of plans.
pub async fn overdue(store: &Store, actor: &Actor, today: &str) -> Result<Vec<Action>> {
    carenet_fabric::actor::require(store, actor, &roles::READ, "case").await?;
    let rows: Vec<(String, String, String, String, String, String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT t.plan_id, p.child_name, t.id, t.owner, t.what, t.due_on, t.state \
             FROM case_task t JOIN case_plan p ON p.id = t.plan_id \
             WHERE p.coordinator = $1 AND p.status = 'open' \
             AND t.state IN ('requested', 'accepted', 'in_progress', 'on_hold') \
             AND t.due_on <> '' AND t.due_on < $2 ORDER BY t.due_on, t.plan_id, t.id",
        )
        .bind(&actor.staff)
        .bind(today)
        .fetch_all(pool)
        .await?
    });
    let entry = crate::plan::entry(actor, "case_plans_listed", "case");
    carenet_fabric::audit::append(&store.db, &[entry]).await?;
    Ok(rows
        .into_iter()
        .map(
            |(plan_id, name, task_id, owner, what, due_on, state)| Action {
                holder: store.party.as_str().to_owned(),
                plan_id,
                pupil_name: Some(name),
                task_id,
                owner,
                what,
                due_on,
                state,
            },
        )
        .collect())
}

/// The ids of the open plans `actor` coordinates here whose evaluation is
/// on or before `until` (`YYYY-MM-DD`), as the start page counts them.
pub async fn evaluations_due(store: &Store, actor: &Actor, until: &str) -> Result<Vec<String>> {
    actor.may(&store.party, &roles::READ)?;
    let rows: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id FROM case_plan WHERE coordinator = $1 AND status = 'open' \
             AND evaluation_on <> '' AND evaluation_on <= $2 ORDER BY evaluation_on, id",
        )
        .bind(&actor.staff)
        .bind(until)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// This party's own open actions in the plans it is a member of (from the
/// latest view of each), earliest date first, those without a date last.
/// Not audited: the caller that shows them audits the plans it shows
/// ([`audit_shown`]); a start page only counts them.
pub async fn own(store: &Store, actor: &Actor) -> Result<Vec<Action>> {
    actor.may(&store.party, &roles::MEMBER)?;
    let me = store.party.as_str();
    let mut actions = Vec::new();
    for listed in crate::member::list(store, actor).await? {
        let Some(view) = crate::member::latest_view(store, &listed.holder, &listed.plan_id).await?
        else {
            continue;
        };
        if view.header.as_ref().is_some_and(|h| h.status != "open") {
            continue;
        }
        for t in &view.tasks {
            if t.owner == me && OPEN_STATES.contains(&t.state.as_str()) {
                actions.push(Action {
                    holder: listed.holder.clone(),
                    plan_id: listed.plan_id.clone(),
                    pupil_name: view.pupil.as_ref().map(|p| p.name.clone()),
                    task_id: t.id.clone(),
                    owner: t.owner.clone(),
                    what: t.what.clone(),
                    due_on: t.due_on.clone(),
                    state: t.state.clone(),
                });
            }
        }
    }
    by_date(&mut actions);
    Ok(actions)
}

/// Records that `actor` read the plans whose actions a list showed (one
/// entry per plan, as reading a member's view records it).
pub async fn audit_shown(store: &Store, actor: &Actor, actions: &[Action]) -> Result<()> {
    audit_plans(store, actor, actions, "case_view_read").await
}

/// The actions of this party that name `actor` as the person who carries
/// them out (only those still open with `open_only`): in the open plans
/// this party holds and in the views of open plans held elsewhere,
/// earliest date first, those without a date last. Not audited: the list
/// that shows them audits with [`audit_named_shown`]; a start page only
/// counts them.
pub async fn named(store: &Store, actor: &Actor, open_only: bool) -> Result<Vec<Action>> {
    actor.may(&store.party, &roles::NAMED)?;
    let me = store.party.as_str();
    let rows: Vec<(String, String, String, String, String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT t.plan_id, p.child_name, t.id, t.what, t.due_on, t.state \
             FROM case_task t JOIN case_plan p ON p.id = t.plan_id \
             WHERE t.person = $1 AND t.owner = $2 AND p.status = 'open' ORDER BY t.plan_id, t.id",
        )
        .bind(&actor.staff)
        .bind(me)
        .fetch_all(pool)
        .await?
    });
    let mut actions: Vec<Action> = rows
        .into_iter()
        .map(|(plan_id, name, task_id, what, due_on, state)| Action {
            holder: me.to_owned(),
            plan_id,
            pupil_name: Some(name),
            task_id,
            owner: me.to_owned(),
            what,
            due_on,
            state,
        })
        .collect();
    crate::member::sync(store).await?;
    let views: Vec<(String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT holder, plan_id FROM case_view_in ORDER BY holder, plan_id")
            .fetch_all(pool)
            .await?
    });
    for (holder, plan_id) in views {
        let Some(view) = crate::member::latest_view(store, &holder, &plan_id).await? else {
            continue;
        };
        if view.header.as_ref().is_some_and(|h| h.status != "open") {
            continue;
        }
        for t in &view.tasks {
            if t.owner == me && t.person == actor.staff {
                actions.push(Action {
                    holder: holder.clone(),
                    plan_id: plan_id.clone(),
                    pupil_name: view.pupil.as_ref().map(|p| p.name.clone()),
                    task_id: t.id.clone(),
                    owner: t.owner.clone(),
                    what: t.what.clone(),
                    due_on: t.due_on.clone(),
                    state: t.state.clone(),
                });
            }
        }
    }
    if open_only {
        actions.retain(|a| OPEN_STATES.contains(&a.state.as_str()));
    }
    by_date(&mut actions);
    Ok(actions)
}

/// Records that `actor` read the actions named to them that a list showed
/// (one entry per plan; the holder is the counterparty).
pub async fn audit_named_shown(store: &Store, actor: &Actor, actions: &[Action]) -> Result<()> {
    audit_plans(store, actor, actions, "case_named_tasks_listed").await
}

/// One action of this party that names `actor`, in a plan held here
/// (`holder` is this party) or in a view of a plan held elsewhere; any
/// other task, existing or not, is "not found" alike (and the refusal
/// audited). Each reading is audited.
pub async fn named_task(
    store: &Store,
    actor: &Actor,
    holder: &str,
    plan_id: &str,
    task_id: &str,
) -> Result<NamedTask> {
    carenet_fabric::actor::require(store, actor, &roles::NAMED, plan_id).await?;
    let me = store.party.as_str();
    let found = if holder == me {
        match crate::plan::load(store, plan_id).await {
            Ok(p) if p.header.status == "open" => p.task(task_id).cloned().map(|t| {
                let goal = goal_text(&p.goals, &t.goal);
                (Some(p.pupil.name.clone()), t, goal)
            }),
            Ok(_) | Err(carenet_fabric::Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        }
    } else if crate::model::is_id(plan_id) {
        crate::member::latest_view(store, holder, plan_id)
            .await?
            .filter(|v| v.header.as_ref().is_none_or(|h| h.status == "open"))
            .and_then(|v| {
                let t = v.tasks.iter().find(|t| t.id == task_id)?.clone();
                let goal = goal_text(&v.goals, &t.goal);
                Some((v.pupil.as_ref().map(|p| p.name.clone()), t, goal))
            })
    } else {
        None
    };
    let subject = if crate::model::is_id(plan_id) {
        plan_id
    } else {
        "(not an id)"
    };
    let Some((pupil_name, task, goal)) =
        found.filter(|(_, t, _)| t.owner == me && t.person == actor.staff)
    else {
        let refusal = actor.entry("refused:case_named_task", subject);
        carenet_fabric::audit::append(&store.db, &[refusal]).await?;
        return Err(carenet_fabric::Error::NotFound(format!("task {task_id}")));
    };
    let read = carenet_fabric::audit::Entry {
        counterparty: holder.to_owned(),
        purpose: carenet_consent::Purpose::CaseMembership.as_str().into(),
        ..actor.entry("case_named_task_read", plan_id)
    };
    carenet_fabric::audit::append(&store.db, &[read]).await?;
    Ok(NamedTask {
        holder: holder.to_owned(),
        plan_id: plan_id.to_owned(),
        pupil_name,
        task,
        goal,
    })
}

/// The text of the goal an action serves: the plan's goal of that id or
/// text (the plan of action names it by its words).
fn goal_text(goals: &[carenet_proto::v1::CaseGoal], goal: &str) -> String {
    goals
        .iter()
        .find(|g| g.id == goal)
        .map_or_else(|| goal.to_owned(), |g| g.text.clone())
}

/// The owner's step on an action that names `actor` (see [`named_task`]):
/// applied here when this party holds the plan, else reported to the
/// holder as this party's progress. Cancelling stays the coordinator's.
#[allow(clippy::too_many_arguments)]
pub async fn named_step(
    store: &Store,
    actor: &Actor,
    holder: &str,
    plan_id: &str,
    task_id: &str,
    step: &str,
    seen: u32,
    note: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::NAMED, plan_id).await?;
    if holder == store.party.as_str() {
        crate::plan::step_checked(store, actor, plan_id, task_id, step, seen, note, true).await?;
    } else {
        crate::member::report_checked(
            store, actor, holder, plan_id, task_id, step, seen, note, true,
        )
        .await?;
    }
    Ok(())
}

/// Sorts a work list: dated actions first, oldest date first, then by plan
/// and task.
fn by_date(actions: &mut [Action]) {
    actions.sort_by(|a, b| {
        (a.due_on.is_empty(), &a.due_on, &a.plan_id, &a.task_id).cmp(&(
            b.due_on.is_empty(),
            &b.due_on,
            &b.plan_id,
            &b.task_id,
        ))
    });
}

/// One audit entry `action` per plan whose actions a list showed (the
/// holder is the counterparty).
async fn audit_plans(store: &Store, actor: &Actor, actions: &[Action], action: &str) -> Result<()> {
    let mut plans: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.holder.as_str(), a.plan_id.as_str()))
        .collect();
    plans.sort_unstable();
    plans.dedup();
    let entries: Vec<_> = plans
        .into_iter()
        .map(|(holder, plan)| carenet_fabric::audit::Entry {
            counterparty: holder.to_owned(),
            purpose: carenet_consent::Purpose::CaseMembership.as_str().into(),
            ..actor.entry(action, plan)
        })
        .collect();
    carenet_fabric::audit::append(&store.db, &entries).await?;
    Ok(())
}
