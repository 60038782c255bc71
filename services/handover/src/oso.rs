//! OSO 2019.1 overstapdossiers: import, categorisation and export.
//!
//! An OSO file is kept as its element tree, cut into *sections* that each
//! belong to one of the sixteen OSO delivery categories (`categorie_uitlevering`):
//! the consent service can then release exactly the categories a legal basis
//! allows, and the receiver can write a valid OSO file again from what it got.
//! The cut follows the official validator (`ValideerOSOgegevensset_2019.1.xsl`,
//! rules OS.cat01–16): e.g. `leerling/verzorger` is *ouders/verzorgers*,
//! `onderwijsondersteuning/handelingsplan` is *handelingsplannen*, the rest of
//! `onderwijsondersteuning` is *onderwijsondersteuning*.
//!
//! Import refuses, naming the element and line: XML that is not well-formed,
//! another root or namespace, missing required blocks, unknown delivery codes,
//! and data in a category the file itself marks VERBODEN or OPT-UIT.

use std::collections::{BTreeMap, BTreeSet};

use carenet_consent::Category;

use crate::xml::{self, Element};
use crate::{Error, OsoProblem, Result};

pub mod pao;

/// The namespace of an OSO 2019 dossier.
pub const NAMESPACE: &str = "http://www.edustandaard.nl/oso_gegevensset/2019/dossier";

/// A category's delivery code in `categorie_uitlevering` (codelijst 48).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    Required,
    Forbidden,
    Optional,
    OptedOut,
}

impl Delivery {
    pub fn code(self) -> &'static str {
        match self {
            Delivery::Required => "VERPLICHT",
            Delivery::Forbidden => "VERBODEN",
            Delivery::Optional => "OPTIONEEL",
            Delivery::OptedOut => "OPT-UIT",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "VERPLICHT" => Delivery::Required,
            "VERBODEN" => Delivery::Forbidden,
            "OPTIONEEL" => Delivery::Optional,
            "OPT-UIT" => Delivery::OptedOut,
            _ => return None,
        })
    }

    fn allows_data(self) -> bool {
        matches!(self, Delivery::Required | Delivery::Optional)
    }
}

/// Where a section sits: `metadata`, `huidigeschool/naam`,
/// `huidigeschool/leerling/verzuim`, `huidigeschool/leerling/onderwijsondersteuning/opp`.
pub const SCHOOL: &str = "huidigeschool";
pub const PUPIL: &str = "huidigeschool/leerling";
pub const SUPPORT: &str = "huidigeschool/leerling/onderwijsondersteuning";

/// The category of a child `name` of `leerling` (OS.cat05–16); everything
/// else about the pupil is *leerling*.
pub(crate) fn pupil_child_category(name: &str) -> Category {
    match name {
        "verzorgersaansprakelijk" | "aansprakelijkeinstelling" | "verzorger" => Category::Guardians,
        "vanpeuterspeelzaal" | "naampeuterspeelzaal" | "voorschools" | "vroegschools" => {
            Category::EarlyEducation
        }
        "schoolloopbaanlijst" => Category::SchoolCareer,
        "overstapadvies" => Category::TransferAdvice,
        "verzuim" => Category::Absence,
        "eindtoets_basisonderwijs" => Category::ExitTest,
        "toetslijst" => Category::TestResults,
        "cijferlijstlijst" => Category::GradeLists,
        "bevorderd" | "examenresultaat" | "resultaatvakkenvo" | "certificaat" | "competenties"
        | "stage" | "overigvombo" => Category::PreviousSecondary,
        "overigdocumentlijst" => Category::Attachments,
        _ => Category::Pupil,
    }
}

/// One categorised part of an OSO dossier.
#[derive(Clone, Debug)]
pub struct Section {
    pub category: Category,
    /// The parent path the element belongs under (see [`SCHOOL`], [`PUPIL`], [`SUPPORT`]); empty for the root.
    pub parent: &'static str,
    pub element: Element,
}

impl Section {
    pub fn path(&self) -> String {
        if self.parent.is_empty() {
            self.element.name.clone()
        } else {
            format!("{}/{}", self.parent, self.element.name)
        }
    }
}

/// Cuts a `dossier` element into sections, in document order.
pub fn sections(root: &Element) -> Result<Vec<Section>> {
    Ok(parts(root)?
        .into_iter()
        .map(|(category, parent, e)| section(category, parent, e))
        .collect())
}

