//! The page where the case coordinator changes a plan after a meeting or an
//! evaluation ("bijstellen", issue 20): add a goal, an action or a member;
//! change or end a goal; change an action; end a membership. Each form
//! carries the plan version it was decided on and a form id; a form
//! decided on an older version (a second click, a page left open) is not
//! applied again: the page comes back with the new state and a Dutch
//! notice. Every change ends in post/redirect/get with a notice.

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

use crate::form::{Form, Pairs, field};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// What a stale form gets instead of a second effect.
pub(crate) const STALE: &str = "Dit is intussen gewijzigd; hieronder ziet u de nieuwe stand.";

/// An open goal as the page offers it for change.
struct GoalForm {
    id: String,
    text: String,
    measure: String,
    /// YYYY-MM-DD, for the date picker.
    target_on: String,
}

/// An open action as the page offers it for change.
struct ActionForm {
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
    /// Active members: (party id, name, role, person).
    members: Vec<(String, String, String, String)>,
    /// Who may own an action: (party id, name).
    owners: Vec<(String, String)>,
    /// The guardians' consents for a new member: (party:record, label).
    candidates: Vec<(String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    /// Whom an action of this party may name as its "Uitvoerder".
    person_choices: Vec<String>,
    notice: Option<String>,
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
    let base = adjust_href(&id);
    let (jar, notice) = notice(jar, &base);
    let store = &state.inner.store;
    let p = plan::show(store, &staff.actor, &id).await?;
    if p.header.status != "open" {
        return Ok(done(
            &state,
            jar,
            &crate::href::path(&["plannen", &id]),
            "Dit plan is gesloten en kan niet meer worden bijgesteld.",
        ));
    }
    let me = store.party.as_str();
    let active: Vec<&v1::CaseMember> = p.active_members().collect();
    let mut owners = vec![(me.to_owned(), labels::party_name(&state, me))];
    owners.extend(
        active
            .iter()
            .map(|m| (m.party.clone(), labels::party_name(&state, &m.party))),
    );
    let candidates = crate::consent::granted(
        &state,
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
        let (record, what) = crate::consent::choice(c);
        parties
            .into_iter()
            .map(|party| {
                (
                    format!("{party}:{record}"),
                    format!("{}: {what}", labels::party_name(&state, &party)),
                )
            })
            .collect::<Vec<_>>()
    })
    .collect();
    let people = crate::staff_directory::all(&store.db).await?;
    let person_choices = crate::my_actions::person_choices(&state).await?;
    let mut actions = Vec::new();
    for t in p.tasks.iter().filter(|t| {
        matches!(
            t.state.as_str(),
            "requested" | "accepted" | "in_progress" | "on_hold"
        )
    }) {
        let person = if t.person.is_empty() {
            String::new()
        } else {
            crate::staff_directory::choice_of(
                &state,
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
            id: t.id.clone(),
            owner: labels::party_name(&state, &t.owner),
            what: t.what.clone(),
            due_on: t.due_on.clone(),
            state: crate::care::task_state(&t.state),
            own: t.owner == me,
            person,
        });
    }
    let page = render(&AdjustPage {
        csrf: staff.session.csrf,
        base,
        plan_href: crate::href::path(&["plannen", &id]),
        pupil: p.pupil.name.clone(),
        version: p.version,
        goals: p
            .goals
            .iter()
            .filter(|g| matches!(g.status.as_str(), "open" | ""))
            .map(|g| GoalForm {
                id: g.id.clone(),
                text: g.text.clone(),
                measure: g.measure.clone(),
                target_on: g.target_on.clone(),
            })
            .collect(),
        ended_goals: p
            .goals
            .iter()
            .filter(|g| !matches!(g.status.as_str(), "open" | ""))
            .map(|g| (g.text.clone(), goal_status(&g.status), g.end_reason.clone()))
            .collect(),
        actions,
        members: active
            .iter()
            .map(|m| {
                (
                    m.party.clone(),
                    labels::party_name(&state, &m.party),
                    m.role.clone(),
                    m.person.clone(),
                )
            })
            .collect(),
        owners,
        candidates,
        categories: crate::care::action_categories(),
        person_choices,
        notice,
    });
    Ok((jar, page).into_response())
}

