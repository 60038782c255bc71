//! The pages, server-rendered in Dutch, and the security headers every
//! answer carries.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;

use crate::session::{Session, role_label};
use crate::{AppState, Error};

#[derive(Template)]
#[template(path = "start.html")]
struct Start<'a> {
    /// The party's and the signed-in person's names.
    party: String,
    staff: String,
    roles: Vec<&'static str>,
    csrf: &'a str,
    /// "Wat wacht op mij": (what, how many, the page to do it on); empty
    /// when nothing is this role's to do.
    waiting: Vec<(&'static str, usize, String)>,
    /// Requests for a dossier from a school that is not the pupil's
    /// recorded destination, waiting for the IB's answer.
    requests: Vec<crate::handover::requests::RequestRow>,
    notice: Option<String>,
    /// E-mail notifications: `None` when they are off (no `[smtp]`);
    /// else the person's choice, `None` inside when their login gave no
    /// address.
    mail: Option<Option<&'static str>>,
}

/// What waits for this member of staff, each line (what, how many, the
/// filtered list that shows exactly those) asked only of a role that may do
/// that work, at a kind of party that does it ([`crate::terms`]), so that a
/// page view is no audited refusal and nothing leads to "Geen toegang":
/// a coordinator the dossiers to compose, send and assign, feedback due and
/// the overdue actions and evaluations of their plans; a mentor (an SLB)
/// their new pupils' dossiers unread; a partner their own actions, those
/// past their date, and the plans new or changed. Dossier requests are
/// listed on the page itself.
async fn waiting(
    state: &AppState,
    actor: &carenet_fabric::Actor,
) -> Result<Vec<(&'static str, usize, String)>, Error> {
    use crate::notify::waiting::{self as derived, Event};
    use carenet_handover::{incoming, roles, season};
    let store = &state.inner.store;
    let kind = state.inner.kind;
    let terms = crate::terms::of(kind);
    // What the notifications mail about, derived in one place.
    let items = derived::staff(store, actor).await?;
    let counted = |event: Event| items.iter().filter(|i| i.event == event).count();
    let may = |rule: &carenet_fabric::actor::Rule| actor.may(&state.inner.party, rule).is_ok();
    let mut waiting: Vec<(&'static str, usize, String)> = Vec::new();
    let mut line = |show: bool, what: &'static str, n: usize, href: &str| {
        if show {
            waiting.push((what, n, href.to_owned()));
        }
    };
    if terms.dossiers() && may(&roles::overview(kind)) {
        let rows = season::season(
            store,
            kind,
            actor,
            season::school_year_start_ms(),
            &season::Filter::default(),
        )
        .await?;
        let count = |direction: &str, status: &str| {
            rows.iter()
                .filter(|r| r.direction == direction && r.status == status)
                .count()
        };
        let sends = terms.sends_dossiers;
        line(
            sends && may(&roles::COMPOSE),
            "Dossiers samen te stellen",
            count("out", "draft"),
            "/dossiers?richting=uit&status=draft",
        );
        line(
            sends && may(&roles::INSPECTION),
            "Inzage door ouders open",
            count("out", "awaiting_inspection"),
            "/dossiers?richting=uit&status=awaiting_inspection",
        );
        line(
            sends && may(&roles::PUBLISH),
            "Klaar om te versturen",
            count("out", "ready"),
            "/dossiers?richting=uit&status=ready",
        );
        // Receiving is a primary school's work only when a pupil moved
        // between primary schools: listed when one waits.
        let assign = may(&roles::assign(kind));
        let received = count("in", "received");
        let assigned = count("in", "assigned");
        line(
            assign && (terms.receives_dossiers || received > 0),
            "Ontvangen dossiers toe te wijzen",
            received,
            "/dossiers?richting=in&status=received",
        );
        line(
            assign && (terms.receives_dossiers || assigned > 0),
            "Toegewezen, nog niet gelezen",
            assigned,
            "/dossiers?richting=in&status=assigned",
        );
        line(
            may(&roles::WARM),
            "Warme overdrachten gepland",
            rows.iter().filter(|r| r.warm_handover == "planned").count(),
            "/dossiers?warm=gepland",
        );
    }
    let me = actor.staff.as_str();
    let school = roles::speaks_for_all(actor);
    if terms.dossiers() && may(&roles::FEEDBACK_SEND) {
        let due = incoming::feedback_due(
            store,
            carenet_fabric::clock::now_ms(),
            state.inner.feedback_after_days,
        )
        .await?;
        // A coordinator answers for the school; a mentor for their pupils.
        let n = due
            .iter()
            .filter(|i| {
                school || i.mentor.as_deref() == Some(me) || i.teachers.iter().any(|t| t == me)
            })
            .count();
        let page = if school {
            "/dossiers?terugkoppeling=te-geven"
        } else {
            "/mijn-leerlingen?terugkoppeling=te-geven"
        };
        line(
            terms.receives_dossiers || n > 0,
            "Terugkoppeling te geven",
            n,
            page,
        );
    }
    if may(&roles::FEEDBACK_READ) {
        let mut dossiers: Vec<String> =
            derived::feedback_received(store, carenet_fabric::clock::now_ms())
                .await?
                .into_iter()
                .map(|(_, dossier)| dossier)
                .collect();
        dossiers.sort_unstable();
        dossiers.dedup();
        line(
            !dossiers.is_empty(),
            "Terugkoppeling ontvangen",
            dossiers.len(),
            "/dossiers?terugkoppeling=ontvangen",
        );
    }
    // Reading is recorded for the mentor (it tells the sending school): the
    // mentor's (at a follow-up institution the SLB's) unread pupils.
    line(
        terms.dossiers() && roles::is_mentor(actor),
        "Dossiers van nieuwe leerlingen te lezen",
        counted(Event::NewPupil),
        "/mijn-leerlingen?ongelezen=1",
    );
    // A ZAT member: the case files the chair sent before the meeting.
    if may(&carenet_referral::roles::ZAT_MEMBER) {
        let n = carenet_referral::zat::received_waiting(store).await?;
        line(
            true,
            "ZAT-dossiers voor het overleg",
            n,
            "/zat/ontvangen?wacht=1",
        );
    }
    // The case coordinator: overdue actions and evaluations due.
    let holds = may(&carenet_caseplan::roles::READ);
    line(
        holds,
        "Acties over de datum",
        counted(Event::TaskOverdue),
        "/plannen?acties=verlopen",
    );
    line(
        holds,
        "Evaluaties van een plan te houden",
        counted(Event::EvaluationDue),
        "/plannen?evaluatie=te-houden",
    );
    // A member party: its own actions in the plans it is a member of, and
    // the plans that came in or changed.
    if may(&carenet_caseplan::roles::MEMBER) {
        let own = carenet_caseplan::work::own(store, actor).await?;
        let today = derived::day(0);
        let late = own.iter().filter(|a| a.overdue(&today)).count();
        let now = carenet_fabric::clock::now_ms();
        let new = carenet_caseplan::member::list(store, actor)
            .await?
            .iter()
            .filter(|l| l.received_at_ms >= now - derived::RECENT_MS)
            .count();
        // A coordinator's own plans come first; theirs as a member when any.
        line(
            !holds || !own.is_empty(),
            "Mijn acties in plannen",
            own.len(),
            "/plannen?mijn-acties=1",
        );
        line(
            !holds || late > 0,
            "Mijn acties over de datum",
            late,
            "/plannen?mijn-acties=verlopen",
        );
        line(
            !holds || new > 0,
            "Nieuwe of gewijzigde plannen",
            new,
            "/plannen?nieuw=1",
        );
    }
    // The actions of plans that name this person (a mentor's, a teacher's).
    if let Some(what) = crate::caseplan::my_actions::line_for(state, actor) {
        let n = carenet_caseplan::work::named(store, actor, true)
            .await?
            .len();
        line(
            what == "Mijn acties in plannen" || n > 0,
            what,
            n,
            crate::caseplan::my_actions::OPEN,
        );
    }
    // The yearly review of the parent portal's links: the coordinators'.
    if may(&carenet_consent::links::LINKS) {
        let due = carenet_consent::links::due_for_review(
            store,
            actor,
            crate::consent::links::REVIEW_AHEAD_DAYS,
        )
        .await?;
        line(
            true,
            "Koppelingen ouderportaal te verlengen",
            due,
            "/ouderportaal?verlengen=1",
        );
    }
    Ok(waiting)
}

