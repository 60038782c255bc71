//! The one place where a refusal becomes Dutch: a slice's refusal code
//! ([`carenet_fabric::Reason`]) is a sentence that says what to do, with a
//! link to where that is done; a field name is its Dutch label. A refusal
//! without a code reads as a generic Dutch sentence naming the field. The
//! slices' English texts never reach a page (the JSON API keeps them).
//!
//! A refused form comes back as the same page: its handler turns the error
//! into a [`Refusal`] ([`refusal`]), re-renders the page with what was typed,
//! and answers with the refusal's status. Templates mark the field with
//! [`Refusal::attrs`] and [`Refusal::message_for`] and show the summary by
//! including `refused.html`.

use axum::http::StatusCode;
use axum::response::Response;
use carenet_consent::Purpose;
use carenet_fabric::Reason;
use carenet_handover::OsoProblem;

use crate::Error;

/// A refused form, as its page shows it.
#[derive(Debug, Clone)]
pub(crate) struct Refused {
    /// 400 (invalid input), 409 (not in this state) or 422 (a rule on the
    /// content, e.g. consent).
    pub status: StatusCode,
    /// The field it concerns (the slice's name), if any.
    pub field: Option<String>,
    /// What is wrong and what to do, in Dutch.
    pub message: String,
    /// Where that is done: (href, Dutch link text).
    pub link: Option<(String, &'static str)>,
    /// The id of the page's input it marks, if the page has one.
    pub input: Option<String>,
}

/// A page's refusal, if any: what its template reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Refusal(pub Option<Refused>);

impl Refusal {
    pub fn none() -> Self {
        Refusal(None)
    }

    pub fn get(&self) -> Option<&Refused> {
        self.0.as_ref()
    }

    /// The attributes marking input `id` when the refusal is about it:
    /// `aria-invalid` and the message linked by `aria-describedby`.
    pub fn attrs(&self, id: &str) -> String {
        match self.message_for(id) {
            Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{id}-fout\""),
            None => String::new(),
        }
    }

    /// The message to show under input `id` (its element's id is
    /// `<id>-fout`), when the refusal is about it.
    pub fn message_for(&self, id: &str) -> Option<&str> {
        self.0
            .as_ref()
            .filter(|r| r.input.as_deref() == Some(id))
            .map(|r| r.message.as_str())
    }
}

impl Refused {
    /// Marks the input that shows `field`: `inputs` maps a slice's field
    /// names onto the page's input ids.
    pub fn at(mut self, inputs: &[(&str, &str)]) -> Self {
        let field = self.field.as_deref().map(bare);
        self.input = inputs
            .iter()
            .find(|(f, _)| Some(*f) == field)
            .map(|(_, id)| (*id).to_owned());
        self
    }

    /// A missing consent for `purpose`: says which one to ask, and links
    /// to the consent page with that purpose chosen.
    pub fn for_purpose(mut self, purpose: Purpose, code: Option<Reason>) -> Self {
        if matches!(
            code,
            Some(
                Reason::ConsentMissing
                    | Reason::ConsentNotGranted
                    | Reason::ConsentWithdrawn
                    | Reason::ConsentRefused
                    | Reason::ConsentExpired
            )
        ) {
            self.message = format!(
                "Vraag eerst toestemming aan de ouders voor {}.",
                purpose_words(purpose)
            );
            self.link = Some((consent_href(Some(purpose)), "Toestemming vragen"));
        }
        self
    }

    /// The page `html` answered with this refusal's status.
    pub fn respond(&self, mut html: Response) -> Response {
        if html.status().is_success() {
            *html.status_mut() = self.status;
        }
        html
    }
}

/// The form refusal `err` is, or `err` itself when it is none (not signed
/// in, no access, not found, a failure): that goes to the error page.
pub(crate) fn refusal(err: Error) -> Result<Refused, Error> {
    refused(&err).ok_or(err)
}

