//! OSO's coded values in the words Dutch school staff and parents use: one
//! table per code list, shared by the dossier pages, the parent portal, the
//! mentor's digest and the exports' readable views. An OSO file keeps the
//! codes; only what a person reads is translated.
//!
//! Sources, noted per list: the OSO 2019.1 XSD and its business-rule XSLT
//! (`vendor/oso`), which name the valid codes and, for some lists, their
//! meaning. The official "OSO codelijsten" spreadsheet is not part of the
//! public repository; codelist 2 ("Advies VO", DUO's codes for the school
//! advice) is labelled from DUO's published variable labels as used for the
//! CBS microdata `WPOADVIESVO` (the same set of codes as the XSLT accepts).
//! A code not in a table reads as "code …", never as a bare number.

/// Codelist 2 "Advies VO": the school advice (`advies`, `herzienadvies`)
/// and the parents' and pupil's wishes (`wensouders`, `wensleerling`).
const ADVICE: &[(&str, &str)] = &[
    ("01", "voortgezet speciaal onderwijs (vso)"),
    ("10", "praktijkonderwijs"),
    ("20", "vmbo basisberoepsgerichte leerweg (vmbo-b)"),
    ("21", "vmbo-b met leerwegondersteuning"),
    ("22", "vmbo-b tot en met vmbo-k"),
    ("23", "vmbo-b tot en met vmbo-k, met leerwegondersteuning"),
    ("30", "vmbo kaderberoepsgerichte leerweg (vmbo-k)"),
    ("31", "vmbo-k met leerwegondersteuning"),
    ("32", "vmbo-k tot en met vmbo gemengde leerweg"),
    (
        "33",
        "vmbo-k tot en met vmbo gemengde leerweg, met leerwegondersteuning",
    ),
    ("34", "vmbo-k tot en met vmbo theoretische leerweg"),
    (
        "35",
        "vmbo-k tot en met vmbo theoretische leerweg, met leerwegondersteuning",
    ),
    ("40", "vmbo gemengde leerweg (vmbo-gl)"),
    ("41", "vmbo-gl met leerwegondersteuning"),
    ("42", "vmbo-gl tot en met vmbo-tl"),
    ("43", "vmbo-gl tot en met vmbo-tl, met leerwegondersteuning"),
    ("44", "vmbo-gl tot en met havo"),
    ("50", "vmbo theoretische leerweg (vmbo-tl)"),
    ("51", "vmbo-tl met leerwegondersteuning"),
    ("52", "vmbo-tl tot en met havo"),
    ("60", "havo"),
    ("61", "havo/vwo"),
    ("70", "vwo"),
    ("80", "geen specifiek advies mogelijk"),
];

/// The elements that carry a codelist 2 value.
const ADVICE_ELEMENTS: &[&str] = &["advies", "herzienadvies", "wensouders", "wensleerling"];

/// Codelist 42 "Soort eindtoets" (XSD `EindtoetsToetssoortType`); 0014 and
/// 0016 are valid but named by no public source, so they read as a code.
const EXIT_TEST_KIND: &[(&str, &str)] = &[
    ("0011", "Centrale eindtoets"),
    ("0012", "Route 8"),
    ("0013", "IEP"),
    ("0015", "CESAN"),
];

/// Codelist 43 "Niveau eindtoets" (XSD and XSLT comments).
const EXIT_TEST_LEVEL: &[(&str, &str)] = &[("G", "generiek"), ("B", "basis"), ("E", "eenvoudig")];

/// Codelist 45 "Eindtoets referentieniveaus" (XSD
/// `EindtoetsReferentieniveauType`).
const REFERENCE_LEVEL: &[(&str, &str)] = &[
    ("01", "lager dan 1F"),
    ("02", "1F"),
    ("03", "1S"),
    ("04", "2F"),
];

/// Codelists 46 and 47: the exit test's parts and domains.
const EXIT_TEST_PART: &[(&str, &str)] = &[
    ("8000", "taal"),
    ("8001", "rekenen"),
    ("8050", "lezen"),
    ("8051", "taalverzorging"),
];

/// Codelist 11 "Referentiescore" (`codereferentiescore`): the kinds of
/// score whose names are plain Dutch terms of the trade; the
/// abbreviations no public source expands read as a code.
const SCORE_KIND: &[(&str, &str)] = &[
    ("Percentiel", "percentiel"),
    ("Percentage", "percentage"),
    ("T-score", "T-score"),
    ("Stanine", "stanine"),
    ("C-score", "C-score"),
    ("Standaardscore", "standaardscore"),
    ("Norm", "normscore"),
    ("IQ", "intelligentiequotiënt (IQ)"),
    ("DLE", "didactische leeftijdsequivalent (DLE)"),
    ("AVI", "AVI-niveau"),
    ("ERK", "Europees Referentiekader (ERK)"),
];

