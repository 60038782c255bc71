//! Staff pages of the transfer dossiers: the season view with its chart,
//! one outgoing dossier (put before the guardians, inzage, publish), import
//! of an OSO file, one received dossier (read in full, its attachments and
//! its OSO export downloaded, assigned to the mentor), and the
//! mentor's list and classroom digest. Each handler calls the handover
//! slice's function with the signed-in actor; the slice checks the role.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_fabric::PartyId;
use carenet_handover::dossier::{self, Akkoord, DossierState, GuardiansView, Route};
use carenet_handover::reading::{self, Reading};
use carenet_handover::{incoming, season};
use serde::Deserialize;

use crate::form::{Form, Pairs, field, value};
use crate::href::filters;
use crate::pages::{done, render};
use crate::session::Staff;
use crate::{AppState, Error, labels};

#[derive(Template)]
#[template(path = "dossiers.html")]
struct SeasonPage {
    csrf: String,
    rows: Vec<Row>,
    /// (status, count, bar width in percent)
    chart: Vec<(&'static str, usize, usize)>,
    /// Whether the rows are a filtered part of the season.
    filtered: bool,
    /// Whether this person reads OSO files in (composes dossiers).
    may_import: bool,
}

struct Row {
    href: String,
    direction: &'static str,
    pupil: String,
    counterparty: String,
    status: String,
    warm: &'static str,
    feedback: bool,
}

/// The season view's filters, as the start page links to them: one
/// direction (`uit`, `in`) and status (its code), the warm handovers
/// planned (`warm=gepland`), the feedback to give or received
/// (`terugkoppeling=te-geven|ontvangen`).
#[derive(Deserialize, Default)]
pub(crate) struct SeasonQuery {
    #[serde(default)]
    richting: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    warm: Option<String>,
    #[serde(default)]
    terugkoppeling: Option<String>,
}

impl SeasonQuery {
    fn any(&self) -> bool {
        self.richting.is_some()
            || self.status.is_some()
            || self.warm.is_some()
            || self.terugkoppeling.is_some()
    }
}

/// `GET /dossiers`: the season view of this school (overview roles),
/// filtered as the query asks.
pub(crate) async fn season_view(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<SeasonQuery>,
) -> Result<Response, Error> {
    let direction = match query.richting.as_deref() {
        None => None,
        Some("uit") => Some("out".to_owned()),
        Some("in") => Some("in".to_owned()),
        Some(_) => return Err(Error::invalid("richting", "uit of in")),
    };
    let mut rows = season::season(
        &state.inner.store,
        state.inner.kind,
        &staff.actor,
        season::school_year_start_ms(),
        &season::Filter {
            direction,
            status: query.status.clone(),
        },
    )
    .await?;
    match query.warm.as_deref() {
        None => {}
        Some("gepland") => rows.retain(|r| r.warm_handover == "planned"),
        Some(_) => return Err(Error::invalid("warm", "gepland")),
    }
    let now = carenet_fabric::clock::now_ms();
    match query.terugkoppeling.as_deref() {
        None => {}
        Some("te-geven") => {
            let due: std::collections::HashSet<String> =
                incoming::feedback_due(&state.inner.store, now, state.inner.feedback_after_days)
                    .await?
                    .into_iter()
                    .map(|i| i.message_id)
                    .collect();
            rows.retain(|r| r.direction == "in" && due.contains(&r.id));
        }
        Some("ontvangen") => {
            let back: std::collections::HashSet<String> =
                crate::notify::waiting::feedback_received(&state.inner.store, now)
                    .await?
                    .into_iter()
                    .map(|(_, dossier)| dossier)
                    .collect();
            rows.retain(|r| r.direction == "out" && back.contains(&r.id));
        }
        Some(_) => return Err(Error::invalid("terugkoppeling", "te-geven of ontvangen")),
    }
    let filtered = query.any();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for r in &rows {
        let label = labels::dossier_status_at(&state, &r.status, &r.counterparty);
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
    }
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    let chart = counts
        .into_iter()
        .map(|(l, n)| (l, n, n * 100 / max))
        .collect();
    let rows = rows
        .into_iter()
        .map(|r| Row {
            href: if r.direction == "out" {
                crate::href::path(&["dossiers", &r.id])
            } else {
                crate::href::path(&["ontvangen", &r.id])
            },
            direction: if r.direction == "out" {
                "uitgaand"
            } else {
                "inkomend"
            },
            status: status_text(&state, &r),
            // A received dossier that is gone keeps no name here: the link
            // says what it is and opens the page that says it is gone.
            pupil: if r.pupil.is_empty() && r.direction == "in" {
                format!(
                    "dossier van {}",
                    labels::party_name(&state, &r.counterparty)
                )
            } else {
                r.pupil
            },
            counterparty: r
                .counterparty
                .split_whitespace()
                .map(|p| labels::party_name(&state, p))
                .collect::<Vec<_>>()
                .join(", "),
            warm: match r.warm_handover.as_str() {
                "planned" => "gepland",
                "held" => "gehouden",
                _ => "",
            },
            feedback: r.feedback,
        })
        .collect();
    let terms = crate::terms::of(state.inner.kind);
    Ok(render(&SeasonPage {
        csrf: staff.session.csrf,
        rows,
        chart,
        filtered,
        may_import: terms.sends_dossiers
            && staff
                .actor
                .may(&state.inner.party, &carenet_handover::roles::COMPOSE)
                .is_ok(),
    }))
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct DossierPage {
    csrf: String,
    id: String,
    pupil: String,
    route: &'static str,
    /// Its state in words ("ingetrokken op dd-mm-jjjj" once withdrawn).
    state: String,
    version: u32,
    advice: String,
    guardian_view: String,
    can_submit: bool,
    can_inspect: bool,
    can_publish: bool,
    /// (party id, name)
    recipients: Vec<(String, String)>,
    /// The school the pupil goes to, by name, if recorded.
    destination: Option<String>,
    /// The destination's party id (preselected in its form).
    destination_id: String,
    /// Whether this member of staff records the destination.
    can_set_destination: bool,
    /// (record id, what for)
    consents: Vec<(String, String)>,
    /// The school the publish form proposes: the one the guardians'
    /// consent names, else the one the pupil enrols at (the destination).
    proposed_recipient: String,
    /// The consent record the publish form proposes: the granted
    /// transfer-dossier consent naming the proposed school.
    proposed_consent: String,
    /// What the guardians answered on the version to be sent: (seen on
    /// dd-mm-jjjj, akkoord as words), `None` while they have not seen it.
    answer: Option<(String, &'static str)>,
    /// Where it went and what became of it, from the season view.
    sent: Vec<(String, String)>,
    /// The handbook's extras: (field, label, current text).
    extras: Vec<(&'static str, &'static str, String)>,
    /// Whether saving the extras makes a new version (a correction).
    edit_corrects: bool,
    can_edit: bool,
    /// Whether this member of staff plans and records warm handovers.
    may_warm: bool,
    /// This dossier's handover conversations: (link, date, state).
    warm: Vec<(String, String, &'static str)>,
    /// Who the conversation can be with: (party id, name).
    warm_parties: Vec<(String, String)>,
    their_roles: &'static [(&'static str, &'static str)],
    /// The plan form as a refused one held it; `refused` why.
    plan: crate::handover::warm::PlanTyped,
    refused: crate::reasons::Refusal,
    /// Whether this member of staff reads the feedback received.
    may_read_feedback: bool,
    /// Feedback from the schools it went to: (school, written on, text).
    feedback: Vec<(String, String, String)>,
    notice: Option<String>,
}

/// The handbook's fields OSO lacks, as the form names them.
const EXTRA_LABELS: &[(&str, &str)] = &[
    ("talents", "Talenten"),
    ("interests", "Interesses"),
    ("what_works", "Wat werkt"),
    ("what_to_avoid", "Wat niet werkt"),
    ("pupil_voice", "Wat de leerling zelf zegt"),
    ("agreements", "Afspraken"),
    ("contact", "Contactpersoon voor vragen"),
];

fn extra_of(e: &carenet_handover::model::Extras, field: &str) -> String {
    match field {
        "talents" => e.talents.clone(),
        "interests" => e.interests.clone(),
        "what_works" => e.what_works.clone(),
        "what_to_avoid" => e.what_to_avoid.clone(),
        "pupil_voice" => e.pupil_voice.clone(),
        "agreements" => e.agreements.clone(),
        "contact" => e.contact.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

fn route_label(r: Route) -> &'static str {
    match r {
        Route::PoVo => "basisschool → middelbare school",
        Route::PoPo => "basisschool → basisschool",
        Route::VoVo => "middelbare school → middelbare school",
        Route::VoVervolg => "middelbare school → vervolgopleiding",
        Route::Internal => "binnen de school",
    }
}

/// The guardians' `akkoord` (OSO codelijst 37) as the page says it.
fn akkoord_words(code: &str) -> &'static str {
    match code {
        "Ja" => "akkoord met de inhoud",
        "Nee" => "niet akkoord met de inhoud",
        _ => "niet gezegd of ze akkoord zijn",
    }
}

/// A season row's status in words, with the date of a withdrawal
/// ("ingetrokken op dd-mm-jjjj").
fn status_text(state: &AppState, r: &season::SeasonRow) -> String {
    match r.withdrawn_at_ms {
        Some(at) if r.status == "withdrawn" => {
            format!("ingetrokken op {}", crate::pages::date_of(at))
        }
        _ => labels::dossier_status_at(state, &r.status, &r.counterparty).to_owned(),
    }
}

/// `GET /dossiers/{id}`: one outgoing dossier and its next step.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = crate::pages::notice(jar, &crate::href::path(&["dossiers", &id]));
    let page = page(&state, staff, &id, notice, Default::default()).await?;
    Ok((jar, page).into_response())
}

/// One outgoing dossier's page (`GET /dossiers/{id}`), also as a refused
/// warm-handover plan form comes back on it (`plan`: what it held, why).
pub(crate) async fn page(
    state: &AppState,
    staff: Staff,
    id: &str,
    notice: Option<String>,
    plan: crate::handover::warm::PlanTyped,
) -> Result<Response, Error> {
    let id = id.to_owned();
    let store = &state.inner.store;
    let d = dossier::view(store, &staff.actor, &id).await?;
    let summary = d.dossier.summary();
    let recipients = match (d.route.recipient_kind(), store.directory()) {
        (Some(kind), Some(directory)) => {
            let snapshot = directory.snapshot();
            let mut parties: Vec<(String, String)> = snapshot
                .parties()
                .filter(|p| p.kind == kind && p.id != store.party)
                .map(|p| (p.id.to_string(), p.name.clone()))
                .collect();
            parties.sort();
            parties
        }
        _ => Vec::new(),
    };
    let may_publish = staff
        .actor
        .may(&store.party, &carenet_handover::roles::PUBLISH)
        .is_ok();
    let granted = if may_publish {
        crate::consent::pages::granted(state, &staff.actor, &d.child_ref, None).await?
    } else {
        Vec::new()
    };
    // The school the guardians consented to, else the one the pupil enrols
    // at; and the consent that names it.
    let transfer: Vec<_> = granted
        .iter()
        .filter(|c| c.version.purpose == carenet_consent::Purpose::TransferDossier.as_str())
        .collect();
    let consented: Vec<String> = transfer
        .iter()
        .flat_map(|c| dossier::consented_parties(&c.version))
        .filter(|p| recipients.iter().any(|(id, _)| id == p))
        .collect();
    let proposed_recipient = d
        .destination
        .clone()
        .filter(|dest| consented.is_empty() || consented.contains(dest))
        .or_else(|| consented.first().cloned())
        .unwrap_or_default();
    let proposed_consent = transfer
        .iter()
        .find(|c| dossier::consented_parties(&c.version).contains(&proposed_recipient))
        .map(|c| c.version.record_id.clone())
        .unwrap_or_default();
    let consents = granted
        .into_iter()
        .map(crate::consent::pages::choice)
        .collect();
    let answer = dossier::guardians_answer(store, &d)
        .await?
        .map(|(on, akkoord)| (labels::date_text(&on), akkoord_words(&akkoord)));
    // Where it went: its season row, for the roles with the overview (asked
    // only then, so a mentor's page view is no audited refusal).
    let overview = carenet_handover::roles::overview(state.inner.kind);
    let mut withdrawn_on = None;
    let sent = if staff.actor.may(&store.party, &overview).is_ok() {
        season::of_dossier(store, state.inner.kind, &staff.actor, &id)
            .await?
            .filter(|r| r.status != d.state.as_str())
            .map(|r| {
                withdrawn_on = r.withdrawn_at_ms.map(crate::pages::date_of);
                let status = status_text(state, &r);
                let to = r
                    .counterparty
                    .split_whitespace()
                    .map(|p| labels::party_name(state, p))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![(to, status)]
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let inspector = staff
        .actor
        .may(&store.party, &carenet_handover::roles::INSPECTION)
        .is_ok();
    let may_warm = staff
        .actor
        .may(&store.party, &carenet_handover::roles::WARM)
        .is_ok();
    let warm = if may_warm {
        carenet_handover::warm::of_dossier(store, &staff.actor, &id)
            .await?
            .into_iter()
            .map(|w| {
                let held = w.state == "held";
                let on = if held { &w.held_on } else { &w.planned_on };
                (
                    crate::href::path(&["warme-overdracht", &w.id]),
                    labels::date_text(on),
                    if held { "gehouden" } else { "gepland" },
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    // With the receiving school; inside the school (a mentor change), with
    // this one.
    let warm_parties = if recipients.is_empty() {
        vec![(
            store.party.to_string(),
            labels::party_name(state, store.party.as_str()),
        )]
    } else {
        recipients.clone()
    };
    let may_read_feedback = staff
        .actor
        .may(&store.party, &carenet_handover::roles::FEEDBACK_READ)
        .is_ok();
    let feedback = if may_read_feedback {
        incoming::feedback_about(store, &staff.actor, &id)
            .await?
            .into_iter()
            .map(|f| {
                (
                    labels::party_name(state, &f.from_party),
                    labels::date_text(&f.written_on),
                    f.text,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&DossierPage {
        csrf: staff.session.csrf,
        id: d.id.clone(),
        pupil: summary.pupil_name,
        route: route_label(d.route),
        state: match withdrawn_on {
            Some(on) => format!("ingetrokken op {on}"),
            None => labels::dossier_status(d.state.as_str()).to_owned(),
        },
        version: d.version,
        advice: summary
            .advice
            .map(|a| carenet_handover::codes::advice(&a))
            .unwrap_or_default(),
        guardian_view: d.dossier.extras.guardian_view.clone().unwrap_or_default(),
        can_submit: d.state == DossierState::Draft,
        can_inspect: inspector
            && matches!(
                d.state,
                DossierState::Draft | DossierState::AwaitingInspection
            ),
        can_publish: may_publish && d.state == DossierState::Ready,
        destination: d
            .destination
            .as_deref()
            .map(|p| labels::party_name(state, p)),
        destination_id: d.destination.clone().unwrap_or_default(),
        can_set_destination: may_publish && !recipients.is_empty(),
        recipients,
        consents,
        proposed_recipient,
        proposed_consent,
        answer,
        sent,
        extras: EXTRA_LABELS
            .iter()
            .map(|(f, l)| (*f, *l, extra_of(&d.dossier.extras, f)))
            .collect(),
        edit_corrects: matches!(d.state, DossierState::Ready | DossierState::Published),
        can_edit: d.state != DossierState::AwaitingInspection,
        may_warm,
        warm,
        warm_parties,
        their_roles: crate::handover::warm::THEIR_ROLES,
        refused: plan.refused.clone(),
        plan,
        may_read_feedback,
        feedback,
        notice,
    }))
}

/// `POST /dossiers/{id}/aanvullen`: the handbook's extras. A draft is
/// edited; a ready or published dossier gets a new version (a correction,
/// which goes before the guardians again and reaches every earlier recipient
/// when published).
pub(crate) async fn extras(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let current = dossier::get(&state.inner.store, &id).await?.dossier.extras;
    let changed = |name: &str| {
        let value = value(&pairs, name)?.trim().to_owned();
        (value != extra_of(&current, name)).then_some(value)
    };
    let edit = dossier::ExtrasEdit {
        talents: changed("talents"),
        interests: changed("interests"),
        what_works: changed("what_works"),
        what_to_avoid: changed("what_to_avoid"),
        pupil_voice: changed("pupil_voice"),
        agreements: changed("agreements"),
        contact: changed("contact"),
    };
    let to = crate::href::path(&["dossiers", &id]);
    if edit.is_empty() {
        return Ok(done(&state, jar, &to, "Er was niets gewijzigd."));
    }
    let notice = match dossier::set_extras(&state.inner.store, &staff.actor, &id, &edit).await? {
        dossier::ExtrasOutcome::Edited => "Opgeslagen.".to_owned(),
        dossier::ExtrasOutcome::Corrected(v) => format!(
            "Opgeslagen als versie {v} (een correctie): leg hem opnieuw voor aan de ouders en verstuur hem dan."
        ),
    };
    Ok(done(&state, jar, &to, &notice))
}

/// `POST /dossiers/{id}/voorleggen`: put the dossier before the guardians.
pub(crate) async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<crate::session::CsrfForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    dossier::submit_for_inspection(&state.inner.store, &staff.actor, &id).await?;
    Ok(Redirect::to(&crate::href::path(&["dossiers", &id])).into_response())
}

#[derive(Deserialize)]
pub(crate) struct InspectionForm {
    #[serde(default)]
    csrf: String,
    seen_on: String,
    #[serde(default)]
    view: String,
    akkoord: String,
}

/// `POST /dossiers/{id}/inzage`: staff record the inzage the guardians had
/// at school (on the portal the guardians give it themselves).
pub(crate) async fn inspection(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<InspectionForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let seen_on = dossier::parse_date("seen_on", &form.seen_on)?;
    let akkoord = Akkoord::parse("akkoord", &form.akkoord)?;
    let view = GuardiansView::new(Some(form.view), akkoord);
    dossier::record_inspection(&state.inner.store, &staff.actor, &id, seen_on, view).await?;
    Ok(Redirect::to(&crate::href::path(&["dossiers", &id])).into_response())
}

#[derive(Deserialize)]
pub(crate) struct PublishForm {
    #[serde(default)]
    csrf: String,
    recipient: String,
    #[serde(default)]
    consent_record: String,
}

/// `POST /dossiers/{id}/versturen`: release the dossier to the receiving
/// school (the consent service decides at fetch time what leaves).
pub(crate) async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PublishForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    let recipient = PartyId::parse("recipient", &form.recipient)?;
    let directory = store
        .directory()
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))?;
    let consent = (!form.consent_record.is_empty()).then_some(form.consent_record.as_str());
    dossier::publish(
        store,
        directory,
        &staff.actor,
        &id,
        std::slice::from_ref(&recipient),
        consent,
    )
    .await?;
    Ok(Redirect::to(&crate::href::path(&["dossiers", &id])).into_response())
}

#[derive(Template)]
#[template(path = "incoming.html")]
struct IncomingPage {
    csrf: String,
    /// Who reads a pupil's dossier in class: the mentor, at a follow-up
    /// institution the studieloopbaanbegeleider.
    mentor_word: &'static str,
    id: String,
    pupil: String,
    sender: String,
    version: u32,
    /// The assigned mentor's and teachers' names (empty: not yet assigned).
    mentor: String,
    teachers: Vec<String>,
    read: bool,
    advice: String,
    /// The assignment form: the people it offers ("Naam (rol)") for the
    /// mentor and the teachers, what was typed when it came back refused,
    /// and the refusal's field and Dutch sentence.
    mentor_choices: Vec<String>,
    teacher_choices: Vec<String>,
    typed: AssignTyped,
    assign_refused: Option<(&'static str, String)>,
    /// Whether this member of staff sends feedback to the sending school.
    may_feedback: bool,
    /// When feedback was sent (dd-mm-jjjj).
    feedback_sent: Option<String>,
    /// This school's reference of the pupil, once registered.
    child_ref: Option<String>,
    /// Where the feedback form returns to (`feedback_form.html`).
    back: &'static str,
    /// What was typed in the feedback form, when it came back refused.
    feedback_text: String,
    refused: crate::reasons::Refusal,
    /// The handover conversations the sending school shared about it.
    warm: Vec<SharedWarm>,
    /// Everything the school received, section by section.
    content: crate::handover::dossier_content::DossierContent,
    /// Whether this member of staff assigns it (the care coordinator).
    may_assign: bool,
    /// Whether this member of staff exports it as an OSO file.
    may_export: bool,
    notice: Option<String>,
}

impl IncomingPage {
    /// Whether the refused assignment named `field`.
    fn invalid(&self, field: &str) -> bool {
        self.assign_refused
            .as_ref()
            .is_some_and(|(f, _)| *f == field)
    }

    /// The pupil number the form shows: as typed, else as registered.
    fn child_ref_value(&self) -> &str {
        if self.typed.child_ref.is_empty() {
            self.child_ref.as_deref().unwrap_or("")
        } else {
            &self.typed.child_ref
        }
    }

    /// (number, field name, typed value) of each teacher field.
    fn teacher_fields(&self) -> Vec<(usize, &'static str, &str)> {
        ["teacher_1", "teacher_2", "teacher_3"]
            .into_iter()
            .zip(&self.typed.teachers)
            .enumerate()
            .map(|(i, (field, value))| (i + 1, field, value.as_str()))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "withdrawn.html")]
struct GonePage {
    csrf: String,
    /// Withdrawn by the sender (else purged after its retention period).
    withdrawn: bool,
    sender: String,
    received_on: String,
    /// When the withdrawal arrived (dd-mm-jjjj).
    on: String,
    /// This school's own reference of the pupil, if it registered one (the
    /// name went with the content).
    child_ref: Option<String>,
    back: String,
    back_label: &'static str,
}

/// The page a received dossier that is gone opens instead of "not found",
/// for whoever could read it ([`reading::gone`]); `None` while it is there.
async fn gone_page(state: &AppState, staff: &Staff, id: &str) -> Result<Option<Response>, Error> {
    let store = &state.inner.store;
    let Some(item) = reading::gone(store, state.inner.kind, &staff.actor, id).await? else {
        return Ok(None);
    };
    let overview = carenet_handover::roles::overview(state.inner.kind);
    let (back, back_label) = if staff.actor.may(&store.party, &overview).is_ok() {
        ("/dossiers".to_owned(), "de dossiers")
    } else {
        ("/mijn-leerlingen".to_owned(), "mijn leerlingen")
    };
    Ok(Some(render(&GonePage {
        csrf: staff.session.csrf.clone(),
        withdrawn: item.removed.as_deref() == Some("withdrawn"),
        sender: labels::party_name(state, &item.sender),
        received_on: crate::pages::date_of(item.received_at_ms),
        on: item
            .withdrawn_at_ms
            .map(crate::pages::date_of)
            .unwrap_or_default(),
        child_ref: item.child_ref,
        back,
        back_label,
    })))
}

/// A warm-handover record another school shared, as the page shows it.
struct SharedWarm {
    held_on: String,
    participants: Vec<String>,
    /// (topic, notes), only the topics with notes.
    notes: Vec<(String, String)>,
    minutes: String,
    agreements: Vec<String>,
    aftercare: String,
}

/// `GET /ontvangen/{id}`: a received dossier in full, for the one who
/// assigns it and the mentor it is assigned to; the reading is audited and
/// told to the sending school.
pub(crate) async fn received(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = crate::pages::notice(jar, &crate::href::path(&["ontvangen", &id]));
    if let Some(page) = gone_page(&state, &staff, &id).await? {
        return Ok((jar, page).into_response());
    }
    let page = received_page(&state, &staff, id, notice, Typed::default()).await?;
    Ok((jar, page).into_response())
}

/// What was typed in a refused feedback form, and why it was refused: the
/// received dossier's page or the digest shows it again.
#[derive(Default)]
pub(crate) struct Typed {
    pub text: String,
    pub refused: crate::reasons::Refusal,
    /// The warm-handover plan form, when it came back refused.
    pub plan: crate::handover::warm::PlanTyped,
}

/// The received dossier's page (`GET /ontvangen/{id}`), also as a refused
/// feedback form comes back on it.
pub(crate) async fn received_page(
    state: &AppState,
    staff: &Staff,
    id: String,
    notice: Option<String>,
    feedback: Typed,
) -> Result<Response, Error> {
    let page = incoming_page(
        state,
        staff,
        &id,
        notice,
        AssignTyped::default(),
        None,
        feedback,
    )
    .await?;
    Ok(render(&page))
}

/// The received dossier's page (for [`received`], and for a refused
/// assignment or feedback form with what was typed and why).
async fn incoming_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    typed: AssignTyped,
    assign_refused: Option<(&'static str, String)>,
    feedback: Typed,
) -> Result<IncomingPage, Error> {
    let state = state.clone();
    let id = id.to_owned();
    let store = &state.inner.store;
    let kind = state.inner.kind;
    let (item, d) = reading::read(store, kind, &staff.actor, &id, Reading::Page).await?;
    let summary = d.summary();
    let may = |rule: &carenet_fabric::actor::Rule| staff.actor.may(&store.party, rule).is_ok();
    let content = crate::handover::dossier_content::content(&d, |n| {
        crate::href::path(&["ontvangen", &id, "bijlagen", &n.to_string()])
    });
    let may_assign = may(&carenet_handover::roles::assign(kind));
    let names = crate::staff_directory::Names::load(&state).await?;
    let warm = if may(&carenet_handover::roles::warm_read(kind)) {
        carenet_handover::warm::received_about(
            store,
            kind,
            &staff.actor,
            &item.sender,
            &item.document_id,
        )
        .await?
        .into_iter()
        .map(|w| SharedWarm {
            held_on: labels::date_text(&w.held_on),
            participants: w
                .participants
                .iter()
                .map(|p| crate::handover::warm::participant_label(&state, &names, p))
                .collect(),
            notes: w
                .agenda
                .into_iter()
                .filter(|a| !a.notes.is_empty())
                .map(|a| (a.topic, a.notes))
                .collect(),
            minutes: w.minutes,
            agreements: w.agreements,
            aftercare: w.aftercare,
        })
        .collect()
    } else {
        Vec::new()
    };
    let (mentor_choices, teacher_choices) = if may_assign {
        (
            crate::staff_directory::choices(&state, &mentor_roles(kind)).await?,
            crate::staff_directory::choices(&state, TEACHER_ROLES).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(IncomingPage {
        csrf: staff.session.csrf.clone(),
        mentor_word: labels::mentor_word(state.inner.kind),
        id: item.message_id,
        pupil: summary.pupil_name,
        sender: labels::party_name(&state, &item.sender),
        version: item.version,
        mentor: item
            .mentor
            .as_deref()
            .map(|m| names.of(m))
            .unwrap_or_default(),
        teachers: item.teachers.iter().map(|t| names.of(t)).collect(),
        read: item.opened_at_ms.is_some(),
        advice: summary
            .advice
            .map(|a| carenet_handover::codes::advice(&a))
            .unwrap_or_default(),
        may_feedback: may(&carenet_handover::roles::FEEDBACK_SEND)
            && item.sender != store.party.as_str(),
        feedback_sent: item.feedback_at_ms.map(crate::pages::date_of),
        child_ref: item.child_ref,
        back: "",
        warm,
        content,
        may_assign,
        may_export: may(&carenet_handover::roles::EXPORT),
        notice,
        mentor_choices,
        teacher_choices,
        typed,
        assign_refused,
        feedback_text: feedback.text,
        refused: feedback.refused,
    })
}

/// `GET /ontvangen/{id}/bijlagen/{n}`: attachment `n` of a received dossier,
/// as a download (its content type, never shown inline); audited and told
/// to the sending school.
pub(crate) async fn attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let item = reading::check(store, state.inner.kind, &staff.actor, &id).await?;
    let d = incoming::dossier_of(store, &item).await?;
    let a = crate::handover::dossier_content::attachment(&d, n).ok_or(Error::NotFound)?;
    reading::record(
        store,
        &staff.actor,
        &item,
        &d,
        Reading::Attachment,
        carenet_fabric::crypto::sha256(&a.bytes).to_vec(),
    )
    .await?;
    Ok(crate::handover::dossier_content::download(a))
}

/// `POST /ontvangen/{id}/oso`: the received dossier as an OSO 2019.1 file
/// for the school's administration system (the same export as
/// `carenet oso export --message`), a download; audited and told to the
/// sending school.
pub(crate) async fn export(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<crate::session::CsrfForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let xml = dossier::export_oso(
        &state.inner.store,
        &staff.actor,
        &dossier::ExportSource::Received(id),
    )
    .await?;
    Ok(oso_download(xml))
}

/// An OSO file as a download.
pub(crate) fn oso_download(xml: String) -> Response {
    crate::handover::dossier_content::download(crate::handover::dossier_content::Attachment {
        file_name: "overstapdossier.xml".into(),
        content_type: "application/xml; charset=utf-8",
        bytes: xml.into_bytes(),
    })
}

#[derive(Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    csrf: String,
    /// The mentor as the picker offers them ("Naam (rol)"), or a staff id.
    #[serde(default)]
    mentor: String,
    /// Up to three teachers, each picked like the mentor.
    #[serde(default)]
    teacher_1: String,
    #[serde(default)]
    teacher_2: String,
    #[serde(default)]
    teacher_3: String,
    /// This school's own reference of the pupil.
    #[serde(default)]
    child_ref: String,
}

/// What the assignment form held, put back when it is refused.
#[derive(Clone, Debug, Default)]
pub(crate) struct AssignTyped {
    child_ref: String,
    mentor: String,
    teachers: [String; 3],
}

/// Who the mentor field offers: mentors, at a follow-up institution the
/// studieloopbaanbegeleiders.
pub(crate) fn mentor_roles(kind: carenet_fabric::PartyKind) -> Vec<carenet_fabric::Role> {
    use carenet_fabric::Role;
    match kind {
        carenet_fabric::PartyKind::Vervolg => vec![Role::StudyCareerCoach, Role::Mentor],
        _ => vec![Role::Mentor],
    }
}

/// Who a teachers field offers.
pub(crate) const TEACHER_ROLES: &[carenet_fabric::Role] =
    &[carenet_fabric::Role::Teacher, carenet_fabric::Role::Mentor];

/// `POST /ontvangen/{id}/toewijzen`: to the mentor (and teachers), each
/// picked from the staff directory; one it does not know comes back on the
/// page with what was typed and a Dutch sentence naming the field.
pub(crate) async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let (store, kind) = (&state.inner.store, state.inner.kind);
    let typed = AssignTyped {
        child_ref: form.child_ref.trim().to_owned(),
        mentor: form.mentor.trim().to_owned(),
        teachers: [
            form.teacher_1.trim().to_owned(),
            form.teacher_2.trim().to_owned(),
            form.teacher_3.trim().to_owned(),
        ],
    };
    // The role first: who may not assign learns nothing of the directory.
    carenet_fabric::actor::require(
        store,
        &staff.actor,
        &carenet_handover::roles::assign(kind),
        &id,
    )
    .await?;
    let mentor_word = labels::mentor_word(kind);
    let mut refused = None;
    let mentor =
        match crate::staff_directory::resolve(&state, "mentor", &typed.mentor, &mentor_roles(kind))
            .await?
        {
            Ok(mentor) => Some(mentor),
            Err(unknown) => {
                let label = if typed.mentor.is_empty() {
                    format!("Kies een {mentor_word} uit de lijst.")
                } else {
                    unknown.message(mentor_word)
                };
                refused = Some(("mentor", label));
                None
            }
        };
    let mut teachers = Vec::new();
    for (n, text) in typed.teachers.iter().enumerate() {
        if text.is_empty() || refused.is_some() {
            continue;
        }
        match crate::staff_directory::resolve(&state, "teachers", text, TEACHER_ROLES).await? {
            Ok(t) => teachers.push(t),
            Err(unknown) => {
                let field = ["teacher_1", "teacher_2", "teacher_3"][n];
                refused = Some((field, unknown.message(&format!("docent {}", n + 1))));
            }
        }
    }
    let Some(mentor) = mentor.filter(|_| refused.is_none()) else {
        tracing::info!(party = %state.inner.party, "assignment refused: a person not in the staff directory");
        let page =
            incoming_page(&state, &staff, &id, None, typed, refused, Typed::default()).await?;
        let mut response = render(&page);
        *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        return Ok(response);
    };
    incoming::register_pupil(store, kind, &staff.actor, &id, &typed.child_ref).await?;
    incoming::assign(store, kind, &staff.actor, &id, &mentor, &teachers).await?;
    Ok(Redirect::to(&crate::href::path(&["ontvangen", &id])).into_response())
}

#[derive(Template)]
#[template(path = "mine.html")]
struct MinePage {
    csrf: String,
    /// Who reads a pupil's dossier in class: the mentor, at a follow-up
    /// institution the studieloopbaanbegeleider.
    mentor_word: &'static str,
    /// (link, pupil, received on, read, withdrawn on)
    items: Vec<(String, String, String, bool, Option<String>)>,
    /// Whether the list is the part the start page linked to.
    filtered: bool,
}

/// The filters of "Mijn leerlingen", as the start page links to them.
#[derive(Deserialize, Default)]
pub(crate) struct MineQuery {
    /// `1`: the new pupils whose dossier the mentor has not opened.
    #[serde(default)]
    ongelezen: Option<String>,
    /// `te-geven`: the pupils whose sending school waits for feedback.
    #[serde(default)]
    terugkoppeling: Option<String>,
}

/// `GET /mijn-leerlingen`: the dossiers assigned to this mentor or teacher.
pub(crate) async fn mine(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<MineQuery>,
) -> Result<Response, Error> {
    let me = staff.actor.staff.as_str();
    let store = &state.inner.store;
    let due: Option<std::collections::HashSet<String>> = match query.terugkoppeling.as_deref() {
        None => None,
        Some("te-geven") => Some(
            incoming::feedback_due(
                store,
                carenet_fabric::clock::now_ms(),
                state.inner.feedback_after_days,
            )
            .await?
            .into_iter()
            .map(|i| i.message_id)
            .collect(),
        ),
        Some(_) => return Err(Error::invalid("terugkoppeling", "te-geven")),
    };
    let unread = match query.ongelezen.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => return Err(Error::invalid("ongelezen", "1")),
    };
    let items: Vec<incoming::Incoming> = incoming::list(store)
        .await?
        .into_iter()
        .filter(|i| {
            (i.available || i.removed.as_deref() == Some("withdrawn"))
                && (i.mentor.as_deref() == Some(me) || i.teachers.iter().any(|t| t == me))
        })
        // Unread: the new pupils the mentor has not opened (as the start
        // page counts them).
        .filter(|i| {
            !unread || (i.available && i.mentor.as_deref() == Some(me) && i.opened_at_ms.is_none())
        })
        .filter(|i| due.as_ref().is_none_or(|d| d.contains(&i.message_id)))
        .collect();
    let mut names = incoming::pupil_names(store, &items).await?;
    let items = items
        .into_iter()
        .map(|i| {
            (
                crate::href::path(&["ontvangen", &i.message_id, "samenvatting"]),
                names.remove(&i.message_id).unwrap_or_else(|| {
                    // Withdrawn: the name went with the content.
                    match &i.child_ref {
                        Some(r) => format!(
                            "leerlingnummer {r}, dossier van {}",
                            labels::party_name(&state, &i.sender)
                        ),
                        None => format!("dossier van {}", labels::party_name(&state, &i.sender)),
                    }
                }),
                crate::pages::date_of(i.received_at_ms),
                i.opened_at_ms.is_some(),
                (!i.available).then(|| {
                    i.withdrawn_at_ms
                        .map(crate::pages::date_of)
                        .unwrap_or_default()
                }),
            )
        })
        .collect();
    Ok(render(&MinePage {
        csrf: staff.session.csrf,
        mentor_word: labels::mentor_word(state.inner.kind),
        items,
        filtered: unread || due.is_some(),
    }))
}

#[derive(Template)]
#[template(path = "digest.html")]
struct DigestPage {
    csrf: String,
    /// Who reads a pupil's dossier in class: the mentor, at a follow-up
    /// institution the studieloopbaanbegeleider.
    mentor_word: &'static str,
    id: String,
    pupil: String,
    /// The digest, or `None` while the mentor has not opened it yet.
    items: Option<Vec<(&'static str, String)>>,
    may_feedback: bool,
    feedback_sent: Option<String>,
    child_ref: Option<String>,
    back: &'static str,
    /// What was typed in the feedback form, when it came back refused.
    feedback_text: String,
    refused: crate::reasons::Refusal,
    /// Whether this is the assigned mentor, who reads the whole dossier too.
    full: bool,
    notice: Option<String>,
    /// Whether this person plans the handover conversation from here (the
    /// receiving side: a follow-up institution's SLB or intakecoördinator,
    /// a mentor), with the sending school: (party id, name).
    warm_with: Option<(String, String)>,
    /// This party's conversations about the dossier: (link, date, state).
    warm: Vec<(String, String, &'static str)>,
    their_roles: &'static [(&'static str, &'static str)],
    /// The plan form as a refused one held it.
    plan: crate::handover::warm::PlanTyped,
    form_id: String,
}

/// `GET /ontvangen/{id}/samenvatting`: the classroom digest for the assigned
/// mentor or teacher. Until the mentor opens it (a button: the opening tells
/// the sending school "read by mentor", which a GET must not do), the page
/// offers to open it; after that, and for teachers, it shows the digest.
pub(crate) async fn digest(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) =
        crate::pages::notice(jar, &crate::href::path(&["ontvangen", &id, "samenvatting"]));
    if let Some(page) = gone_page(&state, &staff, &id).await? {
        return Ok((jar, page).into_response());
    }
    let page = digest_page(&state, staff, id, notice, Typed::default()).await?;
    Ok((jar, page).into_response())
}

/// The classroom digest (`GET /ontvangen/{id}/samenvatting`), also as a
/// refused feedback form comes back on it.
pub(crate) async fn digest_page(
    state: &AppState,
    staff: Staff,
    id: String,
    notice: Option<String>,
    typed: Typed,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let item = incoming::get(store, &id).await?;
    let unopened_mentor =
        item.mentor.as_deref() == Some(staff.actor.staff.as_str()) && item.opened_at_ms.is_none();
    let (pupil, items) = if unopened_mentor {
        // Only the assigned mentor gets here: no content, just the button.
        (String::new(), None)
    } else {
        let digest = incoming::open_digest(store, &staff.actor, &id).await?;
        (digest.pupil, Some(digest.items))
    };
    let may_feedback = staff
        .actor
        .may(&store.party, &carenet_handover::roles::FEEDBACK_SEND)
        .is_ok()
        && item.sender != store.party.as_str();
    // The handover conversation, planned from the receiving side once the
    // digest is open.
    let may_warm = items.is_some()
        && item.sender != store.party.as_str()
        && staff
            .actor
            .may(&store.party, &carenet_handover::roles::WARM)
            .is_ok();
    let warm = if may_warm {
        carenet_handover::warm::of_dossier(store, &staff.actor, &item.document_id)
            .await?
            .into_iter()
            .map(|w| {
                let held = w.state == "held";
                let on = if held { &w.held_on } else { &w.planned_on };
                (
                    crate::href::path(&["warme-overdracht", &w.id]),
                    labels::date_text(on),
                    if held { "gehouden" } else { "gepland" },
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let warm_with =
        may_warm.then(|| (item.sender.clone(), labels::party_name(state, &item.sender)));
    Ok(render(&DigestPage {
        csrf: staff.session.csrf,
        mentor_word: labels::mentor_word(state.inner.kind),
        id,
        pupil,
        items,
        may_feedback,
        feedback_sent: item.feedback_at_ms.map(crate::pages::date_of),
        child_ref: item.child_ref,
        back: "samenvatting",
        feedback_text: typed.text,
        refused: typed.refused,
        full: item.mentor.as_deref() == Some(staff.actor.staff.as_str())
            && carenet_handover::roles::is_mentor(&staff.actor),
        notice,
        warm_with,
        warm,
        their_roles: crate::handover::warm::THEIR_ROLES,
        plan: typed.plan,
        form_id: crate::pages::form_id(),
    }))
}

/// `POST /ontvangen/{id}/samenvatting`: the mentor opens the digest (the
/// first opening tells the sending school "read by mentor").
pub(crate) async fn open_digest(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<crate::session::CsrfForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    incoming::open_digest(&state.inner.store, &staff.actor, &id).await?;
    Ok(Redirect::to(&crate::href::path(&["ontvangen", &id, "samenvatting"])).into_response())
}
