//! The forms and code lists of single values that the XSD and the shared
//! rules (`include/ValideerOSOgegevensset_2019.1.xsl`) check, for the
//! elements an SWV dossier holds: so that a file carenet reads is one it
//! can write again, and a file it writes passes the official validator
//! (a BRIN of the wrong form or an unknown code is refused by name, not
//! discovered by the receiving SWV). Each refusal names the element and
//! what the value must be, never the value.

use crate::xml::Element;
use crate::{Error, PaoProblem, Result};

/// Codelist 23, diagnose codes (as the 2019.1 rules list them).
const DIAGNOSES: &[&str] = &[
    "F79.VB", "F79.ZB", "HB", "F80", "F81.0", "F81.1", "F81.2", "F81.9", "F82", "F84", "F84.0",
    "F84.2", "F84.5", "F84.nld", "F84.mcdd", "F90", "F90.0", "F90.0+", "F90.0-", "F91", "F91.3",
    "F95", "F95.2", "F41.0", "F43.1", "F43.2", "F50", "F92.0", "F93.1", "F94", "Fspd", "G40",
    "H54.0", "H54.2", "H91.9.d", "H91.9.s", "Z62",
];

/// Codelist 13, jaargroepen.
const GRADES: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "11", "12", "13", "14", "15", "16", "S", "P",
];

fn bad(e: &Element, expected: &'static str) -> Error {
    Error::pao(&e.name, e.line, PaoProblem::BadValue { expected })
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn brin(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 4
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2..].iter().all(u8::is_ascii_uppercase)
}

fn school_year(s: &str) -> bool {
    s.len() == 9 && s.as_bytes()[4] == b'-' && digits(&s[..4], 4) && digits(&s[5..], 4)
}

/// OG.01: the e-mail address form of the rules (DUO's expression, which is
/// anchored only at its end): a local part before the last `@` and a domain
/// of letters, digits and inner hyphens in dot-separated labels.
fn email(s: &str) -> bool {
    let Some(at) = s.rfind('@') else {
        return false;
    };
    let local_ok = s[..at]
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || "!#$%*+=?^_`{|}~.-".contains(c));
    let label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    (4..=256).contains(&s.chars().count()) && local_ok && s[at + 1..].split('.').all(label)
}

/// Checks every value below `e` (whose parent is named `parent`).
pub(super) fn check(e: &Element, parent: &str) -> Result<()> {
    if e.children.is_empty() {
        return check_leaf(e, parent);
    }
    match e.name.as_str() {
        // OG.04: a date of death only for a guardian marked deceased.
        "verzorger"
            if e.child("overlijdensdatum").is_some()
                && !matches!(e.text_at("overleden"), Some("true" | "1")) =>
        {
            return Err(bad(
                e.child("overlijdensdatum").unwrap_or(e),
                "left out unless overleden is true (OG.04)",
            ));
        }
        // OG.05: no called name, sex or secret address for the doctor.
        "huisarts" => {
            for name in ["roepnaam", "geslacht"] {
                if let Some(c) = e.child(name) {
                    return Err(bad(c, "left out for a family doctor (OG.05)"));
                }
            }
            if let Some(c) = e.child("adresgeheim")
                && matches!(c.text.as_deref(), Some("true" | "1"))
            {
                return Err(bad(c, "left out for a family doctor (OG.05)"));
            }
        }
        _ => {}
    }
    for c in &e.children {
        check(c, &e.name)?;
    }
    Ok(())
}

fn check_leaf(e: &Element, parent: &str) -> Result<()> {
    let v = e.text.as_deref().unwrap_or_default();
    if v.trim().is_empty() {
        return Err(bad(e, "a value that is not empty"));
    }
    let ok = match (parent, e.name.as_str()) {
        (_, "brincode" | "teruggeplaatstnaarbrin" | "arrangement_brin") => brin(v),
        (_, "vestigingscode" | "arrangement_vestigingscode") => digits(v, 2),
        ("schoolloopbaan", "schooljaar") => school_year(v),
        (_, "lwoo_einddatum") => v.ends_with("-07-31"),
        (_, "adresbuitenland" | "locatieomschrijving") => v.chars().count() <= 35,
        (_, "geslacht") => matches!(v, "0" | "1" | "2"),
        ("communicatie", "soort") => matches!(v, "telefoon" | "e-mail"),
        ("communicatie", "aanduiding") => matches!(v, "werk" | "prive" | "overig"),
        ("adres", "soortadres") => matches!(v, "bezoek" | "post" | "gba"),
        ("adres", "aanduiding") => matches!(v, "TO" | "BY"),
        ("verzorger", "relatietotkind") => {
            v.len() == 1 && v.as_bytes()[0].is_ascii_digit() && v != "0"
        }
        (_, "jaargroep") => GRADES.contains(&v),
        (_, "leerlinggewicht") => matches!(v, "0.00" | "0.30" | "1.20"),
        (_, "nnca") => matches!(v, "0" | "1" | "2"),
        ("rvc", "rvcindicatie") => matches!(v, "LWOO" | "PRO"),
        ("diagnose", "code") => DIAGNOSES.contains(&v),
        _ => true,
    };
    if !ok {
        return Err(bad(e, expected(parent, &e.name)));
    }
    Ok(())
}

fn expected(parent: &str, name: &str) -> &'static str {
    match (parent, name) {
        (_, "brincode" | "teruggeplaatstnaarbrin" | "arrangement_brin") => {
            "a BRIN: two digits and two capitals"
        }
        (_, "vestigingscode" | "arrangement_vestigingscode") => "two digits",
        (_, "schooljaar") => "a school year such as 2025-2026",
        (_, "lwoo_einddatum") => "a 31 July (OG.03)",
        (_, "adresbuitenland" | "locatieomschrijving") => "at most 35 characters",
        (_, "geslacht") => "0, 1 or 2 (codelist 14)",
        ("communicatie", "soort") => "telefoon or e-mail (codelist 4)",
        ("communicatie", "aanduiding") => "werk, prive or overig (codelist 5)",
        ("adres", "soortadres") => "bezoek, post or gba (codelist 19)",
        ("adres", "aanduiding") => "TO or BY (codelist 18)",
        (_, "relatietotkind") => "1 to 9 (codelist 41)",
        (_, "jaargroep") => "a jaargroep of codelist 13",
        (_, "leerlinggewicht") => "0.00, 0.30 or 1.20 (codelist 15)",
        (_, "nnca") => "0, 1 or 2 (codelist 10)",
        (_, "rvcindicatie") => "LWOO or PRO (codelist 17)",
        (_, "code") => "a diagnose code of codelist 23",
        _ => "a valid value",
    }
}

/// OG.01 on every e-mail address: called for each `communicatie`.
pub(super) fn check_email(contact: &Element) -> Result<()> {
    if contact.text_at("soort") == Some("e-mail")
        && let Some(n) = contact.child("nummer")
        && !email(n.text.as_deref().unwrap_or_default())
    {
        return Err(bad(n, "an e-mail address (OG.01)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_follow_the_rules() {
        assert!(brin("12AB") && !brin("12ab") && !brin("1AB2") && !brin("12ABC"));
        assert!(school_year("2025-2026") && !school_year("2025/2026"));
        assert!(email("zorg@regenboog.example.nl") && email("geheim@geheim.geheim"));
        assert!(!email("zorg@") && !email("zorg.example.nl") && !email("a@-b.nl"));
        assert!(email("a@bc"), "DUO's expression allows a bare host name");
        assert!(!email("x@y"), "shorter than 4 characters");
    }
}
