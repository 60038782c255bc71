//! Staff pages of the internal care team (IZO; at a primary school the
//! leerlingbespreking): register a pupil with every field of the handbook's
//! form (appendix 20), triage it, record the meeting's minutes (appendices
//! 21-22) and the conversations with pupil and guardians. Each handler calls
//! the referral slice with the signed-in actor; the slice checks the role.
//! Pupil references travel in form bodies only.
//!
//! The people of this school the forms name (the pupil's mentor, who
//! informs the guardians) are picked from the staff directory by name and
//! stored as staff ids; a name it does not know is refused. A refused form
//! comes back as the same page with what was typed, the field marked and a
//! Dutch sentence ([`crate::reasons`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_consent::Purpose;
use carenet_fabric::Role;
use carenet_proto::v1::{self, IzoConversationWith, IzoOutcome, IzoSupportKind, IzoTriageDecision};
use carenet_referral::{izo, izo_meeting, names};

use crate::form::{Form, Pairs, field, value};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, Refused, refusal};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// Who the mentor field offers: the school's mentors (at a follow-up
/// institution its SLBs) and teachers.
fn mentor_fits(kind: carenet_fabric::PartyKind) -> Vec<Role> {
    let mut fits = crate::handover::dossiers::mentor_roles(kind);
    fits.push(Role::Teacher);
    fits
}

/// A "pick a person" field of these forms that named nobody the staff
/// directory knows: refused on the page, input `input` marked.
fn unknown_person(unknown: &crate::staff_directory::Unknown, label: &str, input: &str) -> Refused {
    let message = if unknown.typed.is_empty() {
        format!("Kies bij \"{label}\" een medewerker uit de lijst.")
    } else {
        unknown.message(label)
    };
    Refused {
        status: StatusCode::BAD_REQUEST,
        field: Some(unknown.field.to_owned()),
        message,
        link: None,
        input: Some(input.to_owned()),
    }
}

/// The staff id a person field names, or the refusal of the page. Someone
/// who may not `rule` learns nothing of the directory: the text goes on to
/// the slice, which refuses the role (audited).
async fn pick_person(
    state: &AppState,
    staff: &Staff,
    rule: &carenet_fabric::actor::Rule,
    (field, label, input): (&'static str, &str, &str),
    text: &str,
    fits: &[Role],
) -> Result<Result<String, Refused>, Error> {
    if staff.actor.may(&state.inner.store.party, rule).is_err() {
        return Ok(Ok(text.to_owned()));
    }
    Ok(crate::staff_directory::resolve(state, field, text, fits)
        .await?
        .map_err(|u| unknown_person(&u, label, input)))
}

/// The registration form's free-text fields: (name, label, rows).
const REGISTRATION_TEXT: &[(&str, &str, u8)] = &[
    ("problem", "Wat is het probleem?", 3),
    ("onset", "Sinds wanneer, en waardoor?", 2),
    ("hindering_factors", "Wat belemmert?", 2),
    ("functioning_at_home", "Hoe gaat het thuis?", 2),
    ("what_goes_well", "Wat gaat goed?", 2),
    ("pupil_question", "Hulpvraag van de leerling", 2),
    ("guardians_question", "Hulpvraag van de ouders", 2),
    ("support_question", "Begeleidingsvraag van de school", 2),
    ("done_so_far", "Wat is er al gedaan?", 2),
    ("previous_help", "Eerdere hulp", 2),
    ("earlier_izo_zat", "Eerder in IZO of ZAT besproken", 1),
    ("research", "Onderzoek en uitkomst", 2),
    ("diagnosis", "Diagnose", 1),
    ("school_career", "Schoolloopbaan", 2),
    ("home_situation", "Thuissituatie", 2),
    ("talents", "Talenten", 1),
];

/// The school data of the form: (name, label).
const SCHOOL_DATA: &[(&str, &str)] = &[
    ("grades", "Cijfers"),
    ("opp_exit", "OPP en uitstroomprofiel"),
    ("social_emotional", "Sociaal-emotioneel"),
    ("interaction", "Omgang met anderen"),
    ("work_attitude", "Werkhouding"),
    ("homework", "Huiswerk"),
    ("motivation", "Motivatie"),
    ("wellbeing", "Welbevinden"),
    ("absence", "Verzuim"),
];

const SUPPORT: &[(IzoSupportKind, &str, &str)] = &[
    (
        IzoSupportKind::ResearchOpp,
        "research_opp",
        "onderzoek / OPP",
    ),
    (
        IzoSupportKind::Pupil,
        "pupil",
        "begeleiding van de leerling",
    ),
    (
        IzoSupportKind::MentorTeachers,
        "mentor_teachers",
        "mentor of docenten",
    ),
    (IzoSupportKind::Guardians, "guardians", "ouders"),
    (IzoSupportKind::Other, "other", "anders"),
];

/// The registration's free-text field `name` (one of [`REGISTRATION_TEXT`]):
/// the one place that maps the form's names to the proto's fields.
fn text_slot<'a>(r: &'a mut v1::IzoRegistration, name: &str) -> &'a mut String {
    match name {
        "problem" => &mut r.problem,
        "onset" => &mut r.onset,
        "hindering_factors" => &mut r.hindering_factors,
        "functioning_at_home" => &mut r.functioning_at_home,
        "what_goes_well" => &mut r.what_goes_well,
        "pupil_question" => &mut r.pupil_question,
        "guardians_question" => &mut r.guardians_question,
        "support_question" => &mut r.support_question,
        "done_so_far" => &mut r.done_so_far,
        "previous_help" => &mut r.previous_help,
        "earlier_izo_zat" => &mut r.earlier_izo_zat,
        "research" => &mut r.research,
        "diagnosis" => &mut r.diagnosis,
        "school_career" => &mut r.school_career,
        "home_situation" => &mut r.home_situation,
        _ => &mut r.talents,
    }
}

