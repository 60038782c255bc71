//! Login with OpenID Connect: authorization code with PKCE and nonce, the
//! ID token verified (signature against the provider's cached keys, issuer,
//! audience, expiry, nonce), its claims turned into the session's staff id
//! and roles, the login checked again later (refresh token, or userinfo),
//! and logout here and at the provider.
//!
//! Every call to a provider has the client's timeout (`timeout_secs`) and
//! follows no redirects; one that does not answer in time is
//! [`Error::Unavailable`] (503), never a hung request.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_fabric::clock::now_ms;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IdTokenFields, IntrospectionUrl, IssuerUrl,
    LogoutProviderMetadata, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadata, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use openidconnect::{
    IdTokenVerifier, OAuth2TokenResponse, RefreshToken, RequestTokenError, UserInfoError,
};
use serde::{Deserialize, Serialize};

use crate::form::Form;
use crate::jwks::Keys;
use crate::session::{LOGIN_COOKIE, PendingLogin, SESSION_COOKIE, Session, cookie, read};
use crate::sessions::{self, Kind, Tokens};
use crate::{AppState, Error, GatewayConfig};

/// The claims beyond the standard ones, by name (the config says which
/// carry staff id, party and roles).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ExtraClaims {
    #[serde(flatten)]
    claims: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for ExtraClaims {}

type TokenResponseWithClaims = StandardTokenResponse<
    IdTokenFields<
        ExtraClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type OidcClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponseWithClaims,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What discovery says beyond the standard: logout (in
/// `LogoutProviderMetadata`) and token introspection (RFC 7662, for the
/// JSON API's bearer tokens).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct IntrospectionMetadata {
    introspection_endpoint: Option<IntrospectionUrl>,
}
impl AdditionalProviderMetadata for IntrospectionMetadata {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<IntrospectionMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// One OIDC client as discovered at start: the staff's, or the guardians'.
pub(crate) struct Oidc {
    client: OidcClient,
    http: openidconnect::reqwest::Client,
    end_session: Option<EndSessionUrl>,
    introspection: Option<IntrospectionUrl>,
    client_id: String,
    secret: ClientSecret,
    issuer: IssuerUrl,
    /// The provider's signing keys, cached (rotation: [`Keys`]).
    keys: Keys,
    /// The algorithms the provider says it signs ID tokens with.
    id_token_algs: Vec<CoreJwsSigningAlgorithm>,
    scopes: Vec<String>,
    /// The cookie the login in progress is kept in.
    login_cookie: &'static str,
}

/// A login may take this long at the provider.
const LOGIN_MINUTES: i64 = 10;

/// A login the provider vouched for: who, and the claims beyond the standard ones.
pub(crate) struct Verified {
    pub issuer: String,
    pub subject: String,
    pub claims: HashMap<String, serde_json::Value>,
    /// The standard `name` claim (the library parses it apart from the rest).
    pub name: Option<String>,
    /// The name the staff directory keeps: `name`, else `given_name
    /// family_name`.
    pub display_name: Option<String>,
    /// The standard `email` claim: where notifications go (ADR 0009).
    pub email: Option<String>,
    pub id_token: String,
    pub access_token: String,
    /// Empty when the provider gave none.
    pub refresh_token: String,
}

impl Verified {
    pub fn text(&self, name: &str) -> Option<String> {
        match name {
            "name" => self.name.clone(),
            _ => self
                .claims
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        }
    }
}

/// A call to the provider failed: it did not answer (in time), or answered
/// with something other than a protocol error.
fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %e, what, "identity provider call failed");
    Error::Unavailable(format!("{what}: the identity provider did not answer"))
}

/// A token request's failure: the provider's refusal is the login's fault,
/// anything else (no answer, a timeout, an unreadable answer) is the
/// provider being unavailable.
fn token_error<RE: std::error::Error + 'static>(
    what: &str,
    e: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> Error {
    match e {
        RequestTokenError::ServerResponse(r) => Error::Login(format!("{what}: {}", r.error())),
        other => unavailable(what, other),
    }
}

