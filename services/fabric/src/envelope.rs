//! Signed envelopes and receipts: the evidence of what was released to whom,
//! and of what arrived, that either side can show without the TLS session.
//!
//! The signature covers the exact encoded header bytes, and the header names the
//! payload by its SHA-256, so no canonical re-encoding is ever needed.

use carenet_proto::v1;
use prost::Message;

use crate::crypto::{SigningContext, SigningKey, sha256, verify_ed25519};
use crate::{Error, Result};

/// Largest payload the protocol carries in one envelope: a transfer dossier
/// with its scanned reports runs to some 50 MB. A node may configure a lower
/// maximum for what it sends (`delivery.max_payload_bytes`).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

pub fn sign_envelope(
    key: &SigningKey,
    header: &v1::EnvelopeHeader,
    payload: Vec<u8>,
) -> v1::SignedEnvelope {
    let header = header.encode_to_vec();
    let signature = key.sign(SigningContext::Envelope, &header);
    v1::SignedEnvelope {
        header,
        payload,
        signature,
    }
}

/// What the receiver expects an envelope to say.
pub struct Expected<'a> {
    pub message_id: &'a str,
    pub sender: &'a str,
    pub recipient: &'a str,
}

/// Verifies an envelope from `sender_key` and returns its header.
pub fn verify_envelope(
    field: &str,
    envelope: &v1::SignedEnvelope,
    sender_key: &[u8],
    expected: &Expected<'_>,
) -> Result<v1::EnvelopeHeader> {
    if envelope.payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Error::invalid(
            format!("{field}.payload"),
            format!("larger than {MAX_PAYLOAD_BYTES} bytes"),
        ));
    }
    if !verify_ed25519(
        sender_key,
        SigningContext::Envelope,
        &envelope.header,
        &envelope.signature,
    ) {
        return Err(Error::Unauthenticated(format!(
            "{field}.signature: does not verify with the sender's key"
        )));
    }
    let header = v1::EnvelopeHeader::decode(envelope.header.as_slice())
        .map_err(|_| Error::invalid(format!("{field}.header"), "not an envelope header"))?;
    if header.message_id != expected.message_id {
        return Err(Error::invalid(
            format!("{field}.header.message_id"),
            "not the message that was asked for",
        ));
    }
    if header.sender != expected.sender || header.recipient != expected.recipient {
        return Err(Error::PermissionDenied(format!(
            "{field}.header: sender or recipient does not match the connection"
        )));
    }
    if header.payload_sha256 != sha256(&envelope.payload) {
        return Err(Error::invalid(
            format!("{field}.payload"),
            "does not match the signed hash",
        ));
    }
    Ok(header)
}

pub fn sign_receipt(key: &SigningKey, body: &v1::ReceiptBody) -> v1::SignedReceipt {
    let body = body.encode_to_vec();
    let signature = key.sign(SigningContext::Receipt, &body);
    v1::SignedReceipt { body, signature }
}

/// Decodes a receipt and checks its signature by `receiver_key`.
pub fn verify_receipt(
    field: &str,
    receipt: &v1::SignedReceipt,
    receiver_key: &[u8],
) -> Result<v1::ReceiptBody> {
    let body = v1::ReceiptBody::decode(receipt.body.as_slice())
        .map_err(|_| Error::invalid(format!("{field}.body"), "not a receipt body"))?;
    if !verify_ed25519(
        receiver_key,
        SigningContext::Receipt,
        &receipt.body,
        &receipt.signature,
    ) {
        return Err(Error::Unauthenticated(format!(
            "{field}.signature: does not verify with the receiver's key"
        )));
    }
    Ok(body)
}