/// The school data's field `name` (one of [`SCHOOL_DATA`]).
fn school_slot<'a>(d: &'a mut v1::IzoSchoolData, name: &str) -> &'a mut String {
    match name {
        "grades" => &mut d.grades,
        "opp_exit" => &mut d.opp_exit,
        "social_emotional" => &mut d.social_emotional,
        "interaction" => &mut d.interaction,
        "work_attitude" => &mut d.work_attitude,
        "homework" => &mut d.homework,
        "motivation" => &mut d.motivation,
        "wellbeing" => &mut d.wellbeing,
        _ => &mut d.absence,
    }
}

/// The minutes' free-text fields (appendices 21-22): (name, label, rows).
const MINUTES_TEXT: &[(&str, &str, u8)] = &[
    ("analysis", "Analyse", 3),
    ("pupil_question", "Hulpvraag", 2),
    ("support_question", "Begeleidingsvraag", 2),
    ("done_and_result", "Wat is gedaan en met welk resultaat", 2),
    ("opp", "OPP", 1),
    ("needs", "Onderwijs- en ondersteuningsbehoeften", 2),
    ("group_offer", "Aanbod in de groep", 2),
    ("teacher_coaching", "Coaching van docenten", 2),
    ("zat_question", "Vraag aan het ZAT (bij aanmelding)", 2),
    ("guardians_contact", "Wie informeert de ouders", 1),
    ("summary", "Samenvatting", 3),
];

/// The minutes' text inputs by the slice's field names.
const MINUTES_INPUTS: [(&str, &str); 11] = [
    ("analysis", "m-analysis"),
    ("pupil_question", "m-pupil_question"),
    ("support_question", "m-support_question"),
    ("done_and_result", "m-done_and_result"),
    ("opp", "m-opp"),
    ("needs", "m-needs"),
    ("group_offer", "m-group_offer"),
    ("teacher_coaching", "m-teacher_coaching"),
    ("zat_question", "m-zat_question"),
    ("guardians_contact", "m-guardians_contact"),
    ("summary", "m-summary"),
];

