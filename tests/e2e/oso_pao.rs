//! The OSO SWV dossier (PaO profiles POSWV and VOSWV) that travels with a
//! support request, checked by validators nobody here wrote: the OSO 2019.1
//! XSD (Python lxml) and the official PaO rules
//! (`ValideerSwvPaO-profielen.xsl`, XSLT 2.0, run by saxonche), through
//! `tests/oso/validate.py`, which picks the PaO rules for an `swv-dossier`.

use std::path::{Path, PathBuf};
use std::process::Command;

use carenet_handover::oso::pao::{
    self, ActionPlan, Address, Answer, Arrangement, Contact, Diagnosis, Document, Guardian, Inzage,
    Name, Opp, PaoProfile, Person, Pupil, School, SchoolYear, Support, SwvDossier, Written,
};
use carenet_handover::xml::{self, Element};
use time::macros::date;

/// What the validator said about a file: whether it passed, and its report.
fn validate(file: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("oso/validate.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(file)
        .output()
        .expect("run the OSO validator (scripts/setup installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// Passes only when the validator ran the PaO rules and found nothing.
fn assert_valid_swv_dossier(file: &Path) {
    let (ok, report) = validate(file);
    assert!(ok, "{report}");
    assert!(
        report.contains(&format!(
            "{}: ok (ValideerSwvPaO-profielen.xsl)",
            file.display()
        )),
        "the PaO rules did not run: {report}"
    );
}

fn vendored(profile: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../vendor/oso/PaO/examples/Voorbeelddossier_PaO_{profile}_full.xml"
    ))
}

/// Every element name in a file, at any depth.
fn element_names(text: &str) -> Vec<String> {
    fn walk(e: &Element, out: &mut Vec<String>) {
        out.push(e.name.clone());
        for c in &e.children {
            walk(c, out);
        }
    }
    let mut out = Vec::new();
    walk(&xml::parse(text).unwrap().root, &mut out);
    out
}

/// The elements no SWV dossier may hold (ValideerSwvPaO-profielen.xsl).
const NEVER: &[&str] = &[
    "bsn",
    "onderwijsnummer",
    "geboorteplaats",
    "nationaliteit",
    "geboortemaand",
    "postcode4adres",
    "banknummer",
];

fn text_document(file_name: &str, description: &str, text: &str) -> Document {
    Document {
        file_name: file_name.to_owned(),
        description: Some(description.to_owned()),
        content: text.as_bytes().to_vec(),
    }
}

fn address(street: &str, number: &str, postcode: &str, place: &str) -> Address {
    Address {
        kind: "bezoek".to_owned(),
        street: street.to_owned(),
        number: number.to_owned(),
        addition: None,
        designation: None,
        location: None,
        postcode: postcode.to_owned(),
        place: place.to_owned(),
        municipality: Some(place.to_owned()),
        country: None,
    }
}

fn phone(number: &str) -> Contact {
    Contact {
        kind: "telefoon".to_owned(),
        label: Some("prive".to_owned()),
        value: number.to_owned(),
        secret: Some(false),
        emergency: Some(true),
    }
}

fn email(address: &str) -> Contact {
    Contact {
        kind: "e-mail".to_owned(),
        label: Some("werk".to_owned()),
        value: address.to_owned(),
        secret: None,
        emergency: None,
    }
}

fn name(first: &str, prefix: Option<&str>, surname: &str) -> Name {
    Name {
        first_names: vec![first.to_owned()],
        initials: Some(format!("{}.", &first[..1])),
        prefix: prefix.map(str::to_owned),
        surname: surname.to_owned(),
        called: Some(first.to_owned()),
    }
}

fn guardian(first: &str, surname: &str, sex: &str, relation: &str, mobile: &str) -> Guardian {
    Guardian {
        person: Person {
            name: name(first, None, surname),
            sex: Some(sex.to_owned()),
            address_secret: Some(false),
            addresses: vec![address("Lindelaan", "14", "3532AB", "Utrecht")],
            contacts: vec![phone(mobile)],
        },
        relation: Some(relation.to_owned()),
        deceased: None,
        deceased_on: None,
        legal_representative: true,
    }
}

fn school(name: &str, brin: &str, kind: &str) -> School {
    School {
        name: name.to_owned(),
        addresses: vec![address("Schoolstraat", "3", "3511AA", "Utrecht")],
        contacts: vec![phone("0301234567"), email("zorg@regenboog.example.nl")],
        brin: brin.to_owned(),
        location_code: "00".to_owned(),
        delivery_point: "1".to_owned(),
        kind: Some(kind.to_owned()),
        school_type: None,
        head: Some("M. Jansen".to_owned()),
        website: None,
    }
}

fn year(y: i32, grade: &str, brin: &str, kind: &str) -> SchoolYear {
    SchoolYear {
        year: format!("{y}-{}", y + 1),
        group_code: grade.to_owned(),
        group_name: Some(format!("groep {grade}")),
        grade: grade.to_owned(),
        start: time::Date::from_calendar_date(y, time::Month::August, 1).ok(),
        end: time::Date::from_calendar_date(y + 1, time::Month::July, 31).ok(),
        brin: brin.to_owned(),
        location_code: "00".to_owned(),
        school_kind: Some(kind.to_owned()),
        school_type: None,
        vo_element_code: None,
        vo_element: None,
        school_kind_description: None,
    }
}

/// A primary school's request for a TLV SBO: Sanne de Vries, groep 6.
fn po_dossier() -> SwvDossier {
    SwvDossier {
        written: Written::carenet(date!(2026 - 11 - 20)),
        inzage: Some(Inzage {
            provisional: false,
            seen: Some(true),
            date: Some(date!(2026 - 11 - 18)),
            agreed: Some(Answer::Yes),
            reason_not_agreed: None,
            consent: Some(Answer::Yes),
        }),
        school: school("Basisschool De Regenboog", "12AB", "BAO"),
        pupil: Pupil {
            name: name("Sanne", Some("de"), "Vries"),
            birth_date: date!(2017 - 04 - 09),
            sex: Some("1".to_owned()),
            address_secret: false,
            addresses: vec![address("Lindelaan", "14", "3532AB", "Utrecht")],
            contacts: vec![],
            abroad: vec![],
            school_ref: Some("RB-2021-044".to_owned()),
            in_education_since: Some(date!(2021 - 04 - 12)),
            current_education_since: Some(date!(2021 - 04 - 12)),
            enrolled: Some(date!(2021 - 04 - 12)),
            unenrolled: None,
            returned_to_brin: None,
            weight: Some("0.00".to_owned()),
            nnca: None,
            care_home: Some(false),
            doctor: None,
            guardians_liable: Some(true),
            liable_institution: None,
        },
        guardians: vec![
            guardian("Anouk", "de Vries", "1", "1", "0612345678"),
            guardian("Pieter", "de Vries", "2", "2", "0687654321"),
        ],
        career: (2021..2026)
            .zip(["1", "2", "3", "4", "5"])
            .map(|(y, g)| year(y, g, "12AB", "BAO"))
            .collect(),
        support: Support {
            needs: Some(text_document(
                "hulpvraag.txt",
                "Hulpvraag van de school en onderwijsbehoeften",
                "Sanne leest op AVI E3 in groep 6. Ondanks twee jaar intensieve \
                 leesbegeleiding en een arrangement is de achterstand gegroeid. \
                 De school vraagt een toelaatbaarheidsverklaring voor het SBO.",
            )),
            diagnoses: vec![Diagnosis {
                codes: vec!["F81.0".to_owned()],
                name: Some("Dyslexie".to_owned()),
                date: Some(date!(2025 - 03 - 02)),
                by: Some("drs. L. Bakker, orthopedagoog".to_owned()),
                institution: Some("Praktijk Leren en Ontwikkelen".to_owned()),
                documents: vec![text_document(
                    "dyslexieverklaring.txt",
                    "Dyslexieverklaring",
                    "Er is sprake van ernstige, enkelvoudige dyslexie.",
                )],
            }],
            medication: Some(false),
            action_plans: vec![
                ActionPlan {
                    start: date!(2025 - 09 - 01),
                    end: Some(date!(2026 - 01 - 31)),
                    aimed_at: "Technisch lezen: IZO 14 oktober 2025".to_owned(),
                    document: Some(text_document(
                        "izo-2025-10-14.txt",
                        "Verslag IZO",
                        "Doel: AVI E4 in januari. Evaluatie: gedeeltelijk behaald.",
                    )),
                },
                ActionPlan {
                    start: date!(2026 - 02 - 01),
                    end: Some(date!(2026 - 07 - 10)),
                    aimed_at: "Zorgadviesteam 9 maart 2026".to_owned(),
                    document: Some(text_document(
                        "zat-2026-03-09.txt",
                        "Verslag ZAT",
                        "Het ZAT adviseert een aanvraag bij het samenwerkingsverband.",
                    )),
                },
            ],
            opp: Some(Opp {
                start: date!(2025 - 10 - 01),
                end: Some(date!(2026 - 10 - 01)),
                documents: vec![text_document(
                    "groeidocument.txt",
                    "Groeidocument",
                    "Uitstroomperspectief: praktijkonderwijs of vmbo-b.",
                )],
            }),
            tlvs: vec![],
            cluster12: vec![],
            arrangements: vec![Arrangement {
                date: date!(2025 - 09 - 01),
                reference: Some("Lichte ondersteuning lezen".to_owned()),
                decision_number: Some("SWV-ARR-2025-118".to_owned()),
                end: Some(date!(2026 - 07 - 10)),
            }],
            lwoo: None,
            rvc: None,
        },
        attachments: vec![
            text_document(
                "zienswijze-ouders.txt",
                "Zienswijze ouders",
                "Wij steunen de aanvraag; Sanne heeft meer rust en kleinere groepen nodig.",
            ),
            text_document(
                "stem-van-sanne.txt",
                "Hoorrecht: de stem van de leerling",
                "Sanne zegt dat lezen in de klas haar bang maakt.",
            ),
        ],
        records: vec![],
    }
}

/// A secondary school's request for an arrangement: Daan Yilmaz, leerjaar 2.
fn vo_dossier() -> SwvDossier {
    let mut d = po_dossier();
    d.school = school("Het Baken College", "34CD", "VO");
    d.pupil.name = name("Daan", None, "Yilmaz");
    d.pupil.sex = Some("2".to_owned());
    d.pupil.birth_date = date!(2012 - 08 - 30);
    d.guardians = vec![guardian("Elif", "Yilmaz", "1", "1", "0611122233")];
    d.career = vec![
        year(2024, "11", "34CD", "VO"),
        year(2025, "12", "34CD", "VO"),
    ];
    d.support.needs = Some(text_document(
        "hulpvraag.txt",
        "Hulpvraag van de school",
        "Daan verzuimt sinds de herfstvakantie; de school vraagt ambulante begeleiding.",
    ));
    d.support.diagnoses.clear();
    d.support.arrangements.clear();
    d.attachments[1] = text_document(
        "stem-van-daan.txt",
        "Hoorrecht: de stem van de leerling",
        "Daan wil graag op school blijven, met een vaste begeleider.",
    );
    d
}

#[test]
fn pao_exports_from_a_po_and_a_vo_school_pass_the_xsd_and_the_official_rules() {
    let tmp = tempfile::tempdir().unwrap();
    for (label, dossier, profile) in [
        ("po", po_dossier(), PaoProfile::Poswv),
        ("vo", vo_dossier(), PaoProfile::Voswv),
    ] {
        // A block carenet does not know, with a BSN in it, must not leave.
        let mut with_bsn = dossier.clone();
        with_bsn.records.push(Element::leaf("bsn", "123456782"));
        let text = pao::export(&with_bsn, profile).unwrap();
        let file = tmp.path().join(format!("{label}.xml"));
        std::fs::write(&file, &text).unwrap();
        assert_valid_swv_dossier(&file);
        let names = element_names(&text);
        for never in NEVER {
            assert!(
                !names.iter().any(|n| n == never),
                "{label}: <{never}> written"
            );
        }
        assert!(!text.contains("123456782"), "{label}: the BSN left");
        assert!(text.contains(&format!("<overstap>{}</overstap>", profile.code())));
        // export → import gives the same dossier back
        let back = pao::import(text.as_bytes()).unwrap();
        assert_eq!(back.profile, profile, "{label}");
        assert_eq!(back.dossier, dossier, "{label}");
    }
}

#[test]
fn the_validator_refuses_an_swv_dossier_with_a_bsn_and_so_does_the_import() {
    // The check above is only worth something if the validator can fail.
    let tmp = tempfile::tempdir().unwrap();
    let text = pao::export(&po_dossier(), PaoProfile::Poswv).unwrap();
    let bad = text.replacen(
        "<leerlingid>",
        "<bsn>123456782</bsn>\n      <leerlingid>",
        1,
    );
    let file = tmp.path().join("bsn.xml");
    std::fs::write(&file, &bad).unwrap();
    let (ok, report) = validate(&file);
    assert!(!ok, "{report}");
    assert!(
        report.contains("BSN of onderwijsnummer is verboden"),
        "{report}"
    );
    let line = bad[..bad.find("<bsn>").unwrap()].matches('\n').count() + 1;
    let e = pao::import(bad.as_bytes()).unwrap_err().to_string();
    assert!(
        e.contains(&format!("<bsn> at line {line}")) && e.contains("PaO.LL12"),
        "{e}"
    );
    assert!(!e.contains("123456782") && !e.contains("Sanne"), "{e}");
}

#[test]
fn both_vendored_pao_examples_import_and_export_valid_again() {
    let tmp = tempfile::tempdir().unwrap();
    for (code, profile) in [("POSWV", PaoProfile::Poswv), ("VOSWV", PaoProfile::Voswv)] {
        let source = vendored(code);
        // The validator accepts the standard's own examples as they are.
        assert_valid_swv_dossier(&source);
        let read = pao::import(&std::fs::read(&source).unwrap()).unwrap();
        assert_eq!(read.profile, profile);
        let text = pao::export(&read.dossier, profile).unwrap();
        let file = tmp.path().join(format!("{code}.xml"));
        std::fs::write(&file, &text).unwrap();
        assert_valid_swv_dossier(&file);
        assert_eq!(pao::import(text.as_bytes()).unwrap(), read, "{code}");
    }
}

#[test]
fn a_broken_swv_dossier_is_refused_naming_the_element() {
    let text = pao::export(&vo_dossier(), PaoProfile::Voswv).unwrap();
    let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let cases = [
        (
            text.replace("<geboortedatum>2012-08-30", "<geboortedatum>30-08-2012"),
            format!(
                "<geboortedatum> at line {}: must be a date",
                line("<geboortedatum>")
            ),
        ),
        (
            text.replace("<overstap>VOSWV</overstap>", "<overstap>VOVO</overstap>"),
            format!("<overstap> at line {}", line("<overstap>")),
        ),
        (
            text.replace(
                "<adresgeheim>false</adresgeheim>\n      <adreslijst>",
                "<adresgeheim>false</adresgeheim>\n      <voorschools/><adreslijst>",
            ),
            "<voorschools> at line".to_owned(),
        ),
        (
            text[..text.len() / 2].to_owned(),
            "not well-formed".to_owned(),
        ),
    ];
    for (bad, expect) in cases {
        let e = pao::import(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(&expect), "{expect:?} not in {e:?}");
        assert!(e.contains("line"), "{e}");
    }
}

#[test]
fn carenet_oso_check_swv_reads_rewrites_and_refuses_without_a_node() {
    let tmp = tempfile::tempdir().unwrap();
    let carenet = |args: &[&str]| {
        Command::new(carenet_e2e::carenet_bin())
            .args(args)
            .output()
            .expect("run carenet")
    };
    // The primary school's example, written again as a VO request.
    let source = vendored("POSWV");
    let out_file = tmp.path().join("as-vo.xml");
    let out = carenet(&[
        "oso",
        "check-swv",
        &source.display().to_string(),
        "--profile",
        "VOSWV",
        "--out",
        &out_file.display().to_string(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("POSWV: 5 guardians, 10 school years"),
        "{stdout}"
    );
    assert!(!stdout.contains("Berg"), "no names: {stdout}");
    assert_valid_swv_dossier(&out_file);
    let written = std::fs::read_to_string(&out_file).unwrap();
    assert!(written.contains("<overstap>VOSWV</overstap>"));
    assert!(
        !written.contains("<voorschools>"),
        "VOSWV forbids pre-school blocks"
    );

    // A file with a BSN is refused, naming the element and the rule.
    let bad = tmp.path().join("bsn.xml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&source).unwrap().replacen(
            "<leerlingid>",
            "<bsn>123456782</bsn><leerlingid>",
            1,
        ),
    )
    .unwrap();
    let out = carenet(&["oso", "check-swv", &bad.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("<bsn> at line") && stderr.contains("PaO.LL12"),
        "{stderr}"
    );
    assert!(!stderr.contains("123456782"), "{stderr}");
}
