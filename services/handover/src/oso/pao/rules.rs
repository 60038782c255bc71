//! The official PaO rules (`ValideerSwvPaO-profielen.xsl`) as one check on
//! a dossier's element tree: run on every file read and on every file
//! written, so an SWV dossier that breaks one neither enters nor leaves.
//! Each refusal names the element, its line and the rule's code.

use super::{KIND, PaoProfile};
use crate::xml::Element;
use crate::{Error, PaoProblem, Result};

/// The profile a file states: `overdrachtsoort` swv-dossier (PaO.SO03) and
/// `metadata/overstap` POSWV or VOSWV (SO01, SO02).
pub(super) fn profile(root: &Element) -> Result<PaoProfile> {
    let stated = crate::oso::profile_of(root);
    crate::oso::check_stated(&stated, KIND, &["POSWV", "VOSWV"])?;
    let (code, line) = stated.overstap.unwrap_or_default();
    PaoProfile::parse(&code).ok_or_else(|| {
        Error::pao(
            "overstap",
            line,
            PaoProblem::BadValue {
                expected: "POSWV or VOSWV (PaO.SO02)",
            },
        )
    })
}

/// Children of `leerling` every SWV dossier forbids, with their rule.
const FORBIDDEN: &[(&str, &str)] = &[
    ("geboortemaand", "PaO.LL03"),
    ("postcode4adres", "PaO.LL07"),
    ("geboorteplaats", "PaO.LL10"),
    ("nationaliteit", "PaO.LL11"),
    ("bsn", "PaO.LL12"),
    ("onderwijsnummer", "PaO.LL12"),
];

/// Children of `leerling` a POSWV dossier forbids.
const NOT_IN_PO: &[(&str, &str)] = &[
    ("eindtoets_basisonderwijs", "PaO.EB01"),
    ("bevorderd", "PaO.VM01"),
    ("examenresultaat", "PaO.VM02"),
    ("resultaatvakkenvo", "PaO.VM03"),
    ("certificaat", "PaO.VM04"),
    ("competenties", "PaO.VM05"),
    ("stage", "PaO.VM06"),
    ("overigvombo", "PaO.VM07"),
];

/// Children of `leerling` a VOSWV dossier forbids.
const NOT_IN_VO: &[(&str, &str)] = &[
    ("vanpeuterspeelzaal", "PaO.VV01"),
    ("naampeuterspeelzaal", "PaO.VV02"),
    ("voorschools", "PaO.VV03"),
    ("vroegschools", "PaO.VV04"),
];

/// Whether the profile forbids child `name` of `leerling`, and by which rule.
pub(super) fn forbidden_for_pupil(name: &str, profile: PaoProfile) -> Option<&'static str> {
    let by_profile = match profile {
        PaoProfile::Poswv => NOT_IN_PO,
        PaoProfile::Voswv => NOT_IN_VO,
    };
    FORBIDDEN
        .iter()
        .chain(by_profile)
        .find(|(n, _)| *n == name)
        .map(|(_, rule)| *rule)
}

/// The placeholder a secret contact of kind `kind` must carry (PaO.LL08).
pub(super) fn secret_placeholder(kind: &str) -> Option<&'static str> {
    match kind {
        "telefoon" => Some("9999999999"),
        "e-mail" => Some("geheim@geheim.geheim"),
        _ => None,
    }
}

/// Whether `e` has a `list` holding at least one `item`.
fn has_item(e: &Element, list: &str, item: &str) -> bool {
    e.child(list).and_then(|l| l.child(item)).is_some()
}

fn is_true(e: Option<&Element>) -> bool {
    matches!(e.and_then(|e| e.text.as_deref()), Some("true" | "1"))
}

fn forbidden(e: &Element, rule: &'static str, profile: PaoProfile) -> Error {
    Error::pao(
        &e.name,
        e.line,
        PaoProblem::Forbidden {
            rule,
            profile: profile.code(),
        },
    )
}

fn required(name: &str, parent: &Element, rule: &'static str) -> Error {
    Error::pao(name, parent.line, PaoProblem::Required { rule })
}

fn value(e: &Element, expected: &'static str) -> Error {
    Error::pao(&e.name, e.line, PaoProblem::BadValue { expected })
}

