//! The parent portal, in plain Dutch and phone-first: sign in with the
//! guardians' own OIDC client, link a child with the school's one-time code,
//! decide on consent requests, withdraw a consent, read the transfer dossier
//! before it leaves and give a view on it, and see who saw what.
//!
//! Every action goes through the consent slice's portal rules
//! ([`carenet_consent::portal`]): a proven link to the child first, read
//! again at every request (a link the school revoked or did not renew gives
//! no access from the next request on, and the start page says why), what
//! is touched must be about that child, and what the guardian may see and do
//! about it today is one answer ([`carenet_consent::access`]; from 16 the
//! pupil decides). A refusal is audited, 403. Children are addressed by
//! their place in the guardian's own list (`/ouders/kind/1`; an ended link
//! keeps its place), records and dossiers by their random ids: no pupil
//! reference in a URL.
//!
//! A pupil the school invited as themself (ADR 0008) signs in here through
//! the same client and links with their own code; the portal then shows
//! them their own page ("Mijn gegevens"), addressed as "je", with the
//! consents they decide themselves at their age.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_consent::access::Page;
use carenet_consent::links::{Invitee, LinkState};
use carenet_consent::portal::{self, Guardian, Linked};
use carenet_fabric::clock::now_ms;
use carenet_handover::dossier::{self, Akkoord, DossierState, GuardiansView};
use carenet_proto::v1::ConsentStatus;
use serde::Deserialize;

use crate::form::Form;
use crate::href::filters;
use crate::oidc::Callback;
use crate::pages::{date_of, render};
use crate::session::{GUARDIAN_COOKIE, GuardianSession, Parent};
use crate::sessions::{self, Kind, Tokens};
use crate::{AppState, Error, labels};

/// The guardians' client; the portal is off without one (404), except in
/// the demo, where guardians pick a demo person.
fn client(state: &AppState) -> Result<Option<&crate::oidc::Oidc>, Error> {
    match &state.inner.login {
        crate::Login::Oidc {
            guardian: Some(g), ..
        } => Ok(Some(g)),
        crate::Login::Oidc { guardian: None, .. } => Err(Error::NotFound),
        crate::Login::Demo(_) => Ok(None),
    }
}

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage;

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    csrf: String,
    name: String,
    /// (place in the list, how the child is named)
    children: Vec<(usize, String)>,
    /// The place of the pupil's own link, when the login is the pupil's.
    own: Option<usize>,
    /// Links the school ended: (since when, why).
    ended: Vec<(String, String)>,
    notice: Option<&'static str>,
    /// What waits for the guardian: (what, how many, where).
    waiting: Vec<(&'static str, usize, String)>,
    /// E-mail notifications: off (`None`), or the guardian's choice (none
    /// inside: their login gave no address).
    mail: Option<Option<&'static str>>,
    /// The code a refused link form held, and why it was refused.
    code: String,
    refused: crate::reasons::Refusal,
}

/// How the portal names a child: the first name from a dossier about them,
/// else "uw kind".
async fn child_name(state: &AppState, link: &Linked) -> String {
    let store = &state.inner.store;
    if let Ok(list) = dossier::for_guardian(store, link).await {
        for (id, _, _) in list {
            if let Ok(d) = dossier::get(store, &id).await {
                let name = d.dossier.summary().pupil_name;
                if !name.is_empty() {
                    return name;
                }
            }
        }
    }
    "uw kind".to_owned()
}

#[derive(Deserialize)]
pub(crate) struct Notice {
    #[serde(default)]
    m: String,
}

/// `GET /ouders`: the portal's start, or the way in.
pub(crate) async fn home(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(notice): Query<Notice>,
) -> Result<Response, Error> {
    client(&state)?;
    let Some(session) = GuardianSession::of(&state, &jar).await? else {
        return Ok(render(&LoginPage));
    };
    home_page(
        &state,
        &session,
        &notice.m,
        String::new(),
        crate::reasons::Refusal::none(),
    )
    .await
}

