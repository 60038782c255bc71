//! "Mijn acties in plannen": the actions of a plan that name one person of
//! this party as the one who carries them out (a mentor, a teacher, an
//! SLB), for that person. `/mijn-acties?open=1` lists exactly the open ones
//! the start page counts ([`carenet_caseplan::work::named`]), `/mijn-acties`
//! (the menu's) those finished too; each row opens
//! `/mijn-acties/{holder}/{plan}/{task}`, where the person reads that one
//! action (what, its goal, the date, its state, the pupil's name) and takes
//! its owner's steps. Nothing else of the plan reaches them: not the other
//! actions, the members, the notes or the timeline.
//!
//! The coordinator's forms name the person through [`resolve_person`]:
//! picked by name from the staff directory among the roles that may be
//! named ([`carenet_caseplan::roles::NAMED`]); anyone else is refused,
//! naming the field.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_caseplan::task::{self, State as TaskState, Step, Who};
use carenet_caseplan::{roles, work};
use carenet_fabric::Error as F;

use crate::form::{Form, Pairs, field};
use crate::pages::{done, notice, render};
use crate::session::Staff;
use crate::staff_directory::Unknown;
use crate::{AppState, Error, labels};

/// The list's address, as the menu links it: every action named to the
/// person in the open plans, finished ones too.
pub(crate) const LIST: &str = "/mijn-acties";

/// The filtered list the start page links to: the open actions only.
pub(crate) const OPEN: &str = "/mijn-acties?open=1";

/// The Dutch label of the person field on the coordinator's forms.
pub(crate) const FIELD_LABEL: &str = "Uitvoerder";

/// What the person picker offers: "Naam (rol)" of each member of staff
/// whose role may be named on an action.
pub(crate) async fn person_choices(state: &AppState) -> Result<Vec<String>, Error> {
    crate::staff_directory::choices(state, roles::NAMED.roles).await
}

/// The staff id an "Uitvoerder" field names on an action of `owner`:
/// empty stays empty (the party carries it out); else a person of this
/// party's directory (by choice, name or id) whose role may be named, on
/// this party's own action. Anyone else, or anyone on another party's
/// action (this directory does not know its people), is [`Unknown`].
pub(crate) async fn resolve_person(
    state: &AppState,
    field: &'static str,
    owner: &str,
    text: &str,
) -> Result<Result<String, Unknown>, Error> {
    if text.trim().is_empty() {
        return Ok(Ok(String::new()));
    }
    if owner != state.inner.party.as_str() {
        return Ok(Err(Unknown {
            field,
            typed: text.trim().to_owned(),
        }));
    }
    let staff =
        match crate::staff_directory::resolve(state, field, text, roles::NAMED.roles).await? {
            Ok(s) => s,
            Err(u) => return Ok(Err(u)),
        };
    let people = crate::staff_directory::all(&state.inner.store.db).await?;
    let fits = people.iter().any(|p| {
        p.staff == staff
            && p.roles
                .iter()
                .any(|r| roles::NAMED.roles.iter().any(|n| n.as_str() == r))
    });
    Ok(if fits {
        Ok(staff)
    } else {
        Err(Unknown {
            field,
            typed: text.trim().to_owned(),
        })
    })
}

/// The Dutch sentence for an unknown person on the coordinator's forms:
/// it names the field, not what was typed (a name is personal data and the
/// refusal may be logged).
pub(crate) fn unknown_message(_unknown: &Unknown) -> String {
    format!(
        "Kies een medewerker uit de lijst bij \"{FIELD_LABEL}\": deze medewerker is niet bekend"
    )
}

/// Whether the start page's line for `actor` says "Mijn acties in plannen"
/// (a person without a plan role, whose only plan work this is) and is
/// shown even when nothing waits; a coordinator or member sees their named
/// actions only when there are any, as "Acties op mijn naam".
pub(crate) fn line_for(state: &AppState, actor: &carenet_fabric::Actor) -> Option<&'static str> {
    let party = &state.inner.party;
    if actor.may(party, &roles::NAMED).is_err() {
        return None;
    }
    let plans = actor.may(party, &roles::READ).is_ok() || actor.may(party, &roles::MEMBER).is_ok();
    Some(if plans {
        "Acties op mijn naam"
    } else {
        "Mijn acties in plannen"
    })
}

/// Whether the menu offers "Mijn acties": to those who may be named and
/// have no plans page of their own.
pub(crate) fn in_menu(party: &carenet_fabric::PartyId, actor: &carenet_fabric::Actor) -> bool {
    actor.may(party, &roles::NAMED).is_ok()
        && actor.may(party, &roles::READ).is_err()
        && actor.may(party, &roles::MEMBER).is_err()
}

struct Row {
    href: String,
    pupil: String,
    what: String,
    holder: String,
    due: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "my_actions.html")]
