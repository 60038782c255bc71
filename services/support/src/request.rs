//! A support request as a node stores it, and the school's steps.
//!
//! A request is drafted at the requesting school's node ([`create`]) with
//! its documented history, the OPP, the guardians' view and the pupil's
//! voice, and the consent record it travels under; [`submit`] checks the
//! hearing rules and the consent and starts the school's duty of care.
//! The SWV's node holds the request from its arrival ([`receive`]) and
//! takes it through the intake ([`crate::intake`]); what it sends back
//! (a question, a state, the decision) the school's copy follows
//! ([`apply_status`]).
//!
//! Every step takes the [`Actor`] and one row of [`roles`], checks the
//! version the actor decided on and the transition ([`crate::model::next`]),
//! and writes the change, its clocks and its audit entry in one
//! transaction. Readings are audited too.

use carenet_consent::Purpose;
use carenet_consent::policy::{Coverage, coverage};
use carenet_consent::record::{ConsentStore, format_date, parse_date};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::PartyEntry;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, PartyId, PartyKind, Reason, audited, with_db};

use crate::check::{self, Advice, Qualification};
use crate::clock::Clock;
use crate::deadline::{self, DUTY_OF_CARE, DUTY_OF_CARE_EXTENSION, DeadlineKind};
use crate::model::{
    ArrangementLevel, Category, Detail, HistorySource, Kind, Line, ObjectionOutcome, Outcome,
    ParticipantRole, SchoolType, State, Step, Who, check_detail, next,
};
use crate::{Result, deadline_close, deadline_open, roles};

pub use crate::model::is_id;

/// What the school fills in to draft a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewRequest {
    /// The SWV it goes to (a party of the region directory).
    pub swv: String,
    pub child_ref: String,
    pub child_name: String,
    /// YYYY-MM-DD.
    pub child_birth_date: String,
    pub kind: Option<Kind>,
    pub detail: Detail,
    /// The school's question to the SWV.
    pub question: String,
    /// The OPP or groeidocument: its text and/or a reference to the attached document.
    pub opp_text: String,
    pub opp_ref: String,
    /// The guardians' view (zienswijze).
    pub guardian_view: String,
    /// The pupil's voice (hoorrecht), or the reason it was not recorded.
    pub pupil_voice: String,
    pub voice_reason: String,
    /// The guardians' (or the pupil's) consent record for `support_request`.
    pub consent_record: String,
    /// YYYY-MM-DD: the guardians' written application (aanmelding), when
    /// the school's duty of care started; empty: the day it is submitted.
    pub applied_on: String,
    pub history: Vec<HistoryItem>,
}

/// One item of the documented history of the first and second line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryItem {
    pub source: HistorySource,
    pub line: Line,
    /// The id of the school's record (IZO minutes, a ZAT meeting, a plan's
    /// goal or evaluation); empty for what the school adds.
    pub source_ref: String,
    /// The record's text as it was when the request was made, or the
    /// school's own text.
    pub snapshot: String,
    pub added_by: String,
}

/// The MDO: planned, then held with its outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mdo {
    pub planned_on: String,
    pub held_on: String,
    pub outcome: String,
    pub participants: Vec<Participant>,
}

/// One participant of the MDO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub role: ParticipantRole,
    /// The person's name as the invitation says it.
    pub name: String,
    /// Their party, when a party of the region (the school, a partner, the SWV).
    pub party: String,
}

/// The decision as recorded, with its id (what a re-indication names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDecision {
    pub id: String,
    pub decision: check::Decision,
    pub decided_on: String,
    pub decided_by: String,
}

/// An objection and its course.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objection {
    pub lodged_on: String,
    pub grounds: String,
    pub defence_sent_on: String,
    pub committee_advice: String,
    pub committee_advised_on: String,
    pub outcome: Option<ObjectionOutcome>,
    pub reasons: String,
    pub decided_on: String,
}

/// A request with everything recorded on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    pub school: String,
    pub swv: String,
    pub child_ref: String,
    pub child_name: String,
    pub child_birth_date: String,
    pub kind: Kind,
    pub detail: Detail,
    pub question: String,
    pub opp_text: String,
    pub opp_ref: String,
    pub guardian_view: String,
    pub pupil_voice: String,
    pub voice_reason: String,
    pub consent_record: String,
    pub applied_on: String,
    pub state: State,
    pub version: u64,
    pub created_by: String,
    pub submitted_on: String,
    pub trajectory_guide: String,
    /// The trajectbegeleider by name (named to school and guardians).
    pub trajectory_guide_name: String,
    pub completeness_question: String,
    pub completeness_answer: String,
    pub exit_report: String,
    pub aftercare: String,
    pub history: Vec<HistoryItem>,
    pub advices: Vec<Advice>,
    pub mdo: Option<Mdo>,
    pub decision: Option<StoredDecision>,
    pub objection: Option<Objection>,
}

/// One request in a list: no content beyond the pupil's reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub school: String,
    pub swv: String,
    pub child_ref: String,
    /// The pupil's name, for the staff lists (the listing is audited).
    pub child_name: String,
    pub kind: Kind,
    pub state: State,
    pub version: u64,
    pub trajectory_guide: String,
    pub trajectory_guide_name: String,
    pub submitted_on: String,
    pub updated_at_ms: i64,
}

