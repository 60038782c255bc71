//! The parent portal's rules: a guardian signed in through the portal's own
//! login (in production a DigiD broker) acts for the children the school
//! linked them to, and for no other.
//!
//! The school links a guardian to a child with a one-time invitation
//! ([`crate::links::invite`], a coordinator's action): a code on paper or by
//! mail, of which only the hash is kept. It expires, and at first use
//! ([`redeem`]) it is bound to the login that used it. Every portal request
//! then starts with [`linked`], which reads the link again and proves it
//! (not revoked, not past its yearly review) or refuses (audited,
//! `refused:portal_child`); the [`Linked`] it returns is the only way into
//! the actions below, and each of them checks that what it touches is about
//! that child and that the guardian may see it on that date
//! ([`crate::access`]: from 16 the pupil decides).
//!
//! A pupil the school invited as themself ([`crate::links::Invitee::Pupil`],
//! ADR 0008) signs in through the same login and redeems a code the same
//! way; their link says so ([`Linked::is_pupil`]), so the age rules are
//! applied from the pupil's side ([`Access::for_pupil`]: the pupil sees and
//! decides the consents they decide at their age) and a grant names the
//! pupil as grantor.
//!
//! A guardian is named by a pseudonym of their login ([`Guardian::id`]), never
//! by a national id; audit records name them `guardian.<pseudonym>`. A grant
//! given here is recorded with evidence `portal_login`, the guardian as the
//! grantor, and the pseudonym as who recorded it.

use std::collections::BTreeSet;

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyId, audit, audited, with_db};
use carenet_proto::v1::{self, EvidenceKind, GrantorRole};
use time::Date;

use crate::access::{self, Access, Page};
use crate::disclosure::Disclosure;
use crate::links::{GuardianLink, LinkRow, LinkState, link_query, normalise};
use crate::record::{ConsentStore, Decision, Stored, parse_date};
use crate::{Error, Result};

/// A guardian as the portal's login verified them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardian {
    /// The node the portal belongs to.
    pub party: PartyId,
    /// A pseudonym of the login (issuer and subject): 32 hex characters.
    pub id: String,
    /// How the login names them; kept on this node as the grantor's name.
    pub name: String,
}

impl Guardian {
    /// The guardian of a verified login: `issuer` and `subject` are the ID
    /// token's `iss` and `sub`; the pseudonym, keyed with the party's own
    /// signing key, hides both.
    pub fn from_login(
        party: PartyId,
        key: &carenet_fabric::crypto::SigningKey,
        issuer: &str,
        subject: &str,
        name: &str,
    ) -> Self {
        let id = key.guardian_pseudonym(issuer, subject);
        let name = match name.trim() {
            "" => "ouder of verzorger (portaal)".to_owned(),
            n => n.chars().take(100).collect(),
        };
        Self { party, id, name }
    }

    /// As the audit log names the guardian.
    pub fn audit_name(&self) -> String {
        format!("guardian.{}", &self.id[..16])
    }

    /// The actor the consent records and audit entries name: the guardian's
    /// audit name and no staff role, so it passes no staff check anywhere.
    fn actor(&self) -> Actor {
        Actor {
            party: self.party.clone(),
            staff: self.audit_name(),
            roles: BTreeSet::new(),
        }
    }

    fn refusal(&self, action: &str, subject: &str) -> Entry {
        self.actor().refusal_entry(action, subject)
    }
}

/// Proof that a guardian is linked to a child on this node; made only by
/// [`linked`].
#[derive(Clone, Debug)]
pub struct Linked {
    guardian: Guardian,
    child_ref: String,
    /// The child's birth date as the school recorded it, if it did.
    birth: Option<Date>,
    /// The login is the pupil's own (an invitation for the pupil themself).
    pupil: bool,
}

impl Linked {
    pub fn guardian(&self) -> &Guardian {
        &self.guardian
    }
    pub fn child_ref(&self) -> &str {
        &self.child_ref
    }
    /// The birth date the portal's age rules count from ([`crate::access`]).
    pub fn child_birth_date(&self) -> Option<Date> {
        self.birth
    }
    /// Whether the signed-in person is the pupil themself, not a guardian.
    pub fn is_pupil(&self) -> bool {
        self.pupil
    }
    /// What the guardian (or the pupil) may see and do about the child today.
    pub fn access(&self) -> Access {
        access::of(self, carenet_fabric::clock::today())
    }
    /// The actor portal actions are recorded under (no staff role).
    pub fn actor(&self) -> Actor {
        self.guardian.actor()
    }
    /// The audit entry of a portal action about `subject`.
    pub fn entry(&self, action: &str, subject: &str) -> Entry {
        self.actor().entry(action, subject)
    }

