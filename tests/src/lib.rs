//! Test harness: whole carenet regions on loopback.
//!
//! A region is minted per test (trust anchor, certificates, directory) in a
//! temporary directory; nodes run in-process on loopback ports leased below
//! the kernel's ephemeral range (a restarted node gets its port back), on a
//! temporary SQLite file or, when `TEST_DATABASE_URL` is set,
//! on a fresh PostgreSQL database each. Readiness is awaited by polling a
//! condition with a deadline, never a fixed sleep.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use carenet_fabric::PartyId;
use carenet_fabric::credentials::Credentials;
use carenet_fabric::slice::{ALL_FLOWS, DocumentType, Registry, RetentionClock, Slice};
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::store::{SQLITE_FILE, Store, create_postgres_database};
use carenet_fabric::tls::{self, NodeTls};
use carenet_node::migrations;
use carenet_node::region::{self, PartyPlan, RegionFile};
use carenet_node::{Node, NodeConfig, NodeHandle};
use carenet_proto::v1;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// Delivery tuning for tests: fast retries, short timeouts.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// The retry period before a message is dead-lettered.
    pub give_up_after_ms: i64,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub ack_timeout_ms: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            give_up_after_ms: 10 * 60 * 1000,
            retry_base_ms: 50,
            retry_max_ms: 300,
            ack_timeout_ms: 3000,
        }
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<carenet_node::Result<()>>,
    handle: NodeHandle,
}

pub struct TestRegion {
    pub dir: tempfile::TempDir,
    pub file: RegionFile,
    running: HashMap<String, Running>,
    /// The nodes' ports, held for the region's life.
    _ports: Vec<PortLease>,
}

/// A node's port, held for a test region's life. It lies below the
/// kernel's ephemeral range (32768-60999 here), so no `127.0.0.1:0` bind
/// and no client's source port of any process can take it while the node
/// is stopped for a restart; a lock file keeps the other test processes
/// off it.
struct PortLease {
    port: u16,
    _lock: std::fs::File,
}

/// Leases a free port in 20000-31999 (random, so parallel test processes
/// rarely try the same one; a held lock or a bound port is skipped).
fn lease_port() -> anyhow::Result<PortLease> {
    let dir = std::env::temp_dir().join("carenet-test-ports");
    std::fs::create_dir_all(&dir)?;
    for _ in 0..2000 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(port.to_string()))?;
        if lock.try_lock().is_err() {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        return Ok(PortLease { port, _lock: lock });
    }
    anyhow::bail!("no free test port in 20000-31999")
}

/// The PostgreSQL server to use, if the run is on PostgreSQL.
pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

impl TestRegion {
    /// Creates a region of `plans` and starts the parties in `start`.
    pub async fn create(plans: Vec<PartyPlan>, tuning: Tuning) -> anyhow::Result<Self> {
        init_logs();
        let dir = tempfile::tempdir()?;
        let ports = plans
            .iter()
            .map(|_| lease_port())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let addresses: Vec<String> = ports
            .iter()
            .map(|p| format!("127.0.0.1:{}", p.port))
            .collect();
        let urls = match postgres_url() {
            Some(admin) => {
                let mut urls = Vec::new();
                for _ in &plans {
                    let name = format!("carenet_t_{}", uuid::Uuid::new_v4().simple());
                    urls.push(create_postgres_database(&admin, &name).await?);
                }
                Some(urls)
            }
            None => None,
        };
        let file = region::create(dir.path(), "test", &plans, &addresses, urls.as_deref())?;
        for p in &file.parties {
            let mut config = file.node_config(&p.id)?;
            config.delivery.give_up_after_ms = tuning.give_up_after_ms;
            config.delivery.retry_base_ms = tuning.retry_base_ms;
            config.delivery.retry_max_ms = tuning.retry_max_ms;
            config.delivery.ack_timeout_ms = tuning.ack_timeout_ms;
            config.delivery.poll_ms = 50;
            config.delivery.peer_timeout_ms = 3000;
            config.directory.refresh_secs = 1;
            // Refused calls reach the audit log within about a second.
            config.peers.refusal_audit_interval_secs = 1;
            std::fs::write(&p.config, toml::to_string_pretty(&config)?)?;
        }
        Ok(Self {
            dir,
            file,
            running: HashMap::new(),
            _ports: ports,
        })
    }

