//! The sender's side: a transactional outbox of messages waiting to be
//! notified, fetched and acknowledged, with per-peer delivery state, retries
//! with backoff and a dead-letter state an operator can resend from.
//!
//! States: `pending` (to notify) → `notified` (waiting for fetch and receipt;
//! notified again if no receipt comes in time) → `delivered`; `dead` after too
//! many failed attempts, until `resend`.

use carenet_proto::v1;
use prost::Message;

use super::Store;
use super::read::OutboxState;
use crate::audit::Entry;
use crate::clock::now_ms;
use crate::crypto::sha256;
use crate::delivery::RetryPolicy;
use crate::envelope::basis_label;
use crate::party::PartyId;
use crate::{Error, Result, audit_append, with_db};

/// A document to send.
#[derive(Clone, Debug)]
pub struct NewMessage {
    pub recipient: PartyId,
    pub document_type: String,
    /// Id shared by all versions of one document.
    pub document_id: String,
    pub version: u32,
    pub purpose: String,
    pub legal_basis: v1::LegalBasis,
    pub payload: Vec<u8>,
    /// Who asked for it to be sent (a staff id, or `system`); never a name.
    pub actor: String,
    /// The child it is about (the holder's own pupil reference), if any: the
    /// parents' "who saw what" view is built from it.
    pub child_ref: Option<String>,
}

/// A message due for (re)notification.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DueMessage {
    pub message_id: String,
    pub recipient: String,
    pub document_type: String,
    pub resends: i64,
}

/// A message as it is about to be released.
#[derive(Clone, Debug)]
pub struct StoredMessage {
    pub message_id: String,
    pub document_id: String,
    pub version: u32,
    pub recipient: String,
    pub document_type: String,
    pub purpose: String,
    pub legal_basis: v1::LegalBasis,
    pub payload: Vec<u8>,
    pub created_at_ms: i64,
    /// The holder's own reference of the child it is about, if any.
    pub child_ref: Option<String>,
}

/// One line of `carenet outbox list`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OutboxItem {
    pub message_id: String,
    pub recipient: String,
    pub document_type: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub last_error: Option<String>,
}

/// A row of `outbox` as [`Store::load_messages`] reads it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    message_id: String,
    document_id: String,
    version: i64,
    recipient: String,
    document_type: String,
    purpose: String,
    legal_basis: Vec<u8>,
    payload: Vec<u8>,
    created_at_ms: i64,
    child_ref: Option<String>,
}

impl TryFrom<StoredRow> for StoredMessage {
    type Error = Error;
    fn try_from(r: StoredRow) -> Result<Self> {
        Ok(StoredMessage {
            version: u32::try_from(r.version)
                .map_err(|_| Error::Corrupt("outbox.version".into()))?,
            legal_basis: v1::LegalBasis::decode(r.legal_basis.as_slice())
                .map_err(|_| Error::Corrupt("outbox.legal_basis".into()))?,
            message_id: r.message_id,
            document_id: r.document_id,
            recipient: r.recipient,
            document_type: r.document_type,
            purpose: r.purpose,
            payload: r.payload,
            created_at_ms: r.created_at_ms,
            child_ref: r.child_ref,
        })
    }
}

/// What [`Store::record_deliveries`] checks a receipt against.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    recipient: String,
    state: String,
    released_sha256: Option<Vec<u8>>,
    purpose: String,
    legal_basis: Vec<u8>,
}

/// A release the sender is about to make, for the audit log.
pub struct Release {
    pub message_id: String,
    /// The legal basis as released (with a fresh consent receipt, if any).
    pub legal_basis: v1::LegalBasis,
    pub recipient: String,
    pub purpose: String,
    pub basis: String,
    pub released_sha256: [u8; 32],
    /// The revocable basis version it was decided on, if any.
    pub hold: Option<crate::policy::Hold>,
}

/// A verified receipt to record.
pub struct Delivery {
    pub message_id: String,
    pub receiver: String,
    pub payload_sha256: Vec<u8>,
    pub receipt: Vec<u8>,
}

