//! Who may do which referral step: the one role table of the referral slice.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | register a pupil for the IZO, answer a question back | [`REGISTER`] | mentor, team_lead, care_coordinator, support_coordinator_po |
//! | triage a registration | [`TRIAGE`] | care_coordinator, support_coordinator_po |
//! | read a registration | [`READ`] | the coordinators, and the one who registered it |
//! | record an IZO meeting's minutes | [`TRIAGE`] | care_coordinator, support_coordinator_po |
//! | record a conversation with pupil or guardians | [`REGISTER`] | as registering |
//! | refer to the ZAT from the IZO, distribute, record meetings, read cases | [`ZAT_CHAIR`] | care_coordinator, support_coordinator_po |
//! | refer from the group review (when the setting allows it) | [`REGISTER`] | as registering |
//! | read the ZAT case files a partner received | [`ZAT_MEMBER`] | zat_member, case_coordinator, swv_staff, trajectory_guide |
//!
//! A refusal is audited (`refused:<action>`) by the fabric's
//! [`carenet_fabric::actor::require`].

use carenet_fabric::Role::{
    CareCoordinator, CaseCoordinator, Mentor, SupportCoordinatorPo, SwvStaff, TeamLead,
    TrajectoryGuide, ZatMember,
};
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

/// The ZAT's chair (H:3765): refers from the IZO, distributes the case
/// file, records the meetings, reads the cases.
pub const ZAT_CHAIR: Rule = Rule {
    action: "zat_chair",
    what: "chairing the ZAT",
    roles: &[CareCoordinator, SupportCoordinatorPo],
};

/// A ZAT member at a partner: reads the case files it received.
pub const ZAT_MEMBER: Rule = Rule {
    action: "zat_member",
    what: "reading ZAT case files",
    roles: &[ZatMember, CaseCoordinator, SwvStaff, TrajectoryGuide],
};
