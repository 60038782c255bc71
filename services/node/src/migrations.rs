//! The node's database schema: the project's migration sets, embedded from
//! `migrations/{sqlite,postgres}` at build time (one numbered file per change,
//! the same version stamps on both backends), and run when a database opens.

use std::path::Path;

use carenet_fabric::store::Db;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Opens `postgres://…` or a SQLite file and brings its schema up to date.
pub async fn open(url_or_path: &str) -> carenet_fabric::Result<Db> {
    let db = Db::open(url_or_path).await?;
    db.migrate(SQLITE, POSTGRES).await?;
    Ok(db)
}

/// Opens (creating if missing) a node's SQLite file and migrates it.
pub async fn open_sqlite(path: &Path) -> carenet_fabric::Result<Db> {
    let db = Db::open_sqlite(path).await?;
    db.migrate(SQLITE, POSTGRES).await?;
    Ok(db)
}

/// Opens a PostgreSQL database and migrates it.
pub async fn open_postgres(url: &str) -> carenet_fabric::Result<Db> {
    let db = Db::open_postgres(url).await?;
    db.migrate(SQLITE, POSTGRES).await?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        let v = |set: carenet_fabric::store::MigrationSet| -> Vec<(i64, &str)> {
            set.iter().map(|(v, n, _)| (*v, *n)).collect()
        };
        assert_eq!(v(SQLITE), v(POSTGRES));
        assert!(!SQLITE.is_empty());
    }
}
