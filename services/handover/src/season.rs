//! The season view of one school: every outgoing and incoming dossier of a
//! school year with where it stands, filterable, and exportable as CSV.
//!
//! Outgoing: `draft`, `awaiting_inspection`, `ready`, `published` (queued),
//! `delivered`, `read` (by the mentor) or `withdrawn`, with warm handover `planned`/`held`
//! and whether feedback came back. Incoming: `received`, `assigned`, `read`
//! (or `withdrawn`/`purged`), with IZO registration and feedback sent.
//! Delivery facts come from the fabric's read API, never its tables.

use carenet_fabric::store::Store;
use carenet_fabric::store::read::OutboxState;
use carenet_fabric::{Actor, PartyKind, with_db};

use crate::dossier::DossierState;
use crate::{Result, dossier, incoming, roles};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeasonRow {
    /// `out` or `in`.
    pub direction: &'static str,
    /// Outgoing: the dossier id; incoming: the message id.
    pub id: String,
    pub pupil: String,
    pub counterparty: String,
    pub route: String,
    pub version: u32,
    pub status: String,
    /// `planned`, `held` or empty.
    pub warm_handover: String,
    /// Outgoing: feedback came back; incoming: feedback was sent.
    pub feedback: bool,
    pub izo: bool,
    /// When it was withdrawn (outgoing: the withdrawal notice queued;
    /// incoming: the withdrawal arrived), status `withdrawn`.
    pub withdrawn_at_ms: Option<i64>,
}

/// Which rows to show.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub direction: Option<String>,
    pub status: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OutgoingRow {
    id: String,
    route: String,
    version: i64,
    state: String,
    pupil_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    version: i64,
    from_party: String,
    status: String,
}

#[derive(sqlx::FromRow)]
struct WarmRow {
    state: String,
}

/// The school year a season view covers starts on 1 August (`since_ms`).
/// `kind` is this party's kind (it decides the roles, see [`roles::overview`]).
pub async fn season(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    since_ms: i64,
    filter: &Filter,
) -> Result<Vec<SeasonRow>> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::overview(kind), "season").await?;
    // Statuses that came back (read, feedback) are indexed from the inbox first.
    incoming::sync(store).await?;
    let mut rows = Vec::new();
    let outgoing: Vec<OutgoingRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, route, version, state, pupil_name FROM handover_dossier \
             WHERE updated_at_ms >= $1 ORDER BY created_at_ms",
        )
            .bind(since_ms)
            .fetch_all(pool)
            .await?
    });
    for row in outgoing {
        rows.push(outgoing_row(store, row).await?);
    }
    // Incoming: the newest version of each received dossier.
    let mut seen = std::collections::HashSet::new();
    // (Indexed by the sync above.)
    let items: Vec<incoming::Incoming> = incoming::list_indexed(store)
        .await?
        .into_iter()
        .filter(|i| {
            i.received_at_ms >= since_ms && seen.insert((i.sender.clone(), i.document_id.clone()))
        })
        .collect();
    let mut names = incoming::pupil_names(store, &items).await?;
    for i in items {
        let pupil = names.remove(&i.message_id).unwrap_or_default();
        let status = if let Some(removed) = &i.removed {
            removed.as_str()
        } else if i.opened_at_ms.is_some() {
            "read"
        } else if i.mentor.is_some() {
            "assigned"
        } else {
            "received"
        };
        rows.push(SeasonRow {
            direction: "in",
            id: i.message_id,
            pupil,
            counterparty: i.sender,
            route: String::new(),
            version: i.version,
            status: status.into(),
            warm_handover: String::new(),
            feedback: i.feedback_at_ms.is_some(),
            izo: i.izo_at_ms.is_some(),
            withdrawn_at_ms: i.withdrawn_at_ms,
        });
    }
    rows.retain(|r| {
        filter.direction.as_deref().is_none_or(|d| d == r.direction)
            && filter.status.as_deref().is_none_or(|s| s == r.status)
    });
    Ok(rows)
}