pub(crate) fn entry(actor: &Actor, action: &str, id: &str) -> Entry {
    Entry {
        purpose: Purpose::SupportRequest.as_str().into(),
        ..actor.entry(action, id)
    }
}

/// A text the form requires (1-8000 characters).
pub(crate) fn required(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty").coded(Reason::Required));
    }
    limited(field, value)
}

/// A text of at most 8000 characters.
pub(crate) fn limited(field: &str, value: &str) -> Result<()> {
    if value.len() > 8000 {
        return Err(Error::invalid(field, "at most 8000 characters").coded(Reason::TooLong));
    }
    Ok(())
}

pub(crate) fn date(field: &str, value: &str) -> Result<time::Date> {
    parse_date(field, value).map_err(Error::from)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

pub(crate) fn stale(id: &str) -> Error {
    Error::Aborted(format!("support request {id}"))
}

/// This party's kind, as the region directory says it (never the caller's
/// word): the rules of a request depend on it.
pub(crate) fn own_kind(store: &Store) -> Result<PartyKind> {
    kind_of(store, store.party.as_str(), "party")
}

/// The kind of party `id` in the region directory.
pub(crate) fn kind_of(store: &Store, id: &str, field: &str) -> Result<PartyKind> {
    let Some(directory) = store.directory() else {
        return Err(Error::precondition(
            "support requests need the region directory to know the parties' kinds: start the node once",
        ));
    };
    directory.get(id).map(|e| e.kind).ok_or_else(|| {
        Error::invalid(field, "not a party of the region").coded(Reason::UnknownParty)
    })
}

fn check_history(items: &[HistoryItem]) -> Result<()> {
    for (i, h) in items.iter().enumerate() {
        required(&format!("history[{i}].snapshot"), &h.snapshot)?;
        let own = h.source == HistorySource::School;
        if own != h.source_ref.is_empty() {
            return Err(Error::invalid(
                format!("history[{i}].source_ref"),
                "a record of the school's names its id; what the school adds names none",
            ));
        }
        if !own && !is_id(&h.source_ref) {
            return Err(Error::invalid(
                format!("history[{i}].source_ref"),
                "an id of the school's record",
            ));
        }
    }
    Ok(())
}

/// Checks the consent record the request travels under: the guardians' (or
/// the pupil's) granted consent for `support_request` about this pupil,
/// naming the SWV, valid today, given by whom the law asks today.
async fn check_consent(
    store: &Store,
    clock: &dyn Clock,
    child_ref: &str,
    record: &str,
    swv: &str,
) -> Result<()> {
    const FIELD: &str = "consent_record";
    if record.trim().is_empty() {
        return Err(Error::invalid(
            FIELD,
            "a support request needs the guardians' consent for support_request: record it first",
        )
        .coded(Reason::ConsentMissing));
    }
    let Some(current) = ConsentStore::new(store.clone()).latest(record).await? else {
        return Err(Error::invalid(FIELD, "no such consent record").coded(Reason::ConsentMissing));
    };
    let recipient = match store.directory().and_then(|d| d.get(swv)) {
        Some(e) => e,
        None => PartyEntry {
            id: PartyId::parse("swv", swv)?,
            kind: PartyKind::Swv,
            discipline: None,
            name: String::new(),
            endpoint: String::new(),
            spki_sha256: [0; 32],
            signing_key: Vec::new(),
        },
    };
    match coverage(
        &current,
        Purpose::SupportRequest.as_str(),
        Some(child_ref),
        &recipient,
        clock.today(),
    )? {
        Coverage::Covers => Ok(()),
        Coverage::NotYet(why) => Err(Error::invalid(FIELD, why).coded(Reason::ConsentNotGranted)),
        Coverage::Refuse(why) => Err(Error::invalid(FIELD, why).coded(Reason::ConsentNotCovering)),
    }
}

/// Inserts the history items of request `$id` inside `$tx`, from `$from`.
macro_rules! insert_history {
    ($tx:expr, $id:expr, $items:expr, $from:expr) => {
        for (i, h) in $items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO support_history (request_id, position, source, line, source_ref, snapshot, added_by, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind($id)
            .bind(i64::try_from(i + $from).unwrap_or(i64::MAX))
            .bind(h.source.as_str())
            .bind(h.line.as_str())
            .bind(&h.source_ref)
            .bind(&h.snapshot)
            .bind(&h.added_by)
            .bind(now_ms())
            .execute(&mut *$tx)
            .await?;
        }
    };
}

/// Inserts request `$r` (all its columns) in state `$state` inside `$tx`.
macro_rules! insert_request {
    ($tx:expr, $r:expr, $state:expr) => {
        sqlx::query(
            "INSERT INTO support_request (id, school, swv, child_ref, child_name, child_birth_date, kind, level, \
             support_asked, cost_cents, school_type, category, previous_decision, question, opp_text, opp_ref, \
             guardian_view, pupil_voice, voice_reason, consent_record, applied_on, state, version, created_by, \
             submitted_on, trajectory_guide, completeness_question, completeness_answer, exit_report, aftercare, \
             created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, 1, $23, $24, '', '', '', '', '', $25, $25)",
        )
        .bind(&$r.id)
        .bind(&$r.school)
        .bind(&$r.swv)
        .bind(&$r.child_ref)
        .bind(&$r.child_name)
        .bind(&$r.child_birth_date)
        .bind($r.kind.as_str())
        .bind($r.detail.level.map(|l| l.as_str()))
        .bind(&$r.detail.support_asked)
        .bind($r.detail.cost_cents)
        .bind($r.detail.school_type.map(|t| t.as_str()))
        .bind($r.detail.category.map(|c| c.as_str()))
        .bind(&$r.detail.previous_decision)
        .bind(&$r.question)
        .bind(&$r.opp_text)
        .bind(&$r.opp_ref)
        .bind(&$r.guardian_view)
        .bind(&$r.pupil_voice)
        .bind(&$r.voice_reason)
        .bind(&$r.consent_record)
        .bind(&$r.applied_on)
        .bind($state.as_str())
        .bind(&$r.created_by)
        .bind(&$r.submitted_on)
        .bind(now_ms())
        .execute(&mut *$tx)
        .await?;
    };
}

/// Moves request `$id` from `$from` (at version `$version`) to `$to`
/// inside `$tx`, raising its version; anything else changed it meanwhile
/// and ends the transaction with `Aborted`.
#[macro_export]
#[doc(hidden)]
macro_rules! claim {
    ($tx:expr, $id:expr, $from:expr, $version:expr, $to:expr) => {
        let done = sqlx::query(
            "UPDATE support_request SET state = $1, version = version + 1, updated_at_ms = $2 \
             WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind($crate::model::State::as_str($to))
        .bind(carenet_fabric::clock::now_ms())
        .bind($id)
        .bind($crate::model::State::as_str($from))
        .bind(i64::try_from($version).unwrap_or(i64::MAX))
        .execute(&mut *$tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err($crate::request::stale($id));
        }
    };
}

/// Checks a draft's fields against the school's kind (from the region
/// directory) and the SWV it goes to; returns the kind.
fn validate(store: &Store, new: &NewRequest) -> Result<Kind> {
    let school = own_kind(store)?;
    let Some(kind) = new.kind else {
        return Err(Error::invalid("kind", "choose the kind of support").coded(Reason::Required));
    };
    if kind_of(store, &new.swv, "swv")? != PartyKind::Swv {
        return Err(
            Error::invalid("swv", "not a samenwerkingsverband").coded(Reason::PartyMismatch)
        );
    }
    if new.child_ref.trim().is_empty() || new.child_ref.len() > 128 {
        return Err(Error::invalid("child_ref", "1-128 characters").coded(Reason::Required));
    }
    required("child_name", &new.child_name)?;
    date("child_birth_date", &new.child_birth_date)?;
    check_detail(kind, school, &new.detail)?;
    limited("question", &new.question)?;
    limited("opp_text", &new.opp_text)?;
    limited("opp_ref", &new.opp_ref)?;
    limited("guardian_view", &new.guardian_view)?;
    limited("pupil_voice", &new.pupil_voice)?;
    limited("voice_reason", &new.voice_reason)?;
    if !new.applied_on.is_empty() {
        date("applied_on", &new.applied_on)?;
    }
    if !new.consent_record.is_empty() && !is_id(&new.consent_record) {
        return Err(Error::invalid("consent_record", "a consent record's id"));
    }
    Ok(kind)
}

/// Drafts a request at the school's node; returns its id. The school's
/// kind comes from the region directory; the SWV must be one.
pub async fn create(store: &Store, actor: &Actor, new: NewRequest) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, "support:new").await?;
    let kind = validate(store, &new)?;
    check_history(&new.history)?;
    let id = new_id();
    let history: Vec<HistoryItem> = new
        .history
        .iter()
        .map(|h| HistoryItem {
            added_by: actor.staff.clone(),
            ..h.clone()
        })
        .collect();
    let r = Request {
        id: id.clone(),
        school: store.party.to_string(),
        swv: new.swv,
        child_ref: new.child_ref,
        child_name: new.child_name,
        child_birth_date: new.child_birth_date,
        kind,
        detail: new.detail,
        question: new.question,
        opp_text: new.opp_text,
        opp_ref: new.opp_ref,
        guardian_view: new.guardian_view,
        pupil_voice: new.pupil_voice,
        voice_reason: new.voice_reason,
        consent_record: new.consent_record,
        applied_on: new.applied_on,
        state: State::Draft,
        version: 1,
        created_by: actor.staff.clone(),
        submitted_on: String::new(),
        trajectory_guide: String::new(),
        trajectory_guide_name: String::new(),
        completeness_question: String::new(),
        completeness_answer: String::new(),
        exit_report: String::new(),
        aftercare: String::new(),
        history: Vec::new(),
        advices: Vec::new(),
        mdo: None,
        decision: None,
        objection: None,
    };
    let audit = entry(actor, "support_drafted", &id);
    audited!(&store.db, tx => {
        insert_request!(tx, r, State::Draft);
        insert_history!(tx, &id, history, 0);
        ((), vec![audit])
    });
    Ok(id)
}

