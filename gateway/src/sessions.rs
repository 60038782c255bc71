//! Login sessions in the node's database (`gateway_session`), so that a
//! session can be ended: at logout, when the provider no longer accepts the
//! login, and by an admin for every session of a staff id.
//!
//! The browser's cookie holds a random id (in the encrypted cookie); the
//! table holds its SHA-256, so a copy of the table opens no session here.
//! It does hold the provider's access and refresh tokens in clear (the
//! re-check needs them): the database file is the node's own (0600), and
//! encrypting them with the session key is still to do. A row lives
//! until logout, its absolute expiry (`session_minutes`), or the moment its
//! login is refused at the provider; [`crate::session`] checks the login
//! again every `session_recheck_minutes`, one request at a time per session
//! ([`claim_check`]).

use carenet_fabric::actor::{self, Actor, Rule};
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::{Db, Store};
use carenet_fabric::{Role, audited, with_db};

/// Whose session: a member of staff or a guardian on the parent portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Staff,
    Guardian,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Staff => "staff",
            Kind::Guardian => "guardian",
        }
    }
}

/// The provider's tokens of a login, for its re-check and its logout
/// (secrets: no `Debug`, never logged).
#[derive(Clone, Default)]
pub(crate) struct Tokens {
    pub id_token: String,
    pub access_token: String,
    /// Empty when the provider gave none.
    pub refresh_token: String,
}

/// A session as stored (it holds the login's tokens: no `Debug`).
#[derive(Clone, sqlx::FromRow)]
pub(crate) struct Row {
    /// The staff id or the guardian's pseudonym.
    pub subject: String,
    /// Role names, space separated (staff only).
    pub roles: String,
    /// How a guardian's login names them ('' for staff).
    pub name: String,
    pub csrf: String,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: String,
    pub checked_at_ms: i64,
}

impl Row {
    pub fn roles(&self) -> Vec<String> {
        self.roles.split_whitespace().map(str::to_owned).collect()
    }

    pub fn tokens(&self) -> Tokens {
        Tokens {
            id_token: self.id_token.clone(),
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
        }
    }
}

/// A new session: who, their roles or name, the login's tokens, and until when.
pub(crate) struct New<'a> {
    pub kind: Kind,
    pub subject: &'a str,
    pub roles: &'a [String],
    pub name: &'a str,
    pub tokens: &'a Tokens,
    pub expires_at_ms: i64,
}

fn random_hex(bytes: usize) -> Result<String, carenet_fabric::Error> {
    let mut buf = vec![0u8; bytes];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf)
        .map_err(|_| carenet_fabric::Error::Unavailable("no randomness".into()))?;
    Ok(hex::encode(buf))
}

fn hash(id: &str) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, id.as_bytes())
        .as_ref()
        .to_vec()
}

/// Stores a new session; returns the id for the cookie and the session's
/// CSRF token. Expired sessions are cleared on the way.
pub(crate) async fn create(db: &Db, new: &New<'_>) -> carenet_fabric::Result<(String, String)> {
    let id = random_hex(32)?;
    let csrf = random_hex(16)?;
    let now = now_ms();
    with_db!(db, pool => {
        let mut tx = carenet_fabric::store::BeginWrite::begin_write(pool).await?;
        sqlx::query("DELETE FROM gateway_session WHERE expires_at_ms <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO gateway_session (id_sha256, kind, subject, roles, name, csrf, id_token, \
             access_token, refresh_token, created_at_ms, checked_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
        )
        .bind(hash(&id))
        .bind(new.kind.as_str())
        .bind(new.subject)
        .bind(new.roles.join(" "))
        .bind(new.name)
        .bind(&csrf)
        .bind(&new.tokens.id_token)
        .bind(&new.tokens.access_token)
        .bind(&new.tokens.refresh_token)
        .bind(now)
        .bind(new.expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    });
    Ok((id, csrf))
}

/// The session of cookie id `id`, if it is of `kind` and has not expired.
pub(crate) async fn find(db: &Db, id: &str, kind: Kind) -> carenet_fabric::Result<Option<Row>> {
    let row = with_db!(db, pool => {
        sqlx::query_as::<_, Row>(
            "SELECT subject, roles, name, csrf, id_token, access_token, refresh_token, \
             checked_at_ms FROM gateway_session \
             WHERE id_sha256 = $1 AND kind = $2 AND expires_at_ms > $3",
        )
        .bind(hash(id))
        .bind(kind.as_str())
        .bind(now_ms())
        .fetch_optional(pool)
        .await?
    });
    Ok(row)
}

/// Takes the re-check of session `id` for this request: true if its
/// `checked_at_ms` was still `seen` (no other request took it meanwhile).
pub(crate) async fn claim_check(
    db: &Db,
    id: &str,
    seen: i64,
    now: i64,
) -> carenet_fabric::Result<bool> {
    let done = with_db!(db, pool => {
        sqlx::query(
            "UPDATE gateway_session SET checked_at_ms = $1 WHERE id_sha256 = $2 AND checked_at_ms = $3",
        )
        .bind(now)
        .bind(hash(id))
        .bind(seen)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(done == 1)
}

/// Gives a re-check back (the provider did not answer): the next request
/// tries again.
pub(crate) async fn release_check(
    db: &Db,
    id: &str,
    taken: i64,
    before: i64,
) -> carenet_fabric::Result<()> {
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE gateway_session SET checked_at_ms = $1 WHERE id_sha256 = $2 AND checked_at_ms = $3",
        )
        .bind(before)
        .bind(hash(id))
        .bind(taken)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// What the provider says of the login now: its roles (or name) and tokens.
pub(crate) async fn renew(
    db: &Db,
    id: &str,
    roles: &[String],
    name: &str,
    tokens: &Tokens,
) -> carenet_fabric::Result<()> {
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE gateway_session SET roles = $1, name = $2, id_token = $3, access_token = $4, \
             refresh_token = $5 WHERE id_sha256 = $6",
        )
        .bind(roles.join(" "))
        .bind(name)
        .bind(&tokens.id_token)
        .bind(&tokens.access_token)
        .bind(&tokens.refresh_token)
        .bind(hash(id))
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Ends the session of cookie id `id` (logout, or a login the provider refused).
pub(crate) async fn end(db: &Db, id: &str) -> carenet_fabric::Result<()> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM gateway_session WHERE id_sha256 = $1")
            .bind(hash(id))
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Who may end another's sessions.
const END_SESSIONS: Rule = Rule {
    action: "gateway_sessions_end",
    what: "ending a staff member's sessions",
    roles: &[Role::Admin],
};

/// Ends every gateway session of staff id `staff` at this node (a lost
/// laptop, a leaver, a role taken away at the provider that must count now
/// rather than at the next re-check). Only an admin may; the ending is
/// audited with the staff id, a refusal too. Returns how many ended.
pub async fn end_staff(store: &Store, actor: &Actor, staff: &str) -> carenet_fabric::Result<u64> {
    actor::check_staff_id("staff", staff)?;
    actor::require(store, actor, &END_SESSIONS, staff).await?;
    let ended = audited!(&store.db, tx => {
        let n = sqlx::query("DELETE FROM gateway_session WHERE kind = $1 AND subject = $2")
            .bind(Kind::Staff.as_str())
            .bind(staff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        (n, vec![actor.entry("gateway_sessions_ended", staff)])
    });
    tracing::info!(party = %store.party, ended, "staff sessions ended by an admin");
    Ok(ended)
}
