//! Staff pages of the warm handover (the handover conversation) and of the
//! feedback between schools: plan a conversation from a dossier's page,
//! record what was said and agreed, share the record with the other school;
//! send feedback ("how is the pupil doing") from a received dossier's page.
//! Each handler calls the handover slice with the signed-in actor; the slice
//! checks the role. A refused form comes back as the same page with what
//! was typed, the field marked and a Dutch sentence ([`crate::reasons`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_consent::Purpose;
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_handover::{dossier, incoming, reading, warm};
use carenet_proto::v1::{self, ParticipantRole};
use serde::Deserialize;

use crate::form::{Form, Pairs};
use crate::href::filters;
use crate::pages::{done, notice, render};
use crate::reasons::{Refusal, refusal};
use crate::session::Staff;
use crate::{AppState, Error, labels};

/// The roles the other school's participant can have, as the plan form
/// offers them: (value, label).
pub(crate) const THEIR_ROLES: &[(&str, &str)] = &[
    ("care_coordinator", "zorgcoördinator"),
    ("team_lead", "teamleider"),
    ("mentor", "mentor"),
    ("support_coordinator_po", "intern begeleider"),
    ("intake_coordinator", "intakecoördinator (mbo)"),
    ("study_career_coach", "studieloopbaanbegeleider (mbo)"),
];

/// A participant's role as forms and the API name it (`care_coordinator`,
/// `guardian`, …: the proto's names without their prefix).
pub(crate) fn participant_role(field: &str, value: &str) -> Result<ParticipantRole, Error> {
    ParticipantRole::from_str_name(&format!("PARTICIPANT_ROLE_{}", value.to_ascii_uppercase()))
        .filter(|r| *r != ParticipantRole::Unspecified)
        .ok_or_else(|| Error::invalid(field, "unknown role"))
}

/// The signed-in member of staff as a participant of the conversation.
fn me(actor: &Actor) -> v1::Participant {
    let role = if actor.roles.contains(&Role::SupportCoordinatorPo) {
        ParticipantRole::SupportCoordinatorPo
    } else if actor.roles.contains(&Role::CareCoordinator) {
        ParticipantRole::CareCoordinator
    } else if actor.roles.contains(&Role::IntakeCoordinator) {
        ParticipantRole::IntakeCoordinator
    } else if actor.roles.contains(&Role::StudyCareerCoach) {
        ParticipantRole::StudyCareerCoach
    } else {
        ParticipantRole::Mentor
    };
    v1::Participant {
        role: role as i32,
        party_id: actor.party.to_string(),
        staff_ref: actor.staff.clone(),
    }
}

/// Our own staff by name (from `names`); another party's person by role
/// and party only (its staff ids mean nothing here).
pub(crate) fn participant_label(
    state: &AppState,
    names: &crate::staff_directory::Names,
    p: &v1::Participant,
) -> String {
    let role = match ParticipantRole::try_from(p.role).unwrap_or(ParticipantRole::Unspecified) {
        ParticipantRole::SupportCoordinatorPo => "intern begeleider",
        ParticipantRole::Group8Teacher => "leerkracht groep 8",
        ParticipantRole::TeamLead => "teamleider",
        ParticipantRole::CareCoordinator => "zorgcoördinator",
        ParticipantRole::Mentor => "mentor",
        ParticipantRole::IntakeCoordinator => "intakecoördinator",
        ParticipantRole::StudyCareerCoach => "studieloopbaanbegeleider",
        ParticipantRole::Guardian => return "de ouders".into(),
        ParticipantRole::Pupil => return "de leerling".into(),
        ParticipantRole::Unspecified => "onbekende rol",
    };
    let party = labels::party_name(state, &p.party_id);
    if p.staff_ref.is_empty() || p.party_id != state.inner.party.as_str() {
        format!("{role}, {party}")
    } else {
        format!("{role} {}, {party}", names.of(&p.staff_ref))
    }
}

/// What a refused plan form held, and why: the dossier's page or the
/// digest shows it again.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlanTyped {
    /// Whether a refused form is put back (else the form's defaults).
    pub kept: bool,
    pub planned_on: String,
    pub party: String,
    pub role: String,
    pub guardians: bool,
    pub pupil: bool,
    pub refused: Refusal,
}

