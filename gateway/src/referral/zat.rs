//! Staff pages of the ZAT the school hosts: refer a pupil from the IZO,
//! send the case file to the members, record a meeting with its plan of
//! action, and a member's list of the case files it received. Each handler
//! calls the referral slice (and the caseplan slice for the plan a meeting
//! opens) with the signed-in actor; the slices check roles and consent. A
//! refused form (a referral, a meeting, the case file's members) comes back
//! as its page with what was typed, the field marked and what to do in
//! Dutch ([`crate::reasons`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_consent::Purpose;
use carenet_fabric::PartyKind;
use carenet_proto::v1;
use carenet_referral::{izo, zat};

use crate::caseplan::plans::{action_categories, today};
use crate::form::{Form, Kept, Pairs, field, value};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, Refused};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// A ZAT case's state in Dutch.
fn zat_state(s: zat::State) -> &'static str {
    match s {
        zat::State::Referred => "aangemeld",
        zat::State::Distributed => "verstuurd aan de leden",
        zat::State::Planned => "plan van aanpak loopt",
        zat::State::Closed => "afgesloten",
    }
}

#[derive(Template)]
#[template(path = "zat.html")]
struct ZatPage {
    csrf: String,
    terms: crate::terms::Terms,
    /// (href, pupil, state, meeting date)
    cases: Vec<(String, String, &'static str, String)>,
    /// Accepted IZO registrations with the guardians' consent for the
    /// referral: (value "izo:record", label).
    referrable: Vec<(String, String)>,
    /// Accepted registrations still waiting for that consent (pupil refs).
    waiting: Vec<String>,
    notice: Option<String>,
    /// What a refused referral held, and why.
    kept: Kept,
    refused: Refusal,
}

/// The referral form's key on the page.
const REFER: &str = "aanmelden";

/// The referral form's inputs, by the slice's field names.
const REFER_INPUTS: &[(&str, &str)] = &[
    ("choice", "choice"),
    ("izo_id", "choice"),
    ("consent_record", "choice"),
    ("child_ref", "choice"),
    ("child_name", "child_name"),
    ("meeting_on", "meeting_on"),
    ("question", "question"),
    ("background", "background"),
];

/// `GET /zat`: the chair's cases, and the pupils that can be referred.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, "/zat");
    let page = zat_page(&state, &staff, notice, None).await?;
    Ok((jar, page).into_response())
}

/// The ZAT's page: as it stands, or with the refused referral `kept` as it
/// was typed.
async fn zat_page(
    state: &AppState,
    staff: &Staff,
    notice: Option<String>,
    kept: Option<(Pairs, Refused)>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let cases = zat::list(store, &staff.actor)
        .await?
        .into_iter()
        .map(|c| {
            (
                crate::href::path(&["zat", &c.id]),
                c.child_name,
                zat_state(c.state),
                labels::date_text(&c.meeting_on),
            )
        })
        .collect();
    let mut referrable = Vec::new();
    let mut waiting = Vec::new();
    for (izo_id, child_ref) in zat::referrable(store, &staff.actor).await? {
        let granted = crate::consent::pages::granted(
            state,
            &staff.actor,
            &child_ref,
            Some(Purpose::ReferToZat),
        )
        .await?;
        if granted.is_empty() {
            waiting.push(child_ref.clone());
        }
        for c in granted {
            let (record, what) = crate::consent::pages::choice(c);
            referrable.push((format!("{izo_id}:{record}"), format!("{child_ref}: {what}")));
        }
    }
    let (kept, refused) = match kept {
        None => (Kept::default(), Refusal::none()),
        Some((pairs, refused)) => (
            Kept::of(REFER, pairs),
            Refusal(Some(refused.at(REFER_INPUTS))),
        ),
    };
    Ok(render(&ZatPage {
        csrf: staff.session.csrf.clone(),
        terms: crate::terms::of(state.inner.kind),
        cases,
        referrable,
        waiting,
        notice,
        kept,
        refused,
    }))
}