/// The portal's start page (`GET /ouders`), also as a refused code comes
/// back on it: `m` the notice of the last action, `code` what was typed,
/// `refused` why.
async fn home_page(
    state: &AppState,
    session: &GuardianSession,
    m: &str,
    code: String,
    refused: crate::reasons::Refusal,
) -> Result<Response, Error> {
    let guardian = session.guardian(&state.inner.party);
    let store = &state.inner.store;
    let mut children = Vec::new();
    let mut own = None;
    let mut ended = Vec::new();
    for (i, l) in portal::links(store, &guardian)
        .await?
        .into_iter()
        .enumerate()
    {
        match l.state {
            LinkState::Active if l.linked_as == Invitee::Pupil => own = Some(i + 1),
            LinkState::Active => {
                let link = portal::linked(store, &guardian, &l.child_ref).await?;
                children.push((i + 1, child_name(state, &link).await));
            }
            LinkState::Revoked { at_ms, reason } => ended.push((date_of(at_ms), reason)),
            LinkState::Lapsed { at_ms } => ended.push((
                date_of(at_ms),
                "De school heeft de koppeling niet op tijd verlengd. Neem contact op met school voor een nieuwe code.".to_owned(),
            )),
        }
    }
    let notice = match m {
        "gekoppeld" if own.is_some() && children.is_empty() => {
            Some("Je bent gekoppeld aan je eigen gegevens.")
        }
        "gekoppeld" => Some("Uw kind is gekoppeld."),
        // The pupil on their own portal is addressed as "je".
        "gegeven" if own.is_some() && children.is_empty() => {
            Some("Je hebt toestemming gegeven. Dank je wel.")
        }
        "geweigerd" if own.is_some() && children.is_empty() => {
            Some("Je hebt geen toestemming gegeven. Dat is vastgelegd.")
        }
        "ingetrokken" if own.is_some() && children.is_empty() => {
            Some("Je hebt je toestemming ingetrokken. Wie de gegevens kreeg, krijgt bericht.")
        }
        "gegeven" => Some("U heeft toestemming gegeven. Dank u wel."),
        "geweigerd" => Some("U heeft geen toestemming gegeven. Dat is vastgelegd."),
        "ingetrokken" => {
            Some("U heeft uw toestemming ingetrokken. Wie de gegevens kreeg, krijgt bericht.")
        }
        "zienswijze" if own.is_some() && children.is_empty() => {
            Some("Je reactie is vastgelegd en gaat met het dossier mee.")
        }
        "zienswijze" => Some("Uw reactie is vastgelegd en gaat met het dossier mee."),
        "beeindigd" => Some("De koppeling met dit kind is beëindigd. Hieronder staat waarom."),
        "meldingen" => Some("Uw keuze voor berichten per e-mail is opgeslagen."),
        _ => None,
    };
    let items = crate::notify::waiting::guardian(store, &guardian).await?;
    let mail = match state.inner.config.smtp {
        None => None,
        Some(_) => {
            let person = crate::notify::person(crate::notify::Kind::Guardian, &guardian.id);
            Some(
                crate::notify::mode_of(&store.db, &person)
                    .await?
                    .map(crate::notify::Mode::as_str),
            )
        }
    };
    Ok(render(&HomePage {
        csrf: session.csrf.clone(),
        name: session.name.clone(),
        children,
        own,
        ended,
        notice,
        waiting: crate::notify::waiting::grouped(&items),
        mail,
        code,
        refused,
    }))
}

/// `POST /ouders/meldingen`: how the guardian wants to be told.
pub(crate) async fn notifications(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
    Form(form): Form<crate::pages::MailForm>,
) -> Result<Response, Error> {
    parent.check(form.csrf(), &headers, &state)?;
    if state.inner.config.smtp.is_none() {
        return Err(Error::NotFound);
    }
    let mode = crate::notify::Mode::parse("wijze", form.wijze())?;
    let person = crate::notify::person(crate::notify::Kind::Guardian, &parent.guardian.id);
    crate::notify::choose(&state.inner.store.db, &person, mode).await?;
    Ok(Redirect::to("/ouders?m=meldingen").into_response())
}

