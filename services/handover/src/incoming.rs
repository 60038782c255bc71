//! The receiving school's side, the last mile: received dossiers are listed,
//! the care coordinator assigns each to the pupil's mentor (and teachers),
//! the mentor opens the one-page classroom digest, and the sender is told
//! "read by mentor". Unread digests are reminded after a configured number
//! of days; a pupil can be registered for the school's IZO straight from the
//! dossier; feedback goes back to the sending school after a configured period.
//!
//! Received documents stay in the fabric's inbox (a withdrawn consent deletes
//! them there); this module keeps its own index beside it and fills it from
//! the inbox ([`sync`]) before every read.

use carenet_consent::Purpose;
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::{self, NewMessage};
use carenet_fabric::{PartyId, audit_append, outbox_enqueue, with_db};
use carenet_proto::v1::{self, LegalBasisKind};
use prost::Message;
use sqlx::Row;

use crate::digest::{self, Digest};
use crate::dossier::DOSSIER_TYPE;
use crate::model::Dossier;
use crate::{Error, Result};

pub const STATUS_TYPE: &str = "carenet.handover_status";
pub const FEEDBACK_TYPE: &str = "carenet.handover_feedback";
pub const WARM_TYPE: &str = "carenet.warm_handover";

/// The statutory basis of the receipt "read by mentor": part of the transfer
/// of the onderwijskundig rapport itself, ids and times only.
pub const STATUS_BASIS: &str = "WPO art. 42: ontvangst onderwijskundig rapport";

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
    /// False when the sender withdrew it (its basis ended) or its retention
    /// period ended: its content is gone and it is not shown.
    pub available: bool,
    /// `withdrawn` or `purged` when not available.
    pub removed: Option<String>,
}