tokio::task_local! {
    /// The main menu of the staff member this request is for: set when the
    /// request's [`crate::session::Staff`] is made, read by `staff.html`.
    static MENU: std::cell::RefCell<Vec<(&'static str, &'static str)>>;
}

/// Middleware: gives every request its own menu (empty until a staff
/// member signs the request).
pub(crate) async fn menu_scope(request: Request, next: Next) -> Response {
    MENU.scope(std::cell::RefCell::new(Vec::new()), next.run(request))
        .await
}

/// The main menu for `actor`: only the pages whose rules let this person
/// in, each asked of the slice's own role table, and only the pages this
/// kind of party works with at all (a ZAT partner or the SWV has no
/// transfer dossiers, no IZO; an mbo's studieloopbaanbegeleider gets no IZO
/// or ZAT), named in this kind's own words ([`crate::terms`]).
pub(crate) fn menu_for(
    state: &AppState,
    actor: &carenet_fabric::Actor,
) -> Vec<(&'static str, &'static str)> {
    menu_of(state.inner.kind, &state.inner.party, actor)
}

/// [`menu_for`] at party `party` of `kind`.
fn menu_of(
    kind: carenet_fabric::PartyKind,
    party: &carenet_fabric::PartyId,
    actor: &carenet_fabric::Actor,
) -> Vec<(&'static str, &'static str)> {
    use carenet_handover::roles;
    let may = |rule: &carenet_fabric::actor::Rule| actor.may(party, rule).is_ok();
    let terms = crate::terms::of(kind);
    let mut menu = vec![("/", "Start")];
    for (allowed, item) in [
        (
            terms.dossiers() && may(&roles::overview(kind)),
            ("/dossiers", "Dossiers"),
        ),
        (
            terms.dossiers() && may(&roles::DIGEST),
            ("/mijn-leerlingen", "Mijn leerlingen"),
        ),
        (
            may(&carenet_consent::roles::REQUEST),
            ("/toestemming", "Toestemming"),
        ),
        (
            terms.care_meetings && may(&carenet_referral::roles::REGISTER),
            ("/izo", terms.internal_menu),
        ),
        (
            terms.care_meetings && may(&carenet_referral::roles::ZAT_CHAIR),
            ("/zat", terms.team_menu),
        ),
        (
            may(&carenet_caseplan::roles::READ) || may(&carenet_caseplan::roles::MEMBER),
            ("/plannen", "Plannen"),
        ),
        (
            crate::caseplan::my_actions::in_menu(party, actor),
            (crate::caseplan::my_actions::LIST, "Mijn acties"),
        ),
        (
            may(&carenet_consent::links::LINKS),
            ("/ouderportaal", "Ouderportaal"),
        ),
        (
            terms.care_meetings && may(&carenet_support::roles::SCHOOL),
            ("/ondersteuning", "Ondersteuning SWV"),
        ),
        (
            kind == carenet_fabric::PartyKind::Swv && may(&carenet_support::roles::SWV_READ),
            ("/ondersteuning", "Aanvragen"),
        ),
        (
            kind == carenet_fabric::PartyKind::Swv && may(&carenet_support::roles::SWV_READ),
            ("/ondersteuning/overzicht", "Overzicht regio"),
        ),
    ] {
        if allowed {
            menu.push(item);
        }
    }
    menu
}

