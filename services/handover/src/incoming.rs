//! The receiving school's side, the last mile: received dossiers are listed,
//! the care coordinator assigns each to the pupil's mentor (and teachers),
//! the mentor opens the one-page classroom digest, and the sender is told
//! "read by mentor". Unread digests are reminded after a configured number
//! of days; a pupil can be registered for the school's IZO straight from the
//! dossier; feedback goes back to the sending school after a configured period
//! and the sending school reads it ([`feedback_received`]).
//!
//! Received documents stay in the fabric's inbox (a withdrawn consent deletes
//! them there); this module keeps its own index beside it and fills it
//! through the fabric's read API ([`sync`]) before every read. Every staff
//! step takes the [`Actor`] and checks its role first (see [`crate::roles`]).

use std::collections::{HashMap, HashSet};

use carenet_consent::Purpose;
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::store::read::Removed;
use carenet_fabric::{Actor, PartyId, PartyKind, audited, outbox_enqueue, with_db};
use carenet_proto::v1::{self, LegalBasisKind};
use prost::Message;

use crate::digest::{self, Digest};
use crate::dossier::DOSSIER_TYPE;
use crate::model::Dossier;
use crate::roles;
use crate::{Error, Result};

pub const STATUS_TYPE: &str = "carenet.handover_status";
pub const FEEDBACK_TYPE: &str = "carenet.handover_feedback";
pub const WARM_TYPE: &str = "carenet.warm_handover";

/// Every document type of the handover slice.
pub const HANDOVER_TYPES: &[&str] = &[DOSSIER_TYPE, STATUS_TYPE, FEEDBACK_TYPE, WARM_TYPE];

/// The statutory basis of the receipt "read by mentor": part of the transfer
/// of the onderwijskundig rapport itself, ids and times only.
pub const STATUS_BASIS_PO: &str = "WPO art. 42: ontvangst onderwijskundig rapport";
/// The same receipt for a dossier from a secondary school (WPO is cited only
/// on routes from a primary school).
pub const STATUS_BASIS_VO: &str = "WVO 2020: ontvangst onderwijskundig rapport bij overstap";

/// The statutory basis of "read by mentor" for a dossier whose OSO file
/// states `overstap` (POPO/POVO: from a primary school).
pub fn status_basis(dossier: &Dossier) -> &'static str {
    match crate::oso::profile(&dossier.sections).overstap {
        Some((code, _)) if code.starts_with("PO") => STATUS_BASIS_PO,
        _ => STATUS_BASIS_VO,
    }
}

