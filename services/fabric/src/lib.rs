//! Trust and federation for carenet party nodes.
//!
//! This crate is what every other service stands on. It promises:
//! - **identity**: a region trust anchor ([`ca`]) issues party certificates that
//!   carry the party id in a URI SAN; a node learns who called it only from the
//!   verified certificate ([`tls`]) and the signed region [`directory`];
//! - **exchange**: documents travel by notified pull ([`exchange`], [`delivery`])
//!   as envelopes signed by the sender ([`envelope`]) and are answered with signed
//!   receipts; a transactional outbox and a deduplicating inbox ([`store`]) make a
//!   crash at any point lose nothing and deliver once;
//! - **legal basis**: nothing is released without a [`policy::ReleasePolicy`]
//!   saying yes at the moment of the fetch;
//! - **audit**: every queue, release, receipt and delivery is written to a
//!   hash-chained audit log in the same transaction as the action ([`audit`]);
//!   if the audit write fails, the action fails; refused calls from other
//!   parties are counted and written as one record per interval ([`refusals`]);
//! - **slices**: a domain crate declares its document types, RPCs, jobs and
//!   services once ([`slice`]); the fabric enforces them on both sides, and
//!   every staff action names its [`actor::Actor`] and the role it needs.

pub mod actor;
pub mod audit;
pub mod authz;
pub mod ca;
pub mod checkpoint;
pub mod clock;
pub mod credentials;
pub mod crypto;
pub mod delivery;
pub mod directory;
pub mod envelope;
pub mod error;
pub mod exchange;
pub mod form_id;
pub mod gate;
pub mod keys;
pub mod party;
pub mod peers;
pub mod policy;
pub mod private_fs;
pub mod reason;
pub mod refusals;
pub mod slice;
pub mod store;
pub mod text;
pub mod tls;
pub mod trace_context;

pub use actor::{Actor, Role};
pub use error::{Error, Result};
pub use party::{PartyId, PartyKind};
pub use reason::Reason;
