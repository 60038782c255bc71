//! The read API slices use instead of the fabric's tables: what this node
//! sent of a document ([`Store::sent_versions`], [`sent_recipients!`]), what it
//! received of some document types ([`Store::received_of_types`]) and whether
//! received content was withdrawn or purged ([`Store::removed`]). The typed
//! states of the outbox and inbox live here too.
//!
//! A slice never queries `outbox`, `inbox`, `withdrawn_message`,
//! `purged_message` or `audit` itself; these functions are the contract.

use std::collections::HashMap;

use carenet_proto::v1;
use prost::Message;

use super::Store;
use crate::{Error, Result, with_db};

/// The delivery state of a sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Queued; the recipient is to be notified.
    Pending,
    /// Notified; waiting for its fetch and receipt.
    Notified,
    /// The recipient's signed receipt is in.
    Delivered,
    /// Given up (or refused at release) until an operator resends it.
    Dead,
}

/// The state of a received (or announced) message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboxState {
    Notified,
    Stored,
    Acked,
    Refused,
    Rejected,
    Dead,
}

crate::text_enum!(OutboxState {
    Pending => "pending",
    Notified => "notified",
    Delivered => "delivered",
    Dead => "dead",
});

crate::text_enum!(InboxState {
    Notified => "notified",
    Stored => "stored",
    Acked => "acked",
    Refused => "refused",
    Rejected => "rejected",
    Dead => "dead",
});

/// One version of a document this node sent to one party.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SentRow {
    pub message_id: String,
    pub recipient: String,
    pub version: i64,
    pub state: String,
    pub delivered_at_ms: Option<i64>,
}

/// One version of a document this node sent to one party, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
    pub recipient: String,
    pub version: u32,
    pub state: OutboxState,
    pub delivered_at_ms: Option<i64>,
}

impl TryFrom<SentRow> for Sent {
    type Error = Error;
    fn try_from(r: SentRow) -> Result<Self> {
        Ok(Sent {
            version: u32::try_from(r.version)
                .map_err(|_| Error::Corrupt("outbox.version".into()))?,
            state: OutboxState::parse("outbox.state", &r.state)?,
            message_id: r.message_id,
            recipient: r.recipient,
            delivered_at_ms: r.delivered_at_ms,
        })
    }
}

/// Why received content is no longer there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removed {
    /// The sender withdrew it (its basis ended).
    Withdrawn,
    /// Its retention period ended.
    Purged,
}

impl Removed {
    pub fn as_str(self) -> &'static str {
        match self {
            Removed::Withdrawn => "withdrawn",
            Removed::Purged => "purged",
        }
    }
}

/// A received message of one of a slice's document types.
#[derive(Clone, Debug)]
pub struct ReceivedItem {
    pub message_id: String,
    pub sender: String,
    pub document_type: String,
    pub received_at_ms: i64,
    pub header: v1::EnvelopeHeader,
}

#[derive(sqlx::FromRow)]
struct ReceivedRow {
    message_id: String,
    sender: String,
    document_type: String,
    received_at_ms: Option<i64>,
    header: Option<Vec<u8>>,
}

impl TryFrom<ReceivedRow> for ReceivedItem {
    type Error = Error;
    fn try_from(r: ReceivedRow) -> Result<Self> {
        let header = r
            .header
            .as_deref()
            .map(v1::EnvelopeHeader::decode)
            .transpose()
            .map_err(|_| Error::Corrupt("inbox.header".into()))?
            .ok_or_else(|| Error::Corrupt("inbox.header".into()))?;
        Ok(ReceivedItem {
            message_id: r.message_id,
            sender: r.sender,
            document_type: r.document_type,
            received_at_ms: r.received_at_ms.unwrap_or_default(),
            header,
        })
    }
}

/// The recipients of one version of a document, read inside transaction
/// `$tx` (e.g. after the slice locked its own row of the document), so that a
/// release can check who has this version already.
#[macro_export]
macro_rules! sent_recipients {
    ($tx:expr, $document_type:expr, $document_id:expr, $version:expr) => {{
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT recipient FROM outbox WHERE document_type = $1 AND document_id = $2 AND version = $3",
        )
        .bind($document_type)
        .bind($document_id)
        .bind(i64::from($version))
        .fetch_all(&mut *$tx)
        .await?;
        rows.into_iter().map(|(r,)| r).collect::<Vec<String>>()
    }};
}

