//! The school's side of the parent portal's links: inviting a guardian,
//! and every link and open invitation of a pupil with what staff may do
//! about it. A link between a login and a child ends: staff revoke it with a
//! reason the guardian reads on the portal, withdraw an invitation before
//! its use, and review every link once a year (a link not renewed by its
//! review date gives no access). The portal checks the link at every
//! request ([`crate::portal::linked`]), so an ended link stops at the
//! guardian's next request.
//!
//! Each action is the care coordinators' ([`LINKS`], [`INVITE`]), checked and
//! audited like every staff action of the slice; a reason is kept with the
//! link, never in the audit log (it may name people). An invitation names
//! the guardian it is for (as the school knows them) and the child's birth
//! date as the school recorded it: the portal's age rules count from it
//! ([`crate::access`]).
//!
//! An invitation may also be for the pupil themself ([`Invitee::Pupil`],
//! [`invite_as`]; ADR 0008): the same code, redeemed through the same login
//! as a guardian's, makes a link that records it is the pupil's own, and
//! the portal then shows the pupil their own page and lets them decide the
//! consents the age rules give them.

use carenet_fabric::clock::now_ms;
use carenet_fabric::crypto::sha256;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, audited, with_db};
use time::Date;

use crate::record::{ConsentStore, format_date, parse_date};
use crate::{Error, Result, roles};

/// Inviting a guardian to the portal: the school's care coordinators (IB,
/// zorgcoördinator), who also record inzage. Not a mentor: whoever invites
/// sees the code, and a portal link carries the guardians' rights.
pub const INVITE: roles::Action = roles::Action {
    action: "guardian_invite",
    what: "invite a guardian to the parent portal",
    roles: roles::COORDINATORS,
};

/// Listing a pupil's links and open invitations, revoking a link,
/// withdrawing an invitation and renewing a link: as inviting.
pub const LINKS: roles::Action = roles::Action {
    action: "guardian_links",
    what: "list, revoke and renew a pupil's parent-portal links",
    roles: roles::COORDINATORS,
};

/// How long an invitation may wait for its first use, at most.
pub const MAX_INVITATION_DAYS: u32 = 60;
/// How long an invitation waits when the school configures nothing.
pub const DEFAULT_INVITATION_DAYS: u32 = 30;
/// A link is reviewed once a year: renewing sets its review date this far ahead.
pub const REVIEW_DAYS: i64 = 365;
const DAY_MS: i64 = 86_400_000;
/// The longest reason or name kept.
const MAX_TEXT: usize = 500;
const MAX_NAME: usize = 100;

/// Letters and digits a parent cannot mistake for one another.
pub(crate) const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 12;

/// Whom an invitation (and the link it makes) is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invitee {
    /// A guardian (ouder of verzorger) of the pupil.
    Guardian,
    /// The pupil themself.
    Pupil,
}

impl Invitee {
    /// Every value, as stored (`guardian_invitation.invitee`,
    /// `guardian_link.linked_as`).
    pub const ALL: &[Invitee] = &[Invitee::Guardian, Invitee::Pupil];

    pub fn as_str(self) -> &'static str {
        match self {
            Invitee::Guardian => "guardian",
            Invitee::Pupil => "pupil",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|i| i.as_str() == value)
            .ok_or_else(|| Error::invalid(field, "guardian or pupil"))
    }

    /// As read from the database (an unknown value is the stricter guardian
    /// reading: it gives no pupil's rights).
    pub(crate) fn stored(value: &str) -> Self {
        Self::parse("invitee", value).unwrap_or(Invitee::Guardian)
    }
}

/// The age from which a pupil may be invited to the portal: from 16 the
/// pupil decides alone about their data ([`crate::age`]); before that a
/// decision on the portal is the guardians' (with the pupil from 12 for
/// youth care, which the school records in a conversation).
pub const PUPIL_FROM_AGE: u32 = 16;

/// What the school fills in to invite a guardian (or the pupil).
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub child_ref: String,
    /// The guardian the code is for, as the school knows them.
    pub guardian_name: String,
    /// The child's birth date as the school recorded it.
    pub child_birth_date: Date,
    /// How long the code waits for its use (1 to [`MAX_INVITATION_DAYS`]).
    pub days: u32,
}

