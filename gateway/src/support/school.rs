//! The school's side of a support request: its list (`/ondersteuning`), a
//! new request from the pupil's ZAT case or IZO registration
//! (`/ondersteuning/nieuw?zat=…` or `?izo=…`) with the history its records
//! hold, the draft mended and submitted, the SWV's question answered, a
//! request withdrawn before a decision. The page of one request
//! ([`show`]) serves both sides; at the SWV it offers the loket's and the
//! trajectbegeleider's steps ([`super::loket`]).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_consent::Purpose;
use carenet_fabric::PartyKind;
use carenet_support::check::Qualification;
use carenet_support::deadline;
use carenet_support::model::{
    ArrangementLevel, Category, Detail, HistorySource, Kind, Line, ParticipantRole, SchoolType,
    State as RequestState,
};
use carenet_support::request::{self, HistoryItem, NewRequest, Request};
use carenet_support::roles;
use serde::Deserialize;

use super::filters;
use super::history::{self, Origin};
use super::words;
use crate::form::{Form, Kept, Pairs, field};
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, Refused};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// One request in a list.
pub(crate) struct Row {
    pub href: String,
    pub pupil: String,
    pub kind: &'static str,
    pub state: &'static str,
    /// The other side: the SWV at a school, the school at the SWV.
    pub party: String,
    pub submitted: String,
    pub guide: String,
}