const OUTCOMES: &[(IzoOutcome, &str, &str)] = &[
    (
        IzoOutcome::TeacherCoaching,
        "teacher_coaching",
        "coaching van mentor of docenten",
    ),
    (
        IzoOutcome::InSchoolSupport,
        "in_school_support",
        "ondersteuning in de school",
    ),
    (
        IzoOutcome::IndividualPlan,
        "individual_plan",
        "een individueel plan",
    ),
    (
        IzoOutcome::GuardianSupport,
        "guardian_support",
        "steun voor de ouders via schoolmaatschappelijk werk",
    ),
    (IzoOutcome::Zat, "zat", "aanmelden bij het ZAT"),
];

/// The registration form's fields with their values: empty for a new
/// registration, the registration's own for an answer to a question back.
pub(crate) struct RegistrationForm {
    child_ref: String,
    child_birth_date: String,
    mentor: String,
    informed: bool,
    not_informed_reason: String,
    /// (name, label, rows, value)
    text: Vec<(&'static str, &'static str, u8, String)>,
    /// (name, label, value)
    school: Vec<(&'static str, &'static str, String)>,
    /// (code, words, checked)
    support: Vec<(&'static str, &'static str, bool)>,
    support_other: String,
    /// Answering: the pupil stays the same.
    readonly_child: bool,
}

impl RegistrationForm {
    /// A stored registration, its mentor shown as the picker offers them
    /// ("Naam (rol)"; a name the directory does not know as stored).
    async fn stored(state: &AppState, r: &v1::IzoRegistration) -> Result<Self, Error> {
        let mut form = Self::of(r);
        if let Some(choice) =
            crate::staff_directory::choice_of(state, &r.mentor, &mentor_fits(state.inner.kind))
                .await?
        {
            form.mentor = choice;
        }
        Ok(form)
    }

    /// What a refused form held, as it was typed.
    fn typed(pairs: &Pairs, readonly_child: bool) -> Self {
        RegistrationForm {
            informed: field(pairs, "guardians_informed") != "nee",
            readonly_child,
            ..Self::of(&registration(pairs))
        }
    }

    fn of(r: &v1::IzoRegistration) -> Self {
        let mut copy = r.clone();
        let mut school = r.school.clone().unwrap_or_default();
        RegistrationForm {
            child_ref: r.child_ref.clone(),
            child_birth_date: r.child_birth_date.clone(),
            mentor: r.mentor.clone(),
            informed: r.guardians_informed || r.id.is_empty(),
            not_informed_reason: r.not_informed_reason.clone(),
            text: REGISTRATION_TEXT
                .iter()
                .map(|(name, label, rows)| {
                    (*name, *label, *rows, text_slot(&mut copy, name).clone())
                })
                .collect(),
            school: SCHOOL_DATA
                .iter()
                .map(|(name, label)| (*name, *label, school_slot(&mut school, name).clone()))
                .collect(),
            support: SUPPORT
                .iter()
                .map(|(k, code, words)| (*code, *words, r.support_requested.contains(&(*k as i32))))
                .collect(),
            support_other: r.support_other.clone(),
            readonly_child: !r.id.is_empty(),
        }
    }
}

fn state_text(s: izo::State) -> &'static str {
    match s {
        izo::State::Registered => "aangemeld, wacht op beoordeling",
        izo::State::Accepted => "aangenomen",
        izo::State::Returned => "teruggestuurd met een vraag",
        izo::State::DataRequested => "meer gegevens gevraagd",
        izo::State::Bilateral => "bilateraal overleg in plaats van het IZO",
    }
}

