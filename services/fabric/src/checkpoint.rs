//! Audit checkpoints: a node's chain head (sequence number and hash), signed
//! and sent to the SWV periodically, where it is kept. The hash chain shows
//! a record changed, inserted or deleted in the middle; only a copy of the
//! head held elsewhere shows a log cut short at the end (with its head row
//! rewritten). `carenet audit verify` asks the SWV for the latest checkpoint
//! and names a truncation.
//!
//! A checkpoint travels as an ordinary document (`carenet.audit_checkpoint`,
//! ids and hashes only) on the controller's accountability duty (AVG art.
//! 5(2)): signed envelope, receipt and audit like any other. What a node
//! recorded after its latest checkpoint is not covered until the next one
//! (the jobs interval, `purge_interval_secs`, default hourly).

use carenet_proto::v1;
use prost::Message;

use crate::envelope::{Expected, verify_envelope};
use crate::party::{PartyId, PartyKind};
use crate::store::Store;
use crate::store::outbox::NewMessage;
use crate::{Error, Result, with_db};

pub const CHECKPOINT_TYPE: &str = "carenet.audit_checkpoint";
pub const CHECKPOINT_PURPOSE: &str = "audit_checkpoint";
/// The controller must be able to demonstrate compliance (AVG art. 5(2)).
pub const CHECKPOINT_TASK: &str = "avg-art-5-2";
const DOCUMENT_ID: &str = "audit-checkpoint";

/// At a node's start: a checkpoint only if this node sent one before and
/// that is older than `interval_ms` (a node restarted more often than the
/// jobs interval still anchors its log; a new node starts after one interval).
pub async fn send_at_start(store: &Store, now_ms: i64, interval_ms: i64) -> Result<usize> {
    let last: Option<i64> = with_db!(&store.db, pool => {
        sqlx::query_scalar("SELECT MAX(created_at_ms) FROM outbox WHERE document_type = $1")
            .bind(CHECKPOINT_TYPE)
            .fetch_one(pool)
            .await?
    });
    match last {
        Some(at) if now_ms - at >= interval_ms => send_due(store, now_ms).await,
        _ => Ok(0),
    }
}

/// Sends a checkpoint of this node's audit head to every SWV in the
/// directory, if records other than earlier checkpoints' own were added
/// since the last one. Returns how many were queued.
pub async fn send_due(store: &Store, now_ms: i64) -> Result<usize> {
    let Some(directory) = store.directory() else {
        return Ok(0);
    };
    // The SWV keeps the checkpoints; its own log is anchored by its chain.
    if directory
        .get(store.party.as_str())
        .is_none_or(|me| me.kind == PartyKind::Swv)
    {
        return Ok(0);
    }
    let swvs: Vec<PartyId> = directory
        .snapshot()
        .parties()
        .filter(|p| p.kind == PartyKind::Swv && p.id != store.party)
        .map(|p| p.id.clone())
        .collect();
    if swvs.is_empty() {
        return Ok(0);
    }
    let (seq, hash, sent): (i64, Vec<u8>, i64) = with_db!(&store.db, pool => {
        let (seq, hash): (i64, Vec<u8>) =
            sqlx::query_as("SELECT seq, last_hash FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await?;
        let sent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE document_type = $1")
            .bind(CHECKPOINT_TYPE)
            .fetch_one(pool)
            .await?;
        (seq, hash, sent)
    });
    if seq == 0 {
        return Ok(0);
    }
    let last = latest_sent_seq(store).await?;
    let new_records: i64 = with_db!(&store.db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit WHERE seq > $1 AND message_id NOT IN \
             (SELECT message_id FROM outbox WHERE document_type = $2)",
        )
        .bind(last)
        .bind(CHECKPOINT_TYPE)
        .fetch_one(pool)
        .await?
    });
    if new_records == 0 {
        return Ok(0);
    }
    let payload = v1::AuditCheckpoint {
        party: store.party.to_string(),
        seq: seq as u64,
        hash,
        at_ms: now_ms,
    }
    .encode_to_vec();
    let version = u32::try_from(sent / swvs.len() as i64 + 1).unwrap_or(u32::MAX);
    let messages: Vec<NewMessage> = swvs
        .into_iter()
        .map(|swv| NewMessage {
            recipient: swv,
            document_type: CHECKPOINT_TYPE.into(),
            document_id: DOCUMENT_ID.into(),
            version,
            purpose: CHECKPOINT_PURPOSE.into(),
            legal_basis: v1::LegalBasis {
                kind: v1::LegalBasisKind::StatutoryTask as i32,
                reference: CHECKPOINT_TASK.into(),
                consent_receipt: Vec::new(),
            },
            payload: payload.clone(),
            actor: crate::actor::SYSTEM_STAFF.into(),
            child_ref: None,
        })
        .collect();
    Ok(store.enqueue(&messages).await?.len())
}

