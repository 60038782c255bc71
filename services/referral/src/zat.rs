//! The ZAT the school hosts (H:3812-3947): a referral from the IZO (or,
//! where the school's setting allows it, straight from the mentor's group
//! review), blocked until the guardians' consent for `refer_to_zat` is
//! recorded; the chair distributes the case file to the members that
//! consent covers; the meeting records analysis, needs, solution directions
//! and decisions, and its plan of action opens the child's case plan at this
//! school (the case coordinator's party) with an action per partner; a
//! follow-up meeting reviews progress, adds to the plan, or closes the case.
//!
//! | from | step | to |
//! |---|---|---|
//! | (none) | [`refer`] | referred |
//! | referred, distributed | [`distribute`] | distributed |
//! | distributed | [`meet`] (first: the plan of action) | planned |
//! | planned | [`meet`] (follow-up) | planned, or closed when it closes the case |

use carenet_consent::Purpose;
use carenet_consent::policy::{Coverage, coverage};
use carenet_consent::record::{ConsentStore, format_date, parse_date};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::{now_ms, today};
use carenet_fabric::form_id;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, Error, PartyId, audited, outbox_enqueue, with_db};
use carenet_proto::v1::{self, ConsentStatus, IzoOutcome, LegalBasisKind};
use prost::Message;

use crate::slice::ReferralConfig;
use crate::{Result, izo, roles};

/// The case file a member receives.
pub const ZAT_CASE_TYPE: &str = "carenet.zat_case";

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Referred,
    Distributed,
    Planned,
    Closed,
}

const STATES: &[(State, &str)] = &[
    (State::Referred, "referred"),
    (State::Distributed, "distributed"),
    (State::Planned, "planned"),
    (State::Closed, "closed"),
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
            .ok_or_else(|| Error::Corrupt(format!("zat {id}: state")))
    }
}

/// A case with what happened to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    pub state: State,
    pub referral: v1::ZatReferral,
    /// (member party, message id of its case file, sent at).
    pub members: Vec<(String, String, i64)>,
    pub meetings: Vec<v1::ZatMeeting>,
    pub plan_id: Option<String>,
}

/// One case in a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub child_ref: String,
    pub child_name: String,
    pub state: State,
    pub meeting_on: String,
    pub plan_id: Option<String>,
    pub updated_at_ms: i64,
}

fn entry(actor: &Actor, action: &str, id: &str) -> Entry {
    Entry {
        purpose: Purpose::ReferToZat.as_str().into(),
        ..actor.entry(action, id)
    }
}

fn required(field: &str, value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, what).coded(carenet_fabric::Reason::Required));
    }
    Ok(())
}

fn date(field: &str, value: &str) -> Result<()> {
    parse_date(field, value).map_err(Error::from)?;
    Ok(())
}

/// Checks that `record` is the guardians' granted, valid consent for
/// `refer_to_zat` about `child_ref` (whom it names is checked per member).
async fn check_consent(store: &Store, child_ref: &str, record: &str) -> Result<()> {
    const FIELD: &str = "consent_record";
    if record.trim().is_empty() {
        return Err(Error::invalid(
            FIELD,
            "a ZAT referral needs the guardians' consent for refer_to_zat: record it first",
        )
        .coded(carenet_fabric::Reason::ConsentMissing));
    }
    let Some(current) = ConsentStore::new(store.clone()).latest(record).await? else {
        return Err(Error::invalid(FIELD, "no such consent record")
            .coded(carenet_fabric::Reason::ConsentMissing));
    };
    let v = &current.version;
    if v.purpose != Purpose::ReferToZat.as_str() {
        return Err(Error::invalid(FIELD, "is not a consent for refer_to_zat")
            .coded(carenet_fabric::Reason::ConsentNotCovering));
    }
    if v.child_ref != child_ref {
        return Err(Error::invalid(FIELD, "is about another pupil")
            .coded(carenet_fabric::Reason::OtherPupil));
    }
    match current.status() {
        ConsentStatus::Granted => {}
        ConsentStatus::Requested => {
            return Err(Error::invalid(FIELD, "asked, but not granted yet")
                .coded(carenet_fabric::Reason::ConsentNotGranted));
        }
        _ => {
            return Err(
                Error::invalid(FIELD, "is not granted (refused, withdrawn or expired)")
                    .coded(carenet_fabric::Reason::ConsentNotCovering),
            );
        }
    }
    let day = format_date(today());
    if v.valid_from > day || (!v.valid_until.is_empty() && v.valid_until < day) {
        return Err(Error::invalid(FIELD, "is not valid today")
            .coded(carenet_fabric::Reason::ConsentExpired));
    }
    Ok(())
}