/// The season row of one outgoing dossier: what was released of it, its
/// delivery, "read by mentor", feedback and warm handover.
async fn outgoing_row(store: &Store, row: OutgoingRow) -> Result<SeasonRow> {
    let id = row.id;
    let version = u32::try_from(row.version)
        .map_err(|_| crate::Error::Corrupt("handover_dossier.version".into()))?;
    let state = DossierState::parse("handover_dossier.state", &row.state)?;
    // What was released, and its delivery, is the fabric's (read API).
    let sent = store.sent_versions(dossier::DOSSIER_TYPE, &id).await?;
    let this_version: Vec<_> = sent.iter().filter(|s| s.version == version).collect();
    let released = this_version.len();
    let delivered = this_version
        .iter()
        .filter(|s| s.state == OutboxState::Delivered)
        .count();
    let mut recipients: Vec<&str> = sent.iter().map(|s| s.recipient.as_str()).collect();
    recipients.sort_unstable();
    recipients.dedup();
    // A status counts only from a party the dossier went to (or from the
    // school itself, for a handover inside it): nobody else can claim it was read.
    let (statuses, warm): (Vec<StatusRow>, Vec<WarmRow>) = with_db!(&store.db, pool => {
        let statuses = sqlx::query_as(
            "SELECT version, from_party, status FROM handover_status WHERE document_id = $1",
        )
        .bind(&id)
        .fetch_all(pool)
        .await?;
        let warm = sqlx::query_as("SELECT state FROM warm_handover WHERE dossier_id = $1")
            .bind(&id)
            .fetch_all(pool)
            .await?;
        (statuses, warm)
    });
    let vouched = |s: &StatusRow| {
        s.from_party == store.party.as_str() || recipients.contains(&s.from_party.as_str())
    };
    let read = statuses
        .iter()
        .any(|s| s.status == "read_by_mentor" && s.version == i64::from(version) && vouched(s));
    let feedback = statuses
        .iter()
        .any(|s| s.status == "feedback" && recipients.contains(&s.from_party.as_str()));
    // Withdrawn from every school this version went to (the basis it was
    // released under ended): that is what the sender sees, not "read".
    let withdrawn_at_ms = withdrawn_of(store, &this_version).await?;
    let status = if state != DossierState::Published {
        state.as_str().to_owned()
    } else if withdrawn_at_ms.is_some() {
        "withdrawn".into()
    } else if read {
        "read".into()
    } else if released > 0 && delivered == released {
        "delivered".into()
    } else {
        "published".into()
    };
    let warm_handover = if warm.iter().any(|w| w.state == "held") {
        "held"
    } else if warm.is_empty() {
        ""
    } else {
        "planned"
    };
    let pupil = match row.pupil_name {
        Some(name) => name,
        // Stored before the column existed: read it from the document.
        None => dossier::get(store, &id).await?.dossier.summary().pupil_name,
    };
    Ok(SeasonRow {
        direction: "out",
        id,
        pupil,
        counterparty: recipients.join(" "),
        route: row.route,
        version,
        status,
        warm_handover: warm_handover.into(),
        feedback,
        izo: false,
        withdrawn_at_ms,
    })
}

/// When these sent messages (one version, to every school it went to) were
/// all withdrawn, if they were: the last withdrawal.
async fn withdrawn_of(
    store: &Store,
    sent: &[&carenet_fabric::store::read::Sent],
) -> Result<Option<i64>> {
    let ids: Vec<String> = sent.iter().map(|s| s.message_id.clone()).collect();
    let withdrawn = store.withdrawn_sent(&ids).await?;
    Ok(
        (!ids.is_empty() && ids.iter().all(|i| withdrawn.contains_key(i)))
            .then(|| withdrawn.values().copied().max())
            .flatten(),
    )
}

/// When the current version of dossier `id` was withdrawn from every
/// school it went to, if it was (a system read: the parent portal says it
/// to the guardians, who see the dossier itself).
pub async fn withdrawn_at(store: &Store, id: &str, version: u32) -> Result<Option<i64>> {
    let sent = store.sent_versions(dossier::DOSSIER_TYPE, id).await?;
    let this_version: Vec<_> = sent.iter().filter(|s| s.version == version).collect();
    withdrawn_of(store, &this_version).await
}

/// Where one of this school's dossiers stands, as its season row, for the
/// roles with the overview (a dossier page, without the whole season).
pub async fn of_dossier(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    id: &str,
) -> Result<Option<SeasonRow>> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::overview(kind), id).await?;
    incoming::sync(store).await?;
    let row: Option<OutgoingRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id, route, version, state, pupil_name FROM handover_dossier WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    match row {
        Some(row) => Ok(Some(outgoing_row(store, row).await?)),
        None => Ok(None),
    }
}

/// 1 August of the current school year (Europe/Amsterdam date), 00:00 UTC:
/// where a season view starts.
pub fn school_year_start_ms() -> i64 {
    let today = carenet_fabric::clock::today();
    let year = if today.month() as u8 >= 8 {
        today.year()
    } else {
        today.year() - 1
    };
    time::Date::from_calendar_date(year, time::Month::August, 1)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .unwrap_or(0)
}

/// The rows as CSV (RFC 4180), with a Dutch header line for spreadsheets.
pub fn to_csv(rows: &[SeasonRow]) -> String {
    fn field(out: &mut String, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(s);
        }
    }
    let mut out = String::from(
        "richting,id,leerling,school,route,versie,status,warme_overdracht,terugkoppeling,izo\r\n",
    );
    for r in rows {
        let cells = [
            if r.direction == "out" { "uit" } else { "in" },
            &r.id,
            &r.pupil,
            &r.counterparty,
            &r.route,
            &r.version.to_string(),
            &r.status,
            &r.warm_handover,
            if r.feedback { "ja" } else { "nee" },
            if r.izo { "ja" } else { "nee" },
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let row = SeasonRow {
            direction: "in",
            id: "m1".into(),
            pupil: "Daan \"D\" van de Berg, jr.".into(),
            counterparty: "po-1".into(),
            route: String::new(),
            version: 2,
            status: "read".into(),
            warm_handover: String::new(),
            feedback: false,
            izo: true,
            withdrawn_at_ms: None,
        };
        let csv = to_csv(&[row]);
        assert!(
            csv.ends_with("in,m1,\"Daan \"\"D\"\" van de Berg, jr.\",po-1,,2,read,,nee,ja\r\n"),
            "{csv}"
        );
    }
}