struct ListPage {
    csrf: String,
    /// Only the open actions (the start page's list).
    open_only: bool,
    rows: Vec<Row>,
}

/// The filter of `/mijn-acties`.
#[derive(serde::Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    open: Option<String>,
}

const NO_NAME: &str = "(naam niet gedeeld)";

fn href(holder: &str, plan_id: &str, task_id: &str) -> String {
    crate::href::path(&["mijn-acties", holder, plan_id, task_id])
}

/// `GET /mijn-acties`: the actions that name the signed-in person
/// (`?open=1`: the open ones only).
pub(crate) async fn list(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Response, Error> {
    let open_only = match query.open.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => return Err(Error::invalid("open", "1")),
    };
    let store = &state.inner.store;
    carenet_fabric::actor::require(store, &staff.actor, &roles::NAMED, "case").await?;
    let actions = work::named(store, &staff.actor, open_only).await?;
    work::audit_named_shown(store, &staff.actor, &actions).await?;
    let rows = actions
        .into_iter()
        .map(|a| Row {
            href: href(&a.holder, &a.plan_id, &a.task_id),
            pupil: a.pupil_name.unwrap_or_else(|| NO_NAME.to_owned()),
            holder: labels::party_name(&state, &a.holder),
            what: a.what,
            due: labels::date_text(&a.due_on),
            state: crate::caseplan::plans::task_state(&a.state),
        })
        .collect();
    Ok(render(&ListPage {
        csrf: staff.session.csrf,
        open_only,
        rows,
    }))
}

#[derive(Template)]
#[template(path = "my_action.html")]
struct ActionPage {
    csrf: String,
    here: String,
    pupil: String,
    holder: String,
    what: String,
    goal: String,
    due: String,
    state: &'static str,
    reason: String,
    version: u32,
    /// (step code, button label, needs a reason)
    steps: Vec<(&'static str, &'static str, bool)>,
    notice: Option<String>,
}

/// `GET /mijn-acties/{holder}/{plan}/{task}`: one action named to the
/// signed-in person, with its owner's steps.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path((holder, plan_id, task_id)): Path<(String, String, String)>,
) -> Result<Response, Error> {
    let here = href(&holder, &plan_id, &task_id);
    let (jar, notice) = notice(jar, &here);
    let named = work::named_task(
        &state.inner.store,
        &staff.actor,
        &holder,
        &plan_id,
        &task_id,
    )
    .await?;
    let t = &named.task;
    let steps = match TaskState::parse("state", &t.state) {
        Ok(s) => Step::all()
            .filter(|step| task::next(s, *step, Who::Owner).is_ok())
            .map(|step| {
                (
                    step.as_str(),
                    crate::caseplan::plans::step_label(step),
                    step.needs_reason(),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let page = render(&ActionPage {
        csrf: staff.session.csrf,
        here,
        pupil: named
            .pupil_name
            .clone()
            .unwrap_or_else(|| NO_NAME.to_owned()),
        holder: labels::party_name(&state, &named.holder),
        what: t.what.clone(),
        goal: named.goal.clone(),
        due: labels::date_text(&t.due_on),
        state: crate::caseplan::plans::task_state(&t.state),
        reason: t.reason.clone(),
        version: t.version,
        steps,
        notice,
    });
    Ok((jar, page).into_response())
}

/// `POST /mijn-acties/{holder}/{plan}/{task}`: the owner's step on that
/// action; the page again with the new state (post/redirect/get), or a
/// Dutch notice when the step no longer fits.
pub(crate) async fn step(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path((holder, plan_id, task_id)): Path<(String, String, String)>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let seen: u32 = f("version")
        .parse()
        .map_err(|_| Error::invalid("version", "a number"))?;
    let here = href(&holder, &plan_id, &task_id);
    let result = work::named_step(
        &state.inner.store,
        &staff.actor,
        &holder,
        &plan_id,
        &task_id,
        &f("step"),
        seen,
        &f("reason"),
    )
    .await;
    let text = match result {
        Ok(()) if holder == state.inner.party.as_str() => "De stap is vastgelegd.",
        Ok(()) => "De stap is verstuurd naar de organisatie die het plan houdt.",
        Err(F::Aborted(_)) => crate::caseplan::plan_change::STALE,
        Err(F::InvalidArgument { field, .. }) if field == "reason" || field == "note" => {
            "Niet vastgelegd: deze stap vraagt een toelichting. Vul die in en probeer het opnieuw."
        }
        Err(F::FailedPrecondition(_)) => {
            "Niet vastgelegd: deze stap past niet (meer) bij de stand van de actie. Hieronder ziet u de stand."
        }
        Err(e) => return Err(e.into()),
    };
    Ok(done(&state, jar, &here, text))
}