#[derive(Template)]
#[template(path = "izo.html")]
struct IzoPage {
    csrf: String,
    terms: crate::terms::Terms,
    /// (href, pupil ref, state, registered by)
    rows: Vec<(String, String, &'static str, String)>,
    form: RegistrationForm,
    action: &'static str,
    /// Whom the mentor field offers ("Naam (rol)").
    mentor_choices: Vec<String>,
    notice: Option<String>,
    refused: Refusal,
}

/// `GET /izo`: the registrations (a coordinator's: all; others: their own)
/// and the registration form.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, "/izo");
    let form = RegistrationForm::of(&v1::IzoRegistration::default());
    let page = index_page(&state, &staff, form, notice, Refusal::none()).await?;
    Ok((jar, page).into_response())
}

/// The registrations and the form (`GET /izo`), also as a refused
/// registration comes back: with what was typed and why.
async fn index_page(
    state: &AppState,
    staff: &Staff,
    form: RegistrationForm,
    notice: Option<String>,
    refused: Refusal,
) -> Result<Response, Error> {
    let staff_names = crate::staff_directory::Names::load(state).await?;
    let rows = izo::list(&state.inner.store, &staff.actor)
        .await?
        .into_iter()
        .map(|r| {
            (
                crate::href::path(&["izo", &r.id]),
                r.child_ref,
                state_text(r.state),
                staff_names.of(&r.registered_by),
            )
        })
        .collect();
    Ok(render(&IzoPage {
        csrf: staff.session.csrf.clone(),
        terms: crate::terms::of(state.inner.kind),
        rows,
        form,
        action: "/izo/aanmelden",
        mentor_choices: crate::staff_directory::choices(state, &mentor_fits(state.inner.kind))
            .await?,
        notice,
        refused,
    }))
}

/// The registration form's inputs by the slice's field names.
fn registration_inputs() -> Vec<(&'static str, &'static str)> {
    let mut inputs = vec![
        ("child_ref", "child_ref"),
        ("child_birth_date", "child_birth_date"),
        ("mentor", "mentor"),
        ("not_informed_reason", "not_informed_reason"),
        ("support_requested", "support"),
        ("support_other", "support_other"),
    ];
    inputs.extend(REGISTRATION_TEXT.iter().map(|(name, _, _)| (*name, *name)));
    inputs
}

fn registration(pairs: &Pairs) -> v1::IzoRegistration {
    let f = |name: &str| field(pairs, name).trim().to_owned();
    let mut r = v1::IzoRegistration {
        child_ref: f("child_ref"),
        child_birth_date: f("child_birth_date"),
        mentor: f("mentor"),
        guardians_informed: f("guardians_informed") == "ja",
        not_informed_reason: f("not_informed_reason"),
        support_other: f("support_other"),
        support_requested: pairs
            .iter()
            .filter(|(k, _)| k == "support")
            .filter_map(|(_, v)| SUPPORT.iter().find(|(_, code, _)| code == v))
            .map(|(k, _, _)| *k as i32)
            .collect(),
        ..Default::default()
    };
    for (name, _, _) in REGISTRATION_TEXT {
        *text_slot(&mut r, name) = f(name);
    }
    let mut school = v1::IzoSchoolData::default();
    for (name, _) in SCHOOL_DATA {
        *school_slot(&mut school, name) = f(&format!("school-{name}"));
    }
    r.school = Some(school);
    r
}

/// `POST /izo/aanmelden`: register a pupil (the slice names a missing field).
pub(crate) async fn register(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let typed = registration(&pairs);
    let registered = async {
        let mentor = match pick_person(
            &state,
            &staff,
            &carenet_referral::roles::REGISTER,
            ("mentor", "Mentor", "mentor"),
            &typed.mentor,
            &mentor_fits(state.inner.kind),
        )
        .await?
        {
            Ok(mentor) => mentor,
            Err(refused) => return Ok(Err(refused)),
        };
        let id = izo::register(
            &state.inner.store,
            &staff.actor,
            v1::IzoRegistration {
                id: field(&pairs, "form_id").trim().to_owned(),
                mentor,
                ..typed.clone()
            },
        )
        .await?;
        Ok::<_, Error>(Ok(id))
    }
    .await;
    let outcome = match registered {
        Ok(outcome) => outcome,
        Err(e) => Err(refusal(e)?.at(&registration_inputs())),
    };
    let id = match outcome {
        Ok(id) => id,
        Err(refused) => {
            // The same page, with what was typed and what to do.
            let form = RegistrationForm::typed(&pairs, false);
            let page =
                index_page(&state, &staff, form, None, Refusal(Some(refused.clone()))).await?;
            return Ok(refused.respond(page));
        }
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "De leerling is aangemeld. De zorgcoördinator beoordeelt de aanmelding.",
    ))
}

