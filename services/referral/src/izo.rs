//! The school's internal care team (IZO): a mentor (or team lead, or a
//! coordinator) registers a pupil with the handbook's registration form
//! (appendix 20); the care coordinator triages it (H:3520-3535) with four
//! checks and one of four decisions: accept, return it with a question, ask
//! for more data, or suggest a bilateral talk instead. A returned
//! registration (or one missing data) is answered and triaged again.
//!
//! | from | step | to |
//! |---|---|---|
//! | (none) | [`register`] | registered |
//! | registered | [`triage`]: accept / return / request data / bilateral | accepted / returned / data_requested / bilateral |
//! | returned, data_requested | [`answer`] | registered |
//!
//! Every step is audited with purpose `discuss_in_izo`; readings too.

use carenet_consent::Purpose;
use carenet_consent::record::{format_date, parse_date};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::{now_ms, today};
use carenet_fabric::form_id;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited, with_db};
use carenet_proto::v1::{self, IzoSupportKind, IzoTriageDecision};
use prost::Message;

use crate::{Result, roles};

/// Where a registration stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Registered,
    Accepted,
    Returned,
    DataRequested,
    Bilateral,
}

const STATES: &[(State, &str)] = &[
    (State::Registered, "registered"),
    (State::Accepted, "accepted"),
    (State::Returned, "returned"),
    (State::DataRequested, "data_requested"),
    (State::Bilateral, "bilateral"),
];

impl State {
    /// Every state, in order (what the table's CHECK must accept).
    pub fn all() -> impl Iterator<Item = State> {
        STATES.iter().map(|(s, _)| *s)
    }

    pub fn as_str(self) -> &'static str {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("unknown", |(_, n)| n)
    }

    /// Reads a stored state; anything else is corrupt data.
    pub fn stored(id: &str, value: &str) -> Result<State> {
        STATES
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(s, _)| *s)
            .ok_or_else(|| Error::Corrupt(format!("izo {id}: state")))
    }
}

/// A registration with its state and latest triage.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub state: State,
    pub registration: v1::IzoRegistration,
    pub triage: Option<v1::IzoTriage>,
    /// The IZO meetings' minutes and the conversations with the pupil and
    /// guardians (filled by [`show`]).
    pub minutes: Vec<v1::IzoMinutes>,
    pub conversations: Vec<v1::IzoConversation>,
}

/// One registration in a list: no content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub child_ref: String,
    pub state: State,
    pub registered_by: String,
    pub updated_at_ms: i64,
}

fn required(field: &str, value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, what).coded(carenet_fabric::Reason::Required));
    }
    Ok(())
}

