//! The JSON API under `/api/v1/`, for schools' own systems: the same actions
//! as the pages, through the same slice functions and so the same rules.
//!
//! A caller sends `Authorization: Bearer <token>`, a client-credentials
//! token of the gateway's own provider, checked by [`crate::bearer`] (a JWT
//! access token here against the provider's cached keys, an opaque one by
//! cached introspection, RFC 7662): it must be valid, carry the API scope,
//! and be issued to a client the config names (`[[api.clients]]`), which
//! says the staff id and roles the system acts with. A provider that does
//! not answer in time: 503. No token or an inactive one: 401 with
//! `WWW-Authenticate: Bearer`; a known token without the right: 403. Pupil
//! references travel in bodies, never in paths. `GET /api/v1/openapi.json`
//! is the OpenAPI document, generated from these handlers.

use axum::Json;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use carenet_fabric::{Actor, Role};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{AppState, Error, Login};

/// An error as the API answers it.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiError {
    /// `unauthenticated`, `forbidden`, `not_found`, `invalid_argument`,
    /// `failed_precondition`, `conflict`, `resource_exhausted`, `unavailable`
    /// or `internal`.
    error: &'static str,
    /// The field and what is wrong with it, or the state that stops it;
    /// never personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    /// The field the refusal is about (`invalid_argument`), as the request
    /// names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// Why, as a stable code a system can act on (e.g. `consent_missing`,
    /// `unknown_person`, `dossier_state`), when the refusal has one; the
    /// same codes as gRPC's `google.rpc.ErrorInfo` (domain `carenet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// The gateway's error, answered as JSON.
pub(crate) struct Failure(Error);

impl<E: Into<Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, _, _, detail) = self.0.describe();
        let error = match status {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::BAD_REQUEST => "invalid_argument",
            StatusCode::CONFLICT if detail.is_some() => "failed_precondition",
            StatusCode::CONFLICT => "conflict",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            StatusCode::TOO_MANY_REQUESTS => "resource_exhausted",
            _ => "internal",
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            self.0.log_internal();
        } else {
            tracing::info!(status = status.as_u16(), "api refused");
        }
        let local = self.0.remote_refusal();
        let field = match local.as_ref().unwrap_or(&self.0) {
            Error::InvalidArgument { field, .. }
            | Error::Fabric(carenet_fabric::Error::InvalidArgument { field, .. }) => {
                Some(field.clone())
            }
            _ => None,
        };
        let reason = self.0.code().map(carenet_fabric::Reason::as_str);
        let body = ApiError {
            error,
            detail,
            field,
            reason,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"carenet\""),
            );
        }
        response
    }
}

pub(crate) type ApiResult<T> = Result<T, Failure>;

/// A JSON body; one that cannot be read is a 400 naming the field and what
/// is wrong with it, as JSON (never the value sent: it may be personal data).
pub(crate) struct Body<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|m| {
                m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
            });
        if !json {
            return Err(Error::invalid("body", "send it as application/json").into());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::invalid("body", "cannot be read (too large?)"))?;
        let raw: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| syntax_error(&e))?;
        // No text in carenet holds a NUL, and PostgreSQL refuses it: name
        // the field here rather than fail at the database.
        if let Some(field) = nul_in(&raw) {
            let field = crate::form::shown_path(&field, "body");
            return Err(Error::invalid(field, "holds a NUL character").into());
        }
        let value = serde_path_to_error::deserialize(raw).map_err(|e| body_error(&e))?;
        Ok(Body(value))
    }
}

/// The path of the first string (or key) in `value` that holds a NUL.
fn nul_in(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some("body".into()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            nul_in(v).map(|p| {
                if p == "body" {
                    format!("[{i}]")
                } else {
                    format!("[{i}]{}", dotted(&p))
                }
            })
        }),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some("body".into());
            }
            let key = k.clone();
            nul_in(v).map(|p| {
                if p == "body" {
                    key
                } else {
                    format!("{key}{}", dotted(&p))
                }
            })
        }),
        _ => None,
    }
}

/// `p` appended to a parent's path: `[i]` as is, a field after a dot.
fn dotted(p: &str) -> String {
    if p.starts_with('[') {
        p.to_owned()
    } else {
        format!(".{p}")
    }
}

