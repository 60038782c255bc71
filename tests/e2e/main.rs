//! End-to-end tests: whole regions of real nodes over mTLS on loopback, on
//! SQLite, or on PostgreSQL when `TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod api_contract;
mod audit_chain;
mod care;
mod care_guard;
mod care_retention;
mod consent_cli;
mod consent_exchange;
mod consent_per_pupil;
mod consent_policy;
mod consent_records;
mod consent_roles;
mod crash;
mod delivery;
mod demo;
mod dossier_request;
mod english;
mod errors;
mod exchange;
mod files;
mod gateway;
mod gateway_sessions;
mod handover;
mod handover_cli;
mod inzage;
mod izo;
mod kept_forms;
mod large;
mod migrations;
mod my_actions;
mod notify;
mod operator;
mod oso;
mod oso_pao;
mod oso_routes;
mod peer_limits;
mod plan_change;
mod portal;
mod portal_browser;
mod portal_links;
mod publish_consent;
mod received;
mod refusals;
mod refused_forms;
mod retention;
mod roles_browser;
mod slices;
mod staff_directory;
mod stored_enums;
mod support;
mod telemetry;
mod trust;
mod vervolg_browser;
mod zat_member;

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
