//! An SWV dossier's element tree into [`SwvDossier`]. Every child of a
//! block is read or refused: an element the block does not have is named
//! with its line rather than dropped. Values are checked for the form the
//! XSD gives them (dates, booleans, base64).

use base64::Engine as _;
use time::Date;

use super::*;
use crate::{Error, OsoProblem, PaoProblem, Result};

/// The children of one element, each to be taken once.
struct Fields<'a> {
    e: &'a Element,
    taken: Vec<bool>,
}

impl<'a> Fields<'a> {
    fn new(e: &'a Element) -> Self {
        Self {
            e,
            taken: vec![false; e.children.len()],
        }
    }

    /// Every child `name`, in order.
    fn all(&mut self, name: &str) -> Vec<&'a Element> {
        let mut out = Vec::new();
        for (i, c) in self.e.children.iter().enumerate() {
            if !self.taken[i] && c.name == name {
                self.taken[i] = true;
                out.push(c);
            }
        }
        out
    }

    /// The first child `name` not taken yet.
    fn one(&mut self, name: &str) -> Option<&'a Element> {
        let i = self
            .e
            .children
            .iter()
            .enumerate()
            .position(|(i, c)| !self.taken[i] && c.name == name)?;
        self.taken[i] = true;
        Some(&self.e.children[i])
    }

    fn must(&mut self, name: &str) -> Result<&'a Element> {
        self.one(name)
            .ok_or_else(|| Error::xml(name, self.e.line, OsoProblem::MissingBlock))
    }

    fn text(&mut self, name: &str) -> Result<Option<String>> {
        self.one(name).map(leaf).transpose()
    }

    fn required(&mut self, name: &str) -> Result<String> {
        leaf(self.must(name)?)
    }

    fn texts(&mut self, name: &str) -> Result<Vec<String>> {
        self.all(name).into_iter().map(leaf).collect()
    }

    fn date(&mut self, name: &str) -> Result<Option<Date>> {
        self.one(name).map(date).transpose()
    }

    fn required_date(&mut self, name: &str) -> Result<Date> {
        date(self.must(name)?)
    }

    fn boolean(&mut self, name: &str) -> Result<Option<bool>> {
        self.one(name).map(boolean).transpose()
    }

    fn required_boolean(&mut self, name: &str) -> Result<bool> {
        boolean(self.must(name)?)
    }

    fn documents(&mut self, name: &str) -> Result<Vec<Document>> {
        self.all(name).into_iter().map(document).collect()
    }

    fn document(&mut self) -> Result<Option<Document>> {
        self.one("document").map(document).transpose()
    }

    /// Refuses the first child nobody took.
    fn done(self) -> Result<()> {
        match self.e.children.iter().zip(&self.taken).find(|(_, t)| !**t) {
            Some((c, _)) => Err(Error::pao(&c.name, c.line, PaoProblem::Unexpected)),
            None => Ok(()),
        }
    }
}

fn leaf(e: &Element) -> Result<String> {
    if !e.children.is_empty() {
        return Err(Error::pao(
            &e.name,
            e.line,
            PaoProblem::BadValue {
                expected: "a value, not a block",
            },
        ));
    }
    match &e.text {
        Some(t) if !t.trim().is_empty() => Ok(t.clone()),
        _ => Err(Error::pao(
            &e.name,
            e.line,
            PaoProblem::BadValue {
                expected: "a value that is not empty",
            },
        )),
    }
}

pub(super) const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// An `xs:date`. A time zone (`Z`, `+01:00`) is allowed and dropped: a
/// date in a dossier is a calendar day.
fn date(e: &Element) -> Result<Date> {
    let text = leaf(e)?;
    let text = text.trim();
    let day = text.get(..10).filter(|_| {
        let zone = &text[10..];
        zone.is_empty()
            || zone == "Z"
            || (zone.len() == 6
                && zone.starts_with(['+', '-'])
                && zone.as_bytes()[3] == b':'
                && zone[1..3]
                    .bytes()
                    .chain(zone[4..].bytes())
                    .all(|b| b.is_ascii_digit()))
    });
    day.and_then(|d| Date::parse(d, DATE).ok()).ok_or_else(|| {
        Error::pao(
            &e.name,
            e.line,
            PaoProblem::BadValue {
                expected: "a date (YYYY-MM-DD)",
            },
        )
    })
}

