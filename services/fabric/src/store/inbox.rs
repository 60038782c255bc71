//! The receiver's side: notifications are recorded once per message id
//! (duplicates are harmless), fetched, verified and stored with a signed receipt
//! in one transaction, and the receipt is sent until the sender has taken it.
//!
//! States: `notified` (to fetch) → `stored` (receipt to send) → `acked`;
//! `refused` when the sender's basis no longer allows release, `rejected` when
//! what arrived did not verify, `dead` after too many failed attempts.

use carenet_proto::v1;
use prost::Message;

use super::Store;
use super::read::InboxState;
use crate::audit::Entry;
use crate::clock::now_ms;
use crate::delivery::RetryPolicy;
use crate::envelope::basis_label;
use crate::{Error, Result, audit_append, with_db};

/// A notified or stored message whose next step is due.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueInbox {
    pub message_id: String,
    pub sender: String,
    pub state: String,
}

/// Document type of a sender's withdrawal of earlier messages.
pub const WITHDRAWAL_TYPE: &str = "carenet.withdrawal";

/// A verified envelope with the receipt that answers it.
pub struct Received {
    pub header: v1::EnvelopeHeader,
    pub envelope: v1::SignedEnvelope,
    pub receipt: v1::SignedReceipt,
}

/// A document as the receiver holds it.
#[derive(Clone, Debug)]
pub struct ReceivedDocument {
    pub header: v1::EnvelopeHeader,
    pub payload: Vec<u8>,
    /// `stored` until the sender has taken the receipt, then `acked`.
    pub state: InboxState,
}

/// A row of `inbox` as [`Store::received`] reads it.
#[derive(sqlx::FromRow)]
struct ReceivedRow {
    header: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
    state: String,
}

impl TryFrom<ReceivedRow> for ReceivedDocument {
    type Error = Error;
    fn try_from(r: ReceivedRow) -> Result<Self> {
        let header = r
            .header
            .as_deref()
            .map(v1::EnvelopeHeader::decode)
            .transpose()
            .map_err(|_| Error::Corrupt("inbox.header".into()))?
            .ok_or_else(|| Error::Corrupt("inbox.header".into()))?;
        Ok(ReceivedDocument {
            header,
            payload: r
                .payload
                .ok_or_else(|| Error::Corrupt("inbox.payload".into()))?,
            state: InboxState::parse("inbox.state", &r.state)?,
        })
    }
}

/// Who an inbox message is from and where it stands.
#[derive(sqlx::FromRow)]
struct SenderState {
    sender: String,
    state: String,
    resends: i64,
}

/// How much one sender may have pending at this node: messages it notified
/// that are not yet fetched, or fetched and stored but whose receipt it has
/// not taken yet (ADR 0007). Over it, a notification of new messages is
/// answered RESOURCE_EXHAUSTED and the sender tries again after its backoff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxQuota {
    /// Pending messages.
    pub rows: i64,
    /// Bytes the pending rows hold: the id and type of a notified one, the
    /// envelope (header, payload, signature) and receipt of a stored one.
    pub bytes: i64,
}

impl Default for InboxQuota {
    fn default() -> Self {
        Self {
            rows: 10_000,
            bytes: 256 * 1024 * 1024,
        }
    }
}

/// What a sender has pending, as [`InboxQuota`] counts it.
#[derive(sqlx::FromRow)]
struct Pending {
    pending_rows: i64,
    pending_bytes: i64,
}

/// A failed attempt as [`Store::mark_inbox_failed`] counts it.
#[derive(sqlx::FromRow)]
struct Attempted {
    attempts: i64,
    state: String,
    notified_at_ms: i64,
}