/// `POST /zat/aanmelden`: refer a pupil from the IZO under the guardians'
/// consent (the referral slice checks both).
pub(crate) async fn refer(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let store = &state.inner.store;
    let referred = async {
        let choice = f("choice");
        let (izo_id, record) = choice.split_once(':').ok_or_else(|| {
            Error::invalid("choice", "choose a pupil with the guardians' consent")
        })?;
        let registration = izo::show(store, &staff.actor, izo_id).await?.registration;
        let id = zat::refer(
            store,
            &staff.actor,
            &state.inner.referral,
            v1::ZatReferral {
                id: f("form_id"),
                child_ref: registration.child_ref,
                child_name: f("child_name"),
                child_birth_date: registration.child_birth_date,
                origin: "izo".into(),
                izo_id: izo_id.to_owned(),
                question: f("question"),
                background: f("background"),
                consent_record: record.to_owned(),
                meeting_on: f("meeting_on"),
                ..Default::default()
            },
        )
        .await?;
        Ok::<_, Error>(id)
    }
    .await;
    let id = match referred {
        Ok(id) => id,
        // The page again, with what was typed and what to do.
        Err(e) => {
            let code = e.code();
            let refused = crate::reasons::refusal(e)?.for_purpose(Purpose::ReferToZat, code);
            let page = zat_page(&state, &staff, None, Some((pairs, refused.clone()))).await?;
            return Ok(refused.respond(page));
        }
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["zat", &id]),
        "De leerling is aangemeld. Stuur het dossier naar de leden.",
    ))
}

#[derive(Template)]
#[template(path = "zat_case.html")]
struct ZatCasePage {
    csrf: String,
    team: &'static str,
    id: String,
    pupil: String,
    state: &'static str,
    question: String,
    background: String,
    meeting_on: String,
    /// The members that have the case file, by name.
    sent: Vec<String>,
    /// Partners that could still get it: (id, name, checkbox id).
    candidates: Vec<(String, String, String)>,
    first_meeting: bool,
    follow_up: bool,
    plan_href: Option<String>,
    /// Where a support request to the SWV starts from this case (the
    /// ZAT's escalation), for those who may make one.
    support_href: Option<String>,
    today: String,
    /// The case coordinator the form proposes: the signed-in person, as the
    /// picker offers them.
    me: String,
    /// Whom the case coordinator field offers ("Naam (rol)").
    staff_choices: Vec<String>,
    /// Whom an action of this party may name as its "Uitvoerder".
    person_choices: Vec<String>,
    /// Who an action can be for: (party id, name).
    owners: Vec<(String, String)>,
    categories: Vec<(&'static str, &'static str)>,
    /// The action rows of the first meeting's form.
    action_rows: Vec<ActionInputs>,
    /// Each member that can join the plan, with its row's inputs.
    member_rows: Vec<MemberInputs>,
    /// Granted consents for case_membership: (record id, label).
    memberships: Vec<(String, String)>,
    /// (held on, decisions or review)
    meetings: Vec<(String, String)>,
    notice: Option<String>,
    /// What a refused meeting form held, and why.
    kept: Kept,
    refused: Refusal,
}

/// The meeting form's key on the page (the first meeting's or a
/// follow-up's: the page shows one of them).
const MEET: &str = "overleg";

/// The form that sends the case file: its key.
const DISTRIBUTE: &str = "verspreiden";

/// How many action rows the first meeting's form has.
const ACTION_ROWS: usize = 4;

/// An action row of the first meeting's form: its inputs' names, which are
/// also their ids.
struct ActionInputs {
    /// From 1, as its legend counts.
    n: usize,
    owner: String,
    what: String,
    person: String,
    due: String,
    category: String,
}

impl ActionInputs {
    fn row(i: usize) -> Self {
        let name = |what: &str| format!("action-{i}-{what}");
        ActionInputs {
            n: i + 1,
            owner: name("owner"),
            what: name("what"),
            person: name("person"),
            due: name("due"),
            category: name("category"),
        }
    }
}