/// The sections of a `dossier` element as borrowed parts: category, parent
/// path and element, in document order (what [`sections`] copies).
pub(crate) fn parts(root: &Element) -> Result<Vec<(Category, &'static str, &Element)>> {
    let mut out = Vec::new();
    for top in &root.children {
        match top.name.as_str() {
            "metadata" | "overdrachtsoort" => out.push((Category::Metadata, "", top)),
            "inzage" => out.push((Category::GuardianInspection, "", top)),
            "huidigeschool" => {
                for s in &top.children {
                    if s.name != "leerling" {
                        out.push((Category::School, SCHOOL, s));
                        continue;
                    }
                    for p in &s.children {
                        if p.name == "onderwijsondersteuning" {
                            for o in &p.children {
                                let category = if o.name == "handelingsplan" {
                                    Category::ActionPlans
                                } else {
                                    Category::EducationalSupport
                                };
                                out.push((category, SUPPORT, o));
                            }
                        } else {
                            out.push((pupil_child_category(&p.name), PUPIL, p));
                        }
                    }
                }
            }
            other => {
                return Err(Error::xml(other, top.line, OsoProblem::UnknownBlock));
            }
        }
    }
    Ok(out)
}

fn section(category: Category, parent: &'static str, e: &Element) -> Section {
    Section {
        category,
        parent,
        element: e.clone(),
    }
}

/// Parses a section path back into its parent.
pub fn parent_of(path: &str) -> Result<(&'static str, &str)> {
    for parent in [SUPPORT, PUPIL, SCHOOL] {
        if let Some(name) = path.strip_prefix(parent).and_then(|r| r.strip_prefix('/'))
            && !name.is_empty()
            && !name.contains('/')
        {
            return Ok((parent, name));
        }
    }
    if !path.is_empty() && !path.contains('/') {
        return Ok(("", path));
    }
    Err(Error::invalid("section.name", "not an OSO section path"))
}

/// Puts sections (in document order) back together into a `dossier` element.
pub fn assemble(sections: &[Section]) -> Element {
    let mut root = Element::new("dossier");
    for s in sections {
        let parent = match s.parent {
            "" => &mut root,
            SCHOOL => open(&mut root, &["huidigeschool"]),
            PUPIL => open(&mut root, &["huidigeschool", "leerling"]),
            _ => open(
                &mut root,
                &["huidigeschool", "leerling", "onderwijsondersteuning"],
            ),
        };
        parent.children.push(s.element.clone());
    }
    root
}

/// The element at `path` below `root`, created (appended) where missing. Only
/// the last child of each level is reused, so document order is kept.
fn open<'a>(root: &'a mut Element, path: &[&str]) -> &'a mut Element {
    let mut e = root;
    for step in path {
        let reuse = e.children.last().is_some_and(|c| c.name == *step);
        if !reuse {
            e.children.push(Element::new(step));
        }
        e = e.children.last_mut().expect("just ensured a last child");
    }
    e
}

/// The delivery codes of a dossier's `categorie_uitlevering`.
pub fn delivery_codes(root: &Element) -> Result<BTreeMap<Category, Delivery>> {
    let Some(block) = root
        .child("metadata")
        .and_then(|m| m.child("categorie_uitlevering"))
    else {
        return Err(Error::xml(
            "metadata",
            root.child("metadata").map_or(root.line, |m| m.line),
            OsoProblem::NoDeliveryCategories,
        ));
    };
    let mut codes = BTreeMap::new();
    for e in &block.children {
        let Some(category) = Category::from_oso_element(&e.name) else {
            return Err(Error::xml(
                &e.name,
                e.line,
                OsoProblem::NotADeliveryCategory,
            ));
        };
        let Some(delivery) = e.text.as_deref().and_then(Delivery::parse) else {
            return Err(Error::xml(&e.name, e.line, OsoProblem::BadDeliveryValue));
        };
        codes.insert(category, delivery);
    }
    for c in Category::all().filter(|c| c.oso_element().is_some()) {
        if !codes.contains_key(&c) {
            return Err(Error::xml(
                c.oso_element().unwrap_or_default(),
                block.line,
                OsoProblem::DeliveryCategoryMissing,
            ));
        }
    }
    Ok(codes)
}

