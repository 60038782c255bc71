//! The filtered lists of the plans the start page links to, one per line
//! of "wat wacht op mij": the case coordinator's actions past their date
//! (`/plannen?acties=verlopen`) and evaluations to hold
//! (`/plannen?evaluatie=te-houden`), a member party's own actions
//! (`/plannen?mijn-acties=1`, `…=verlopen`) and the plans that came in or
//! changed (`/plannen?nieuw=1`). Each shows exactly what the start page
//! counts (the same conditions, [`carenet_caseplan::work`]); each row opens
//! the plan, as the holder's page or the member's view.

use askama::Template;
use axum::response::Response;
use carenet_caseplan::{member, plan, work};
use serde::Deserialize;

use crate::notify::waiting::{EVALUATION_AHEAD_DAYS, RECENT_MS, day};
use crate::pages::render;
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// The filters of `/plannen`.
#[derive(Deserialize, Default)]
pub(crate) struct PlansQuery {
    #[serde(default)]
    acties: Option<String>,
    #[serde(default)]
    evaluatie: Option<String>,
    #[serde(rename = "mijn-acties", default)]
    mijn_acties: Option<String>,
    #[serde(default)]
    nieuw: Option<String>,
}

struct ActionRow {
    href: String,
    pupil: String,
    what: String,
    owner: String,
    due: String,
    state: &'static str,
}

struct PlanRow {
    href: String,
    pupil: String,
    holder: String,
    /// The evaluation date or the day the latest version came in.
    on: String,
}

#[derive(Template)]
#[template(path = "worklist.html")]
struct WorkPage {
    csrf: String,
    title: &'static str,
    empty: &'static str,
    /// The plans' column of dates: "Evaluatie" or "Ontvangen".
    date_heading: &'static str,
    actions: Vec<ActionRow>,
    plans: Vec<PlanRow>,
}

const NO_NAME: &str = "(naam niet gedeeld)";

fn action_rows(state: &AppState, actions: Vec<work::Action>, own: bool) -> Vec<ActionRow> {
    actions
        .into_iter()
        .map(|a| ActionRow {
            href: if own {
                crate::href::path(&["deelname", &a.holder, &a.plan_id])
            } else {
                crate::href::path(&["plannen", &a.plan_id])
            },
            pupil: a.pupil_name.unwrap_or_else(|| NO_NAME.to_owned()),
            what: a.what,
            owner: labels::party_name(state, &a.owner),
            due: labels::date_text(&a.due_on),
            state: crate::caseplan::plans::task_state(&a.state),
        })
        .collect()
}

/// The filtered list `query` asks for, or `None` for the whole overview.
pub(crate) async fn plans(
    state: &AppState,
    staff: &Staff,
    query: &PlansQuery,
) -> Result<Option<Response>, Error> {
    let store = &state.inner.store;
    let actor = &staff.actor;
    let page = |title, empty, date_heading, actions, plans| {
        Some(render(&WorkPage {
            csrf: staff.session.csrf.clone(),
            title,
            empty,
            date_heading,
            actions,
            plans,
        }))
    };
    if let Some(v) = query.acties.as_deref() {
        if v != "verlopen" {
            return Err(Error::invalid("acties", "verlopen"));
        }
        let actions = work::overdue(store, actor, &day(0)).await?;
        return Ok(page(
            "Acties over de datum",
            "Geen actie in uw plannen is over de datum.",
            "",
            action_rows(state, actions, false),
            Vec::new(),
        ));
    }
    if let Some(v) = query.evaluatie.as_deref() {
        if v != "te-houden" {
            return Err(Error::invalid("evaluatie", "te-houden"));
        }
        let due = work::evaluations_due(store, actor, &day(EVALUATION_AHEAD_DAYS)).await?;
        let held = plan::list(store, actor).await?;
        let mut rows: Vec<(String, PlanRow)> = held
            .into_iter()
            .filter(|p| due.contains(&p.id))
            .map(|p| {
                (
                    p.evaluation_on.clone(),
                    PlanRow {
                        href: crate::href::path(&["plannen", &p.id]),
                        pupil: p.child_name,
                        holder: labels::party_name(state, store.party.as_str()),
                        on: labels::date_text(&p.evaluation_on),
                    },
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(page(
            "Evaluaties van een plan te houden",
            "Er is geen evaluatie te houden in de komende week.",
            "Evaluatie",
            Vec::new(),
            rows.into_iter().map(|(_, r)| r).collect(),
        ));
    }
    if let Some(v) = query.mijn_acties.as_deref() {
        let late = match v {
            "1" => false,
            "verlopen" => true,
            _ => return Err(Error::invalid("mijn-acties", "1 of verlopen")),
        };
        let mut actions = work::own(store, actor).await?;
        if late {
            let today = day(0);
            actions.retain(|a| a.overdue(&today));
        }
        work::audit_shown(store, actor, &actions).await?;
        return Ok(page(
            if late {
                "Mijn acties over de datum"
            } else {
                "Mijn acties in plannen"
            },
            "Uw organisatie heeft hier geen open actie.",
            "",
            action_rows(state, actions, true),
            Vec::new(),
        ));
    }
    if let Some(v) = query.nieuw.as_deref() {
        if v != "1" {
            return Err(Error::invalid("nieuw", "1"));
        }
        let since = carenet_fabric::clock::now_ms() - RECENT_MS;
        let plans = member::list(store, actor)
            .await?
            .into_iter()
            .filter(|l| l.received_at_ms >= since)
            .map(|l| PlanRow {
                href: crate::href::path(&["deelname", &l.holder, &l.plan_id]),
                pupil: l.pupil_name.unwrap_or_else(|| NO_NAME.to_owned()),
                holder: labels::party_name(state, &l.holder),
                on: crate::pages::date_of(l.received_at_ms),
            })
            .collect();
        return Ok(page(
            "Nieuwe of gewijzigde plannen",
            "Er zijn de afgelopen twee weken geen plannen bijgekomen of gewijzigd.",
            "Ontvangen",
            Vec::new(),
            plans,
        ));
    }
    Ok(None)
}