/// The form refusal `err` is, if it is one.
pub(crate) fn refused(err: &Error) -> Option<Refused> {
    use carenet_fabric::Error as F;
    let (status, field, code) = match err {
        Error::InvalidArgument { field, .. } => {
            (StatusCode::BAD_REQUEST, Some(field.clone()), None)
        }
        Error::Fabric(F::InvalidArgument { field, code, .. }) => {
            let status = match code {
                Some(c) if consent_code(*c) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, Some(field.clone()), *code)
        }
        Error::Fabric(F::FailedPrecondition(why)) => (StatusCode::CONFLICT, None, why.code),
        // A peer's refusal, when it carries one of our codes: as our own.
        Error::Fabric(F::Remote(_)) => return refused(&err.remote_refusal()?),
        Error::Fabric(F::Database(db)) => {
            let (field, _) = carenet_fabric::error::constraint_violation(db)?;
            (StatusCode::BAD_REQUEST, Some(field), None)
        }
        _ => return None,
    };
    let label = field.as_deref().map(label);
    let (message, link) = match code {
        Some(code) => sentence(code, label),
        None => (generic(status, label), None),
    };
    Some(Refused {
        status,
        field,
        message,
        link,
        input: None,
    })
}

fn consent_code(code: Reason) -> bool {
    matches!(
        code,
        Reason::ConsentMissing
            | Reason::ConsentNotGranted
            | Reason::ConsentWithdrawn
            | Reason::ConsentRefused
            | Reason::ConsentExpired
            | Reason::ConsentNotCovering
            | Reason::GrantorsInsufficient
    )
}

/// The consent page, with `purpose` chosen in its request form.
pub(crate) fn consent_href(purpose: Option<Purpose>) -> String {
    match purpose {
        Some(p) => format!("/toestemming?doel={}#vragen", p.as_str()),
        None => "/toestemming#vragen".to_owned(),
    }
}

/// What a consent for `purpose` is for, after "toestemming voor".
fn purpose_words(p: Purpose) -> &'static str {
    match p {
        Purpose::TransferDossier => "het sturen van het overdrachtsdossier",
        Purpose::DiscussInIzo => "bespreking in het IZO",
        Purpose::ReferToZat => "aanmelding bij het ZAT",
        Purpose::ShareWithPartner => "het delen van gegevens met de zorgpartner",
        Purpose::SupportRequest => "de aanvraag bij het samenwerkingsverband",
        Purpose::CaseMembership => "deelname aan het gezamenlijke plan",
        Purpose::FeedbackToSender => "terugkoppeling aan de school van herkomst",
    }
}