/// Sets this request's menu (see [`menu_scope`]).
pub(crate) fn set_menu(items: Vec<(&'static str, &'static str)>) {
    let _ = MENU.try_with(|m| *m.borrow_mut() = items);
}

/// This request's menu, for the staff pages' template.
pub(crate) fn menu() -> Vec<(&'static str, &'static str)> {
    MENU.try_with(|m| m.borrow().clone()).unwrap_or_default()
}

static DEMO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process serves demo gateways: every page says so.
pub(crate) fn mark_demo() {
    DEMO.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A new id for a form that writes a record (`form_id`): the slice records
/// the same form sent twice (a double click, a resent page) once.
pub fn form_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// Whether the pages carry the DEMO banner.
pub fn demo_mode() -> bool {
    DEMO.load(std::sync::atomic::Ordering::Relaxed)
}

/// A moment as a Dutch date (dd-mm-jjjj), on the Dutch calendar (a moment
/// just after midnight in Amsterdam is that day, not the UTC day before).
pub(crate) fn date_of(ms: i64) -> String {
    carenet_consent::record::date_text(&carenet_consent::record::format_date(
        carenet_fabric::clock::date_of(ms),
    ))
}

/// After a form: redirect to `to` (post/redirect/get, so reloading the page
/// does not send the form again), leaving `text` for that page to show once.
pub(crate) fn done(state: &AppState, jar: PrivateCookieJar, to: &str, text: &str) -> Response {
    let cookie = crate::session::cookie(
        crate::session::NOTICE_COOKIE,
        format!("{to}\n{text}"),
        state.inner.config.secure_cookies,
    );
    (jar.add(cookie), Redirect::to(to)).into_response()
}

/// The notice a form left for the page at `here`, taken so it shows once;
/// a notice for another page (its redirect failed) is dropped, not shown
/// out of place.
pub(crate) fn notice(jar: PrivateCookieJar, here: &str) -> (PrivateCookieJar, Option<String>) {
    let Some(cookie) = jar.get(crate::session::NOTICE_COOKIE) else {
        return (jar, None);
    };
    let text = cookie
        .value()
        .split_once('\n')
        .filter(|(to, _)| *to == here)
        .map(|(_, text)| text.to_owned());
    let removal = axum_extra::extract::cookie::Cookie::build(crate::session::NOTICE_COOKIE)
        .path("/")
        .build();
    (jar.remove(removal), text)
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    text: &'a str,
    /// A refused step: what to do, in Dutch, and where.
    refused: Option<&'a crate::reasons::Refused>,
}

pub(crate) fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            (StatusCode::INTERNAL_SERVER_ERROR, "Er ging iets mis").into_response()
        }
    }
}

