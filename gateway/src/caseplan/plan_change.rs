//! The page where the case coordinator changes a plan after a meeting or an
//! evaluation ("bijstellen", issue 20): add a goal, an action or a member;
//! change or end a goal; change an action; end a membership. Each form
//! carries the plan version it was decided on and a form id; a form
//! decided on an older version (a second click, a page left open) is not
//! applied again: the page comes back with the new state and a Dutch
//! notice. Every change ends in post/redirect/get with a notice; a refused
//! form comes back as this page with what was typed, the field marked and
//! what to do in Dutch ([`crate::reasons`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_caseplan::change::{self, Addition};
use carenet_caseplan::plan;
use carenet_consent::Purpose;
use carenet_fabric::Error as F;
use carenet_proto::v1;

use crate::form::{Form, Kept, Pairs, field};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, Refused};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// What a stale form gets instead of a second effect.
pub(crate) const STALE: &str = "Dit is intussen gewijzigd; hieronder ziet u de nieuwe stand.";

/// An open goal as the page offers it for change.
struct GoalForm {
    /// Its place on the page (from 1): its inputs' ids, its forms' keys.
    n: usize,
    id: String,
    text: String,
    measure: String,
    /// YYYY-MM-DD, for the date picker.
    target_on: String,
}

/// An open action as the page offers it for change.
struct ActionForm {
    /// Its place on the page (from 1).
    n: usize,
    id: String,
    owner: String,
    what: String,
    due_on: String,
    state: &'static str,
    /// This party's own action: it may name a person ("Uitvoerder").
    own: bool,
    /// The person named, as the picker offers them (empty: the party).
    person: String,
}

/// An active member as the page offers it to end.
struct MemberForm {
    /// Its place on the page (from 1).
    n: usize,
    party: String,
    name: String,
    role: String,
    person: String,
}

/// Which of the page's forms was sent: the key its inputs are kept under.
pub(crate) enum Which {
    AddGoal,
    AddAction,
    AddMember,
    /// A goal's change, by the goal's id.
    Goal(String),
    /// A goal's end.
    EndGoal(String),
    /// An action's change, by the task's id.
    Action(String),
    /// A membership's end, by the member's party.
    Member(String),
}

