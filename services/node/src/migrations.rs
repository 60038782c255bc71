//! The node's database schema: the project's migration sets, embedded from
//! `migrations/{sqlite,postgres}` at build time (one numbered file per change,
//! the same version stamps on both backends), and run when a database opens.

use std::path::Path;

use carenet_fabric::store::Db;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Opens an existing node database for an operator command: it is neither
/// created nor migrated (a running node may be using it). A missing database,
/// one without carenet's schema, or one at another schema version than this
/// build's is an error that says what to do.
pub async fn open_existing(url_or_path: &str) -> carenet_fabric::Result<Db> {
    let db = Db::open_existing(url_or_path).await?;
    let expected = match &db {
        Db::Sqlite(_) => SQLITE.last(),
        Db::Postgres(_) => POSTGRES.last(),
    }
    .map(|(v, _, _)| *v);
    let found = db.schema_version().await?;
    let problem = match (found, expected) {
        (None, _) => {
            Some("it holds no carenet schema: a node creates it when it first starts".to_owned())
        }
        (Some(f), Some(e)) if f < e => Some(format!(
            "its schema is at version {f}, this carenet expects {e}: start the node once to upgrade it"
        )),
        (Some(f), Some(e)) if f > e => Some(format!(
            "its schema is at version {f}, newer than this carenet's {e}: use the node's own carenet"
        )),
        _ => None,
    };
    match problem {
        Some(p) => {
            db.close().await;
            Err(carenet_fabric::Error::precondition(format!(
                "database: {p}"
            )))
        }
        None => Ok(db),
    }
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
