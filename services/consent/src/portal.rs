//! The parent portal's rules: a guardian signed in through the portal's own
//! login (in production a DigiD broker) acts for the children the school
//! linked them to, and for no other.
//!
//! The school links a guardian to a child with a one-time invitation
//! ([`invite`], a coordinator's action): a code on paper or by mail, of
//! which only the hash is kept. It expires, and at first use ([`redeem`]) it
//! is bound to the login that used it. Every portal action then starts with
//! [`linked`], which proves the link or refuses (audited, `refused:portal_child`);
//! the [`Linked`] it returns is the only way into the actions below, and each
//! of them checks that what it touches is about that child.
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

use crate::disclosure::Disclosure;
use crate::record::{ConsentStore, Decision, Stored};
use crate::{Error, Result, roles};

/// Inviting a guardian to the portal: the school's care coordinators (IB,
/// zorgcoördinator), who also record inzage. Not a mentor: whoever invites
/// sees the code, and a portal link carries the guardians' rights.
pub const INVITE: roles::Action = roles::Action {
    action: "guardian_invite",
    what: "invite a guardian to the parent portal",
    roles: roles::COORDINATORS,
};

/// How long an invitation may wait for its first use, at most.
pub const MAX_INVITATION_DAYS: u32 = 60;

/// Letters and digits a parent cannot mistake for one another.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 12;

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
}

impl Linked {
    pub fn guardian(&self) -> &Guardian {
        &self.guardian
    }
    pub fn child_ref(&self) -> &str {
        &self.child_ref
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
}

fn denied() -> Error {
    Error::Fabric(carenet_fabric::Error::PermissionDenied(
        "this is not about a child the guardian is linked to".into(),
    ))
}

/// A fresh invitation: the code to hand to the guardian (shown once) and
/// when it expires.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub code: String,
    pub expires_at_ms: i64,
}

/// A code as typed: spaces and dashes dropped, upper case.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn new_code() -> String {
    // 16 random bytes from the system's generator (UUID v4), 5 bits a letter.
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let mut bits: u128 = u128::from_be_bytes(bytes);
    let mut code = String::with_capacity(CODE_LEN + 2);
    for i in 0..CODE_LEN {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(CODE_ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    code
}

/// Invites a guardian of `child_ref`: a one-time code valid for `days`
/// (1 to [`MAX_INVITATION_DAYS`]). Only the code's hash is stored. The
/// school must hold something about the pupil: a consent record, or what
/// another slice holds (`held_elsewhere`, e.g. a transfer dossier).
pub async fn invite(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
    days: u32,
    held_elsewhere: bool,
) -> Result<Invitation> {
    roles::require(store, actor, &INVITE, child_ref).await?;
    if child_ref.trim().is_empty() || child_ref.len() > 64 {
        return Err(Error::invalid("child_ref", "1-64 characters"));
    }
    if !(1..=MAX_INVITATION_DAYS).contains(&days) {
        return Err(Error::invalid(
            "days",
            format!("from 1 to {MAX_INVITATION_DAYS}"),
        ));
    }
    // A pupil this school holds something about: a consent record here, or
    // something of another slice the caller found (`held_elsewhere`, e.g. a
    // transfer dossier before the guardians).
    let (n,): (i64,) = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT COUNT(*) FROM consent_version WHERE child_ref = $1")
            .bind(child_ref)
            .fetch_one(pool)
            .await?
    });
    if n == 0 && !held_elsewhere {
        return Err(Error::invalid(
            "child_ref",
            "this school holds no consent record or dossier for this pupil",
        ));
    }
    let code = new_code();
    let now = now_ms();
    let expires_at_ms = now + i64::from(days) * 86_400_000;
    let hash = sha256(normalise(&code).as_bytes());
    audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO guardian_invitation (code_sha256, child_ref, created_by, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&hash[..])
        .bind(child_ref)
        .bind(actor.audit_name())
        .bind(now)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        ((), vec![actor.entry("guardian_invited", child_ref)])
    });
    Ok(Invitation {
        code,
        expires_at_ms,
    })
}

#[derive(sqlx::FromRow)]
struct ChildRow {
    child_ref: String,
}

