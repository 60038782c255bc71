//! A whole region on one machine: the trust anchor, every party's credentials,
//! node config and data directory, and `region.toml` listing them. Used by
//! `carenet demo`, the benchmark and the end-to-end tests.

use std::path::{Path, PathBuf};

use carenet_fabric::ca::{DIRECTORY_FILE, PartySpec, RegionCa};
use carenet_fabric::{PartyId, PartyKind};
use serde::{Deserialize, Serialize};

use crate::config::NodeConfig;
use crate::{Error, Result};

pub const REGION_FILE: &str = "region.toml";

/// A party to create.
#[derive(Clone, Debug)]
pub struct PartyPlan {
    pub id: String,
    pub kind: PartyKind,
    pub discipline: Option<String>,
    pub name: String,
}

impl PartyPlan {
    pub fn new(id: &str, kind: PartyKind, name: &str) -> Self {
        Self {
            id: id.into(),
            kind,
            discipline: None,
            name: name.into(),
        }
    }

    pub fn zat(id: &str, discipline: &str, name: &str) -> Self {
        Self {
            id: id.into(),
            kind: PartyKind::ZatPartner,
            discipline: Some(discipline.into()),
            name: name.into(),
        }
    }
}

/// `region.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionFile {
    pub region: String,
    pub ca_dir: PathBuf,
    #[serde(rename = "party")]
    pub parties: Vec<RegionParty>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionParty {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub address: String,
    pub data_dir: PathBuf,
    pub config: PathBuf,
}

impl RegionFile {
    /// Reads `dir/region.toml`; its relative paths are relative to `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(REGION_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        let mut file: RegionFile = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.message())))?;
        let base = std::path::absolute(dir)
            .map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?;
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        file.ca_dir = resolve(&file.ca_dir);
        for p in &mut file.parties {
            p.data_dir = resolve(&p.data_dir);
            p.config = resolve(&p.config);
        }
        Ok(file)
    }

    pub fn party(&self, id: &str) -> Result<&RegionParty> {
        self.parties
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::Config(format!("party {id} is not in the region")))
    }

    /// The node config of a party, as written in its config file.
    pub fn node_config(&self, id: &str) -> Result<NodeConfig> {
        let p = self.party(id)?;
        let text = std::fs::read_to_string(&p.config)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.config.display())))?;
        let mut config: NodeConfig = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {}", p.config.display(), e.message())))?;
        config.resolve_paths(&p.config)?;
        config.validate()?;
        Ok(config)
    }
}

/// Creates a region in `dir`: one party per plan, at the matching address.
/// The first `swv` plan hosts the directory. `database_urls`, when given, puts
/// each party on its own PostgreSQL database instead of SQLite.
pub fn create(
    dir: &Path,
    region: &str,
    plans: &[PartyPlan],
    addresses: &[String],
    database_urls: Option<&[String]>,
) -> Result<RegionFile> {
    if plans.len() != addresses.len() || database_urls.is_some_and(|u| u.len() != plans.len()) {
        return Err(Error::Config("one address (and database) per party".into()));
    }
    let swv_index = plans
        .iter()
        .position(|p| p.kind == PartyKind::Swv)
        .ok_or_else(|| Error::Config("a region needs an swv party to host the directory".into()))?;
    carenet_fabric::private_fs::private_dir(dir)
        .map_err(|e| Error::Config(format!("{}: {e}", dir.display())))?;
    let ca_dir = dir.join("ca");
    let mut ca = RegionCa::init(&ca_dir, region)?;
    let mut parties = Vec::with_capacity(plans.len());
    for (i, (plan, address)) in plans.iter().zip(addresses).enumerate() {
        let id = PartyId::parse("party.id", &plan.id)?;
        let data_dir = dir.join("parties").join(&plan.id);
        ca.issue(
            &PartySpec {
                id,
                kind: plan.kind,
                discipline: plan.discipline.clone(),
                name: plan.name.clone(),
                endpoint: address.clone(),
            },
            &data_dir.join("credentials"),
        )?;
        // The files hold paths relative to themselves, so a region can be
        // moved and operated on from any directory.
        let mut config = NodeConfig {
            party: plan.id.clone(),
            listen: address.clone(),
            data_dir: PathBuf::from("."),
            database_url: database_urls.map(|u| u[i].clone()),
            ..NodeConfig::default()
        };
        config.directory.swv_party = plans[swv_index].id.clone();
        config.directory.swv_endpoint = addresses[swv_index].clone();
        if i == swv_index {
            config.directory.file = Some(Path::new("../..").join("ca").join(DIRECTORY_FILE));
        }
        let config_path = data_dir.join("node.toml");
        let text = toml::to_string_pretty(&config).map_err(|e| Error::Config(e.to_string()))?;
        carenet_fabric::private_fs::write_private(&config_path, text.as_bytes())
            .map_err(|e| Error::Config(format!("{}: {e}", config_path.display())))?;
        parties.push(RegionParty {
            id: plan.id.clone(),
            kind: plan.kind.as_str().into(),
            name: plan.name.clone(),
            address: address.clone(),
            data_dir,
            config: config_path,
        });
    }
    let relative = |p: &Path| {
        p.strip_prefix(dir)
            .map(Path::to_owned)
            .unwrap_or_else(|_| p.to_owned())
    };
    let file = RegionFile {
        region: region.into(),
        ca_dir: relative(&ca_dir),
        parties: parties
            .iter()
            .map(|p| RegionParty {
                data_dir: relative(&p.data_dir),
                config: relative(&p.config),
                ..p.clone()
            })
            .collect(),
    };
    let text = toml::to_string_pretty(&file).map_err(|e| Error::Config(e.to_string()))?;
    carenet_fabric::private_fs::write_private(&dir.join(REGION_FILE), text.as_bytes())
        .map_err(|e| Error::Config(e.to_string()))?;
    RegionFile::load(dir)
}

/// The demo region: one SWV, two primary and two secondary schools, one
/// follow-up institution and three ZAT partners.
pub fn demo_plans() -> Vec<PartyPlan> {
    vec![
        PartyPlan::new("swv-rivierenland", PartyKind::Swv, "SWV Rivierenland"),
        PartyPlan::new("po-de-linde", PartyKind::PoSchool, "Basisschool De Linde"),
        PartyPlan::new(
            "po-het-kompas",
            PartyKind::PoSchool,
            "Basisschool Het Kompas",
        ),
        PartyPlan::new("vo-het-baken", PartyKind::VoSchool, "Het Baken College"),
        PartyPlan::new(
            "vo-de-brug",
            PartyKind::VoSchool,
            "Scholengemeenschap De Brug",
        ),
        PartyPlan::new(
            "mbo-vakcollege",
            PartyKind::Vervolg,
            "Vakcollege Rivierenland (mbo)",
        ),
        PartyPlan::zat("jgz-regio", "jgz", "Jeugdgezondheidszorg Regio"),
        PartyPlan::zat("smw-welzijn", "smw", "Schoolmaatschappelijk werk Welzijn"),
        PartyPlan::zat("leerplicht-regio", "leerplicht", "Leerplicht Regio"),
    ]
}