/// Indexes handover documents that arrived since the last call: dossiers as
/// incoming items (a new version keeps the earlier version's mentor and
/// teachers and IZO registration, unread), statuses, feedback and warm-handover records as statuses
/// of the sender's own dossiers.
pub async fn sync(store: &Store) -> Result<()> {
    let rows = with_db!(&store.db, pool => {
        sqlx::query(
            "SELECT i.message_id, i.sender, i.document_type, i.header, i.payload, i.received_at_ms FROM inbox i \
             WHERE i.document_type IN ($1, $2, $3, $4) AND i.header IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM handover_incoming h WHERE h.message_id = i.message_id) \
             AND NOT EXISTS (SELECT 1 FROM handover_status s WHERE s.message_id = i.message_id) \
             ORDER BY i.received_at_ms, i.message_id",
        )
        .bind(DOSSIER_TYPE)
        .bind(STATUS_TYPE)
        .bind(FEEDBACK_TYPE)
        .bind(WARM_TYPE)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?)))
        .collect::<std::result::Result<Vec<_>, _>>()?
    });
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        String,
        Vec<u8>,
        Option<Vec<u8>>,
        Option<i64>,
    )> = rows;
    for (message_id, sender, doc_type, header, payload, received_at) in rows {
        let header = v1::EnvelopeHeader::decode(header.as_slice())
            .map_err(|_| Error::Corrupt("inbox header".into()))?;
        let at = received_at.unwrap_or_else(now_ms);
        if doc_type == DOSSIER_TYPE {
            index_dossier(store, &message_id, &sender, &header, at).await?;
            continue;
        }
        let (document_id, version, status) = match doc_type.as_str() {
            STATUS_TYPE => {
                let s = payload
                    .as_deref()
                    .and_then(|p| v1::HandoverStatus::decode(p).ok());
                match s {
                    Some(s) if s.status == v1::HandoverStatusKind::ReadByMentor as i32 => {
                        (s.document_id, s.version, "read_by_mentor")
                    }
                    _ => (String::new(), 0, "unknown"),
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
        with_db!(&store.db, pool => {
            sqlx::query(
                "INSERT INTO handover_status (message_id, document_id, version, from_party, status, at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(&message_id)
            .bind(&document_id)
            .bind(i64::from(version))
            .bind(&sender)
            .bind(status)
            .bind(at)
            .execute(pool)
            .await?;
        });
    }
    Ok(())
}

/// Decodes the one message a single-section categorised document carries.
pub fn single<M: Message + Default>(payload: &[u8]) -> Option<M> {
    let doc = v1::CategorizedDocument::decode(payload).ok()?;
    M::decode(doc.sections.first()?.content.as_slice()).ok()
}

async fn index_dossier(
    store: &Store,
    message_id: &str,
    sender: &str,
    header: &v1::EnvelopeHeader,
    at: i64,
) -> Result<()> {
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let earlier = sqlx::query(
            "SELECT mentor, teachers, assigned_by, assigned_at_ms, izo_at_ms, feedback_at_ms FROM handover_incoming \
             WHERE sender = $1 AND document_id = $2 AND version < $3 ORDER BY version DESC LIMIT 1",
        )
        .bind(sender)
        .bind(&header.document_id)
        .bind(i64::from(header.version))
        .fetch_optional(&mut *tx)
        .await?;
        #[allow(clippy::type_complexity)]
        let (mentor, teachers, by, assigned, izo, feedback): (Option<String>, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<i64>) = match &earlier {
            Some(r) => (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?),
            None => (None, None, None, None, None, None),
        };
        sqlx::query(
            "INSERT INTO handover_incoming (message_id, sender, document_id, version, received_at_ms, mentor, teachers, assigned_by, \
             assigned_at_ms, izo_at_ms, feedback_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(message_id)
        .bind(sender)
        .bind(&header.document_id)
        .bind(i64::from(header.version))
        .bind(at)
        .bind(&mentor)
        .bind(&teachers)
        .bind(&by)
        .bind(assigned.map(|_| at))
        .bind(izo)
        .bind(feedback)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok(())
}

/// Reads an [`Incoming`] from a row of [`SELECT_INCOMING`] (either backend).
macro_rules! incoming_row {
    ($r:expr) => {{
        let r = $r;
        let teachers: Option<String> = r.try_get("teachers")?;
        Ok::<Incoming, Error>(Incoming {
            message_id: r.try_get("message_id")?,
            sender: r.try_get("sender")?,
            document_id: r.try_get("document_id")?,
            version: r.try_get::<i64, _>("version")? as u32,
            received_at_ms: r.try_get("received_at_ms")?,
            mentor: r.try_get("mentor")?,
            teachers: teachers
                .map(|t| {
                    t.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            opened_at_ms: r.try_get("opened_at_ms")?,
            reminded_at_ms: r.try_get("reminded_at_ms")?,
            feedback_at_ms: r.try_get("feedback_at_ms")?,
            izo_at_ms: r.try_get("izo_at_ms")?,
            available: r.try_get::<Option<String>, _>("removed")?.is_none(),
            removed: r.try_get("removed")?,
        })
    }};
}

const SELECT_INCOMING: &str = "SELECT h.message_id, h.sender, h.document_id, h.version, h.received_at_ms, h.mentor, h.teachers, \
     h.opened_at_ms, h.reminded_at_ms, h.feedback_at_ms, h.izo_at_ms, \
     CASE WHEN EXISTS (SELECT 1 FROM withdrawn_message w WHERE w.message_id = h.message_id) THEN 'withdrawn' \
     WHEN EXISTS (SELECT 1 FROM purged_message p WHERE p.message_id = h.message_id AND p.side = 'inbox') THEN 'purged' END AS removed \
     FROM handover_incoming h";

/// Every received dossier version, newest first.
pub async fn list(store: &Store) -> Result<Vec<Incoming>> {
    sync(store).await?;
    with_db!(&store.db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT_INCOMING} ORDER BY h.received_at_ms DESC, h.message_id")))
            .fetch_all(pool)
            .await?;
        rows.iter().map(|r| incoming_row!(r)).collect()
    })
}

pub async fn get(store: &Store, message_id: &str) -> Result<Incoming> {
    sync(store).await?;
    let found = with_db!(&store.db, pool => {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT_INCOMING} WHERE h.message_id = $1")))
            .bind(message_id)
            .fetch_optional(pool)
            .await?;
        match row { Some(r) => Some(incoming_row!(&r)?), None => None }
    });
    found.ok_or_else(|| Error::NotFound(format!("received dossier {message_id}")))
}

/// Staff ids of an assignment: one each, no separators (teachers are stored
/// comma-separated).
pub(crate) fn check_assignment(mentor: &str, teachers: &[String], by: &str) -> Result<()> {
    for (field, v) in [("mentor", mentor), ("assigned_by", by)] {
        if v.trim().is_empty() || v.contains(',') {
            return Err(Error::invalid(field, "a staff id"));
        }
    }
    if teachers
        .iter()
        .any(|t| t.trim().is_empty() || t.contains(','))
    {
        return Err(Error::invalid("teachers", "staff ids"));
    }
    Ok(())
}

/// The care coordinator assigns a received dossier to the mentor and teachers.
pub async fn assign(
    store: &Store,
    message_id: &str,
    mentor: &str,
    teachers: &[String],
    by: &str,
) -> Result<()> {
    check_assignment(mentor, teachers, by)?;
    let item = get(store, message_id).await?;
    if !item.available {
        return Err(Error::invalid(
            "message_id",
            "the sender withdrew this dossier",
        ));
    }
    let entry = Entry {
        actor: by.to_owned(),
        action: "dossier_assigned".into(),
        message_id: message_id.to_owned(),
        counterparty: item.sender.clone(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE handover_incoming SET mentor = $1, teachers = $2, assigned_by = $3, assigned_at_ms = $4 WHERE message_id = $5")
            .bind(mentor)
            .bind(teachers.join(","))
            .bind(by)
            .bind(now_ms())
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(())
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

/// A mentor or teacher opens the classroom digest. The first time the mentor
/// opens it, the sender is sent "read by mentor" (in the same transaction as
/// the audit record of the reading).
pub async fn open_digest(store: &Store, message_id: &str, staff: &str) -> Result<Digest> {
    let item = get(store, message_id).await?;
    let is_mentor = item.mentor.as_deref() == Some(staff);
    if !is_mentor && !item.teachers.iter().any(|t| t == staff) {
        return Err(Error::invalid(
            "staff",
            "the digest is for the assigned mentor and teachers",
        ));
    }
    let dossier = dossier_of(store, &item).await?;
    let digest = digest::build(&dossier);
    let now = now_ms();
    let mut entries = vec![Entry {
        actor: staff.to_owned(),
        action: "digest_opened".into(),
        message_id: message_id.to_owned(),
        counterparty: item.sender.clone(),
        ..Entry::default()
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
                reference: STATUS_BASIS.into(),
                consent_receipt: Vec::new(),
            },
            payload: v1::HandoverStatus {
                document_id: item.document_id.clone(),
                version: item.version,
                status: v1::HandoverStatusKind::ReadByMentor as i32,
                at_ms: now,
            }
            .encode_to_vec(),
            actor: staff.to_owned(),
            child_ref: None,
        }]
    } else {
        Vec::new()
    };
    let ids = outbox::prepare(&messages)?;
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        if first_by_mentor {
            sqlx::query("UPDATE handover_incoming SET opened_at_ms = $1 WHERE message_id = $2")
                .bind(now)
                .bind(message_id)
                .execute(&mut *tx)
                .await?;
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
        audit_append!(tx, &entries);
        tx.commit().await?;
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

/// Reminds every mentor whose assigned digest stayed unread for `after_days`
/// (again every `after_days` while it stays unread). Each reminder is audited;
/// the list is what the mentors' work lists and notifications show.
pub async fn remind_unread(store: &Store, now: i64, after_days: u32) -> Result<Vec<Reminder>> {
    sync(store).await?;
    let cutoff = now - i64::from(after_days) * 86_400_000;
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let rows = sqlx::query(
            "SELECT message_id, mentor, sender FROM handover_incoming WHERE mentor IS NOT NULL AND opened_at_ms IS NULL \
             AND assigned_at_ms <= $1 AND (reminded_at_ms IS NULL OR reminded_at_ms <= $1) \
             AND NOT EXISTS (SELECT 1 FROM withdrawn_message w WHERE w.message_id = handover_incoming.message_id) \
             ORDER BY assigned_at_ms",
        )
        .bind(cutoff)
        .fetch_all(&mut *tx)
        .await?;
        let mut reminders = Vec::new();
        let mut entries = Vec::new();
        for r in &rows {
            let message_id: String = r.try_get(0)?;
            let mentor: String = r.try_get(1)?;
            entries.push(Entry {
                actor: "system".into(),
                action: "digest_reminder".into(),
                message_id: message_id.clone(),
                counterparty: r.try_get(2)?,
                ..Entry::default()
            });
            sqlx::query("UPDATE handover_incoming SET reminded_at_ms = $1 WHERE message_id = $2")
                .bind(now)
                .bind(&message_id)
                .execute(&mut *tx)
                .await?;
            reminders.push(Reminder { message_id, mentor });
        }
        audit_append!(tx, &entries);
        tx.commit().await?;
        Ok(reminders)
    })
}

/// Registers the pupil of a received dossier for the school's IZO. The
/// guardians are told unless the pupil's safety is at risk; then the reason
/// is required (handbook: "ouders op de hoogte", and if not, why).
pub async fn register_for_izo(
    store: &Store,
    message_id: &str,
    question: &str,
    guardians_informed: bool,
    not_informed_reason: Option<&str>,
    by: &str,
) -> Result<String> {
    if question.trim().is_empty() {
        return Err(Error::invalid("question", "say what the IZO is asked"));
    }
    let reason = not_informed_reason.filter(|r| !r.trim().is_empty());
    if !guardians_informed && reason.is_none() {
        return Err(Error::invalid(
            "not_informed_reason",
            "say why the guardians are not informed",
        ));
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
        actor: by.to_owned(),
        action: "izo_registered".into(),
        message_id: id.clone(),
        purpose: Purpose::DiscussInIzo.as_str().into(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO izo_registration (id, message_id, question, guardians_informed, not_informed_reason, registered_by, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(message_id)
        .bind(question)
        .bind(i64::from(guardians_informed))
        .bind(reason)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE handover_incoming SET izo_at_ms = $1 WHERE message_id = $2")
            .bind(now)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(id)
}

/// Received dossiers whose feedback to the sending school is due: received at
/// least `after_days` ago, no feedback sent yet, not withdrawn.
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
    message_id: &str,
    text: &str,
    consent_record: &str,
    by: &str,
) -> Result<String> {
    if text.trim().is_empty() {
        return Err(Error::invalid("text", "must not be empty"));
    }
    if consent_record.trim().is_empty() {
        return Err(Error::invalid(
            "consent_record",
            "feedback needs its own legal basis",
        ));
    }
    let item = get(store, message_id).await?;
    let feedback = v1::HandoverFeedback {
        document_id: item.document_id.clone(),
        version: item.version,
        written_on: carenet_consent::record::format_date(time::OffsetDateTime::now_utc().date()),
        text: text.to_owned(),
        staff_ref: by.to_owned(),
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
        actor: by.to_owned(),
        child_ref: None,
    }];
    let ids = outbox::prepare(&messages)?;
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let mut entries = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        sqlx::query("UPDATE handover_incoming SET feedback_at_ms = $1 WHERE sender = $2 AND document_id = $3")
            .bind(now_ms())
            .bind(&item.sender)
            .bind(&item.document_id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, &entries);
        tx.commit().await?;
    });
    store.wake_outbox();
    Ok(ids.into_iter().next().unwrap_or_default())
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
