//! What the guardians approve, bound to what leaves: a stable hash of a
//! dossier version's content, recorded with their inzage and `akkoord`, and
//! the seal that travels with every release of that version.
//!
//! - [`ContentHash::of`] hashes every part of the dossier that the receiving
//!   school gets (each OSO section and each of the handbook's extras, as the
//!   categorised document carries them) and, on its own, the bytes of every
//!   attachment (OSO `document/bestandsinhoud`, base64-decoded). The parts
//!   that are the guardians' own answer are left out: OSO's `inzage` block
//!   (date, `akkoord`, reason, consent) and their view
//!   (`carenet/guardian_view`), which are written after they saw the rest.
//! - The inspection record stores the version, the hash and the `akkoord`
//!   ([`carenet_consent::inspection::ContentSeen`]); publishing refuses a
//!   dossier whose current hash is not the recorded one
//!   ([`crate::dossier::publish`]), and the OSO export claims the inzage only
//!   for the content it is bound to ([`crate::dossier::export_oso_checked`]).
//! - The [`Seal`] (one extra section, `carenet/inzage_seal`, category
//!   `guardian_inspection`) tells the receiving school which version, which
//!   hash, on which day and with which answer; it lists the digest of each
//!   part and each attachment, never their names, so a school that got only
//!   some categories can still check that every part it got is one the
//!   guardians saw ([`Seal::verify`]), without learning which others exist.

use carenet_fabric::crypto::sha256;
use carenet_proto::v1;
use prost::Message;

use crate::model::Dossier;
use crate::{Error, Result};

/// The section name of the seal in a released dossier.
pub const SEAL_SECTION: &str = "carenet/inzage_seal";

/// Whether a section of the categorised document is the guardians' own
/// answer (or the seal of it), not content they approve.
pub fn is_answer(name: &str) -> bool {
    matches!(name, "inzage" | "carenet/guardian_view" | SEAL_SECTION)
}

/// The digest of one part: its category, name and content, each
/// length-prefixed, so no two different parts share a digest input.
fn part_digest(s: &v1::Section) -> [u8; 32] {
    let mut input = Vec::with_capacity(s.content.len() + 96);
    input.extend_from_slice(b"carenet.dossier.part.v1");
    for field in [s.category.as_bytes(), s.name.as_bytes(), &s.content] {
        input.extend_from_slice(&(field.len() as u64).to_be_bytes());
        input.extend_from_slice(field);
    }
    sha256(&input)
}

/// The hash of a list of part digests and attachment digests.
fn fold(parts: &[[u8; 32]], attachments: &[[u8; 32]]) -> [u8; 32] {
    let mut input = Vec::with_capacity(64 + 32 * (parts.len() + attachments.len()));
    input.extend_from_slice(b"carenet.dossier.content.v1");
    input.extend_from_slice(&(parts.len() as u64).to_be_bytes());
    for p in parts {
        input.extend_from_slice(p);
    }
    input.extend_from_slice(&(attachments.len() as u64).to_be_bytes());
    for a in attachments {
        input.extend_from_slice(a);
    }
    sha256(&input)
}

/// The content hash of one dossier version, with the digests it is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHash {
    pub sha256: [u8; 32],
    /// One per part, in document order.
    pub parts: Vec<[u8; 32]>,
    /// One per attachment (SHA-256 of its bytes), in document order.
    pub attachments: Vec<[u8; 32]>,
}

impl ContentHash {
    pub fn of(dossier: &Dossier) -> Self {
        let parts: Vec<[u8; 32]> = dossier
            .to_document()
            .sections
            .iter()
            .filter(|s| !is_answer(&s.name))
            .map(part_digest)
            .collect();
        let attachments: Vec<[u8; 32]> = dossier.attachments().iter().map(|a| a.sha256()).collect();
        Self {
            sha256: fold(&parts, &attachments),
            parts,
            attachments,
        }
    }

