#![allow(clippy::unwrap_used)]
use super::*;
use time::macros::date;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../vendor/oso/PaO/examples");

fn example(profile: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{EXAMPLES}/Voorbeelddossier_PaO_{profile}_full.xml"
    ))
    .unwrap()
}

fn example_text(profile: &str) -> String {
    String::from_utf8(example(profile)).unwrap()
}

#[test]
fn both_vendored_examples_are_read_with_their_profile() {
    let po = import(&example("POSWV")).unwrap();
    assert_eq!(po.profile, PaoProfile::Poswv);
    let d = &po.dossier;
    assert_eq!(d.pupil.name.surname, "Berg");
    assert_eq!(d.pupil.name.first_names.len(), 4);
    assert_eq!(d.pupil.birth_date, date!(2003 - 03 - 17));
    assert_eq!(d.school.brin, "00YY");
    assert_eq!(d.guardians.len(), 5);
    assert_eq!(d.career.len(), 10);
    assert!(d.support.needs.is_some());
    assert_eq!(d.support.diagnoses.len(), 2);
    assert_eq!(d.support.tlvs[0].category, TlvCategory::Low);
    assert!(d.support.opp.as_ref().unwrap().documents.len() == 2);
    assert_eq!(d.attachments.len(), 2);
    // The attachments are decoded: each is a zip file.
    assert!(d.attachments.iter().all(|a| a.content.starts_with(b"PK")));
    assert_eq!(d.inzage.as_ref().unwrap().agreed, Some(Answer::No));
    let names: Vec<&str> = d.records.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"toetslijst") && names.contains(&"voorschools"));

    let vo = import(&example("VOSWV")).unwrap();
    assert_eq!(vo.profile, PaoProfile::Voswv);
    assert!(vo.dossier.support.lwoo.is_some());
    assert!(vo.dossier.support.rvc.is_some());
    let names: Vec<&str> = vo.dossier.records.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"eindtoets_basisonderwijs") && names.contains(&"stage"));
}

#[test]
fn the_examples_export_again_and_read_back_the_same() {
    for (code, profile) in [("POSWV", PaoProfile::Poswv), ("VOSWV", PaoProfile::Voswv)] {
        let first = import(&example(code)).unwrap();
        let out = export(&first.dossier, profile).unwrap();
        let again = import(out.as_bytes()).unwrap();
        assert_eq!(again, first, "{code}");
    }
}

#[test]
fn a_vo_dossier_exported_as_po_leaves_out_what_po_forbids() {
    let vo = import(&example("VOSWV")).unwrap().dossier;
    let out = export(&vo, PaoProfile::Poswv).unwrap();
    for gone in [
        "<eindtoets_basisonderwijs>",
        "<stage>",
        "<resultaatvakkenvo>",
    ] {
        assert!(!out.contains(gone), "{gone}");
    }
    assert!(out.contains("<cat_eindtoetsbo>VERBODEN</cat_eindtoetsbo>"));
    assert!(out.contains("<cat_vombo>VERBODEN</cat_vombo>"));
    let po = import(&example("POSWV")).unwrap().dossier;
    let out = export(&po, PaoProfile::Voswv).unwrap();
    assert!(!out.contains("<voorschools>") && !out.contains("<vroegschools>"));
    assert!(out.contains("<cat_vve>VERBODEN</cat_vve>"));
}

#[test]
fn secret_addresses_and_contacts_do_not_leave() {
    let mut d = import(&example("POSWV")).unwrap().dossier;
    d.pupil.address_secret = true;
    d.pupil.contacts[1].secret = Some(true);
    let real = d.pupil.contacts[1].value.clone();
    let out = export(&d, PaoProfile::Poswv).unwrap();
    let back = import(out.as_bytes()).unwrap().dossier;
    assert!(back.pupil.addresses.is_empty() && back.pupil.abroad.is_empty());
    assert_eq!(back.pupil.contacts[1].value, "9999999999");
    assert!(!out.contains(&real));
}

#[test]
fn records_carenet_does_not_know_are_never_written() {
    let mut d = import(&example("POSWV")).unwrap().dossier;
    d.records
        .push(crate::xml::Element::leaf("bsn", "123456782"));
    let out = export(&d, PaoProfile::Poswv).unwrap();
    assert!(!out.contains("<bsn>") && !out.contains("123456782"));
}

