//! Reading a received dossier in full at the receiving school: its page, the
//! JSON API, an attachment, the OSO export for the school's administration
//! system. The care coordinator (at a primary school also the IB) reads
//! every received dossier; the assigned mentor reads the one assigned to
//! them (for what the classroom digest does not hold); anyone else is
//! refused, and the refusal is audited.
//!
//! Every reading is audited here; the first of its kind (read, export,
//! one attachment) by a staff member of a dossier version on a Dutch
//! calendar day is told to the sending school the way "read by mentor" is:
//! a `carenet.handover_status` (ids, the reader's role and a time; never a
//! name or content), in the same transaction as the audit record. Later
//! ones that day are audited only, so a system polling the API does not
//! flood the sender or the guardians' list. The sending school records each status it receives from a
//! party the dossier went to in its own audit log against that release
//! ([`record_at_sender`]), so the guardians' "wie heeft wat gezien" (the
//! consent slice's disclosures) lists it with the release itself.

use carenet_consent::Purpose;
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, PartyId, PartyKind, Role, audited, outbox_enqueue, with_db};
use carenet_proto::v1::{self, HandoverStatusKind, LegalBasisKind};
use prost::Message;

use crate::dossier::DOSSIER_TYPE;
use crate::incoming::{self, Incoming, STATUS_TYPE};
use crate::model::Dossier;
use crate::roles::{self, Rule};
use crate::{Error, Result};

/// How a received dossier is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Its page at the receiving school.
    Page,
    /// Its content through the JSON API.
    Api,
    /// One of its attachments downloaded (page or API).
    Attachment,
    /// Written to an OSO file (page, API or CLI).
    Export,
}

impl Reading {
    /// The action of its audit record at the receiving school.
    pub fn action(self) -> &'static str {
        match self {
            Reading::Page => "received_dossier_read",
            Reading::Api => "received_dossier_read_api",
            Reading::Attachment => "received_attachment_downloaded",
            Reading::Export => "dossier_exported",
        }
    }

    fn status(self) -> HandoverStatusKind {
        match self {
            Reading::Page | Reading::Api => HandoverStatusKind::ReadAtSchool,
            Reading::Attachment => HandoverStatusKind::AttachmentDownloaded,
            Reading::Export => HandoverStatusKind::Exported,
        }
    }
}

/// Reading a received dossier in full: the refusal's rule (the care
/// coordinator's and IB's own right is [`roles::assign`]).
pub const READ: Rule = Rule {
    action: "received_dossier_read",
    what: "reading a received dossier",
    roles: &[
        Role::CareCoordinator,
        Role::SupportCoordinatorPo,
        Role::Mentor,
        Role::StudyCareerCoach,
    ],
};

/// The received dossier `message_id` for `actor`, checked: the care
/// coordinator (IB) any, the mentor the one assigned to them; anyone else is
/// refused (audited). `kind` is this party's kind.
pub async fn check(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
) -> Result<Incoming> {
    let kind = roles::own_kind(store, kind)?;
    let coordinator = actor.may(&store.party, &roles::assign(kind)).is_ok();
    if !coordinator && actor.may(&store.party, &roles::DIGEST).is_err() {
        // Neither the coordinator nor a mentor: the coordinator's rule
        // refuses it (and audits the refusal).
        roles::check(store, actor, roles::assign(kind), message_id).await?;
    }
    let item = incoming::get(store, message_id).await?;
    let assigned_mentor =
        roles::is_mentor(actor) && item.mentor.as_deref() == Some(actor.staff.as_str());
    if !coordinator && !assigned_mentor {
        return roles::refuse(
            store,
            actor,
            READ,
            message_id,
            carenet_fabric::Error::PermissionDenied(
                "a received dossier is read by the care coordinator and the mentor it is assigned to"
                    .into(),
            ),
        )
        .await;
    }
    if !item.available {
        return Err(Error::NotFound(format!("received dossier {message_id}")));
    }
    Ok(item)
}