/// A fresh invitation: the code to hand to the guardian (shown once) and
/// when it expires.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub code: String,
    pub expires_at_ms: i64,
}

/// A code as typed: spaces and dashes dropped, upper case.
pub(crate) fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

pub(crate) fn new_code() -> String {
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

pub(crate) fn new_id() -> String {
    // Time-ordered (and monotonic within the process): two invitations made
    // in the same millisecond list in the order they were made.
    uuid::Uuid::now_v7().simple().to_string()
}

/// `text` trimmed, required and at most `max` characters, or an error naming `field`.
fn required_text(field: &str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(Error::invalid(field, format!("1 to {max} characters")));
    }
    Ok(t.to_owned())
}

fn check_birth_date(birth: Date) -> Result<()> {
    if birth > carenet_fabric::clock::today() {
        return Err(Error::invalid("child_birth_date", "lies in the future")
            .coded(carenet_fabric::Reason::DateInFuture));
    }
    Ok(())
}

/// Invites a guardian of the pupil: a one-time code valid for `days`. Only
/// the code's hash is stored. The school must hold something about the
/// pupil: a consent record, or what another slice holds (`held_elsewhere`,
/// e.g. a transfer dossier); a birth date that differs from the school's
/// record of the pupil ([`crate::pupil`]) is refused, and a first one
/// records it.
pub async fn invite(
    store: &Store,
    actor: &Actor,
    new: &NewInvitation,
    held_elsewhere: bool,
) -> Result<Invitation> {
    invite_as(store, actor, new, held_elsewhere, Invitee::Guardian).await
}

/// [`invite`], for a guardian or for the pupil themself (`guardian_name`
/// then names the pupil). A pupil is invited from [`PUPIL_FROM_AGE`] on the
/// birth date given; younger is refused, naming `invitee`.
pub async fn invite_as(
    store: &Store,
    actor: &Actor,
    new: &NewInvitation,
    held_elsewhere: bool,
    invitee: Invitee,
) -> Result<Invitation> {
    let child_ref = new.child_ref.trim();
    roles::require(store, actor, &INVITE, child_ref).await?;
    if child_ref.is_empty() || child_ref.len() > 64 {
        return Err(
            Error::invalid("child_ref", "1-64 characters").coded(carenet_fabric::Reason::Required)
        );
    }
    let guardian_name = required_text("guardian_name", &new.guardian_name, MAX_NAME)?;
    check_birth_date(new.child_birth_date)?;
    if invitee == Invitee::Pupil
        && crate::age::age_on(new.child_birth_date, carenet_fabric::clock::today()) < PUPIL_FROM_AGE
    {
        return Err(Error::invalid(
            "invitee",
            format!(
                "a pupil uses the portal from {PUPIL_FROM_AGE}, when they decide themselves; below that the guardians do"
            ),
        ));
    }
    if !(1..=MAX_INVITATION_DAYS).contains(&new.days) {
        return Err(Error::invalid(
            "days",
            format!("from 1 to {MAX_INVITATION_DAYS}"),
        ));
    }
    let records = ConsentStore::new(store.clone())
        .for_child(child_ref)
        .await?;
    if records.is_empty() && !held_elsewhere {
        return Err(Error::invalid(
            "child_ref",
            "this school holds no consent record or dossier for this pupil",
        ));
    }
    // The school's record of the pupil: a coordinator's first invitation
    // records it; one that says otherwise is refused.
    let birth = format_date(
        crate::pupil::for_request(store, actor, child_ref, new.child_birth_date).await?,
    );
    let code = new_code();
    let id = new_id();
    let now = now_ms();
    let expires_at_ms = now + i64::from(new.days) * DAY_MS;
    let hash = sha256(normalise(&code).as_bytes());
    audited!(&store.db, tx => {
        sqlx::query(
            "INSERT INTO guardian_invitation (code_sha256, id, child_ref, guardian_name, child_birth_date, \
             created_by, created_at_ms, expires_at_ms, invitee) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&hash[..])
        .bind(&id)
        .bind(child_ref)
        .bind(&guardian_name)
        .bind(&birth)
        .bind(actor.audit_name())
        .bind(now)
        .bind(expires_at_ms)
        .bind(invitee.as_str())
        .execute(&mut *tx)
        .await?;
        let action = match invitee {
            Invitee::Guardian => "guardian_invited",
            Invitee::Pupil => "pupil_invited",
        };
        ((), vec![actor.entry(action, child_ref)])
    });
    Ok(Invitation {
        id,
        code,
        expires_at_ms,
    })
}

/// Where a link stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    Active,
    /// Ended by the school, with its reason (in Dutch, for the guardian).
    Revoked {
        at_ms: i64,
        reason: String,
    },
    /// Not renewed by its review date.
    Lapsed {
        at_ms: i64,
    },
}

