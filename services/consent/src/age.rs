//! Who must consent, by the child's age and what the data is for.
//!
//! The rules as one table, not scattered conditions (UAVG art. 5; Jeugdwet;
//! landscape.md §4):
//!
//! | regime | under 12 | 12 to 15 | 16 and older |
//! |---|---|---|---|
//! | education (school dossier, IZO, ZAT referral, SWV request, feedback) | guardians | guardians | pupil |
//! | youth care (sharing with youth care or GGZ, membership of a case with them) | guardians | guardians **and** pupil | pupil |
//!
//! A guardian stays able to see the data of a child over 16 only where another
//! rule says so; consent is the pupil's own from 16.
//!
//! The regime is never chosen by staff: it follows from the consent's purpose
//! and its recipients ([`regime_of`]; a recipient that may be youth care, a
//! ZAT partner by kind or a party the directory does not know, counts as
//! youth care: the stricter rules). The rule is checked when consent is
//! recorded and again at every release ([`grantors_suffice`]): a pupil who
//! turned 16 since must consent personally. Ages are counted on Dutch dates.

use carenet_fabric::PartyKind;
use carenet_fabric::directory::Directory;
use carenet_proto::v1::{self, GrantorRole, consent_recipient::Target};
use time::Date;

use crate::purpose::Purpose;

/// Which body of rules applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    Education,
    YouthCare,
}

/// ZAT disciplines whose sharing follows the youth-care rules.
pub const YOUTH_CARE_DISCIPLINES: &[&str] = &["jeugdzorg", "ggz"];

/// The regime for a purpose and, where it matters, the recipient's discipline.
pub fn regime(purpose: Purpose, recipient_discipline: Option<&str>) -> Regime {
    let youth_care = recipient_discipline.is_some_and(|d| YOUTH_CARE_DISCIPLINES.contains(&d));
    match purpose {
        Purpose::ShareWithPartner | Purpose::CaseMembership if youth_care => Regime::YouthCare,
        _ => Regime::Education,
    }
}

/// The regime of a consent: youth care if any recipient may be youth care
/// for this purpose. A recipient by kind `zat_partner`, or a party not in
/// `directory` (or no directory at hand), may be: the stricter rules apply.
pub fn regime_of(
    purpose: Purpose,
    recipients: &[v1::ConsentRecipient],
    directory: Option<&Directory>,
) -> Regime {
    let strict = regime(purpose, Some(YOUTH_CARE_DISCIPLINES[0]));
    let of = |r: &v1::ConsentRecipient| match &r.target {
        Some(Target::Kind(k)) => match PartyKind::from_proto(*k) {
            Some(PartyKind::ZatPartner) | None => strict,
            Some(_) => Regime::Education,
        },
        Some(Target::PartyId(id)) => match directory.and_then(|d| d.get(id)) {
            Some(entry) => regime(purpose, entry.discipline.as_deref()),
            None => strict,
        },
        None => strict,
    };
    if recipients.iter().any(|r| of(r) == Regime::YouthCare) {
        Regime::YouthCare
    } else {
        Regime::Education
    }
}

/// Whether `grantors` are the ones `need` names; `Err` says what is missing
/// (no personal data).
pub fn grantors_suffice(
    need: Required,
    grantors: &[v1::Grantor],
) -> std::result::Result<(), &'static str> {
    let has_guardian = grantors.iter().any(|g| {
        matches!(
            GrantorRole::try_from(g.role),
            Ok(GrantorRole::Guardian | GrantorRole::LegalRepresentative)
        )
    });
    let has_pupil = grantors.iter().any(|g| g.role == GrantorRole::Pupil as i32);
    if need.guardians && !has_guardian {
        return Err("a guardian or legal representative must decide at this age");
    }
    if need.pupil && !has_pupil {
        return Err("the pupil must decide at this age");
    }
    if !need.pupil && has_pupil && !has_guardian {
        return Err("the pupil alone cannot decide at this age");
    }
    Ok(())
}

/// Whose consent is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Required {
    pub guardians: bool,
    pub pupil: bool,
}

const GUARDIANS: Required = Required {
    guardians: true,
    pupil: false,
};
const PUPIL: Required = Required {
    guardians: false,
    pupil: true,
};
const BOTH: Required = Required {
    guardians: true,
    pupil: true,
};

