//! Revocable legal bases and the releases made under them, ordered.
//!
//! A consent can be withdrawn while a recipient is fetching. Without order,
//! a fetch that read "granted" could commit its release after the withdrawal
//! listed the releases it must withdraw, and that release would never be
//! withdrawn. Both sides therefore take the basis's row in `basis_version`
//! inside their transaction: a change of the basis with
//! [`crate::basis_advance!`] (before it lists releases with
//! [`crate::released_under!`]); a release in `Store::record_releases`
//! (PostgreSQL locks the row `FOR UPDATE`; on SQLite a node has one
//! connection, and a second process writing the same file waits for the
//! write lock or fails, so transactions never interleave). Whichever comes
//! first, the other sees it.

/// Sets basis `$reference` to `$version` inside transaction `$tx`, taking its
/// row until the transaction ends. Call it before reading releases under the
/// basis in the same transaction.
#[macro_export]
macro_rules! basis_advance {
    ($tx:expr, $reference:expr, $version:expr) => {{
        sqlx::query(
            "INSERT INTO basis_version (reference, version) VALUES ($1, $2) \
             ON CONFLICT (reference) DO UPDATE SET version = excluded.version",
        )
        .bind($reference)
        .bind($version)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// The (message id, recipient) of every release under basis label `$basis`
/// (e.g. `consent:<record id>`), read inside transaction `$tx`.
#[macro_export]
macro_rules! released_under {
    ($tx:expr, $basis:expr) => {{
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT message_id, counterparty FROM audit WHERE action = 'released' AND legal_basis = $1",
        )
        .bind($basis)
        .fetch_all(&mut *$tx)
        .await?;
        rows
    }};
}

/// The version basis `reference` is at, taking its row (PostgreSQL) until
/// the transaction ends; `None` if the basis is unknown.
pub(crate) const HOLD_SQL_POSTGRES: &str =
    "SELECT version FROM basis_version WHERE reference = $1 FOR UPDATE";
pub(crate) const HOLD_SQL_SQLITE: &str = "SELECT version FROM basis_version WHERE reference = $1";