#[derive(Template)]
#[template(path = "izo_case.html")]
struct IzoCasePage {
    csrf: String,
    /// Where a support request to the SWV starts from this registration
    /// (at a primary school: level 5), for those who may make one.
    support_href: Option<String>,
    internal: &'static str,
    id: String,
    state: &'static str,
    /// (label, value) of every filled-in field of the form.
    fields: Vec<(String, String)>,
    triage: Option<String>,
    can_triage: bool,
    can_meet: bool,
    /// The registration again, to answer a question back (or give the data
    /// asked for), for its registrant or a coordinator.
    answer: Option<RegistrationForm>,
    answer_action: String,
    minutes_fields: &'static [(&'static str, &'static str, u8)],
    outcomes: Vec<(&'static str, &'static str)>,
    /// (held on, summary, outcomes in words, who informs the guardians)
    minutes: Vec<(String, String, String, String)>,
    /// (held on, with whom, before/after, summary)
    conversations: Vec<(String, &'static str, &'static str, String)>,
    today: String,
    /// Whom the mentor field and the "who informs the guardians" field
    /// offer ("Naam (rol)").
    mentor_choices: Vec<String>,
    staff_choices: Vec<String>,
    /// A refused form put back, and why.
    kept: Kept,
    refused: Refusal,
    notice: Option<String>,
}

/// A refused form of the registration's page, put back on it: which form
/// (`beoordelen`, `verslag`, `gesprek`) and what it held.
#[derive(Default)]
struct Kept {
    form: &'static str,
    pairs: Pairs,
}

impl Kept {
    /// What field `name` of form `form` held, if that form was refused.
    fn v(&self, form: &str, name: &str) -> &str {
        self.or(form, name, "")
    }

    /// [`Kept::v`], or `default` when that form was not refused.
    fn or<'a>(&'a self, form: &str, name: &str, default: &'a str) -> &'a str {
        if self.form == form {
            field(&self.pairs, name)
        } else {
            default
        }
    }

    /// Whether the refused form `form` had `value` chosen for `name`.
    fn on(&self, form: &str, name: &str, value: &str) -> bool {
        self.form == form && self.pairs.iter().any(|(k, v)| k == name && v == value)
    }
}

fn with_text(w: i32) -> &'static str {
    match IzoConversationWith::try_from(w) {
        Ok(IzoConversationWith::Pupil) => "de leerling",
        Ok(IzoConversationWith::Guardians) => "de ouders",
        Ok(IzoConversationWith::Both) => "leerling en ouders",
        _ => "onbekend",
    }
}

/// `GET /izo/{id}`: one registration with its triage, minutes and
/// conversations, and the forms of the next step.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &crate::href::path(&["izo", &id]));
    let page = case_page(
        &state,
        &staff,
        id,
        notice,
        Kept::default(),
        None,
        Refusal::none(),
    )
    .await?;
    Ok((jar, page).into_response())
}

