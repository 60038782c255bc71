//! The OSO 2019.1 *aanvraag SWV-dossier*: the dossier a school sends the
//! samenwerkingsverband with a support request, in the PaO profiles POSWV
//! (from a primary school) and VOSWV (from a secondary school).
//!
//! [`SwvDossier`] is what such a file holds, as plain Rust: the school, the
//! pupil (without BSN or onderwijsnummer: the type has no field for them),
//! the guardians, the school career, the support block
//! (`onderwijsondersteuning`: the school's explanation of the pupil's needs,
//! diagnoses, action plans, the OPP/groeidocument, earlier TLVs, arrangements,
//! LWOO) and the attachments. [`import`] reads a file into it and
//! [`export`] writes one for a [`PaoProfile`]. Both share the OV code of the
//! module above: the element tree ([`crate::xml`]), the checks every OSO
//! file passes (namespace, required blocks, `categorie_uitlevering` and the
//! data each code allows) and its error kinds ([`crate::OsoProblem`]); what
//! is particular to the PaO profiles is a [`crate::PaoProblem`] naming the
//! official rule.
//!
//! Where a support request's parts go (OSO has no block of its own for
//! them): the school's question and the pupil's needs in
//! `toelichting_onderwijsbehoeften` ([`Support::needs`], a document); the
//! history of the first and second line as action plans
//! ([`Support::action_plans`]) and attachments; the OPP/groeidocument in
//! `opp`; the guardians' view as `inzage` (`akkoord`, `redennietakkoord`) and
//! an attachment; the pupil's voice as an attachment.
//!
//! **What the PaO profiles forbid** (`ValideerSwvPaO-profielen.xsl`), which
//! [`import`] refuses naming the element, its line and the rule, and
//! [`export`] never writes:
//! - in every SWV dossier: `bsn` and `onderwijsnummer` (PaO.LL12),
//!   `geboortemaand` (LL03), `postcode4adres` (LL07), `geboorteplaats`
//!   (LL10), `nationaliteit` (LL11), a guardian's `banknummer` (OV05), the
//!   pupil's or a guardian's addresses when the address is secret (LL06,
//!   LL09, OV03), a secret phone number or e-mail address other than the
//!   placeholders `9999999999` and `geheim@geheim.geheim` (LL08), and any
//!   `overdrachtsoort` other than `swv-dossier` (SO03);
//! - in POSWV: `eindtoets_basisonderwijs` (EB01) and the secondary blocks
//!   `bevorderd`, `examenresultaat`, `resultaatvakkenvo`, `certificaat`,
//!   `competenties`, `stage`, `overigvombo` (VM01–VM07);
//! - in VOSWV: the pre-school blocks `vanpeuterspeelzaal`,
//!   `naampeuterspeelzaal`, `voorschools`, `vroegschools` (VV01–VV04).
//!
//! [`export`] leaves these out (secret contact details become the
//! placeholders) and marks the categories they belong to VERBODEN.
//!
//! **What they require:** `deeldossier` LAS or LASLVS (MD01), `validatieversie`
//! 2019.1.1 (MD02), `categorie_uitlevering` (MD03), `metadata/overstap`
//! POSWV or VOSWV (SO01, SO02), an address and a contact of the school
//! (SL01, SL02), the pupil's first name (LL01), birth date (LL02) and
//! `adresgeheim` (LL04), an address unless it is secret (LL05), at least one
//! school year (`schoolloopbaan`, SL01), and a guardian when the guardians
//! are liable (OV01). The rules on test scores (TR01, TR02, CL01) sit in the
//! test blocks carenet carries as written ([`SwvDossier::records`]); the
//! official validator checks them.
//!
//! **Values** are checked in both directions for the forms the XSD and the
//! shared rules give them: BRIN and vestigingscode, school year, the code
//! lists of contacts, addresses, sex, relation, jaargroep, weight, diagnose
//! codes, the e-mail form (OG.01), a date of death only for a deceased
//! guardian (OG.04), and no called name, sex or secret address for the
//! family doctor (OG.05, which export leaves out).
//!
//! **Left out on import:** a guardian's `iban`. The profile allows it, but a
//! bank account has no place in a support request (it forbids `banknummer`
//! for the same reason).

mod read;
mod rules;
mod values;
mod write;

use time::Date;

use crate::Result;
use crate::xml::Element;

/// The two PaO profiles (`metadata/overstap`, codelist 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaoProfile {
    /// From a primary school (PO) to its SWV.
    Poswv,
    /// From a secondary school (VO) to its SWV.
    Voswv,
}