/// Refers a pupil to the ZAT; returns the case's id. From the IZO
/// (`origin` "izo", by a coordinator, for an accepted registration whose
/// meeting chose the ZAT), or from the group review (`origin`
/// "group_review", by the mentor, team lead or a coordinator) when
/// `[referral] zat_from_group_review` allows it.
pub async fn refer(
    store: &Store,
    actor: &Actor,
    config: &ReferralConfig,
    mut r: v1::ZatReferral,
) -> Result<String> {
    match r.origin.as_str() {
        "izo" => carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, "zat:new").await?,
        "group_review" => {
            if !config.zat_from_group_review {
                return Err(Error::invalid(
                    "origin",
                    "this school refers to the ZAT from the IZO only ([referral] zat_from_group_review = false)",
                ));
            }
            carenet_fabric::actor::require(store, actor, &roles::REGISTER, "zat:new").await?;
        }
        _ => return Err(Error::invalid("origin", "izo or group_review")),
    }
    if r.child_ref.trim().is_empty() || r.child_ref.len() > 128 {
        return Err(
            Error::invalid("child_ref", "1-128 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    required("child_name", &r.child_name, "name the pupil")?;
    date("child_birth_date", &r.child_birth_date)?;
    date("meeting_on", &r.meeting_on)?;
    if r.origin == "izo" {
        let case = izo::load(store, &r.izo_id).await.map_err(|e| match e {
            Error::NotFound(_) => Error::invalid("izo_id", "no such IZO registration"),
            e => e,
        })?;
        if case.registration.child_ref != r.child_ref {
            return Err(Error::invalid("izo_id", "is about another pupil")
                .coded(carenet_fabric::Reason::OtherPupil));
        }
        let minutes = crate::izo_meeting::minutes_of(store, &r.izo_id).await?;
        let Some(last) = minutes.last() else {
            return Err(Error::invalid(
                "izo_id",
                "the IZO has not met about this pupil yet",
            ));
        };
        if !last.outcomes.contains(&(IzoOutcome::Zat as i32)) {
            return Err(Error::invalid(
                "izo_id",
                "the IZO's latest meeting did not choose the ZAT",
            ));
        }
        if r.question.trim().is_empty() {
            r.question = last.zat_question.clone();
        }
    } else {
        r.izo_id.clear();
    }
    required("question", &r.question, "give the question for the ZAT")?;
    check_consent(store, &r.child_ref, &r.consent_record).await?;
    // The form names its referral: written once (see `form_id`).
    let named = form_id::named_or_new("id", &r.id)?;
    r.referred_by = actor.staff.clone();
    r.referred_on = format_date(today());
    let under = |id: String| v1::ZatReferral { id, ..r.clone() };
    form_id::write_once(
        named,
        |id| insert_referral(store, actor, under(id)),
        |id| async move { Ok(load(store, &id).await?.referral == under(id)) },
    )
    .await
}

/// Writes a referral unless its id is taken; whether it wrote it.
async fn insert_referral(store: &Store, actor: &Actor, r: v1::ZatReferral) -> Result<bool> {
    let audit = entry(actor, "zat_referred", &r.id);
    let now = now_ms();
    Ok(audited!(&store.db, tx => {
        let inserted = sqlx::query(
            "INSERT INTO zat_case (id, child_ref, state, referral, created_at_ms, updated_at_ms) VALUES ($1, $2, 'referred', $3, $4, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.child_ref)
        .bind(r.encode_to_vec())
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
    referral: Vec<u8>,
    plan_id: Option<String>,
}

async fn load(store: &Store, id: &str) -> Result<Case> {
    let (row, members, meetings) = with_db!(&store.db, pool => {
        let row: Option<CaseRow> = sqlx::query_as("SELECT state, referral, plan_id FROM zat_case WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        let members: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT party, message_id, sent_at_ms FROM zat_member WHERE case_id = $1 ORDER BY party",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        let meetings: Vec<(Vec<u8>,)> = sqlx::query_as(
            "SELECT meeting FROM zat_meeting WHERE case_id = $1 ORDER BY held_on, created_at_ms",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        (row, members, meetings)
    });
    let row = row.ok_or_else(|| Error::NotFound(format!("zat {id}")))?;
    let corrupt = |_| Error::Corrupt(format!("zat {id}"));
    Ok(Case {
        state: State::stored(id, &row.state)?,
        referral: v1::ZatReferral::decode(row.referral.as_slice()).map_err(corrupt)?,
        members,
        meetings: meetings
            .into_iter()
            .map(|(b,)| v1::ZatMeeting::decode(b.as_slice()).map_err(corrupt))
            .collect::<Result<_>>()?,
        plan_id: row.plan_id,
    })
}

fn state_error(id: &str, step: &str, state: State) -> Error {
    Error::precondition(format!(
        "zat {id}: cannot {step} while it is {}",
        state.as_str()
    ))
    .coded(carenet_fabric::Reason::CaseState)
}

/// The case file in sections by category: who (pupil), the question and
/// the meeting date (educational_support), what was done (care_history).
fn case_file(r: &v1::ZatReferral) -> Vec<u8> {
    let part = |category: &str, file: v1::ZatCaseFile| v1::Section {
        category: category.into(),
        name: "zat_case".into(),
        content: file.encode_to_vec(),
    };
    let base = v1::ZatCaseFile {
        case_id: r.id.clone(),
        ..Default::default()
    };
    let mut sections = vec![
        part(
            "pupil",
            v1::ZatCaseFile {
                child_name: r.child_name.clone(),
                child_birth_date: r.child_birth_date.clone(),
                ..base.clone()
            },
        ),
        part(
            "educational_support",
            v1::ZatCaseFile {
                question: r.question.clone(),
                meeting_on: r.meeting_on.clone(),
                ..base.clone()
            },
        ),
    ];
    if !r.background.trim().is_empty() {
        sections.push(part(
            "care_history",
            v1::ZatCaseFile {
                background: r.background.clone(),
                ..base
            },
        ));
    }
    v1::CategorizedDocument { sections }.encode_to_vec()
}

/// The chair sends the case file to each of `members` (parties of the
/// region that the referral's consent names), in time for them to prepare;
/// a member that has it already is skipped. Returns (party, message id).
pub async fn distribute(
    store: &Store,
    actor: &Actor,
    id: &str,
    members: &[String],
) -> Result<Vec<(String, String)>> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, id).await?;
    let case = load(store, id).await?;
    if !matches!(case.state, State::Referred | State::Distributed) {
        return Err(state_error(id, "distribute", case.state));
    }
    if members.is_empty() {
        return Err(Error::invalid(
            "members",
            "choose the ZAT members to send the case to",
        ));
    }
    let Some(directory) = store.directory() else {
        return Err(Error::precondition(
            "this needs the region directory: start the node once",
        ));
    };
    let Some(record) = ConsentStore::new(store.clone())
        .latest(&case.referral.consent_record)
        .await?
    else {
        return Err(Error::invalid("consent_record", "no such consent record"));
    };
    let mut messages = Vec::new();
    for (i, party) in members.iter().enumerate() {
        let field = format!("members[{i}]");
        if party == store.party.as_str() || members[..i].contains(party) {
            return Err(Error::invalid(field, "another party, once"));
        }
        let Some(entry) = directory.get(party) else {
            return Err(Error::invalid(field, "not a party in the region directory")
                .coded(carenet_fabric::Reason::UnknownParty));
        };
        match coverage(
            &record,
            Purpose::ReferToZat.as_str(),
            Some(&case.referral.child_ref),
            &entry,
            today(),
        )? {
            Coverage::Covers => {}
            Coverage::NotYet(why) => {
                return Err(
                    Error::invalid(field, why).coded(carenet_fabric::Reason::ConsentNotGranted)
                );
            }
            Coverage::Refuse(why) => {
                return Err(
                    Error::invalid(field, why).coded(carenet_fabric::Reason::ConsentNotCovering)
                );
            }
        }
        if case.members.iter().any(|(p, _, _)| p == party) {
            continue;
        }
        messages.push(NewMessage {
            recipient: PartyId::parse(&field, party)?,
            document_type: ZAT_CASE_TYPE.into(),
            document_id: format!("zat-{id}"),
            version: 1,
            purpose: Purpose::ReferToZat.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: LegalBasisKind::Consent as i32,
                reference: case.referral.consent_record.clone(),
                consent_receipt: Vec::new(),
            },
            payload: case_file(&case.referral),
            actor: actor.audit_name(),
            child_ref: Some(case.referral.child_ref.clone()),
        });
    }
    let mut out: Vec<(String, String)> = Vec::new();
    if !messages.is_empty() {
        let ids = store.prepare(&messages).await?;
        let now = now_ms();
        audited!(&store.db, tx => {
            let mut entries = vec![entry(actor, "zat_distributed", id)];
            outbox_enqueue!(tx, &messages, &ids, &mut entries);
            for (m, message_id) in messages.iter().zip(&ids) {
                sqlx::query("INSERT INTO zat_member (case_id, party, message_id, sent_at_ms) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(m.recipient.as_str())
                    .bind(message_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let done = sqlx::query(
                "UPDATE zat_case SET state = 'distributed', updated_at_ms = $1 WHERE id = $2 AND state IN ('referred', 'distributed')",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Aborted(format!("zat {id}")));
            }
            ((), entries)
        });
        store.wake_outbox();
        out.extend(messages.iter().map(|m| m.recipient.to_string()).zip(ids));
    }
    Ok(out)
}

/// Records a ZAT meeting. The first (the case distributed) must set the
/// plan of action, which opens the child's case plan at this school; a
/// follow-up reviews progress, may add to the plan, and may close the case
/// and its plan. Returns the meeting's id and the plan's.
pub async fn meet(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut m: v1::ZatMeeting,
) -> Result<(String, Option<String>)> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, id).await?;
    let case = load(store, id).await?;
    // A meeting the client named (the form's own id, made when the form
    // was shown) is recorded once: the same meeting sent again, after a
    // double click or a retry, finishes what the first submit began (its
    // plan, its closing) and answers the same. Sent with other content (a
    // form kept open, edited and sent again) it is a meeting of its own.
    m.id = form_id::named_or_new("id", &m.id)?;
    let replay = match case.meetings.iter().find(|k| k.id == m.id) {
        Some(k) if same_meeting(k, &m) => true,
        Some(_) => {
            m.id = form_id::fresh();
            false
        }
        None => {
            if meeting_of_another_case(store, id, &m.id).await? {
                m.id = form_id::fresh();
            }
            false
        }
    };
    if replay && !plan_missing(&case) {
        close_plan_with_case(store, actor, &m, case.plan_id.as_deref()).await?;
        return Ok((m.id, case.plan_id));
    }
    date("held_on", &m.held_on)?;
    let first = match case.state {
        State::Distributed => true,
        // A first meeting whose plan could not be written (the database
        // failed after the meeting was recorded) is recorded again, or
        // (sent again) finished.
        State::Planned => plan_missing(&case),
        s => return Err(state_error(id, "meet", s)),
    };
    if first {
        required("analysis", &m.analysis, "write the analysis")?;
        required("needs", &m.needs, "write what the pupil needs")?;
        required("directions", &m.directions, "write the solution directions")?;
        required("decisions", &m.decisions, "write the decisions")?;
        if m.plan.is_none() {
            return Err(Error::invalid(
                "plan",
                "the first meeting sets the plan of action",
            ));
        }
        if m.close_case {
            return Err(Error::invalid(
                "close_case",
                "a case closes at a follow-up meeting",
            ));
        }
    } else {
        required("review", &m.review, "write the review of the progress")?;
    }
    // The plan of action is checked whole before anything is written.
    let new_plan = match &m.plan {
        Some(plan) => {
            if plan.actions.is_empty() {
                return Err(Error::invalid("plan.actions", "name at least one action")
                    .coded(carenet_fabric::Reason::Required));
            }
            let note = |kind: &str, text: &str, category: &str| v1::CaseNote {
                kind: kind.into(),
                text: text.into(),
                category: category.into(),
            };
            let notes = [
                note("analysis", &m.analysis, "care_history"),
                note("needs", &m.needs, "educational_support"),
                note("directions", &m.directions, "action_plans"),
                note("decisions", &m.decisions, "action_plans"),
            ]
            .into_iter()
            .filter(|n| !n.text.trim().is_empty())
            .collect();
            let r = &case.referral;
            let new = carenet_caseplan::plan::NewPlan {
                child_ref: r.child_ref.clone(),
                child_name: r.child_name.clone(),
                child_birth_date: r.child_birth_date.clone(),
                origin: "zat".into(),
                origin_id: id.to_owned(),
                coordinator: plan.coordinator.clone(),
                reports_back: plan.reports_back.clone(),
                evaluation_on: plan.evaluation_on.clone(),
                goals: plan.goals.clone(),
                actions: plan.actions.clone(),
                members: plan.members.clone(),
                notes,
                // The plan of action adds once per meeting.
                source: format!("zat-meeting:{}", m.id),
            };
            Some(
                carenet_caseplan::plan::check(store, new)
                    .await
                    .map_err(|e| prefix("plan.", e))?,
            )
        }
        None => None,
    };
    m.recorded_by = actor.staff.clone();
    let meeting_id = m.id.clone();
    if !replay {
        match record_meeting(store, actor, id, &m, case.state).await {
            Ok(()) => {}
            // The same named meeting sent twice at once: the other one
            // recorded it; this one goes on to the plan, which it adds once.
            Err(Error::Database(sqlx::Error::Database(e))) if e.is_unique_violation() => {
                if !load(store, id)
                    .await?
                    .meetings
                    .iter()
                    .any(|k| k.id == meeting_id)
                {
                    return Err(Error::Database(sqlx::Error::Database(e)));
                }
            }
            Err(e) => return Err(e),
        }
    }
    let mut plan_id = case.plan_id.clone();
    if let Some(new) = new_plan {
        let opened = carenet_caseplan::plan::open(store, actor, new)
            .await
            .map_err(|e| prefix("plan.", e))?;
        with_db!(&store.db, pool => {
            sqlx::query("UPDATE zat_case SET plan_id = $1 WHERE id = $2")
                .bind(&opened)
                .bind(id)
                .execute(pool)
                .await?;
        });
        plan_id = Some(opened);
    }
    close_plan_with_case(store, actor, &m, plan_id.as_deref()).await?;
    Ok((meeting_id, plan_id))
}

/// Records meeting `m` of case `id` and the case's step, in one
/// transaction that claims the case's state (`from`): a second submit of
/// the same first meeting under another id stops here (`Aborted`), before
/// it could add to the plan twice.
async fn record_meeting(
    store: &Store,
    actor: &Actor,
    id: &str,
    m: &v1::ZatMeeting,
    from: State,
) -> Result<()> {
    let to = if m.close_case {
        State::Closed
    } else {
        State::Planned
    };
    let audit = entry(actor, "zat_meeting_recorded", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        sqlx::query("INSERT INTO zat_meeting (id, case_id, held_on, meeting, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&m.id)
            .bind(id)
            .bind(&m.held_on)
            .bind(m.encode_to_vec())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // A closing starts the case's retention clock (crate::retention).
        let done = sqlx::query(
            "UPDATE zat_case SET state = $1, updated_at_ms = $2, closed_at_ms = COALESCE($5, closed_at_ms) WHERE id = $3 AND state = $4",
        )
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .bind(from.as_str())
            .bind((to == State::Closed).then_some(now))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Aborted(format!("zat {id}")));
        }
        ((), vec![audit])
    });
    Ok(())
}

/// A meeting that closes the case closes its plan too.
async fn close_plan_with_case(
    store: &Store,
    actor: &Actor,
    m: &v1::ZatMeeting,
    plan_id: Option<&str>,
) -> Result<()> {
    if let (true, Some(plan_id)) = (m.close_case, plan_id) {
        match carenet_caseplan::plan::close(store, actor, plan_id, "ZAT: case closed").await {
            // Closed already (an evaluation closed it, or this meeting
            // sent before): the case closes too.
            Ok(()) | Err(Error::FailedPrecondition(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Whether `sent` is `recorded` sent again (all it says; the id and who
/// recorded it are set here).
fn same_meeting(recorded: &v1::ZatMeeting, sent: &v1::ZatMeeting) -> bool {
    let mut sent = sent.clone();
    sent.recorded_by = recorded.recorded_by.clone();
    *recorded == sent
}

/// A planned case whose first meeting's plan could not be written (the
/// database failed after the meeting was recorded).
fn plan_missing(case: &Case) -> bool {
    case.state == State::Planned && case.plan_id.is_none()
}

/// Whether meeting `meeting_id` was recorded for another case than `case_id`.
async fn meeting_of_another_case(store: &Store, case_id: &str, meeting_id: &str) -> Result<bool> {
    let other: Option<String> = with_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT case_id FROM zat_meeting WHERE id = $1")
            .bind(meeting_id)
            .fetch_optional(pool)
            .await?
    });
    Ok(other.is_some_and(|c| c != case_id))
}

/// An invalid-field error from the plan, named as the meeting's field.
fn prefix(p: &str, e: Error) -> Error {
    match e {
        Error::InvalidArgument {
            field,
            reason,
            code,
        } => Error::InvalidArgument {
            field: format!("{p}{field}"),
            reason,
            code,
        },
        e => e,
    }
}

/// One case with its members and meetings; the reading is audited.
pub async fn show(store: &Store, actor: &Actor, id: &str) -> Result<Case> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, id).await?;
    let case = load(store, id).await?;
    carenet_fabric::audit::append(&store.db, &[entry(actor, "zat_viewed", id)]).await?;
    Ok(case)
}

#[derive(sqlx::FromRow)]
struct ListRow {
    id: String,
    child_ref: String,
    state: String,
    referral: Vec<u8>,
    plan_id: Option<String>,
    updated_at_ms: i64,
}

/// The school's ZAT cases, most recently changed first (the chair's).
pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Listed>> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, "zat").await?;
    let rows: Vec<ListRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, child_ref, state, referral, plan_id, updated_at_ms FROM zat_case ORDER BY updated_at_ms DESC, id",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            let referral = v1::ZatReferral::decode(r.referral.as_slice())
                .map_err(|_| Error::Corrupt(format!("zat {}", r.id)))?;
            Ok(Listed {
                state: State::stored(&r.id, &r.state)?,
                id: r.id,
                child_ref: r.child_ref,
                child_name: referral.child_name,
                meeting_on: referral.meeting_on,
                plan_id: r.plan_id,
                updated_at_ms: r.updated_at_ms,
            })
        })
        .collect()
}

/// A case file this party received as a ZAT member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    /// The school that hosts the ZAT and sent it.
    pub school: String,
    /// The ZAT case at that school.
    pub case_id: String,
    /// The case file; `None` once the meeting's plan replaced it.
    pub file: Option<v1::ZatCaseFile>,
    /// The plan at `school` that the meeting opened and this party is a
    /// member of: it replaces the case file.
    pub plan_id: Option<String>,
    pub received_at_ms: i64,
}

