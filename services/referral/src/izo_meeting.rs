//! The IZO meeting about an accepted registration: the agenda and minutes of
//! appendices 21-22 with the meeting's outcomes, and the conversations with
//! the pupil and the guardians before and after it. At a primary school
//! (the leerlingbespreking, level 3) the minutes need the guardians'
//! consent for `discuss_in_izo` first.

use carenet_consent::Purpose;
use carenet_consent::record::{ConsentStore, parse_date};
use carenet_fabric::clock::{now_ms, today};
use carenet_fabric::form_id;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Error, audited, with_db};
use carenet_proto::v1::{self, IzoConversationWith, IzoOutcome};
use prost::Message;

use crate::izo::{self, State, entry};
use crate::{Result, names, roles};

fn required(field: &str, value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, what).coded(carenet_fabric::Reason::Required));
    }
    Ok(())
}

/// The party's kind, from the region directory.
pub fn own_kind(store: &Store) -> Result<carenet_fabric::PartyKind> {
    store
        .directory()
        .and_then(|d| d.get(store.party.as_str()))
        .map(|e| e.kind)
        .ok_or_else(|| {
            Error::precondition(
                "this needs the region directory to know the party's kind: start the node once",
            )
        })
}

fn validate(m: &v1::IzoMinutes) -> Result<()> {
    parse_date("held_on", &m.held_on).map_err(Error::from)?;
    required("analysis", &m.analysis, "write the analysis")?;
    required("summary", &m.summary, "write the summary")?;
    required(
        "guardians_contact",
        &m.guardians_contact,
        "name who informs the guardians",
    )?;
    parse_date("evaluation_on", &m.evaluation_on).map_err(Error::from)?;
    if m.outcomes.is_empty() {
        return Err(Error::invalid("outcomes", "choose at least one outcome")
            .coded(carenet_fabric::Reason::Required));
    }
    for (i, o) in m.outcomes.iter().enumerate() {
        match IzoOutcome::try_from(*o) {
            Ok(IzoOutcome::Unspecified) | Err(_) => {
                return Err(Error::invalid(format!("outcomes[{i}]"), "unknown outcome"));
            }
            Ok(IzoOutcome::Zat) => required(
                "zat_question",
                &m.zat_question,
                "give the question for the ZAT",
            )?,
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Records the minutes of an IZO meeting about accepted registration `id`
/// (the chair: a coordinator). Returns the minutes' id.
pub async fn record(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut m: v1::IzoMinutes,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::TRIAGE, id).await?;
    validate(&m)?;
    let case = izo::load(store, id).await?;
    if case.state != State::Accepted {
        return Err(Error::precondition(format!(
            "izo {id}: the meeting discusses an accepted registration, not one that is {}",
            case.state.as_str()
        ))
        .coded(carenet_fabric::Reason::CaseState));
    }
    if names::internal_needs_consent(own_kind(store)?) {
        let granted = ConsentStore::new(store.clone())
            .granted_for(&case.registration.child_ref, Purpose::DiscussInIzo, today())
            .await
            .map_err(Error::from)?;
        if granted.is_empty() {
            return Err(Error::precondition(
                "the leerlingbespreking (level 3) needs the guardians' consent for discuss_in_izo first",
            ).coded(carenet_fabric::Reason::ConsentMissing));
        }
    }
    m.recorded_by = actor.staff.clone();
    let named = form_id::named_or_new("id", &m.id)?;
    write_once(store, actor, Kind::Minutes, id, named, &m.held_on, |rid| {
        v1::IzoMinutes {
            id: rid.to_owned(),
            ..m.clone()
        }
        .encode_to_vec()
    })
    .await
}

/// The two kinds of record about a registration that a form writes.
#[derive(Clone, Copy)]
enum Kind {
    Minutes,
    Conversation,
}

impl Kind {
    fn insert(self) -> &'static str {
        match self {
            Kind::Minutes => {
                "INSERT INTO izo_meeting (id, izo_id, held_on, minutes, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING"
            }
            Kind::Conversation => {
                "INSERT INTO izo_conversation (id, izo_id, conversation, created_at_ms) \
                 VALUES ($1, $2, $4, $5) ON CONFLICT (id) DO NOTHING"
            }
        }
    }

    fn select(self) -> &'static str {
        match self {
            Kind::Minutes => "SELECT izo_id, minutes FROM izo_meeting WHERE id = $1",
            Kind::Conversation => "SELECT izo_id, conversation FROM izo_conversation WHERE id = $1",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Kind::Minutes => "izo_minutes_recorded",
            Kind::Conversation => "izo_conversation_recorded",
        }
    }
}