/// The form's field in Dutch, for a refusal.
fn field_word(field: &str) -> &'static str {
    let last = field.rsplit('.').next().unwrap_or(field);
    match last {
        "text" => "de tekst",
        "measure" => "hoe u het meet",
        "target_on" => "de streefdatum",
        "what" => "wat er gebeurt",
        "goal" => "het doel",
        "due_on" => "de datum waarop het klaar is",
        "owner" => "wie het doet",
        "category" => "het soort gegevens",
        "role" => "de rol",
        "person" if field.starts_with("actions") => "de uitvoerder",
        "person" => "de contactpersoon",
        "consent_record" | "party" => "de toestemming",
        "reason" => "de reden",
        "status" => "behaald of vervallen",
        "goals" => "een doel, een actie of een lid",
        _ => "het formulier",
    }
}

/// The page again after a change: the new state with `text`; a stale form
/// or a refused field gets its Dutch notice instead of an error page.
fn after(
    state: &AppState,
    jar: PrivateCookieJar,
    id: &str,
    result: carenet_caseplan::Result<()>,
    text: &str,
) -> Result<Response, Error> {
    let here = adjust_href(id);
    match result {
        Ok(()) => Ok(done(state, jar, &here, text)),
        Err(F::Aborted(_)) => Ok(done(state, jar, &here, STALE)),
        Err(F::InvalidArgument { field, .. }) => Ok(done(
            state,
            jar,
            &here,
            &format!(
                "Niet opgeslagen: vul {} goed in en probeer het opnieuw.",
                field_word(&field)
            ),
        )),
        Err(F::FailedPrecondition(_)) => Ok(done(
            state,
            jar,
            &here,
            "Niet opgeslagen: dit onderdeel is al afgesloten. Hieronder ziet u de nieuwe stand.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The page again with the refusal of an unknown "Uitvoerder" (the field
/// named, not what was typed).
fn unknown_person(state: &AppState, jar: PrivateCookieJar, id: &str) -> Response {
    let text = format!(
        "Niet opgeslagen: kies een medewerker uit de lijst bij \"{}\": deze medewerker is niet bekend.",
        crate::my_actions::FIELD_LABEL
    );
    done(state, jar, &adjust_href(id), &text)
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
    let text = match f("kind").as_str() {
        "goal" => {
            addition.goals.push(v1::CaseGoal {
                text: f("text"),
                measure: f("measure"),
                target_on: f("target_on"),
                category: f("category"),
                ..Default::default()
            });
            "Het doel is toegevoegd en naar de leden verstuurd."
        }
        "action" => {
            // Who at this party does it: picked from the staff directory.
            let person = match crate::my_actions::resolve_person(
                &state,
                "person",
                &f("owner"),
                &f("person"),
            )
            .await?
            {
                Ok(p) => p,
                Err(_) => return Ok(unknown_person(&state, jar, &id)),
            };
            addition.actions.push(v1::CaseAction {
                owner: f("owner"),
                what: f("what"),
                goal: f("goal"),
                due_on: f("due_on"),
                category: f("category"),
                person,
            });
            "De actie is toegevoegd en naar de leden verstuurd."
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
            "Het lid is toegevoegd en krijgt het plan."
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
    after(&state, jar, &id, result, text)
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
    let (result, text) = if f("do") == "end" {
        (
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
    after(&state, jar, &id, result, text)
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
    let person = match crate::my_actions::resolve_person(
        &state,
        "person",
        state.inner.party.as_str(),
        &f("person"),
    )
    .await?
    {
        Ok(p) => p,
        Err(_) => return Ok(unknown_person(&state, jar, &id)),
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
    after(&state, jar, &id, result, "De actie is gewijzigd.")
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
        jar,
        &id,
        result,
        "Het lidmaatschap is beëindigd; de open acties van dit lid zijn geannuleerd.",
    )
}
