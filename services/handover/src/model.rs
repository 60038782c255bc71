//! The transfer dossier: everything an OSO 2019.1 overstapdossier carries (as
//! categorised OSO sections, see [`crate::oso`]) plus what the handbook asks
//! for and OSO lacks: talents, interests, what works, what to avoid, the
//! pupil's own voice, the guardians' view, agreements and a contact person.
//!
//! Every part declares its data category, so the dossier travels as a
//! [`v1::CategorizedDocument`] that the consent service narrows to what the
//! legal basis allows. OSO parts are named by their path
//! (`huidigeschool/leerling/verzuim`), carenet's own by `carenet/<field>`.

use carenet_consent::Category;
use carenet_proto::v1;
use prost::Message;

use crate::oso::{self, Section};
use crate::xml::{self, Element};
use crate::{Error, Result};

/// What the handbook asks a dossier to say beyond OSO. Each field's category
/// is in [`EXTRA_FIELDS`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    pub talents: Option<String>,
    pub interests: Option<String>,
    pub what_works: Option<String>,
    pub what_to_avoid: Option<String>,
    pub pupil_voice: Option<String>,
    pub guardian_view: Option<String>,
    pub agreements: Option<String>,
    pub contact: Option<String>,
}

/// (field, category): talents and the pupil's voice belong with the transfer
/// advice (OSO's `wensleerling`, `profiel`), what works and what to avoid with
/// the educational needs, the guardians' view with their inspection.
pub const EXTRA_FIELDS: &[(&str, Category)] = &[
    ("talents", Category::TransferAdvice),
    ("interests", Category::TransferAdvice),
    ("pupil_voice", Category::TransferAdvice),
    ("what_works", Category::EducationalSupport),
    ("what_to_avoid", Category::EducationalSupport),
    ("agreements", Category::EducationalSupport),
    ("guardian_view", Category::GuardianInspection),
    ("contact", Category::School),
];

impl Extras {
    fn get(&self, field: &str) -> Option<&String> {
        match field {
            "talents" => self.talents.as_ref(),
            "interests" => self.interests.as_ref(),
            "pupil_voice" => self.pupil_voice.as_ref(),
            "what_works" => self.what_works.as_ref(),
            "what_to_avoid" => self.what_to_avoid.as_ref(),
            "agreements" => self.agreements.as_ref(),
            "guardian_view" => self.guardian_view.as_ref(),
            "contact" => self.contact.as_ref(),
            _ => None,
        }
    }

    fn slot(&mut self, field: &str) -> Option<&mut Option<String>> {
        Some(match field {
            "talents" => &mut self.talents,
            "interests" => &mut self.interests,
            "pupil_voice" => &mut self.pupil_voice,
            "what_works" => &mut self.what_works,
            "what_to_avoid" => &mut self.what_to_avoid,
            "agreements" => &mut self.agreements,
            "guardian_view" => &mut self.guardian_view,
            "contact" => &mut self.contact,
            _ => return None,
        })
    }
}

/// A transfer dossier as a school holds it, or as much of it as was released.
#[derive(Clone, Debug)]
pub struct Dossier {
    pub sections: Vec<Section>,
    pub extras: Extras,
}

const EXTRA_PREFIX: &str = "carenet/";

impl Dossier {
    /// The categorised document that travels (and is stored).
    pub fn to_document(&self) -> v1::CategorizedDocument {
        let mut sections: Vec<v1::Section> = self
            .sections
            .iter()
            .map(|s| v1::Section {
                category: s.category.as_str().to_owned(),
                name: s.path(),
                content: s.element.to_fragment().into_bytes(),
            })
            .collect();
        for (field, category) in EXTRA_FIELDS {
            if let Some(text) = self.extras.get(field) {
                sections.push(v1::Section {
                    category: category.as_str().to_owned(),
                    name: format!("{EXTRA_PREFIX}{field}"),
                    content: text.clone().into_bytes(),
                });
            }
        }
        v1::CategorizedDocument { sections }
    }

    pub fn encode(&self) -> Vec<u8> {
        self.to_document().encode_to_vec()
    }

