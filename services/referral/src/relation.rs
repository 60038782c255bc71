//! How the school's IZO records relate its staff to a pupil
//! ([`carenet_fabric::slice::Relation`]): whoever registered the pupil for
//! the internal care team (a mentor, a teacher) keeps a relation with that
//! pupil while the registration is kept.

use carenet_fabric::slice::{BoxFuture, Relation};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;

pub static RELATIONS: &[Relation] = &[Relation {
    name: "izo_registrant",
    holds: registrant,
}];

fn registrant<'a>(
    store: &'a Store,
    child_ref: &'a str,
    staff: &'a str,
) -> BoxFuture<'a, carenet_fabric::Result<bool>> {
    Box::pin(async move {
        let found: Option<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as("SELECT id FROM izo_case WHERE child_ref = $1 AND registered_by = $2 LIMIT 1")
                .bind(child_ref)
                .bind(staff)
                .fetch_optional(pool)
                .await?
        });
        Ok(found.is_some())
    })
}
