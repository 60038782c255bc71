//! The SWV's side of a request it received: the loket's completeness
//! question ([`return_question`]) and the trajectbegeleider it names
//! ([`assign`]); the trajectbegeleider's MDO ([`plan_mdo`], [`hold_mdo`])
//! and, for a TLV, the two expert advices ([`record_advice`], [`advise`]);
//! the loket's written, reasoned decision ([`decide`]); an objection
//! ([`object`]), the defence to the committee ([`send_defence`]), its
//! advice ([`record_committee_advice`]) and the decision on it
//! ([`decide_objection`]); a rebound's exit report and aftercare
//! ([`close_rebound`]).
//!
//! Each step checks its role ([`roles`]), the version the actor decided on,
//! and the transition ([`crate::model::next`]); the legal guards run as
//! pure checks ([`crate::check`]) at the step to `advised` and again at
//! the decision. The clocks each step starts or meets
//! ([`crate::deadline`]) are written in the step's transaction.

use carenet_consent::record::format_date;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, Reason, audited};

use crate::check::{self, Advice};
use crate::clock::Clock;
use crate::deadline::{
    COMMITTEE_ADVICE, DeadlineKind, OBJECTION_DEFENCE, OBJECTION_WINDOW, reindication_due,
};
use crate::model::{Kind, ObjectionOutcome, Outcome, ParticipantRole, State, Step, Who, next};
use crate::request::{
    Participant, Request, StoredDecision, date, entry, limited, load, new_id, received_request,
    required,
};
use crate::slice::SupportConfig;
use crate::{Result, claim, deadline_close, deadline_open, roles};

