//! The append-only, hash-chained audit log of one node.
//!
//! Every record carries the hash of the one before it; `audit_head` holds the
//! sequence number and hash of the last record, and its row lock serialises
//! appends on PostgreSQL as the single writer does on SQLite. Records are
//! appended with [`audit_append!`] inside the transaction of the action they
//! record, so an action without its audit record cannot commit (fail closed).
//! [`verify`] finds a changed, inserted or deleted record and names the first.
//!
//! Records hold ids, party ids, purposes, bases and hashes: never personal data.
//! The chain proves integrity against a careless or partial edit; against an
//! operator who rewrites the whole chain, the counterparty's copy (both sides
//! record every release and receipt, see `Audit.ListShared`) is the check.

use carenet_proto::v1;

use crate::crypto::sha256;
use crate::store::Db;
use crate::{Result, with_db};

/// What the fabric itself records. Slices name their own actions (a slice's
/// role table names each staff action, `refused:<action>` its refusal); the
/// log holds them all as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// A message was put in the outbox.
    Queued,
    /// The registry refused a message at the sender.
    SendRefused,
    /// The receiver's registry refused a notification.
    NotifyRefused,
    /// The RPC gate refused a call.
    RpcRefused,
    /// The sender released a message to its recipient.
    Released,
    /// The sender refused a release (basis, registry).
    ReleaseRefused,
    /// The recipient's signed receipt came in.
    Delivered,
    /// The recipient stored a verified message.
    Received,
    /// What arrived did not verify or was not allowed.
    Rejected,
    /// The sender refused to release what was notified.
    RefusedBySender,
    /// Content was withdrawn by its sender (its basis ended).
    Withdrawn,
    /// Content was deleted at the end of its retention period.
    Purged,
    /// An operator put a dead-lettered message back in the queue.
    Resend,
}

crate::text_enum!(Action {
    Queued => "queued",
    SendRefused => "send_refused",
    NotifyRefused => "notify_refused",
    RpcRefused => "rpc_refused",
    Released => "released",
    ReleaseRefused => "release_refused",
    Delivered => "delivered",
    Received => "received",
    Rejected => "rejected",
    RefusedBySender => "refused_by_sender",
    Withdrawn => "withdrawn",
    Purged => "purged",
    Resend => "resend",
});

/// What one audit record says.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub actor: String,
    pub action: String,
    pub message_id: String,
    pub counterparty: String,
    pub purpose: String,
    pub legal_basis: String,
    pub payload_sha256: Vec<u8>,
}

/// What an aggregated record adds to its [`Entry`]: how many refusals of
/// one kind from one party it stands for, and when the first and the last
/// of them came ([`crate::refusals`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tally {
    pub occurrences: i64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
}

/// The hash of a record: its content and the hash of the record before it.
pub fn chain_hash(seq: i64, at_ms: i64, e: &Entry, prev_hash: &[u8]) -> [u8; 32] {
    record_hash(seq, at_ms, e, None, prev_hash)
}

/// The hash of a record that may be an aggregate. A record without a tally
/// hashes as it always did; an aggregate hashes under its own tag with its
/// count and times, so neither can pass for the other.
pub fn record_hash(
    seq: i64,
    at_ms: i64,
    e: &Entry,
    tally: Option<&Tally>,
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(match tally {
        None => b"carenet-audit-v1".as_slice(),
        Some(_) => b"carenet-audit-v1-tally".as_slice(),
    });
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&at_ms.to_be_bytes());
    for field in [
        e.actor.as_bytes(),
        e.action.as_bytes(),
        e.message_id.as_bytes(),
        e.counterparty.as_bytes(),
        e.purpose.as_bytes(),
        e.legal_basis.as_bytes(),
        &e.payload_sha256,
        prev_hash,
    ] {
        buf.extend_from_slice(&(field.len() as u32).to_be_bytes());
        buf.extend_from_slice(field);
    }
    if let Some(t) = tally {
        for n in [t.occurrences, t.first_at_ms, t.last_at_ms] {
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
    sha256(&buf)
}

/// Records appended with one statement at most.
pub const APPEND_CHUNK: usize = 500;

/// One record's place in the chain.
pub struct Link {
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: [u8; 32],
}

/// Chains `entries` after `prev_hash`, the first at sequence number `first_seq`.
pub fn chain(first_seq: i64, at_ms: i64, entries: &[Entry], prev_hash: Vec<u8>) -> Vec<Link> {
    chain_tallied(
        first_seq,
        at_ms,
        entries.iter().map(|e| (e, None)),
        prev_hash,
    )
}

/// [`chain`] for records that may be aggregates.
pub fn chain_tallied<'a>(
    first_seq: i64,
    at_ms: i64,
    records: impl ExactSizeIterator<Item = (&'a Entry, Option<&'a Tally>)>,
    mut prev_hash: Vec<u8>,
) -> Vec<Link> {
    let mut links = Vec::with_capacity(records.len());
    for (i, (e, tally)) in records.enumerate() {
        let seq = first_seq + i as i64;
        let hash = record_hash(seq, at_ms, e, tally, &prev_hash);
        links.push(Link {
            seq,
            prev_hash: std::mem::replace(&mut prev_hash, hash.to_vec()),
            hash,
        });
    }
    links
}

