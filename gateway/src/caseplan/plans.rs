//! Staff pages of one child, one plan: the coordinator's whole plan with
//! its tasks and timeline, and a member's view from its own node, with
//! progress on its own tasks. Each handler calls the caseplan slice with the
//! signed-in actor; the slice checks roles and consent. A refused form (an
//! evaluation, a step or a note) comes back as its page with what was
//! typed, the field marked and what to do in Dutch ([`crate::reasons`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_caseplan::task::{self, State as TaskState, Step, Who};
use carenet_caseplan::{member, plan};
use carenet_consent::Category;
use carenet_proto::v1;

use crate::form::{Form, Kept, Pairs, field};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, Refused};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// A task's state in Dutch.
pub(crate) fn task_state(code: &str) -> &'static str {
    match code {
        "requested" => "gevraagd",
        "accepted" => "aangenomen",
        "rejected" => "afgewezen",
        "in_progress" => "in uitvoering",
        "on_hold" => "gepauzeerd",
        "completed" => "afgerond",
        "failed" => "niet gelukt",
        "cancelled" => "geannuleerd",
        _ => "onbekend",
    }
}

/// A step on a task, as its button says it.
pub fn step_label(step: Step) -> &'static str {
    match step {
        Step::Accept => "Aannemen",
        Step::Reject => "Afwijzen",
        Step::Start => "Starten",
        Step::Hold => "Pauzeren",
        Step::Resume => "Hervatten",
        Step::Complete => "Afronden",
        Step::Fail => "Niet gelukt",
        Step::Cancel => "Annuleren",
    }
}

/// Why a membership ended, in Dutch (the slice's reasons are codes in
/// English words; the case coordinator's own reason is shown as written).
fn end_reason(reason: &str) -> String {
    if let Some(why) = reason.strip_prefix(carenet_caseplan::change::ENDED_BY_COORDINATOR) {
        return format!("beëindigd door de casusregisseur: {why}");
    }
    match reason {
        "consent withdrawn" => "toestemming ingetrokken",
        "period ended" => "periode voorbij",
        "consent expired" => "toestemming verlopen",
        _ => "toestemming geldt niet meer",
    }
    .to_owned()
}

/// A task's reason in Dutch where the slice set it (a closed plan, an
/// ended membership); a person's own reason as written.
fn task_reason(reason: &str) -> String {
    match reason {
        "plan closed" => "plan gesloten".to_owned(),
        "membership ended" => "lidmaatschap beëindigd".to_owned(),
        other => other.to_owned(),
    }
}

/// The categories an action may have: (code, words).
pub(crate) fn action_categories() -> Vec<(&'static str, &'static str)> {
    [
        Category::ActionPlans,
        Category::EducationalSupport,
        Category::Absence,
        Category::HomeSituation,
        Category::ExternalCare,
        Category::CareHistory,
        Category::Diagnosis,
    ]
    .into_iter()
    .map(|c| (c.as_str(), labels::category(c)))
    .collect()
}

/// Today's date as the pages' date fields take it (dd-mm-jjjj).
pub(crate) fn today() -> String {
    carenet_consent::record::format_date(carenet_fabric::clock::today())
}

/// A task as a page shows it, with the steps the viewer may take.
struct TaskRow {
    id: String,
    owner: String,
    /// Who at the owner does it, by name; empty: the party.
    person: String,
    what: String,
    due_on: String,
    state: &'static str,
    reason: String,
    version: u32,
    /// (step code, button label, needs a reason)
    steps: Vec<(&'static str, &'static str, bool)>,
    /// Whether its owner may send a progress note (no change of state).
    note: bool,
}

fn task_row(state: &AppState, t: &v1::CaseTask, who: Option<Who>) -> TaskRow {
    let current = TaskState::parse("state", &t.state).ok();
    let steps = match (current, who) {
        (Some(s), Some(who)) => Step::all()
            .filter(|step| task::next(s, *step, who).is_ok())
            .map(|step| (step.as_str(), step_label(step), step.needs_reason()))
            .collect(),
        _ => Vec::new(),
    };
    TaskRow {
        id: t.id.clone(),
        owner: labels::party_name(state, &t.owner),
        person: String::new(),
        what: t.what.clone(),
        due_on: labels::date_text(&t.due_on),
        state: task_state(&t.state),
        reason: task_reason(&t.reason),
        version: t.version,
        note: false,
        steps,
    }
}