/// The form's rules: who, the guardians informed (or why not), the
/// problem, the questions and the support asked for.
fn validate(r: &v1::IzoRegistration) -> Result<()> {
    if r.child_ref.trim().is_empty() || r.child_ref.len() > 128 {
        return Err(
            Error::invalid("child_ref", "1-128 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    parse_date("child_birth_date", &r.child_birth_date).map_err(carenet_fabric::Error::from)?;
    required("mentor", &r.mentor, "name the pupil's mentor (staff id)")?;
    if !r.guardians_informed {
        required(
            "not_informed_reason",
            &r.not_informed_reason,
            "say why the guardians are not informed",
        )?;
    }
    required("problem", &r.problem, "describe the problem")?;
    if r.pupil_question.trim().is_empty() && r.guardians_question.trim().is_empty() {
        return Err(Error::invalid(
            "pupil_question",
            "give the pupil's or the guardians' question (hulpvraag)",
        ));
    }
    required(
        "support_question",
        &r.support_question,
        "give the school's question (begeleidingsvraag)",
    )?;
    if r.support_requested.is_empty() {
        return Err(Error::invalid(
            "support_requested",
            "choose the support asked for",
        ));
    }
    for (i, k) in r.support_requested.iter().enumerate() {
        match IzoSupportKind::try_from(*k) {
            Ok(IzoSupportKind::Unspecified) | Err(_) => {
                return Err(Error::invalid(
                    format!("support_requested[{i}]"),
                    "unknown kind of support",
                ));
            }
            Ok(IzoSupportKind::Other) => required(
                "support_other",
                &r.support_other,
                "say what other support is asked for",
            )?,
            Ok(_) => {}
        }
    }
    Ok(())
}

pub(crate) fn entry(actor: &Actor, action: &str, id: &str) -> Entry {
    Entry {
        purpose: Purpose::DiscussInIzo.as_str().into(),
        ..actor.entry(action, id)
    }
}

/// Registers a pupil for the IZO; returns the registration's id. The one
/// who registers and the date are set here, not taken from the form.
pub async fn register(
    store: &Store,
    actor: &Actor,
    mut registration: v1::IzoRegistration,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::REGISTER, "izo:new").await?;
    validate(&registration)?;
    // A form names its registration: written once (see `form_id`).
    let named = form_id::named_or_new("id", &registration.id)?;
    registration.registered_by = actor.staff.clone();
    registration.registered_on = format_date(today());
    let under = |id: String| v1::IzoRegistration {
        id,
        ..registration.clone()
    };
    form_id::write_once(
        named,
        |id| insert(store, actor, under(id)),
        |id| async move { Ok(load(store, &id).await?.registration == under(id)) },
    )
    .await
}

/// Writes a registration unless its id is taken; whether it wrote it.
async fn insert(store: &Store, actor: &Actor, registration: v1::IzoRegistration) -> Result<bool> {
    let id = &registration.id;
    let audit = entry(actor, "izo_registered", id);
    let now = now_ms();
    Ok(audited!(&store.db, tx => {
        let inserted = sqlx::query(
            "INSERT INTO izo_case (id, child_ref, state, registration, registered_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, 'registered', $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&registration.child_ref)
        .bind(registration.encode_to_vec())
        .bind(&actor.staff)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        (inserted, if inserted { vec![audit] } else { Vec::new() })
    }))
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    state: String,
    registration: Vec<u8>,
    triage: Option<Vec<u8>>,
}

pub(crate) async fn load(store: &Store, id: &str) -> Result<Case> {
    let row: Option<CaseRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT state, registration, triage FROM izo_case WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let row = row.ok_or_else(|| Error::NotFound(format!("izo {id}")))?;
    let corrupt = |_| Error::Corrupt(format!("izo {id}"));
    Ok(Case {
        state: State::stored(id, &row.state)?,
        registration: v1::IzoRegistration::decode(row.registration.as_slice()).map_err(corrupt)?,
        triage: row
            .triage
            .map(|t| v1::IzoTriage::decode(t.as_slice()).map_err(corrupt))
            .transpose()?,
        minutes: Vec::new(),
        conversations: Vec::new(),
    })
}

/// Writes `case` if its state is still `from` (else someone changed it
/// meanwhile: `Aborted`), with `audit` in the same transaction.
async fn save(store: &Store, case: &Case, from: State, audit: Entry) -> Result<()> {
    let id = case.registration.id.clone();
    audited!(&store.db, tx => {
        let done = sqlx::query(
            "UPDATE izo_case SET state = $1, registration = $2, triage = $3, updated_at_ms = $4 WHERE id = $5 AND state = $6",
        )
        .bind(case.state.as_str())
        .bind(case.registration.encode_to_vec())
        .bind(case.triage.as_ref().map(Message::encode_to_vec))
        .bind(now_ms())
        .bind(&id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Aborted(format!("izo {id}")));
        }
        ((), vec![audit])
    });
    Ok(())
}

fn state_error(id: &str, step: &str, state: State) -> Error {
    Error::precondition(format!(
        "izo {id}: cannot {step} while it is {}",
        state.as_str()
    ))
    .coded(carenet_fabric::Reason::CaseState)
}

/// The care coordinator's triage of a registered pupil. Accepting needs
/// all four checks; every other decision needs its note (the question, the
/// data asked for, why a bilateral talk). Returns the new state.
pub async fn triage(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut decision: v1::IzoTriage,
) -> Result<State> {
    carenet_fabric::actor::require(store, actor, &roles::TRIAGE, id).await?;
    let mut case = load(store, id).await?;
    if case.state != State::Registered {
        return Err(state_error(id, "triage", case.state));
    }
    let to = match IzoTriageDecision::try_from(decision.decision) {
        Ok(IzoTriageDecision::Accept) => {
            for (field, checked) in [
                ("belongs_in_tier2", decision.belongs_in_tier2),
                ("questions_clear", decision.questions_clear),
                ("tier1_exhausted", decision.tier1_exhausted),
                (
                    "guardians_and_pupil_informed",
                    decision.guardians_and_pupil_informed,
                ),
            ] {
                if !checked {
                    return Err(Error::invalid(
                        field,
                        "must hold to accept the registration",
                    ));
                }
            }
            State::Accepted
        }
        Ok(IzoTriageDecision::Return) => State::Returned,
        Ok(IzoTriageDecision::RequestData) => State::DataRequested,
        Ok(IzoTriageDecision::Bilateral) => State::Bilateral,
        Ok(IzoTriageDecision::Unspecified) | Err(_) => {
            return Err(Error::invalid(
                "decision",
                "accept, return, request_data or bilateral",
            ));
        }
    };
    if to != State::Accepted {
        required("note", &decision.note, "say what is asked, or why")?;
    }
    decision.decided_by = actor.staff.clone();
    decision.decided_on = format_date(today());
    case.state = to;
    case.triage = Some(decision);
    save(
        store,
        &case,
        State::Registered,
        entry(actor, "izo_triaged", id),
    )
    .await?;
    Ok(to)
}

/// The answer to a returned registration or one missing data: the form
/// again (the pupil stays the same), by the one who registered it or a
/// coordinator; it is then triaged again.
pub async fn answer(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut registration: v1::IzoRegistration,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::REGISTER, id).await?;
    let mut case = load(store, id).await?;
    own_or_coordinator(store, actor, &case, id).await?;
    let from = case.state;
    if !matches!(from, State::Returned | State::DataRequested) {
        return Err(state_error(id, "answer", from));
    }
    if registration.child_ref != case.registration.child_ref {
        return Err(Error::invalid(
            "child_ref",
            "an answer is about the same pupil",
        ));
    }
    validate(&registration)?;
    registration.id = case.registration.id.clone();
    registration.registered_by = case.registration.registered_by.clone();
    registration.registered_on = case.registration.registered_on.clone();
    case.registration = registration;
    case.state = State::Registered;
    save(store, &case, from, entry(actor, "izo_answered", id)).await
}

/// The registrant reads their own; a coordinator every one; anyone else is
/// refused (audited).
pub(crate) async fn own_or_coordinator(
    store: &Store,
    actor: &Actor,
    case: &Case,
    id: &str,
) -> Result<()> {
    if case.registration.registered_by == actor.staff && actor.party == store.party {
        return Ok(());
    }
    carenet_fabric::actor::require(store, actor, &roles::READ, id).await
}

/// One registration with its triage; the reading is audited.
pub async fn show(store: &Store, actor: &Actor, id: &str) -> Result<Case> {
    let mut case = load(store, id).await?;
    case.minutes = crate::izo_meeting::minutes_of(store, id).await?;
    case.conversations = crate::izo_meeting::conversations_of(store, id).await?;
    own_or_coordinator(store, actor, &case, id).await?;
    carenet_fabric::audit::append(&store.db, &[entry(actor, "izo_viewed", id)]).await?;
    Ok(case)
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: String,
    child_ref: String,
    state: String,
    registered_by: String,
    updated_at_ms: i64,
}

/// The registrations, newest change first: a coordinator's are all of the
/// school's, anyone else who may register sees their own.
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Listed>> {
    carenet_fabric::actor::require(store, actor, &roles::REGISTER, "izo").await?;
    let all = actor.may(&store.party, &roles::READ).is_ok();
    let rows: Vec<ListRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, child_ref, state, registered_by, updated_at_ms FROM izo_case \
             WHERE $1 OR registered_by = $2 ORDER BY updated_at_ms DESC, id",
        )
        .bind(all)
        .bind(&actor.staff)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            Ok(Listed {
                state: State::stored(&r.id, &r.state)?,
                id: r.id,
                child_ref: r.child_ref,
                registered_by: r.registered_by,
                updated_at_ms: r.updated_at_ms,
            })
        })
        .collect()
}