impl PaoProfile {
    pub fn code(self) -> &'static str {
        match self {
            PaoProfile::Poswv => "POSWV",
            PaoProfile::Voswv => "VOSWV",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "POSWV" => Some(PaoProfile::Poswv),
            "VOSWV" => Some(PaoProfile::Voswv),
            _ => None,
        }
    }

    /// The profile of a request from a party of kind `kind`: POSWV from a
    /// primary school, VOSWV from a secondary school, none from others.
    pub fn for_party(kind: carenet_fabric::PartyKind) -> Option<Self> {
        match kind {
            carenet_fabric::PartyKind::PoSchool => Some(PaoProfile::Poswv),
            carenet_fabric::PartyKind::VoSchool => Some(PaoProfile::Voswv),
            _ => None,
        }
    }
}

/// The `overdrachtsoort` of every SWV dossier (codelist 29).
pub const KIND: &str = "swv-dossier";

/// A whole SWV dossier as read from or written to an OSO file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwvDossier {
    /// Which system wrote the file, and when (`metadata`).
    pub written: Written,
    /// The guardians' inspection of the dossier (`inzage`).
    pub inzage: Option<Inzage>,
    /// The requesting school (`huidigeschool`).
    pub school: School,
    pub pupil: Pupil,
    /// `leerling/verzorger`.
    pub guardians: Vec<Guardian>,
    /// `leerling/schoolloopbaanlijst`: one entry a school year (or group).
    pub career: Vec<SchoolYear>,
    /// `leerling/onderwijsondersteuning`.
    pub support: Support,
    /// `leerling/overigdocumentlijst`.
    pub attachments: Vec<Document>,
    /// The pupil's blocks carenet carries as the school's system wrote them,
    /// in document order: `gba`, `overstapadvies`, the pre-school blocks,
    /// `verzuim`, `eindtoets_basisonderwijs`, `toetslijst`,
    /// `cijferlijstlijst` and the secondary blocks (see [`RECORDS`]).
    pub records: Vec<Element>,
}

/// The children of `leerling` kept as [`SwvDossier::records`].
pub const RECORDS: &[&str] = &[
    "gba",
    "overstapadvies",
    "vanpeuterspeelzaal",
    "naampeuterspeelzaal",
    "voorschools",
    "vroegschools",
    "verzuim",
    "eindtoets_basisonderwijs",
    "toetslijst",
    "cijferlijstlijst",
    "bevorderd",
    "examenresultaat",
    "resultaatvakkenvo",
    "certificaat",
    "competenties",
    "stage",
    "overigvombo",
];

/// `metadata/pakketnaam`, `pakketversie` and `datum`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub package: String,
    pub version: String,
    pub date: Date,
}

impl Written {
    /// Written by this carenet on `date`.
    pub fn carenet(date: Date) -> Self {
        Self {
            package: "carenet".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            date,
        }
    }
}

/// `inzage`: whether and when the guardians saw the dossier, and what they
/// said (codelist 37 for `akkoord` and `toestemming`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inzage {
    /// `voorlopigdossier`.
    pub provisional: bool,
    /// `inzage`.
    pub seen: Option<bool>,
    /// `inzagedatum`.
    pub date: Option<Date>,
    /// `akkoord`: whether they agree with the dossier.
    pub agreed: Option<Answer>,
    /// `redennietakkoord`.
    pub reason_not_agreed: Option<String>,
    /// `toestemming`.
    pub consent: Option<Answer>,
}

/// Codelist 37: Ja, Nee, Onbekend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
    Unknown,
}

impl Answer {
    pub fn code(self) -> &'static str {
        match self {
            Answer::Yes => "Ja",
            Answer::No => "Nee",
            Answer::Unknown => "Onbekend",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "Ja" => Some(Answer::Yes),
            "Nee" => Some(Answer::No),
            "Onbekend" => Some(Answer::Unknown),
            _ => None,
        }
    }
}

/// `adres`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    /// `soortadres` (codelist 19: bezoek, post, gba).
    pub kind: String,
    pub street: String,
    pub number: String,
    /// `toevoeging`.
    pub addition: Option<String>,
    /// `aanduiding` (codelist 18: TO, BY).
    pub designation: Option<String>,
    /// `locatieomschrijving`.
    pub location: Option<String>,
    pub postcode: String,
    /// `plaats`.
    pub place: String,
    /// `gemeente`.
    pub municipality: Option<String>,
    /// `land` (a country code) and its `omschrijving`.
    pub country: Option<Country>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Country {
    pub code: String,
    pub description: Option<String>,
}

