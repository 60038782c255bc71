//! A plan as the holder keeps it, and its cut into one part per data
//! category: the unit the release policy keeps or drops for each member.

use std::collections::BTreeMap;

use carenet_consent::Category;
use carenet_fabric::Error;
use carenet_proto::v1;
use prost::Message;

use crate::Result;

/// The plan as each member receives it (holder → member).
pub const VIEW_TYPE: &str = "carenet.case_view";
/// A member's step on its own task (member → holder).
pub const PROGRESS_TYPE: &str = "carenet.case_progress";

/// The step of a member's progress note: text on its own action, no
/// change of state.
pub const NOTE_STEP: &str = "note";

/// The category of the plan itself: header, goals by default, evaluations.
pub const PLAN_CATEGORY: Category = Category::ActionPlans;

/// The categories a plan's parts may have; a task, goal or note names one.
pub const CATEGORIES: &[Category] = &[
    Category::ActionPlans,
    Category::Pupil,
    Category::EducationalSupport,
    Category::Absence,
    Category::CareHistory,
    Category::Diagnosis,
    Category::HomeSituation,
    Category::ExternalCare,
];

/// Every category name of [`CATEGORIES`], for the slice's declaration.
pub const CATEGORY_NAMES: &[&str] = &[
    "action_plans",
    "pupil",
    "educational_support",
    "absence",
    "care_history",
    "diagnosis",
    "home_situation",
    "external_care",
];

/// Parses a category a plan may hold; the error names `field`.
pub fn category(field: &str, value: &str) -> Result<Category> {
    let c = Category::parse(field, value).map_err(Error::from)?;
    if !CATEGORIES.contains(&c) || c == Category::Pupil {
        return Err(Error::invalid(
            field,
            "one of action_plans, educational_support, absence, care_history, diagnosis, home_situation, external_care",
        ));
    }
    Ok(c)
}

/// Whether `s` has the form of the ids this slice makes (a UUID): 1-64
/// letters, digits and '-'. Ids from another node are checked before they
/// reach a query or the audit log.
pub fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The document id of a plan's views (its versions are the plan's).
pub fn view_document_id(plan_id: &str) -> String {
    format!("case-{plan_id}")
}

/// The plan id of a view's document id.
pub fn plan_of_view(document_id: &str) -> Option<&str> {
    document_id.strip_prefix("case-")
}

/// A whole plan, at its holder.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub id: String,
    pub child_ref: String,
    pub version: u64,
    pub pupil: v1::CasePupil,
    pub header: v1::CasePlanHeader,
    pub goals: Vec<v1::CaseGoal>,
    pub tasks: Vec<v1::CaseTask>,
    pub evaluations: Vec<v1::CaseEvaluation>,
    pub notes: Vec<v1::CaseNote>,
    pub events: Vec<v1::CaseEvent>,
}

impl Plan {
    /// One part per category the plan holds anything in: the plan's own
    /// category carries the header and the evaluations, `pupil` who it is
    /// about; every goal, task, note and event goes to its category's part.
    pub fn parts(&self) -> BTreeMap<Category, v1::CasePlanPart> {
        let mut parts: BTreeMap<Category, v1::CasePlanPart> = BTreeMap::new();
        let blank = v1::CasePlanPart {
            plan_id: self.id.clone(),
            plan_version: self.version,
            ..Default::default()
        };
        let of = |name: &str| Category::parse("category", name).unwrap_or(PLAN_CATEGORY);
        let entry = |parts: &mut BTreeMap<Category, v1::CasePlanPart>, c: Category| {
            parts.entry(c).or_insert_with(|| blank.clone());
        };
        entry(&mut parts, PLAN_CATEGORY);
        entry(&mut parts, Category::Pupil);
        for c in self
            .goals
            .iter()
            .map(|g| &g.category)
            .chain(self.tasks.iter().map(|t| &t.category))
            .chain(self.notes.iter().map(|n| &n.category))
            .chain(self.events.iter().map(|e| &e.category))
        {
            entry(&mut parts, of(c));
        }
        for (c, p) in parts.iter_mut() {
            let mine = |name: &str| of(name) == *c;
            if *c == PLAN_CATEGORY {
                p.header = Some(self.header.clone());
                p.evaluations = self.evaluations.clone();
            }
            if *c == Category::Pupil {
                p.pupil = Some(self.pupil.clone());
            }
            p.goals = self
                .goals
                .iter()
                .filter(|g| mine(&g.category))
                .cloned()
                .collect();
            p.tasks = self
                .tasks
                .iter()
                .filter(|t| mine(&t.category))
                .cloned()
                .collect();
            p.notes = self
                .notes
                .iter()
                .filter(|n| mine(&n.category))
                .cloned()
                .collect();
            p.events = self
                .events
                .iter()
                .filter(|e| mine(&e.category))
                .cloned()
                .collect();
        }
        parts
    }

    /// The plan as a categorized document: one section per part.
    pub fn view_payload(&self) -> Vec<u8> {
        v1::CategorizedDocument {
            sections: self
                .parts()
                .into_iter()
                .map(|(c, part)| v1::Section {
                    category: c.as_str().to_owned(),
                    name: "case_plan".into(),
                    content: part.encode_to_vec(),
                })
                .collect(),
        }
        .encode_to_vec()
    }

    /// The active members (no end recorded).
    pub fn active_members(&self) -> impl Iterator<Item = &v1::CaseMember> {
        self.header.members.iter().filter(|m| m.ended_on.is_empty())
    }

