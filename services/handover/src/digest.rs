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
    add("Afspraken", e.agreements.clone());
    add(
        "Schooladvies",
        s.advice.as_ref().map(|a| match &s.exit_test_advice {
            Some(t) => format!("{a} (doorstroomtoets: {t})"),
            None => a.clone(),
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
        assert!(g.to_text().chars().count() < 4000, "one page");
    }
}
