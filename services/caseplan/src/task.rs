//! An action of the plan is a task with an owner (a member party and a
//! named person there) and a state. The states are a subset of FHIR Task's:
//! requested → accepted or rejected → in progress ⇄ on hold → completed,
//! failed or cancelled. The owner moves their own task; only the case
//! coordinator cancels. Rejected, completed, failed and cancelled are final.
//! [`next`] is the one place that decides a step; every other pair is
//! refused, naming the state, the step and who asked.

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Requested,
    Accepted,
    Rejected,
    InProgress,
    OnHold,
    Completed,
    Failed,
    Cancelled,
}

/// A step someone asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    Accept,
    Reject,
    Start,
    Hold,
    Resume,
    Complete,
    Fail,
    Cancel,
}

/// Who asks for the step: the task's owner, or the plan's case coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    Owner,
    Coordinator,
}

const STATES: &[(State, &str)] = &[
    (State::Requested, "requested"),
    (State::Accepted, "accepted"),
    (State::Rejected, "rejected"),
    (State::InProgress, "in_progress"),
    (State::OnHold, "on_hold"),
    (State::Completed, "completed"),
    (State::Failed, "failed"),
    (State::Cancelled, "cancelled"),
];

const STEPS: &[(Step, &str)] = &[
    (Step::Accept, "accept"),
    (Step::Reject, "reject"),
    (Step::Start, "start"),
    (Step::Hold, "hold"),
    (Step::Resume, "resume"),
    (Step::Complete, "complete"),
    (Step::Fail, "fail"),
    (Step::Cancel, "cancel"),
];

/// A step [`next`] does not allow, or a name that is no state or step.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("a {state} task: its {who} cannot {step} it")]
    Step {
        state: &'static str,
        step: &'static str,
        who: &'static str,
    },
    #[error("{field}: unknown {what} {value:?}")]
    Unknown {
        field: String,
        what: &'static str,
        value: String,
    },
}

impl State {
    pub fn all() -> impl Iterator<Item = State> {
        STATES.iter().map(|(s, _)| *s)
    }

    pub fn as_str(self) -> &'static str {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("unknown", |(_, n)| n)
    }

    pub fn parse(field: &str, value: &str) -> Result<State, Refused> {
        STATES
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(s, _)| *s)
            .ok_or_else(|| Refused::Unknown {
                field: field.to_owned(),
                what: "task state",
                value: value.to_owned(),
            })
    }

    /// No step leaves it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Rejected | State::Completed | State::Failed | State::Cancelled
        )
    }
}

impl Step {
    pub fn all() -> impl Iterator<Item = Step> {
        STEPS.iter().map(|(s, _)| *s)
    }

    pub fn as_str(self) -> &'static str {
        STEPS
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("unknown", |(_, n)| n)
    }

    pub fn parse(field: &str, value: &str) -> Result<Step, Refused> {
        STEPS
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(s, _)| *s)
            .ok_or_else(|| Refused::Unknown {
                field: field.to_owned(),
                what: "task step",
                value: value.to_owned(),
            })
    }

    /// Steps that must say why (a rejection, a pause, a failure, a
    /// cancellation): the partners and the guardians read the reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Step::Reject | Step::Hold | Step::Fail | Step::Cancel)
    }
}

impl Who {
    pub fn as_str(self) -> &'static str {
        match self {
            Who::Owner => "owner",
            Who::Coordinator => "coordinator",
        }
    }
}

