//! End-to-end tests: whole regions of real nodes over mTLS on loopback, on
//! SQLite, or on PostgreSQL when `TEST_DATABASE_URL` is set.

mod audit_chain;
mod crash;
mod errors;
mod exchange;
mod refusals;

use carenet_fabric::PartyKind;
use carenet_node::region::PartyPlan;

/// SWV, a primary and a secondary school.
pub fn three_parties() -> Vec<PartyPlan> {
    vec![
        PartyPlan::new("swv", PartyKind::Swv, "SWV"),
        PartyPlan::new("po-1", PartyKind::PoSchool, "PO 1"),
        PartyPlan::new("vo-1", PartyKind::VoSchool, "VO 1"),
    ]
}
