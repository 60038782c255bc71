//! Who does a staff action: the [`Actor`], its party, its staff id and its
//! roles.
//!
//! Every staff action of a slice is one function of that slice's service API
//! that takes an `Actor` and checks the role it needs with [`Actor::require`].
//! The CLI builds the actor from flags (`--by STAFF --role ROLE`), the gRPC and
//! web interfaces from verified tokens; all of them call the same functions,
//! so there is one set of rules. A refusal is an [`Error::PermissionDenied`]
//! naming the roles that would do, and the slice audits it with
//! [`Actor::refusal_entry`] (appended with [`crate::audit::append`]).

use std::collections::BTreeSet;
use std::fmt;

use crate::audit::Entry;
use crate::party::PartyId;
use crate::{Error, Result};

/// A staff role (names as in `docs/glossary.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Mentor: class tutor, first owner of a pupil's care.
    Mentor,
    /// (Vak)docent: subject teacher.
    Teacher,
    /// Intern begeleider (IB): a primary school's care coordinator.
    SupportCoordinatorPo,
    /// Zorgcoördinator: a secondary school's care coordinator.
    CareCoordinator,
    /// Teamleider / afdelingsleider.
    TeamLead,
    /// A member of a ZAT (a partner's professional).
    ZatMember,
    /// Trajectbegeleider of the SWV.
    TrajectoryGuide,
    /// Casusregisseur: holds one child's plan together.
    CaseCoordinator,
    /// Staff of the SWV.
    SwvStaff,
    /// Intakecoördinator (zorgcoördinator mbo): a follow-up institution's
    /// care coordinator, who receives, reads and assigns the dossiers that
    /// arrive from secondary schools.
    IntakeCoordinator,
    /// Studieloopbaanbegeleider (SLB): a follow-up institution's mentor of
    /// a student, to whom a received dossier is assigned.
    StudyCareerCoach,
    /// The node's administrator (technical tasks, no access to content).
    Admin,
}

const ROLE_NAMES: &[(Role, &str)] = &[
    (Role::Mentor, "mentor"),
    (Role::Teacher, "teacher"),
    (Role::SupportCoordinatorPo, "support_coordinator_po"),
    (Role::CareCoordinator, "care_coordinator"),
    (Role::TeamLead, "team_lead"),
    (Role::ZatMember, "zat_member"),
    (Role::TrajectoryGuide, "trajectory_guide"),
    (Role::CaseCoordinator, "case_coordinator"),
    (Role::SwvStaff, "swv_staff"),
    (Role::IntakeCoordinator, "intake_coordinator"),
    (Role::StudyCareerCoach, "study_career_coach"),
    (Role::Admin, "admin"),
];

impl Role {
    pub fn all() -> impl Iterator<Item = Role> {
        ROLE_NAMES.iter().map(|(r, _)| *r)
    }

    pub fn as_str(self) -> &'static str {
        ROLE_NAMES
            .iter()
            .find(|(r, _)| *r == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        ROLE_NAMES
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(r, _)| *r)
            .ok_or_else(|| {
                let names: Vec<&str> = ROLE_NAMES.iter().map(|(_, n)| *n).collect();
                Error::invalid(field, format!("must be one of {}", names.join(", ")))
                    .coded(crate::Reason::NotAChoice)
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff member acting for a party. The staff id is the party's own
/// reference for the person (an employee number, a login), never a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub party: PartyId,
    pub staff: String,
    pub roles: BTreeSet<Role>,
}

/// One row of a slice's role table: a staff action, how a refusal says it,
/// and the roles that may do it (any one will do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// As the audit log names it; a refusal is recorded as `refused:<action>`.
    pub action: &'static str,
    /// What the actor tried, as a permission error says it: "<what> needs the role …".
    pub what: &'static str,
    pub roles: &'static [Role],
}

/// Passes if `actor` acts for `store`'s party and holds a role of `rule`;
/// otherwise appends `refused:<action>` about `subject` (an id, never a name)
/// to the audit log in a transaction of its own and returns the permission
/// error. Call it before opening the action's transaction (on SQLite a
/// second writer waits for the first).
pub async fn require(
    store: &crate::store::Store,
    actor: &Actor,
    rule: &Rule,
    subject: &str,
) -> Result<()> {
    match actor.may(&store.party, rule) {
        Ok(()) => Ok(()),
        Err(denied) => {
            crate::audit::append(&store.db, &[actor.refusal_entry(rule.action, subject)]).await?;
            Err(denied)
        }
    }
}

/// The actor the node itself acts as in jobs (reminders, purges, expiry).
pub const SYSTEM_STAFF: &str = "system";

impl Actor {
    /// A staff actor; the staff id is 1-64 characters of letters, digits,
    /// '.', '_', '-' and '@' (it ends up in audit records and work lists).
    pub fn new(party: PartyId, staff: &str, roles: impl IntoIterator<Item = Role>) -> Result<Self> {
        check_staff_id("staff", staff)?;
        if staff == SYSTEM_STAFF {
            return Err(Error::invalid("staff", "'system' is reserved for the node"));
        }
        let roles: BTreeSet<Role> = roles.into_iter().collect();
        if roles.is_empty() {
            return Err(Error::invalid("role", "name at least one role"));
        }
        Ok(Self {
            party,
            staff: staff.to_owned(),
            roles,
        })
    }

