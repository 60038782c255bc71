//! Staff pages of consent: ask for it, look up a pupil's consents and who
//! saw what, and record a withdrawal the guardians gave at school (inviting
//! a guardian to the parent portal is on the portal-links page,
//! [`crate::links`]). Pupil references travel in form bodies, never in URLs.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use carenet_consent::record::{ConsentRequest, ConsentStore, Stored, parse_date};
use carenet_consent::{Category, Purpose};
use carenet_fabric::PartyKind;
use carenet_proto::v1::{self, EvidenceKind, GrantorRole, consent_recipient::Target};
use serde::Deserialize;

use crate::form::{Form, Pairs, field};
use crate::href::filters;
use crate::pages::{date_of, render};
use crate::session::Staff;
use crate::{AppState, Error, labels};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    csrf: String,
    purposes: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    /// (value, label): parties by id, then kinds.
    recipients: Vec<(String, String)>,
    /// After a lookup: the pupil and their consents.
    pupil: Option<String>,
    records: Vec<RecordLine>,
    /// After a lookup, if the role may see it: who saw what.
    disclosures: Option<Vec<(String, &'static str, String, String)>>,
    /// A message after an action.
    notice: Option<String>,
    /// The school's coordinator (IB, zorgcoördinator): may record a signed form.
    coordinator: bool,
    /// What the request form shows: empty, or what was typed when it came
    /// back refused.
    ask: Ask,
    /// A record's form that came back refused: (record id, name typed).
    typed_grantor: Option<(String, String)>,
    refused: crate::reasons::Refusal,
}

impl ConsentPage {
    /// The name typed in record `id`'s form, when it came back refused.
    fn typed_name(&self, id: &str) -> &str {
        match &self.typed_grantor {
            Some((record, name)) if record == id => name,
            _ => "",
        }
    }
}

/// The request form's values.
#[derive(Default)]
struct Ask {
    child_ref: String,
    child_birth_date: String,
    purpose: String,
    recipients: Vec<String>,
    categories: Vec<String>,
    valid_until: String,
}

impl Ask {
    fn has_category(&self, code: &str) -> bool {
        self.categories.iter().any(|c| c == code)
    }

    fn is_purpose(&self, code: &str) -> bool {
        self.purpose == code
    }

    fn has_recipient(&self, value: &str) -> bool {
        self.recipients.iter().any(|r| r == value)
    }