    pub fn config(&self, id: &str) -> NodeConfig {
        self.file.node_config(id).expect("party config")
    }

    pub fn config_path(&self, id: &str) -> PathBuf {
        self.file.party(id).expect("party").config.clone()
    }

    pub fn address(&self, id: &str) -> String {
        self.file.party(id).expect("party").address.clone()
    }

    /// Starts a party's node in-process and waits until it answers health checks.
    pub async fn start(&mut self, id: &str) -> anyhow::Result<NodeHandle> {
        self.start_with(id, Vec::new()).await
    }

    /// Starts a party's node with the standard slices, the test slice and
    /// `extra` slices.
    pub async fn start_with(
        &mut self,
        id: &str,
        extra: Vec<Arc<dyn Slice>>,
    ) -> anyhow::Result<NodeHandle> {
        let config = self.config(id);
        let listener = bind_retrying(&config.listen).await?;
        let mut slices = test_slices(&config);
        slices.extend(extra);
        let node = Node::build_with(config, slices).await?;
        let handle = node.handle();
        let (stop, rx) = oneshot::channel();
        let task = tokio::spawn(node.serve(listener, async move {
            let _ = rx.await;
        }));
        self.running.insert(
            id.to_owned(),
            Running {
                stop,
                task,
                handle: handle.clone(),
            },
        );
        let me = self.client_tls(id)?;
        let party = PartyId::parse("id", id)?;
        let address = self.address(id);
        wait_until(Duration::from_secs(20), || async {
            let ch = tls::channel(&me, &party, &address, None, Duration::from_secs(2)).ok()?;
            let resp = tonic_health_check(ch).await.ok()?;
            resp.then_some(())
        })
        .await?;
        Ok(handle)
    }

    pub async fn start_all(&mut self) -> anyhow::Result<()> {
        let ids: Vec<String> = self.file.parties.iter().map(|p| p.id.clone()).collect();
        for id in ids {
            self.start(&id).await?;
        }
        Ok(())
    }

    /// Stops a party's node gracefully and waits until it is down.
    pub async fn stop(&mut self, id: &str) -> anyhow::Result<()> {
        if let Some(r) = self.running.remove(id) {
            let _ = r.stop.send(());
            r.task.await??;
        }
        Ok(())
    }

    pub fn handle(&self, id: &str) -> NodeHandle {
        self.running
            .get(id)
            .expect("node is running")
            .handle
            .clone()
    }

    /// Opens a party's database directly (its node may or may not be running).
    pub async fn open_store(&self, id: &str) -> anyhow::Result<Store> {
        let config = self.config(id);
        let db = match &config.database_url {
            Some(url) => migrations::open_postgres(url).await?,
            None => migrations::open_sqlite(&config.data_dir.join(SQLITE_FILE)).await?,
        };
        Ok(Store::new(db, PartyId::parse("id", id)?, test_registry()))
    }

    /// The TLS setup of a party, to call other nodes as that party.
    pub fn client_tls(&self, id: &str) -> anyhow::Result<NodeTls> {
        let config = self.config(id);
        Ok(NodeTls::new(
            Credentials::load(&config.credentials_dir())?,
            &[],
        )?)
    }

    /// An Exchange client of party `from` to the node of party `to`.
    pub fn exchange_client(
        &self,
        from: &str,
        to: &str,
    ) -> anyhow::Result<v1::exchange_client::ExchangeClient<Channel>> {
        let tls = self.client_tls(from)?;
        let ch = tls::channel(
            &tls,
            &PartyId::parse("to", to)?,
            &self.address(to),
            None,
            Duration::from_secs(5),
        )?;
        Ok(v1::exchange_client::ExchangeClient::new(ch))
    }

    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let ids: Vec<String> = self.running.keys().cloned().collect();
        for id in ids {
            self.stop(&id).await?;
        }
        Ok(())
    }
}

