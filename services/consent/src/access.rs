//! What a guardian may see and do about a child on a given date: the one
//! answer every parent-portal page and call asks ([`of`]), so the age rules
//! of [`crate::age`] apply to the whole portal and not to one page.
//!
//! The answer follows from the child's age on that date, counted from the
//! birth date the school recorded (its record of the pupil,
//! [`crate::pupil`], which the consent rules use too; for a link made before
//! that record, the link's invitation, else the child's consent records),
//! and from the same table that decides who must consent:
//!
//! | what | under 12 | 12 to 15 | 16 and older, or age unknown |
//! |---|---|---|---|
//! | consents (see, decide, withdraw) | all | all (youth care: the guardians decide with the pupil) | none: the pupil decides |
//! | who saw what | under the consents shown, and other bases than a safety exception | the same | none |
//! | transfer dossiers (read, inzage) | yes | yes | no |
//! | plan of action | yes, not the home situation | yes, not the home situation, diagnoses or earlier care | no |
//!
//! A consent is shown where the guardians are among those who decide about
//! it on that date ([`required`]`(regime, age).guardians`): from 16 the
//! pupil's consents, given alone, are the pupil's. A disclosure under a
//! safety exception (the meldcode) is never shown: it is made without the
//! guardians because asking them could endanger the child, and the
//! professional tells them when that is safe. Actions and goals of a plan in
//! a category the guardian may not see are left out, not counted: a count
//! says that something is there. An unknown birth date is treated as the
//! strictest case: the school must record it before the portal shows more
//! than the link.
//!
//! The pupil themself, signed in through the same login on a link the
//! school made for them ([`Linked::is_pupil`], ADR 0008), gets the other
//! side of the same table ([`Access::for_pupil`]): the consents the pupil
//! decides alone at their age (from 16 all of them), and who saw what under
//! those; nothing before 16. Transfer dossiers and the plan stay off the
//! pupil's page here.

use carenet_fabric::directory::Directory;
use carenet_proto::v1;
use time::Date;

use crate::Purpose;
use crate::age::{self, Regime, required};
use crate::disclosure::Disclosure;
use crate::portal::Linked;

/// Plan categories never on the portal: a step of Veilig Thuis or the
/// attendance officer about the home may concern the guardian who reads.
const NEVER_ON_PORTAL: &[&str] = &["home_situation"];
/// Plan categories of youth care and health: from 12 the pupil may object to
/// a guardian seeing them (WGBO art. 7:457; the youth-care regime).
const YOUTH_CARE_CATEGORIES: &[&str] = &["diagnosis", "care_history"];

/// The portal's pages about a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    /// Consent requests and current consents (`/ouders/kind/{n}`).
    Consents,
    /// Who saw what (`/ouders/kind/{n}/gezien`).
    Disclosures,
    /// Transfer dossiers: read and give a view (inzage).
    Dossiers,
    /// The plan of action (`/ouders/kind/{n}/plan`).
    Plan,
}

/// What a guardian may see and do about one child on one date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    age: Option<u32>,
    /// The reader is the pupil themself, not a guardian.
    pupil: bool,
}

/// The answer for `link`'s guardian (or pupil) and child on `on` (a Dutch date).
pub fn of(link: &Linked, on: Date) -> Access {
    if link.is_pupil() {
        Access::for_pupil(link.child_birth_date(), on)
    } else {
        Access::at(link.child_birth_date(), on)
    }
}

impl Access {
    /// The answer for a child born on `birth` (`None`: the school recorded
    /// no birth date), on `on`.
    pub fn at(birth: Option<Date>, on: Date) -> Self {
        Self {
            age: birth.map(|b| age::age_on(b, on)),
            pupil: false,
        }
    }

    /// The answer for the pupil themself, born on `birth`, on `on`: what
    /// the pupil decides alone.
    pub fn for_pupil(birth: Option<Date>, on: Date) -> Self {
        Self {
            pupil: true,
            ..Self::at(birth, on)
        }
    }

    /// Whether the reader is the pupil themself.
    pub fn is_pupil(&self) -> bool {
        self.pupil
    }

    /// The child's age on the date, if its birth date is known.
    pub fn age(&self) -> Option<u32> {
        self.age
    }

    /// Whether the reader decides about data of `regime` on the date: a
    /// guardian where the guardians are among those who decide, the pupil
    /// where the pupil decides alone.
    pub fn decides(&self, regime: Regime) -> bool {
        self.age.is_some_and(|a| {
            let who = required(regime, a);
            if self.pupil {
                who.pupil && !who.guardians
            } else {
                who.guardians
            }
        })
    }

