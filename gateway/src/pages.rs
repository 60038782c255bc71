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
}

#[derive(Template)]
#[template(path = "login.html")]
struct Login;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    text: &'a str,
}

fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template");
            (StatusCode::INTERNAL_SERVER_ERROR, "Er ging iets mis").into_response()
        }
    }
}

pub(crate) fn error_page(status: StatusCode, title: &str, text: &str) -> Response {
    let mut response = render(&ErrorPage { title, text });
    *response.status_mut() = status;
    response
}

/// `GET /`: the start page for who is signed in, or the way to sign in.
pub(crate) async fn start(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
) -> Result<Response, Error> {
    let Some(session) = Session::of(&jar) else {
        return Ok(render(&Login));
    };
    // The actor the slices check; an invalid login ends here.
    session.actor(&state.inner.party)?;
    Ok(render(&Start {
        party: state.inner.party.as_str(),
        staff: &session.staff,
        roles: session.roles.iter().map(|r| role_label(r)).collect(),
        csrf: &session.csrf,
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
