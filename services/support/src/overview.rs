//! The region's overview at the SWV's node (issue 21 item 6): requests and
//! allocations per month and per school and kind, the waiting time from
//! request to decision per kind, the TLVs that end within three months,
//! as aggregates in SQL over the requests the SWV received. Counts only,
//! except the expiring TLVs, whose re-indication someone must start: they
//! name the pupil, and reading them is audited.

use carenet_consent::record::{format_date, parse_date};
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, audited, with_db};
use time::Duration;

use crate::clock::Clock;
use crate::model::Kind;
use crate::request::entry;
use crate::{Result, roles};

/// How far back the overview looks: this school year and the one before.
const MONTHS_BACK: i64 = 24;

/// Requests and allocations in one month, or of one school and kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Count {
    /// "2026-09" for a month; the school's party id for a school.
    pub key: String,
    pub kind: Option<Kind>,
    pub requested: i64,
    pub granted: i64,
    pub refused: i64,
}

/// The days from submission to decision for one kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub kind: Kind,
    pub decided: i64,
    pub average_days: i64,
    pub longest_days: i64,
}

/// A granted TLV that ends soon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiring {
    pub request_id: String,
    pub school: String,
    pub child_name: String,
    pub ends_on: String,
}

/// The whole overview.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    pub per_month: Vec<Count>,
    pub per_school: Vec<Count>,
    pub waiting: Vec<Waiting>,
    pub expiring: Vec<Expiring>,
    /// The first day the overview counts from (YYYY-MM-DD).
    pub since: String,
}

type CountRow = (String, String, i64, i64, i64);
type WaitRow = (String, String, String);
type ExpiringRow = (String, String, String, String);
type Rows = (Vec<CountRow>, Vec<CountRow>, Vec<WaitRow>, Vec<ExpiringRow>);

/// The overview of the requests this SWV received since two school years
/// ago, read by its staff; the reading is audited.
pub async fn read(store: &Store, actor: &Actor, clock: &dyn Clock) -> Result<Overview> {
    carenet_fabric::actor::require(store, actor, &roles::SWV_READ, "support:overview").await?;
    let today = clock.today();
    let since = format_date(today - Duration::days(MONTHS_BACK * 366 / 12));
    let until = format_date(today + Duration::days(92));
    let today = format_date(today);
    let swv = store.party.as_str();
    let (months, schools, waits, expiring): Rows = with_db!(&store.db, pool => {
        let months = sqlx::query_as(
            "SELECT substr(r.submitted_on, 1, 7) AS key, '' AS kind, COUNT(*) AS requested, \
             COALESCE(SUM(CASE WHEN d.outcome = 'granted' THEN 1 ELSE 0 END), 0) AS granted, \
             COALESCE(SUM(CASE WHEN d.outcome = 'refused' THEN 1 ELSE 0 END), 0) AS refused \
             FROM support_request r LEFT JOIN support_decision d ON d.request_id = r.id \
             WHERE r.swv = $1 AND r.school <> $1 AND r.submitted_on >= $2 \
             GROUP BY substr(r.submitted_on, 1, 7) ORDER BY key",
        )
        .bind(swv)
        .bind(&since)
        .fetch_all(pool)
        .await?;
        let schools = sqlx::query_as(
            "SELECT r.school AS key, r.kind AS kind, COUNT(*) AS requested, \
             COALESCE(SUM(CASE WHEN d.outcome = 'granted' THEN 1 ELSE 0 END), 0) AS granted, \
             COALESCE(SUM(CASE WHEN d.outcome = 'refused' THEN 1 ELSE 0 END), 0) AS refused \
             FROM support_request r LEFT JOIN support_decision d ON d.request_id = r.id \
             WHERE r.swv = $1 AND r.school <> $1 AND r.submitted_on >= $2 \
             GROUP BY r.school, r.kind ORDER BY r.school, r.kind",
        )
        .bind(swv)
        .bind(&since)
        .fetch_all(pool)
        .await?;
        let waits = sqlx::query_as(
            "SELECT r.kind, r.submitted_on, d.decided_on \
             FROM support_request r JOIN support_decision d ON d.request_id = r.id \
             WHERE r.swv = $1 AND r.school <> $1 AND r.submitted_on >= $2",
        )
        .bind(swv)
        .bind(&since)
        .fetch_all(pool)
        .await?;
        let expiring = sqlx::query_as(
            "SELECT r.id, r.school, r.child_name, d.ends_on \
             FROM support_decision d JOIN support_request r ON r.id = d.request_id \
             WHERE r.swv = $1 AND r.school <> $1 AND d.outcome = 'granted' \
             AND r.kind IN ('admission_statement', 'reindication') \
             AND d.ends_on >= $2 AND d.ends_on <= $3 ORDER BY d.ends_on, r.id",
        )
        .bind(swv)
        .bind(&today)
        .bind(&until)
        .fetch_all(pool)
        .await?;
        (months, schools, waits, expiring)
    });
    let count = |(key, kind, requested, granted, refused): CountRow| -> Result<Count> {
        Ok(Count {
            key,
            kind: if kind.is_empty() {
                None
            } else {
                Some(Kind::parse("support_request.kind", &kind)?)
            },
            requested,
            granted,
            refused,
        })
    };
    let per_month = months.into_iter().map(count).collect::<Result<Vec<_>>>()?;
    let per_school = schools.into_iter().map(count).collect::<Result<Vec<_>>>()?;
    let mut waiting: Vec<Waiting> = Vec::new();
    for (kind, submitted, decided) in waits {
        let kind = Kind::parse("support_request.kind", &kind)?;
        let (Ok(from), Ok(to)) = (
            parse_date("submitted_on", &submitted),
            parse_date("decided_on", &decided),
        ) else {
            continue;
        };
        let days = (to - from).whole_days().max(0);
        match waiting.iter_mut().find(|w| w.kind == kind) {
            Some(w) => {
                // The sum for now; the average after the loop.
                w.average_days += days;
                w.decided += 1;
                w.longest_days = w.longest_days.max(days);
            }
            None => waiting.push(Waiting {
                kind,
                decided: 1,
                average_days: days,
                longest_days: days,
            }),
        }
    }
    for w in &mut waiting {
        w.average_days = (w.average_days + w.decided / 2) / w.decided.max(1);
    }
    waiting.sort_by_key(|w| w.kind.as_str());
    let expiring: Vec<Expiring> = expiring
        .into_iter()
        .map(|(request_id, school, child_name, ends_on)| Expiring {
            request_id,
            school,
            child_name,
            ends_on,
        })
        .collect();
    let audit = entry(actor, "support_overview_read", "overview");
    audited!(&store.db, _tx => { ((), vec![audit]) });
    Ok(Overview {
        per_month,
        per_school,
        waiting,
        expiring,
        since,
    })
}
