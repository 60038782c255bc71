//! IZO and ZAT referrals (issue 11, ADR 0006): the school's internal care
//! team (IZO) and the multidisciplinary care team (ZAT) it hosts:
//! - [`izo`]: the registration with every field of the handbook's appendix
//!   20 and the care coordinator's triage;
//! - [`izo_meeting`]: the meeting's minutes (appendices 21-22) with its
//!   outcomes, and the conversations with pupil and guardians;
//! - [`zat`]: referral under the guardians' consent, distribution of the
//!   case file to the members, the meetings and the plan of action, which
//!   opens the child's plan ([`carenet_caseplan`]);
//! - [`names`]: a primary school's names for the same flow;
//! - [`retention`]: the IZO and ZAT records purged two years after the
//!   case ended;
//! - [`slice`]: the ZAT case file's document type and `[referral]`.
//!
//! Every step takes the [`Actor`] and checks one row of the role table
//! ([`roles`]).
//!
//! Errors are the fabric's ([`carenet_fabric::Error`]): they name the field
//! or the state, never personal data.
//!
//! [`Actor`]: carenet_fabric::Actor

pub mod izo;
pub mod izo_meeting;
pub mod names;
pub mod relation;
pub mod retention;
pub mod roles;
pub mod slice;
pub mod zat;

pub type Result<T, E = carenet_fabric::Error> = std::result::Result<T, E>;