/// A registration's page (`GET /izo/{id}`), also as a refused form comes
/// back on it: `kept` what a form held (`answer`: the registration as
/// typed in the answer form), `refused` why.
async fn case_page(
    state: &AppState,
    staff: &Staff,
    id: String,
    notice: Option<String>,
    kept: Kept,
    answer: Option<RegistrationForm>,
    refused: Refusal,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let case = izo::show(store, &staff.actor, &id).await?;
    let r = &case.registration;
    // This school's staff by name (a name typed in the form stays as it is).
    let names = crate::staff_directory::Names::load(state).await?;
    let mut fields = vec![
        ("Leerling".to_owned(), r.child_ref.clone()),
        (
            "Geboortedatum".into(),
            labels::date_text(&r.child_birth_date),
        ),
        (
            "Mentor".into(),
            names.known(&r.mentor).unwrap_or_else(|| r.mentor.clone()),
        ),
        (
            "Aangemeld".into(),
            format!(
                "{} door {}",
                labels::date_text(&r.registered_on),
                names.of(&r.registered_by)
            ),
        ),
        (
            "Ouders op de hoogte".into(),
            if r.guardians_informed {
                "ja".into()
            } else {
                format!("nee: {}", r.not_informed_reason)
            },
        ),
    ];
    let mut copy = r.clone();
    for (name, label, _) in REGISTRATION_TEXT {
        let v = text_slot(&mut copy, name);
        if !v.is_empty() {
            fields.push(((*label).to_owned(), v.clone()));
        }
    }
    let support: Vec<&str> = r
        .support_requested
        .iter()
        .filter_map(|k| SUPPORT.iter().find(|(s, _, _)| *s as i32 == *k))
        .map(|(_, _, words)| *words)
        .collect();
    fields.push(("Gevraagde ondersteuning".into(), support.join(", ")));
    let triage = case.triage.as_ref().map(|t| {
        let decision = match IzoTriageDecision::try_from(t.decision) {
            Ok(IzoTriageDecision::Accept) => "aangenomen",
            Ok(IzoTriageDecision::Return) => "teruggestuurd",
            Ok(IzoTriageDecision::RequestData) => "meer gegevens gevraagd",
            Ok(IzoTriageDecision::Bilateral) => "bilateraal overleg",
            _ => "onbekend",
        };
        format!(
            "{decision} door {} op {}{}",
            names.of(&t.decided_by),
            labels::date_text(&t.decided_on),
            if t.note.is_empty() {
                String::new()
            } else {
                format!(": {}", t.note)
            }
        )
    });
    let coordinator = staff
        .actor
        .may(&store.party, &carenet_referral::roles::TRIAGE)
        .is_ok();
    let answering = matches!(case.state, izo::State::Returned | izo::State::DataRequested)
        && (coordinator || r.registered_by == staff.actor.staff);
    let answer = match answer {
        Some(typed) if answering => Some(typed),
        _ if answering => Some(RegistrationForm::stored(state, r).await?),
        _ => None,
    };
    let kind = state.inner.kind;
    let page = render(&IzoCasePage {
        csrf: staff.session.csrf.clone(),
        support_href: staff
            .actor
            .may(&state.inner.party, &carenet_support::roles::SCHOOL)
            .is_ok()
            .then(|| format!("/ondersteuning/nieuw?izo={}", crate::href::segment(&id))),
        internal: names::of(kind).internal,
        state: state_text(case.state),
        fields,
        triage,
        can_triage: coordinator && case.state == izo::State::Registered,
        can_meet: coordinator && case.state == izo::State::Accepted,
        answer,
        answer_action: crate::href::path(&["izo", &id, "antwoorden"]),
        minutes_fields: MINUTES_TEXT,
        outcomes: OUTCOMES.iter().map(|(_, c, w)| (*c, *w)).collect(),
        minutes: case
            .minutes
            .iter()
            .map(|m| {
                let outcomes: Vec<&str> = m
                    .outcomes
                    .iter()
                    .filter_map(|o| OUTCOMES.iter().find(|(x, _, _)| *x as i32 == *o))
                    .map(|(_, _, w)| *w)
                    .collect();
                (
                    labels::date_text(&m.held_on),
                    m.summary.clone(),
                    outcomes.join(", "),
                    // A staff id by name; text typed before the picker as it is.
                    names
                        .known(&m.guardians_contact)
                        .unwrap_or_else(|| m.guardians_contact.clone()),
                )
            })
            .collect(),
        conversations: case
            .conversations
            .iter()
            .map(|c| {
                (
                    labels::date_text(&c.held_on),
                    with_text(c.with),
                    if c.after_meeting { "na" } else { "voor" },
                    c.summary.clone(),
                )
            })
            .collect(),
        today: carenet_consent::record::format_date(carenet_fabric::clock::today()),
        mentor_choices: crate::staff_directory::choices(state, &mentor_fits(kind)).await?,
        staff_choices: crate::staff_directory::choices(state, &[]).await?,
        kept,
        refused,
        notice,
        id,
    });
    Ok(page)
}