fn boolean(e: &Element) -> Result<bool> {
    match leaf(e)?.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::pao(
            &e.name,
            e.line,
            PaoProblem::BadValue {
                expected: "true or false",
            },
        )),
    }
}

/// A `document`; its content is base64, which may be wrapped over lines.
fn document(e: &Element) -> Result<Document> {
    let mut f = Fields::new(e);
    let file_name = f.required("bestandsnaam")?;
    let description = f.text("omschrijving")?;
    let content_element = f.must("bestandsinhoud")?;
    f.done()?;
    let raw = leaf(content_element)?;
    let content = if raw.bytes().any(|b| b.is_ascii_whitespace()) {
        let packed: Vec<u8> = raw.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(packed)
    } else {
        base64::engine::general_purpose::STANDARD.decode(raw.as_bytes())
    }
    .map_err(|_| {
        Error::pao(
            "bestandsinhoud",
            content_element.line,
            PaoProblem::BadValue { expected: "base64" },
        )
    })?;
    Ok(Document {
        file_name,
        description,
        content,
    })
}

fn list<T>(
    f: &mut Fields<'_>,
    list: &str,
    item: &str,
    read: impl Fn(&Element) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for l in f.all(list) {
        let mut items = Fields::new(l);
        for e in items.all(item) {
            out.push(read(e)?);
        }
        items.done()?;
    }
    Ok(out)
}

fn address(e: &Element) -> Result<Address> {
    let mut f = Fields::new(e);
    let a = Address {
        kind: f.required("soortadres")?,
        street: f.required("straat")?,
        number: f.required("nummer")?,
        addition: f.text("toevoeging")?,
        designation: f.text("aanduiding")?,
        location: f.text("locatieomschrijving")?,
        postcode: f.required("postcode")?,
        place: f.required("plaats")?,
        municipality: f.text("gemeente")?,
        country: f
            .one("land")
            .map(|l| -> Result<Country> {
                Ok(Country {
                    code: leaf(l)?,
                    description: l
                        .attributes
                        .iter()
                        .find(|(k, _)| k == "omschrijving")
                        .map(|(_, v)| v.clone()),
                })
            })
            .transpose()?,
    };
    f.done()?;
    Ok(a)
}

fn contact(e: &Element) -> Result<Contact> {
    let mut f = Fields::new(e);
    let c = Contact {
        kind: f.required("soort")?,
        label: f.text("aanduiding")?,
        value: f.required("nummer")?,
        secret: f.boolean("geheim")?,
        emergency: f.boolean("noodnummer")?,
    };
    f.done()?;
    Ok(c)
}

fn addresses(f: &mut Fields<'_>) -> Result<Vec<Address>> {
    list(f, "adreslijst", "adres", address)
}

fn contacts(f: &mut Fields<'_>) -> Result<Vec<Contact>> {
    list(f, "communicatielijst", "communicatie", contact)
}

fn name(f: &mut Fields<'_>) -> Result<Name> {
    Ok(Name {
        first_names: f.texts("voornaam")?,
        initials: f.text("voorletters-1")?,
        prefix: f.text("voorvoegsel")?,
        surname: f.required("achternaam")?,
        called: f.text("roepnaam")?,
    })
}

fn person_fields(f: &mut Fields<'_>) -> Result<Person> {
    Ok(Person {
        name: name(f)?,
        sex: f.text("geslacht")?,
        address_secret: f.boolean("adresgeheim")?,
        addresses: addresses(f)?,
        contacts: contacts(f)?,
    })
}