#[derive(Template)]
#[template(path = "support_list.html")]
struct ListPage {
    csrf: String,
    at_swv: bool,
    rows: Vec<Row>,
    /// Where a new request can start: (href, pupil, what).
    starts: Vec<(String, String, &'static str)>,
    /// The clocks due within two weeks: (href, pupil, clock, due, overdue).
    due: Vec<(String, String, &'static str, String, bool)>,
    notice: Option<String>,
}

/// `GET /ondersteuning`: at a school its requests and where a new one can
/// start; at the SWV the requests it received and the clocks due.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, "/ondersteuning");
    let store = &state.inner.store;
    let at_swv = state.inner.kind == PartyKind::Swv;
    let listed = request::list(store, &staff.actor).await?;
    let mut rows = Vec::new();
    let mut pupils = std::collections::HashMap::new();
    for l in &listed {
        pupils.insert(l.id.clone(), l.child_name.clone());
        rows.push(Row {
            href: crate::href::path(&["ondersteuning", &l.id]),
            pupil: l.child_name.clone(),
            kind: words::kind(l.kind),
            state: words::state(l.state, at_swv),
            party: labels::party_name(&state, if at_swv { &l.school } else { &l.swv }),
            submitted: labels::date_text(&l.submitted_on),
            guide: l.trajectory_guide_name.clone(),
        });
    }
    let mut due = Vec::new();
    if at_swv {
        for d in deadline::due(store, state.inner.clock.as_ref(), 14).await? {
            due.push((
                crate::href::path(&["ondersteuning", &d.request_id]),
                pupils.get(&d.request_id).cloned().unwrap_or_default(),
                words::deadline(d.kind),
                labels::date_text(&d.due_on),
                d.overdue,
            ));
        }
    }
    let mut starts = Vec::new();
    if !at_swv && staff.actor.may(&state.inner.party, &roles::SCHOOL).is_ok() {
        if let Ok(cases) = carenet_referral::zat::list(store, &staff.actor).await {
            for c in cases {
                starts.push((
                    format!("/ondersteuning/nieuw?zat={}", crate::href::segment(&c.id)),
                    c.child_name,
                    "vanuit het ZAT",
                ));
            }
        }
        if let Ok(registrations) = carenet_referral::izo::list(store, &staff.actor).await {
            for r in registrations {
                starts.push((
                    format!("/ondersteuning/nieuw?izo={}", crate::href::segment(&r.id)),
                    r.child_ref,
                    "vanuit de interne zorg",
                ));
            }
        }
    }
    let page = render(&ListPage {
        csrf: staff.session.csrf.clone(),
        at_swv,
        rows,
        starts,
        due,
        notice,
    });
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Start {
    #[serde(default)]
    zat: String,
    #[serde(default)]
    izo: String,
}

#[derive(Template)]
#[template(path = "support_new.html")]
struct NewPage {
    csrf: String,
    origin: Origin,
    /// The query the form came from, kept as hidden fields.
    zat: String,
    izo: String,
    swvs: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    levels: Vec<(&'static str, &'static str)>,
    school_types: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    /// The guardians' granted consents for a support request: (record, label).
    consents: Vec<(String, String)>,
    kept: Kept,
    refused: Refusal,
}

const NEW: &str = "nieuw";

/// The new request's inputs, by the slice's field names.
const NEW_INPUTS: &[(&str, &str)] = &[
    ("swv", "swv"),
    ("kind", "kind"),
    ("level", "level"),
    ("support_asked", "support_asked"),
    ("cost_cents", "cost"),
    ("school_type", "school_type"),
    ("category", "category"),
    ("previous_decision", "previous_decision"),
    ("question", "question"),
    ("child_name", "child_name"),
    ("child_birth_date", "child_birth_date"),
    ("history", "added"),
    ("opp_text", "opp_text"),
    ("guardian_view", "guardian_view"),
    ("pupil_voice", "pupil_voice"),
    ("voice_reason", "voice_reason"),
    ("consent_record", "consent_record"),
    ("applied_on", "applied_on"),
];

async fn origin(state: &AppState, staff: &Staff, start: &Start) -> Result<Origin, Error> {
    if !start.zat.is_empty() {
        history::from_zat(state, &staff.actor, &start.zat).await
    } else if !start.izo.is_empty() {
        history::from_izo(state, &staff.actor, &start.izo).await
    } else {
        Err(Error::NotFound)
    }
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    start: Start,
    kept: Option<(Pairs, Refused)>,
) -> Result<Response, Error> {
    let origin = origin(state, staff, &start).await?;
    let swvs = state
        .inner
        .store
        .directory()
        .map(|d| {
            d.snapshot()
                .parties()
                .filter(|p| p.kind == PartyKind::Swv)
                .map(|p| (p.id.to_string(), labels::party_name(state, p.id.as_str())))
                .collect()
        })
        .unwrap_or_default();
    let consents = crate::consent::pages::granted(
        state,
        &staff.actor,
        &origin.child_ref,
        Some(Purpose::SupportRequest),
    )
    .await?
    .into_iter()
    .map(crate::consent::pages::choice)
    .collect();
    let vo = state.inner.kind == PartyKind::VoSchool;
    let kinds = Kind::ALL
        .iter()
        .filter(|k| vo || !matches!(k, Kind::Lwoo | Kind::Pro))
        .map(|k| (k.as_str(), words::kind(*k)))
        .collect();
    let (kept, refused) = match kept {
        None => (Kept::default(), Refusal::none()),
        Some((pairs, refused)) => (Kept::of(NEW, pairs), Refusal(Some(refused.at(NEW_INPUTS)))),
    };
    Ok(render(&NewPage {
        csrf: staff.session.csrf.clone(),
        origin,
        zat: start.zat,
        izo: start.izo,
        swvs,
        kinds,
        levels: ArrangementLevel::ALL
            .iter()
            .map(|l| (l.as_str(), words::level(*l)))
            .collect(),
        school_types: SchoolType::ALL
            .iter()
            .map(|t| (t.as_str(), words::school_type(*t)))
            .collect(),
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), words::category(*c)))
            .collect(),
        consents,
        kept,
        refused,
    }))
}

/// `GET /ondersteuning/nieuw?zat=…|izo=…`: the request form, with the
/// history the pupil's records hold to choose from.
pub(crate) async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(start): Query<Start>,
) -> Result<Response, Error> {
    new_page(&state, &staff, start, None).await
}

