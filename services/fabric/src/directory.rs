//! The region directory: which parties exist, where their nodes are, which key
//! each may present and with which key each signs.
//!
//! The document is signed by the region trust anchor, so it may be fetched over
//! any channel and cached on disk. A node installs a directory only if the
//! signature verifies and its version is not older than the one it holds, and it
//! keeps working from its cache while the SWV that hosts the directory is down.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use carenet_proto::v1;
use prost::Message;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::ca::write_atomic;
use crate::crypto::verify_p256;
use crate::party::{PartyId, PartyKind};
use crate::{Error, Result};

/// One party as the directory describes it.
#[derive(Clone, Debug)]
pub struct PartyEntry {
    pub id: PartyId,
    pub kind: PartyKind,
    pub discipline: Option<String>,
    pub name: String,
    pub endpoint: String,
    pub spki_sha256: [u8; 32],
    pub signing_key: Vec<u8>,
}

/// A verified directory document and its indexes.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub signed: Vec<u8>,
    pub region: String,
    pub version: u64,
    /// When the region CA signed it.
    pub issued_at_ms: i64,
    pub crls: Vec<Vec<u8>>,
    /// The earliest `nextUpdate` of its CRLs: after it, they are stale.
    pub crl_next_update_ms: Option<i64>,
    by_id: HashMap<String, PartyEntry>,
    revoked: HashSet<Vec<u8>>,
}

impl Snapshot {
    /// Verifies the anchor's signature over an encoded `SignedDirectory` and indexes it.
    pub fn verify(ca_public_key: &[u8], signed_bytes: &[u8]) -> Result<Self> {
        let signed = v1::SignedDirectory::decode(signed_bytes)
            .map_err(|_| Error::invalid("directory", "not a signed directory"))?;
        if !verify_p256(ca_public_key, &signed.document, &signed.signature) {
            return Err(Error::Unauthenticated(
                "directory signature does not verify against the region anchor".into(),
            ));
        }
        let doc = v1::DirectoryDocument::decode(signed.document.as_slice())
            .map_err(|_| Error::invalid("directory.document", "not a directory document"))?;
        let mut by_id = HashMap::with_capacity(doc.entries.len());
        for (i, e) in doc.entries.iter().enumerate() {
            let field = format!("directory.entries[{i}]");
            let id = PartyId::parse(&format!("{field}.party_id"), &e.party_id)?;
            let kind = PartyKind::from_proto(e.kind)
                .ok_or_else(|| Error::invalid(format!("{field}.kind"), "unknown party kind"))?;
            let spki_sha256: [u8; 32] =
                e.spki_sha256.as_slice().try_into().map_err(|_| {
                    Error::invalid(format!("{field}.spki_sha256"), "must be 32 bytes")
                })?;
            by_id.insert(
                e.party_id.clone(),
                PartyEntry {
                    id,
                    kind,
                    discipline: (!e.discipline.is_empty()).then(|| e.discipline.clone()),
                    name: e.display_name.clone(),
                    endpoint: e.endpoint.clone(),
                    spki_sha256,
                    signing_key: e.signing_key.clone(),
                },
            );
        }
        let mut revoked = HashSet::new();
        let mut crl_next_update_ms: Option<i64> = None;
        for (i, crl) in doc.crls.iter().enumerate() {
            let (_, parsed) = CertificateRevocationList::from_der(crl)
                .map_err(|_| Error::invalid(format!("directory.crls[{i}]"), "not a DER CRL"))?;
            for r in parsed.iter_revoked_certificates() {
                revoked.insert(r.user_certificate.to_bytes_be());
            }
            let next = parsed.next_update().ok_or_else(|| {
                Error::invalid(
                    format!("directory.crls[{i}].next_update"),
                    "a CRL must say when it is next updated",
                )
            })?;
            let next_ms = next.timestamp().saturating_mul(1000);
            crl_next_update_ms = Some(crl_next_update_ms.map_or(next_ms, |m| m.min(next_ms)));
        }
        Ok(Self {
            signed: signed_bytes.to_vec(),
            region: doc.region,
            version: doc.version,
            issued_at_ms: doc.issued_at_ms,
            crls: doc.crls,
            crl_next_update_ms,
            by_id,
            revoked,
        })
    }

    pub fn get(&self, id: &str) -> Option<&PartyEntry> {
        self.by_id.get(id)
    }

    pub fn parties(&self) -> impl Iterator<Item = &PartyEntry> {
        self.by_id.values()
    }

    pub fn is_revoked(&self, serial: &[u8]) -> bool {
        self.revoked.contains(serial)
    }

    /// Why this directory may no longer be trusted at `now`, if so: it is
    /// older than `max_age_ms`, or its revocation list is past its next
    /// update. A node cut off from the SWV would otherwise trust parties
    /// revoked since, for ever. (No directory at all is not stale: it is
    /// missing, and every call fails on the unknown party.)
    pub fn stale(&self, now_ms: i64, max_age_ms: i64) -> Option<String> {
        if self.signed.is_empty() {
            return None;
        }
        if now_ms.saturating_sub(self.issued_at_ms) > max_age_ms {
            return Some(format!(
                "the region directory (version {}) is older than its maximum age of {} hours \
                 (directory.max_age_secs): refusing exchanges until a fresh one is fetched from the SWV",
                self.version,
                max_age_ms / 3_600_000
            ));
        }
        if self.crl_next_update_ms.is_some_and(|next| next < now_ms) {
            return Some(format!(
                "the revocation list in the region directory (version {}) is past its next update: \
                 refusing exchanges until a fresh directory is fetched from the SWV",
                self.version
            ));
        }
        None
    }
}