/// An imported OSO file: its sections, checked.
#[derive(Clone, Debug)]
pub struct Imported {
    pub sections: Vec<Section>,
}

/// Reads an OSO 2019.1 dossier. Nothing of a file that fails a check is kept.
pub fn import(text: &str) -> Result<Imported> {
    let root = checked(text)?;
    Ok(Imported {
        sections: sections(&root)?,
    })
}

/// Parses an OSO 2019.1 dossier and runs the checks every profile shares:
/// root and namespace, the required blocks, the delivery codes and the data
/// each code allows. The error names the element and its line.
pub(crate) fn checked(text: &str) -> Result<Element> {
    let parsed = xml::parse(text)?;
    let root = parsed.root;
    if root.name != "dossier" {
        return Err(Error::xml(&root.name, root.line, OsoProblem::NotADossier));
    }
    if parsed.namespace.as_deref() != Some(NAMESPACE) {
        return Err(Error::xml("dossier", root.line, OsoProblem::WrongNamespace));
    }
    let require = |e: Option<&Element>, name: &str, line: u32| -> Result<()> {
        match e {
            Some(_) => Ok(()),
            None => Err(Error::xml(name, line, OsoProblem::MissingBlock)),
        }
    };
    require(root.child("metadata"), "metadata", root.line)?;
    require(root.child("overdrachtsoort"), "overdrachtsoort", root.line)?;
    let school = root.child("huidigeschool");
    require(school, "huidigeschool", root.line)?;
    let pupil = school.and_then(|s| s.child("leerling"));
    require(pupil, "leerling", school.map_or(root.line, |s| s.line))?;
    if root.text_at("overdrachtsoort") == Some("overstapdossier") {
        require(root.child("inzage"), "inzage", root.line)?;
    }
    if let Some(flag) = root.child("inzage").and_then(|i| i.child("inzage"))
        && !matches!(flag.text.as_deref(), Some("true" | "false" | "1" | "0"))
    {
        return Err(Error::xml("inzage", flag.line, OsoProblem::BadInzage));
    }
    let codes = delivery_codes(&root)?;
    let parts = parts(&root)?;
    let present: BTreeSet<Category> = parts.iter().map(|(c, _, _)| *c).collect();
    for (category, _, e) in &parts {
        let delivery = codes[category];
        if !delivery.allows_data() {
            return Err(Error::xml(
                &e.name,
                e.line,
                OsoProblem::ForbiddenData {
                    category: category.oso_element().unwrap_or_default().to_owned(),
                    delivery: delivery.code().to_owned(),
                },
            ));
        }
    }
    for (category, delivery) in &codes {
        if *delivery == Delivery::Required && !present.contains(category) {
            let element = category.oso_element().unwrap_or_default();
            return Err(Error::xml(
                element,
                root.line,
                OsoProblem::RequiredWithoutData,
            ));
        }
    }
    Ok(root)
}

/// Writes a valid OSO file from sections (in document order), e.g. what a
/// receiver got: `categorie_uitlevering` is rewritten to say what is present
/// (a category the sender marked VERPLICHT that did not arrive becomes
/// OPT-UIT: it was not released; an absent OPTIONEEL one may stay so).
pub fn export(sections: &[Section]) -> Result<String> {
    let mut root = assemble(sections);
    let present: BTreeSet<Category> = sections.iter().map(|s| s.category).collect();
    let original = delivery_codes(&root)?;
    let block = root
        .child_mut("metadata")
        .and_then(|m| m.child_mut("categorie_uitlevering"))
        .ok_or_else(|| Error::invalid("metadata", "the dossier has no metadata"))?;
    for e in &mut block.children {
        let Some(category) = Category::from_oso_element(&e.name) else {
            continue;
        };
        let was = original[&category];
        let now = match (present.contains(&category), was) {
            (true, Delivery::Required | Delivery::Optional) => was,
            (true, _) => Delivery::Optional,
            (false, Delivery::Required) => Delivery::OptedOut,
            (false, _) => was,
        };
        e.text = Some(now.code().to_owned());
    }
    if root
        .child("huidigeschool")
        .and_then(|s| s.child("leerling"))
        .is_none()
    {
        return Err(Error::invalid(
            "leerling",
            "the dossier holds no pupil block",
        ));
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    root.write(&mut out, 0, Some(NAMESPACE));
    Ok(out)
}

/// The transfer a file states: its `overdrachtsoort` (codelijst 29) and
/// `metadata/overstap` (codelijst 16), with the line of each for errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub kind: Option<(String, u32)>,
    pub overstap: Option<(String, u32)>,
}