/// Reads the kind's details from the form; a value that is no choice is
/// refused naming its field.
fn detail(f: &dyn Fn(&str) -> String) -> Result<Detail, Error> {
    let opt = |name: &str| {
        let v = f(name);
        (!v.is_empty()).then_some(v)
    };
    let cost_cents = match opt("cost") {
        None => None,
        Some(text) => {
            let euros: f64 = text
                .replace('.', "")
                .replace(',', ".")
                .parse()
                .map_err(|_| Error::invalid("cost_cents", "an amount in euros, e.g. 4.500,00"))?;
            if !(0.0..=10_000_000.0).contains(&euros) {
                return Err(Error::invalid(
                    "cost_cents",
                    "an amount in euros up to 10 million",
                ));
            }
            Some((euros * 100.0).round() as i64)
        }
    };
    Ok(Detail {
        level: opt("level")
            .map(|v| ArrangementLevel::choose("level", &v))
            .transpose()?,
        support_asked: f("support_asked"),
        cost_cents,
        school_type: opt("school_type")
            .map(|v| SchoolType::choose("school_type", &v))
            .transpose()?,
        category: opt("category")
            .map(|v| Category::choose("category", &v))
            .transpose()?,
        previous_decision: f("previous_decision"),
    })
}

/// `POST /ondersteuning/nieuw`: drafts the request with the chosen history.
pub(crate) async fn create(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let start = Start {
        zat: f("zat"),
        izo: f("izo"),
    };
    let made = async {
        let origin = origin(&state, &staff, &start).await?;
        let chosen: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k == "history")
            .map(|(_, v)| v.as_str())
            .collect();
        let mut items: Vec<HistoryItem> = origin
            .items
            .iter()
            .filter(|c| chosen.contains(&c.key.as_str()))
            .map(|c| c.item())
            .collect();
        let added = f("added");
        if !added.is_empty() {
            items.push(HistoryItem {
                source: HistorySource::School,
                line: Line::choose("history", &f("added_line"))?,
                source_ref: String::new(),
                snapshot: added,
                added_by: String::new(),
            });
        }
        let kind = Kind::choose("kind", &f("kind"))?;
        let new = NewRequest {
            swv: f("swv"),
            child_ref: origin.child_ref.clone(),
            child_name: if origin.child_name.is_empty() {
                f("child_name")
            } else {
                origin.child_name.clone()
            },
            child_birth_date: if origin.child_birth_date.is_empty() {
                f("child_birth_date")
            } else {
                origin.child_birth_date.clone()
            },
            kind: Some(kind),
            detail: detail(&f)?,
            question: f("question"),
            opp_text: f("opp_text"),
            opp_ref: String::new(),
            guardian_view: f("guardian_view"),
            pupil_voice: f("pupil_voice"),
            voice_reason: f("voice_reason"),
            consent_record: f("consent_record"),
            applied_on: f("applied_on"),
            history: items,
        };
        Ok::<_, Error>(request::create(&state.inner.store, &staff.actor, new).await?)
    }
    .await;
    let id = match made {
        Ok(id) => id,
        Err(e) => {
            let code = e.code();
            let refused = crate::reasons::refusal(e)?.for_purpose(Purpose::SupportRequest, code);
            let page = new_page(&state, &staff, start, Some((pairs, refused.clone()))).await?;
            return Ok(refused.respond(page));
        }
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["ondersteuning", &id]),
        "De aanvraag staat klaar als concept. Controleer hem en dien hem in.",
    ))
}

/// The steps the viewer may take on the request as it stands: each the
/// slice's own transition ([`carenet_support::model::next`]) and role.
#[derive(Default)]
pub(crate) struct Can {
    pub edit: bool,
    pub answer: bool,
    pub withdraw: bool,
    pub question: bool,
    pub assign: bool,
    pub plan_mdo: bool,
    pub hold_mdo: bool,
    pub record_advice: bool,
    pub conclude: bool,
    pub decide: bool,
}

