//! The holder's side: one plan per child at the case coordinator's party.
//!
//! [`open`] opens the child's plan, or adds to the one that is open (one
//! child, one plan: a second ZAT decision or, later, an SWV arrangement adds
//! goals, tasks and members to it). The holder's own tasks are stepped here
//! ([`step`]); a member's arrive as progress ([`crate::progress`]). Every
//! change raises the plan's version, lands on the timeline and sends each
//! active member its view ([`crate::view::send`]). Every reading is audited.

use carenet_consent::Purpose;
use carenet_consent::record::{format_date, parse_date};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited, with_db};
use carenet_proto::v1;

use crate::model::{Plan, category};
use crate::task::{self, State, Step, Who};
use crate::{Result, members, roles, view};

/// What opens a plan or adds to the child's open one.
#[derive(Clone, Debug, Default)]
pub struct NewPlan {
    pub child_ref: String,
    pub child_name: String,
    pub child_birth_date: String,
    /// Where it comes from (`zat`) and that record's id.
    pub origin: String,
    pub origin_id: String,
    /// The case coordinator: a staff id at this party.
    pub coordinator: String,
    /// Who reports back to the pupil and the guardians.
    pub reports_back: String,
    pub evaluation_on: String,
    pub goals: Vec<v1::CaseGoal>,
    pub actions: Vec<v1::CaseAction>,
    pub members: Vec<v1::CaseMember>,
    pub notes: Vec<v1::CaseNote>,
    /// What adds this, once (e.g. `zat-meeting:{id}`): the same source
    /// sent again, or twice at once, adds nothing more. Empty: no guard.
    pub source: String,
}

/// One plan in a list: no content beyond the pupil's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub child_ref: String,
    pub child_name: String,
    pub status: String,
    pub version: u64,
    pub open_tasks: u64,
    pub members: u64,
    pub evaluation_on: String,
    pub updated_at_ms: i64,
    /// Members' progress notes since the holder's staff last opened the plan.
    pub new_notes: u64,
}

pub(crate) fn entry(actor: &Actor, action: &str, plan_id: &str) -> Entry {
    Entry {
        purpose: Purpose::CaseMembership.as_str().into(),
        ..actor.entry(action, plan_id)
    }
}

pub(crate) fn required(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(
            Error::invalid(field, "must not be empty").coded(carenet_fabric::Reason::Required)
        );
    }
    if value.len() > 4000 {
        return Err(
            Error::invalid(field, "at most 4000 characters").coded(carenet_fabric::Reason::TooLong)
        );
    }
    Ok(())
}

pub(crate) fn date(field: &str, value: &str) -> Result<()> {
    parse_date(field, value).map_err(Error::from)?;
    Ok(())
}

/// A time-ordered id: goals, tasks and notes list in the order the plan
/// of action named them.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// Checks an action's person: empty (the owning party carries it out), or
/// a staff id at the owning party. The pages pick it from this party's
/// staff directory, so only on this party's own actions; a client of the
/// API may name a member's person by the id that member gave.
pub(crate) fn person(field: &str, person: &str) -> Result<()> {
    if person.is_empty() {
        return Ok(());
    }
    carenet_fabric::actor::check_staff_id(field, person)?;
    Ok(())
}