/// A claim's value without a language tag (names as the provider gives
/// them).
fn untagged<T: std::ops::Deref<Target = String>>(
    claim: Option<&openidconnect::LocalizedClaim<T>>,
) -> Option<&str> {
    claim.and_then(|c| c.get(None)).map(|v| v.as_str())
}

/// The key id a JWS names in its header, if any.
fn kid_of(jws: &str) -> Option<String> {
    use base64::Engine;
    let header = jws.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("kid")?.as_str().map(str::to_owned)
}

impl Oidc {
    /// Discovers `issuer` for client `client_id`, whose logins come back at
    /// `<public_url><callback>`; every call waits at most `timeout_secs`.
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        secret: String,
        redirect: String,
        scopes: Vec<String>,
        login_cookie: &'static str,
        timeout_secs: u64,
    ) -> Result<Self, Error> {
        // No redirects: the provider's answers are read as they are (SSRF).
        // A timeout on every call: a stalled provider must not hang the
        // gateway (each request waits at most this long for it).
        let timeout = std::time::Duration::from_secs(timeout_secs);
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        let issuer_url =
            IssuerUrl::new(issuer.to_owned()).map_err(|_| Error::invalid("issuer", "not a URL"))?;
        let metadata = Metadata::discover_async(issuer_url, &http)
            .await
            .map_err(|e| Error::Config(format!("{issuer}: discovery failed: {e}")))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let keys = Keys::new(metadata.jwks_uri().clone(), metadata.jwks().clone());
        let id_token_algs = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| {
                !matches!(
                    a,
                    CoreJwsSigningAlgorithm::None
                        | CoreJwsSigningAlgorithm::HmacSha256
                        | CoreJwsSigningAlgorithm::HmacSha384
                        | CoreJwsSigningAlgorithm::HmacSha512
                )
            })
            .cloned()
            .collect();
        let issuer_url = metadata.issuer().clone();
        let introspection = metadata
            .additional_metadata()
            .additional_metadata
            .introspection_endpoint
            .clone();
        let redirect =
            RedirectUrl::new(redirect).map_err(|_| Error::invalid("public_url", "not a URL"))?;
        let secret = ClientSecret::new(secret);
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_owned()),
            Some(secret.clone()),
        )
        .set_redirect_uri(redirect);
        Ok(Self {
            client,
            http,
            end_session,
            introspection,
            client_id: client_id.to_owned(),
            secret,
            issuer: issuer_url,
            keys,
            id_token_algs,
            scopes,
            login_cookie,
        })
    }

    pub fn http(&self) -> &openidconnect::reqwest::Client {
        &self.http
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The issuer, as its tokens name it.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// Verifies an ID token of this client against the provider's current
    /// keys (fetched again if it names a key they lack); `nonce` is the
    /// login's, or none for a token from a refresh, which carries none.
    async fn verify_id_token(
        &self,
        id_token: &openidconnect::IdToken<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >,
        nonce: Option<Nonce>,
        tokens: Tokens,
    ) -> Result<Verified, Error> {
        let text = id_token.to_string();
        let keys = self
            .keys
            .for_kid(&self.http, kid_of(&text).as_deref())
            .await?;
        let mut verifier = IdTokenVerifier::new_confidential_client(
            ClientId::new(self.client_id.clone()),
            self.secret.clone(),
            self.issuer.clone(),
            (*keys).clone(),
        );
        if !self.id_token_algs.is_empty() {
            verifier = verifier.set_allowed_algs(self.id_token_algs.clone());
        }
        let claims = match &nonce {
            Some(nonce) => id_token.claims(&verifier, nonce),
            None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
        }
        .map_err(|e| Error::Login(format!("ID token: {e}")))?;
        Ok(Verified {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            claims: claims.additional_claims().claims.clone(),
            name: untagged(claims.name()).map(str::to_owned),
            display_name: crate::staff_directory::login_name(
                untagged(claims.name()),
                untagged(claims.given_name()),
                untagged(claims.family_name()),
            ),
            email: claims.email().map(|e| e.as_str().to_owned()),
            id_token: text,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        })
    }

    /// Asks the provider about a login again: with its refresh token when
    /// it has one (a new ID token, or userinfo with the new access token),
    /// else userinfo with its access token. `None`: the provider no longer
    /// accepts it (account blocked or gone, signed out there, token revoked
    /// or expired); `Unavailable`: it did not answer.
    pub async fn recheck(&self, tokens: &Tokens) -> Result<Option<Verified>, Error> {
        let mut tokens = tokens.clone();
        if !tokens.refresh_token.is_empty() {
            let refresh = RefreshToken::new(tokens.refresh_token.clone());
            let request = self
                .client
                .exchange_refresh_token(&refresh)
                .map_err(|e| Error::Config(format!("token endpoint: {e}")))?;
            let answer = match request.request_async(&self.http).await {
                Ok(answer) => answer,
                Err(RequestTokenError::ServerResponse(r)) => {
                    tracing::info!(error = %r.error(), "refresh refused at the provider");
                    return Ok(None);
                }
                Err(e) => return Err(unavailable("refresh", e)),
            };
            tokens.access_token = answer.access_token().secret().clone();
            if let Some(refresh) = answer.refresh_token() {
                tokens.refresh_token = refresh.secret().clone();
            }
            if let Some(id_token) = answer.id_token() {
                return match self.verify_id_token(id_token, None, tokens).await {
                    Ok(login) => Ok(Some(login)),
                    Err(Error::Login(why)) => {
                        tracing::warn!(why, "refreshed ID token refused");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                };
            }
        }
        let request = self
            .client
            .user_info(AccessToken::new(tokens.access_token.clone()), None)
            .map_err(|e| Error::Config(format!("userinfo: {e}")))?;
        let claims: openidconnect::UserInfoClaims<ExtraClaims, CoreGenderClaim> =
            match request.request_async(&self.http).await {
                Ok(claims) => claims,
                Err(UserInfoError::Response(status, _, _)) if status.is_client_error() => {
                    tracing::info!(status = status.as_u16(), "userinfo refused at the provider");
                    return Ok(None);
                }
                Err(e) => return Err(unavailable("userinfo", e)),
            };
        Ok(Some(Verified {
            issuer: self.issuer.to_string(),
            subject: claims.subject().to_string(),
            claims: claims.additional_claims().claims.clone(),
            name: untagged(claims.name()).map(str::to_owned),
            display_name: crate::staff_directory::login_name(
                untagged(claims.name()),
                untagged(claims.given_name()),
                untagged(claims.family_name()),
            ),
            email: claims.email().map(|e| e.as_str().to_owned()),
            id_token: tokens.id_token,
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
        }))
    }

    /// To the provider, with a fresh state, nonce and PKCE challenge kept in
    /// the login cookie.
    pub fn begin(&self, jar: PrivateCookieJar, secure: bool) -> Response {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, csrf, nonce) = request.url();
        let pending = PendingLogin {
            state: csrf.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            expires_at_ms: now_ms() + LOGIN_MINUTES * 60_000,
        };
        let value = serde_json::to_string(&pending).unwrap_or_default();
        let jar = jar.add(cookie(self.login_cookie, value, secure));
        (jar, Redirect::to(url.as_str())).into_response()
    }

    /// The provider's answer: the state must be the login's, the code is
    /// exchanged with the PKCE verifier, the ID token verified (signature,
    /// issuer, audience, expiry, nonce).
    pub async fn finish(
        &self,
        jar: PrivateCookieJar,
        answer: Callback,
    ) -> Result<(PrivateCookieJar, Verified), Error> {
        let pending: PendingLogin = read(&jar, self.login_cookie)
            .filter(|p: &PendingLogin| p.expires_at_ms > now_ms())
            .ok_or_else(|| Error::Login("no login in progress".into()))?;
        let jar = jar.remove(self.login_cookie);
        let (Some(code), Some(returned)) = (answer.code, answer.state) else {
            return Err(Error::Login("no code".into()));
        };
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            returned.as_bytes(),
            pending.state.as_bytes(),
        )) {
            return Err(Error::Login("state does not match".into()));
        }
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Error::Login(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| token_error("code exchange", e))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| Error::Login("no ID token".into()))?;
        let tokens = Tokens {
            id_token: String::new(),
            access_token: token.access_token().secret().clone(),
            refresh_token: token
                .refresh_token()
                .map(|r| r.secret().clone())
                .unwrap_or_default(),
        };
        let verified = self
            .verify_id_token(id_token, Some(Nonce::new(pending.nonce)), tokens)
            .await?;
        Ok((jar, verified))
    }

    /// Asks the provider about a bearer token (RFC 7662, authenticated as
    /// this client); [`crate::bearer`] judges the answer.
    pub async fn introspect(&self, token: &str) -> Result<CoreTokenIntrospectionResponse, Error> {
        let url = self
            .introspection
            .clone()
            .ok_or_else(|| Error::Config("the provider offers no token introspection".into()))?;
        let client = self.client.clone().set_introspection_url(url);
        let token = AccessToken::new(token.to_owned());
        client
            .introspect(&token)
            .request_async(&self.http)
            .await
            .map_err(|e| unavailable("token introspection", e))
    }

    /// Where the browser goes to end the session at the provider too, and
    /// comes back to `back`.
    /// The origin the logout form leads to (the provider's end-session
    /// endpoint), if the provider has one: the Content-Security-Policy's
    /// `form-action` must allow it.
    pub fn logout_origin(&self) -> Option<String> {
        let origin = self.end_session.as_ref()?.url().origin();
        origin.is_tuple().then(|| origin.ascii_serialization())
    }

    pub fn end_session_url(&self, id_token: &str, back: String) -> String {
        let Some(end) = &self.end_session else {
            return back;
        };
        let mut request =
            LogoutRequest::from(end.clone()).set_client_id(ClientId::new(self.client_id.clone()));
        if let Ok(url) = PostLogoutRedirectUrl::new(back) {
            request = request.set_post_logout_redirect_uri(url);
        }
        let hint = id_token.parse::<openidconnect::IdToken<
            ExtraClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >>();
        if let Ok(hint) = &hint {
            request = request.set_id_token_hint(hint);
        }
        request.http_get_url().to_string()
    }
}

