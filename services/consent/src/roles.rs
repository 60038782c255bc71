//! Who may do what in the consent slice: its one role table.
//!
//! Every staff action of this crate is one function taking an
//! [`Actor`](carenet_fabric::Actor); its first step is [`require`] with one of
//! the [`Action`]s below. The CLI, gRPC and web interfaces call those same
//! functions, so this table is the whole of the consent slice's rules.
//!
//! | action | function | roles |
//! |---|---|---|
//! | ask for consent | [`ConsentStore::request`] | mentor, support_coordinator_po, care_coordinator, case_coordinator, trajectory_guide, zat_member, swv_staff, intake_coordinator, study_career_coach |
//! | record a grant (with its evidence) | [`ConsentStore::grant`] | the same |
//! | record a refusal (with its evidence) | [`ConsentStore::refuse`] | the same |
//! | record a withdrawal | [`ConsentStore::withdraw`] | the same |
//! | list a child's consents | [`ConsentStore::list`] | the same |
//! | show a record's versions | [`ConsentStore::show`] | the same |
//! | list who saw a child's data | [`disclosure::who_saw_what`] | support_coordinator_po, care_coordinator, case_coordinator |
//! | record a pupil's birth date | [`pupil::record`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | record an inspection (inzage) | [`inspection::record`], [`inspection_record!`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | record a safety exception | [`safety::record`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | invite a guardian to the parent portal | [`links::invite`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | list a pupil's portal links, revoke one, withdraw an invitation, renew a link | [`links::for_child`], [`links::revoke`], [`links::withdraw_invitation`], [`links::renew`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | list the safety reports of a coordinator | [`safety::reported_to`] | care_coordinator, support_coordinator_po (their own list), team_lead (any coordinator's list) |
//!
//! The actor must also act for the party whose node holds the records.
//! Guardians on the parent portal hold no staff role: their actions are in
//! [`crate::portal`], each behind a proven link to the child.
//!
//! A refused action changes nothing; its refusal is appended to the audit log
//! on its own (`refused:<action>`, naming the staff member and roles) and the
//! caller gets [`carenet_fabric::Error::PermissionDenied`] naming the roles
//! that would do (gRPC: `PERMISSION_DENIED`). Time-driven jobs (consent
//! expiry) act as the node itself ([`carenet_fabric::Actor::system`]), which
//! holds no staff role and so can do none of the actions above.
//!
//! [`ConsentStore::request`]: crate::record::ConsentStore::request
//! [`ConsentStore::grant`]: crate::record::ConsentStore::grant
//! [`ConsentStore::refuse`]: crate::record::ConsentStore::refuse
//! [`ConsentStore::withdraw`]: crate::record::ConsentStore::withdraw
//! [`ConsentStore::list`]: crate::record::ConsentStore::list
//! [`ConsentStore::show`]: crate::record::ConsentStore::show
//! [`disclosure::who_saw_what`]: crate::disclosure::who_saw_what
//! [`pupil::record`]: crate::pupil::record
//! [`inspection::record`]: crate::inspection::record
//! [`inspection_record!`]: crate::inspection_record
//! [`safety::record`]: crate::safety::record
//! [`links::invite`]: crate::links::invite
//! [`links::for_child`]: crate::links::for_child
//! [`links::revoke`]: crate::links::revoke
//! [`links::withdraw_invitation`]: crate::links::withdraw_invitation
//! [`links::renew`]: crate::links::renew
//! [`safety::reported_to`]: crate::safety::reported_to

use carenet_fabric::store::Store;
use carenet_fabric::{Actor, Role};

use crate::Result;

/// One staff action of the consent slice and the roles that may do it.
pub type Action = carenet_fabric::actor::Rule;

/// The staff who work with consent for a child: everyone who asks for,
/// records and looks up consent.
pub const CONSENT_STAFF: &[Role] = &[
    Role::Mentor,
    Role::SupportCoordinatorPo,
    Role::CareCoordinator,
    Role::CaseCoordinator,
    Role::TrajectoryGuide,
    Role::ZatMember,
    Role::SwvStaff,
    Role::IntakeCoordinator,
    Role::StudyCareerCoach,
];

/// The school's care coordinators (IB in primary, zorgcoördinator in
/// secondary, the intakecoördinator of a follow-up institution).
pub const COORDINATORS: &[Role] = &[
    Role::SupportCoordinatorPo,
    Role::CareCoordinator,
    Role::IntakeCoordinator,
];