/// Checks the new plan's fields (the members' consent is checked by
/// [`members::check_new`]); fills in ids and default categories.
fn validate(store: &Store, p: &mut NewPlan) -> Result<()> {
    if p.child_ref.trim().is_empty() || p.child_ref.len() > 128 {
        return Err(
            Error::invalid("child_ref", "1-128 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    required("child_name", &p.child_name)?;
    date("child_birth_date", &p.child_birth_date)?;
    carenet_fabric::actor::check_staff_id("coordinator", &p.coordinator)?;
    required("reports_back", &p.reports_back)?;
    date("evaluation_on", &p.evaluation_on)?;
    for (i, g) in p.goals.iter_mut().enumerate() {
        required(&format!("goals[{i}].text"), &g.text)?;
        required(&format!("goals[{i}].measure"), &g.measure)?;
        date(&format!("goals[{i}].target_on"), &g.target_on)?;
        if g.category.is_empty() {
            g.category = "action_plans".into();
        }
        category(&format!("goals[{i}].category"), &g.category)?;
        g.id = new_id();
        g.status = "open".into();
        g.end_reason.clear();
    }
    for (i, n) in p.notes.iter_mut().enumerate() {
        required(&format!("notes[{i}].kind"), &n.kind)?;
        required(&format!("notes[{i}].text"), &n.text)?;
        if n.category.is_empty() {
            n.category = "action_plans".into();
        }
        category(&format!("notes[{i}].category"), &n.category)?;
    }
    for (i, m) in p.members.iter().enumerate() {
        required(&format!("members[{i}].role"), &m.role)?;
        required(&format!("members[{i}].person"), &m.person)?;
        if m.party == store.party.as_str() {
            return Err(Error::invalid(
                format!("members[{i}].party"),
                "the holder is not a member of its own plan",
            ));
        }
        if p.members[..i].iter().any(|o| o.party == m.party) {
            return Err(Error::invalid(format!("members[{i}].party"), "named twice"));
        }
    }
    for (i, a) in p.actions.iter_mut().enumerate() {
        required(&format!("actions[{i}].what"), &a.what)?;
        required(&format!("actions[{i}].goal"), &a.goal)?;
        date(&format!("actions[{i}].due_on"), &a.due_on)?;
        person(&format!("actions[{i}].person"), &a.person)?;
        if a.category.is_empty() {
            a.category = "action_plans".into();
        }
        category(&format!("actions[{i}].category"), &a.category)?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: String,
    child_ref: String,
    child_name: String,
    child_birth_date: String,
    origin: String,
    origin_id: String,
    coordinator: String,
    reports_back: String,
    evaluation_on: String,
    status: String,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    party: String,
    role: String,
    person: String,
    valid_from: String,
    valid_until: String,
    consent_record: String,
    ended_at_ms: Option<i64>,
    end_reason: Option<String>,
}

#[derive(sqlx::FromRow)]
struct GoalRow {
    id: String,
    text: String,
    measure: String,
    target_on: String,
    category: String,
    status: String,
    end_reason: String,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    owner: String,
    person: String,
    what: String,
    goal: String,
    due_on: String,
    category: String,
    state: String,
    version: i64,
    reason: String,
    updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct EvaluationRow {
    id: String,
    held_on: String,
    text: String,
    outcome: String,
    by_staff: String,
}

#[derive(sqlx::FromRow)]
struct NoteRow {
    kind: String,
    text: String,
    category: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at_ms: i64,
    party: String,
    kind: String,
    task_id: String,
    text: String,
    category: String,
}

fn date_of_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| format_date(t.date()))
        .unwrap_or_default()
}

/// The whole plan, read without an audit entry (the callers audit).
pub async fn load(store: &Store, id: &str) -> Result<Plan> {
    let not_found = || Error::NotFound(format!("case plan {id}"));
    let (row, members, goals, tasks, evaluations, notes, events) = with_db!(&store.db, pool => {
        let row: Option<PlanRow> = sqlx::query_as(
            "SELECT id, child_ref, child_name, child_birth_date, origin, origin_id, coordinator, reports_back, \
             evaluation_on, status, version FROM case_plan WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let members: Vec<MemberRow> = sqlx::query_as(
            "SELECT party, role, person, valid_from, valid_until, consent_record, ended_at_ms, end_reason \
             FROM case_member WHERE plan_id = $1 ORDER BY party",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let goals: Vec<GoalRow> = sqlx::query_as(
            "SELECT id, text, measure, target_on, category, status, end_reason FROM case_goal WHERE plan_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let tasks: Vec<TaskRow> = sqlx::query_as(
            "SELECT id, owner, person, what, goal, due_on, category, state, version, reason, updated_at_ms \
             FROM case_task WHERE plan_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let evaluations: Vec<EvaluationRow> = sqlx::query_as(
            "SELECT id, held_on, text, outcome, by_staff FROM case_evaluation WHERE plan_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let notes: Vec<NoteRow> = sqlx::query_as(
            "SELECT kind, text, category FROM case_note WHERE plan_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let events: Vec<EventRow> = sqlx::query_as(
            "SELECT at_ms, party, kind, task_id, text, category FROM case_event WHERE plan_id = $1 ORDER BY at_ms, id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        (row, members, goals, tasks, evaluations, notes, events)
    });
    let row = row.ok_or_else(not_found)?;
    let corrupt = |what: &str| Error::Corrupt(format!("case plan {id}: {what}"));
    Ok(Plan {
        id: row.id,
        child_ref: row.child_ref,
        version: u64::try_from(row.version).map_err(|_| corrupt("version"))?,
        pupil: v1::CasePupil {
            name: row.child_name,
            birth_date: row.child_birth_date,
        },
        header: v1::CasePlanHeader {
            holder: store.party.to_string(),
            coordinator: row.coordinator,
            reports_back: row.reports_back,
            evaluation_on: row.evaluation_on,
            status: row.status,
            origin: row.origin,
            origin_id: row.origin_id,
            members: members
                .into_iter()
                .map(|m| v1::CaseMember {
                    party: m.party,
                    role: m.role,
                    person: m.person,
                    valid_from: m.valid_from,
                    valid_until: m.valid_until,
                    consent_record: m.consent_record,
                    ended_on: m.ended_at_ms.map(date_of_ms).unwrap_or_default(),
                    end_reason: m.end_reason.unwrap_or_default(),
                })
                .collect(),
        },
        goals: goals
            .into_iter()
            .map(|g| v1::CaseGoal {
                id: g.id,
                text: g.text,
                measure: g.measure,
                target_on: g.target_on,
                category: g.category,
                status: g.status,
                end_reason: g.end_reason,
            })
            .collect(),
        tasks: tasks
            .into_iter()
            .map(|t| {
                Ok(v1::CaseTask {
                    id: t.id,
                    owner: t.owner,
                    what: t.what,
                    goal: t.goal,
                    due_on: t.due_on,
                    state: t.state,
                    version: u32::try_from(t.version).map_err(|_| corrupt("task version"))?,
                    category: t.category,
                    reason: t.reason,
                    updated_at_ms: t.updated_at_ms,
                    person: t.person,
                })
            })
            .collect::<Result<_>>()?,
        evaluations: evaluations
            .into_iter()
            .map(|e| v1::CaseEvaluation {
                id: e.id,
                held_on: e.held_on,
                text: e.text,
                outcome: e.outcome,
                by: e.by_staff,
            })
            .collect(),
        notes: notes
            .into_iter()
            .map(|n| v1::CaseNote {
                kind: n.kind,
                text: n.text,
                category: n.category,
            })
            .collect(),
        events: events
            .into_iter()
            .map(|e| v1::CaseEvent {
                at_ms: e.at_ms,
                party: e.party,
                kind: e.kind,
                task_id: e.task_id,
                text: e.text,
                category: e.category,
            })
            .collect(),
    })
}

/// The id of the child's open plan at this party, if there is one.
pub async fn open_plan_of(store: &Store, child_ref: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id FROM case_plan WHERE child_ref = $1 AND status = 'open' ORDER BY created_at_ms LIMIT 1")
            .bind(child_ref)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(id,)| id))
}

/// Appends one timeline line inside transaction `$tx`.
macro_rules! event {
    ($tx:expr, $plan:expr, $party:expr, $kind:expr, $task:expr, $text:expr, $category:expr) => {
        sqlx::query(
            "INSERT INTO case_event (id, plan_id, at_ms, party, kind, task_id, text, category) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        // Time-ordered (a counter within the millisecond): the timeline's
        // order is the order things happened.
        .bind(uuid::Uuid::now_v7().hyphenated().to_string())
        .bind($plan)
        .bind(carenet_fabric::clock::now_ms())
        .bind($party)
        .bind($kind)
        .bind($task)
        .bind($text)
        .bind($category)
        .execute(&mut *$tx)
        .await?
    };
}
pub(crate) use event;

/// Raises a plan's version inside transaction `$tx`.
macro_rules! bump {
    ($tx:expr, $plan:expr) => {
        sqlx::query("UPDATE case_plan SET version = version + 1, updated_at_ms = $1 WHERE id = $2")
            .bind(carenet_fabric::clock::now_ms())
            .bind($plan)
            .execute(&mut *$tx)
            .await?
    };
}
pub(crate) use bump;

/// Opens the child's plan at this party, or adds to its open plan: goals,
/// actions (tasks in state `requested`, each owned by this party or a
/// member), members (each with a consent for `case_membership` that names
/// it), notes. Returns the plan's id; members get their views.
pub async fn open(store: &Store, actor: &Actor, new: NewPlan) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, "case:new").await?;
    let new = check(store, new).await?;
    let id = match open_checked(store, actor, &new).await {
        // Another request opened the child's plan meanwhile (the unique
        // index on open plans): add to that one instead.
        Err(Error::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
            open_checked(store, actor, &new).await?
        }
        other => other?,
    };
    // The plan is written; the members' views follow. One that cannot be
    // queued now is sent by the scheduled job (it sends every member that
    // lacks the plan's current version).
    if let Err(e) = view::send(store, &id, None).await {
        tracing::warn!(error = %e, "case views not queued yet");
    }
    Ok(id)
}

/// Checks a new plan's fields and members without writing anything;
/// returns it with ids, defaults and the members' periods filled in.
pub async fn check(store: &Store, mut new: NewPlan) -> Result<NewPlan> {
    validate(store, &mut new)?;
    for (i, m) in new.members.iter_mut().enumerate() {
        members::check_new(store, &new.child_ref, i, m).await?;
    }
    let existing = open_plan_of(store, &new.child_ref).await?;
    let known: Vec<v1::CaseMember> = match &existing {
        Some(id) => load(store, id).await?.active_members().cloned().collect(),
        None => Vec::new(),
    };
    for (i, a) in new.actions.iter().enumerate() {
        if a.owner == store.party.as_str() {
            continue;
        }
        let Some(owner) = new
            .members
            .iter()
            .chain(known.iter())
            .find(|m| m.party == a.owner)
        else {
            return Err(Error::invalid(
                format!("actions[{i}].owner"),
                "an action is this party's or a member's: name the owner as a member",
            ));
        };
        // The owner must see its own action.
        if !members::categories(store, owner)
            .await?
            .contains(&a.category)
        {
            return Err(Error::invalid(
                format!("actions[{i}].category"),
                "the owner's consent does not cover this kind of data",
            ));
        }
    }
    Ok(new)
}

async fn open_checked(store: &Store, actor: &Actor, new: &NewPlan) -> Result<String> {
    // A source adds once (its request sent again, or two at once: the
    // second meets the first's row, or its primary key, and is retried).
    if let Some(done) = plan_of_source(store, &new.source).await? {
        return Ok(done);
    }
    let existing = open_plan_of(store, &new.child_ref).await?;
    let plan_id = existing.clone().unwrap_or_else(new_id);
    let party = store.party.to_string();
    let now = now_ms();
    let kind = if existing.is_some() {
        "plan_added"
    } else {
        "plan_opened"
    };
    let audit = entry(
        actor,
        if existing.is_some() {
            "case_plan_added"
        } else {
            "case_plan_opened"
        },
        &plan_id,
    );
    audited!(&store.db, tx => {
        if existing.is_none() {
            sqlx::query(
                "INSERT INTO case_plan (id, child_ref, child_name, child_birth_date, origin, origin_id, coordinator, \
                 reports_back, evaluation_on, status, version, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', 0, $10, $10)",
            )
            .bind(&plan_id)
            .bind(&new.child_ref)
            .bind(&new.child_name)
            .bind(&new.child_birth_date)
            .bind(&new.origin)
            .bind(&new.origin_id)
            .bind(&new.coordinator)
            .bind(&new.reports_back)
            .bind(&new.evaluation_on)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "UPDATE case_plan SET coordinator = $1, reports_back = $2, evaluation_on = $3 WHERE id = $4",
            )
            .bind(&new.coordinator)
            .bind(&new.reports_back)
            .bind(&new.evaluation_on)
            .bind(&plan_id)
            .execute(&mut *tx)
            .await?;
        }
        event!(tx, &plan_id, &party, kind, "", format!("{} {}", new.origin, new.origin_id), "action_plans");
        for m in &new.members {
            // A party that was a member before and ended comes back with
            // its new consent and period.
            sqlx::query(
                "INSERT INTO case_member (plan_id, party, role, person, valid_from, valid_until, consent_record) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plan_id, party) DO UPDATE SET \
                 role = excluded.role, person = excluded.person, valid_from = excluded.valid_from, \
                 valid_until = excluded.valid_until, consent_record = excluded.consent_record, \
                 ended_at_ms = NULL, end_reason = NULL",
            )
            .bind(&plan_id)
            .bind(&m.party)
            .bind(&m.role)
            .bind(&m.person)
            .bind(&m.valid_from)
            .bind(&m.valid_until)
            .bind(&m.consent_record)
            .execute(&mut *tx)
            .await?;
            event!(tx, &plan_id, &party, "member_added", "", format!("{} ({})", m.party, m.role), "action_plans");
        }
        for g in &new.goals {
            sqlx::query(
                "INSERT INTO case_goal (plan_id, id, text, measure, target_on, category, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&plan_id)
            .bind(&g.id)
            .bind(&g.text)
            .bind(&g.measure)
            .bind(&g.target_on)
            .bind(&g.category)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            event!(tx, &plan_id, &party, "goal_added", "", &g.text, &g.category);
        }
        for (i, n) in new.notes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO case_note (plan_id, id, kind, text, category, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&plan_id)
            .bind(format!("{}-{i}", new_id()))
            .bind(&n.kind)
            .bind(&n.text)
            .bind(&n.category)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for a in &new.actions {
            let task_id = new_id();
            sqlx::query(
                "INSERT INTO case_task (plan_id, id, owner, what, goal, due_on, category, state, version, reason, \
                 created_at_ms, updated_at_ms, person) VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', 1, '', $8, $8, $9)",
            )
            .bind(&plan_id)
            .bind(&task_id)
            .bind(&a.owner)
            .bind(&a.what)
            .bind(&a.goal)
            .bind(&a.due_on)
            .bind(&a.category)
            .bind(now)
            .bind(&a.person)
            .execute(&mut *tx)
            .await?;
            event!(tx, &plan_id, &party, "task_added", &task_id, format!("{}: {}", a.owner, a.what), &a.category);
        }
        if !new.source.is_empty() {
            sqlx::query("INSERT INTO case_plan_source (source, plan_id) VALUES ($1, $2)")
                .bind(&new.source)
                .bind(&plan_id)
                .execute(&mut *tx)
                .await?;
        }
        bump!(tx, &plan_id);
        ((), vec![audit])
    });
    Ok(plan_id)
}

/// The plan a source (see [`NewPlan::source`]) opened or added to.
pub(crate) async fn plan_of_source(store: &Store, source: &str) -> Result<Option<String>> {
    if source.is_empty() {
        return Ok(None);
    }
    Ok(with_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT plan_id FROM case_plan_source WHERE source = $1")
            .bind(source)
            .fetch_optional(pool)
            .await?
    }))
}

