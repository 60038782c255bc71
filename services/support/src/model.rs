//! What a support request is: its kind and the details each kind asks
//! for, and where it stands. Every value stored as text is a `text_enum!`
//! (an unknown stored value is corrupt data); a value typed into a form is
//! read with `choose`, which names the field and the choices.
//!
//! The procedure (ADR 0010 §3):
//!
//! | from | step | who | to |
//! |---|---|---|---|
//! | draft | submit | school | submitted |
//! | submitted, answered | return (a completeness question) | loket | returned |
//! | returned | answer | school | answered |
//! | submitted, answered | assign (a trajectbegeleider named) | loket | in_intake |
//! | in_intake, mdo_planned | plan_mdo | trajectbegeleider | mdo_planned |
//! | mdo_planned | hold_mdo | trajectbegeleider | mdo_held |
//! | mdo_held (TLV and re-indication only) | advise | trajectbegeleider | advised |
//! | mdo_held (not a TLV), advised (a TLV) | decide | loket | decided |
//! | decided | object | guardians | objected |
//! | objected | decide_objection | loket | objection_decided |
//! | any state before decided | withdraw | school | withdrawn |
//!
//! [`next`] is the one place that decides a step; every other quadruple is
//! refused with [`Reason::CaseState`], naming the state and the step.

use carenet_fabric::{Error, PartyKind, Reason};

use crate::Result;

/// Reads a form's value as one of a stored enum's variants; anything else
/// is refused naming `field` and the choices.
macro_rules! choose {
    ($ty:ident) => {
        impl $ty {
            /// The variant `value` names (as typed into a form or a flag).
            pub fn choose(field: &str, value: &str) -> Result<$ty> {
                $ty::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == value)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                        Error::invalid(field, format!("one of {}", names.join(", ")))
                            .coded(Reason::NotAChoice)
                    })
            }
        }
    };
}

/// What the school asks the SWV for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Ambulante begeleiding: a specialist supports pupil and teachers at
    /// the school.
    OutreachSupport,
    /// An arrangement (light, medium or heavy) with the support asked and
    /// its cost.
    Arrangement,
    /// A temporary place outside the school; the home school stays
    /// responsible, and an exit report and aftercare close it.
    Rebound,
    /// A toelaatbaarheidsverklaring (TLV) for SBO, SO or VSO.
    AdmissionStatement,
    /// A new TLV request before the previous TLV ends, naming its decision.
    Reindication,
    /// Leerwegondersteunend onderwijs (VO only).
    Lwoo,
    /// Praktijkonderwijs (VO only).
    Pro,
}

carenet_fabric::text_enum!(Kind {
    OutreachSupport => "outreach_support",
    Arrangement => "arrangement",
    Rebound => "rebound",
    AdmissionStatement => "admission_statement",
    Reindication => "reindication",
    Lwoo => "lwoo",
    Pro => "pro",
});
choose!(Kind);

impl Kind {
    /// A TLV (a first one or a re-indication): two expert advices before
    /// the decision, a category, a validity.
    pub fn is_admission(self) -> bool {
        matches!(self, Kind::AdmissionStatement | Kind::Reindication)
    }
}

/// How heavy an arrangement is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArrangementLevel {
    Light,
    Medium,
    Heavy,
}

carenet_fabric::text_enum!(ArrangementLevel {
    Light => "light",
    Medium => "medium",
    Heavy => "heavy",
});
choose!(ArrangementLevel);

/// The special school a TLV admits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SchoolType {
    /// Speciaal basisonderwijs.
    Sbo,
    /// Speciaal onderwijs.
    So,
    /// Voortgezet speciaal onderwijs.
    Vso,
}

carenet_fabric::text_enum!(SchoolType {
    Sbo => "sbo",
    So => "so",
    Vso => "vso",
});
choose!(SchoolType);

/// A TLV's funding category (OSO `tlv` block: laag, midden, hoog).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    Low,
    Medium,
    High,
}

carenet_fabric::text_enum!(Category {
    Low => "low",
    Medium => "medium",
    High => "high",
});
choose!(Category);

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Draft,
    Submitted,
    Returned,
    Answered,
    InIntake,
    MdoPlanned,
    MdoHeld,
    Advised,
    Decided,
    Objected,
    ObjectionDecided,
    Withdrawn,
}

carenet_fabric::text_enum!(State {
    Draft => "draft",
    Submitted => "submitted",
    Returned => "returned",
    Answered => "answered",
    InIntake => "in_intake",
    MdoPlanned => "mdo_planned",
    MdoHeld => "mdo_held",
    Advised => "advised",
    Decided => "decided",
    Objected => "objected",
    ObjectionDecided => "objection_decided",
    Withdrawn => "withdrawn",
});
choose!(State);

