//! [`SwvDossier`] into the element tree of an OSO SWV dossier, in the XSD's
//! order, leaving out what the profile forbids (see the module above).

use std::collections::BTreeSet;

use base64::Engine as _;
use carenet_consent::Category;
use time::Date;

use super::read::DATE;
use super::*;
use crate::oso::Delivery;

/// The children of `leerling` in the order of the XSD's `leerlingType`.
const PUPIL_ORDER: &[&str] = &[
    "voornaam",
    "voorletters-1",
    "voorvoegsel",
    "achternaam",
    "roepnaam",
    "geboortedatum",
    "geboortemaand",
    "geslacht",
    "adresgeheim",
    "adreslijst",
    "postcode4adres",
    "communicatielijst",
    "gba",
    "adresbuitenland",
    "geboorteplaats",
    "nationaliteit",
    "onderwijsnummer",
    "bsn",
    "leerlingid",
    "onderwijssinds",
    "startdatumhuidigonderwijs",
    "datuminschrijving",
    "datumuitschrijving",
    "teruggeplaatstnaarbrin",
    "leerlinggewicht",
    "nnca",
    "tehuis",
    "huisarts",
    "verzorgersaansprakelijk",
    "aansprakelijkeinstelling",
    "overstapadvies",
    "vanpeuterspeelzaal",
    "naampeuterspeelzaal",
    "voorschools",
    "vroegschools",
    "schoolloopbaanlijst",
    "onderwijsondersteuning",
    "verzuim",
    "eindtoets_basisonderwijs",
    "toetslijst",
    "cijferlijstlijst",
    "overigdocumentlijst",
    "verzorger",
    "bevorderd",
    "examenresultaat",
    "resultaatvakkenvo",
    "certificaat",
    "competenties",
    "stage",
    "overigvombo",
];

/// An element under construction.
struct B(Element);

impl B {
    fn new(name: &str) -> Self {
        B(Element::new(name))
    }

    fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.0.children.push(Element::leaf(name, value));
        self
    }

    fn opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.text(name, v);
        }
        self
    }

    fn texts(&mut self, name: &str, values: &[String]) -> &mut Self {
        for v in values {
            self.text(name, v);
        }
        self
    }

    fn date(&mut self, name: &str, value: Date) -> &mut Self {
        let text = value.format(DATE).unwrap_or_else(|_| value.to_string());
        self.text(name, &text)
    }

    fn opt_date(&mut self, name: &str, value: Option<Date>) -> &mut Self {
        if let Some(d) = value {
            self.date(name, d);
        }
        self
    }

    fn boolean(&mut self, name: &str, value: bool) -> &mut Self {
        self.text(name, if value { "true" } else { "false" })
    }

    fn opt_boolean(&mut self, name: &str, value: Option<bool>) -> &mut Self {
        if let Some(b) = value {
            self.boolean(name, b);
        }
        self
    }

    fn child(&mut self, e: Element) -> &mut Self {
        self.0.children.push(e);
        self
    }

    /// `list` holding one `item` element each, when there is any.
    fn list<T>(&mut self, list: &str, items: &[T], item: impl Fn(&T) -> Element) -> &mut Self {
        if !items.is_empty() {
            let mut l = B::new(list);
            for i in items {
                l.child(item(i));
            }
            self.child(l.0);
        }
        self
    }

    fn document(&mut self, d: &Document) -> &mut Self {
        self.child(document(d))
    }

    fn opt_document(&mut self, d: Option<&Document>) -> &mut Self {
        if let Some(d) = d {
            self.document(d);
        }
        self
    }
}

fn document(d: &Document) -> Element {
    let mut b = B::new("document");
    b.text("bestandsnaam", &d.file_name)
        .opt("omschrijving", d.description.as_deref())
        .text(
            "bestandsinhoud",
            &base64::engine::general_purpose::STANDARD.encode(&d.content),
        );
    b.0
}

fn address(a: &Address) -> Element {
    let mut b = B::new("adres");
    b.text("soortadres", &a.kind)
        .text("straat", &a.street)
        .text("nummer", &a.number)
        .opt("toevoeging", a.addition.as_deref())
        .opt("aanduiding", a.designation.as_deref())
        .opt("locatieomschrijving", a.location.as_deref())
        .text("postcode", &a.postcode)
        .text("plaats", &a.place)
        .opt("gemeente", a.municipality.as_deref());
    if let Some(c) = &a.country {
        let mut land = Element::leaf("land", &c.code);
        if let Some(d) = &c.description {
            land.attributes.push(("omschrijving".to_owned(), d.clone()));
        }
        b.child(land);
    }
    b.0
}