/// A link between a guardian's login and a pupil.
#[derive(Clone, Debug)]
pub struct GuardianLink {
    pub id: String,
    pub child_ref: String,
    /// How the guardian's login named them.
    pub guardian_name: String,
    /// How the school's invitation named them (none for links older than that).
    pub invited_as: Option<String>,
    pub child_birth_date: Option<Date>,
    pub linked_at_ms: i64,
    /// When the link must have been renewed by.
    pub review_by_ms: i64,
    pub state: LinkState,
    /// Whether the login is a guardian's or the pupil's own.
    pub linked_as: Invitee,
}

#[derive(sqlx::FromRow)]
pub(crate) struct LinkRow {
    id: String,
    child_ref: String,
    guardian_name: Option<String>,
    invited_as: Option<String>,
    child_birth_date: Option<String>,
    linked_at_ms: i64,
    review_by_ms: i64,
    ended_at_ms: Option<i64>,
    end_reason: Option<String>,
    linked_as: String,
}

/// A query of [`LinkRow`]s: its columns, from `guardian_link`, then `$rest`
/// (a literal: the whole statement stays a constant string).
macro_rules! link_query {
    ($rest:literal) => {
        concat!(
            "SELECT id, child_ref, guardian_name, invited_as, \
             COALESCE((SELECT p.birth_date FROM pupil_record p WHERE p.child_ref = guardian_link.child_ref), \
             child_birth_date) AS child_birth_date, linked_at_ms, \
             review_by_ms, ended_at_ms, end_reason, linked_as FROM guardian_link ",
            $rest
        )
    };
}
pub(crate) use link_query;

impl LinkRow {
    pub(crate) fn link(self, now: i64) -> GuardianLink {
        let state = match (self.ended_at_ms, self.end_reason) {
            (Some(at_ms), reason) => LinkState::Revoked {
                at_ms,
                reason: reason.unwrap_or_default(),
            },
            (None, _) if self.review_by_ms <= now => LinkState::Lapsed {
                at_ms: self.review_by_ms,
            },
            (None, _) => LinkState::Active,
        };
        GuardianLink {
            id: self.id,
            child_ref: self.child_ref,
            guardian_name: self
                .guardian_name
                .unwrap_or_else(|| "(naam niet bekend)".to_owned()),
            invited_as: self.invited_as,
            child_birth_date: self
                .child_birth_date
                .and_then(|d| parse_date("child_birth_date", &d).ok()),
            linked_at_ms: self.linked_at_ms,
            review_by_ms: self.review_by_ms,
            state,
            linked_as: Invitee::stored(&self.linked_as),
        }
    }
}

/// An invitation not yet used, withdrawn or expired.
#[derive(Clone, Debug)]
pub struct OpenInvitation {
    pub id: String,
    /// The guardian it is for, as the school named them.
    pub guardian_name: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub invitee: Invitee,
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    guardian_name: Option<String>,
    created_at_ms: i64,
    expires_at_ms: i64,
    invitee: String,
}

/// A pupil's links (active and ended, oldest first) and open invitations.
#[derive(Clone, Debug, Default)]
pub struct PupilLinks {
    pub links: Vec<GuardianLink>,
    pub invitations: Vec<OpenInvitation>,
}