/// Checks every PaO rule that the dossier's structure decides.
pub(super) fn check(root: &Element, profile: PaoProfile) -> Result<()> {
    let Some(metadata) = root.child("metadata") else {
        return Err(required("metadata", root, "PaO.MD03"));
    };
    match metadata.child("deeldossier") {
        Some(e) if matches!(e.text.as_deref(), Some("LAS" | "LASLVS")) => {}
        Some(e) => return Err(value(e, "LAS or LASLVS (PaO.MD01)")),
        None => return Err(required("deeldossier", metadata, "PaO.MD01")),
    }
    match metadata.child("validatieversie") {
        Some(e) if e.text.as_deref() == Some("2019.1.1") => {}
        Some(e) => return Err(value(e, "2019.1.1 (PaO.MD02)")),
        None => return Err(required("validatieversie", metadata, "PaO.MD02")),
    }
    if let Some(e) = metadata.child("standaardversie")
        && e.text.as_deref() != Some("2019.1")
    {
        return Err(value(e, "2019.1 (OG.02)"));
    }
    if metadata.child("categorie_uitlevering").is_none() {
        return Err(required("categorie_uitlevering", metadata, "PaO.MD03"));
    }
    let Some(school) = root.child("huidigeschool") else {
        return Err(required("huidigeschool", root, "PaO.SL01"));
    };
    if !has_item(school, "adreslijst", "adres") {
        return Err(required("adreslijst", school, "PaO.SL01"));
    }
    if !has_item(school, "communicatielijst", "communicatie") {
        return Err(required("communicatielijst", school, "PaO.SL02"));
    }
    let Some(pupil) = school.child("leerling") else {
        return Err(required("leerling", school, "PaO.LL01"));
    };
    check_pupil(pupil, profile)?;
    check_contacts(root)?;
    super::values::check(root, "")
}

fn check_pupil(pupil: &Element, profile: PaoProfile) -> Result<()> {
    for c in &pupil.children {
        if let Some(rule) = forbidden_for_pupil(&c.name, profile) {
            return Err(forbidden(c, rule, profile));
        }
    }
    if pupil.child("voornaam").is_none() {
        return Err(required("voornaam", pupil, "PaO.LL01"));
    }
    if pupil.child("geboortedatum").is_none() {
        return Err(required("geboortedatum", pupil, "PaO.LL02"));
    }
    let Some(secret) = pupil.child("adresgeheim") else {
        return Err(required("adresgeheim", pupil, "PaO.LL04"));
    };
    let addresses = pupil
        .child("adreslijst")
        .filter(|l| l.child("adres").is_some());
    if is_true(Some(secret)) {
        if let Some(l) = addresses {
            return Err(forbidden(l, "PaO.LL06", profile));
        }
        if let Some(a) = pupil.child("adresbuitenland") {
            return Err(forbidden(a, "PaO.LL09", profile));
        }
    } else if addresses.is_none() && pupil.child("adresbuitenland").is_none() {
        return Err(required("adreslijst", pupil, "PaO.LL05"));
    }
    if !has_item(pupil, "schoolloopbaanlijst", "schoolloopbaan") {
        return Err(required("schoolloopbaanlijst", pupil, "PaO.SL01"));
    }
    if is_true(pupil.child("verzorgersaansprakelijk")) && pupil.child("verzorger").is_none() {
        return Err(required("verzorger", pupil, "PaO.OV01"));
    }
    for g in pupil.children_named("verzorger") {
        if is_true(g.child("adresgeheim"))
            && let Some(l) = g.child("adreslijst").filter(|l| l.child("adres").is_some())
        {
            return Err(forbidden(l, "PaO.OV03", profile));
        }
        if let Some(b) = g.child("banknummer") {
            return Err(forbidden(b, "PaO.OV05", profile));
        }
    }
    Ok(())
}

/// PaO.LL08: every secret phone number or e-mail address in the dossier
/// carries the placeholder, never the real one; and every e-mail address
/// has the rules' form (OG.01). The walk is bounded by the parser's depth
/// limit.
fn check_contacts(e: &Element) -> Result<()> {
    if e.name == "communicatie" {
        super::values::check_email(e)?;
    }
    if e.name == "communicatie" && is_true(e.child("geheim")) {
        let kind = e.text_at("soort").unwrap_or_default();
        if let (Some(placeholder), Some(number)) = (secret_placeholder(kind), e.child("nummer"))
            && number.text.as_deref() != Some(placeholder)
        {
            return Err(Error::pao(
                "nummer",
                number.line,
                PaoProblem::BadValue {
                    expected: "the placeholder of a secret contact (PaO.LL08)",
                },
            ));
        }
        return Ok(());
    }
    for c in &e.children {
        check_contacts(c)?;
    }
    Ok(())
}
