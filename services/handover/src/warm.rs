//! Warm handover: the handover conversation for a pupil with extra needs,
//! between the primary school's IB or group-8 teacher and the secondary
//! school's team lead or care coordinator, with the guardians and the pupil.
//! The agenda is prefilled with the handbook's points for the route: 7.1
//! PO→VO ([`AGENDA`]), 7.2 a mentor change inside the school
//! ([`AGENDA_MENTOR_CHANGE`]), 7.3 VO→follow-up education
//! ([`AGENDA_VO_VERVOLG`]). The record (minutes, agreements, aftercare) is
//! shared with every participant's party. Every step takes the [`Actor`]
//! ([`roles::WARM`]).

use carenet_consent::{Category, Purpose};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, PartyId, PartyKind, audited, outbox_enqueue, with_db};
use carenet_proto::v1::{self, LegalBasisKind, ParticipantRole};
use prost::Message;
use time::Date;

use crate::dossier::Route;
use crate::incoming::{self, WARM_TYPE, single, single_section};
use crate::roles;
use crate::{Error, Result};

/// The handbook's points for a handover conversation PO→VO (chapter 7.1);
/// also used between secondary schools.
pub const AGENDA: &[&str] = &[
    "(Leer)ontwikkeling van de leerling",
    "Specifieke onderwijsbehoeften van de leerling",
    "Hoe de school daar het best aan tegemoetkomt: welke aanpak werkt wel en niet",
    "Aandachtspunten bij de instroom en hoe we die aanpakken",
    "Talenten, positieve kwaliteiten en interesses",
    "Afstemming en samenwerking met de ouders",
    "Afspraken over nazorg vanuit de basisschool",
];

/// The handover inside one school when the mentor changes (chapter 7.2).
pub const AGENDA_MENTOR_CHANGE: &[&str] = &[
    "Wat werkt bij deze leerling (en wat niet)",
    "Wat de vorige mentor met de leerling en de ouders heeft afgesproken",
    "Lopende acties en ondersteuningsafspraken",
    "Contact met de ouders: hoe, hoe vaak en met wie",
    "Bij wie de nieuwe mentor terechtkan met vragen",
];

/// The handover from secondary school to follow-up education (chapter 7.3):
/// the handbook's points for the conversation, in its order (development
/// with what stimulates and hinders it and the talents, the needs, what
/// works, concrete agreements on guiding the student at intake, the help
/// the student gets and how it continues, the parents, the aftercare from
/// the secondary school), then what the chapter asks beside them: reading,
/// language and arithmetic, the choice of study and career guidance (LOB),
/// the student's own voice, and who the contact person is at the
/// follow-up institution.
pub const AGENDA_VO_VERVOLG: &[&str] = &[
    "(Leer)ontwikkeling van de leerling: wat stimuleert en wat belemmert, en de positieve kwaliteiten en talenten",
    "Specifieke onderwijsbehoeften van de leerling",
    "Hoe de vervolgopleiding daar het best aan tegemoetkomt: welke aanpak werkt wel en niet",
    "Aandachtspunten bij de instroom: concrete afspraken over de begeleiding van de leerling bij de start",
    "Welke begeleiding of hulp de leerling krijgt (op school of daarbuiten) en hoe die op de vervolgopleiding doorloopt",
    "Afstemming en samenwerking met de ouders",
    "Afspraken over nazorg vanuit de school voor voortgezet onderwijs",
    "Beheersing van taal, lezen en rekenen: waar extra begeleiding nodig is",
    "Studiekeuze en loopbaanoriëntatie en -begeleiding (LOB)",
    "De stem van de leerling zelf: wat wil en verwacht de leerling",
    "Wie de contactpersonen zijn op de vervolgopleiding en op de school",
];

/// The agenda of a handover conversation on `route`.
pub fn agenda(route: Route) -> &'static [&'static str] {
    match route {
        Route::PoVo | Route::PoPo | Route::VoVo => AGENDA,
        Route::Internal => AGENDA_MENTOR_CHANGE,
        Route::VoVervolg => AGENDA_VO_VERVOLG,
    }
}

/// Plans a handover conversation about dossier `dossier_id`; returns its id.
/// The agenda is the one of the dossier's route (this school's own dossier),
/// or of `route` when given (e.g. a conversation about a received dossier).
pub async fn plan(
    store: &Store,
    actor: &Actor,
    dossier_id: &str,
    route: Option<Route>,
    participants: Vec<v1::Participant>,
    planned_on: Date,
) -> Result<String> {
    plan_named(
        store,
        actor,
        "",
        dossier_id,
        route,
        participants,
        planned_on,
    )
    .await
}