/// The chain head as `audit_head` holds it: the sequence number and hash of
/// the last record. Public because [`audit_append!`] reads it in the crate
/// that expands it.
#[derive(Debug, sqlx::FromRow)]
pub struct HeadRow {
    pub seq: i64,
    pub last_hash: Vec<u8>,
}

/// Appends `$entries` (a `&[audit::Entry]`) to the chain inside transaction
/// `$tx`: one head update, one multi-row insert and one head update per chunk,
/// whatever the number of records.
#[macro_export]
macro_rules! audit_append {
    ($tx:expr, $entries:expr) => {{
        let entries: &[$crate::audit::Entry] = $entries;
        for chunk in entries.chunks($crate::audit::APPEND_CHUNK) {
            let n = chunk.len() as i64;
            let head: $crate::audit::HeadRow = sqlx::query_as(
                "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, last_hash",
            )
            .bind(n)
            .fetch_one(&mut *$tx)
            .await?;
            let at_ms = $crate::clock::now_ms();
            let links = $crate::audit::chain(head.seq - n + 1, at_ms, chunk, head.last_hash);
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit (seq, at_ms, actor, action, message_id, counterparty, purpose, \
                 legal_basis, payload_sha256, prev_hash, hash) ",
            );
            insert.push_values(chunk.iter().zip(&links), |mut row, (e, link)| {
                row.push_bind(link.seq)
                    .push_bind(at_ms)
                    .push_bind(&e.actor)
                    .push_bind(&e.action)
                    .push_bind(&e.message_id)
                    .push_bind(&e.counterparty)
                    .push_bind(&e.purpose)
                    .push_bind(&e.legal_basis)
                    .push_bind(&e.payload_sha256)
                    .push_bind(&link.prev_hash)
                    .push_bind(&link.hash[..]);
            });
            insert.build().execute(&mut *$tx).await?;
            if let Some(last) = links.last() {
                sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
                    .bind(&last.hash[..])
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// Appends aggregated records (`$records`, a `&[(audit::Entry, audit::Tally)]`)
/// to the chain inside transaction `$tx`, as [`audit_append!`] does for
/// single ones ([`crate::refusals`] is the one caller).
#[doc(hidden)]
#[macro_export]
macro_rules! audit_append_tallied {
    ($tx:expr, $records:expr) => {{
        let records: &[($crate::audit::Entry, $crate::audit::Tally)] = $records;
        for chunk in records.chunks($crate::audit::APPEND_CHUNK) {
            let n = chunk.len() as i64;
            let head: $crate::audit::HeadRow = sqlx::query_as(
                "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, last_hash",
            )
            .bind(n)
            .fetch_one(&mut *$tx)
            .await?;
            let at_ms = $crate::clock::now_ms();
            let links = $crate::audit::chain_tallied(
                head.seq - n + 1,
                at_ms,
                chunk.iter().map(|(e, t)| (e, Some(t))),
                head.last_hash,
            );
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO audit (seq, at_ms, actor, action, message_id, counterparty, purpose, \
                 legal_basis, payload_sha256, prev_hash, hash, occurrences, first_at_ms, last_at_ms) ",
            );
            insert.push_values(chunk.iter().zip(&links), |mut row, ((e, t), link)| {
                row.push_bind(link.seq)
                    .push_bind(at_ms)
                    .push_bind(&e.actor)
                    .push_bind(&e.action)
                    .push_bind(&e.message_id)
                    .push_bind(&e.counterparty)
                    .push_bind(&e.purpose)
                    .push_bind(&e.legal_basis)
                    .push_bind(&e.payload_sha256)
                    .push_bind(&link.prev_hash)
                    .push_bind(&link.hash[..])
                    .push_bind(t.occurrences)
                    .push_bind(t.first_at_ms)
                    .push_bind(t.last_at_ms);
            });
            insert.build().execute(&mut *$tx).await?;
            if let Some(last) = links.last() {
                sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
                    .bind(&last.hash[..])
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// In one transaction on `$db`: runs `$body`, which evaluates to
/// `(value, entries)`, appends `entries` to the audit chain and commits; the
/// whole expression is `value`. Either the change and its audit records are
/// both there, or neither is. `$tx` names the transaction inside `$body`
/// (`&mut *$tx` is an executor); `?` inside returns from the caller.
#[macro_export]
macro_rules! audited {
    ($db:expr, $tx:ident => $body:expr) => {
        $crate::with_db!($db, pool => {
            let mut $tx = $crate::store::BeginWrite::begin_write(pool).await?;
            let (value, entries): (_, Vec<$crate::audit::Entry>) = $body;
            $crate::audit_append!($tx, &entries);
            $tx.commit().await?;
            value
        })
    };
}

/// Appends `entries` in a transaction of their own: for refusals, which
/// change nothing else.
pub async fn append(db: &Db, entries: &[Entry]) -> Result<()> {
    with_db!(db, pool => {
        let mut tx = crate::store::BeginWrite::begin_write(pool).await?;
        crate::audit_append!(tx, entries);
        tx.commit().await?;
        Ok(())
    })
}

/// One row of `audit`, as [`SELECT_RECORDS`] reads it.
#[derive(sqlx::FromRow)]
struct AuditRow {
    seq: i64,
    at_ms: i64,
    actor: String,
    action: String,
    message_id: String,
    counterparty: String,
    purpose: String,
    legal_basis: String,
    payload_sha256: Vec<u8>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    occurrences: Option<i64>,
    first_at_ms: Option<i64>,
    last_at_ms: Option<i64>,
}

impl From<AuditRow> for v1::AuditRecord {
    fn from(r: AuditRow) -> Self {
        v1::AuditRecord {
            // Sequence numbers count from 1: the cast keeps the value.
            seq: r.seq as u64,
            at_ms: r.at_ms,
            actor: r.actor,
            action: r.action,
            message_id: r.message_id,
            counterparty: r.counterparty,
            purpose: r.purpose,
            legal_basis: r.legal_basis,
            payload_sha256: r.payload_sha256,
            prev_hash: r.prev_hash,
            hash: r.hash,
            // Counts are positive; a stored count that is not reads as none.
            occurrences: r
                .occurrences
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            first_at_ms: r.first_at_ms.unwrap_or(0),
            last_at_ms: r.last_at_ms.unwrap_or(0),
        }
    }
}

/// The tally of an aggregated record, `None` for a single event.
pub fn tally_of(r: &v1::AuditRecord) -> Option<Tally> {
    (r.occurrences > 0).then(|| Tally {
        occurrences: i64::try_from(r.occurrences).unwrap_or(i64::MAX),
        first_at_ms: r.first_at_ms,
        last_at_ms: r.last_at_ms,
    })
}

const SELECT_RECORDS: &str = "SELECT seq, at_ms, actor, action, message_id, counterparty, purpose, \
     legal_basis, payload_sha256, prev_hash, hash, occurrences, first_at_ms, last_at_ms FROM audit";

/// Records after `after_seq` in order, at most `limit`.
pub async fn list(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<v1::AuditRecord>> {
    select_records(db, None, after_seq, limit).await
}

/// Records that name `counterparty`, after `after_seq`, at most `limit`.
pub async fn list_shared(
    db: &Db,
    counterparty: &str,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<v1::AuditRecord>> {
    select_records(db, Some(counterparty), after_seq, limit).await
}

async fn select_records(
    db: &Db,
    counterparty: Option<&str>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<v1::AuditRecord>> {
    with_db!(db, pool => {
        let mut select = sqlx::QueryBuilder::new(SELECT_RECORDS);
        select.push(" WHERE seq > ").push_bind(after_seq);
        if let Some(c) = counterparty {
            select.push(" AND counterparty = ").push_bind(c);
        }
        select.push(" ORDER BY seq LIMIT ").push_bind(limit);
        let rows: Vec<AuditRow> = select.build_query_as().fetch_all(pool).await?;
        Ok(rows.into_iter().map(v1::AuditRecord::from).collect())
    })
}

/// (message id, recipient) of every release made under `basis` (an audit
/// basis label such as `consent:<record id>`).
pub async fn released_under(db: &Db, basis: &str) -> Result<Vec<(String, String)>> {
    with_db!(db, pool => {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT message_id, counterparty FROM audit WHERE action = $1 AND legal_basis = $2",
        )
        .bind(Action::Released.as_str())
        .bind(basis)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    })
}

/// The legal basis (as the audit log names it, e.g. `consent:<record>/<v>`)
/// under which message `message_id` was released, if it was.
pub async fn release_basis(db: &Db, message_id: &str) -> Result<Option<String>> {
    with_db!(db, pool => {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT legal_basis FROM audit WHERE action = $1 AND message_id = $2 ORDER BY seq LIMIT 1",
        )
        .bind(Action::Released.as_str())
        .bind(message_id)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|(b,)| b))
    })
}

/// One record of what was done with a child's data, from this node's log.
#[derive(Clone, Debug)]
pub struct AboutChild {
    pub record: v1::AuditRecord,
    /// For a release or delivery: the legal basis as released (with its
    /// consent receipt), from the outbox.
    pub released_basis: Option<v1::LegalBasis>,
}

/// An audit record joined with its message's `outbox.released_basis`.
#[derive(sqlx::FromRow)]
struct AboutChildRow {
    #[sqlx(flatten)]
    record: AuditRow,
    released_basis: Option<Vec<u8>>,
}

/// The releases, deliveries, refusals and purges of messages this node sent
/// about `child_ref`, and what their recipients reported doing with them
/// (actions starting with `recipient_`, which a slice records against the
/// release: e.g. a received dossier read or exported), oldest first (the
/// parents' "who saw what").
pub async fn about_child(db: &Db, child_ref: &str) -> Result<Vec<AboutChild>> {
    with_db!(db, pool => {
        let rows: Vec<AboutChildRow> = sqlx::query_as(
            "SELECT a.seq, a.at_ms, a.actor, a.action, a.message_id, a.counterparty, a.purpose, \
                    a.legal_basis, a.payload_sha256, a.prev_hash, a.hash, a.occurrences, \
                    a.first_at_ms, a.last_at_ms, o.released_basis \
             FROM audit a JOIN outbox o ON o.message_id = a.message_id \
             WHERE o.child_ref = $1 AND (a.action IN ($2, $3, $4, $5) OR substr(a.action, 1, 10) = 'recipient_') \
             ORDER BY a.seq",
        )
        .bind(child_ref)
        .bind(Action::Released.as_str())
        .bind(Action::Delivered.as_str())
        .bind(Action::ReleaseRefused.as_str())
        .bind(Action::Purged.as_str())
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AboutChild {
                record: r.record.into(),
                released_basis: r
                    .released_basis
                    .and_then(|b| <v1::LegalBasis as prost::Message>::decode(b.as_slice()).ok()),
            })
            .collect())
    })
}

/// The records about `subjects` (record or document ids, as a slice wrote
/// them in `message_id`) whose action starts with `action_prefix`, oldest first.
pub async fn about_subjects(
    db: &Db,
    subjects: &[String],
    action_prefix: &str,
) -> Result<Vec<v1::AuditRecord>> {
    let mut out = Vec::new();
    for chunk in subjects.chunks(500) {
        with_db!(db, pool => {
            let mut select = sqlx::QueryBuilder::new(SELECT_RECORDS);
            select.push(" WHERE action LIKE ").push_bind(format!("{action_prefix}%"));
            select.push(" AND message_id IN (");
            let mut list = select.separated(", ");
            for s in chunk {
                list.push_bind(s);
            }
            list.push_unseparated(")");
            let rows: Vec<AuditRow> = select.build_query_as().fetch_all(pool).await?;
            out.extend(rows.into_iter().map(v1::AuditRecord::from));
        });
    }
    out.sort_by_key(|r| r.seq);
    Ok(out)
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: u64,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}: {}", self.seq, self.reason)
    }
}

async fn head(db: &Db) -> Result<(u64, Vec<u8>)> {
    let head: HeadRow = with_db!(db, pool => {
        sqlx::query_as("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?
    });
    Ok((head.seq as u64, head.last_hash))
}

/// Walks the whole chain. `Ok(Ok(n))`: intact with n records.
pub async fn verify(db: &Db) -> Result<std::result::Result<u64, Broken>> {
    const PAGE: i64 = 1000;
    // The head is read before the records, so every record up to it must be there.
    let (mut head_seq, mut head_hash) = head(db).await?;
    let mut expected: u64 = 1;
    let mut prev = vec![0u8; 32];
    loop {
        let page = list(db, expected as i64 - 1, PAGE).await?;
        let last_page = (page.len() as i64) < PAGE;
        for r in &page {
            if r.seq > head_seq {
                // Appended while we read? Then the head has moved past it.
                (head_seq, head_hash) = head(db).await?;
            }
            if r.seq > head_seq {
                return Ok(Err(Broken {
                    seq: r.seq,
                    reason: format!("beyond the chain head of {head_seq} records (inserted)"),
                }));
            }
            if r.seq != expected {
                return Ok(Err(Broken {
                    seq: expected,
                    reason: format!("missing (deleted); the next record is {}", r.seq),
                }));
            }
            if r.prev_hash != prev {
                return Ok(Err(Broken {
                    seq: r.seq,
                    reason: format!(
                        "does not follow record {} (inserted, or the record before it changed)",
                        r.seq - 1
                    ),
                }));
            }
            let entry = Entry {
                actor: r.actor.clone(),
                action: r.action.clone(),
                message_id: r.message_id.clone(),
                counterparty: r.counterparty.clone(),
                purpose: r.purpose.clone(),
                legal_basis: r.legal_basis.clone(),
                payload_sha256: r.payload_sha256.clone(),
            };
            let tally = tally_of(r);
            if record_hash(r.seq as i64, r.at_ms, &entry, tally.as_ref(), &r.prev_hash)[..]
                != r.hash[..]
            {
                return Ok(Err(Broken {
                    seq: r.seq,
                    reason: "content does not match its hash (changed)".into(),
                }));
            }
            prev = r.hash.clone();
            expected += 1;
        }
        if last_page {
            break;
        }
    }
    let count = expected - 1;
    if head_seq > count {
        return Ok(Err(Broken {
            seq: count + 1,
            reason: format!("missing (deleted); the chain head says {head_seq} records"),
        }));
    }
    if head_hash != prev {
        return Ok(Err(Broken {
            seq: count,
            reason: "does not match the chain head (changed)".into(),
        }));
    }
    Ok(Ok(count))
}

/// Two parties' records of the messages between them, compared
/// (`carenet audit compare`).
#[derive(Debug, Default)]
pub struct Comparison {
    /// Messages both sides record alike: delivered here, received there
    /// with the same payload hash (or the other way round).
    pub agreed: usize,
    /// Received at one side, whose receipt the sender has not recorded yet.
    pub in_flight: Vec<String>,
    /// Where the records disagree; each names the message (an id) and how.
    pub differences: Vec<String>,
}

/// Compares this node's records naming the other party with the other
/// party's records naming this node (`theirs`, from its ListShared).
/// `mine_before` is read before `theirs` and `mine_after` after it, so a
/// message moving on while they are read is not a false difference: a
/// delivery recorded here (before) has its receipt there; a receipt or a
/// release recorded here (after) covers what they recorded.
pub fn compare(
    them: &str,
    mine_before: &[v1::AuditRecord],
    theirs: &[v1::AuditRecord],
    mine_after: &[v1::AuditRecord],
) -> Comparison {
    use std::collections::BTreeMap;
    let of = |records: &[v1::AuditRecord], action: Action| -> BTreeMap<String, Vec<u8>> {
        records
            .iter()
            .filter(|r| r.action == action.as_str())
            .map(|r| (r.message_id.clone(), r.payload_sha256.clone()))
            .collect()
    };
    let mut out = Comparison::default();
    // (delivered as the sender recorded it, received as the receiver did,
    // the sender's releases, sent from here)
    let directions = [
        (
            of(mine_before, Action::Delivered),
            of(theirs, Action::Received),
            of(mine_after, Action::Released),
            true,
        ),
        (
            of(theirs, Action::Delivered),
            of(mine_after, Action::Received),
            of(theirs, Action::Released),
            false,
        ),
    ];
    for (delivered, received, released, sent_here) in directions {
        let (sender, receiver) = if sent_here {
            ("this node", them)
        } else {
            (them, "this node")
        };
        for (id, hash) in &delivered {
            match received.get(id) {
                Some(h) if h == hash => out.agreed += 1,
                Some(_) => out.differences.push(format!(
                    "message {id}: {sender} recorded its delivery of other bytes than {receiver} recorded receiving"
                )),
                None => out.differences.push(format!(
                    "message {id}: {sender} recorded it delivered, {receiver} records no receipt of it"
                )),
            }
        }
        for (id, hash) in received
            .iter()
            .filter(|(id, _)| !delivered.contains_key(*id))
        {
            match released.get(id) {
                Some(h) if h == hash => out.in_flight.push(id.clone()),
                Some(_) => out.differences.push(format!(
                    "message {id}: {receiver} recorded receiving other bytes than {sender} recorded releasing"
                )),
                None => out.differences.push(format!(
                    "message {id}: {receiver} recorded receiving it, {sender} records no release of it"
                )),
            }
        }
    }
    out
}
