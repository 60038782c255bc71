//! The login session and the login in progress, each in an encrypted,
//! authenticated cookie (HttpOnly, SameSite=Lax, Secure over TLS), and the
//! CSRF check every form passes.

use axum::http::HeaderMap;
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use carenet_fabric::clock::now_ms;
use carenet_fabric::{Actor, PartyId, Role};
use serde::{Deserialize, Serialize};

use crate::Error;

pub(crate) const SESSION_COOKIE: &str = "carenet_session";
pub(crate) const LOGIN_COOKIE: &str = "carenet_login";
pub(crate) const GUARDIAN_COOKIE: &str = "carenet_ouder";
pub(crate) const GUARDIAN_LOGIN_COOKIE: &str = "carenet_ouder_login";
/// What a form did, shown once on the page it redirects to.
pub(crate) const NOTICE_COOKIE: &str = "carenet_melding";

/// A guardian signed in on the parent portal: the pseudonym of their login
/// and the name it gave, never a national id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct GuardianSession {
    /// The party whose gateway made it: a cookie of another gateway is no session here.
    pub party: String,
    pub guardian: String,
    pub name: String,
    pub csrf: String,
    pub id_token: String,
    pub expires_at_ms: i64,
}

impl GuardianSession {
    pub fn of(jar: &PrivateCookieJar) -> Option<Self> {
        read::<GuardianSession>(jar, GUARDIAN_COOKIE).filter(|s| s.expires_at_ms > now_ms())
    }

    /// The guardian the consent slice's portal rules check.
    pub fn guardian(&self, party: &PartyId) -> carenet_consent::portal::Guardian {
        carenet_consent::portal::Guardian {
            party: party.clone(),
            id: self.guardian.clone(),
            name: self.name.clone(),
        }
    }

    pub fn check_csrf(
        &self,
        token: &str,
        headers: &HeaderMap,
        public_url: &str,
    ) -> Result<(), Error> {
        check_csrf(&self.csrf, token, headers, public_url)
    }
}

/// Who is signed in: ids and roles only, never a name.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    /// The party whose gateway made it: a cookie of another gateway is no session here.
    pub party: String,
    pub staff: String,
    pub roles: Vec<String>,
    /// The token every form of this session carries.
    pub csrf: String,
    /// The ID token, for the provider's logout.
    pub id_token: String,
    pub expires_at_ms: i64,
}

/// A login on its way through the provider.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub expires_at_ms: i64,
}

/// A cookie for this browser session only; what it holds carries its own
/// expiry, which the server checks.
pub(crate) fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

/// Starts a session: `session` into the encrypted cookie `name`.
pub(crate) fn start(
    jar: PrivateCookieJar,
    name: &'static str,
    session: &impl Serialize,
    secure: bool,
) -> PrivateCookieJar {
    let value = serde_json::to_string(session).unwrap_or_default();
    jar.add(cookie(name, value, secure))
}

pub(crate) fn read<T: for<'de> Deserialize<'de>>(jar: &PrivateCookieJar, name: &str) -> Option<T> {
    serde_json::from_str(jar.get(name)?.value()).ok()
}

impl Session {
    /// The session of this request, if it has one that has not expired.
    pub fn of(jar: &PrivateCookieJar) -> Option<Self> {
        read::<Session>(jar, SESSION_COOKIE).filter(|s| s.expires_at_ms > now_ms())
    }

    /// The actor every slice function checks: this party, this staff member,
    /// the roles the login named (unknown role names are ignored).
    pub fn actor(&self, party: &PartyId) -> Result<Actor, Error> {
        let roles: Vec<Role> = self
            .roles
            .iter()
            .filter_map(|r| Role::parse("roles", r).ok())
            .collect();
        Ok(Actor::new(party.clone(), &self.staff, roles)?)
    }

    /// A form's token must be this session's, and the form must come from
    /// this site.
    pub fn check_csrf(
        &self,
        token: &str,
        headers: &HeaderMap,
        public_url: &str,
    ) -> Result<(), Error> {
        check_csrf(&self.csrf, token, headers, public_url)
    }
}