fn person(e: &Element) -> Result<Person> {
    let mut f = Fields::new(e);
    let p = person_fields(&mut f)?;
    f.done()?;
    Ok(p)
}

fn institution(e: &Element) -> Result<Institution> {
    let mut f = Fields::new(e);
    let i = Institution {
        name: f.required("naam")?,
        addresses: addresses(&mut f)?,
        contacts: contacts(&mut f)?,
    };
    f.done()?;
    Ok(i)
}

fn guardian(e: &Element) -> Result<Guardian> {
    let mut f = Fields::new(e);
    let g = Guardian {
        person: person_fields(&mut f)?,
        relation: f.text("relatietotkind")?,
        deceased: f.boolean("overleden")?,
        deceased_on: f.date("overlijdensdatum")?,
        legal_representative: f.required_boolean("wettigevertegenwoordiger")?,
    };
    // Left out on purpose (see the module's doc).
    f.all("iban");
    f.done()?;
    Ok(g)
}

fn school_year(e: &Element) -> Result<SchoolYear> {
    let mut f = Fields::new(e);
    let y = SchoolYear {
        year: f.required("schooljaar")?,
        group_code: f.required("groepscode")?,
        group_name: f.text("groepsnaam")?,
        grade: f.required("jaargroep")?,
        start: f.date("begindatum")?,
        end: f.date("einddatum")?,
        brin: f.required("brincode")?,
        location_code: f.required("vestigingscode")?,
        school_kind: f.text("schoolsoort")?,
        school_type: f.text("schooltype")?,
        vo_element_code: f.text("voelementcode")?,
        vo_element: f.text("voelementomschrijving")?,
        school_kind_description: f.text("schoolsoortomschrijving")?,
    };
    f.done()?;
    Ok(y)
}

fn diagnosis(e: &Element) -> Result<Diagnosis> {
    let mut f = Fields::new(e);
    let d = Diagnosis {
        codes: f.texts("code")?,
        name: f.text("naam")?,
        date: f.date("datum")?,
        by: f.text("doorwie")?,
        institution: f.text("instantie")?,
        documents: f.documents("document")?,
    };
    if d.codes.is_empty() {
        return Err(Error::xml("code", e.line, OsoProblem::MissingBlock));
    }
    f.done()?;
    Ok(d)
}

fn action_plan(e: &Element) -> Result<ActionPlan> {
    let mut f = Fields::new(e);
    let p = ActionPlan {
        start: f.required_date("startdatum")?,
        end: f.date("einddatum")?,
        aimed_at: f.required("isgerichtop")?,
        document: f.document()?,
    };
    f.done()?;
    Ok(p)
}

