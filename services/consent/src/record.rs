//! Consent records: requested, then granted or refused by the right people
//! with evidence, later withdrawn or expired. Every change is a new version
//! that names the hash of the one before; the history is kept, and each change
//! is audited in the same transaction.

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::store::Store;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::{Actor, PartyId, audited, outbox_enqueue, with_db};
use carenet_proto::v1::{
    self, ConsentStatus, EvidenceKind, GrantorRole, consent_recipient::Target,
};
use prost::Message;
use time::Date;
use time::macros::format_description;

use crate::age::{age_on, grantors_suffice, regime_of, required};
use crate::{Category, Error, Purpose, Result, roles};

const DATE: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// A stored date (`YYYY-MM-DD`) as people read it (`dd-mm-jjjj`): the
/// pages, the digest, the mail; anything else as it is.
pub fn date_text(date: &str) -> String {
    match date.split('-').collect::<Vec<_>>().as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => format!("{d}-{m}-{y}"),
        _ => date.to_owned(),
    }
}

pub fn parse_date(field: &str, s: &str) -> Result<Date> {
    Date::parse(s, DATE).map_err(|_| {
        Error::invalid(field, "must be a date YYYY-MM-DD").coded(carenet_fabric::Reason::NotADate)
    })
}

/// What staff fill in to ask for consent.
#[derive(Clone, Debug)]
pub struct ConsentRequest {
    pub child_ref: String,
    pub child_birth_date: Date,
    pub purpose: Purpose,
    pub recipients: Vec<v1::ConsentRecipient>,
    pub categories: Vec<Category>,
    pub valid_from: Date,
    pub valid_until: Option<Date>,
}

/// Who decided, and the proof of it. The evidence's `recorded_by` is filled
/// in from the actor who records the decision.
#[derive(Clone, Debug)]
pub struct Decision {
    pub grantors: Vec<v1::Grantor>,
    pub evidence: v1::Evidence,
    pub today: Date,
}

/// A stored version and its hash.
#[derive(Clone, Debug)]
pub struct Stored {
    pub version: v1::ConsentVersion,
    pub sha256: [u8; 32],
}

impl Stored {
    pub fn status(&self) -> ConsentStatus {
        ConsentStatus::try_from(self.version.status).unwrap_or(ConsentStatus::Unspecified)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Grant,
    Refuse,
    Withdraw,
    Expire,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Change::Grant => "grant",
            Change::Refuse => "refuse",
            Change::Withdraw => "withdraw",
            Change::Expire => "expire",
        }
    }

    fn to(self) -> ConsentStatus {
        match self {
            Change::Grant => ConsentStatus::Granted,
            Change::Refuse => ConsentStatus::Refused,
            Change::Withdraw => ConsentStatus::Withdrawn,
            Change::Expire => ConsentStatus::Expired,
        }
    }

    /// The status machine: which change is allowed from which status.
    fn allowed_from(self, status: ConsentStatus) -> bool {
        use ConsentStatus::*;
        matches!(
            (self, status),
            (Change::Grant, Requested | Refused)
                | (Change::Refuse, Requested)
                | (Change::Withdraw, Granted)
                | (Change::Expire, Granted)
        )
    }
}

/// Where a decision is recorded: by staff (CLI, pages, API) or by the
/// guardians themselves on the parent portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Staff,
    Portal,
}

/// Staff record what was given at school (a signed form, a conversation);
/// a portal login is recorded by the parent portal itself, never claimed.
fn staff_evidence(e: &v1::Evidence) -> Result<()> {
    if e.kind == EvidenceKind::PortalLogin as i32 {
        return Err(Error::invalid(
            "evidence.kind",
            "a portal login is recorded by the parent portal itself, not by staff",
        ));
    }
    Ok(())
}

/// The guardians refused on the parent portal themselves.
fn refused_on_portal(v: &v1::ConsentVersion) -> bool {
    v.status == ConsentStatus::Refused as i32
        && v.evidence
            .as_ref()
            .is_some_and(|e| e.kind == EvidenceKind::PortalLogin as i32)
}