pub(crate) fn error_page(
    status: StatusCode,
    title: &str,
    text: &str,
    refused: Option<&crate::reasons::Refused>,
) -> Response {
    let mut response = render(&ErrorPage {
        title,
        text,
        refused,
    });
    *response.status_mut() = status;
    response
}

/// `GET /`: the start page for who is signed in, or the way to sign in.
pub(crate) async fn start(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let Some(session) = Session::of(&state, &jar).await? else {
        return Ok(render(&Login));
    };
    // The actor the slices check; an invalid login ends here.
    let actor = session.actor(&state.inner.party)?;
    set_menu(menu_for(&state, &actor));
    let (jar, notice) = notice(jar, "/");
    let mail = match state.inner.config.smtp {
        None => None,
        Some(_) => {
            let person = crate::notify::person(crate::notify::Kind::Staff, &session.staff);
            Some(
                crate::notify::mode_of(&state.inner.store.db, &person)
                    .await?
                    .map(crate::notify::Mode::as_str),
            )
        }
    };
    let page = render(&Start {
        party: crate::labels::party_name(&state, state.inner.party.as_str()),
        staff: crate::staff_directory::name_of(&state, &session.staff).await?,
        roles: session.roles.iter().map(|r| role_label(r)).collect(),
        csrf: &session.csrf,
        waiting: waiting(&state, &actor).await?,
        requests: crate::handover::requests::work_list(&state, &actor).await?,
        notice,
        mail,
    });
    Ok((jar, page).into_response())
}

