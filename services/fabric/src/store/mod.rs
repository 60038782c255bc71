//! Storage of one party node: SQLite (embedded default) or PostgreSQL.
//!
//! The SQL is portable (numbered `$n` parameters, integers for time, bytes for
//! hashes) and written once: [`with_db!`] expands the same body for each pool
//! type, so both backends run the same statements and the same tests. Each
//! slice owns its tables and queries ([`outbox`], [`inbox`], [`crate::audit`]).

pub mod basis;
pub mod inbox;
pub mod outbox;
pub mod read;
pub mod retention;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Notify;

use crate::directory::Directory;
use crate::party::PartyId;
use crate::slice::Registry;
use crate::{Error, Result};

/// Neither idle timeout nor maximum lifetime, so sqlx starts no pool
/// maintenance task. That task can spin at 100% CPU after a race makes its
/// idle count wrap (sqlx 0.9.0: launchbadge/sqlx#3645, fixed by #4289 after
/// that release), and a process then hangs on exit: seen here once, as a
/// `carenet oso export` that never ended.
const NO_POOL_REAPER: Option<Duration> = None;

/// The database of one node.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of either backend.
#[macro_export]
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Begins a transaction that writes. On SQLite it is `BEGIN IMMEDIATE`: the
/// write lock is taken at once, waiting up to the busy timeout for another
/// connection's write to end. A deferred transaction that reads first and
/// writes after another connection (the gateway's beside the node's) has
/// committed fails with SQLITE_BUSY at once instead, which reached a person
/// as "er ging iets mis". On PostgreSQL it is a plain `BEGIN`.
pub trait BeginWrite {
    type Database: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, Self::Database>>> + Send;
}

impl BeginWrite for SqlitePool {
    type Database = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>>> + Send
    {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Database = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>>> + Send
    {
        self.begin()
    }
}

/// A migration set: (version, description, SQL) in order. The node holds the
/// project's sets (`migrations/{sqlite,postgres}`); the fabric only runs them.
pub type MigrationSet = &'static [(i64, &'static str, &'static str)];

/// The sqlx migrator of one set.
pub fn migrator(set: MigrationSet) -> Migrator {
    Migrator::with_migrations(
        set.iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    (*d).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Db {
    /// Opens (creating if missing) a SQLite database in WAL mode with full
    /// durability. One connection: SQLite has one writer, and durable
    /// throughput comes from batching writes into one transaction.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        Self::sqlite(path, true).await
    }

    /// Opens an existing SQLite database; a missing file is an error naming
    /// the path (operator commands never create a database: only a node does).
    pub async fn open_existing_sqlite(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(Error::NotFound(format!(
                "database {} (a node creates its database when it first starts; is this a node's data directory?)",
                path.display()
            )));
        }
        Self::sqlite(path, false).await
    }

    async fn sqlite(path: &Path, create: bool) -> Result<Self> {
        // The database holds children's data: 0600 in a 0700 directory.
        // SQLite gives its -wal and -shm files the database file's mode.
        if create {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::private_fs::private_dir(dir)?;
            }
            crate::private_fs::touch_private(path)?;
        } else {
            crate::private_fs::tighten(path)?;
        }
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            crate::private_fs::tighten(Path::new(&side))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Payloads are read back at release: keep hot pages in memory
            // rather than copying them out of the file again (64 MiB cache,
            // 256 MiB memory map).
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // No idle reaper (see NO_POOL_REAPER): one local connection
            // needs no recycling.
            .idle_timeout(NO_POOL_REAPER)
            .max_lifetime(NO_POOL_REAPER)
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    }

    pub async fn open_postgres(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            // No idle reaper (see NO_POOL_REAPER); a connection the server
            // or the network closed is found by the check before each
            // acquire (sqlx's default) and replaced.
            .idle_timeout(NO_POOL_REAPER)
            .max_lifetime(NO_POOL_REAPER)
            .connect(url)
            .await?;
        Ok(Db::Postgres(pool))
    }

