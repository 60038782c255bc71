//! The sending school's side of a cold handover: compose or import a
//! dossier, let the guardians see it (inzage) and add their view, set it
//! ready (*klaarzetten*), publish it to the receiving party, and push every
//! correction to everyone who received an earlier version.
//!
//! States ([`DossierState`]): `draft` → `awaiting_inspection` → `ready` →
//! `published`; a correction starts again at `awaiting_inspection` (PO→VO:
//! the guardians must see what is sent) or `ready` (routes under consent).
//! Every change of state checks, inside its transaction, the state it starts
//! from: a step the state does not allow is [`Error::State`], a dossier that
//! changed between reading and writing is [`Error::Conflict`].
//!
//! Every staff step takes the [`Actor`] and checks its role first (see
//! [`crate::roles`]); its audit record names the actor and roles.

use carenet_consent::inspection::{ContentSeen, Inspection};
use carenet_consent::{Category, Purpose};
use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::directory::Directory;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{
    Actor, PartyId, PartyKind, audited, outbox_enqueue, sent_recipients, with_db,
};
use carenet_proto::v1::{self, LegalBasisKind};
use time::Date;

use crate::inzage::{self, ContentHash, Seal};
use crate::model::{Dossier, Extras};
use crate::oso::{self, Section};
use crate::roles::{self, Rule};
use crate::xml::Element;
use crate::{Error, Result};

/// Document type of a transfer dossier on the wire.
pub const DOSSIER_TYPE: &str = "carenet.transfer_dossier";

/// Which transfer a dossier is for; decides who may receive it and on which basis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Primary to secondary school: the guardians' inzage is the basis (WPO art. 42).
    PoVo,
    /// Primary to primary school (a pupil moving school): inzage, as PO→VO.
    PoPo,
    /// Secondary to secondary school: inzage (OSO rule OVa.IZ02) and consent
    /// (OSO `toestemming`).
    VoVo,
    /// Secondary school to follow-up education: needs consent (pupil from 16).
    VoVervolg,
    /// Inside one school (mentor change): stays on the node.
    Internal,
}

impl Route {
    /// Every route (what the table's CHECK must accept).
    pub const ALL: &'static [Route] = &[
        Route::PoVo,
        Route::PoPo,
        Route::VoVo,
        Route::VoVervolg,
        Route::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Route::PoVo => "po_vo",
            Route::PoPo => "po_po",
            Route::VoVo => "vo_vo",
            Route::VoVervolg => "vo_vervolg",
            Route::Internal => "internal",
        }
    }

    /// What an OSO file of this route states: its `overdrachtsoort` and the
    /// `metadata/overstap` codes it may carry (ADR 0005: VO→vervolg is not an
    /// OV profile; it carries a codelijst-16 code for follow-up education).
    pub fn oso_profile(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Route::PoVo => ("overstapdossier", &["POVO"]),
            Route::PoPo => ("overstapdossier", &["POPO"]),
            Route::VoVo => ("overstapdossier", &["VOVO"]),
            Route::VoVervolg => ("overstapdossier", &["VOMBO", "VOHBO", "VOWO"]),
            Route::Internal => ("overdrachtbinnenbrin", &[]),
        }
    }

    /// Routes from a primary school: the guardians' inzage is the legal basis
    /// (WPO art. 42); only these cite the WPO.
    pub fn from_primary(self) -> bool {
        matches!(self, Route::PoVo | Route::PoPo)
    }

    pub fn parse(field: &str, s: &str) -> Result<Self> {
        Ok(match s {
            "po_vo" => Route::PoVo,
            "po_po" => Route::PoPo,
            "vo_vo" => Route::VoVo,
            "vo_vervolg" => Route::VoVervolg,
            "internal" => Route::Internal,
            _ => {
                return Err(Error::invalid(
                    field,
                    "must be po_vo, po_po, vo_vo, vo_vervolg or internal",
                )
                .coded(carenet_fabric::Reason::NotAChoice));
            }
        })
    }

    pub fn recipient_kind(self) -> Option<PartyKind> {
        match self {
            Route::PoVo | Route::VoVo => Some(PartyKind::VoSchool),
            Route::PoPo => Some(PartyKind::PoSchool),
            Route::VoVervolg => Some(PartyKind::Vervolg),
            Route::Internal => None,
        }
    }
}

/// The guardians' answer to the content they saw: OSO's `akkoord`
/// (codelijst 37: agreement with the content, not with the transfer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Akkoord {
    Yes,
    No,
    Unknown,
}

impl Akkoord {
    /// Every answer (what the `inspection.akkoord` CHECK must accept).
    pub const ALL: &'static [Akkoord] = &[Akkoord::Yes, Akkoord::No, Akkoord::Unknown];

    /// The OSO code: `Ja`, `Nee`, `Onbekend`.
    pub fn code(self) -> &'static str {
        match self {
            Akkoord::Yes => "Ja",
            Akkoord::No => "Nee",
            Akkoord::Unknown => "Onbekend",
        }
    }

    /// `ja`/`nee`/`onbekend` (any case), as the CLI and OSO files say it.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ja" | "yes" => Ok(Akkoord::Yes),
            "nee" | "no" => Ok(Akkoord::No),
            "onbekend" | "unknown" => Ok(Akkoord::Unknown),
            _ => Err(Error::invalid(field, "must be ja, nee or onbekend")
                .coded(carenet_fabric::Reason::NotAChoice)),
        }
    }
}

/// What the guardians said when they saw the dossier: their view in their
/// words (if any) and whether they agree with the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardiansView {
    pub text: Option<String>,
    pub akkoord: Akkoord,
}

impl GuardiansView {
    /// They saw it and said nothing either way.
    pub fn none() -> Self {
        Self {
            text: None,
            akkoord: Akkoord::Unknown,
        }
    }

    pub fn new(text: Option<String>, akkoord: Akkoord) -> Self {
        Self {
            text: text.filter(|t| !t.trim().is_empty()),
            akkoord,
        }
    }
}

/// Where a dossier stands at the sending school (stored as its text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DossierState {
    /// Being composed; may be edited.
    Draft,
    /// Put before the guardians (inzage).
    AwaitingInspection,
    /// May be released (*klaargezet*).
    Ready,
    /// Released (or handed over inside the school).
    Published,
}

carenet_fabric::text_enum!(DossierState {
    Draft => "draft",
    AwaitingInspection => "awaiting_inspection",
    Ready => "ready",
    Published => "published",
});

