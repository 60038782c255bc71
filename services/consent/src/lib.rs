//! Consent and legal bases for carenet: nothing leaves a node without a basis
//! the receiver can check.
//!
//! This crate holds the consent records of the children a party is responsible
//! for ([`record`]): who granted what, for which purpose, to whom, for which data
//! categories ([`category`]) and for how long, with evidence and a versioned,
//! hash-linked history. Who has to consent depends on the child's age and on
//! the regime of the data ([`age`]). Every staff action takes the
//! [`carenet_fabric::Actor`] who does it and checks its role against the one
//! table in [`roles`].

pub mod access;
pub mod age;
pub mod category;
pub mod disclosure;
pub mod error;
pub mod inspection;
pub mod links;
pub mod policy;
pub mod portal;
pub mod pupil;
pub mod purpose;
pub mod receipt;
pub mod record;
pub mod relation;
pub mod roles;
pub mod safety;
pub mod slice;
pub mod withdrawal;

pub use category::Category;
pub use error::{Error, Result};
pub use purpose::Purpose;

/// For the crate's exported macros ([`inspection_record!`]).
#[doc(hidden)]
pub use carenet_fabric as __fabric;