    /// `postgres://…` or an existing SQLite file; never creates one.
    pub async fn open_existing(url_or_path: &str) -> Result<Self> {
        if url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://") {
            Self::open_postgres(url_or_path).await
        } else {
            let path = url_or_path.strip_prefix("sqlite://").unwrap_or(url_or_path);
            Self::open_existing_sqlite(Path::new(path)).await
        }
    }

    /// The newest migration applied to this database, if it has a schema.
    pub async fn schema_version(&self) -> Result<Option<i64>> {
        let exists = match self {
            Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?,
            Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'",
            )
            .fetch_one(pool)
            .await?,
        };
        if exists == 0 {
            return Ok(None);
        }
        Ok(with_db!(self, pool => {
            sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        }))
    }

    /// Brings the schema up to date with the set for this backend.
    pub async fn migrate(&self, sqlite: MigrationSet, postgres: MigrationSet) -> Result<()> {
        match self {
            Db::Sqlite(pool) => migrator(sqlite).run(pool).await?,
            Db::Postgres(pool) => migrator(postgres).run(pool).await?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// A node's storage: its database, who it is, and the document types its
/// slices registered (every send is checked against them).
#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
    pub party: PartyId,
    pub registry: Arc<Registry>,
    /// The region directory, when the store belongs to a running node or an
    /// operator command that loaded it: sends are then checked against the
    /// sender's and recipient's kinds at once, not only before notifying.
    directory: Option<Arc<Directory>>,
    /// Largest payload this node sends in one document.
    max_payload: usize,
    /// How much one sender may have pending in the inbox.
    inbox_quota: inbox::InboxQuota,
    /// How long refused calls are counted into one audit record.
    refusal_interval_ms: i64,
    /// Shared by every clone: woken after anything is committed to the
    /// outbox, so the node's delivery worker (which waits on it) notifies the
    /// recipient at once instead of at its next poll.
    outbox_wake: Arc<Notify>,
    arrived: Arc<Notify>,
    /// Shared by every clone: what this process counted (alerts).
    counters: Arc<Counters>,
}

/// What a node process counts for its operators, beside the WARN it logs:
/// messages given up on after the retry period (sent and to be received).
/// The observability work exports these as metrics.
#[derive(Debug, Default)]
pub struct Counters {
    pub outbox_dead_lettered: std::sync::atomic::AtomicU64,
    pub inbox_dead_lettered: std::sync::atomic::AtomicU64,
}

impl Counters {
    pub fn outbox_dead_lettered(&self) -> u64 {
        self.outbox_dead_lettered
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    pub fn inbox_dead_lettered(&self) -> u64 {
        self.inbox_dead_lettered
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The statement that claims due rows of `table` (in `states`, due by
/// `next_attempt_at_ms`) with a lease: `$1` the lease end, `$2` now, `$3`
/// the limit. It differs by backend only in that PostgreSQL skips rows
/// another process has locked; SQLite has one writer, so a plain subquery is
/// enough.
fn claim_sql(db: &Db, table: &str, states: &str, returning: &str) -> String {
    let skip_locked = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    format!(
        "UPDATE {table} SET next_attempt_at_ms = $1 \
         WHERE state IN ({states}) AND next_attempt_at_ms <= $2 AND message_id IN ( \
           SELECT message_id FROM {table} WHERE state IN ({states}) \
           AND next_attempt_at_ms <= $2 ORDER BY next_attempt_at_ms LIMIT $3{skip_locked}) \
         RETURNING {returning}"
    )
}

impl Store {
    pub fn new(db: Db, party: PartyId, registry: Arc<Registry>) -> Self {
        Self {
            db,
            party,
            registry,
            directory: None,
            max_payload: crate::envelope::MAX_PAYLOAD_BYTES,
            inbox_quota: inbox::InboxQuota::default(),
            refusal_interval_ms: crate::refusals::DEFAULT_INTERVAL_MS,
            outbox_wake: Arc::new(Notify::new()),
            arrived: Arc::new(Notify::new()),
            counters: Arc::new(Counters::default()),
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The same store, checking sends against the kinds in `directory`.
    pub fn with_directory(mut self, directory: Arc<Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The same store, sending documents of at most `bytes` (at most the
    /// protocol's [`crate::envelope::MAX_PAYLOAD_BYTES`]).
    pub fn with_max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes.min(crate::envelope::MAX_PAYLOAD_BYTES);
        self
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// The same store, taking notifications from one sender only while it
    /// is within `quota`.
    pub fn with_inbox_quota(mut self, quota: inbox::InboxQuota) -> Self {
        self.inbox_quota = quota;
        self
    }

    pub fn inbox_quota(&self) -> inbox::InboxQuota {
        self.inbox_quota
    }

    /// The same store, counting refused calls into one audit record per
    /// `ms` (at least 1).
    pub fn with_refusal_interval(mut self, ms: i64) -> Self {
        self.refusal_interval_ms = ms.max(1);
        self
    }

    pub fn refusal_interval_ms(&self) -> i64 {
        self.refusal_interval_ms
    }

    pub fn directory(&self) -> Option<&Arc<Directory>> {
        self.directory.as_ref()
    }

    /// Call after committing outbox rows (e.g. with [`crate::outbox_enqueue!`]).
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }

    /// What the delivery worker waits on.
    pub fn outbox_notify(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Notified after messages were stored in the inbox (the slices'
    /// arrival jobs wait on it; a notification while none waits is kept).
    pub fn arrival_notify(&self) -> Arc<Notify> {
        self.arrived.clone()
    }
}

/// The file name of a node's SQLite database inside its data directory.
pub const SQLITE_FILE: &str = "carenet.db";

/// Validates a `postgres://` URL enough to give a clear error before connecting.
pub fn check_database_url(url: &str) -> Result<()> {
    sqlx::postgres::PgConnectOptions::from_str(url)
        .map(|_| ())
        .map_err(|_| Error::invalid("database_url", "not a postgres:// URL"))
}

/// Creates a new, empty PostgreSQL database named `name` on the server of
/// `admin_url` and returns its URL (tests, benchmarks, the demo on PostgreSQL).
pub async fn create_postgres_database(admin_url: &str, name: &str) -> Result<String> {
    use sqlx::Connection;
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::invalid("database name", "a-z, 0-9 and '_' only"));
    }
    let mut conn = sqlx::postgres::PgConnection::connect(admin_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    Ok(match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    })
}