/// One received dossier version.
#[derive(Clone, Debug)]
pub struct Incoming {
    pub message_id: String,
    pub sender: String,
    pub document_id: String,
    pub version: u32,
    pub received_at_ms: i64,
    pub mentor: Option<String>,
    pub teachers: Vec<String>,
    pub opened_at_ms: Option<i64>,
    pub reminded_at_ms: Option<i64>,
    pub feedback_at_ms: Option<i64>,
    pub izo_at_ms: Option<i64>,
    /// This school's own reference of the pupil, once registered
    /// ([`register_pupil`]).
    pub child_ref: Option<String>,
    /// False when the sender withdrew it (its basis ended) or its retention
    /// period ended: its content is gone and it is not shown.
    pub available: bool,
    /// `withdrawn` or `purged` when not available.
    pub removed: Option<String>,
    /// When the sender's withdrawal arrived, if it did.
    pub withdrawn_at_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct KnownRow {
    message_id: String,
}

/// Indexes handover documents that arrived since the last call: dossiers as
/// incoming items (a new version keeps the earlier version's mentor and
/// teachers and IZO registration, unread), statuses, feedback and
/// warm-handover records as statuses of the sender's own dossiers.
pub async fn sync(store: &Store) -> Result<()> {
    let known: Vec<KnownRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT message_id FROM handover_incoming UNION SELECT message_id FROM handover_status",
        )
        .fetch_all(pool)
        .await?
    });
    let known: HashSet<String> = known.into_iter().map(|r| r.message_id).collect();
    // Headers are read only when something is new.
    let ids = store.received_ids_of_types(HANDOVER_TYPES).await?;
    if ids.iter().all(|id| known.contains(id)) {
        return Ok(());
    }
    let received = store.received_of_types(HANDOVER_TYPES).await?;
    for item in received {
        if known.contains(&item.message_id) {
            continue;
        }
        let at = if item.received_at_ms > 0 {
            item.received_at_ms
        } else {
            now_ms()
        };
        if item.document_type == DOSSIER_TYPE {
            index_dossier(store, &item.message_id, &item.sender, &item.header, at).await?;
            // The list label, made once on arrival (see `pupil_names`).
            if let Some(doc) = store.received(&item.message_id).await? {
                let name = crate::model::pupil_name_of(doc.payload);
                store.label_received(&item.message_id, &name).await?;
            }
            continue;
        }
        let payload = store.received(&item.message_id).await?.map(|d| d.payload);
        // A reading the receiving school reports goes into this school's
        // audit log against the release (the guardians' disclosures).
        let mut entries = Vec::new();
        let (document_id, version, status) = match item.document_type.as_str() {
            STATUS_TYPE => {
                let s = payload
                    .as_deref()
                    .and_then(|p| v1::HandoverStatus::decode(p).ok());
                if let Some(s) = &s
                    && let Some(entry) =
                        crate::reading::record_at_sender(store, &item.sender, s).await?
                {
                    entries.push(entry);
                }
                match s.map(|s| (s.status, s)) {
                    Some((kind, s)) => match v1::HandoverStatusKind::try_from(kind) {
                        Ok(v1::HandoverStatusKind::ReadByMentor) => {
                            (s.document_id, s.version, "read_by_mentor")
                        }
                        Ok(v1::HandoverStatusKind::ReadAtSchool) => {
                            (s.document_id, s.version, "read_at_school")
                        }
                        Ok(v1::HandoverStatusKind::Exported) => {
                            (s.document_id, s.version, "exported")
                        }
                        Ok(v1::HandoverStatusKind::AttachmentDownloaded) => {
                            (s.document_id, s.version, "attachment_downloaded")
                        }
                        _ => (String::new(), 0, "unknown"),
                    },
                    None => (String::new(), 0, "unknown"),
                }
            }
            FEEDBACK_TYPE => match payload.as_deref().and_then(single::<v1::HandoverFeedback>) {
                Some(f) => (f.document_id, f.version, "feedback"),
                None => (String::new(), 0, "unknown"),
            },
            _ => match payload.as_deref().and_then(single::<v1::WarmHandover>) {
                Some(w) => (w.dossier_id, 0, "warm_handover"),
                None => (String::new(), 0, "unknown"),
            },
        };
        audited!(&store.db, tx => {
            let done = sqlx::query(
                "INSERT INTO handover_status (message_id, document_id, version, from_party, status, at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(&item.message_id)
            .bind(&document_id)
            .bind(i64::from(version))
            .bind(&item.sender)
            .bind(status)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            // Indexed meanwhile by another caller: recorded there.
            if done.rows_affected() == 0 {
                entries.clear();
            }
            ((), entries)
        });
    }
    Ok(())
}

/// Decodes the one message a single-section categorised document carries.
pub fn single<M: Message + Default>(payload: &[u8]) -> Option<M> {
    let doc = v1::CategorizedDocument::decode(payload).ok()?;
    M::decode(doc.sections.first()?.content.as_slice()).ok()
}

#[derive(sqlx::FromRow)]
struct EarlierRow {
    mentor: Option<String>,
    teachers: Option<String>,
    assigned_by: Option<String>,
    assigned_at_ms: Option<i64>,
    izo_at_ms: Option<i64>,
    feedback_at_ms: Option<i64>,
    child_ref: Option<String>,
}