/// A member row of the first meeting's form: the party and its inputs'
/// names (also their ids).
struct MemberInputs {
    party: String,
    name: String,
    party_field: String,
    role: String,
    person: String,
    consent: String,
}

/// The input of the meeting form a slice's `field` names: `rows[i]` is the
/// form row of the plan's `i`th action, `members[i]` of its `i`th member.
fn meeting_input(field: &str, actions: &[usize], members: &[usize]) -> Option<String> {
    let field = field.strip_prefix("plan.").unwrap_or(field);
    // `list[i].name` → (list, i, name)
    let indexed = field.split_once('[').and_then(|(list, rest)| {
        let (i, name) = rest.split_once("].")?;
        Some((list, i.parse::<usize>().ok()?, name))
    });
    let id = match indexed {
        Some(("actions", i, name)) => {
            let row = *actions.get(i)?;
            let input = match name {
                "owner" => "owner",
                "person" => "person",
                "due_on" => "due",
                "category" => "category",
                // An action's goal is the plan's goal.
                "goal" => return Some("goal_text".to_owned()),
                _ => "what",
            };
            format!("action-{row}-{input}")
        }
        Some(("members", i, name)) => {
            let row = *members.get(i)?;
            let input = match name {
                "role" => "role",
                "person" => "person",
                _ => "consent",
            };
            format!("member-{row}-{input}")
        }
        Some(("goals", _, name)) => match name {
            "measure" => "goal_measure",
            "target_on" => "goal_target",
            _ => "goal_text",
        }
        .to_owned(),
        Some(_) => return None,
        None => match field {
            "actions" => "action-0-what".to_owned(),
            "held_on" | "analysis" | "needs" | "directions" | "decisions" | "review"
            | "close_case" | "coordinator" | "reports_back" | "evaluation_on" => field.to_owned(),
            _ => return None,
        },
    };
    Some(id)
}

/// `GET /zat/{id}`: one case: its file, to whom it went, its meetings, and
/// the forms to send it and to record the next meeting.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &crate::href::path(&["zat", &id]));
    let page = case_page(&state, &staff, &id, notice, None).await?;
    Ok((jar, page).into_response())
}

/// The case's page: as it stands, or with the refused meeting form `kept`
/// as it was typed (its refusal marks its input).
async fn case_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    kept: Option<(&'static str, Pairs, Refused)>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let case = zat::show(store, &staff.actor, id).await?;
    let r = &case.referral;
    let sent_ids: Vec<String> = case.members.iter().map(|(p, _, _)| p.clone()).collect();
    let candidates = store
        .directory()
        .map(|d| {
            d.snapshot()
                .parties()
                .filter(|p| matches!(p.kind, PartyKind::ZatPartner | PartyKind::Swv))
                .filter(|p| !sent_ids.contains(&p.id.to_string()))
                .map(|p| (p.id.to_string(), p.name.clone(), format!("lid-{}", p.id)))
                .collect()
        })
        .unwrap_or_default();
    let mut owners = vec![(
        state.inner.party.to_string(),
        labels::party_name(state, state.inner.party.as_str()),
    )];
    owners.extend(
        sent_ids
            .iter()
            .map(|p| (p.clone(), labels::party_name(state, p))),
    );
    let memberships = crate::consent::pages::granted(
        state,
        &staff.actor,
        &r.child_ref,
        Some(Purpose::CaseMembership),
    )
    .await?
    .into_iter()
    .map(crate::consent::pages::choice)
    .collect();
    let (kept, refused) = match kept {
        None => (Kept::default(), Refusal::none()),
        Some((form, pairs, refused)) => (Kept::of(form, pairs), Refusal(Some(refused))),
    };
    Ok(render(&ZatCasePage {
        csrf: staff.session.csrf.clone(),
        team: carenet_referral::names::of(state.inner.kind).team,
        pupil: r.child_name.clone(),
        state: zat_state(case.state),
        question: r.question.clone(),
        background: r.background.clone(),
        meeting_on: labels::date_text(&r.meeting_on),
        sent: sent_ids
            .iter()
            .map(|p| labels::party_name(state, p))
            .collect(),
        candidates,
        first_meeting: case.state == zat::State::Distributed,
        follow_up: case.state == zat::State::Planned,
        plan_href: case
            .plan_id
            .as_ref()
            .map(|p| crate::href::path(&["plannen", p])),
        support_href: staff
            .actor
            .may(&state.inner.party, &carenet_support::roles::SCHOOL)
            .is_ok()
            .then(|| format!("/ondersteuning/nieuw?zat={}", crate::href::segment(id))),
        today: today(),
        me: crate::staff_directory::choice_of(state, &staff.actor.staff, &[])
            .await?
            .unwrap_or_else(|| staff.actor.staff.clone()),
        staff_choices: crate::staff_directory::choices(state, &[]).await?,
        person_choices: crate::caseplan::my_actions::person_choices(state).await?,
        owners,
        categories: action_categories(),
        action_rows: (0..ACTION_ROWS).map(ActionInputs::row).collect(),
        member_rows: sent_ids
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let name = |what: &str| format!("member-{i}-{what}");
                MemberInputs {
                    party: p.clone(),
                    name: labels::party_name(state, p),
                    party_field: name("party"),
                    role: name("role"),
                    person: name("person"),
                    consent: name("consent"),
                }
            })
            .collect(),
        memberships,
        meetings: case
            .meetings
            .iter()
            .map(|m| {
                let what = if m.decisions.is_empty() {
                    m.review.clone()
                } else {
                    m.decisions.clone()
                };
                (labels::date_text(&m.held_on), what)
            })
            .collect(),
        notice,
        id: id.to_owned(),
        kept,
        refused,
    }))
}