/// Reads one received case file from the inbox, where its content stays
/// (a withdrawal or the retention period erases it there): `None` when it
/// is gone or cannot be read.
async fn received_file(
    store: &Store,
    item: carenet_fabric::store::read::ReceivedItem,
) -> Result<Option<Received>> {
    let Some(doc) = store.received(&item.message_id).await? else {
        return Ok(None);
    };
    if doc.payload.is_empty() {
        return Ok(None);
    }
    let Ok(parts) = v1::CategorizedDocument::decode(doc.payload.as_slice()) else {
        return Ok(None);
    };
    let mut file = v1::ZatCaseFile::default();
    for s in parts.sections {
        let Ok(p) = v1::ZatCaseFile::decode(s.content.as_slice()) else {
            continue;
        };
        file.case_id = p.case_id;
        for (to, from) in [
            (&mut file.child_name, p.child_name),
            (&mut file.child_birth_date, p.child_birth_date),
            (&mut file.question, p.question),
            (&mut file.background, p.background),
            (&mut file.meeting_on, p.meeting_on),
        ] {
            if !from.is_empty() {
                *to = from;
            }
        }
    }
    // The case id comes from the school's node: only in an id's form
    // does it reach a page.
    if !carenet_caseplan::model::is_id(&file.case_id) {
        tracing::warn!(message_id = %item.message_id, "zat case file refused: its case id has not an id's form");
        return Ok(None);
    }
    let plan_id =
        carenet_caseplan::member::plan_from(store, &item.sender, "zat", &file.case_id).await?;
    Ok(Some(Received {
        message_id: item.message_id,
        school: item.sender,
        case_id: file.case_id.clone(),
        file: plan_id.is_none().then_some(file),
        plan_id,
        received_at_ms: item.received_at_ms,
    }))
}