/// The plans this party holds, most recently changed first.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Listed>> {
    carenet_fabric::actor::require(store, actor, &roles::READ, "case").await?;
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        child_ref: String,
        child_name: String,
        status: String,
        version: i64,
        evaluation_on: String,
        updated_at_ms: i64,
        open_tasks: i64,
        members: i64,
        new_notes: i64,
    }
    let rows: Vec<Row> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT p.id, p.child_ref, p.child_name, p.status, p.version, p.evaluation_on, p.updated_at_ms, \
             (SELECT COUNT(*) FROM case_task t WHERE t.plan_id = p.id AND t.state IN ('requested', 'accepted', 'in_progress', 'on_hold')) AS open_tasks, \
             (SELECT COUNT(*) FROM case_member m WHERE m.plan_id = p.id AND m.ended_at_ms IS NULL) AS members, \
             (SELECT COUNT(*) FROM case_event e WHERE e.plan_id = p.id AND e.kind = 'task_note' AND e.at_ms > p.notes_seen_at_ms) AS new_notes \
             FROM case_plan p ORDER BY p.updated_at_ms DESC, p.id",
        )
        .fetch_all(pool)
        .await?
    });
    carenet_fabric::audit::append(&store.db, &[entry(actor, "case_plans_listed", "case")]).await?;
    Ok(rows
        .into_iter()
        .map(|r| Listed {
            id: r.id,
            child_ref: r.child_ref,
            child_name: r.child_name,
            status: r.status,
            version: u64::try_from(r.version).unwrap_or_default(),
            open_tasks: u64::try_from(r.open_tasks).unwrap_or_default(),
            members: u64::try_from(r.members).unwrap_or_default(),
            evaluation_on: r.evaluation_on,
            updated_at_ms: r.updated_at_ms,
            new_notes: u64::try_from(r.new_notes).unwrap_or_default(),
        })
        .collect())
}

