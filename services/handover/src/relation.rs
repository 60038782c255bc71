//! How a school's handover records relate its staff to a pupil
//! ([`carenet_fabric::slice::Relation`]): the mentor and teachers a received
//! or internal dossier is assigned to, and whoever composed the school's own
//! dossier about the pupil. Read from the current assignment: a new mentor
//! has the relation, the one before no longer does.

use carenet_fabric::slice::{BoxFuture, Relation};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;

pub static RELATIONS: &[Relation] = &[
    Relation {
        name: "mentor_or_teacher",
        holds: assigned,
    },
    Relation {
        name: "dossier_author",
        holds: author,
    },
];

/// Assigned as mentor or teacher of a dossier about the pupil: a received
/// one registered under the pupil's reference, or an internal one of the
/// school's own dossier about them.
fn assigned<'a>(
    store: &'a Store,
    child_ref: &'a str,
    staff: &'a str,
) -> BoxFuture<'a, carenet_fabric::Result<bool>> {
    Box::pin(async move {
        let rows: Vec<(Option<String>, Option<String>)> = with_db!(&store.db, pool => {
            sqlx::query_as(
                "SELECT mentor, teachers FROM handover_incoming \
                 WHERE child_ref = $1 OR document_id IN (SELECT id FROM handover_dossier WHERE child_ref = $1)",
            )
            .bind(child_ref)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.iter().any(|(mentor, teachers)| {
            mentor.as_deref() == Some(staff)
                || teachers
                    .as_deref()
                    .is_some_and(|t| t.split(',').any(|t| t == staff))
        }))
    })
}

/// Composed or imported the school's own dossier about the pupil (its
/// `created_by` is the author's audit name, `staff[roles]`).
fn author<'a>(
    store: &'a Store,
    child_ref: &'a str,
    staff: &'a str,
) -> BoxFuture<'a, carenet_fabric::Result<bool>> {
    Box::pin(async move {
        let rows: Vec<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT created_by FROM handover_dossier WHERE child_ref = $1")
                .bind(child_ref)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .iter()
            .any(|(by,)| by.split_once('[').map_or(by.as_str(), |(s, _)| s) == staff))
    })
}