/// Audits the reading of each case file whose content is shown.
async fn audit_read(store: &Store, actor: &Actor, read: &[Received]) -> Result<()> {
    let entries: Vec<Entry> = read
        .iter()
        .filter(|r| r.file.is_some())
        .map(|r| Entry {
            counterparty: r.school.clone(),
            purpose: Purpose::ReferToZat.as_str().into(),
            ..entry(actor, "zat_case_read", &r.message_id)
        })
        .collect();
    if !entries.is_empty() {
        carenet_fabric::audit::append(&store.db, &entries).await?;
    }
    Ok(())
}

/// The case files this party received as a ZAT member, newest first (a
/// withdrawn one is gone; one the meeting's plan replaced names the plan
/// instead of its content), each reading audited.
pub async fn received(store: &Store, actor: &Actor) -> Result<Vec<Received>> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_MEMBER, "zat").await?;
    let items = store.received_of_types(&[ZAT_CASE_TYPE]).await?;
    let mut out = Vec::new();
    for item in items.into_iter().rev() {
        if let Some(r) = received_file(store, item).await? {
            out.push(r);
        }
    }
    audit_read(store, actor, &out).await?;
    Ok(out)
}

/// How many case files wait for a meeting here: received, not gone, not
/// yet replaced by the plan. For a start page's count (the caller checks
/// [`roles::ZAT_MEMBER`]); it shows no content, so it is not audited.
pub async fn received_waiting(store: &Store) -> Result<usize> {
    let mut n = 0;
    for item in store.received_of_types(&[ZAT_CASE_TYPE]).await? {
        if received_file(store, item)
            .await?
            .is_some_and(|r| r.file.is_some())
        {
            n += 1;
        }
    }
    Ok(n)
}