/// Every link and open invitation of `child_ref`; the reading is audited
/// (`guardian_links_listed`).
pub async fn for_child(store: &Store, actor: &Actor, child_ref: &str) -> Result<PupilLinks> {
    roles::require(store, actor, &LINKS, child_ref).await?;
    let now = now_ms();
    let (links, invitations): (Vec<LinkRow>, Vec<InvitationRow>) = with_db!(&store.db, pool => {
        let links = sqlx::query_as(link_query!("WHERE child_ref = $1 ORDER BY linked_at_ms, id"))
        .bind(child_ref)
        .fetch_all(pool)
        .await?;
        let invitations = sqlx::query_as(
            "SELECT id, guardian_name, created_at_ms, expires_at_ms, invitee FROM guardian_invitation \
             WHERE child_ref = $1 AND guardian IS NULL AND withdrawn_at_ms IS NULL AND expires_at_ms > $2 \
             ORDER BY created_at_ms, id",
        )
        .bind(child_ref)
        .bind(now)
        .fetch_all(pool)
        .await?;
        (links, invitations)
    });
    carenet_fabric::audit::append(
        &store.db,
        &[actor.entry("guardian_links_listed", child_ref)],
    )
    .await?;
    Ok(PupilLinks {
        links: links.into_iter().map(|r| r.link(now)).collect(),
        invitations: invitations
            .into_iter()
            .map(|r| OpenInvitation {
                id: r.id,
                guardian_name: r.guardian_name.unwrap_or_default(),
                created_at_ms: r.created_at_ms,
                expires_at_ms: r.expires_at_ms,
                invitee: Invitee::stored(&r.invitee),
            })
            .collect(),
    })
}

fn not_found(what: &str, id: &str) -> Error {
    Error::Fabric(carenet_fabric::Error::NotFound(format!("{what} {id}")))
}

fn precondition(message: &str) -> Error {
    Error::Fabric(carenet_fabric::Error::precondition(message))
}

/// Ends link `link_id` now, with `reason` (Dutch, shown to the guardian on
/// the portal); returns the pupil's reference. Effective at the guardian's
/// next request; audited (`guardian_link_revoked`, the reason stays with the
/// link).
pub async fn revoke(store: &Store, actor: &Actor, link_id: &str, reason: &str) -> Result<String> {
    roles::require(store, actor, &LINKS, link_id).await?;
    let reason = required_text("reason", reason, MAX_TEXT)?;
    let now = now_ms();
    let child_ref: String = audited!(&store.db, tx => {
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT child_ref, ended_at_ms FROM guardian_link WHERE id = $1",
        )
        .bind(link_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((child_ref, ended)) = row else {
            return Err(not_found("guardian link", link_id));
        };
        if ended.is_some() {
            return Err(precondition("the link was already ended"));
        }
        let done = sqlx::query(
            "UPDATE guardian_link SET ended_at_ms = $1, ended_by = $2, end_reason = $3 \
             WHERE id = $4 AND ended_at_ms IS NULL",
        )
        .bind(now)
        .bind(actor.audit_name())
        .bind(&reason)
        .bind(link_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::Conflict(link_id.to_owned()));
        }
        let entry = actor.entry("guardian_link_revoked", &child_ref);
        (child_ref, vec![entry])
    });
    Ok(child_ref)
}

/// Withdraws invitation `invitation_id` before its use: its code links no
/// one any more. Returns the pupil's reference; audited
/// (`guardian_invitation_withdrawn`).
pub async fn withdraw_invitation(
    store: &Store,
    actor: &Actor,
    invitation_id: &str,
) -> Result<String> {
    roles::require(store, actor, &LINKS, invitation_id).await?;
    let now = now_ms();
    let child_ref: String = audited!(&store.db, tx => {
        let row: Option<(String, Option<String>, Option<i64>)> = sqlx::query_as(
            "SELECT child_ref, guardian, withdrawn_at_ms FROM guardian_invitation WHERE id = $1",
        )
        .bind(invitation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((child_ref, guardian, withdrawn)) = row else {
            return Err(not_found("invitation", invitation_id));
        };
        if guardian.is_some() {
            return Err(precondition("the invitation was used: revoke the link instead"));
        }
        if withdrawn.is_some() {
            return Err(precondition("the invitation was already withdrawn"));
        }
        let done = sqlx::query(
            "UPDATE guardian_invitation SET withdrawn_at_ms = $1, withdrawn_by = $2 \
             WHERE id = $3 AND guardian IS NULL AND withdrawn_at_ms IS NULL",
        )
        .bind(now)
        .bind(actor.audit_name())
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            // Used or withdrawn meanwhile.
            return Err(Error::Conflict(invitation_id.to_owned()));
        }
        let entry = actor.entry("guardian_invitation_withdrawn", &child_ref);
        (child_ref, vec![entry])
    });
    Ok(child_ref)
}