    /// The node itself (time-driven jobs); it holds no staff role.
    pub fn system(party: PartyId) -> Self {
        Self {
            party,
            staff: SYSTEM_STAFF.to_owned(),
            roles: BTreeSet::new(),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Passes if the actor holds one of `roles`; otherwise a permission error
    /// naming the action and the roles that would do.
    pub fn require(&self, action: &str, roles: &[Role]) -> Result<()> {
        if roles.iter().any(|r| self.has(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Error::PermissionDenied(format!(
            "{action} needs the role {}",
            names.join(" or ")
        )))
    }

    /// Passes if the actor acts for `party` and holds a role of `rule`; no
    /// I/O, so it may run inside a transaction (the caller audits a refusal).
    pub fn may(&self, party: &PartyId, rule: &Rule) -> Result<()> {
        if &self.party != party {
            return Err(Error::PermissionDenied(format!(
                "{} is for staff of {party}: staff of {} cannot act for it",
                rule.what, self.party
            )));
        }
        self.require(rule.what, rule.roles)
    }

    /// The roles as the audit log records them: `mentor+teacher`.
    pub fn roles_label(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        names.join("+")
    }

    /// The audit record of an action this actor did: actor and roles named.
    pub fn entry(&self, action: &str, subject: &str) -> Entry {
        Entry {
            actor: self.audit_name(),
            action: action.to_owned(),
            message_id: subject.to_owned(),
            ..Entry::default()
        }
    }

    /// The audit record of an action this actor was refused.
    pub fn refusal_entry(&self, action: &str, subject: &str) -> Entry {
        self.entry(&format!("refused:{action}"), subject)
    }

    /// `staff[role+role]`, as the actor column of the audit log holds it.
    pub fn audit_name(&self) -> String {
        if self.roles.is_empty() {
            self.staff.clone()
        } else {
            format!("{}[{}]", self.staff, self.roles_label())
        }
    }
}

/// A staff id as the network carries it (assignments, feedback, records).
pub fn check_staff_id(field: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "a staff id: 1-64 characters of letters, digits, '.', '_', '-' and '@'",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party() -> PartyId {
        PartyId::parse("party", "vo-1").expect("party id")
    }

    #[test]
    fn roles_round_trip_and_unknown_names_the_field() {
        for r in Role::all() {
            assert_eq!(Role::parse("role", r.as_str()).expect("role"), r);
        }
        let e = Role::parse("role", "headmaster").expect_err("unknown role");
        assert!(e.to_string().starts_with("role: must be one of"), "{e}");
    }

    #[test]
    fn require_names_the_roles_that_would_do() {
        let a = Actor::new(party(), "t.jansen", [Role::Teacher]).expect("actor");
        assert!(a.require("read", &[Role::Teacher, Role::Mentor]).is_ok());
        let e = a
            .require(
                "publish a dossier",
                &[Role::SupportCoordinatorPo, Role::CareCoordinator],
            )
            .expect_err("refused");
        assert!(matches!(e, Error::PermissionDenied(_)));
        assert!(
            e.to_string()
                .contains("support_coordinator_po or care_coordinator"),
            "{e}"
        );
        assert_eq!(a.audit_name(), "t.jansen[teacher]");
    }

    #[test]
    fn staff_ids_are_checked() {
        assert!(Actor::new(party(), "", [Role::Mentor]).is_err());
        assert!(Actor::new(party(), "a,b", [Role::Mentor]).is_err());
        assert!(Actor::new(party(), "system", [Role::Mentor]).is_err());
        assert!(Actor::new(party(), "m.devries", []).is_err());
    }
}