async fn index_dossier(
    store: &Store,
    message_id: &str,
    sender: &str,
    header: &v1::EnvelopeHeader,
    at: i64,
) -> Result<()> {
    with_db!(&store.db, pool => {
        let mut tx = carenet_fabric::store::BeginWrite::begin_write(pool).await?;
        let earlier: Option<EarlierRow> = sqlx::query_as(
            "SELECT mentor, teachers, assigned_by, assigned_at_ms, izo_at_ms, feedback_at_ms, child_ref FROM handover_incoming \
             WHERE sender = $1 AND document_id = $2 AND version < $3 ORDER BY version DESC LIMIT 1",
        )
        .bind(sender)
        .bind(&header.document_id)
        .bind(i64::from(header.version))
        .fetch_optional(&mut *tx)
        .await?;
        let e = earlier.unwrap_or(EarlierRow {
            mentor: None,
            teachers: None,
            assigned_by: None,
            assigned_at_ms: None,
            izo_at_ms: None,
            feedback_at_ms: None,
            child_ref: None,
        });
        sqlx::query(
            "INSERT INTO handover_incoming (message_id, sender, document_id, version, received_at_ms, mentor, teachers, assigned_by, \
             assigned_at_ms, izo_at_ms, feedback_at_ms, child_ref) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(sender)
        .bind(&header.document_id)
        .bind(i64::from(header.version))
        .bind(at)
        .bind(&e.mentor)
        .bind(&e.teachers)
        .bind(&e.assigned_by)
        .bind(e.assigned_at_ms.map(|_| at))
        .bind(e.izo_at_ms)
        .bind(e.feedback_at_ms)
        .bind(&e.child_ref)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// A row of `handover_incoming`.
#[derive(sqlx::FromRow)]
struct IncomingRow {
    message_id: String,
    sender: String,
    document_id: String,
    version: i64,
    received_at_ms: i64,
    mentor: Option<String>,
    teachers: Option<String>,
    opened_at_ms: Option<i64>,
    reminded_at_ms: Option<i64>,
    feedback_at_ms: Option<i64>,
    izo_at_ms: Option<i64>,
    child_ref: Option<String>,
}

const SELECT_INCOMING: &str = "SELECT message_id, sender, document_id, version, received_at_ms, mentor, teachers, \
     opened_at_ms, reminded_at_ms, feedback_at_ms, izo_at_ms, child_ref FROM handover_incoming";

/// The rows with whether their content is still there (the fabric's read API).
async fn with_removed(store: &Store, rows: Vec<IncomingRow>) -> Result<Vec<Incoming>> {
    let ids: Vec<String> = rows
        .iter()
        .filter(|r| r.sender != store.party.as_str())
        .map(|r| r.message_id.clone())
        .collect();
    let removed: HashMap<String, Removed> = store.removed(&ids).await?;
    let withdrawn_at: HashMap<String, i64> = if removed.is_empty() {
        HashMap::new()
    } else {
        let gone: Vec<String> = removed.keys().cloned().collect();
        store.withdrawn_received(&gone).await?
    };
    rows.into_iter()
        .map(|r| {
            let gone = removed.get(&r.message_id).map(|w| w.as_str().to_owned());
            let withdrawn_at_ms = withdrawn_at.get(&r.message_id).copied();
            Ok(Incoming {
                version: u32::try_from(r.version)
                    .map_err(|_| Error::Corrupt("handover_incoming.version".into()))?,
                teachers: r
                    .teachers
                    .map(|t| {
                        t.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                message_id: r.message_id,
                sender: r.sender,
                document_id: r.document_id,
                received_at_ms: r.received_at_ms,
                mentor: r.mentor,
                opened_at_ms: r.opened_at_ms,
                reminded_at_ms: r.reminded_at_ms,
                feedback_at_ms: r.feedback_at_ms,
                izo_at_ms: r.izo_at_ms,
                child_ref: r.child_ref,
                available: gone.is_none(),
                removed: gone,
                withdrawn_at_ms,
            })
        })
        .collect()
}

/// Every received dossier version, newest first. (An index, not content:
/// the staff actions below check their roles.)
pub async fn list(store: &Store) -> Result<Vec<Incoming>> {
    sync(store).await?;
    list_indexed(store).await
}

/// [`list`] without indexing what arrived first (the caller just did).
pub(crate) async fn list_indexed(store: &Store) -> Result<Vec<Incoming>> {
    let rows: Vec<IncomingRow> = with_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_INCOMING} ORDER BY received_at_ms DESC, message_id")))
            .fetch_all(pool)
            .await?
    });
    with_removed(store, rows).await
}

pub async fn get(store: &Store, message_id: &str) -> Result<Incoming> {
    sync(store).await?;
    let row: Option<IncomingRow> = with_db!(&store.db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT_INCOMING} WHERE message_id = $1")))
            .bind(message_id)
            .fetch_optional(pool)
            .await?
    });
    let Some(row) = row else {
        return Err(Error::NotFound(format!("received dossier {message_id}")));
    };
    with_removed(store, vec![row])
        .await?
        .pop()
        .ok_or_else(|| Error::NotFound(format!("received dossier {message_id}")))
}

/// Staff ids of an assignment: one each, in the network's staff-id form
/// (teachers are stored comma-separated, so no commas).
pub(crate) fn check_assignment(mentor: &str, teachers: &[String]) -> Result<()> {
    carenet_fabric::actor::check_staff_id("mentor", mentor)?;
    for t in teachers {
        carenet_fabric::actor::check_staff_id("teachers", t)?;
    }
    Ok(())
}

/// The care coordinator (at a primary school also the IB) assigns a
/// received dossier to the mentor and teachers. `kind` is this party's kind.
pub async fn assign(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
    mentor: &str,
    teachers: &[String],
) -> Result<()> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::assign(kind), message_id).await?;
    check_assignment(mentor, teachers)?;
    let item = get(store, message_id).await?;
    if !item.available {
        return Err(Error::invalid(
            "message_id",
            "the sender withdrew this dossier",
        ));
    }
    let entry = Entry {
        counterparty: item.sender.clone(),
        ..actor.entry("dossier_assigned", message_id)
    };
    audited!(&store.db, tx => {
        sqlx::query("UPDATE handover_incoming SET mentor = $1, teachers = $2, assigned_by = $3, assigned_at_ms = $4 WHERE message_id = $5")
            .bind(mentor)
            .bind(teachers.join(","))
            .bind(actor.audit_name())
            .bind(now_ms())
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        ((), vec![entry])
    });
    Ok(())
}

