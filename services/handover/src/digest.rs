//! The one-page classroom digest: what a mentor and the teachers need on the
//! first day, taken from the received dossier (only what its legal basis
//! released). Headings are Dutch: the digest is what school staff read.

use crate::model::Dossier;

/// Longest text of one digest item, so the digest stays one page.
const MAX_ITEM_CHARS: usize = 600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub pupil: String,
    /// (heading, text) in reading order; empty items are left out.
    pub items: Vec<(&'static str, String)>,
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_ITEM_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_ITEM_CHARS - 1).collect();
    out.push('…');
    out
}

pub fn build(d: &Dossier) -> Digest {
    let s = d.summary();
    let e = &d.extras;
    let mut items: Vec<(&'static str, String)> = Vec::new();
    let mut add = |heading: &'static str, text: Option<String>| {
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            items.push((heading, clip(&t)));
        }
    };
    add("Aandachtspunten", s.attention_points.clone());
    add("Wat werkt", e.what_works.clone());
    add("Wat te vermijden", e.what_to_avoid.clone());
    add(
        "Talenten en interesses",
        match (&e.talents, &e.interests) {
            (Some(t), Some(i)) => Some(format!("{t}; {i}")),
            (t, i) => t.clone().or_else(|| i.clone()),
        },
    );
    add("De leerling zelf", e.pupil_voice.clone());
    let mut support = Vec::new();
    if !s.diagnoses.is_empty() {
        support.push(s.diagnoses.join(", "));
    }
    if !s.plans.is_empty() {
        support.push(format!("handelingsplan: {}", s.plans.join(", ")));
    }
    if s.has_opp {
        support.push("ontwikkelingsperspectief (OPP) aanwezig".into());
    }
    if s.medication {
        support.push("gebruikt medicijnen".into());
    }
    add(
        "Ondersteuning",
        (!support.is_empty()).then(|| support.join("; ")),
    );
    add("Lezen en rekenen", reading_and_maths(d));
    add("Toetsresultaten", other_tests(d));
    add("Afspraken", e.agreements.clone());
    add(
        "Schooladvies",
        s.advice.as_ref().map(|a| {
            let a = crate::codes::advice(a);
            match &s.exit_test_advice {
                Some(t) => format!("{a} (doorstroomtoets: {t})"),
                None => a,
            }
        }),
    );
    add("Zienswijze ouders", e.guardian_view.clone());
    add(
        "Contact",
        e.contact
            .clone()
            .or_else(|| match (&s.contact_person, &s.contact_phone) {
                (Some(p), Some(t)) => Some(format!("{p}, {t}")),
                (p, _) => p.clone(),
            }),
    );
    Digest {
        pupil: if s.pupil_name.is_empty() {
            "leerling".into()
        } else {
            s.pupil_name
        },
        items,
    }
}

/// Whether a test's `leergebied` is reading, language or arithmetic (the
/// handbook's continuity of reading and arithmetic, H 7.1 and 7.3).
fn reading_or_maths(area: &str) -> bool {
    let area = area.to_lowercase();
    ["lezen", "rekenen", "wiskunde", "spelling", "taal"]
        .iter()
        .any(|w| area.contains(w))
}

fn pupil_of(d: &Dossier) -> Option<crate::xml::Element> {
    let root = crate::oso::assemble(&d.sections);
    root.child("huidigeschool")?.child("leerling").cloned()
}

/// One test of `toetslijst` in a line: its area, name, date and scores.
fn test_line(t: &crate::xml::Element) -> String {
    let id = t.child("toetsidentificatie");
    let area = id.and_then(|i| i.text_at("leergebied")).unwrap_or("");
    let name = id.and_then(|i| i.text_at("toetsnaam")).unwrap_or("toets");
    let date = t
        .text_at("afname/afnamedatum")
        .map(carenet_consent::record::date_text);
    let mut scores = Vec::new();
    if let Some(result) = t.child("resultaat") {
        if let Some(level) = result.text_at("toetsscore/vaardigheidsscore") {
            scores.push(format!("vaardigheidsscore {level}"));
        }
        for r in result.children_named("referentiescore") {
            if let (Some(code), Some(value)) =
                (r.text_at("codereferentiescore"), r.text_at("waarde"))
            {
                scores.push(format!("{} {value}", crate::codes::score_kind(code)));
            }
        }
    }
    let mut line = if area.is_empty() {
        name.to_owned()
    } else {
        format!("{area}: {name}")
    };
    if let Some(date) = date {
        line.push_str(&format!(" ({date})"));
    }
    if !scores.is_empty() {
        line.push_str(&format!(": {}", scores.join(", ")));
    }
    line
}