impl Store {
    /// Every message this node sent of one document (all versions, all
    /// recipients), oldest first.
    pub async fn sent_versions(&self, document_type: &str, document_id: &str) -> Result<Vec<Sent>> {
        let rows: Vec<SentRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT message_id, recipient, version, state, delivered_at_ms FROM outbox \
                 WHERE document_type = $1 AND document_id = $2 ORDER BY version, created_at_ms, message_id",
            )
            .bind(document_type)
            .bind(document_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Sent::try_from).collect()
    }

    /// The ids of the messages [`Store::received_of_types`] lists, without
    /// reading their headers (so a slice indexing them can tell cheaply
    /// whether anything is new).
    pub async fn received_ids_of_types(&self, types: &[&str]) -> Result<Vec<String>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String,)> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT message_id FROM inbox WHERE state IN ('stored', 'acked') AND header IS NOT NULL \
                 AND document_type IN (",
            );
            let mut list = q.separated(", ");
            for t in types {
                list.push_bind(*t);
            }
            list.push_unseparated(")");
            q.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Every message of `types` this node received and stored (verified,
    /// with its receipt), in the order they arrived. Content is read with
    /// [`Store::received`]; withdrawn or purged ones are still listed (see
    /// [`Store::removed`]).
    pub async fn received_of_types(&self, types: &[&str]) -> Result<Vec<ReceivedItem>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ReceivedRow> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT message_id, sender, document_type, received_at_ms, header FROM inbox \
                 WHERE state IN ('stored', 'acked') AND header IS NOT NULL AND document_type IN (",
            );
            let mut list = q.separated(", ");
            for t in types {
                list.push_bind(*t);
            }
            list.push_unseparated(") ORDER BY received_at_ms, message_id");
            q.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(ReceivedItem::try_from).collect()
    }

    /// The messages of `types` this node received and stored that a slice
    /// has not indexed yet: their id is not in the slice's table `indexed`
    /// (a static name with a `message_id` column), in the order they
    /// arrived. Withdrawn or purged ones are listed too (see
    /// [`Store::removed`]).
    pub async fn received_not_in(
        &self,
        types: &[&str],
        indexed: &'static str,
    ) -> Result<Vec<ReceivedItem>> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        if !indexed.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::Config(format!("{indexed:?} is not a table name")));
        }
        let rows: Vec<ReceivedRow> = with_db!(&self.db, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT message_id, sender, document_type, received_at_ms, header FROM inbox \
                 WHERE state IN ('stored', 'acked') AND header IS NOT NULL AND document_type IN (",
            );
            let mut list = q.separated(", ");
            for t in types {
                list.push_bind(*t);
            }
            list.push_unseparated(") AND NOT EXISTS (SELECT 1 FROM ");
            q.push(indexed);
            q.push(" i WHERE i.message_id = inbox.message_id) ORDER BY received_at_ms, message_id");
            q.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(ReceivedItem::try_from).collect()
    }

    /// The labels slices gave these received messages (see
    /// [`Store::label_received`]), by id; a message without one maps to
    /// `None`, a withdrawn or purged one is left out.
    pub async fn received_labels(
        &self,
        message_ids: &[String],
    ) -> Result<HashMap<String, Option<String>>> {
        let mut out = HashMap::with_capacity(message_ids.len());
        for chunk in message_ids.chunks(500) {
            let rows: Vec<(String, Option<String>)> = with_db!(&self.db, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT message_id, label FROM inbox WHERE header IS NOT NULL AND length(payload) > 0 \
                     AND NOT EXISTS (SELECT 1 FROM withdrawn_message w WHERE w.message_id = inbox.message_id) \
                     AND message_id IN (",
                );
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
                q.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Gives a received message a short label for lists (a slice derives it
    /// from the content, e.g. a pupil's name), so that a list need not read
    /// every document. It lives beside the content and is cleared with it
    /// (withdrawal, retention purge); a message whose content is gone gets none.
    pub async fn label_received(&self, message_id: &str, label: &str) -> Result<()> {
        with_db!(&self.db, pool => {
            sqlx::query(
                "UPDATE inbox SET label = $1 WHERE message_id = $2 AND length(payload) > 0 \
                 AND NOT EXISTS (SELECT 1 FROM withdrawn_message w WHERE w.message_id = inbox.message_id)",
            )
            .bind(label)
            .bind(message_id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Of these messages this node sent, the ones it withdrew from their
    /// recipient (a withdrawal notice naming them is queued: the basis they
    /// were released under ended), with when.
    pub async fn withdrawn_sent(&self, message_ids: &[String]) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        if message_ids.is_empty() {
            return Ok(out);
        }
        let rows: Vec<(Vec<u8>, i64)> = with_db!(&self.db, pool => {
            sqlx::query_as("SELECT payload, created_at_ms FROM outbox WHERE document_type = $1")
                .bind(super::inbox::WITHDRAWAL_TYPE)
                .fetch_all(pool)
                .await?
        });
        for (payload, at) in rows {
            let Ok(w) = v1::Withdrawal::decode(payload.as_slice()) else {
                continue;
            };
            for id in w.message_ids {
                if message_ids.contains(&id) {
                    let first = out.entry(id).or_insert(at);
                    *first = (*first).min(at);
                }
            }
        }
        Ok(out)
    }

    /// Of these received messages, the ones their sender withdrew, with
    /// when the withdrawal arrived.
    pub async fn withdrawn_received(&self, message_ids: &[String]) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for chunk in message_ids.chunks(500) {
            let rows: Vec<(String, i64)> = with_db!(&self.db, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT message_id, at_ms FROM withdrawn_message WHERE message_id IN (",
                );
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
                q.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Of these received messages, the ones whose content is gone, and why.
    pub async fn removed(&self, message_ids: &[String]) -> Result<HashMap<String, Removed>> {
        let mut out = HashMap::new();
        if message_ids.is_empty() {
            return Ok(out);
        }
        for chunk in message_ids.chunks(500) {
            let rows: Vec<(String, String)> = with_db!(&self.db, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT message_id, 'withdrawn' FROM withdrawn_message WHERE message_id IN (",
                );
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                list.push_unseparated(") UNION ALL SELECT message_id, 'purged' FROM purged_message WHERE side = 'inbox' AND message_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
                q.build_query_as().fetch_all(pool).await?
            });
            for (id, why) in rows {
                let removed = if why == "withdrawn" {
                    Removed::Withdrawn
                } else {
                    Removed::Purged
                };
                // Withdrawn wins: it says more than the purge that may follow.
                out.entry(id)
                    .and_modify(|r| {
                        if removed == Removed::Withdrawn {
                            *r = removed
                        }
                    })
                    .or_insert(removed);
            }
        }
        Ok(out)
    }
}