impl Can {
    fn of(r: &Request, school: bool, loket: bool, guide: bool) -> Self {
        use carenet_support::model::{Step, Who, next};
        let may = |step: Step, who: Who| next(r.kind, r.state, step, who).is_ok();
        Can {
            edit: school && r.state == RequestState::Draft,
            answer: school && may(Step::Answer, Who::School),
            withdraw: school && r.state != RequestState::Draft && may(Step::Withdraw, Who::School),
            question: loket && may(Step::Return, Who::Loket),
            assign: loket && may(Step::Assign, Who::Loket),
            plan_mdo: guide && may(Step::PlanMdo, Who::Guide),
            hold_mdo: guide && may(Step::HoldMdo, Who::Guide),
            record_advice: guide
                && r.kind.is_admission()
                && matches!(
                    r.state,
                    RequestState::InIntake | RequestState::MdoPlanned | RequestState::MdoHeld
                ),
            conclude: guide && may(Step::Advise, Who::Guide),
            decide: loket && may(Step::Decide, Who::Loket),
        }
    }
}

/// One item of the request's history as the page shows it.
pub(crate) struct HistoryRow {
    pub source: &'static str,
    pub line: &'static str,
    pub text: String,
}

/// One expert advice as the page shows it.
pub(crate) struct AdviceRow {
    pub advisor: String,
    pub qualification: &'static str,
    pub employer: String,
    pub written_on: String,
    pub support_plan_test: String,
    pub why_not_regular: String,
}