/// A dossier as the sending school holds it.
#[derive(Clone, Debug)]
pub struct StoredDossier {
    pub id: String,
    pub child_ref: String,
    pub route: Route,
    pub version: u32,
    pub state: DossierState,
    pub dossier: Dossier,
    pub inspection_id: Option<String>,
    /// The party the pupil goes to, as the IB recorded it (see
    /// [`crate::destination`]): the one school a request is answered for at once.
    pub destination: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DossierRow {
    child_ref: String,
    route: String,
    version: i64,
    state: String,
    document: Vec<u8>,
    inspection_id: Option<String>,
    destination: Option<String>,
}

impl DossierRow {
    fn into_stored(self, id: &str) -> Result<StoredDossier> {
        Ok(StoredDossier {
            id: id.to_owned(),
            route: Route::parse("handover_dossier.route", &self.route)
                .map_err(|_| Error::Corrupt("handover_dossier.route".into()))?,
            version: u32::try_from(self.version)
                .map_err(|_| Error::Corrupt("handover_dossier.version".into()))?,
            state: DossierState::parse("handover_dossier.state", &self.state)?,
            dossier: Dossier::decode(&self.document)
                .map_err(|_| Error::Corrupt(format!("dossier {id}")))?,
            child_ref: self.child_ref,
            inspection_id: self.inspection_id,
            destination: self.destination,
        })
    }
}

const SELECT_DOSSIER: &str = "SELECT child_ref, route, version, state, document, inspection_id, destination \
     FROM handover_dossier WHERE id = $1";

/// The current version of dossier `$id`, read inside transaction `$tx`.
macro_rules! load_in_tx {
    ($tx:expr, $id:expr) => {{
        let id: &str = $id;
        // Lock the row before reading it (PostgreSQL; SQLite has one writer),
        // so a concurrent change waits for this one instead of both reading
        // the same state and the second overwriting the first.
        sqlx::query("UPDATE handover_dossier SET updated_at_ms = updated_at_ms WHERE id = $1")
            .bind(id)
            .execute(&mut *$tx)
            .await?;
        let row: Option<DossierRow> = sqlx::query_as(SELECT_DOSSIER)
            .bind(id)
            .fetch_optional(&mut *$tx)
            .await?;
        match row {
            Some(r) => r.into_stored(id)?,
            None => return Err(Error::NotFound(format!("dossier {id}"))),
        }
    }};
}

/// Fails with [`Error::Conflict`] unless the last statement changed one row
/// (the dossier was still in the state and version it was read in).
fn changed_one(rows_affected: u64, id: &str) -> Result<()> {
    if rows_affected == 1 {
        Ok(())
    } else {
        Err(Error::Conflict(format!("dossier {id}")))
    }
}

fn not_in(d: &StoredDossier, step: &'static str) -> Error {
    Error::State {
        id: d.id.clone(),
        step,
        state: d.state.as_str().to_owned(),
    }
}

pub(crate) fn check_ref(field: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() || s.len() > 128 {
        return Err(
            Error::invalid(field, "1-128 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    Ok(())
}

/// Stores a new dossier (composed, or imported from OSO) as a draft; returns its id.
pub async fn create(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
    route: Route,
    dossier: &Dossier,
) -> Result<String> {
    roles::check(store, actor, roles::COMPOSE, "dossier:new").await?;
    insert(store, actor, child_ref, route, dossier).await
}

async fn insert(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
    route: Route,
    dossier: &Dossier,
) -> Result<String> {
    check_ref("child_ref", child_ref)?;
    if dossier.sections.is_empty() {
        return Err(Error::invalid("dossier", "holds no OSO parts"));
    }
    // The route and the file must agree: a POVO file is not sent as VO→VO.
    let (kind, overstap) = route.oso_profile();
    oso::check_profile(&dossier.sections, kind, overstap)?;
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let document = dossier.encode();
    let pupil_tag = crate::lookup::tag_of(&crate::lookup::key(store).await?, &dossier.sections);
    let now = now_ms();
    let entry = Entry {
        payload_sha256: sha256(&document).to_vec(),
        ..actor.entry("dossier_created", &id)
    };
    audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO handover_dossier (id, child_ref, route, version, state, document, created_by, created_at_ms, updated_at_ms, pupil_name, pupil_tag) \
             VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $7, $8, $9)",
        )
        .bind(&id)
        .bind(child_ref)
        .bind(route.as_str())
        .bind(DossierState::Draft.as_str())
        .bind(&document)
        .bind(actor.audit_name())
        .bind(now)
        .bind(dossier.summary().pupil_name)
        .bind(&pupil_tag)
        .execute(&mut *tx)
        .await?;
        ((), vec![entry])
    });
    Ok(id)
}

/// Imports an OSO file as a new draft dossier. If the file says the guardians
/// saw it (`inzage` true with a date) and the actor may record an inzage
/// ([`roles::INSPECTION`]), that inspection is recorded too, so a PO→VO
/// dossier from the school's administration system can be set ready without
/// asking the guardians twice; a mentor's import stays a draft for the IB or
/// care coordinator to confirm.
pub async fn import_oso(
    store: &Store,
    actor: &Actor,
    xml: &str,
    child_ref: &str,
    route: Route,
) -> Result<String> {
    roles::check(store, actor, roles::COMPOSE, "dossier:new").await?;
    let imported = oso::import(xml)?;
    let dossier = Dossier {
        sections: imported.sections,
        extras: Default::default(),
    };
    // Everything the file says about its inzage is checked before anything
    // is stored: an import is all or nothing.
    let root = oso::assemble(&dossier.sections);
    let seen = root
        .child("inzage")
        .filter(|i| matches!(i.text_at("inzage"), Some("true" | "1")));
    let stated = match seen.and_then(|i| i.text_at("inzagedatum")) {
        Some(date) => {
            let seen_on = parse_date("inzage/inzagedatum", date)?;
            let akkoord = match seen.and_then(|i| i.text_at("akkoord")) {
                Some(code) => Akkoord::parse("inzage/akkoord", code)?,
                None => Akkoord::Unknown,
            };
            let text = seen
                .and_then(|i| i.text_at("redennietakkoord"))
                .map(str::to_owned);
            Some((seen_on, GuardiansView::new(text, akkoord)))
        }
        None => None,
    };
    let id = insert(store, actor, child_ref, route, &dossier).await?;
    let may_record = roles::INSPECTION.roles.iter().any(|r| actor.has(*r));
    if let Some((seen_on, view)) = stated
        && may_record
    {
        record_inspection(store, actor, &id, seen_on, view).await?;
    }
    Ok(id)
}

