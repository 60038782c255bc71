//! The procedure's legal clocks (ADR 0010 §5), derived, not scheduled: a
//! `support_deadline` row per running clock (kind, request, start, due
//! date, met at), written in the transaction of the step that starts it
//! and closed in the transaction of the step that meets it. [`due`] lists
//! the open rows due within some days of the [`Clock`]'s today: the work
//! list and the notification outbox read that; no timer runs.
//!
//! | clock | starts with | due | met by |
//! |---|---|---|---|
//! | duty_of_care (the school's zorgplicht) | submit, from the written application | 6 weeks, once extendable by 4 | a decision arriving, a withdrawal |
//! | decision (the SWV's decision time) | the request arriving | `[support] decision_weeks` | the decision, a withdrawal |
//! | objection_window | the decision | 6 weeks | an objection (or it lapses) |
//! | objection_defence (to the committee) | the objection | 14 days | the defence sent |
//! | committee_advice | the defence sent | 4 weeks | the committee's advice |
//! | reindication | a granted TLV | `reindication_weeks` before its end | the re-indication request arriving |

use carenet_consent::record::format_date;
use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use time::{Date, Duration};

use crate::Result;
use crate::clock::Clock;

/// Which clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeadlineKind {
    DutyOfCare,
    Decision,
    ObjectionWindow,
    ObjectionDefence,
    CommitteeAdvice,
    Reindication,
}

carenet_fabric::text_enum!(DeadlineKind {
    DutyOfCare => "duty_of_care",
    Decision => "decision",
    ObjectionWindow => "objection_window",
    ObjectionDefence => "objection_defence",
    CommitteeAdvice => "committee_advice",
    Reindication => "reindication",
});

/// The school's duty of care: 6 weeks from the written application.
pub const DUTY_OF_CARE: Duration = Duration::weeks(6);
/// Its one extension.
pub const DUTY_OF_CARE_EXTENSION: Duration = Duration::weeks(4);
/// The guardians may object within 6 weeks of the decision.
pub const OBJECTION_WINDOW: Duration = Duration::weeks(6);
/// The SWV sends its defence to the committee within 14 days.
pub const OBJECTION_DEFENCE: Duration = Duration::days(14);
/// The committee advises within 4 weeks.
pub const COMMITTEE_ADVICE: Duration = Duration::weeks(4);

/// Opens clock `$kind` of request `$request` inside transaction `$tx`,
/// from `$starts` (a [`Date`]) to `$due`; a clock already running for the
/// request is left as it is.
#[macro_export]
#[doc(hidden)]
macro_rules! deadline_open {
    ($tx:expr, $request:expr, $kind:expr, $starts:expr, $due:expr) => {
        sqlx::query(
            "INSERT INTO support_deadline (request_id, kind, starts_on, due_on, extended, met_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (request_id, kind) DO NOTHING",
        )
        .bind($request)
        .bind($crate::deadline::DeadlineKind::as_str($kind))
        .bind(carenet_consent::record::format_date($starts))
        .bind(carenet_consent::record::format_date($due))
        .bind(false)
        .bind(carenet_fabric::clock::now_ms())
        .execute(&mut *$tx)
        .await?;
    };
}

/// Closes clock `$kind` of request `$request` inside `$tx` at `$now_ms`
/// (the step that meets it); a clock not running is nothing to close.
#[macro_export]
#[doc(hidden)]
macro_rules! deadline_close {
    ($tx:expr, $request:expr, $kind:expr, $now_ms:expr) => {
        sqlx::query(
            "UPDATE support_deadline SET met_at_ms = $1 WHERE request_id = $2 AND kind = $3 AND met_at_ms IS NULL",
        )
        .bind($now_ms)
        .bind($request)
        .bind($crate::deadline::DeadlineKind::as_str($kind))
        .execute(&mut *$tx)
        .await?;
    };
}

/// One open clock that is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub request_id: String,
    pub kind: DeadlineKind,
    /// YYYY-MM-DD.
    pub starts_on: String,
    pub due_on: String,
    /// Extended once (the duty of care).
    pub extended: bool,
    /// Its due date has passed.
    pub overdue: bool,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    request_id: String,
    kind: String,
    starts_on: String,
    due_on: String,
    extended: bool,
}

/// The open clocks due within `within_days` of the clock's today (overdue
/// ones too), soonest first.
pub async fn due(store: &Store, clock: &dyn Clock, within_days: u32) -> Result<Vec<Due>> {
    let today = clock.today();
    let until = format_date(today + Duration::days(i64::from(within_days)));
    let rows: Vec<DueRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT request_id, kind, starts_on, due_on, extended FROM support_deadline \
             WHERE met_at_ms IS NULL AND due_on <= $1 ORDER BY due_on, request_id, kind",
        )
        .bind(&until)
        .fetch_all(pool)
        .await?
    });
    let today = format_date(today);
    rows.into_iter()
        .map(|r| {
            Ok(Due {
                kind: DeadlineKind::parse("support_deadline.kind", &r.kind)?,
                overdue: r.due_on < today,
                request_id: r.request_id,
                starts_on: r.starts_on,
                due_on: r.due_on,
                extended: r.extended,
            })
        })
        .collect()
}

/// Every clock of one request, open or met: (kind, due date, met).
pub async fn of_request(
    store: &Store,
    request_id: &str,
) -> Result<Vec<(DeadlineKind, String, bool)>> {
    let rows: Vec<(String, String, Option<i64>)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT kind, due_on, met_at_ms FROM support_deadline WHERE request_id = $1 ORDER BY created_at_ms, kind",
        )
        .bind(request_id)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(kind, due_on, met)| {
            Ok((
                DeadlineKind::parse("support_deadline.kind", &kind)?,
                due_on,
                met.is_some(),
            ))
        })
        .collect()
}

/// The re-indication reminder of a TLV ending `ends_on`: `weeks` before it
/// ends, but never before the decision itself.
pub fn reindication_due(decided_on: Date, ends_on: Date, weeks: u32) -> Date {
    (ends_on - Duration::weeks(i64::from(weeks))).max(decided_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_reminder_comes_weeks_before_the_end_and_not_before_the_decision() {
        assert_eq!(
            reindication_due(date!(2026 - 12 - 08), date!(2028 - 07 - 31), 13),
            date!(2028 - 05 - 01)
        );
        assert_eq!(
            reindication_due(date!(2028 - 06 - 01), date!(2028 - 07 - 31), 13),
            date!(2028 - 06 - 01)
        );
    }

    #[test]
    fn the_legal_periods_are_the_laws() {
        assert_eq!(DUTY_OF_CARE.whole_days(), 42);
        assert_eq!((DUTY_OF_CARE + DUTY_OF_CARE_EXTENSION).whole_days(), 70);
        assert_eq!(OBJECTION_WINDOW.whole_days(), 42);
        assert_eq!(OBJECTION_DEFENCE.whole_days(), 14);
        assert_eq!(COMMITTEE_ADVICE.whole_days(), 28);
    }
}