/// Revises a draft (or a returned request): every field of the form
/// again, the pupil and the SWV unchanged; the history is added to with
/// [`add_history`].
pub async fn revise(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    new: NewRequest,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    if !matches!(r.state, State::Draft | State::Returned) {
        return Err(Error::precondition(format!(
            "support request {id} is {}: it is revised while it is a draft or returned",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    if new.child_ref != r.child_ref {
        return Err(
            Error::invalid("child_ref", "a revision is about the same pupil")
                .coded(Reason::OtherPupil),
        );
    }
    if new.swv != r.swv {
        return Err(
            Error::invalid("swv", "a revision goes to the same SWV").coded(Reason::PartyMismatch)
        );
    }
    let kind = validate(store, &new)?;
    let audit = entry(actor, "support_revised", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        sqlx::query(
            "UPDATE support_request SET child_name = $1, child_birth_date = $2, kind = $3, level = $4, support_asked = $5, \
             cost_cents = $6, school_type = $7, category = $8, previous_decision = $9, question = $10, opp_text = $11, \
             opp_ref = $12, guardian_view = $13, pupil_voice = $14, voice_reason = $15, consent_record = $16, \
             applied_on = $17 WHERE id = $18",
        )
        .bind(&new.child_name)
        .bind(&new.child_birth_date)
        .bind(kind.as_str())
        .bind(new.detail.level.map(|l| l.as_str()))
        .bind(&new.detail.support_asked)
        .bind(new.detail.cost_cents)
        .bind(new.detail.school_type.map(|t| t.as_str()))
        .bind(new.detail.category.map(|c| c.as_str()))
        .bind(&new.detail.previous_decision)
        .bind(&new.question)
        .bind(&new.opp_text)
        .bind(&new.opp_ref)
        .bind(&new.guardian_view)
        .bind(&new.pupil_voice)
        .bind(&new.voice_reason)
        .bind(&new.consent_record)
        .bind(&new.applied_on)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        ((), vec![audit])
    });
    Ok(())
}

/// Adds to a draft's (or a returned request's) documented history: what
/// the school's records hold, or what the school adds.
pub async fn add_history(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    items: Vec<HistoryItem>,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    if !matches!(r.state, State::Draft | State::Returned) {
        return Err(Error::precondition(format!(
            "support request {id} is {}: its history is added while it is a draft or returned",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    if items.is_empty() {
        return Err(Error::invalid("history", "add at least one item").coded(Reason::Required));
    }
    check_history(&items)?;
    let items: Vec<HistoryItem> = items
        .into_iter()
        .map(|h| HistoryItem {
            added_by: actor.staff.clone(),
            ..h
        })
        .collect();
    let from = r.history.len();
    let audit = entry(actor, "support_history_added", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        insert_history!(tx, id, items, from);
        ((), vec![audit])
    });
    Ok(())
}

/// A request of this school (at its own node), not one received.
fn own_request(store: &Store, r: &Request) -> Result<()> {
    if r.school != store.party.as_str() {
        return Err(Error::PermissionDenied(format!(
            "support request {} was made by another school",
            r.id
        )));
    }
    Ok(())
}

/// A request this SWV received (at its node).
pub(crate) fn received_request(store: &Store, r: &Request) -> Result<()> {
    if r.swv != store.party.as_str() || r.school == store.party.as_str() {
        return Err(Error::PermissionDenied(format!(
            "support request {} was not made to this SWV",
            r.id
        )));
    }
    Ok(())
}

/// Submits a draft to the SWV: the school's question, the documented
/// history, the guardians' view and the pupil's voice (or why not) and the
/// consent are checked; the school's duty of care starts from the written
/// application. Returns the request as it travels.
pub async fn submit(
    store: &Store,
    actor: &Actor,
    clock: &dyn Clock,
    id: &str,
    seen: u64,
) -> Result<Request> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    let to = next(r.kind, r.state, Step::Submit, Who::School)?;
    required("question", &r.question)?;
    if r.history.is_empty() {
        return Err(Error::invalid(
            "history",
            "document what the first and second line did (IZO, ZAT, the plan's goals and evaluations)",
        )
        .coded(Reason::Required));
    }
    if r.opp_text.trim().is_empty() && r.opp_ref.trim().is_empty() {
        return Err(
            Error::invalid("opp_text", "add the OPP or groeidocument").coded(Reason::Required)
        );
    }
    check::hearing(&r.guardian_view, &r.pupil_voice, &r.voice_reason)?;
    check_consent(store, clock, &r.child_ref, &r.consent_record, &r.swv).await?;
    let today = clock.today();
    let applied = if r.applied_on.is_empty() {
        today
    } else {
        date("applied_on", &r.applied_on)?
    };
    let sent = Request {
        state: to,
        submitted_on: format_date(today),
        applied_on: format_date(applied),
        ..r.clone()
    };
    let messages = [crate::exchange::request_message(
        &sent,
        1,
        &actor.audit_name(),
    )?];
    let ids = store.prepare(&messages).await?;
    let audit = entry(actor, "support_submitted", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query("UPDATE support_request SET submitted_on = $1, applied_on = $2 WHERE id = $3")
            .bind(&sent.submitted_on)
            .bind(&sent.applied_on)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        deadline_open!(tx, id, DeadlineKind::DutyOfCare, applied, applied + DUTY_OF_CARE);
        let mut entries = vec![audit];
        carenet_fabric::outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    load(store, id).await
}

/// The school's answer to the SWV's completeness question, on the school's
/// copy (a returned request); it travels back to the SWV
/// ([`receive_answer`]).
pub async fn answer(store: &Store, actor: &Actor, id: &str, seen: u64, text: &str) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    let to = next(r.kind, r.state, Step::Answer, Who::School)?;
    required("answer", text)?;
    let answered = Request {
        state: to,
        completeness_answer: text.to_owned(),
        ..r.clone()
    };
    // A later version of the same document: the request, with the answer.
    let messages = [crate::exchange::request_message(
        &answered,
        r.version + 1,
        &actor.audit_name(),
    )?];
    let ids = store.prepare(&messages).await?;
    let audit = entry(actor, "support_answered", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query("UPDATE support_request SET completeness_answer = $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let mut entries = vec![audit];
        carenet_fabric::outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(())
}

/// The school withdraws its request before a decision; its duty-of-care
/// clock stops, and a submitted request's withdrawal travels to the SWV
/// (a later version of the document).
pub async fn withdraw(store: &Store, actor: &Actor, id: &str, seen: u64) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    let to = next(r.kind, r.state, Step::Withdraw, Who::School)?;
    let messages = if r.state == State::Draft {
        Vec::new()
    } else {
        let withdrawn = Request {
            state: to,
            ..r.clone()
        };
        vec![crate::exchange::request_message(
            &withdrawn,
            r.version + 1,
            &actor.audit_name(),
        )?]
    };
    let ids = store.prepare(&messages).await?;
    let audit = entry(actor, "support_withdrawn", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        deadline_close!(tx, id, DeadlineKind::DutyOfCare, now);
        let mut entries = vec![audit];
        carenet_fabric::outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(())
}

/// At the SWV's node: the requesting school `from` withdrew the request
/// before a decision; the SWV's decision time stops.
pub async fn receive_withdrawal(store: &Store, from: &PartyId, id: &str) -> Result<()> {
    let r = load(store, id).await?;
    received_request(store, &r)?;
    if r.school != from.as_str() {
        return Err(
            Error::invalid("school", "only the requesting school withdraws")
                .coded(Reason::PartyMismatch),
        );
    }
    let to = next(r.kind, r.state, Step::Withdraw, Who::School)?;
    let system = Actor::system(store.party.clone());
    let audit = Entry {
        counterparty: from.to_string(),
        ..entry(&system, "support_withdrawal_received", id)
    };
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, r.version, to);
        deadline_close!(tx, id, DeadlineKind::Decision, now);
        ((), vec![audit])
    });
    Ok(())
}

/// Extends the school's duty of care once, by 4 weeks.
pub async fn extend_duty_of_care(store: &Store, actor: &Actor, id: &str) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::SCHOOL, id).await?;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    let clocks = deadline::of_request(store, id).await?;
    let Some((_, due_on, false)) = clocks
        .iter()
        .find(|(k, _, _)| *k == DeadlineKind::DutyOfCare)
    else {
        return Err(Error::precondition(format!(
            "support request {id} has no running duty of care"
        ))
        .coded(Reason::CaseState));
    };
    let extended = format_date(date("due_on", due_on)? + DUTY_OF_CARE_EXTENSION);
    let audit = entry(actor, "support_duty_of_care_extended", id);
    audited!(&store.db, tx => {
        let done = sqlx::query(
            "UPDATE support_deadline SET due_on = $1, extended = $2 \
             WHERE request_id = $3 AND kind = $4 AND extended = $5 AND met_at_ms IS NULL",
        )
        .bind(&extended)
        .bind(true)
        .bind(id)
        .bind(DeadlineKind::DutyOfCare.as_str())
        .bind(false)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::precondition(format!(
                "support request {id}: the duty of care is extended once"
            ))
            .coded(Reason::Duplicate));
        }
        ((), vec![audit])
    });
    Ok(extended)
}

