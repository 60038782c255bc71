//! One carenet party node: the fabric's services composed into a gRPC server
//! over mutual TLS, with its delivery worker and directory refresh.
//!
//! [`run`] is the entry point for `carenet node`; tests and the demo use
//! [`Node::build`] and [`Node::serve`] in-process, and [`NodeHandle`] to queue
//! documents.

pub mod config;
pub mod migrations;
pub mod region;
pub mod slices;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use carenet_consent::policy::{ConsentArrival, ConsentPolicy};
use carenet_consent::record::ConsentStore;
use carenet_fabric::delivery::Worker;
use carenet_fabric::directory::Directory;
use carenet_fabric::exchange::{AuditService, DirectoryService, ExchangeContext, ExchangeService};
use carenet_fabric::gate::RpcGateLayer;
use carenet_fabric::peers::Peers;
use carenet_fabric::policy::{ArrivalCheck, ReleasePolicy};
use carenet_fabric::slice::{JobContext, Registry, ServiceContext, Slice};
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::store::{Db, SQLITE_FILE, Store};
use carenet_fabric::tls::{self, NodeTls};
use carenet_fabric::{PartyId, credentials::Credentials};
use carenet_proto::v1;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::transport::Server;

pub use config::NodeConfig;

/// Largest gRPC message a node accepts (the exchange's, the same on both
/// sides of every call).
pub const MAX_MESSAGE_BYTES: usize = carenet_fabric::exchange::MAX_MESSAGE_BYTES;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(String),
}

impl Error {
    pub fn invalid(field: &str, reason: &str) -> Self {
        Error::Fabric(carenet_fabric::Error::invalid(field, reason))
    }
}

/// Opens (and migrates) the database a config names: PostgreSQL, or SQLite
/// in the data dir.
pub async fn open_db(config: &NodeConfig) -> Result<Db> {
    Ok(match &config.database_url {
        Some(url) => migrations::open_postgres(url).await?,
        None => migrations::open_sqlite(&config.data_dir.join(SQLITE_FILE)).await?,
    })
}

/// A node, built and ready to serve.
pub struct Node {
    config: NodeConfig,
    ctx: ExchangeContext,
    tls: Arc<NodeTls>,
    peers: Arc<Peers>,
    slices: Vec<Arc<dyn Slice>>,
    registry: Arc<Registry>,
}

/// What a running node offers the code that composes it.
#[derive(Clone)]
pub struct NodeHandle {
    pub store: Store,
    pub directory: Arc<Directory>,
}

impl NodeHandle {
    /// Queues documents for delivery (the store wakes the worker).
    pub async fn send(&self, messages: &[NewMessage]) -> Result<Vec<String>> {
        Ok(self.store.enqueue(messages).await?)
    }
}

impl Node {
    /// A node of the standard slices ([`slices::standard`]).
    pub async fn build(config: NodeConfig) -> Result<Self> {
        let slices = slices::standard(&config);
        Self::build_with(config, slices).await
    }

    /// A node of the given slices (tests and benchmarks add their own).
    pub async fn build_with(config: NodeConfig, slices: Vec<Arc<dyn Slice>>) -> Result<Self> {
        config.validate()?;
        let registry = Arc::new(slices::registry(&config, &slices)?);
        let party = PartyId::parse("party", &config.party)?;
        carenet_fabric::private_fs::private_dir(&config.data_dir)
            .map_err(|e| Error::Config(format!("data_dir: {e}")))?;
        let creds = Credentials::load(&config.credentials_dir())?;
        if creds.party != party {
            return Err(Error::Config(format!(
                "the certificate is for party {}, the config says {party}",
                creds.party
            )));
        }
        let directory = Arc::new(
            Directory::open(
                creds.ca_public_key.clone(),
                Some(config.data_dir.join("directory.cache")),
            )
            .with_max_age((config.directory.max_age_secs as i64).saturating_mul(1000)),
        );
        if let Some(file) = &config.directory.file {
            directory.install_file(file)?;
        }
        let signing = creds.signing.clone();
        let tls = Arc::new(NodeTls::new(creds, &directory.snapshot().crls)?);
        let db = open_db(&config).await?;
        let peers = Arc::new(Peers::new(
            tls.clone(),
            directory.clone(),
            Duration::from_millis(config.delivery.peer_timeout_ms),
        ));
        let store = Store::new(db, party, registry.clone())
            .with_directory(directory.clone())
            .with_max_payload(config.delivery.max_payload_bytes)
            .with_inbox_quota(config.inbox_quota())
            .with_refusal_interval(config.refusal_interval_ms());
        let store_wake = store.outbox_notify();
        // Releases are decided by the consent service: consent records, the
        // other legal bases, and data minimisation (issue "consent").
        let policy = ConsentPolicy::new(
            ConsentStore::new(store.clone()),
            signing.clone(),
            &config.party,
        );
        let ctx = ExchangeContext {
            store,
            directory,
            policy: Arc::new(policy),
            arrival: Arc::new(ConsentArrival::for_node(signing.public_key())),
            signing,
            wake: store_wake,
        };
        Ok(Self {
            config,
            ctx,
            tls,
            peers,
            slices,
            registry,
        })
    }