impl PlanTyped {
    fn of(form: &PlanForm, refused: crate::reasons::Refused) -> Self {
        PlanTyped {
            kept: true,
            planned_on: form.planned_on.trim().to_owned(),
            party: form.party.clone(),
            role: form.role.clone(),
            guardians: form.guardians.is_some(),
            pupil: form.pupil.is_some(),
            refused: Refusal(Some(refused)),
        }
    }

    /// Whether the guardians take part: as typed, else yes.
    pub fn with_guardians(&self) -> bool {
        !self.kept || self.guardians
    }

    /// Whether the pupil takes part: as typed, else `default`.
    pub fn with_pupil(&self, default: bool) -> bool {
        if self.kept { self.pupil } else { default }
    }

    pub fn is_party(&self, party: &str) -> bool {
        self.kept && self.party == party
    }

    pub fn is_role(&self, role: &str) -> bool {
        self.kept && self.role == role
    }
}

/// The plan form's inputs by the slice's field names.
const PLAN_INPUTS: &[(&str, &str)] = &[
    ("planned_on", "planned_on"),
    ("party", "warm-party"),
    ("party_id", "warm-party"),
    ("role", "warm-role"),
];

#[derive(Deserialize)]
pub(crate) struct PlanForm {
    #[serde(default)]
    csrf: String,
    /// Made when the form was shown: sent twice, it plans once.
    #[serde(default)]
    form_id: String,
    planned_on: String,
    party: String,
    role: String,
    #[serde(default)]
    guardians: Option<String>,
    #[serde(default)]
    pupil: Option<String>,
}

impl PlanForm {
    /// The guardians and the pupil, where the form says they take part.
    fn family(&self) -> impl Iterator<Item = v1::Participant> + use<'_> {
        [
            (&self.guardians, ParticipantRole::Guardian),
            (&self.pupil, ParticipantRole::Pupil),
        ]
        .into_iter()
        .filter(|(present, _)| present.is_some())
        .map(|(_, role)| v1::Participant {
            role: role as i32,
            ..Default::default()
        })
    }
}

/// `POST /dossiers/{id}/warme-overdracht`: plan the handover conversation
/// about this school's dossier, with the other school, the guardians and
/// the pupil; the agenda is the handbook's for the dossier's route.
pub(crate) async fn plan(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PlanForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let planned = async {
        let planned_on = dossier::parse_date("planned_on", &form.planned_on)?;
        let party = PartyId::parse("party", &form.party)?;
        let mut participants = vec![
            me(&staff.actor),
            v1::Participant {
                role: participant_role("role", &form.role)? as i32,
                party_id: party.to_string(),
                staff_ref: String::new(),
            },
        ];
        participants.extend(form.family());
        Ok::<_, Error>(
            warm::plan_named(
                &state.inner.store,
                &staff.actor,
                &form.form_id,
                &id,
                None,
                participants,
                planned_on,
            )
            .await?,
        )
    }
    .await;
    let warm_id = match planned {
        Ok(warm_id) => warm_id,
        Err(e) => {
            // The dossier's page again, with what was typed and what to do.
            let refused = refusal(e)?.at(PLAN_INPUTS);
            let page = crate::handover::dossiers::page(
                &state,
                staff,
                &id,
                None,
                PlanTyped::of(&form, refused.clone()),
            )
            .await?;
            return Ok(refused.respond(page));
        }
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["warme-overdracht", &warm_id]),
        "Het gesprek is gepland. Vul na het gesprek het verslag in.",
    ))
}

/// The route of a conversation about a dossier `sender` sent to this party:
/// from the kinds of both (a secondary school to a follow-up institution is
/// the handbook's 7.3, VO→vervolg).
fn route_between(state: &AppState, sender: &str) -> dossier::Route {
    let sender_kind = state
        .inner
        .store
        .directory()
        .and_then(|d| d.get(sender).map(|e| e.kind));
    match (sender_kind, state.inner.kind) {
        (Some(PartyKind::VoSchool), PartyKind::Vervolg) => dossier::Route::VoVervolg,
        (Some(PartyKind::VoSchool), PartyKind::VoSchool) => dossier::Route::VoVo,
        (Some(PartyKind::PoSchool), PartyKind::PoSchool) => dossier::Route::PoPo,
        _ => dossier::Route::PoVo,
    }
}