/// Why the holder refused a member's progress, in Dutch (the slice writes
/// its reason in English words on the timeline).
fn refusal(why: &str) -> String {
    if let Some(state) = why
        .strip_prefix("a ")
        .and_then(|rest| rest.split_once(" task: "))
        .map(|(state, _)| state)
    {
        return format!(
            "deze stap past niet bij de stand van de actie ({})",
            task_state(state)
        );
    }
    match why {
        "the plan is closed" => "het plan is gesloten",
        "this step needs a reason" => "deze stap vraagt een toelichting",
        "a note needs text" => "een notitie zonder tekst",
        "the task is another party's" => "de actie is van een andere organisatie",
        "no such task" => "de actie bestaat niet (meer)",
        _ => "deze voortgang kon niet worden verwerkt",
    }
    .to_owned()
}

/// (when, who, what) of a timeline line.
fn event_row(state: &AppState, e: &v1::CaseEvent) -> (String, String, String) {
    let when = time::OffsetDateTime::from_unix_timestamp(e.at_ms / 1000)
        .map(|t| labels::date_text(&carenet_consent::record::format_date(t.date())))
        .unwrap_or_default();
    // "<party>: rest" and "<party> (rest)" name the party by its name.
    let named = |text: &str| match text.split_once([':', ' ']) {
        Some((party, rest)) => format!(
            "{}{}{rest}",
            labels::party_name(state, party),
            &text[party.len()..party.len() + 1]
        ),
        None => text.to_owned(),
    };
    let what = match e.kind.as_str() {
        "plan_opened" => "plan geopend".to_owned(),
        "plan_added" => "plan aangevuld".to_owned(),
        "member_added" => format!("lid toegevoegd: {}", named(&e.text)),
        "member_ended" => {
            let (party, why) = e.text.split_once(": ").unwrap_or((e.text.as_str(), ""));
            format!(
                "lidmaatschap beëindigd: {} ({})",
                labels::party_name(state, party),
                end_reason(why)
            )
        }
        "task_added" => format!("actie voor {}", named(&e.text)),
        "task_step" => {
            // "from → to" or "from → to: note", states in code.
            let (states, note) = e.text.split_once(": ").unwrap_or((e.text.as_str(), ""));
            let states = match states.split_once(" → ") {
                Some((from, to)) => format!("{} → {}", task_state(from), task_state(to)),
                None => states.to_owned(),
            };
            if note.is_empty() {
                format!("actie bijgewerkt: {states}")
            } else {
                format!("actie bijgewerkt: {states} ({note})")
            }
        }
        "progress_refused" => format!("voortgang geweigerd: {}", refusal(&e.text)),
        "evaluated" => {
            // "YYYY-MM-DD: outcome"
            let (held, outcome) = e.text.split_once(": ").unwrap_or(("", e.text.as_str()));
            let outcome = match outcome {
                "continue" => "doorgaan",
                "adjust" => "bijstellen",
                "close" => "afsluiten",
                other => other,
            };
            format!("geëvalueerd op {}: {outcome}", labels::date_text(held))
        }
        "goal_added" => format!("doel toegevoegd: {}", e.text),
        "goal_changed" => {
            // "text\ntarget date"
            let (text, target) = e.text.split_once('\n').unwrap_or((e.text.as_str(), ""));
            format!(
                "doel gewijzigd: {text} (streefdatum {})",
                labels::date_text(target)
            )
        }
        "goal_ended" => {
            // "status\ntext\nreason"
            let mut parts = e.text.splitn(3, '\n');
            let (status, text, reason) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            format!(
                "doel {}: {text} ({reason})",
                crate::caseplan::plan_change::goal_status(status)
            )
        }
        "task_changed" => {
            // "owner\nwhat\ndue date"
            let mut parts = e.text.splitn(3, '\n');
            let (owner, what, due) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            format!(
                "actie gewijzigd voor {}: {what} (klaar op {})",
                labels::party_name(state, owner),
                labels::date_text(due)
            )
        }
        "member_removed" => {
            // "party\nreason"
            let (party, why) = e.text.split_once('\n').unwrap_or((e.text.as_str(), ""));
            format!(
                "lidmaatschap beëindigd door de casusregisseur: {} ({why})",
                labels::party_name(state, party)
            )
        }
        "task_note" => format!("notitie bij een actie: {}", e.text),
        "plan_closed" => match e.text.as_str() {
            "evaluated: close" => "plan gesloten na de evaluatie".to_owned(),
            other => format!("plan gesloten: {other}"),
        },
        _ => e.text.clone(),
    };
    (when, labels::party_name(state, &e.party), what)
}

