//! Consent receipts: the holder node's signed statement that it released data
//! under a named version of a consent record, for one purpose, to one
//! recipient, for a set of data categories. It travels in the envelope's legal
//! basis, so the receiver can check it without asking anyone.

use carenet_fabric::crypto::{SigningContext, SigningKey, verify_ed25519};
use carenet_proto::v1;
use prost::Message;

use crate::{Error, Result};

pub fn sign(key: &SigningKey, body: &v1::ConsentReceiptBody) -> v1::ConsentReceipt {
    let body = body.encode_to_vec();
    let signature = key.sign(SigningContext::ConsentReceipt, &body);
    v1::ConsentReceipt { body, signature }
}

/// Decodes a receipt and checks the holder's signature.
pub fn verify(bytes: &[u8], holder_key: &[u8]) -> Result<v1::ConsentReceiptBody> {
    let receipt = v1::ConsentReceipt::decode(bytes)
        .map_err(|_| Error::invalid("legal_basis.consent_receipt", "not a consent receipt"))?;
    if !verify_ed25519(
        holder_key,
        SigningContext::ConsentReceipt,
        &receipt.body,
        &receipt.signature,
    ) {
        return Err(Error::invalid(
            "legal_basis.consent_receipt.signature",
            "does not verify with the sender's key",
        ));
    }
    v1::ConsentReceiptBody::decode(receipt.body.as_slice())
        .map_err(|_| Error::invalid("legal_basis.consent_receipt.body", "not a receipt body"))
}