#[derive(Template)]
#[template(path = "support_request.html")]
pub(crate) struct RequestPage {
    pub csrf: String,
    pub id: String,
    pub version: u64,
    pub r: Request,
    pub kind: &'static str,
    pub state: &'static str,
    /// The kind's details in Dutch: (label, value).
    pub details: Vec<(&'static str, String)>,
    pub school: String,
    pub swv: String,
    pub guide: String,
    pub history: Vec<HistoryRow>,
    pub consent: String,
    /// (clock, due, met)
    pub clocks: Vec<(&'static str, String, bool)>,
    pub mdo_participants: Vec<String>,
    pub advices: Vec<AdviceRow>,
    pub decision: Vec<(&'static str, String)>,
    /// The SWV's trajectbegeleiders, for the loket's picker.
    pub guides: Vec<String>,
    pub participant_roles: Vec<(&'static str, &'static str)>,
    pub qualifications: Vec<(&'static str, &'static str)>,
    pub school_types: Vec<(&'static str, &'static str)>,
    pub categories: Vec<(&'static str, &'static str)>,
    pub consents: Vec<(String, String)>,
    pub default_end: String,
    /// Every party of the region, for an advisor's declared employer.
    pub parties: Vec<(String, String)>,
    pub mdo_rows: usize,
    /// The school type and category the request asked (the decision's
    /// proposal).
    pub asked_school_type: &'static str,
    pub asked_category: &'static str,
    pub can: Can,
    pub notice: Option<String>,
    pub kept: Kept,
    pub refused: Refusal,
}

/// A refused step's form, to show again on the request's page.
pub(crate) struct KeptForm {
    key: &'static str,
    pairs: Pairs,
    refused: Refused,
    inputs: &'static [(&'static str, &'static str)],
}

/// The page of request `id`, as it stands or with a refused form `kept`.
pub(crate) async fn request_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    kept: Option<KeptForm>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let r = request::show(store, &staff.actor, id).await?;
    let at_swv = state.inner.kind == PartyKind::Swv;
    let names = crate::staff_directory::Names::load(state).await?;
    let mut details = Vec::new();
    if let Some(l) = r.detail.level {
        details.push(("Zwaarte", words::level(l).to_owned()));
    }
    if !r.detail.support_asked.is_empty() {
        details.push(("Gevraagde ondersteuning", r.detail.support_asked.clone()));
    }
    if let Some(c) = r.detail.cost_cents {
        details.push(("Kosten", euros(c)));
    }
    if let Some(t) = r.detail.school_type {
        details.push(("Schooltype", words::school_type(t).to_owned()));
    }
    if let Some(c) = r.detail.category {
        details.push(("Categorie", words::category(c).to_owned()));
    }
    if !r.detail.previous_decision.is_empty() {
        details.push(("Vorige TLV (besluit)", r.detail.previous_decision.clone()));
    }
    let history = r
        .history
        .iter()
        .map(|h| HistoryRow {
            source: words::source(h.source),
            line: words::line(h.line),
            text: h.snapshot.clone(),
        })
        .collect();
    let clocks = deadline::of_request(store, id)
        .await?
        .into_iter()
        .map(|(k, due, met)| (words::deadline(k), labels::date_text(&due), met))
        .collect();
    let mdo_participants = r
        .mdo
        .as_ref()
        .map(|m| {
            m.participants
                .iter()
                .map(|p| {
                    let who = if p.name.is_empty() {
                        labels::party_name(state, &p.party)
                    } else {
                        p.name.clone()
                    };
                    format!("{} ({})", who, words::participant(p.role))
                })
                .collect()
        })
        .unwrap_or_default();
    let advices = r
        .advices
        .iter()
        .map(|a| AdviceRow {
            advisor: a.advisor_name.clone(),
            qualification: words::qualification(a.qualification),
            employer: if a.employer_name.is_empty() {
                labels::party_name(state, &a.employer_party)
            } else {
                a.employer_name.clone()
            },
            written_on: labels::date_text(&a.written_on),
            support_plan_test: a.support_plan_test.clone(),
            why_not_regular: a.why_not_regular.clone(),
        })
        .collect();
    let mut decision = Vec::new();
    if let Some(d) = &r.decision {
        decision.push(("Besluit", words::outcome(d.decision.outcome).to_owned()));
        decision.push(("Genomen op", labels::date_text(&d.decided_on)));
        decision.push((
            "Door",
            if at_swv {
                names.of(&d.decided_by)
            } else {
                // At the school: the SWV decides, as an organisation.
                labels::party_name(state, &r.swv)
            },
        ));
        if !d.decision.starts_on.is_empty() {
            decision.push(("Geldig van", labels::date_text(&d.decision.starts_on)));
            decision.push(("Geldig tot en met", labels::date_text(&d.decision.ends_on)));
        }
        if let Some(t) = d.decision.school_type {
            decision.push(("Schooltype", words::school_type(t).to_owned()));
        }
        if let Some(c) = d.decision.category {
            decision.push(("Categorie", words::category(c).to_owned()));
        }
        decision.push(("Motivering", d.decision.reasons.clone()));
        if !d.decision.hearing.is_empty() {
            decision.push(("Horen van de ouders", d.decision.hearing.clone()));
        }
    }
    let party = &state.inner.party;
    let may_school = !at_swv && staff.actor.may(party, &roles::SCHOOL).is_ok();
    let may_loket = at_swv && staff.actor.may(party, &roles::LOKET).is_ok();
    let may_guide = at_swv && staff.actor.may(party, &roles::GUIDE).is_ok();
    let guides = if may_loket {
        crate::staff_directory::choices(state, &[carenet_fabric::Role::TrajectoryGuide]).await?
    } else {
        Vec::new()
    };
    let consents = if may_school && r.state == RequestState::Draft {
        crate::consent::pages::granted(
            state,
            &staff.actor,
            &r.child_ref,
            Some(Purpose::SupportRequest),
        )
        .await?
        .into_iter()
        .map(crate::consent::pages::choice)
        .collect()
    } else {
        Vec::new()
    };
    let today = state.inner.clock.today();
    let default_end = carenet_consent::record::format_date(
        carenet_support::intake::default_validity(&state.inner.support, today),
    );
    let (kept, refused) = match kept {
        None => (Kept::default(), Refusal::none()),
        Some(k) => (
            Kept::of(k.key, k.pairs),
            Refusal(Some(k.refused.at(k.inputs))),
        ),
    };
    let parties = state
        .inner
        .store
        .directory()
        .map(|d| {
            d.snapshot()
                .parties()
                .map(|p| (p.id.to_string(), labels::party_name(state, p.id.as_str())))
                .collect()
        })
        .unwrap_or_default();
    Ok(render(&RequestPage {
        csrf: staff.session.csrf.clone(),
        id: r.id.clone(),
        parties,
        mdo_rows: super::loket::MDO_ROWS,
        asked_school_type: r.detail.school_type.map(|t| t.as_str()).unwrap_or(""),
        asked_category: r.detail.category.map(|c| c.as_str()).unwrap_or(""),
        can: Can::of(&r, may_school, may_loket, may_guide),
        version: r.version,
        kind: words::kind(r.kind),
        state: words::state(r.state, at_swv),
        details,
        school: labels::party_name(state, &r.school),
        swv: labels::party_name(state, &r.swv),
        guide: r.trajectory_guide_name.clone(),
        history,
        consent: if r.consent_record.is_empty() {
            "nog niet gekozen".into()
        } else {
            "toestemming van de ouders voor een aanvraag bij het samenwerkingsverband".into()
        },
        clocks,
        mdo_participants,
        advices,
        decision,
        guides,
        participant_roles: ParticipantRole::ALL
            .iter()
            .map(|p| (p.as_str(), words::participant(*p)))
            .collect(),
        qualifications: Qualification::ALL
            .iter()
            .map(|q| (q.as_str(), words::qualification(*q)))
            .collect(),
        school_types: SchoolType::ALL
            .iter()
            .map(|t| (t.as_str(), words::school_type(*t)))
            .collect(),
        categories: Category::ALL
            .iter()
            .map(|c| (c.as_str(), words::category(*c)))
            .collect(),
        consents,
        default_end,
        r,
        notice,
        kept,
        refused,
    }))
}

/// An amount of euro cents as Dutch money: € 4.500,00.
fn euros(cents: i64) -> String {
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("€ {grouped},{:02}", cents % 100)
}

/// `GET /ondersteuning/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let here = crate::href::path(&["ondersteuning", &id]);
    let (jar, notice) = notice(jar, &here);
    let page = request_page(&state, &staff, &id, notice, None).await?;
    Ok((jar, page).into_response())
}

/// The version the form was made from.
pub(crate) fn seen(pairs: &Pairs) -> Result<u64, Error> {
    field(pairs, "version")
        .trim()
        .parse()
        .map_err(|_| Error::invalid("version", "the version the page showed"))
}

/// A step's form as it was posted to request `id`, with who posted it:
/// what every step handler of the request's page takes.
pub(crate) struct Posted {
    pub state: AppState,
    pub staff: Staff,
    pub jar: PrivateCookieJar,
    pub headers: HeaderMap,
    pub id: String,
    pub pairs: Pairs,
}

impl axum::extract::FromRequest<AppState> for Posted {
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, Error> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let jar = PrivateCookieJar::from_headers(&parts.headers, state.inner.key.clone());
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| Error::NotFound)?;
        let headers = parts.headers.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        let Form(pairs) = Form::<Pairs>::from_request(req, state).await?;
        Ok(Posted {
            state: state.clone(),
            staff,
            jar,
            headers,
            id,
            pairs,
        })
    }
}