fn support(e: &Element) -> Result<Support> {
    let mut f = Fields::new(e);
    let needs = match f.one("toelichting_onderwijsbehoeften") {
        Some(t) => {
            let mut tf = Fields::new(t);
            let d = document(tf.must("document")?)?;
            tf.done()?;
            Some(d)
        }
        None => None,
    };
    let s = Support {
        needs,
        diagnoses: f
            .all("diagnose")
            .into_iter()
            .map(diagnosis)
            .collect::<Result<_>>()?,
        medication: f.boolean("medicijngebruik")?,
        action_plans: f
            .all("handelingsplan")
            .into_iter()
            .map(action_plan)
            .collect::<Result<_>>()?,
        opp: f
            .one("opp")
            .map(|o| -> Result<Opp> {
                let mut f = Fields::new(o);
                let opp = Opp {
                    start: f.required_date("opp_ingangdatum")?,
                    end: f.date("opp_einddatum")?,
                    documents: f.documents("document")?,
                };
                f.done()?;
                Ok(opp)
            })
            .transpose()?,
        tlvs: f
            .all("tlv")
            .into_iter()
            .map(|t| -> Result<Tlv> {
                let mut f = Fields::new(t);
                let start = f.required_date("tlvingangdatum")?;
                let swv_number = f.required("tlvswvnummer")?;
                let c = f.must("tlvcategorie")?;
                let category = TlvCategory::parse(leaf(c)?.trim()).ok_or_else(|| {
                    Error::pao(
                        "tlvcategorie",
                        c.line,
                        PaoProblem::BadValue {
                            expected: "L, M, H or Nvt (codelist 31)",
                        },
                    )
                })?;
                let tlv = Tlv {
                    start,
                    swv_number,
                    category,
                    decision_number: f.required("tlvbeschikkingsnummer")?,
                    end: f.date("tlveinddatum")?,
                    document: f.document()?,
                };
                f.done()?;
                Ok(tlv)
            })
            .collect::<Result<_>>()?,
        cluster12: f
            .all("arrangement_cluster12")
            .into_iter()
            .map(|a| -> Result<Cluster12> {
                let mut f = Fields::new(a);
                let c = Cluster12 {
                    date: f.required_date("arrangement_datum")?,
                    brin: f.text("arrangement_brin")?,
                    location_code: f.text("arrangement_vestigingscode")?,
                };
                f.done()?;
                Ok(c)
            })
            .collect::<Result<_>>()?,
        arrangements: f
            .all("arrangement_pao")
            .into_iter()
            .map(|a| -> Result<Arrangement> {
                let mut f = Fields::new(a);
                let arr = Arrangement {
                    date: f.required_date("arrangement_datum")?,
                    reference: f.text("arrangement_kenmerk")?,
                    decision_number: f.text("arrangement_beschikkingsnr")?,
                    end: f.date("arrangement_einddatum")?,
                };
                f.done()?;
                Ok(arr)
            })
            .collect::<Result<_>>()?,
        lwoo: f
            .one("lwoo")
            .map(|l| -> Result<Lwoo> {
                let mut f = Fields::new(l);
                let lwoo = Lwoo {
                    start: f.required_date("lwoo_ingangdatum")?,
                    swv_number: f.required("lwoo_swvnummer")?,
                    decision_number: f.required("lwoo_beschikkingsnummer")?,
                    end: f.date("lwoo_einddatum")?,
                    document: f.document()?,
                };
                f.done()?;
                Ok(lwoo)
            })
            .transpose()?,
        rvc: f.one("rvc").map(rvc).transpose()?,
    };
    f.done()?;
    Ok(s)
}

fn rvc(e: &Element) -> Result<Rvc> {
    let mut f = Fields::new(e);
    let central_problem = f.text("centraleproblematiek")?;
    let measures = f.text("maatregelen")?;
    let signal = f.must("signaleringlwoopro")?;
    let mut s = Fields::new(signal);
    let took_part_in_research = s.required_boolean("deelgenomenaanonderzoek")?;
    let learning_delay = s.required_boolean("leerachterstand")?;
    let low_exit_test_score = s.required_boolean("lagescoreeindtoets")?;
    s.done()?;
    let r = Rvc {
        central_problem,
        measures,
        took_part_in_research,
        learning_delay,
        low_exit_test_score,
        date: f.date("rvcdatum")?,
        indication: f.text("rvcindicatie")?,
        documents: f.documents("document")?,
    };
    f.done()?;
    Ok(r)
}

/// A record kept as written, without its source lines (so that a dossier
/// read from a file equals one built in code).
fn record(e: &Element) -> Element {
    let mut r = e.clone();
    clear_lines(&mut r);
    r
}

fn clear_lines(e: &mut Element) {
    e.line = 0;
    for c in &mut e.children {
        clear_lines(c);
    }
}

fn school(e: &Element) -> Result<(School, &Element)> {
    let mut f = Fields::new(e);
    let s = School {
        name: f.required("naam")?,
        addresses: addresses(&mut f)?,
        contacts: contacts(&mut f)?,
        brin: f.required("brincode")?,
        location_code: f.required("vestigingscode")?,
        delivery_point: f.required("aanleverpunt")?,
        kind: f.text("soort")?,
        school_type: f.text("type")?,
        head: f.text("naamdirecteur")?,
        website: f.text("website")?,
    };
    let pupil = f.must("leerling")?;
    f.done()?;
    Ok((s, pupil))
}