impl State {
    /// No step leaves it.
    pub fn is_final(self) -> bool {
        matches!(self, State::ObjectionDecided | State::Withdrawn)
    }

    /// A decision was taken (the school can no longer withdraw).
    pub fn is_decided(self) -> bool {
        matches!(
            self,
            State::Decided | State::Objected | State::ObjectionDecided
        )
    }
}

/// A step someone asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Submit,
    Return,
    Answer,
    Assign,
    PlanMdo,
    HoldMdo,
    Advise,
    Decide,
    Object,
    DecideObjection,
    Withdraw,
}

carenet_fabric::text_enum!(Step {
    Submit => "submit",
    Return => "return",
    Answer => "answer",
    Assign => "assign",
    PlanMdo => "plan_mdo",
    HoldMdo => "hold_mdo",
    Advise => "advise",
    Decide => "decide",
    Object => "object",
    DecideObjection => "decide_objection",
    Withdraw => "withdraw",
});

/// Who asks for the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// The requesting school's staff (IB, zorgcoördinator).
    School,
    /// The SWV's loket (intake, completeness, decision).
    Loket,
    /// The SWV's trajectbegeleider (MDO, advices).
    Guide,
    /// The guardians (or the pupil of 16 or older): the objection.
    Guardians,
}

carenet_fabric::text_enum!(Who {
    School => "school",
    Loket => "loket",
    Guide => "trajectory_guide",
    Guardians => "guardians",
});

/// The state a request of `kind` is in after `step`, asked by `who`, from
/// `state`; every quadruple the table of the module does not list is
/// refused with [`Reason::CaseState`], naming the state and the step.
///
/// The kind decides one thing: a TLV (and its re-indication) passes
/// `advised` (the two expert advices) before the decision; every other
/// kind is decided after the MDO.
pub fn next(kind: Kind, state: State, step: Step, who: Who) -> Result<State> {
    use State::*;
    let tlv = kind.is_admission();
    let to = match (state, step, who) {
        (Draft, Step::Submit, Who::School) => Some(Submitted),
        (Submitted | Answered, Step::Return, Who::Loket) => Some(Returned),
        (Returned, Step::Answer, Who::School) => Some(Answered),
        (Submitted | Answered, Step::Assign, Who::Loket) => Some(InIntake),
        (InIntake | MdoPlanned, Step::PlanMdo, Who::Guide) => Some(MdoPlanned),
        (MdoPlanned, Step::HoldMdo, Who::Guide) => Some(MdoHeld),
        (MdoHeld, Step::Advise, Who::Guide) if tlv => Some(Advised),
        (MdoHeld, Step::Decide, Who::Loket) if !tlv => Some(Decided),
        (Advised, Step::Decide, Who::Loket) if tlv => Some(Decided),
        (Decided, Step::Object, Who::Guardians) => Some(Objected),
        (Objected, Step::DecideObjection, Who::Loket) => Some(ObjectionDecided),
        (
            Draft | Submitted | Returned | Answered | InIntake | MdoPlanned | MdoHeld | Advised,
            Step::Withdraw,
            Who::School,
        ) => Some(Withdrawn),
        _ => None,
    };
    to.ok_or_else(|| refused(kind, state, step, who))
}

/// The refusal of a step [`next`] does not allow.
fn refused(kind: Kind, state: State, step: Step, who: Who) -> Error {
    Error::precondition(format!(
        "this {kind} request is {state}: the {who} cannot {step} it"
    ))
    .coded(Reason::CaseState)
}

/// Whether `s` has the form of the ids this slice makes (a UUID): 1-64
/// letters, digits and '-'. Ids from a form or another node are checked
/// before they reach a query or the audit log.
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// What the school asks for beyond the kind: the arrangement's level, the
/// support asked and its cost; the TLV's school type and category; the
/// decision a re-indication renews. Each kind takes only its own fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detail {
    pub level: Option<ArrangementLevel>,
    /// What support is asked (an arrangement, outreach support, rebound).
    pub support_asked: String,
    /// An arrangement's cost, in euro cents.
    pub cost_cents: Option<i64>,
    pub school_type: Option<SchoolType>,
    pub category: Option<Category>,
    /// A re-indication: the id of the TLV decision it renews.
    pub previous_decision: String,
}

