//! The region trust anchor, held by the SWV.
//!
//! `carenet ca init` creates it; `carenet ca issue` mints a party certificate
//! (party id in a URI SAN, and a DNS SAN so that a client can check it reached
//! the party it dialled) plus an Ed25519 signing key, and enters the party in the
//! region directory; `carenet ca revoke` revokes a party's certificate and
//! publishes a new CRL. After every change the directory document is signed
//! again by the anchor and written to `directory.signed`, which the SWV node serves.
//!
//! In this version the CA generates the party keys and hands them out in a
//! credentials folder. A production deployment would have each party send a CSR.

use std::fs;
use std::path::{Path, PathBuf};

use carenet_proto::v1;
use prost::Message;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber, SigningKey as _,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::clock::now_ms;
use crate::credentials::{CA_CERT_FILE, CERT_FILE};
use crate::party::{PartyId, PartyKind, validate_discipline};
use crate::tls::spki_sha256_of_cert;
use crate::{Error, Result};

const CA_KEY_FILE: &str = "ca-key.pem";
const STATE_FILE: &str = "ca-state.toml";
pub const CRL_FILE: &str = "crl.der";
pub const DIRECTORY_FILE: &str = "directory.signed";

/// What the CA remembers between commands.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaState {
    region: String,
    next_serial: u64,
    crl_number: u64,
    directory_version: u64,
    #[serde(default)]
    parties: Vec<RegisteredParty>,
    #[serde(default)]
    revoked: Vec<RevokedSerial>,
    /// How long each CRL is valid (its nextUpdate); default 30 days.
    #[serde(default)]
    crl_validity_secs: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisteredParty {
    id: String,
    kind: String,
    discipline: Option<String>,
    name: String,
    endpoint: String,
    serial: u64,
    spki_sha256: String,
    signing_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokedSerial {
    serial: u64,
    party: String,
    at_ms: i64,
}

/// What `issue` needs to know about a party.
#[derive(Debug, Clone)]
pub struct PartySpec {
    pub id: PartyId,
    pub kind: PartyKind,
    pub discipline: Option<String>,
    pub name: String,
    /// `host:port` of the party's node.
    pub endpoint: String,
}

/// The region CA on disk.
pub struct RegionCa {
    dir: PathBuf,
    state: CaState,
    cert_pem: String,
    key_pem: String,
}

impl RegionCa {
    /// Creates a new trust anchor in `dir` (which must not hold one yet).
    pub fn init(dir: &Path, region: &str) -> Result<Self> {
        if region.trim().is_empty() {
            return Err(Error::invalid("region", "must not be empty"));
        }
        if dir.join(STATE_FILE).exists() {
            return Err(Error::Ca(format!(
                "{} already holds a region CA",
                dir.display()
            )));
        }
        crate::private_fs::private_dir(dir)?;
        let key = KeyPair::generate().map_err(ca_err)?;
        let params = ca_params(region)?;
        let cert = params.self_signed(&key).map_err(ca_err)?;
        let mut ca = Self {
            dir: dir.to_owned(),
            state: CaState {
                region: region.to_owned(),
                next_serial: 2,
                crl_number: 0,
                directory_version: 0,
                parties: Vec::new(),
                revoked: Vec::new(),
                crl_validity_secs: None,
            },
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        fs::write(dir.join(CA_CERT_FILE), &ca.cert_pem)?;
        write_private(&dir.join(CA_KEY_FILE), ca.key_pem.as_bytes())?;
        ca.publish()?;
        Ok(ca)
    }

    pub fn open(dir: &Path) -> Result<Self> {
        let state_text = fs::read_to_string(dir.join(STATE_FILE))
            .map_err(|e| Error::Ca(format!("no region CA in {}: {e}", dir.display())))?;
        let state: CaState = toml::from_str(&state_text)
            .map_err(|e| Error::Ca(format!("{STATE_FILE}: {}", e.message())))?;
        Ok(Self {
            dir: dir.to_owned(),
            state,
            cert_pem: fs::read_to_string(dir.join(CA_CERT_FILE))?,
            key_pem: fs::read_to_string(dir.join(CA_KEY_FILE))?,
        })
    }

    pub fn region(&self) -> &str {
        &self.state.region
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn directory_path(&self) -> PathBuf {
        self.dir.join(DIRECTORY_FILE)
    }

    /// Issues credentials for a party into `out` and enters it in the
    /// directory: the party's own two steps, done at once for convenience
    /// (the demo): [`crate::keys::init`] makes the keys in `out`, then
    /// [`Self::sign_request`] answers the request. In a real region the party
    /// runs `carenet keys init` itself and sends only the request.
    pub fn issue(&mut self, spec: &PartySpec, out: &Path) -> Result<()> {
        let request = crate::keys::init(out, &spec.id)?;
        self.sign_request(&request, spec, out)
    }

    /// Answers a party's join request: checks the request's signature and the
    /// proof that the party holds the signing key it names, issues a
    /// certificate for the requested TLS key with names this CA decides (the
    /// party id), writes it and the trust anchor into `out`, and enters the
    /// party with both public keys in the directory. The CA never sees a
    /// private key. Issuing again for a known party replaces its entry (key
    /// rotation) and revokes the certificate it had.
    pub fn sign_request(
        &mut self,
        request: &crate::keys::JoinRequest,
        spec: &PartySpec,
        out: &Path,
    ) -> Result<()> {
        validate_discipline(spec.kind, spec.discipline.as_deref())?;
        if spec.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        validate_endpoint(&spec.endpoint)?;
        if request.party != spec.id.as_str() {
            return Err(Error::invalid(
                "request.party",
                format!("the request is for {}, not {}", request.party, spec.id),
            ));
        }
        // One parse of one DER: the key certified is the key the proof covers.
        let csr_der = {
            use rustls::pki_types::pem::PemObject;
            rustls::pki_types::CertificateSigningRequestDer::from_pem_slice(
                request.csr_pem.as_bytes(),
            )
            .map_err(|_| Error::invalid("request.csr_pem", "not a PEM certificate request"))?
        };
        let csr = rcgen::CertificateSigningRequestParams::from_der(&csr_der).map_err(|e| {
            Error::invalid(
                "request.csr_pem",
                format!("not a valid certificate request: {e}"),
            )
        })?;
        let signing_key = request.verified_signing_key(csr_der.as_ref())?;
        let serial = self.state.next_serial;
        self.state.next_serial += 1;
        let cert = rcgen::CertificateSigningRequestParams {
            params: self.party_params(&spec.id, serial)?,
            public_key: csr.public_key,
        }
        .signed_by(&self.issuer()?)
        .map_err(ca_err)?;
        let cert_pem = cert.pem();

        crate::private_fs::private_dir(out)?;
        write_private(&out.join(CERT_FILE), cert_pem.as_bytes())?;
        write_private(&out.join(CA_CERT_FILE), self.cert_pem.as_bytes())?;

        let spki = spki_sha256_of_cert(&pem_to_der(&cert_pem)?)?;
        let entry = RegisteredParty {
            id: spec.id.to_string(),
            kind: spec.kind.as_str().to_owned(),
            discipline: spec.discipline.clone(),
            name: spec.name.clone(),
            endpoint: spec.endpoint.clone(),
            serial,
            spki_sha256: hex::encode(spki),
            signing_key: hex::encode(signing_key),
        };
        if let Some(old) = self.state.parties.iter().position(|p| p.id == entry.id) {
            let old = self.state.parties.remove(old);
            self.state.revoked.push(RevokedSerial {
                serial: old.serial,
                party: old.id,
                at_ms: now_ms(),
            });
        }
        self.state.parties.push(entry);
        self.publish()
    }

    /// Mints a certificate for `party` signed by this anchor without entering it
    /// in the directory. Returns (certificate PEM, key PEM, serial).
    pub fn mint(&mut self, party: &PartyId) -> Result<(String, String, u64)> {
        let serial = self.state.next_serial;
        self.state.next_serial += 1;
        let key = KeyPair::generate().map_err(ca_err)?;
        let params = self.party_params(party, serial)?;
        let issuer = self.issuer()?;
        let cert = params.signed_by(&key, &issuer).map_err(ca_err)?;
        self.save_state()?;
        Ok((cert.pem(), key.serialize_pem(), serial))
    }

    /// The certificate a party gets: its id as name (CN, URI and DNS SAN),
    /// two years, client and server authentication.
    fn party_params(&self, party: &PartyId, serial: u64) -> Result<CertificateParams> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_err)?;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(2 * 365);
        params.serial_number = Some(SerialNumber::from(serial));
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, party.as_str());
        params
            .distinguished_name
            .push(DnType::OrganizationName, self.state.region.as_str());
        params.subject_alt_names = vec![
            SanType::URI(party.uri().try_into().map_err(ca_err)?),
            SanType::DnsName(party.dns_name().try_into().map_err(ca_err)?),
        ];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }

    /// Revokes the certificate of `party`; the party stays out of the directory
    /// until it is issued again.
    pub fn revoke(&mut self, party: &PartyId) -> Result<()> {
        let pos = self
            .state
            .parties
            .iter()
            .position(|p| p.id == party.as_str())
            .ok_or_else(|| Error::NotFound(format!("party {party}")))?;
        let entry = self.state.parties.remove(pos);
        self.state.revoked.push(RevokedSerial {
            serial: entry.serial,
            party: entry.id,
            at_ms: now_ms(),
        });
        self.publish()
    }

    /// Revokes one certificate by serial (e.g. one minted but never entered).
    pub fn revoke_serial(&mut self, party: &PartyId, serial: u64) -> Result<()> {
        self.state.parties.retain(|p| p.serial != serial);
        self.state.revoked.push(RevokedSerial {
            serial,
            party: party.to_string(),
            at_ms: now_ms(),
        });
        self.publish()
    }

    fn issuer(&self) -> Result<Issuer<'static, KeyPair>> {
        let key = KeyPair::from_pem(&self.key_pem).map_err(ca_err)?;
        Issuer::from_ca_cert_pem(&self.cert_pem, key).map_err(ca_err)
    }

    /// Re-signs the directory and the CRL as they are, with a new issue time
    /// and next update: nodes trust a directory for a limited time
    /// (`directory.max_age_secs`, default 7 days), so the region CA runs
    /// this daily. `crl_validity_secs` changes (and keeps) how long each CRL
    /// is valid.
    pub fn publish_now(&mut self, crl_validity_secs: Option<u64>) -> Result<()> {
        if let Some(secs) = crl_validity_secs {
            if secs == 0 {
                return Err(Error::invalid("crl_validity_secs", "must be at least 1"));
            }
            self.state.crl_validity_secs = Some(secs);
        }
        self.publish()
    }

    /// Writes a fresh CRL and a newly signed directory document.
    fn publish(&mut self) -> Result<()> {
        self.state.crl_number += 1;
        self.state.directory_version += 1;
        let now = OffsetDateTime::now_utc();
        let crl = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update: now
                + self
                    .state
                    .crl_validity_secs
                    .map_or(Duration::days(30), |s| Duration::seconds(s as i64)),
            crl_number: SerialNumber::from(self.state.crl_number),
            issuing_distribution_point: None,
            revoked_certs: self
                .state
                .revoked
                .iter()
                .map(|r| RevokedCertParams {
                    serial_number: SerialNumber::from(r.serial),
                    revocation_time: OffsetDateTime::from_unix_timestamp(r.at_ms / 1000)
                        .unwrap_or(now),
                    reason_code: Some(RevocationReason::Unspecified),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer()?)
        .map_err(ca_err)?;
        let crl_der = crl.der().to_vec();
        fs::write(self.dir.join(CRL_FILE), &crl_der)?;

        let mut entries = Vec::with_capacity(self.state.parties.len());
        for p in &self.state.parties {
            let kind = PartyKind::parse("kind", &p.kind)?;
            entries.push(v1::DirectoryEntry {
                party_id: p.id.clone(),
                kind: kind.to_proto() as i32,
                discipline: p.discipline.clone().unwrap_or_default(),
                display_name: p.name.clone(),
                endpoint: p.endpoint.clone(),
                spki_sha256: hex::decode(&p.spki_sha256)
                    .map_err(|_| Error::Ca("corrupt spki pin in state".into()))?,
                signing_key: hex::decode(&p.signing_key)
                    .map_err(|_| Error::Ca("corrupt signing key in state".into()))?,
                services: default_services(kind),
            });
        }
        let document = v1::DirectoryDocument {
            region: self.state.region.clone(),
            version: self.state.directory_version,
            issued_at_ms: now_ms(),
            entries,
            crls: vec![crl_der],
        }
        .encode_to_vec();
        let key = KeyPair::from_pem(&self.key_pem).map_err(ca_err)?;
        let signature = key.sign(&document).map_err(ca_err)?;
        let signed = v1::SignedDirectory {
            document,
            signature,
        };
        write_atomic(&self.directory_path(), &signed.encode_to_vec())?;
        self.save_state()
    }

    fn save_state(&self) -> Result<()> {
        let text = toml::to_string_pretty(&self.state)
            .map_err(|e| Error::Ca(format!("cannot encode state: {e}")))?;
        write_atomic(&self.dir.join(STATE_FILE), text.as_bytes())
    }
}

fn default_services(kind: PartyKind) -> Vec<String> {
    let mut services = vec![
        "carenet.v1.Exchange".to_owned(),
        "carenet.v1.Audit".to_owned(),
    ];
    if kind == PartyKind::Swv {
        services.push("carenet.v1.Directory".to_owned());
    }
    services
}

fn ca_params(region: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(ca_err)?;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(10 * 365);
    params.serial_number = Some(SerialNumber::from(1u64));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("carenet region {region}"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, region);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

fn validate_endpoint(endpoint: &str) -> Result<()> {
    let ok = endpoint
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("endpoint", "must be host:port"))
    }
}

fn ca_err(e: rcgen::Error) -> Error {
    Error::Ca(e.to_string())
}

pub(crate) fn pem_to_der(pem: &str) -> Result<Vec<u8>> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map(|c| c.to_vec())
        .map_err(|e| Error::Config(format!("not a PEM certificate: {e}")))
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    Ok(crate::private_fs::write_private(path, data)?)
}

/// Replaces a file in one step, so readers see the old or the new content.
/// The file is the owner's only (0600).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    Ok(crate::private_fs::write_private_atomic(path, data)?)
}
