//! "Who saw what about my child, when, and why": for one child, every release,
//! receipt, refusal and deletion of data sent about it, and every change of its
//! consents, from the node's audit log. The basis of the parents' disclosure view.

use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use carenet_proto::v1;
use prost::Message;
use sqlx::Row;

use crate::Result;

/// One line of the disclosure view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    pub at_ms: i64,
    /// released, delivered, release_refused, purged, or consent_* for consent changes.
    pub action: String,
    /// The message or consent record.
    pub subject_id: String,
    /// The receiving party (empty for consent changes).
    pub recipient: String,
    /// Staff id, party id or `portal` that acted.
    pub actor: String,
    pub purpose: String,
    /// The legal basis, e.g. `consent:<record>`, `inspection:<ref>`.
    pub basis: String,
    /// The data categories released; empty where the whole document went
    /// (bases other than consent) or for consent changes.
    pub categories: Vec<String>,
}

fn categories_of(released_basis: Option<Vec<u8>>) -> Vec<String> {
    let Some(bytes) = released_basis else {
        return Vec::new();
    };
    let Ok(basis) = v1::LegalBasis::decode(bytes.as_slice()) else {
        return Vec::new();
    };
    v1::ConsentReceipt::decode(basis.consent_receipt.as_slice())
        .ok()
        .and_then(|r| v1::ConsentReceiptBody::decode(r.body.as_slice()).ok())
        .map(|b| b.categories)
        .unwrap_or_default()
}

/// Everything the node's audit log says was done with data about `child_ref`,
/// oldest first.
pub async fn who_saw_what(store: &Store, child_ref: &str) -> Result<Vec<Disclosure>> {
    let rows: Vec<(Disclosure, Option<Vec<u8>>)> = with_db!(&store.db, pool => {
        let rows = sqlx::query(
            "SELECT a.seq, a.at_ms, a.action, a.message_id, a.counterparty, a.actor, a.purpose, a.legal_basis, \
                    o.released_basis \
             FROM audit a JOIN outbox o ON o.message_id = a.message_id \
             WHERE o.child_ref = $1 AND a.action IN ('released', 'delivered', 'release_refused', 'purged') \
             UNION ALL \
             SELECT a.seq, a.at_ms, a.action, a.message_id, a.counterparty, a.actor, a.purpose, a.legal_basis, NULL \
             FROM audit a \
             WHERE a.action LIKE 'consent_%' \
               AND a.message_id IN (SELECT record_id FROM consent_version WHERE child_ref = $1) \
             ORDER BY 1",
        )
        .bind(child_ref)
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok::<_, sqlx::Error>((
                    Disclosure {
                        at_ms: r.try_get(1)?,
                        action: r.try_get(2)?,
                        subject_id: r.try_get(3)?,
                        recipient: r.try_get(4)?,
                        actor: r.try_get(5)?,
                        purpose: r.try_get(6)?,
                        basis: r.try_get(7)?,
                        categories: Vec::new(),
                    },
                    r.try_get::<Option<Vec<u8>>, _>(8)?,
                ))
            })
            .collect::<Result<Vec<_>, _>>()?
    });
    Ok(rows
        .into_iter()
        .map(|(mut d, basis)| {
            if d.action == "released" || d.action == "delivered" {
                d.categories = categories_of(basis);
            }
            d
        })
        .collect())
}
