//! `carenet bench exchange`: full notified-pull deliveries between two real
//! nodes (durable on both sides) against a plain gRPC echo over the same mTLS
//! stack, in one process and one run.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use carenet_fabric::store::create_postgres_database;
use carenet_fabric::store::outbox::NewMessage;
use carenet_fabric::tls::{self, NodeTls};
use carenet_fabric::{PartyId, PartyKind, credentials::Credentials};
use carenet_node::region::{self, PartyPlan, RegionFile};
use carenet_node::{Node, NodeConfig, NodeHandle};
use carenet_proto::v1;
use clap::Subcommand;
use futures::StreamExt;
use tokio::sync::watch;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Deliveries per second between two nodes, and the raw mTLS echo rate.
    Exchange {
        #[arg(long, default_value_t = 5000)]
        messages: usize,
        #[arg(long, default_value_t = 10)]
        payload_kb: usize,
        /// Run both nodes on fresh databases of this PostgreSQL server.
        #[arg(long)]
        database_url: Option<String>,
        /// Calls (echo) in flight at once; a quarter of it is the number of
        /// delivery batches each node keeps in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Messages per Notify / Fetch / Acknowledge call.
        #[arg(long, default_value_t = 64)]
        batch: usize,
    },
    /// Transfer dossiers: OSO import of the standard's full POVO example,
    /// release and delivery to a secondary school, per dossier.
    Handover {
        #[arg(long, default_value_t = 200)]
        dossiers: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// One child, one plan: a member's view assembled from a node holding
    /// 10,000 plans, and a partner's progress until the coordinator sees it.
    Caseplan {
        #[arg(long, default_value_t = 10_000)]
        cases: usize,
        /// Plans with a JGZ member: views assembled and progress reported.
        #[arg(long, default_value_t = 200)]
        samples: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The SWV's region overview over the requests of a whole region.
    Support {
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        #[arg(long, default_value_t = 60)]
        schools: usize,
        /// Overview reads timed.
        #[arg(long, default_value_t = 200)]
        reads: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// The web UI under load: concurrent staff sessions on a secondary
    /// school's gateway, each opening the season view and a classroom
    /// digest in turn; p50/p99 per page.
    Gateway {
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Season views and digests each session opens.
        #[arg(long, default_value_t = 40)]
        rounds: usize,
        /// Dossiers the school received this season.
        #[arg(long, default_value_t = 150)]
        pupils: usize,
        /// Mean pause between a session's page views, in ms (each pause
        /// drawn from 50-150% of it); 0 fires them back to back.
        #[arg(long, default_value_t = 1000)]
        think_ms: u64,
        /// Run the nodes on fresh databases of this PostgreSQL server.
        #[arg(long)]
        database_url: Option<String>,
    },
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Exchange {
            messages,
            payload_kb,
            database_url,
            concurrency,
            batch,
        } => exchange(messages, payload_kb, database_url, concurrency, batch).await,
        BenchCommand::Handover {
            dossiers,
            database_url,
        } => crate::bench_handover::run(dossiers, database_url.as_deref()).await,
        BenchCommand::Caseplan {
            cases,
            samples,
            database_url,
        } => crate::bench_caseplan::run(cases, samples, database_url.as_deref()).await,
        BenchCommand::Support {
            requests,
            schools,
            reads,
            database_url,
        } => crate::bench_support::run(requests, schools, reads, database_url.as_deref()).await,
        BenchCommand::Gateway {
            sessions,
            rounds,
            pupils,
            think_ms,
            database_url,
        } => {
            crate::bench_gateway::run(sessions, rounds, pupils, think_ms, database_url.as_deref())
                .await
        }
    }
}

async fn exchange(
    messages: usize,
    payload_kb: usize,
    database_url: Option<String>,
    concurrency: usize,
    batch: usize,
) -> anyhow::Result<ExitCode> {
    if messages == 0 || concurrency == 0 {
        bail!("--messages and --concurrency must be at least 1");
    }
    if batch == 0 || batch > carenet_fabric::exchange::MAX_FETCH_IDS {
        bail!("--batch: must be 1-256");
    }
    let plans = vec![
        PartyPlan::new("swv-bench", PartyKind::Swv, "Bench SWV"),
        PartyPlan::new("po-bench", PartyKind::PoSchool, "Bench PO"),
    ];
    let bench = BenchRegion::start(plans, database_url.as_deref(), |config| {
        config.delivery.concurrency = concurrency.div_ceil(4).max(1);
        config.delivery.poll_ms = 50;
        config.delivery.batch = batch;
    })
    .await?;
    let (region, addresses, handles) = (&bench.region, &bench.addresses, &bench.handles);
    let payload = vec![0x5au8; payload_kb * 1024];

    // (a) raw echo over the same mTLS, as the sender, to the receiver.
    let sender_cfg = region.node_config("po-bench")?;
    let tls = NodeTls::new(Credentials::load(&sender_cfg.credentials_dir())?, &[])?;
    let channel = tls::channel(
        &tls,
        &PartyId::parse("p", "swv-bench")?,
        &addresses[0],
        None,
        Duration::from_secs(10),
    )?;
    let client = v1::bench_client::BenchClient::new(channel)
        .max_decoding_message_size(carenet_node::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(carenet_node::MAX_MESSAGE_BYTES);
    client
        .clone()
        .echo(v1::EchoMessage {
            payload: payload.clone(),
        })
        .await?;
    let start = Instant::now();
    let results: Vec<Result<_, tonic::Status>> = futures::stream::iter(0..messages)
        .map(|_| {
            let mut c = client.clone();
            let p = payload.clone();
            async move { c.echo(v1::EchoMessage { payload: p }).await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let echo_secs = start.elapsed().as_secs_f64();
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        bail!("echo failed: {e}");
    }
    let echo_rate = messages as f64 / echo_secs;

    // (b) full deliveries: queue, notify, fetch, verify, store, receipt, audit.
    let sender = &handles[1];
    let receiver = PartyId::parse("p", "swv-bench")?;
    let start = Instant::now();
    for chunk_start in (0..messages).step_by(256) {
        let n = (messages - chunk_start).min(256);
        let batch: Vec<NewMessage> = (0..n)
            .map(|i| NewMessage {
                recipient: receiver.clone(),
                document_type: "bench.document".into(),
                document_id: format!("bench-{}", chunk_start + i),
                version: 1,
                purpose: "bench".into(),
                legal_basis: v1::LegalBasis {
                    kind: v1::LegalBasisKind::StatutoryTask as i32,
                    reference: "bench".into(),
                    consent_receipt: Vec::new(),
                },
                payload: payload.clone(),
                actor: "bench".into(),
                child_ref: None,
            })
            .collect();
        sender.send(&batch).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let delivered = sender.store.outbox_count("delivered").await? as usize;
        if delivered >= messages {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {delivered} of {messages} delivered in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exchange_secs = start.elapsed().as_secs_f64();
    let exchange_rate = messages as f64 / exchange_secs;
    let latencies = sender.store.delivery_latencies_ms().await?;
    let pct = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    let received = handles[0].store.inbox_received_count().await?;
    if received as usize != messages {
        bail!("receiver holds {received} messages, expected {messages}");
    }

    bench.stop().await?;
    let backend = if database_url.is_some() {
        "postgresql"
    } else {
        "sqlite"
    };
    println!(
        "setup: {messages} messages of {payload_kb} KB, {backend}, echo concurrency {concurrency}, \
         delivery batch {batch} x {} in flight per node",
        concurrency.div_ceil(4).max(1)
    );
    println!(
        "exchange: {:.0}/s p50 {} ms p99 {} ms; raw mtls echo: {:.0}/s; ratio {:.3}",
        exchange_rate,
        pct(0.50),
        pct(0.99),
        echo_rate,
        exchange_rate / echo_rate
    );
    Ok(ExitCode::SUCCESS)
}

/// A small region of real nodes in this process, on fresh databases.
pub(crate) struct BenchRegion {
    _dir: tempfile::TempDir,
    pub region: RegionFile,
    pub addresses: Vec<String>,
    /// In the order of the plans.
    pub handles: Vec<NodeHandle>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<carenet_node::Result<()>>>,
}

impl BenchRegion {
    pub async fn start(
        plans: Vec<PartyPlan>,
        database_url: Option<&str>,
        tune: impl Fn(&mut NodeConfig),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("carenet-bench-")
            .tempdir()?;
        let mut listeners = Vec::new();
        let mut addresses = Vec::new();
        for _ in &plans {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            addresses.push(l.local_addr()?.to_string());
            listeners.push(l);
        }
        let urls = match database_url {
            Some(admin) => {
                let tag = std::process::id();
                let mut urls = Vec::new();
                for p in &plans {
                    let name = format!(
                        "carenet_bench_{}_{tag}_{}",
                        p.id.replace('-', "_"),
                        fastish_suffix()
                    );
                    urls.push(create_postgres_database(admin, &name).await?);
                }
                Some(urls)
            }
            None => None,
        };
        let region = region::create(dir.path(), "bench", &plans, &addresses, urls.as_deref())?;
        let (stop, stop_rx) = watch::channel(false);
        let mut handles = Vec::new();
        let mut tasks = Vec::new();
        for (p, listener) in region.parties.iter().zip(listeners) {
            let mut config = region.node_config(&p.id)?;
            tune(&mut config);
            let mut slices = carenet_node::slices::standard(&config);
            slices.push(std::sync::Arc::new(BenchSlice));
            let node = Node::build_with(config, slices).await?;
            handles.push(node.handle());
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(node.serve(listener, async move {
                let _ = rx.wait_for(|s| *s).await;
            })));
        }
        Ok(Self {
            _dir: dir,
            region,
            addresses,
            handles,
            stop,
            tasks,
        })
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.await.context("node task")??;
        }
        Ok(())
    }
}

fn fastish_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    )
}

/// The benchmark's own slice, composed only into benchmark nodes: its
/// document type and the raw echo service the exchange is compared with.
struct BenchSlice;

static BENCH_TYPES: &[carenet_fabric::slice::DocumentType] =
    &[carenet_fabric::slice::DocumentType {
        name: "bench.document",
        purposes: &["bench"],
        legal_bases: &[v1::LegalBasisKind::StatutoryTask],
        statutory_tasks: &["bench"],
        flows: &carenet_fabric::slice::ALL_FLOWS,
        retention_days: 1,
        retention_clock: carenet_fabric::slice::RetentionClock::Delivery,
        categories: &[],
    }];

static BENCH_RPCS: &[carenet_fabric::slice::RpcRule] = &[carenet_fabric::slice::RpcRule {
    path: "/carenet.v1.Bench/Echo",
    kinds: carenet_fabric::slice::EVERY_KIND,
}];

impl carenet_fabric::slice::Slice for BenchSlice {
    fn name(&self) -> &'static str {
        "bench"
    }
    fn document_types(&self) -> &'static [carenet_fabric::slice::DocumentType] {
        BENCH_TYPES
    }
    fn rpcs(&self) -> &'static [carenet_fabric::slice::RpcRule] {
        BENCH_RPCS
    }
    fn services(
        &self,
        _ctx: &carenet_fabric::slice::ServiceContext,
        routes: tonic::service::Routes,
    ) -> tonic::service::Routes {
        routes.add_service(
            v1::bench_server::BenchServer::new(carenet_fabric::exchange::BenchService)
                .max_decoding_message_size(carenet_node::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(carenet_node::MAX_MESSAGE_BYTES),
        )
    }
}