/// `communicatie`: a phone number or e-mail address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    /// `soort` (codelist 4: telefoon, e-mail).
    pub kind: String,
    /// `aanduiding` (codelist 5: werk, prive, overig).
    pub label: Option<String>,
    /// `nummer`: the number or address.
    pub value: String,
    /// `geheim`.
    pub secret: Option<bool>,
    /// `noodnummer`.
    pub emergency: Option<bool>,
}

/// `huidigeschool` (without its `leerling`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct School {
    pub name: String,
    pub addresses: Vec<Address>,
    pub contacts: Vec<Contact>,
    pub brin: String,
    /// `vestigingscode`.
    pub location_code: String,
    /// `aanleverpunt`.
    pub delivery_point: String,
    /// `soort` (BAO, SBO, SO, VO, …).
    pub kind: Option<String>,
    /// `type` (REC1–4, …).
    pub school_type: Option<String>,
    /// `naamdirecteur`.
    pub head: Option<String>,
    pub website: Option<String>,
}

/// An institution (`instellingType`): a name and contact details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Institution {
    pub name: String,
    pub addresses: Vec<Address>,
    pub contacts: Vec<Contact>,
}

/// A person's name as OSO writes it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Name {
    /// `voornaam`, each given name.
    pub first_names: Vec<String>,
    /// `voorletters-1`.
    pub initials: Option<String>,
    /// `voorvoegsel` ("van de").
    pub prefix: Option<String>,
    /// `achternaam`.
    pub surname: String,
    /// `roepnaam`.
    pub called: Option<String>,
}

/// A person (`persoonType`): a guardian or the family doctor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: Name,
    /// `geslacht` (codelist 14: 0 onbekend, 1 vrouw, 2 man).
    pub sex: Option<String>,
    /// `adresgeheim`.
    pub address_secret: Option<bool>,
    pub addresses: Vec<Address>,
    pub contacts: Vec<Contact>,
}

/// `leerling`, as far as this type holds it (see [`SwvDossier`] for the rest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pupil {
    pub name: Name,
    /// `geboortedatum` (required, PaO.LL02).
    pub birth_date: Date,
    /// `geslacht` (codelist 14).
    pub sex: Option<String>,
    /// `adresgeheim` (required, PaO.LL04).
    pub address_secret: bool,
    pub addresses: Vec<Address>,
    pub contacts: Vec<Contact>,
    /// `adresbuitenland`: an address abroad, one line each.
    pub abroad: Vec<String>,
    /// `leerlingid`: the school's own number for the pupil.
    pub school_ref: Option<String>,
    /// `onderwijssinds`.
    pub in_education_since: Option<Date>,
    /// `startdatumhuidigonderwijs`.
    pub current_education_since: Option<Date>,
    /// `datuminschrijving`.
    pub enrolled: Option<Date>,
    /// `datumuitschrijving`.
    pub unenrolled: Option<Date>,
    /// `teruggeplaatstnaarbrin`.
    pub returned_to_brin: Option<String>,
    /// `leerlinggewicht` (codelist 15: 0.00, 0.30, 1.20).
    pub weight: Option<String>,
    /// `nnca` (codelist 10).
    pub nnca: Option<String>,
    /// `tehuis`: lives in a care home.
    pub care_home: Option<bool>,
    /// `huisarts`.
    pub doctor: Option<Person>,
    /// `verzorgersaansprakelijk`: the guardians are the pupil's liable
    /// parties (else [`Pupil::liable_institution`]).
    pub guardians_liable: Option<bool>,
    /// `aansprakelijkeinstelling`.
    pub liable_institution: Option<Institution>,
}

/// `verzorger`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Guardian {
    pub person: Person,
    /// `relatietotkind` (codelist 41).
    pub relation: Option<String>,
    /// `overleden`.
    pub deceased: Option<bool>,
    /// `overlijdensdatum`.
    pub deceased_on: Option<Date>,
    /// `wettigevertegenwoordiger`: the pupil's legal representative.
    pub legal_representative: bool,
}

/// `schoolloopbaan`: a school year in a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchoolYear {
    /// `schooljaar` ("2024-2025").
    pub year: String,
    /// `groepscode`.
    pub group_code: String,
    /// `groepsnaam`.
    pub group_name: Option<String>,
    /// `jaargroep` (codelist 13: 0–8, 11–16, S, P).
    pub grade: String,
    pub start: Option<Date>,
    pub end: Option<Date>,
    pub brin: String,
    pub location_code: String,
    /// `schoolsoort`.
    pub school_kind: Option<String>,
    /// `schooltype`.
    pub school_type: Option<String>,
    /// `voelementcode`.
    pub vo_element_code: Option<String>,
    /// `voelementomschrijving`.
    pub vo_element: Option<String>,
    /// `schoolsoortomschrijving`.
    pub school_kind_description: Option<String>,
}