/// The SWV's node receives a submitted request from school `from` (the
/// exchange's verified sender): it holds it from now on, and the SWV's
/// decision time starts. A re-indication names a TLV decision of this SWV
/// and meets that TLV's reminder. Returns the request's id.
pub async fn receive(
    store: &Store,
    clock: &dyn Clock,
    config: &crate::slice::SupportConfig,
    from: &PartyId,
    r: Request,
) -> Result<String> {
    if own_kind(store)? != PartyKind::Swv {
        return Err(Error::PermissionDenied(
            "only an SWV receives support requests".into(),
        ));
    }
    if !matches!(
        kind_of(store, from.as_str(), "school")?,
        PartyKind::PoSchool | PartyKind::VoSchool
    ) || r.school != from.as_str()
    {
        return Err(
            Error::invalid("school", "the request is the sending school's own")
                .coded(Reason::PartyMismatch),
        );
    }
    if r.swv != store.party.as_str() {
        return Err(Error::invalid("swv", "made to another SWV").coded(Reason::PartyMismatch));
    }
    if !is_id(&r.id) {
        return Err(Error::invalid("id", "a request's id"));
    }
    if r.state != State::Submitted {
        return Err(
            Error::precondition(format!("support request {} is not submitted", r.id))
                .coded(Reason::CaseState),
        );
    }
    check_detail(r.kind, kind_of(store, from.as_str(), "school")?, &r.detail)?;
    check::hearing(&r.guardian_view, &r.pupil_voice, &r.voice_reason)?;
    check_history(&r.history)?;
    let renews = if r.kind == crate::model::Kind::Reindication {
        let previous: Option<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as(
                "SELECT d.request_id FROM support_decision d JOIN support_request q ON q.id = d.request_id \
                 WHERE d.id = $1 AND d.outcome = 'granted' AND q.child_ref = $2 \
                 AND q.kind IN ('admission_statement', 'reindication')",
            )
            .bind(&r.detail.previous_decision)
            .bind(&r.child_ref)
            .fetch_optional(pool)
            .await?
        });
        match previous {
            Some((request,)) => Some(request),
            None => {
                return Err(Error::invalid(
                    "previous_decision",
                    "no granted TLV of this SWV for this pupil",
                )
                .coded(Reason::OtherPupil));
            }
        }
    } else {
        None
    };
    let today = clock.today();
    let due = today + time::Duration::weeks(i64::from(config.decision_weeks));
    let id = r.id.clone();
    let system = Actor::system(store.party.clone());
    let audit = Entry {
        counterparty: from.to_string(),
        ..entry(&system, "support_received", &id)
    };
    let now = now_ms();
    audited!(&store.db, tx => {
        insert_request!(tx, r, State::Submitted);
        insert_history!(tx, &id, r.history, 0);
        deadline_open!(tx, &id, DeadlineKind::Decision, today, due);
        if let Some(previous) = &renews {
            deadline_close!(tx, previous, DeadlineKind::Reindication, now);
        }
        ((), vec![audit])
    });
    Ok(id)
}