/// A contact; a secret one carries the profile's placeholder (PaO.LL08).
fn contact(c: &Contact) -> Element {
    let value = match (c.secret, rules::secret_placeholder(&c.kind)) {
        (Some(true), Some(placeholder)) => placeholder,
        _ => c.value.as_str(),
    };
    let mut b = B::new("communicatie");
    b.text("soort", &c.kind)
        .opt("aanduiding", c.label.as_deref())
        .text("nummer", value)
        .opt_boolean("geheim", c.secret)
        .opt_boolean("noodnummer", c.emergency);
    b.0
}

fn name(b: &mut B, n: &Name) {
    b.texts("voornaam", &n.first_names)
        .opt("voorletters-1", n.initials.as_deref())
        .opt("voorvoegsel", n.prefix.as_deref())
        .text("achternaam", &n.surname)
        .opt("roepnaam", n.called.as_deref());
}

/// A person's fields; a secret address is left out (PaO.OV03).
fn person_fields(b: &mut B, p: &Person) {
    name(b, &p.name);
    b.opt("geslacht", p.sex.as_deref())
        .opt_boolean("adresgeheim", p.address_secret);
    if p.address_secret != Some(true) {
        b.list("adreslijst", &p.addresses, address);
    }
    b.list("communicatielijst", &p.contacts, contact);
}

fn person(element: &str, p: &Person) -> Element {
    let mut b = B::new(element);
    person_fields(&mut b, p);
    b.0
}

fn institution(i: &Institution) -> Element {
    let mut b = B::new("aansprakelijkeinstelling");
    b.text("naam", &i.name)
        .list("adreslijst", &i.addresses, address)
        .list("communicatielijst", &i.contacts, contact);
    b.0
}

fn guardian(g: &Guardian) -> Element {
    let mut b = B::new("verzorger");
    person_fields(&mut b, &g.person);
    b.opt("relatietotkind", g.relation.as_deref())
        .opt_boolean("overleden", g.deceased)
        .opt_date("overlijdensdatum", g.deceased_on)
        .boolean("wettigevertegenwoordiger", g.legal_representative);
    b.0
}

fn school_year(y: &SchoolYear) -> Element {
    let mut b = B::new("schoolloopbaan");
    b.text("schooljaar", &y.year)
        .text("groepscode", &y.group_code)
        .opt("groepsnaam", y.group_name.as_deref())
        .text("jaargroep", &y.grade)
        .opt_date("begindatum", y.start)
        .opt_date("einddatum", y.end)
        .text("brincode", &y.brin)
        .text("vestigingscode", &y.location_code)
        .opt("schoolsoort", y.school_kind.as_deref())
        .opt("schooltype", y.school_type.as_deref())
        .opt("voelementcode", y.vo_element_code.as_deref())
        .opt("voelementomschrijving", y.vo_element.as_deref())
        .opt(
            "schoolsoortomschrijving",
            y.school_kind_description.as_deref(),
        );
    b.0
}