/// The sequence number of the latest checkpoint this node queued (0: none).
async fn latest_sent_seq(store: &Store) -> Result<i64> {
    let payloads: Vec<Vec<u8>> = with_db!(&store.db, pool => {
        sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE document_type = $1 ORDER BY created_at_ms DESC LIMIT 1",
        )
        .bind(CHECKPOINT_TYPE)
        .fetch_all(pool)
        .await?
    });
    Ok(payloads
        .first()
        .and_then(|p| v1::AuditCheckpoint::decode(p.as_slice()).ok())
        .map_or(0, |c| c.seq as i64))
}

/// A received checkpoint as the inbox holds it.
#[derive(sqlx::FromRow)]
struct CheckpointRow {
    message_id: String,
    header: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// On the SWV: the checkpoints `sender` sent with a sequence number above
/// `after_seq`, lowest first, at most `limit`.
pub async fn list_from(
    store: &Store,
    sender: &str,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<v1::StoredCheckpoint>> {
    let rows: Vec<CheckpointRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT message_id, header, payload, signature FROM inbox WHERE sender = $1 \
             AND document_type = $2 AND state IN ('stored', 'acked') AND header IS NOT NULL",
        )
        .bind(sender)
        .bind(CHECKPOINT_TYPE)
        .fetch_all(pool)
        .await?
    });
    let mut found: Vec<(u64, v1::StoredCheckpoint)> = rows
        .into_iter()
        .filter_map(|r| {
            let seq = v1::AuditCheckpoint::decode(r.payload.as_slice()).ok()?.seq;
            (seq > after_seq).then_some((
                seq,
                v1::StoredCheckpoint {
                    message_id: r.message_id,
                    header: r.header,
                    payload: r.payload,
                    signature: r.signature,
                },
            ))
        })
        .collect();
    found.sort_by_key(|(seq, _)| *seq);
    Ok(found.into_iter().take(limit).map(|(_, c)| c).collect())
}

/// Checks a checkpoint the SWV returned: signed by `party`'s own key, of
/// the checkpoint type, about `party`. Returns it.
pub fn verify(
    party: &str,
    signing_key: &[u8],
    swv: &str,
    answer: &v1::StoredCheckpoint,
) -> Result<v1::AuditCheckpoint> {
    let envelope = v1::SignedEnvelope {
        header: answer.header.clone(),
        payload: answer.payload.clone(),
        signature: answer.signature.clone(),
    };
    let header = verify_envelope(
        "checkpoint",
        &envelope,
        signing_key,
        &Expected {
            message_id: &answer.message_id,
            sender: party,
            recipient: swv,
        },
    )?;
    if header.document_type != CHECKPOINT_TYPE {
        return Err(Error::invalid(
            "checkpoint.document_type",
            "not a checkpoint",
        ));
    }
    let checkpoint = v1::AuditCheckpoint::decode(answer.payload.as_slice())
        .map_err(|_| Error::invalid("checkpoint.payload", "not a checkpoint"))?;
    if checkpoint.party != party {
        return Err(Error::invalid("checkpoint.party", "about another party"));
    }
    Ok(checkpoint)
}

/// Compares this node's log with a verified checkpoint: the record it names
/// must be here, with the same hash. `Err` names a truncation or a change.
pub async fn compare(
    store: &Store,
    checkpoint: &v1::AuditCheckpoint,
) -> Result<std::result::Result<(), String>> {
    let seq = checkpoint.seq as i64;
    let record = crate::audit::list(&store.db, seq - 1, 1).await?;
    Ok(match record.first() {
        Some(r) if r.seq == checkpoint.seq && r.hash == checkpoint.hash => Ok(()),
        Some(r) if r.seq == checkpoint.seq => Err(format!(
            "record {seq} differs from the checkpoint the SWV holds (changed, and the chain rewritten)"
        )),
        _ => Err(format!(
            "truncated: the SWV holds a checkpoint of record {seq}, and this log has no record {seq}"
        )),
    })
}
