//! Memberships: a party is a member of a plan while the consent that makes
//! it one (purpose `case_membership`, naming that party or its kind, for the
//! plan's child) covers it and its own period runs. When either ends, the
//! membership ends: the member gets no more views, its progress is refused,
//! and the timeline says so. (A withdrawal also erases what the member
//! received, by the consent service's withdrawal notice.)

use carenet_consent::policy::{Coverage, coverage};
use carenet_consent::record::{ConsentStore, format_date, parse_date};
use carenet_fabric::Error;
use carenet_fabric::clock::{now_ms, today};
use carenet_fabric::directory::PartyEntry;
use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use carenet_proto::v1;
use carenet_proto::v1::ConsentStatus;

use crate::Result;
use crate::model::Plan;
use crate::plan::{bump, event};

const PURPOSE: &str = "case_membership";

fn entry_of(store: &Store, party: &str) -> Result<Option<PartyEntry>> {
    let Some(directory) = store.directory() else {
        return Err(Error::precondition(
            "this needs the region directory: start the node once",
        ));
    };
    Ok(directory.get(party))
}

/// Checks a new member (`members[i]`): a party of the region, with a
/// consent for `case_membership` about `child_ref` that names it and holds
/// today; its period within the consent's. Fills in the period's defaults
/// (from today, until the consent's end).
pub async fn check_new(
    store: &Store,
    child_ref: &str,
    i: usize,
    m: &mut v1::CaseMember,
) -> Result<()> {
    let field = |f: &str| format!("members[{i}].{f}");
    let Some(entry) = entry_of(store, &m.party)? else {
        return Err(Error::invalid(
            field("party"),
            "not a party in the region directory",
        ));
    };
    // The views must be able to go there: the registry's flows for this
    // party's kind to the member's kind.
    let holder_kind = entry_of(store, store.party.as_str())?.map(|e| e.kind);
    let allowed = holder_kind.is_some_and(|holder| {
        store
            .registry
            .document_type(crate::model::VIEW_TYPE)
            .is_some_and(|t| t.allows_flow(holder, entry.kind))
    });
    if !allowed {
        return Err(Error::invalid(
            field("party"),
            "a plan of this party cannot be shared with a party of that kind",
        ));
    }
    if m.consent_record.trim().is_empty() {
        return Err(Error::invalid(
            field("consent_record"),
            "a member needs the guardians' consent for case_membership",
        ));
    }
    let Some(current) = ConsentStore::new(store.clone())
        .latest(&m.consent_record)
        .await?
    else {
        return Err(Error::invalid(
            field("consent_record"),
            "no such consent record",
        ));
    };
    match coverage(&current, PURPOSE, Some(child_ref), &entry, today())? {
        Coverage::Covers => {}
        Coverage::NotYet(why) => {
            return Err(Error::invalid(field("consent_record"), why)
                .coded(carenet_fabric::Reason::ConsentNotGranted));
        }
        Coverage::Refuse(why) => {
            return Err(Error::invalid(field("consent_record"), why)
                .coded(carenet_fabric::Reason::ConsentNotCovering));
        }
    }
    // A member sees at least the plan itself (its header, goals, actions).
    if !current
        .version
        .categories
        .iter()
        .any(|c| c == crate::model::PLAN_CATEGORY.as_str())
    {
        return Err(Error::invalid(
            field("consent_record"),
            "a member's consent covers at least action_plans (the plan itself)",
        ));
    }
    let today_s = format_date(today());
    if m.valid_from.is_empty() {
        m.valid_from = today_s.clone();
    }
    let from = parse_date(&field("valid_from"), &m.valid_from).map_err(Error::from)?;
    let consent_until = current.version.valid_until.clone();
    if m.valid_until.is_empty() {
        m.valid_until = consent_until.clone();
    }
    if !m.valid_until.is_empty() {
        let until = parse_date(&field("valid_until"), &m.valid_until).map_err(Error::from)?;
        if until < from {
            return Err(Error::invalid(field("valid_until"), "before valid_from"));
        }
        if !consent_until.is_empty() && m.valid_until > consent_until {
            return Err(Error::invalid(
                field("valid_until"),
                "after the end of the consent",
            ));
        }
    }
    m.ended_on.clear();
    m.end_reason.clear();
    Ok(())
}