/// At the SWV's node: the school's answer to the completeness question
/// arrives from `from`; the request is answered and back at the loket.
pub async fn receive_answer(store: &Store, from: &PartyId, id: &str, text: &str) -> Result<()> {
    let r = load(store, id).await?;
    received_request(store, &r)?;
    if r.school != from.as_str() {
        return Err(
            Error::invalid("school", "only the requesting school answers")
                .coded(Reason::PartyMismatch),
        );
    }
    let to = next(r.kind, r.state, Step::Answer, Who::School)?;
    required("answer", text)?;
    let system = Actor::system(store.party.clone());
    let audit = Entry {
        counterparty: from.to_string(),
        ..entry(&system, "support_answer_received", id)
    };
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, r.version, to);
        sqlx::query("UPDATE support_request SET completeness_answer = $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ((), vec![audit])
    });
    Ok(())
}

/// What the SWV sends back about a request: its state, the completeness
/// question, the trajectbegeleider and the decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub request_id: String,
    pub state: State,
    pub completeness_question: String,
    pub trajectory_guide: String,
    /// The trajectbegeleider's name, as the school and the guardians read it.
    pub trajectory_guide_name: String,
    pub decision: Option<StoredDecision>,
    /// The request's version at the SWV when it was sent.
    pub version: u64,
}