/// Checks `detail` against `kind` and the requesting school's kind; the
/// error names the field.
pub fn check_detail(kind: Kind, school: PartyKind, detail: &Detail) -> Result<()> {
    let required = |field: &str, what: &str| {
        Error::invalid(field, format!("a {kind} request needs {what}")).coded(Reason::Required)
    };
    let foreign = |field: &str| {
        Error::invalid(field, format!("does not belong to a {kind} request"))
            .coded(Reason::NotAChoice)
    };
    if !matches!(school, PartyKind::PoSchool | PartyKind::VoSchool) {
        return Err(Error::invalid(
            "school",
            "only a primary or secondary school asks its SWV for support",
        )
        .coded(Reason::PartyMismatch));
    }
    let asks_support = matches!(
        kind,
        Kind::OutreachSupport | Kind::Arrangement | Kind::Rebound
    );
    if asks_support && detail.support_asked.trim().is_empty() {
        return Err(required("support_asked", "the support asked"));
    }
    if !asks_support && !detail.support_asked.is_empty() {
        return Err(foreign("support_asked"));
    }
    if detail.support_asked.len() > 4000 {
        return Err(
            Error::invalid("support_asked", "at most 4000 characters").coded(Reason::TooLong)
        );
    }
    if kind == Kind::Arrangement {
        if detail.level.is_none() {
            return Err(required("level", "its level (light, medium or heavy)"));
        }
        match detail.cost_cents {
            None => return Err(required("cost_cents", "its cost")),
            Some(c) if !(0..=10_000_000_000).contains(&c) => {
                return Err(Error::invalid(
                    "cost_cents",
                    "euro cents, from 0 up to 100 million euro",
                ));
            }
            Some(_) => {}
        }
    } else {
        if detail.level.is_some() {
            return Err(foreign("level"));
        }
        if detail.cost_cents.is_some() {
            return Err(foreign("cost_cents"));
        }
    }
    if kind.is_admission() {
        let Some(school_type) = detail.school_type else {
            return Err(required("school_type", "the school type (sbo, so or vso)"));
        };
        if detail.category.is_none() {
            return Err(required("category", "a category (low, medium or high)"));
        }
        // SBO and SO are primary education: a secondary school asks for VSO.
        if school == PartyKind::VoSchool && school_type != SchoolType::Vso {
            return Err(
                Error::invalid("school_type", "a secondary school asks a TLV for vso")
                    .coded(Reason::NotAChoice),
            );
        }
    } else {
        if detail.school_type.is_some() {
            return Err(foreign("school_type"));
        }
        if detail.category.is_some() {
            return Err(foreign("category"));
        }
    }
    if kind == Kind::Reindication {
        if !is_id(&detail.previous_decision) {
            return Err(required(
                "previous_decision",
                "the id of the TLV decision it renews",
            ));
        }
    } else if !detail.previous_decision.is_empty() {
        return Err(foreign("previous_decision"));
    }
    if matches!(kind, Kind::Lwoo | Kind::Pro) && school != PartyKind::VoSchool {
        return Err(Error::invalid(
            "kind",
            "LWOO and PrO are designations for secondary school pupils",
        )
        .coded(Reason::NotAChoice));
    }
    Ok(())
}

/// Where an item of the request's documented history comes from: the
/// school's own records in carenet (referenced, with the text as it was
/// when the request was made), or what the school adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HistorySource {
    IzoMinutes,
    ZatMeeting,
    PlanGoal,
    PlanEvaluation,
    /// Written by the school for this request (no reference).
    School,
}

carenet_fabric::text_enum!(HistorySource {
    IzoMinutes => "izo_minutes",
    ZatMeeting => "zat_meeting",
    PlanGoal => "plan_goal",
    PlanEvaluation => "plan_evaluation",
    School => "school",
});
choose!(HistorySource);

/// The line of support an item of the history documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Line {
    /// The class: mentor and teachers.
    First,
    /// The school's internal care (IZO, IB) and the ZAT.
    Second,
}

carenet_fabric::text_enum!(Line {
    First => "first",
    Second => "second",
});
choose!(Line);

/// Who took part in an MDO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipantRole {
    School,
    Guardians,
    Pupil,
    /// A partner from the child's plan (JGZ, SMW, youth care).
    Partner,
    Swv,
}

carenet_fabric::text_enum!(ParticipantRole {
    School => "school",
    Guardians => "guardians",
    Pupil => "pupil",
    Partner => "partner",
    Swv => "swv",
});
choose!(ParticipantRole);

/// The SWV's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Granted,
    Refused,
}

carenet_fabric::text_enum!(Outcome {
    Granted => "granted",
    Refused => "refused",
});
choose!(Outcome);

