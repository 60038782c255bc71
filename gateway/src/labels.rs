//! The words the UI uses for the slices' codes: purposes and data
//! categories in language a parent understands, states and statuses as
//! school staff say them (`docs/glossary.md`).

use carenet_consent::{Category, Purpose};
use carenet_fabric::PartyKind;

/// What a consent is for, in words a parent understands.
pub fn purpose(p: Purpose) -> &'static str {
    match p {
        Purpose::TransferDossier => {
            "Het overdrachtsdossier van uw kind naar de nieuwe school sturen"
        }
        Purpose::DiscussInIzo => {
            "Uw kind bespreken in het overleg met zorgpartners op school (IZO)"
        }
        Purpose::ReferToZat => "Uw kind aanmelden bij het zorg- en adviesteam (ZAT)",
        Purpose::ShareWithPartner => "Gegevens delen met een zorgpartner",
        Purpose::SupportRequest => "Extra ondersteuning aanvragen bij het samenwerkingsverband",
        Purpose::CaseMembership => "Meedoen aan één gezamenlijk plan voor uw kind",
        Purpose::FeedbackToSender => "Terugkoppeling aan de vorige school",
    }
}

/// A data category, in words a parent understands.
pub fn category(c: Category) -> &'static str {
    match c {
        Category::Metadata => "gegevens over het dossier zelf",
        Category::GuardianInspection => "of u het dossier hebt ingezien",
        Category::School => "de school",
        Category::Pupil => "naam, geboortedatum en adres van uw kind",
        Category::Guardians => "uw naam en contactgegevens",
        Category::EarlyEducation => "voor- en vroegschoolse educatie",
        Category::SchoolCareer => "de schoolloopbaan",
        Category::TransferAdvice => "het schooladvies",
        Category::EducationalSupport => "de extra ondersteuning op school",
        Category::Absence => "verzuim",
        Category::ExitTest => "de eindtoets",
        Category::TestResults => "toetsresultaten",
        Category::ActionPlans => "handelingsplannen",
        Category::GradeLists => "cijferlijsten",
        Category::PreviousSecondary => "de vorige middelbare school",
        Category::Attachments => "bijlagen",
        Category::CareHistory => "eerdere zorg en hulp",
        Category::Diagnosis => "diagnoses",
        Category::HomeSituation => "de thuissituatie",
        Category::ExternalCare => "hulp van buiten de school",
    }
}

/// A data category said to the pupil themself: the few whose words name
/// "uw kind" or "u" differ, the rest as [`category`].
pub fn category_for_pupil(c: Category) -> &'static str {
    match c {
        Category::GuardianInspection => "of het dossier is ingezien",
        Category::Pupil => "je naam, geboortedatum en adres",
        Category::Guardians => "de namen en contactgegevens van je ouders",
        other => category(other),
    }
}

/// [`categories`], said to the pupil themself.
pub fn categories_for_pupil(codes: &[String]) -> Vec<&'static str> {
    codes
        .iter()
        .filter_map(|c| Category::parse("category", c).ok())
        .map(category_for_pupil)
        .collect()
}

pub fn categories(codes: &[String]) -> Vec<&'static str> {
    codes
        .iter()
        .filter_map(|c| Category::parse("category", c).ok())
        .map(category)
        .collect()
}

pub fn purpose_code(code: &str) -> &'static str {
    Purpose::parse("purpose", code).map_or("onbekend doel", purpose)
}

/// What a consent is for, said to the pupil themself (from 16 the pupil
/// decides on the portal, ADR 0008).
pub fn purpose_for_pupil(p: Purpose) -> &'static str {
    match p {
        Purpose::TransferDossier => {
            "Je overdrachtsdossier naar je nieuwe school of opleiding sturen"
        }
        Purpose::DiscussInIzo => "Je bespreken in het overleg met zorgpartners op school (IZO)",
        Purpose::ReferToZat => "Je aanmelden bij het zorg- en adviesteam (ZAT)",
        Purpose::ShareWithPartner => "Je gegevens delen met een zorgpartner",
        Purpose::SupportRequest => {
            "Extra ondersteuning voor je aanvragen bij het samenwerkingsverband"
        }
        Purpose::CaseMembership => "Meedoen aan één gezamenlijk plan voor jou",
        Purpose::FeedbackToSender => "Terugkoppeling aan je vorige school",
    }
}

