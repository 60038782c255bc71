//! Transfer dossiers for carenet: the cold and warm handover of a pupil from
//! one school to the next (PO→VO, VO→VO, VO→follow-up education, and inside
//! one school), with OSO 2019.1 import and export.
//!
//! It promises:
//! - **the whole OSO dossier**, kept faithfully and cut into the sixteen OSO
//!   delivery categories ([`oso`]), plus what the handbook asks and OSO lacks
//!   ([`model`]): every part carries its data category, so the consent
//!   service releases only what the basis allows;
//! - **no release before inzage**: a PO→VO dossier leaves only after the
//!   guardians saw it (their view attached); other routes need consent
//!   ([`dossier`]); corrections reach every earlier recipient; the inzage
//!   and `akkoord` are bound to the content hash of the version seen, and
//!   content the guardians did not see does not leave ([`inzage`]);
//! - **the last mile**: the receiver assigns the dossier to the mentor, the
//!   mentor reads a one-page digest ([`digest`]), and the sender learns
//!   "read by mentor"; unread digests are reminded, feedback goes back
//!   ([`incoming`]); the handover conversation is recorded and shared
//!   ([`warm`]); a school sees its whole season ([`season`]);
//! - **one role table** ([`roles`]): every staff step takes the acting
//!   [`carenet_fabric::Actor`], checks its role first and audits a refusal.

pub mod codes;
pub mod destination;
pub mod digest;
pub mod dossier;
pub mod error;
pub mod incoming;
pub mod inzage;
pub mod lookup;
pub mod model;
pub mod oso;
pub mod reading;
pub mod relation;
pub mod request;
pub mod roles;
pub mod season;
pub mod slice;
pub mod warm;
pub mod xml;

pub use error::{Error, OsoProblem, PaoProblem, Result};