/// `onderwijsondersteuning`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Support {
    /// `toelichting_onderwijsbehoeften`: the pupil's needs and the school's
    /// question, as a document.
    pub needs: Option<Document>,
    /// `diagnose`.
    pub diagnoses: Vec<Diagnosis>,
    /// `medicijngebruik`.
    pub medication: Option<bool>,
    /// `handelingsplan`: what was done, each plan with its document.
    pub action_plans: Vec<ActionPlan>,
    /// `opp`: the OPP or groeidocument.
    pub opp: Option<Opp>,
    /// `tlv`: earlier TLVs.
    pub tlvs: Vec<Tlv>,
    /// `arrangement_cluster12`.
    pub cluster12: Vec<Cluster12>,
    /// `arrangement_pao`: arrangements of the SWV.
    pub arrangements: Vec<Arrangement>,
    /// `lwoo`: the LWOO designation.
    pub lwoo: Option<Lwoo>,
    /// `rvc`: the former RVC's findings (legacy).
    pub rvc: Option<Rvc>,
}

impl Support {
    /// Whether the block holds anything of category *onderwijsondersteuning*
    /// (everything but the action plans, which are their own category).
    pub fn has_support_data(&self) -> bool {
        self.needs.is_some()
            || !self.diagnoses.is_empty()
            || self.medication.is_some()
            || self.opp.is_some()
            || !self.tlvs.is_empty()
            || !self.cluster12.is_empty()
            || !self.arrangements.is_empty()
            || self.lwoo.is_some()
            || self.rvc.is_some()
    }
}

/// `diagnose`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// `code` (codelist 23: F81.0, F84, HB, …), one or more.
    pub codes: Vec<String>,
    /// `naam`.
    pub name: Option<String>,
    /// `datum`.
    pub date: Option<Date>,
    /// `doorwie`.
    pub by: Option<String>,
    /// `instantie`.
    pub institution: Option<String>,
    pub documents: Vec<Document>,
}

/// `handelingsplan`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionPlan {
    pub start: Date,
    pub end: Option<Date>,
    /// `isgerichtop`: what it aims at.
    pub aimed_at: String,
    pub document: Option<Document>,
}

/// `opp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opp {
    pub start: Date,
    pub end: Option<Date>,
    pub documents: Vec<Document>,
}

/// `tlvcategorie` (codelist 31).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlvCategory {
    Low,
    Medium,
    High,
    NotApplicable,
}

impl TlvCategory {
    pub fn code(self) -> &'static str {
        match self {
            TlvCategory::Low => "L",
            TlvCategory::Medium => "M",
            TlvCategory::High => "H",
            TlvCategory::NotApplicable => "Nvt",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "L" => Some(TlvCategory::Low),
            "M" => Some(TlvCategory::Medium),
            "H" => Some(TlvCategory::High),
            "Nvt" => Some(TlvCategory::NotApplicable),
            _ => None,
        }
    }
}

/// `tlv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlv {
    pub start: Date,
    /// `tlvswvnummer`: the SWV's number.
    pub swv_number: String,
    pub category: TlvCategory,
    /// `tlvbeschikkingsnummer`.
    pub decision_number: String,
    pub end: Option<Date>,
    pub document: Option<Document>,
}

/// `arrangement_cluster12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster12 {
    pub date: Date,
    pub brin: Option<String>,
    pub location_code: Option<String>,
}

/// `arrangement_pao`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrangement {
    pub date: Date,
    /// `arrangement_kenmerk`.
    pub reference: Option<String>,
    /// `arrangement_beschikkingsnr`.
    pub decision_number: Option<String>,
    pub end: Option<Date>,
}

/// `lwoo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lwoo {
    pub start: Date,
    pub swv_number: String,
    pub decision_number: String,
    /// Always a 31 July (`einddatumType`).
    pub end: Option<Date>,
    pub document: Option<Document>,
}

/// `rvc`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rvc {
    /// `centraleproblematiek`.
    pub central_problem: Option<String>,
    /// `maatregelen`.
    pub measures: Option<String>,
    /// `signaleringlwoopro/deelgenomenaanonderzoek`.
    pub took_part_in_research: bool,
    /// `signaleringlwoopro/leerachterstand`.
    pub learning_delay: bool,
    /// `signaleringlwoopro/lagescoreeindtoets`.
    pub low_exit_test_score: bool,
    pub date: Option<Date>,
    /// `rvcindicatie` (codelist 17: LWOO, PRO).
    pub indication: Option<String>,
    pub documents: Vec<Document>,
}