/// Registers this school's own reference of the pupil a received dossier is
/// about (the one who assigns it, [`roles::assign`]), for every version of
/// that dossier; what the school later sends about it under its own consent
/// must name this pupil.
pub async fn register_pupil(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
    child_ref: &str,
) -> Result<()> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::assign(kind), message_id).await?;
    crate::dossier::check_ref("child_ref", child_ref)?;
    let item = get(store, message_id).await?;
    let entry = Entry {
        counterparty: item.sender.clone(),
        ..actor.entry("pupil_ref_registered", message_id)
    };
    audited!(&store.db, tx => {
        sqlx::query("UPDATE handover_incoming SET child_ref = $1 WHERE sender = $2 AND document_id = $3")
            .bind(child_ref)
            .bind(&item.sender)
            .bind(&item.document_id)
            .execute(&mut *tx)
            .await?;
        ((), vec![entry])
    });
    Ok(())
}

/// A received dossier as the one who assigns it reads it (the care
/// coordinator; at a primary school also the IB); the reading is audited
/// (`dossier_viewed`).
pub async fn view(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
) -> Result<(Incoming, Dossier)> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::assign(kind), message_id).await?;
    let item = get(store, message_id).await?;
    let dossier = dossier_of(store, &item).await?;
    carenet_fabric::audit::append(&store.db, &[actor.entry("dossier_viewed", message_id)]).await?;
    Ok((item, dossier))
}

/// The received dossier itself, for staff of the receiving school (or, for a
/// handover inside the school, the school's own dossier).
pub async fn dossier(store: &Store, message_id: &str) -> Result<Dossier> {
    dossier_of(store, &get(store, message_id).await?).await
}

/// The content of an item already looked up (no new sync of the inbox).
pub async fn dossier_of(store: &Store, item: &Incoming) -> Result<Dossier> {
    let gone = || Error::NotFound(format!("received dossier {}", item.message_id));
    if !item.available {
        return Err(gone());
    }
    if item.sender == store.party.as_str() {
        return Ok(crate::dossier::get(store, &item.document_id).await?.dossier);
    }
    let Some(doc) = store.received(&item.message_id).await? else {
        return Err(gone());
    };
    Dossier::decode(&doc.payload)
}

/// The pupils' names of received dossiers, by message id, for lists: from
/// the labels the fabric keeps beside the content (cleared with it), each
/// made once from the document; none for what is withdrawn or purged.
pub async fn pupil_names(store: &Store, items: &[Incoming]) -> Result<HashMap<String, String>> {
    let mut names = HashMap::with_capacity(items.len());
    let (own, received): (Vec<&Incoming>, Vec<&Incoming>) = items
        .iter()
        .filter(|i| i.available)
        .partition(|i| i.sender == store.party.as_str());
    let ids: Vec<String> = received.iter().map(|i| i.message_id.clone()).collect();
    for (id, label) in store.received_labels(&ids).await? {
        let name = match label {
            Some(name) => name,
            None => {
                let Some(doc) = store.received(&id).await? else {
                    continue;
                };
                let name = crate::model::pupil_name_of(doc.payload);
                store.label_received(&id, &name).await?;
                name
            }
        };
        names.insert(id, name);
    }
    for item in own {
        let row: Option<(Option<String>, Vec<u8>)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT pupil_name, document FROM handover_dossier WHERE id = $1")
                .bind(&item.document_id)
                .fetch_optional(pool)
                .await?
        });
        if let Some((name, document)) = row {
            let name = name.unwrap_or_else(|| crate::model::pupil_name_of(document));
            names.insert(item.message_id.clone(), name);
        }
    }
    Ok(names)
}

