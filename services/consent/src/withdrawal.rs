//! When a consent ends (withdrawn or expired), every party that received data
//! under it is told which messages to withdraw. The receiver deletes their
//! content and stops showing them in the same transaction as it stores the
//! notice (see the fabric's `carenet.withdrawal` document type).
//!
//! The notices are queued in the same transaction as the consent's new
//! version, so a withdrawal is never recorded without them.

use std::collections::BTreeMap;

use carenet_fabric::PartyId;
use carenet_fabric::audit::released_under;
use carenet_fabric::store::Store;
use carenet_fabric::store::inbox::WITHDRAWAL_TYPE;
use carenet_fabric::store::outbox::NewMessage;
use carenet_proto::v1;
use prost::Message;

use crate::Result;

/// A withdrawal notice for every recipient of data released under the
/// consent record, to be queued with the record's new version, and the ids of
/// the messages they withdraw (the record's change checks, in its
/// transaction, that no release escaped them).
pub async fn notices(
    store: &Store,
    record_id: &str,
    reason: &str,
) -> Result<(Vec<NewMessage>, Vec<String>)> {
    let released = released_under(&store.db, &crate::record::basis_reference(record_id)).await?;
    let covered: Vec<String> = released.iter().map(|(id, _)| id.clone()).collect();
    let mut by_recipient: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (message_id, recipient) in released {
        by_recipient.entry(recipient).or_default().push(message_id);
    }
    let mut notices = Vec::with_capacity(by_recipient.len());
    for (recipient, message_ids) in by_recipient {
        notices.push(NewMessage {
            recipient: PartyId::parse("recipient", &recipient)?,
            document_type: WITHDRAWAL_TYPE.into(),
            document_id: format!("withdrawal-{record_id}"),
            version: 1,
            purpose: "withdrawal".into(),
            // The controller must tell recipients when a basis ends (AVG art. 19).
            legal_basis: v1::LegalBasis {
                kind: v1::LegalBasisKind::StatutoryTask as i32,
                reference: carenet_fabric::slice::WITHDRAWAL_TASK.into(),
                consent_receipt: Vec::new(),
            },
            payload: v1::Withdrawal {
                message_ids,
                reason: reason.into(),
            }
            .encode_to_vec(),
            actor: carenet_fabric::actor::SYSTEM_STAFF.into(),
            child_ref: None,
        });
    }
    Ok((notices, covered))
}