/// The reading and arithmetic levels: the exit test's reference levels
/// (per part and domain) and the reading, language and arithmetic tests.
fn reading_and_maths(d: &Dossier) -> Option<String> {
    let pupil = pupil_of(d)?;
    let mut lines = Vec::new();
    if let Some(result) = pupil
        .child("eindtoets_basisonderwijs")
        .and_then(|e| e.child("eindtoetsresultaat"))
    {
        let mut levels = Vec::new();
        for part in result
            .child("onderdelen")
            .map(|o| o.children_named("onderdeel").collect())
            .unwrap_or_else(Vec::new)
        {
            if let (Some(name), Some(level)) = (
                part.text_at("onderdeelomschrijving"),
                part.text_at("ond_referentieniveau"),
            ) {
                levels.push(format!("{name}: {}", crate::codes::reference_level(level)));
            }
            for domain in part
                .child("domeinen")
                .map(|o| o.children_named("domein").collect())
                .unwrap_or_else(Vec::new)
            {
                if let (Some(name), Some(level)) = (
                    domain.text_at("domeinomschrijving"),
                    domain.text_at("dom_referentieniveau"),
                ) {
                    levels.push(format!("{name}: {}", crate::codes::reference_level(level)));
                }
            }
        }
        if !levels.is_empty() {
            let test = result.text_at("toetsomschrijving").unwrap_or("eindtoets");
            lines.push(format!("{test}: {}", levels.join("; ")));
        }
    }
    if let Some(list) = pupil.child("toetslijst") {
        for t in list.children_named("toets") {
            let area = t.text_at("toetsidentificatie/leergebied").unwrap_or("");
            if reading_or_maths(area) {
                lines.push(test_line(t));
            }
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The other tests of the file (intelligence, development, ...).
fn other_tests(d: &Dossier) -> Option<String> {
    let pupil = pupil_of(d)?;
    let lines: Vec<String> = pupil
        .child("toetslijst")?
        .children_named("toets")
        .filter(|t| !reading_or_maths(t.text_at("toetsidentificatie/leergebied").unwrap_or("")))
        .map(test_line)
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

impl Digest {
    /// Plain text, one page.
    pub fn to_text(&self) -> String {
        let mut out = format!("Overdracht in één oogopslag: {}\n\n", self.pupil);
        for (heading, text) in &self.items {
            out.push_str(heading);
            out.push_str(":\n  ");
            out.push_str(&text.replace('\n', "\n  "));
            out.push_str("\n\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::Extras;

    #[test]
    fn digest_holds_needs_what_works_and_contact_in_one_page() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../vendor/oso/OV/examples/Voorbeelddossier_OV_POVO_full.xml"
        );
        let d = Dossier {
            sections: crate::oso::import(&std::fs::read_to_string(path).unwrap())
                .unwrap()
                .sections,
            extras: Extras {
                what_works: Some("Vaste plek vooraan; instructie kort en visueel.".into()),
                what_to_avoid: Some("x".repeat(5000)),
                ..Extras::default()
            },
        };
        let g = build(&d);
        assert_eq!(g.pupil, "Daan van de Berg");
        let headings: Vec<_> = g.items.iter().map(|(h, _)| *h).collect();
        assert_eq!(
            headings[..3],
            ["Aandachtspunten", "Wat werkt", "Wat te vermijden"]
        );
        assert!(headings.contains(&"Contact") && headings.contains(&"Ondersteuning"));
        let levels = &g
            .items
            .iter()
            .find(|(h, _)| *h == "Lezen en rekenen")
            .unwrap()
            .1;
        assert!(levels.contains("Rekenen: 2F"), "{levels}");
        assert!(levels.contains("Lezen: lager dan 1F"), "{levels}");
        assert!(
            levels.contains("technisch lezen: Drempelonderzoek"),
            "{levels}"
        );
        assert!(levels.contains("begrijpend lezen"), "{levels}");
        let tests = &g
            .items
            .iter()
            .find(|(h, _)| *h == "Toetsresultaten")
            .unwrap()
            .1;
        assert!(tests.contains("NIO"), "{tests}");
        assert!(g.to_text().chars().count() < 4000, "one page");
    }
}