#[derive(Template)]
#[template(path = "plans.html")]
struct PlansPage {
    csrf: String,
    /// (href, pupil, status, open tasks, members, evaluation date, new notes)
    held: Vec<(String, String, &'static str, u64, u64, String, u64)>,
    /// (href, pupil, holder)
    member_of: Vec<(String, String, String)>,
    holds: bool,
    /// Whether the reader may read the ZAT case files this party received.
    zat_member: bool,
}

/// `GET /plannen`: the plans this party holds and those it is a member of.
pub(crate) async fn plans(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<crate::caseplan::worklist::PlansQuery>,
) -> Result<Response, Error> {
    // The start page's filtered lists.
    if let Some(page) = crate::caseplan::worklist::plans(&state, &staff, &query).await? {
        return Ok(page);
    }
    let member::Overview {
        holds,
        held,
        member_of,
    } = member::overview(&state.inner.store, &staff.actor).await?;
    Ok(render(&PlansPage {
        csrf: staff.session.csrf,
        held: held
            .into_iter()
            .map(|p| {
                (
                    crate::href::path(&["plannen", &p.id]),
                    p.child_name,
                    if p.status == "open" {
                        "open"
                    } else {
                        "gesloten"
                    },
                    p.open_tasks,
                    p.members,
                    labels::date_text(&p.evaluation_on),
                    p.new_notes,
                )
            })
            .collect(),
        member_of: member_of
            .into_iter()
            .map(|m| {
                (
                    crate::href::path(&["deelname", &m.holder, &m.plan_id]),
                    m.pupil_name.unwrap_or_else(|| "(naam niet gedeeld)".into()),
                    labels::party_name(&state, &m.holder),
                )
            })
            .collect(),
        holds,
        zat_member: staff
            .actor
            .may(&state.inner.party, &carenet_referral::roles::ZAT_MEMBER)
            .is_ok(),
    }))
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    csrf: String,
    /// Where the step forms post: `/plannen/{id}` or `/deelname/{holder}/{id}`.
    base: String,
    holder: String,
    pupil: String,
    status: &'static str,
    open: bool,
    coordinator: String,
    reports_back: String,
    evaluation_on: String,
    /// (party name, role, person, ended: "" or why)
    members: Vec<(String, String, String, String)>,
    /// (text, measure, target date, ended: "" or status and reason)
    goals: Vec<(String, String, String, String)>,
    tasks: Vec<TaskRow>,
    /// (kind, text)
    notes: Vec<(String, String)>,
    /// (held on, outcome, text)
    evaluations: Vec<(String, String, String)>,
    events: Vec<(String, String, String)>,
    /// The holder's page (evaluate) or a member's view.
    is_holder: bool,
    today: String,
    notice: Option<String>,
    /// What a refused form held (a step's reason, the evaluation), and why.
    kept: Kept,
    refused: Refusal,
}

/// Which form of a plan's page was sent.
pub(crate) enum PlanForm {
    Evaluation,
    /// A step (or a note) on a task, by the task's id.
    Step(String),
}

impl PlanForm {
    /// Its key on the page, and its inputs by the slice's field names.
    fn inputs(&self) -> (String, Vec<(&'static str, String)>) {
        match self {
            PlanForm::Evaluation => (
                "evaluatie".to_owned(),
                [
                    ("held_on", "eval-held"),
                    ("text", "eval-text"),
                    ("outcome", "eval-outcome"),
                    ("next_on", "eval-next"),
                ]
                .into_iter()
                .map(|(f, i)| (f, i.to_owned()))
                .collect(),
            ),
            PlanForm::Step(task) => (
                step_key(task),
                vec![("reason", step_input(task)), ("note", step_input(task))],
            ),
        }
    }
}

fn step_key(task: &str) -> String {
    format!("taak-{task}")
}

fn step_input(task: &str) -> String {
    format!("reden-{task}")
}

impl TaskRow {
    /// The key of its step form.
    fn key(&self) -> String {
        step_key(&self.id)
    }