    /// Reads a categorised document back; each part must sit in the category
    /// the dossier model gives it, so a sender cannot slip a diagnosis into
    /// the school address.
    pub fn from_document(doc: &v1::CategorizedDocument) -> Result<Self> {
        let mut sections = Vec::new();
        let mut extras = Extras::default();
        for (i, s) in doc.sections.iter().enumerate() {
            let field = |f: &str| format!("sections[{i}].{f}");
            let category = Category::parse(&field("category"), &s.category)?;
            let text = std::str::from_utf8(&s.content)
                .map_err(|_| Error::invalid(field("content"), "not UTF-8"))?;
            if s.name == crate::inzage::SEAL_SECTION {
                // What the guardians saw, not content: read by crate::inzage.
                if category != Category::GuardianInspection {
                    return Err(Error::invalid(
                        field("category"),
                        "wrong category for this field",
                    ));
                }
                continue;
            }
            if let Some(name) = s.name.strip_prefix(EXTRA_PREFIX) {
                let Some((_, expected)) = EXTRA_FIELDS.iter().find(|(f, _)| *f == name) else {
                    return Err(Error::invalid(field("name"), "not a dossier field"));
                };
                if *expected != category {
                    return Err(Error::invalid(
                        field("category"),
                        "wrong category for this field",
                    ));
                }
                if let Some(slot) = extras.slot(name) {
                    *slot = Some(text.to_owned());
                }
                continue;
            }
            let (parent, name) = oso::parent_of(&s.name)?;
            let element = xml::parse(text)?.root;
            if element.name != name {
                return Err(Error::invalid(field("name"), "does not match its content"));
            }
            let section = Section {
                category,
                parent,
                element,
            };
            let assigned = oso::sections(&oso::assemble(std::slice::from_ref(&section)))?;
            if assigned.first().map(|a| a.category) != Some(category) {
                return Err(Error::invalid(
                    field("category"),
                    "wrong category for this part",
                ));
            }
            sections.push(section);
        }
        Ok(Self { sections, extras })
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let doc = v1::CategorizedDocument::decode(bytes)
            .map_err(|_| Error::invalid("document", "not a categorised document"))?;
        Self::from_document(&doc)
    }

    /// The OSO file for this dossier (only the OSO parts; see [`oso::export`]).
    pub fn to_oso(&self) -> Result<String> {
        oso::export(&self.sections)
    }

    fn root(&self) -> Element {
        oso::assemble(&self.sections)
    }