    /// Refuses (audited, `refused:<action>`) when `child_ref` is not this
    /// link's child: what a portal action touches must be about it.
    pub async fn require_same_child(
        &self,
        store: &Store,
        action: &str,
        subject: &str,
        child_ref: &str,
    ) -> Result<()> {
        if child_ref == self.child_ref {
            return Ok(());
        }
        audit::append(&store.db, &[self.guardian.refusal(action, subject)]).await?;
        Err(denied())
    }

    /// Refuses (audited, `refused:<action>`) unless `allowed`: what the
    /// guardian may see and do about the child on this date
    /// ([`Linked::access`]) does not include it.
    pub async fn require_access(
        &self,
        store: &Store,
        allowed: bool,
        action: &str,
        subject: &str,
    ) -> Result<()> {
        if allowed {
            return Ok(());
        }
        audit::append(&store.db, &[self.guardian.refusal(action, subject)]).await?;
        Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(
            "at this age the pupil decides: the guardian may not see this".into(),
        )))
    }
}

fn denied() -> Error {
    Error::Fabric(carenet_fabric::Error::PermissionDenied(
        "this is not about a child the guardian is linked to".into(),
    ))
}

#[derive(sqlx::FromRow)]
struct InvitedRow {
    child_ref: String,
    guardian_name: Option<String>,
    child_birth_date: Option<String>,
    invitee: String,
}

/// A link is reviewed yearly: a new one is due a year after it was made.
const REVIEW_MS: i64 = crate::links::REVIEW_DAYS * 86_400_000;