/// Seven days: a node cut off from its SWV for longer stops exchanging.
pub const MAX_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("version", &self.snapshot().version)
            .finish_non_exhaustive()
    }
}

/// The directory a node currently trusts, with its on-disk cache.
pub struct Directory {
    ca_public_key: Vec<u8>,
    cache_path: Option<PathBuf>,
    current: RwLock<Arc<Snapshot>>,
    max_age_ms: i64,
}

impl Directory {
    /// Starts from the cache at `cache_path` if there is a valid one, else empty.
    pub fn open(ca_public_key: Vec<u8>, cache_path: Option<PathBuf>) -> Self {
        let cached = cache_path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| match Snapshot::verify(&ca_public_key, &bytes) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring directory cache");
                    None
                }
            });
        Self {
            ca_public_key,
            cache_path,
            current: RwLock::new(Arc::new(cached.unwrap_or_default())),
            max_age_ms: MAX_AGE_MS,
        }
    }

    /// The same directory, trusted for at most `ms` after it was issued.
    pub fn with_max_age(mut self, ms: i64) -> Self {
        self.max_age_ms = ms;
        self
    }

    /// Refuses an exchange when the directory is stale ([`Snapshot::stale`]),
    /// with an error that says why and what to do.
    pub fn check_fresh(&self) -> Result<()> {
        match self
            .snapshot()
            .stale(crate::clock::now_ms(), self.max_age_ms)
        {
            Some(why) => Err(Error::precondition(why)),
            None => Ok(()),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn get(&self, id: &str) -> Option<PartyEntry> {
        self.snapshot().get(id).cloned()
    }

    /// Installs a signed directory if it verifies and is not older than the
    /// current one. Returns true if the version changed.
    pub fn install(&self, signed_bytes: &[u8]) -> Result<bool> {
        let next = Snapshot::verify(&self.ca_public_key, signed_bytes)?;
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if next.version < current.version
            || (next.version == current.version && next.signed == current.signed)
        {
            return Ok(false);
        }
        if !current.region.is_empty() && next.region != current.region {
            return Err(Error::Unauthenticated(
                "directory is for another region".into(),
            ));
        }
        if let Some(path) = &self.cache_path {
            write_atomic(path, signed_bytes)?;
        }
        *current = Arc::new(next);
        Ok(true)
    }

    /// Takes the directory from the cache file if the file holds a newer one
    /// than this copy: for a process beside the node (the gateway), which
    /// reads the directory the node keeps and writes nothing. Returns true
    /// if the version changed.
    pub fn reload_cache(&self) -> Result<bool> {
        let Some(path) = &self.cache_path else {
            return Ok(false);
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => {
                return Err(Error::Config(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let next = Snapshot::verify(&self.ca_public_key, &bytes)?;
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if next.version <= current.version {
            return Ok(false);
        }
        if !current.region.is_empty() && next.region != current.region {
            return Err(Error::Unauthenticated(
                "directory is for another region".into(),
            ));
        }
        *current = Arc::new(next);
        Ok(true)
    }

    /// Installs the directory file the region CA writes (on the SWV node).
    pub fn install_file(&self, path: &Path) -> Result<bool> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        self.install(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::{PartySpec, RegionCa};
    use crate::{PartyId, PartyKind};

    #[test]
    fn a_reader_beside_the_node_takes_the_newer_directory_from_its_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ca = RegionCa::init(&dir.path().join("ca"), "test").expect("ca");
        let spec = |id: &str, kind| PartySpec {
            id: PartyId::parse("id", id).expect("id"),
            kind,
            discipline: None,
            name: id.to_owned(),
            endpoint: "127.0.0.1:1".into(),
        };
        let po = dir.path().join("po-1");
        ca.issue(&spec("po-1", PartyKind::PoSchool), &po)
            .expect("issue");
        let ca_key = crate::credentials::Credentials::load(&po)
            .expect("credentials")
            .ca_public_key;
        let cache = dir.path().join("directory.cache");
        std::fs::copy(ca.directory_path(), &cache).expect("copy");
        let reader = Directory::open(ca_key, Some(cache.clone()));
        assert!(reader.get("po-1").is_some());
        // A new party joins; until the node writes its cache, nothing changes.
        ca.issue(&spec("vo-1", PartyKind::VoSchool), &dir.path().join("vo-1"))
            .expect("issue");
        assert!(!reader.reload_cache().expect("reload"));
        assert!(reader.get("vo-1").is_none());
        std::fs::copy(ca.directory_path(), &cache).expect("copy");
        assert!(reader.reload_cache().expect("reload"));
        assert!(reader.get("vo-1").is_some());
        assert!(!reader.reload_cache().expect("again"), "once");
        // A cache that does not verify is an error, and the copy stays.
        std::fs::write(&cache, b"not a directory").expect("write");
        assert!(reader.reload_cache().is_err());
        assert!(reader.get("vo-1").is_some());
    }
}
