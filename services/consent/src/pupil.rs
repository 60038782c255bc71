//! The school's record of a pupil, as far as consent needs it: the birth
//! date that decides who consents (the age rules of [`crate::age`]). The
//! school's coordinator records it once (or the first request they make
//! does); every later request must agree with it, and a decision takes the
//! age from it, not from what a request typed. A correction is the
//! coordinator's, audited; the date itself never enters the audit log.

use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, audited, with_db};
use time::Date;

use crate::record::{format_date, parse_date};
use crate::{Error, Result, roles};

/// Records (or corrects) the birth date of pupil `child_ref`.
pub async fn record(store: &Store, actor: &Actor, child_ref: &str, birth: Date) -> Result<()> {
    roles::require(store, actor, &roles::RECORD_PUPIL, child_ref).await?;
    check_child_ref(child_ref)?;
    if birth > carenet_fabric::clock::today() {
        return Err(Error::invalid("child_birth_date", "lies in the future")
            .coded(carenet_fabric::Reason::DateInFuture));
    }
    write(store, actor, child_ref, birth).await
}

pub(crate) fn check_child_ref(child_ref: &str) -> Result<()> {
    if child_ref.trim().is_empty() || child_ref.len() > 64 {
        return Err(
            Error::invalid("child_ref", "1-64 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    Ok(())
}

/// Records (`$1` child, `$2` date, `$3` staff id, `$4` time) or corrects the
/// school's record of a pupil, inside the caller's transaction (a correction
/// that comes with another change, e.g. a guardian link's renewal, is one
/// write with it).
pub(crate) const UPSERT: &str = "INSERT INTO pupil_record (child_ref, birth_date, recorded_by, recorded_at_ms) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (child_ref) DO UPDATE SET birth_date = excluded.birth_date, \
     recorded_by = excluded.recorded_by, recorded_at_ms = excluded.recorded_at_ms";

/// The write of [`record`], for a caller that checked the role.
pub(crate) async fn write(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
    birth: Date,
) -> Result<()> {
    let entry = actor.entry("pupil_recorded", child_ref);
    audited!(&store.db, tx => {
        sqlx::query(UPSERT)
        .bind(child_ref)
        .bind(format_date(birth))
        .bind(&actor.staff)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        ((), vec![entry])
    });
    Ok(())
}

/// The birth date the school recorded for `child_ref`, if any.
pub async fn birth_date(store: &Store, child_ref: &str) -> Result<Option<Date>> {
    let row: Option<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT birth_date FROM pupil_record WHERE child_ref = $1")
            .bind(child_ref)
            .fetch_optional(pool)
            .await?
    });
    row.map(|(d,)| {
        parse_date("birth_date", &d).map_err(|_| Error::Corrupt("pupil_record: birth_date".into()))
    })
    .transpose()
}

/// The birth date a new request about `child_ref` goes with: the school's
/// record; a request that says otherwise is refused (a record is corrected by
/// a coordinator, not by a request). Without a record, a coordinator's
/// request records it; anyone else's is refused.
pub(crate) async fn for_request(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
    asked: Date,
) -> Result<Date> {
    match birth_date(store, child_ref).await? {
        Some(recorded) if recorded == asked => Ok(recorded),
        Some(_) => Err(Error::invalid(
            "child_birth_date",
            "differs from the school's record of the pupil: a coordinator corrects the record, a request does not",
        ).coded(carenet_fabric::Reason::BirthDateMismatch)),
        None if roles::COORDINATORS.iter().any(|r| actor.has(*r)) => {
            if asked > carenet_fabric::clock::today() {
                return Err(Error::invalid("child_birth_date", "lies in the future").coded(carenet_fabric::Reason::DateInFuture));
            }
            // Two first requests at once: the first records the date, the
            // second is compared with it like any later request.
            let entry = actor.entry("pupil_recorded", child_ref);
            audited!(&store.db, tx => {
                let inserted = sqlx::query(
                    "INSERT INTO pupil_record (child_ref, birth_date, recorded_by, recorded_at_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (child_ref) DO NOTHING",
                )
                .bind(child_ref)
                .bind(format_date(asked))
                .bind(&actor.staff)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                ((), if inserted { vec![entry] } else { Vec::new() })
            });
            match birth_date(store, child_ref).await? {
                Some(recorded) if recorded == asked => Ok(recorded),
                _ => Err(Error::invalid(
                    "child_birth_date",
                    "differs from the school's record of the pupil: a coordinator corrects the record, a request does not",
                ).coded(carenet_fabric::Reason::BirthDateMismatch)),
            }
        }
        None => Err(Error::invalid(
            "child_birth_date",
            "the school has not recorded this pupil's birth date yet: the IB or care coordinator records it",
        ).coded(carenet_fabric::Reason::BirthDateUnknown)),
    }
}
