//! A party's credentials folder: its certificate and TLS key, its signing key,
//! and the region trust anchor it was issued under.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::crypto::SigningKey;
use crate::party::PartyId;
use crate::tls::{party_of_cert, public_key_of_cert};
use crate::{Error, Result};

pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";
pub const SIGNING_KEY_FILE: &str = "signing.pk8";
pub const CA_CERT_FILE: &str = "ca.pem";

/// Everything a node needs to prove who it is and to check others.
pub struct Credentials {
    pub party: PartyId,
    pub cert_chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub ca_cert: CertificateDer<'static>,
    /// Raw public key of the trust anchor (verifies the directory signature).
    pub ca_public_key: Vec<u8>,
    pub signing: Arc<SigningKey>,
}

impl Credentials {
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| -> Result<Vec<u8>> {
            let path: PathBuf = dir.join(name);
            std::fs::read(&path)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
        };
        let cert_chain = CertificateDer::pem_slice_iter(&read(CERT_FILE)?)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("{CERT_FILE}: {e}")))?;
        let leaf = cert_chain
            .first()
            .ok_or_else(|| Error::Config(format!("{CERT_FILE}: no certificate")))?;
        let party = party_of_cert(leaf)?
            .ok_or_else(|| Error::Config(format!("{CERT_FILE}: names no carenet party")))?;
        let key = PrivateKeyDer::from_pem_slice(&read(KEY_FILE)?)
            .map_err(|e| Error::Config(format!("{KEY_FILE}: {e}")))?;
        let ca_cert = CertificateDer::from_pem_slice(&read(CA_CERT_FILE)?)
            .map_err(|e| Error::Config(format!("{CA_CERT_FILE}: {e}")))?;
        let ca_public_key = public_key_of_cert(&ca_cert)?;
        let signing = Arc::new(SigningKey::from_pkcs8(&read(SIGNING_KEY_FILE)?)?);
        Ok(Self {
            party,
            cert_chain,
            key,
            ca_cert,
            ca_public_key,
            signing,
        })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("party", &self.party)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}
