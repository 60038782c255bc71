//! The season view of one school: every outgoing and incoming dossier of a
//! school year with where it stands, filterable, and exportable as CSV.
//!
//! Outgoing: `draft`, `awaiting_inspection`, `ready`, `published` (queued),
//! `delivered`, `read` (by the mentor), with warm handover `planned`/`held`
//! and whether feedback came back. Incoming: `received`, `assigned`, `read`,
//! with IZO registration and feedback sent.

use sqlx::Row;

use carenet_fabric::store::Store;
use carenet_fabric::with_db;

use crate::{Result, dossier, incoming};

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
}

/// Which rows to show.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub direction: Option<String>,
    pub status: Option<String>,
}

/// The school year a season view covers starts on 1 August (`since_ms`).
pub async fn season(store: &Store, since_ms: i64, filter: &Filter) -> Result<Vec<SeasonRow>> {
    // Statuses that came back (read, feedback) are indexed from the inbox first.
    incoming::sync(store).await?;
    let mut rows = Vec::new();
    let outgoing: Vec<(String, String)> = with_db!(&store.db, pool => {
        sqlx::query("SELECT id, route FROM handover_dossier WHERE updated_at_ms >= $1 ORDER BY created_at_ms")
            .bind(since_ms)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
            .collect::<std::result::Result<_, _>>()?
    });
    for (id, route) in outgoing {
        let d = dossier::get(store, &id).await?;
        // A status counts only from a party the dossier went to (or from the
        // school itself, for a handover inside it): nobody else can claim it was read.
        let facts = with_db!(&store.db, pool => {
            let row = sqlx::query(
                "SELECT \
                 (SELECT COUNT(*) FROM outbox o WHERE o.document_type = $4 AND o.document_id = $1 AND o.version = $2), \
                 (SELECT COUNT(*) FROM outbox o WHERE o.document_type = $4 AND o.document_id = $1 AND o.version = $2 \
                    AND o.state = 'delivered'), \
                 (SELECT COUNT(*) FROM handover_status s WHERE s.document_id = $1 AND s.status = 'read_by_mentor' AND s.version = $2 \
                    AND (s.from_party = $3 OR s.from_party IN (SELECT o.recipient FROM outbox o WHERE o.document_type = $4 AND o.document_id = $1))), \
                 (SELECT COUNT(*) FROM handover_status s WHERE s.document_id = $1 AND s.status = 'feedback' \
                    AND s.from_party IN (SELECT o.recipient FROM outbox o WHERE o.document_type = $4 AND o.document_id = $1)), \
                 (SELECT CAST(COALESCE(MAX(CASE WHEN w.state = 'held' THEN 2 ELSE 1 END), 0) AS BIGINT) FROM warm_handover w WHERE w.dossier_id = $1)",
            )
            .bind(&id)
            .bind(i64::from(d.version))
            .bind(store.party.as_str())
            .bind(dossier::DOSSIER_TYPE)
            .fetch_one(pool)
            .await?;
            [row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?, row.try_get::<i64, _>(3)?, row.try_get::<i64, _>(4)?]
        });
        let [released, delivered, read, feedback, warm] = facts;
        let status = if d.state != "published" {
            d.state.clone()
        } else if read > 0 {
            "read".into()
        } else if released > 0 && delivered == released {
            "delivered".into()
        } else {
            "published".into()
        };
        let recipients = dossier::earlier_recipients(store, &id).await?;
        rows.push(SeasonRow {
            direction: "out",
            id,
            pupil: d.dossier.summary().pupil_name,
            counterparty: recipients
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            route,
            version: d.version,
            status,
            warm_handover: match warm {
                2 => "held".into(),
                1 => "planned".into(),
                _ => String::new(),
            },
            feedback: feedback > 0,
            izo: false,
        });
    }
    // Incoming: the newest version of each received dossier.
    let mut seen: Vec<(String, String)> = Vec::new();
    for i in incoming::list(store).await? {
        if i.received_at_ms < since_ms || seen.contains(&(i.sender.clone(), i.document_id.clone()))
        {
            continue;
        }
        seen.push((i.sender.clone(), i.document_id.clone()));
        let pupil = if i.available {
            incoming::dossier_of(store, &i)
                .await
                .map(|d| d.summary().pupil_name)
                .unwrap_or_default()
        } else {
            String::new()
        };
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
        });
    }
    rows.retain(|r| {
        filter.direction.as_deref().is_none_or(|d| d == r.direction)
            && filter.status.as_deref().is_none_or(|s| s == r.status)
    });
    Ok(rows)
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
        };
        let csv = to_csv(&[row]);
        assert!(
            csv.ends_with("in,m1,\"Daan \"\"D\"\" van de Berg, jr.\",po-1,,2,read,,nee,ja\r\n"),
            "{csv}"
        );
    }
}