/// What is wrong with a body, named by its field; serde's own message only
/// where it holds no value sent (`missing field`).
fn body_error(e: &serde_path_to_error::Error<serde_json::Error>) -> Error {
    use serde_json::error::Category;
    let inner = e.inner();
    // A map's keys are the client's: a path is named only if every name in
    // it is one an error may show.
    let path = match e.path().to_string() {
        p if p == "." => p,
        p => crate::form::shown_path(&p, "body"),
    };
    match inner.classify() {
        Category::Data => {
            let message = inner.to_string();
            match message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
            {
                Some(field) if path == "." => {
                    Error::invalid(crate::form::shown_field(field, "body"), "is missing")
                }
                Some(field) => Error::invalid(
                    crate::form::shown_path(&format!("{path}.{field}"), "body"),
                    "is missing",
                ),
                None if path == "." => Error::invalid("body", "is not the expected object"),
                None => Error::invalid(path, "has the wrong type or value"),
            }
        }
        Category::Syntax | Category::Eof | Category::Io => syntax_error(inner),
    }
}

fn syntax_error(e: &serde_json::Error) -> Error {
    Error::invalid(
        "body",
        format!(
            "is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ),
    )
}

/// The path's parameters; one that cannot be read is a 400 naming it, as
/// JSON (not axum's plain-text rejection).
pub(crate) struct Path<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        if let Ok(raw) = axum::extract::RawPathParams::from_request_parts(parts, state).await
            && let Some((key, _)) = raw.iter().find(|(_, v)| v.contains('\0'))
        {
            return Err(Error::invalid(
                crate::form::shown_field(key, "path"),
                "holds a NUL character",
            )
            .into());
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => {
                    Error::invalid(crate::form::shown_field(key, "path"), "is not valid UTF-8")
                }
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. } => {
                    Error::invalid(crate::form::shown_field(key, "path"), "cannot be read")
                }
                _ => Error::invalid("path", "cannot be read"),
            }
            .into()),
            Err(_) => Err(Error::invalid("path", "cannot be read").into()),
        }
    }
}

/// The system calling, as the actor the slices check.
pub(crate) struct Caller(pub(crate) Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Failure> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Error::Unauthenticated)?;
        let Login::Oidc { staff, .. } = &state.inner.login else {
            return Err(Error::Unauthenticated.into());
        };
        let api = &state.inner.config.api;
        let crate::bearer::Grant { client_id, scopes } =
            crate::bearer::check(staff, api, &state.inner.introspected, token)
                .await?
                .ok_or(Error::Unauthenticated)?;
        let forbidden = |why: &str| {
            Failure(Error::Fabric(carenet_fabric::Error::PermissionDenied(
                why.to_owned(),
            )))
        };
        if !scopes.contains(&api.scope) {
            return Err(forbidden("the token lacks the API scope"));
        }
        let client = api
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
            .ok_or_else(|| forbidden("this client may not call the API"))?;
        let roles: Vec<Role> = client
            .roles
            .iter()
            .filter_map(|r| Role::parse("roles", r).ok())
            .collect();
        let actor = Actor::new(state.inner.party.clone(), &client.staff, roles)
            .map_err(|_| forbidden("this client has no role"))?;
        Ok(Caller(actor))
    }
}

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A client-credentials access token of the gateway's OpenID Connect provider",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document's frame: its title, the bearer scheme and the tags. Each
/// slice adds its own paths ([`document`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "carenet gateway API", version = "1", description = "The actions of a school's carenet node for its own systems, under the same rules as its staff."),
    modifiers(&BearerScheme),
    tags((name = "dossiers", description = "Transfer dossiers"), (name = "warm handover", description = "The handover conversation"), (name = "consent", description = "Consent records"), (name = "care", description = "The ZAT and one child, one plan"), (name = "portal", description = "The parent portal's links"))
)]
struct Frame;

/// The OpenAPI document: the frame with every slice's paths and schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Frame::openapi();
    doc.merge(crate::handover::Api::openapi());
    doc.merge(crate::consent::Api::openapi());
    doc.merge(crate::referral::Api::openapi());
    doc.merge(crate::caseplan::Api::openapi());
    doc
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
