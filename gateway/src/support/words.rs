//! The support slice's codes as the SWV's and the schools' staff say them
//! (`docs/glossary.md`): kinds of request, states, clocks, professions.

use carenet_support::check::Qualification;
use carenet_support::deadline::DeadlineKind;
use carenet_support::model::{
    ArrangementLevel, Category, HistorySource, Kind, Line, Outcome, ParticipantRole, SchoolType,
    State,
};

/// A kind of request, as the form and the lists name it.
pub(crate) fn kind(k: Kind) -> &'static str {
    match k {
        Kind::OutreachSupport => "Ambulante begeleiding",
        Kind::Arrangement => "Arrangement",
        Kind::Rebound => "Rebound (tijdelijke plaatsing)",
        Kind::AdmissionStatement => "Toelaatbaarheidsverklaring (TLV)",
        Kind::Reindication => "Herindicatie van een TLV",
        Kind::Lwoo => "Leerwegondersteunend onderwijs (LWOO)",
        Kind::Pro => "Praktijkonderwijs (PrO)",
    }
}

/// Where a request stands, in the words of the side that reads it.
pub(crate) fn state(s: State, at_swv: bool) -> &'static str {
    match s {
        State::Draft => "concept",
        State::Submitted if at_swv => "nieuw binnen",
        State::Submitted => "ingediend",
        State::Returned if at_swv => "vraag gesteld aan de school",
        State::Returned => "vraag van het samenwerkingsverband",
        State::Answered => "vraag beantwoord",
        State::InIntake => "in behandeling",
        State::MdoPlanned => "MDO gepland",
        State::MdoHeld => "MDO gehouden",
        State::Advised => "adviezen binnen",
        State::Decided => "besluit genomen",
        State::Objected => "bezwaar ingediend",
        State::ObjectionDecided => "besluit op bezwaar",
        State::Withdrawn => "ingetrokken",
    }
}

pub(crate) fn level(l: ArrangementLevel) -> &'static str {
    match l {
        ArrangementLevel::Light => "licht",
        ArrangementLevel::Medium => "middel",
        ArrangementLevel::Heavy => "zwaar",
    }
}

pub(crate) fn school_type(t: SchoolType) -> &'static str {
    match t {
        SchoolType::Sbo => "speciaal basisonderwijs (SBO)",
        SchoolType::So => "speciaal onderwijs (SO)",
        SchoolType::Vso => "voortgezet speciaal onderwijs (VSO)",
    }
}

pub(crate) fn category(c: Category) -> &'static str {
    match c {
        Category::Low => "laag",
        Category::Medium => "midden",
        Category::High => "hoog",
    }
}

pub(crate) fn source(s: HistorySource) -> &'static str {
    match s {
        HistorySource::IzoMinutes => "Verslag interne zorg",
        HistorySource::ZatMeeting => "Overleg ZAT",
        HistorySource::PlanGoal => "Doel uit het plan",
        HistorySource::PlanEvaluation => "Evaluatie van het plan",
        HistorySource::School => "Aanvulling van de school",
    }
}

pub(crate) fn line(l: Line) -> &'static str {
    match l {
        Line::First => "eerste lijn (klas)",
        Line::Second => "tweede lijn (interne zorg, ZAT)",
    }
}

pub(crate) fn participant(p: ParticipantRole) -> &'static str {
    match p {
        ParticipantRole::School => "school",
        ParticipantRole::Guardians => "ouders",
        ParticipantRole::Pupil => "leerling",
        ParticipantRole::Partner => "partner uit het plan",
        ParticipantRole::Swv => "samenwerkingsverband",
    }
}

pub(crate) fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Granted => "toegekend",
        Outcome::Refused => "afgewezen",
    }
}

pub(crate) fn qualification(q: Qualification) -> &'static str {
    match q {
        Qualification::Orthopedagogue => "orthopedagoog",
        Qualification::Psychologist => "psycholoog",
        Qualification::ChildPsychologist => "kinderpsycholoog",
        Qualification::Pedagogue => "pedagoog",
        Qualification::ChildPsychiatrist => "kinderpsychiater",
        Qualification::SocialWorker => "maatschappelijk werker",
        Qualification::Doctor => "arts",
        Qualification::Other => "andere deskundige",
    }
}

pub(crate) fn deadline(k: DeadlineKind) -> &'static str {
    match k {
        DeadlineKind::DutyOfCare => "zorgplicht van de school",
        DeadlineKind::Decision => "beslistermijn",
        DeadlineKind::ObjectionWindow => "bezwaartermijn",
        DeadlineKind::ObjectionDefence => "verweer naar de bezwaarcommissie",
        DeadlineKind::CommitteeAdvice => "advies van de bezwaarcommissie",
        DeadlineKind::Reindication => "herindicatie van de TLV",
    }
}