/// At the school's node: the SWV `from` says where the school's request
/// stands. The school's copy follows it; a decision stops the school's
/// duty-of-care clock.
pub async fn apply_status(store: &Store, from: &PartyId, status: &Status) -> Result<()> {
    let id = &status.request_id;
    let r = load(store, id).await?;
    own_request(store, &r)?;
    if r.swv != from.as_str() {
        return Err(
            Error::invalid("swv", "not the SWV the request went to").coded(Reason::PartyMismatch)
        );
    }
    if matches!(r.state, State::Draft | State::Withdrawn) || status.state == State::Draft {
        return Err(
            Error::precondition(format!("support request {id} is {}", r.state))
                .coded(Reason::CaseState),
        );
    }
    let system = Actor::system(store.party.clone());
    let audit = Entry {
        counterparty: from.to_string(),
        ..entry(&system, &format!("support_status_{}", status.state), id)
    };
    let now = now_ms();
    let version = i64::try_from(status.version).unwrap_or(i64::MAX);
    audited!(&store.db, tx => {
        // Statuses may arrive out of order: only a newer one applies.
        let newer = sqlx::query(
            "UPDATE support_request SET status_version = $1 WHERE id = $2 AND status_version < $1",
        )
        .bind(version)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !newer {
            return Ok(());
        }
        claim!(tx, id, r.state, r.version, status.state);
        sqlx::query(
            "UPDATE support_request SET completeness_question = $1, trajectory_guide = $2, trajectory_guide_name = $3 WHERE id = $4",
        )
        .bind(&status.completeness_question)
        .bind(&status.trajectory_guide)
        .bind(&status.trajectory_guide_name)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(d) = &status.decision {
            crate::insert_decision!(tx, id, d);
            deadline_close!(tx, id, DeadlineKind::DutyOfCare, now);
        }
        ((), vec![audit])
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: String,
    school: String,
    swv: String,
    child_ref: String,
    child_name: String,
    child_birth_date: String,
    kind: String,
    level: Option<String>,
    support_asked: String,
    cost_cents: Option<i64>,
    school_type: Option<String>,
    category: Option<String>,
    previous_decision: String,
    question: String,
    opp_text: String,
    opp_ref: String,
    guardian_view: String,
    pupil_voice: String,
    voice_reason: String,
    consent_record: String,
    applied_on: String,
    state: String,
    version: i64,
    created_by: String,
    submitted_on: String,
    trajectory_guide: String,
    trajectory_guide_name: String,
    completeness_question: String,
    completeness_answer: String,
    exit_report: String,
    aftercare: String,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    source: String,
    line: String,
    source_ref: String,
    snapshot: String,
    added_by: String,
}

#[derive(sqlx::FromRow)]
struct AdviceRow {
    advisor_name: String,
    advisor_registration: String,
    qualification: String,
    employer_party: String,
    employer_name: String,
    document_ref: String,
    signatories: i64,
    by_committee: bool,
    support_plan_test: String,
    why_not_regular: String,
    written_on: String,
}

#[derive(sqlx::FromRow)]
struct MdoRow {
    planned_on: String,
    held_on: String,
    outcome: String,
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    role: String,
    name: String,
    party: String,
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: String,
    outcome: String,
    reasons: String,
    starts_on: String,
    ends_on: String,
    school_type: Option<String>,
    category: Option<String>,
    guardians_agree: bool,
    hearing: String,
    decided_on: String,
    decided_by: String,
}

#[derive(sqlx::FromRow)]
struct ObjectionRow {
    lodged_on: String,
    grounds: String,
    defence_sent_on: String,
    committee_advice: String,
    committee_advised_on: String,
    outcome: Option<String>,
    reasons: String,
    decided_on: String,
}

const SELECT_REQUEST: &str = "SELECT id, school, swv, child_ref, child_name, child_birth_date, kind, level, \
     support_asked, cost_cents, school_type, category, previous_decision, question, opp_text, opp_ref, \
     guardian_view, pupil_voice, voice_reason, consent_record, applied_on, state, version, created_by, \
     submitted_on, trajectory_guide, trajectory_guide_name, completeness_question, completeness_answer, exit_report, \
     aftercare FROM support_request WHERE id = $1";

/// The whole request, read without an audit entry (the callers audit).
pub async fn load(store: &Store, id: &str) -> Result<Request> {
    if !is_id(id) {
        return Err(Error::invalid("id", "a support request's id"));
    }
    let (row, history, advices, mdo, participants, decision, objection) = with_db!(&store.db, pool => {
        let row: Option<RequestRow> = sqlx::query_as(SELECT_REQUEST).bind(id).fetch_optional(pool).await?;
        let history: Vec<HistoryRow> = sqlx::query_as(
            "SELECT source, line, source_ref, snapshot, added_by FROM support_history WHERE request_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let advices: Vec<AdviceRow> = sqlx::query_as(
            "SELECT advisor_name, advisor_registration, qualification, employer_party, employer_name, document_ref, \
             signatories, by_committee, support_plan_test, why_not_regular, written_on \
             FROM support_advice WHERE request_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let mdo: Option<MdoRow> = sqlx::query_as(
            "SELECT planned_on, held_on, outcome FROM support_mdo WHERE request_id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let participants: Vec<ParticipantRow> = sqlx::query_as(
            "SELECT role, name, party FROM support_mdo_participant WHERE request_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let decision: Option<DecisionRow> = sqlx::query_as(
            "SELECT id, outcome, reasons, starts_on, ends_on, school_type, category, guardians_agree, hearing, \
             decided_on, decided_by FROM support_decision WHERE request_id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        let objection: Option<ObjectionRow> = sqlx::query_as(
            "SELECT lodged_on, grounds, defence_sent_on, committee_advice, committee_advised_on, outcome, reasons, \
             decided_on FROM support_objection WHERE request_id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?;
        (row, history, advices, mdo, participants, decision, objection)
    });
    let row = row.ok_or_else(|| Error::NotFound(format!("support request {id}")))?;
    let corrupt = |what: &str| Error::Corrupt(format!("support request {id}: {what}"));
    let opt = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(Request {
        kind: Kind::parse("support_request.kind", &row.kind)?,
        detail: Detail {
            level: opt(row.level)
                .map(|v| ArrangementLevel::parse("support_request.level", &v))
                .transpose()?,
            support_asked: row.support_asked,
            cost_cents: row.cost_cents,
            school_type: opt(row.school_type)
                .map(|v| SchoolType::parse("support_request.school_type", &v))
                .transpose()?,
            category: opt(row.category)
                .map(|v| Category::parse("support_request.category", &v))
                .transpose()?,
            previous_decision: row.previous_decision,
        },
        state: State::parse("support_request.state", &row.state)?,
        version: u64::try_from(row.version).map_err(|_| corrupt("version"))?,
        id: row.id,
        school: row.school,
        swv: row.swv,
        child_ref: row.child_ref,
        child_name: row.child_name,
        child_birth_date: row.child_birth_date,
        question: row.question,
        opp_text: row.opp_text,
        opp_ref: row.opp_ref,
        guardian_view: row.guardian_view,
        pupil_voice: row.pupil_voice,
        voice_reason: row.voice_reason,
        consent_record: row.consent_record,
        applied_on: row.applied_on,
        created_by: row.created_by,
        submitted_on: row.submitted_on,
        trajectory_guide: row.trajectory_guide,
        trajectory_guide_name: row.trajectory_guide_name,
        completeness_question: row.completeness_question,
        completeness_answer: row.completeness_answer,
        exit_report: row.exit_report,
        aftercare: row.aftercare,
        history: history
            .into_iter()
            .map(|h| {
                Ok(HistoryItem {
                    source: HistorySource::parse("support_history.source", &h.source)?,
                    line: Line::parse("support_history.line", &h.line)?,
                    source_ref: h.source_ref,
                    snapshot: h.snapshot,
                    added_by: h.added_by,
                })
            })
            .collect::<Result<_>>()?,
        advices: advices
            .into_iter()
            .map(|a| {
                Ok(Advice {
                    qualification: Qualification::parse(
                        "support_advice.qualification",
                        &a.qualification,
                    )?,
                    signatories: u32::try_from(a.signatories)
                        .map_err(|_| corrupt("signatories"))?,
                    advisor_name: a.advisor_name,
                    advisor_registration: a.advisor_registration,
                    employer_party: a.employer_party,
                    employer_name: a.employer_name,
                    document_ref: a.document_ref,
                    by_committee: a.by_committee,
                    support_plan_test: a.support_plan_test,
                    why_not_regular: a.why_not_regular,
                    written_on: a.written_on,
                })
            })
            .collect::<Result<_>>()?,
        mdo: match mdo {
            Some(m) => Some(Mdo {
                planned_on: m.planned_on,
                held_on: m.held_on,
                outcome: m.outcome,
                participants: participants
                    .into_iter()
                    .map(|p| {
                        Ok(Participant {
                            role: ParticipantRole::parse("support_mdo_participant.role", &p.role)?,
                            name: p.name,
                            party: p.party,
                        })
                    })
                    .collect::<Result<_>>()?,
            }),
            None => None,
        },
        decision: match decision {
            Some(d) => Some(StoredDecision {
                id: d.id,
                decision: check::Decision {
                    outcome: Outcome::parse("support_decision.outcome", &d.outcome)?,
                    reasons: d.reasons,
                    starts_on: d.starts_on,
                    ends_on: d.ends_on,
                    school_type: opt(d.school_type)
                        .map(|v| SchoolType::parse("support_decision.school_type", &v))
                        .transpose()?,
                    category: opt(d.category)
                        .map(|v| Category::parse("support_decision.category", &v))
                        .transpose()?,
                    guardians_agree: d.guardians_agree,
                    hearing: d.hearing,
                },
                decided_on: d.decided_on,
                decided_by: d.decided_by,
            }),
            None => None,
        },
        objection: match objection {
            Some(o) => Some(Objection {
                outcome: opt(o.outcome)
                    .map(|v| ObjectionOutcome::parse("support_objection.outcome", &v))
                    .transpose()?,
                lodged_on: o.lodged_on,
                grounds: o.grounds,
                defence_sent_on: o.defence_sent_on,
                committee_advice: o.committee_advice,
                committee_advised_on: o.committee_advised_on,
                reasons: o.reasons,
                decided_on: o.decided_on,
            }),
            None => None,
        },
    })
}

/// Which rule lets `actor` read request `r` here: the school's staff read
/// their own school's requests, the SWV's staff the ones it received.
async fn may_read(store: &Store, actor: &Actor, r: &Request) -> Result<()> {
    let rule = if r.school == store.party.as_str() {
        &roles::SCHOOL
    } else {
        &roles::SWV_READ
    };
    carenet_fabric::actor::require(store, actor, rule, &r.id).await
}

/// One request with everything recorded on it; the reading is audited.
pub async fn show(store: &Store, actor: &Actor, id: &str) -> Result<Request> {
    let r = load(store, id).await?;
    may_read(store, actor, &r).await?;
    carenet_fabric::audit::append(&store.db, &[entry(actor, "support_viewed", id)]).await?;
    Ok(r)
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: String,
    school: String,
    swv: String,
    child_ref: String,
    child_name: String,
    kind: String,
    state: String,
    version: i64,
    trajectory_guide: String,
    trajectory_guide_name: String,
    submitted_on: String,
    updated_at_ms: i64,
}

/// The requests, newest change first: at a school its own (for the IB and
/// the zorgcoördinator), at an SWV the ones it received (for its staff).
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Listed>> {
    let at_school = own_kind(store)? != PartyKind::Swv;
    let rule = if at_school {
        &roles::SCHOOL
    } else {
        &roles::SWV_READ
    };
    carenet_fabric::actor::require(store, actor, rule, "support").await?;
    let rows: Vec<ListRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, school, swv, child_ref, child_name, kind, state, version, trajectory_guide, trajectory_guide_name, \
             submitted_on, updated_at_ms FROM support_request WHERE (school = $1) = $2 ORDER BY updated_at_ms DESC, id",
        )
        .bind(store.party.as_str())
        .bind(at_school)
        .fetch_all(pool)
        .await?
    });
    carenet_fabric::audit::append(&store.db, &[entry(actor, "support_listed", "support")]).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Listed {
                kind: Kind::parse("support_request.kind", &r.kind)?,
                state: State::parse("support_request.state", &r.state)?,
                version: u64::try_from(r.version)
                    .map_err(|_| Error::Corrupt("support_request.version".into()))?,
                id: r.id,
                school: r.school,
                swv: r.swv,
                child_ref: r.child_ref,
                child_name: r.child_name,
                trajectory_guide: r.trajectory_guide,
                trajectory_guide_name: r.trajectory_guide_name,
                submitted_on: r.submitted_on,
                updated_at_ms: r.updated_at_ms,
            })
        })
        .collect()
}
