//! Where a request starts: the pupil's ZAT case or IZO registration at this
//! school, and the documented history of the first and second line its
//! records hold ("herhaalde en goed gedocumenteerde inspanningen"): the IZO
//! minutes, the ZAT meetings, and the goals and evaluations of the plan the
//! ZAT opened. The school sees each item before it goes along and chooses
//! which; each keeps a reference to its record and its text as it is today.

use carenet_caseplan::plan;
use carenet_fabric::Actor;
use carenet_referral::{izo, zat};
use carenet_support::model::{HistorySource, Line};
use carenet_support::request::HistoryItem;

use crate::{AppState, Error, labels};

/// The pupil a request is for, and the history the school's records hold.
#[derive(Debug, Default)]
pub(crate) struct Origin {
    /// What the request starts from, for the page ("ZAT-casus", ...).
    pub what: &'static str,
    pub child_ref: String,
    pub child_name: String,
    pub child_birth_date: String,
    pub items: Vec<Candidate>,
}

/// One item of the history the school may send along.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// The checkbox's value: `<source>:<record id>`.
    pub key: String,
    pub source: HistorySource,
    pub source_ref: String,
    pub title: String,
    pub snapshot: String,
}

impl Candidate {
    pub(crate) fn item(&self) -> HistoryItem {
        HistoryItem {
            source: self.source,
            line: Line::Second,
            source_ref: self.source_ref.clone(),
            snapshot: self.snapshot.clone(),
            added_by: String::new(),
        }
    }
}

/// Joins the non-empty parts as "Label: text" lines.
fn lines(parts: &[(&str, &str)]) -> String {
    parts
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(l, t)| format!("{l}: {}", t.trim()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn candidate(source: HistorySource, id: &str, title: String, snapshot: String) -> Candidate {
    Candidate {
        key: format!("{}:{id}", source.as_str()),
        source,
        source_ref: id.to_owned(),
        title,
        snapshot,
    }
}

/// The IZO registration's minutes, newest last.
fn izo_items(case: &izo::Case) -> Vec<Candidate> {
    case.minutes
        .iter()
        .map(|m| {
            candidate(
                HistorySource::IzoMinutes,
                &m.id,
                format!("Verslag interne zorg van {}", labels::date_text(&m.held_on)),
                lines(&[
                    ("Analyse", &m.analysis),
                    ("Hulpvraag van de leerling", &m.pupil_question),
                    ("Begeleidingsvraag", &m.support_question),
                    ("Wat is gedaan en met welk resultaat", &m.done_and_result),
                    ("Onderwijsbehoeften", &m.needs),
                    ("Aanbod in de groep", &m.group_offer),
                    ("Samenvatting", &m.summary),
                ]),
            )
        })
        .filter(|c| !c.snapshot.is_empty())
        .collect()
}

/// A request from the pupil's IZO registration (at a primary school the
/// leerlingbespreking, level 5 of its care route).
pub(crate) async fn from_izo(state: &AppState, actor: &Actor, id: &str) -> Result<Origin, Error> {
    let case = izo::show(&state.inner.store, actor, id).await?;
    Ok(Origin {
        what: "registratie voor de interne zorg",
        child_ref: case.registration.child_ref.clone(),
        child_name: String::new(),
        child_birth_date: case.registration.child_birth_date.clone(),
        items: izo_items(&case),
    })
}

/// A request from the pupil's ZAT case: its meetings, the IZO minutes it
/// came from, and the goals and evaluations of the plan it opened.
pub(crate) async fn from_zat(state: &AppState, actor: &Actor, id: &str) -> Result<Origin, Error> {
    let store = &state.inner.store;
    let case = zat::show(store, actor, id).await?;
    let mut items = Vec::new();
    if !case.referral.izo_id.is_empty()
        && let Ok(registration) = izo::show(store, actor, &case.referral.izo_id).await
    {
        items.extend(izo_items(&registration));
    }
    for m in &case.meetings {
        let snapshot = lines(&[
            ("Analyse", &m.analysis),
            ("Onderwijs- en ondersteuningsbehoeften", &m.needs),
            ("Richting", &m.directions),
            ("Besluiten", &m.decisions),
            ("Terugblik", &m.review),
        ]);
        if !snapshot.is_empty() {
            items.push(candidate(
                HistorySource::ZatMeeting,
                &m.id,
                format!("Overleg ZAT van {}", labels::date_text(&m.held_on)),
                snapshot,
            ));
        }
    }
    if let Some(plan_id) = &case.plan_id
        && let Ok(p) = plan::show(store, actor, plan_id).await
    {
        for g in &p.goals {
            let status = match g.status.as_str() {
                "achieved" => "behaald",
                "dropped" => "vervallen",
                _ => "loopt",
            };
            items.push(candidate(
                HistorySource::PlanGoal,
                &g.id,
                format!("Doel uit het plan: {}", g.text),
                lines(&[
                    ("Doel", &g.text),
                    ("Meetbaar aan", &g.measure),
                    ("Streefdatum", &labels::date_text(&g.target_on)),
                    ("Stand", status),
                    ("Reden", &g.end_reason),
                ]),
            ));
        }
        for e in &p.evaluations {
            items.push(candidate(
                HistorySource::PlanEvaluation,
                &e.id,
                format!(
                    "Evaluatie van het plan van {}",
                    labels::date_text(&e.held_on)
                ),
                lines(&[("Evaluatie", &e.text)]),
            ));
        }
    }
    Ok(Origin {
        what: "casus in het ZAT",
        child_ref: case.referral.child_ref.clone(),
        child_name: case.referral.child_name.clone(),
        child_birth_date: case.referral.child_birth_date.clone(),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_holds_only_what_was_written() {
        assert_eq!(
            lines(&[
                ("Analyse", " loopt vast "),
                ("Besluiten", ""),
                ("Richting", "SWV")
            ]),
            "Analyse: loopt vast\nRichting: SWV"
        );
        assert_eq!(lines(&[("Analyse", "  ")]), "");
        let c = candidate(HistorySource::ZatMeeting, "m-1", "t".into(), "s".into());
        assert_eq!(c.key, "zat_meeting:m-1");
        assert_eq!(c.item().source_ref, "m-1");
    }
}