    /// The parts a person reads first, taken from the OSO tree.
    pub fn summary(&self) -> Summary {
        let root = self.root();
        let pupil = root
            .child("huidigeschool")
            .and_then(|s| s.child("leerling"));
        let text = |path: &str| pupil.and_then(|p| p.text_at(path)).map(str::to_owned);
        let support = pupil.and_then(|p| p.child("onderwijsondersteuning"));
        let name = compose_name(text);
        Summary {
            pupil_name: name,
            birth_date: text("geboortedatum"),
            pupil_id: text("leerlingid"),
            school: root.text_at("huidigeschool/naam").map(str::to_owned),
            transfer: root.text_at("metadata/overstap").map(str::to_owned),
            advice: text("overstapadvies/advies"),
            attention_points: text("overstapadvies/aandachtspunten"),
            argumentation: text("overstapadvies/argumentatie"),
            contact_person: text("overstapadvies/contactpersoon"),
            contact_phone: text("overstapadvies/contacttelefoon"),
            diagnoses: support
                .map(|s| {
                    s.children_named("diagnose")
                        .filter_map(|d| d.text_at("naam"))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            plans: support
                .map(|s| {
                    s.children_named("handelingsplan")
                        .filter_map(|d| d.text_at("isgerichtop"))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            medication: support.and_then(|s| s.text_at("medicijngebruik")) == Some("true"),
            has_opp: support.is_some_and(|s| s.child("opp").is_some()),
            exit_test_advice: text("eindtoets_basisonderwijs/eindtoetsresultaat/toets_advies"),
        }
    }

    /// Every file attached to the dossier, in document order: OSO's
    /// `document` elements, in the attachment list (`overigdocumentlijst`)
    /// and wherever else OSO allows one (with a diagnosis, an action plan,
    /// the educational needs). Each is in the category of the part it sits in.
    pub fn attachments(&self) -> Vec<Attachment> {
        fn walk(e: &Element, category: Category, out: &mut Vec<Attachment>) {
            if e.name == "document"
                && let Some(file_name) = e.text_at("bestandsnaam")
            {
                out.push(Attachment {
                    file_name: file_name.to_owned(),
                    description: e.text_at("omschrijving").map(str::to_owned),
                    category,
                    encoded: e.text_at("bestandsinhoud").unwrap_or_default().to_owned(),
                });
                return;
            }
            for c in &e.children {
                walk(c, category, out);
            }
        }
        let mut out = Vec::new();
        for s in &self.sections {
            walk(&s.element, s.category, &mut out);
        }
        out
    }

    /// The categories this dossier holds.
    pub fn categories(&self) -> std::collections::BTreeSet<Category> {
        self.to_document()
            .sections
            .iter()
            .filter_map(|s| Category::parse("category", &s.category).ok())
            .collect()
    }
}

/// A file attached to a dossier (an OSO `document`). OSO carries its
/// content as a base64-encoded ZIP file (XSD: "Bijlagedocument als Base64
/// gecodeerd ZIP-bestand").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// `bestandsnaam`, as the sending school named it.
    pub file_name: String,
    /// `omschrijving`.
    pub description: Option<String>,
    /// The category of the part it is attached to.
    pub category: Category,
    /// `bestandsinhoud`, as it travels.
    pub encoded: String,
}

impl Attachment {
    /// The file's bytes (the base64 decoded; line breaks in it allowed);
    /// `None` if the text is not base64.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        use base64::Engine as _;
        let compact: Vec<u8> = self
            .encoded
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()
    }

    /// SHA-256 of the file's bytes (of the text as it travels, if that is
    /// not base64).
    pub fn sha256(&self) -> [u8; 32] {
        match self.bytes() {
            Some(b) => carenet_fabric::crypto::sha256(&b),
            None => carenet_fabric::crypto::sha256(self.encoded.as_bytes()),
        }
    }
}

/// "Roepnaam (or voornaam) voorvoegsel achternaam", from the pupil's fields.
fn compose_name(text: impl Fn(&str) -> Option<String>) -> String {
    let given = text("roepnaam").or_else(|| text("voornaam"));
    let family = match (text("voorvoegsel"), text("achternaam")) {
        (Some(v), Some(a)) => Some(format!("{v} {a}")),
        (None, a) => a,
        (Some(v), None) => Some(v),
    };
    [given, family]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `carenet.v1.CategorizedDocument` as a list of section names, their
/// contents borrowed from the encoded bytes (no copy), for [`pupil_name_of`].
#[derive(Clone, PartialEq, prost::Message)]
struct SectionIndex {
    #[prost(message, repeated, tag = "1")]
    sections: Vec<IndexedSection>,
}

/// `carenet.v1.Section` without its category.
#[derive(Clone, PartialEq, prost::Message)]
struct IndexedSection {
    #[prost(string, tag = "2")]
    name: String,
    #[prost(bytes = "bytes", tag = "3")]
    content: prost::bytes::Bytes,
}

/// The pupil's name from a stored categorised document, reading only the
/// name parts (a list of a season's dossiers need not decode them whole);
/// empty if the basis did not release them.
pub fn pupil_name_of(encoded: Vec<u8>) -> String {
    let Ok(doc) = SectionIndex::decode(prost::bytes::Bytes::from(encoded)) else {
        return String::new();
    };
    compose_name(|field| {
        let name = format!("{}/{field}", oso::PUPIL);
        let section = doc.sections.iter().find(|s| s.name == name)?;
        let text = std::str::from_utf8(&section.content).ok()?;
        xml::parse(text).ok()?.root.text
    })
}

/// What a reader needs first; every field is optional because the basis may
/// not have released it.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub pupil_name: String,
    pub birth_date: Option<String>,
    pub pupil_id: Option<String>,
    pub school: Option<String>,
    pub transfer: Option<String>,
    pub advice: Option<String>,
    pub attention_points: Option<String>,
    pub argumentation: Option<String>,
    pub contact_person: Option<String>,
    pub contact_phone: Option<String>,
    pub diagnoses: Vec<String>,
    pub plans: Vec<String>,
    pub medication: bool,
    pub has_opp: bool,
    pub exit_test_advice: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn povo() -> Dossier {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        Dossier {
            sections: oso::import(&text).unwrap().sections,
            extras: Extras {
                what_works: Some("korte instructie, daarna zelf aan de slag".into()),
                guardian_view: Some("wij zijn het eens".into()),
                ..Extras::default()
            },
        }
    }

    #[test]
    fn the_document_form_keeps_everything() {
        let d = povo();
        let back = Dossier::decode(&d.encode()).unwrap();
        assert_eq!(back.extras, d.extras);
        assert_eq!(back.to_oso().unwrap(), d.to_oso().unwrap());
        let s = back.summary();
        assert_eq!(s.pupil_name, "Daan van de Berg");
        assert_eq!(s.diagnoses.len(), 2);
        assert!(s.has_opp && s.medication);
    }

    #[test]
    fn attachments_are_found_wherever_oso_puts_them() {
        let d = povo();
        let all = d.attachments();
        assert!(all.iter().any(|a| a.category == Category::Attachments));
        assert!(
            all.iter()
                .any(|a| a.category == Category::EducationalSupport)
        );
        let txt = all
            .iter()
            .find(|a| a.file_name == "groepsplan.txt")
            .unwrap();
        // OSO wraps the file in a ZIP.
        assert!(txt.bytes().unwrap().starts_with(b"PK\x03\x04"));
        let bad = Attachment {
            encoded: "niet base64!".into(),
            ..txt.clone()
        };
        assert_eq!(bad.bytes(), None);
        assert_eq!(
            bad.sha256(),
            carenet_fabric::crypto::sha256(b"niet base64!")
        );
    }

    #[test]
    fn a_part_in_the_wrong_category_is_refused() {
        let mut doc = povo().to_document();
        let diag = doc
            .sections
            .iter_mut()
            .find(|s| s.name.ends_with("/diagnose"))
            .unwrap();
        diag.category = "school".into();
        assert!(Dossier::from_document(&doc).is_err());
        let mut doc = povo().to_document();
        let extra = doc
            .sections
            .iter_mut()
            .find(|s| s.name == "carenet/what_works")
            .unwrap();
        extra.category = "school".into();
        assert!(Dossier::from_document(&doc).is_err());
    }
}