/// A form without a session (a sign-in) must come from this site.
pub(crate) fn check_origin(headers: &HeaderMap, public_url: &str) -> Result<(), Error> {
    let origin_ok = headers
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .is_none_or(|o| public_url.trim_end_matches('/').eq_ignore_ascii_case(o));
    let cross_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site");
    if origin_ok && !cross_site {
        Ok(())
    } else {
        tracing::info!(origin_ok, cross_site, "form refused (not from this site)");
        Err(Error::Csrf)
    }
}

/// A form's token must be the session's, and the form must come from this
/// site ([`check_origin`]).
fn check_csrf(
    expected: &str,
    token: &str,
    headers: &HeaderMap,
    public_url: &str,
) -> Result<(), Error> {
    check_origin(headers, public_url)?;
    if bool::from(subtle::ConstantTimeEq::ct_eq(
        token.as_bytes(),
        expected.as_bytes(),
    )) {
        Ok(())
    } else {
        tracing::info!("form refused (csrf token)");
        Err(Error::Csrf)
    }
}

/// A form that carries nothing but its CSRF token (a missing one is empty,
/// so it is refused as a CSRF failure, not as a malformed form).
#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// Dutch names of the roles, as staff know them (GLOSSARY).
pub(crate) fn role_label(role: &str) -> &'static str {
    match role {
        "mentor" => "mentor",
        "teacher" => "docent",
        "support_coordinator_po" => "intern begeleider",
        "care_coordinator" => "zorgcoördinator",
        "team_lead" => "teamleider",
        "zat_member" => "ZAT-lid",
        "trajectory_guide" => "trajectbegeleider",
        "case_coordinator" => "casusregisseur",
        "swv_staff" => "medewerker samenwerkingsverband",
        "admin" => "beheerder",
        _ => "onbekende rol",
    }
}

/// A signed-in staff member and the actor the slices check; a request
/// without a valid session is refused (401) before the handler runs.
pub(crate) struct Staff {
    pub session: Session,
    pub actor: Actor,
}

impl axum::extract::FromRequestParts<crate::AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, Error> {
        let jar = PrivateCookieJar::from_headers(&parts.headers, state.inner.key.clone());
        let session = Session::of(&jar)
            .filter(|s| s.party == state.inner.party.as_str())
            .ok_or(Error::Unauthenticated)?;
        let actor = session.actor(&state.inner.party)?;
        Ok(Self { session, actor })
    }
}

impl Staff {
    /// The form's CSRF check.
    pub fn check(
        &self,
        token: &str,
        headers: &HeaderMap,
        state: &crate::AppState,
    ) -> Result<(), Error> {
        self.session
            .check_csrf(token, headers, &state.inner.config.public_url)
    }
}

/// A signed-in guardian on the parent portal.
pub(crate) struct Parent {
    pub session: GuardianSession,
    pub guardian: carenet_consent::portal::Guardian,
}

impl axum::extract::FromRequestParts<crate::AppState> for Parent {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, Error> {
        let jar = PrivateCookieJar::from_headers(&parts.headers, state.inner.key.clone());
        // No parent portal on this gateway: no guardian session either.
        if matches!(
            &state.inner.login,
            crate::Login::Oidc { guardian: None, .. }
        ) {
            return Err(Error::NotFound);
        }
        let session = GuardianSession::of(&jar)
            .filter(|s| s.party == state.inner.party.as_str())
            .ok_or(Error::Unauthenticated)?;
        let guardian = session.guardian(&state.inner.party);
        Ok(Self { session, guardian })
    }
}

impl Parent {
    pub fn check(
        &self,
        token: &str,
        headers: &HeaderMap,
        state: &crate::AppState,
    ) -> Result<(), Error> {
        self.session
            .check_csrf(token, headers, &state.inner.config.public_url)
    }
}