#[derive(serde::Deserialize)]
pub(crate) struct MailForm {
    #[serde(default)]
    csrf: String,
    /// `per_bericht` or `dagelijks`.
    #[serde(default)]
    wijze: String,
}

impl MailForm {
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }
    pub(crate) fn wijze(&self) -> &str {
        &self.wijze
    }
}

/// `POST /meldingen`: how a member of staff wants to be told.
pub(crate) async fn notifications(
    State(state): State<AppState>,
    staff: crate::session::Staff,
    jar: PrivateCookieJar,
    headers: axum::http::HeaderMap,
    crate::form::Form(form): crate::form::Form<MailForm>,
) -> Result<Response, Error> {
    staff.check(&form.csrf, &headers, &state)?;
    if state.inner.config.smtp.is_none() {
        return Err(Error::NotFound);
    }
    let mode = crate::notify::Mode::parse("wijze", &form.wijze)?;
    let person = crate::notify::person(crate::notify::Kind::Staff, &staff.session.staff);
    crate::notify::choose(&state.inner.store.db, &person, mode).await?;
    Ok(done(
        &state,
        jar,
        "/",
        "Uw keuze voor berichten per e-mail is opgeslagen.",
    ))
}

/// The headers of every answer that depend on the config: the
/// Content-Security-Policy (whose `form-action` names the identity
/// providers the logout forms lead to) and, when browsers reach the gateway
/// over TLS, HSTS.
#[derive(Clone, Debug)]
pub(crate) struct SecurityHeaders {
    csp: HeaderValue,
    hsts: bool,
}

/// A year: browsers keep to https for this long after a visit.
const HSTS: &str = "max-age=31536000";

impl SecurityHeaders {
    /// `public_url` is the address browsers use; `form_origins` the origins
    /// forms may lead to beside this site (each `scheme://host[:port]`).
    pub(crate) fn new(public_url: &str, form_origins: &[String]) -> Result<Self, Error> {
        let mut form_action = vec!["'self'"];
        for origin in form_origins {
            if !form_action.contains(&origin.as_str()) {
                form_action.push(origin);
            }
        }
        let csp = format!(
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action {}",
            form_action.join(" ")
        );
        Ok(Self {
            csp: HeaderValue::from_str(&csp)
                .map_err(|_| Error::invalid("oidc.issuer", "its logout endpoint is not a URL"))?,
            // Behind the TLS front: the public address says how browsers come.
            hsts: public_url.starts_with("https://"),
        })
    }
}

