//! The region's overview for the SWV's staff (`/ondersteuning/overzicht`):
//! requests and allocations per month, per school and per kind, the
//! waiting time to a decision, the clocks due this week and the TLVs that
//! end within three months. Each figure is a chart with its table beside
//! it and a CSV download ([`crate::figure`]); the figures hold counts only.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use carenet_support::{deadline, overview};

use super::words;
use crate::figure::{self, Figure, Row};
use crate::pages::render;
use crate::session::Staff;
use crate::{AppState, Error, labels};

#[derive(Template)]
#[template(path = "support_overview.html")]
struct OverviewPage {
    csrf: String,
    figures: Vec<(Figure, String)>,
    since: String,
    /// (href, pupil, clock, due, overdue)
    due: Vec<(String, String, &'static str, String, bool)>,
    /// (href, pupil, school, ends)
    expiring: Vec<(String, String, String, String)>,
}

const MONTHS: [&str; 12] = [
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
];

/// "2026-09" as "september 2026".
fn month(key: &str) -> String {
    match key.split_once('-') {
        Some((y, m)) => match m.parse::<usize>() {
            Ok(n @ 1..=12) => format!("{} {y}", MONTHS[n - 1]),
            _ => key.to_owned(),
        },
        None => key.to_owned(),
    }
}

/// The overview's figures, by id.
async fn figures(
    state: &AppState,
    staff: &Staff,
) -> Result<(Vec<Figure>, overview::Overview), Error> {
    let o = overview::read(&state.inner.store, &staff.actor, state.inner.clock.as_ref()).await?;
    let counted = [
        "Aangevraagd".to_owned(),
        "Toegekend".to_owned(),
        "Afgewezen".to_owned(),
    ];
    let per_month = Figure {
        id: "per-maand",
        caption: "Aanvragen en toekenningen per maand".into(),
        category: "Maand".into(),
        series: counted.to_vec(),
        rows: o
            .per_month
            .iter()
            .map(|c| Row {
                label: month(&c.key),
                values: vec![c.requested, c.granted, c.refused],
            })
            .collect(),
    };
    let mut schools: Vec<Row> = Vec::new();
    let mut kinds: Vec<(carenet_support::model::Kind, Row)> = Vec::new();
    for c in &o.per_school {
        let name = labels::party_name(state, &c.key);
        match schools.iter_mut().find(|r| r.label == name) {
            Some(r) => {
                r.values[0] += c.requested;
                r.values[1] += c.granted;
                r.values[2] += c.refused;
            }
            None => schools.push(Row {
                label: name,
                values: vec![c.requested, c.granted, c.refused],
            }),
        }
        if let Some(k) = c.kind {
            match kinds.iter_mut().find(|(kk, _)| *kk == k) {
                Some((_, r)) => {
                    r.values[0] += c.requested;
                    r.values[1] += c.granted;
                    r.values[2] += c.refused;
                }
                None => kinds.push((
                    k,
                    Row {
                        label: words::kind(k).to_owned(),
                        values: vec![c.requested, c.granted, c.refused],
                    },
                )),
            }
        }
    }
    let per_school = Figure {
        id: "per-school",
        caption: "Aanvragen en toekenningen per school".into(),
        category: "School".into(),
        series: counted.to_vec(),
        rows: schools,
    };
    let per_kind = Figure {
        id: "per-soort",
        caption: "Aanvragen en toekenningen per soort".into(),
        category: "Soort".into(),
        series: counted.to_vec(),
        rows: kinds.into_iter().map(|(_, r)| r).collect(),
    };
    let waiting = Figure {
        id: "wachttijd",
        caption: "Wachttijd van aanvraag tot besluit, in dagen".into(),
        category: "Soort".into(),
        series: vec!["Gemiddeld".into(), "Langst".into()],
        rows: o
            .waiting
            .iter()
            .map(|w| Row {
                label: words::kind(w.kind).to_owned(),
                values: vec![w.average_days, w.longest_days],
            })
            .collect(),
    };
    Ok((vec![per_month, per_school, per_kind, waiting], o))
}

/// `GET /ondersteuning/overzicht`.
pub(crate) async fn show(State(state): State<AppState>, staff: Staff) -> Result<Response, Error> {
    let (figures, o) = figures(&state, &staff).await?;
    let store = &state.inner.store;
    let mut due = Vec::new();
    for d in deadline::due(store, state.inner.clock.as_ref(), 7).await? {
        let pupil = carenet_support::request::load(store, &d.request_id)
            .await
            .map(|r| r.child_name)
            .unwrap_or_default();
        due.push((
            crate::href::path(&["ondersteuning", &d.request_id]),
            pupil,
            words::deadline(d.kind),
            labels::date_text(&d.due_on),
            d.overdue,
        ));
    }
    let expiring = o
        .expiring
        .iter()
        .map(|e| {
            (
                crate::href::path(&["ondersteuning", &e.request_id]),
                e.child_name.clone(),
                labels::party_name(&state, &e.school),
                labels::date_text(&e.ends_on),
            )
        })
        .collect();
    Ok(render(&OverviewPage {
        csrf: staff.session.csrf.clone(),
        figures: figures
            .into_iter()
            .map(|f| {
                let csv = format!("/ondersteuning/overzicht/{}.csv", f.id);
                (f, csv)
            })
            .collect(),
        since: labels::date_text(&o.since),
        due,
        expiring,
    }))
}

/// `GET /ondersteuning/overzicht/{figure}.csv`: one figure's table.
pub(crate) async fn csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Result<Response, Error> {
    let id = name.strip_suffix(".csv").ok_or(Error::NotFound)?;
    let (figures, _) = figures(&state, &staff).await?;
    let f = figures
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(Error::NotFound)?;
    let bytes = f.csv().map_err(|e| Error::Config(format!("csv: {e}")))?;
    let today = carenet_consent::record::format_date(state.inner.clock.today());
    Ok(figure::download(&format!("{id}-{today}"), bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_read_as_dutch_words() {
        assert_eq!(super::month("2026-09"), "september 2026");
        assert_eq!(super::month("2027-01"), "januari 2027");
        assert_eq!(super::month("2027-13"), "2027-13");
    }
}