/// [`plan`] under the id a form named (a UUID made when the form was shown;
/// empty: a new one; not a UUID: refused, naming `id`): the same plan sent
/// twice (a double click, a retry) plans one conversation; other content
/// under that id (a form kept open and changed) is a conversation of its
/// own under a new id.
pub async fn plan_named(
    store: &Store,
    actor: &Actor,
    id: &str,
    dossier_id: &str,
    route: Option<Route>,
    participants: Vec<v1::Participant>,
    planned_on: Date,
) -> Result<String> {
    roles::check(store, actor, roles::WARM, dossier_id).await?;
    if dossier_id.trim().is_empty() {
        return Err(Error::invalid("dossier_id", "name the dossier"));
    }
    let route = match route {
        Some(r) => r,
        None => match crate::dossier::get(store, dossier_id).await {
            Ok(d) => d.route,
            Err(Error::NotFound(_)) => {
                return Err(Error::invalid(
                    "route",
                    "the dossier is not this school's own: name the route",
                ));
            }
            Err(e) => return Err(e),
        },
    };
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
        id: carenet_fabric::form_id::named_or_new("id", id)?,
        dossier_id: dossier_id.to_owned(),
        participants,
        agenda: agenda(route)
            .iter()
            .map(|t| v1::AgendaItem {
                topic: (*t).to_owned(),
                notes: String::new(),
            })
            .collect(),
        planned_on: carenet_consent::record::format_date(planned_on),
        ..Default::default()
    };
    let under = |id: String| v1::WarmHandover {
        id,
        ..record.clone()
    };
    let insert = |id: String| async move {
        match save(
            store,
            actor,
            &under(id),
            None,
            "planned",
            "warm_handover_planned",
        )
        .await
        {
            Ok(()) => Ok(true),
            // The id is taken: this plan sent again, or another under its id.
            Err(Error::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    };
    let same = |id: String| async move { Ok(same_plan(&get(store, &id).await?.0, &under(id))) };
    carenet_fabric::form_id::write_once(record.id.clone(), insert, same).await
}

/// Whether `recorded` plans what `sent` plans (what was said when it was
/// held may have been added since).
fn same_plan(recorded: &v1::WarmHandover, sent: &v1::WarmHandover) -> bool {
    let topics =
        |r: &v1::WarmHandover| r.agenda.iter().map(|a| a.topic.clone()).collect::<Vec<_>>();
    recorded.dossier_id == sent.dossier_id
        && recorded.participants == sent.participants
        && recorded.planned_on == sent.planned_on
        && topics(recorded) == topics(sent)
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

/// Records that the conversation was held, with minutes, agreements and
/// aftercare (again, to complete the record).
pub async fn hold(store: &Store, actor: &Actor, id: &str, held: Held) -> Result<()> {
    roles::check(store, actor, roles::WARM, id).await?;
    let (mut record, state) = get(store, id).await?;
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
        held.held_on.unwrap_or_else(carenet_fabric::clock::today),
    );
    record.minutes = held.minutes;
    record.agreements = held.agreements;
    record.aftercare = held.aftercare;
    save(
        store,
        actor,
        &record,
        Some(&state),
        "held",
        "warm_handover_held",
    )
    .await
}

/// Writes the record; `from` is the state it was read in (none for a new
/// one), checked inside the transaction.
async fn save(
    store: &Store,
    actor: &Actor,
    record: &v1::WarmHandover,
    from: Option<&str>,
    state: &str,
    action: &str,
) -> Result<()> {
    let entry = actor.entry(action, &record.id);
    audited!(&store.db, tx => {
        let done = match from {
            None => sqlx::query(
                "INSERT INTO warm_handover (id, dossier_id, record, state, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&record.id)
            .bind(&record.dossier_id)
            .bind(record.encode_to_vec())
            .bind(state)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?,
            Some(from) => sqlx::query(
                "UPDATE warm_handover SET record = $1, state = $2, updated_at_ms = $3 WHERE id = $4 AND state = $5",
            )
            .bind(record.encode_to_vec())
            .bind(state)
            .bind(now_ms())
            .bind(&record.id)
            .bind(from)
            .execute(&mut *tx)
            .await?,
        };
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(format!("warm handover {}", record.id)));
        }
        ((), vec![entry])
    });
    Ok(())
}

#[derive(sqlx::FromRow)]
struct WarmRow {
    record: Vec<u8>,
    state: String,
}

/// A warm-handover record and its state (`planned` or `held`).
pub async fn get(store: &Store, id: &str) -> Result<(v1::WarmHandover, String)> {
    let row: Option<WarmRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT record, state FROM warm_handover WHERE id = $1").bind(id).fetch_optional(pool).await?
    });
    let Some(row) = row else {
        return Err(Error::NotFound(format!("warm handover {id}")));
    };
    let record = v1::WarmHandover::decode(row.record.as_slice())
        .map_err(|_| Error::Corrupt(format!("warm handover {id}")))?;
    Ok((record, row.state))
}

/// One of this school's warm handovers, without its content: for lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub id: String,
    /// `planned` or `held`.
    pub state: String,
    pub planned_on: String,
    pub held_on: String,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: String,
    record: Vec<u8>,
    state: String,
}