/// [`purpose_for_pupil`] of a stored purpose code.
pub fn purpose_code_for_pupil(code: &str) -> &'static str {
    Purpose::parse("purpose", code).map_or("onbekend doel", purpose_for_pupil)
}

pub fn kind(k: PartyKind) -> &'static str {
    match k {
        PartyKind::PoSchool => "basisschool",
        PartyKind::VoSchool => "middelbare school",
        PartyKind::Swv => "samenwerkingsverband",
        PartyKind::ZatPartner => "zorgpartner",
        PartyKind::Vervolg => "vervolgopleiding",
    }
}

/// "every party of kind `k`", with the right article: "elk
/// samenwerkingsverband" (a het-word), "elke basisschool".
pub fn every_kind(k: PartyKind) -> String {
    match k {
        PartyKind::Swv => format!("elk {}", kind(k)),
        _ => format!("elke {}", kind(k)),
    }
}

/// A data category as the heading of its part of a dossier, for school staff
/// (and, on the portal, the guardians): the OSO categories and carenet's care
/// categories.
pub fn category_heading(c: Category) -> &'static str {
    match c {
        Category::Metadata => "Over dit dossier",
        Category::GuardianInspection => "Inzage door de ouders",
        Category::School => "School van herkomst",
        Category::Pupil => "Leerling",
        Category::Guardians => "Ouders en verzorgers",
        Category::EarlyEducation => "Voor- en vroegschoolse educatie",
        Category::SchoolCareer => "Schoolloopbaan",
        Category::TransferAdvice => "Schooladvies",
        Category::EducationalSupport => "Onderwijsondersteuning",
        Category::Absence => "Verzuim",
        Category::ExitTest => "Doorstroomtoets (eindtoets)",
        Category::TestResults => "Toetsresultaten",
        Category::ActionPlans => "Handelingsplannen",
        Category::GradeLists => "Cijferlijsten",
        Category::PreviousSecondary => "Vorige middelbare school",
        Category::Attachments => "Bijlagen",
        Category::CareHistory => "Eerdere zorg en hulp",
        Category::Diagnosis => "Diagnoses",
        Category::HomeSituation => "Thuissituatie",
        Category::ExternalCare => "Hulp van buiten de school",
    }
}

