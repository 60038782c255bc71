//! Who may do what with a case plan: the one role table of the caseplan
//! slice.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | open a plan, add to it, step the holder's own tasks, cancel a task, evaluate, close | [`MANAGE`] | case_coordinator, care_coordinator, support_coordinator_po |
//! | read the plans this party holds | [`READ`] | as [`MANAGE`] |
//! | read the plans this party is a member of, report progress, ask for a view | [`MEMBER`] | zat_member, case_coordinator, care_coordinator, support_coordinator_po, trajectory_guide, swv_staff |
//!
//! A refusal is audited (`refused:<action>`).

use carenet_fabric::Role::{
    CareCoordinator, CaseCoordinator, SupportCoordinatorPo, SwvStaff, TrajectoryGuide, ZatMember,
};
pub use carenet_fabric::actor::Rule;

pub const MANAGE: Rule = Rule {
    action: "case_manage",
    what: "changing a case plan",
    roles: &[CaseCoordinator, CareCoordinator, SupportCoordinatorPo],
};

pub const READ: Rule = Rule {
    action: "case_read",
    what: "reading the case plans this party holds",
    roles: &[CaseCoordinator, CareCoordinator, SupportCoordinatorPo],
};

pub const MEMBER: Rule = Rule {
    action: "case_member",
    what: "working on a case plan as a member",
    roles: &[
        ZatMember,
        CaseCoordinator,
        CareCoordinator,
        SupportCoordinatorPo,
        TrajectoryGuide,
        SwvStaff,
    ],
};