/// This school's warm handovers about dossier `dossier_id`, oldest first,
/// without their content ([`roles::WARM`]).
pub async fn of_dossier(store: &Store, actor: &Actor, dossier_id: &str) -> Result<Vec<Summary>> {
    roles::check(store, actor, roles::WARM, dossier_id).await?;
    let rows: Vec<SummaryRow> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id, record, state FROM warm_handover WHERE dossier_id = $1 ORDER BY updated_at_ms, id",
        )
        .bind(dossier_id)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|r| {
            let record = v1::WarmHandover::decode(r.record.as_slice())
                .map_err(|_| Error::Corrupt(format!("warm handover {}", r.id)))?;
            Ok(Summary {
                id: r.id,
                state: r.state,
                planned_on: record.planned_on,
                held_on: record.held_on,
            })
        })
        .collect()
}

/// One of this school's warm-handover records and its state, for a member
/// of staff ([`roles::WARM`]); the reading is audited.
pub async fn view(store: &Store, actor: &Actor, id: &str) -> Result<(v1::WarmHandover, String)> {
    roles::check(store, actor, roles::WARM, id).await?;
    let found = get(store, id).await?;
    carenet_fabric::audit::append(&store.db, &[actor.entry("warm_handover_viewed", id)]).await?;
    Ok(found)
}

/// Shares the record with every participant's party (but this one), under
/// the consent record of the guardians for the transfer.
pub async fn share(
    store: &Store,
    directory: &Directory,
    actor: &Actor,
    id: &str,
    consent_record: &str,
    child_ref: Option<&str>,
) -> Result<Vec<String>> {
    roles::check(store, actor, roles::WARM, id).await?;
    let (record, _) = get(store, id).await?;
    // The child the consent must be for: the pupil of this school's own
    // dossier, or (a conversation about a received dossier) the one named.
    let child_ref = match crate::dossier::get(store, &record.dossier_id).await {
        Ok(own) => {
            if child_ref.is_some_and(|c| c != own.child_ref) {
                return Err(Error::invalid(
                    "child_ref",
                    "is not the pupil of the dossier",
                ));
            }
            own.child_ref
        }
        Err(Error::NotFound(_)) => match child_ref {
            Some(c) => {
                crate::dossier::check_ref("child_ref", c)?;
                c.to_owned()
            }
            None => {
                return Err(Error::invalid(
                    "child_ref",
                    "name the pupil (this school's reference) the conversation is about",
                ));
            }
        },
        Err(e) => return Err(e),
    };
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
            actor: actor.audit_name(),
            child_ref: Some(child_ref.clone()),
        })
        .collect();
    let ids = store.prepare(&messages).await?;
    audited!(&store.db, tx => {
        let mut entries = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        ((), entries)
    });
    store.wake_outbox();
    Ok(ids)
}

/// The warm-handover records other parties shared with this one. `kind` is
/// this party's kind (see [`roles::warm_read`]); each reading is audited.
pub async fn received(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
) -> Result<Vec<v1::WarmHandover>> {
    received_where(store, kind, actor, None).await
}

/// The warm-handover records `sender` shared about its dossier `dossier_id`
/// (the page of that received dossier); each reading is audited.
pub async fn received_about(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    sender: &str,
    dossier_id: &str,
) -> Result<Vec<v1::WarmHandover>> {
    received_where(store, kind, actor, Some((sender, dossier_id))).await
}

async fn received_where(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    about: Option<(&str, &str)>,
) -> Result<Vec<v1::WarmHandover>> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::warm_read(kind), "warm_handover").await?;
    incoming::sync(store).await?;
    let ids: Vec<(String, String)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT message_id, from_party FROM handover_status WHERE status = 'warm_handover' ORDER BY at_ms")
            .fetch_all(pool)
            .await?
    });
    let mut out = Vec::new();
    let mut entries = Vec::new();
    for (id, from) in ids {
        if about.is_some_and(|(sender, _)| sender != from) {
            continue;
        }
        if let Some(doc) = store.received(&id).await?
            && let Some(w) = single::<v1::WarmHandover>(&doc.payload)
            && about.is_none_or(|(_, dossier)| dossier == w.dossier_id)
        {
            entries.push(Entry {
                counterparty: from,
                ..actor.entry("warm_handover_read", &id)
            });
            out.push(w);
        }
    }
    if !entries.is_empty() {
        carenet_fabric::audit::append(&store.db, &entries).await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 7.3 conversation holds the handbook's whole agenda: the intake
    /// guidance, the parents and the aftercare included.
    #[test]
    fn the_vo_vervolg_agenda_is_the_handbooks() {
        let agenda = agenda(Route::VoVervolg);
        for point in ["instroom", "ouders", "nazorg", "onderwijsbehoeften", "LOB"] {
            assert!(
                agenda.iter().any(|t| t.contains(point)),
                "{point} on the 7.3 agenda"
            );
        }
        assert_ne!(agenda, agenda_of_po_vo());
    }

    fn agenda_of_po_vo() -> &'static [&'static str] {
        agenda(Route::PoVo)
    }
}