/// The whole plan for the holder's staff, after ending memberships whose
/// consent or period ended; audited. (The node applies the members'
/// progress as it arrives, under its rate limit: `progress::sync`.)
pub async fn show(store: &Store, actor: &Actor, id: &str) -> Result<Plan> {
    carenet_fabric::actor::require(store, actor, &roles::READ, id).await?;
    let plan = load(store, id).await?;
    let plan = if members::refresh(store, &plan).await? {
        load(store, id).await?
    } else {
        plan
    };
    carenet_fabric::audit::append(&store.db, &[entry(actor, "case_plan_viewed", id)]).await?;
    // The members' notes shown now are no longer new (see `Listed::new_notes`).
    with_db!(&store.db, pool => {
        sqlx::query("UPDATE case_plan SET notes_seen_at_ms = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(plan)
}

fn refused(e: task::Refused) -> Error {
    Error::precondition(e.to_string()).coded(carenet_fabric::Reason::CaseState)
}

/// Applies one task step inside one transaction: only if the task is still
/// at `from_version` (else `Aborted`: someone changed it meanwhile),
/// raising the task's and the plan's version, with the timeline line and
/// `audit`. `progress` is the member's message it answers, recorded once.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn apply_step(
    store: &Store,
    plan_id: &str,
    task: &v1::CaseTask,
    to: State,
    reason: &str,
    by_party: &str,
    text: String,
    progress: Option<&str>,
    audit: Vec<Entry>,
) -> Result<bool> {
    let now = now_ms();
    let applied = audited!(&store.db, tx => {
        if let Some(message_id) = progress {
            let first = sqlx::query(
                "INSERT INTO case_progress_in (message_id, plan_id, task_id, outcome, at_ms, sender) VALUES ($1, $2, $3, 'applied', $4, $5) \
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(message_id)
            .bind(plan_id)
            .bind(&task.id)
            .bind(now)
            .bind(by_party)
            .execute(&mut *tx)
            .await?;
            if first.rows_affected() != 1 {
                return Ok(false);
            }
        }
        let done = sqlx::query(
            "UPDATE case_task SET state = $1, version = version + 1, reason = $2, updated_at_ms = $3 \
             WHERE plan_id = $4 AND id = $5 AND version = $6",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(now)
        .bind(plan_id)
        .bind(&task.id)
        .bind(i64::from(task.version))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Aborted(format!("task {} changed meanwhile: read it again", task.id)));
        }
        event!(tx, plan_id, by_party, "task_step", &task.id, text, &task.category);
        bump!(tx, plan_id);
        (true, audit)
    });
    Ok(applied)
}

/// A step on a task by the holder's staff: the holder's own tasks as their
/// owner, and any open task's cancellation as the coordinator. `seen` is
/// the task version the step was decided on. Members get their views.
#[allow(clippy::too_many_arguments)]
pub async fn step(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    task_id: &str,
    step: &str,
    seen: u32,
    reason: &str,
) -> Result<v1::CaseTask> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    step_checked(store, actor, plan_id, task_id, step, seen, reason, false).await
}

/// [`step`] once the actor is allowed: the coordinator's staff, or
/// (`named`) the person the task names, who takes only its owner's steps
/// on a task of this party that names them.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn step_checked(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    task_id: &str,
    step: &str,
    seen: u32,
    reason: &str,
    named: bool,
) -> Result<v1::CaseTask> {
    let step = Step::parse("step", step).map_err(|e| Error::invalid("step", e.to_string()))?;
    let plan = load(store, plan_id).await?;
    if plan.header.status != "open" {
        return Err(
            Error::precondition(format!("case plan {plan_id} is closed"))
                .coded(carenet_fabric::Reason::CaseState),
        );
    }
    let task = plan
        .task(task_id)
        .ok_or_else(|| Error::NotFound(format!("task {task_id}")))?
        .clone();
    if named && (task.person != actor.staff || task.owner != store.party.as_str()) {
        return Err(Error::NotFound(format!("task {task_id}")));
    }
    if named && step == Step::Cancel {
        return Err(Error::invalid(
            "step",
            "only the case coordinator cancels a task",
        ));
    }
    let who = if step == Step::Cancel {
        Who::Coordinator
    } else {
        if task.owner != store.party.as_str() {
            return Err(Error::precondition(format!(
                "task {task_id} is {}'s: its progress comes from its own node",
                task.owner
            )));
        }
        Who::Owner
    };
    let state = State::parse("state", &task.state)
        .map_err(|_| Error::Corrupt(format!("task {task_id}")))?;
    let to = task::next(state, step, who).map_err(refused)?;
    if step.needs_reason() {
        required("reason", reason)?;
    }
    if seen != task.version {
        return Err(Error::Aborted(format!(
            "task {task_id} changed meanwhile (version {} now): read it again",
            task.version
        )));
    }
    let text = step_text(state, to, reason);
    apply_step(
        store,
        plan_id,
        &task,
        to,
        reason,
        store.party.as_str(),
        text,
        None,
        vec![entry(actor, "case_task_step", plan_id)],
    )
    .await?;
    view::send(store, plan_id, None).await?;
    let plan = load(store, plan_id).await?;
    plan.task(task_id)
        .cloned()
        .ok_or_else(|| Error::NotFound(format!("task {task_id}")))
}

