//! Retention: the content of sent and received messages is deleted when its
//! retention period ends, and each deletion leaves a proof in the audit chain
//! (`purged`, with the hash of what was deleted).
//!
//! Each document type's period comes from its registration in the slice
//! registry ([`crate::slice::DocumentType::retention_days`], which the node's
//! config may change per type). Periods run from receipt (received messages)
//! or delivery (sent messages); a purged message can no longer be fetched.
//! Messages of a type no slice registers are kept and reported, never given a
//! silent default. Audit records are kept.

use carenet_proto::v1;
use prost::Message;

use super::Store;
use crate::audit::Entry;
use crate::slice::Registry;
use crate::{Error, Result, audit_append, with_db};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What one purge run deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub received: usize,
    pub sent: usize,
}

struct Candidate {
    message_id: String,
    counterparty: String,
    document_type: String,
    since_ms: i64,
    payload_sha256: Vec<u8>,
}

/// A received message that may be due for purging.
#[derive(sqlx::FromRow)]
struct ReceivedRow {
    message_id: String,
    sender: String,
    document_type: String,
    received_at_ms: Option<i64>,
    header: Option<Vec<u8>>,
}

impl TryFrom<ReceivedRow> for Candidate {
    type Error = Error;
    fn try_from(r: ReceivedRow) -> Result<Self> {
        let header = r
            .header
            .ok_or_else(|| Error::Corrupt("inbox.header".into()))?;
        Ok(Candidate {
            since_ms: r
                .received_at_ms
                .ok_or_else(|| Error::Corrupt("inbox.received_at_ms".into()))?,
            // The proof of a header that does not decode names no hash.
            payload_sha256: v1::EnvelopeHeader::decode(header.as_slice())
                .map(|h| h.payload_sha256)
                .unwrap_or_default(),
            message_id: r.message_id,
            counterparty: r.sender,
            document_type: r.document_type,
        })
    }
}

/// A sent message that may be due for purging.
#[derive(sqlx::FromRow)]
struct SentRow {
    message_id: String,
    recipient: String,
    document_type: String,
    delivered_at_ms: Option<i64>,
    released_sha256: Option<Vec<u8>>,
}

impl TryFrom<SentRow> for Candidate {
    type Error = Error;
    fn try_from(r: SentRow) -> Result<Self> {
        Ok(Candidate {
            since_ms: r
                .delivered_at_ms
                .ok_or_else(|| Error::Corrupt("outbox.delivered_at_ms".into()))?,
            payload_sha256: r.released_sha256.unwrap_or_default(),
            message_id: r.message_id,
            counterparty: r.recipient,
            document_type: r.document_type,
        })
    }
}

impl Store {
    /// Deletes the content of every message whose retention period ended
    /// before `now_ms`, with a `purged` audit record each, in one transaction.
    pub async fn purge_expired(&self, registry: &Registry, now_ms: i64) -> Result<PurgeReport> {
        let Some(shortest) = registry.document_types().map(|t| t.retention_days).min() else {
            return Ok(PurgeReport::default());
        };
        let cutoff = now_ms - i64::from(shortest) * DAY_MS;
        let days_for = |t: &str| registry.retention_days(t);
        let expired = |c: &Candidate| {
            days_for(&c.document_type)
                .is_some_and(|days| c.since_ms + i64::from(days) * DAY_MS < now_ms)
        };
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let received: Vec<ReceivedRow> = sqlx::query_as(
                "SELECT message_id, sender, document_type, received_at_ms, header FROM inbox \
                 WHERE state = 'acked' AND received_at_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = inbox.message_id AND p.side = 'inbox')",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let received: Vec<Candidate> = received
                .into_iter()
                .map(Candidate::try_from)
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .filter(expired)
                .collect();
            let sent: Vec<SentRow> = sqlx::query_as(
                "SELECT message_id, recipient, document_type, delivered_at_ms, released_sha256 FROM outbox \
                 WHERE state = 'delivered' AND delivered_at_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = outbox.message_id AND p.side = 'outbox')",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let sent: Vec<Candidate> = sent
                .into_iter()
                .map(Candidate::try_from)
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .filter(expired)
                .collect();
            let mut entries = Vec::with_capacity(received.len() + sent.len());
            for (side, table, list) in [("inbox", "inbox", &received), ("outbox", "outbox", &sent)] {
                for c in list {
                    let sql = if table == "inbox" {
                        "UPDATE inbox SET payload = $1, label = NULL WHERE message_id = $2"
                    } else {
                        "UPDATE outbox SET payload = $1 WHERE message_id = $2"
                    };
                    sqlx::query(sql).bind(Vec::<u8>::new()).bind(&c.message_id).execute(&mut *tx).await?;
                    sqlx::query("INSERT INTO purged_message (message_id, side, at_ms) VALUES ($1, $2, $3)")
                        .bind(&c.message_id)
                        .bind(side)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                    entries.push(Entry {
                        actor: actor.clone(),
                        action: crate::audit::Action::Purged.into(),
                        message_id: c.message_id.clone(),
                        counterparty: c.counterparty.clone(),
                        purpose: format!("retention:{}d", days_for(&c.document_type).unwrap_or_default()),
                        legal_basis: "retention".into(),
                        payload_sha256: c.payload_sha256.clone(),
                    });
                }
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(PurgeReport { received: received.len(), sent: sent.len() })
        })
    }
}