/// `POST /zat/{id}/verspreiden`: send the case file to the chosen members.
pub(crate) async fn distribute(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let members: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "members")
        .map(|(_, v)| v.clone())
        .collect();
    if let Err(e) = zat::distribute(&state.inner.store, &staff.actor, &id, &members).await {
        // The page again, the members chosen still checked, the one the
        // consent does not cover marked.
        let mut refused = crate::reasons::refusal(e.into())?;
        refused.input = refused
            .field
            .as_deref()
            .and_then(|f| f.strip_prefix("members["))
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| members.get(i))
            .map(|party| format!("lid-{party}"));
        let kept = (DISTRIBUTE, pairs, refused.clone());
        let page = case_page(&state, &staff, &id, None, Some(kept)).await?;
        return Ok(refused.respond(page));
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["zat", &id]),
        "Het dossier is verstuurd aan de gekozen leden.",
    ))
}

/// `POST /zat/{id}/overleg`: record a meeting. The first sets the plan of
/// action (the actions per partner, each member's consent, the case
/// coordinator, the evaluation date); a follow-up reviews and may close.
pub(crate) async fn meet(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let f = |name: &str| field(&pairs, name).trim().to_owned();
    staff.check(&f("csrf"), &headers, &state)?;
    let first = f("kind") == "first";
    // The form row of each action and member sent: a refusal names them
    // by their place in the plan.
    let mut action_rows = Vec::new();
    let mut member_rows = Vec::new();
    let plan = if first {
        let mut actions = Vec::new();
        for i in 0..8 {
            let what = f(&format!("action-{i}-what"));
            if what.is_empty() {
                continue;
            }
            action_rows.push(i);
            // Who at this party does it: picked from the staff directory;
            // an unknown person comes back as the page, that row marked.
            let person = match crate::caseplan::my_actions::resolve_person(
                &state,
                "person",
                &f(&format!("action-{i}-owner")),
                &f(&format!("action-{i}-person")),
            )
            .await?
            {
                Ok(person) => person,
                Err(unknown) => {
                    let refused = Refused {
                        status: axum::http::StatusCode::BAD_REQUEST,
                        field: Some(format!("actions[{}].person", actions.len())),
                        message: crate::caseplan::my_actions::unknown_message(&unknown),
                        link: None,
                        input: Some(format!("action-{i}-person")),
                    };
                    let page = case_page(
                        &state,
                        &staff,
                        &id,
                        None,
                        Some((MEET, pairs, refused.clone())),
                    )
                    .await?;
                    return Ok(refused.respond(page));
                }
            };
            actions.push(v1::CaseAction {
                owner: f(&format!("action-{i}-owner")),
                what,
                goal: f("goal_text"),
                due_on: f(&format!("action-{i}-due")),
                category: f(&format!("action-{i}-category")),
                person,
            });
        }
        let mut members = Vec::new();
        for i in 0..16 {
            let Some(party) = value(&pairs, &format!("member-{i}-party")) else {
                continue;
            };
            let record = f(&format!("member-{i}-consent"));
            if record.is_empty() {
                continue;
            }
            member_rows.push(i);
            members.push(v1::CaseMember {
                party: party.to_owned(),
                role: f(&format!("member-{i}-role")),
                person: f(&format!("member-{i}-person")),
                consent_record: record,
                ..Default::default()
            });
        }
        let goals = if f("goal_text").is_empty() {
            Vec::new()
        } else {
            vec![v1::CaseGoal {
                text: f("goal_text"),
                measure: f("goal_measure"),
                target_on: f("goal_target"),
                ..Default::default()
            }]
        };
        // The case coordinator is picked from the staff directory; an
        // unknown person comes back as the page, the field marked.
        let coordinator =
            match crate::staff_directory::resolve(&state, "coordinator", &f("coordinator"), &[])
                .await?
            {
                Ok(staff_id) => staff_id,
                Err(unknown) => {
                    let refused = Refused {
                        status: axum::http::StatusCode::BAD_REQUEST,
                        field: Some(unknown.field.to_owned()),
                        message: unknown.message("Casusregisseur"),
                        link: None,
                        input: Some("coordinator".to_owned()),
                    };
                    let page = case_page(
                        &state,
                        &staff,
                        &id,
                        None,
                        Some((MEET, pairs, refused.clone())),
                    )
                    .await?;
                    return Ok(refused.respond(page));
                }
            };
        Some(v1::ZatPlanOfAction {
            coordinator,
            reports_back: f("reports_back"),
            evaluation_on: f("evaluation_on"),
            goals,
            actions,
            members,
        })
    } else {
        None
    };
    let meeting = v1::ZatMeeting {
        id: f("form_id"),
        held_on: f("held_on"),
        analysis: f("analysis"),
        needs: f("needs"),
        directions: f("directions"),
        decisions: f("decisions"),
        review: f("review"),
        close_case: value(&pairs, "close_case").is_some(),
        plan,
        ..Default::default()
    };
    let plan_id = match zat::meet(&state.inner.store, &staff.actor, &id, meeting).await {
        Ok((_, plan_id)) => plan_id,
        // The page again, with what was typed and the field marked.
        Err(e) => {
            let e = Error::from(e);
            let code = e.code();
            let mut refused =
                crate::reasons::refusal(e)?.for_purpose(Purpose::CaseMembership, code);
            refused.input = refused
                .field
                .as_deref()
                .and_then(|f| meeting_input(f, &action_rows, &member_rows));
            let page = case_page(
                &state,
                &staff,
                &id,
                None,
                Some((MEET, pairs, refused.clone())),
            )
            .await?;
            return Ok(refused.respond(page));
        }
    };
    match plan_id {
        Some(p) if first => Ok(done(
            &state,
            jar,
            &crate::href::path(&["plannen", &p]),
            "Het overleg is vastgelegd en het plan van aanpak staat klaar; de partners krijgen hun acties.",
        )),
        _ => Ok(done(
            &state,
            jar,
            &crate::href::path(&["zat", &id]),
            "Het overleg is vastgelegd.",
        )),
    }
}