/// The timeline's text of a step.
pub(crate) fn step_text(from: State, to: State, note: &str) -> String {
    if note.trim().is_empty() {
        format!("{} → {}", from.as_str(), to.as_str())
    } else {
        format!("{} → {}: {}", from.as_str(), to.as_str(), note.trim())
    }
}

/// An evaluation of a plan, as the form or a client gives it.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    /// Named by the form (a UUID made when it was shown) so that the same
    /// evaluation sent twice is recorded once; empty: a new one.
    pub id: String,
    pub held_on: String,
    pub text: String,
    /// `continue`, `adjust` or `close`.
    pub outcome: String,
    /// The next evaluation date, unless it closes the plan.
    pub next_on: String,
}

/// Records an evaluation of the plan; `close` closes it.
pub async fn evaluate(store: &Store, actor: &Actor, plan_id: &str, e: &Evaluation) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    let (held_on, text, outcome, next_on) = (
        e.held_on.as_str(),
        e.text.as_str(),
        e.outcome.as_str(),
        e.next_on.as_str(),
    );
    let mut id = carenet_fabric::form_id::named_or_new("id", &e.id)?;
    date("held_on", held_on)?;
    required("text", text)?;
    if !matches!(outcome, "continue" | "adjust" | "close") {
        return Err(Error::invalid("outcome", "continue, adjust or close"));
    }
    if outcome != "close" {
        date("next_on", next_on)?;
    }
    // The same evaluation sent again (a double click, a retry) finishes
    // what the first began; with other content it is one of its own.
    let recorded: Option<(String, String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT held_on, text, outcome FROM case_evaluation WHERE plan_id = $1 AND id = $2")
            .bind(plan_id)
            .bind(&id)
            .fetch_optional(pool)
            .await?
    });
    match recorded {
        Some(r) if (r.0.as_str(), r.1.as_str(), r.2.as_str()) == (held_on, text, outcome) => {
            return after_evaluation(store, actor, plan_id, outcome).await;
        }
        Some(_) => id = new_id(),
        None => {}
    }
    let plan = load(store, plan_id).await?;
    if plan.header.status != "open" {
        return Err(
            Error::precondition(format!("case plan {plan_id} is closed"))
                .coded(carenet_fabric::Reason::CaseState),
        );
    }
    let party = store.party.to_string();
    let audit = entry(actor, "case_evaluated", plan_id);
    audited!(&store.db, tx => {
        // Two of the same at once: the second writes nothing.
        let inserted = sqlx::query(
            "INSERT INTO case_evaluation (plan_id, id, held_on, text, outcome, by_staff, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plan_id, id) DO NOTHING",
        )
        .bind(plan_id)
        .bind(&id)
        .bind(held_on)
        .bind(text)
        .bind(outcome)
        .bind(&actor.staff)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if inserted {
            if outcome != "close" {
                sqlx::query("UPDATE case_plan SET evaluation_on = $1 WHERE id = $2")
                    .bind(next_on)
                    .bind(plan_id)
                    .execute(&mut *tx)
                    .await?;
            }
            event!(tx, plan_id, &party, "evaluated", "", format!("{held_on}: {outcome}"), "action_plans");
            bump!(tx, plan_id);
        }
        ((), if inserted { vec![audit] } else { Vec::new() })
    });
    after_evaluation(store, actor, plan_id, outcome).await
}