/// The assigned mentor or a teacher opens the classroom digest: the actor
/// must hold the role mentor or teacher and be the one assigned. The first
/// time the mentor opens it, the sender is sent "read by mentor" (in the same
/// transaction as the audit record of the reading).
pub async fn open_digest(store: &Store, actor: &Actor, message_id: &str) -> Result<Digest> {
    roles::check(store, actor, roles::DIGEST, message_id).await?;
    let item = get(store, message_id).await?;
    let staff = actor.staff.as_str();
    let is_mentor = item.mentor.as_deref() == Some(staff);
    if !is_mentor && !item.teachers.iter().any(|t| t == staff) {
        return roles::refuse(
            store,
            actor,
            roles::DIGEST,
            message_id,
            carenet_fabric::Error::PermissionDenied(
                "the digest is for the assigned mentor and teachers".into(),
            ),
        )
        .await;
    }
    let dossier = dossier_of(store, &item).await?;
    let digest = digest::build(&dossier);
    let now = now_ms();
    let mut entries = vec![Entry {
        counterparty: item.sender.clone(),
        ..actor.entry("digest_opened", message_id)
    }];
    let first_by_mentor = is_mentor && item.opened_at_ms.is_none();
    let internal = item.sender == store.party.as_str();
    let messages = if first_by_mentor && !internal {
        vec![NewMessage {
            recipient: PartyId::parse("sender", &item.sender)?,
            document_type: STATUS_TYPE.into(),
            document_id: format!("status-{message_id}"),
            version: 1,
            purpose: Purpose::TransferDossier.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: LegalBasisKind::StatutoryTask as i32,
                reference: status_basis(&dossier).into(),
                consent_receipt: Vec::new(),
            },
            payload: v1::HandoverStatus {
                document_id: item.document_id.clone(),
                version: item.version,
                status: v1::HandoverStatusKind::ReadByMentor as i32,
                at_ms: now,
                reader_role: String::new(),
            }
            .encode_to_vec(),
            actor: actor.audit_name(),
            child_ref: None,
        }]
    } else {
        Vec::new()
    };
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        if first_by_mentor {
            let done = sqlx::query("UPDATE handover_incoming SET opened_at_ms = $1 WHERE message_id = $2 AND opened_at_ms IS NULL")
                .bind(now)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
            // Opened by the mentor meanwhile (another session): it is read already.
            if done.rows_affected() == 1 {
                outbox_enqueue!(tx, &messages, &ids, &mut entries);
                if internal {
                    // The school is its own sender: it records "read by mentor" itself.
                    sqlx::query(
                        "INSERT INTO handover_status (message_id, document_id, version, from_party, status, at_ms) \
                         VALUES ($1, $2, $3, $4, 'read_by_mentor', $5)",
                    )
                    .bind(format!("read-{message_id}"))
                    .bind(&item.document_id)
                    .bind(i64::from(item.version))
                    .bind(&item.sender)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        ((), entries)
    });
    store.wake_outbox();
    Ok(digest)
}

/// A reminder that a mentor has not opened an assigned digest.
#[derive(Clone, Debug)]
pub struct Reminder {
    pub message_id: String,
    pub mentor: String,
}

#[derive(sqlx::FromRow)]
struct UnreadRow {
    message_id: String,
    mentor: String,
    sender: String,
}

/// Reminds every mentor whose assigned digest stayed unread for `after_days`
/// (again every `after_days` while it stays unread). Each reminder is audited;
/// the list is what the mentors' work lists and notifications show. A job:
/// it acts as the node itself.
pub async fn remind_unread(store: &Store, now: i64, after_days: u32) -> Result<Vec<Reminder>> {
    sync(store).await?;
    let cutoff = now - i64::from(after_days) * 86_400_000;
    const DUE: &str = "SELECT message_id, mentor, sender FROM handover_incoming WHERE mentor IS NOT NULL AND opened_at_ms IS NULL \
         AND assigned_at_ms <= $1 AND (reminded_at_ms IS NULL OR reminded_at_ms <= $1) ORDER BY assigned_at_ms";
    // What the sender withdrew is not reminded (the fabric's read API).
    let candidates: Vec<UnreadRow> = with_db!(&store.db, pool => {
        sqlx::query_as(DUE).bind(cutoff).fetch_all(pool).await?
    });
    let ids: Vec<String> = candidates.iter().map(|r| r.message_id.clone()).collect();
    let withdrawn: HashSet<String> = store
        .removed(&ids)
        .await?
        .into_iter()
        .filter(|(_, why)| *why == Removed::Withdrawn)
        .map(|(id, _)| id)
        .collect();
    let system = Actor::system(store.party.clone());
    let reminders = audited!(&store.db, tx => {
        let rows: Vec<UnreadRow> = sqlx::query_as(DUE).bind(cutoff).fetch_all(&mut *tx).await?;
        let mut reminders = Vec::new();
        let mut entries = Vec::new();
        for r in rows {
            if withdrawn.contains(&r.message_id) {
                continue;
            }
            entries.push(Entry {
                counterparty: r.sender,
                ..system.entry("digest_reminder", &r.message_id)
            });
            sqlx::query("UPDATE handover_incoming SET reminded_at_ms = $1 WHERE message_id = $2")
                .bind(now)
                .bind(&r.message_id)
                .execute(&mut *tx)
                .await?;
            reminders.push(Reminder {
                message_id: r.message_id,
                mentor: r.mentor,
            });
        }
        (reminders, entries)
    });
    Ok(reminders)
}