fn support(s: &Support) -> Option<Element> {
    let mut b = B::new("onderwijsondersteuning");
    if let Some(d) = &s.needs {
        let mut t = B::new("toelichting_onderwijsbehoeften");
        t.document(d);
        b.child(t.0);
    }
    for d in &s.diagnoses {
        let mut e = B::new("diagnose");
        e.texts("code", &d.codes)
            .opt("naam", d.name.as_deref())
            .opt_date("datum", d.date)
            .opt("doorwie", d.by.as_deref())
            .opt("instantie", d.institution.as_deref());
        for doc in &d.documents {
            e.document(doc);
        }
        b.child(e.0);
    }
    b.opt_boolean("medicijngebruik", s.medication);
    for p in &s.action_plans {
        let mut e = B::new("handelingsplan");
        e.date("startdatum", p.start)
            .opt_date("einddatum", p.end)
            .text("isgerichtop", &p.aimed_at)
            .opt_document(p.document.as_ref());
        b.child(e.0);
    }
    if let Some(o) = &s.opp {
        let mut e = B::new("opp");
        e.date("opp_ingangdatum", o.start)
            .opt_date("opp_einddatum", o.end);
        for doc in &o.documents {
            e.document(doc);
        }
        b.child(e.0);
    }
    for t in &s.tlvs {
        let mut e = B::new("tlv");
        e.date("tlvingangdatum", t.start)
            .text("tlvswvnummer", &t.swv_number)
            .text("tlvcategorie", t.category.code())
            .text("tlvbeschikkingsnummer", &t.decision_number)
            .opt_date("tlveinddatum", t.end)
            .opt_document(t.document.as_ref());
        b.child(e.0);
    }
    for a in &s.cluster12 {
        let mut e = B::new("arrangement_cluster12");
        e.date("arrangement_datum", a.date)
            .opt("arrangement_brin", a.brin.as_deref())
            .opt("arrangement_vestigingscode", a.location_code.as_deref());
        b.child(e.0);
    }
    for a in &s.arrangements {
        let mut e = B::new("arrangement_pao");
        e.date("arrangement_datum", a.date)
            .opt("arrangement_kenmerk", a.reference.as_deref())
            .opt("arrangement_beschikkingsnr", a.decision_number.as_deref())
            .opt_date("arrangement_einddatum", a.end);
        b.child(e.0);
    }
    if let Some(l) = &s.lwoo {
        let mut e = B::new("lwoo");
        e.date("lwoo_ingangdatum", l.start)
            .text("lwoo_swvnummer", &l.swv_number)
            .text("lwoo_beschikkingsnummer", &l.decision_number)
            .opt_date("lwoo_einddatum", l.end)
            .opt_document(l.document.as_ref());
        b.child(e.0);
    }
    if let Some(r) = &s.rvc {
        let mut e = B::new("rvc");
        let mut signal = B::new("signaleringlwoopro");
        signal
            .boolean("deelgenomenaanonderzoek", r.took_part_in_research)
            .boolean("leerachterstand", r.learning_delay)
            .boolean("lagescoreeindtoets", r.low_exit_test_score);
        e.opt("centraleproblematiek", r.central_problem.as_deref())
            .opt("maatregelen", r.measures.as_deref())
            .child(signal.0)
            .opt_date("rvcdatum", r.date)
            .opt("rvcindicatie", r.indication.as_deref());
        for doc in &r.documents {
            e.document(doc);
        }
        b.child(e.0);
    }
    (!b.0.children.is_empty()).then_some(b.0)
}

fn pupil(d: &SwvDossier, profile: PaoProfile) -> Element {
    let p = &d.pupil;
    let mut b = B::new("leerling");
    name(&mut b, &p.name);
    b.date("geboortedatum", p.birth_date)
        .opt("geslacht", p.sex.as_deref())
        .boolean("adresgeheim", p.address_secret);
    // A secret address is left out (PaO.LL06, LL09).
    if !p.address_secret {
        b.list("adreslijst", &p.addresses, address);
    }
    b.list("communicatielijst", &p.contacts, contact);
    if !p.address_secret {
        b.texts("adresbuitenland", &p.abroad);
    }
    b.opt("leerlingid", p.school_ref.as_deref())
        .opt_date("onderwijssinds", p.in_education_since)
        .opt_date("startdatumhuidigonderwijs", p.current_education_since)
        .opt_date("datuminschrijving", p.enrolled)
        .opt_date("datumuitschrijving", p.unenrolled)
        .opt("teruggeplaatstnaarbrin", p.returned_to_brin.as_deref())
        .opt("leerlinggewicht", p.weight.as_deref())
        .opt("nnca", p.nnca.as_deref())
        .opt_boolean("tehuis", p.care_home);
    if let Some(doctor) = &p.doctor {
        // No called name, sex or secret address for a doctor (OG.05).
        let mut doctor = doctor.clone();
        doctor.name.called = None;
        doctor.sex = None;
        if doctor.address_secret == Some(true) {
            doctor.address_secret = None;
            doctor.addresses.clear();
        }
        b.child(person("huisarts", &doctor));
    }
    b.opt_boolean("verzorgersaansprakelijk", p.guardians_liable);
    if let Some(i) = &p.liable_institution {
        b.child(institution(i));
    }
    b.list("schoolloopbaanlijst", &d.career, school_year);
    if let Some(s) = support(&d.support) {
        b.child(s);
    }
    b.list("overigdocumentlijst", &d.attachments, document);
    for g in &d.guardians {
        b.child(guardian(g));
    }
    // The records the profile allows, each at its place in the XSD's order.
    for r in &d.records {
        if RECORDS.contains(&r.name.as_str())
            && rules::forbidden_for_pupil(&r.name, profile).is_none()
        {
            b.child(r.clone());
        }
    }
    let rank = |e: &Element| {
        PUPIL_ORDER
            .iter()
            .position(|n| *n == e.name)
            .unwrap_or(PUPIL_ORDER.len())
    };
    b.0.children.sort_by_key(rank);
    b.0
}