    /// Replaces the release policy and the arrival check (the consent service
    /// installs its own).
    pub fn with_policy(
        mut self,
        policy: Arc<dyn ReleasePolicy>,
        arrival: Arc<dyn ArrivalCheck>,
    ) -> Self {
        self.ctx.policy = policy;
        self.ctx.arrival = arrival;
        self
    }

    /// The node's signing key, for services that sign on its behalf.
    pub fn signing_key(&self) -> Arc<carenet_fabric::crypto::SigningKey> {
        self.ctx.signing.clone()
    }

    pub fn handle(&self) -> NodeHandle {
        NodeHandle {
            store: self.ctx.store.clone(),
            directory: self.ctx.directory.clone(),
        }
    }

    /// Serves on `listener` until `shutdown` completes, then stops the worker
    /// and the directory refresh and closes the database.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };

        let (health, health_service) = tonic_health::server::health_reporter();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(carenet_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|e| Error::Reflection(e.to_string()))?;

        let exchange = v1::exchange_server::ExchangeServer::new(
            ExchangeService::new(self.ctx.clone())
                .with_fetch_limit(self.config.tls.max_parallel_fetches_per_peer),
        )
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let audit = v1::audit_server::AuditServer::new(AuditService {
            store: self.ctx.store.clone(),
            directory: self.ctx.directory.clone(),
        });
        let directory_service = self.config.directory.file.as_ref().map(|_| {
            v1::directory_server::DirectoryServer::new(DirectoryService {
                directory: self.ctx.directory.clone(),
            })
        });
        let mut routes = tonic::service::Routes::new(health_service)
            .add_service(reflection)
            .add_service(exchange)
            .add_service(audit);
        if let Some(d) = directory_service.clone() {
            routes = routes.add_service(d);
        }
        let service_ctx = ServiceContext {
            store: self.ctx.store.clone(),
            directory: self.ctx.directory.clone(),
            registry: self.registry.clone(),
        };
        for slice in &self.slices {
            routes = slice.services(&service_ctx, routes);
        }
        // A node without a directory cannot tell who calls it: not serving
        // until it has one (from its cache, the CA file, or the SWV).
        let ready = Readiness {
            health: health.clone(),
            serves_directory: directory_service.is_some(),
        };
        if self.ctx.directory.snapshot().signed.is_empty() {
            ready.not_yet().await;
        } else {
            ready.serving().await;
        }

        let worker = Worker::new(
            self.ctx.clone(),
            self.peers.clone(),
            self.config.delivery_config(),
        );
        let worker_task = tokio::spawn(worker.run(stopped(stop_rx.clone())));
        let refresh_task = tokio::spawn(refresh_directory(
            self.config.clone(),
            self.ctx.directory.clone(),
            self.tls.clone(),
            self.peers.clone(),
            ready,
            stopped(stop_rx.clone()),
        ));

        let purge_task = tokio::spawn(run_jobs(
            self.ctx.store.clone(),
            self.registry.clone(),
            self.slices.clone(),
            Duration::from_secs(self.config.purge_interval_secs),
            stopped(stop_rx.clone()),
        ));

        // Refused calls counted by the gate and the exchange reach the
        // audit chain, one record per party and kind per interval.
        let refusals_task = tokio::spawn(carenet_fabric::refusals::run(
            self.ctx.store.clone(),
            stopped(stop_rx.clone()),
        ));

        let arrival_task = tokio::spawn(run_arrival_jobs(
            self.ctx.store.clone(),
            self.registry.clone(),
            self.slices.clone(),
            stopped(stop_rx.clone()),
        ));

        let incoming = tls::incoming(listener, self.tls.clone(), self.config.tls_limits());
        tracing::info!(party = %self.ctx.store.party, "node serving");
        // Every call passes the gate: the caller's kind must be allowed the
        // RPC by the registry (refusals audited) before a service sees it.
        let gate = RpcGateLayer {
            registry: self.registry.clone(),
            directory: self.ctx.directory.clone(),
            store: self.ctx.store.clone(),
        };
        // No connection is held for ever: keepalive drops dead peers, every
        // connection ends after its maximum age, calls per connection and
        // their duration are bounded.
        let limits = &self.config.tls;
        let served = Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(limits.keepalive_secs)))
            .http2_keepalive_timeout(Some(Duration::from_secs(limits.keepalive_timeout_secs)))
            .max_connection_age(Duration::from_secs(limits.max_connection_age_secs))
            .max_connection_age_grace(Duration::from_secs(limits.request_timeout_secs))
            .max_concurrent_streams(limits.max_concurrent_streams)
            .concurrency_limit_per_connection(limits.max_concurrent_streams as usize)
            .timeout(Duration::from_secs(limits.request_timeout_secs))
            .trace_fn(carenet_fabric::trace_context::server_span)
            .layer(gate)
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await;
        let _ = stop_tx.send(true);
        let _ = worker_task.await;
        let _ = refresh_task.await;
        let _ = purge_task.await;
        let _ = arrival_task.await;
        let _ = refusals_task.await;
        self.ctx.store.db.close().await;
        tracing::info!(party = %self.ctx.store.party, "node stopped");
        Ok(served?)
    }
}