/// What follows a recorded evaluation: closing the plan, or the members'
/// new views. Done again when the evaluation is sent again.
async fn after_evaluation(
    store: &Store,
    actor: &Actor,
    plan_id: &str,
    outcome: &str,
) -> Result<()> {
    if outcome == "close" {
        return match close(store, actor, plan_id, "evaluated: close").await {
            // Closed already (by this evaluation sent before).
            Ok(()) | Err(Error::FailedPrecondition(_)) => Ok(()),
            Err(e) => Err(e),
        };
    }
    view::send(store, plan_id, None).await?;
    Ok(())
}

/// Closes the plan: every task still open is cancelled (reason: the plan
/// closed), the members get the closed plan as their last view.
pub async fn close(store: &Store, actor: &Actor, plan_id: &str, reason: &str) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::MANAGE, plan_id).await?;
    required("reason", reason)?;
    let party = store.party.to_string();
    let audit = entry(actor, "case_plan_closed", plan_id);
    let now = now_ms();
    audited!(&store.db, tx => {
        let done = sqlx::query("UPDATE case_plan SET status = 'closed', updated_at_ms = $1, closed_at_ms = $1 WHERE id = $2 AND status = 'open'")
            .bind(now)
            .bind(plan_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(Error::precondition(format!("case plan {plan_id} is not open")).coded(carenet_fabric::Reason::CaseState));
        }
        sqlx::query(
            "UPDATE case_task SET state = 'cancelled', version = version + 1, reason = 'plan closed', updated_at_ms = $1 \
             WHERE plan_id = $2 AND state IN ('requested', 'accepted', 'in_progress', 'on_hold')",
        )
        .bind(now)
        .bind(plan_id)
        .execute(&mut *tx)
        .await?;
        event!(tx, plan_id, &party, "plan_closed", "", reason, "action_plans");
        bump!(tx, plan_id);
        ((), vec![audit])
    });
    view::send(store, plan_id, None).await?;
    Ok(())
}

