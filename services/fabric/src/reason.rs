//! Stable codes for the refusals a person can meet in a form: the slices
//! attach one to an error ([`crate::Error::coded`]) next to their English
//! text, which stays for logs, the JSON API and gRPC. A page never shows that
//! text: the gateway maps the code (and the field) to Dutch, in one place.

/// Why a step was refused, as a stable machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A field that must be filled in is empty.
    Required,
    /// A text longer than the field allows.
    TooLong,
    /// Not one of the values the field offers.
    NotAChoice,
    /// Not a date (dd-mm-jjjj / YYYY-MM-DD).
    NotADate,
    /// A date in the future where only the past makes sense (a birth date).
    DateInFuture,
    /// A date in the past where only the future makes sense (an end date).
    DateInPast,
    /// Two dates in the wrong order (an end before its start).
    DatesOutOfOrder,
    /// No granted consent of the guardians for this step.
    ConsentMissing,
    /// A consent asked for, not granted (yet).
    ConsentNotGranted,
    /// A consent the guardians withdrew.
    ConsentWithdrawn,
    /// A consent the guardians refused.
    ConsentRefused,
    /// A consent that is no longer (or not yet) valid.
    ConsentExpired,
    /// A consent for another purpose, pupil or recipient than this step.
    ConsentNotCovering,
    /// The consent is not in a state that allows this change.
    ConsentState,
    /// Who gave the consent does not suffice (a pupil of 16 decides too).
    GrantorsInsufficient,
    /// The dossier is not in a state that allows this step.
    DossierState,
    /// The plan, registration or meeting is not in a state that allows it.
    CaseState,
    /// A person (member of staff) this party does not know.
    UnknownPerson,
    /// A party the region directory does not know.
    UnknownParty,
    /// A school or party other than the one the step concerns.
    PartyMismatch,
    /// About another pupil than the one the step concerns.
    OtherPupil,
    /// The same thing named twice.
    Duplicate,
    /// A pupil reference (leerlingnummer) this party does not know.
    UnknownPupil,
    /// A birth date other than the one the school recorded for the pupil.
    BirthDateMismatch,
    /// The school has not recorded the pupil's birth date yet.
    BirthDateUnknown,
    /// The guardians refused on the parent portal: only they (or their
    /// signed form) reverse it.
    RefusedOnPortal,
    /// An invitation code that is unknown, used or expired.
    CodeUnknown,
    /// An invitation code for the pupil, redeemed by a linked guardian.
    CodeForPupil,
    /// An invitation code for a guardian, redeemed by the linked pupil.
    CodeForGuardian,
    /// A TLV without its two separate written expert advices.
    AdviceCount,
    /// A TLV's two advices by one person.
    AdviceSamePerson,
    /// A TLV's first advisor who is no orthopedagogue or psychologist.
    AdviceFirstQualification,
    /// A TLV's second advisor of a kind the law does not name.
    AdviceSecondQualification,
    /// An advisor employed by the school that asks for the TLV.
    AdviceNotIndependent,
    /// A collective advice: one document signed by both, or a committee's.
    AdviceCollective,
    /// An advice that does not test against the SWV's support plan or say why a regular school's arrangement does not suffice.
    AdviceReasoning,
    /// An SWV decision without its written reasons.
    DecisionReasons,
    /// An SWV decision without its start and end date (or with the end first).
    DecisionDates,
    /// A granted TLV without its school type and category, or another decision with one.
    DecisionCategory,
    /// A support request without the guardians' view (zienswijze).
    ViewMissing,
    /// A support request without the pupil's voice (hoorrecht) or the reason it was not recorded.
    VoiceMissing,
}