    /// The reader decides nothing the portal shows: a guardian of a pupil
    /// who decides (16 and older, or age unknown), or a pupil too young to
    /// decide alone. The reader sees the link and no page about the child.
    pub fn nothing_to_decide(&self) -> bool {
        !self.decides(Regime::Education) && !self.decides(Regime::YouthCare)
    }

    /// The pupil decides about everything the portal shows: the guardian
    /// sees the link and no page about the child.
    pub fn pupil_decides(&self) -> bool {
        !self.pupil && self.nothing_to_decide()
    }

    /// Whether the reader may open `page` at all.
    pub fn page(&self, page: Page) -> bool {
        match page {
            Page::Consents | Page::Disclosures => !self.nothing_to_decide(),
            // A transfer dossier: who decides by the education rules reads
            // it and gives the inzage (the guardians, from 16 the pupil:
            // their own dossier, e.g. to the vervolg institution).
            Page::Dossiers => self.decides(Regime::Education),
            // The plan: the education rules, for the guardians.
            Page::Plan => !self.pupil && self.decides(Regime::Education),
        }
    }

    /// Whether the reader (a guardian, or from 16 the pupil) may give
    /// their view on a transfer dossier (inzage): as reading it.
    pub fn inspection(&self) -> bool {
        self.page(Page::Dossiers)
    }

    /// Whether the guardian may see (and so decide on or withdraw) a
    /// consent of `purpose` to `recipients`: where the guardians are among
    /// those who decide about it.
    pub fn consent(
        &self,
        purpose: Purpose,
        recipients: &[v1::ConsentRecipient],
        directory: Option<&Directory>,
    ) -> bool {
        self.decides(age::regime_of(purpose, recipients, directory))
    }

    /// [`Access::consent`] for a stored version; an unknown purpose is not shown.
    pub fn consent_version(&self, v: &v1::ConsentVersion, directory: Option<&Directory>) -> bool {
        Purpose::parse("purpose", &v.purpose)
            .is_ok_and(|p| self.consent(p, &v.recipients, directory))
    }

    /// Whether a line of the disclosure view is shown: `visible` says which
    /// consent records the guardian may see.
    pub fn disclosure(&self, d: &Disclosure, visible: impl Fn(&str) -> bool) -> bool {
        if !self.page(Page::Disclosures) {
            return false;
        }
        if d.action.starts_with("consent_") {
            return visible(&d.subject_id);
        }
        if let Some(rest) = d.basis.strip_prefix("consent:") {
            return visible(rest.split('/').next().unwrap_or_default());
        }
        !d.basis.starts_with("safety_exception")
    }