/// OSO element names as the dossier page labels them; names not listed read
/// as themselves with a capital (OSO's names are Dutch words already).
const ELEMENT_LABELS: &[(&str, &str)] = &[
    ("aandachtspunten", "Aandachtspunten"),
    ("aansprakelijkeinstelling", "Aansprakelijke instelling"),
    ("aantalfout", "Aantal fout"),
    ("aantalgelezen", "Aantal gelezen"),
    ("aantalgoed", "Aantal goed"),
    ("aantalopgaven", "Aantal opgaven"),
    ("adresgeheim", "Adres geheim"),
    ("adreslijst", "Adressen"),
    ("advies", "Advies"),
    ("afgenomendoor", "Afgenomen door"),
    ("afname", "Afname"),
    ("afnamedatum", "Afnamedatum"),
    ("akkoord", "Akkoord"),
    ("arrangement_datum", "Datum arrangement"),
    ("bestandsnaam", "Bestand"),
    ("betrouwbaarheidsinterval", "Betrouwbaarheidsinterval"),
    ("bivhoog", "Bovengrens"),
    ("bivlaag", "Ondergrens"),
    ("brincode", "BRIN-code"),
    ("bsn", "BSN"),
    ("categorie_uitlevering", "Categorieën in dit dossier"),
    ("centraleproblematiek", "Centrale problematiek"),
    ("cijferlijstlijst", "Cijferlijsten"),
    ("codereferentiescore", "Soort score"),
    ("codevaardigheidsschaal", "Vaardigheidsschaal"),
    ("codevergelijkingsgroep", "Vergelijkingsgroep"),
    ("communicatielijst", "Contactgegevens"),
    ("contactleerplicht", "Contact met leerplicht"),
    ("contactpersoon", "Contactpersoon"),
    ("contacttelefoon", "Telefoon contactpersoon"),
    ("dagdelengeoorloofd", "Dagdelen geoorloofd verzuim"),
    ("dagdelenongeoorloofd", "Dagdelen ongeoorloofd verzuim"),
    ("datuminschrijving", "Datum inschrijving"),
    ("datumuitschrijving", "Datum uitschrijving"),
    ("diagnose", "Diagnose"),
    ("dl", "Didactische leeftijd"),
    ("dom_referentieniveau", "Referentieniveau domein"),
    ("document", "Bijlage"),
    ("documentLijst", "Bijlagen"),
    ("doorwie", "Door wie"),
    ("eindtoets_basisonderwijs", "Eindtoets basisonderwijs"),
    ("eindtoetsresultaat", "Resultaat"),
    ("eldtoetscode", "Toetscode"),
    ("frequentie", "Frequentie"),
    ("gbaachternaam", "Achternaam (BRP)"),
    ("gbageboortedatum", "Geboortedatum (BRP)"),
    ("gbavoornaam", "Voornaam (BRP)"),
    ("gbavoorvoegsel", "Voorvoegsel (BRP)"),
    ("geboortedatum", "Geboortedatum"),
    ("handelingsplan", "Handelingsplan"),
    ("inzagedatum", "Ingezien op"),
    ("isgerichtop", "Gericht op"),
    ("jaargroep", "Groep"),
    ("leergebied", "Leergebied"),
    ("leerlinggewicht", "Leerlinggewicht"),
    ("leerlingid", "Leerlingnummer"),
    ("maatregelen", "Maatregelen"),
    ("medicijngebruik", "Medicijngebruik"),
    ("meerdan25percent", "Meer dan 25 procent verzuim"),
    ("naammedewerker", "Naam medewerker"),
    ("naamdirecteur", "Directeur"),
    ("ond_referentieniveau", "Referentieniveau"),
    ("onderwijssinds", "Onderwijs sinds"),
    ("opp", "Ontwikkelingsperspectief (OPP)"),
    ("opp_einddatum", "Einddatum OPP"),
    ("opp_ingangdatum", "Ingangsdatum OPP"),
    ("overigdocumentlijst", "Overige documenten"),
    ("overstap", "Overstap"),
    ("overstapadvies", "Overstapadvies"),
    ("redennietakkoord", "Reden niet akkoord"),
    ("referentiescore", "Referentiescore"),
    ("relatietotkind", "Relatie tot het kind"),
    ("roepnaam", "Roepnaam"),
    ("schoolloopbaan", "Schoolperiode"),
    ("schoolloopbaanlijst", "Schoolloopbaan"),
    ("startdatumhuidigonderwijs", "Start huidig onderwijs"),
    ("tlv", "Toelaatbaarheidsverklaring (TLV)"),
    (
        "toelichting_onderwijsbehoeften",
        "Toelichting onderwijsbehoeften",
    ),
    ("toets", "Toets"),
    ("toets_advies", "Toetsadvies"),
    ("toetsidentificatie", "Toets"),
    ("toetslijst", "Toetsen"),
    ("toetsnaam", "Toetsnaam"),
    ("toetsniveau", "Toetsniveau"),
    ("toetsscore", "Toetsscore"),
    ("vaardigheidsscore", "Vaardigheidsscore"),
    ("verzorger", "Ouder of verzorger"),
    ("verzorgersaansprakelijk", "Verzorgers aansprakelijk"),
    ("voorlopigdossier", "Voorlopig dossier"),
    ("waarde", "Waarde"),
    ("wensleerling", "Wens van de leerling"),
    ("wensouders", "Wens van de ouders"),
    ("werktbijinstelling", "Werkt bij"),
    ("wettigevertegenwoordiger", "Wettig vertegenwoordiger"),
];