/// `GET /ouders/inloggen`: to the guardians' provider.
pub(crate) async fn login(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    match client(&state)? {
        Some(oidc) => Ok(oidc.begin(jar, state.inner.config.secure_cookies)),
        None => match &state.inner.login {
            crate::Login::Demo(personas) => Ok(crate::demo::page(personas, true)),
            crate::Login::Oidc { .. } => Err(Error::NotFound),
        },
    }
}

/// `GET /ouders/auth/callback`: a guardian's login comes back; the session
/// holds the pseudonym of the login and the name it gave.
pub(crate) async fn callback(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(answer): Query<Callback>,
) -> Result<Response, Error> {
    let config = &state.inner.config;
    let oidc = client(&state)?.ok_or(Error::NotFound)?;
    let (jar, login) = oidc.finish(jar, answer).await?;
    let guardian = guardian_of(&state, &login);
    let tokens = Tokens {
        id_token: login.id_token,
        access_token: login.access_token,
        refresh_token: login.refresh_token,
    };
    let (id, _) = sessions::create(
        &state.inner.store.db,
        &sessions::New {
            kind: Kind::Guardian,
            subject: &guardian.id,
            roles: &[],
            name: &guardian.name,
            tokens: &tokens,
            expires_at_ms: now_ms() + config.session_minutes.min(60) * 60_000,
        },
    )
    .await?;
    crate::notify::remember(
        &state.inner.store.db,
        crate::notify::Kind::Guardian,
        &guardian.id,
        &[],
        login.email.as_deref(),
    )
    .await?;
    tracing::info!(party = %state.inner.party, "guardian signed in");
    let jar = crate::session::start(jar, GUARDIAN_COOKIE, id, config.secure_cookies);
    Ok((jar, Redirect::to("/ouders")).into_response())
}

/// The guardian a login (or a re-check of it) names: the pseudonym of its
/// issuer and subject, and the name its claim gives.
pub(crate) fn guardian_of(state: &AppState, login: &crate::oidc::Verified) -> Guardian {
    let name_claim = state
        .inner
        .config
        .guardian_oidc
        .as_ref()
        .map_or("name", |g| g.name_claim.as_str());
    Guardian::from_login(
        state.inner.party.clone(),
        &state.inner.signing,
        &login.issuer,
        &login.subject,
        &login.text(name_claim).unwrap_or_default(),
    )
}