    pub fn task(&self, id: &str) -> Option<&v1::CaseTask> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

/// What a member sees of a plan: the parts its consent covers, merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberView {
    pub holder: String,
    pub plan_id: String,
    pub version: u64,
    /// The categories it holds.
    pub categories: Vec<String>,
    pub pupil: Option<v1::CasePupil>,
    pub header: Option<v1::CasePlanHeader>,
    pub goals: Vec<v1::CaseGoal>,
    pub tasks: Vec<v1::CaseTask>,
    pub evaluations: Vec<v1::CaseEvaluation>,
    pub notes: Vec<v1::CaseNote>,
    pub events: Vec<v1::CaseEvent>,
}

impl MemberView {
    /// The first id in the view that has not the form of an id (a plan,
    /// task, goal or evaluation id, a party or consent record), named by
    /// its field, or `None`. Ids from another node are checked when they
    /// arrive, before they reach a query, a page or a link built from them.
    pub fn malformed_id(&self) -> Option<String> {
        let party = |s: &str| carenet_fabric::PartyId::parse("party", s).is_ok();
        if !is_id(&self.plan_id) {
            return Some("plan_id".into());
        }
        if let Some(h) = &self.header {
            if !h.holder.is_empty() && !party(&h.holder) {
                return Some("header.holder".into());
            }
            for (i, m) in h.members.iter().enumerate() {
                if !party(&m.party) {
                    return Some(format!("header.members[{i}].party"));
                }
                if !is_id(&m.consent_record) {
                    return Some(format!("header.members[{i}].consent_record"));
                }
            }
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if !is_id(&t.id) {
                return Some(format!("tasks[{i}].id"));
            }
            if !party(&t.owner) {
                return Some(format!("tasks[{i}].owner"));
            }
            if !t.person.is_empty()
                && carenet_fabric::actor::check_staff_id("person", &t.person).is_err()
            {
                return Some(format!("tasks[{i}].person"));
            }
        }
        for (i, g) in self.goals.iter().enumerate() {
            if !is_id(&g.id) {
                return Some(format!("goals[{i}].id"));
            }
        }
        for (i, e) in self.evaluations.iter().enumerate() {
            if !is_id(&e.id) {
                return Some(format!("evaluations[{i}].id"));
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            if !e.task_id.is_empty() && !is_id(&e.task_id) {
                return Some(format!("events[{i}].task_id"));
            }
            if !party(&e.party) {
                return Some(format!("events[{i}].party"));
            }
        }
        None
    }

    /// Merges the sections of a received view (those the release kept).
    pub fn from_payload(holder: &str, plan_id: &str, payload: &[u8]) -> Result<MemberView> {
        let corrupt = || Error::Corrupt(format!("case view {plan_id}"));
        let doc = v1::CategorizedDocument::decode(payload).map_err(|_| corrupt())?;
        let mut view = MemberView {
            holder: holder.to_owned(),
            plan_id: plan_id.to_owned(),
            ..Default::default()
        };
        for section in doc.sections {
            let part =
                v1::CasePlanPart::decode(section.content.as_slice()).map_err(|_| corrupt())?;
            if part.plan_id != plan_id {
                return Err(corrupt());
            }
            view.version = part.plan_version;
            view.categories.push(section.category);
            if part.pupil.is_some() {
                view.pupil = part.pupil;
            }
            if part.header.is_some() {
                view.header = part.header;
            }
            view.goals.extend(part.goals);
            view.tasks.extend(part.tasks);
            view.evaluations.extend(part.evaluations);
            view.notes.extend(part.notes);
            view.events.extend(part.events);
        }
        view.events.sort_by_key(|e| e.at_ms);
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> MemberView {
        MemberView {
            holder: "vo-1".into(),
            plan_id: "0b8c1f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b".into(),
            header: Some(v1::CasePlanHeader {
                holder: "vo-1".into(),
                members: vec![v1::CaseMember {
                    party: "jgz-1".into(),
                    consent_record: "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            tasks: vec![v1::CaseTask {
                id: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d".into(),
                owner: "jgz-1".into(),
                ..Default::default()
            }],
            events: vec![v1::CaseEvent {
                party: "vo-1".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn every_id_in_a_view_is_checked() {
        assert_eq!(view().malformed_id(), None);
        let mut v = view();
        v.tasks[0].id = "x/../../ontvangen/abc/samenvatting".into();
        assert_eq!(v.malformed_id().as_deref(), Some("tasks[0].id"));
        let mut v = view();
        v.tasks[0].owner = "jgz-1/..".into();
        assert_eq!(v.malformed_id().as_deref(), Some("tasks[0].owner"));
        let mut v = view();
        v.plan_id = "..".into();
        assert_eq!(v.malformed_id().as_deref(), Some("plan_id"));
        let mut v = view();
        v.events[0].task_id = "a b".into();
        assert_eq!(v.malformed_id().as_deref(), Some("events[0].task_id"));
        let mut v = view();
        v.goals.push(v1::CaseGoal {
            id: "?q=1".into(),
            ..Default::default()
        });
        assert_eq!(v.malformed_id().as_deref(), Some("goals[0].id"));
        let mut v = view();
        if let Some(h) = v.header.as_mut() {
            h.members[0].consent_record = "%2e%2e".into();
        }
        assert_eq!(
            v.malformed_id().as_deref(),
            Some("header.members[0].consent_record")
        );
    }
}
