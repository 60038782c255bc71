//! Who may do what with a case plan: the one role table of the caseplan
//! slice.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | open a plan, add to it, step the holder's own tasks, cancel a task, evaluate, close | [`MANAGE`] | case_coordinator, care_coordinator, support_coordinator_po |
//! | read the plans this party holds | [`READ`] | as [`MANAGE`] |
//! | read the plans this party is a member of, report progress, ask for a view | [`MEMBER`] | zat_member, case_coordinator, care_coordinator, support_coordinator_po, trajectory_guide, swv_staff |
//! | be named on an action of this party, read it and take its owner's steps (only the actions that name the actor) | [`NAMED`] | every staff role but admin |
//!
//! A refusal is audited (`refused:<action>`).

use carenet_fabric::Role::{
    CareCoordinator, CaseCoordinator, IntakeCoordinator, Mentor, StudyCareerCoach,
    SupportCoordinatorPo, SwvStaff, Teacher, TeamLead, TrajectoryGuide, ZatMember,
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

/// Whom an action may name as the person who carries it out, and who may
/// read and step the actions that name them (a mentor has no plan role:
/// this rule gives them their own actions, never the plan).
pub const NAMED: Rule = Rule {
    action: "case_named_action",
    what: "working on an action of a plan named to you",
    roles: &[
        Mentor,
        Teacher,
        StudyCareerCoach,
        TeamLead,
        SupportCoordinatorPo,
        CareCoordinator,
        CaseCoordinator,
        IntakeCoordinator,
        ZatMember,
        TrajectoryGuide,
        SwvStaff,
    ],
};
