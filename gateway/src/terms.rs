//! The words of one kind of party: one naming table per party kind, read
//! by the menu, the start page and the headings alike, so that a primary
//! school reads "leerlingbespreking" and "knooppuntoverleg" everywhere (its
//! own handbook's names) and a secondary school "IZO" and "ZAT", never a
//! mix. It also says which of the school pages a kind of party works with
//! at all: a ZAT partner or the SWV sends and receives no transfer
//! dossiers and holds no IZO, so its menu offers none of that.

use carenet_fabric::PartyKind;

/// The names and the pages of one kind of party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The internal care meeting, in a sentence: "IZO", "leerlingbespreking".
    pub internal: &'static str,
    /// With its article: "het IZO", "de leerlingbespreking".
    pub internal_the: &'static str,
    /// In the menu: "IZO", "Leerlingbespreking".
    pub internal_menu: &'static str,
    /// As its page's heading.
    pub internal_heading: &'static str,
    /// The multidisciplinary meeting, in a sentence: "ZAT", "knooppuntoverleg".
    pub team: &'static str,
    /// In the menu: "ZAT", "Knooppuntoverleg".
    pub team_menu: &'static str,
    /// As its page's heading.
    pub team_heading: &'static str,
    /// Whether this kind composes and sends transfer dossiers.
    pub sends_dossiers: bool,
    /// Whether receiving transfer dossiers is its daily work (a primary
    /// school receives one only when a pupil moves between primary
    /// schools: it is listed when one waits).
    pub receives_dossiers: bool,
    /// Whether it holds the school's own care meetings (IZO and ZAT).
    pub care_meetings: bool,
}

const VO: Terms = Terms {
    internal: "IZO",
    internal_the: "het IZO",
    internal_menu: "IZO",
    internal_heading: "IZO: intern zorgoverleg",
    team: "ZAT",
    team_menu: "ZAT",
    team_heading: "ZAT: zorg- en adviesteam",
    sends_dossiers: true,
    receives_dossiers: true,
    care_meetings: true,
};

const PO: Terms = Terms {
    internal: "leerlingbespreking",
    internal_the: "de leerlingbespreking",
    internal_menu: "Leerlingbespreking",
    internal_heading: "Leerlingbespreking",
    team: "knooppuntoverleg",
    team_menu: "Knooppuntoverleg",
    team_heading: "Knooppuntoverleg: overleg met de zorgpartners",
    sends_dossiers: true,
    receives_dossiers: false,
    care_meetings: true,
};

const VERVOLG: Terms = Terms {
    sends_dossiers: false,
    receives_dossiers: true,
    care_meetings: false,
    ..VO
};

/// A ZAT partner or the SWV: in the schools' ZAT and plans, no dossiers.
const PARTNER: Terms = Terms {
    sends_dossiers: false,
    receives_dossiers: false,
    care_meetings: false,
    ..VO
};

/// The words and pages of a party of `kind`.
pub fn of(kind: PartyKind) -> Terms {
    match kind {
        PartyKind::PoSchool => PO,
        PartyKind::VoSchool => VO,
        PartyKind::Vervolg => VERVOLG,
        PartyKind::ZatPartner | PartyKind::Swv => PARTNER,
    }
}

impl Terms {
    /// Whether the transfer dossiers' pages are this kind's at all.
    pub fn dossiers(&self) -> bool {
        self.sends_dossiers || self.receives_dossiers
    }
}

/// The purposes of consent staff at a party of `kind` ask for: those of
/// its own work (a ZAT partner asks no consent for a transfer dossier; the
/// IZO's and ZAT's purposes are the schools').
pub fn purposes(kind: PartyKind) -> Vec<carenet_consent::Purpose> {
    use carenet_consent::Purpose;
    let t = of(kind);
    Purpose::all()
        .filter(|p| match p {
            Purpose::TransferDossier => t.sends_dossiers,
            Purpose::DiscussInIzo | Purpose::ReferToZat => t.care_meetings,
            Purpose::SupportRequest => t.care_meetings || kind == PartyKind::Swv,
            Purpose::FeedbackToSender => t.dossiers(),
            Purpose::ShareWithPartner | Purpose::CaseMembership => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [PartyKind; 5] = [
        PartyKind::PoSchool,
        PartyKind::VoSchool,
        PartyKind::Vervolg,
        PartyKind::ZatPartner,
        PartyKind::Swv,
    ];

    #[test]
    fn a_primary_school_reads_its_own_words_only() {
        let po = of(PartyKind::PoSchool);
        for word in [
            po.internal,
            po.internal_the,
            po.internal_menu,
            po.internal_heading,
            po.team,
            po.team_menu,
            po.team_heading,
        ] {
            assert!(!word.contains("IZO") && !word.contains("ZAT"), "{word}");
        }
        // The slice's names (its refusals and records) and the pages' agree.
        for kind in KINDS {
            let names = carenet_referral::names::of(kind);
            assert_eq!(of(kind).internal, names.internal);
            assert_eq!(of(kind).team, names.team);
            assert!(of(kind).internal_the.ends_with(names.internal));
            assert!(
                of(kind)
                    .internal_heading
                    .to_lowercase()
                    .starts_with(&names.internal.to_lowercase())
            );
            assert!(
                of(kind)
                    .team_heading
                    .to_lowercase()
                    .starts_with(&names.team.to_lowercase())
            );
        }
    }

    #[test]
    fn a_partner_is_offered_no_school_purposes() {
        use carenet_consent::Purpose;
        let partner = purposes(PartyKind::ZatPartner);
        assert!(!partner.contains(&Purpose::TransferDossier));
        assert!(!partner.contains(&Purpose::DiscussInIzo));
        assert!(partner.contains(&Purpose::CaseMembership));
        assert!(purposes(PartyKind::PoSchool).contains(&Purpose::TransferDossier));
        assert!(!purposes(PartyKind::Vervolg).contains(&Purpose::TransferDossier));
    }

    #[test]
    fn only_schools_and_the_mbo_work_with_dossiers() {
        for kind in KINDS {
            let t = of(kind);
            let school = matches!(kind, PartyKind::PoSchool | PartyKind::VoSchool);
            assert_eq!(t.care_meetings, school, "{kind:?}");
            assert_eq!(t.sends_dossiers, school, "{kind:?}");
            assert_eq!(
                t.dossiers(),
                school || kind == PartyKind::Vervolg,
                "{kind:?}"
            );
        }
    }
}