/// Registers the pupil of a received dossier for the school's IZO. The
/// guardians are told unless the pupil's safety is at risk; then the reason
/// is required (handbook: "ouders op de hoogte", and if not, why).
pub async fn register_for_izo(
    store: &Store,
    actor: &Actor,
    message_id: &str,
    question: &str,
    guardians_informed: bool,
    not_informed_reason: Option<&str>,
) -> Result<String> {
    roles::check(store, actor, roles::IZO, message_id).await?;
    if question.trim().is_empty() {
        return Err(Error::invalid("question", "say what the IZO is asked")
            .coded(carenet_fabric::Reason::Required));
    }
    let reason = not_informed_reason.filter(|r| !r.trim().is_empty());
    if !guardians_informed && reason.is_none() {
        return Err(Error::invalid(
            "not_informed_reason",
            "say why the guardians are not informed",
        )
        .coded(carenet_fabric::Reason::Required));
    }
    let item = get(store, message_id).await?;
    if !item.available {
        return Err(Error::invalid(
            "message_id",
            "the sender withdrew this dossier",
        ));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let now = now_ms();
    let entry = Entry {
        purpose: Purpose::DiscussInIzo.as_str().into(),
        ..actor.entry("izo_registered", &id)
    };
    audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO izo_registration (id, message_id, question, guardians_informed, not_informed_reason, registered_by, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(message_id)
        .bind(question)
        .bind(i64::from(guardians_informed))
        .bind(reason)
        .bind(actor.audit_name())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE handover_incoming SET izo_at_ms = $1 WHERE message_id = $2")
            .bind(now)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        ((), vec![entry])
    });
    Ok(id)
}

/// The days an IZO registration made from a received dossier is kept: a
/// pupil care record, like the referral slice's own (`record.izo`), two
/// years after it was made unless the node keeps IZO records longer.
pub const IZO_REGISTRATION_DAYS: u32 = 730;

/// Deletes the IZO registrations made from received dossiers that are older
/// than `days` (their question is free text about the pupil), each in its
/// own transaction with a `purged` audit record (`retention:<days>d`, the
/// hash of what was deleted). A job: it acts as the node itself.
pub async fn purge_izo_registrations(store: &Store, days: u32, now: i64) -> Result<usize> {
    let cutoff = now - i64::from(days) * 86_400_000;
    let due: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id FROM izo_registration WHERE at_ms < $1 ORDER BY at_ms")
            .bind(cutoff)
            .fetch_all(pool)
            .await?
    });
    let system = Actor::system(store.party.clone());
    let mut purged = 0;
    for (id,) in due {
        let deleted = audited!(&store.db, tx => {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT id, question FROM izo_registration WHERE id = $1 AND at_ms < $2")
                    .bind(&id)
                    .bind(cutoff)
                    .fetch_optional(&mut *tx)
                    .await?;
            match row {
                None => (false, Vec::new()),
                Some((_, question)) => {
                    sqlx::query("DELETE FROM izo_registration WHERE id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    let entry = Entry {
                        purpose: format!("retention:{days}d"),
                        legal_basis: "retention".into(),
                        payload_sha256: carenet_fabric::crypto::sha256(question.as_bytes()).to_vec(),
                        ..system.entry("purged", &id)
                    };
                    (true, vec![entry])
                }
            }
        });
        if deleted {
            purged += 1;
        }
    }
    Ok(purged)
}