/// A received ZAT case file as a member's pages show it.
struct ReceivedRow {
    href: String,
    pupil: String,
    school: String,
    meeting_on: String,
    received_on: String,
}

#[derive(Template)]
#[template(path = "zat_received.html")]
struct ReceivedPage {
    csrf: String,
    files: Vec<ReceivedRow>,
}

/// The filter of the received case files.
#[derive(serde::Deserialize, Default)]
pub(crate) struct ReceivedQuery {
    #[serde(default)]
    wacht: Option<String>,
}

/// `GET /zat/ontvangen`: the case files this ZAT member received (each
/// reading audited by the slice); one the meeting's plan replaced links to
/// the plan.
pub(crate) async fn received(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(query): axum::extract::Query<ReceivedQuery>,
) -> Result<Response, Error> {
    // `wacht=1`: the files that wait for the meeting (not yet replaced by
    // the plan), as the start page counts them.
    let waiting = match query.wacht.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => return Err(Error::invalid("wacht", "1")),
    };
    let files = zat::received(&state.inner.store, &staff.actor)
        .await?
        .into_iter()
        .filter(|r| !waiting || r.file.is_some())
        .map(|r| ReceivedRow {
            href: crate::href::path(&["zat", "ontvangen", &r.message_id]),
            pupil: r.file.as_ref().map_or_else(
                || "(vervangen door het plan)".to_owned(),
                |f| f.child_name.clone(),
            ),
            school: labels::party_name(&state, &r.school),
            meeting_on: r
                .file
                .as_ref()
                .map_or_else(String::new, |f| labels::date_text(&f.meeting_on)),
            received_on: crate::pages::date_of(r.received_at_ms),
        })
        .collect();
    Ok(render(&ReceivedPage {
        csrf: staff.session.csrf,
        files,
    }))
}

