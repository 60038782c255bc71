//! Who may do which handover step: the one role table of the handover slice.
//!
//! Every staff action of this crate takes an [`Actor`] and calls [`check`]
//! with its [`Rule`] before it reads or changes anything.
//! A refusal is appended to the audit log (`refused:<action>`, naming the
//! staff member and their roles) in a transaction of its own, and returned as
//! the fabric's `PermissionDenied`, naming the roles that would do.
//!
//! | action | rule | roles |
//! |---|---|---|
//! | import, create, edit a draft, compose extras, submit for inspection | [`COMPOSE`] | support_coordinator_po, care_coordinator, mentor |
//! | record inzage | [`INSPECTION`] | support_coordinator_po, care_coordinator |
//! | publish (release, or send a correction) | [`PUBLISH`] | support_coordinator_po, care_coordinator |
//! | correct (a new version) | [`CORRECT`] | support_coordinator_po, care_coordinator |
//! | assign a received dossier | [`assign`] | care_coordinator; at a primary school also support_coordinator_po; at a follow-up institution also intake_coordinator |
//! | read a received dossier in full (page, API, attachments) | [`assign`], or [`crate::reading::READ`] | as assign; or the mentor it is assigned to |
//! | hand over inside the school | [`internal`] | as assign |
//! | open the classroom digest | [`DIGEST`] | mentor, teacher or study_career_coach (the SLB, a follow-up institution's mentor), and the actor must be the assigned mentor or teacher |
//! | warm handover (plan, record, share) | [`WARM`] | care_coordinator, support_coordinator_po, mentor, intake_coordinator, study_career_coach |
//! | read a shared warm-handover record | [`warm_read`] | at a school as warm handover; elsewhere any staff role but admin |
//! | send feedback to the sending school | [`FEEDBACK_SEND`] | care_coordinator, mentor, intake_coordinator, study_career_coach (a mentor or SLB for their own pupils, see [`speaks_for_all`]) |
//! | read the feedback received | [`FEEDBACK_READ`] | support_coordinator_po, care_coordinator |
//! | write a dossier to an OSO file | [`EXPORT`] | support_coordinator_po, care_coordinator, intake_coordinator |
//! | register for the IZO | [`IZO`] | mentor, care_coordinator |
//! | season view, list received | [`overview`] | at a school: care_coordinator, support_coordinator_po, team_lead; at an SWV, ZAT partner or follow-up institution: any staff role but admin |
//!
//! Time-driven jobs (reminders, feedback due, the retention purge) act as
//! [`Actor::system`] and are not checked: they do no staff action.

use carenet_fabric::audit;
use carenet_fabric::store::Store;
use carenet_fabric::{Actor, PartyKind, Role};

use crate::{Error, Result};

pub use carenet_fabric::actor::Rule;

use Role::{
    CareCoordinator, IntakeCoordinator, Mentor, StudyCareerCoach, SupportCoordinatorPo, Teacher,
    TeamLead,
};

pub const COMPOSE: Rule = Rule {
    action: "dossier_compose",
    what: "composing a transfer dossier",
    roles: &[SupportCoordinatorPo, CareCoordinator, Mentor],
};

/// The consent slice's own rule: recording an inzage is one rule wherever
/// it is done.
pub const INSPECTION: Rule = carenet_consent::roles::RECORD_INSPECTION;

pub const PUBLISH: Rule = Rule {
    action: "dossier_publish",
    what: "publishing a transfer dossier",
    roles: &[SupportCoordinatorPo, CareCoordinator],
};

pub const CORRECT: Rule = Rule {
    action: "dossier_correct",
    what: "correcting a published dossier",
    roles: &[SupportCoordinatorPo, CareCoordinator],
};

const ASSIGN_VO: Rule = Rule {
    action: "dossier_assign",
    what: "assigning a received dossier",
    roles: &[CareCoordinator],
};

const ASSIGN_PO: Rule = Rule {
    roles: &[CareCoordinator, SupportCoordinatorPo],
    ..ASSIGN_VO
};

const ASSIGN_VERVOLG: Rule = Rule {
    roles: &[CareCoordinator, IntakeCoordinator],
    ..ASSIGN_VO
};