/// Binds an invitation to `guardian` at its first use and links them to its
/// child; returns the child's reference. An unknown, used, withdrawn or
/// expired code is refused alike (audited), so the answer tells nothing about
/// other codes. The link keeps the name the login gave, the name the school
/// invited, the child's birth date, and its first review date.
pub async fn redeem(store: &Store, guardian: &Guardian, code: &str) -> Result<String> {
    let hash = sha256(normalise(code).as_bytes());
    let now = now_ms();
    let since = now - FAILURE_WINDOW_MS;
    let outcome: Redeemed = audited!(&store.db, tx => {
        // This login's row, taken (locked on PostgreSQL) before anything
        // else; its window starts again once an hour has passed.
        let (failures,): (i64,) = sqlx::query_as(
            "INSERT INTO guardian_link_failure (guardian, window_start_ms, failures) VALUES ($1, $2, 0) \
             ON CONFLICT (guardian) DO UPDATE SET \
             failures = CASE WHEN guardian_link_failure.window_start_ms <= $3 THEN 0 ELSE guardian_link_failure.failures END, \
             window_start_ms = CASE WHEN guardian_link_failure.window_start_ms <= $3 THEN $2 ELSE guardian_link_failure.window_start_ms END \
             RETURNING failures",
        )
        .bind(&guardian.id)
        .bind(now)
        .bind(since)
        .fetch_one(&mut *tx)
        .await?;
        // The login's link to the invitation's child, if it has one: a
        // login is one person, the pupil or a guardian, never both.
        let other: Option<(String, String)> = if failures >= MAX_FAILURES {
            None
        } else {
            sqlx::query_as(
                "SELECT l.linked_as, i.child_ref FROM guardian_invitation i \
                 JOIN guardian_link l ON l.child_ref = i.child_ref AND l.guardian = $1 \
                 WHERE i.code_sha256 = $2 AND i.guardian IS NULL AND i.withdrawn_at_ms IS NULL \
                 AND i.expires_at_ms > $3 AND l.linked_as <> i.invitee",
            )
            .bind(&guardian.id)
            .bind(&hash[..])
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
        };
        if failures >= MAX_FAILURES {
            (Redeemed::Limited, vec![guardian.refusal("guardian_link", "attempts")])
        } else if let Some((linked_as, child_ref)) = other {
            // Refused before the invitation is touched: it stays unused.
            (
                Redeemed::OtherRole(crate::links::Invitee::stored(&linked_as)),
                vec![guardian.refusal("guardian_link", &child_ref)],
            )
        } else {
            let row: Option<InvitedRow> = sqlx::query_as(
                "UPDATE guardian_invitation SET guardian = $1, redeemed_at_ms = $2 \
                 WHERE code_sha256 = $3 AND guardian IS NULL AND withdrawn_at_ms IS NULL AND expires_at_ms > $2 \
                 RETURNING child_ref, guardian_name, child_birth_date, invitee",
            )
            .bind(&guardian.id)
            .bind(now)
            .bind(&hash[..])
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(invited) => {
                    // A guardian linked again after an ended link: the new
                    // invitation starts the link afresh.
                    sqlx::query(
                        "INSERT INTO guardian_link (id, guardian, child_ref, guardian_name, invited_as, \
                         child_birth_date, linked_at_ms, review_by_ms, linked_as) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                         ON CONFLICT (guardian, child_ref) DO UPDATE SET guardian_name = excluded.guardian_name, \
                         invited_as = excluded.invited_as, linked_as = excluded.linked_as, \
                         child_birth_date = COALESCE(excluded.child_birth_date, guardian_link.child_birth_date), \
                         linked_at_ms = excluded.linked_at_ms, review_by_ms = excluded.review_by_ms, \
                         ended_at_ms = NULL, ended_by = NULL, end_reason = NULL",
                    )
                    .bind(crate::links::new_id())
                    .bind(&guardian.id)
                    .bind(&invited.child_ref)
                    .bind(&guardian.name)
                    .bind(&invited.guardian_name)
                    .bind(&invited.child_birth_date)
                    .bind(now)
                    .bind(now + REVIEW_MS)
                    .bind(crate::links::Invitee::stored(&invited.invitee).as_str())
                    .execute(&mut *tx)
                    .await?;
                    let action = match crate::links::Invitee::stored(&invited.invitee) {
                        crate::links::Invitee::Guardian => "guardian_linked",
                        crate::links::Invitee::Pupil => "pupil_linked",
                    };
                    let entry = guardian.actor().entry(action, &invited.child_ref);
                    (Redeemed::Linked(invited.child_ref), vec![entry])
                }
                None => {
                    sqlx::query("UPDATE guardian_link_failure SET failures = failures + 1 WHERE guardian = $1")
                        .bind(&guardian.id)
                        .execute(&mut *tx)
                        .await?;
                    (Redeemed::Refused, vec![guardian.refusal("guardian_link", "invitation")])
                }
            }
        }
    });
    match outcome {
        Redeemed::Linked(child_ref) => Ok(child_ref),
        Redeemed::Refused => Err(
            Error::invalid("code", "unknown, already used or expired")
                .coded(carenet_fabric::Reason::CodeUnknown),
        ),
        Redeemed::OtherRole(crate::links::Invitee::Guardian) => Err(Error::invalid(
            "code",
            "deze code is voor de leerling zelf, en u bent al als ouder of verzorger aan deze leerling gekoppeld",
        )
        .coded(carenet_fabric::Reason::CodeForPupil)),
        Redeemed::OtherRole(crate::links::Invitee::Pupil) => Err(Error::invalid(
            "code",
            "deze code is voor een ouder of verzorger, en je bent al als leerling zelf gekoppeld",
        )
        .coded(carenet_fabric::Reason::CodeForGuardian)),
        Redeemed::Limited => Err(Error::Fabric(carenet_fabric::Error::ResourceExhausted(
            format!("{MAX_FAILURES} wrong invitation codes within an hour: try again later"),
        ))),
    }
}

/// How many wrong codes one guardian login may try within
/// [`FAILURE_WINDOW_MS`] (a code has 60 random bits; this bounds what one
/// login can guess, and the audit log shows who tried).
pub const MAX_FAILURES: i64 = 5;
/// The window of [`MAX_FAILURES`]: an hour.
pub const FAILURE_WINDOW_MS: i64 = 3_600_000;

enum Redeemed {
    Linked(String),
    Refused,
    Limited,
    /// The login is already linked to the invitation's child in the other
    /// role (as given): a guardian's login cannot become the pupil's, nor
    /// the pupil's a guardian's.
    OtherRole(crate::links::Invitee),
}

