//! The sending school's side of a cold handover: compose or import a
//! dossier, let the guardians see it (inzage) and add their view, set it
//! ready (*klaarzetten*), publish it to the receiving party, and push every
//! correction to everyone who received an earlier version.
//!
//! States: `draft` → `awaiting_inspection` → `ready` → `published`; a
//! correction starts again at `awaiting_inspection` (PO→VO: the guardians
//! must see what is sent) or `ready` (routes under consent).

use carenet_consent::inspection::{self, Inspection};
use carenet_consent::{Category, Purpose};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::{self, NewMessage};
use carenet_fabric::{PartyId, PartyKind, audit_append, outbox_enqueue, with_db};
use carenet_proto::v1::{self, LegalBasisKind};
use sqlx::Row;
use time::Date;

use crate::model::Dossier;
use crate::oso::{self, Section};
use crate::xml::Element;
use crate::{Error, Result};

/// Document type of a transfer dossier on the wire.
pub const DOSSIER_TYPE: &str = "carenet.transfer_dossier";

/// Which transfer a dossier is for; decides who may receive it and on which basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Primary to secondary school: the guardians' inzage is the basis (WPO art. 42).
    PoVo,
    /// Secondary to secondary school: needs consent (OSO rule OVa: toestemming).
    VoVo,
    /// Secondary school to follow-up education: needs consent (pupil from 16).
    VoVervolg,
    /// Inside one school (mentor change): stays on the node.
    Internal,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::PoVo => "po_vo",
            Route::VoVo => "vo_vo",
            Route::VoVervolg => "vo_vervolg",
            Route::Internal => "internal",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self> {
        Ok(match s {
            "po_vo" => Route::PoVo,
            "vo_vo" => Route::VoVo,
            "vo_vervolg" => Route::VoVervolg,
            "internal" => Route::Internal,
            _ => {
                return Err(Error::invalid(
                    field,
                    "must be po_vo, vo_vo, vo_vervolg or internal",
                ));
            }
        })
    }

    fn recipient_kind(self) -> Option<PartyKind> {
        match self {
            Route::PoVo | Route::VoVo => Some(PartyKind::VoSchool),
            Route::VoVervolg => Some(PartyKind::Vervolg),
            Route::Internal => None,
        }
    }
}

/// A dossier as the sending school holds it.
#[derive(Clone, Debug)]
pub struct StoredDossier {
    pub id: String,
    pub child_ref: String,
    pub route: Route,
    pub version: u32,
    pub state: String,
    pub dossier: Dossier,
    pub inspection_id: Option<String>,
}

fn check_ref(field: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > 128 {
        return Err(Error::invalid(field, "1-128 characters"));
    }
    Ok(())
}