/// Received dossiers whose feedback to the sending school is due: received at
/// least `after_days` ago, no feedback sent yet, not withdrawn. A job.
pub async fn feedback_due(store: &Store, now: i64, after_days: u32) -> Result<Vec<Incoming>> {
    let cutoff = now - i64::from(after_days) * 86_400_000;
    // Per received dossier: its newest version, and when its first arrived.
    let mut dossiers: Vec<(Incoming, i64)> = Vec::new();
    for i in list(store).await? {
        match dossiers
            .iter_mut()
            .find(|(d, _)| d.sender == i.sender && d.document_id == i.document_id)
        {
            Some((_, first)) => *first = (*first).min(i.received_at_ms),
            None => {
                let at = i.received_at_ms;
                dossiers.push((i, at));
            }
        }
    }
    Ok(dossiers
        .into_iter()
        .filter(|(d, first)| {
            d.sender != store.party.as_str()
                && d.available
                && d.feedback_at_ms.is_none()
                && *first <= cutoff
        })
        .map(|(d, _)| d)
        .collect())
}

/// Sends feedback ("how is the pupil doing") to the school that sent the
/// dossier, under this school's own consent record for `feedback_to_sender`.
pub async fn send_feedback(
    store: &Store,
    actor: &Actor,
    message_id: &str,
    text: &str,
    consent_record: &str,
    child_ref: &str,
) -> Result<String> {
    roles::check(store, actor, roles::FEEDBACK_SEND, message_id).await?;
    crate::dossier::check_ref("child_ref", child_ref)?;
    if text.trim().is_empty() {
        return Err(
            Error::invalid("text", "must not be empty").coded(carenet_fabric::Reason::Required)
        );
    }
    if consent_record.trim().is_empty() {
        return Err(
            Error::invalid("consent_record", "feedback needs its own legal basis")
                .coded(carenet_fabric::Reason::ConsentMissing),
        );
    }
    let item = get(store, message_id).await?;
    if item.sender == store.party.as_str() {
        return Err(Error::invalid(
            "message_id",
            "feedback goes to another school, not to this one",
        ));
    }
    // A mentor (or SLB) speaks for their own pupils; the care coordinator
    // (or an mbo's intakecoördinator) for all.
    let staff = actor.staff.as_str();
    if !roles::speaks_for_all(actor)
        && item.mentor.as_deref() != Some(staff)
        && !item.teachers.iter().any(|t| t == staff)
    {
        return roles::refuse(
            store,
            actor,
            roles::FEEDBACK_SEND,
            message_id,
            carenet_fabric::Error::PermissionDenied(
                "feedback about a pupil comes from the assigned mentor or teacher, or the care coordinator".into(),
            ),
        )
        .await;
    }
    // The consent named is this school's, about its own pupil: that pupil
    // must be the one this school registered for the dossier.
    match item.child_ref.as_deref() {
        Some(registered) if registered == child_ref => {}
        Some(_) => {
            return Err(Error::invalid(
                "child_ref",
                "is not the pupil this school registered for the dossier",
            )
            .coded(carenet_fabric::Reason::OtherPupil));
        }
        None => {
            return Err(Error::invalid(
                "child_ref",
                "register this school's pupil reference for the dossier first (when assigning it)",
            )
            .coded(carenet_fabric::Reason::UnknownPupil));
        }
    }
    let feedback = v1::HandoverFeedback {
        document_id: item.document_id.clone(),
        version: item.version,
        written_on: carenet_consent::record::format_date(carenet_fabric::clock::today()),
        text: text.to_owned(),
        staff_ref: actor.staff.clone(),
    };
    let messages = vec![NewMessage {
        recipient: PartyId::parse("sender", &item.sender)?,
        document_type: FEEDBACK_TYPE.into(),
        document_id: format!("feedback-{}", item.document_id),
        version: 1,
        purpose: Purpose::FeedbackToSender.as_str().into(),
        legal_basis: v1::LegalBasis {
            kind: LegalBasisKind::Consent as i32,
            reference: consent_record.to_owned(),
            consent_receipt: Vec::new(),
        },
        payload: single_section(
            carenet_consent::Category::EducationalSupport,
            FEEDBACK_TYPE,
            &feedback,
        ),
        actor: actor.audit_name(),
        // The consent is this school's, about its own pupil: released only
        // if it is that pupil's.
        child_ref: Some(child_ref.to_owned()),
    }];
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        let mut entries = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        sqlx::query("UPDATE handover_incoming SET feedback_at_ms = $1 WHERE sender = $2 AND document_id = $3")
            .bind(now_ms())
            .bind(&item.sender)
            .bind(&item.document_id)
            .execute(&mut *tx)
            .await?;
        ((), entries)
    });
    store.wake_outbox();
    Ok(ids.into_iter().next().unwrap_or_default())
}