fn validate(i: usize, m: &NewMessage, max_payload: usize) -> Result<()> {
    let field = |f: &str| format!("messages[{i}].{f}");
    if !valid_token(&m.document_type) {
        return Err(Error::invalid(
            field("document_type"),
            "1-64 characters of a-z, 0-9, '_' and '.'",
        ));
    }
    if !valid_token(&m.purpose) {
        return Err(Error::invalid(
            field("purpose"),
            "1-64 characters of a-z, 0-9, '_' and '.'",
        ));
    }
    if m.document_id.is_empty() || m.document_id.len() > 128 {
        return Err(Error::invalid(field("document_id"), "1-128 characters"));
    }
    if m.version == 0 {
        return Err(Error::invalid(field("version"), "counts from 1"));
    }
    if m.payload.len() > max_payload {
        return Err(Error::invalid(
            field("payload"),
            format!(
                "{} bytes, more than this node sends in one document ({max_payload} bytes, delivery.max_payload_bytes)",
                m.payload.len()
            ),
        ));
    }
    Ok(())
}

/// Document types and purposes: short lowercase tokens.
pub fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// The audit record of queueing one message.
pub fn queued_entry(m: &NewMessage, id: &str) -> Entry {
    Entry {
        actor: m.actor.clone(),
        action: crate::audit::Action::Queued.into(),
        message_id: id.to_owned(),
        counterparty: m.recipient.to_string(),
        purpose: m.purpose.clone(),
        legal_basis: basis_label(Some(&m.legal_basis)),
        payload_sha256: sha256(&m.payload).to_vec(),
    }
}

/// Inserts `$messages` (already [`Store::prepare`]d, with `$ids`) into the outbox
/// inside transaction `$tx`, and pushes their audit entries onto `$entries`
/// (append them with `audit_append!` before commit). Lets other services queue
/// messages in the same transaction as their own change; after the commit
/// they call [`Store::wake_outbox`].
#[macro_export]
macro_rules! outbox_enqueue {
    ($tx:expr, $messages:expr, $ids:expr, $entries:expr) => {{
        let messages: &[$crate::store::outbox::NewMessage] = $messages;
        let ids: &[String] = $ids;
        let now = $crate::clock::now_ms();
        for chunk in messages.iter().zip(ids).collect::<Vec<_>>().chunks(500) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO outbox (message_id, document_id, version, recipient, document_type, \
                 purpose, legal_basis, payload, created_at_ms, state, attempts, next_attempt_at_ms, child_ref) ",
            );
            insert.push_values(chunk, |mut row, (m, id)| {
                row.push_bind(*id)
                    .push_bind(&m.document_id)
                    .push_bind(i64::from(m.version))
                    .push_bind(m.recipient.as_str())
                    .push_bind(&m.document_type)
                    .push_bind(&m.purpose)
                    .push_bind(prost::Message::encode_to_vec(&m.legal_basis))
                    .push_bind(&m.payload)
                    .push_bind(now)
                    .push_bind($crate::store::read::OutboxState::Pending.as_str())
                    .push_bind(0i64)
                    .push_bind(now)
                    .push_bind(&m.child_ref);
            });
            insert.build().execute(&mut *$tx).await?;
        }
        for (m, id) in messages.iter().zip(ids) {
            $entries.push($crate::store::outbox::queued_entry(m, id));
        }
    }};
}

impl Store {
    /// Validates messages to queue and gives each its message id. Each must
    /// be of a registered document type, for one of its purposes and legal
    /// bases, and (when the store knows the directory) from this party's kind
    /// to a recipient kind the type allows. A refusal is audited and names the
    /// field; nothing is queued.
    ///
    /// Call it before opening the transaction that enqueues (with
    /// [`crate::outbox_enqueue!`]): a refusal writes its audit record in a
    /// transaction of its own, which on SQLite (one connection) would wait for
    /// the connection an open transaction holds.
    pub async fn prepare(&self, messages: &[NewMessage]) -> Result<Vec<String>> {
        for (i, m) in messages.iter().enumerate() {
            validate(i, m, self.max_payload())?;
        }
        for (i, m) in messages.iter().enumerate() {
            if let Err(refusal) = self.check_send(m) {
                let entry = Entry {
                    actor: m.actor.clone(),
                    action: crate::audit::Action::SendRefused.into(),
                    counterparty: m.recipient.to_string(),
                    purpose: m.purpose.clone(),
                    legal_basis: basis_label(Some(&m.legal_basis)),
                    ..Entry::default()
                };
                crate::audit::append(&self.db, std::slice::from_ref(&entry)).await?;
                return Err(Error::PermissionDenied(format!(
                    "messages[{i}].document_type: {refusal}"
                )));
            }
        }
        Ok(messages
            .iter()
            .map(|_| uuid::Uuid::new_v4().hyphenated().to_string())
            .collect())
    }