/// A refused form of registration `id`'s page: the page again with what
/// the form (`form`) held, the field marked and what to do.
async fn refused_case(
    state: &AppState,
    staff: &Staff,
    id: String,
    form: &'static str,
    pairs: Pairs,
    refused: Refused,
) -> Result<Response, Error> {
    let answer = (form == "antwoorden").then(|| RegistrationForm::typed(&pairs, true));
    let kept = Kept { form, pairs };
    let page = case_page(
        state,
        staff,
        id,
        None,
        kept,
        answer,
        Refusal(Some(refused.clone())),
    )
    .await?;
    Ok(refused.respond(page))
}

/// `POST /izo/{id}/beoordelen`: the coordinator's triage.
pub(crate) async fn triage(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let triaged = async {
        let decision = match field(&pairs, "decision") {
            "accept" => IzoTriageDecision::Accept,
            "return" => IzoTriageDecision::Return,
            "request_data" => IzoTriageDecision::RequestData,
            "bilateral" => IzoTriageDecision::Bilateral,
            _ => return Err(Error::invalid("decision", "choose a decision")),
        };
        let checked = |name: &str| value(&pairs, name).is_some();
        izo::triage(
            &state.inner.store,
            &staff.actor,
            &id,
            v1::IzoTriage {
                decision: decision as i32,
                belongs_in_tier2: checked("belongs_in_tier2"),
                questions_clear: checked("questions_clear"),
                tier1_exhausted: checked("tier1_exhausted"),
                guardians_and_pupil_informed: checked("guardians_and_pupil_informed"),
                note: field(&pairs, "note").trim().to_owned(),
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }
    .await;
    if let Err(e) = triaged {
        let refused = refusal(e)?.at(&[
            ("decision", "decision"),
            ("note", "note"),
            ("belongs_in_tier2", "t-belongs_in_tier2"),
            ("questions_clear", "t-questions_clear"),
            ("tier1_exhausted", "t-tier1_exhausted"),
            (
                "guardians_and_pupil_informed",
                "t-guardians_and_pupil_informed",
            ),
        ]);
        return refused_case(&state, &staff, id, "beoordelen", pairs, refused).await;
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "De beoordeling is vastgelegd.",
    ))
}

/// `POST /izo/{id}/verslag`: the minutes of the meeting about the pupil.
pub(crate) async fn minutes(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    // Who informs the guardians: one of this school's staff, by name.
    let contact = match pick_person(
        &state,
        &staff,
        &carenet_referral::roles::TRIAGE,
        (
            "guardians_contact",
            "Wie informeert de ouders",
            "m-guardians_contact",
        ),
        &f("guardians_contact"),
        &[],
    )
    .await?
    {
        Ok(contact) => contact,
        Err(refused) => {
            return refused_case(&state, &staff, id, "verslag", pairs, refused).await;
        }
    };
    let mut m = v1::IzoMinutes {
        held_on: f("held_on"),
        present: f("present")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        pupil_support: Some(v1::IzoPupilSupport {
            goal: f("support-goal"),
            who: f("support-who"),
            start_on: f("support-start"),
            frequency: f("support-frequency"),
            duration: f("support-duration"),
            evaluation: f("support-evaluation"),
        }),
        consent_needed: value(&pairs, "consent_needed").is_some(),
        evaluation_on: f("evaluation_on"),
        outcomes: pairs
            .iter()
            .filter(|(k, _)| k == "outcomes")
            .filter_map(|(_, v)| OUTCOMES.iter().find(|(_, c, _)| c == v))
            .map(|(o, _, _)| *o as i32)
            .collect(),
        id: f("form_id"),
        ..Default::default()
    };
    for (name, _, _) in MINUTES_TEXT {
        let v = f(name);
        let slot = match *name {
            "analysis" => &mut m.analysis,
            "pupil_question" => &mut m.pupil_question,
            "support_question" => &mut m.support_question,
            "done_and_result" => &mut m.done_and_result,
            "opp" => &mut m.opp,
            "needs" => &mut m.needs,
            "group_offer" => &mut m.group_offer,
            "teacher_coaching" => &mut m.teacher_coaching,
            "zat_question" => &mut m.zat_question,
            "guardians_contact" => &mut m.guardians_contact,
            _ => &mut m.summary,
        };
        *slot = v;
    }
    m.guardians_contact = contact;
    if let Err(e) = izo_meeting::record(&state.inner.store, &staff.actor, &id, m).await {
        let code = e.code();
        let mut inputs = vec![
            ("held_on", "held_on"),
            ("evaluation_on", "evaluation_on"),
            ("outcomes", "outcomes"),
            ("present", "present"),
        ];
        inputs.extend(MINUTES_INPUTS);
        let refused = refusal(e.into())?
            .at(&inputs)
            .for_purpose(Purpose::DiscussInIzo, code);
        return refused_case(&state, &staff, id, "verslag", pairs, refused).await;
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "Het verslag is vastgelegd.",
    ))
}