impl Store {
    /// Records notifications from `sender`. Returns how many it already had;
    /// for those already acknowledged the receipt is sent again.
    /// Each item is (message id, document type, the sender's resend count).
    ///
    /// New messages that would take the sender over its [`InboxQuota`] are
    /// refused all together with [`Error::ResourceExhausted`], and nothing
    /// is recorded; a sender with nothing pending is always taken (one call
    /// of at most [`crate::exchange::MAX_NOTIFY_ITEMS`]), so a quota smaller
    /// than a sender's batch cannot stop it for ever.
    pub async fn record_notified(
        &self,
        sender: &str,
        items: &[(String, String, u32)],
    ) -> Result<u32> {
        let now = now_ms();
        let quota = self.inbox_quota;
        // One sender's notifications are counted one at a time: on
        // PostgreSQL a lock per sender for the transaction (SQLite has one
        // writer), so calls at once cannot each find room.
        let lock = match &self.db {
            super::Db::Postgres(_) => Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"),
            super::Db::Sqlite(_) => None,
        };
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            if let Some(lock) = lock {
                sqlx::query(lock)
                    .bind(format!("carenet.inbox_quota:{sender}"))
                    .execute(&mut *tx)
                    .await?;
            }
            let pending: Pending = sqlx::query_as(
                "SELECT COUNT(*) AS pending_rows, CAST(COALESCE(SUM(LENGTH(message_id) + LENGTH(document_type) \
                 + COALESCE(LENGTH(header), 0) + COALESCE(LENGTH(payload), 0) \
                 + COALESCE(LENGTH(signature), 0) + COALESCE(LENGTH(receipt), 0)), 0) AS BIGINT) AS pending_bytes \
                 FROM inbox WHERE sender = $1 AND state IN ('notified', 'stored')",
            )
            .bind(sender)
            .fetch_one(&mut *tx)
            .await?;
            let mut already = 0u32;
            let mut inserted = std::collections::HashSet::with_capacity(items.len());
            for chunk in items.chunks(1000) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO inbox (message_id, sender, document_type, state, attempts, \
                     next_attempt_at_ms, notified_at_ms, resends) ",
                );
                insert.push_values(chunk, |mut row, (id, doc_type, resends)| {
                    row.push_bind(id)
                        .push_bind(sender)
                        .push_bind(doc_type)
                        .push_bind(InboxState::Notified.as_str())
                        .push_bind(0i64)
                        .push_bind(now)
                        .push_bind(now)
                        .push_bind(i64::from(*resends));
                });
                insert.push(" ON CONFLICT (message_id) DO NOTHING RETURNING message_id");
                let new: Vec<String> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
                inserted.extend(new);
            }
            if !inserted.is_empty() && pending.pending_rows > 0 {
                let new_bytes: i64 = items
                    .iter()
                    .filter(|(id, _, _)| inserted.contains(id))
                    .map(|(id, doc_type, _)| (id.len() + doc_type.len()) as i64)
                    .sum();
                let rows = pending.pending_rows + inserted.len() as i64;
                let bytes = pending.pending_bytes + new_bytes;
                if rows > quota.rows || bytes > quota.bytes {
                    // Dropping the transaction records nothing of the call.
                    return Err(Error::ResourceExhausted(format!(
                        "{} messages ({} bytes) from this sender are pending here and this node \
                         takes at most {} ({} bytes) per sender; notify again later",
                        pending.pending_rows, pending.pending_bytes, quota.rows, quota.bytes
                    )));
                }
            }
            for (i, (id, _, resends)) in items.iter().enumerate() {
                if inserted.contains(id) {
                    continue;
                }
                already += 1;
                let known: SenderState = sqlx::query_as("SELECT sender, state, resends FROM inbox WHERE message_id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                if known.sender != sender {
                    return Err(Error::invalid(
                        format!("items[{i}].message_id"),
                        "already used by another sender",
                    ));
                }
                match InboxState::parse("inbox.state", &known.state)? {
                    InboxState::Acked => {
                        sqlx::query(
                            "UPDATE inbox SET state = 'stored', next_attempt_at_ms = $1 WHERE message_id = $2",
                        )
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // The sender's operator sent it again (`outbox resend`):
                    // what ended here without arriving is fetched afresh,
                    // with a new retry period. A routine re-notification
                    // (same count) leaves it as it is.
                    InboxState::Dead | InboxState::Refused | InboxState::Rejected
                        if i64::from(*resends) > known.resends =>
                    {
                        sqlx::query(
                            "UPDATE inbox SET state = 'notified', attempts = 0, last_error = NULL, \
                             next_attempt_at_ms = $1, notified_at_ms = $1, resends = $2 WHERE message_id = $3",
                        )
                        .bind(now)
                        .bind(i64::from(*resends))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    }
                    _ => {}
                }
            }
            tx.commit().await?;
            Ok(already)
        })
    }

    /// Claims notified or stored messages whose next step is due (see
    /// [`Store::claim_outbox`]: replicas over one database never take the same).
    pub async fn claim_inbox(&self, now: i64, limit: i64, lease_ms: i64) -> Result<Vec<DueInbox>> {
        let sql = super::claim_sql(
            &self.db,
            "inbox",
            "'notified', 'stored'",
            "message_id, sender, state",
        );
        with_db!(&self.db, pool => {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        })
    }

    /// Makes claimed messages due again at once (a fetch deferred them to
    /// keep its answer small).
    pub async fn due_now(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        with_db!(&self.db, pool => {
            let mut update = sqlx::QueryBuilder::new("UPDATE inbox SET next_attempt_at_ms = ");
            update.push_bind(now_ms());
            update.push(" WHERE state = 'notified' AND message_id IN (");
            let mut list = update.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(")");
            update.build().execute(pool).await?;
            Ok(())
        })
    }

    /// Stores verified envelopes with their receipts and audit records, all in
    /// one transaction. A message stored before is left as it is.
    pub async fn store_received(&self, received: &[Received]) -> Result<()> {
        let now = now_ms();
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            for r in received {
                let updated = sqlx::query(
                    "UPDATE inbox SET state = 'stored', document_type = $1, header = $2, payload = $3, \
                     signature = $4, receipt = $5, received_at_ms = $6, next_attempt_at_ms = $8, \
                     attempts = 0, last_error = NULL \
                     WHERE message_id = $7 AND state = 'notified'",
                )
                .bind(&r.header.document_type)
                .bind(&r.envelope.header)
                .bind(&r.envelope.payload)
                .bind(&r.envelope.signature)
                .bind(r.receipt.encode_to_vec())
                .bind(now)
                .bind(&r.header.message_id)
                // The worker that stored it sends the receipt now; it stays
                // claimed meanwhile, so a replica does not send it too.
                .bind(now + crate::delivery::CLAIM_LEASE_MS)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    continue;
                }
                entries.push(Entry {
                    actor: actor.clone(),
                    action: crate::audit::Action::Received.into(),
                    message_id: r.header.message_id.clone(),
                    counterparty: r.header.sender.clone(),
                    purpose: r.header.purpose.clone(),
                    legal_basis: basis_label(r.header.legal_basis.as_ref()),
                    payload_sha256: r.header.payload_sha256.clone(),
                });
            }
            // A withdrawal takes effect in the same transaction as its arrival.
            for r in received.iter().filter(|r| r.header.document_type == WITHDRAWAL_TYPE) {
                let withdrawal = v1::Withdrawal::decode(r.envelope.payload.as_slice())
                    .map_err(|_| Error::invalid("withdrawal", "not a withdrawal"))?;
                for id in &withdrawal.message_ids {
                    // An audit checkpoint is evidence about its sender: it
                    // cannot be withdrawn by it.
                    let hidden = sqlx::query(
                        "UPDATE inbox SET payload = $1, label = NULL WHERE message_id = $2 AND sender = $3 \
                         AND document_type <> $4",
                    )
                    .bind(Vec::<u8>::new())
                    .bind(id)
                    .bind(&r.header.sender)
                    .bind(crate::checkpoint::CHECKPOINT_TYPE)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if hidden == 0 {
                        continue;
                    }
                    sqlx::query(
                        "INSERT INTO withdrawn_message (message_id, sender, withdrawal_id, reason, at_ms) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO NOTHING",
                    )
                    .bind(id)
                    .bind(&r.header.sender)
                    .bind(&r.header.message_id)
                    .bind(&withdrawal.reason)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    entries.push(Entry {
                        actor: actor.clone(),
                        action: crate::audit::Action::Withdrawn.into(),
                        message_id: id.clone(),
                        counterparty: r.header.sender.clone(),
                        purpose: r.header.purpose.clone(),
                        legal_basis: basis_label(r.header.legal_basis.as_ref()),
                        payload_sha256: Vec::new(),
                    });
                }
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            self.arrived.notify_one();
            Ok(())
        })
    }

    /// Ends messages that will not arrive: `refused` by the sender's policy or
    /// `rejected` because what came did not verify. Audited; no payload is kept.
    pub async fn mark_not_received(
        &self,
        state: &str,
        items: &[(String, String, String)],
    ) -> Result<()> {
        let (state, action) = match state {
            "refused" => (
                InboxState::Refused,
                crate::audit::Action::RefusedBySender.as_str(),
            ),
            "rejected" => (
                InboxState::Rejected,
                crate::audit::Action::Rejected.as_str(),
            ),
            _ => return Err(Error::invalid("state", "must be refused or rejected")),
        };
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            for (id, sender, reason) in items {
                sqlx::query(
                    "UPDATE inbox SET state = $1, last_error = $2 WHERE message_id = $3 AND state = 'notified'",
                )
                .bind(state.as_str())
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                entries.push(Entry {
                    actor: actor.clone(),
                    action: action.into(),
                    message_id: id.clone(),
                    counterparty: sender.clone(),
                    ..Entry::default()
                });
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(())
        })
    }

    /// The stored receipts of these messages (those still to be acknowledged).
    pub async fn pending_receipts(
        &self,
        ids: &[String],
    ) -> Result<Vec<(String, v1::SignedReceipt)>> {
        with_db!(&self.db, pool => {
            let mut conn = pool.acquire().await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let row: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT receipt FROM inbox WHERE message_id = $1 AND state = 'stored'")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(bytes) = row {
                    let receipt = bytes
                        .as_deref()
                        .map(v1::SignedReceipt::decode)
                        .transpose()
                        .map_err(|_| Error::Corrupt("inbox.receipt".into()))?
                        .ok_or_else(|| Error::Corrupt("inbox.receipt".into()))?;
                    out.push((id.clone(), receipt));
                }
            }
            Ok(out)
        })
    }

    pub async fn mark_acked(&self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        with_db!(&self.db, pool => {
            let mut update = sqlx::QueryBuilder::new(
                "UPDATE inbox SET state = 'acked', last_error = NULL WHERE state = 'stored' AND message_id IN (",
            );
            let mut list = update.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(")");
            update.build().execute(pool).await?;
            Ok(())
        })
    }

    /// A fetch, a store or an acknowledge failed: back off, or dead-letter a
    /// message still to fetch once the retry period since its notification
    /// has passed.
    pub async fn mark_inbox_failed(
        &self,
        ids: &[String],
        error: &str,
        retry: &RetryPolicy,
    ) -> Result<()> {
        self.inbox_retry(ids, error, retry, true).await
    }

    /// The sender was busy (RESOURCE_EXHAUSTED: too many fetches at once):
    /// back off and fetch again, never dead-lettered for it.
    pub async fn mark_inbox_busy(
        &self,
        ids: &[String],
        error: &str,
        retry: &RetryPolicy,
    ) -> Result<()> {
        self.inbox_retry(ids, error, retry, false).await
    }

    async fn inbox_retry(
        &self,
        ids: &[String],
        error: &str,
        retry: &RetryPolicy,
        may_give_up: bool,
    ) -> Result<()> {
        let now = now_ms();
        let mut dead = Vec::new();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            for id in ids {
                let row: Option<Attempted> = sqlx::query_as(
                    "UPDATE inbox SET attempts = attempts + 1, last_error = $1 \
                     WHERE message_id = $2 AND state IN ('notified', 'stored') \
                     RETURNING attempts, state, notified_at_ms",
                )
                .bind(error)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(Attempted { attempts, state, notified_at_ms }) = row else { continue };
                // A stored message is ours already; only its receipt is late, so it never dies.
                let gives_up = may_give_up
                    && InboxState::parse("inbox.state", &state)? == InboxState::Notified
                    && retry.gives_up(notified_at_ms, now);
                if gives_up {
                    dead.push(id.as_str());
                }
                let next = now + retry.delay_ms(attempts as u32);
                sqlx::query(
                    "UPDATE inbox SET state = CASE WHEN $1 = 1 THEN 'dead' ELSE state END, \
                     next_attempt_at_ms = $2 WHERE message_id = $3",
                )
                .bind(i64::from(gives_up))
                .bind(next)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        })?;
        for id in dead {
            tracing::warn!(message_id = %id, reason = %error, "not received within the retry period; dead-lettered until the sender sends it again");
            self.counters()
                .inbox_dead_lettered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// A received document, if this node holds it.
    pub async fn received(&self, message_id: &str) -> Result<Option<ReceivedDocument>> {
        let row: Option<ReceivedRow> = with_db!(&self.db, pool => {
            sqlx::query_as(
                "SELECT header, payload, state FROM inbox WHERE message_id = $1 AND header IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM withdrawn_message w WHERE w.message_id = inbox.message_id)",
            )
                .bind(message_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(ReceivedDocument::try_from).transpose()
    }

    /// Counts inbox messages in a state.
    pub async fn inbox_count(&self, state: &str) -> Result<i64> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE state = $1")
                .bind(state)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Messages received and stored, whether or not their receipt was taken
    /// yet (one query, so a message moving from stored to acked is counted once).
    pub async fn inbox_received_count(&self) -> Result<i64> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbox WHERE state IN ('stored', 'acked')")
                .fetch_one(pool)
                .await?)
        })
    }

    /// Messages still to fetch or acknowledge whose last attempt failed:
    /// (message id, the reason), oldest first.
    pub async fn list_inbox_errors(&self) -> Result<Vec<(String, String)>> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_as(
                "SELECT message_id, last_error FROM inbox WHERE state IN ('notified', 'stored') \
                 AND last_error IS NOT NULL ORDER BY notified_at_ms, message_id",
            )
            .fetch_all(pool)
            .await?)
        })
    }

    /// Ids of inbox messages in a state, oldest first.
    pub async fn inbox_ids(&self, state: &str) -> Result<Vec<String>> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar("SELECT message_id FROM inbox WHERE state = $1 ORDER BY notified_at_ms, message_id")
                .bind(state)
                .fetch_all(pool)
                .await?)
        })
    }
}

impl Store {
    /// How many received messages their senders have withdrawn.
    pub async fn withdrawn_count(&self) -> Result<i64> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM withdrawn_message").fetch_one(pool).await?)
        })
    }
}