/// A refusal the guardians gave on the portal is theirs: staff reverse it
/// only with the guardians' signed form (its SHA-256 kept in the evidence),
/// recorded by a coordinator; a grant "given in a conversation" with a typed
/// grantor does not overrule it.
fn reversal_allowed(
    actor: &Actor,
    evidence: &v1::Evidence,
    refused: &v1::ConsentVersion,
) -> Result<()> {
    if evidence.kind != EvidenceKind::SignedForm as i32 {
        return Err(Error::invalid(
            "evidence.kind",
            format!(
                "the guardians refused on the parent portal (version {}): they reverse it there, or a coordinator records their signed form",
                refused.version
            ),
        ).coded(carenet_fabric::Reason::RefusedOnPortal));
    }
    if !roles::COORDINATORS.iter().any(|r| actor.has(*r)) {
        return Err(carenet_fabric::Error::PermissionDenied(
            "reversing a refusal given on the parent portal needs the role support_coordinator_po or care_coordinator".into(),
        )
        .into());
    }
    Ok(())
}

/// The audit record that a grant reversed the guardians' own refusal on the
/// portal: the refused version it reverses and the signed form's SHA-256.
fn reversal_entry(
    actor: &Actor,
    latest: Option<&Stored>,
    next: &v1::ConsentVersion,
) -> Option<Entry> {
    let refused = latest.filter(|l| refused_on_portal(&l.version))?;
    let form = next.evidence.as_ref().filter(|e| {
        next.status == ConsentStatus::Granted as i32 && e.kind == EvidenceKind::SignedForm as i32
    })?;
    Some(Entry {
        purpose: next.purpose.clone(),
        legal_basis: format!(
            "consent:{}/v{} reverses portal refusal v{}",
            next.record_id, next.version, refused.version.version
        ),
        payload_sha256: form.document_sha256.clone(),
        ..actor.entry("consent_portal_refusal_reversed", &next.record_id)
    })
}

pub fn status_name(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Requested => "requested",
        ConsentStatus::Granted => "granted",
        ConsentStatus::Refused => "refused",
        ConsentStatus::Withdrawn => "withdrawn",
        ConsentStatus::Expired => "expired",
        ConsentStatus::Unspecified => "unspecified",
    }
}