/// `POST /izo/{id}/gesprek`: a conversation with the pupil or guardians.
pub(crate) async fn conversation(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let with = match f("with").as_str() {
        "pupil" => IzoConversationWith::Pupil,
        "guardians" => IzoConversationWith::Guardians,
        "both" => IzoConversationWith::Both,
        _ => IzoConversationWith::Unspecified,
    };
    let conversed = izo_meeting::converse(
        &state.inner.store,
        &staff.actor,
        &id,
        v1::IzoConversation {
            id: f("form_id"),
            held_on: f("held_on"),
            with: with as i32,
            after_meeting: f("when") == "after",
            summary: f("summary"),
            ..Default::default()
        },
    )
    .await;
    if let Err(e) = conversed {
        let refused = refusal(e.into())?.at(&[
            ("held_on", "c-held"),
            ("with", "c-with"),
            ("summary", "c-summary"),
        ]);
        return refused_case(&state, &staff, id, "gesprek", pairs, refused).await;
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "Het gesprek is vastgelegd.",
    ))
}

/// `POST /izo/{id}/antwoorden`: the registration again, answering the
/// coordinator's question (or with the data asked for); it is triaged again.
pub(crate) async fn answer(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let typed = registration(&pairs);
    let mentor = match pick_person(
        &state,
        &staff,
        &carenet_referral::roles::REGISTER,
        ("mentor", "Mentor", "mentor"),
        &typed.mentor,
        &mentor_fits(state.inner.kind),
    )
    .await?
    {
        Ok(mentor) => mentor,
        Err(refused) => {
            return refused_case(&state, &staff, id, "antwoorden", pairs, refused).await;
        }
    };
    let answered = izo::answer(
        &state.inner.store,
        &staff.actor,
        &id,
        v1::IzoRegistration { mentor, ..typed },
    )
    .await;
    if let Err(e) = answered {
        let refused = refusal(e.into())?.at(&registration_inputs());
        return refused_case(&state, &staff, id, "antwoorden", pairs, refused).await;
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "Het antwoord is vastgelegd. De zorgcoördinator beoordeelt de aanmelding opnieuw.",
    ))
}
