//! A party makes its own keys: its TLS key and its Ed25519 signing key never
//! leave its node. It hands the region CA a join request (a certificate
//! signing request for the TLS key, the signing public key, and a proof that
//! it holds that signing key); the CA returns a certificate and enters the
//! keys in the directory ([`crate::ca::RegionCa::sign_request`]). So evidence
//! a party signed holds against the SWV too: the SWV never had its keys.

use std::path::Path;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use serde::{Deserialize, Serialize};

use crate::credentials::{KEY_FILE, SIGNING_KEY_FILE};
use crate::crypto::{SigningContext, SigningKey, verify_ed25519};
use crate::party::PartyId;
use crate::private_fs::{private_dir, write_private};
use crate::{Error, Result};

/// The file `carenet keys init` writes for the CA.
pub const REQUEST_FILE: &str = "join-request.toml";

/// What a party sends the region CA to join: nothing secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub party: String,
    /// PKCS#10 request for the TLS key, PEM.
    pub csr_pem: String,
    /// The Ed25519 signing public key, hex.
    pub signing_public_key: String,
    /// Signature of the signing key over the request's DER (hex): proof of
    /// possession, binding the signing key to this TLS key.
    pub proof: String,
}

/// Generates a party's TLS and signing keys in `out` (0600 in a 0700
/// folder) and writes its join request beside them. Refuses to overwrite
/// keys that are there.
pub fn init(out: &Path, party: &PartyId) -> Result<JoinRequest> {
    for existing in [KEY_FILE, SIGNING_KEY_FILE] {
        if out.join(existing).exists() {
            return Err(Error::invalid(
                "out",
                format!(
                    "{} already holds {existing}: keys are not replaced",
                    out.display()
                ),
            ));
        }
    }
    let tls_key = KeyPair::generate().map_err(|e| Error::Ca(e.to_string()))?;
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| Error::Ca(e.to_string()))?;
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, party.as_str());
    params.subject_alt_names = vec![
        SanType::URI(
            party
                .uri()
                .try_into()
                .map_err(|_| Error::invalid("party", "not a URI"))?,
        ),
        SanType::DnsName(
            party
                .dns_name()
                .try_into()
                .map_err(|_| Error::invalid("party", "not a DNS name"))?,
        ),
    ];
    let csr = params
        .serialize_request(&tls_key)
        .map_err(|e| Error::Ca(e.to_string()))?;
    let csr_pem = csr.pem().map_err(|e| Error::Ca(e.to_string()))?;
    let signing_pkcs8 = SigningKey::generate_pkcs8()?;
    let signing = SigningKey::from_pkcs8(&signing_pkcs8)?;
    let proof = signing.sign(SigningContext::JoinRequest, csr.der());
    let request = JoinRequest {
        party: party.to_string(),
        csr_pem,
        signing_public_key: hex::encode(signing.public_key()),
        proof: hex::encode(proof),
    };
    private_dir(out)?;
    write_private(&out.join(KEY_FILE), tls_key.serialize_pem().as_bytes())?;
    write_private(&out.join(SIGNING_KEY_FILE), &signing_pkcs8)?;
    let text = toml::to_string_pretty(&request)
        .map_err(|e| Error::Ca(format!("cannot encode the join request: {e}")))?;
    write_private(&out.join(REQUEST_FILE), text.as_bytes())?;
    Ok(request)
}

impl JoinRequest {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::invalid("request", e.to_string()))
    }

    /// The party, the CSR's DER (its own signature verified by the caller)
    /// and the signing public key, once the proof of possession verifies.
    pub fn verified_signing_key(&self, csr_der: &[u8]) -> Result<Vec<u8>> {
        let key = hex::decode(&self.signing_public_key)
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| {
                Error::invalid(
                    "request.signing_public_key",
                    "not a 32-byte Ed25519 key in hex",
                )
            })?;
        let proof =
            hex::decode(&self.proof).map_err(|_| Error::invalid("request.proof", "not hex"))?;
        if !verify_ed25519(&key, SigningContext::JoinRequest, csr_der, &proof) {
            return Err(Error::invalid(
                "request.proof",
                "does not verify with the signing key over the certificate request",
            ));
        }
        Ok(key)
    }
}