    /// The registry's word on one message this node is about to send.
    fn check_send(&self, m: &NewMessage) -> std::result::Result<(), crate::slice::Refusal> {
        let kinds = self.directory().and_then(|d| {
            let snapshot = d.snapshot();
            Some((
                snapshot.get(self.party.as_str())?.kind,
                snapshot.get(m.recipient.as_str())?.kind,
            ))
        });
        match kinds {
            Some((sender, recipient)) => self
                .registry
                .check(&crate::slice::Check {
                    document_type: &m.document_type,
                    purpose: &m.purpose,
                    legal_basis: Some(&m.legal_basis),
                    sender,
                    recipient,
                })
                .map(|_| ()),
            // Without the directory the flow is checked before notifying.
            None => {
                self.registry
                    .check_unrouted(&m.document_type, &m.purpose, Some(&m.legal_basis))
            }
        }
    }

    /// Ends sends the registry refuses before they are notified (the flow
    /// from this party's kind to the recipient's is not registered): `dead`,
    /// with the reason and an audit record each.
    pub async fn refuse_sends(&self, refused: &[(String, String, String)]) -> Result<()> {
        if refused.is_empty() {
            return Ok(());
        }
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries = Vec::with_capacity(refused.len());
            for (id, recipient, reason) in refused {
                sqlx::query("UPDATE outbox SET state = 'dead', last_error = $1 WHERE message_id = $2 AND state IN ('pending', 'notified')")
                    .bind(format!("send refused: {reason}"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                entries.push(Entry {
                    actor: actor.clone(),
                    action: crate::audit::Action::SendRefused.into(),
                    message_id: id.clone(),
                    counterparty: recipient.clone(),
                    ..Entry::default()
                });
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Queues messages, each with its audit record, in one transaction.
    /// Returns their message ids.
    pub async fn enqueue(&self, messages: &[NewMessage]) -> Result<Vec<String>> {
        let ids = self.prepare(messages).await?;
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            outbox_enqueue!(tx, messages, &ids, &mut entries);
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok::<_, Error>(())
        })?;
        self.wake_outbox();
        Ok(ids)
    }

    /// Claims messages whose (re)notification is due, oldest first: each is
    /// pushed `lease_ms` into the future in the same statement, so another
    /// process over the same database (a replica) does not take it too; the
    /// outcome of the attempt then sets its real next time. A process that
    /// stops mid-way leaves its claims to expire.
    pub async fn claim_outbox(
        &self,
        now: i64,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<DueMessage>> {
        let sql = super::claim_sql(
            &self.db,
            "outbox",
            "'pending', 'notified'",
            "message_id, recipient, document_type, resends",
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

    /// The recipient took the notification: wait for its receipt until
    /// `retry_at`. Each notification counts as an attempt; a recipient that
    /// takes notifications but never sends a receipt is given up on after
    /// the retry period, like one that cannot be reached.
    pub async fn mark_notified(
        &self,
        ids: &[String],
        retry_at: i64,
        retry: &RetryPolicy,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let dead: Vec<(String, String)> = with_db!(&self.db, pool => {
            let mut update = sqlx::QueryBuilder::new(
                "UPDATE outbox SET attempts = attempts + 1, state = CASE WHEN COALESCE(retry_since_ms, created_at_ms) <= ",
            );
            update.push_bind(now - retry.give_up_after_ms);
            update.push(" THEN 'dead' ELSE 'notified' END, last_error = CASE WHEN COALESCE(retry_since_ms, created_at_ms) <= ");
            update.push_bind(now - retry.give_up_after_ms);
            update.push(" THEN 'notified, but no receipt came' ELSE NULL END, next_attempt_at_ms = ");
            update.push_bind(retry_at);
            update.push(" WHERE state IN ('pending', 'notified') AND message_id IN (");
            let mut list = update.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(") RETURNING message_id, state");
            update.build_query_as().fetch_all(pool).await?
        });
        self.count_dead_sent(
            dead.iter()
                .filter(|(_, s)| s == "dead")
                .map(|(id, _)| id.as_str()),
            "notified, but no receipt came",
        );
        Ok(())
    }

    /// WARN and count messages this node gave up sending.
    fn count_dead_sent<'a>(&self, ids: impl Iterator<Item = &'a str>, reason: &str) {
        for id in ids {
            tracing::warn!(message_id = %id, %reason, "dead-lettered after the retry period; `carenet outbox resend` sends it again");
            self.counters
                .outbox_dead_lettered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Notification failed: back off, or dead-letter once the retry period
    /// since queueing has passed.
    pub async fn mark_outbox_failed(
        &self,
        ids: &[String],
        error: &str,
        retry: &RetryPolicy,
    ) -> Result<()> {
        self.outbox_retry(ids, error, retry, true).await
    }

    /// The recipient was busy (RESOURCE_EXHAUSTED: over its quota for this
    /// node): back off and notify again, however long it takes. A message is
    /// never dead-lettered, refused or lost for it.
    pub async fn mark_outbox_busy(
        &self,
        ids: &[String],
        error: &str,
        retry: &RetryPolicy,
    ) -> Result<()> {
        self.outbox_retry(ids, error, retry, false).await
    }

    async fn outbox_retry(
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
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $1 \
                     WHERE message_id = $2 AND state IN ('pending', 'notified') \
                     RETURNING attempts, COALESCE(retry_since_ms, created_at_ms)",
                )
                .bind(error)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((attempts, created_at_ms)) = row else { continue };
                let (state, next) = if may_give_up && retry.gives_up(created_at_ms, now) {
                    dead.push(id.as_str());
                    (OutboxState::Dead, now)
                } else {
                    (OutboxState::Pending, now + retry.delay_ms(attempts as u32))
                };
                // A busy recipient is alive and asked to wait: the retry
                // period (for one that does not answer) starts again.
                sqlx::query(
                    "UPDATE outbox SET state = $1, next_attempt_at_ms = $2, \
                     retry_since_ms = CASE WHEN $4 = 1 THEN retry_since_ms ELSE $5 END \
                     WHERE message_id = $3",
                )
                .bind(state.as_str())
                .bind(next)
                .bind(id)
                .bind(i64::from(may_give_up))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok::<_, Error>(())
        })?;
        self.count_dead_sent(dead.into_iter(), error);
        Ok(())
    }

    /// The payload size in bytes of each of these messages that exists.
    pub async fn payload_sizes(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, i64>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let rows: Vec<(String, i64)> = with_db!(&self.db, pool => {
            let mut select = sqlx::QueryBuilder::new(
                "SELECT message_id, CAST(LENGTH(payload) AS BIGINT) FROM outbox WHERE message_id IN (",
            );
            let mut list = select.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(")");
            select.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Loads messages for release, in the order asked; `None` for unknown ids.
    pub async fn load_messages(&self, ids: &[String]) -> Result<Vec<Option<StoredMessage>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: std::collections::HashMap<String, StoredMessage> = with_db!(&self.db, pool => {
            let mut select = sqlx::QueryBuilder::new(
                "SELECT message_id, document_id, version, recipient, document_type, purpose, \
                 legal_basis, payload, created_at_ms, child_ref FROM outbox \
                 WHERE NOT EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = outbox.message_id AND p.side = 'outbox') \
                 AND message_id IN (",
            );
            let mut list = select.separated(", ");
            for id in ids {
                list.push_bind(id);
            }
            list.push_unseparated(")");
            let rows: Vec<StoredRow> = select.build_query_as().fetch_all(pool).await?;
            let mut found = std::collections::HashMap::with_capacity(rows.len());
            for r in rows {
                let m = StoredMessage::try_from(r)?;
                found.insert(m.message_id.clone(), m);
            }
            Ok::<_, Error>(found)
        })?;
        Ok(ids.iter().map(|id| found.remove(id)).collect())
    }

    /// Records releases and refusals with their audit records, in one
    /// transaction. A release whose [`crate::policy::Hold`] no longer holds
    /// (its consent was withdrawn or changed since the decision) is refused
    /// instead; returns those (message id, reason), whose envelopes must not
    /// leave.
    pub async fn record_releases(
        &self,
        releases: &[Release],
        refused: &[(StoredMessage, String)],
    ) -> Result<Vec<(String, String)>> {
        let actor = self.party.to_string();
        let hold_sql = match &self.db {
            super::Db::Postgres(_) => super::basis::HOLD_SQL_POSTGRES,
            super::Db::Sqlite(_) => super::basis::HOLD_SQL_SQLITE,
        };
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            let mut stale = Vec::new();
            // Take each basis row once, in one order, so that two fetches
            // holding the same bases cannot deadlock.
            let references: std::collections::BTreeSet<&str> = releases
                .iter()
                .filter_map(|r| r.hold.as_ref().map(|h| h.reference.as_str()))
                .collect();
            let mut versions = std::collections::HashMap::with_capacity(references.len());
            for reference in references {
                let version: Option<i64> = sqlx::query_scalar(hold_sql)
                    .bind(reference)
                    .fetch_optional(&mut *tx)
                    .await?;
                versions.insert(reference, version);
            }
            for r in releases {
                if let Some(hold) = &r.hold {
                    let now = versions.get(hold.reference.as_str()).copied().flatten();
                    if now != Some(hold.version) {
                        let reason = "the basis changed while it was released".to_owned();
                        sqlx::query("UPDATE outbox SET state = 'dead', last_error = $1 WHERE message_id = $2 AND state <> 'delivered'")
                            .bind(format!("release refused: {reason}"))
                            .bind(&r.message_id)
                            .execute(&mut *tx)
                            .await?;
                        entries.push(Entry {
                            actor: actor.clone(),
                            action: crate::audit::Action::ReleaseRefused.into(),
                            message_id: r.message_id.clone(),
                            counterparty: r.recipient.clone(),
                            purpose: r.purpose.clone(),
                            legal_basis: r.basis.clone(),
                            payload_sha256: Vec::new(),
                        });
                        stale.push((r.message_id.clone(), reason));
                        continue;
                    }
                }
                sqlx::query("UPDATE outbox SET released_sha256 = $1, released_basis = $2 WHERE message_id = $3")
                    .bind(&r.released_sha256[..])
                    .bind(r.legal_basis.encode_to_vec())
                    .bind(&r.message_id)
                    .execute(&mut *tx)
                    .await?;
                entries.push(Entry {
                    actor: actor.clone(),
                    action: crate::audit::Action::Released.into(),
                    message_id: r.message_id.clone(),
                    counterparty: r.recipient.clone(),
                    purpose: r.purpose.clone(),
                    legal_basis: r.basis.clone(),
                    payload_sha256: r.released_sha256.to_vec(),
                });
            }
            for (m, reason) in refused {
                sqlx::query("UPDATE outbox SET state = 'dead', last_error = $1 WHERE message_id = $2 AND state <> 'delivered'")
                    .bind(format!("release refused: {reason}"))
                    .bind(&m.message_id)
                    .execute(&mut *tx)
                    .await?;
                entries.push(Entry {
                    actor: actor.clone(),
                    action: crate::audit::Action::ReleaseRefused.into(),
                    message_id: m.message_id.clone(),
                    counterparty: m.recipient.clone(),
                    purpose: m.purpose.clone(),
                    legal_basis: basis_label(Some(&m.legal_basis)),
                    payload_sha256: Vec::new(),
                });
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(stale)
        })
    }

    /// Records verified receipts. All or nothing: an unknown message, a receipt
    /// from another party than the recipient or for other bytes than were
    /// released rolls the whole batch back. Returns how many were new.
    pub async fn record_deliveries(&self, deliveries: &[Delivery]) -> Result<u32> {
        let now = now_ms();
        let actor = self.party.to_string();
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            let mut new = 0u32;
            for (i, d) in deliveries.iter().enumerate() {
                let row: DeliveryRow = sqlx::query_as(
                    "SELECT recipient, state, released_sha256, purpose, legal_basis \
                     FROM outbox WHERE message_id = $1",
                )
                .bind(&d.message_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::NotFound(format!("receipts[{i}]: message")))?;
                if row.recipient != d.receiver {
                    return Err(Error::PermissionDenied(format!(
                        "receipts[{i}]: message is not addressed to the caller"
                    )));
                }
                if row.released_sha256.as_deref() != Some(d.payload_sha256.as_slice()) {
                    return Err(Error::invalid(
                        format!("receipts[{i}].payload_sha256"),
                        "does not match what was released",
                    ));
                }
                if OutboxState::parse("outbox.state", &row.state)? == OutboxState::Delivered {
                    continue;
                }
                // Only for the audit label: a basis that does not decode is recorded as `none`.
                let basis = v1::LegalBasis::decode(row.legal_basis.as_slice()).ok();
                // Conditional, so that two receipts for one message taken at
                // once (replicas, a resent receipt) record one delivery.
                let updated = sqlx::query(
                    "UPDATE outbox SET state = 'delivered', delivered_at_ms = $1, receipt = $2, \
                     last_error = NULL WHERE message_id = $3 AND state <> 'delivered'",
                )
                .bind(now)
                .bind(&d.receipt)
                .bind(&d.message_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    continue;
                }
                entries.push(Entry {
                    actor: actor.clone(),
                    action: crate::audit::Action::Delivered.into(),
                    message_id: d.message_id.clone(),
                    counterparty: d.receiver.clone(),
                    purpose: row.purpose,
                    legal_basis: basis_label(basis.as_ref()),
                    payload_sha256: d.payload_sha256.clone(),
                });
                new += 1;
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(new)
        })
    }

    /// Outbox lines, optionally of one state, oldest first.
    pub async fn list_outbox(&self, state: Option<&str>, limit: i64) -> Result<Vec<OutboxItem>> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_as(
                "SELECT message_id, recipient, document_type, state, attempts, next_attempt_at_ms, \
                 last_error FROM outbox WHERE ($1 IS NULL OR state = $1) \
                 ORDER BY created_at_ms, message_id LIMIT $2",
            )
            .bind(state)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Counts per outbox state.
    pub async fn outbox_count(&self, state: &str) -> Result<i64> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = $1")
                .bind(state)
                .fetch_one(pool)
                .await?)
        })
    }

    /// Puts dead-lettered messages (all, or the ones named) back in the queue.
    /// Returns how many.
    pub async fn resend(&self, ids: Option<&[String]>, actor: &str) -> Result<u64> {
        let now = now_ms();
        let dead = self
            .list_outbox(Some(OutboxState::Dead.as_str()), i64::MAX)
            .await?;
        let chosen: Vec<&OutboxItem> = dead
            .iter()
            .filter(|d| ids.is_none_or(|ids| ids.contains(&d.message_id)))
            .collect();
        if let Some(ids) = ids
            && let Some(missing) = ids
                .iter()
                .find(|id| !dead.iter().any(|d| &d.message_id == *id))
        {
            return Err(Error::NotFound(format!("dead-lettered message {missing}")));
        }
        with_db!(&self.db, pool => {
            let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
            let mut entries: Vec<Entry> = Vec::new();
            for d in &chosen {
                sqlx::query(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at_ms = $1, \
                     last_error = NULL, resends = resends + 1, retry_since_ms = $1 \
                     WHERE message_id = $2 AND state = 'dead'",
                )
                .bind(now)
                .bind(&d.message_id)
                .execute(&mut *tx)
                .await?;
                entries.push(Entry {
                    actor: actor.to_owned(),
                    action: crate::audit::Action::Resend.into(),
                    message_id: d.message_id.clone(),
                    counterparty: d.recipient.clone(),
                    ..Entry::default()
                });
            }
            audit_append!(tx, &entries);
            tx.commit().await?;
            Ok(chosen.len() as u64)
        })
    }
}

impl Store {
    /// Milliseconds from queueing to receipt of every delivered message (for benchmarks).
    pub async fn delivery_latencies_ms(&self) -> Result<Vec<i64>> {
        with_db!(&self.db, pool => {
            Ok(sqlx::query_scalar(
                "SELECT delivered_at_ms - created_at_ms FROM outbox WHERE state = 'delivered' ORDER BY 1",
            )
            .fetch_all(pool)
            .await?)
        })
    }
}