/// Runs every slice's jobs now and then every `interval` (consent expiry,
/// the retention purge, reminders, ...). A failing job is logged and tried
/// again at the next run; the others still run.
async fn run_jobs(
    store: Store,
    registry: Arc<Registry>,
    slices: Vec<Arc<dyn Slice>>,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let jobs: Vec<_> = slices.iter().flat_map(|s| s.jobs()).collect();
    let mut run = 0u64;
    loop {
        for job in &jobs {
            let ctx = JobContext {
                store: store.clone(),
                registry: registry.clone(),
                now_ms: carenet_fabric::clock::now_ms(),
                run,
                interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            };
            match (job.run)(ctx).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(job = job.name, count = n, "job done"),
                Err(e) => tracing::warn!(job = job.name, error = %e, "job failed"),
            }
        }
        run += 1;
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Runs the slices' arrival jobs each time messages were stored in the
/// inbox (and once at start, for what arrived while the node was down).
async fn run_arrival_jobs(
    store: Store,
    registry: Arc<Registry>,
    slices: Vec<Arc<dyn Slice>>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let jobs: Vec<_> = slices.iter().flat_map(|s| s.arrival_jobs()).collect();
    if jobs.is_empty() {
        return;
    }
    let arrived = store.arrival_notify();
    let mut run = 0u64;
    loop {
        for job in &jobs {
            let ctx = JobContext {
                store: store.clone(),
                registry: registry.clone(),
                now_ms: carenet_fabric::clock::now_ms(),
                run,
                interval_ms: 0,
            };
            match (job.run)(ctx).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(job = job.name, count = n, "arrival job done"),
                Err(e) => tracing::warn!(job = job.name, error = %e, "arrival job failed"),
            }
        }
        run += 1;
        tokio::select! {
            _ = &mut shutdown => return,
            _ = arrived.notified() => {}
        }
    }
}

/// The node's health as others see it.
struct Readiness {
    health: tonic_health::server::HealthReporter,
    serves_directory: bool,
}

impl Readiness {
    async fn serving(&self) {
        self.health
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        self.health
            .set_serving::<v1::exchange_server::ExchangeServer<ExchangeService>>()
            .await;
        self.health
            .set_serving::<v1::audit_server::AuditServer<AuditService>>()
            .await;
        if self.serves_directory {
            self.health
                .set_serving::<v1::directory_server::DirectoryServer<DirectoryService>>()
                .await;
        }
    }

    async fn not_yet(&self) {
        self.health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
    }
}

/// Keeps the directory fresh: the SWV node rereads the CA's file, other nodes
/// fetch it from the SWV. On failure the node keeps the directory it has.
async fn refresh_directory(
    config: NodeConfig,
    directory: Arc<Directory>,
    tls: Arc<NodeTls>,
    peers: Arc<Peers>,
    ready: Readiness,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let interval = Duration::from_secs(config.directory.refresh_secs);
    let mut first = true;
    loop {
        if !first {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(interval) => {}
            }
        }
        first = false;
        let result = match &config.directory.file {
            Some(file) => directory.install_file(file),
            None => fetch_directory(&config, &directory, &tls).await,
        };
        match result {
            Ok(true) => {
                let snapshot = directory.snapshot();
                ready.serving().await;
                tracing::info!(version = snapshot.version, "directory updated");
                if let Err(e) = tls.update_crls(&snapshot.crls) {
                    tracing::warn!(error = %e, "cannot apply new crl");
                }
                peers.clear();
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "directory refresh failed; keeping the cached directory")
            }
        }
    }
}

async fn fetch_directory(
    config: &NodeConfig,
    directory: &Directory,
    tls: &NodeTls,
) -> carenet_fabric::Result<bool> {
    let swv = PartyId::parse("directory.swv_party", &config.directory.swv_party)?;
    let pin = directory.get(swv.as_str()).map(|e| e.spki_sha256);
    let channel = tls::channel(
        tls,
        &swv,
        &config.directory.swv_endpoint,
        pin,
        Duration::from_secs(5),
    )?;
    let signed = v1::directory_client::DirectoryClient::new(channel)
        .get(v1::GetDirectoryRequest {
            known_version: directory.snapshot().version,
        })
        .await?
        .into_inner();
    directory.install(&prost::Message::encode_to_vec(&signed))
}

/// Builds a node from `config` and serves it on `listener` until `shutdown`.
pub async fn run(
    config: NodeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    Node::build(config).await?.serve(listener, shutdown).await
}