    fn typed(pairs: &Pairs) -> Self {
        let all = |name: &str| {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        Ask {
            child_ref: field(pairs, "child_ref").to_owned(),
            child_birth_date: field(pairs, "child_birth_date").to_owned(),
            purpose: field(pairs, "purpose").to_owned(),
            recipients: all("recipients"),
            categories: all("categories"),
            valid_until: field(pairs, "valid_until").to_owned(),
        }
    }
}

/// The request form's inputs, by the slice's field names.
const ASK_INPUTS: &[(&str, &str)] = &[
    ("child_ref", "vraag-leerling"),
    ("child_birth_date", "geboortedatum"),
    ("purpose", "doel"),
    ("recipients", "ontvanger"),
    ("categories", "gegevens"),
    ("valid_until", "tot"),
];

struct RecordLine {
    id: String,
    purpose: &'static str,
    recipients: String,
    status: &'static str,
    until: String,
    withdrawable: bool,
    /// Asked and not yet answered: staff may record the answer given at school.
    decidable: bool,
    /// Refused by the guardians on the parent portal: reversed only there,
    /// or by a coordinator with their signed form.
    portal_refused: bool,
}

fn recipients_text(state: &AppState, version: &v1::ConsentVersion) -> String {
    // Staff may see a party id the directory does not (or no longer) name.
    labels::recipients(state, &version.recipients, |id| id.to_owned())
}

/// A recipient as forms and the API name it: a party id, or `kind:<kind>`.
pub(crate) fn parse_recipient(value: &str) -> Result<v1::ConsentRecipient, Error> {
    let target = match value.strip_prefix("kind:") {
        Some(kind) => Target::Kind(PartyKind::parse("recipients", kind)?.to_proto() as i32),
        None => Target::PartyId(value.to_owned()),
    };
    Ok(v1::ConsentRecipient {
        target: Some(target),
    })
}

/// Who gave a decision, as forms and the API name it.
pub(crate) fn parse_grantor_role(value: &str) -> Result<GrantorRole, Error> {
    match value {
        "guardian" => Ok(GrantorRole::Guardian),
        "legal_representative" => Ok(GrantorRole::LegalRepresentative),
        "pupil" => Ok(GrantorRole::Pupil),
        _ => Err(Error::invalid(
            "grantor_role",
            "guardian, legal_representative or pupil",
        )),
    }
}

fn line(state: &AppState, c: &Stored) -> RecordLine {
    RecordLine {
        id: c.version.record_id.clone(),
        purpose: labels::purpose_code(&c.version.purpose),
        recipients: recipients_text(state, &c.version),
        status: labels::consent_status(carenet_consent::record::status_name(c.status())),
        until: labels::date_text(&c.version.valid_until),
        withdrawable: c.status() == v1::ConsentStatus::Granted,
        decidable: c.status() == v1::ConsentStatus::Requested,
        portal_refused: c.status() == v1::ConsentStatus::Refused
            && c.version
                .evidence
                .as_ref()
                .is_some_and(|e| e.kind == EvidenceKind::PortalLogin as i32),
    }
}

fn page(state: &AppState, staff: &Staff) -> ConsentPage {
    let mut recipients: Vec<(String, String)> = state
        .inner
        .store
        .directory()
        .map(|d| {
            d.snapshot()
                .parties()
                .filter(|p| p.id != state.inner.party)
                .map(|p| {
                    (
                        p.id.to_string(),
                        format!("{} ({})", p.name, labels::kind(p.kind)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    recipients.sort();
    for k in [
        PartyKind::VoSchool,
        PartyKind::ZatPartner,
        PartyKind::Swv,
        PartyKind::Vervolg,
    ] {
        recipients.push((format!("kind:{}", k.as_str()), labels::every_kind(k)));
    }
    ConsentPage {
        csrf: staff.session.csrf.clone(),
        // The purposes of this kind of party's own work.
        purposes: crate::terms::purposes(state.inner.kind)
            .into_iter()
            .map(|p| (p.as_str(), labels::purpose(p)))
            .collect(),
        categories: Category::all()
            .map(|c| (c.as_str(), labels::category(c)))
            .collect(),
        recipients,
        pupil: None,
        records: Vec::new(),
        disclosures: None,
        notice: None,
        coordinator: carenet_consent::roles::COORDINATORS
            .iter()
            .any(|r| staff.actor.has(*r)),
        ask: Ask::default(),
        typed_grantor: None,
        refused: crate::reasons::Refusal::none(),
    }
}

#[derive(Deserialize)]
pub(crate) struct IndexQuery {
    /// A purpose to choose in the request form (a refusal's link sets it).
    #[serde(default)]
    doel: String,
}

/// `GET /toestemming`: the forms.
pub(crate) async fn index(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<IndexQuery>,
) -> Result<Response, Error> {
    staff
        .actor
        .require(
            carenet_consent::roles::LIST.what,
            carenet_consent::roles::LIST.roles,
        )
        .map_err(Error::Fabric)?;
    let mut p = page(&state, &staff);
    if Purpose::all().any(|x| x.as_str() == q.doel) {
        p.ask.purpose = q.doel;
    }
    Ok(render(&p))
}

/// The page again after a refused form: with the pupil's consents when the
/// form named a record, what was typed, and what to do.
async fn refused_page(
    state: &AppState,
    staff: &Staff,
    err: Error,
    inputs: &[(&str, &str)],
    record: Option<&str>,
    fill: impl FnOnce(&mut ConsentPage),
) -> Result<Response, Error> {
    let refused = crate::reasons::refusal(err)?.at(inputs);
    let mut p = page(state, staff);
    if let Some(record) = record {
        let latest = ConsentStore::new(state.inner.store.clone())
            .latest(record)
            .await?;
        if let Some(c) = latest {
            p = with_pupil(state, staff, p, &c.version.child_ref).await?;
        }
    }
    fill(&mut p);
    p.refused = crate::reasons::Refusal(Some(refused.clone()));
    Ok(refused.respond(render(&p)))
}

/// Fills in the pupil's consents (and who saw what, if the role may).
async fn with_pupil(
    state: &AppState,
    staff: &Staff,
    mut p: ConsentPage,
    child_ref: &str,
) -> Result<ConsentPage, Error> {
    let store = &state.inner.store;
    let records = ConsentStore::new(store.clone())
        .list(&staff.actor, child_ref)
        .await?;
    p.records = records.iter().map(|c| line(state, c)).collect();
    if staff
        .actor
        .may(&store.party, &carenet_consent::roles::DISCLOSURES)
        .is_ok()
    {
        let lines =
            carenet_consent::disclosure::who_saw_what(store, &staff.actor, child_ref).await?;
        // People by name and role, parties by name: never `zc-1[…]` or an id.
        let names = crate::staff_directory::Names::load(state).await?;
        p.disclosures = Some(
            lines
                .into_iter()
                .map(|d| {
                    let to = if d.recipient.is_empty() {
                        String::new()
                    } else {
                        labels::party_name(state, &d.recipient)
                    };
                    (
                        date_of(d.at_ms),
                        labels::disclosure_action(&d.action),
                        to,
                        names.actor(state, &d.actor),
                    )
                })
                .collect(),
        );
    }
    p.pupil = Some(child_ref.to_owned());
    Ok(p)
}

#[derive(Deserialize)]
pub(crate) struct LookupForm {
    #[serde(default)]
    csrf: String,
    child_ref: String,
}

/// `POST /toestemming/leerling`: one pupil's consents.
pub(crate) async fn lookup(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<LookupForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let p = with_pupil(&state, &staff, page(&state, &staff), form.child_ref.trim()).await?;
    Ok(render(&p))
}

/// `POST /toestemming/aanvragen`: ask for consent.
pub(crate) async fn request(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(pairs): Form<Pairs>,
) -> Result<Response, Error> {
    staff.check(field(&pairs, "csrf"), &headers, &state)?;
    let child_ref = field(&pairs, "child_ref").trim().to_owned();
    let asked = async {
        let purpose = Purpose::parse("purpose", field(&pairs, "purpose"))?;
        let mut recipients = Vec::new();
        for (k, v) in &pairs {
            if k == "recipients" {
                recipients.push(parse_recipient(v)?);
            }
        }
        let categories = pairs
            .iter()
            .filter(|(k, _)| k == "categories")
            .map(|(_, v)| Category::parse("categories", v))
            .collect::<Result<Vec<_>, _>>()?;
        let today = carenet_fabric::clock::today();
        let until = field(&pairs, "valid_until");
        let r = ConsentRequest {
            child_ref: child_ref.clone(),
            child_birth_date: parse_date("child_birth_date", field(&pairs, "child_birth_date"))?,
            purpose,
            recipients,
            categories,
            valid_from: today,
            valid_until: (!until.is_empty())
                .then(|| parse_date("valid_until", until))
                .transpose()?,
        };
        ConsentStore::new(state.inner.store.clone())
            .request_named(&staff.actor, field(&pairs, "form_id"), &r)
            .await?;
        Ok::<_, Error>(())
    }
    .await;
    if let Err(e) = asked {
        return refused_page(&state, &staff, e, ASK_INPUTS, None, |p| {
            p.ask = Ask::typed(&pairs)
        })
        .await;
    }
    let mut p = with_pupil(&state, &staff, page(&state, &staff), &child_ref).await?;
    p.notice = Some("Het verzoek om toestemming staat klaar voor de ouders.".into());
    Ok(render(&p))
}

#[derive(Deserialize)]
pub(crate) struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    grantor_name: String,
    grantor_role: String,
}

/// `POST /toestemming/{record}/intrekken`: record a withdrawal the
/// guardians (or the pupil) gave in a conversation at school.
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(record): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let withdrawn = async {
        let role = parse_grantor_role(&form.grantor_role)?;
        let consents = ConsentStore::new(state.inner.store.clone());
        let stored = consents
            .withdraw(
                &staff.actor,
                &record,
                vec![v1::Grantor {
                    role: role as i32,
                    name: form.grantor_name.trim().to_owned(),
                }],
                v1::Evidence {
                    kind: EvidenceKind::RecordedConversation as i32,
                    recorded_by: String::new(),
                    document_sha256: Vec::new(),
                },
            )
            .await?;
        Ok::<_, Error>(stored)
    }
    .await;
    let stored = match withdrawn {
        Ok(stored) => stored,
        Err(e) => {
            return crate::consent::withdrawal::refused(
                &state,
                &staff,
                &record,
                form.grantor_name.clone(),
                e,
            )
            .await;
        }
    };
    let mut p = with_pupil(
        &state,
        &staff,
        page(&state, &staff),
        &stored.version.child_ref,
    )
    .await?;
    p.notice = Some("De toestemming is ingetrokken; wie gegevens kreeg, krijgt bericht.".into());
    Ok(render(&p))
}

/// A pupil's granted consents, oldest first (of `purpose` only, when
/// given), for a form that publishes, shares or sends under one of them.
/// A reader without a relation with the pupil is offered none: the page
/// stays theirs to read (a warm handover a mentor may open), and the
/// action itself checks its own rules.
pub(crate) async fn granted(
    state: &AppState,
    actor: &carenet_fabric::Actor,
    child_ref: &str,
    purpose: Option<Purpose>,
) -> Result<Vec<Stored>, Error> {
    if !carenet_consent::relation::holds(&state.inner.store, actor, child_ref).await? {
        return Ok(Vec::new());
    }
    Ok(ConsentStore::new(state.inner.store.clone())
        .list(actor, child_ref)
        .await?
        .into_iter()
        .filter(|c| {
            c.status() == v1::ConsentStatus::Granted
                && purpose.is_none_or(|p| c.version.purpose == p.as_str())
        })
        .collect())
}

/// A granted consent as a form's choice: (record id, what for and since when).
pub(crate) fn choice(c: Stored) -> (String, String) {
    let label = format!(
        "{} ({})",
        labels::purpose_code(&c.version.purpose),
        labels::date_text(&c.version.valid_from)
    );
    (c.version.record_id, label)
}

#[derive(Deserialize)]
pub(crate) struct DecideForm {
    #[serde(default)]
    csrf: String,
    grantor_name: String,
    grantor_role: String,
    /// `geven` or `weigeren`.
    besluit: String,
}

/// `POST /toestemming/{record}/besluit`: record the grant or refusal the
/// guardians (or the pupil) gave in a conversation at school, recorded by
/// the signed-in member of staff (the slice checks age and role rules).
pub(crate) async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(record): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    let decided = async {
        let role = parse_grantor_role(&form.grantor_role)?;
        let decision = carenet_consent::record::Decision {
            grantors: vec![v1::Grantor {
                role: role as i32,
                name: form.grantor_name.trim().to_owned(),
            }],
            evidence: v1::Evidence {
                kind: EvidenceKind::RecordedConversation as i32,
                recorded_by: String::new(),
                document_sha256: Vec::new(),
            },
            today: carenet_fabric::clock::today(),
        };
        let consents = ConsentStore::new(state.inner.store.clone());
        let (stored, notice) = match form.besluit.as_str() {
            "geven" => (
                consents.grant(&staff.actor, &record, &decision).await?,
                "De toestemming is vastgelegd.",
            ),
            "weigeren" => (
                consents.refuse(&staff.actor, &record, &decision).await?,
                "De weigering is vastgelegd.",
            ),
            _ => return Err(Error::invalid("besluit", "geven or weigeren")),
        };
        Ok::<_, Error>((stored, notice))
    }
    .await;
    let (stored, notice) = match decided {
        Ok(done) => done,
        Err(e) => {
            let input = format!("besluit-{record}");
            return refused_page(
                &state,
                &staff,
                e,
                &[("grantors", &input), ("name", &input)],
                Some(&record),
                |p| p.typed_grantor = Some((record.clone(), form.grantor_name.clone())),
            )
            .await;
        }
    };
    let mut p = with_pupil(
        &state,
        &staff,
        page(&state, &staff),
        &stored.version.child_ref,
    )
    .await?;
    p.notice = Some(notice.into());
    Ok(render(&p))
}

/// `POST /toestemming/{record}/formulier` (multipart): a coordinator records
/// the grant the guardians gave on a signed form (`formulier`, the scan;
/// only its SHA-256 is kept), the one way staff reverse a refusal the
/// guardians gave on the parent portal.
pub(crate) async fn signed_form(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(record): Path<String>,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, Error> {
    let mut csrf = String::new();
    let mut grantor_name = String::new();
    let mut grantor_role = String::new();
    let mut form: Option<[u8; 32]> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| Error::invalid("form", "not a readable upload"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|_| Error::invalid(&name, "not readable"))?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "grantor_name" => grantor_name = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "grantor_role" => grantor_role = String::from_utf8_lossy(&bytes).into_owned(),
            "formulier" if !bytes.is_empty() => form = Some(carenet_fabric::crypto::sha256(&bytes)),
            _ => {}
        }
    }
    staff.check(&csrf, &headers, &state)?;
    let form = form.ok_or_else(|| Error::invalid("formulier", "attach the signed form"))?;
    let role = parse_grantor_role(&grantor_role)?;
    let decision = carenet_consent::record::Decision {
        grantors: vec![v1::Grantor {
            role: role as i32,
            name: grantor_name,
        }],
        evidence: v1::Evidence {
            kind: EvidenceKind::SignedForm as i32,
            recorded_by: String::new(),
            document_sha256: form.to_vec(),
        },
        today: carenet_fabric::clock::today(),
    };
    let stored = ConsentStore::new(state.inner.store.clone())
        .grant(&staff.actor, &record, &decision)
        .await?;
    let mut p = with_pupil(
        &state,
        &staff,
        page(&state, &staff),
        &stored.version.child_ref,
    )
    .await?;
    p.notice = Some("De toestemming is vastgelegd met het ondertekende formulier.".into());
    Ok(render(&p))
}