async fn link_rows(store: &Store, guardian: &Guardian) -> Result<Vec<LinkRow>> {
    Ok(with_db!(&store.db, pool => {
        sqlx::query_as(link_query!("WHERE guardian = $1 ORDER BY linked_at_ms, child_ref"))
        .bind(&guardian.id)
        .fetch_all(pool)
        .await?
    }))
}

/// Every link of `guardian` on this node, active and ended, oldest first:
/// the portal lists the ended ones with why they ended. Positions in this
/// list stay when a link ends, so a page address keeps its child.
pub async fn links(store: &Store, guardian: &Guardian) -> Result<Vec<GuardianLink>> {
    if guardian.party != store.party {
        return Ok(Vec::new());
    }
    let now = now_ms();
    Ok(link_rows(store, guardian)
        .await?
        .into_iter()
        .map(|r| r.link(now))
        .collect())
}

/// The children `guardian` is linked to on this node today (active links).
pub async fn children(store: &Store, guardian: &Guardian) -> Result<Vec<String>> {
    Ok(links(store, guardian)
        .await?
        .into_iter()
        .filter(|l| l.state == LinkState::Active)
        .map(|l| l.child_ref)
        .collect())
}

/// The birth date of a linked child: the school's record of the pupil
/// ([`crate::pupil`], the one the consent rules use too), else as the
/// invitation (or the yearly review) recorded it, else as the child's latest
/// consent record has it.
async fn birth_date(store: &Store, link: &GuardianLink) -> Result<Option<Date>> {
    if let Some(recorded) = crate::pupil::birth_date(store, &link.child_ref).await? {
        return Ok(Some(recorded));
    }
    if link.child_birth_date.is_some() {
        return Ok(link.child_birth_date);
    }
    let records = ConsentStore::new(store.clone())
        .for_child(&link.child_ref)
        .await?;
    Ok(records
        .iter()
        .rev()
        .find_map(|r| parse_date("child_birth_date", &r.version.child_birth_date).ok()))
}

/// The proof that `guardian` is linked to `child_ref` today, read again at
/// every request: a guardian who is not, or whose link the school revoked or
/// did not renew by its review date, is refused, and the refusal audited
/// (`refused:portal_child`).
pub async fn linked(store: &Store, guardian: &Guardian, child_ref: &str) -> Result<Linked> {
    let active = links(store, guardian)
        .await?
        .into_iter()
        .find(|l| l.child_ref == child_ref && l.state == LinkState::Active);
    if let Some(link) = active {
        let birth = birth_date(store, &link).await?;
        return Ok(Linked {
            guardian: guardian.clone(),
            child_ref: child_ref.to_owned(),
            birth,
            pupil: link.linked_as == crate::links::Invitee::Pupil,
        });
    }
    audit::append(&store.db, &[guardian.refusal("portal_child", child_ref)]).await?;
    Err(denied())
}

/// The link of `guardian` to whichever child `record_id` is about.
pub async fn linked_by_record(
    store: &Store,
    guardian: &Guardian,
    record_id: &str,
) -> Result<(Linked, Stored)> {
    let consents = ConsentStore::new(store.clone());
    let Some(current) = consents.latest(record_id).await? else {
        audit::append(&store.db, &[guardian.refusal("portal_consent", record_id)]).await?;
        return Err(Error::NotFound(record_id.to_owned()));
    };
    let link = linked(store, guardian, &current.version.child_ref).await?;
    Ok((link, current))
}

/// Whether the guardian may see consent `v` on the date of `access`.
fn visible(store: &Store, access: &Access, v: &v1::ConsentVersion) -> bool {
    access.consent_version(v, store.directory().map(|d| d.as_ref()))
}

/// The current version of every consent record about the linked child that
/// the guardian may see today ([`Access::consent`]): from 16 none, the
/// pupil's consents are the pupil's.
pub async fn consents(store: &Store, link: &Linked) -> Result<Vec<Stored>> {
    let access = link.access();
    Ok(ConsentStore::new(store.clone())
        .for_child(&link.child_ref)
        .await?
        .into_iter()
        .filter(|c| visible(store, &access, &c.version))
        .collect())
}

/// The current version of `record_id`, if it is about the linked child and
/// the guardian may see it (else refused, audited as `refused:<action>`).
async fn own_record(store: &Store, link: &Linked, record_id: &str, action: &str) -> Result<Stored> {
    let current = ConsentStore::new(store.clone())
        .latest(record_id)
        .await?
        .ok_or_else(|| Error::NotFound(record_id.to_owned()))?;
    link.require_same_child(store, action, record_id, &current.version.child_ref)
        .await?;
    let access = link.access();
    link.require_access(
        store,
        visible(store, &access, &current.version),
        action,
        record_id,
    )
    .await?;
    Ok(current)
}