/// A label for the audit log naming the kind of basis and its reference (ids
/// only, never personal data).
pub fn basis_label(basis: Option<&v1::LegalBasis>) -> String {
    let Some(b) = basis else {
        return "none".into();
    };
    let kind = match v1::LegalBasisKind::try_from(b.kind) {
        Ok(v1::LegalBasisKind::Consent) => "consent",
        Ok(v1::LegalBasisKind::Inspection) => "inspection",
        Ok(v1::LegalBasisKind::StatutoryTask) => "statutory_task",
        Ok(v1::LegalBasisKind::SafetyException) => "safety_exception",
        _ => "none",
    };
    if b.reference.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}:{}", b.reference)
    }
}

/// Checks that a message id is a UUID.
pub fn parse_message_id(field: &str, id: &str) -> Result<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| Error::invalid(field, "must be a UUID"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_signature_is_not_a_receipt() {
        // A header whose bytes also decode as a receipt body: with one key
        // signing both kinds of statement and no context, the sender's
        // "I released this" would pass as the same party's "I received this".
        let k = key();
        let header = v1::EnvelopeHeader {
            message_id: "7f0c2c5e-8d1e-4f7a-9a55-0d5c4b1f2a10".into(),
            document_type: "po-1".into(),
            sender: "vo-1".into(),
            recipient: "0123456789abcdef0123456789abcdef".into(),
            ..Default::default()
        };
        let env = sign_envelope(&k, &header, Vec::new());
        let forged = v1::SignedReceipt {
            body: env.header.clone(),
            signature: env.signature.clone(),
        };
        let e = verify_receipt("receipt", &forged, &k.public_key()).expect_err("not a receipt");
        assert!(e.to_string().contains("receipt.signature"), "{e}");
        // And the other way round.
        let receipt = sign_receipt(
            &k,
            &v1::ReceiptBody {
                message_id: header.message_id.clone(),
                ..Default::default()
            },
        );
        let as_envelope = v1::SignedEnvelope {
            header: receipt.body,
            payload: Vec::new(),
            signature: receipt.signature,
        };
        let expected = Expected {
            message_id: &header.message_id,
            sender: "",
            recipient: "",
        };
        assert!(verify_envelope("envelope", &as_envelope, &k.public_key(), &expected).is_err());
    }

    fn key() -> SigningKey {
        SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap()
    }

    fn header(payload: &[u8]) -> v1::EnvelopeHeader {
        v1::EnvelopeHeader {
            message_id: "m".into(),
            sender: "a".into(),
            recipient: "b".into(),
            payload_sha256: sha256(payload).to_vec(),
            ..Default::default()
        }
    }

    const EXPECTED: Expected<'static> = Expected {
        message_id: "m",
        sender: "a",
        recipient: "b",
    };

    #[test]
    fn envelope_verifies_and_rejects_tampering() {
        let k = key();
        let env = sign_envelope(&k, &header(b"doc"), b"doc".to_vec());
        assert!(verify_envelope("e", &env, &k.public_key(), &EXPECTED).is_ok());

        let mut payload_changed = env.clone();
        payload_changed.payload = b"dog".to_vec();
        assert!(matches!(
            verify_envelope("e", &payload_changed, &k.public_key(), &EXPECTED),
            Err(Error::InvalidArgument { .. })
        ));

        let mut header_changed = env.clone();
        header_changed.header[0] ^= 1;
        assert!(matches!(
            verify_envelope("e", &header_changed, &k.public_key(), &EXPECTED),
            Err(Error::Unauthenticated(_))
        ));

        assert!(matches!(
            verify_envelope("e", &env, &key().public_key(), &EXPECTED),
            Err(Error::Unauthenticated(_))
        ));

        let other = Expected {
            recipient: "c",
            ..EXPECTED
        };
        assert!(matches!(
            verify_envelope("e", &env, &k.public_key(), &other),
            Err(Error::PermissionDenied(_))
        ));
    }

    #[test]
    fn truncated_receipt_is_invalid() {
        let k = key();
        let mut r = sign_receipt(
            &k,
            &v1::ReceiptBody {
                message_id: "m".into(),
                ..Default::default()
            },
        );
        r.body.truncate(r.body.len() - 1);
        assert!(matches!(
            verify_receipt("r", &r, &k.public_key()),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