impl Reason {
    /// Every code, for the mapping's completeness test.
    pub const ALL: [Reason; 41] = [
        Reason::Required,
        Reason::TooLong,
        Reason::NotAChoice,
        Reason::NotADate,
        Reason::DateInFuture,
        Reason::DateInPast,
        Reason::DatesOutOfOrder,
        Reason::ConsentMissing,
        Reason::ConsentNotGranted,
        Reason::ConsentWithdrawn,
        Reason::ConsentRefused,
        Reason::ConsentExpired,
        Reason::ConsentNotCovering,
        Reason::ConsentState,
        Reason::GrantorsInsufficient,
        Reason::DossierState,
        Reason::CaseState,
        Reason::UnknownPerson,
        Reason::UnknownParty,
        Reason::PartyMismatch,
        Reason::OtherPupil,
        Reason::Duplicate,
        Reason::UnknownPupil,
        Reason::BirthDateMismatch,
        Reason::BirthDateUnknown,
        Reason::RefusedOnPortal,
        Reason::CodeUnknown,
        Reason::CodeForPupil,
        Reason::CodeForGuardian,
        Reason::AdviceCount,
        Reason::AdviceSamePerson,
        Reason::AdviceFirstQualification,
        Reason::AdviceSecondQualification,
        Reason::AdviceNotIndependent,
        Reason::AdviceCollective,
        Reason::AdviceReasoning,
        Reason::DecisionReasons,
        Reason::DecisionDates,
        Reason::DecisionCategory,
        Reason::ViewMissing,
        Reason::VoiceMissing,
    ];

    /// The code `text` names (as [`Reason::as_str`] writes it, in any case).
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text))
    }

    /// The code as machines read it (snake_case, stable).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Required => "required",
            Reason::TooLong => "too_long",
            Reason::NotAChoice => "not_a_choice",
            Reason::NotADate => "not_a_date",
            Reason::DateInFuture => "date_in_future",
            Reason::DateInPast => "date_in_past",
            Reason::DatesOutOfOrder => "dates_out_of_order",
            Reason::ConsentMissing => "consent_missing",
            Reason::ConsentNotGranted => "consent_not_granted",
            Reason::ConsentWithdrawn => "consent_withdrawn",
            Reason::ConsentRefused => "consent_refused",
            Reason::ConsentExpired => "consent_expired",
            Reason::ConsentNotCovering => "consent_not_covering",
            Reason::ConsentState => "consent_state",
            Reason::GrantorsInsufficient => "grantors_insufficient",
            Reason::DossierState => "dossier_state",
            Reason::CaseState => "case_state",
            Reason::UnknownPerson => "unknown_person",
            Reason::UnknownParty => "unknown_party",
            Reason::PartyMismatch => "party_mismatch",
            Reason::OtherPupil => "other_pupil",
            Reason::Duplicate => "duplicate",
            Reason::UnknownPupil => "unknown_pupil",
            Reason::BirthDateMismatch => "birth_date_mismatch",
            Reason::BirthDateUnknown => "birth_date_unknown",
            Reason::RefusedOnPortal => "refused_on_portal",
            Reason::CodeUnknown => "code_unknown",
            Reason::CodeForPupil => "code_for_pupil",
            Reason::CodeForGuardian => "code_for_guardian",
            Reason::AdviceCount => "advice_count",
            Reason::AdviceSamePerson => "advice_same_person",
            Reason::AdviceFirstQualification => "advice_first_qualification",
            Reason::AdviceSecondQualification => "advice_second_qualification",
            Reason::AdviceNotIndependent => "advice_not_independent",
            Reason::AdviceCollective => "advice_collective",
            Reason::AdviceReasoning => "advice_reasoning",
            Reason::DecisionReasons => "decision_reasons",
            Reason::DecisionDates => "decision_dates",
            Reason::DecisionCategory => "decision_category",
            Reason::ViewMissing => "view_missing",
            Reason::VoiceMissing => "voice_missing",
        }
    }

    /// The code of a consent in `status` (a status name of the consent
    /// service) that a step needed granted.
    pub fn of_consent_status(status: &str) -> Reason {
        match status {
            "withdrawn" => Reason::ConsentWithdrawn,
            "refused" => Reason::ConsentRefused,
            "expired" => Reason::ConsentExpired,
            "requested" => Reason::ConsentNotGranted,
            _ => Reason::ConsentState,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The English text of a refused precondition, with its code when a slice
/// gave one (`FailedPrecondition` carries it; it reads as its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Why {
    pub text: String,
    pub code: Option<Reason>,
}

impl std::ops::Deref for Why {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<String> for Why {
    fn from(text: String) -> Self {
        Why { text, code: None }
    }
}

impl From<&str> for Why {
    fn from(text: &str) -> Self {
        Why {
            text: text.to_owned(),
            code: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_listed() {
        let codes: std::collections::HashSet<_> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
    }
}