#[test]
fn files_breaking_a_pao_rule_are_refused_naming_element_line_and_rule() {
    let text = example_text("POSWV");
    let after_birth = |extra: &str| {
        text.replace(
            "<geboortedatum>2003-03-17</geboortedatum>",
            &format!("<geboortedatum>2003-03-17</geboortedatum>{extra}"),
        )
    };
    let line = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let id = line("<leerlingid>");
    let cases: Vec<(String, String)> = vec![
        (
            text.replace(
                "<leerlingid>",
                "<bsn>123456782</bsn><leerlingid>",
            ),
            format!("<bsn> at line {id}: forbidden in an SWV dossier POSWV (rule PaO.LL12)"),
        ),
        (
            text.replace(
                "<leerlingid>",
                "<onderwijsnummer>112345678</onderwijsnummer><leerlingid>",
            ),
            format!("<onderwijsnummer> at line {id}"),
        ),
        (
            text.replace(
                "<leerlingid>",
                "<nationaliteit>0001</nationaliteit><leerlingid>",
            ),
            "PaO.LL11".to_owned(),
        ),
        (
            text.replace("<overstap>POSWV</overstap>", "<overstap>POVO</overstap>"),
            format!("<overstap> at line {}", line("<overstap>")),
        ),
        (
            text.replace("swv-dossier</overdrachtsoort>", "overstapdossier</overdrachtsoort>"),
            format!("<overdrachtsoort> at line {}", line("<overdrachtsoort>")),
        ),
        (
            // The file allows the category; the profile does not.
            text.replace("<cat_eindtoetsbo>VERBODEN", "<cat_eindtoetsbo>OPTIONEEL")
                .replace(
                    "<leerlinggewicht>",
                    "<eindtoets_basisonderwijs><deelgenomen>false</deelgenomen></eindtoets_basisonderwijs><leerlinggewicht>",
                ),
            "PaO.EB01".to_owned(),
        ),
        (
            text.replace("<validatieversie>2019.1.1", "<validatieversie>2018.1.1"),
            format!("<validatieversie> at line {}", line("<validatieversie>")),
        ),
        (after_birth("<geboorteplaats>x</geboorteplaats>"), "PaO.LL10".to_owned()),
        (
            text.replace("<geboortedatum>2003-03-17</geboortedatum>", ""),
            "<geboortedatum> at line".to_owned(),
        ),
        (
            text.replace("<tlvcategorie>L</tlvcategorie>", "<tlvcategorie>Zwaar</tlvcategorie>"),
            "<tlvcategorie> at line".to_owned(),
        ),
        (
            text.replace("<opp_ingangdatum>", "<opp_ingangsdatum>")
                .replace("</opp_ingangdatum>", "</opp_ingangsdatum>"),
            "<opp_ingangdatum> at line".to_owned(),
        ),
        (
            text.replace("<opp_einddatum>", "<schoenmaat>42</schoenmaat><opp_einddatum>"),
            "<schoenmaat> at line".to_owned(),
        ),
    ];
    for (bad, expect) in cases {
        let e = import(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(&expect), "{expect:?} not in {e:?}");
        assert!(e.contains("line"), "{e}");
        assert!(!e.contains("Berg") && !e.contains("123456782"), "{e}");
    }
}

#[test]
fn an_export_missing_what_the_profile_requires_is_refused() {
    let mut d = import(&example("POSWV")).unwrap().dossier;
    d.career.clear();
    let e = export(&d, PaoProfile::Poswv).unwrap_err().to_string();
    assert!(
        e.contains("schoolloopbaanlijst") && e.contains("PaO.SL01"),
        "{e}"
    );
    let mut d = import(&example("POSWV")).unwrap().dossier;
    d.pupil.name.first_names.clear();
    let e = export(&d, PaoProfile::Poswv).unwrap_err().to_string();
    assert!(e.contains("voornaam") && e.contains("PaO.LL01"), "{e}");
}

#[test]
fn a_twenty_megabyte_dossier_exports_and_imports() {
    // Attachments as scanned reports: 20 MB of content in four files. The
    // whole path is linear (a quadratic step would take minutes here).
    let mut d = import(&example("VOSWV")).unwrap().dossier;
    let mut rng = fastrand::Rng::with_seed(20);
    d.attachments = (0..4)
        .map(|i| Document {
            file_name: format!("verslag-{i}.pdf"),
            description: Some("Onderzoeksverslag".to_owned()),
            content: (0..5 * 1024 * 1024).map(|_| rng.u8(..)).collect(),
        })
        .collect();
    let out = export(&d, PaoProfile::Voswv).unwrap();
    assert!(out.len() > 26 * 1024 * 1024, "{}", out.len());
    let back = import(out.as_bytes()).unwrap();
    assert_eq!(back.dossier, d);
}