/// The scopes a client asks for: the configured ones, and `email` where
/// the gateway mails notifications (`[smtp]`), so that a person's address
/// is asked for only where it is used.
fn scopes(config: &GatewayConfig, configured: &[String]) -> Vec<String> {
    let mut scopes = configured.to_vec();
    if config.smtp.is_some() && !scopes.iter().any(|s| s == "email") {
        scopes.push("email".into());
    }
    scopes
}

/// The staff client of `config`.
pub(crate) async fn staff_client(config: &GatewayConfig) -> Result<Oidc, Error> {
    Oidc::discover(
        &config.oidc.issuer,
        &config.oidc.client_id,
        GatewayConfig::secret("oidc.client_secret_file", &config.oidc.client_secret_file)?,
        format!("{}/auth/callback", config.public_url.trim_end_matches('/')),
        scopes(config, &config.oidc.scopes),
        LOGIN_COOKIE,
        config.oidc.timeout_secs,
    )
    .await
}

/// The guardians' client of `config`, if it has one.
pub(crate) async fn guardian_client(config: &GatewayConfig) -> Result<Option<Oidc>, Error> {
    let Some(g) = &config.guardian_oidc else {
        return Ok(None);
    };
    Ok(Some(
        Oidc::discover(
            &g.issuer,
            &g.client_id,
            GatewayConfig::secret("guardian_oidc.client_secret_file", &g.client_secret_file)?,
            format!(
                "{}/ouders/auth/callback",
                config.public_url.trim_end_matches('/')
            ),
            scopes(config, &g.scopes),
            crate::session::GUARDIAN_LOGIN_COOKIE,
            g.timeout_secs,
        )
        .await?,
    ))
}

