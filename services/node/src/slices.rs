//! The slices a node is composed of, and the registry they make.
//!
//! A node runs the fabric, consent, transfer-dossier, referral (IZO and
//! ZAT), case-plan and support (the SWV's requests) slices ([`standard`]); the care slices of later work
//! join this list. Tests and
//! benchmarks add slices of their own with [`crate::Node::build_with`].
//! Operator commands check what they queue against the same registry
//! ([`standard_registry`]).

use std::sync::Arc;

use carenet_caseplan::slice::CaseplanSlice;
use carenet_consent::slice::ConsentSlice;
use carenet_fabric::slice::{FabricSlice, Registry, Slice};
use carenet_handover::slice::HandoverSlice;
use carenet_referral::slice::ReferralSlice;
use carenet_support::slice::SupportSlice;

use crate::{NodeConfig, Result};

/// The slices of every carenet node, configured from its config.
pub fn standard(config: &NodeConfig) -> Vec<Arc<dyn Slice>> {
    vec![
        Arc::new(FabricSlice),
        Arc::new(ConsentSlice),
        Arc::new(HandoverSlice {
            config: config.handover.clone(),
        }),
        Arc::new(ReferralSlice {
            config: config.referral.clone(),
        }),
        Arc::new(CaseplanSlice {
            config: config.caseplan.clone(),
        }),
        Arc::new(SupportSlice {
            config: config.support.clone(),
        }),
    ]
}

/// The registry of `slices`, with the config's retention periods applied.
pub fn registry(config: &NodeConfig, slices: &[Arc<dyn Slice>]) -> Result<Registry> {
    let mut registry = Registry::new(slices.iter().map(|s| s.as_ref()))?;
    for (name, days) in &config.retention {
        registry.set_retention_days(name, *days)?;
    }
    Ok(registry)
}

/// The registry of the standard slices with their default periods, for
/// commands that work on a node's database without running it.
pub fn standard_registry() -> Arc<Registry> {
    let config = NodeConfig::default();
    // The standard slices are static declarations; a test composes them.
    let registry = Registry::new(standard(&config).iter().map(|s| s.as_ref()))
        .expect("the standard slices compose");
    Arc::new(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_slices_compose() {
        let config = NodeConfig::default();
        let r = Registry::new(standard(&config).iter().map(|s| s.as_ref())).expect("registry");
        assert!(r.document_type("carenet.transfer_dossier").is_some());
        assert!(r.document_type("carenet.withdrawal").is_some());
        assert!(r.document_type("carenet.support_request").is_some());
        assert!(r.rpc_kinds("/carenet.v1.Exchange/Fetch").is_some());
    }

    #[test]
    fn an_unknown_retention_type_is_a_config_error() {
        let mut config = NodeConfig::default();
        config.retention.insert("zat.minutes".into(), 10);
        let e = registry(&config, &standard(&config)).expect_err("unknown type");
        assert!(e.to_string().contains("retention.zat.minutes"), "{e}");
    }
}