/// Binds an invitation to `guardian` at its first use and links them to its
/// child; returns the child's reference. An unknown, used or expired code is
/// refused alike (audited), so the answer tells nothing about other codes.
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
        if failures >= MAX_FAILURES {
            (Redeemed::Limited, vec![guardian.refusal("guardian_link", "attempts")])
        } else {
            let row: Option<ChildRow> = sqlx::query_as(
                "UPDATE guardian_invitation SET guardian = $1, redeemed_at_ms = $2 \
                 WHERE code_sha256 = $3 AND guardian IS NULL AND expires_at_ms > $2 RETURNING child_ref",
            )
            .bind(&guardian.id)
            .bind(now)
            .bind(&hash[..])
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                Some(ChildRow { child_ref }) => {
                    sqlx::query(
                        "INSERT INTO guardian_link (guardian, child_ref, linked_at_ms) VALUES ($1, $2, $3) \
                         ON CONFLICT (guardian, child_ref) DO NOTHING",
                    )
                    .bind(&guardian.id)
                    .bind(&child_ref)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let entry = guardian.actor().entry("guardian_linked", &child_ref);
                    (Redeemed::Linked(child_ref), vec![entry])
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
        Redeemed::Refused => Err(Error::invalid("code", "unknown, already used or expired")),
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
}

/// The children `guardian` is linked to on this node.
pub async fn children(store: &Store, guardian: &Guardian) -> Result<Vec<String>> {
    let rows: Vec<ChildRow> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT child_ref FROM guardian_link WHERE guardian = $1 ORDER BY linked_at_ms, child_ref")
            .bind(&guardian.id)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|r| r.child_ref).collect())
}

/// The proof that `guardian` is linked to `child_ref`; a guardian who is not
/// is refused, and the refusal audited (`refused:portal_child`).
pub async fn linked(store: &Store, guardian: &Guardian, child_ref: &str) -> Result<Linked> {
    if guardian.party == store.party
        && children(store, guardian)
            .await?
            .iter()
            .any(|c| c == child_ref)
    {
        return Ok(Linked {
            guardian: guardian.clone(),
            child_ref: child_ref.to_owned(),
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

/// The current version of every consent record about the linked child.
pub async fn consents(store: &Store, link: &Linked) -> Result<Vec<Stored>> {
    ConsentStore::new(store.clone())
        .for_child(&link.child_ref)
        .await
}

/// The guardian decides on a requested consent (grant or refuse). Recorded
/// with evidence `portal_login`, the guardian as grantor; the age rules
/// apply as for any grant (an older pupil decides for themselves).
pub async fn decide(
    store: &Store,
    link: &Linked,
    record_id: &str,
    grant: bool,
    today: Date,
) -> Result<Stored> {
    let consents = ConsentStore::new(store.clone());
    let current = consents
        .latest(record_id)
        .await?
        .ok_or_else(|| Error::NotFound(record_id.to_owned()))?;
    let action = if grant {
        "portal_grant"
    } else {
        "portal_refuse"
    };
    link.require_same_child(store, action, record_id, &current.version.child_ref)
        .await?;
    let decision = Decision {
        grantors: vec![grantor(link)],
        evidence: portal_evidence(),
        today,
    };
    consents
        .decide_as(&link.actor(), record_id, grant, &decision)
        .await
}

/// The guardian withdraws a consent about the linked child; every recipient
/// of data released under it is told, as with a withdrawal staff record.
pub async fn withdraw(store: &Store, link: &Linked, record_id: &str) -> Result<Stored> {
    let consents = ConsentStore::new(store.clone());
    let current = consents
        .latest(record_id)
        .await?
        .ok_or_else(|| Error::NotFound(record_id.to_owned()))?;
    link.require_same_child(
        store,
        "portal_withdraw",
        record_id,
        &current.version.child_ref,
    )
    .await?;
    // Any grantor may withdraw, but where the pupil decides alone (16 and
    // older) the guardians are no grantors at all.
    let v = &current.version;
    let birth = crate::record::parse_date("child_birth_date", &v.child_birth_date)?;
    let purpose = crate::Purpose::parse("purpose", &v.purpose)?;
    let directory = store.directory().map(|d| d.as_ref());
    let regime = crate::age::regime_of(purpose, &v.recipients, directory);
    let today = carenet_fabric::clock::today();
    if !crate::age::required(regime, crate::age::age_on(birth, today)).guardians {
        return Err(Error::invalid(
            "grantors",
            "the pupil decides at this age: a guardian cannot withdraw it",
        ));
    }
    consents
        .withdraw_as(
            &link.actor(),
            record_id,
            vec![grantor(link)],
            portal_evidence(),
        )
        .await
}

/// "Wie heeft wat over mijn kind gezien": the disclosure view of the linked
/// child; the reading is audited like a coordinator's.
pub async fn disclosures(store: &Store, link: &Linked) -> Result<Vec<Disclosure>> {
    crate::disclosure::lines(store, &link.actor(), &link.child_ref).await
}

fn grantor(link: &Linked) -> v1::Grantor {
    v1::Grantor {
        role: GrantorRole::Guardian as i32,
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
    fn codes_are_twelve_unambiguous_letters_and_normalise() {
        let a = new_code();
        let b = new_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 14, "{a}");
        assert!(
            normalise(&a).bytes().all(|c| CODE_ALPHABET.contains(&c)),
            "{a}"
        );
        assert_eq!(normalise(" abcd-efgh jkmn "), "ABCDEFGHJKMN");
    }

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