/// One case file this party received (by its message id), its reading
/// audited; not found when it is not one, or is gone.
pub async fn received_one(store: &Store, actor: &Actor, message_id: &str) -> Result<Received> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_MEMBER, message_id).await?;
    let not_found = || Error::NotFound("zat case file".into());
    let item = store
        .received_of_types(&[ZAT_CASE_TYPE])
        .await?
        .into_iter()
        .find(|i| i.message_id == message_id)
        .ok_or_else(not_found)?;
    let read = received_file(store, item).await?.ok_or_else(not_found)?;
    audit_read(store, actor, std::slice::from_ref(&read)).await?;
    Ok(read)
}

/// The IZO registrations the chair can refer now: accepted, the IZO's
/// latest meeting chose the ZAT, and the pupil has no ZAT case under way.
/// (izo id, pupil reference), oldest first.
pub async fn referrable(store: &Store, actor: &Actor) -> Result<Vec<(String, String)>> {
    carenet_fabric::actor::require(store, actor, &roles::ZAT_CHAIR, "zat").await?;
    let under_way: Vec<String> = list(store, actor)
        .await?
        .into_iter()
        .filter(|c| c.state != State::Closed)
        .map(|c| c.child_ref)
        .collect();
    let mut out = Vec::new();
    for r in izo::list(store, actor).await?.into_iter().rev() {
        if r.state != izo::State::Accepted || under_way.contains(&r.child_ref) {
            continue;
        }
        let minutes = crate::izo_meeting::minutes_of(store, &r.id).await?;
        if minutes
            .last()
            .is_some_and(|m| m.outcomes.contains(&(IzoOutcome::Zat as i32)))
        {
            out.push((r.id, r.child_ref));
        }
    }
    Ok(out)
}