/// No page is framed, cached or allowed other sources than this site; no
/// form leads anywhere but here and to the identity providers' logout; no
/// referrer leaves it (`same-origin`, not `no-referrer`: with that, browsers
/// send `Origin: null` on this site's own forms, and the CSRF check needs
/// it). Over TLS, browsers are told to keep to it (HSTS).
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let own = &state.inner.headers;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, own.csp.clone());
    if own.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_action_names_this_site_and_the_providers_only() {
        let h = super::SecurityHeaders::new(
            "https://school.example",
            &[
                "https://idp.example".into(),
                "https://digid-broker.example:8443".into(),
                "https://idp.example".into(),
            ],
        )
        .unwrap();
        let csp = h.csp.to_str().unwrap();
        assert!(
            csp.ends_with(
                "; form-action 'self' https://idp.example https://digid-broker.example:8443"
            ),
            "{csp}"
        );
        assert!(h.hsts);
        let local = super::SecurityHeaders::new("http://127.0.0.1:7480", &[]).unwrap();
        assert!(local.csp.to_str().unwrap().ends_with("form-action 'self'"));
        assert!(!local.hsts);
    }

    #[test]
    fn every_role_at_every_kind_of_party_gets_its_own_menu() {
        use carenet_fabric::{Actor, PartyId, PartyKind, Role};
        let kinds = [
            PartyKind::PoSchool,
            PartyKind::VoSchool,
            PartyKind::Vervolg,
            PartyKind::ZatPartner,
            PartyKind::Swv,
        ];
        let party = PartyId::parse("party", "p-1").unwrap();
        for kind in kinds {
            for role in Role::all() {
                let actor = Actor::new(party.clone(), "staff-1", [role]).unwrap();
                let menu = super::menu_of(kind, &party, &actor);
                let hrefs: Vec<&str> = menu.iter().map(|(h, _)| *h).collect();
                let school = matches!(kind, PartyKind::PoSchool | PartyKind::VoSchool);
                let what = format!("{role} at {kind:?}: {menu:?}");
                assert_eq!(hrefs[0], "/", "{what}");
                if !school {
                    assert!(
                        !hrefs.contains(&"/izo") && !hrefs.contains(&"/zat"),
                        "{what}"
                    );
                }
                if matches!(kind, PartyKind::ZatPartner | PartyKind::Swv) {
                    assert!(!hrefs.contains(&"/dossiers"), "{what}");
                    assert!(!hrefs.contains(&"/mijn-leerlingen"), "{what}");
                }
                if kind == PartyKind::PoSchool {
                    assert!(
                        menu.iter()
                            .all(|(_, l)| !l.contains("IZO") && !l.contains("ZAT")),
                        "{what}"
                    );
                }
                if matches!(role, Role::Mentor | Role::Teacher | Role::StudyCareerCoach) {
                    assert!(
                        !hrefs.contains(&"/zat") && !hrefs.contains(&"/plannen"),
                        "{what}"
                    );
                }
                if role == Role::Admin {
                    assert_eq!(hrefs, ["/"], "{what}");
                }
                // Another party's staff get no page of this one.
                let other = PartyId::parse("party", "p-2").unwrap();
                assert_eq!(super::menu_of(kind, &other, &actor).len(), 1, "{what}");
            }
        }
        // The mentor of a secondary school: their pupils, no coordinator's pages.
        let mentor = Actor::new(party.clone(), "m-1", [Role::Mentor]).unwrap();
        let menu = super::menu_of(PartyKind::VoSchool, &party, &mentor);
        assert!(
            menu.contains(&("/mijn-leerlingen", "Mijn leerlingen")),
            "{menu:?}"
        );
        assert!(!menu.iter().any(|(h, _)| *h == "/dossiers"), "{menu:?}");
        // ... and the actions of plans named to them, not the plans.
        assert!(menu.contains(&("/mijn-acties", "Mijn acties")), "{menu:?}");
        // The IB of a primary school: its own words.
        let ib = Actor::new(party.clone(), "ib-1", [Role::SupportCoordinatorPo]).unwrap();
        let menu = super::menu_of(PartyKind::PoSchool, &party, &ib);
        assert!(menu.contains(&("/izo", "Leerlingbespreking")), "{menu:?}");
        assert!(menu.contains(&("/zat", "Knooppuntoverleg")), "{menu:?}");
    }

    #[test]
    fn page_dates_are_dutch_dates() {
        // 23:30 UTC on 31 December 2026 is New Year's Day in Amsterdam.
        assert_eq!(super::date_of(1_798_759_800_000), "01-01-2027");
        // 22:30 UTC on 30 June 2026 is 1 July (summer time, UTC+2).
        assert_eq!(super::date_of(1_782_858_600_000), "01-07-2026");
    }
}
