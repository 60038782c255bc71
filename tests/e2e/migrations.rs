//! Both migration sets define the same schema: the same tables, columns and
//! indexes (types differ by backend: BLOB/BYTEA, INTEGER/BIGINT). The SQLite
//! schema is read from a migrated database; the PostgreSQL schema from a
//! migrated database on the real server when the run has one
//! (`TEST_DATABASE_URL`), otherwise from the statements of its migration files.

use std::collections::{BTreeMap, BTreeSet};

use carenet_e2e::postgres_url;
use carenet_fabric::store::{Db, create_postgres_database};
use carenet_node::migrations;
use sqlx::Row;

/// table → columns, and index name → (table, columns).
#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, BTreeSet<String>>,
    indexes: BTreeMap<String, (String, Vec<String>)>,
}

async fn sqlite_schema() -> anyhow::Result<Schema> {
    let dir = tempfile::tempdir()?;
    let Db::Sqlite(pool) = migrations::open_sqlite(&dir.path().join("schema.db")).await? else {
        anyhow::bail!("not sqlite");
    };
    let mut schema = Schema::default();
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&pool)
    .await?;
    for t in tables {
        let table: String = t.try_get(0)?;
        let cols = sqlx::query("SELECT name FROM pragma_table_info($1)")
            .bind(&table)
            .fetch_all(&pool)
            .await?;
        let cols = cols
            .iter()
            .map(|c| c.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        schema.tables.insert(table, cols);
    }
    let indexes = sqlx::query(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&pool)
    .await?;
    for i in indexes {
        let name: String = i.try_get(0)?;
        let table: String = i.try_get(1)?;
        let cols = sqlx::query("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
            .bind(&name)
            .fetch_all(&pool)
            .await?
            .iter()
            .map(|c| c.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        schema.indexes.insert(name, (table, cols));
    }
    pool.close().await;
    Ok(schema)
}

async fn postgres_schema(admin: &str) -> anyhow::Result<Schema> {
    let name = format!("carenet_schema_{}", uuid::Uuid::new_v4().simple());
    let url = create_postgres_database(admin, &name).await?;
    let Db::Postgres(pool) = migrations::open_postgres(&url).await? else {
        anyhow::bail!("not postgres");
    };
    let mut schema = Schema::default();
    let cols = sqlx::query(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&pool)
    .await?;
    for c in cols {
        schema
            .tables
            .entry(c.try_get(0)?)
            .or_default()
            .insert(c.try_get(1)?);
    }
    // Indexes created by CREATE INDEX, not the ones behind a primary key or
    // unique constraint (SQLite's automatic indexes are left out likewise).
    let indexes = sqlx::query(
        "SELECT i.relname::text, t.relname::text, \
                array_agg(a.attname::text ORDER BY k.n) \
         FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public' \
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) \
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) \
           AND t.relname NOT LIKE '_sqlx%' \
         GROUP BY i.relname, t.relname",
    )
    .fetch_all(&pool)
    .await?;
    for i in indexes {
        schema
            .indexes
            .insert(i.try_get(0)?, (i.try_get(1)?, i.try_get(2)?));
    }
    pool.close().await;
    Ok(schema)
}

/// The schema the PostgreSQL migration files state (CREATE TABLE, ALTER
/// TABLE … ADD COLUMN, CREATE [UNIQUE] INDEX), read without a server.
fn postgres_files_schema() -> anyhow::Result<Schema> {
    let mut schema = Schema::default();
    for (_, _, sql) in migrations::POSTGRES {
        let text: String = sql
            .lines()
            .map(|l| l.split("--").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        for stmt in text.split(';') {
            let words: Vec<&str> = stmt.split_whitespace().collect();
            let s = words.join(" ");
            let upper = s.to_uppercase();
            if let Some(rest) = upper.strip_prefix("CREATE TABLE ") {
                let name = rest
                    .split([' ', '('])
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                let body = &s[s.find('(').unwrap_or(0) + 1..s.rfind(')').unwrap_or(s.len())];
                let mut cols = BTreeSet::new();
                for part in split_top_level(body) {
                    let first = part.split_whitespace().next().unwrap_or_default();
                    let keyword = ["PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "CONSTRAINT"]
                        .contains(&first.to_uppercase().as_str());
                    if !first.is_empty() && !keyword {
                        cols.insert(first.to_lowercase());
                    }
                }
                schema.tables.insert(name, cols);
            } else if upper.starts_with("ALTER TABLE ") && upper.contains(" ADD COLUMN ") {
                let table = words[2].to_lowercase();
                let at = words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("COLUMN"))
                    .unwrap_or(0);
                let col = words[at + 1].to_lowercase();
                schema.tables.entry(table).or_default().insert(col);
            } else if upper.starts_with("CREATE INDEX ")
                || upper.starts_with("CREATE UNIQUE INDEX ")
            {
                let at = words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("INDEX"))
                    .unwrap_or(0);
                let name = words[at + 1].to_lowercase();
                let on = words
                    .iter()
                    .position(|w| w.eq_ignore_ascii_case("ON"))
                    .unwrap_or(0);
                let table = words[on + 1]
                    .split('(')
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                let cols_text = &s[s.find('(').unwrap_or(0) + 1..s.rfind(')').unwrap_or(s.len())];
                let cols = cols_text
                    .split(',')
                    .map(|c| {
                        c.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_lowercase()
                    })
                    .collect();
                schema.indexes.insert(name, (table, cols));
            }
        }
    }
    Ok(schema)
}

/// Splits a column list at the commas that are not inside parentheses.
fn split_top_level(body: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0;
    for ch in body.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(ch);
        }
    }
    parts.into_iter().map(|p| p.trim().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_sets_define_the_same_tables_columns_and_indexes() -> anyhow::Result<()> {
    let versions = |set: carenet_fabric::store::MigrationSet| -> Vec<i64> {
        set.iter().map(|(v, _, _)| *v).collect()
    };
    assert_eq!(versions(migrations::SQLITE), versions(migrations::POSTGRES));
    let sqlite = sqlite_schema().await?;
    let postgres = match postgres_url() {
        Some(admin) => postgres_schema(&admin).await?,
        None => postgres_files_schema()?,
    };
    assert!(sqlite.tables.contains_key("outbox") && sqlite.indexes.contains_key("outbox_due"));
    assert_eq!(
        sqlite.tables.keys().collect::<Vec<_>>(),
        postgres.tables.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (table, cols) in &sqlite.tables {
        assert_eq!(Some(cols), postgres.tables.get(table), "columns of {table}");
    }
    assert_eq!(sqlite.indexes, postgres.indexes, "indexes");
    Ok(())
}