/// The guardian decides on a requested consent (grant or refuse). Recorded
/// with evidence `portal_login`, the guardian as grantor; the age rules
/// apply as for any grant, and a consent the guardian may not see
/// ([`Access::consent`], on `today`) is refused before that.
pub async fn decide(
    store: &Store,
    link: &Linked,
    record_id: &str,
    grant: bool,
    today: Date,
) -> Result<Stored> {
    let action = if grant {
        "portal_grant"
    } else {
        "portal_refuse"
    };
    own_record(store, link, record_id, action).await?;
    let decision = Decision {
        grantors: vec![grantor(link)],
        evidence: portal_evidence(),
        today,
    };
    ConsentStore::new(store.clone())
        .decide_as(&link.actor(), record_id, grant, &decision)
        .await
}

/// The guardian withdraws a consent about the linked child; every recipient
/// of data released under it is told, as with a withdrawal staff record.
/// Where the pupil decides (16 and older) the guardians are no grantors
/// and may not see the consent at all: refused.
pub async fn withdraw(store: &Store, link: &Linked, record_id: &str) -> Result<Stored> {
    own_record(store, link, record_id, "portal_withdraw").await?;
    ConsentStore::new(store.clone())
        .withdraw_as(
            &link.actor(),
            record_id,
            vec![grantor(link)],
            portal_evidence(),
        )
        .await
}

/// "Wie heeft wat over mijn kind gezien": the disclosure view of the linked
/// child, as far as the guardian may see it today ([`Access::disclosure`]:
/// under the consents they may see, never a safety exception, nothing from
/// 16); the reading is audited like a coordinator's.
pub async fn disclosures(store: &Store, link: &Linked) -> Result<Vec<Disclosure>> {
    let access = link.access();
    link.require_access(
        store,
        access.page(Page::Disclosures),
        "portal_disclosures",
        &link.child_ref,
    )
    .await?;
    let shown: std::collections::BTreeSet<String> = consents(store, link)
        .await?
        .into_iter()
        .map(|c| c.version.record_id)
        .collect();
    Ok(
        crate::disclosure::lines(store, &link.actor(), &link.child_ref)
            .await?
            .into_iter()
            .filter(|d| access.disclosure(d, |r| shown.contains(r)))
            .collect(),
    )
}

/// Who decides through this login: the guardian, or the pupil themself.
fn grantor(link: &Linked) -> v1::Grantor {
    let role = if link.pupil {
        GrantorRole::Pupil
    } else {
        GrantorRole::Guardian
    };
    v1::Grantor {
        role: role as i32,
        name: link.guardian.name.clone(),
    }
}

fn portal_evidence() -> v1::Evidence {
    v1::Evidence {
        kind: EvidenceKind::PortalLogin as i32,
        recorded_by: String::new(),
        document_sha256: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pseudonym_hides_the_login_and_differs_per_issuer_and_key() {
        use carenet_fabric::crypto::SigningKey;
        let party = PartyId::parse("party", "po-1").expect("party");
        let key = |_: u8| {
            SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().expect("key")).expect("key")
        };
        let (mine, other) = (key(1), key(2));
        let g = Guardian::from_login(party.clone(), &mine, "https://idp", "s-123", "");
        assert_eq!(g.id.len(), 32);
        assert!(!g.id.contains("s-123"));
        let again = Guardian::from_login(party.clone(), &mine, "https://idp", "s-123", "");
        assert_eq!(g.id, again.id, "stable");
        let issuer = Guardian::from_login(party.clone(), &mine, "https://other", "s-123", "");
        assert_ne!(g.id, issuer.id, "per issuer");
        let keyed = Guardian::from_login(party.clone(), &other, "https://idp", "s-123", "");
        assert_ne!(
            g.id, keyed.id,
            "keyed: another party's key gives another pseudonym"
        );
        assert_eq!(g.audit_name().len(), "guardian.".len() + 16);
        assert!(g.actor().roles.is_empty(), "a guardian holds no staff role");
        assert!(!g.name.is_empty());
    }
}
