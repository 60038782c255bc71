//! "Who saw what about my child, when, and why": for one child, every release,
//! receipt, refusal and deletion of data sent about it, and every change of its
//! consents, from the node's audit log. The basis of the parents' disclosure view.

use carenet_fabric::store::Store;
use carenet_fabric::{Actor, audit};
use carenet_proto::v1;
use prost::Message;

use crate::Result;
use crate::record::ConsentStore;

/// One line of the disclosure view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    pub at_ms: i64,
    /// released, delivered, release_refused, purged, or consent_* for consent changes.
    pub action: String,
    /// The message or consent record.
    pub subject_id: String,
    /// The receiving party (empty for consent changes).
    pub recipient: String,
    /// Staff id, party id or `portal` that acted.
    pub actor: String,
    pub purpose: String,
    /// The legal basis, e.g. `consent:<record>`, `inspection:<ref>`.
    pub basis: String,
    /// The data categories released; empty where the whole document went
    /// (bases other than consent) or for consent changes.
    pub categories: Vec<String>,
}

fn categories_of(basis: Option<&v1::LegalBasis>) -> Vec<String> {
    let Some(basis) = basis else {
        return Vec::new();
    };
    v1::ConsentReceipt::decode(basis.consent_receipt.as_slice())
        .ok()
        .and_then(|r| v1::ConsentReceiptBody::decode(r.body.as_slice()).ok())
        .map(|b| b.categories)
        .unwrap_or_default()
}

fn line(r: &v1::AuditRecord, categories: Vec<String>) -> Disclosure {
    Disclosure {
        at_ms: r.at_ms,
        action: r.action.clone(),
        subject_id: r.message_id.clone(),
        recipient: r.counterparty.clone(),
        actor: r.actor.clone(),
        purpose: r.purpose.clone(),
        basis: r.legal_basis.clone(),
        categories,
    }
}

/// Everything the node's audit log says was done with data about `child_ref`,
/// oldest first: what the fabric released about the child, and the changes of
/// the child's consent records. Read through the fabric's audit API.
/// The reading is itself audited (`disclosures_listed`, about the child's
/// reference), so the guardians can see who looked.
pub async fn who_saw_what(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
) -> Result<Vec<Disclosure>> {
    crate::relation::require(store, actor, &crate::roles::DISCLOSURES, child_ref).await?;
    lines(store, actor, child_ref).await
}

/// The lines of [`who_saw_what`] for `child_ref`, the reading audited as
/// `actor`'s; its callers checked who may read them.
pub(crate) async fn lines(
    store: &Store,
    actor: &Actor,
    child_ref: &str,
) -> Result<Vec<Disclosure>> {
    let mut lines: Vec<(u64, Disclosure)> = audit::about_child(&store.db, child_ref)
        .await?
        .into_iter()
        .map(|a| {
            let categories = if a.record.action == audit::Action::Released.as_str()
                || a.record.action == audit::Action::Delivered.as_str()
            {
                categories_of(a.released_basis.as_ref())
            } else {
                Vec::new()
            };
            (a.record.seq, line(&a.record, categories))
        })
        .collect();
    let records: Vec<String> = ConsentStore::new(store.clone())
        .for_child(child_ref)
        .await?
        .into_iter()
        .map(|c| c.version.record_id)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for r in audit::about_subjects(&store.db, &records, "consent_").await? {
        lines.push((r.seq, line(&r, Vec::new())));
    }
    lines.sort_by_key(|(seq, _)| *seq);
    audit::append(&store.db, &[actor.entry("disclosures_listed", child_ref)]).await?;
    Ok(lines.into_iter().map(|(_, d)| d).collect())
}