pub const REQUEST: Action = Action {
    action: "consent_request",
    what: "ask for consent",
    roles: CONSENT_STAFF,
};
pub const GRANT: Action = Action {
    action: "consent_grant",
    what: "record a consent grant",
    roles: CONSENT_STAFF,
};
pub const REFUSE: Action = Action {
    action: "consent_refuse",
    what: "record a consent refusal",
    roles: CONSENT_STAFF,
};
pub const WITHDRAW: Action = Action {
    action: "consent_withdraw",
    what: "record a consent withdrawal",
    roles: CONSENT_STAFF,
};
pub const LIST: Action = Action {
    action: "consent_list",
    what: "list a child's consents",
    roles: CONSENT_STAFF,
};
pub const SHOW: Action = Action {
    action: "consent_show",
    what: "show a consent record",
    roles: CONSENT_STAFF,
};
/// The disclosure view of one child (who saw what): the coordinators who
/// answer the guardians' questions about it. (The guardians' own view comes
/// with the parent portal.)
pub const DISCLOSURES: Action = Action {
    action: "disclosures_list",
    what: "list who saw a child's data",
    roles: &[
        Role::SupportCoordinatorPo,
        Role::CareCoordinator,
        Role::CaseCoordinator,
    ],
};
/// The birth date of the school's record of a pupil (decides the age rules).
pub const RECORD_PUPIL: Action = Action {
    action: "pupil_record",
    what: "record a pupil's birth date",
    roles: COORDINATORS,
};
pub const RECORD_INSPECTION: Action = Action {
    action: "inspection_record",
    what: "record an inspection (inzage)",
    roles: COORDINATORS,
};
pub const RECORD_SAFETY_EXCEPTION: Action = Action {
    action: "safety_exception_record",
    what: "record a safety exception",
    roles: COORDINATORS,
};
/// A coordinator sees their own list; a team lead any coordinator's.
pub const SAFETY_REPORTS: Action = Action {
    action: "safety_reports_list",
    what: "list safety reports",
    roles: &[
        Role::CareCoordinator,
        Role::SupportCoordinatorPo,
        Role::TeamLead,
    ],
};
/// Reading another coordinator's safety reports.
pub const OTHERS_SAFETY_REPORTS: Action = Action {
    action: "safety_reports_list",
    what: "list another coordinator's safety reports",
    roles: &[Role::TeamLead],
};

/// Every action of the table, for documentation and tests.
pub const ALL: &[Action] = &[
    REQUEST,
    GRANT,
    REFUSE,
    WITHDRAW,
    LIST,
    SHOW,
    DISCLOSURES,
    RECORD_PUPIL,
    RECORD_INSPECTION,
    RECORD_SAFETY_EXCEPTION,
    SAFETY_REPORTS,
    crate::links::INVITE,
    crate::links::LINKS,
];

/// Passes if `actor` acts for `party` and holds a role of `action`; changes
/// nothing and touches no database, so it may run inside a transaction. The
/// error is a [`carenet_fabric::Error::PermissionDenied`] naming the roles.
pub fn check(actor: &Actor, party: &carenet_fabric::PartyId, action: &Action) -> Result<()> {
    Ok(actor.may(party, action)?)
}

/// [`check`], with the refusal audited (see [`carenet_fabric::actor::require`]).
pub async fn require(store: &Store, actor: &Actor, action: &Action, subject: &str) -> Result<()> {
    Ok(carenet_fabric::actor::require(store, actor, action, subject).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use carenet_fabric::PartyId;

    fn party() -> PartyId {
        PartyId::parse("party", "vo-1").expect("party")
    }

    fn actor(role: Role) -> Actor {
        Actor::new(party(), "staff-1", [role]).expect("actor")
    }

    fn denied(r: Result<()>) -> String {
        match r {
            Err(crate::Error::Fabric(carenet_fabric::Error::PermissionDenied(m))) => m,
            other => panic!("expected a permission error, got {other:?}"),
        }
    }

    #[test]
    fn the_table_as_documented() {
        for role in Role::all() {
            let a = actor(role);
            for action in ALL {
                assert_eq!(
                    check(&a, &party(), action).is_ok(),
                    action.roles.contains(&role),
                    "{role} {}",
                    action.action
                );
            }
        }
        // Teachers and admins do none of it; mentors record no inzage.
        assert!(check(&actor(Role::Teacher), &party(), &GRANT).is_err());
        assert!(check(&actor(Role::Admin), &party(), &LIST).is_err());
        let m = denied(check(&actor(Role::Mentor), &party(), &RECORD_INSPECTION));
        assert!(
            m.contains("support_coordinator_po or care_coordinator"),
            "{m}"
        );
    }

    #[test]
    fn the_node_itself_and_other_parties_are_refused() {
        let system = Actor::system(party());
        for action in ALL {
            assert!(
                check(&system, &party(), action).is_err(),
                "{}",
                action.action
            );
        }
        let other = PartyId::parse("party", "po-1").expect("party");
        let m = denied(check(&actor(Role::Mentor), &other, &REQUEST));
        assert!(m.contains("is for staff of po-1"), "{m}");
    }
}