/// `POST /ontvangen/{id}/warme-overdracht`: the receiving side plans the
/// handover conversation about a dossier it received (at a follow-up
/// institution the studieloopbaanbegeleider or the intakecoördinator, with
/// the secondary school, the guardians and the student); the agenda is the
/// handbook's for the route between the two (7.3 from a secondary school to
/// a follow-up institution). The record stays with this party.
pub(crate) async fn plan_received(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<PlanForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    // Who may read this received dossier (the coordinator, the mentor or
    // SLB it is assigned to), checked before it is looked up: a refusal is
    // audited and says nothing of whether it exists.
    let item = reading::check(store, state.inner.kind, &staff.actor, &id).await?;
    if item.sender == store.party.as_str() {
        return Err(Error::NotFound);
    }
    let planned = async {
        let planned_on = dossier::parse_date("planned_on", &form.planned_on)?;
        // The other side is the school that sent the dossier.
        if form.party != item.sender {
            return Err(Error::invalid("party", "the school that sent the dossier"));
        }
        let mut participants = vec![
            me(&staff.actor),
            v1::Participant {
                role: participant_role("role", &form.role)? as i32,
                party_id: item.sender.clone(),
                staff_ref: String::new(),
            },
        ];
        participants.extend(form.family());
        Ok(warm::plan_named(
            store,
            &staff.actor,
            &form.form_id,
            &item.document_id,
            Some(route_between(&state, &item.sender)),
            participants,
            planned_on,
        )
        .await?)
    }
    .await;
    let warm_id = match planned {
        Ok(warm_id) => warm_id,
        Err(e) => {
            // The digest again, with what was typed and what to do.
            let refused = refusal(e)?.at(PLAN_INPUTS);
            let typed = crate::handover::dossiers::Typed {
                plan: PlanTyped::of(&form, refused.clone()),
                refused: Refusal(Some(refused.clone())),
                ..Default::default()
            };
            let page =
                crate::handover::dossiers::digest_page(&state, staff, id, None, typed).await?;
            return Ok(refused.respond(page));
        }
    };
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["warme-overdracht", &warm_id]),
        "Het gesprek is gepland. Vul na het gesprek het verslag in.",
    ))
}

/// Where a warm-handover page leads back to: this school's own dossier, or
/// (a conversation about a dossier it received) that dossier's digest.
async fn back_to(state: &AppState, dossier_id: &str, own: bool) -> Result<String, Error> {
    if own {
        return Ok(crate::href::path(&["dossiers", dossier_id]));
    }
    let received = incoming::list(&state.inner.store)
        .await?
        .into_iter()
        .rev()
        .find(|i| i.available && i.document_id == dossier_id);
    Ok(match received {
        Some(i) => crate::href::path(&["ontvangen", &i.message_id, "samenvatting"]),
        None => "/".to_owned(),
    })
}

#[derive(Template)]
#[template(path = "warm.html")]
struct WarmPage {
    csrf: String,
    id: String,
    dossier_href: String,
    planned_on: String,
    held_on: String,
    held: bool,
    /// Held, and another party took part (a mentor change inside the school
    /// is shared by the dossier itself, not by this record).
    shareable: bool,
    participants: Vec<String>,
    /// (index, topic, notes)
    agenda: Vec<(usize, String, String)>,
    minutes: String,
    agreements: String,
    aftercare: String,
    /// The guardians' granted consents to share under: (record id, label).
    consents: Vec<(String, String)>,
    /// The consent a refused share form had chosen.
    chosen_consent: String,
    refused: Refusal,
    notice: Option<String>,
}

/// What a refused form of the warm-handover page held: the record as typed
/// (the agenda's notes by item), or the consent the share form chose.
#[derive(Default)]
struct WarmKept {
    held: Option<HeldTyped>,
    consent: String,
}

/// The record as a refused form held it.
struct HeldTyped {
    held_on: String,
    /// The agenda's notes: (item, text).
    notes: Vec<(usize, String)>,
    minutes: String,
    agreements: String,
    aftercare: String,
}

