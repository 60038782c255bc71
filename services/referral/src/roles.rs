//! Who may do which referral step: the one role table of the referral slice.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | register a pupil for the IZO, answer a question back | [`REGISTER`] | mentor, team_lead, care_coordinator, support_coordinator_po |
//! | triage a registration | [`TRIAGE`] | care_coordinator, support_coordinator_po |
//! | read a registration | [`READ`] | the coordinators, and the one who registered it |
//!
//! A refusal is audited (`refused:<action>`) by the fabric's
//! [`carenet_fabric::actor::require`].

use carenet_fabric::Role::{CareCoordinator, Mentor, SupportCoordinatorPo, TeamLead};
pub use carenet_fabric::actor::Rule;

/// The handbook: the mentor or the team or department lead registers
/// (H:3487); the coordinators may too.
pub const REGISTER: Rule = Rule {
    action: "izo_register",
    what: "registering a pupil for the IZO",
    roles: &[Mentor, TeamLead, CareCoordinator, SupportCoordinatorPo],
};

/// The care coordinator triages (H:3520-3535); at a primary school the IB.
pub const TRIAGE: Rule = Rule {
    action: "izo_triage",
    what: "triaging an IZO registration",
    roles: &[CareCoordinator, SupportCoordinatorPo],
};

/// Reading registrations: the coordinators (the one who registered reads
/// their own, checked where it is read).
pub const READ: Rule = Rule {
    action: "izo_read",
    what: "reading IZO registrations",
    roles: &[CareCoordinator, SupportCoordinatorPo],
};