/// The decision on an objection, after the committee's advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectionOutcome {
    /// Gegrond: the decision is revised.
    Upheld,
    /// Ongegrond: the decision stands.
    Dismissed,
}

carenet_fabric::text_enum!(ObjectionOutcome {
    Upheld => "upheld",
    Dismissed => "dismissed",
});
choose!(ObjectionOutcome);

#[cfg(test)]
mod tests {
    use super::*;

    const WHO: [Who; 4] = [Who::School, Who::Loket, Who::Guide, Who::Guardians];

    /// The module's table written out once more, per kind of track: exactly
    /// these (state, step, who) triples are allowed, to these states.
    fn allowed(tlv: bool) -> Vec<(State, Step, Who, State)> {
        use State::*;
        let mut rows = vec![
            (Draft, Step::Submit, Who::School, Submitted),
            (Submitted, Step::Return, Who::Loket, Returned),
            (Answered, Step::Return, Who::Loket, Returned),
            (Returned, Step::Answer, Who::School, Answered),
            (Submitted, Step::Assign, Who::Loket, InIntake),
            (Answered, Step::Assign, Who::Loket, InIntake),
            (InIntake, Step::PlanMdo, Who::Guide, MdoPlanned),
            (MdoPlanned, Step::PlanMdo, Who::Guide, MdoPlanned),
            (MdoPlanned, Step::HoldMdo, Who::Guide, MdoHeld),
            (Decided, Step::Object, Who::Guardians, Objected),
            (
                Objected,
                Step::DecideObjection,
                Who::Loket,
                ObjectionDecided,
            ),
        ];
        if tlv {
            rows.push((MdoHeld, Step::Advise, Who::Guide, Advised));
            rows.push((Advised, Step::Decide, Who::Loket, Decided));
        } else {
            rows.push((MdoHeld, Step::Decide, Who::Loket, Decided));
        }
        for s in [
            Draft, Submitted, Returned, Answered, InIntake, MdoPlanned, MdoHeld, Advised,
        ] {
            rows.push((s, Step::Withdraw, Who::School, Withdrawn));
        }
        rows
    }