    /// The hash as 64 lowercase hexadecimal characters (as stored).
    pub fn hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// The hash as people read it: groups of eight, the first four groups
/// (enough to compare by eye; the whole hash is stored).
pub fn short(hex: &str) -> String {
    hex.as_bytes()
        .chunks(8)
        .take(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the guardians saw and said, as the receiving school gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    pub version: u32,
    pub content: ContentHash,
    /// OSO `akkoord`: `Ja`, `Nee` or `Onbekend`.
    pub akkoord: String,
    /// YYYY-MM-DD.
    pub seen_on: String,
}

/// Why a received dossier's inzage cannot be relied on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealProblem {
    /// No seal came with it (or the inzage was not released).
    Missing,
    /// The seal's digests do not make its hash.
    Inconsistent,
    /// A part or attachment that arrived is not one the guardians saw.
    NotSeen,
}

impl SealProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            SealProblem::Missing => "no inzage seal came with it",
            SealProblem::Inconsistent => "the inzage seal does not add up",
            SealProblem::NotSeen => "it holds content the guardians did not see",
        }
    }
}

impl Seal {
    /// The seal's text: one `key value` per line.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "carenet-inzage-seal 1\nversion {}\nsha256 {}\nakkoord {}\nseen_on {}\n",
            self.version,
            self.content.hex(),
            self.akkoord,
            self.seen_on
        );
        for p in &self.content.parts {
            s.push_str("part ");
            s.push_str(&hex::encode(p));
            s.push('\n');
        }
        for a in &self.content.attachments {
            s.push_str("attachment ");
            s.push_str(&hex::encode(a));
            s.push('\n');
        }
        s
    }

    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(SEAL_SECTION, why.to_owned());
        let digest = |v: &str| -> Result<[u8; 32]> {
            let mut out = [0u8; 32];
            hex::decode_to_slice(v, &mut out).map_err(|_| bad("not a SHA-256"))?;
            Ok(out)
        };
        let mut lines = text.lines();
        if lines.next() != Some("carenet-inzage-seal 1") {
            return Err(bad("not an inzage seal of version 1"));
        }
        let (mut version, mut sha, mut akkoord, mut seen_on) = (None, None, None, None);
        let (mut parts, mut attachments) = (Vec::new(), Vec::new());
        for line in lines {
            let Some((key, value)) = line.split_once(' ') else {
                return Err(bad("a line without a value"));
            };
            match key {
                "version" => version = Some(value.parse::<u32>().map_err(|_| bad("version"))?),
                "sha256" => sha = Some(digest(value)?),
                "akkoord" => akkoord = Some(value.to_owned()),
                "seen_on" => seen_on = Some(value.to_owned()),
                "part" => parts.push(digest(value)?),
                "attachment" => attachments.push(digest(value)?),
                _ => return Err(bad("an unknown line")),
            }
        }
        match (version, sha, akkoord, seen_on) {
            (Some(version), Some(sha256), Some(akkoord), Some(seen_on)) => Ok(Self {
                version,
                content: ContentHash {
                    sha256,
                    parts,
                    attachments,
                },
                akkoord,
                seen_on,
            }),
            _ => Err(bad("version, sha256, akkoord and seen_on are required")),
        }
    }

    /// The seal section to add to a released document.
    pub fn section(&self) -> v1::Section {
        v1::Section {
            category: carenet_consent::Category::GuardianInspection
                .as_str()
                .to_owned(),
            name: SEAL_SECTION.to_owned(),
            content: self.to_text().into_bytes(),
        }
    }

    /// Whether `received` (all of the dossier, or the categories its basis
    /// released) is content the guardians saw: the seal's digests make its
    /// hash, and every part and attachment that arrived is among them.
    pub fn verify(&self, received: &Dossier) -> Result<(), SealProblem> {
        if fold(&self.content.parts, &self.content.attachments) != self.content.sha256 {
            return Err(SealProblem::Inconsistent);
        }
        let got = ContentHash::of(received);
        let all_in = |have: &[[u8; 32]], seen: &[[u8; 32]]| have.iter().all(|d| seen.contains(d));
        if all_in(&got.parts, &self.content.parts)
            && all_in(&got.attachments, &self.content.attachments)
        {
            Ok(())
        } else {
            Err(SealProblem::NotSeen)
        }
    }
}

