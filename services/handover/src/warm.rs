//! Warm handover: the handover conversation for a pupil with extra needs,
//! between the primary school's IB or group-8 teacher and the secondary
//! school's team lead or care coordinator, with the guardians and the pupil.
//! The agenda is prefilled with the handbook's points; the record (minutes,
//! agreements, aftercare) is shared with every participant's party.

use carenet_consent::{Category, Purpose};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::{self, NewMessage};
use carenet_fabric::{PartyId, audit_append, outbox_enqueue, with_db};
use carenet_proto::v1::{self, LegalBasisKind, ParticipantRole};
use prost::Message;
use sqlx::Row;
use time::Date;

use crate::incoming::{self, WARM_TYPE, single, single_section};
use crate::{Error, Result};

/// The handbook's points for a handover conversation (chapter 7.1).
pub const AGENDA: &[&str] = &[
    "(Leer)ontwikkeling van de leerling",
    "Specifieke onderwijsbehoeften van de leerling",
    "Hoe de school daar het best aan tegemoetkomt: welke aanpak werkt wel en niet",
    "Aandachtspunten bij de instroom en hoe we die aanpakken",
    "Talenten, positieve kwaliteiten en interesses",
    "Afstemming en samenwerking met de ouders",
    "Afspraken over nazorg vanuit de basisschool",
];

/// Plans a handover conversation about dossier `dossier_id`; returns its id.
pub async fn plan(
    store: &Store,
    dossier_id: &str,
    participants: Vec<v1::Participant>,
    planned_on: Date,
    by: &str,
) -> Result<String> {
    if dossier_id.trim().is_empty() {
        return Err(Error::invalid("dossier_id", "name the dossier"));
    }
    if participants.is_empty() {
        return Err(Error::invalid("participants", "name who takes part"));
    }
    for (i, p) in participants.iter().enumerate() {
        let role = ParticipantRole::try_from(p.role).unwrap_or(ParticipantRole::Unspecified);
        if role == ParticipantRole::Unspecified {
            return Err(Error::invalid(
                format!("participants[{i}].role"),
                "unknown role",
            ));
        }
        let family = matches!(role, ParticipantRole::Guardian | ParticipantRole::Pupil);
        if !family && p.party_id.is_empty() {
            return Err(Error::invalid(
                format!("participants[{i}].party_id"),
                "staff speak for a party",
            ));
        }
    }
    let record = v1::WarmHandover {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        dossier_id: dossier_id.to_owned(),
        participants,
        agenda: AGENDA
            .iter()
            .map(|t| v1::AgendaItem {
                topic: (*t).to_owned(),
                notes: String::new(),
            })
            .collect(),
        planned_on: carenet_consent::record::format_date(planned_on),
        ..Default::default()
    };
    save(store, &record, "planned", by, "warm_handover_planned").await?;
    Ok(record.id)
}

/// What was said and agreed in the conversation.
#[derive(Clone, Debug, Default)]
pub struct Held {
    pub held_on: Option<Date>,
    pub minutes: String,
    /// Notes per agenda item, by topic index.
    pub notes: Vec<(usize, String)>,
    pub agreements: Vec<String>,
    pub aftercare: String,
}

/// Records that the conversation was held, with minutes, agreements and aftercare.
pub async fn hold(store: &Store, id: &str, held: Held, by: &str) -> Result<()> {
    let (mut record, _) = get(store, id).await?;
    if held.minutes.trim().is_empty() {
        return Err(Error::invalid("minutes", "write what was discussed"));
    }
    for (i, note) in held.notes {
        let Some(item) = record.agenda.get_mut(i) else {
            return Err(Error::invalid(format!("notes[{i}]"), "no such agenda item"));
        };
        item.notes = note;
    }
    record.held_on = carenet_consent::record::format_date(
        held.held_on
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().date()),
    );
    record.minutes = held.minutes;
    record.agreements = held.agreements;
    record.aftercare = held.aftercare;
    save(store, &record, "held", by, "warm_handover_held").await
}