fn school(s: &School, pupil: Element) -> Element {
    let mut b = B::new("huidigeschool");
    b.text("naam", &s.name)
        .list("adreslijst", &s.addresses, address)
        .list("communicatielijst", &s.contacts, contact)
        .text("brincode", &s.brin)
        .text("vestigingscode", &s.location_code)
        .text("aanleverpunt", &s.delivery_point)
        .opt("soort", s.kind.as_deref())
        .opt("type", s.school_type.as_deref())
        .opt("naamdirecteur", s.head.as_deref())
        .opt("website", s.website.as_deref())
        .child(pupil);
    b.0
}

/// The categories a profile forbids (the blocks its rules name).
fn forbidden_categories(profile: PaoProfile) -> &'static [Category] {
    match profile {
        PaoProfile::Poswv => &[Category::ExitTest, Category::PreviousSecondary],
        PaoProfile::Voswv => &[Category::EarlyEducation],
    }
}

/// `categorie_uitlevering` for what the dossier holds: the blocks the
/// profile requires VERPLICHT, the categories it forbids VERBODEN, the rest
/// OPTIONEEL (with or without data).
fn delivery(root: &Element, profile: PaoProfile) -> Element {
    let present: BTreeSet<Category> = crate::oso::parts(root)
        .map(|parts| parts.into_iter().map(|(c, _, _)| c).collect())
        .unwrap_or_default();
    let mut b = B::new("categorie_uitlevering");
    for c in Category::all() {
        let Some(element) = c.oso_element() else {
            continue;
        };
        let code = if forbidden_categories(profile).contains(&c) && !present.contains(&c) {
            Delivery::Forbidden
        } else if present.contains(&c)
            && matches!(
                c,
                Category::Metadata | Category::School | Category::Pupil | Category::SchoolCareer
            )
        {
            Delivery::Required
        } else {
            Delivery::Optional
        };
        b.text(element, code.code());
    }
    b.0
}

/// The whole `dossier` element.
pub(super) fn dossier(d: &SwvDossier, profile: PaoProfile) -> Element {
    let pupil = pupil(d, profile);
    let lvs = pupil.child("toetslijst").is_some();
    let mut root = B::new("dossier");
    // metadata first, its categorie_uitlevering filled in below
    let mut meta = B::new("metadata");
    meta.text("deeldossier", if lvs { "LASLVS" } else { "LAS" })
        .text("pakketnaam", &d.written.package)
        .text("pakketversie", &d.written.version)
        .date("datum", d.written.date)
        .text("standaardversie", "2019.1")
        .text("validatieversie", "2019.1.1")
        .child(Element::new("categorie_uitlevering"))
        .text("overstap", profile.code());
    root.child(meta.0).text("overdrachtsoort", KIND);
    if let Some(i) = &d.inzage {
        let mut e = B::new("inzage");
        e.boolean("voorlopigdossier", i.provisional)
            .opt_boolean("inzage", i.seen)
            .opt_date("inzagedatum", i.date)
            .opt("akkoord", i.agreed.map(Answer::code))
            .opt("redennietakkoord", i.reason_not_agreed.as_deref())
            .opt("toestemming", i.consent.map(Answer::code));
        root.child(e.0);
    }
    root.child(school(&d.school, pupil));
    let mut root = root.0;
    let codes = delivery(&root, profile);
    if let Some(slot) = root
        .child_mut("metadata")
        .and_then(|m| m.child_mut("categorie_uitlevering"))
    {
        *slot = codes;
    }
    root
}

/// About how many bytes the file will take: the attachments' base64 and
/// some room for the rest, so the output is allocated once.
pub(super) fn size_hint(d: &SwvDossier) -> usize {
    let docs = |v: &[Document]| v.iter().map(|x| x.content.len()).sum::<usize>();
    let s = &d.support;
    let bytes = docs(&d.attachments)
        + s.needs.as_ref().map_or(0, |x| x.content.len())
        + s.diagnoses
            .iter()
            .map(|x| docs(&x.documents))
            .sum::<usize>()
        + s.action_plans
            .iter()
            .filter_map(|p| p.document.as_ref())
            .map(|x| x.content.len())
            .sum::<usize>()
        + s.opp.as_ref().map_or(0, |o| docs(&o.documents));
    bytes / 3 * 4 + 64 * 1024
}