/// A received dossier that is gone (its sender withdrew it, or its
/// retention period ended), for whoever could read it: the coordinator, and
/// the mentor or teachers it was assigned to, see that it is gone and when,
/// instead of "not found". `None` while its content is there (then
/// [`check`] decides). Nothing of the content is left to show.
pub async fn gone(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
) -> Result<Option<Incoming>> {
    let kind = roles::own_kind(store, kind)?;
    let item = incoming::get(store, message_id).await?;
    if item.available {
        return Ok(None);
    }
    let coordinator = actor.may(&store.party, &roles::assign(kind)).is_ok();
    let me = actor.staff.as_str();
    let assigned = item.mentor.as_deref() == Some(me) || item.teachers.iter().any(|t| t == me);
    if !coordinator && !assigned {
        return roles::refuse(
            store,
            actor,
            READ,
            message_id,
            carenet_fabric::Error::PermissionDenied(
                "a received dossier is read by the care coordinator and the staff it is assigned to"
                    .into(),
            ),
        )
        .await;
    }
    Ok(Some(item))
}

/// Reads the received dossier `message_id` ([`check`]), audited and told to
/// the sending school as `how`.
pub async fn read(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    message_id: &str,
    how: Reading,
) -> Result<(Incoming, Dossier)> {
    let item = check(store, kind, actor, message_id).await?;
    let dossier = incoming::dossier_of(store, &item).await?;
    record(store, actor, &item, &dossier, how, Vec::new()).await?;
    Ok((item, dossier))
}

/// Audits one reading of `item` by `actor` (with the SHA-256 of what left,
/// for an export or attachment) and, for the first of its kind today
/// ([`told_today`]), tells the sending school, in one transaction. A dossier of this school's own (a handover inside the
/// school) is only audited.
pub async fn record(
    store: &Store,
    actor: &Actor,
    item: &Incoming,
    dossier: &Dossier,
    how: Reading,
    payload_sha256: Vec<u8>,
) -> Result<()> {
    let mut entries = vec![Entry {
        counterparty: item.sender.clone(),
        payload_sha256,
        ..actor.entry(how.action(), &item.message_id)
    }];
    let internal = item.sender == store.party.as_str();
    let messages = if internal || told_today(store, &entries[0], how).await? {
        Vec::new()
    } else {
        vec![NewMessage {
            recipient: PartyId::parse("sender", &item.sender)?,
            document_type: STATUS_TYPE.into(),
            // Each reading its own document: a status is never a new
            // version of another.
            document_id: format!("read-{}", uuid::Uuid::now_v7().hyphenated()),
            version: 1,
            purpose: Purpose::TransferDossier.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: LegalBasisKind::StatutoryTask as i32,
                reference: incoming::status_basis(dossier).into(),
                consent_receipt: Vec::new(),
            },
            payload: v1::HandoverStatus {
                document_id: item.document_id.clone(),
                version: item.version,
                status: how.status() as i32,
                at_ms: now_ms(),
                reader_role: actor.roles_label(),
            }
            .encode_to_vec(),
            actor: actor.audit_name(),
            child_ref: None,
        }]
    };
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(())
}

/// The audit actions that count as the same kind of reading as `how`: the
/// page and the API are one "read"; an export, an attachment are their own.
fn same_kind(how: Reading) -> &'static [&'static str] {
    match how {
        Reading::Page | Reading::Api => &["received_dossier_read", "received_dossier_read_api"],
        Reading::Attachment => &["received_attachment_downloaded"],
        Reading::Export => &["dossier_exported"],
    }
}

/// Whether the sending school was already told of this reading today: the
/// local audit log holds a reading of the same kind ([`same_kind`]; for an
/// attachment, of the same attachment, by its SHA-256) of the same received
/// message (one dossier version) by the same staff member since the start
/// of this Dutch calendar day. Every reading is audited locally; the sender
/// (and so the guardians' "wie heeft wat gezien") hears of the first only,
/// so a school system polling the API does not flood them. Two readings at
/// the very same moment may both be told: a duplicate, never a loss.
async fn told_today(store: &Store, entry: &Entry, how: Reading) -> Result<bool> {
    let actions = same_kind(how);
    let since = carenet_fabric::clock::day_start_ms(now_ms());
    // An attachment counts per attachment: the same one, by its SHA-256.
    let same_attachment = if matches!(how, Reading::Attachment) {
        " AND payload_sha256 = $7"
    } else {
        ""
    };
    // The counterparty (the sending school) first: the log's index on it
    // keeps this from reading the whole log.
    let sql = format!(
        "SELECT seq FROM audit WHERE counterparty = $6 AND actor = $1 AND message_id = $2 \
         AND at_ms >= $3 AND action IN ($4, $5){same_attachment} LIMIT 1"
    );
    let found: Option<(i64,)> = with_db!(&store.db, pool => {
        let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(&entry.actor)
            .bind(&entry.message_id)
            .bind(since)
            .bind(actions[0])
            .bind(actions.get(1).copied().unwrap_or(actions[0]))
            .bind(&entry.counterparty);
        let q = if same_attachment.is_empty() { q } else { q.bind(&entry.payload_sha256) };
        q.fetch_optional(pool).await?
    });
    Ok(found.is_some())
}

