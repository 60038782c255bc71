//! IZO and ZAT referrals (issue 11, ADR 0006): the school's internal care
//! team (IZO) and the multidisciplinary care team (ZAT) it hosts. So far:
//! the IZO registration with every field of the handbook's appendix 20, and
//! the care coordinator's triage ([`izo`]); every step takes the [`Actor`]
//! and checks one row of the role table ([`roles`]).
//!
//! Errors are the fabric's ([`carenet_fabric::Error`]): they name the field
//! or the state, never personal data.
//!
//! [`Actor`]: carenet_fabric::Actor

pub mod izo;
pub mod roles;

pub type Result<T, E = carenet_fabric::Error> = std::result::Result<T, E>;