/// The kind and type of a school (`soort`/`schoolsoort`,
/// `type`/`schooltype`): free text in OSO, by convention the sector's
/// abbreviations, of which these are the common ones.
const SCHOOL_KIND: &[(&str, &str)] = &[
    ("BAO", "basisonderwijs"),
    ("SBAO", "speciaal basisonderwijs"),
    ("SBO", "speciaal basisonderwijs"),
    ("SO", "speciaal onderwijs"),
    ("VSO", "voortgezet speciaal onderwijs"),
    ("VO", "voortgezet onderwijs"),
    ("PRO", "praktijkonderwijs"),
    ("REC1", "cluster 1 (blinde en slechtziende leerlingen)"),
    (
        "REC2",
        "cluster 2 (dove en slechthorende leerlingen, taal- en spraakproblemen)",
    ),
    (
        "REC3",
        "cluster 3 (leerlingen met een lichamelijke of verstandelijke beperking)",
    ),
    (
        "REC4",
        "cluster 4 (leerlingen met gedrags- of psychiatrische problemen)",
    ),
];

/// Codelist 14 "Geslacht" (XSD `geslachtType`: 0, 1, 2 for onbekend,
/// vrouw, man).
const SEX: &[(&str, &str)] = &[("0", "onbekend"), ("1", "vrouw"), ("2", "man")];

/// Codelist 17 "RVC indicatie".
const RVC: &[(&str, &str)] = &[
    ("LWOO", "leerwegondersteunend onderwijs (lwoo)"),
    ("PRO", "praktijkonderwijs"),
];

fn find(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    let code = code.trim();
    table.iter().find(|(c, _)| *c == code).map(|(_, l)| *l)
}

/// "code 14": how a code no table names reads.
fn as_code(code: &str) -> String {
    format!("code {}", code.trim())
}

/// A school advice (codelist 2) in words.
pub fn advice(code: &str) -> String {
    find(ADVICE, code).map_or_else(|| as_code(code), str::to_owned)
}

/// A reference level (codelist 45, Meijerink) in words.
pub fn reference_level(code: &str) -> String {
    find(REFERENCE_LEVEL, code).map_or_else(|| as_code(code), str::to_owned)
}

/// A kind of score (codelist 11) in words, or its code.
pub fn score_kind(code: &str) -> String {
    find(SCORE_KIND, code).map_or_else(|| code.trim().to_owned(), str::to_owned)
}

/// The value of OSO element `name` in words when it is a code of a list
/// above; `None` when the element carries no code this module knows (the
/// caller shows the value as it is).
pub fn element(name: &str, value: &str) -> Option<String> {
    let label = |table| find(table, value).map_or_else(|| as_code(value), str::to_owned);
    Some(match name {
        n if ADVICE_ELEMENTS.contains(&n) => label(ADVICE),
        "toetssoort" => label(EXIT_TEST_KIND),
        "toetsniveau" => label(EXIT_TEST_LEVEL),
        "dom_referentieniveau" | "ond_referentieniveau" => label(REFERENCE_LEVEL),
        "onderdeelcode" | "domeincode" => label(EXIT_TEST_PART),
        "codereferentiescore" => score_kind(value),
        "geslacht" => label(SEX),
        "rvcindicatie" => label(RVC),
        // Free text by convention: a known abbreviation in words, anything
        // else as written.
        "soort" | "schoolsoort" | "type" | "schooltype" => find(SCHOOL_KIND, value)?.to_owned(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_advice_code_the_validator_accepts_has_words() {
        // The XSLT's codelist 2 (ValideerOSOgegevensset_2019.1.xsl).
        let valid = [
            "01", "10", "20", "21", "22", "23", "30", "31", "32", "33", "34", "35", "40", "41",
            "42", "43", "44", "50", "51", "52", "60", "61", "70", "80",
        ];
        for code in valid {
            assert!(!advice(code).starts_with("code"), "{code}");
        }
        assert_eq!(ADVICE.len(), valid.len());
        assert_eq!(advice("60"), "havo");
        assert_eq!(advice(" 70 "), "vwo");
        assert_eq!(advice("99"), "code 99");
    }

    #[test]
    fn elements_read_as_words_and_unknown_ones_are_left_alone() {
        assert_eq!(
            element("wensouders", "42").unwrap(),
            "vmbo-gl tot en met vmbo-tl"
        );
        assert_eq!(element("toetssoort", "0011").unwrap(), "Centrale eindtoets");
        assert_eq!(element("toetssoort", "0014").unwrap(), "code 0014");
        assert_eq!(
            element("schooltype", "REC3").unwrap(),
            "cluster 3 (leerlingen met een lichamelijke of verstandelijke beperking)"
        );
        assert_eq!(element("soort", "telefoon"), None);
        assert_eq!(element("geslacht", "1").unwrap(), "vrouw");
        assert_eq!(element("codereferentiescore", "RNTRM").unwrap(), "RNTRM");
        assert_eq!(element("toetsnaam", "40"), None);
    }
}