/// Why a membership no longer holds today, if it does not (names no
/// personal data). A consent that is requested again but not yet granted
/// also ends it.
pub async fn ended(store: &Store, child_ref: &str, m: &v1::CaseMember) -> Result<Option<String>> {
    let today_d = today();
    if !m.valid_until.is_empty()
        && parse_date("valid_until", &m.valid_until).map_err(Error::from)? < today_d
    {
        return Ok(Some("period ended".into()));
    }
    let Some(entry) = entry_of(store, &m.party)? else {
        return Ok(Some("no longer a party of the region".into()));
    };
    let Some(current) = ConsentStore::new(store.clone())
        .latest(&m.consent_record)
        .await?
    else {
        return Ok(Some("consent record unknown".into()));
    };
    if current.status() == ConsentStatus::Withdrawn {
        return Ok(Some("consent withdrawn".into()));
    }
    Ok(
        match coverage(&current, PURPOSE, Some(child_ref), &entry, today_d)? {
            Coverage::Covers => None,
            Coverage::NotYet(why) => Some(why.to_owned()),
            Coverage::Refuse(why) => Some(why),
        },
    )
}

/// The data categories the consent of membership `m` covers (empty if the
/// record is unknown).
pub async fn categories(store: &Store, m: &v1::CaseMember) -> Result<Vec<String>> {
    Ok(ConsentStore::new(store.clone())
        .latest(&m.consent_record)
        .await?
        .map(|c| c.version.categories)
        .unwrap_or_default())
}

/// Ends every active membership of `plan` that no longer holds; true if
/// any ended (the plan's version rose, the members left get no view).
/// Without the region directory it decides nothing.
pub async fn refresh(store: &Store, plan: &Plan) -> Result<bool> {
    // Without the region directory (an operator command on a node that never
    // ran) whom a consent names cannot be judged: the node decides.
    if store.directory().is_none() {
        return Ok(false);
    }
    let mut any = false;
    for m in plan.active_members() {
        let Some(reason) = ended(store, &plan.child_ref, m).await? else {
            continue;
        };
        let now = now_ms();
        let holder = store.party.to_string();
        let changed = with_db!(&store.db, pool => {
            let mut tx = carenet_fabric::store::BeginWrite::begin_write(pool).await?;
            // Only the membership that was judged: one renewed meanwhile
            // under a new consent stays.
            let done = sqlx::query(
                "UPDATE case_member SET ended_at_ms = $1, end_reason = $2 WHERE plan_id = $3 AND party = $4 \
                 AND ended_at_ms IS NULL AND consent_record = $5",
            )
            .bind(now)
            .bind(&reason)
            .bind(&plan.id)
            .bind(&m.party)
            .bind(&m.consent_record)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                event!(tx, &plan.id, &holder, "member_ended", "", format!("{}: {reason}", m.party), "action_plans");
                bump!(tx, &plan.id);
            }
            tx.commit().await?;
            done.rows_affected() == 1
        });
        any |= changed;
    }
    Ok(any)
}

/// The active membership of `party` in `plan`, checked against its consent
/// and period today (ending it if it no longer holds).
pub async fn active(store: &Store, plan: &Plan, party: &str) -> Result<Option<v1::CaseMember>> {
    let Some(m) = plan.active_members().find(|m| m.party == party) else {
        return Ok(None);
    };
    if ended(store, &plan.child_ref, m).await?.is_some() {
        refresh(store, plan).await?;
        return Ok(None);
    }
    Ok(Some(m.clone()))
}