fn validate_request(r: &ConsentRequest) -> Result<()> {
    if r.child_ref.trim().is_empty() || r.child_ref.len() > 64 {
        return Err(
            Error::invalid("child_ref", "1-64 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    if r.recipients.is_empty() {
        return Err(
            Error::invalid("recipients", "name at least one party or party kind")
                .coded(carenet_fabric::Reason::Required),
        );
    }
    for (i, rec) in r.recipients.iter().enumerate() {
        match &rec.target {
            Some(Target::PartyId(id)) => {
                PartyId::parse("recipient", id).map_err(|_| {
                    Error::invalid(format!("recipients[{i}]"), "not a party id")
                        .coded(carenet_fabric::Reason::UnknownParty)
                })?;
            }
            Some(Target::Kind(k)) if carenet_fabric::PartyKind::from_proto(*k).is_some() => {}
            _ => {
                return Err(Error::invalid(
                    format!("recipients[{i}]"),
                    "a party id or a party kind",
                )
                .coded(carenet_fabric::Reason::UnknownParty));
            }
        }
    }
    if r.categories.is_empty() {
        return Err(
            Error::invalid("categories", "name at least one data category")
                .coded(carenet_fabric::Reason::Required),
        );
    }
    if r.valid_until.is_some_and(|u| u < r.valid_from) {
        return Err(Error::invalid("valid_until", "before valid_from")
            .coded(carenet_fabric::Reason::DatesOutOfOrder));
    }
    if r.child_birth_date > r.valid_from {
        return Err(Error::invalid("child_birth_date", "after valid_from")
            .coded(carenet_fabric::Reason::DateInFuture));
    }
    Ok(())
}

fn validate_evidence(e: &v1::Evidence) -> Result<()> {
    match EvidenceKind::try_from(e.kind) {
        Ok(EvidenceKind::PortalLogin | EvidenceKind::RecordedConversation) => {}
        Ok(EvidenceKind::SignedForm) if e.document_sha256.len() == 32 => {}
        Ok(EvidenceKind::SignedForm) => {
            return Err(Error::invalid(
                "evidence.document_sha256",
                "a signed form needs its SHA-256",
            ));
        }
        _ => {
            return Err(Error::invalid(
                "evidence.kind",
                "portal_login, signed_form or recorded_conversation",
            ));
        }
    }
    Ok(())
}

/// Checks that the grantors are the ones the age rules ask for, under the
/// regime the consent's purpose and recipients call for (see [`crate::age`]).
fn validate_grantors(
    version: &v1::ConsentVersion,
    recorded_birth: Option<Date>,
    d: &Decision,
    directory: Option<&carenet_fabric::directory::Directory>,
) -> Result<()> {
    for (i, g) in d.grantors.iter().enumerate() {
        if g.name.trim().is_empty() {
            return Err(
                Error::invalid(format!("grantors[{i}].name"), "must not be empty")
                    .coded(carenet_fabric::Reason::Required),
            );
        }
        if matches!(
            GrantorRole::try_from(g.role),
            Ok(GrantorRole::Unspecified) | Err(_)
        ) {
            return Err(Error::invalid(
                format!("grantors[{i}].role"),
                "guardian, legal_representative or pupil",
            )
            .coded(carenet_fabric::Reason::NotAChoice));
        }
    }
    let birth = match recorded_birth {
        Some(b) => b,
        None => parse_date("child_birth_date", &version.child_birth_date)?,
    };
    let purpose = Purpose::parse("purpose", &version.purpose)?;
    let regime = regime_of(purpose, &version.recipients, directory);
    let need = required(regime, age_on(birth, d.today));
    grantors_suffice(need, &d.grantors).map_err(|why| {
        Error::invalid("grantors", why).coded(carenet_fabric::Reason::GrantorsInsufficient)
    })?;
    Ok(())
}

/// One stored version as read back: its encoding and hash.
#[derive(sqlx::FromRow)]
struct VersionRow {
    encoded: Vec<u8>,
    sha256: Vec<u8>,
}

impl VersionRow {
    fn decode(&self) -> Result<Stored> {
        decode(&self.encoded, &self.sha256)
    }
}

#[derive(sqlx::FromRow)]
struct RecordIdRow {
    record_id: String,
}

/// Consent records on a node's database.
///
/// Each staff action takes the [`Actor`] who does it and first checks its
/// role ([`crate::roles`]); its audit record names the actor and roles
/// (`staff[role+role]`). The evidence of a decision keeps its kind and
/// document hash; its `recorded_by` is always the actor's audit name, whatever
/// the caller put there (the grantors, e.g. a guardian on the parent portal,
/// are in the grantors and the evidence kind; the actor is the staff member
/// who records it).
#[derive(Clone, Debug)]
pub struct ConsentStore {
    store: Store,
}

/// Whether a record asks what `asked` (a new request's version 1) asks:
/// the same child, purpose, recipients, categories and period.
fn same_request(recorded: &v1::ConsentVersion, asked: &v1::ConsentVersion) -> bool {
    recorded.child_ref == asked.child_ref
        && recorded.child_birth_date == asked.child_birth_date
        && recorded.purpose == asked.purpose
        && recorded.recipients == asked.recipients
        && recorded.categories == asked.categories
        && recorded.valid_from == asked.valid_from
        && recorded.valid_until == asked.valid_until
}

impl ConsentStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The node store the records live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records a request for consent (version 1, status requested).
    pub async fn request(&self, actor: &Actor, r: &ConsentRequest) -> Result<Stored> {
        self.request_named(actor, "", r).await
    }

    /// [`Self::request`] under the record id a form named (a UUID made when
    /// the form was shown; empty: a new one; not a UUID: refused, naming
    /// `id`): the same request sent twice asks once and answers with that
    /// record as it stands; other content under that id (a form kept open
    /// and changed) is a request of its own under a new id.
    pub async fn request_named(
        &self,
        actor: &Actor,
        id: &str,
        r: &ConsentRequest,
    ) -> Result<Stored> {
        roles::require(&self.store, actor, &roles::REQUEST, &r.child_ref).await?;
        validate_request(r)?;
        crate::relation::related(&self.store, actor, &roles::REQUEST, &r.child_ref).await?;
        let birth =
            crate::pupil::for_request(&self.store, actor, &r.child_ref, r.child_birth_date).await?;
        let mut record_id = carenet_fabric::form_id::named_or_new("id", id)?;
        let mut categories: Vec<Category> = r.categories.clone();
        categories.sort();
        categories.dedup();
        let version = v1::ConsentVersion {
            record_id: record_id.clone(),
            version: 1,
            previous_sha256: Vec::new(),
            holder: self.store.party.to_string(),
            child_ref: r.child_ref.clone(),
            child_birth_date: format_date(birth),
            purpose: r.purpose.as_str().into(),
            recipients: r.recipients.clone(),
            categories: categories.iter().map(|c| c.as_str().to_owned()).collect(),
            valid_from: format_date(r.valid_from),
            valid_until: r.valid_until.map(format_date).unwrap_or_default(),
            status: ConsentStatus::Requested as i32,
            grantors: Vec::new(),
            evidence: Some(v1::Evidence {
                kind: EvidenceKind::Unspecified as i32,
                recorded_by: actor.audit_name(),
                document_sha256: Vec::new(),
            }),
            recorded_at_ms: now_ms(),
        };
        // The same request sent again (a double click, the page sent
        // again) answers with the record as it stands; with other content
        // (a form kept open and changed) it is a request of its own.
        if !id.is_empty()
            && let Some(asked) = self.latest(&record_id).await?
        {
            if same_request(&asked.version, &version) {
                return Ok(asked);
            }
            record_id = carenet_fabric::form_id::fresh();
        }
        let version = v1::ConsentVersion {
            record_id: record_id.clone(),
            ..version
        };
        let written = self
            .write(
                &record_id,
                actor,
                "consent_requested",
                &[],
                None,
                |latest| match latest {
                    None => Ok(version.clone()),
                    Some(l) => Err(Error::Conflict(l.version.record_id.clone())),
                },
            )
            .await;
        match written {
            // Two of the same at once: the other one asked.
            Err(Error::Conflict(_)) if !id.is_empty() => match self.latest(&record_id).await? {
                Some(asked) if same_request(&asked.version, &version) => Ok(asked),
                _ => Err(Error::Conflict(record_id)),
            },
            other => other,
        }
    }

    /// The role of `action`, then the relation with the pupil the record is
    /// about (an unknown record is left to the action's own not-found).
    async fn require_for_record(
        &self,
        actor: &Actor,
        action: &roles::Action,
        record_id: &str,
    ) -> Result<()> {
        roles::require(&self.store, actor, action, record_id).await?;
        match self.latest(record_id).await? {
            Some(stored) => {
                crate::relation::related(&self.store, actor, action, &stored.version.child_ref)
                    .await
            }
            None => Ok(()),
        }
    }

    /// Records that the grantors gave consent; `actor` is the staff member
    /// who records it.
    pub async fn grant(&self, actor: &Actor, record_id: &str, d: &Decision) -> Result<Stored> {
        self.require_for_record(actor, &roles::GRANT, record_id)
            .await?;
        self.decide(actor, record_id, Change::Grant, d, Channel::Staff)
            .await
    }

    /// Records that the grantors refused; `actor` is the staff member who
    /// records it.
    pub async fn refuse(&self, actor: &Actor, record_id: &str, d: &Decision) -> Result<Stored> {
        self.require_for_record(actor, &roles::REFUSE, record_id)
            .await?;
        self.decide(actor, record_id, Change::Refuse, d, Channel::Staff)
            .await
    }

    /// Withdrawal needs no age check: any grantor may withdraw, at any time.
    /// Every recipient of data released under the record is told, in the
    /// same transaction.
    pub async fn withdraw(
        &self,
        actor: &Actor,
        record_id: &str,
        grantors: Vec<v1::Grantor>,
        evidence: v1::Evidence,
    ) -> Result<Stored> {
        self.require_for_record(actor, &roles::WITHDRAW, record_id)
            .await?;
        staff_evidence(&evidence)?;
        self.withdraw_as(actor, record_id, grantors, evidence).await
    }

    /// A grant (`grant`) or refusal recorded under `actor` without a staff
    /// role check: for the parent portal, which checked the guardian's link
    /// to the child first ([`crate::portal`]).
    pub(crate) async fn decide_as(
        &self,
        actor: &Actor,
        record_id: &str,
        grant: bool,
        d: &Decision,
    ) -> Result<Stored> {
        let change = if grant { Change::Grant } else { Change::Refuse };
        self.decide(actor, record_id, change, d, Channel::Portal)
            .await
    }

    /// A withdrawal recorded under `actor`; its callers checked who may.
    pub(crate) async fn withdraw_as(
        &self,
        actor: &Actor,
        record_id: &str,
        grantors: Vec<v1::Grantor>,
        evidence: v1::Evidence,
    ) -> Result<Stored> {
        let evidence = v1::Evidence {
            recorded_by: actor.audit_name(),
            ..evidence
        };
        validate_evidence(&evidence)?;
        // A release committing meanwhile makes the notices incomplete: the
        // write sees it (a Conflict) and the notices are built again.
        let mut attempts = 0;
        loop {
            let (notices, covered) =
                crate::withdrawal::notices(&self.store, record_id, "consent withdrawn").await?;
            let result = self
                .write(
                    record_id,
                    actor,
                    "consent_withdraw",
                    &notices,
                    Some(&covered),
                    |latest| {
                        let mut next = next_version(record_id, latest, Change::Withdraw)?;
                        next.grantors = grantors.clone();
                        next.evidence = Some(evidence.clone());
                        Ok(next)
                    },
                )
                .await;
            attempts += 1;
            match result {
                Err(Error::Conflict(_)) if attempts < 5 => continue,
                other => return other,
            }
        }
    }

    /// Marks every granted consent whose end date lies before `today`
    /// expired. The node's job: it acts as the node itself.
    pub async fn expire_due(&self, today: Date) -> Result<Vec<String>> {
        let system = Actor::system(self.store.party.clone());
        let today_s = format_date(today);
        let rows: Vec<RecordIdRow> = with_db!(&self.store.db, pool => {
            sqlx::query_as(
                "SELECT v.record_id FROM consent_version v \
                 WHERE v.status = 'granted' AND v.valid_until IS NOT NULL AND v.valid_until <> '' \
                 AND v.valid_until < $1 \
                 AND v.version = (SELECT MAX(w.version) FROM consent_version w WHERE w.record_id = v.record_id)",
            )
            .bind(&today_s)
            .fetch_all(pool)
            .await?
        });
        let mut expired = Vec::with_capacity(rows.len());
        for RecordIdRow { record_id } in rows {
            let (notices, covered) =
                crate::withdrawal::notices(&self.store, &record_id, "consent expired").await?;
            let result = self
                .write(
                    &record_id,
                    &system,
                    "consent_expire",
                    &notices,
                    Some(&covered),
                    |latest| next_version(&record_id, latest, Change::Expire),
                )
                .await;
            match result {
                Ok(_) => expired.push(record_id),
                // Withdrawn or changed meanwhile (or released meanwhile:
                // the next run builds complete notices): nothing to do now.
                Err(Error::Transition { .. } | Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }

    /// The current version of a record, or none. A system read (the release
    /// policy's check); staff look records up with [`Self::show`].
    pub async fn latest(&self, record_id: &str) -> Result<Option<Stored>> {
        let row: Option<VersionRow> = with_db!(&self.store.db, pool => {
            sqlx::query_as(SELECT_LATEST).bind(record_id).fetch_optional(pool).await?
        });
        row.map(|r| r.decode()).transpose()
    }

    /// Every version of a record, oldest first, for staff.
    pub async fn show(&self, actor: &Actor, record_id: &str) -> Result<Vec<Stored>> {
        self.require_for_record(actor, &roles::SHOW, record_id)
            .await?;
        let history = self.history(record_id).await?;
        if history.is_empty() {
            return Err(Error::NotFound(record_id.to_owned()));
        }
        Ok(history)
    }

    /// The current version of every record about one child, for staff.
    pub async fn list(&self, actor: &Actor, child_ref: &str) -> Result<Vec<Stored>> {
        crate::relation::require(&self.store, actor, &roles::LIST, child_ref).await?;
        self.for_child(child_ref).await
    }

    /// The records about one child for `purpose` that are granted and valid
    /// on `today` (a system read: a slice checks that a step has its
    /// consent; whom a record names is checked where data leaves).
    pub async fn granted_for(
        &self,
        child_ref: &str,
        purpose: Purpose,
        today: Date,
    ) -> Result<Vec<Stored>> {
        let day = format_date(today);
        Ok(self
            .for_child(child_ref)
            .await?
            .into_iter()
            .filter(|s| {
                let v = &s.version;
                s.status() == ConsentStatus::Granted
                    && v.purpose == purpose.as_str()
                    && v.valid_from <= day
                    && (v.valid_until.is_empty() || v.valid_until >= day)
            })
            .collect())
    }

    /// Every version of a record, oldest first.
    pub(crate) async fn history(&self, record_id: &str) -> Result<Vec<Stored>> {
        let rows: Vec<VersionRow> = with_db!(&self.store.db, pool => {
            sqlx::query_as("SELECT encoded, sha256 FROM consent_version WHERE record_id = $1 ORDER BY version")
                .bind(record_id)
                .fetch_all(pool)
                .await?
        });
        rows.iter().map(VersionRow::decode).collect()
    }

    /// The current version of every record about one child.
    pub(crate) async fn for_child(&self, child_ref: &str) -> Result<Vec<Stored>> {
        let rows: Vec<VersionRow> = with_db!(&self.store.db, pool => {
            sqlx::query_as(
                "SELECT v.encoded, v.sha256 FROM consent_version v WHERE v.child_ref = $1 \
                 AND v.version = (SELECT MAX(w.version) FROM consent_version w WHERE w.record_id = v.record_id) \
                 ORDER BY v.recorded_at_ms, v.record_id",
            )
            .bind(child_ref)
            .fetch_all(pool)
            .await?
        });
        rows.iter().map(VersionRow::decode).collect()
    }

    /// A grant or refusal: evidence and grantors checked against the version
    /// current inside the transaction.
    async fn decide(
        &self,
        actor: &Actor,
        record_id: &str,
        change: Change,
        d: &Decision,
        channel: Channel,
    ) -> Result<Stored> {
        let evidence = v1::Evidence {
            recorded_by: actor.audit_name(),
            ..d.evidence.clone()
        };
        validate_evidence(&evidence)?;
        if channel == Channel::Staff {
            staff_evidence(&evidence)?;
        }
        let action = format!("consent_{}", change.name());
        // The age rules go by the school's record of the pupil (a record
        // corrected after the request counts), else by the request's date.
        let child = self.latest(record_id).await?.map(|l| l.version.child_ref);
        let recorded = match &child {
            Some(c) => crate::pupil::birth_date(&self.store, c).await?,
            None => None,
        };
        // Whether the refusal (if any) is the portal rule's, to audit it as such.
        let reversal_refused = std::sync::atomic::AtomicBool::new(false);
        let result = self
            .write(record_id, actor, &action, &[], None, |latest| {
                if channel == Channel::Staff
                    && change == Change::Grant
                    && let Some(refused) = latest.filter(|l| refused_on_portal(&l.version))
                {
                    reversal_allowed(actor, &evidence, &refused.version).inspect_err(|_| {
                        reversal_refused.store(true, std::sync::atomic::Ordering::Relaxed)
                    })?;
                }
                let mut next = next_version(record_id, latest, change)?;
                validate_grantors(
                    &next,
                    recorded,
                    d,
                    self.store.directory().map(|d| d.as_ref()),
                )?;
                if change == Change::Grant
                    && !next.valid_until.is_empty()
                    && parse_date("valid_until", &next.valid_until)? < d.today
                {
                    return Err(Error::invalid("valid_until", "lies in the past: ask again")
                        .coded(carenet_fabric::Reason::DateInPast));
                }
                next.grantors = d.grantors.clone();
                next.evidence = Some(evidence.clone());
                Ok(next)
            })
            .await;
        if let Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(_))) = &result
            && reversal_refused.load(std::sync::atomic::Ordering::Relaxed)
        {
            carenet_fabric::audit::append(
                &self.store.db,
                &[actor.refusal_entry("consent_reverse_portal_refusal", record_id)],
            )
            .await?;
        }
        result
    }

    /// In one transaction: reads the record's current version, lets `next`
    /// build the new one from it (or refuse: a state change checks the state
    /// it starts from here, not before), stores it, queues `notices` and
    /// appends the audit records (the change, named after `actor`, and one
    /// per queued notice). Two changes racing on one record: the second gets
    /// [`Error::Conflict`].
    ///
    /// The change takes the record's `basis_version` row first, so releases
    /// under the record are ordered with it (see
    /// [`carenet_fabric::store::basis`]). A change that ends the basis names
    /// the messages its notices withdraw (`covered`); a release under the
    /// record that committed after they were built is a [`Error::Conflict`]
    /// too, and the caller builds them again.
    async fn write(
        &self,
        record_id: &str,
        actor: &Actor,
        action: &str,
        notices: &[NewMessage],
        covered: Option<&[String]>,
        next: impl FnOnce(Option<&Stored>) -> Result<v1::ConsentVersion>,
    ) -> Result<Stored> {
        let notice_ids = self.store.prepare(notices).await?;
        let result: Result<Stored> = async {
            Ok(audited!(&self.store.db, tx => {
                let row: Option<VersionRow> = sqlx::query_as(SELECT_LATEST)
                    .bind(record_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let latest = row.map(|r| r.decode()).transpose()?;
                let version = next(latest.as_ref())?;
                let basis = basis_reference(record_id);
                carenet_fabric::basis_advance!(tx, &basis, i64::from(version.version));
                if let Some(covered) = covered {
                    let released = carenet_fabric::released_under!(tx, &basis);
                    if released.iter().any(|(id, _)| !covered.contains(id)) {
                        return Err(Error::Conflict(record_id.to_owned()));
                    }
                }
                let encoded = version.encode_to_vec();
                let hash = sha256(&encoded);
                let status = status_name(
                    ConsentStatus::try_from(version.status).unwrap_or(ConsentStatus::Unspecified),
                );
                let valid_until =
                    (!version.valid_until.is_empty()).then(|| version.valid_until.clone());
                sqlx::query(
                    "INSERT INTO consent_version (record_id, version, child_ref, purpose, status, valid_until, \
                     encoded, sha256, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&version.record_id)
                .bind(i64::from(version.version))
                .bind(&version.child_ref)
                .bind(&version.purpose)
                .bind(status)
                .bind(&valid_until)
                .bind(&encoded)
                .bind(&hash[..])
                .bind(version.recorded_at_ms)
                .execute(&mut *tx)
                .await?;
                let mut entries = vec![Entry {
                    purpose: version.purpose.clone(),
                    legal_basis: format!("consent:{}/v{}", version.record_id, version.version),
                    payload_sha256: hash.to_vec(),
                    ..actor.entry(action, &version.record_id)
                }];
                entries.extend(reversal_entry(actor, latest.as_ref(), &version));
                outbox_enqueue!(tx, notices, &notice_ids, &mut entries);
                (Stored { version, sha256: hash }, entries)
            }))
        }
        .await;
        match result {
            Ok(stored) => {
                if !notices.is_empty() {
                    self.store.wake_outbox();
                }
                Ok(stored)
            }
            Err(Error::Database(sqlx::Error::Database(db))) if db.is_unique_violation() => {
                Err(Error::Conflict(record_id.to_owned()))
            }
            Err(Error::Fabric(carenet_fabric::Error::Database(sqlx::Error::Database(db))))
                if db.is_unique_violation() =>
            {
                Err(Error::Conflict(record_id.to_owned()))
            }
            Err(e) => Err(e),
        }
    }
}

/// How releases under a consent record name their basis (the audit label,
/// and the `basis_version` reference).
pub fn basis_reference(record_id: &str) -> String {
    format!("consent:{record_id}")
}

const SELECT_LATEST: &str = "SELECT encoded, sha256 FROM consent_version WHERE record_id = $1 ORDER BY version DESC LIMIT 1";

/// The version after `latest` for `change`, if the status machine allows it.
fn next_version(
    record_id: &str,
    latest: Option<&Stored>,
    change: Change,
) -> Result<v1::ConsentVersion> {
    let latest = latest.ok_or_else(|| Error::NotFound(record_id.to_owned()))?;
    let status = latest.status();
    if !change.allowed_from(status) {
        return Err(Error::Transition {
            record: latest.version.record_id.clone(),
            change: change.name(),
            status: status_name(status),
        });
    }
    let mut next = latest.version.clone();
    next.version += 1;
    next.previous_sha256 = latest.sha256.to_vec();
    next.status = change.to() as i32;
    next.recorded_at_ms = now_ms();
    Ok(next)
}

fn decode(encoded: &[u8], hash: &[u8]) -> Result<Stored> {
    if sha256(encoded)[..] != hash[..] {
        return Err(Error::Corrupt("a version does not match its hash".into()));
    }
    let version = v1::ConsentVersion::decode(encoded)
        .map_err(|_| Error::Corrupt("not a consent version".into()))?;
    let mut sha = [0u8; 32];
    sha.copy_from_slice(hash);
    Ok(Stored {
        version,
        sha256: sha,
    })
}
