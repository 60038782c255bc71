//! The legal guards of the procedure as pure checks (ADR 0010 §4), each
//! rule its own refusal code, so a page says in Dutch which rule is broken
//! and the API names it:
//!
//! - [`advices`]: a TLV needs two separate, written expert advices by two
//!   different, named persons; the first an orthopedagogue or psychologist,
//!   the second of a kind the law names (a child psychologist, a
//!   (ortho)pedagogue, a child psychiatrist, a social worker or a doctor);
//!   neither employed by the requesting school; no collective advice (one
//!   document signed by both, or a committee's); each testing against the
//!   SWV's support plan and saying why an arrangement at a regular school
//!   does not suffice (landscape §3.5; LBT 2019).
//! - [`decision`]: written and reasoned, with its dates, and a TLV's
//!   category.
//! - [`hearing`]: the guardians' view (zienswijze) and the pupil's voice
//!   (hoorrecht), or the reason the pupil was not heard, before a request
//!   is submitted.
//!
//! Each check returns the FIRST rule broken, with the field it concerns.

use carenet_fabric::{Error, Reason};

use crate::model::{Category, Kind, Outcome, SchoolType};

/// A rule of the procedure; [`Rule::reason`] is its refusal code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    AdviceCount,
    AdviceSamePerson,
    AdviceFirstQualification,
    AdviceSecondQualification,
    AdviceNotIndependent,
    AdviceCollective,
    AdviceReasoning,
    DecisionReasons,
    DecisionDates,
    DecisionCategory,
    ViewMissing,
    VoiceMissing,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::AdviceCount,
        Rule::AdviceSamePerson,
        Rule::AdviceFirstQualification,
        Rule::AdviceSecondQualification,
        Rule::AdviceNotIndependent,
        Rule::AdviceCollective,
        Rule::AdviceReasoning,
        Rule::DecisionReasons,
        Rule::DecisionDates,
        Rule::DecisionCategory,
        Rule::ViewMissing,
        Rule::VoiceMissing,
    ];

    /// The refusal code of the rule.
    pub fn reason(self) -> Reason {
        match self {
            Rule::AdviceCount => Reason::AdviceCount,
            Rule::AdviceSamePerson => Reason::AdviceSamePerson,
            Rule::AdviceFirstQualification => Reason::AdviceFirstQualification,
            Rule::AdviceSecondQualification => Reason::AdviceSecondQualification,
            Rule::AdviceNotIndependent => Reason::AdviceNotIndependent,
            Rule::AdviceCollective => Reason::AdviceCollective,
            Rule::AdviceReasoning => Reason::AdviceReasoning,
            Rule::DecisionReasons => Reason::DecisionReasons,
            Rule::DecisionDates => Reason::DecisionDates,
            Rule::DecisionCategory => Reason::DecisionCategory,
            Rule::ViewMissing => Reason::ViewMissing,
            Rule::VoiceMissing => Reason::VoiceMissing,
        }
    }

    /// The rule in English, for logs, the API and the CLI.
    pub fn text(self) -> &'static str {
        match self {
            Rule::AdviceCount => "a TLV needs two separate written expert advices",
            Rule::AdviceSamePerson => "the two advices must be by two different persons",
            Rule::AdviceFirstQualification => {
                "the first advisor must be an orthopedagogue or a psychologist"
            }
            Rule::AdviceSecondQualification => {
                "the second advisor must be a child psychologist, (ortho)pedagogue, child psychiatrist, social worker or doctor"
            }
            Rule::AdviceNotIndependent => {
                "an advisor employed by the requesting school is not independent"
            }
            Rule::AdviceCollective => {
                "a collective advice (one document signed by both, or a committee's) is not valid"
            }
            Rule::AdviceReasoning => {
                "each advice must test against the SWV's support plan and say why an arrangement at a regular school does not suffice"
            }
            Rule::DecisionReasons => "a decision is written and reasoned",
            Rule::DecisionDates => {
                "a granted decision has a start and an end date, the end after the start"
            }
            Rule::DecisionCategory => {
                "a granted TLV names its school type and category; another decision none"
            }
            Rule::ViewMissing => "the guardians' view (zienswijze) is needed",
            Rule::VoiceMissing => {
                "the pupil's voice (hoorrecht) is needed, or the reason it was not recorded"
            }
        }
    }
}

/// A broken rule and the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub rule: Rule,
    pub field: String,
}