pub fn parse_date(field: &str, s: &str) -> Result<Date> {
    carenet_consent::record::parse_date(field, s).map_err(Error::from)
}

/// The current version of a dossier.
pub async fn get(store: &Store, id: &str) -> Result<StoredDossier> {
    let row: Option<DossierRow> = with_db!(&store.db, pool => {
        sqlx::query_as(SELECT_DOSSIER).bind(id).fetch_optional(pool).await?
    });
    match row {
        Some(r) => r.into_stored(id),
        None => Err(Error::NotFound(format!("dossier {id}"))),
    }
}

#[derive(sqlx::FromRow)]
struct ChildRow {
    id: String,
    version: i64,
    state: String,
}

/// A dossier as its school's staff read it (composing it, or checking it
/// before it leaves); the reading is audited (`dossier_viewed`).
pub async fn view(store: &Store, actor: &Actor, id: &str) -> Result<StoredDossier> {
    roles::check(store, actor, roles::COMPOSE, id).await?;
    let current = get(store, id).await?;
    carenet_fabric::audit::append(&store.db, &[actor.entry("dossier_viewed", id)]).await?;
    Ok(current)
}

/// The dossiers about one child, newest first: (id, version, state).
pub async fn for_child(store: &Store, child_ref: &str) -> Result<Vec<(String, u32, DossierState)>> {
    let rows: Vec<ChildRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id, version, state FROM handover_dossier WHERE child_ref = $1 ORDER BY created_at_ms DESC")
            .bind(child_ref)
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .map(|r| {
            let version = u32::try_from(r.version)
                .map_err(|_| Error::Corrupt("handover_dossier.version".into()))?;
            let state = DossierState::parse("handover_dossier.state", &r.state)?;
            Ok((r.id, version, state))
        })
        .collect()
}

/// Every dossier id on this node, oldest first.
pub async fn all(store: &Store) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id FROM handover_dossier ORDER BY created_at_ms, id")
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Moves a dossier from one of `from` to `to`, checked inside the transaction.
async fn transition(
    store: &Store,
    actor: &Actor,
    rule: Rule,
    id: &str,
    from: &[DossierState],
    to: DossierState,
    step: &'static str,
) -> Result<()> {
    roles::check(store, actor, rule, id).await?;
    audited!(&store.db, tx => {
        let d = load_in_tx!(tx, id);
        if !from.contains(&d.state) {
            return Err(not_in(&d, step));
        }
        let done = sqlx::query(
            "UPDATE handover_dossier SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind(to.as_str())
        .bind(now_ms())
        .bind(id)
        .bind(d.state.as_str())
        .bind(i64::from(d.version))
        .execute(&mut *tx)
        .await?;
        changed_one(done.rows_affected(), id)?;
        ((), vec![actor.entry(&format!("dossier_{to}"), id)])
    });
    Ok(())
}

/// The dossier is put before the guardians (inzage).
pub async fn submit_for_inspection(store: &Store, actor: &Actor, id: &str) -> Result<()> {
    transition(
        store,
        actor,
        roles::COMPOSE,
        id,
        &[DossierState::Draft],
        DossierState::AwaitingInspection,
        "submit for inspection",
    )
    .await
}

/// The guardians saw the dossier on `seen_on`, with their view if they gave
/// one and whether they agree with its content (OSO `akkoord`): the view is
/// attached to the dossier and the OSO `inzage` block says all of it. The dossier is then ready to be released (*klaargezet*). The
/// inspection record and the dossier's new state are one transaction.
pub async fn record_inspection(
    store: &Store,
    actor: &Actor,
    id: &str,
    seen_on: Date,
    view: GuardiansView,
) -> Result<String> {
    roles::check(store, actor, roles::INSPECTION, id).await?;
    inspect(store, Inspector::Staff(actor), id, seen_on, view, None).await
}

/// The guardians themselves give their view on the parent portal, today:
/// the dossier must be put before them (awaiting inzage) and be about the
/// child they are linked to (a refusal is audited). The same record and the
/// same state change as [`record_inspection`]. `content_sha256` is the
/// content hash of what the portal showed them ([`ContentHash::hex`]): if
/// the dossier is no longer that content, nothing is recorded
/// ([`Error::Conflict`]: they read it again).
pub async fn record_inspection_by_guardian(
    store: &Store,
    link: &carenet_consent::portal::Linked,
    id: &str,
    view: GuardiansView,
    content_sha256: &str,
) -> Result<String> {
    let current = get(store, id).await?;
    link.require_same_child(store, "portal_inspection", id, &current.child_ref)
        .await?;
    // From 16 the pupil sees their own dossier, not the guardians.
    link.require_access(store, link.access().inspection(), "portal_inspection", id)
        .await?;
    if current.state != DossierState::AwaitingInspection {
        return Err(not_in(&current, "give the guardians' view"));
    }
    if content_sha256.len() != 64 || !content_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            "content_sha256",
            "64 hexadecimal characters: the hash of the content the guardians read",
        ));
    }
    inspect(
        store,
        Inspector::Guardian(link),
        id,
        carenet_fabric::clock::today(),
        view,
        Some(content_sha256),
    )
    .await
}

