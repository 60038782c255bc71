//! How the plans a school holds relate its staff to a pupil
//! ([`carenet_fabric::slice::Relation`]): the case coordinator of the
//! pupil's plan, and the staff member who reports back to pupil and
//! guardians, while the plan is kept.

use carenet_fabric::slice::{BoxFuture, Relation};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;

pub static RELATIONS: &[Relation] = &[Relation {
    name: "case_coordinator",
    holds: coordinator,
}];

fn coordinator<'a>(
    store: &'a Store,
    child_ref: &'a str,
    staff: &'a str,
) -> BoxFuture<'a, carenet_fabric::Result<bool>> {
    Box::pin(async move {
        let found: Option<(String,)> = with_db!(&store.db, pool => {
            sqlx::query_as(
                "SELECT id FROM case_plan WHERE child_ref = $1 AND (coordinator = $2 OR reports_back = $2) LIMIT 1",
            )
            .bind(child_ref)
            .bind(staff)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    })
}