    /// The id of its reason's input.
    fn input(&self) -> String {
        step_input(&self.id)
    }
}

/// A refused form of a plan's page: the form with what was typed, and
/// the refusal marking its field.
fn kept_on_page(kept: Option<(PlanForm, Pairs, Refused)>) -> (Kept, Refusal) {
    match kept {
        None => (Kept::default(), Refusal::none()),
        Some((form, pairs, refused)) => {
            let (key, inputs) = form.inputs();
            let inputs: Vec<(&str, &str)> = inputs.iter().map(|(f, i)| (*f, i.as_str())).collect();
            (Kept::of(key, pairs), Refusal(Some(refused.at(&inputs))))
        }
    }
}

fn note_kind(kind: &str) -> String {
    match kind {
        "analysis" => "Analyse",
        "needs" => "Onderwijs- en ondersteuningsbehoeften",
        "directions" => "Oplossingsrichtingen",
        "decisions" => "Besluiten",
        other => other,
    }
    .to_owned()
}

/// `GET /plannen/{id}`: the whole plan this party holds.
pub(crate) async fn show_plan(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &crate::href::path(&["plannen", &id]));
    let page = plan_page(&state, &staff, &id, notice, None).await?;
    Ok((jar, page).into_response())
}

/// The holder's page of plan `id`: as it stands, or with the refused form
/// `kept` as it was typed.
async fn plan_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    kept: Option<(PlanForm, Pairs, Refused)>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let p = plan::show(store, &staff.actor, id).await?;
    let open = p.header.status == "open";
    let me = store.party.as_str();
    // This party's staff, by name from its staff directory.
    let names = crate::staff_directory::Names::load(state).await?;
    let (kept, refused) = kept_on_page(kept);
    Ok(render(&PlanPage {
        csrf: staff.session.csrf.clone(),
        base: crate::href::path(&["plannen", id]),
        holder: labels::party_name(state, me),
        pupil: p.pupil.name.clone(),
        status: if open { "open" } else { "gesloten" },
        open,
        coordinator: names.of(&p.header.coordinator),
        // A staff id by name; a sentence ("zc-1 belt de ouders") as it is.
        reports_back: names
            .known(&p.header.reports_back)
            .unwrap_or_else(|| p.header.reports_back.clone()),
        evaluation_on: labels::date_text(&p.header.evaluation_on),
        members: members(state, &p.header.members),
        goals: goal_rows(&p.goals),
        tasks: p
            .tasks
            .iter()
            .map(|t| {
                // The holder steps its own tasks and cancels any open one.
                let who = if !open {
                    None
                } else if t.owner == me {
                    Some(Who::Owner)
                } else {
                    Some(Who::Coordinator)
                };
                let mut row = task_row(state, t, who);
                // A member's person is named only if this directory knows them.
                if t.owner == me && !t.person.is_empty() {
                    row.person = names.of(&t.person);
                } else if let Some(name) = names.known(&t.person) {
                    row.person = name;
                }
                if t.owner == me && open {
                    let cancel = task_row(state, t, Some(Who::Coordinator)).steps;
                    row.steps.extend(cancel);
                }
                row
            })
            .collect(),
        notes: note_rows(&p.notes),
        evaluations: evaluation_rows(&p.evaluations),
        events: event_rows(state, &p.events),
        is_holder: true,
        today: today(),
        notice,
        kept,
        refused,
    }))
}

fn members(state: &AppState, members: &[v1::CaseMember]) -> Vec<(String, String, String, String)> {
    members
        .iter()
        .map(|m| {
            let ended = if m.ended_on.is_empty() {
                String::new()
            } else {
                format!(
                    "beëindigd op {} ({})",
                    labels::date_text(&m.ended_on),
                    end_reason(&m.end_reason)
                )
            };
            (
                labels::party_name(state, &m.party),
                m.role.clone(),
                m.person.clone(),
                ended,
            )
        })
        .collect()
}

