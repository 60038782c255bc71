//! Staff pages of the internal care team (IZO; at a primary school the
//! leerlingbespreking): register a pupil with every field of the handbook's
//! form (appendix 20), triage it, record the meeting's minutes (appendices
//! 21-22) and the conversations with pupil and guardians. Each handler calls
//! the referral slice with the signed-in actor; the slice checks the role.
//! Pupil references travel in form bodies only.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_proto::v1::{self, IzoConversationWith, IzoOutcome, IzoSupportKind, IzoTriageDecision};
use carenet_referral::{izo, izo_meeting, names};

use crate::form::{Form, Pairs, field, value};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::session::Staff;
use crate::{AppState, Error, labels};

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
    notice: Option<String>,
}

/// `GET /izo`: the registrations (a coordinator's: all; others: their own)
/// and the registration form.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, "/izo");
    let staff_names = crate::staff_directory::Names::load(&state).await?;
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
    let page = render(&IzoPage {
        csrf: staff.session.csrf,
        terms: crate::terms::of(state.inner.kind),
        rows,
        form: RegistrationForm::of(&v1::IzoRegistration::default()),
        action: "/izo/aanmelden",
        notice,
    });
    Ok((jar, page).into_response())
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
    let id = izo::register(
        &state.inner.store,
        &staff.actor,
        v1::IzoRegistration {
            id: field(&pairs, "form_id").trim().to_owned(),
            ..registration(&pairs)
        },
    )
    .await?;
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
    /// (held on, summary, outcomes in words)
    minutes: Vec<(String, String, String)>,
    /// (held on, with whom, before/after, summary)
    conversations: Vec<(String, &'static str, &'static str, String)>,
    today: String,
    notice: Option<String>,
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
    let store = &state.inner.store;
    let case = izo::show(store, &staff.actor, &id).await?;
    let r = &case.registration;
    // This school's staff by name (a name typed in the form stays as it is).
    let names = crate::staff_directory::Names::load(&state).await?;
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
            t.decided_by,
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
    let page = render(&IzoCasePage {
        csrf: staff.session.csrf,
        internal: names::of(state.inner.kind).internal,
        state: state_text(case.state),
        fields,
        triage,
        can_triage: coordinator && case.state == izo::State::Registered,
        can_meet: coordinator && case.state == izo::State::Accepted,
        answer: (matches!(case.state, izo::State::Returned | izo::State::DataRequested)
            && (coordinator || r.registered_by == staff.actor.staff))
            .then(|| RegistrationForm::of(r)),
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
        notice,
        id,
    });
    Ok((jar, page).into_response())
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
    izo_meeting::record(&state.inner.store, &staff.actor, &id, m).await?;
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
    izo_meeting::converse(
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
    .await?;
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
    izo::answer(&state.inner.store, &staff.actor, &id, registration(&pairs)).await?;
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["izo", &id]),
        "Het antwoord is vastgelegd. De zorgcoördinator beoordeelt de aanmelding opnieuw.",
    ))
}