impl Broken {
    fn at(rule: Rule, field: impl Into<String>) -> Self {
        Broken {
            rule,
            field: field.into(),
        }
    }
}

impl From<Broken> for Error {
    fn from(b: Broken) -> Error {
        Error::invalid(b.field, b.rule.text()).coded(b.rule.reason())
    }
}

/// The advisor's profession, as the advice declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qualification {
    Orthopedagogue,
    Psychologist,
    ChildPsychologist,
    Pedagogue,
    ChildPsychiatrist,
    SocialWorker,
    Doctor,
    Other,
}

carenet_fabric::text_enum!(Qualification {
    Orthopedagogue => "orthopedagogue",
    Psychologist => "psychologist",
    ChildPsychologist => "child_psychologist",
    Pedagogue => "pedagogue",
    ChildPsychiatrist => "child_psychiatrist",
    SocialWorker => "social_worker",
    Doctor => "doctor",
    Other => "other",
});

impl Qualification {
    /// The variant `value` names, for a form's field.
    pub fn choose(field: &str, value: &str) -> crate::Result<Qualification> {
        Qualification::ALL
            .iter()
            .copied()
            .find(|q| q.as_str() == value)
            .ok_or_else(|| {
                let names: Vec<&str> = Qualification::ALL.iter().map(|q| q.as_str()).collect();
                Error::invalid(field, format!("one of {}", names.join(", ")))
                    .coded(Reason::NotAChoice)
            })
    }

    /// May give the first advice: an orthopedagogue or a psychologist (a
    /// child psychologist is one).
    pub fn may_advise_first(self) -> bool {
        matches!(
            self,
            Qualification::Orthopedagogue
                | Qualification::Psychologist
                | Qualification::ChildPsychologist
        )
    }

    /// May give the second advice: the kinds the law names (WPO art. 18a
    /// lid 11, WEC art. 40 lid 11, WVO art. 17a lid 11): a child
    /// psychologist, a pedagogue (an orthopedagogue is one), a child
    /// psychiatrist, a social worker or a doctor.
    pub fn may_advise_second(self) -> bool {
        matches!(
            self,
            Qualification::ChildPsychologist
                | Qualification::Pedagogue
                | Qualification::Orthopedagogue
                | Qualification::ChildPsychiatrist
                | Qualification::SocialWorker
                | Qualification::Doctor
        )
    }
}

/// One written expert advice, as the trajectbegeleider records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advice {
    /// The advisor's name (a named person, not a team).
    pub advisor_name: String,
    /// The advisor's professional registration (NIP, NVO, BIG or SKJ
    /// number): how two advices are known to be by one person.
    pub advisor_registration: String,
    pub qualification: Qualification,
    /// The party (region directory id) the advisor declares as employer;
    /// empty when it is no party of the region (an independent practice).
    pub employer_party: String,
    /// The employer as the advisor names it.
    pub employer_name: String,
    /// The written advice: a reference to its document.
    pub document_ref: String,
    /// How many persons signed that document.
    pub signatories: u32,
    /// Given by a committee (commissie van deskundigen) rather than a person.
    pub by_committee: bool,
    /// How the advice tests against the SWV's support plan.
    pub support_plan_test: String,
    /// Why an arrangement at a regular school does not suffice.
    pub why_not_regular: String,
    /// YYYY-MM-DD.
    pub written_on: String,
}