/// `GET /warme-overdracht/{id}`: one of this school's handover
/// conversations: the agenda, the record to fill in, and sharing it.
pub(crate) async fn show(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let (jar, notice) = notice(jar, &crate::href::path(&["warme-overdracht", &id]));
    let page = warm_page(
        &state,
        &staff,
        &id,
        notice,
        WarmKept::default(),
        Refusal::none(),
    )
    .await?;
    Ok((jar, page).into_response())
}

/// One handover conversation's page (`GET /warme-overdracht/{id}`), also
/// as a refused form comes back on it: `kept` what it held, `refused` why.
async fn warm_page(
    state: &AppState,
    staff: &Staff,
    id: &str,
    notice: Option<String>,
    kept: WarmKept,
    refused: Refusal,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let (record, status) = warm::view(store, &staff.actor, id).await?;
    let held = status == "held";
    // Sharing needs the guardians' consent for the transfer, about the
    // pupil of this school's own dossier.
    let others = record
        .participants
        .iter()
        .any(|p| !p.party_id.is_empty() && p.party_id != store.party.as_str());
    let own = match dossier::get(store, &record.dossier_id).await {
        Ok(own) => Some(own),
        Err(carenet_handover::Error::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let own_dossier = own.is_some();
    // Only someone who may see the pupil's consents shares under one: the
    // others read the record, with no sharing offered.
    let may_share = match &own {
        Some(own) => carenet_consent::relation::holds(store, &staff.actor, &own.child_ref).await?,
        None => false,
    };
    let consents = match own {
        Some(own) if held && others && may_share => crate::consent::pages::granted(
            state,
            &staff.actor,
            &own.child_ref,
            Some(Purpose::TransferDossier),
        )
        .await?
        .into_iter()
        .map(crate::consent::pages::choice)
        .collect(),
        _ => Vec::new(),
    };
    let dossier_href = back_to(state, &record.dossier_id, own_dossier).await?;
    let names = crate::staff_directory::Names::load(state).await?;
    let mut agenda: Vec<(usize, String, String)> = record
        .agenda
        .iter()
        .enumerate()
        .map(|(i, a)| (i, a.topic.clone(), a.notes.clone()))
        .collect();
    let (mut held_on, mut minutes, mut agreements, mut aftercare) = (
        record.held_on.clone(),
        record.minutes,
        record.agreements.join("\n"),
        record.aftercare,
    );
    if let Some(typed) = kept.held {
        for (i, text) in typed.notes {
            if let Some(item) = agenda.get_mut(i) {
                item.2 = text;
            }
        }
        (held_on, minutes, agreements, aftercare) = (
            typed.held_on,
            typed.minutes,
            typed.agreements,
            typed.aftercare,
        );
    }
    Ok(render(&WarmPage {
        csrf: staff.session.csrf.clone(),
        dossier_href,
        planned_on: labels::date_text(&record.planned_on),
        held_on,
        held,
        shareable: held && others && may_share,
        participants: record
            .participants
            .iter()
            .map(|p| participant_label(state, &names, p))
            .collect(),
        agenda,
        minutes,
        agreements,
        aftercare,
        consents,
        chosen_consent: kept.consent,
        refused,
        notice,
        id: record.id,
    }))
}

/// `POST /warme-overdracht/{id}/vastleggen`: what was said (per agenda
/// item), agreed (one agreement per line) and the aftercare.
pub(crate) async fn hold(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    let field = |name: &str| crate::form::field(&pairs, name);
    staff.check(field("csrf"), &headers, &state)?;
    let recorded = async {
        let held_on = match field("held_on").trim() {
            "" => None,
            d => Some(dossier::parse_date("held_on", d)?),
        };
        let mut notes = Vec::new();
        for (k, v) in &pairs {
            if let Some(i) = k.strip_prefix("note-") {
                let i: usize = i
                    .parse()
                    .map_err(|_| Error::invalid(k.as_str(), "no such agenda item"))?;
                notes.push((i, v.trim().to_owned()));
            }
        }
        let held = warm::Held {
            held_on,
            minutes: field("minutes").trim().to_owned(),
            notes,
            agreements: field("agreements")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            aftercare: field("aftercare").trim().to_owned(),
        };
        warm::hold(&state.inner.store, &staff.actor, &id, held).await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = recorded {
        // The page again, with the record as typed.
        let refused = refusal(e)?.at(&[
            ("held_on", "held_on"),
            ("minutes", "minutes"),
            ("agreements", "agreements"),
            ("aftercare", "aftercare"),
        ]);
        let notes = pairs
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("note-")?.parse().ok()?, v.clone())))
            .collect();
        let kept = WarmKept {
            held: Some(HeldTyped {
                held_on: field("held_on").trim().to_owned(),
                notes,
                minutes: field("minutes").to_owned(),
                agreements: field("agreements").to_owned(),
                aftercare: field("aftercare").to_owned(),
            }),
            consent: String::new(),
        };
        let page = warm_page(
            &state,
            &staff,
            &id,
            None,
            kept,
            Refusal(Some(refused.clone())),
        )
        .await?;
        return Ok(refused.respond(page));
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["warme-overdracht", &id]),
        "Het verslag is vastgelegd.",
    ))
}