async fn save(
    store: &Store,
    record: &v1::WarmHandover,
    state: &str,
    by: &str,
    action: &str,
) -> Result<()> {
    let entry = Entry {
        actor: by.to_owned(),
        action: action.to_owned(),
        message_id: record.id.clone(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO warm_handover (id, dossier_id, record, state, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO UPDATE SET record = excluded.record, state = excluded.state, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&record.id)
        .bind(&record.dossier_id)
        .bind(record.encode_to_vec())
        .bind(state)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(())
}

/// A warm-handover record and its state (`planned` or `held`).
pub async fn get(store: &Store, id: &str) -> Result<(v1::WarmHandover, String)> {
    let row: Option<(Vec<u8>, String)> = with_db!(&store.db, pool => {
        match sqlx::query("SELECT record, state FROM warm_handover WHERE id = $1").bind(id).fetch_optional(pool).await? {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?)),
            None => None,
        }
    });
    let Some((bytes, state)) = row else {
        return Err(Error::NotFound(format!("warm handover {id}")));
    };
    let record = v1::WarmHandover::decode(bytes.as_slice())
        .map_err(|_| Error::Corrupt(format!("warm handover {id}")))?;
    Ok((record, state))
}

/// Shares the record with every participant's party (but this one), under
/// the consent record of the guardians for the transfer.
pub async fn share(
    store: &Store,
    directory: &Directory,
    id: &str,
    consent_record: &str,
    by: &str,
) -> Result<Vec<String>> {
    let (record, _) = get(store, id).await?;
    if consent_record.trim().is_empty() {
        return Err(Error::invalid(
            "consent_record",
            "sharing the record needs the guardians' consent",
        ));
    }
    let mut parties: Vec<PartyId> = Vec::new();
    for p in &record.participants {
        if p.party_id.is_empty() || p.party_id == store.party.as_str() {
            continue;
        }
        let party = PartyId::parse("participants.party_id", &p.party_id)?;
        if directory.get(party.as_str()).is_none() {
            return Err(Error::invalid(
                "participants.party_id",
                "not a party in the region directory",
            ));
        }
        if !parties.contains(&party) {
            parties.push(party);
        }
    }
    if parties.is_empty() {
        return Err(Error::invalid("participants", "no other party takes part"));
    }
    let payload = single_section(Category::EducationalSupport, WARM_TYPE, &record);
    let messages: Vec<NewMessage> = parties
        .iter()
        .map(|p| NewMessage {
            recipient: p.clone(),
            document_type: WARM_TYPE.into(),
            document_id: record.id.clone(),
            version: 1,
            purpose: Purpose::TransferDossier.as_str().into(),
            legal_basis: v1::LegalBasis {
                kind: LegalBasisKind::Consent as i32,
                reference: consent_record.to_owned(),
                consent_receipt: Vec::new(),
            },
            payload: payload.clone(),
            actor: by.to_owned(),
            child_ref: None,
        })
        .collect();
    let ids = outbox::prepare(&messages)?;
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let mut entries = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        audit_append!(tx, &entries);
        tx.commit().await?;
    });
    store.wake_outbox();
    Ok(ids)
}

/// The warm-handover records other parties shared with this one.
pub async fn received(store: &Store) -> Result<Vec<v1::WarmHandover>> {
    incoming::sync(store).await?;
    let ids: Vec<String> = with_db!(&store.db, pool => {
        sqlx::query("SELECT message_id FROM handover_status WHERE status = 'warm_handover' ORDER BY at_ms")
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?
    });
    let mut out = Vec::new();
    for id in ids {
        if let Some(doc) = store.received(&id).await?
            && let Some(w) = single::<v1::WarmHandover>(&doc.payload)
        {
            out.push(w);
        }
    }
    Ok(out)
}