/// `POST /plannen/{id}/taken/{task}`: a step by the holder's staff.
pub(crate) async fn step(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, task_id)): Path<(String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let version: u32 = f("version")
        .parse()
        .map_err(|_| Error::invalid("version", "a number"))?;
    let here = crate::href::path(&["plannen", &id]);
    match plan::step(
        &state.inner.store,
        &staff.actor,
        &id,
        &task_id,
        &f("step"),
        version,
        &f("reason"),
    )
    .await
    {
        Ok(_) => Ok(done(&state, jar, &here, "De actie is bijgewerkt.")),
        // A second click, or a page left open: no second effect.
        Err(carenet_fabric::Error::Aborted(_)) => Ok(done(
            &state,
            jar,
            &here,
            crate::caseplan::plan_change::STALE,
        )),
        // Refused (a step that needs a reason): the page again, with it.
        Err(e) => {
            let refused = crate::reasons::refusal(e.into())?;
            let kept = (PlanForm::Step(task_id), pairs, refused.clone());
            let page = plan_page(&state, &staff, &id, None, Some(kept)).await?;
            Ok(refused.respond(page))
        }
    }
}

/// `POST /plannen/{id}/evaluatie`: an evaluation of the plan.
pub(crate) async fn evaluate(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let outcome = f("outcome");
    let evaluated = plan::evaluate(
        &state.inner.store,
        &staff.actor,
        &id,
        &plan::Evaluation {
            id: f("form_id"),
            held_on: f("held_on"),
            text: f("text"),
            outcome: outcome.clone(),
            next_on: f("next_on"),
        },
    )
    .await;
    if let Err(e) = evaluated {
        // The page again, with the evaluation as it was typed.
        let refused = crate::reasons::refusal(e.into())?;
        let kept = (PlanForm::Evaluation, pairs, refused.clone());
        let page = plan_page(&state, &staff, &id, None, Some(kept)).await?;
        return Ok(refused.respond(page));
    }
    // "Bijstellen" leads straight to where the plan is changed.
    if outcome == "adjust" {
        return Ok(done(
            &state,
            jar,
            &crate::href::path(&["plannen", &id, "bijstellen"]),
            "De evaluatie is vastgelegd. Stel het plan hieronder bij.",
        ));
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["plannen", &id]),
        "De evaluatie is vastgelegd.",
    ))
}

/// `GET /deelname/{holder}/{id}`: this member's view of a plan held
/// elsewhere: only the sections its consent covers; its own tasks with
/// the steps it may report.
pub(crate) async fn show_view(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path((holder, id)): Path<(String, String)>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &crate::href::path(&["deelname", &holder, &id]));
    let page = view_page(&state, &staff, &holder, &id, notice, None).await?;
    Ok((jar, page).into_response())
}

/// This member's page of plan `id` held by `holder`: as it stands, or
/// with the refused form `kept` as it was typed.
async fn view_page(
    state: &AppState,
    staff: &Staff,
    holder: &str,
    id: &str,
    notice: Option<String>,
    kept: Option<(PlanForm, Pairs, Refused)>,
) -> Result<Response, Error> {
    let here = crate::href::path(&["deelname", holder, id]);
    let store = &state.inner.store;
    let v = member::show(store, &staff.actor, holder, id).await?;
    let me = store.party.as_str();
    let header = v.header.clone().unwrap_or_default();
    let open = header.status == "open";
    // A person named on this party's own action is one of its staff.
    let names = crate::staff_directory::Names::load(state).await?;
    let (kept, refused) = kept_on_page(kept);
    Ok(render(&PlanPage {
        csrf: staff.session.csrf.clone(),
        base: here,
        holder: labels::party_name(state, holder),
        pupil: v
            .pupil
            .as_ref()
            .map_or_else(|| "(naam niet gedeeld)".to_owned(), |p| p.name.clone()),
        status: if open { "open" } else { "gesloten" },
        open,
        // The holder's staff: its directory is not this party's.
        coordinator: format!("medewerker van {}", labels::party_name(state, holder)),
        reports_back: header.reports_back.clone(),
        evaluation_on: labels::date_text(&header.evaluation_on),
        members: members(state, &header.members),
        goals: goal_rows(&v.goals),
        tasks: v
            .tasks
            .iter()
            .map(|t| {
                let who = (open && t.owner == me).then_some(Who::Owner);
                let mut row = task_row(state, t, who);
                if t.owner == me && !t.person.is_empty() {
                    row.person = names.of(&t.person);
                }
                row.steps.retain(|(s, _, _)| *s != "cancel");
                row.note = who.is_some()
                    && matches!(
                        t.state.as_str(),
                        "requested" | "accepted" | "in_progress" | "on_hold"
                    );
                row
            })
            .collect(),
        notes: note_rows(&v.notes),
        evaluations: evaluation_rows(&v.evaluations),
        events: event_rows(state, &v.events),
        is_holder: false,
        today: today(),
        notice,
        kept,
        refused,
    }))
}