/// Stores a new dossier (composed, or imported from OSO) as a draft; returns its id.
pub async fn create(
    store: &Store,
    child_ref: &str,
    route: Route,
    dossier: &Dossier,
    by: &str,
) -> Result<String> {
    check_ref("child_ref", child_ref)?;
    check_ref("created_by", by)?;
    if dossier.sections.is_empty() {
        return Err(Error::invalid("dossier", "holds no OSO parts"));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let document = dossier.encode();
    let now = now_ms();
    let entry = Entry {
        actor: by.to_owned(),
        action: "dossier_created".into(),
        message_id: id.clone(),
        payload_sha256: sha256(&document).to_vec(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, 1, 'draft', $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(child_ref)
        .bind(route.as_str())
        .bind(&document)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(id)
}

/// Imports an OSO file as a new draft dossier. If the file says the guardians
/// saw it (`inzage` true with a date), that inspection is recorded too, by
/// `by`, so a PO→VO dossier from the school's administration system can be
/// set ready without asking the guardians twice.
pub async fn import_oso(
    store: &Store,
    xml: &str,
    child_ref: &str,
    route: Route,
    by: &str,
) -> Result<String> {
    let imported = oso::import(xml)?;
    let dossier = Dossier {
        sections: imported.sections,
        extras: Default::default(),
    };
    let id = create(store, child_ref, route, &dossier, by).await?;
    let root = oso::assemble(&dossier.sections);
    let seen = root
        .child("inzage")
        .filter(|i| matches!(i.text_at("inzage"), Some("true" | "1")));
    if let Some(date) = seen.and_then(|i| i.text_at("inzagedatum")) {
        let seen_on = parse_date("inzage/inzagedatum", date)?;
        let view = seen
            .and_then(|i| i.text_at("redennietakkoord"))
            .map(str::to_owned);
        record_inspection(store, &id, seen_on, view, by).await?;
    }
    Ok(id)
}

pub fn parse_date(field: &str, s: &str) -> Result<Date> {
    carenet_consent::record::parse_date(field, s).map_err(Error::from)
}

/// The current version of a dossier.
pub async fn get(store: &Store, id: &str) -> Result<StoredDossier> {
    type Fields = (String, String, i64, String, Vec<u8>, Option<String>);
    let row: Option<Fields> = with_db!(&store.db, pool => {
        let row = sqlx::query("SELECT child_ref, route, version, state, document, inspection_id FROM handover_dossier WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
        match row {
            Some(r) => Some((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?, r.try_get(4)?, r.try_get(5)?)),
            None => None,
        }
    });
    let Some((child_ref, route, version, state, document, inspection_id)) = row else {
        return Err(Error::NotFound(format!("dossier {id}")));
    };
    Ok(StoredDossier {
        id: id.to_owned(),
        child_ref,
        route: Route::parse("route", &route)?,
        version: u32::try_from(version).map_err(|_| Error::Corrupt("version".into()))?,
        state,
        dossier: Dossier::decode(&document).map_err(|_| Error::Corrupt(format!("dossier {id}")))?,
        inspection_id,
    })
}

/// The dossiers about one child, newest first: (id, version, state).
pub async fn for_child(store: &Store, child_ref: &str) -> Result<Vec<(String, u32, String)>> {
    with_db!(&store.db, pool => {
        let rows = sqlx::query("SELECT id, version, state FROM handover_dossier WHERE child_ref = $1 ORDER BY created_at_ms DESC")
            .bind(child_ref)
            .fetch_all(pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get::<i64, _>("version")? as u32, r.try_get("state")?)))
            .collect()
    })
}

/// Every dossier id on this node, oldest first.
pub async fn all(store: &Store) -> Result<Vec<String>> {
    with_db!(&store.db, pool => {
        let rows = sqlx::query("SELECT id FROM handover_dossier ORDER BY created_at_ms, id")
            .fetch_all(pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    })
}

async fn set_state(
    store: &Store,
    id: &str,
    from: &[&str],
    to: &str,
    step: &'static str,
    by: &str,
) -> Result<()> {
    let current = get(store, id).await?;
    if !from.contains(&current.state.as_str()) {
        return Err(Error::State {
            id: id.to_owned(),
            step,
            state: current.state,
        });
    }
    let entry = Entry {
        actor: by.to_owned(),
        action: format!("dossier_{to}"),
        message_id: id.to_owned(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE handover_dossier SET state = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(to)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(())
}

/// The dossier is put before the guardians (inzage).
pub async fn submit_for_inspection(store: &Store, id: &str, by: &str) -> Result<()> {
    set_state(
        store,
        id,
        &["draft"],
        "awaiting_inspection",
        "submit for inspection",
        by,
    )
    .await
}

/// The guardians saw the dossier on `seen_on`, with their view if they gave
/// one: the view is attached to the dossier and the OSO `inzage` block says
/// so. The dossier is then ready to be released (*klaargezet*).
pub async fn record_inspection(
    store: &Store,
    id: &str,
    seen_on: Date,
    guardian_view: Option<String>,
    by: &str,
) -> Result<String> {
    let mut current = get(store, id).await?;
    if !matches!(current.state.as_str(), "draft" | "awaiting_inspection") {
        return Err(Error::State {
            id: id.to_owned(),
            step: "record an inspection",
            state: current.state,
        });
    }
    let guardian_view = guardian_view.filter(|v| !v.trim().is_empty());
    let inspection_id = inspection::record(
        &store.clone(),
        &Inspection {
            child_ref: current.child_ref.clone(),
            document_id: id.to_owned(),
            seen_on,
            guardian_view: guardian_view.clone(),
            recorded_by: by.to_owned(),
        },
    )
    .await?;
    if guardian_view.is_some() {
        current.dossier.extras.guardian_view = guardian_view;
    }
    mark_inspected(&mut current.dossier.sections, seen_on);
    let document = current.dossier.encode();
    with_db!(&store.db, pool => {
        sqlx::query("UPDATE handover_dossier SET document = $1, inspection_id = $2, state = 'ready', updated_at_ms = $3 WHERE id = $4")
            .bind(&document)
            .bind(&inspection_id)
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(inspection_id)
}

/// Writes the OSO `inzage` block: seen, on `seen_on`, no longer provisional.
fn mark_inspected(sections: &mut Vec<Section>, seen_on: Date) {
    let date = carenet_consent::record::format_date(seen_on);
    let block = match sections
        .iter_mut()
        .find(|s| s.parent.is_empty() && s.element.name == "inzage")
    {
        Some(s) => &mut s.element,
        None => {
            let at = sections
                .iter()
                .rposition(|s| s.category == Category::Metadata)
                .map_or(0, |i| i + 1);
            sections.insert(
                at,
                Section {
                    category: Category::GuardianInspection,
                    parent: "",
                    element: Element::new("inzage"),
                },
            );
            &mut sections[at].element
        }
    };
    // XSD order: voorlopigdossier, inzage, inzagedatum, akkoord, redennietakkoord, toestemming.
    let keep = |name: &str, block: &Element| block.child(name).cloned();
    let akkoord = keep("akkoord", block).unwrap_or_else(|| Element::leaf("akkoord", "Onbekend"));
    let reden = keep("redennietakkoord", block);
    let toestemming = keep("toestemming", block);
    block.children = [
        Some(Element::leaf("voorlopigdossier", "false")),
        Some(Element::leaf("inzage", "true")),
        Some(Element::leaf("inzagedatum", &date)),
        Some(akkoord),
        reden,
        toestemming,
    ]
    .into_iter()
    .flatten()
    .collect();
}

/// Sets OSO `toestemming` (the guardians or pupil consented to the transfer).
fn mark_consented(sections: &mut [Section]) {
    if let Some(s) = sections
        .iter_mut()
        .find(|s| s.parent.is_empty() && s.element.name == "inzage")
    {
        s.element.set_child_text("toestemming", "Ja");
    }
}

/// The basis a release of this dossier goes out on: inzage for PO→VO,
/// otherwise (or when given) the consent record.
fn basis(d: &StoredDossier, consent_record: Option<&str>) -> Result<v1::LegalBasis> {
    if let Some(record) = consent_record {
        return Ok(v1::LegalBasis {
            kind: LegalBasisKind::Consent as i32,
            reference: record.to_owned(),
            consent_receipt: Vec::new(),
        });
    }
    match (d.route, &d.inspection_id) {
        (Route::PoVo, Some(inspection)) => Ok(v1::LegalBasis {
            kind: LegalBasisKind::Inspection as i32,
            reference: inspection.clone(),
            consent_receipt: Vec::new(),
        }),
        (Route::PoVo, None) => Err(Error::invalid(
            "inspection",
            "the guardians have not seen this dossier",
        )),
        _ => Err(Error::invalid(
            "consent_record",
            "this route needs the consent record of the guardians (or the pupil from 16)",
        )),
    }
}

/// Releases a ready dossier to `recipients` (and, for a correction, to every
/// party that received an earlier version). The consent service decides at
/// fetch time what actually leaves. Returns the message ids.
pub async fn publish(
    store: &Store,
    directory: &Directory,
    id: &str,
    recipients: &[PartyId],
    consent_record: Option<&str>,
    by: &str,
) -> Result<Vec<String>> {
    let mut d = get(store, id).await?;
    let may_publish = d.state == "ready" || (d.state == "published" && !recipients.is_empty());
    if !may_publish {
        return Err(Error::State {
            id: id.to_owned(),
            step: "publish",
            state: d.state,
        });
    }
    let Some(kind) = d.route.recipient_kind() else {
        return Err(Error::invalid(
            "route",
            "an internal handover is assigned, not published",
        ));
    };
    // Every party that had an earlier version gets this one (a correction),
    // and so do the new recipients; nobody gets the same version twice.
    let mut to: Vec<PartyId> = earlier_recipients(store, id).await?;
    for r in recipients {
        let Some(entry) = directory.get(r.as_str()) else {
            return Err(Error::invalid(
                "recipient",
                "not a party in the region directory",
            ));
        };
        if entry.kind != kind {
            return Err(Error::invalid(
                "recipient",
                "this route goes to another kind of party",
            ));
        }
        if !to.contains(r) {
            to.push(r.clone());
        }
    }
    let legal_basis = basis(&d, consent_record)?;
    if legal_basis.kind == LegalBasisKind::Consent as i32 {
        mark_consented(&mut d.dossier.sections);
    }
    let payload = d.dossier.encode();
    let message_to = |r: &PartyId| NewMessage {
        recipient: r.clone(),
        document_type: DOSSIER_TYPE.into(),
        document_id: d.id.clone(),
        version: d.version,
        purpose: Purpose::TransferDossier.as_str().into(),
        legal_basis: legal_basis.clone(),
        payload: payload.clone(),
        actor: by.to_owned(),
        child_ref: Some(d.child_ref.clone()),
    };
    let now = now_ms();
    let ids = with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        // Updating the dossier first locks its row (PostgreSQL; SQLite has one
        // writer), so two releases of the same version cannot both pass the
        // check below. What was released is the outbox: no copy of it here.
        sqlx::query("UPDATE handover_dossier SET state = 'published', updated_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(&d.id)
            .execute(&mut *tx)
            .await?;
        let have_it: Vec<String> = sqlx::query(
            "SELECT recipient FROM outbox WHERE document_type = $1 AND document_id = $2 AND version = $3",
        )
        .bind(DOSSIER_TYPE)
        .bind(&d.id)
        .bind(i64::from(d.version))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
        to.retain(|r| !have_it.iter().any(|h| h == r.as_str()));
        if to.is_empty() {
            return Err(Error::invalid(
                "recipient",
                "name a party that does not have this version yet",
            ));
        }
        let messages: Vec<NewMessage> = to.iter().map(message_to).collect();
        let ids = outbox::prepare(&messages)?;
        let mut entries: Vec<Entry> = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        audit_append!(tx, &entries);
        tx.commit().await?;
        ids
    });
    store.wake_outbox();
    Ok(ids)
}

/// The parties that received any version of a dossier.
pub async fn earlier_recipients(store: &Store, id: &str) -> Result<Vec<PartyId>> {
    let rows: Vec<String> = with_db!(&store.db, pool => {
        sqlx::query("SELECT DISTINCT recipient FROM outbox WHERE document_type = $1 AND document_id = $2 ORDER BY recipient")
            .bind(DOSSIER_TYPE)
            .bind(id)
            .fetch_all(pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?
    });
    rows.iter()
        .map(|r| PartyId::parse("recipient", r).map_err(Error::from))
        .collect()
}

/// A correction: the dossier's next version. A PO→VO dossier goes back to
/// the guardians first; then [`publish`] with no new recipient sends it to
/// every earlier recipient.
pub async fn correct(store: &Store, id: &str, dossier: &Dossier, by: &str) -> Result<u32> {
    let current = get(store, id).await?;
    if current.state == "draft" || current.state == "awaiting_inspection" {
        return Err(Error::State {
            id: id.to_owned(),
            step: "correct (edit the draft instead)",
            state: current.state,
        });
    }
    let state = if current.route == Route::PoVo {
        "awaiting_inspection"
    } else {
        "ready"
    };
    let version = current.version + 1;
    let document = dossier.encode();
    let entry = Entry {
        actor: by.to_owned(),
        action: "dossier_corrected".into(),
        message_id: id.to_owned(),
        payload_sha256: sha256(&document).to_vec(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "UPDATE handover_dossier SET document = $1, version = $2, state = $3, inspection_id = NULL, updated_at_ms = $4 WHERE id = $5",
        )
        .bind(&document)
        .bind(i64::from(version))
        .bind(state)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(version)
}

/// A handover inside one school (a mentor change, a move to another
/// department): the dossier stays on the node and goes straight to the new
/// mentor's (and teachers') work list, like a received one. Returns the id of
/// that incoming item. No data leaves the school, so no release basis is
/// needed; it is audited like an assignment.
pub async fn hand_over_internally(
    store: &Store,
    id: &str,
    mentor: &str,
    teachers: &[String],
    by: &str,
) -> Result<String> {
    let d = get(store, id).await?;
    if d.route != Route::Internal {
        return Err(Error::invalid(
            "route",
            "only an internal dossier is handed over inside the school",
        ));
    }
    crate::incoming::check_assignment(mentor, teachers, by)?;
    let item = format!("internal-{}", uuid::Uuid::new_v4().hyphenated());
    let now = now_ms();
    let entry = Entry {
        actor: by.to_owned(),
        action: "internal_handover".into(),
        message_id: item.clone(),
        counterparty: store.party.to_string(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO handover_incoming (message_id, sender, document_id, version, received_at_ms, mentor, teachers, assigned_by, assigned_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $5)",
        )
        .bind(&item)
        .bind(store.party.as_str())
        .bind(id)
        .bind(i64::from(d.version))
        .bind(now)
        .bind(mentor)
        .bind(teachers.join(","))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE handover_dossier SET state = 'published', updated_at_ms = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(item)
}

/// Deletes the dossiers (and their warm-handover records) not changed for
/// `days`, the retention period of a transfer dossier, leaving a `purged`
/// record with the hash of what was deleted in the audit chain. What was
/// released stays in the outbox until the fabric's own purge. Returns how
/// many dossiers were deleted.
pub async fn purge_expired(store: &Store, days: u32, now: i64) -> Result<usize> {
    let cutoff = now - i64::from(days) * 86_400_000;
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        let rows = sqlx::query("SELECT id, document FROM handover_dossier WHERE updated_at_ms < $1")
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
        let mut entries = Vec::new();
        for r in &rows {
            let id: String = r.try_get(0)?;
            let document: Vec<u8> = r.try_get(1)?;
            sqlx::query("DELETE FROM warm_handover WHERE dossier_id = $1").bind(&id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM handover_dossier WHERE id = $1").bind(&id).execute(&mut *tx).await?;
            entries.push(Entry {
                actor: "system".into(),
                action: "purged".into(),
                message_id: id,
                purpose: format!("retention:{days}d"),
                legal_basis: "retention".into(),
                payload_sha256: sha256(&document).to_vec(),
                ..Entry::default()
            });
        }
        audit_append!(tx, &entries);
        tx.commit().await?;
        Ok(entries.len())
    })
}

/// Replaces a draft's content (before the guardians see it).
pub async fn edit_draft(store: &Store, id: &str, dossier: &Dossier, by: &str) -> Result<()> {
    let current = get(store, id).await?;
    if current.state != "draft" {
        return Err(Error::State {
            id: id.to_owned(),
            step: "edit",
            state: current.state,
        });
    }
    let document = dossier.encode();
    let entry = Entry {
        actor: by.to_owned(),
        action: "dossier_edited".into(),
        message_id: id.to_owned(),
        payload_sha256: sha256(&document).to_vec(),
        ..Entry::default()
    };
    with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE handover_dossier SET document = $1, updated_at_ms = $2 WHERE id = $3")
            .bind(&document)
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
    });
    Ok(())
}
