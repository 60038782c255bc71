//! The pages, server-rendered in Dutch, and the security headers every
//! answer carries.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::PrivateCookieJar;

use crate::session::{Session, role_label};
use crate::{AppState, Error};

#[derive(Template)]
#[template(path = "start.html")]
struct Start<'a> {
    party: &'a str,
    staff: &'a str,
    roles: Vec<&'static str>,
    csrf: &'a str,
    /// "Wat wacht op mij": (what, how many), or `None` when the role sees no
    /// overview of the school's dossiers.
    waiting: Option<Vec<(&'static str, usize)>>,
}

/// What waits for this school, from the season view of the transfer dossiers
/// (the slice checks that the actor may see it).
async fn waiting(
    state: &AppState,
    actor: &carenet_fabric::Actor,
) -> Result<Option<Vec<(&'static str, usize)>>, Error> {
    // A role without the overview sees none; asked only when it may, so
    // that a page view is not an audited refusal.
    let rule = carenet_handover::roles::overview(state.inner.kind);
    if actor.may(&state.inner.party, &rule).is_err() {
        return Ok(None);
    }
    let since = carenet_handover::season::school_year_start_ms();
    let rows = carenet_handover::season::season(
        &state.inner.store,
        state.inner.kind,
        actor,
        since,
        &carenet_handover::season::Filter::default(),
    )
    .await?;
    let count = |direction: &str, status: &str| {
        rows.iter()
            .filter(|r| r.direction == direction && r.status == status)
            .count()
    };
    Ok(Some(vec![
        ("Dossiers samen te stellen", count("out", "draft")),
        (
            "Inzage door ouders open",
            count("out", "awaiting_inspection"),
        ),
        ("Klaar om te versturen", count("out", "ready")),
        ("Ontvangen dossiers toe te wijzen", count("in", "received")),
        ("Toegewezen, nog niet gelezen", count("in", "assigned")),
        (
            "Warme overdrachten gepland",
            rows.iter().filter(|r| r.warm_handover == "planned").count(),
        ),
    ]))
}

static DEMO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process serves demo gateways: every page says so.
pub(crate) fn mark_demo() {
    DEMO.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the pages carry the DEMO banner.
pub fn demo_mode() -> bool {
    DEMO.load(std::sync::atomic::Ordering::Relaxed)
}

/// A moment as a Dutch date (dd-mm-jjjj), on the Dutch calendar (a moment
/// just after midnight in Amsterdam is that day, not the UTC day before).
pub(crate) fn date_of(ms: i64) -> String {
    let d = carenet_fabric::clock::date_of(ms);
    format!("{:02}-{:02}-{}", d.day(), d.month() as u8, d.year())
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    text: &'a str,
    detail: Option<&'a str>,
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
    detail: Option<&str>,
) -> Response {
    let mut response = render(&ErrorPage {
        title,
        text,
        detail,
    });
    *response.status_mut() = status;
    response
}

/// `GET /`: the start page for who is signed in, or the way to sign in.
pub(crate) async fn start(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let Some(session) = Session::of(&jar).filter(|s| s.party == state.inner.party.as_str()) else {
        return Ok(render(&Login));
    };
    // The actor the slices check; an invalid login ends here.
    let actor = session.actor(&state.inner.party)?;
    Ok(render(&Start {
        party: state.inner.party.as_str(),
        staff: &session.staff,
        roles: session.roles.iter().map(|r| role_label(r)).collect(),
        csrf: &session.csrf,
        waiting: waiting(&state, &actor).await?,
    }))
}

/// No page is framed, cached or allowed other sources than this site; no
/// referrer leaves it (`same-origin`, not `no-referrer`: with that, browsers
/// send `Origin: null` on this site's own forms, and the CSRF check needs it).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' https: http:",
        ),
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
    fn page_dates_are_dutch_dates() {
        // 23:30 UTC on 31 December 2026 is New Year's Day in Amsterdam.
        assert_eq!(super::date_of(1_798_759_800_000), "01-01-2027");
        // 22:30 UTC on 30 June 2026 is 1 July (summer time, UTC+2).
        assert_eq!(super::date_of(1_782_858_600_000), "01-07-2026");
    }
}
