//! Data categories: every field a document carries belongs to one, and a legal
//! basis allows a set of them. The first sixteen are the OSO 2019.1 delivery
//! categories (`categorie_uitlevering`), so an OSO dossier's selective delivery
//! maps one to one; the rest are care categories that OSO does not carry.

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    // OSO delivery categories, in the order of the XSD.
    Metadata,
    GuardianInspection,
    School,
    Pupil,
    Guardians,
    EarlyEducation,
    SchoolCareer,
    TransferAdvice,
    EducationalSupport,
    Absence,
    ExitTest,
    TestResults,
    ActionPlans,
    GradeLists,
    PreviousSecondary,
    Attachments,
    // Care categories.
    CareHistory,
    Diagnosis,
    HomeSituation,
    ExternalCare,
}

/// (category, name in code and on the wire, OSO element if it is an OSO category)
const TABLE: &[(Category, &str, Option<&str>)] = &[
    (Category::Metadata, "metadata", Some("cat_metadata")),
    (
        Category::GuardianInspection,
        "guardian_inspection",
        Some("cat_ouderinzage"),
    ),
    (Category::School, "school", Some("cat_school")),
    (Category::Pupil, "pupil", Some("cat_leerling")),
    (
        Category::Guardians,
        "guardians",
        Some("cat_oudersverzorgers"),
    ),
    (Category::EarlyEducation, "early_education", Some("cat_vve")),
    (
        Category::SchoolCareer,
        "school_career",
        Some("cat_schoolloopbaan"),
    ),
    (
        Category::TransferAdvice,
        "transfer_advice",
        Some("cat_overstapadvies"),
    ),
    (
        Category::EducationalSupport,
        "educational_support",
        Some("cat_onderwijsondersteuning"),
    ),
    (Category::Absence, "absence", Some("cat_verzuim")),
    (Category::ExitTest, "exit_test", Some("cat_eindtoetsbo")),
    (
        Category::TestResults,
        "test_results",
        Some("cat_toetsresultaten"),
    ),
    (
        Category::ActionPlans,
        "action_plans",
        Some("cat_handelingsplannen"),
    ),
    (
        Category::GradeLists,
        "grade_lists",
        Some("cat_cijferlijsten"),
    ),
    (
        Category::PreviousSecondary,
        "previous_secondary",
        Some("cat_vombo"),
    ),
    (
        Category::Attachments,
        "attachments",
        Some("cat_bijlagedocs"),
    ),
    (Category::CareHistory, "care_history", None),
    (Category::Diagnosis, "diagnosis", None),
    (Category::HomeSituation, "home_situation", None),
    (Category::ExternalCare, "external_care", None),
];

impl Category {
    pub fn all() -> impl Iterator<Item = Category> {
        TABLE.iter().map(|(c, _, _)| *c)
    }

    pub fn as_str(self) -> &'static str {
        TABLE
            .iter()
            .find(|(c, _, _)| *c == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("unknown")
    }

    /// The OSO `categorie_uitlevering` element, for the sixteen OSO categories.
    pub fn oso_element(self) -> Option<&'static str> {
        TABLE
            .iter()
            .find(|(c, _, _)| *c == self)
            .and_then(|(_, _, o)| *o)
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        TABLE
            .iter()
            .find(|(_, n, _)| *n == value)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| {
                Error::invalid(field, "not a known data category")
                    .coded(carenet_fabric::Reason::NotAChoice)
            })
    }

    pub fn from_oso_element(element: &str) -> Option<Self> {
        TABLE
            .iter()
            .find(|(_, _, o)| *o == Some(element))
            .map(|(c, _, _)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_oso_categories_and_names_round_trip() {
        assert_eq!(
            Category::all()
                .filter(|c| c.oso_element().is_some())
                .count(),
            16
        );
        for c in Category::all() {
            assert_eq!(Category::parse("c", c.as_str()).unwrap(), c);
            if let Some(e) = c.oso_element() {
                assert_eq!(Category::from_oso_element(e), Some(c));
            }
        }
        assert!(Category::parse("categories[0]", "shoe_size").is_err());
    }
}
