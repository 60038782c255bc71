//! The login session and the login in progress, and the CSRF check every
//! form passes.
//!
//! A session lives in the node's database ([`crate::sessions`]); its cookie
//! (encrypted, authenticated, HttpOnly, SameSite=Lax, Secure over TLS) holds
//! only its random id, so logging out, a login refused at the provider or an
//! admin ends it for every copy of the cookie. The login in progress stays in
//! a cookie of its own until the provider answers. Every
//! `session_recheck_minutes` a request first asks the provider about the
//! login again ([`current`]): new roles count from then on, a login it no
//! longer accepts is signed out, and a provider that does not answer is a
//! 503 (the next request asks again).

use axum::http::HeaderMap;
use axum_extra::extract::PrivateCookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use carenet_fabric::clock::now_ms;
use carenet_fabric::{Actor, PartyId, Role};
use serde::{Deserialize, Serialize};

use crate::sessions::{self, Kind, Row};
use crate::{AppState, Error};

pub(crate) const SESSION_COOKIE: &str = "carenet_session";
pub(crate) const LOGIN_COOKIE: &str = "carenet_login";
pub(crate) const GUARDIAN_COOKIE: &str = "carenet_ouder";
pub(crate) const GUARDIAN_LOGIN_COOKIE: &str = "carenet_ouder_login";
/// What a form did, shown once on the page it redirects to.
pub(crate) const NOTICE_COOKIE: &str = "carenet_melding";

/// A guardian signed in on the parent portal: the pseudonym of their login
/// and the name it gave, never a national id.
#[derive(Clone, Debug)]
pub(crate) struct GuardianSession {
    /// The session's id, as its cookie holds it.
    pub id: String,
    pub guardian: String,
    pub name: String,
    pub csrf: String,
    pub id_token: String,
}

impl GuardianSession {
    /// The guardian session of this request, if it has one that has not
    /// ended (checked at the provider when due).
    pub async fn of(state: &AppState, jar: &PrivateCookieJar) -> Result<Option<Self>, Error> {
        Self::read(state, jar, true).await
    }

    /// The guardian session to end at logout (not checked at the provider).
    pub async fn to_end(state: &AppState, jar: &PrivateCookieJar) -> Result<Option<Self>, Error> {
        Self::read(state, jar, false).await
    }