/// Inserts decision `$d` ([`StoredDecision`]) of request `$id` inside `$tx`.
#[macro_export]
#[doc(hidden)]
macro_rules! insert_decision {
    ($tx:expr, $id:expr, $d:expr) => {
        sqlx::query(
            "INSERT INTO support_decision (id, request_id, outcome, reasons, starts_on, ends_on, school_type, \
             category, guardians_agree, hearing, decided_on, decided_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(&$d.id)
        .bind($id)
        .bind($d.decision.outcome.as_str())
        .bind(&$d.decision.reasons)
        .bind(&$d.decision.starts_on)
        .bind(&$d.decision.ends_on)
        .bind($d.decision.school_type.map(|t| t.as_str()))
        .bind($d.decision.category.map(|c| c.as_str()))
        .bind($d.decision.guardians_agree)
        .bind(&$d.decision.hearing)
        .bind(&$d.decided_on)
        .bind(&$d.decided_by)
        .bind(carenet_fabric::clock::now_ms())
        .execute(&mut *$tx)
        .await?;
    };
}

/// After a step the school sees: its status back to the school (a
/// request that arrived over the exchange). A status that cannot be queued
/// now is logged; the next step's status carries the state again.
async fn status(store: &Store, id: &str, actor: &Actor) {
    if let Err(e) = crate::exchange::send_status(store, id, &actor.audit_name()).await {
        tracing::warn!(error = %e, "support status not queued");
    }
}

/// The received request `id` at version `seen`, with the state `step` by
/// `who` leads to.
async fn stepped(
    store: &Store,
    id: &str,
    seen: u64,
    step: Step,
    who: Who,
) -> Result<(Request, State)> {
    let r = load(store, id).await?;
    received_request(store, &r)?;
    if r.version != seen {
        return Err(crate::request::stale(id));
    }
    let to = next(r.kind, r.state, step, who)?;
    Ok((r, to))
}

/// The loket returns the request to the school with a completeness
/// question; the school answers on the same request.
pub async fn return_question(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    question: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let (r, to) = stepped(store, id, seen, Step::Return, Who::Loket).await?;
    required("question", question)?;
    let audit = entry(actor, "support_returned", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query("UPDATE support_request SET completeness_question = $1 WHERE id = $2")
            .bind(question)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// The loket names the trajectbegeleider (a staff id at the SWV, named to
/// school and guardians): the request is in intake.
/// `guide_name` is how school and guardians read the trajectbegeleider.
pub async fn assign(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    guide: &str,
    guide_name: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    carenet_fabric::actor::check_staff_id("trajectory_guide", guide)?;
    let (r, to) = stepped(store, id, seen, Step::Assign, Who::Loket).await?;
    let audit = entry(actor, "support_assigned", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query("UPDATE support_request SET trajectory_guide = $1, trajectory_guide_name = $2 WHERE id = $3")
            .bind(guide)
            .bind(guide_name.trim())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// The trajectbegeleider of this request (or the loket's staff when none
/// is named yet) — the one who guides it.
fn own_guide(actor: &Actor, r: &Request) -> Result<()> {
    if r.trajectory_guide != actor.staff {
        return Err(Error::PermissionDenied(format!(
            "support request {} is guided by another trajectbegeleider",
            r.id
        )));
    }
    Ok(())
}

/// Plans (or re-plans) the MDO: its date and who is invited. The school
/// and the guardians always take part (no decision over their heads).
pub async fn plan_mdo(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    planned_on: &str,
    participants: Vec<Participant>,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::GUIDE, id).await?;
    let (r, to) = stepped(store, id, seen, Step::PlanMdo, Who::Guide).await?;
    own_guide(actor, &r)?;
    date("planned_on", planned_on)?;
    for (i, p) in participants.iter().enumerate() {
        required(&format!("participants[{i}].name"), &p.name)?;
        if !p.party.is_empty() {
            carenet_fabric::PartyId::parse(&format!("participants[{i}].party"), &p.party)?;
        }
    }
    for role in [ParticipantRole::School, ParticipantRole::Guardians] {
        if !participants.iter().any(|p| p.role == role) {
            return Err(
                Error::invalid("participants", format!("the MDO invites the {role}"))
                    .coded(Reason::Required),
            );
        }
    }
    let audit = entry(actor, "support_mdo_planned", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query(
            "INSERT INTO support_mdo (request_id, planned_on, held_on, outcome, updated_at_ms) VALUES ($1, $2, '', '', $3) \
             ON CONFLICT (request_id) DO UPDATE SET planned_on = $2, updated_at_ms = $3",
        )
        .bind(id)
        .bind(planned_on)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM support_mdo_participant WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (i, p) in participants.iter().enumerate() {
            sqlx::query(
                "INSERT INTO support_mdo_participant (request_id, position, role, name, party) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(p.role.as_str())
            .bind(&p.name)
            .bind(&p.party)
            .execute(&mut *tx)
            .await?;
        }
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// Records the MDO as held, with its outcome.
pub async fn hold_mdo(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    held_on: &str,
    outcome: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::GUIDE, id).await?;
    let (r, to) = stepped(store, id, seen, Step::HoldMdo, Who::Guide).await?;
    own_guide(actor, &r)?;
    date("held_on", held_on)?;
    required("outcome", outcome)?;
    let audit = entry(actor, "support_mdo_held", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query("UPDATE support_mdo SET held_on = $1, outcome = $2, updated_at_ms = $3 WHERE request_id = $4")
            .bind(held_on)
            .bind(outcome)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// Records one written expert advice on a TLV (in intake, or around the
/// MDO) at `position` (0: the first advice, 1: the second): a new one at
/// the end, or one that replaces the advice there (an advice the checks
/// refused, replaced by another expert's). The legal guards run when the
/// advices are concluded ([`advise`]).
pub async fn record_advice(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    position: usize,
    advice: Advice,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::GUIDE, id).await?;
    let r = load(store, id).await?;
    received_request(store, &r)?;
    own_guide(actor, &r)?;
    if r.version != seen {
        return Err(crate::request::stale(id));
    }
    if !r.kind.is_admission() {
        return Err(
            Error::invalid("kind", "expert advices are for a TLV").coded(Reason::NotAChoice)
        );
    }
    if !matches!(
        r.state,
        State::InIntake | State::MdoPlanned | State::MdoHeld
    ) {
        return Err(Error::precondition(format!(
            "support request {id} is {}: advices are recorded during the intake",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    required("advisor_name", &advice.advisor_name)?;
    limited("advisor_registration", &advice.advisor_registration)?;
    required("employer_name", &advice.employer_name)?;
    if !advice.employer_party.is_empty() {
        carenet_fabric::PartyId::parse("employer_party", &advice.employer_party)?;
    }
    required("document_ref", &advice.document_ref)?;
    if advice.signatories == 0 {
        return Err(Error::invalid("signatories", "at least the advisor signs"));
    }
    limited("support_plan_test", &advice.support_plan_test)?;
    limited("why_not_regular", &advice.why_not_regular)?;
    date("written_on", &advice.written_on)?;
    if position > r.advices.len() {
        return Err(Error::invalid(
            "position",
            format!("the next advice is number {}", r.advices.len()),
        ));
    }
    let action = if position < r.advices.len() {
        "support_advice_replaced"
    } else {
        "support_advice_recorded"
    };
    let audit = entry(actor, action, id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        sqlx::query(
            "INSERT INTO support_advice (request_id, position, advisor_name, advisor_registration, qualification, \
             employer_party, employer_name, document_ref, signatories, by_committee, support_plan_test, \
             why_not_regular, written_on, recorded_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (request_id, position) DO UPDATE SET advisor_name = $3, advisor_registration = $4, \
             qualification = $5, employer_party = $6, employer_name = $7, document_ref = $8, signatories = $9, \
             by_committee = $10, support_plan_test = $11, why_not_regular = $12, written_on = $13, recorded_by = $14, \
             created_at_ms = $15",
        )
        .bind(id)
        .bind(i64::try_from(position).unwrap_or(i64::MAX))
        .bind(&advice.advisor_name)
        .bind(&advice.advisor_registration)
        .bind(advice.qualification.as_str())
        .bind(&advice.employer_party)
        .bind(&advice.employer_name)
        .bind(&advice.document_ref)
        .bind(i64::from(advice.signatories))
        .bind(advice.by_committee)
        .bind(&advice.support_plan_test)
        .bind(&advice.why_not_regular)
        .bind(&advice.written_on)
        .bind(&actor.staff)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        ((), vec![audit])
    });
    Ok(())
}

/// Concludes a TLV's advices after the MDO: the legal guards must hold
/// (each broken rule refused with its own code, naming the field).
pub async fn advise(store: &Store, actor: &Actor, id: &str, seen: u64) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::GUIDE, id).await?;
    let (r, to) = stepped(store, id, seen, Step::Advise, Who::Guide).await?;
    own_guide(actor, &r)?;
    check::advices(&r.advices, &r.school)?;
    let audit = entry(actor, "support_advised", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// The default end of a granted decision starting `starts_on`: the end of
/// the school year `[support] validity_school_years` on (what a form
/// fills in; the decision itself always states its dates).
pub fn default_validity(config: &SupportConfig, starts_on: time::Date) -> time::Date {
    crate::clock::validity_end(starts_on, config.validity_school_years)
}

/// The loket's decision: written and reasoned, with a granted decision's
/// dates and a granted TLV's school type and category; a TLV's advices are
/// checked again; guardians who disagree are heard first. The SWV's
/// decision time is met, the objection window opens, and a granted TLV's
/// re-indication reminder is set. Returns the decision's id.
pub async fn decide(
    store: &Store,
    actor: &Actor,
    clock: &dyn Clock,
    config: &SupportConfig,
    id: &str,
    seen: u64,
    decision: check::Decision,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let (r, to) = stepped(store, id, seen, Step::Decide, Who::Loket).await?;
    if r.kind.is_admission() {
        check::advices(&r.advices, &r.school)?;
    }
    check::decision(r.kind, &decision)?;
    limited("reasons", &decision.reasons)?;
    if !decision.guardians_agree {
        required("hearing", &decision.hearing)?;
    }
    let today = clock.today();
    let stored = StoredDecision {
        id: new_id(),
        decision,
        decided_on: format_date(today),
        decided_by: actor.staff.clone(),
    };
    let reminder = match (&stored.decision, r.kind.is_admission()) {
        (d, true) if d.outcome == Outcome::Granted => Some(reindication_due(
            today,
            date("ends_on", &d.ends_on)?,
            config.reindication_weeks,
        )),
        _ => None,
    };
    let audit = entry(actor, &format!("support_{}", stored.decision.outcome), id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        crate::insert_decision!(tx, id, stored);
        deadline_close!(tx, id, DeadlineKind::Decision, now);
        deadline_open!(tx, id, DeadlineKind::ObjectionWindow, today, today + OBJECTION_WINDOW);
        if let Some(due) = reminder {
            deadline_open!(tx, id, DeadlineKind::Reindication, today, due);
        }
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(stored.id)
}

/// Records the guardians' objection (bezwaar) against the decision,
/// lodged on `lodged_on` with its grounds: the window is met and the SWV's
/// defence to the committee is due in 14 days.
pub async fn object(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    lodged_on: &str,
    grounds: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let (r, to) = stepped(store, id, seen, Step::Object, Who::Guardians).await?;
    let lodged = date("lodged_on", lodged_on)?;
    required("grounds", grounds)?;
    if let Some(d) = &r.decision
        && lodged < date("decided_on", &d.decided_on)?
    {
        return Err(
            Error::invalid("lodged_on", "before the decision").coded(Reason::DatesOutOfOrder)
        );
    }
    let audit = entry(actor, "support_objected", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query(
            "INSERT INTO support_objection (request_id, lodged_on, grounds, defence_sent_on, committee_advice, \
             committee_advised_on, outcome, reasons, decided_on, recorded_by, updated_at_ms) \
             VALUES ($1, $2, $3, '', '', '', NULL, '', '', $4, $5)",
        )
        .bind(id)
        .bind(lodged_on)
        .bind(grounds)
        .bind(&actor.staff)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        deadline_close!(tx, id, DeadlineKind::ObjectionWindow, now);
        deadline_open!(tx, id, DeadlineKind::ObjectionDefence, lodged, lodged + OBJECTION_DEFENCE);
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// The objected request `id` at version `seen`.
async fn objected(store: &Store, id: &str, seen: u64) -> Result<Request> {
    let r = load(store, id).await?;
    received_request(store, &r)?;
    if r.version != seen {
        return Err(crate::request::stale(id));
    }
    if r.state != State::Objected {
        return Err(Error::precondition(format!(
            "support request {id} is {}: there is no objection running",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    Ok(r)
}

/// The SWV sent its defence to the objection committee today; the
/// committee's advice is due in 4 weeks.
pub async fn send_defence(
    store: &Store,
    actor: &Actor,
    clock: &dyn Clock,
    id: &str,
    seen: u64,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let r = objected(store, id, seen).await?;
    if r.objection
        .as_ref()
        .is_some_and(|o| !o.defence_sent_on.is_empty())
    {
        return Err(
            Error::precondition(format!("support request {id}: the defence was sent"))
                .coded(Reason::Duplicate),
        );
    }
    let today = clock.today();
    let audit = entry(actor, "support_defence_sent", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        sqlx::query("UPDATE support_objection SET defence_sent_on = $1, updated_at_ms = $2 WHERE request_id = $3")
            .bind(format_date(today))
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        deadline_close!(tx, id, DeadlineKind::ObjectionDefence, now);
        deadline_open!(tx, id, DeadlineKind::CommitteeAdvice, today, today + COMMITTEE_ADVICE);
        ((), vec![audit])
    });
    Ok(())
}

/// Records the objection committee's advice, received today.
pub async fn record_committee_advice(
    store: &Store,
    actor: &Actor,
    clock: &dyn Clock,
    id: &str,
    seen: u64,
    advice: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let r = objected(store, id, seen).await?;
    required("committee_advice", advice)?;
    let audit = entry(actor, "support_committee_advised", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        sqlx::query(
            "UPDATE support_objection SET committee_advice = $1, committee_advised_on = $2, updated_at_ms = $3 \
             WHERE request_id = $4",
        )
        .bind(advice)
        .bind(format_date(clock.today()))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        deadline_close!(tx, id, DeadlineKind::CommitteeAdvice, now);
        ((), vec![audit])
    });
    Ok(())
}

/// The decision on the objection (after the committee's advice), with its
/// reasons; every clock of the objection stops.
pub async fn decide_objection(
    store: &Store,
    actor: &Actor,
    clock: &dyn Clock,
    id: &str,
    seen: u64,
    outcome: ObjectionOutcome,
    reasons: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::LOKET, id).await?;
    let (r, to) = stepped(store, id, seen, Step::DecideObjection, Who::Loket).await?;
    if r.objection
        .as_ref()
        .is_none_or(|o| o.committee_advice.is_empty())
    {
        return Err(Error::invalid(
            "committee_advice",
            "the objection is decided after the committee's advice",
        )
        .coded(Reason::Required));
    }
    required("reasons", reasons)?;
    let audit = entry(actor, "support_objection_decided", id);
    let now = now_ms();
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, to);
        sqlx::query(
            "UPDATE support_objection SET outcome = $1, reasons = $2, decided_on = $3, updated_at_ms = $4 WHERE request_id = $5",
        )
        .bind(outcome.as_str())
        .bind(reasons)
        .bind(format_date(clock.today()))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        for kind in [DeadlineKind::ObjectionDefence, DeadlineKind::CommitteeAdvice] {
            deadline_close!(tx, id, kind, now);
        }
        ((), vec![audit])
    });
    status(store, id, actor).await;
    Ok(())
}

/// A granted rebound placement ends: its exit report and the aftercare
/// agreed with the home school (which stayed responsible throughout).
pub async fn close_rebound(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen: u64,
    exit_report: &str,
    aftercare: &str,
) -> Result<()> {
    carenet_fabric::actor::require(store, actor, &roles::GUIDE, id).await?;
    let r = load(store, id).await?;
    received_request(store, &r)?;
    own_guide(actor, &r)?;
    if r.version != seen {
        return Err(crate::request::stale(id));
    }
    if r.kind != Kind::Rebound {
        return Err(
            Error::invalid("kind", "an exit report closes a rebound").coded(Reason::NotAChoice)
        );
    }
    let granted = r
        .decision
        .as_ref()
        .is_some_and(|d| d.decision.outcome == Outcome::Granted);
    if !r.state.is_decided() || !granted || !r.exit_report.is_empty() {
        return Err(Error::precondition(format!(
            "support request {id}: only a granted rebound placement is closed, once"
        ))
        .coded(Reason::CaseState));
    }
    required("exit_report", exit_report)?;
    required("aftercare", aftercare)?;
    let audit = entry(actor, "support_rebound_closed", id);
    audited!(&store.db, tx => {
        claim!(tx, id, r.state, seen, r.state);
        sqlx::query("UPDATE support_request SET exit_report = $1, aftercare = $2 WHERE id = $3")
            .bind(exit_report)
            .bind(aftercare)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ((), vec![audit])
    });
    Ok(())
}