/// The seal in an encoded categorised document (a received payload), if
/// there is a readable one.
pub fn seal_of(payload: &[u8]) -> Option<Seal> {
    let doc = v1::CategorizedDocument::decode(payload).ok()?;
    let section = doc.sections.iter().find(|s| s.name == SEAL_SECTION)?;
    Seal::parse(std::str::from_utf8(&section.content).ok()?).ok()
}

/// Checks a received payload's inzage: `Ok(seal)` if the guardians saw
/// everything in it, else why not.
pub fn check_received(payload: &[u8], received: &Dossier) -> Result<Seal, SealProblem> {
    let seal = seal_of(payload).ok_or(SealProblem::Missing)?;
    seal.verify(received)?;
    Ok(seal)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Extras;
    use crate::oso;

    fn povo() -> Dossier {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml"
        );
        Dossier {
            sections: oso::import(&std::fs::read_to_string(path).unwrap())
                .unwrap()
                .sections,
            extras: Extras {
                what_works: Some("korte instructie".into()),
                ..Extras::default()
            },
        }
    }

    #[test]
    fn the_hash_is_stable_and_ignores_the_guardians_answer() {
        let d = povo();
        let h = ContentHash::of(&d);
        assert_eq!(h.hex().len(), 64);
        // The same content through the wire form: the same hash.
        assert_eq!(ContentHash::of(&Dossier::decode(&d.encode()).unwrap()), h);
        // Every attachment's bytes count, on their own too.
        assert_eq!(h.attachments.len(), d.attachments().len());
        assert!(h.attachments.len() >= 3);
        // Their view and their answer are not content they approve.
        let mut answered = d.clone();
        answered.extras.guardian_view = Some("wij zijn het eens".into());
        let inzage = answered
            .sections
            .iter_mut()
            .find(|s| s.element.name == "inzage")
            .unwrap();
        inzage.element.set_child_text("akkoord", "Ja");
        assert_eq!(ContentHash::of(&answered), h);
    }

    #[test]
    fn any_change_of_content_changes_the_hash() {
        let d = povo();
        let h = ContentHash::of(&d);
        let mut extra = d.clone();
        extra.extras.what_works = Some("lange instructie".into());
        assert_ne!(ContentHash::of(&extra).sha256, h.sha256);
        let mut attachment = d.clone();
        let doc = attachment
            .sections
            .iter_mut()
            .find(|s| s.element.name == "overigdocumentlijst")
            .unwrap();
        doc.element.children[0].set_child_text("bestandsinhoud", "aGFsbG8=");
        assert_ne!(ContentHash::of(&attachment).sha256, h.sha256);
    }

    #[test]
    fn a_seal_verifies_a_slice_and_refuses_what_was_not_seen() {
        let d = povo();
        let seal = Seal {
            version: 2,
            content: ContentHash::of(&d),
            akkoord: "Ja".into(),
            seen_on: "2026-03-02".into(),
        };
        let back = Seal::parse(&seal.to_text()).unwrap();
        assert_eq!(back, seal);
        assert_eq!(seal.verify(&d), Ok(()));
        // A school that got some categories only can still check them.
        let slice = Dossier {
            sections: d
                .sections
                .iter()
                .filter(|s| s.category != carenet_consent::Category::EducationalSupport)
                .cloned()
                .collect(),
            extras: Extras::default(),
        };
        assert_eq!(seal.verify(&slice), Ok(()));
        let mut changed = d.clone();
        changed.extras.what_works = Some("iets anders".into());
        assert_eq!(seal.verify(&changed), Err(SealProblem::NotSeen));
        let mut forged = seal.clone();
        forged.content.parts.pop();
        assert_eq!(forged.verify(&slice), Err(SealProblem::Inconsistent));
        // In the payload: found, and skipped by the dossier model.
        let mut doc = d.to_document();
        doc.sections.push(seal.section());
        let payload = doc.encode_to_vec();
        assert_eq!(check_received(&payload, &d), Ok(seal));
        let decoded = Dossier::decode(&payload).unwrap();
        assert_eq!(ContentHash::of(&decoded), ContentHash::of(&d));
        assert_eq!(check_received(&d.encode(), &d), Err(SealProblem::Missing));
    }
}