/// The sending school's audit action for a status a receiving school sent:
/// `recipient_digest` (the mentor opened the digest), `recipient_read`,
/// `recipient_exported`, `recipient_attachment`; the fabric lists actions
/// starting with `recipient_` with the release in a child's disclosures.
pub fn sender_action(status: HandoverStatusKind) -> Option<&'static str> {
    Some(match status {
        HandoverStatusKind::ReadByMentor => "recipient_digest",
        HandoverStatusKind::ReadAtSchool => "recipient_read",
        HandoverStatusKind::Exported => "recipient_exported",
        HandoverStatusKind::AttachmentDownloaded => "recipient_attachment",
        HandoverStatusKind::Unspecified => return None,
    })
}

/// The audit record the sending school keeps of a reading `from` reported:
/// against the release of the dossier version it read (so it joins the
/// child's disclosures), with that release's legal basis; `None` when the
/// version never went to `from` (nobody else can claim to have read it).
pub(crate) async fn record_at_sender(
    store: &Store,
    from: &str,
    status: &v1::HandoverStatus,
) -> Result<Option<Entry>> {
    let Some(kind) = HandoverStatusKind::try_from(status.status)
        .ok()
        .and_then(sender_action)
    else {
        return Ok(None);
    };
    let Some(release) = store
        .sent_versions(DOSSIER_TYPE, &status.document_id)
        .await?
        .into_iter()
        .find(|s| s.recipient == from && s.version == status.version)
    else {
        return Ok(None);
    };
    let role = if status.reader_role.is_empty() {
        "mentor"
    } else {
        status.reader_role.as_str()
    };
    // Roles only, as the network names them (`care_coordinator+mentor`).
    let role: String = role
        .chars()
        .filter(|c| c.is_ascii_lowercase() || matches!(c, '_' | '+'))
        .take(64)
        .collect();
    let basis = carenet_fabric::audit::release_basis(&store.db, &release.message_id)
        .await?
        .unwrap_or_default();
    Ok(Some(Entry {
        actor: format!("{from}[{role}]"),
        action: kind.into(),
        message_id: release.message_id,
        counterparty: from.to_owned(),
        purpose: Purpose::TransferDossier.as_str().into(),
        legal_basis: basis,
        payload_sha256: Vec::new(),
    }))
}

/// One received dossier version as a list shows it.
#[derive(Clone, Debug)]
pub struct Listed {
    pub item: Incoming,
    /// The pupil's name; empty when withdrawn or purged.
    pub pupil: String,
    /// `received`, `assigned`, `read` (by the mentor), `withdrawn` or `purged`.
    pub status: &'static str,
}

/// The received dossier versions `actor` may read, newest first: the care
/// coordinator (IB) every one, a mentor those assigned to them; anyone else
/// is refused (audited). `kind` is this party's kind.
pub async fn list(store: &Store, kind: PartyKind, actor: &Actor) -> Result<Vec<Listed>> {
    let kind = roles::own_kind(store, kind)?;
    let coordinator = actor.may(&store.party, &roles::assign(kind)).is_ok();
    let mentor = roles::is_mentor(actor);
    if !coordinator && !mentor {
        roles::check(store, actor, roles::assign(kind), "received").await?;
    }
    let items: Vec<Incoming> = incoming::list(store)
        .await?
        .into_iter()
        .filter(|i| coordinator || i.mentor.as_deref() == Some(actor.staff.as_str()))
        .collect();
    let mut names = incoming::pupil_names(store, &items).await?;
    carenet_fabric::audit::append(&store.db, &[actor.entry("received_listed", "received")]).await?;
    Ok(items
        .into_iter()
        .map(|item| Listed {
            pupil: names.remove(&item.message_id).unwrap_or_default(),
            status: status_of(&item),
            item,
        })
        .collect())
}

/// A received dossier version's state, as the season view says it.
pub fn status_of(item: &Incoming) -> &'static str {
    match item.removed.as_deref() {
        Some("withdrawn") => "withdrawn",
        Some(_) => "purged",
        None if item.opened_at_ms.is_some() => "read",
        None if item.mentor.is_some() => "assigned",
        None => "received",
    }
}