fn normalized(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The TLV's legal guards on its advices (in the order they were
/// recorded: `advices[0]` the first advice), for a request by the school
/// `requesting_school` (its party id). Runs at the step to `advised` and
/// again at the decision.
pub fn advices(advices: &[Advice], requesting_school: &str) -> Result<(), Broken> {
    use Rule::*;
    let [first, second] = advices else {
        return Err(Broken::at(AdviceCount, "advices"));
    };
    let same_registration = !first.advisor_registration.trim().is_empty()
        && first.advisor_registration.trim() == second.advisor_registration.trim();
    if same_registration || normalized(&first.advisor_name) == normalized(&second.advisor_name) {
        return Err(Broken::at(AdviceSamePerson, "advices[1].advisor_name"));
    }
    if !first.qualification.may_advise_first() {
        return Err(Broken::at(
            AdviceFirstQualification,
            "advices[0].qualification",
        ));
    }
    if !second.qualification.may_advise_second() {
        return Err(Broken::at(
            AdviceSecondQualification,
            "advices[1].qualification",
        ));
    }
    for (i, a) in advices.iter().enumerate() {
        if !a.employer_party.is_empty() && a.employer_party == requesting_school {
            return Err(Broken::at(
                AdviceNotIndependent,
                format!("advices[{i}].employer_party"),
            ));
        }
    }
    for (i, a) in advices.iter().enumerate() {
        if a.by_committee || a.signatories > 1 {
            return Err(Broken::at(
                AdviceCollective,
                format!("advices[{i}].document_ref"),
            ));
        }
    }
    if first.document_ref.trim() == second.document_ref.trim() {
        return Err(Broken::at(AdviceCollective, "advices[1].document_ref"));
    }
    for (i, a) in advices.iter().enumerate() {
        if a.support_plan_test.trim().is_empty() {
            return Err(Broken::at(
                AdviceReasoning,
                format!("advices[{i}].support_plan_test"),
            ));
        }
        if a.why_not_regular.trim().is_empty() {
            return Err(Broken::at(
                AdviceReasoning,
                format!("advices[{i}].why_not_regular"),
            ));
        }
    }
    Ok(())
}

/// The SWV's decision as the loket records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    /// The written reasoning (motivering).
    pub reasons: String,
    /// YYYY-MM-DD; a granted decision's validity.
    pub starts_on: String,
    pub ends_on: String,
    /// A granted TLV's school type and category.
    pub school_type: Option<SchoolType>,
    pub category: Option<Category>,
    /// Whether the guardians agree; when they do not, they are heard first.
    pub guardians_agree: bool,
    /// What the guardians said when heard.
    pub hearing: String,
}

/// The decision's own rules: reasons always; a granted decision's dates
/// (the end after the start); a granted TLV's school type and category,
/// and none on another decision.
pub fn decision(kind: Kind, d: &Decision) -> Result<(), Broken> {
    use Rule::*;
    if d.reasons.trim().is_empty() {
        return Err(Broken::at(DecisionReasons, "reasons"));
    }
    let date =
        |s: &str| time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE).ok();
    if d.outcome == Outcome::Granted {
        let Some(starts) = date(&d.starts_on) else {
            return Err(Broken::at(DecisionDates, "starts_on"));
        };
        let Some(ends) = date(&d.ends_on) else {
            return Err(Broken::at(DecisionDates, "ends_on"));
        };
        if ends <= starts {
            return Err(Broken::at(DecisionDates, "ends_on"));
        }
    } else if !d.starts_on.is_empty() || !d.ends_on.is_empty() {
        // A refusal admits to nothing, for no period.
        return Err(Broken::at(DecisionDates, "starts_on"));
    }
    let tlv_grant = kind.is_admission() && d.outcome == Outcome::Granted;
    if tlv_grant {
        if d.school_type.is_none() {
            return Err(Broken::at(DecisionCategory, "school_type"));
        }
        if d.category.is_none() {
            return Err(Broken::at(DecisionCategory, "category"));
        }
    } else if d.category.is_some() {
        return Err(Broken::at(DecisionCategory, "category"));
    } else if d.school_type.is_some() {
        return Err(Broken::at(DecisionCategory, "school_type"));
    }
    Ok(())
}