/// The sentence for a refusal with code `code` about the field labelled
/// `label`, and where to act on it.
fn sentence(code: Reason, label: Option<&'static str>) -> (String, Option<(String, &'static str)>) {
    let field = label.unwrap_or("dit veld");
    let consent = || Some((consent_href(None), "Naar de toestemmingen"));
    let text = match code {
        Reason::Required => format!("Vul {field} in."),
        Reason::TooLong => format!("Maak {field} korter: de tekst is te lang."),
        Reason::NotAChoice => format!("Kies bij {field} een van de mogelijkheden."),
        Reason::NotADate => format!("Vul bij {field} een datum in (dd-mm-jjjj)."),
        Reason::DateInFuture => {
            format!("Controleer {field}: die datum ligt in de toekomst.")
        }
        Reason::DateInPast => {
            format!("Kies voor {field} een datum vanaf vandaag: die datum ligt in het verleden.")
        }
        Reason::DatesOutOfOrder => {
            format!("Controleer {field}: die datum ligt vóór de begindatum.")
        }
        Reason::ConsentMissing => {
            return (
                "Vraag eerst toestemming aan de ouders voor deze stap.".to_owned(),
                consent(),
            );
        }
        Reason::ConsentNotGranted => {
            return (
                "De toestemming is gevraagd maar nog niet gegeven. Wacht op het antwoord van de ouders, of leg hun besluit vast.".to_owned(),
                consent(),
            );
        }
        Reason::ConsentWithdrawn => {
            return (
                "De ouders hebben hun toestemming ingetrokken. Vraag opnieuw toestemming als dat nodig is.".to_owned(),
                consent(),
            );
        }
        Reason::ConsentRefused => {
            return (
                "De ouders hebben geen toestemming gegeven. Bespreek het met hen en vraag opnieuw als zij het willen.".to_owned(),
                consent(),
            );
        }
        Reason::ConsentExpired => {
            return (
                "De toestemming is verlopen of nog niet ingegaan. Vraag een nieuwe toestemming aan.".to_owned(),
                consent(),
            );
        }
        Reason::ConsentNotCovering => {
            return (
                "De gekozen toestemming geldt niet voor deze leerling, dit doel of deze ontvanger. Kies een andere toestemming of vraag er een aan.".to_owned(),
                consent(),
            );
        }
        Reason::GrantorsInsufficient => {
            "Wie besluit, is niet genoeg: vanaf 16 jaar beslist de leerling zelf mee, anders de ouders. Vul in wie heeft besloten.".to_owned()
        }
        Reason::ConsentState => {
            "Deze toestemming is inmiddels veranderd en staat niet meer open voor deze stap. Bekijk de toestemmingen van de leerling opnieuw.".to_owned()
        }
        Reason::DossierState => {
            "Het dossier is inmiddels in een andere fase; deze stap kan nu niet. Open het dossier opnieuw om te zien wat er kan.".to_owned()
        }
        Reason::CaseState => {
            "Het plan of de aanmelding is inmiddels in een andere fase; deze stap kan nu niet. Open de pagina opnieuw om te zien wat er kan.".to_owned()
        }
        Reason::UnknownPerson => {
            format!("Kies bij {field} een medewerker uit de lijst: deze naam kennen we niet.")
        }
        Reason::UnknownParty => {
            format!("Kies bij {field} een school of partner uit de lijst van de regio.")
        }
        Reason::PartyMismatch => {
            format!("Controleer {field}: dat is niet de school of partner waar het om gaat.")
        }
        Reason::OtherPupil => {
            format!("Controleer {field}: dit hoort bij een andere leerling.")
        }
        Reason::Duplicate => format!("Controleer {field}: dit staat er al."),
        Reason::UnknownPupil => {
            format!("Controleer {field}: deze leerling kennen we niet op uw school.")
        }
        Reason::BirthDateMismatch => {
            "Controleer de geboortedatum: die wijkt af van wat de school van de leerling heeft vastgelegd. Klopt die niet, dan past de IB'er of zorgcoördinator hem aan.".to_owned()
        }
        Reason::BirthDateUnknown => {
            "De school heeft de geboortedatum van de leerling nog niet vastgelegd. Vraag de IB'er of zorgcoördinator dat eerst te doen.".to_owned()
        }
        Reason::CodeUnknown => {
            "Deze code kennen we niet, hij is al gebruikt of verlopen. Vraag de school om een nieuwe code.".to_owned()
        }
        Reason::CodeForPupil => {
            "Deze code is voor de leerling zelf, en u bent al als ouder of verzorger aan deze leerling gekoppeld.".to_owned()
        }
        Reason::CodeForGuardian => {
            "Deze code is voor een ouder of verzorger, en je bent al als leerling zelf gekoppeld.".to_owned()
        }
        Reason::AdviceCount => "Voor een toelaatbaarheidsverklaring zijn twee aparte, schriftelijke deskundigenadviezen nodig. Voeg het ontbrekende advies toe.".to_owned(),
        Reason::AdviceSamePerson => "De twee adviezen zijn van dezelfde deskundige. Het tweede advies moet van een andere deskundige komen.".to_owned(),
        Reason::AdviceFirstQualification => "De eerste deskundige moet orthopedagoog of psycholoog zijn.".to_owned(),
        Reason::AdviceSecondQualification => "De tweede deskundige moet kinderpsycholoog, pedagoog of orthopedagoog, kinderpsychiater, maatschappelijk werker of arts zijn.".to_owned(),
        Reason::AdviceNotIndependent => "Deze deskundige werkt bij de school die de aanvraag doet en is dus niet onafhankelijk. Vraag het advies aan een deskundige van buiten die school.".to_owned(),
        Reason::AdviceCollective => "Een gezamenlijk advies of een advies van een commissie telt niet: elke deskundige geeft een eigen, apart ondertekend advies.".to_owned(),
        Reason::AdviceReasoning => "Elk advies toetst aan het ondersteuningsplan van het samenwerkingsverband en legt uit waarom een arrangement op een reguliere school niet volstaat. Vul aan wat ontbreekt.".to_owned(),
        Reason::DecisionReasons => "Een besluit is schriftelijk gemotiveerd. Vul de motivering in.".to_owned(),
        Reason::DecisionDates => "Vul de begin- en einddatum van het besluit in; de einddatum ligt na de begindatum. Een afwijzing heeft geen looptijd.".to_owned(),
        Reason::DecisionCategory => "Een toegekende toelaatbaarheidsverklaring noemt het schooltype en de categorie (laag, midden of hoog); een ander besluit noemt die niet.".to_owned(),
        Reason::ViewMissing => "Voeg de zienswijze van de ouders toe voordat u de aanvraag indient.".to_owned(),
        Reason::VoiceMissing => "Leg vast wat de leerling zelf vindt, of waarom dat niet is gevraagd, voordat u de aanvraag indient.".to_owned(),
        Reason::RefusedOnPortal => {
            return (
                "De ouders weigerden in het ouderportaal. Alleen zij kunnen dat daar herzien, of een coördinator legt hun ondertekende formulier vast.".to_owned(),
                consent(),
            );
        }
    };
    (text, None)
}