/// The staff's client, or `NotFound` in the demo (no provider there).
fn staff_oidc(state: &AppState) -> Result<&Oidc, Error> {
    match &state.inner.login {
        crate::Login::Oidc { staff, .. } => Ok(staff),
        crate::Login::Demo(_) => Err(Error::NotFound),
    }
}

/// `GET /inloggen`: staff to their provider (in the demo: pick a person).
pub(crate) async fn login(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    match &state.inner.login {
        crate::Login::Oidc { staff, .. } => staff.begin(jar, state.inner.config.secure_cookies),
        crate::Login::Demo(personas) => crate::demo::page(personas, false),
    }
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/callback`: a staff login comes back; the session starts with
/// the staff id and roles from its claims, for this party only.
pub(crate) async fn callback(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(answer): Query<Callback>,
) -> Result<Response, Error> {
    let config = &state.inner.config;
    let (jar, login) = staff_oidc(&state)?.finish(jar, answer).await?;
    let (staff, roles) = staff_of(&state, &login)?;
    let groups = groups_of(config, &login);
    let tokens = Tokens {
        id_token: login.id_token,
        access_token: login.access_token,
        refresh_token: login.refresh_token,
    };
    let (id, _) = sessions::create(
        &state.inner.store.db,
        &sessions::New {
            kind: Kind::Staff,
            subject: &staff,
            roles: &roles,
            name: "",
            tokens: &tokens,
            expires_at_ms: now_ms() + config.session_minutes * 60_000,
        },
    )
    .await?;
    crate::notify::remember(
        &state.inner.store.db,
        crate::notify::Kind::Staff,
        &staff,
        &roles,
        login.email.as_deref(),
    )
    .await?;
    crate::staff_directory::remember_login(
        &state.inner.store.db,
        &staff,
        login.display_name.as_deref(),
        &roles,
        groups.as_deref(),
    )
    .await?;
    tracing::info!(party = %state.inner.party, "staff signed in");
    let jar = crate::session::start(jar, SESSION_COOKIE, id, config.secure_cookies);
    Ok((jar, Redirect::to("/")).into_response())
}

/// The staff id and roles a login's claims give, for this party only (a
/// login and every re-check of it).
pub(crate) fn staff_of(state: &AppState, login: &Verified) -> Result<(String, Vec<String>), Error> {
    let config = &state.inner.config;
    let party = login.text(&config.oidc.party_claim).unwrap_or_default();
    if party != state.inner.party.as_str() {
        // Staff of another school sign in at their own school's gateway.
        return Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(
            "the login is for another party".into(),
        )));
    }
    let staff = login
        .text(&config.oidc.staff_claim)
        .ok_or_else(|| Error::Login(format!("no {} claim", config.oidc.staff_claim)))?;
    carenet_fabric::actor::check_staff_id(&config.oidc.staff_claim, &staff)?;
    let roles: Vec<String> = match login.claims.get(&config.oidc.roles_claim) {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    Ok((staff, roles))
}

/// The groups a login's `oidc.groups_claim` gives (a list or one text);
/// `None` when the provider gives no such claim.
fn groups_of(config: &GatewayConfig, login: &Verified) -> Option<Vec<String>> {
    match login.claims.get(&config.oidc.groups_claim)? {
        serde_json::Value::Array(list) => Some(
            list.iter()
                .filter_map(|v| v.as_str())
                .flat_map(str::split_whitespace)
                .map(str::to_owned)
                .collect(),
        ),
        serde_json::Value::String(one) => Some(one.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    }
}

/// `POST /uitloggen` (with the CSRF token): the session ends here and at
/// the provider.
pub(crate) async fn logout(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<crate::session::CsrfForm>,
) -> Result<Response, Error> {
    let config = &state.inner.config;
    let session = Session::to_end(&state, &jar)
        .await?
        .ok_or(Error::Unauthenticated)?;
    session.check_csrf(&form.csrf, &headers, &config.public_url)?;
    // Ended here for every copy of the cookie, not only in this browser.
    sessions::end(&state.inner.store.db, &session.id).await?;
    tracing::info!(party = %state.inner.party, "staff signed out");
    let jar = jar.remove(SESSION_COOKIE);
    let back = format!("{}/", config.public_url.trim_end_matches('/'));
    let target = match &state.inner.login {
        crate::Login::Oidc { staff, .. } => staff.end_session_url(&session.id_token, back),
        crate::Login::Demo(_) => back,
    };
    Ok((jar, Redirect::to(&target)).into_response())
}