/// Writes a record of registration `izo_id` once under the id the form
/// named (`rid`; `encode` gives its bytes under an id; see `form_id`).
/// Returns the id it has.
async fn write_once(
    store: &Store,
    actor: &Actor,
    kind: Kind,
    izo_id: &str,
    rid: String,
    held_on: &str,
    encode: impl Fn(&str) -> Vec<u8>,
) -> Result<String> {
    let encode = &encode;
    let insert = |rid: String| {
        let bytes = encode(&rid);
        let audit = entry(actor, kind.action(), izo_id);
        async move {
            Ok(audited!(&store.db, tx => {
                let inserted = sqlx::query(kind.insert())
                    .bind(&rid)
                    .bind(izo_id)
                    .bind(held_on)
                    .bind(&bytes)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                (inserted, if inserted { vec![audit] } else { Vec::new() })
            }))
        }
    };
    let same = |rid: String| async move {
        let recorded: Option<(String, Vec<u8>)> = with_db!(&store.db, pool => {
            sqlx::query_as(kind.select())
                .bind(rid.as_str())
                .fetch_optional(pool)
                .await?
        });
        Ok(recorded == Some((izo_id.to_owned(), encode(&rid))))
    };
    form_id::write_once(rid, insert, same).await
}

/// Records a conversation with the pupil or the guardians about
/// registration `id` (before or after the meeting), by whoever may register.
pub async fn converse(
    store: &Store,
    actor: &Actor,
    id: &str,
    mut c: v1::IzoConversation,
) -> Result<String> {
    carenet_fabric::actor::require(store, actor, &roles::REGISTER, id).await?;
    parse_date("held_on", &c.held_on).map_err(Error::from)?;
    match IzoConversationWith::try_from(c.with) {
        Ok(IzoConversationWith::Unspecified) | Err(_) => {
            return Err(Error::invalid("with", "pupil, guardians or both"));
        }
        Ok(_) => {}
    }
    required("summary", &c.summary, "write what was said and agreed")?;
    // The one who registered the pupil, or a coordinator: as reading it.
    let case = izo::load(store, id).await?;
    izo::own_or_coordinator(store, actor, &case, id).await?;
    c.recorded_by = actor.staff.clone();
    let named = form_id::named_or_new("id", &c.id)?;
    write_once(store, actor, Kind::Conversation, id, named, "", |rid| {
        v1::IzoConversation {
            id: rid.to_owned(),
            ..c.clone()
        }
        .encode_to_vec()
    })
    .await
}

/// The minutes of registration `id`, oldest first (read by the callers'
/// audited reading).
pub(crate) async fn minutes_of(store: &Store, id: &str) -> Result<Vec<v1::IzoMinutes>> {
    let rows: Vec<(Vec<u8>,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT minutes FROM izo_meeting WHERE izo_id = $1 ORDER BY held_on, created_at_ms")
            .bind(id)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .map(|(b,)| {
            v1::IzoMinutes::decode(b.as_slice())
                .map_err(|_| Error::Corrupt(format!("izo {id}: minutes")))
        })
        .collect()
}

pub(crate) async fn conversations_of(store: &Store, id: &str) -> Result<Vec<v1::IzoConversation>> {
    let rows: Vec<(Vec<u8>,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT conversation FROM izo_conversation WHERE izo_id = $1 ORDER BY created_at_ms, id")
            .bind(id)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .map(|(b,)| {
            v1::IzoConversation::decode(b.as_slice())
                .map_err(|_| Error::Corrupt(format!("izo {id}: conversation")))
        })
        .collect()
}
