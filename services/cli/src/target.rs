//! Which node's database an operator command works on: a node's data
//! directory, a demo region's (with `--party`), or a PostgreSQL URL.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use carenet_fabric::PartyId;
use carenet_fabric::store::{SQLITE_FILE, Store};
use carenet_node::NodeConfig;
use carenet_node::region::{REGION_FILE, RegionFile};

#[derive(clap::Args, Debug)]
pub struct TargetArgs {
    /// A node's data directory, or a demo region's (then also --party).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The party, in a region directory.
    #[arg(long)]
    pub party: Option<String>,
    /// A node's PostgreSQL database.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl TargetArgs {
    pub async fn open(&self) -> anyhow::Result<Store> {
        let (source, party) = self.resolve()?;
        // Operator commands never create or migrate a database: only the
        // node (and the demo) do.
        let db = carenet_node::migrations::open_existing(&source)
            .await
            .context("cannot open the node's database")?;
        let store = Store::new(db, party, carenet_node::slices::standard_registry());
        // Sends are checked against the kinds in the node's cached directory
        // when there is one (otherwise the node checks them before notifying).
        Ok(match self.cached_directory()? {
            Some(directory) => store.with_directory(directory),
            None => store,
        })
    }

    /// The node's cached region directory, if the target is a node's (or a
    /// region's) data directory and the node ran once.
    pub fn cached_directory(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<carenet_fabric::directory::Directory>>> {
        let Some(config) = self.node_config()? else {
            return Ok(None);
        };
        let Ok(creds) = carenet_fabric::credentials::Credentials::load(&config.credentials_dir())
        else {
            return Ok(None);
        };
        let directory = carenet_fabric::directory::Directory::open(
            creds.ca_public_key,
            Some(config.data_dir.join("directory.cache")),
        );
        Ok(if directory.snapshot().signed.is_empty() {
            None
        } else {
            Some(std::sync::Arc::new(directory))
        })
    }

    /// The node's config, when the target is a region (with `--party`) or a
    /// node's data directory.
    pub fn node_config(&self) -> anyhow::Result<Option<NodeConfig>> {
        let Some(dir) = &self.data_dir else {
            return Ok(None);
        };
        if dir.join(REGION_FILE).exists() {
            let Some(party) = &self.party else {
                bail!("{} is a region: name the party with --party", dir.display());
            };
            return Ok(Some(RegionFile::load(dir)?.node_config(party)?));
        }
        let node_toml = dir.join("node.toml");
        Ok(if node_toml.exists() {
            Some(NodeConfig::load(&node_toml)?)
        } else {
            None
        })
    }

    fn resolve(&self) -> anyhow::Result<(String, PartyId)> {
        let named = |p: &Option<String>| -> anyhow::Result<Option<PartyId>> {
            Ok(match p {
                Some(p) => Some(PartyId::parse("--party", p)?),
                None => None,
            })
        };
        if let Some(url) = &self.database_url {
            let party = named(&self.party)?.unwrap_or(PartyId::parse("party", "operator")?);
            return Ok((url.clone(), party));
        }
        let Some(dir) = &self.data_dir else {
            bail!("give --data-dir DIR or --database-url URL");
        };
        if dir.join(REGION_FILE).exists() {
            let Some(party) = &self.party else {
                bail!("{} is a region: name the party with --party", dir.display());
            };
            let config = RegionFile::load(dir)?.node_config(party)?;
            return from_config(&config);
        }
        let node_toml = dir.join("node.toml");
        if node_toml.exists() {
            return from_config(&NodeConfig::load(&node_toml)?);
        }
        let party = named(&self.party)?.unwrap_or(PartyId::parse("party", "operator")?);
        Ok((sqlite_path(dir), party))
    }
}

fn from_config(config: &NodeConfig) -> anyhow::Result<(String, PartyId)> {
    let party = PartyId::parse("party", &config.party)?;
    Ok(match &config.database_url {
        Some(url) => (url.clone(), party),
        None => (sqlite_path(&config.data_dir), party),
    })
}

fn sqlite_path(dir: &Path) -> String {
    dir.join(SQLITE_FILE).display().to_string()
}

/// Who does a staff action from the command line: `--by STAFF --role ROLE`
/// (the role may be given more than once). The party is the target node's.
#[derive(clap::Args, Debug, Clone)]
pub struct ActorArgs {
    /// The staff member's id at the party (never a name).
    #[arg(long = "by")]
    pub by: String,
    /// The staff member's role: mentor, teacher, support_coordinator_po,
    /// care_coordinator, team_lead, zat_member, trajectory_guide,
    /// case_coordinator, swv_staff, intake_coordinator (a follow-up
    /// institution's), study_career_coach (its SLB), admin.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
}

impl ActorArgs {
    /// The actor for `store`'s party; a bad staff id or role names the flag.
    pub fn actor(&self, store: &Store) -> anyhow::Result<carenet_fabric::Actor> {
        let roles = self
            .roles
            .iter()
            .map(|r| carenet_fabric::Role::parse("--role", r))
            .collect::<Result<Vec<_>, _>>()?;
        let actor = carenet_fabric::Actor::new(store.party.clone(), &self.by, roles)
            .map_err(|e| anyhow::anyhow!("--by/--role: {e}"))?;
        Ok(actor)
    }
}