async fn bind_retrying(addr: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) if Instant::now() > deadline => return Err(e.into()),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn tonic_health_check(ch: Channel) -> anyhow::Result<bool> {
    let resp = tonic_health::pb::health_client::HealthClient::new(ch)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(resp.into_inner().status
        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
}

/// Polls `probe` until it yields a value, or fails after `timeout`; the
/// error names the test line that waited (the caller's location), so that a
/// wait that timed out in CI says which one it was.
#[track_caller]
pub fn wait_until<T, F, Fut>(
    timeout: Duration,
    mut probe: F,
) -> impl Future<Output = anyhow::Result<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let at = std::panic::Location::caller();
    async move {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = probe().await {
                return Ok(v);
            }
            if Instant::now() > deadline {
                anyhow::bail!("condition not met within {timeout:?} (the wait at {at})");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The fabric tests' own document type, composed only into test nodes:
/// `test.note`, any kind to any kind, any purpose and basis (what is being
/// tested there is the exchange, consent and audit, not the registry).
pub struct TestSlice;

/// The statutory task test documents travel on (registered by the test slice).
pub const TEST_TASK: &str = "test";

pub static TEST_TYPES: &[DocumentType] = &[
    DocumentType {
        name: "test.note",
        purposes: &[
            "transfer_dossier",
            "discuss_in_izo",
            "refer_to_zat",
            "share_with_partner",
            "support_request",
            "case_membership",
            "feedback_to_sender",
        ],
        legal_bases: &[
            v1::LegalBasisKind::Consent,
            v1::LegalBasisKind::Inspection,
            v1::LegalBasisKind::StatutoryTask,
            v1::LegalBasisKind::SafetyException,
        ],
        statutory_tasks: &[TEST_TASK],
        flows: &ALL_FLOWS,
        retention_days: 730,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    },
    // Kept five years, as care documents are: the retention test's long period.
    DocumentType {
        name: "test.care_note",
        purposes: &["share_with_partner"],
        legal_bases: &[v1::LegalBasisKind::StatutoryTask],
        statutory_tasks: &[TEST_TASK],
        flows: &ALL_FLOWS,
        retention_days: 5 * 365,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    },
];

impl Slice for TestSlice {
    fn name(&self) -> &'static str {
        "test"
    }
    fn document_types(&self) -> &'static [DocumentType] {
        TEST_TYPES
    }
}

/// The standard slices and the test slice.
pub fn test_slices(config: &NodeConfig) -> Vec<Arc<dyn Slice>> {
    let mut slices = carenet_node::slices::standard(config);
    slices.push(Arc::new(TestSlice));
    slices
}

/// The registry of [`test_slices`] with default config.
pub fn test_registry() -> Arc<Registry> {
    let config = NodeConfig::default();
    Arc::new(carenet_node::slices::registry(&config, &test_slices(&config)).expect("test registry"))
}

/// A test document from the sender's side.
pub fn document(to: &str, n: usize, payload: &[u8]) -> NewMessage {
    NewMessage {
        recipient: PartyId::parse("to", to).expect("party id"),
        document_type: "test.note".into(),
        document_id: format!("doc-{n}"),
        version: 1,
        purpose: "share_with_partner".into(),
        legal_basis: v1::LegalBasis {
            kind: v1::LegalBasisKind::StatutoryTask as i32,
            reference: "test".into(),
            consent_receipt: Vec::new(),
        },
        payload: payload.to_vec(),
        actor: "staff-test".into(),
        child_ref: None,
    }
}

/// A document of a type the standard slices register, for tests that run the
/// real `carenet node` binary (which composes no test slice): the receiving
/// school's "read by mentor" status, secondary → primary school, on its
/// statutory basis. Its content is `payload` (the receiver indexes what it
/// cannot read as an unknown status).
pub fn status_document(to: &str, n: usize, payload: &[u8]) -> NewMessage {
    NewMessage {
        document_type: carenet_handover::incoming::STATUS_TYPE.into(),
        purpose: "transfer_dossier".into(),
        legal_basis: v1::LegalBasis {
            kind: v1::LegalBasisKind::StatutoryTask as i32,
            reference: carenet_handover::incoming::STATUS_BASIS_VO.into(),
            consent_receipt: Vec::new(),
        },
        ..document(to, n, payload)
    }
}

/// Waits until the sender's outbox has `n` messages delivered.
#[track_caller]
pub fn wait_delivered(
    store: &Store,
    n: i64,
    timeout: Duration,
) -> impl Future<Output = anyhow::Result<()>> {
    wait_until(timeout, move || async move {
        (store.outbox_count("delivered").await.ok()? >= n).then_some(())
    })
}

/// The path of the `carenet` binary built beside this test binary.
pub fn carenet_bin() -> PathBuf {
    if let Ok(p) = std::env::var("CARENET_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("carenet");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --bin carenet`",
        bin.display()
    );
    bin
}

/// A fresh, migrated database for storage tests: a temporary SQLite file, or a
/// new PostgreSQL database when `TEST_DATABASE_URL` is set. Keep the returned
/// directory alive as long as the store.
pub async fn fresh_store(party: &str) -> anyhow::Result<(tempfile::TempDir, Store)> {
    init_logs();
    let dir = tempfile::tempdir()?;
    let db = match postgres_url() {
        Some(admin) => {
            let name = format!("carenet_t_{}", uuid::Uuid::new_v4().simple());
            migrations::open_postgres(&create_postgres_database(&admin, &name).await?).await?
        }
        None => migrations::open_sqlite(&dir.path().join(SQLITE_FILE)).await?,
    };
    Ok((
        dir,
        Store::new(db, PartyId::parse("party", party)?, test_registry()),
    ))
}

/// A node's database, created and migrated as a node does when it first
/// starts, for tests that run operator commands on it: the arguments that
/// point a command at it (`--data-dir DIR` on SQLite, `--database-url URL` on
/// PostgreSQL). Operator commands never create a database themselves.
pub async fn node_database(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    Ok(match postgres_url() {
        Some(admin) => {
            let name = format!("carenet_t_{}", uuid::Uuid::new_v4().simple());
            let url = create_postgres_database(&admin, &name).await?;
            migrations::open_postgres(&url).await?.close().await;
            vec!["--database-url".into(), url]
        }
        None => {
            migrations::open_sqlite(&dir.join(SQLITE_FILE))
                .await?
                .close()
                .await;
            vec!["--data-dir".into(), dir.display().to_string()]
        }
    })
}

/// A granted consent of a 12-year-old's guardian, recorded on `store`, for
/// `purpose` to the parties `to` and the given categories; returns the record id.
pub async fn granted_consent(
    store: &Store,
    purpose: carenet_consent::Purpose,
    to: &[&str],
    categories: Vec<carenet_consent::Category>,
) -> anyhow::Result<String> {
    let id = asked_consent(store, "pupil-1", purpose, to, categories).await?;
    grant_consent(store, &id).await?;
    Ok(id)
}

/// A consent about `child_ref` (a 12-year-old) asked on `store`, not yet
/// granted; returns the record id.
pub async fn asked_consent(
    store: &Store,
    child_ref: &str,
    purpose: carenet_consent::Purpose,
    to: &[&str],
    categories: Vec<carenet_consent::Category>,
) -> anyhow::Result<String> {
    let today = carenet_fabric::clock::today();
    let consents = carenet_consent::record::ConsentStore::new(store.clone());
    let actor = carenet_fabric::Actor::new(
        store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    let id = consents
        .request(
            &actor,
            &carenet_consent::record::ConsentRequest {
                child_ref: child_ref.into(),
                child_birth_date: today.replace_year(today.year() - 12)?,
                purpose,
                recipients: to
                    .iter()
                    .map(|p| v1::ConsentRecipient {
                        target: Some(v1::consent_recipient::Target::PartyId((*p).into())),
                    })
                    .collect(),
                categories,
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    Ok(id)
}

/// The guardian grants record `id` on `store` (evidence: the portal).
pub async fn grant_consent(store: &Store, id: &str) -> anyhow::Result<()> {
    let today = carenet_fabric::clock::today();
    let consents = carenet_consent::record::ConsentStore::new(store.clone());
    let actor = carenet_fabric::Actor::new(
        store.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )?;
    consents
        .grant(
            &actor,
            id,
            &carenet_consent::record::Decision {
                grantors: vec![v1::Grantor {
                    role: v1::GrantorRole::Guardian as i32,
                    name: "ouder".into(),
                }],
                evidence: v1::Evidence {
                    kind: v1::EvidenceKind::RecordedConversation as i32,
                    recorded_by: String::new(),
                    document_sha256: vec![],
                },
                today,
            },
        )
        .await?;
    Ok(())
}

/// A child process (a `carenet node` or `carenet demo`) killed when the test
/// drops it, also when an assertion fails first: a failed test must not
/// leave a node running, holding its ports, files and inherited locks.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_in_vain_names_the_line_that_waited() {
        let line = line!() + 1;
        let err = wait_until(Duration::ZERO, || async { None::<()> })
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{}:{line}:", file!())), "{err}");
    }
}