/// A step's form on the request's page: its key, its inputs by the
/// slice's field names, and what the page says when it is done.
pub(crate) struct StepForm {
    pub key: &'static str,
    pub inputs: &'static [(&'static str, &'static str)],
    pub done: &'static str,
}

/// Runs a step posted as `p`: on success back to the request with
/// `form.done`; refused, the page again with the form kept.
pub(crate) async fn step<F, Fut>(p: Posted, form: StepForm, run: F) -> Result<Response, Error>
where
    F: FnOnce(AppState, Staff, Pairs, String) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let Posted {
        state,
        staff,
        jar,
        headers,
        id,
        pairs,
    } = p;
    staff.check(field(&pairs, "csrf").trim(), &headers, &state)?;
    let here = crate::href::path(&["ondersteuning", &id]);
    match run(state.clone(), staff.clone(), pairs.clone(), id.clone()).await {
        Ok(()) => Ok(done(&state, jar, &here, form.done)),
        Err(e) => {
            let code = e.code();
            let refused = crate::reasons::refusal(e)?.for_purpose(Purpose::SupportRequest, code);
            let kept = KeptForm {
                key: form.key,
                pairs,
                refused: refused.clone(),
                inputs: form.inputs,
            };
            let page = request_page(&state, &staff, &id, None, Some(kept)).await?;
            Ok(refused.respond(page))
        }
    }
}

