//! The guardians' side of a support request, on the parent portal of the
//! school that made it (ADR 0010 §6): they read the requests about their
//! child (the question, what was done, their own view and the pupil's
//! voice, the trajectbegeleider, the decision with its reasons), and give
//! their view (zienswijze) on a draft before the school submits it. Where
//! the pupil decides (from 16), a guardian is refused. Every reading and
//! the view are audited under the portal login's pseudonym.

use carenet_consent::access::Page;
use carenet_consent::portal::Linked;
use carenet_fabric::store::Store;
use carenet_fabric::{Error, Reason, audited, with_db};

use crate::Result;
use crate::model::State;
use crate::request::{Request, load};

/// Refuses a guardian where the pupil decides who sees their care data.
async fn may_read(store: &Store, link: &Linked, subject: &str) -> Result<()> {
    if link.access().page(Page::Plan) {
        return Ok(());
    }
    carenet_fabric::audit::append(&store.db, &[link.entry("refused:portal_support", subject)])
        .await?;
    Err(Error::PermissionDenied(
        "from 16 the pupil decides who sees their support requests".into(),
    ))
}

/// The requests this school made about the link's child, newest first
/// (drafts included: the guardians give their view on one); the reading
/// is audited.
pub async fn for_guardian(store: &Store, link: &Linked) -> Result<Vec<Request>> {
    may_read(store, link, "support").await?;
    let ids: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as(
            "SELECT id FROM support_request WHERE child_ref = $1 AND school = $2 ORDER BY created_at_ms DESC, id",
        )
        .bind(link.child_ref())
        .bind(store.party.as_str())
        .fetch_all(pool)
        .await?
    });
    let mut out = Vec::with_capacity(ids.len());
    for (id,) in ids {
        out.push(load(store, &id).await?);
    }
    if !out.is_empty() {
        carenet_fabric::audit::append(
            &store.db,
            &[link.entry("support_read_by_guardian", link.child_ref())],
        )
        .await?;
    }
    Ok(out)
}

/// Request `id` about the link's child, as the portal shows it; the
/// reading is audited.
pub async fn one_for_guardian(store: &Store, link: &Linked, id: &str) -> Result<Request> {
    may_read(store, link, id).await?;
    let r = load(store, id).await?;
    if r.school != store.party.as_str() {
        return Err(Error::NotFound(format!("support request {id}")));
    }
    link.require_same_child(store, "portal_support", id, &r.child_ref)
        .await
        .map_err(Error::from)?;
    carenet_fabric::audit::append(&store.db, &[link.entry("support_read_by_guardian", id)]).await?;
    Ok(r)
}

/// The guardians' view (zienswijze) on draft `id`, given on the portal; it
/// replaces what the school noted down for them. At most 4000 characters.
pub async fn give_view(store: &Store, link: &Linked, id: &str, text: &str) -> Result<()> {
    let r = one_for_guardian(store, link, id).await?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid("guardian_view", "write your view").coded(Reason::Required));
    }
    if text.chars().count() > 4000 {
        return Err(
            Error::invalid("guardian_view", "at most 4000 characters").coded(Reason::TooLong)
        );
    }
    if r.state != State::Draft {
        return Err(Error::precondition(format!(
            "support request {id} is {}: the view is given before the school submits it",
            r.state
        ))
        .coded(Reason::CaseState));
    }
    let entry = link.entry("support_view_given", id);
    audited!(&store.db, tx => {
        let done = sqlx::query(
            "UPDATE support_request SET guardian_view = $1, version = version + 1, updated_at_ms = $2 \
             WHERE id = $3 AND state = $4 AND version = $5",
        )
        .bind(text)
        .bind(carenet_fabric::clock::now_ms())
        .bind(id)
        .bind(State::Draft.as_str())
        .bind(i64::try_from(r.version).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(crate::request::stale(id));
        }
        ((), vec![entry])
    });
    Ok(())
}