/// The guardians' view and the pupil's voice, before a request is
/// submitted: the view as text; the voice as text, or the reason it was
/// not recorded.
pub fn hearing(guardian_view: &str, pupil_voice: &str, voice_reason: &str) -> Result<(), Broken> {
    if guardian_view.trim().is_empty() {
        return Err(Broken::at(Rule::ViewMissing, "guardian_view"));
    }
    if pupil_voice.trim().is_empty() && voice_reason.trim().is_empty() {
        return Err(Broken::at(Rule::VoiceMissing, "pupil_voice"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> Advice {
        Advice {
            advisor_name: "Drs. Karin Mulder".into(),
            advisor_registration: "NIP-10234".into(),
            qualification: Qualification::Orthopedagogue,
            employer_party: "swv".into(),
            employer_name: "Samenwerkingsverband".into(),
            document_ref: "advies-mulder.pdf".into(),
            signatories: 1,
            by_committee: false,
            support_plan_test: "Getoetst aan §4.2 van het ondersteuningsplan: de ondersteuningsbehoefte gaat boven de basisondersteuning uit.".into(),
            why_not_regular: "Een arrangement op de basisschool is twee jaar geprobeerd zonder voldoende resultaat.".into(),
            written_on: "2026-11-02".into(),
        }
    }

    fn second() -> Advice {
        Advice {
            advisor_name: "Ahmed el Amrani".into(),
            advisor_registration: "BIG-88812".into(),
            qualification: Qualification::ChildPsychiatrist,
            employer_party: String::new(),
            employer_name: "Praktijk De Linde".into(),
            document_ref: "advies-elamrani.pdf".into(),
            ..first()
        }
    }

    fn broken(advices: &[Advice]) -> (Rule, String) {
        let b = super::advices(advices, "po-1").expect_err("refused");
        (b.rule, b.field)
    }

    #[test]
    fn two_valid_advices_pass() {
        assert_eq!(advices(&[first(), second()], "po-1"), Ok(()));
        // A psychologist first, an orthopedagogue second, also passes.
        let a = Advice {
            qualification: Qualification::Psychologist,
            ..first()
        };
        let b = Advice {
            qualification: Qualification::Orthopedagogue,
            ..second()
        };
        assert_eq!(advices(&[a, b], "po-1"), Ok(()));
    }

    #[test]
    fn one_advice_or_three_is_the_count() {
        assert_eq!(broken(&[first()]), (Rule::AdviceCount, "advices".into()));
        assert_eq!(broken(&[]).0, Rule::AdviceCount);
        assert_eq!(broken(&[first(), second(), second()]).0, Rule::AdviceCount);
    }

    #[test]
    fn one_person_twice_is_refused_by_registration_or_by_name() {
        let again = Advice {
            qualification: Qualification::Pedagogue,
            document_ref: "tweede.pdf".into(),
            advisor_name: "K. Mulder".into(),
            ..first()
        };
        assert_eq!(
            broken(&[first(), again]),
            (Rule::AdviceSamePerson, "advices[1].advisor_name".into())
        );
        let same_name = Advice {
            advisor_name: "  drs. karin   MULDER ".into(),
            ..second()
        };
        assert_eq!(broken(&[first(), same_name]).0, Rule::AdviceSamePerson);
    }

    #[test]
    fn the_first_advisor_is_an_orthopedagogue_or_psychologist() {
        let doctor = Advice {
            qualification: Qualification::Doctor,
            ..first()
        };
        assert_eq!(
            broken(&[doctor, second()]),
            (
                Rule::AdviceFirstQualification,
                "advices[0].qualification".into()
            )
        );
    }

    #[test]
    fn the_second_advisor_is_of_a_kind_the_law_names() {
        for q in [Qualification::Other, Qualification::Psychologist] {
            let b = Advice {
                qualification: q,
                ..second()
            };
            assert_eq!(
                broken(&[first(), b]),
                (
                    Rule::AdviceSecondQualification,
                    "advices[1].qualification".into()
                )
            );
        }
        for q in [
            Qualification::ChildPsychologist,
            Qualification::Pedagogue,
            Qualification::Orthopedagogue,
            Qualification::ChildPsychiatrist,
            Qualification::SocialWorker,
            Qualification::Doctor,
        ] {
            let b = Advice {
                qualification: q,
                ..second()
            };
            assert_eq!(advices(&[first(), b], "po-1"), Ok(()), "{q}");
        }
    }

    #[test]
    fn an_advisor_of_the_requesting_school_is_not_independent() {
        let b = Advice {
            employer_party: "po-1".into(),
            ..second()
        };
        assert_eq!(
            broken(&[first(), b]),
            (
                Rule::AdviceNotIndependent,
                "advices[1].employer_party".into()
            )
        );
        // Another school's advisor is independent of this one.
        let b = Advice {
            employer_party: "po-2".into(),
            ..second()
        };
        assert_eq!(advices(&[first(), b], "po-1"), Ok(()));
    }

    #[test]
    fn a_collective_advice_is_refused() {
        let shared = Advice {
            document_ref: first().document_ref,
            ..second()
        };
        assert_eq!(
            broken(&[first(), shared]),
            (Rule::AdviceCollective, "advices[1].document_ref".into())
        );
        let signed_by_two = Advice {
            signatories: 2,
            ..first()
        };
        assert_eq!(
            broken(&[signed_by_two, second()]),
            (Rule::AdviceCollective, "advices[0].document_ref".into())
        );
        let committee = Advice {
            by_committee: true,
            ..second()
        };
        assert_eq!(broken(&[first(), committee]).0, Rule::AdviceCollective);
    }

    #[test]
    fn each_advice_tests_against_the_plan_and_says_why_not_regular() {
        let untested = Advice {
            support_plan_test: " ".into(),
            ..second()
        };
        assert_eq!(
            broken(&[first(), untested]),
            (Rule::AdviceReasoning, "advices[1].support_plan_test".into())
        );
        let why = Advice {
            why_not_regular: String::new(),
            ..first()
        };
        assert_eq!(
            broken(&[why, second()]),
            (Rule::AdviceReasoning, "advices[0].why_not_regular".into())
        );
    }

    #[test]
    fn the_first_broken_rule_is_the_one_named() {
        // Same person AND the wrong first qualification: the person first.
        let a = Advice {
            qualification: Qualification::Other,
            ..first()
        };
        let b = Advice {
            advisor_name: first().advisor_name,
            ..second()
        };
        assert_eq!(broken(&[a, b]).0, Rule::AdviceSamePerson);
    }

    fn granted() -> Decision {
        Decision {
            outcome: Outcome::Granted,
            reasons:
                "Beide deskundigen adviseren SO; de basisschool kan de ondersteuning niet bieden."
                    .into(),
            starts_on: "2026-12-01".into(),
            ends_on: "2028-07-31".into(),
            school_type: Some(SchoolType::So),
            category: Some(Category::Low),
            guardians_agree: true,
            hearing: String::new(),
        }
    }

    fn refused(kind: Kind, d: Decision) -> (Rule, String) {
        let b = decision(kind, &d).expect_err("refused");
        (b.rule, b.field)
    }

    #[test]
    fn a_decision_is_reasoned_dated_and_categorised() {
        assert_eq!(decision(Kind::AdmissionStatement, &granted()), Ok(()));
        let unreasoned = Decision {
            reasons: "\n".into(),
            ..granted()
        };
        assert_eq!(
            refused(Kind::AdmissionStatement, unreasoned),
            (Rule::DecisionReasons, "reasons".into())
        );
        let undated = Decision {
            starts_on: String::new(),
            ..granted()
        };
        assert_eq!(
            refused(Kind::AdmissionStatement, undated),
            (Rule::DecisionDates, "starts_on".into())
        );
        let backwards = Decision {
            ends_on: "2026-11-30".into(),
            ..granted()
        };
        assert_eq!(
            refused(
                Kind::Arrangement,
                Decision {
                    school_type: None,
                    category: None,
                    ..backwards
                }
            ),
            (Rule::DecisionDates, "ends_on".into())
        );
        let no_category = Decision {
            category: None,
            ..granted()
        };
        assert_eq!(
            refused(Kind::Reindication, no_category),
            (Rule::DecisionCategory, "category".into())
        );
        // An arrangement carries no TLV category.
        assert_eq!(
            refused(Kind::Arrangement, granted()),
            (Rule::DecisionCategory, "category".into())
        );
        // A refusal: reasons, no dates, no category.
        let refusal = Decision {
            outcome: Outcome::Refused,
            starts_on: String::new(),
            ends_on: String::new(),
            school_type: None,
            category: None,
            ..granted()
        };
        assert_eq!(decision(Kind::AdmissionStatement, &refusal), Ok(()));
        let dated_refusal = Decision {
            starts_on: "2026-12-01".into(),
            ..refusal
        };
        assert_eq!(
            refused(Kind::AdmissionStatement, dated_refusal).0,
            Rule::DecisionDates
        );
    }

    #[test]
    fn a_request_hears_the_guardians_and_the_pupil() {
        assert_eq!(hearing("Wij zijn het eens.", "Ik wil wel.", ""), Ok(()));
        assert_eq!(
            hearing(
                "Wij zijn het eens.",
                "",
                "Leerling is vier jaar; gehoord via observatie."
            ),
            Ok(())
        );
        assert_eq!(
            hearing(" ", "Ik wil wel.", ""),
            Err(Broken::at(Rule::ViewMissing, "guardian_view"))
        );
        assert_eq!(
            hearing("Wij zijn het eens.", "", ""),
            Err(Broken::at(Rule::VoiceMissing, "pupil_voice"))
        );
    }

    #[test]
    fn each_rule_is_its_own_code_and_error() {
        let codes: std::collections::HashSet<_> = Rule::ALL.iter().map(|r| r.reason()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
        let e = Error::from(Broken::at(
            Rule::AdviceCollective,
            "advices[1].document_ref",
        ));
        assert_eq!(e.code(), Some(Reason::AdviceCollective));
        assert!(
            e.to_string()
                .starts_with("advices[1].document_ref: a collective advice")
        );
        assert_eq!(Reason::AdviceCollective.as_str(), "advice_collective");
    }
}
