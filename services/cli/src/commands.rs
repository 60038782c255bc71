//! The operator commands: trust anchor, node, region status, audit, outbox.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use carenet_fabric::ca::{PartySpec, RegionCa};
use carenet_fabric::credentials::Credentials;
use carenet_fabric::store::Store;
use carenet_fabric::tls::{self, NodeTls};
use carenet_fabric::{PartyId, PartyKind};
use carenet_node::NodeConfig;
use carenet_node::region::RegionFile;
use carenet_proto::v1;
use clap::Subcommand;

use crate::target::TargetArgs;

#[derive(Subcommand)]
pub enum CaCommand {
    /// Create the region trust anchor.
    Init {
        #[arg(long)]
        region: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Answer a party's join request (from `carenet keys init`): issue its
    /// certificate into --out and enter it, with its signing key, in the
    /// directory. The CA never sees the party's private keys.
    Sign {
        #[arg(long)]
        ca_dir: PathBuf,
        /// The party's join-request.toml.
        #[arg(long)]
        request: PathBuf,
        #[command(flatten)]
        entry: EntryArgs,
        /// Folder for the certificate and the trust anchor (to send back).
        #[arg(long)]
        out: PathBuf,
    },
    /// Convenience for a demo or a party's own test region: `keys init` and
    /// `ca sign` in one step, the keys made in --out.
    Issue {
        #[arg(long)]
        ca_dir: PathBuf,
        #[arg(long)]
        party: String,
        #[command(flatten)]
        entry: EntryArgs,
        /// Folder for the party's credentials.
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a party's certificate and publish a new CRL and directory.
    Revoke {
        #[arg(long)]
        ca_dir: PathBuf,
        #[arg(long)]
        party: String,
    },
    /// Re-sign the directory and the CRL (run daily: nodes trust a directory
    /// for `directory.max_age_secs`, default 7 days).
    Publish {
        #[arg(long)]
        ca_dir: PathBuf,
        /// How long each CRL is valid from now on (default 30 days).
        #[arg(long)]
        crl_validity_secs: Option<u64>,
    },
}

/// What the directory says of a party, beside its id and keys.
#[derive(clap::Args)]
pub struct EntryArgs {
    /// po_school, vo_school, swv, zat_partner or vervolg.
    #[arg(long)]
    kind: String,
    /// For a zat_partner: jgz, smw, leerplicht, jeugdzorg, ggz, mee, cjg, politie.
    #[arg(long)]
    discipline: Option<String>,
    #[arg(long)]
    name: String,
    /// host:port of the party's node.
    #[arg(long)]
    endpoint: String,
}

impl EntryArgs {
    fn spec(self, id: PartyId) -> anyhow::Result<PartySpec> {
        Ok(PartySpec {
            id,
            kind: PartyKind::parse("--kind", &self.kind)?,
            discipline: self.discipline,
            name: self.name,
            endpoint: self.endpoint,
        })
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Generate this party's TLS and signing keys (0600) and the join request
    /// to send to the region CA (`carenet ca sign --request`).
    Init {
        #[arg(long)]
        party: String,
        /// The party's credentials folder.
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn keys(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Init { party, out } => {
            carenet_fabric::keys::init(&out, &PartyId::parse("--party", &party)?)?;
            println!(
                "keys for {party} in {}; send {} to the region CA",
                out.display(),
                out.join(carenet_fabric::keys::REQUEST_FILE).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ca(command: CaCommand) -> anyhow::Result<ExitCode> {
    match command {
        CaCommand::Sign {
            ca_dir,
            request,
            entry,
            out,
        } => {
            let request = carenet_fabric::keys::JoinRequest::load(&request)?;
            let mut ca = RegionCa::open(&ca_dir)?;
            let spec = entry.spec(PartyId::parse("request.party", &request.party)?)?;
            ca.sign_request(&request, &spec, &out)?;
            println!(
                "signed {} ({}): certificate in {}",
                request.party,
                spec.kind.as_str(),
                out.display()
            );
        }
        CaCommand::Init { region, out } => {
            let ca = RegionCa::init(&out, &region)?;
            println!("region {} trust anchor in {}", ca.region(), out.display());
            println!("directory: {}", ca.directory_path().display());
        }
        CaCommand::Issue {
            ca_dir,
            party,
            entry,
            out,
        } => {
            let mut ca = RegionCa::open(&ca_dir)?;
            let spec = entry.spec(PartyId::parse("--party", &party)?)?;
            ca.issue(&spec, &out)?;
            println!(
                "issued {party} ({}) into {}",
                spec.kind.as_str(),
                out.display()
            );
        }
        CaCommand::Revoke { ca_dir, party } => {
            let mut ca = RegionCa::open(&ca_dir)?;
            ca.revoke(&PartyId::parse("--party", &party)?)?;
            println!("revoked {party}; new CRL and directory published");
        }
        CaCommand::Publish {
            ca_dir,
            crl_validity_secs,
        } => {
            let mut ca = RegionCa::open(&ca_dir)?;
            ca.publish_now(crl_validity_secs)?;
            println!(
                "directory and CRL re-signed: {}",
                ca.directory_path().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn node(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = NodeConfig::load(config_path)?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    carenet_node::run(config, listener, crate::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn gateway(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = carenet_gateway::GatewayConfig::load(config_path)?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let public = config.public_url.clone();
    let state = carenet_gateway::build(config).await?;
    println!("gateway: {public}");
    carenet_gateway::serve(state, listener, crate::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Subcommand)]
pub enum RegionCommand {
    /// Each party of a demo region with its health; exit 0 only if all are serving.
    Status {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

pub async fn region(command: RegionCommand) -> anyhow::Result<ExitCode> {
    let RegionCommand::Status { data_dir } = command;
    let region = RegionFile::load(&data_dir)?;
    let mut all = true;
    for p in &region.parties {
        let config = region.node_config(&p.id)?;
        let state = match check_health(&config, &p.id, &p.address).await {
            Ok(true) => "serving",
            Ok(false) => {
                all = false;
                "not serving"
            }
            Err(_) => {
                all = false;
                "unreachable"
            }
        };
        println!("{:<20} {:<12} {:<22} {state}", p.id, p.kind, p.address);
    }
    Ok(if all {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Asks a node's gRPC health service over mTLS, as the party itself.
pub async fn check_health(config: &NodeConfig, party: &str, address: &str) -> anyhow::Result<bool> {
    let creds = Credentials::load(&config.credentials_dir())?;
    let tls = NodeTls::new(creds, &[])?;
    let channel = tls::channel(
        &tls,
        &PartyId::parse("party", party)?,
        address,
        None,
        Duration::from_secs(3),
    )?;
    let response = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(response.into_inner().status
        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain, then compare its end with the latest checkpoint
    /// the SWV holds of this node; names the first broken record or a log
    /// cut short. Exit 0 when both hold, 1 when broken, 2 when the SWV could
    /// not be asked (then --offline checks the chain alone).
    Verify {
        #[command(flatten)]
        target: TargetArgs,
        /// Check the chain alone (a log cut short at its end is not found).
        #[arg(long)]
        offline: bool,
    },
    /// Compare this node's records of the messages exchanged with another
    /// party with that party's records (its Audit.ListShared), message by
    /// message. Exit 0 when they agree, 1 when they differ.
    Compare {
        #[command(flatten)]
        target: TargetArgs,
        /// The other party's id.
        #[arg(long)]
        with: String,
    },
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { target, offline } => verify(&target, offline).await,
        AuditCommand::Compare { target, with } => compare(&target, &with).await,
    }
}

async fn verify(target: &TargetArgs, offline: bool) -> anyhow::Result<ExitCode> {
    let store = target.open().await?;
    let result = carenet_fabric::audit::verify(&store.db).await?;
    let n = match result {
        Ok(n) => n,
        Err(broken) => {
            store.db.close().await;
            println!("broken: {broken}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if offline {
        store.db.close().await;
        println!(
            "ok: {n} records (the chain only: --offline does not find a log cut short at its end)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let checked = against_checkpoint(target, &store).await;
    store.db.close().await;
    match checked {
        Ok(Checkpoint::Matches { matched, latest }) => {
            let held = if matched == 1 {
                "the checkpoint the SWV holds matches".to_owned()
            } else {
                format!("the {matched} checkpoints the SWV holds match")
            };
            println!("ok: {n} records; {held} (the latest of record {latest})");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Checkpoint::None) => {
            println!("ok: {n} records; the SWV holds no checkpoint of this node yet");
            Ok(ExitCode::SUCCESS)
        }
        Ok(Checkpoint::IsSwv) => {
            println!(
                "ok: {n} records; this node is the SWV, which holds the checkpoints (its own log is checked by its chain)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Ok(Checkpoint::Broken(why)) => {
            println!("broken: {why}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            println!(
                "ok: {n} records, but not confirmed against the SWV's checkpoint: {e:#} (--offline checks the chain alone)"
            );
            Ok(ExitCode::from(2))
        }
    }
}

enum Checkpoint {
    Matches { matched: usize, latest: u64 },
    None,
    IsSwv,
    Broken(String),
}

/// The node's config and cached directory, to call other parties with its
/// own credentials.
struct Reach {
    config: NodeConfig,
    directory: std::sync::Arc<carenet_fabric::directory::Directory>,
}

impl Reach {
    fn of(target: &TargetArgs) -> anyhow::Result<Self> {
        let Some(config) = target.node_config()? else {
            anyhow::bail!(
                "asking another party needs the node's data directory (or a region's with --party)"
            );
        };
        let Some(directory) = target.cached_directory()? else {
            anyhow::bail!("the node has no cached directory yet: run it once");
        };
        Ok(Self { config, directory })
    }

    fn channel(&self, party: &str, endpoint: &str) -> anyhow::Result<tonic::transport::Channel> {
        let snapshot = self.directory.snapshot();
        let tls = NodeTls::new(
            Credentials::load(&self.config.credentials_dir())?,
            &snapshot.crls,
        )?;
        let pin = snapshot.get(party).map(|e| e.spki_sha256);
        Ok(tls::channel(
            &tls,
            &PartyId::parse("party", party)?,
            endpoint,
            pin,
            Duration::from_secs(5),
        )?)
    }
}

async fn against_checkpoint(target: &TargetArgs, store: &Store) -> anyhow::Result<Checkpoint> {
    let reach = Reach::of(target)?;
    let party = store.party.as_str();
    // Who this node is, and its signing key, as the region's directory says.
    let Some(me) = reach.directory.get(party) else {
        anyhow::bail!("{party} is not in the node's cached directory");
    };
    if me.kind == PartyKind::Swv {
        return Ok(Checkpoint::IsSwv);
    }
    let swv = reach.config.directory.swv_party.clone();
    let mut client = v1::audit_client::AuditClient::new(
        reach.channel(&swv, &reach.config.directory.swv_endpoint)?,
    );
    // Every checkpoint, not only the latest: a log cut and grown again past
    // a checkpoint differs at the older one.
    const PAGE: u32 = 1000;
    let (mut after, mut matched, mut latest) = (0u64, 0usize, None);
    loop {
        let page = client
            .list_checkpoints(v1::ListCheckpointsRequest {
                after_seq: after,
                limit: PAGE,
            })
            .await?
            .into_inner()
            .checkpoints;
        let done = page.len() < PAGE as usize;
        for stored in &page {
            let checkpoint =
                match carenet_fabric::checkpoint::verify(party, &me.signing_key, &swv, stored) {
                    Ok(c) => c,
                    Err(e) => {
                        return Ok(Checkpoint::Broken(format!(
                            "a checkpoint the SWV holds does not verify: {e}"
                        )));
                    }
                };
            if let Err(why) = carenet_fabric::checkpoint::compare(store, &checkpoint).await? {
                return Ok(Checkpoint::Broken(why));
            }
            after = checkpoint.seq;
            latest = Some(checkpoint.seq);
            matched += 1;
        }
        if done {
            break;
        }
    }
    Ok(match latest {
        Some(latest) => Checkpoint::Matches { matched, latest },
        None => Checkpoint::None,
    })
}

/// This node's audit records that name `them`, all pages.
async fn shared_with(store: &Store, them: &str) -> anyhow::Result<Vec<v1::AuditRecord>> {
    const PAGE: i64 = 1000;
    let mut mine = Vec::new();
    loop {
        let after = mine.last().map_or(0, |r: &v1::AuditRecord| r.seq as i64);
        let page = carenet_fabric::audit::list_shared(&store.db, them, after, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        mine.extend(page);
        if done {
            return Ok(mine);
        }
    }
}

/// The other party's audit records that name this node (its ListShared).
async fn their_records(
    reach: &Reach,
    them: &str,
    endpoint: &str,
) -> anyhow::Result<Vec<v1::AuditRecord>> {
    const PAGE: u32 = 1000;
    let mut client = v1::audit_client::AuditClient::new(reach.channel(them, endpoint)?);
    let mut theirs = Vec::new();
    loop {
        let after = theirs.last().map_or(0, |r: &v1::AuditRecord| r.seq);
        let page = client
            .list_shared(v1::ListSharedRequest {
                after_seq: after,
                limit: PAGE,
            })
            .await?
            .into_inner()
            .records;
        let done = page.len() < PAGE as usize;
        theirs.extend(page);
        if done {
            return Ok(theirs);
        }
    }
}

async fn compare(target: &TargetArgs, with: &str) -> anyhow::Result<ExitCode> {
    let them = PartyId::parse("--with", with)?;
    let reach = Reach::of(target)?;
    let Some(entry) = reach.directory.get(them.as_str()) else {
        anyhow::bail!("--with: {them} is not in the directory");
    };
    // Ours before theirs and again after, so that a message moving on
    // meanwhile is not a false difference (see audit::compare).
    let store = target.open().await?;
    let mine_before = shared_with(&store, them.as_str()).await;
    let theirs = their_records(&reach, them.as_str(), &entry.endpoint).await;
    let mine_after = shared_with(&store, them.as_str()).await;
    store.db.close().await;
    let (mine_before, theirs, mine_after) = (mine_before?, theirs?, mine_after?);
    let result = carenet_fabric::audit::compare(them.as_str(), &mine_before, &theirs, &mine_after);
    for id in &result.in_flight {
        println!("in flight: message {id} (received there, its receipt not yet recorded here)");
    }
    for d in &result.differences {
        println!("differs: {d}");
    }
    if result.differences.is_empty() {
        println!("agree: {} messages with {them}", result.agreed);
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{} differences, {} messages agree",
            result.differences.len(),
            result.agreed
        );
        Ok(ExitCode::FAILURE)
    }
}

#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Messages in the outbox, oldest first.
    List {
        #[command(flatten)]
        target: TargetArgs,
        /// Only this state: pending, notified, delivered, dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Queue dead-lettered messages again (all, or the ids given).
    Resend {
        #[command(flatten)]
        target: TargetArgs,
        #[arg(long = "id")]
        ids: Vec<String>,
    },
}

pub async fn outbox(command: OutboxCommand) -> anyhow::Result<ExitCode> {
    match command {
        OutboxCommand::List {
            target,
            state,
            limit,
        } => {
            if let Some(s) = &state
                && !["pending", "notified", "delivered", "dead"].contains(&s.as_str())
            {
                anyhow::bail!("--state: must be pending, notified, delivered or dead");
            }
            let store = target.open().await?;
            println!(
                "{:<36}  {:<20} {:<24} {:<9} {:>8}  last error",
                "message", "recipient", "type", "state", "attempts"
            );
            for item in store.list_outbox(state.as_deref(), limit).await? {
                println!(
                    "{:<36}  {:<20} {:<24} {:<9} {:>8}  {}",
                    item.message_id,
                    item.recipient,
                    item.document_type,
                    item.state,
                    item.attempts,
                    item.last_error.unwrap_or_default()
                );
            }
            store.db.close().await;
        }
        OutboxCommand::Resend { target, ids } => {
            let store = target.open().await?;
            let ids = ids
                .iter()
                .enumerate()
                .map(|(i, id)| {
                    carenet_fabric::envelope::parse_message_id(&format!("--id[{i}]"), id)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let n = store
                .resend((!ids.is_empty()).then_some(ids.as_slice()), "operator")
                .await?;
            store.db.close().await;
            println!("requeued {n} messages");
        }
    }
    Ok(ExitCode::SUCCESS)
}