const DRAFT_INPUTS: &[(&str, &str)] = &[
    ("question", "question"),
    ("opp_text", "opp_text"),
    ("guardian_view", "guardian_view"),
    ("pupil_voice", "pupil_voice"),
    ("voice_reason", "voice_reason"),
    ("consent_record", "consent_record"),
    ("applied_on", "applied_on"),
    ("history", "question"),
];

/// `POST /ondersteuning/{id}/aanpassen`: mends the draft.
pub(crate) async fn update(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "aanpassen",
            inputs: DRAFT_INPUTS,
            done: "Het concept is bijgewerkt.",
        },
        |state, staff, pairs, rid| async move {
            let f = |name: &str| field(&pairs, name).trim().to_owned();
            let store = &state.inner.store;
            let r = request::show(store, &staff.actor, &rid).await?;
            request::revise(
                store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                NewRequest {
                    swv: r.swv,
                    child_ref: r.child_ref,
                    child_name: r.child_name,
                    child_birth_date: r.child_birth_date,
                    kind: Some(r.kind),
                    detail: r.detail,
                    question: f("question"),
                    opp_text: f("opp_text"),
                    opp_ref: r.opp_ref,
                    guardian_view: f("guardian_view"),
                    pupil_voice: f("pupil_voice"),
                    voice_reason: f("voice_reason"),
                    consent_record: f("consent_record"),
                    applied_on: f("applied_on"),
                    history: Vec::new(),
                },
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/indienen`: submits the draft to the SWV.
pub(crate) async fn submit(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "indienen",
            inputs: DRAFT_INPUTS,
            done: "De aanvraag is ingediend bij het samenwerkingsverband.",
        },
        |state, staff, pairs, rid| async move {
            request::submit(
                &state.inner.store,
                &staff.actor,
                state.inner.clock.as_ref(),
                &rid,
                seen(&pairs)?,
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/antwoorden`: answers the SWV's question.
pub(crate) async fn answer(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "antwoorden",
            inputs: &[("answer", "answer")],
            done: "Het antwoord is verstuurd.",
        },
        |state, staff, pairs, rid| async move {
            request::answer(
                &state.inner.store,
                &staff.actor,
                &rid,
                seen(&pairs)?,
                field(&pairs, "answer").trim(),
            )
            .await?;
            Ok(())
        },
    )
    .await
}

/// `POST /ondersteuning/{id}/intrekken`: withdraws the request.
pub(crate) async fn withdraw(p: Posted) -> Result<Response, Error> {
    step(
        p,
        StepForm {
            key: "intrekken",
            inputs: &[],
            done: "De aanvraag is ingetrokken.",
        },
        |state, staff, pairs, rid| async move {
            request::withdraw(&state.inner.store, &staff.actor, &rid, seen(&pairs)?).await?;
            Ok(())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_dutch_euros() {
        assert_eq!(euros(450_000), "€ 4.500,00");
        assert_eq!(euros(5), "€ 0,05");
        assert_eq!(euros(123_456_789), "€ 1.234.567,89");
    }

    #[test]
    fn a_cost_is_read_as_dutch_money() {
        let read = |text: &'static str| {
            detail(&move |name: &str| {
                if name == "cost" {
                    text.to_owned()
                } else {
                    String::new()
                }
            })
            .map(|d| d.cost_cents)
        };
        assert_eq!(read("4.500,00").unwrap(), Some(450_000));
        assert_eq!(read("12,5").unwrap(), Some(1250));
        assert_eq!(read("").unwrap(), None);
        let e = read("veel").unwrap_err();
        assert!(format!("{e:?}").contains("cost_cents"), "{e:?}");
    }
}
