//! Hashing and the Ed25519 signing keys with which a party signs envelopes and
//! receipts, so that evidence survives outside the TLS session.

use ring::signature::{self, Ed25519KeyPair, KeyPair};

use crate::{Error, Result};

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// What a signature is a statement of. One key signs several kinds of
/// statement; each signature covers its context's label first, so a
/// signature over an envelope header can never be presented as a receipt or
/// a consent receipt (or the other way round), whatever the bytes decode to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningContext {
    /// The sender's envelope header: "I released this".
    Envelope,
    /// The receiver's receipt: "I received this".
    Receipt,
    /// The holder's consent receipt: "I released this under that consent".
    ConsentReceipt,
    /// Not a statement: the keyed derivation of a child's pseudonym.
    ChildPseudonym,
    /// A joining party: "this signing key and this TLS key are mine".
    JoinRequest,
    /// Not a statement: the keyed derivation of a guardian's pseudonym.
    GuardianPseudonym,
}

impl SigningContext {
    fn label(self) -> &'static [u8] {
        match self {
            SigningContext::Envelope => b"carenet/v1/envelope-header\0",
            SigningContext::Receipt => b"carenet/v1/receipt\0",
            SigningContext::ConsentReceipt => b"carenet/v1/consent-receipt\0",
            SigningContext::ChildPseudonym => b"carenet/v1/child-pseudonym\0",
            SigningContext::JoinRequest => b"carenet/v1/join-request\0",
            SigningContext::GuardianPseudonym => b"carenet/v1/guardian-pseudonym\0",
        }
    }

    fn message(self, msg: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.label().len() + msg.len());
        m.extend_from_slice(self.label());
        m.extend_from_slice(msg);
        m
    }
}

/// A party's signing key (Ed25519, PKCS#8 on disk).
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    pub fn generate_pkcs8() -> Result<Vec<u8>> {
        let rng = ring::rand::SystemRandom::new();
        Ed25519KeyPair::generate_pkcs8(&rng)
            .map(|doc| doc.as_ref().to_vec())
            .map_err(|_| Error::Ca("could not generate a signing key".into()))
    }

    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self> {
        Ed25519KeyPair::from_pkcs8(bytes)
            .map(|pair| Self { pair })
            .map_err(|_| Error::Config("signing key is not an Ed25519 PKCS#8 key".into()))
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs `msg` as a statement of `context`.
    pub fn sign(&self, context: SigningContext, msg: &[u8]) -> Vec<u8> {
        self.pair.sign(&context.message(msg)).as_ref().to_vec()
    }

    /// The pseudonym under which this party names one of its pupils to
    /// others: the same reference always gives the same pseudonym, and no one
    /// without this key can compute or reverse it (an Ed25519 signature is
    /// deterministic and unforgeable, so its hash is a keyed function).
    pub fn child_pseudonym(&self, child_ref: &str) -> String {
        let sig = self.sign(SigningContext::ChildPseudonym, child_ref.as_bytes());
        hex::encode(&sha256(&sig)[..16])
    }
}

impl SigningKey {
    /// The pseudonym under which this party names a guardian who signed in
    /// on its parent portal (`issuer` and `subject` of the login): keyed like
    /// [`Self::child_pseudonym`], so a low-entropy subject (a national id
    /// behind a broker) cannot be found by hashing candidates.
    pub fn guardian_pseudonym(&self, issuer: &str, subject: &str) -> String {
        let mut msg = issuer.as_bytes().to_vec();
        msg.push(0);
        msg.extend_from_slice(subject.as_bytes());
        let sig = self.sign(SigningContext::GuardianPseudonym, &msg);
        hex::encode(&sha256(&sig)[..16])
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Verifies an Ed25519 signature by a party's published key, as a statement
/// of `context`.
pub fn verify_ed25519(public_key: &[u8], context: SigningContext, msg: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(&context.message(msg), sig)
        .is_ok()
}

/// Verifies an ECDSA P-256 SHA-256 signature (the region trust anchor's).
pub fn verify_p256(public_key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, public_key)
        .verify(msg, sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_is_caught() {
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        use SigningContext::*;
        let sig = key.sign(Envelope, b"header");
        assert!(verify_ed25519(&key.public_key(), Envelope, b"header", &sig));
        assert!(!verify_ed25519(
            &key.public_key(),
            Envelope,
            b"headeR",
            &sig
        ));
        let other = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8().unwrap()).unwrap();
        assert!(!verify_ed25519(
            &other.public_key(),
            Envelope,
            b"header",
            &sig
        ));
        // The same key and bytes, another kind of statement: refused.
        assert!(!verify_ed25519(&key.public_key(), Receipt, b"header", &sig));
        assert!(!verify_ed25519(
            &key.public_key(),
            ConsentReceipt,
            b"header",
            &sig
        ));
    }
}