/// The table above: (regime, age from, age to exclusive, who).
const RULES: &[(Regime, u32, u32, Required)] = &[
    (Regime::Education, 0, 16, GUARDIANS),
    (Regime::Education, 16, u32::MAX, PUPIL),
    (Regime::YouthCare, 0, 12, GUARDIANS),
    (Regime::YouthCare, 12, 16, BOTH),
    (Regime::YouthCare, 16, u32::MAX, PUPIL),
];

pub fn required(regime: Regime, age: u32) -> Required {
    RULES
        .iter()
        .find(|(r, from, to, _)| *r == regime && (*from..*to).contains(&age))
        .map(|(_, _, _, who)| *who)
        .unwrap_or(BOTH)
}

/// Age in whole years on `on`.
pub fn age_on(birth: Date, on: Date) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn grantors_around_the_12th_and_16th_birthday() {
        let birth = date!(2010 - 05 - 15);
        // (date, regime, guardians, pupil)
        let cases = [
            (date!(2022 - 05 - 14), Regime::Education, true, false),
            (date!(2022 - 05 - 15), Regime::Education, true, false),
            (date!(2022 - 05 - 14), Regime::YouthCare, true, false),
            (date!(2022 - 05 - 15), Regime::YouthCare, true, true),
            (date!(2022 - 05 - 16), Regime::YouthCare, true, true),
            (date!(2026 - 05 - 14), Regime::YouthCare, true, true),
            (date!(2026 - 05 - 14), Regime::Education, true, false),
            (date!(2026 - 05 - 15), Regime::Education, false, true),
            (date!(2026 - 05 - 15), Regime::YouthCare, false, true),
            (date!(2030 - 01 - 01), Regime::YouthCare, false, true),
        ];
        for (on, regime, guardians, pupil) in cases {
            let r = required(regime, age_on(birth, on));
            assert_eq!(
                (r.guardians, r.pupil),
                (guardians, pupil),
                "{on} {regime:?}"
            );
        }
    }

    #[test]
    fn leap_day_birthdays_turn_a_year_older_on_1_march() {
        let birth = date!(2012 - 02 - 29);
        assert_eq!(age_on(birth, date!(2024 - 02 - 28)), 11);
        assert_eq!(age_on(birth, date!(2024 - 02 - 29)), 12);
        assert_eq!(age_on(birth, date!(2025 - 02 - 28)), 12);
        assert_eq!(age_on(birth, date!(2025 - 03 - 01)), 13);
    }

    #[test]
    fn the_regime_of_a_consent_follows_its_recipients() {
        let by_kind = |k: PartyKind| v1::ConsentRecipient {
            target: Some(Target::Kind(k.to_proto() as i32)),
        };
        let by_id = |id: &str| v1::ConsentRecipient {
            target: Some(Target::PartyId(id.into())),
        };
        let share = Purpose::ShareWithPartner;
        assert_eq!(
            regime_of(share, &[by_kind(PartyKind::VoSchool)], None),
            Regime::Education
        );
        // Any ZAT partner may be youth care; so may a party no one knows.
        assert_eq!(
            regime_of(
                share,
                &[by_kind(PartyKind::VoSchool), by_kind(PartyKind::ZatPartner)],
                None
            ),
            Regime::YouthCare
        );
        assert_eq!(regime_of(share, &[by_id("jgz-1")], None), Regime::YouthCare);
        // A transfer dossier follows the education rules whoever receives it.
        assert_eq!(
            regime_of(
                Purpose::TransferDossier,
                &[by_kind(PartyKind::ZatPartner)],
                None
            ),
            Regime::Education
        );
    }

    #[test]
    fn youth_care_regime_only_for_youth_care_recipients() {
        assert_eq!(
            regime(Purpose::ShareWithPartner, Some("jeugdzorg")),
            Regime::YouthCare
        );
        assert_eq!(
            regime(Purpose::CaseMembership, Some("ggz")),
            Regime::YouthCare
        );
        assert_eq!(
            regime(Purpose::ShareWithPartner, Some("leerplicht")),
            Regime::Education
        );
        assert_eq!(
            regime(Purpose::ReferToZat, Some("jeugdzorg")),
            Regime::Education
        );
        assert_eq!(regime(Purpose::TransferDossier, None), Regime::Education);
    }
}
