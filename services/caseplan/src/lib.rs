//! One child, one plan (issue 11, ADR 0006): the shared case plan held at
//! the case coordinator's party, with members, goals, actions as tasks with
//! an owner, evaluations and a timeline. So far: the task state machine
//! ([`task`]) that every update of an action passes, at the coordinator's
//! node and at the owner's.

pub mod task;