/// The content of a received case file, as the page shows it.
struct FileView {
    child_name: String,
    birth_date: String,
    meeting_on: String,
    question: String,
    background: String,
}

#[derive(Template)]
#[template(path = "zat_received_file.html")]
struct ReceivedFilePage {
    csrf: String,
    school: String,
    received_on: String,
    file: Option<FileView>,
    plan_href: Option<String>,
}

/// `GET /zat/ontvangen/{id}`: one received case file (the reading is
/// audited), or, once the meeting's plan replaced it, the way to the plan.
pub(crate) async fn received_file(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let r = zat::received_one(&state.inner.store, &staff.actor, &id).await?;
    Ok(render(&ReceivedFilePage {
        csrf: staff.session.csrf,
        school: labels::party_name(&state, &r.school),
        received_on: crate::pages::date_of(r.received_at_ms),
        file: r.file.map(|f| FileView {
            child_name: f.child_name,
            birth_date: labels::date_text(&f.child_birth_date),
            meeting_on: labels::date_text(&f.meeting_on),
            question: f.question,
            background: f.background,
        }),
        plan_href: r
            .plan_id
            .map(|p| crate::href::path(&["deelname", &r.school, &p])),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meeting_refusal_marks_the_row_the_plan_took_its_part_from() {
        // Rows 0 and 2 were left empty: the plan's actions came from rows
        // 1 and 3, its member from row 2.
        let (actions, members) = ([1, 3], [2]);
        let input = |field: &str| meeting_input(field, &actions, &members);
        assert_eq!(
            input("plan.actions[1].due_on").as_deref(),
            Some("action-3-due")
        );
        assert_eq!(
            input("plan.actions[0].what").as_deref(),
            Some("action-1-what")
        );
        assert_eq!(input("plan.actions[0].goal").as_deref(), Some("goal_text"));
        assert_eq!(
            input("plan.members[0].consent_record").as_deref(),
            Some("member-2-consent")
        );
        assert_eq!(
            input("plan.members[0].person").as_deref(),
            Some("member-2-person")
        );
        assert_eq!(
            input("plan.goals[0].target_on").as_deref(),
            Some("goal_target")
        );
        assert_eq!(input("plan.actions").as_deref(), Some("action-0-what"));
        assert_eq!(input("held_on").as_deref(), Some("held_on"));
        assert_eq!(
            input("plan.evaluation_on").as_deref(),
            Some("evaluation_on")
        );
        // Not on the form, or out of range: no input, the summary says it.
        assert_eq!(input("plan.actions[5].what"), None);
        assert_eq!(input("plan"), None);
    }
}
