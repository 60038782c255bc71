//! Node configuration: defaults, then a TOML file, then `CARENET_*` environment
//! variables (sections with `__`, e.g. `CARENET_DELIVERY__BATCH=32`). Unknown
//! keys are errors; [`NodeConfig::validate`] checks the values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use carenet_fabric::PartyId;
use carenet_fabric::delivery::{DeliveryConfig, RetryPolicy};
use carenet_fabric::tls::TlsLimits;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{Error, Result};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's party id (must match its certificate).
    pub party: String,
    /// `host:port` to listen on.
    pub listen: String,
    pub data_dir: PathBuf,
    /// Folder with cert.pem, key.pem, signing.pk8, ca.pem; default `data_dir/credentials`.
    pub credentials_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL; default a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// A file holding the `postgres://…` URL (with its password), instead of
    /// `database_url` in this file or on a command line; read at load.
    pub database_url_file: Option<PathBuf>,
    /// OTLP gRPC endpoint for traces, e.g. `http://127.0.0.1:4317`.
    pub otlp_endpoint: Option<String>,
    pub directory: DirectorySection,
    pub delivery: DeliverySection,
    pub tls: TlsSection,
    /// What other parties may make this node hold and record.
    #[serde(default)]
    pub peers: PeersSection,
    /// Retention in days per document type or record kind, where this node
    /// keeps one longer or shorter than its slice registers
    /// (`"carenet.transfer_dossier" = 1095`, `"record.izo" = 1825` where a
    /// longer legal period applies); unknown names are errors. The slices' jobs (retention purge,
    /// expiry, reminders) run every `purge_interval_secs`.
    pub retention: BTreeMap<String, u32>,
    pub purge_interval_secs: u64,
    /// The transfer-dossier slice's section.
    pub handover: carenet_handover::slice::HandoverConfig,
    /// The referral slice's section (IZO and ZAT).
    #[serde(default)]
    pub referral: carenet_referral::slice::ReferralConfig,
    /// The case-plan slice's section.
    #[serde(default)]
    pub caseplan: carenet_caseplan::slice::CaseplanConfig,
    /// The support slice's section (the SWV's requests and decisions).
    #[serde(default)]
    pub support: carenet_support::slice::SupportConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    /// Party id of the SWV that hosts the directory.
    pub swv_party: String,
    /// `host:port` of the SWV node.
    pub swv_endpoint: String,
    /// On the SWV node: the signed directory file the region CA writes.
    pub file: Option<PathBuf>,
    pub refresh_secs: u64,
    /// How long a directory is trusted after the region CA signed it (the
    /// CA re-signs it daily, `carenet ca publish`); a node that could not
    /// refresh it for longer refuses new exchanges. Default 7 days.
    #[serde(default = "default_max_age_secs")]
    pub max_age_secs: u64,
}

