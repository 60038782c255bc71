//! Login with OpenID Connect: authorization code with PKCE and nonce, the
//! ID token verified (signature, issuer, audience, expiry, nonce), its
//! claims turned into the session's staff id and roles, and logout at the
//! provider.

use std::collections::HashMap;

use axum::extract::{Form, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::PrivateCookieJar;
use carenet_fabric::clock::now_ms;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::session::{LOGIN_COOKIE, PendingLogin, SESSION_COOKIE, Session, cookie, read};
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

/// The provider as discovered at start.
pub(crate) struct Oidc {
    client: OidcClient,
    http: openidconnect::reqwest::Client,
    end_session: Option<EndSessionUrl>,
}

/// A login may take this long at the provider.
const LOGIN_MINUTES: i64 = 10;

impl Oidc {
    pub async fn discover(config: &GatewayConfig) -> Result<Self, Error> {
        // No redirects: the provider's answers are read as they are (SSRF).
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))?;
        let issuer = IssuerUrl::new(config.oidc.issuer.clone())
            .map_err(|_| Error::invalid("oidc.issuer", "not a URL"))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &http)
            .await
            .map_err(|e| Error::Config(format!("oidc.issuer: discovery failed: {e}")))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let redirect = RedirectUrl::new(format!(
            "{}/auth/callback",
            config.public_url.trim_end_matches('/')
        ))
        .map_err(|_| Error::invalid("public_url", "not a URL"))?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(config.oidc.client_id.clone()),
            Some(ClientSecret::new(config.client_secret()?)),
        )
        .set_redirect_uri(redirect);
        Ok(Self {
            client,
            http,
            end_session,
        })
    }
}

/// `GET /inloggen`: to the provider, with a fresh state, nonce and PKCE
/// challenge kept in the login cookie.
pub(crate) async fn login(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    let config = &state.inner.config;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = state
        .inner
        .oidc
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in &config.oidc.scopes {
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
    let jar = jar.add(cookie(LOGIN_COOKIE, value, config.secure_cookies));
    (jar, Redirect::to(url.as_str())).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
}

/// `GET /auth/callback`: the state must be the login's, the code is
/// exchanged with the PKCE verifier, the ID token verified with the nonce;
/// then the session starts with the staff id and roles from its claims.
pub(crate) async fn callback(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Query(answer): Query<Callback>,
) -> Result<Response, Error> {
    let config = &state.inner.config;
    let pending: PendingLogin = read(&jar, LOGIN_COOKIE)
        .filter(|p: &PendingLogin| p.expires_at_ms > now_ms())
        .ok_or_else(|| Error::Login("no login in progress".into()))?;
    let jar = jar.remove(LOGIN_COOKIE);
    let (Some(code), Some(returned)) = (answer.code, answer.state) else {
        return Err(Error::Login("no code".into()));
    };
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        returned.as_bytes(),
        pending.state.as_bytes(),
    )) {
        return Err(Error::Login("state does not match".into()));
    }
    let oidc = &state.inner.oidc;
    let token = oidc
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| Error::Login(format!("token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
        .request_async(&oidc.http)
        .await
        .map_err(|e| Error::Login(format!("code exchange: {e}")))?;
    let id_token = token
        .id_token()
        .ok_or_else(|| Error::Login("no ID token".into()))?;
    let claims = id_token
        .claims(&oidc.client.id_token_verifier(), &Nonce::new(pending.nonce))
        .map_err(|e| Error::Login(format!("ID token: {e}")))?;
    let extra = &claims.additional_claims().claims;
    let text = |name: &str| extra.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let party = text(&config.oidc.party_claim).unwrap_or_default();
    if party != state.inner.party.as_str() {
        // Staff of another school sign in at their own school's gateway.
        return Err(Error::Fabric(carenet_fabric::Error::PermissionDenied(
            "the login is for another party".into(),
        )));
    }
    let staff = text(&config.oidc.staff_claim)
        .ok_or_else(|| Error::Login(format!("no {} claim", config.oidc.staff_claim)))?;
    carenet_fabric::actor::check_staff_id(&config.oidc.staff_claim, &staff)?;
    let roles: Vec<String> = match extra.get(&config.oidc.roles_claim) {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let session = Session {
        staff,
        roles,
        csrf: CsrfToken::new_random().secret().clone(),
        id_token: id_token.to_string(),
        expires_at_ms: now_ms() + config.session_minutes * 60_000,
    };
    tracing::info!(party = %state.inner.party, "staff signed in");
    let value = serde_json::to_string(&session).unwrap_or_default();
    let jar = jar.add(cookie(SESSION_COOKIE, value, config.secure_cookies));
    Ok((jar, Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
pub(crate) struct LogoutForm {
    csrf: String,
}

/// `POST /uitloggen` (with the CSRF token): the session ends here and at
/// the provider.
pub(crate) async fn logout(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, Error> {
    let config = &state.inner.config;
    let session = Session::of(&jar).ok_or(Error::Unauthenticated)?;
    session.check_csrf(&form.csrf, &headers, &config.public_url)?;
    let jar = jar.remove(SESSION_COOKIE);
    let back = format!("{}/", config.public_url.trim_end_matches('/'));
    let target = match &state.inner.oidc.end_session {
        Some(end) => {
            let mut request = LogoutRequest::from(end.clone())
                .set_client_id(ClientId::new(config.oidc.client_id.clone()));
            if let Ok(url) = PostLogoutRedirectUrl::new(back.clone()) {
                request = request.set_post_logout_redirect_uri(url);
            }
            let hint = session.id_token.parse::<openidconnect::IdToken<
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
        None => back,
    };
    Ok((jar, Redirect::to(&target)).into_response())
}