/// Assigning a received dossier: the care coordinator; at a primary school
/// also its IB; at a follow-up institution (mbo) also its intakecoördinator.
pub fn assign(kind: PartyKind) -> Rule {
    match kind {
        PartyKind::PoSchool => ASSIGN_PO,
        PartyKind::Vervolg => ASSIGN_VERVOLG,
        _ => ASSIGN_VO,
    }
}

/// The roles that speak for every pupil of the party in the last mile
/// (feedback about any received dossier): the coordinators who assign.
/// Anyone else speaks only for the pupils assigned to them.
pub const COORDINATING: &[Role] = &[CareCoordinator, SupportCoordinatorPo, IntakeCoordinator];

/// Whether `actor` speaks for every pupil of the party (see [`COORDINATING`]).
pub fn speaks_for_all(actor: &Actor) -> bool {
    COORDINATING.iter().any(|r| actor.has(*r))
}

/// A handover inside the school (mentor change): as [`assign`].
pub fn internal(kind: PartyKind) -> Rule {
    Rule {
        action: "internal_handover",
        what: "handing a dossier over inside the school",
        ..assign(kind)
    }
}

/// The roles that read a pupil's dossier in class as its mentor: the
/// mentor, at a follow-up institution the studieloopbaanbegeleider.
pub const MENTOR_ROLES: &[Role] = &[Mentor, StudyCareerCoach];

/// Whether `actor` holds one of [`MENTOR_ROLES`].
pub fn is_mentor(actor: &carenet_fabric::Actor) -> bool {
    actor.roles.iter().any(|r| MENTOR_ROLES.contains(r))
}

/// Opening the digest also needs the actor to be the assigned mentor or teacher.
pub const DIGEST: Rule = Rule {
    action: "digest_open",
    what: "opening the classroom digest",
    roles: &[Mentor, Teacher, StudyCareerCoach],
};

pub const WARM: Rule = Rule {
    action: "warm_handover",
    what: "the warm handover",
    roles: &[
        CareCoordinator,
        SupportCoordinatorPo,
        Mentor,
        IntakeCoordinator,
        StudyCareerCoach,
    ],
};

const WARM_READ_OTHER: Rule = Rule {
    action: "warm_handover_read",
    what: "reading a shared warm-handover record",
    roles: OVERVIEW_OTHER.roles,
};

/// Reading the warm-handover records shared with this party: at a school as
/// [`WARM`]; at another kind of party any staff role but admin (a ZAT
/// partner's professional who took part).
pub fn warm_read(kind: PartyKind) -> Rule {
    if matches!(kind, PartyKind::PoSchool | PartyKind::VoSchool) {
        Rule {
            action: "warm_handover_read",
            what: "reading a shared warm-handover record",
            ..WARM
        }
    } else {
        WARM_READ_OTHER
    }
}

pub const FEEDBACK_SEND: Rule = Rule {
    action: "feedback_send",
    what: "sending feedback to the sending school",
    roles: &[CareCoordinator, Mentor, IntakeCoordinator, StudyCareerCoach],
};

pub const FEEDBACK_READ: Rule = Rule {
    action: "feedback_read",
    what: "reading the feedback received",
    roles: &[SupportCoordinatorPo, CareCoordinator],
};

pub const EXPORT: Rule = Rule {
    action: "dossier_export",
    what: "writing a dossier to an OSO file",
    roles: &[SupportCoordinatorPo, CareCoordinator, IntakeCoordinator],
};

pub const REQUEST: Rule = Rule {
    action: "dossier_request",
    what: "asking a school for a pupil's dossier",
    roles: &[CareCoordinator, SupportCoordinatorPo],
};

pub const IZO: Rule = Rule {
    action: "izo_register",
    what: "registering a pupil for the IZO",
    roles: &[Mentor, CareCoordinator],
};

const OVERVIEW_SCHOOL: Rule = Rule {
    action: "handover_overview",
    what: "the handover overview",
    roles: &[CareCoordinator, SupportCoordinatorPo, TeamLead],
};

const OVERVIEW_OTHER: Rule = Rule {
    roles: &[
        Mentor,
        Teacher,
        SupportCoordinatorPo,
        CareCoordinator,
        TeamLead,
        Role::ZatMember,
        Role::TrajectoryGuide,
        Role::CaseCoordinator,
        Role::SwvStaff,
        IntakeCoordinator,
        StudyCareerCoach,
    ],
    ..OVERVIEW_SCHOOL
};