/// Who records an inzage.
enum Inspector<'a> {
    Staff(&'a Actor),
    Guardian(&'a carenet_consent::portal::Linked),
}

/// Records the inzage of the dossier's current version, bound to its
/// content hash (computed inside the transaction, so it is the hash of
/// exactly the content that is then ready); `shown` is the hash the person
/// was shown, where they were (the portal).
async fn inspect(
    store: &Store,
    who: Inspector<'_>,
    id: &str,
    seen_on: Date,
    view: GuardiansView,
    shown: Option<&str>,
) -> Result<String> {
    let guardian_view = view.text.clone();
    let inspection_id = audited!(&store.db, tx => {
        let mut current = load_in_tx!(tx, id);
        let content = ContentHash::of(&current.dossier).hex();
        if shown.is_some_and(|h| h != content) {
            return Err(Error::Conflict(format!("dossier {id}")));
        }
        let from = current.state;
        let allowed: &[DossierState] = match who {
            Inspector::Staff(_) => &[DossierState::Draft, DossierState::AwaitingInspection],
            Inspector::Guardian(_) => &[DossierState::AwaitingInspection],
        };
        if !allowed.contains(&from) {
            return Err(not_in(&current, "record an inspection"));
        }
        let akkoord = inzage_akkoord(&current.dossier.sections, &view);
        let inspection = Inspection {
            child_ref: current.child_ref.clone(),
            document_id: id.to_owned(),
            seen_on,
            guardian_view: guardian_view.clone(),
            recorded_by: String::new(),
            seen: Some(ContentSeen {
                version: current.version,
                content_sha256: content,
                akkoord: akkoord.code().to_owned(),
            }),
        };
        let (inspection_id, entry): (String, Entry) = match who {
            Inspector::Staff(actor) => (
                carenet_consent::inspection_record!(tx, actor, &inspection),
                actor.entry("dossier_ready", id),
            ),
            Inspector::Guardian(link) => (
                carenet_consent::portal_inspection_record!(tx, link, &inspection),
                link.entry("dossier_ready", id),
            ),
        };
        if guardian_view.is_some() {
            current.dossier.extras.guardian_view = guardian_view.clone();
        }
        mark_inspected(&mut current.dossier.sections, seen_on, &view);
        let document = current.dossier.encode();
        let done = sqlx::query(
            "UPDATE handover_dossier SET document = $1, inspection_id = $2, state = $3, updated_at_ms = $4 \
             WHERE id = $5 AND state = $6 AND version = $7",
        )
        .bind(&document)
        .bind(&inspection_id)
        .bind(DossierState::Ready.as_str())
        .bind(now_ms())
        .bind(id)
        .bind(from.as_str())
        .bind(i64::from(current.version))
        .execute(&mut *tx)
        .await?;
        changed_one(done.rows_affected(), id)?;
        let entry = Entry {
            legal_basis: format!("inspection:{inspection_id}"),
            ..entry
        };
        (inspection_id, vec![entry])
    });
    Ok(inspection_id)
}

/// The dossiers the guardians of the linked child may read on the portal
/// (put before them or further along; not a draft), newest first; none
/// where the pupil decides ([`carenet_consent::access`]).
pub async fn for_guardian(
    store: &Store,
    link: &carenet_consent::portal::Linked,
) -> Result<Vec<(String, u32, DossierState)>> {
    if !link.access().page(carenet_consent::access::Page::Dossiers) {
        return Ok(Vec::new());
    }
    Ok(for_child(store, link.child_ref())
        .await?
        .into_iter()
        .filter(|(_, _, state)| *state != DossierState::Draft)
        .collect())
}

/// A dossier as the guardians read it on the portal; the reading is audited
/// (`dossier_read_by_guardian`), a dossier about another child refused.
pub async fn read_by_guardian(
    store: &Store,
    link: &carenet_consent::portal::Linked,
    id: &str,
) -> Result<StoredDossier> {
    let current = get(store, id).await?;
    link.require_same_child(store, "portal_dossier", id, &current.child_ref)
        .await?;
    let allowed = link.access().page(carenet_consent::access::Page::Dossiers);
    link.require_access(store, allowed, "portal_dossier", id)
        .await?;
    if current.state == DossierState::Draft {
        return Err(not_in(&current, "show it to the guardians"));
    }
    carenet_fabric::audit::append(&store.db, &[link.entry("dossier_read_by_guardian", id)]).await?;
    Ok(current)
}

/// An attachment of a dossier the guardians may read ([`read_by_guardian`]'s
/// checks), as `pick` takes it from the dossier (the page numbers them; its
/// bytes by `bytes`); `None` is not found. The reading is audited
/// (`dossier_attachment_read_by_guardian`, with the bytes' hash).
pub async fn attachment_by_guardian<A>(
    store: &Store,
    link: &carenet_consent::portal::Linked,
    id: &str,
    pick: impl FnOnce(&Dossier) -> Option<A>,
    bytes: impl Fn(&A) -> &[u8],
) -> Result<A> {
    let current = get(store, id).await?;
    link.require_same_child(store, "portal_dossier", id, &current.child_ref)
        .await?;
    let allowed = link.access().page(carenet_consent::access::Page::Dossiers);
    link.require_access(store, allowed, "portal_dossier", id)
        .await?;
    if current.state == DossierState::Draft {
        return Err(not_in(&current, "show it to the guardians"));
    }
    let Some(attachment) = pick(&current.dossier) else {
        return Err(Error::NotFound(format!("attachment of dossier {id}")));
    };
    let entry = Entry {
        payload_sha256: sha256(bytes(&attachment)).to_vec(),
        ..link.entry("dossier_attachment_read_by_guardian", id)
    };
    carenet_fabric::audit::append(&store.db, std::slice::from_ref(&entry)).await?;
    Ok(attachment)
}

/// Writes the OSO `inzage` block: seen, on `seen_on`, no longer provisional,
/// with the guardians' `akkoord` and, when they do not agree, their reason.
fn mark_inspected(sections: &mut Vec<Section>, seen_on: Date, view: &GuardiansView) {
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
    // An unknown answer keeps what the file said; a given one replaces it.
    let akkoord = match view.akkoord {
        Akkoord::Unknown => keep("akkoord", block)
            .filter(|a| {
                a.text
                    .as_deref()
                    .is_some_and(|t| Akkoord::parse("akkoord", t).is_ok())
            })
            .unwrap_or_else(|| Element::leaf("akkoord", Akkoord::Unknown.code())),
        given => Element::leaf("akkoord", given.code()),
    };
    let reden = match (view.akkoord, &view.text) {
        (Akkoord::No, Some(text)) => Some(Element::leaf("redennietakkoord", text)),
        (Akkoord::Yes, _) => None,
        _ => keep("redennietakkoord", block),
    };
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

/// The `akkoord` an inzage with `view` writes into the OSO block (see
/// [`mark_inspected`]): the given answer, or, when unknown, what the file said.
fn inzage_akkoord(sections: &[Section], view: &GuardiansView) -> Akkoord {
    if view.akkoord != Akkoord::Unknown {
        return view.akkoord;
    }
    sections
        .iter()
        .find(|s| s.parent.is_empty() && s.element.name == "inzage")
        .and_then(|s| s.element.text_at("akkoord"))
        .and_then(|t| Akkoord::parse("akkoord", t).ok())
        .unwrap_or(Akkoord::Unknown)
}

/// Writes the OSO `inzage` block of a version the guardians have not seen:
/// provisional, not inspected, no date or answer (what an earlier version's
/// block said is not claimed for this one); consent (`toestemming`) stays.
fn mark_unseen(sections: &mut [Section]) {
    if let Some(s) = sections
        .iter_mut()
        .find(|s| s.parent.is_empty() && s.element.name == "inzage")
    {
        let toestemming = s.element.child("toestemming").cloned();
        s.element.children = [
            Some(Element::leaf("voorlopigdossier", "true")),
            Some(Element::leaf("inzage", "false")),
            toestemming,
        ]
        .into_iter()
        .flatten()
        .collect();
    }
}

/// What the guardians' inzage of dossier `d` is bound to, checked against
/// its current content: the recorded version, hash and answer, if they are
/// this content's; else why not (no personal data: ids and hashes).
pub async fn inzage_binding(
    store: &Store,
    d: &StoredDossier,
) -> Result<Result<ContentSeen, String>> {
    let Some(inspection) = &d.inspection_id else {
        return Ok(Err("the guardians have not seen this version".into()));
    };
    let current = ContentHash::of(&d.dossier).hex();
    Ok(
        match carenet_consent::inspection::seen(store, inspection, &d.id).await? {
            None => Err(format!("inspection {inspection} is not about this dossier")),
            Some(None) => Err(format!(
                "inspection {inspection} is not bound to content (recorded before content hashes); \
                 correct the dossier to put it before the guardians again"
            )),
            Some(Some(seen)) if seen.content_sha256 != current || seen.version != d.version => {
                Err(format!(
                    "the guardians saw version {} with content hash {}, this is version {} with content hash {}; \
                     correct the dossier to put it before them again",
                    seen.version,
                    inzage::short(&seen.content_sha256),
                    d.version,
                    inzage::short(&current),
                ))
            }
            Some(Some(seen)) => Ok(seen),
        },
    )
}

/// The date of the OSO inzage block (`inzagedatum`).
fn seen_on_of(sections: &[Section]) -> Option<String> {
    sections
        .iter()
        .find(|s| s.parent.is_empty() && s.element.name == "inzage")
        .and_then(|s| s.element.text_at("inzagedatum"))
        .map(str::to_owned)
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

/// The basis a release of this dossier goes out on. Every OV transfer needs
/// the guardians' inzage first (OSO rule OVa.IZ02, VO→VO included); on the
/// primary-school routes that inzage is the basis, on the others the consent
/// record of the guardians (or the pupil from 16) is a second condition and
/// the basis the release travels under.
fn basis(d: &StoredDossier, consent_record: Option<&str>) -> Result<v1::LegalBasis> {
    let Some(inspection) = &d.inspection_id else {
        return Err(Error::invalid(
            "inspection",
            "the guardians have not seen this dossier (OSO rule OVa.IZ02)",
        ));
    };
    match (d.route.from_primary(), consent_record) {
        (_, Some(record)) => Ok(v1::LegalBasis {
            kind: LegalBasisKind::Consent as i32,
            reference: record.to_owned(),
            consent_receipt: Vec::new(),
        }),
        (true, None) => Ok(v1::LegalBasis {
            kind: LegalBasisKind::Inspection as i32,
            reference: inspection.clone(),
            consent_receipt: Vec::new(),
        }),
        (false, None) => Err(Error::invalid(
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
    actor: &Actor,
    id: &str,
    recipients: &[PartyId],
    consent_record: Option<&str>,
) -> Result<Vec<String>> {
    roles::check(store, actor, roles::PUBLISH, id).await?;
    // The push side follows the IB's choice as the request side does: once
    // the school the pupil goes to is recorded, a release to another school
    // is refused until the destination is changed (corrections still reach
    // every earlier recipient).
    if let Some(destination) = get(store, id).await?.destination
        && recipients.iter().any(|r| r.as_str() != destination)
    {
        return Err(Error::invalid(
            "recipient",
            "the pupil goes to another school (the dossier's destination); change the destination first",
        ));
    }
    release(
        store,
        directory,
        &actor.audit_name(),
        id,
        recipients,
        consent_record,
        None,
    )
    .await
}

/// A request on the IB's work list confirmed by the release it causes: the
/// item is closed and its school made the destination in the release's own
/// transaction, so a failed release leaves the request waiting.
pub(crate) struct Confirming<'a> {
    pub item: &'a str,
    pub requester: &'a PartyId,
    pub decided_by: String,
    pub entries: Vec<Entry>,
}

/// The release behind [`publish`], on behalf of `by` (a staff member's audit
/// name, or the node answering a receiving school's request for a dossier
/// the school put ready).
pub(crate) async fn release(
    store: &Store,
    directory: &Directory,
    by: &str,
    id: &str,
    recipients: &[PartyId],
    consent_record: Option<&str>,
    confirming: Option<Confirming<'_>>,
) -> Result<Vec<String>> {
    let mut d = get(store, id).await?;
    let from = d.state;
    let may_publish =
        from == DossierState::Ready || (from == DossierState::Published && !recipients.is_empty());
    if !may_publish {
        return Err(not_in(&d, "publish"));
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
    if let Some(record) = consent_record {
        consent_names(store, directory, &d, recipients, record).await?;
    }
    let legal_basis = basis(&d, consent_record)?;
    // Only the content the guardians saw leaves, with the seal of what they
    // saw and said (crate::inzage).
    let seen = match inzage_binding(store, &d).await? {
        Ok(seen) => seen,
        Err(why) => {
            return Err(Error::Fabric(carenet_fabric::Error::precondition(format!(
                "dossier {id}: {why}"
            ))));
        }
    };
    let seen_on = seen_on_of(&d.dossier.sections).unwrap_or_default();
    let seal = Seal {
        version: seen.version,
        content: ContentHash::of(&d.dossier),
        akkoord: seen.akkoord,
        seen_on,
    };
    if legal_basis.kind == LegalBasisKind::Consent as i32 {
        mark_consented(&mut d.dossier.sections);
    }
    let mut document = d.dossier.to_document();
    document.sections.push(seal.section());
    let payload = prost::Message::encode_to_vec(&document);
    let by = by.to_owned();
    let message_to = |r: &PartyId| NewMessage {
        recipient: r.clone(),
        document_type: DOSSIER_TYPE.into(),
        document_id: d.id.clone(),
        version: d.version,
        purpose: Purpose::TransferDossier.as_str().into(),
        legal_basis: legal_basis.clone(),
        payload: payload.clone(),
        actor: by.clone(),
        child_ref: Some(d.child_ref.clone()),
    };
    // Validated (and refused, audited) before the transaction; the ones a
    // recipient already has are dropped inside it.
    let messages: Vec<NewMessage> = to.iter().map(message_to).collect();
    let prepared = store.prepare(&messages).await?;
    let now = now_ms();
    let ids = audited!(&store.db, tx => {
        // Updating the dossier first locks its row (PostgreSQL; SQLite has one
        // writer), so two releases of the same version cannot both pass the
        // check below; the state and version it was read in must still hold.
        // What was released is the outbox: no copy of it here.
        let done = sqlx::query(
            "UPDATE handover_dossier SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind(DossierState::Published.as_str())
        .bind(now)
        .bind(&d.id)
        .bind(from.as_str())
        .bind(i64::from(d.version))
        .execute(&mut *tx)
        .await?;
        changed_one(done.rows_affected(), id)?;
        let have_it: Vec<String> = sent_recipients!(tx, DOSSIER_TYPE, &d.id, d.version);
        let (messages, ids): (Vec<NewMessage>, Vec<String>) = messages
            .into_iter()
            .zip(prepared)
            .filter(|(m, _)| !have_it.iter().any(|h| h == m.recipient.as_str()))
            .unzip();
        if messages.is_empty() {
            return Err(Error::invalid(
                "recipient",
                "name a party that does not have this version yet",
            ));
        }
        let mut entries: Vec<Entry> = Vec::new();
        outbox_enqueue!(tx, &messages, &ids, &mut entries);
        if let Some(c) = confirming {
            let done = sqlx::query(
                "UPDATE handover_request SET state = 'confirmed', decided_by = $1, decided_at_ms = $2 \
                 WHERE id = $3 AND state = 'pending'",
            )
            .bind(&c.decided_by)
            .bind(now)
            .bind(c.item)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Conflict(format!("request {}", c.item)));
            }
            sqlx::query("UPDATE handover_dossier SET destination = $1 WHERE id = $2")
                .bind(c.requester.as_str())
                .bind(&d.id)
                .execute(&mut *tx)
                .await?;
            entries.extend(c.entries);
        }
        (ids, entries)
    });
    store.wake_outbox();
    Ok(ids)
}

/// Refuses, before anything is written or queued, a release under consent
/// record `record` to a school the record does not name, or under a record
/// about another pupil or for another purpose: the receiving school would
/// otherwise only refuse it at fetch time, after the IB thought it sent.
async fn consent_names(
    store: &Store,
    directory: &Directory,
    d: &StoredDossier,
    recipients: &[PartyId],
    record: &str,
) -> Result<()> {
    let Some(latest) = carenet_consent::record::ConsentStore::new(store.clone())
        .latest(record)
        .await?
    else {
        return Err(Error::invalid("consent_record", "no such consent record")
            .coded(carenet_fabric::Reason::ConsentMissing));
    };
    let v = &latest.version;
    if v.child_ref != d.child_ref {
        return Err(
            Error::invalid("consent_record", "this consent is about another pupil")
                .coded(carenet_fabric::Reason::OtherPupil),
        );
    }
    if v.purpose != Purpose::TransferDossier.as_str() {
        return Err(Error::invalid(
            "consent_record",
            "this consent is not for a transfer dossier",
        )
        .coded(carenet_fabric::Reason::ConsentNotCovering));
    }
    for r in recipients {
        if !consent_names_party(v, directory, r) {
            return Err(Error::invalid(
                "recipient",
                "the guardians' consent does not name this school: choose the school it names, or ask consent for this one",
            )
            .coded(carenet_fabric::Reason::ConsentNotCovering));
        }
    }
    Ok(())
}

/// Whether consent version `v` names party `r` (by id, or by its kind).
fn consent_names_party(v: &v1::ConsentVersion, directory: &Directory, r: &PartyId) -> bool {
    use carenet_proto::v1::consent_recipient::Target;
    v.recipients.iter().any(|c| match &c.target {
        Some(Target::PartyId(id)) => id == r.as_str(),
        Some(Target::Kind(k)) => directory
            .get(r.as_str())
            .is_some_and(|e| e.kind.to_proto() as i32 == *k),
        None => false,
    })
}

/// The schools a consent version names by id (its kind-wide recipients
/// name no school), for the publish form's proposal.
pub fn consented_parties(v: &v1::ConsentVersion) -> Vec<String> {
    use carenet_proto::v1::consent_recipient::Target;
    v.recipients
        .iter()
        .filter_map(|c| match &c.target {
            Some(Target::PartyId(id)) => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// What the guardians answered when they saw this version: the date of
/// their inzage (`YYYY-MM-DD`, OSO `inzagedatum`) and their `akkoord`
/// (`Ja`, `Nee`, `Onbekend`); `None` while they have not seen it.
pub async fn guardians_answer(
    store: &Store,
    d: &StoredDossier,
) -> Result<Option<(String, String)>> {
    Ok(match inzage_binding(store, d).await? {
        Ok(seen) => Some((
            seen_on_of(&d.dossier.sections).unwrap_or_default(),
            seen.akkoord,
        )),
        Err(_) => None,
    })
}

/// The parties that received any version of a dossier, by name.
pub async fn earlier_recipients(store: &Store, id: &str) -> Result<Vec<PartyId>> {
    let mut names: Vec<String> = store
        .sent_versions(DOSSIER_TYPE, id)
        .await?
        .into_iter()
        .map(|s| s.recipient)
        .collect();
    names.sort();
    names.dedup();
    names
        .iter()
        .map(|r| PartyId::parse("recipient", r).map_err(Error::from))
        .collect()
}

/// A correction: the dossier's next version. It goes back to the guardians
/// first (every OV transfer needs their inzage); then [`publish`] with no new recipient sends it to
/// every earlier recipient.
pub async fn correct(store: &Store, actor: &Actor, id: &str, dossier: &Dossier) -> Result<u32> {
    correct_inner(store, actor, id, None, dossier).await
}

/// A correction made from version `based_on` (e.g. its extras changed): if
/// another correction came first, this one is refused as a concurrent change
/// rather than overwriting it.
pub async fn correct_from(
    store: &Store,
    actor: &Actor,
    id: &str,
    based_on: u32,
    dossier: &Dossier,
) -> Result<u32> {
    correct_inner(store, actor, id, Some(based_on), dossier).await
}

async fn correct_inner(
    store: &Store,
    actor: &Actor,
    id: &str,
    based_on: Option<u32>,
    dossier: &Dossier,
) -> Result<u32> {
    roles::check(store, actor, roles::CORRECT, id).await?;
    let route = get(store, id).await?.route;
    let (kind, overstap) = route.oso_profile();
    oso::check_profile(&dossier.sections, kind, overstap)?;
    let mut dossier = dossier.clone();
    if route != Route::Internal {
        // The guardians have not seen this version: what they said of the
        // last one (the OSO inzage block, their view) is not said of it.
        mark_unseen(&mut dossier.sections);
        dossier.extras.guardian_view = None;
    }
    let document = dossier.encode();
    let pupil_name = dossier.summary().pupil_name;
    // A correction may correct the pupil's number or date of birth.
    let pupil_tag = crate::lookup::tag_of(&crate::lookup::key(store).await?, &dossier.sections);
    let version = audited!(&store.db, tx => {
        let current = load_in_tx!(tx, id);
        if matches!(current.state, DossierState::Draft | DossierState::AwaitingInspection) {
            return Err(not_in(&current, "correct (edit the draft instead)"));
        }
        if based_on.is_some_and(|v| v != current.version) {
            return Err(Error::Conflict(format!("dossier {id}")));
        }
        // Every version goes before the guardians again (OVa.IZ02).
        let state = if current.route != Route::Internal {
            DossierState::AwaitingInspection
        } else {
            DossierState::Ready
        };
        let version = current.version + 1;
        let done = sqlx::query(
            "UPDATE handover_dossier SET document = $1, version = $2, state = $3, inspection_id = NULL, updated_at_ms = $4, \
             pupil_name = $8, pupil_tag = $9 WHERE id = $5 AND state = $6 AND version = $7",
        )
        .bind(&document)
        .bind(i64::from(version))
        .bind(state.as_str())
        .bind(now_ms())
        .bind(id)
        .bind(current.state.as_str())
        .bind(i64::from(current.version))
        .bind(&pupil_name)
        .bind(&pupil_tag)
        .execute(&mut *tx)
        .await?;
        changed_one(done.rows_affected(), id)?;
        let entry = Entry {
            payload_sha256: sha256(&document).to_vec(),
            ..actor.entry("dossier_corrected", id)
        };
        (version, vec![entry])
    });
    Ok(version)
}

/// A change to the handbook's extras of a dossier: `Some("")` clears a field,
/// `None` leaves it.
#[derive(Clone, Debug, Default)]
pub struct ExtrasEdit {
    pub talents: Option<String>,
    pub interests: Option<String>,
    pub what_works: Option<String>,
    pub what_to_avoid: Option<String>,
    pub pupil_voice: Option<String>,
    pub agreements: Option<String>,
    pub contact: Option<String>,
}

impl ExtrasEdit {
    pub fn is_empty(&self) -> bool {
        [
            &self.talents,
            &self.interests,
            &self.what_works,
            &self.what_to_avoid,
            &self.pupil_voice,
            &self.agreements,
            &self.contact,
        ]
        .iter()
        .all(|f| f.is_none())
    }

    /// Applies the change to `extras`.
    pub fn apply(&self, extras: &mut Extras) {
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if let Some(v) = v {
                *slot = (!v.trim().is_empty()).then(|| v.clone());
            }
        };
        set(&mut extras.talents, &self.talents);
        set(&mut extras.interests, &self.interests);
        set(&mut extras.what_works, &self.what_works);
        set(&mut extras.what_to_avoid, &self.what_to_avoid);
        set(&mut extras.pupil_voice, &self.pupil_voice);
        set(&mut extras.agreements, &self.agreements);
        set(&mut extras.contact, &self.contact);
    }
}

/// What [`set_extras`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtrasOutcome {
    /// The draft was edited.
    Edited,
    /// A published (or ready) dossier got a new version, this one.
    Corrected(u32),
}

/// Composes or edits the handbook's extras (what works, talents, the pupil's
/// voice, ...) of a dossier: a draft is edited in place; a ready or published
/// dossier gets a correction (a new version, see [`correct`]). While the
/// guardians are looking at it, it cannot change.
pub async fn set_extras(
    store: &Store,
    actor: &Actor,
    id: &str,
    edit: &ExtrasEdit,
) -> Result<ExtrasOutcome> {
    if edit.is_empty() {
        return Err(Error::invalid("extras", "name at least one field to set"));
    }
    roles::check(store, actor, roles::COMPOSE, id).await?;
    let current = get(store, id).await?;
    match current.state {
        // A draft is edited in place, the edit applied to the dossier as it
        // is inside the transaction: a concurrent edit is not lost.
        DossierState::Draft => {
            audited!(&store.db, tx => {
                let current = load_in_tx!(tx, id);
                if current.state != DossierState::Draft {
                    return Err(not_in(&current, "edit"));
                }
                let mut dossier = current.dossier.clone();
                edit.apply(&mut dossier.extras);
                let document = dossier.encode();
                sqlx::query("UPDATE handover_dossier SET document = $1, updated_at_ms = $2 WHERE id = $3")
                    .bind(&document)
                    .bind(now_ms())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let entry = Entry {
                    payload_sha256: sha256(&document).to_vec(),
                    ..actor.entry("dossier_edited", id)
                };
                ((), vec![entry])
            });
            Ok(ExtrasOutcome::Edited)
        }
        DossierState::AwaitingInspection => Err(not_in(&current, "change the extras")),
        DossierState::Ready | DossierState::Published => {
            let mut dossier = current.dossier.clone();
            edit.apply(&mut dossier.extras);
            Ok(ExtrasOutcome::Corrected(
                correct_from(store, actor, id, current.version, &dossier).await?,
            ))
        }
    }
}

/// A handover inside one school (a mentor change, a move to another
/// department): the dossier stays on the node and goes straight to the new
/// mentor's (and teachers') work list, like a received one. Returns the id of
/// that incoming item. No data leaves the school, so no release basis is
/// needed; it is audited like an assignment. `kind` is this party's kind (a
/// primary school's IB may do it too).
pub async fn hand_over_internally(
    store: &Store,
    kind: PartyKind,
    actor: &Actor,
    id: &str,
    mentor: &str,
    teachers: &[String],
) -> Result<String> {
    let kind = roles::own_kind(store, kind)?;
    roles::check(store, actor, roles::internal(kind), id).await?;
    crate::incoming::check_assignment(mentor, teachers)?;
    let item = format!("internal-{}", uuid::Uuid::new_v4().hyphenated());
    let now = now_ms();
    audited!(&store.db, tx => {
        let d = load_in_tx!(tx, id);
        if d.route != Route::Internal {
            return Err(Error::invalid(
                "route",
                "only an internal dossier is handed over inside the school",
            ));
        }
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
        .bind(actor.audit_name())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE handover_dossier SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind(DossierState::Published.as_str())
        .bind(now)
        .bind(id)
        .bind(d.state.as_str())
        .bind(i64::from(d.version))
        .execute(&mut *tx)
        .await?;
        changed_one(done.rows_affected(), id)?;
        let entry = Entry {
            counterparty: store.party.to_string(),
            ..actor.entry("internal_handover", &item)
        };
        ((), vec![entry])
    });
    Ok(item)
}

#[derive(sqlx::FromRow)]
struct ExpiredRow {
    id: String,
    document: Vec<u8>,
}

/// Deletes the dossiers (and their warm-handover records) not changed for
/// `days`, the retention period of a transfer dossier, leaving a `purged`
/// record with the hash of what was deleted in the audit chain. What was
/// released stays in the outbox until the fabric's own purge. Returns how
/// many dossiers were deleted. A job: it acts as the node itself.
pub async fn purge_expired(store: &Store, days: u32, now: i64) -> Result<usize> {
    let cutoff = now - i64::from(days) * 86_400_000;
    let system = Actor::system(store.party.clone());
    let n = audited!(&store.db, tx => {
        let rows: Vec<ExpiredRow> = sqlx::query_as("SELECT id, document FROM handover_dossier WHERE updated_at_ms < $1")
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
        let mut entries = Vec::new();
        for r in rows {
            sqlx::query("DELETE FROM warm_handover WHERE dossier_id = $1").bind(&r.id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM handover_request WHERE dossier_id = $1").bind(&r.id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM handover_dossier WHERE id = $1").bind(&r.id).execute(&mut *tx).await?;
            entries.push(Entry {
                purpose: format!("retention:{days}d"),
                legal_basis: "retention".into(),
                payload_sha256: sha256(&r.document).to_vec(),
                ..system.entry("purged", &r.id)
            });
        }
        (entries.len(), entries)
    });
    Ok(n)
}

/// Which dossier to write as an OSO file.
#[derive(Clone, Debug)]
pub enum ExportSource {
    /// One of this school's own dossiers.
    Own(String),
    /// A received dossier, by message id.
    Received(String),
}

/// What an exported OSO file says of the guardians' inzage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InzageClaim {
    /// The file's `inzage` block stands: the guardians saw this content
    /// (version, content hash hex, akkoord).
    Bound {
        version: u32,
        content_sha256: String,
        akkoord: String,
    },
    /// The file says the dossier is provisional and not inspected (why).
    NotClaimed(String),
}

/// Writes a dossier as an OSO 2019.1 file (the school's administration
/// system takes it from there): the whole dossier, so only its care
/// coordinator or IB may, and every export is audited.
pub async fn export_oso(store: &Store, actor: &Actor, source: &ExportSource) -> Result<String> {
    Ok(export_oso_checked(store, actor, source).await?.0)
}

/// As [`export_oso`], saying what the file claims of the inzage: the
/// guardians' inzage and `akkoord` are written only for the content they are
/// bound to (an own dossier: the inspection record's content hash; a
/// received one: its seal, see [`crate::inzage`]); otherwise the file's
/// `inzage` block says provisional, not inspected.
pub async fn export_oso_checked(
    store: &Store,
    actor: &Actor,
    source: &ExportSource,
) -> Result<(String, InzageClaim)> {
    let subject = match source {
        ExportSource::Own(id) | ExportSource::Received(id) => id.as_str(),
    };
    roles::check(store, actor, roles::EXPORT, subject).await?;
    let own = |d: StoredDossier| async move {
        let claim = match inzage_binding(store, &d).await? {
            Ok(seen) => InzageClaim::Bound {
                version: seen.version,
                content_sha256: seen.content_sha256,
                akkoord: seen.akkoord,
            },
            Err(why) => InzageClaim::NotClaimed(why),
        };
        Ok::<_, Error>((d.dossier, claim))
    };
    let (mut dossier, claim, received) = match source {
        ExportSource::Own(id) => {
            let (dossier, claim) = own(get(store, id).await?).await?;
            (dossier, claim, None)
        }
        ExportSource::Received(message_id) => {
            let item = crate::incoming::get(store, message_id).await?;
            let (dossier, claim) = if item.sender == store.party.as_str() {
                // Handed over inside this school: the school's own record.
                crate::incoming::dossier_of(store, &item).await?;
                own(get(store, &item.document_id).await?).await?
            } else {
                let dossier = crate::incoming::dossier_of(store, &item).await?;
                let payload = store
                    .received(message_id)
                    .await?
                    .map(|r| r.payload)
                    .unwrap_or_default();
                let claim = match inzage::check_received(&payload, &dossier) {
                    Ok(seal) => InzageClaim::Bound {
                        version: seal.version,
                        content_sha256: seal.content.hex(),
                        akkoord: seal.akkoord,
                    },
                    Err(problem) => InzageClaim::NotClaimed(problem.as_str().to_owned()),
                };
                (dossier, claim)
            };
            (dossier, claim, Some(item))
        }
    };
    if matches!(claim, InzageClaim::NotClaimed(_)) {
        mark_unseen(&mut dossier.sections);
    }
    let xml = dossier.to_oso()?;
    match received {
        // A reading of a received dossier: audited and told to the sending
        // school (the guardians see it).
        Some(item) => {
            crate::reading::record(
                store,
                actor,
                &item,
                &dossier,
                crate::reading::Reading::Export,
                sha256(xml.as_bytes()).to_vec(),
            )
            .await?;
        }
        None => {
            let entry = Entry {
                payload_sha256: sha256(xml.as_bytes()).to_vec(),
                ..actor.entry("dossier_exported", subject)
            };
            carenet_fabric::audit::append(&store.db, std::slice::from_ref(&entry)).await?;
        }
    }
    Ok((xml, claim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_akkoord_is_one_the_inspection_table_accepts() {
        let codes: Vec<&str> = Akkoord::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes, carenet_consent::inspection::AKKOORD_CODES);
    }

    #[test]
    fn states_keep_their_stored_text() {
        for s in DossierState::ALL {
            assert_eq!(DossierState::parse("state", s.as_str()).ok(), Some(*s));
        }
        assert_eq!(
            DossierState::AwaitingInspection.as_str(),
            "awaiting_inspection"
        );
        assert!(matches!(
            DossierState::parse("handover_dossier.state", "sent"),
            Err(carenet_fabric::Error::Corrupt(_))
        ));
    }
}