/// `document`: a file, carried in the dossier as base64.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    /// `bestandsnaam`.
    pub file_name: String,
    /// `omschrijving`.
    pub description: Option<String>,
    /// `bestandsinhoud`, decoded.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("file_name", &self.file_name)
            .field("description", &self.description)
            .field("content", &format_args!("{} bytes", self.content.len()))
            .finish()
    }
}

impl SwvDossier {
    /// What the dossier holds, as counts: for a check's report or a list,
    /// never a name or a text.
    pub fn summary(&self) -> Summary {
        let s = &self.support;
        let documents = self.documents();
        Summary {
            guardians: self.guardians.len(),
            school_years: self.career.len(),
            needs: s.needs.is_some(),
            diagnoses: s.diagnoses.len(),
            action_plans: s.action_plans.len(),
            opp: s.opp.is_some(),
            tlvs: s.tlvs.len(),
            arrangements: s.arrangements.len() + s.cluster12.len(),
            lwoo: s.lwoo.is_some(),
            documents: documents.len(),
            document_bytes: documents.iter().map(|d| d.content.len()).sum(),
            records: self.records.len(),
        }
    }

    /// Every document in the dossier, wherever it sits, in document order.
    pub fn documents(&self) -> Vec<&Document> {
        let s = &self.support;
        let mut out: Vec<&Document> = Vec::new();
        out.extend(s.needs.iter());
        out.extend(s.diagnoses.iter().flat_map(|d| &d.documents));
        out.extend(s.action_plans.iter().filter_map(|p| p.document.as_ref()));
        out.extend(s.opp.iter().flat_map(|o| &o.documents));
        out.extend(s.tlvs.iter().filter_map(|t| t.document.as_ref()));
        out.extend(s.lwoo.iter().filter_map(|l| l.document.as_ref()));
        out.extend(s.rvc.iter().flat_map(|r| &r.documents));
        out.extend(&self.attachments);
        out
    }
}

/// Counts of what an SWV dossier holds ([`SwvDossier::summary`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub guardians: usize,
    pub school_years: usize,
    pub needs: bool,
    pub diagnoses: usize,
    pub action_plans: usize,
    pub opp: bool,
    pub tlvs: usize,
    pub arrangements: usize,
    pub lwoo: bool,
    pub documents: usize,
    pub document_bytes: usize,
    pub records: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "{} guardians, {} school years; support: needs {}, {} diagnoses, {} action plans, \
             OPP {}, {} TLVs, {} arrangements, LWOO {}; {} documents ({} KiB); {} records",
            self.guardians,
            self.school_years,
            yes(self.needs),
            self.diagnoses,
            self.action_plans,
            yes(self.opp),
            self.tlvs,
            self.arrangements,
            yes(self.lwoo),
            self.documents,
            self.document_bytes.div_ceil(1024),
            self.records,
        )
    }
}

/// An SWV dossier read from a file, with the profile the file states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwvFile {
    pub profile: PaoProfile,
    pub dossier: SwvDossier,
}

/// Reads an OSO SWV dossier (UTF-8 XML). It is refused, naming the element
/// and its line, when it is not a well-formed OSO 2019.1 dossier, fails a
/// check every OSO file passes, is not an `swv-dossier` of profile POSWV or
/// VOSWV, or breaks a rule of its profile (see the module's list).
pub fn import(bytes: &[u8]) -> Result<SwvFile> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        crate::Error::xml(
            "",
            u32::try_from(line).unwrap_or(u32::MAX),
            crate::OsoProblem::NotWellFormed("not UTF-8".to_owned()),
        )
    })?;
    let root = super::checked(text)?;
    let profile = rules::profile(&root)?;
    rules::check(&root, profile)?;
    let dossier = read::dossier(&root)?;
    Ok(SwvFile { profile, dossier })
}

/// Writes `dossier` as an OSO SWV dossier of `profile`: valid against the
/// OSO 2019.1 XSD and the official PaO rules. What the profile forbids is
/// left out (see the module's list); what it requires and the dossier lacks
/// is refused, naming the element and the rule.
pub fn export(dossier: &SwvDossier, profile: PaoProfile) -> Result<String> {
    let root = write::dossier(dossier, profile);
    rules::check(&root, profile)?;
    let mut out = String::with_capacity(write::size_hint(dossier));
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    root.write(&mut out, 0, Some(super::NAMESPACE));
    Ok(out)
}

#[cfg(test)]
mod tests;