/// The season view and the list of what was received: at a school its care
/// staff and team leads; at another kind of party any staff role but admin.
pub fn overview(kind: PartyKind) -> Rule {
    if matches!(kind, PartyKind::PoSchool | PartyKind::VoSchool) {
        OVERVIEW_SCHOOL
    } else {
        OVERVIEW_OTHER
    }
}

/// This party's kind as the region directory says it, for the rules that
/// depend on it: a caller's `claimed` kind is never taken on its word (a
/// school calling itself an SWV would widen who may read).
pub fn own_kind(store: &Store, claimed: PartyKind) -> Result<PartyKind> {
    let Some(directory) = store.directory() else {
        return Err(carenet_fabric::Error::precondition(
            "this needs the region directory to know the party's kind: start the node once",
        )
        .into());
    };
    match directory.get(store.party.as_str()) {
        Some(entry) if entry.kind == claimed => Ok(claimed),
        Some(entry) => Err(carenet_fabric::Error::PermissionDenied(format!(
            "{} is a {}, not a {}",
            store.party,
            entry.kind.as_str(),
            claimed.as_str()
        ))
        .into()),
        None => Err(carenet_fabric::Error::precondition(format!(
            "{} is not in the region directory",
            store.party
        ))
        .into()),
    }
}

/// Passes if `actor` acts for this node's party and holds one of the rule's
/// roles; otherwise appends the refusal to the audit log and returns the
/// permission error. `subject` is the id the audit record names.
pub async fn check(store: &Store, actor: &Actor, rule: Rule, subject: &str) -> Result<()> {
    Ok(carenet_fabric::actor::require(store, actor, &rule, subject).await?)
}

/// Audits a refusal of `rule` and returns `err` (a permission error).
pub async fn refuse<T>(
    store: &Store,
    actor: &Actor,
    rule: Rule,
    subject: &str,
    err: carenet_fabric::Error,
) -> Result<T> {
    audit::append(&store.db, &[actor.refusal_entry(rule.action, subject)]).await?;
    Err(Error::Fabric(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_follows_the_party_kind() {
        assert!(
            assign(PartyKind::PoSchool)
                .roles
                .contains(&SupportCoordinatorPo)
        );
        assert!(
            !assign(PartyKind::VoSchool)
                .roles
                .contains(&SupportCoordinatorPo)
        );
        assert_eq!(internal(PartyKind::VoSchool).action, "internal_handover");
        assert!(!overview(PartyKind::VoSchool).roles.contains(&Mentor));
        for kind in [PartyKind::Swv, PartyKind::ZatPartner, PartyKind::Vervolg] {
            let rule = overview(kind);
            assert!(!rule.roles.contains(&Role::Admin));
            assert!(
                Role::all()
                    .filter(|r| *r != Role::Admin)
                    .all(|r| rule.roles.contains(&r))
            );
        }
        assert_eq!(DIGEST.roles, &[Mentor, Teacher, StudyCareerCoach]);
        // The mbo's own roles: its intakecoördinator assigns there only.
        let mbo = assign(PartyKind::Vervolg);
        assert!(mbo.roles.contains(&IntakeCoordinator));
        assert!(
            !assign(PartyKind::VoSchool)
                .roles
                .contains(&IntakeCoordinator)
        );
        assert_eq!(internal(PartyKind::Vervolg).roles, mbo.roles);
        for rule in [WARM, FEEDBACK_SEND] {
            assert!(rule.roles.contains(&IntakeCoordinator), "{}", rule.action);
            assert!(rule.roles.contains(&StudyCareerCoach), "{}", rule.action);
        }
        for rule in [PUBLISH, CORRECT] {
            assert_eq!(rule.roles, &[SupportCoordinatorPo, CareCoordinator]);
        }
        // Recording inzage is the consent slice's coordinators' (an mbo's
        // intakecoördinator among them).
        assert_eq!(
            INSPECTION.roles,
            &[SupportCoordinatorPo, CareCoordinator, IntakeCoordinator]
        );
    }
}