/// Reads the file's profile from its sections.
pub fn profile(sections: &[Section]) -> Profile {
    stated(|name| {
        sections
            .iter()
            .find(|s| s.parent.is_empty() && s.element.name == name)
            .map(|s| &s.element)
    })
}

/// Reads the profile of a whole `dossier` element.
pub(crate) fn profile_of(root: &Element) -> Profile {
    stated(|name| root.child(name))
}

fn stated<'a>(top: impl Fn(&str) -> Option<&'a Element>) -> Profile {
    Profile {
        kind: top("overdrachtsoort").and_then(|e| Some((e.text.clone()?, e.line))),
        overstap: top("metadata")
            .and_then(|m| m.child("overstap"))
            .and_then(|e| Some((e.text.clone()?, e.line))),
    }
}

/// Checks that a file states the transfer a route is: `kind` as its
/// `overdrachtsoort` and, when `overstap` is not empty, one of those codes
/// as its `metadata/overstap`. The error names the element and its line.
pub fn check_profile(sections: &[Section], kind: &str, overstap: &[&str]) -> Result<()> {
    check_stated(&profile(sections), kind, overstap)
}

/// [`check_profile`] on a profile already read.
pub(crate) fn check_stated(p: &Profile, kind: &str, overstap: &[&str]) -> Result<()> {
    match &p.kind {
        Some((k, _)) if k == kind => {}
        Some((k, line)) => {
            return Err(Error::xml(
                "overdrachtsoort",
                *line,
                OsoProblem::WrongKind {
                    found: k.clone(),
                    expected: kind.to_owned(),
                },
            ));
        }
        None => {
            return Err(Error::xml("overdrachtsoort", 0, OsoProblem::MissingBlock));
        }
    }
    if overstap.is_empty() {
        return Ok(());
    }
    match &p.overstap {
        Some((code, _)) if overstap.contains(&code.as_str()) => Ok(()),
        Some((code, line)) => Err(Error::xml(
            "overstap",
            *line,
            OsoProblem::WrongTransfer {
                found: code.clone(),
                expected: overstap.iter().map(|s| (*s).to_owned()).collect(),
            },
        )),
        None => Err(Error::xml(
            "overstap",
            0,
            OsoProblem::TransferMissing {
                expected: overstap.iter().map(|s| (*s).to_owned()).collect(),
            },
        )),
    }
}