    #[test]
    fn every_illegal_step_is_refused_and_every_legal_one_taken() {
        let mut tried = 0;
        for &kind in Kind::ALL {
            let table = allowed(kind.is_admission());
            for &state in State::ALL {
                for &step in Step::ALL {
                    for who in WHO {
                        tried += 1;
                        let expected = table
                            .iter()
                            .find(|(s, st, w, _)| (*s, *st, *w) == (state, step, who))
                            .map(|(_, _, _, to)| *to);
                        match (next(kind, state, step, who), expected) {
                            (Ok(to), Some(want)) => {
                                assert_eq!(to, want, "{kind} {state} {step} {who}")
                            }
                            (Err(e), None) => {
                                assert_eq!(e.code(), Some(Reason::CaseState));
                                let text = e.to_string();
                                assert!(
                                    text.contains(state.as_str()) && text.contains(step.as_str()),
                                    "{text}"
                                );
                            }
                            (got, want) => {
                                panic!("{kind} {state} {step} {who}: {got:?}, expected {want:?}")
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(tried, 7 * 12 * 11 * 4);
    }

    #[test]
    fn a_tlv_passes_the_advices_and_an_arrangement_does_not() {
        use State::*;
        let walk = |kind: Kind, steps: &[(Step, Who)]| {
            steps
                .iter()
                .try_fold(Draft, |s, (step, who)| next(kind, s, *step, *who))
        };
        let common = [
            (Step::Submit, Who::School),
            (Step::Return, Who::Loket),
            (Step::Answer, Who::School),
            (Step::Assign, Who::Loket),
            (Step::PlanMdo, Who::Guide),
            (Step::HoldMdo, Who::Guide),
        ];
        let mut tlv = common.to_vec();
        tlv.extend([
            (Step::Advise, Who::Guide),
            (Step::Decide, Who::Loket),
            (Step::Object, Who::Guardians),
            (Step::DecideObjection, Who::Loket),
        ]);
        assert_eq!(
            walk(Kind::AdmissionStatement, &tlv).expect("tlv"),
            ObjectionDecided
        );
        assert_eq!(
            walk(Kind::Reindication, &tlv).expect("reindication"),
            ObjectionDecided
        );
        // A TLV is not decided without its advices; an arrangement is.
        let mut direct = common.to_vec();
        direct.push((Step::Decide, Who::Loket));
        let e = walk(Kind::AdmissionStatement, &direct).expect_err("no advices");
        assert_eq!(
            e.to_string(),
            "this admission_statement request is mdo_held: the loket cannot decide it"
        );
        assert_eq!(
            walk(Kind::Arrangement, &direct).expect("arrangement"),
            Decided
        );
        assert!(walk(Kind::Arrangement, &tlv).is_err());
    }

    #[test]
    fn final_states_have_no_way_out_and_the_others_have_one() {
        for &kind in Kind::ALL {
            for &state in State::ALL {
                let out = Step::ALL
                    .iter()
                    .any(|&step| WHO.iter().any(|&who| next(kind, state, step, who).is_ok()));
                assert_eq!(out, !state.is_final(), "{kind} {state}");
            }
        }
        // A decided request is not withdrawn.
        for state in [State::Decided, State::Objected, State::ObjectionDecided] {
            assert!(next(Kind::Rebound, state, Step::Withdraw, Who::School).is_err());
        }
    }

    #[test]
    fn a_choice_names_its_field_and_stored_text_round_trips() {
        for &k in Kind::ALL {
            assert_eq!(Kind::choose("kind", k.as_str()).expect("kind"), k);
            assert_eq!(Kind::parse("kind", k.as_str()).expect("kind"), k);
        }
        let e = Kind::choose("kind", "tlv").expect_err("unknown");
        assert!(
            e.to_string().starts_with("kind: one of outreach_support"),
            "{e}"
        );
        assert_eq!(e.code(), Some(Reason::NotAChoice));
        assert!(matches!(
            State::parse("state", "open"),
            Err(Error::Corrupt(_))
        ));
    }

    fn tlv(school_type: SchoolType) -> Detail {
        Detail {
            school_type: Some(school_type),
            category: Some(Category::Low),
            ..Detail::default()
        }
    }

    #[test]
    fn each_kind_takes_its_own_details() {
        let field = |r: Result<()>| match r {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        use PartyKind::{PoSchool, Swv, VoSchool};
        let arrangement = Detail {
            level: Some(ArrangementLevel::Medium),
            support_asked: "Twee dagdelen per week begeleiding in de klas.".into(),
            cost_cents: Some(450_000),
            ..Detail::default()
        };
        assert!(check_detail(Kind::Arrangement, PoSchool, &arrangement).is_ok());
        let no_cost = Detail {
            cost_cents: None,
            ..arrangement.clone()
        };
        assert_eq!(
            field(check_detail(Kind::Arrangement, PoSchool, &no_cost)),
            "cost_cents"
        );
        let no_level = Detail {
            level: None,
            ..arrangement.clone()
        };
        assert_eq!(
            field(check_detail(Kind::Arrangement, VoSchool, &no_level)),
            "level"
        );
        assert_eq!(
            field(check_detail(Kind::OutreachSupport, PoSchool, &arrangement)),
            "level"
        );
        assert_eq!(
            field(check_detail(Kind::Rebound, VoSchool, &Detail::default())),
            "support_asked"
        );
        assert!(check_detail(Kind::AdmissionStatement, PoSchool, &tlv(SchoolType::Sbo)).is_ok());
        assert!(check_detail(Kind::AdmissionStatement, VoSchool, &tlv(SchoolType::Vso)).is_ok());
        assert_eq!(
            field(check_detail(
                Kind::AdmissionStatement,
                VoSchool,
                &tlv(SchoolType::So)
            )),
            "school_type"
        );
        let mut no_category = tlv(SchoolType::So);
        no_category.category = None;
        assert_eq!(
            field(check_detail(
                Kind::AdmissionStatement,
                PoSchool,
                &no_category
            )),
            "category"
        );
        assert_eq!(
            field(check_detail(
                Kind::Reindication,
                PoSchool,
                &tlv(SchoolType::So)
            )),
            "previous_decision"
        );
        let mut renew = tlv(SchoolType::So);
        renew.previous_decision = "0b8c1f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into();
        assert!(check_detail(Kind::Reindication, PoSchool, &renew).is_ok());
        assert_eq!(
            field(check_detail(Kind::AdmissionStatement, PoSchool, &renew)),
            "previous_decision"
        );
        assert!(check_detail(Kind::Pro, VoSchool, &Detail::default()).is_ok());
        assert_eq!(
            field(check_detail(Kind::Pro, PoSchool, &Detail::default())),
            "kind"
        );
        assert_eq!(
            field(check_detail(Kind::Lwoo, PoSchool, &Detail::default())),
            "kind"
        );
        assert_eq!(
            field(check_detail(Kind::Lwoo, Swv, &Detail::default())),
            "school"
        );
    }
}