/// The sentence for a refusal without a code.
fn generic(status: StatusCode, label: Option<&'static str>) -> String {
    match (status, label) {
        (StatusCode::CONFLICT, _) => "Deze stap past niet bij waar het nu staat. Open de pagina opnieuw om te zien wat er kan.".to_owned(),
        (_, Some(field)) => format!("Controleer {field}: zo kan het niet worden opgeslagen."),
        (_, None) => "Controleer wat u heeft ingevuld.".to_owned(),
    }
}

/// A field name without its path or indices: `members[2].party` → `party`.
/// A form's numbered row (`child_ref-2`) counts as its field.
fn bare(field: &str) -> &str {
    let last = field.rsplit('.').next().unwrap_or(field);
    let name = last.split('[').next().unwrap_or(last);
    match name.rsplit_once('-') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => stem,
        _ => name,
    }
}

/// A field as a sentence names it (with its article), in Dutch.
pub(crate) fn label(field: &str) -> &'static str {
    // The person named on a plan's action is who carries it out.
    if field.starts_with("action") && bare(field) == "person" {
        return "de uitvoerder";
    }
    match bare(field) {
        "child_ref" | "leerling" => "het leerlingnummer",
        "child_birth_date" => "de geboortedatum",
        "valid_from" => "de begindatum",
        "valid_until" => "de einddatum",
        "text" | "tekst" => "de tekst",
        "note" | "notes" | "notitie" => "de notitie",
        "reason" | "reden" => "de reden",
        "question" | "vraag" => "de vraag",
        "grantors" | "grantor_name" | "name" => "de naam van wie besluit",
        "grantor_role" => "wie besluit (ouder, vertegenwoordiger of leerling)",
        "purpose" | "doel" => "het doel",
        "recipients" | "recipient" => "de ontvangers",
        "categories" => "de gegevens",
        "consent_record" | "consent" => "de toestemming",
        "mentor" | "staff" | "assignee" => "de medewerker",
        "owner" => "wie de actie uitvoert",
        "party" | "school" | "to" | "destination" => "de school of partner",
        "members" => "de deelnemers",
        "title" => "de titel",
        "goal" | "goals" => "het doel van het plan",
        "actions" | "action" => "de actie",
        "description" => "de omschrijving",
        "due" | "due_on" | "target_date" | "target_on" => "de streefdatum",
        "outcome" | "outcomes" => "de uitkomst",
        "decision" | "besluit" => "het besluit",
        "formulier" | "form" => "het formulier",
        "code" => "de code",
        "akkoord" => "akkoord of niet akkoord",
        "zienswijze" => "de zienswijze",
        "date" | "held_on" | "planned_on" | "datum" => "de datum",
        "advice" => "het advies",
        "version" => "de versie",
        "oso" => "het OSO-bestand",
        // The plan of action and the ZAT's forms.
        "what" => "de omschrijving van de actie",
        "measure" => "de manier van meten",
        "category" => "het soort gegevens",
        "role" => "de rol",
        "person" => "de contactpersoon",
        "status" => "behaald of vervallen",
        "next_on" => "de datum van de volgende evaluatie",
        "evaluation_on" => "de evaluatiedatum",
        "meeting_on" => "de datum van het overleg",
        "coordinator" => "de casusregisseur",
        "reports_back" => "de naam van wie terugkoppelt",
        "analysis" => "de analyse",
        "needs" => "de behoeften van de leerling",
        "directions" => "de oplossingsrichtingen",
        "decisions" => "de besluiten",
        "review" => "de besproken voortgang",
        "background" => "de achtergrond",
        "child_name" => "de naam van de leerling",
        "choice" | "izo_id" => "de leerling en de toestemming",
        // The IZO's forms.
        "problem" => "het probleem",
        "pupil_question" => "de hulpvraag",
        "support_question" => "de begeleidingsvraag",
        "support_requested" | "support" => "de gevraagde ondersteuning",
        "support_other" => "de andere ondersteuning",
        "not_informed_reason" => "de reden waarom de ouders niet op de hoogte zijn",
        "summary" => "de samenvatting",
        "guardians_contact" => "wie de ouders informeert",
        "zat_question" => "de vraag aan het ZAT",
        "belongs_in_tier2"
        | "questions_clear"
        | "tier1_exhausted"
        | "guardians_and_pupil_informed" => "de toetsing",
        "with" => "met wie het gesprek was",
        _ => "een van de velden",
    }
}

