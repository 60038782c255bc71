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
