//! Who may do which step of a support request: the one role table of the
//! support slice.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | draft a request, add its history, submit, answer a question, withdraw, extend the duty of care, read the school's requests | [`SCHOOL`] | support_coordinator_po, care_coordinator |
//! | the loket: a completeness question, name the trajectbegeleider, decide, record an objection, the defence, the committee's advice and the decision on it | [`LOKET`] | swv_staff |
//! | the trajectbegeleider: plan and hold the MDO, record the expert advices, conclude them | [`GUIDE`] | trajectory_guide |
//! | read the requests the SWV received, and the deadlines due | [`SWV_READ`] | swv_staff, trajectory_guide |
//!
//! The expert advices are written by deskundigen outside carenet (a
//! collective advice is refused); the trajectbegeleider records them, so
//! no expert role is needed. A refusal is audited (`refused:<action>`) by
//! [`carenet_fabric::actor::require`].

use carenet_fabric::Role::{CareCoordinator, SupportCoordinatorPo, SwvStaff, TrajectoryGuide};
pub use carenet_fabric::actor::Rule;

/// The requesting school: the IB (PO) or the zorgcoördinator (VO).
pub const SCHOOL: Rule = Rule {
    action: "support_request",
    what: "asking the SWV for support",
    roles: &[SupportCoordinatorPo, CareCoordinator],
};

/// The SWV's loket: intake, completeness, decisions, objections.
pub const LOKET: Rule = Rule {
    action: "support_loket",
    what: "taking support requests in and deciding them",
    roles: &[SwvStaff],
};

/// The SWV's trajectbegeleider: the MDO and the advices.
pub const GUIDE: Rule = Rule {
    action: "support_guide",
    what: "guiding a support request's trajectory",
    roles: &[TrajectoryGuide],
};

/// Reading the requests an SWV received.
pub const SWV_READ: Rule = Rule {
    action: "support_read",
    what: "reading the SWV's support requests",
    roles: &[SwvStaff, TrajectoryGuide],
};