/// The form's key on the page and its inputs by the slice's field names,
/// when the form is on it (a goal ended meanwhile is not).
fn inputs_of(
    which: &Which,
    goals: &[GoalForm],
    actions: &[ActionForm],
    members: &[MemberForm],
) -> Option<(String, Vec<(&'static str, String)>)> {
    let fixed = |key: &str, inputs: &[(&'static str, &str)]| {
        Some((
            key.to_owned(),
            inputs.iter().map(|(f, i)| (*f, (*i).to_owned())).collect(),
        ))
    };
    let numbered = |key: String, prefix: String, inputs: &[(&'static str, &str)]| {
        Some((
            key,
            inputs
                .iter()
                .map(|(f, i)| (*f, format!("{prefix}-{i}")))
                .collect(),
        ))
    };
    match which {
        Which::AddGoal => fixed(
            "doel-toevoegen",
            &[
                ("text", "nieuw-doel"),
                ("measure", "nieuw-doel-meten"),
                ("target_on", "nieuw-doel-streef"),
                ("category", "nieuw-doel-soort"),
            ],
        ),
        Which::AddAction => fixed(
            "actie-toevoegen",
            &[
                ("owner", "nieuwe-actie-wie"),
                ("what", "nieuwe-actie-wat"),
                ("person", "nieuwe-actie-uitvoerder"),
                ("goal", "nieuwe-actie-doel"),
                ("due_on", "nieuwe-actie-klaar"),
                ("category", "nieuwe-actie-soort"),
            ],
        ),
        Which::AddMember => fixed(
            "lid-toevoegen",
            &[
                ("consent_record", "nieuw-lid"),
                ("party", "nieuw-lid"),
                ("valid_from", "nieuw-lid"),
                ("valid_until", "nieuw-lid"),
                ("role", "nieuw-lid-rol"),
                ("person", "nieuw-lid-persoon"),
            ],
        ),
        Which::Goal(id) => {
            let g = goals.iter().find(|g| &g.id == id)?;
            numbered(
                g.edit_key(),
                format!("doel-{}", g.n),
                &[
                    ("text", "tekst"),
                    ("measure", "meten"),
                    ("target_on", "streef"),
                ],
            )
        }
        Which::EndGoal(id) => {
            let g = goals.iter().find(|g| &g.id == id)?;
            numbered(
                g.end_key(),
                format!("doel-{}", g.n),
                &[("status", "einde"), ("reason", "reden")],
            )
        }
        Which::Action(id) => {
            let a = actions.iter().find(|a| &a.id == id)?;
            numbered(
                a.key(),
                format!("actie-{}", a.n),
                &[
                    ("what", "wat"),
                    ("due_on", "klaar"),
                    ("person", "uitvoerder"),
                ],
            )
        }
        Which::Member(party) => {
            let m = members.iter().find(|m| &m.party == party)?;
            numbered(m.key(), format!("lid-{}", m.n), &[("reason", "reden")])
        }
    }
}

impl GoalForm {
    fn edit_key(&self) -> String {
        format!("doel-{}", self.n)
    }

    fn end_key(&self) -> String {
        format!("doel-{}-afsluiten", self.n)
    }

    /// The id of its input `what`.
    fn input(&self, what: &str) -> String {
        format!("doel-{}-{what}", self.n)
    }
}

impl ActionForm {
    fn key(&self) -> String {
        format!("actie-{}", self.n)
    }

    fn input(&self, what: &str) -> String {
        format!("actie-{}-{what}", self.n)
    }
}

impl MemberForm {
    fn key(&self) -> String {
        format!("lid-{}", self.n)
    }

    fn input(&self, what: &str) -> String {
        format!("lid-{}-{what}", self.n)
    }
}

#[derive(Template)]
#[template(path = "plan_adjust.html")]
struct AdjustPage {
    csrf: String,
    base: String,
    plan_href: String,
    pupil: String,
    version: u64,
    goals: Vec<GoalForm>,
    /// Ended goals: (text, "behaald"/"vervallen", reason).
    ended_goals: Vec<(String, &'static str, String)>,
    actions: Vec<ActionForm>,
    members: Vec<MemberForm>,
    /// Who may own an action: (party id, name).
    owners: Vec<(String, String)>,
    /// The guardians' consents for a new member: (party:record, label).
    candidates: Vec<(String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    /// Whom an action of this party may name as its "Uitvoerder".
    person_choices: Vec<String>,
    notice: Option<String>,
    /// What a refused form held, and why it was refused.
    kept: Kept,
    refused: Refusal,
}

fn adjust_href(id: &str) -> String {
    crate::href::path(&["plannen", id, "bijstellen"])
}

/// A goal's end in Dutch.
pub(crate) fn goal_status(code: &str) -> &'static str {
    match code {
        "achieved" => "behaald",
        "dropped" => "vervallen",
        _ => "loopt",
    }
}

/// `GET /plannen/{id}/bijstellen`: the plan's goals, actions and members,
/// each with the forms that change it.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &adjust_href(&id));
    match page(&state, &staff, &id, notice, None).await? {
        Some(page) => Ok((jar, render(&page)).into_response()),
        None => Ok(closed(&state, jar, &id)),
    }
}

/// A closed plan's way back to its page.
fn closed(state: &AppState, jar: PrivateCookieJar, id: &str) -> Response {
    done(
        state,
        jar,
        &crate::href::path(&["plannen", id]),
        "Dit plan is gesloten en kan niet meer worden bijgesteld.",
    )
}

/// The page (none when the plan is closed): as it stands, or with the
/// refused form `kept` as it was typed, its field marked.
async fn page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    kept: Option<(Which, Pairs, Refused)>,
) -> Result<Option<AdjustPage>, Error> {
    let base = adjust_href(id);
    let store = &state.inner.store;
    let p = plan::show(store, &staff.actor, id).await?;
    if p.header.status != "open" {
        return Ok(None);
    }
    let me = store.party.as_str();
    let active: Vec<&v1::CaseMember> = p.active_members().collect();
    let mut owners = vec![(me.to_owned(), labels::party_name(state, me))];
    owners.extend(
        active
            .iter()
            .map(|m| (m.party.clone(), labels::party_name(state, &m.party))),
    );
    let candidates = crate::consent::pages::granted(
        state,
        &staff.actor,
        &p.child_ref,
        Some(Purpose::CaseMembership),
    )
    .await?
    .into_iter()
    .flat_map(|c| {
        let parties: Vec<String> = c
            .version
            .recipients
            .iter()
            .filter_map(|r| match &r.target {
                Some(v1::consent_recipient::Target::PartyId(p)) => Some(p.clone()),
                _ => None,
            })
            .filter(|p| p != me && !active.iter().any(|m| &m.party == p))
            .collect();
        let (record, what) = crate::consent::pages::choice(c);
        parties
            .into_iter()
            .map(|party| {
                (
                    format!("{party}:{record}"),
                    format!("{}: {what}", labels::party_name(state, &party)),
                )
            })
            .collect::<Vec<_>>()
    })
    .collect();
    let goals: Vec<GoalForm> = p
        .goals
        .iter()
        .filter(|g| matches!(g.status.as_str(), "open" | ""))
        .enumerate()
        .map(|(i, g)| GoalForm {
            n: i + 1,
            id: g.id.clone(),
            text: g.text.clone(),
            measure: g.measure.clone(),
            target_on: g.target_on.clone(),
        })
        .collect();
    let people = crate::staff_directory::all(&store.db).await?;
    let person_choices = crate::caseplan::my_actions::person_choices(state).await?;
    let mut actions = Vec::new();
    for (i, t) in p
        .tasks
        .iter()
        .filter(|t| {
            matches!(
                t.state.as_str(),
                "requested" | "accepted" | "in_progress" | "on_hold"
            )
        })
        .enumerate()
    {
        let person = if t.person.is_empty() {
            String::new()
        } else {
            crate::staff_directory::choice_of(
                state,
                &t.person,
                carenet_caseplan::roles::NAMED.roles,
            )
            .await?
            .or_else(|| {
                people
                    .iter()
                    .find(|p| p.staff == t.person)
                    .map(|p| p.staff.clone())
            })
            .unwrap_or_else(|| t.person.clone())
        };
        actions.push(ActionForm {
            n: i + 1,
            id: t.id.clone(),
            owner: labels::party_name(state, &t.owner),
            what: t.what.clone(),
            due_on: t.due_on.clone(),
            state: crate::caseplan::plans::task_state(&t.state),
            own: t.owner == me,
            person,
        });
    }
    let members: Vec<MemberForm> = active
        .iter()
        .enumerate()
        .map(|(i, m)| MemberForm {
            n: i + 1,
            party: m.party.clone(),
            name: labels::party_name(state, &m.party),
            role: m.role.clone(),
            person: m.person.clone(),
        })
        .collect();
    let (kept, refused) = match kept {
        None => (Kept::default(), Refusal::none()),
        Some((which, pairs, refused)) => match inputs_of(&which, &goals, &actions, &members) {
            Some((key, inputs)) => {
                let inputs: Vec<(&str, &str)> =
                    inputs.iter().map(|(f, i)| (*f, i.as_str())).collect();
                (Kept::of(key, pairs), Refusal(Some(refused.at(&inputs))))
            }
            None => (Kept::default(), Refusal(Some(refused))),
        },
    };
    Ok(Some(AdjustPage {
        csrf: staff.session.csrf.clone(),
        base,
        plan_href: crate::href::path(&["plannen", id]),
        pupil: p.pupil.name.clone(),
        version: p.version,
        goals,
        ended_goals: p
            .goals
            .iter()
            .filter(|g| !matches!(g.status.as_str(), "open" | ""))
            .map(|g| (g.text.clone(), goal_status(&g.status), g.end_reason.clone()))
            .collect(),
        actions,
        members,
        owners,
        candidates,
        categories: crate::caseplan::plans::action_categories(),
        person_choices,
        notice,
        kept,
        refused,
    }))
}

/// The page again after a change: PRG with `text`; a stale form gets the
/// new state with its Dutch notice; a refused one comes back as the page
/// with what was typed (`which` form's `pairs`) and what to do.
#[allow(clippy::too_many_arguments)]
async fn after(
    state: &AppState,
    staff: &Staff,
    jar: PrivateCookieJar,
    id: &str,
    which: Which,
    pairs: Pairs,
    result: carenet_caseplan::Result<()>,
    text: &str,
) -> Result<Response, Error> {
    let here = adjust_href(id);
    match result {
        Ok(()) => Ok(done(state, jar, &here, text)),
        Err(F::Aborted(_)) => Ok(done(state, jar, &here, STALE)),
        Err(F::FailedPrecondition(_)) => Ok(done(
            state,
            jar,
            &here,
            "Niet opgeslagen: dit onderdeel is al afgesloten. Hieronder ziet u de nieuwe stand.",
        )),
        Err(e) => {
            let refused = crate::reasons::refusal(e.into())?;
            match page(
                state,
                staff,
                id,
                None,
                Some((which, pairs, refused.clone())),
            )
            .await?
            {
                Some(page) => Ok(refused.respond(render(&page))),
                None => Ok(closed(state, jar, id)),
            }
        }
    }
}

/// The refusal of an "Uitvoerder" the directory does not know: it comes
/// back as the page with what was typed, the field marked.
fn unknown_person() -> carenet_caseplan::Result<()> {
    Err(F::invalid(
        "action.person",
        "not a member of staff in this party's directory: pick one it lists",
    )
    .coded(carenet_fabric::Reason::UnknownPerson))
}

fn seen(pairs: &Pairs) -> Result<u64, Error> {
    field(pairs, "plan_version")
        .trim()
        .parse()
        .map_err(|_| Error::invalid("plan_version", "a number"))
}

/// `POST /plannen/{id}/bijstellen`: add a goal, an action or a member.
pub(crate) async fn add(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let seen = seen(&pairs)?;
    let mut addition = Addition::default();
    let (which, text) = match f("kind").as_str() {
        "goal" => {
            addition.goals.push(v1::CaseGoal {
                text: f("text"),
                measure: f("measure"),
                target_on: f("target_on"),
                category: f("category"),
                ..Default::default()
            });
            (
                Which::AddGoal,
                "Het doel is toegevoegd en naar de leden verstuurd.",
            )
        }
        "action" => {
            // Who at this party does it: picked from the staff directory.
            let person = match crate::caseplan::my_actions::resolve_person(
                &state,
                "person",
                &f("owner"),
                &f("person"),
            )
            .await?
            {
                Ok(p) => p,
                Err(_) => {
                    let (which, refused) = (Which::AddAction, unknown_person());
                    return after(&state, &staff, jar, &id, which, pairs, refused, "").await;
                }
            };
            addition.actions.push(v1::CaseAction {
                owner: f("owner"),
                what: f("what"),
                goal: f("goal"),
                due_on: f("due_on"),
                category: f("category"),
                person,
            });
            (
                Which::AddAction,
                "De actie is toegevoegd en naar de leden verstuurd.",
            )
        }
        "member" => {
            let choice = f("consent");
            let (party, record) = choice.split_once(':').unwrap_or(("", ""));
            addition.members.push(v1::CaseMember {
                party: party.to_owned(),
                role: f("role"),
                person: f("person"),
                consent_record: record.to_owned(),
                ..Default::default()
            });
            (
                Which::AddMember,
                "Het lid is toegevoegd en krijgt het plan.",
            )
        }
        _ => return Err(Error::invalid("kind", "goal, action or member")),
    };
    let result = change::add(
        &state.inner.store,
        &staff.actor,
        &id,
        seen,
        &f("form_id"),
        addition,
    )
    .await;
    after(&state, &staff, jar, &id, which, pairs, result, text).await
}

/// `POST /plannen/{id}/doelen/{goal}`: change a goal, or end it.
pub(crate) async fn goal(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, goal_id)): Path<(String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let seen = seen(&pairs)?;
    let store = &state.inner.store;
    let (which, result, text) = if f("do") == "end" {
        (
            Which::EndGoal(goal_id.clone()),
            change::end_goal(
                store,
                &staff.actor,
                &id,
                seen,
                &goal_id,
                &f("status"),
                &f("reason"),
            )
            .await,
            "Het doel is afgesloten.",
        )
    } else {
        (
            Which::Goal(goal_id.clone()),
            change::edit_goal(
                store,
                &staff.actor,
                &id,
                seen,
                &goal_id,
                &f("text"),
                &f("measure"),
                &f("target_on"),
            )
            .await,
            "Het doel is gewijzigd.",
        )
    };
    after(&state, &staff, jar, &id, which, pairs, result, text).await
}

/// `POST /plannen/{id}/acties/{task}`: change what an action is and when
/// it is due.
pub(crate) async fn action(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, task_id)): Path<(String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let seen = seen(&pairs)?;
    let person = match crate::caseplan::my_actions::resolve_person(
        &state,
        "person",
        state.inner.party.as_str(),
        &f("person"),
    )
    .await?
    {
        Ok(p) => p,
        Err(_) => {
            let which = Which::Action(task_id);
            return after(&state, &staff, jar, &id, which, pairs, unknown_person(), "").await;
        }
    };
    let result = change::edit_task(
        &state.inner.store,
        &staff.actor,
        &id,
        seen,
        &task_id,
        &f("what"),
        &f("due_on"),
        &person,
    )
    .await;
    after(
        &state,
        &staff,
        jar,
        &id,
        Which::Action(task_id),
        pairs,
        result,
        "De actie is gewijzigd.",
    )
    .await
}

/// `POST /plannen/{id}/leden/{party}`: end a membership.
pub(crate) async fn end_member(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((id, party)): Path<(String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let seen = seen(&pairs)?;
    let result = change::end_member(
        &state.inner.store,
        &staff.actor,
        &id,
        seen,
        &party,
        &f("reason"),
    )
    .await;
    after(
        &state,
        &staff,
        jar,
        &id,
        Which::Member(party),
        pairs,
        result,
        "Het lidmaatschap is beëindigd; de open acties van dit lid zijn geannuleerd.",
    )
    .await
}