/// The plan of the guardians' linked child at this party, as the parent
/// portal shows it (the case coordinator reports back to pupil and
/// guardians): the open plan, or else the latest closed one; `None` if the
/// child has none. Where the pupil decides (from 16) the guardian is
/// refused; goals and actions in a category the guardian may not see today
/// ([`carenet_consent::access::Access::plan_category`]) are left out of the
/// plan returned, so they are neither shown nor counted. The reading is
/// audited under the guardian's pseudonym.
pub async fn for_guardian(
    store: &Store,
    link: &carenet_consent::portal::Linked,
) -> Result<Option<Plan>> {
    let row: Option<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id FROM case_plan WHERE child_ref = $1 ORDER BY status = 'open' DESC, updated_at_ms DESC LIMIT 1",
        )
        .bind(link.child_ref())
        .fetch_optional(pool)
        .await?
    });
    let Some((id,)) = row else {
        return Ok(None);
    };
    let mut plan = load(store, &id).await?;
    link.require_same_child(store, "portal_plan", &id, &plan.child_ref)
        .await
        .map_err(Error::from)?;
    let access = link.access();
    if !access.page(carenet_consent::access::Page::Plan) {
        carenet_fabric::audit::append(&store.db, &[link.entry("refused:portal_plan", &id)]).await?;
        return Err(Error::PermissionDenied(
            "from 16 the pupil decides who sees their plan".into(),
        ));
    }
    plan.goals.retain(|g| access.plan_category(&g.category));
    plan.tasks.retain(|t| access.plan_category(&t.category));
    plan.notes.retain(|n| access.plan_category(&n.category));
    plan.events.retain(|e| access.plan_category(&e.category));
    carenet_fabric::audit::append(&store.db, &[link.entry("case_plan_read_by_guardian", &id)])
        .await?;
    Ok(Some(plan))
}

/// Whether the portal shows a link to the child's plan: the child has one
/// at this party and the guardian may see it today (see [`for_guardian`]).
/// No content, no audit.
pub async fn has_plan(store: &Store, link: &carenet_consent::portal::Linked) -> Result<bool> {
    if !link.access().page(carenet_consent::access::Page::Plan) {
        return Ok(false);
    }
    let (n,): (i64,) = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT COUNT(*) FROM case_plan WHERE child_ref = $1")
            .bind(link.child_ref())
            .fetch_one(pool)
            .await?
    });
    Ok(n > 0)
}