/// The state a task is in after `step`, asked by `who`, from `state`; every
/// pair the table in ADR 0006 does not list is refused.
pub fn next(state: State, step: Step, who: Who) -> Result<State, Refused> {
    use State::*;
    let to = match (state, step, who) {
        (Requested, Step::Accept, Who::Owner) => Some(Accepted),
        (Requested, Step::Reject, Who::Owner) => Some(Rejected),
        (Accepted, Step::Start, Who::Owner) => Some(InProgress),
        (InProgress, Step::Hold, Who::Owner) => Some(OnHold),
        (OnHold, Step::Resume, Who::Owner) => Some(InProgress),
        (InProgress | OnHold, Step::Complete, Who::Owner) => Some(Completed),
        (InProgress | OnHold, Step::Fail, Who::Owner) => Some(Failed),
        (Requested | Accepted | InProgress | OnHold, Step::Cancel, Who::Coordinator) => {
            Some(Cancelled)
        }
        _ => None,
    };
    to.ok_or(Refused::Step {
        state: state.as_str(),
        step: step.as_str(),
        who: who.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of ADR 0006, written out once more by hand: exactly these
    /// (state, step, who) triples are allowed.
    const ALLOWED: &[(State, Step, Who, State)] = &[
        (State::Requested, Step::Accept, Who::Owner, State::Accepted),
        (State::Requested, Step::Reject, Who::Owner, State::Rejected),
        (State::Accepted, Step::Start, Who::Owner, State::InProgress),
        (State::InProgress, Step::Hold, Who::Owner, State::OnHold),
        (State::OnHold, Step::Resume, Who::Owner, State::InProgress),
        (
            State::InProgress,
            Step::Complete,
            Who::Owner,
            State::Completed,
        ),
        (State::OnHold, Step::Complete, Who::Owner, State::Completed),
        (State::InProgress, Step::Fail, Who::Owner, State::Failed),
        (State::OnHold, Step::Fail, Who::Owner, State::Failed),
        (
            State::Requested,
            Step::Cancel,
            Who::Coordinator,
            State::Cancelled,
        ),
        (
            State::Accepted,
            Step::Cancel,
            Who::Coordinator,
            State::Cancelled,
        ),
        (
            State::InProgress,
            Step::Cancel,
            Who::Coordinator,
            State::Cancelled,
        ),
        (
            State::OnHold,
            Step::Cancel,
            Who::Coordinator,
            State::Cancelled,
        ),
    ];

    #[test]
    fn every_illegal_step_is_refused_and_every_legal_one_taken() {
        let mut tried = 0;
        for state in State::all() {
            for step in Step::all() {
                for who in [Who::Owner, Who::Coordinator] {
                    tried += 1;
                    let expected = ALLOWED
                        .iter()
                        .find(|(s, st, w, _)| (*s, *st, *w) == (state, step, who))
                        .map(|(_, _, _, to)| *to);
                    match (next(state, step, who), expected) {
                        (Ok(to), Some(want)) => assert_eq!(to, want, "{state:?} {step:?} {who:?}"),
                        (
                            Err(Refused::Step {
                                state: s,
                                step: st,
                                who: w,
                            }),
                            None,
                        ) => {
                            assert_eq!((s, st, w), (state.as_str(), step.as_str(), who.as_str()));
                        }
                        (got, want) => {
                            panic!("{state:?} {step:?} {who:?}: {got:?}, expected {want:?}")
                        }
                    }
                }
            }
        }
        assert_eq!(tried, 8 * 8 * 2);
    }

    #[test]
    fn final_states_have_no_way_out() {
        for state in State::all().filter(|s| s.is_final()) {
            for step in Step::all() {
                for who in [Who::Owner, Who::Coordinator] {
                    assert!(next(state, step, who).is_err(), "{state:?} {step:?}");
                }
            }
        }
        // And every state that is not final has one.
        for state in State::all().filter(|s| !s.is_final()) {
            assert!(
                Step::all().any(|step| next(state, step, Who::Owner).is_ok()
                    || next(state, step, Who::Coordinator).is_ok()),
                "{state:?}"
            );
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_the_field() {
        for s in State::all() {
            assert_eq!(State::parse("state", s.as_str()), Ok(s));
        }
        for s in Step::all() {
            assert_eq!(Step::parse("step", s.as_str()), Ok(s));
        }
        let e = Step::parse("updates[2].step", "finish").expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "updates[2].step: unknown task step \"finish\""
        );
        let e = next(State::Completed, Step::Resume, Who::Owner).expect_err("final");
        assert_eq!(
            e.to_string(),
            "a completed task: its owner cannot resume it"
        );
    }
}