/// Feedback a receiving school sent about one of this school's dossiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feedback {
    pub message_id: String,
    pub from_party: String,
    pub document_id: String,
    pub version: u32,
    pub written_on: String,
    pub text: String,
    pub staff_ref: String,
    pub at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    message_id: String,
    document_id: String,
    version: i64,
    from_party: String,
    at_ms: i64,
}

/// The feedback received about this school's dossiers, oldest first; only
/// from a party the dossier went to. Each reading is audited.
pub async fn feedback_received(store: &Store, actor: &Actor) -> Result<Vec<Feedback>> {
    feedback_where(store, actor, None).await
}

/// The feedback received about this school's dossier `document_id` (its
/// page), oldest first; each reading is audited.
pub async fn feedback_about(
    store: &Store,
    actor: &Actor,
    document_id: &str,
) -> Result<Vec<Feedback>> {
    feedback_where(store, actor, Some(document_id)).await
}

async fn feedback_where(
    store: &Store,
    actor: &Actor,
    document_id: Option<&str>,
) -> Result<Vec<Feedback>> {
    roles::check(store, actor, roles::FEEDBACK_READ, "feedback").await?;
    sync(store).await?;
    let rows: Vec<StatusRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT message_id, document_id, version, from_party, at_ms FROM handover_status \
             WHERE status = 'feedback' AND ($1 IS NULL OR document_id = $1) ORDER BY at_ms, message_id",
        )
        .bind(document_id)
        .fetch_all(pool)
        .await?
    });
    let mut out = Vec::new();
    for r in rows {
        let recipients = crate::dossier::earlier_recipients(store, &r.document_id).await?;
        if !recipients.iter().any(|p| p.as_str() == r.from_party) {
            continue;
        }
        let Some(doc) = store.received(&r.message_id).await? else {
            continue;
        };
        let Some(f) = single::<v1::HandoverFeedback>(&doc.payload) else {
            continue;
        };
        out.push(Feedback {
            message_id: r.message_id,
            from_party: r.from_party,
            document_id: r.document_id,
            version: u32::try_from(r.version)
                .map_err(|_| Error::Corrupt("handover_status.version".into()))?,
            written_on: f.written_on,
            text: f.text,
            staff_ref: f.staff_ref,
            at_ms: r.at_ms,
        });
    }
    if !out.is_empty() {
        let entries: Vec<Entry> = out
            .iter()
            .map(|f| Entry {
                counterparty: f.from_party.clone(),
                ..actor.entry("feedback_read", &f.message_id)
            })
            .collect();
        carenet_fabric::audit::append(&store.db, &entries).await?;
    }
    Ok(out)
}

/// One handover document this node received: what, from whom, when, and
/// whether its content is still there. Never its content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedDocument {
    pub message_id: String,
    pub document_type: String,
    pub sender: String,
    pub received_at_ms: i64,
    /// `available`, `withdrawn` or `purged`.
    pub status: &'static str,
}

/// Every handover document (dossiers, statuses, feedback, warm-handover
/// records) this party received, oldest first; for every kind of party.
/// `kind` is this party's kind (it decides the roles, see [`roles::overview`]).
pub async fn received_documents(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
) -> Result<Vec<ReceivedDocument>> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::overview(kind), "received").await?;
    let items = store.received_of_types(HANDOVER_TYPES).await?;
    let ids: Vec<String> = items.iter().map(|i| i.message_id.clone()).collect();
    let removed = store.removed(&ids).await?;
    Ok(items
        .into_iter()
        .map(|i| ReceivedDocument {
            status: removed
                .get(&i.message_id)
                .map_or("available", |r| r.as_str()),
            message_id: i.message_id,
            document_type: i.document_type,
            sender: i.sender,
            received_at_ms: i.received_at_ms,
        })
        .collect())
}

/// A categorised document of one section holding `message`.
pub fn single_section(
    category: carenet_consent::Category,
    name: &str,
    message: &impl Message,
) -> Vec<u8> {
    v1::CategorizedDocument {
        sections: vec![v1::Section {
            category: category.as_str().to_owned(),
            name: name.to_owned(),
            content: message.encode_to_vec(),
        }],
    }
    .encode_to_vec()
}