/// The parts of a plan both the holder's page and a member's show.
fn goal_rows(goals: &[v1::CaseGoal]) -> Vec<(String, String, String, String)> {
    goals
        .iter()
        .map(|g| {
            let ended = if matches!(g.status.as_str(), "open" | "") {
                String::new()
            } else {
                format!(
                    "{}: {}",
                    crate::caseplan::plan_change::goal_status(&g.status),
                    g.end_reason
                )
            };
            (
                g.text.clone(),
                g.measure.clone(),
                labels::date_text(&g.target_on),
                ended,
            )
        })
        .collect()
}

fn note_rows(notes: &[v1::CaseNote]) -> Vec<(String, String)> {
    notes
        .iter()
        .map(|n| (note_kind(&n.kind), n.text.clone()))
        .collect()
}

fn evaluation_rows(evaluations: &[v1::CaseEvaluation]) -> Vec<(String, String, String)> {
    evaluations
        .iter()
        .map(|e| {
            let outcome = match e.outcome.as_str() {
                "continue" => "doorgaan",
                "adjust" => "bijstellen",
                "close" => "afsluiten",
                _ => "onbekend",
            };
            (
                labels::date_text(&e.held_on),
                outcome.to_owned(),
                e.text.clone(),
            )
        })
        .collect()
}

/// The timeline, newest first.
fn event_rows(state: &AppState, events: &[v1::CaseEvent]) -> Vec<(String, String, String)> {
    events.iter().rev().map(|e| event_row(state, e)).collect()
}

/// `POST /deelname/{holder}/{id}/taken/{task}`: this member reports a step
/// on its own task to the holder (through the exchange).
pub(crate) async fn report(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((holder, id, task_id)): Path<(String, String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let version: u32 = f("version")
        .parse()
        .map_err(|_| Error::invalid("version", "a number"))?;
    let here = crate::href::path(&["deelname", &holder, &id]);
    let step = f("step");
    match member::report(
        &state.inner.store,
        &staff.actor,
        &holder,
        &id,
        &task_id,
        &step,
        version,
        &f("reason"),
    )
    .await
    {
        Ok(_) if step == carenet_caseplan::model::NOTE_STEP => Ok(done(
            &state,
            jar,
            &here,
            "Uw notitie is verstuurd aan de casusregisseur.",
        )),
        Ok(_) => Ok(done(
            &state,
            jar,
            &here,
            "Uw voortgang is verstuurd aan de casusregisseur.",
        )),
        Err(carenet_fabric::Error::Aborted(_)) => Ok(done(
            &state,
            jar,
            &here,
            crate::caseplan::plan_change::STALE,
        )),
        // Refused (a note without text): the page again, with the form.
        Err(e) => {
            let refused = crate::reasons::refusal(e.into())?;
            let kept = (PlanForm::Step(task_id), pairs, refused.clone());
            let page = view_page(&state, &staff, &holder, &id, None, Some(kept)).await?;
            Ok(refused.respond(page))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holders_refusals_and_reasons_read_in_dutch() {
        let refused = task::next(TaskState::Completed, Step::Start, Who::Owner).unwrap_err();
        assert_eq!(
            refusal(&refused.to_string()),
            "deze stap past niet bij de stand van de actie (afgerond)"
        );
        assert_eq!(refusal("the plan is closed"), "het plan is gesloten");
        assert_eq!(
            refusal("something new"),
            "deze voortgang kon niet worden verwerkt"
        );
        assert_eq!(task_reason("membership ended"), "lidmaatschap beëindigd");
        assert_eq!(
            end_reason("coordinator: gezin verhuisd"),
            "beëindigd door de casusregisseur: gezin verhuisd"
        );
        assert_eq!(end_reason("consent withdrawn"), "toestemming ingetrokken");
    }
}