/// The yearly review: link `link_id` stays for [`REVIEW_DAYS`] from today
/// (a lapsed link is active again); `birth`, when given, corrects the
/// child's birth date the portal counts from. A revoked link is not renewed
/// (invite the guardian again). Returns the pupil's reference and the new
/// review date; audited (`guardian_link_renewed`).
pub async fn renew(
    store: &Store,
    actor: &Actor,
    link_id: &str,
    birth: Option<Date>,
) -> Result<(String, i64)> {
    roles::require(store, actor, &LINKS, link_id).await?;
    if let Some(b) = birth {
        check_birth_date(b)?;
    }
    let review_by_ms = now_ms() + REVIEW_DAYS * DAY_MS;
    let child_ref: String = audited!(&store.db, tx => {
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT child_ref, ended_at_ms FROM guardian_link WHERE id = $1",
        )
        .bind(link_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((child_ref, ended)) = row else {
            return Err(not_found("guardian link", link_id));
        };
        if ended.is_some() {
            return Err(precondition("a revoked link is not renewed: invite the guardian again"));
        }
        sqlx::query(
            "UPDATE guardian_link SET review_by_ms = $1, \
             child_birth_date = COALESCE($2, child_birth_date) WHERE id = $3 AND ended_at_ms IS NULL",
        )
        .bind(review_by_ms)
        .bind(birth.map(format_date))
        .bind(link_id)
        .execute(&mut *tx)
        .await?;
        let mut entries = vec![actor.entry("guardian_link_renewed", &child_ref)];
        // A corrected birth date is the school's record of the pupil, for
        // the consent rules as for the portal: written with the renewal.
        if let Some(b) = birth {
            sqlx::query(crate::pupil::UPSERT)
                .bind(&child_ref)
                .bind(format_date(b))
                .bind(&actor.staff)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            entries.push(actor.entry("pupil_recorded", &child_ref));
        }
        (child_ref, entries)
    });
    Ok((child_ref, review_by_ms))
}

/// How many active links of this node are due for review within `days`
/// (for a coordinator's "what waits for me"). No content, no audit.
pub async fn due_for_review(store: &Store, actor: &Actor, days: i64) -> Result<usize> {
    roles::check(actor, &store.party, &LINKS)?;
    let (n,): (i64,) = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT COUNT(*) FROM guardian_link WHERE ended_at_ms IS NULL AND review_by_ms <= $1",
        )
        .bind(now_ms() + days * DAY_MS)
        .fetch_one(pool)
        .await?
    });
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The active links of this node due for review within `days`, the
/// earliest first: what [`due_for_review`] counts, as a coordinator's list
/// (the reading is audited, `guardian_links_listed`).
pub async fn due(store: &Store, actor: &Actor, days: i64) -> Result<Vec<GuardianLink>> {
    roles::require(store, actor, &LINKS, "due").await?;
    let now = now_ms();
    let rows: Vec<LinkRow> = with_db!(&store.db, pool => {
        sqlx::query_as(link_query!(
            "WHERE ended_at_ms IS NULL AND review_by_ms <= $1 ORDER BY review_by_ms, id"
        ))
        .bind(now + days * DAY_MS)
        .fetch_all(pool)
        .await?
    });
    carenet_fabric::audit::append(&store.db, &[actor.entry("guardian_links_listed", "due")])
        .await?;
    Ok(rows.into_iter().map(|r| r.link(now)).collect())
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
}