    async fn read(
        state: &AppState,
        jar: &PrivateCookieJar,
        recheck: bool,
    ) -> Result<Option<Self>, Error> {
        Ok(current(state, jar, Kind::Guardian, recheck)
            .await?
            .map(|(id, row)| GuardianSession {
                id,
                guardian: row.subject,
                name: row.name,
                csrf: row.csrf,
                id_token: row.id_token,
            }))
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
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The session's id, as its cookie holds it.
    pub id: String,
    pub staff: String,
    pub roles: Vec<String>,
    /// The token every form of this session carries.
    pub csrf: String,
    /// The ID token, for the provider's logout.
    pub id_token: String,
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

/// The cookie of a new session (its id only).
pub(crate) fn start(
    jar: PrivateCookieJar,
    name: &'static str,
    id: String,
    secure: bool,
) -> PrivateCookieJar {
    jar.add(cookie(name, id, secure))
}

/// The oidc client that re-checks sessions of `kind` (none in the demo).
fn checker(state: &AppState, kind: Kind) -> Option<&crate::oidc::Oidc> {
    match (&state.inner.login, kind) {
        (crate::Login::Oidc { staff, .. }, Kind::Staff) => Some(staff),
        (crate::Login::Oidc { guardian, .. }, Kind::Guardian) => guardian.as_deref(),
        (crate::Login::Demo(_), _) => None,
    }
}

/// The session of `kind` this request's cookie names, with its id: none if
/// there is no cookie, the session ended or expired, or its login is no
/// longer accepted at the provider. When its re-check is due and `recheck`
/// is set, this request makes it (others meanwhile go on with the session
/// as it stands); logout does not, so it works while the provider is down.
pub(crate) async fn current(
    state: &AppState,
    jar: &PrivateCookieJar,
    kind: Kind,
    recheck: bool,
) -> Result<Option<(String, Row)>, Error> {
    let name = match kind {
        Kind::Staff => SESSION_COOKIE,
        Kind::Guardian => GUARDIAN_COOKIE,
    };
    let Some(id) = jar.get(name).map(|c| c.value().to_owned()) else {
        return Ok(None);
    };
    let db = &state.inner.store.db;
    let Some(row) = sessions::find(db, &id, kind).await? else {
        return Ok(None);
    };
    let now = now_ms();
    let every = state.inner.config.session_recheck_minutes * 60_000;
    let Some(oidc) = checker(state, kind).filter(|_| recheck) else {
        return Ok(Some((id, row)));
    };
    if now - row.checked_at_ms < every
        || !sessions::claim_check(db, &id, row.checked_at_ms, now).await?
    {
        return Ok(Some((id, row)));
    }
    let verdict = match oidc.recheck(&row.tokens()).await {
        Ok(Some(login)) => match kind {
            Kind::Staff => crate::oidc::staff_of(state, &login)
                .ok()
                .filter(|(staff, _)| *staff == row.subject)
                .map(|(_, roles)| (roles, String::new(), login)),
            Kind::Guardian => {
                let guardian = crate::portal::pages::guardian_of(state, &login);
                (guardian.id == row.subject).then(|| (Vec::new(), guardian.name, login))
            }
        },
        Ok(None) => None,
        Err(e) => {
            sessions::release_check(db, &id, now, row.checked_at_ms).await?;
            return Err(e);
        }
    };
    match verdict {
        Some((roles, name, login)) => {
            let tokens = sessions::Tokens {
                id_token: login.id_token,
                access_token: login.access_token,
                refresh_token: login.refresh_token,
            };
            sessions::renew(db, &id, &roles, &name, &tokens).await?;
            tracing::info!(party = %state.inner.party, kind = ?kind, "login checked again at the provider");
            Ok(Some((
                id,
                Row {
                    roles: roles.join(" "),
                    name,
                    id_token: tokens.id_token,
                    access_token: tokens.access_token,
                    refresh_token: tokens.refresh_token,
                    checked_at_ms: now,
                    ..row
                },
            )))
        }
        None => {
            sessions::end(db, &id).await?;
            tracing::info!(party = %state.inner.party, kind = ?kind, "session ended: the provider no longer accepts the login");
            Ok(None)
        }
    }
}

pub(crate) fn read<T: for<'de> Deserialize<'de>>(jar: &PrivateCookieJar, name: &str) -> Option<T> {
    serde_json::from_str(jar.get(name)?.value()).ok()
}

impl Session {
    /// The staff session of this request, if it has one that has not ended
    /// (checked at the provider when due).
    pub async fn of(state: &AppState, jar: &PrivateCookieJar) -> Result<Option<Self>, Error> {
        Self::read(state, jar, true).await
    }

    /// The staff session to end at logout (not checked at the provider).
    pub async fn to_end(state: &AppState, jar: &PrivateCookieJar) -> Result<Option<Self>, Error> {
        Self::read(state, jar, false).await
    }

    async fn read(
        state: &AppState,
        jar: &PrivateCookieJar,
        recheck: bool,
    ) -> Result<Option<Self>, Error> {
        Ok(current(state, jar, Kind::Staff, recheck)
            .await?
            .map(|(id, row)| Session {
                id,
                staff: row.subject.clone(),
                roles: row.roles(),
                csrf: row.csrf,
                id_token: row.id_token,
            }))
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
        "intake_coordinator" => "intakecoördinator",
        "study_career_coach" => "studieloopbaanbegeleider",
        "admin" => "beheerder",
        _ => "onbekende rol",
    }
}

/// A signed-in staff member and the actor the slices check; a request
/// without a valid session is refused (401) before the handler runs.
#[derive(Clone)]
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
        let session = Session::of(state, &jar)
            .await?
            .ok_or(Error::Unauthenticated)?;
        let actor = session.actor(&state.inner.party)?;
        crate::pages::set_menu(crate::pages::menu_for(state, &actor));
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
        let session = GuardianSession::of(state, &jar)
            .await?
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