fn default_max_age_secs() -> u64 {
    (carenet_fabric::directory::MAX_AGE_MS / 1000) as u64
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySection {
    pub batch: usize,
    pub concurrency: usize,
    pub poll_ms: u64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How long a message is retried before it is dead-lettered (default 21
    /// days: a school's node may be off over a holiday).
    pub give_up_after_ms: i64,
    pub ack_timeout_ms: u64,
    pub peer_timeout_ms: u64,
    /// Largest document this node sends (bytes); at most the protocol's 64 MiB.
    pub max_payload_bytes: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub handshake_timeout_ms: u64,
    pub max_connections: usize,
    /// HTTP/2 keepalive: a ping after this many idle seconds, and the
    /// connection is dropped if the answer takes longer than the timeout.
    #[serde(default = "defaults::keepalive_secs")]
    pub keepalive_secs: u64,
    #[serde(default = "defaults::keepalive_timeout_secs")]
    pub keepalive_timeout_secs: u64,
    /// A connection, idle or not, is closed (gracefully) after this long;
    /// the peer reconnects on its next call.
    #[serde(default = "defaults::max_connection_age_secs")]
    pub max_connection_age_secs: u64,
    /// Concurrent streams (calls) on one connection.
    #[serde(default = "defaults::max_concurrent_streams")]
    pub max_concurrent_streams: u32,
    /// A call that takes longer is ended with DEADLINE_EXCEEDED.
    #[serde(default = "defaults::request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Fetches one party may have running at once; more are answered
    /// RESOURCE_EXHAUSTED and retried by the peer after its backoff.
    #[serde(default = "defaults::max_parallel_fetches_per_peer")]
    pub max_parallel_fetches_per_peer: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeersSection {
    /// Messages one sender may have pending here (notified and not yet
    /// fetched, or stored and its receipt not yet taken); a notification of
    /// more is answered RESOURCE_EXHAUSTED and the sender retries after its
    /// backoff.
    #[serde(default = "defaults::inbox_quota_messages")]
    pub inbox_quota_messages: i64,
    /// Bytes those pending messages may hold (ADR 0007).
    #[serde(default = "defaults::inbox_quota_bytes")]
    pub inbox_quota_bytes: i64,
    /// Refused calls of one kind from one party within this many seconds
    /// (from the first) are written to the audit log as one record with
    /// their count.
    #[serde(default = "defaults::refusal_audit_interval_secs")]
    pub refusal_audit_interval_secs: u64,
}

impl Default for PeersSection {
    fn default() -> Self {
        Self {
            inbox_quota_messages: defaults::inbox_quota_messages(),
            inbox_quota_bytes: defaults::inbox_quota_bytes(),
            refusal_audit_interval_secs: defaults::refusal_audit_interval_secs(),
        }
    }
}

/// Server limits when node.toml does not name them.
mod defaults {
    pub fn keepalive_secs() -> u64 {
        30
    }
    pub fn keepalive_timeout_secs() -> u64 {
        10
    }
    pub fn max_connection_age_secs() -> u64 {
        15 * 60
    }
    pub fn max_concurrent_streams() -> u32 {
        64
    }
    pub fn request_timeout_secs() -> u64 {
        120
    }
    pub fn max_parallel_fetches_per_peer() -> usize {
        8
    }
    pub fn inbox_quota_messages() -> i64 {
        carenet_fabric::store::inbox::InboxQuota::default().rows
    }
    pub fn inbox_quota_bytes() -> i64 {
        carenet_fabric::store::inbox::InboxQuota::default().bytes
    }
    pub fn refusal_audit_interval_secs() -> u64 {
        (carenet_fabric::refusals::DEFAULT_INTERVAL_MS / 1000) as u64
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        let d = DeliveryConfig::default();
        Self {
            party: String::new(),
            listen: "127.0.0.1:7400".into(),
            data_dir: PathBuf::from("data"),
            credentials_dir: None,
            database_url: None,
            database_url_file: None,
            otlp_endpoint: None,
            directory: DirectorySection {
                swv_party: String::new(),
                swv_endpoint: String::new(),
                file: None,
                refresh_secs: 30,
                max_age_secs: default_max_age_secs(),
            },
            delivery: DeliverySection {
                batch: d.batch,
                concurrency: d.concurrency,
                poll_ms: d.poll_interval.as_millis() as u64,
                retry_base_ms: d.retry.base_ms,
                retry_max_ms: d.retry.max_ms,
                give_up_after_ms: d.retry.give_up_after_ms,
                ack_timeout_ms: d.retry.ack_timeout_ms,
                peer_timeout_ms: 10_000,
                max_payload_bytes: carenet_fabric::envelope::MAX_PAYLOAD_BYTES,
            },
            tls: TlsSection {
                handshake_timeout_ms: 10_000,
                max_connections: 1024,
                keepalive_secs: defaults::keepalive_secs(),
                keepalive_timeout_secs: defaults::keepalive_timeout_secs(),
                max_connection_age_secs: defaults::max_connection_age_secs(),
                max_concurrent_streams: defaults::max_concurrent_streams(),
                request_timeout_secs: defaults::request_timeout_secs(),
                max_parallel_fetches_per_peer: defaults::max_parallel_fetches_per_peer(),
            },
            peers: PeersSection::default(),
            retention: BTreeMap::new(),
            purge_interval_secs: 3600,
            handover: carenet_handover::slice::HandoverConfig::default(),
            referral: carenet_referral::slice::ReferralConfig::default(),
            caseplan: carenet_caseplan::slice::CaseplanConfig::default(),
            support: carenet_support::slice::SupportConfig::default(),
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("party", &self.party)
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("credentials_dir", &self.credentials_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "<redacted>"),
            )
            .field("database_url_file", &self.database_url_file)
            .field("otlp_endpoint", &self.otlp_endpoint)
            .field("directory", &self.directory)
            .field("delivery", &self.delivery)
            .field("tls", &self.tls)
            .field("peers", &self.peers)
            .field("retention", &self.retention)
            .field("purge_interval_secs", &self.purge_interval_secs)
            .field("handover", &self.handover)
            .field("referral", &self.referral)
            .field("caseplan", &self.caseplan)
            .field("support", &self.support)
            .finish()
    }
}

const SECTIONS: &[&str] = &[
    "party",
    "listen",
    "data_dir",
    "credentials_dir",
    "database_url",
    "database_url_file",
    "otlp_endpoint",
    "directory",
    "delivery",
    "tls",
    "peers",
    "retention",
    "purge_interval_secs",
    "handover",
    "referral",
    "caseplan",
    "support",
];

/// `p` if absolute, else `base/p`.
pub fn resolve_against(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl NodeConfig {
    /// Loads defaults → `file` → `CARENET_*` environment, and validates.
    pub fn load(file: &Path) -> Result<Self> {
        if !file.exists() {
            return Err(Error::Config(format!(
                "config file {} does not exist",
                file.display()
            )));
        }
        let config: NodeConfig = Figment::from(Serialized::defaults(NodeConfig::default()))
            .merge(Toml::file(file))
            .merge(
                Env::prefixed("CARENET_")
                    .filter(|k| {
                        let first = k.as_str().split("__").next().unwrap_or_default();
                        SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(first))
                    })
                    .split("__"),
            )
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        let mut config: NodeConfig = config;
        config.resolve_paths(file)?;
        if let Some(path) = config.database_url_file.clone() {
            if config.database_url.is_some() {
                return Err(Error::invalid(
                    "database_url_file",
                    "give database_url or database_url_file, not both",
                ));
            }
            let url = std::fs::read_to_string(&path)
                .map_err(|e| Error::Config(format!("database_url_file {}: {e}", path.display())))?;
            config.database_url = Some(url.trim().to_owned());
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        PartyId::parse("party", &self.party)?;
        check_endpoint("listen", &self.listen)?;
        if self.directory.file.is_none() {
            PartyId::parse("directory.swv_party", &self.directory.swv_party)?;
            check_endpoint("directory.swv_endpoint", &self.directory.swv_endpoint)?;
        }
        if let Some(url) = &self.database_url {
            carenet_fabric::store::check_database_url(url)?;
        }
        if let Some(ep) = &self.otlp_endpoint
            && !(ep.starts_with("http://") || ep.starts_with("https://"))
        {
            return Err(Error::invalid(
                "otlp_endpoint",
                "must start with http:// or https://",
            ));
        }
        let d = &self.delivery;
        if d.batch == 0 || d.batch > carenet_fabric::exchange::MAX_FETCH_IDS {
            return Err(Error::invalid("delivery.batch", "must be 1-256"));
        }
        if d.max_payload_bytes == 0
            || d.max_payload_bytes > carenet_fabric::envelope::MAX_PAYLOAD_BYTES
        {
            return Err(Error::invalid(
                "delivery.max_payload_bytes",
                "must be 1 to 67108864 (64 MiB)",
            ));
        }
        if d.concurrency == 0 {
            return Err(Error::invalid("delivery.concurrency", "must be at least 1"));
        }
        if d.give_up_after_ms < 1 {
            return Err(Error::invalid(
                "delivery.give_up_after_ms",
                "must be at least 1 ms (default 21 days)",
            ));
        }
        if d.retry_base_ms == 0 {
            return Err(Error::invalid(
                "delivery.retry_base_ms",
                "must be at least 1",
            ));
        }
        if d.retry_max_ms < d.retry_base_ms {
            return Err(Error::invalid(
                "delivery.retry_max_ms",
                "must be at least delivery.retry_base_ms",
            ));
        }
        if self.tls.max_connections == 0 {
            return Err(Error::invalid("tls.max_connections", "must be at least 1"));
        }
        for (field, value) in [
            ("tls.keepalive_secs", self.tls.keepalive_secs),
            (
                "tls.keepalive_timeout_secs",
                self.tls.keepalive_timeout_secs,
            ),
            (
                "tls.max_connection_age_secs",
                self.tls.max_connection_age_secs,
            ),
            ("tls.request_timeout_secs", self.tls.request_timeout_secs),
            (
                "tls.max_concurrent_streams",
                u64::from(self.tls.max_concurrent_streams),
            ),
            (
                "tls.max_parallel_fetches_per_peer",
                self.tls.max_parallel_fetches_per_peer as u64,
            ),
        ] {
            if value == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if self.peers.inbox_quota_messages < 1 {
            return Err(Error::invalid(
                "peers.inbox_quota_messages",
                "must be at least 1",
            ));
        }
        if self.peers.inbox_quota_bytes < 1 {
            return Err(Error::invalid(
                "peers.inbox_quota_bytes",
                "must be at least 1",
            ));
        }
        if !(1..=24 * 60 * 60).contains(&self.peers.refusal_audit_interval_secs) {
            return Err(Error::invalid(
                "peers.refusal_audit_interval_secs",
                "must be 1-86400",
            ));
        }
        self.handover.validate()?;
        self.caseplan.validate()?;
        self.support.validate()?;
        if self.purge_interval_secs == 0 {
            return Err(Error::invalid("purge_interval_secs", "must be at least 1"));
        }
        // Retention overrides are checked against the registry when the node
        // composes its slices (crate::slices::registry).
        if self.directory.refresh_secs == 0 {
            return Err(Error::invalid(
                "directory.refresh_secs",
                "must be at least 1",
            ));
        }
        if self.directory.max_age_secs <= self.directory.refresh_secs {
            return Err(Error::invalid(
                "directory.max_age_secs",
                "must be longer than directory.refresh_secs",
            ));
        }
        Ok(())
    }

    /// Makes the relative paths of a config read from `file` relative to the
    /// directory that holds `file` (absolute), not to wherever the command
    /// runs: an operator command pointed at a node's directory from
    /// elsewhere finds that node's database, not a new one beside it.
    pub fn resolve_paths(&mut self, file: &Path) -> Result<()> {
        let base = std::path::absolute(file.parent().unwrap_or(Path::new(".")))
            .map_err(|e| Error::Config(format!("{}: {e}", file.display())))?;
        self.data_dir = resolve_against(&base, &self.data_dir);
        self.credentials_dir = self
            .credentials_dir
            .as_deref()
            .map(|p| resolve_against(&base, p));
        self.database_url_file = self
            .database_url_file
            .as_deref()
            .map(|p| resolve_against(&base, p));
        self.directory.file = self
            .directory
            .file
            .as_deref()
            .map(|p| resolve_against(&base, p));
        Ok(())
    }

    pub fn credentials_dir(&self) -> PathBuf {
        self.credentials_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("credentials"))
    }

    pub fn delivery_config(&self) -> DeliveryConfig {
        let d = &self.delivery;
        DeliveryConfig {
            retry: RetryPolicy {
                base_ms: d.retry_base_ms,
                max_ms: d.retry_max_ms,
                give_up_after_ms: d.give_up_after_ms,
                ack_timeout_ms: d.ack_timeout_ms,
            },
            batch: d.batch,
            concurrency: d.concurrency,
            poll_interval: Duration::from_millis(d.poll_ms),
        }
    }

    /// What one sender may have pending in this node's inbox.
    pub fn inbox_quota(&self) -> carenet_fabric::store::inbox::InboxQuota {
        carenet_fabric::store::inbox::InboxQuota {
            rows: self.peers.inbox_quota_messages,
            bytes: self.peers.inbox_quota_bytes,
        }
    }

    /// How long refused calls are counted into one audit record.
    pub fn refusal_interval_ms(&self) -> i64 {
        (self.peers.refusal_audit_interval_secs as i64).saturating_mul(1000)
    }

    pub fn tls_limits(&self) -> TlsLimits {
        TlsLimits {
            handshake_timeout: Duration::from_millis(self.tls.handshake_timeout_ms),
            max_connections: self.tls.max_connections,
        }
    }
}

fn check_endpoint(field: &str, value: &str) -> Result<()> {
    let ok = value
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "must be host:port"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    const VALID: &str = r#"
party = "vo-1"
listen = "127.0.0.1:7001"
data_dir = "/tmp/x"
[directory]
swv_party = "swv"
swv_endpoint = "127.0.0.1:7000"
"#;

    #[test]
    fn file_is_layered_over_defaults() {
        let (_d, path) = write(VALID);
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.party, "vo-1");
        assert_eq!(c.delivery.batch, DeliveryConfig::default().batch);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let (_d, path) = write(&format!("{VALID}\nretries = 3\n"));
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("retries"), "{err}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let (_d, path) = write(&VALID.replace("127.0.0.1:7001", "nowhere"));
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("listen"), "{err}");
    }

    #[test]
    fn peer_limits_come_from_the_file_and_are_checked() {
        let (_d, path) = write(&format!(
            "{VALID}\n[peers]\ninbox_quota_messages = 5\nrefusal_audit_interval_secs = 10\n"
        ));
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.inbox_quota().rows, 5);
        assert_eq!(c.inbox_quota().bytes, defaults::inbox_quota_bytes());
        assert_eq!(c.refusal_interval_ms(), 10_000);
        let (_d, path) = write(&format!("{VALID}\n[peers]\ninbox_quota_bytes = 0\n"));
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("peers.inbox_quota_bytes"), "{err}");
    }

    #[test]
    fn database_url_is_redacted_in_debug() {
        let c = NodeConfig {
            database_url: Some("postgres://u:secret@h/db".into()),
            ..NodeConfig::default()
        };
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn shipped_example_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/local");
        for name in ["swv.toml", "vo.toml"] {
            NodeConfig::load(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