/// Why an OSO file was not read, in Dutch, with where in the file (its
/// line and element: never its content).
pub(crate) fn oso_problem(element: &str, line: u32, problem: &OsoProblem) -> String {
    use OsoProblem::*;
    let what = match problem {
        TooLarge(mib) => format!("het bestand is groter dan {mib} MiB"),
        NotWellFormed(_) => "het bestand is geen leesbare XML".to_owned(),
        NotADossier => "het bestand is geen OSO-dossier (het begint niet met <dossier>)".to_owned(),
        WrongNamespace => {
            "het bestand is geen dossier volgens OSO 2019.1 (een andere versie of namespace)"
                .to_owned()
        }
        TooDeep(max) => format!("de elementen zijn dieper genest dan {max} niveaus"),
        ForeignElement => "dit element hoort niet bij een OSO-dossier".to_owned(),
        MixedText => "er staat tekst tussen de elementen".to_owned(),
        UnknownBlock => "dit onderdeel kent OSO 2019.1 niet".to_owned(),
        MissingBlock => "een verplicht onderdeel ontbreekt".to_owned(),
        NoDeliveryCategories => "de leveringscategorieën (categorie_uitlevering) ontbreken".to_owned(),
        NotADeliveryCategory => "dit is geen leveringscategorie van OSO".to_owned(),
        BadDeliveryValue => "de waarde moet VERPLICHT, VERBODEN, OPTIONEEL of OPT-UIT zijn".to_owned(),
        DeliveryCategoryMissing => {
            "de leveringscategorie van dit onderdeel staat niet in categorie_uitlevering"
                .to_owned()
        }
        BadInzage => "inzage moet true of false zijn".to_owned(),
        ForbiddenData { category, delivery } => format!(
            "het bestand bevat gegevens in de categorie {category}, die het zelf als {delivery} aanmerkt"
        ),
        RequiredWithoutData => {
            "deze categorie is als VERPLICHT aangemerkt, maar het dossier bevat er geen gegevens van"
                .to_owned()
        }
        WrongKind { found, expected } => {
            format!("het bestand is een {found}; hier wordt een {expected} verstuurd")
        }
        WrongTransfer { found, expected } => format!(
            "het bestand is een overstap {found}; deze route verstuurt {}",
            expected.join(" of ")
        ),
        TransferMissing { expected } => format!(
            "de soort overstap (metadata/overstap) ontbreekt; deze route verstuurt {}",
            expected.join(" of ")
        ),
    };
    match (line, element) {
        (0, "") => what,
        (0, e) => format!("{what} (element <{e}>)"),
        (l, "") => format!("{what} (regel {l})"),
        (l, e) => format!("{what} (regel {l}, element <{e}>)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oso_problem_reads_in_dutch_with_its_line_and_element() {
        let wrong = OsoProblem::WrongTransfer {
            found: "POVO".into(),
            expected: vec!["VOVO".into(), "VOVERVOLG".into()],
        };
        assert_eq!(
            oso_problem("overstap", 7, &wrong),
            "het bestand is een overstap POVO; deze route verstuurt VOVO of VOVERVOLG (regel 7, element <overstap>)"
        );
        let unreadable = OsoProblem::NotWellFormed("unexpected text at 1:1".into());
        assert_eq!(
            oso_problem("", 1, &unreadable),
            "het bestand is geen leesbare XML (regel 1)"
        );
        // The English words of the file's problem stay out of the page.
        assert!(!oso_problem("", 1, &unreadable).contains("unexpected"));
        assert!(!oso_problem("overstap", 7, &wrong).contains(" or "));
    }

    #[test]
    fn every_code_reads_as_dutch_with_the_field() {
        for code in Reason::ALL {
            let (text, _) = sentence(code, Some("de tekst"));
            assert!(!text.is_empty() && text.ends_with('.'), "{code}: {text}");
            assert!(!text.contains(code.as_str()), "{code}: {text}");
        }
    }

    #[test]
    fn a_missing_consent_for_feedback_says_what_to_ask_and_where() {
        let err = Error::Fabric(
            carenet_fabric::Error::invalid("consent_record", "no granted consent")
                .coded(Reason::ConsentMissing),
        );
        let r = refused(&err)
            .unwrap()
            .for_purpose(Purpose::FeedbackToSender, err.code());
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.message,
            "Vraag eerst toestemming aan de ouders voor terugkoppeling aan de school van herkomst."
        );
        assert_eq!(
            r.link.unwrap().0,
            "/toestemming?doel=feedback_to_sender#vragen"
        );
    }

    #[test]
    fn a_field_is_marked_by_its_bare_name() {
        let err = Error::Fabric(carenet_fabric::Error::invalid("members[1].text", "x"));
        let r = refused(&err).unwrap().at(&[("text", "fb-tekst")]);
        let page = Refusal(Some(r));
        assert_eq!(
            page.attrs("fb-tekst"),
            " aria-invalid=\"true\" aria-describedby=\"fb-tekst-fout\""
        );
        assert_eq!(page.attrs("other"), "");
        assert_eq!(
            page.message_for("fb-tekst"),
            Some("Controleer de tekst: zo kan het niet worden opgeslagen.")
        );
    }
}
