//! Parental inzage: before the PO→VO transfer report leaves, the guardians
//! must have seen it, and their view (zienswijze) may be attached (WPO art. 42,
//! OSO rules). A release on the inspection basis must name such a record for
//! the same document.

use carenet_fabric::audit::Entry;
use carenet_fabric::clock::now_ms;
use carenet_fabric::store::Store;
use carenet_fabric::{audit_append, with_db};
use sqlx::Row;
use time::Date;

use crate::record::format_date;
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub struct Inspection {
    pub child_ref: String,
    /// The document the guardians saw (all its versions share this id).
    pub document_id: String,
    pub seen_on: Date,
    /// The guardians' view, if they gave one; it travels with the dossier.
    pub guardian_view: Option<String>,
    /// Staff id of who records it.
    pub recorded_by: String,
}

/// Records that the guardians saw a document; returns the record id that a
/// message's inspection basis names.
pub async fn record(store: &Store, i: &Inspection) -> Result<String> {
    if i.child_ref.trim().is_empty() {
        return Err(Error::invalid("child_ref", "must not be empty"));
    }
    if i.document_id.trim().is_empty() {
        return Err(Error::invalid(
            "document_id",
            "name the document the guardians saw",
        ));
    }
    if i.recorded_by.trim().is_empty() {
        return Err(Error::invalid("recorded_by", "name the staff member"));
    }
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    let entry = Entry {
        actor: i.recorded_by.clone(),
        action: "inspection_recorded".into(),
        message_id: id.clone(),
        legal_basis: format!("inspection:{id}"),
        ..Entry::default()
    };
    let result: std::result::Result<(), carenet_fabric::Error> = with_db!(&store.db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO inspection (id, child_ref, document_id, seen_on, guardian_view, recorded_by, recorded_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&i.child_ref)
        .bind(&i.document_id)
        .bind(format_date(i.seen_on))
        .bind(&i.guardian_view)
        .bind(&i.recorded_by)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        audit_append!(tx, std::slice::from_ref(&entry));
        tx.commit().await?;
        Ok(())
    });
    result?;
    Ok(id)
}

/// Whether inspection record `id` exists for `document_id`.
pub async fn covers(store: &Store, id: &str, document_id: &str) -> Result<bool> {
    Ok(with_db!(&store.db, pool => {
        let row = sqlx::query("SELECT COUNT(*) FROM inspection WHERE id = $1 AND document_id = $2")
            .bind(id)
            .bind(document_id)
            .fetch_one(pool)
            .await?;
        row.try_get::<i64, _>(0)? > 0
    }))
}