/// The pupil as OSO identifies them: `leerling/bsn` (BSN or
/// onderwijsnummer) and `leerling/geboortedatum`.
pub fn pupil_key(sections: &[Section]) -> Option<(String, String)> {
    let field = |name: &str| {
        sections
            .iter()
            .find(|s| s.parent == PUPIL && s.element.name == name)
            .and_then(|s| s.element.text.clone())
    };
    Some((field("bsn")?, field("geboortedatum")?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vendor/oso/OV/examples");

    fn examples() -> Vec<(String, String)> {
        let mut v: Vec<_> = std::fs::read_dir(EXAMPLES)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .map(|p| {
                (
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        assert_eq!(v.len(), 4, "the four OV examples");
        v
    }

    #[test]
    fn every_example_round_trips_with_every_value() {
        for (name, text) in examples() {
            let imported = import(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let out = export(&imported.sections).unwrap();
            let a = xml::parse(&text).unwrap().root;
            let b = xml::parse(&out).unwrap().root;
            assert!(a.same_content(&b), "{name} changed in the round trip");
        }
    }

    #[test]
    fn sections_follow_the_validator_categories() {
        let (_, text) = examples()
            .into_iter()
            .find(|(n, _)| n.contains("POVO_full"))
            .unwrap();
        let s = import(&text).unwrap().sections;
        let cat = |path: &str| s.iter().find(|x| x.path() == path).map(|x| x.category);
        assert_eq!(cat("inzage"), Some(Category::GuardianInspection));
        assert_eq!(cat("huidigeschool/naam"), Some(Category::School));
        assert_eq!(cat("huidigeschool/leerling/bsn"), Some(Category::Pupil));
        assert_eq!(
            cat("huidigeschool/leerling/verzorger"),
            Some(Category::Guardians)
        );
        assert_eq!(
            cat(&format!("{SUPPORT}/handelingsplan")),
            Some(Category::ActionPlans)
        );
        assert_eq!(
            cat(&format!("{SUPPORT}/diagnose")),
            Some(Category::EducationalSupport)
        );
        assert_eq!(
            cat("huidigeschool/leerling/overstapadvies"),
            Some(Category::TransferAdvice)
        );
    }

    #[test]
    fn a_required_category_that_was_not_released_exports_as_opted_out() {
        let (_, text) = examples()
            .into_iter()
            .find(|(n, _)| n.contains("POVO_full"))
            .unwrap();
        let kept: Vec<Section> = import(&text)
            .unwrap()
            .sections
            .into_iter()
            .filter(|s| s.category != Category::Absence && s.category != Category::Guardians)
            .collect();
        let out = export(&kept).unwrap();
        assert!(out.contains("<cat_oudersverzorgers>OPT-UIT</cat_oudersverzorgers>"));
        assert!(out.contains("<cat_verzuim>OPTIONEEL</cat_verzuim>"));
        assert!(!out.contains("<verzuim>") && !out.contains("<verzorger>"));
        // and the result imports again
        import(&out).unwrap();
    }

    #[test]
    fn bad_files_are_refused_naming_element_and_line() {
        let (_, text) = examples()
            .into_iter()
            .find(|(n, _)| n.contains("opt_out"))
            .unwrap();
        let cases = [
            (text.replace("2019/dossier", "2018/dossier"), "wrong namespace"),
            (text.replace("<overdrachtsoort>overstapdossier</overdrachtsoort>", ""), "overdrachtsoort"),
            (text[..text.len() / 2].to_owned(), "not well-formed"),
            (text.replace("<cat_verzuim>OPT-UIT", "<cat_verzuim>SOMS"), "cat_verzuim"),
            (
                text.replace("<schoolloopbaanlijst>", "<verzuim><dagdelengeoorloofd>1</dagdelengeoorloofd></verzuim><schoolloopbaanlijst>"),
                "<verzuim> at line",
            ),
            (text.replace("<inzage>", "<inzage_x>").replace("</inzage>", "</inzage_x>"), "inzage"),
        ];
        for (bad, expect) in cases {
            let e = import(&bad).unwrap_err().to_string();
            assert!(e.contains(expect), "{expect:?} not in {e:?}");
            assert!(e.contains("line"), "{e}");
        }
    }

    #[test]
    fn no_input_makes_the_importer_panic() {
        // A property test over mutated real dossiers: truncations, byte flips,
        // duplicated and deleted spans, and deep nesting wrapped around a
        // part. Import may refuse, never panic (nor exhaust the stack).
        let seeds: Vec<Vec<u8>> = examples()
            .into_iter()
            .map(|(_, t)| t.into_bytes())
            .collect();
        let mut rng = fastrand::Rng::with_seed(0x0050_2019);
        for _ in 0..1500 {
            let mut b = seeds[rng.usize(..seeds.len())].clone();
            for _ in 0..rng.usize(1..6) {
                let i = rng.usize(..b.len());
                match rng.u8(..5) {
                    0 => b.truncate(i),
                    4 => {
                        // Wrap the text from the next element on in up to
                        // 100,000 levels of a made-up element.
                        let Some(at) = b[i..].iter().position(|&c| c == b'<') else {
                            continue;
                        };
                        let depth = rng.usize(1..100_000);
                        let mut wrapped = b[..i + at].to_vec();
                        wrapped.extend(b"<x>".repeat(depth));
                        wrapped.extend_from_slice(&b[i + at..]);
                        wrapped.extend(b"</x>".repeat(depth));
                        b = wrapped;
                    }
                    1 => b[i] = rng.u8(..),
                    2 => {
                        let j = (i + rng.usize(..200)).min(b.len());
                        let span = b[i..j].to_vec();
                        b.splice(i..i, span);
                    }
                    _ => {
                        let j = (i + rng.usize(..200)).min(b.len());
                        b.drain(i..j);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            let text = String::from_utf8_lossy(&b);
            if let Ok(imported) = import(&text) {
                let _ = export(&imported.sections);
            }
        }
    }
}