/// Reads a dossier that passed the shared and the profile's checks.
pub(super) fn dossier(root: &Element) -> Result<SwvDossier> {
    let mut top = Fields::new(root);
    let metadata = top.must("metadata")?;
    top.must("overdrachtsoort")?;
    let inzage = top
        .one("inzage")
        .map(|i| -> Result<Inzage> {
            let mut f = Fields::new(i);
            let answer = |e: Option<&Element>| -> Result<Option<Answer>> {
                e.map(|e| {
                    Answer::parse(leaf(e)?.trim()).ok_or_else(|| {
                        Error::pao(
                            &e.name,
                            e.line,
                            PaoProblem::BadValue {
                                expected: "Ja, Nee or Onbekend (codelist 37)",
                            },
                        )
                    })
                })
                .transpose()
            };
            let inzage = Inzage {
                provisional: f.required_boolean("voorlopigdossier")?,
                seen: f.boolean("inzage")?,
                date: f.date("inzagedatum")?,
                agreed: answer(f.one("akkoord"))?,
                reason_not_agreed: f.text("redennietakkoord")?,
                consent: answer(f.one("toestemming"))?,
            };
            f.done()?;
            Ok(inzage)
        })
        .transpose()?;
    let (school, pupil_element) = school(top.must("huidigeschool")?)?;
    top.done()?;

    let mut m = Fields::new(metadata);
    m.must("deeldossier")?;
    let package = m.required("pakketnaam")?;
    let version = m.required("pakketversie")?;
    let written_on = m.required_date("datum")?;
    m.must("standaardversie")?;
    m.must("validatieversie")?;
    m.must("categorie_uitlevering")?;
    m.must("overstap")?;
    m.done()?;

    let mut p = Fields::new(pupil_element);
    let name = name(&mut p)?;
    let birth_date = p.required_date("geboortedatum")?;
    let sex = p.text("geslacht")?;
    let address_secret = p.required_boolean("adresgeheim")?;
    let pupil = Pupil {
        name,
        birth_date,
        sex,
        address_secret,
        addresses: addresses(&mut p)?,
        contacts: contacts(&mut p)?,
        abroad: p.texts("adresbuitenland")?,
        school_ref: p.text("leerlingid")?,
        in_education_since: p.date("onderwijssinds")?,
        current_education_since: p.date("startdatumhuidigonderwijs")?,
        enrolled: p.date("datuminschrijving")?,
        unenrolled: p.date("datumuitschrijving")?,
        returned_to_brin: p.text("teruggeplaatstnaarbrin")?,
        weight: p.text("leerlinggewicht")?,
        nnca: p.text("nnca")?,
        care_home: p.boolean("tehuis")?,
        doctor: p.one("huisarts").map(person).transpose()?,
        guardians_liable: p.boolean("verzorgersaansprakelijk")?,
        liable_institution: p
            .one("aansprakelijkeinstelling")
            .map(institution)
            .transpose()?,
    };
    let guardians = p
        .all("verzorger")
        .into_iter()
        .map(guardian)
        .collect::<Result<_>>()?;
    let career = list(&mut p, "schoolloopbaanlijst", "schoolloopbaan", school_year)?;
    let support = p
        .one("onderwijsondersteuning")
        .map(support)
        .transpose()?
        .unwrap_or_default();
    let attachments = list(&mut p, "overigdocumentlijst", "document", document)?;
    // The records, in document order.
    let mut records = Vec::new();
    for (i, c) in pupil_element.children.iter().enumerate() {
        if !p.taken[i] && RECORDS.contains(&c.name.as_str()) {
            p.taken[i] = true;
            records.push(record(c));
        }
    }
    p.done()?;
    Ok(SwvDossier {
        written: Written {
            package,
            version,
            date: written_on,
        },
        inzage,
        school,
        pupil,
        guardians,
        career,
        support,
        attachments,
        records,
    })
}