#[test]
fn the_summary_counts_without_naming_anyone() {
    let d = import(&example("POSWV")).unwrap().dossier;
    let s = d.summary();
    assert_eq!((s.guardians, s.school_years, s.action_plans), (5, 10, 1));
    assert_eq!(s.documents, d.documents().len());
    // needs, 2 diagnoses' documents, the plan's, 2 of the OPP, the TLV's, 2 attachments
    assert_eq!(s.documents, 9);
    let text = s.to_string();
    assert!(text.starts_with("5 guardians, 10 school years"), "{text}");
    assert!(
        !text.contains("Berg") && !text.contains("Testschool"),
        "{text}"
    );
    assert_eq!(
        PaoProfile::for_party(carenet_fabric::PartyKind::VoSchool),
        Some(PaoProfile::Voswv)
    );
    assert_eq!(PaoProfile::for_party(carenet_fabric::PartyKind::Swv), None);
}

#[test]
fn dates_with_a_time_zone_are_read_as_their_day() {
    let text = example_text("POSWV")
        .replace(
            "<geboortedatum>2003-03-17<",
            "<geboortedatum>2003-03-17+01:00<",
        )
        .replace("<datum>2016-01-02<", "<datum>2016-01-02Z<");
    let d = import(text.as_bytes()).unwrap().dossier;
    assert_eq!(d.pupil.birth_date, date!(2003 - 03 - 17));
    assert_eq!(d.written.date, date!(2016 - 01 - 02));
    for bad in [
        "2003-03-17+1",
        "2003-03-17T10:00:00",
        "2003-3-17",
        "17-03-2003",
    ] {
        let text = example_text("POSWV").replace(
            "<geboortedatum>2003-03-17<",
            &format!("<geboortedatum>{bad}<"),
        );
        let e = import(text.as_bytes()).unwrap_err().to_string();
        assert!(
            e.contains("<geboortedatum> at line") && e.contains("a date"),
            "{bad}: {e}"
        );
    }
}

#[test]
fn no_input_makes_the_swv_importer_panic() {
    // Mutated real SWV dossiers: truncations, byte flips, duplicated and
    // deleted spans. Import may refuse, never panic; what it reads exports.
    let seeds = [example("POSWV"), example("VOSWV")];
    let mut rng = fastrand::Rng::with_seed(0x5357_5632);
    for _ in 0..600 {
        let mut b = seeds[rng.usize(..seeds.len())].clone();
        for _ in 0..rng.usize(1..5) {
            let i = rng.usize(..b.len());
            match rng.u8(..4) {
                0 => b.truncate(i),
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
        if let Ok(read) = import(&b) {
            let _ = export(&read.dossier, read.profile);
        }
    }
}

#[test]
fn values_of_the_wrong_form_are_refused_both_ways() {
    let text = example_text("POSWV");
    for (bad, expect) in [
        (
            text.replacen("<brincode>00YY</brincode>", "<brincode>00yy</brincode>", 1),
            "<brincode> at line 83: must be a BRIN",
        ),
        (
            text.replacen("<soort>telefoon</soort>", "<soort>fax</soort>", 1),
            "<soort> at line",
        ),
        (
            text.replacen("<code>", "<code>F99.9</code><code>", 1),
            "<code> at line",
        ),
        (
            text.replacen(">leerling@leerling.nl<", ">leerling.nl<", 1),
            "<nummer> at line",
        ),
        (
            text.replacen("<jaargroep>8</jaargroep>", "<jaargroep>9</jaargroep>", 1),
            "<jaargroep> at line",
        ),
    ] {
        let e = import(bad.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(expect), "{expect:?} not in {e:?}");
    }
    let mut d = import(text.as_bytes()).unwrap().dossier;
    d.school.brin = "Regenboog".to_owned();
    let e = export(&d, PaoProfile::Poswv).unwrap_err().to_string();
    assert!(e.contains("<brincode>") && e.contains("a BRIN"), "{e}");
    assert!(!e.contains("Regenboog") && !e.contains("line 0"), "{e}");
    let mut d = import(text.as_bytes()).unwrap().dossier;
    d.attachments[0].file_name = " ".to_owned();
    let e = export(&d, PaoProfile::Poswv).unwrap_err().to_string();
    assert!(
        e.contains("<bestandsnaam>") && e.contains("not empty"),
        "{e}"
    );
    // The doctor's called name and sex are left out, not refused (OG.05).
    let mut d = import(text.as_bytes()).unwrap().dossier;
    let doctor = d.pupil.doctor.as_mut().unwrap();
    doctor.sex = Some("2".to_owned());
    doctor.name.called = Some("Ben".to_owned());
    let out = export(&d, PaoProfile::Poswv).unwrap();
    assert!(!out.contains("<roepnaam>Ben</roepnaam>"));
}

#[test]
fn a_file_with_a_byte_order_mark_is_read() {
    // Windows systems often write one before the XML declaration.
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(example("VOSWV"));
    assert_eq!(import(&bytes).unwrap(), import(&example("VOSWV")).unwrap());
    let e = import(b"\xFF\xFE<dossier/>").unwrap_err().to_string();
    assert!(e.contains("not UTF-8") && e.contains("line 1"), "{e}");
}