/// `POST /ouders/uitloggen`: ends the session here (for every copy of the
/// cookie, not only on this phone; without asking the provider first, so it
/// works while the provider is down) and at the provider.
pub(crate) async fn logout(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<crate::session::CsrfForm>,
) -> Result<Response, Error> {
    let oidc = client(&state)?;
    let session = GuardianSession::to_end(&state, &jar)
        .await?
        .ok_or(Error::Unauthenticated)?;
    session.check_csrf(&form.csrf, &headers, &state.inner.config.public_url)?;
    sessions::end(&state.inner.store.db, &session.id).await?;
    let jar = jar.remove(GUARDIAN_COOKIE);
    let back = format!(
        "{}/ouders",
        state.inner.config.public_url.trim_end_matches('/')
    );
    let target = match oidc {
        Some(oidc) => oidc.end_session_url(&session.id_token, back),
        None => back,
    };
    Ok((jar, Redirect::to(&target)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    csrf: String,
    code: String,
}

/// `POST /ouders/koppelen`: the school's one-time code links the child.
pub(crate) async fn redeem(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, Error> {
    parent.check(&form.csrf, &headers, &state)?;
    if let Err(e) = portal::redeem(&state.inner.store, &parent.guardian, &form.code).await {
        // The start page again, the code as typed and what to do (the
        // refusal names no child: it says only that the code does not work).
        let refused = crate::reasons::refusal(e.into())?.at(&[("code", "code")]);
        let page = home_page(
            &state,
            &parent.session,
            "",
            form.code.trim().chars().take(64).collect(),
            crate::reasons::Refusal(Some(refused.clone())),
        )
        .await?;
        return Ok(refused.respond(page));
    }
    Ok(Redirect::to("/ouders?m=gekoppeld").into_response())
}

/// The link to the child at place `n` of the guardian's list, proven again
/// now; `Err` is the answer instead: a link the school ended sends the
/// guardian to the start page, which says why (the refusal is audited).
async fn nth(
    state: &AppState,
    guardian: &Guardian,
    n: usize,
) -> Result<Result<Linked, Response>, Error> {
    let store = &state.inner.store;
    let links = portal::links(store, guardian).await?;
    let link = n
        .checked_sub(1)
        .and_then(|i| links.get(i))
        .ok_or(Error::NotFound)?;
    match portal::linked(store, guardian, &link.child_ref).await {
        Ok(linked) => Ok(Ok(linked)),
        Err(_) if link.state != LinkState::Active => {
            Ok(Err(Redirect::to("/ouders?m=beeindigd").into_response()))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "portal_child.html")]
struct ChildPage {
    csrf: String,
    n: usize,
    name: String,
    requests: Vec<ConsentLine>,
    current: Vec<ConsentLine>,
    /// (link, what it is, state, what the guardian answered)
    dossiers: Vec<(String, &'static str, String, String)>,
    /// The child's plan at this school, if there is one the guardian may see.
    has_plan: bool,
    /// The school's support requests about the child (the SWV's slice).
    support: Vec<crate::support::portal::Line>,
    /// Whether "who saw what" is the guardian's to see.
    disclosures: bool,
    /// Why the page shows nothing about the child, where the pupil decides.
    pupil_decides: Option<&'static str>,
    /// The reader is the pupil themself: the page says "je" and "mijn".
    pupil: bool,
    /// What the last action did, said on the child's page it returns to.
    notice: Option<&'static str>,
}

struct ConsentLine {
    id: String,
    purpose: &'static str,
    recipients: String,
    categories: Vec<&'static str>,
    /// Until when (dd-mm-jjjj), or empty.
    until: String,
    status: &'static str,
    /// The date of the answer or change shown (dd-mm-jjjj).
    on: String,
}

/// What an action on the portal did, in the words of the one who did it
/// (`pupil`: the pupil on their own page, addressed as "je").
fn notice_text(m: &str, pupil: bool) -> Option<&'static str> {
    Some(match (m, pupil) {
        ("gegeven", true) => "Je hebt toestemming gegeven. Dank je wel.",
        ("geweigerd", true) => "Je hebt geen toestemming gegeven. Dat is vastgelegd.",
        ("ingetrokken", true) => {
            "Je hebt je toestemming ingetrokken. Wie de gegevens kreeg, krijgt bericht en mag ze niet meer gebruiken."
        }
        ("zienswijze", true) => "Je reactie is vastgelegd en gaat met het dossier mee.",
        ("gegeven", false) => "U heeft toestemming gegeven. Dank u wel.",
        ("geweigerd", false) => "U heeft geen toestemming gegeven. Dat is vastgelegd.",
        ("ingetrokken", false) => {
            "U heeft uw toestemming ingetrokken. Wie de gegevens kreeg, krijgt bericht en mag ze niet meer gebruiken."
        }
        ("zienswijze", false) => "Uw reactie is vastgelegd en gaat met het dossier mee.",
        _ => return None,
    })
}

/// The child's page in the guardian's list (`/ouders/kind/{n}`) for the
/// child `link` is about, with what was just done (`m`); the start page if
/// the child is not (or no longer) in the list.
async fn back_to_child(state: &AppState, link: &Linked, m: &str) -> Result<Response, Error> {
    let links = portal::links(&state.inner.store, link.guardian()).await?;
    let to = match links.iter().position(|l| l.child_ref == link.child_ref()) {
        Some(i) => format!("/ouders/kind/{}?m={m}", i + 1),
        None => format!("/ouders?m={m}"),
    };
    Ok(Redirect::to(&to).into_response())
}

fn recipients_text(state: &AppState, c: &carenet_proto::v1::ConsentVersion) -> String {
    // A parent reads names; an id the directory does not name means nothing to them.
    labels::recipients(state, &c.recipients, |_| {
        "een andere organisatie".to_owned()
    })
}

/// `GET /ouders/kind/{n}`: what waits for the guardian about this child.
pub(crate) async fn child(
    State(state): State<AppState>,
    parent: Parent,
    Path(n): Path<usize>,
    Query(notice): Query<Notice>,
) -> Result<Response, Error> {
    let link = match nth(&state, &parent.guardian, n).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    let store = &state.inner.store;
    let access = link.access();
    let mut requests = Vec::new();
    let mut current = Vec::new();
    for c in portal::consents(store, &link).await? {
        let line = ConsentLine {
            id: c.version.record_id.clone(),
            purpose: if link.is_pupil() {
                labels::purpose_code_for_pupil(&c.version.purpose)
            } else {
                labels::purpose_code(&c.version.purpose)
            },
            recipients: recipients_text(&state, &c.version),
            categories: if link.is_pupil() {
                labels::categories_for_pupil(&c.version.categories)
            } else {
                labels::categories(&c.version.categories)
            },
            until: labels::date_text(&c.version.valid_until),
            status: labels::consent_status(carenet_consent::record::status_name(c.status())),
            on: date_of(c.version.recorded_at_ms),
        };
        match c.status() {
            ConsentStatus::Requested => requests.push(line),
            _ => current.push(line),
        }
    }
    let mut dossiers = Vec::new();
    for (id, version, st) in dossier::for_guardian(store, &link).await? {
        let what = match st {
            DossierState::AwaitingInspection if link.is_pupil() => {
                "Je overdrachtsdossier: lees het en geef je reactie"
            }
            DossierState::AwaitingInspection => "Overdrachtsdossier: lees het en geef uw reactie",
            _ if link.is_pupil() => "Je overdrachtsdossier",
            _ => "Overdrachtsdossier",
        };
        let answer = match dossier::guardians_answer(store, &dossier::get(store, &id).await?)
            .await?
        {
            Some((on, akkoord)) => answer_text(&labels::date_text(&on), &akkoord, link.is_pupil()),
            None => String::new(),
        };
        let status = match carenet_handover::season::withdrawn_at(store, &id, version).await? {
            Some(at) => format!(
                "ingetrokken op {}: de nieuwe school kan het niet meer lezen",
                date_of(at)
            ),
            None => labels::dossier_status_for_parent(st.as_str()).to_owned(),
        };
        dossiers.push((
            crate::href::path(&["ouders", "dossier", &id]),
            what,
            status,
            answer,
        ));
    }
    let has_plan = carenet_caseplan::plan::has_plan(store, &link).await?;
    let support = crate::support::portal::lines(&state, &link, n).await?;
    let pupil_decides = match access.age() {
        _ if link.is_pupil() && access.nothing_to_decide() => Some(
            "Je bent jonger dan 16. Je ouders beslissen nu nog over je gegevens; \
             vanaf je 16e verjaardag beslis je hier zelf.",
        ),
        _ if !access.pupil_decides() => None,
        Some(_) => Some(
            "Uw kind is 16 jaar of ouder en beslist nu zelf over zijn of haar gegevens. \
             Wat uw kind zelf heeft besloten, ziet u hier niet.",
        ),
        None => Some(
            "De school heeft de geboortedatum van uw kind nog niet vastgelegd. \
             Daarom toont het portaal nog niets over uw kind. Neem contact op met school.",
        ),
    };
    Ok(render(&ChildPage {
        csrf: parent.session.csrf,
        n,
        name: if link.is_pupil() {
            "Mijn gegevens".to_owned()
        } else {
            child_name(&state, &link).await
        },
        requests,
        current,
        dossiers,
        has_plan,
        support,
        disclosures: access.page(Page::Disclosures),
        pupil_decides,
        pupil: link.is_pupil(),
        notice: notice_text(&notice.m, link.is_pupil()),
    }))
}

/// What the guardian (or the pupil) answered on the dossier, said back.
fn answer_text(on: &str, akkoord: &str, pupil: bool) -> String {
    let said = match akkoord {
        "Ja" => "akkoord",
        "Nee" => "niet akkoord",
        _ => "geen antwoord op de vraag of het klopt",
    };
    if pupil {
        format!("Je hebt het gelezen op {on}. Je antwoord: {said}.")
    } else {
        format!("U heeft het gelezen op {on}. Uw antwoord: {said}.")
    }
}

#[derive(Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// `geven`, `weigeren` or `intrekken`.
    besluit: String,
}

/// `POST /ouders/toestemming/{record}`: grant, refuse or withdraw.
pub(crate) async fn decide(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
    Path(record): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, Error> {
    parent.check(&form.csrf, &headers, &state)?;
    let store = &state.inner.store;
    let (link, _) = portal::linked_by_record(store, &parent.guardian, &record).await?;
    let today = carenet_fabric::clock::today();
    let done = match form.besluit.as_str() {
        "geven" => {
            portal::decide(store, &link, &record, true, today).await?;
            "gegeven"
        }
        "weigeren" => {
            portal::decide(store, &link, &record, false, today).await?;
            "geweigerd"
        }
        "intrekken" => {
            portal::withdraw(store, &link, &record).await?;
            "ingetrokken"
        }
        _ => return Err(Error::invalid("besluit", "geven, weigeren of intrekken")),
    };
    back_to_child(&state, &link, done).await
}

#[derive(Template)]
#[template(path = "portal_withdraw.html")]
struct WithdrawPage {
    csrf: String,
    id: String,
    purpose: &'static str,
    recipients: String,
    /// Whether it is the consent to send the transfer dossier.
    transfer: bool,
    /// Where "no" goes back to: the child's page.
    back: String,
    pupil: bool,
}

/// `GET /ouders/toestemming/{record}/intrekken`: before a guardian (or the
/// pupil) withdraws a consent, what that does, in plain words; the button
/// on it withdraws ([`decide`]).
pub(crate) async fn confirm_withdrawal(
    State(state): State<AppState>,
    parent: Parent,
    Path(record): Path<String>,
) -> Result<Response, Error> {
    let store = &state.inner.store;
    let (link, c) = portal::linked_by_record(store, &parent.guardian, &record).await?;
    if c.status() != ConsentStatus::Granted {
        return Err(Error::invalid(
            "besluit",
            "only a given consent can be withdrawn",
        ));
    }
    let links = portal::links(store, &parent.guardian).await?;
    let back = match links.iter().position(|l| l.child_ref == link.child_ref()) {
        Some(i) => format!("/ouders/kind/{}", i + 1),
        None => "/ouders".to_owned(),
    };
    Ok(render(&WithdrawPage {
        csrf: parent.session.csrf,
        id: c.version.record_id.clone(),
        purpose: if link.is_pupil() {
            labels::purpose_code_for_pupil(&c.version.purpose)
        } else {
            labels::purpose_code(&c.version.purpose)
        },
        recipients: recipients_text(&state, &c.version),
        transfer: c.version.purpose == carenet_consent::Purpose::TransferDossier.as_str(),
        back,
        pupil: link.is_pupil(),
    }))
}

#[derive(Template)]
#[template(path = "portal_dossier.html")]
struct DossierPage {
    csrf: String,
    id: String,
    pupil: String,
    /// Everything the dossier holds, as the receiving school's page shows it
    /// (the same renderer, [`crate::handover::dossier_content`]).
    content: crate::handover::dossier_content::DossierContent,
    open: bool,
    /// The version shown, and the hash of its content (hex; sent back with
    /// the answer, so the akkoord is bound to exactly this content).
    version: u32,
    content_sha256: String,
    /// The hash as the page shows it (groups of eight).
    content_short: String,
    /// The reader is the pupil themself (16 or older): the page says "je".
    own: bool,
    /// What they answered on this version, said back; empty before.
    answer: String,
    /// Their own words with it, if any.
    view: String,
    /// The child's page, where "terug" goes.
    back: String,
}

/// The guardian's link to the child `id` is about; another child's dossier
/// is refused (audited).
async fn dossier_link(state: &AppState, guardian: &Guardian, id: &str) -> Result<Linked, Error> {
    let store = &state.inner.store;
    let d = dossier::get(store, id).await?;
    Ok(portal::linked(store, guardian, &d.child_ref).await?)
}

/// `GET /ouders/dossier/{id}`: the transfer dossier as it will leave:
/// every part the receiving school gets (OSO's categories, the handbook's
/// extras, the attachments to download), in the version the guardians are
/// asked about, with the hash of that content; their answer is bound to it.
/// Whoever the age rules let read the dossier sees this page
/// ([`carenet_consent::access`]).
pub(crate) async fn read_dossier(
    State(state): State<AppState>,
    parent: Parent,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let link = dossier_link(&state, &parent.guardian, &id).await?;
    let d = dossier::read_by_guardian(&state.inner.store, &link, &id).await?;
    let answer = match dossier::guardians_answer(&state.inner.store, &d).await? {
        Some((on, akkoord)) => answer_text(&labels::date_text(&on), &akkoord, link.is_pupil()),
        None => String::new(),
    };
    let links = portal::links(&state.inner.store, &parent.guardian).await?;
    let back = match links.iter().position(|l| l.child_ref == link.child_ref()) {
        Some(i) => format!("/ouders/kind/{}", i + 1),
        None => "/ouders".to_owned(),
    };
    let hash = carenet_handover::inzage::ContentHash::of(&d.dossier).hex();
    let content = crate::handover::dossier_content::content(&d.dossier, |n| {
        crate::href::path(&["ouders", "dossier", &id, "bijlagen", &n.to_string()])
    });
    Ok(render(&DossierPage {
        csrf: parent.session.csrf,
        id: d.id.clone(),
        pupil: content.pupil.clone(),
        content,
        open: d.state == DossierState::AwaitingInspection,
        version: d.version,
        content_short: carenet_handover::inzage::short(&hash),
        content_sha256: hash,
        own: link.is_pupil(),
        view: if answer.is_empty() {
            String::new()
        } else {
            d.dossier.extras.guardian_view.clone().unwrap_or_default()
        },
        answer,
        back,
    }))
}

/// `GET /ouders/dossier/{id}/bijlagen/{n}`: attachment `n` of the dossier (as
/// the page numbers them), as a download: its content type, always
/// `Content-Disposition: attachment`, never HTML; the reading is audited.
pub(crate) async fn attachment(
    State(state): State<AppState>,
    parent: Parent,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, Error> {
    let link = dossier_link(&state, &parent.guardian, &id).await?;
    let a = dossier::attachment_by_guardian(
        &state.inner.store,
        &link,
        &id,
        |d| crate::handover::dossier_content::attachment(d, n),
        |a| &a.bytes,
    )
    .await?;
    Ok(crate::handover::dossier_content::download(a))
}

#[derive(Deserialize)]
pub(crate) struct ViewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    zienswijze: String,
    akkoord: String,
    /// The content hash of the version the page showed.
    #[serde(default)]
    inhoud: String,
}

/// `POST /ouders/dossier/{id}/zienswijze`: the guardians' view and whether
/// they agree with the content; the dossier is then ready to send.
pub(crate) async fn give_view(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ViewForm>,
) -> Result<Response, Error> {
    parent.check(&form.csrf, &headers, &state)?;
    let link = dossier_link(&state, &parent.guardian, &id).await?;
    let akkoord = match form.akkoord.as_str() {
        "ja" => Akkoord::Yes,
        "nee" => Akkoord::No,
        _ => return Err(Error::invalid("akkoord", "kies akkoord of niet akkoord")),
    };
    if form.zienswijze.chars().count() > 4000 {
        return Err(Error::invalid("zienswijze", "at most 4000 characters"));
    }
    let view = GuardiansView::new(Some(form.zienswijze), akkoord);
    dossier::record_inspection_by_guardian(&state.inner.store, &link, &id, view, &form.inhoud)
        .await?;
    back_to_child(&state, &link, "zienswijze").await
}

#[derive(Template)]
#[template(path = "portal_seen.html")]
struct SeenPage {
    csrf: String,
    n: usize,
    /// (when, what, to whom)
    lines: Vec<(String, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "portal_plan.html")]
struct PlanPage {
    csrf: String,
    n: usize,
    name: String,
    status: &'static str,
    coordinator: String,
    reports_back: String,
    evaluation_on: String,
    /// (text, measure, target date)
    goals: Vec<(String, String, String)>,
    /// (who, what, due, state)
    actions: Vec<(String, String, String, &'static str)>,
    /// (held on, text)
    evaluations: Vec<(String, String)>,
}

/// `GET /ouders/kind/{n}/plan`: the plan of action around this child (one
/// child, one plan), as the case coordinator keeps it, without the goals
/// and actions the guardian may not see today (the slice leaves them out:
/// neither shown nor counted); the reading is audited.
pub(crate) async fn plan(
    State(state): State<AppState>,
    parent: Parent,
    Path(n): Path<usize>,
) -> Result<Response, Error> {
    let link = match nth(&state, &parent.guardian, n).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    let store = &state.inner.store;
    let Some(p) = carenet_caseplan::plan::for_guardian(store, &link).await? else {
        return Err(Error::NotFound);
    };
    let name = if p.pupil.name.is_empty() {
        child_name(&state, &link).await
    } else {
        p.pupil.name.clone()
    };
    Ok(render(&PlanPage {
        csrf: parent.session.csrf,
        n,
        name,
        status: if p.header.status == "open" {
            "loopt"
        } else {
            "afgesloten"
        },
        coordinator: p.header.coordinator.clone(),
        reports_back: p.header.reports_back.clone(),
        evaluation_on: labels::date_text(&p.header.evaluation_on),
        goals: p
            .goals
            .iter()
            .map(|g| {
                // An ended goal says so: behaald or vervallen.
                let text = if matches!(g.status.as_str(), "open" | "") {
                    g.text.clone()
                } else {
                    format!(
                        "{} ({})",
                        g.text,
                        crate::caseplan::plan_change::goal_status(&g.status)
                    )
                };
                (text, g.measure.clone(), labels::date_text(&g.target_on))
            })
            .collect(),
        actions: p
            .tasks
            .iter()
            .map(|t| {
                (
                    labels::party_name(&state, &t.owner),
                    t.what.clone(),
                    labels::date_text(&t.due_on),
                    crate::caseplan::plans::task_state(&t.state),
                )
            })
            .collect(),
        evaluations: p
            .evaluations
            .iter()
            .map(|e| (labels::date_text(&e.held_on), e.text.clone()))
            .collect(),
    }))
}

/// `GET /ouders/kind/{n}/gezien`: who saw what about this child.
pub(crate) async fn seen(
    State(state): State<AppState>,
    parent: Parent,
    Path(n): Path<usize>,
) -> Result<Response, Error> {
    let link = match nth(&state, &parent.guardian, n).await? {
        Ok(link) => link,
        Err(answer) => return Ok(answer),
    };
    let store = &state.inner.store;
    // What receiving schools reported reading since the last look.
    carenet_handover::incoming::sync(store).await?;
    let lines = portal::disclosures(store, &link)
        .await?
        .into_iter()
        .map(|d| {
            let to = store
                .directory()
                .and_then(|dir| dir.get(&d.recipient))
                .map_or_else(String::new, |e| e.name.clone());
            (date_of(d.at_ms), labels::disclosure_action(&d.action), to)
        })
        .collect();
    Ok(render(&SeenPage {
        csrf: parent.session.csrf,
        n,
        lines,
    }))
}
