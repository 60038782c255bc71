//! The samenwerkingsverband's support requests (issue 21, ADR 0010): a
//! school asks its SWV for extra support (outreach support, an
//! arrangement, a rebound placement, a TLV for SBO, SO or VSO, an LWOO or
//! PrO designation, or the re-indication of a TLV before it ends), and the
//! SWV's loket, trajectbegeleider and deskundigen take it to a written,
//! reasoned decision that holds in an objection.
//!
//! - [`model`]: the kinds of request, their details, the states and the
//!   one transition function [`model::next`];
//! - [`check`]: the TLV's legal guards on the two expert advices, the
//!   decision's and the request's own checks, each rule its own refusal
//!   code ([`carenet_fabric::Reason`]);
//! - [`clock`]: the clock the slice is given (the wall clock in a node, a
//!   settable one in tests), and the school year a decision's validity
//!   counts in;
//! - [`deadline`]: the legal clocks of the procedure as derived rows,
//!   written by the step that starts one and closed by the step that meets
//!   it;
//! - [`request`]: the stored requests and the school's steps, the
//!   arrivals at the SWV and the statuses back at the school;
//! - [`intake`]: the SWV's steps (loket, trajectbegeleider); every staff
//!   step takes the [`carenet_fabric::Actor`] and one row of [`roles`];
//! - [`exchange`]: the request travelling to the SWV under the consent
//!   for `support_request`, and the statuses back (the arrival job);
//! - [`slice`]: the document types, the arrival job and `[support]`.
//!
//! Errors are the fabric's ([`carenet_fabric::Error`]): they name the field,
//! the rule or the state, never personal data.

pub mod check;
pub mod clock;
pub mod deadline;
pub mod exchange;
pub mod intake;
pub mod model;
pub mod overview;
pub mod portal;
pub mod request;
pub mod roles;
pub mod slice;

pub type Result<T, E = carenet_fabric::Error> = std::result::Result<T, E>;