    /// Whether an action or goal of the plan in `category` (empty: none) is
    /// shown.
    pub fn plan_category(&self, category: &str) -> bool {
        if !self.page(Page::Plan) || NEVER_ON_PORTAL.contains(&category) {
            return false;
        }
        // From 12 the youth-care rules give the pupil a say.
        let youth_care = YOUTH_CARE_CATEGORIES.contains(&category);
        !youth_care || self.age.is_some_and(|a| a < 12)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carenet_proto::v1::consent_recipient::Target;
    use time::macros::date;

    fn kind(k: carenet_fabric::PartyKind) -> v1::ConsentRecipient {
        v1::ConsentRecipient {
            target: Some(Target::Kind(k.to_proto() as i32)),
        }
    }

    fn line(action: &str, subject: &str, basis: &str) -> Disclosure {
        Disclosure {
            at_ms: 0,
            action: action.into(),
            subject_id: subject.into(),
            recipient: String::new(),
            actor: String::new(),
            purpose: String::new(),
            basis: basis.into(),
            categories: Vec::new(),
        }
    }

    /// Around the 12th and 16th birthday (a leap-day child too): pages,
    /// consents of both regimes, inzage, plan categories, disclosures.
    #[test]
    fn the_answer_around_the_12th_and_16th_birthday() {
        use carenet_fabric::PartyKind::{VoSchool, ZatPartner};
        let birth = date!(2010 - 05 - 15);
        let school = [kind(VoSchool)];
        let youth_care = [kind(ZatPartner)];
        // (on, consents education, consents youth care, dossiers and plan,
        //  diagnosis in the plan)
        let cases = [
            (date!(2022 - 05 - 14), true, true, true, true),
            (date!(2022 - 05 - 15), true, true, true, false),
            (date!(2026 - 05 - 14), true, true, true, false),
            (date!(2026 - 05 - 15), false, false, false, false),
            (date!(2027 - 09 - 01), false, false, false, false),
        ];
        for (on, edu, yc, school_data, diagnosis) in cases {
            let a = Access::at(Some(birth), on);
            let share = Purpose::ShareWithPartner;
            assert_eq!(a.consent(share, &school, None), edu, "{on} education");
            assert_eq!(a.consent(share, &youth_care, None), yc, "{on} youth care");
            assert_eq!(a.page(Page::Dossiers), school_data, "{on} dossiers");
            assert_eq!(a.inspection(), school_data, "{on} inzage");
            assert_eq!(a.page(Page::Plan), school_data, "{on} plan");
            assert_eq!(a.page(Page::Consents), edu || yc, "{on} consents page");
            assert_eq!(a.pupil_decides(), !(edu || yc), "{on}");
            assert_eq!(a.plan_category(""), school_data, "{on} plain action");
            assert_eq!(
                a.plan_category("educational_support"),
                school_data,
                "{on} school action"
            );
            assert_eq!(a.plan_category("diagnosis"), diagnosis, "{on} diagnosis");
            assert_eq!(a.plan_category("care_history"), diagnosis, "{on}");
            assert!(!a.plan_category("home_situation"), "{on} never");
        }
        // Born on 29 February: 12 on 1 March in a common year.
        let leap = date!(2012 - 02 - 29);
        assert!(Access::at(Some(leap), date!(2024 - 02 - 28)).plan_category("diagnosis"));
        assert!(!Access::at(Some(leap), date!(2024 - 02 - 29)).plan_category("diagnosis"));
        assert!(Access::at(Some(leap), date!(2028 - 02 - 28)).page(Page::Dossiers));
        assert!(!Access::at(Some(leap), date!(2028 - 02 - 29)).page(Page::Dossiers));
    }

    /// The pupil's side: nothing before 16, then every consent the pupil
    /// decides (alone), who saw what under them, and their own transfer
    /// dossier (inzage); never the plan.
    #[test]
    fn the_pupil_decides_from_16_and_sees_their_own_consents() {
        use carenet_fabric::PartyKind::{Vervolg, ZatPartner};
        let birth = date!(2009 - 03 - 10);
        let mbo = [kind(Vervolg)];
        let youth_care = [kind(ZatPartner)];
        let young = Access::for_pupil(Some(birth), date!(2025 - 03 - 09));
        assert!(young.is_pupil() && young.nothing_to_decide());
        assert!(!young.pupil_decides(), "that is the guardian's reading");
        assert!(!young.consent(Purpose::TransferDossier, &mbo, None));
        assert!(!young.consent(Purpose::ShareWithPartner, &youth_care, None));
        assert!(!young.page(Page::Consents));
        let sixteen = Access::for_pupil(Some(birth), date!(2025 - 03 - 10));
        assert!(sixteen.consent(Purpose::TransferDossier, &mbo, None));
        assert!(sixteen.consent(Purpose::ShareWithPartner, &youth_care, None));
        assert!(sixteen.page(Page::Consents) && sixteen.page(Page::Disclosures));
        // Their own transfer dossier: read it and give the inzage.
        assert!(sixteen.page(Page::Dossiers) && sixteen.inspection());
        assert!(!sixteen.page(Page::Plan));
        assert!(!young.page(Page::Dossiers) && !young.inspection());
        // The guardian of the same pupil, that day: nothing.
        let guardian = Access::at(Some(birth), date!(2025 - 03 - 10));
        assert!(guardian.pupil_decides());
        assert!(!guardian.consent(Purpose::TransferDossier, &mbo, None));
        assert!(Access::for_pupil(None, date!(2025 - 03 - 10)).nothing_to_decide());
    }

    #[test]
    fn an_unknown_birth_date_shows_nothing() {
        let a = Access::at(None, date!(2026 - 01 - 01));
        assert!(a.pupil_decides());
        for p in [
            Page::Consents,
            Page::Disclosures,
            Page::Dossiers,
            Page::Plan,
        ] {
            assert!(!a.page(p), "{p:?}");
        }
        assert!(!a.consent(Purpose::TransferDossier, &[], None));
        assert!(!a.disclosure(&line("released", "m-1", "statutory_task"), |_| true));
    }

    #[test]
    fn disclosures_follow_their_consent_and_never_a_safety_exception() {
        let a = Access::at(Some(date!(2016 - 01 - 01)), date!(2026 - 01 - 01));
        let mine = |r: &str| r == "rec-1";
        assert!(a.disclosure(&line("consent_grant", "rec-1", ""), mine));
        assert!(!a.disclosure(&line("consent_grant", "rec-2", ""), mine));
        assert!(a.disclosure(&line("released", "m-1", "consent:rec-1/v2"), mine));
        assert!(!a.disclosure(&line("released", "m-2", "consent:rec-2/v1"), mine));
        assert!(!a.disclosure(&line("released", "m-3", "safety_exception:s-1"), mine));
        assert!(a.disclosure(&line("released", "m-4", "statutory_task"), mine));
        let older = Access::at(Some(date!(2009 - 01 - 01)), date!(2026 - 01 - 01));
        assert!(!older.disclosure(&line("consent_grant", "rec-1", ""), |_| true));
    }
}