#[derive(Deserialize)]
pub(crate) struct ShareForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    consent_record: String,
}

/// `POST /warme-overdracht/{id}/delen`: the record to every other school
/// that took part, under the guardians' consent.
pub(crate) async fn share(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ShareForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    let directory = store
        .directory()
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))?;
    let shared = warm::share(
        store,
        directory,
        &staff.actor,
        &id,
        &form.consent_record,
        None,
    )
    .await;
    if let Err(e) = shared {
        // The page again, the consent chosen, and what to do.
        let e: Error = e.into();
        let code = e.code();
        let refused = refusal(e)?
            .at(&[
                ("consent_record", "share-consent"),
                ("consent", "share-consent"),
            ])
            .for_purpose(Purpose::TransferDossier, code);
        let kept = WarmKept {
            held: None,
            consent: form.consent_record.clone(),
        };
        let page = warm_page(
            &state,
            &staff,
            &id,
            None,
            kept,
            Refusal(Some(refused.clone())),
        )
        .await?;
        return Ok(refused.respond(page));
    }
    Ok(done(
        &state,
        jar,
        &crate::href::path(&["warme-overdracht", &id]),
        "Het verslag is gedeeld met de andere school.",
    ))
}

#[derive(Deserialize)]
pub(crate) struct FeedbackForm {
    #[serde(default)]
    csrf: String,
    child_ref: String,
    text: String,
    /// `samenvatting` when sent from the classroom digest (a mentor's page).
    #[serde(default)]
    terug: String,
}

/// `POST /ontvangen/{id}/terugkoppeling`: tell the sending school how the
/// pupil is doing, under this school's own consent of the guardians for
/// feedback (the newest granted one for the pupil, by this school's
/// reference).
pub(crate) async fn feedback(
    State(state): State<AppState>,
    staff: Staff,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<FeedbackForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    let child_ref = form.child_ref.trim();
    let sent = async {
        let consent = crate::consent::pages::granted(
            &state,
            &staff.actor,
            child_ref,
            Some(Purpose::FeedbackToSender),
        )
        .await?
        .pop()
        .ok_or_else(|| {
            carenet_fabric::Error::invalid(
                "consent_record",
                "no granted consent of the guardians for feedback about this pupil: ask for it first (Toestemming)",
            )
            .coded(carenet_fabric::Reason::ConsentMissing)
        })?;
        incoming::send_feedback(
            store,
            &staff.actor,
            &id,
            &form.text,
            &consent.version.record_id,
            child_ref,
        )
        .await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = sent {
        // The same page again, with what was typed and what to do.
        let code = e.code();
        let refused = crate::reasons::refusal(e)?
            .at(&[("text", "fb-tekst")])
            .for_purpose(Purpose::FeedbackToSender, code);
        let typed = crate::handover::dossiers::Typed {
            text: form.text,
            refused: crate::reasons::Refusal(Some(refused.clone())),
            ..Default::default()
        };
        let page = if form.terug == "samenvatting" {
            crate::handover::dossiers::digest_page(&state, staff, id, None, typed).await?
        } else {
            crate::handover::dossiers::received_page(&state, &staff, id, None, typed).await?
        };
        return Ok(refused.respond(page));
    }
    let back = if form.terug == "samenvatting" {
        crate::href::path(&["ontvangen", &id, "samenvatting"])
    } else {
        crate::href::path(&["ontvangen", &id])
    };
    Ok(done(
        &state,
        jar,
        &back,
        "De terugkoppeling is verstuurd naar de school van herkomst.",
    ))
}