/// An OSO element's label on the dossier page.
pub fn element_label(name: &str) -> String {
    if let Some((_, label)) = ELEMENT_LABELS.iter().find(|(n, _)| *n == name) {
        return (*label).to_owned();
    }
    let text = name.replace('_', " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An OSO value as the dossier page shows it: a code with an `omschrijving`
/// attribute by that description; the code lists' codes (school advice,
/// exit test, reference levels, sex, school kinds) in words
/// ([`carenet_handover::codes`]); booleans as ja/nee, dates as dd-mm-jjjj,
/// delivery and akkoord codes in words; anything else as it is.
pub fn element_value(name: &str, value: &str, description: Option<&str>) -> String {
    let value = value.trim();
    if let Some(d) = description.filter(|d| !d.trim().is_empty()) {
        return format!("{} ({value})", d.trim());
    }
    if let Some(words) = carenet_handover::codes::element(name, value) {
        return words;
    }
    match (name, value) {
        (_, "true") => "ja".into(),
        (_, "false") => "nee".into(),
        ("akkoord", "Ja") => "ja, akkoord met de inhoud".into(),
        ("akkoord", "Nee") => "niet akkoord met de inhoud".into(),
        ("akkoord", "Onbekend") => "onbekend".into(),
        (_, "VERPLICHT") => "verplicht".into(),
        (_, "VERBODEN") => "niet meegegeven".into(),
        (_, "OPTIONEEL") => "meegegeven".into(),
        (_, "OPT-UIT") => "niet meegegeven (ouders)".into(),
        _ if is_date(value) => date_text(value),
        _ => value.to_owned(),
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// A party by the name the region directory gives it, or by its id.
pub fn party_name(state: &crate::AppState, id: &str) -> String {
    state
        .inner
        .store
        .directory()
        .and_then(|d| d.get(id))
        .map_or_else(|| id.to_owned(), |e| e.name.clone())
}

/// A stored date (`YYYY-MM-DD`) as the pages show it (`dd-mm-jjjj`);
/// anything else as it is (the one the digest uses too).
pub use carenet_consent::record::date_text;

/// A consent's recipients by name (the directory's display name, "elke
/// <kind>" for a kind); `unknown` says a party the directory does not name.
pub fn recipients(
    state: &crate::AppState,
    recipients: &[carenet_proto::v1::ConsentRecipient],
    unknown: impl Fn(&str) -> String,
) -> String {
    use carenet_proto::v1::consent_recipient::Target;
    recipients
        .iter()
        .filter_map(|r| match &r.target {
            Some(Target::PartyId(id)) => Some(
                state
                    .inner
                    .store
                    .directory()
                    .and_then(|d| d.get(id))
                    .map_or_else(|| unknown(id), |e| e.name.clone()),
            ),
            Some(Target::Kind(k)) => Some(
                PartyKind::from_proto(*k).map_or_else(|| "elke organisatie".to_owned(), every_kind),
            ),
            None => None,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A consent status as the portal and staff pages say it.
pub fn consent_status(code: &str) -> &'static str {
    match code {
        "requested" => "gevraagd",
        "granted" => "gegeven",
        "refused" => "geweigerd",
        "withdrawn" => "ingetrokken",
        "expired" => "verlopen",
        _ => "onbekend",
    }
}

/// A season-view status of a dossier.
pub fn dossier_status(code: &str) -> &'static str {
    match code {
        "draft" => "in voorbereiding",
        "awaiting_inspection" => "ter inzage bij ouders",
        "ready" => "klaargezet",
        "published" => "verstuurd",
        "delivered" => "ontvangen door school",
        "read" => "gelezen door mentor",
        "received" => "ontvangen, toe te wijzen",
        "assigned" => "toegewezen, nog niet gelezen",
        "withdrawn" => "ingetrokken",
        "purged" => "verwijderd (bewaartermijn)",
        _ => "onbekend",
    }
}

/// Where a transfer dossier stands, as a parent (or the pupil) reads it on
/// the portal: no school jargon.
pub fn dossier_status_for_parent(code: &str) -> &'static str {
    match code {
        "draft" => "de school schrijft het nog",
        "awaiting_inspection" => "wacht op uw reactie",
        "ready" => "klaar; de school kan het nu naar de nieuwe school sturen",
        "published" => "naar de nieuwe school gestuurd",
        _ => "onbekend",
    }
}

/// A season-view status of an outgoing dossier as its sender reads it,
/// named after whom it went to (`counterparty`: party ids, space
/// separated): a follow-up institution's reader is the student's
/// studieloopbaanbegeleider, not a mentor, so "read" says "gelezen door
/// begeleider" there.
pub fn dossier_status_at(state: &crate::AppState, code: &str, counterparty: &str) -> &'static str {
    let to_vervolg = counterparty.split_whitespace().any(|id| {
        state
            .inner
            .store
            .directory()
            .and_then(|d| d.get(id).map(|e| e.kind))
            == Some(PartyKind::Vervolg)
    });
    match code {
        "read" if to_vervolg => "gelezen door begeleider",
        _ => dossier_status(code),
    }
}

/// What an audit action means for a parent reading "wie heeft wat gezien".
pub fn disclosure_action(code: &str) -> &'static str {
    match code {
        "released" => "gegevens verstuurd",
        "delivered" => "gegevens ontvangen",
        "release_refused" => "versturen geweigerd (geen toestemming)",
        "purged" => "gegevens verwijderd",
        "consent_requested" => "toestemming gevraagd",
        "consent_grant" => "toestemming gegeven",
        "consent_refuse" => "toestemming geweigerd",
        "consent_withdraw" => "toestemming ingetrokken",
        "consent_expire" => "toestemming verlopen",
        "recipient_read" => "dossier gelezen door de nieuwe school",
        "recipient_exported" => "dossier overgenomen in de administratie van de nieuwe school",
        "recipient_attachment" => "bijlage gedownload door de nieuwe school",
        "recipient_digest" => "samenvatting gelezen door de mentor",
        _ => "andere handeling",
    }
}

/// Who reads a pupil's dossier in class at a party of `kind`: the mentor, at
/// a follow-up institution the studieloopbaanbegeleider.
pub fn mentor_word(kind: PartyKind) -> &'static str {
    match kind {
        PartyKind::Vervolg => "studieloopbaanbegeleider",
        _ => "mentor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_dutch_words() {
        for c in Category::all() {
            assert!(!category(c).is_empty());
        }
        for c in Category::all() {
            assert!(!category_heading(c).is_empty());
        }
        for p in Purpose::all() {
            assert_ne!(purpose_code(p.as_str()), "onbekend doel", "{p:?}");
        }
        for s in [
            "draft",
            "awaiting_inspection",
            "ready",
            "published",
            "delivered",
            "read",
        ] {
            assert_ne!(dossier_status(s), "onbekend", "{s}");
        }
    }

    #[test]
    fn every_kind_takes_its_article() {
        assert_eq!(every_kind(PartyKind::Swv), "elk samenwerkingsverband");
        assert_eq!(every_kind(PartyKind::PoSchool), "elke basisschool");
        assert_eq!(every_kind(PartyKind::Vervolg), "elke vervolgopleiding");
    }

    #[test]
    fn stored_dates_read_as_dutch_dates() {
        assert_eq!(date_text("2027-03-09"), "09-03-2027");
        assert_eq!(date_text(""), "");
        assert_eq!(date_text("morgen"), "morgen");
    }

    #[test]
    fn oso_values_read_as_dutch_words() {
        assert_eq!(element_value("meerdan25percent", "false", None), "nee");
        assert_eq!(
            element_value("afnamedatum", "2015-04-10", None),
            "10-04-2015"
        );
        assert_eq!(
            element_value("land", "6030", Some("Nederland")),
            "Nederland (6030)"
        );
        assert_eq!(element_value("toetsnaam", "Cito 2015", None), "Cito 2015");
        assert_eq!(
            element_value("advies", "40", None),
            "vmbo gemengde leerweg (vmbo-gl)"
        );
        assert_eq!(element_value("geslacht", "2", None), "man");
        assert_eq!(
            element_label("dagdelengeoorloofd"),
            "Dagdelen geoorloofd verzuim"
        );
        assert_eq!(element_label("postcode"), "Postcode");
    }
}
