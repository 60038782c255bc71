//! One child, one plan (issue 11, ADR 0006): the shared case plan held at
//! the case coordinator's party, with members, SMART goals, actions as
//! tasks with an owner, evaluations and a timeline.
//!
//! - At the holder (the coordinator's party): [`plan`] opens a plan or adds
//!   to the child's open one, steps tasks, evaluates and closes; [`change`]
//!   adds, edits and ends goals, actions and members after a meeting;
//!   [`members`] keeps each membership as long as its consent and period
//!   run; [`view`] cuts the plan into one part per data category and sends
//!   each member its view; [`progress`] applies the members' progress.
//! - At a member: [`member`] keeps the latest view of each plan, reports
//!   progress on its own tasks and asks the holder for a fresh view.
//! - [`task`] is the task state machine both sides check; [`roles`] the role
//!   table; [`slice`] what a node composes.
//!
//! Errors are the fabric's ([`carenet_fabric::Error`]): they name the field
//! or the state, never personal data.

pub mod change;
pub mod member;
pub mod members;
pub mod model;
pub mod plan;
pub mod progress;
pub mod relation;
pub mod retention;
pub mod roles;
pub mod slice;
pub mod task;
pub mod view;
pub mod work;

pub type Result<T, E = carenet_fabric::Error> = std::result::Result<T, E>;

pub use model::{PROGRESS_TYPE, Plan, VIEW_TYPE};
