//! Retention: the content of sent and received messages is deleted when its
//! retention period ends, and each deletion leaves a proof in the audit chain
//! (`purged`, with the hash of what was deleted).
//!
//! Periods are configured per document type (longest matching prefix wins),
//! e.g. two years for a school dossier, longer for ZAT and care documents. They
//! run from receipt (received messages) or delivery (sent messages); a
//! purged message can no longer be fetched. Audit records are kept.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::Store;
use crate::audit::Entry;
use crate::{Result, audit_append, with_db};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    pub document_type_prefix: String,
    pub days: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    /// For document types no rule matches.
    pub default_days: u32,
    #[serde(default)]
    pub rules: Vec<RetentionRule>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            // Pupil dossier: two years (landscape.md: 2, 3 or 5 years by regime).
            default_days: 730,
            rules: vec![
                RetentionRule {
                    document_type_prefix: "zat.".into(),
                    days: 5 * 365,
                },
                RetentionRule {
                    document_type_prefix: "care.".into(),
                    days: 5 * 365,
                },
            ],
        }
    }
}

impl RetentionPolicy {
    pub fn days_for(&self, document_type: &str) -> u32 {
        self.rules
            .iter()
            .filter(|r| document_type.starts_with(&r.document_type_prefix))
            .max_by_key(|r| r.document_type_prefix.len())
            .map(|r| r.days)
            .unwrap_or(self.default_days)
    }
}

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

impl Store {
    /// Deletes the content of every message whose retention period ended
    /// before `now_ms`, with a `purged` audit record each, in one transaction.
    pub async fn purge_expired(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<PurgeReport> {
        let shortest = policy
            .rules
            .iter()
            .map(|r| r.days)
            .chain([policy.default_days])
            .min()
            .unwrap_or(policy.default_days);
        let cutoff = now_ms - i64::from(shortest) * DAY_MS;
        let expired = |c: &Candidate| {
            c.since_ms + i64::from(policy.days_for(&c.document_type)) * DAY_MS < now_ms
        };
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let received: Vec<Candidate> = sqlx::query(
                "SELECT message_id, sender, document_type, received_at_ms, header FROM inbox \
                 WHERE state = 'acked' AND received_at_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = inbox.message_id AND p.side = 'inbox')",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                let header: Vec<u8> = r.try_get("header")?;
                let hash = <carenet_proto::v1::EnvelopeHeader as prost::Message>::decode(header.as_slice())
                    .map(|h| h.payload_sha256)
                    .unwrap_or_default();
                Ok(Candidate {
                    message_id: r.try_get("message_id")?,
                    counterparty: r.try_get("sender")?,
                    document_type: r.try_get("document_type")?,
                    since_ms: r.try_get("received_at_ms")?,
                    payload_sha256: hash,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
            .into_iter()
            .filter(expired)
            .collect();
            let sent: Vec<Candidate> = sqlx::query(
                "SELECT message_id, recipient, document_type, delivered_at_ms, released_sha256 FROM outbox \
                 WHERE state = 'delivered' AND delivered_at_ms < $1 \
                 AND NOT EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = outbox.message_id AND p.side = 'outbox')",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(Candidate {
                    message_id: r.try_get("message_id")?,
                    counterparty: r.try_get("recipient")?,
                    document_type: r.try_get("document_type")?,
                    since_ms: r.try_get("delivered_at_ms")?,
                    payload_sha256: r.try_get::<Option<Vec<u8>>, _>("released_sha256")?.unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?
            .into_iter()
            .filter(expired)
            .collect();
            let mut entries = Vec::with_capacity(received.len() + sent.len());
            for (side, table, list) in [("inbox", "inbox", &received), ("outbox", "outbox", &sent)] {
                for c in list {
                    let sql = if table == "inbox" {
                        "UPDATE inbox SET payload = $1 WHERE message_id = $2"
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
                        action: "purged".into(),
                        message_id: c.message_id.clone(),
                        counterparty: c.counterparty.clone(),
                        purpose: format!("retention:{}d", policy.days_for(&c.document_type)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_matching_prefix_decides_the_period() {
        let p = RetentionPolicy {
            default_days: 730,
            rules: vec![
                RetentionRule {
                    document_type_prefix: "zat.".into(),
                    days: 1825,
                },
                RetentionRule {
                    document_type_prefix: "zat.minutes".into(),
                    days: 3650,
                },
            ],
        };
        assert_eq!(p.days_for("handover.dossier"), 730);
        assert_eq!(p.days_for("zat.referral"), 1825);
        assert_eq!(p.days_for("zat.minutes"), 3650);
    }
}
