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
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use carenet_consent::record::{ConsentRequest, ConsentStore, Stored, parse_date, status_name};
use carenet_consent::{Category, Purpose};
use carenet_fabric::{Actor, PartyId, PartyKind, Role};
use carenet_handover::dossier::{self, Route};
use carenet_handover::{incoming, season};
use carenet_proto::v1::{self, EvidenceKind, consent_recipient::Target};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{AppState, Error, Login};

pub(crate) mod care;
pub(crate) mod links;
pub(crate) mod received;
pub(crate) mod warm;

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

type ApiResult<T> = Result<T, Failure>;

/// A JSON body; one that cannot be read is a 400 naming the field and what
/// is wrong with it, as JSON (never the value sent: it may be personal data).
pub(crate) struct Body<T>(T);

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
pub(crate) struct Caller(Actor);

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

/// One row of the season view.
#[derive(Serialize, ToSchema)]
pub(crate) struct SeasonRow {
    /// `out` or `in`.
    direction: String,
    /// Outgoing: the dossier id; incoming: the message id.
    id: String,
    pupil: String,
    counterparty: String,
    route: String,
    version: u32,
    /// `draft`, `awaiting_inspection`, `ready`, `published`, `delivered`,
    /// `read`, `withdrawn`; incoming `received`, `assigned`, `read`,
    /// `withdrawn`, `purged`.
    status: String,
    warm_handover: String,
    feedback: bool,
}

/// The season view of this school year.
#[utoipa::path(get, path = "/api/v1/season", operation_id = "getSeason", tag = "dossiers",
    responses(
        (status = 200, body = [SeasonRow]),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn season_view(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> ApiResult<Json<Vec<SeasonRow>>> {
    let rows = season::season(
        &state.inner.store,
        state.inner.kind,
        &actor,
        season::school_year_start_ms(),
        &season::Filter::default(),
    )
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| SeasonRow {
                direction: r.direction.into(),
                id: r.id,
                pupil: r.pupil,
                counterparty: r.counterparty,
                route: r.route,
                version: r.version,
                status: r.status,
                warm_handover: r.warm_handover,
                feedback: r.feedback,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ImportRequest {
    /// The school's own pupil reference.
    child_ref: String,
    /// `po_vo`, `po_po`, `vo_vo`, `vo_vervolg` or `internal`.
    route: String,
    /// The OSO 2019.1 file, as text.
    oso: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: String,
}

/// Imports an OSO file as a draft dossier (or ready, if it states its inzage).
#[utoipa::path(post, path = "/api/v1/dossiers", operation_id = "importDossier", tag = "dossiers", request_body = ImportRequest,
    responses(
        (status = 201, body = Created),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn import(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<ImportRequest>,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let route = Route::parse("route", &body.route)?;
    let id = dossier::import_oso(
        &state.inner.store,
        &actor,
        &body.oso,
        &body.child_ref,
        route,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DossierView {
    id: String,
    route: String,
    state: String,
    version: u32,
    pupil_name: String,
    advice: Option<String>,
    guardian_view: Option<String>,
}

/// One outgoing dossier (the reading is audited).
#[utoipa::path(get, path = "/api/v1/dossiers/{id}", operation_id = "getDossier", tag = "dossiers",
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 200, body = DossierView),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<DossierView>> {
    let d = dossier::view(&state.inner.store, &actor, &id).await?;
    let s = d.dossier.summary();
    Ok(Json(DossierView {
        id: d.id,
        route: d.route.as_str().into(),
        state: d.state.as_str().into(),
        version: d.version,
        pupil_name: s.pupil_name,
        advice: s.advice,
        guardian_view: d.dossier.extras.guardian_view,
    }))
}

/// Puts a draft dossier before the guardians (inzage).
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/submit", operation_id = "submitDossier", tag = "dossiers",
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn submit(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    dossier::submit_for_inspection(&state.inner.store, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct PublishRequest {
    /// The receiving party's id.
    recipient: String,
    /// The guardians' consent record it goes out under, if any.
    consent_record: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Published {
    message_ids: Vec<String>,
}

/// Releases a ready dossier to the receiving school.
#[utoipa::path(post, path = "/api/v1/dossiers/{id}/publish", operation_id = "publishDossier", tag = "dossiers", request_body = PublishRequest,
    params(("id" = String, Path, description = "dossier id")),
    responses(
        (status = 200, body = Published),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn publish(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<PublishRequest>,
) -> ApiResult<Json<Published>> {
    let store = &state.inner.store;
    let recipient = PartyId::parse("recipient", &body.recipient)?;
    let directory = store
        .directory()
        .ok_or_else(|| Error::Config("the node's directory is not cached".into()))?;
    let message_ids = dossier::publish(
        store,
        directory,
        &actor,
        &id,
        std::slice::from_ref(&recipient),
        body.consent_record.as_deref(),
    )
    .await?;
    Ok(Json(Published { message_ids }))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct AssignRequest {
    /// The mentor's staff id; one the party's staff directory does not
    /// know is refused (400, field `mentor`).
    mentor: String,
    /// The teachers' staff ids, each in the staff directory (else 400,
    /// field `teachers`).
    #[serde(default)]
    teachers: Vec<String>,
    /// This school's own reference of the pupil (needed before feedback).
    #[serde(default)]
    child_ref: Option<String>,
}

/// Assigns a received dossier to the mentor (and teachers).
#[utoipa::path(post, path = "/api/v1/received/{id}/assign", operation_id = "assignReceivedDossier", tag = "dossiers", request_body = AssignRequest,
    params(("id" = String, Path, description = "message id of the received dossier")),
    responses(
        (status = 204),
        (status = 400, description = "input that cannot be read, or a mentor or teacher not in the staff directory: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn assign(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Body(body): Body<AssignRequest>,
) -> ApiResult<StatusCode> {
    let (store, kind) = (&state.inner.store, state.inner.kind);
    // Only people of the staff directory: a typo reaches nobody. (The role
    // first: who may not assign learns nothing of the directory.)
    carenet_fabric::actor::require(store, &actor, &carenet_handover::roles::assign(kind), &id)
        .await?;
    let mentor = crate::staff_directory::resolve(
        &state,
        "mentor",
        &body.mentor,
        &crate::dossiers::mentor_roles(kind),
    )
    .await?
    .map_err(|unknown| unknown.error())?;
    let mut teachers = Vec::new();
    for t in &body.teachers {
        teachers.push(
            crate::staff_directory::resolve(&state, "teachers", t, crate::dossiers::TEACHER_ROLES)
                .await?
                .map_err(|unknown| unknown.error())?,
        );
    }
    if let Some(child_ref) = &body.child_ref {
        incoming::register_pupil(store, kind, &actor, &id, child_ref).await?;
    }
    incoming::assign(store, kind, &actor, &id, &mentor, &teachers).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ConsentAsk {
    /// A record id the client chooses (a UUID): the same request sent
    /// again asks once and answers with that record as it stands.
    #[serde(default)]
    id: String,
    child_ref: String,
    /// YYYY-MM-DD.
    child_birth_date: String,
    /// `transfer_dossier`, `discuss_in_izo`, `refer_to_zat`,
    /// `share_with_partner`, `support_request`, `case_membership`.
    purpose: String,
    /// Party ids, or `kind:<party kind>`.
    recipients: Vec<String>,
    /// Data category codes.
    categories: Vec<String>,
    /// YYYY-MM-DD, or none: until withdrawn.
    valid_until: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Consent {
    record_id: String,
    version: u32,
    purpose: String,
    /// `requested`, `granted`, `refused`, `withdrawn`, `expired`.
    status: String,
    recipients: Vec<String>,
    categories: Vec<String>,
    valid_until: Option<String>,
}

fn consent_json(c: &Stored) -> Consent {
    Consent {
        record_id: c.version.record_id.clone(),
        version: c.version.version,
        purpose: c.version.purpose.clone(),
        status: status_name(c.status()).into(),
        recipients: c
            .version
            .recipients
            .iter()
            .map(|r| match &r.target {
                Some(Target::PartyId(id)) => id.clone(),
                Some(Target::Kind(k)) => {
                    format!(
                        "kind:{}",
                        PartyKind::from_proto(*k).map_or("unknown", |k| k.as_str())
                    )
                }
                None => String::new(),
            })
            .collect(),
        categories: c.version.categories.clone(),
        valid_until: (!c.version.valid_until.is_empty()).then(|| c.version.valid_until.clone()),
    }
}

/// Asks for consent (the guardians decide on the portal or at school).
#[utoipa::path(post, path = "/api/v1/consents", operation_id = "requestConsent", tag = "consent", request_body = ConsentAsk,
    responses(
        (status = 201, body = Consent),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn ask(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<ConsentAsk>,
) -> ApiResult<(StatusCode, Json<Consent>)> {
    let recipients = body
        .recipients
        .iter()
        .map(|r| crate::consent::parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    let categories = body
        .categories
        .iter()
        .map(|c| Category::parse("categories", c))
        .collect::<Result<Vec<_>, _>>()?;
    let request = ConsentRequest {
        child_ref: body.child_ref,
        child_birth_date: parse_date("child_birth_date", &body.child_birth_date)?,
        purpose: Purpose::parse("purpose", &body.purpose)?,
        recipients,
        categories,
        valid_from: carenet_fabric::clock::today(),
        valid_until: body
            .valid_until
            .as_deref()
            .map(|u| parse_date("valid_until", u))
            .transpose()?,
    };
    let stored = ConsentStore::new(state.inner.store.clone())
        .request_named(&actor, &body.id, &request)
        .await?;
    Ok((StatusCode::CREATED, Json(consent_json(&stored))))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct ChildQuery {
    child_ref: String,
}

/// The current version of each of a pupil's consents (a POST: the pupil
/// reference stays out of URLs and logs).
#[utoipa::path(post, path = "/api/v1/consents/search", operation_id = "searchConsents", tag = "consent", request_body = ChildQuery,
    responses(
        (status = 200, body = [Consent]),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn search(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Body(body): Body<ChildQuery>,
) -> ApiResult<Json<Vec<Consent>>> {
    let list = ConsentStore::new(state.inner.store.clone())
        .list(&actor, &body.child_ref)
        .await?;
    Ok(Json(list.iter().map(consent_json).collect()))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct WithdrawRequest {
    /// Who withdrew, as the school knows them (kept on this node).
    grantor_name: String,
    /// `guardian`, `legal_representative` or `pupil`.
    grantor_role: String,
}

/// Records a withdrawal given at school; every recipient is told.
#[utoipa::path(post, path = "/api/v1/consents/{record}/withdraw", operation_id = "withdrawConsent", tag = "consent", request_body = WithdrawRequest,
    params(("record" = String, Path, description = "consent record id")),
    responses(
        (status = 200, body = Consent),
        (status = 400, description = "input that cannot be read: the field and what is wrong", body = ApiError),
        (status = 401, description = "no valid token", body = ApiError),
        (status = 403, description = "the token or client lacks the right", body = ApiError),
        (status = 404, description = "not found, or not this caller's to see", body = ApiError),
        (status = 409, description = "the state does not allow it, or it changed meanwhile", body = ApiError),
        (status = 503, description = "the identity provider or a peer does not answer in time", body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn withdraw(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(record): Path<String>,
    Body(body): Body<WithdrawRequest>,
) -> ApiResult<Json<Consent>> {
    let role = crate::consent::parse_grantor_role(&body.grantor_role)?;
    let stored = ConsentStore::new(state.inner.store.clone())
        .withdraw(
            &actor,
            &record,
            vec![v1::Grantor {
                role: role as i32,
                name: body.grantor_name,
            }],
            v1::Evidence {
                kind: EvidenceKind::RecordedConversation as i32,
                recorded_by: String::new(),
                document_sha256: Vec::new(),
            },
        )
        .await?;
    Ok(Json(consent_json(&stored)))
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

#[derive(OpenApi)]
#[openapi(
    info(title = "carenet gateway API", version = "1", description = "The actions of a school's carenet node for its own systems, under the same rules as its staff."),
    paths(season_view, import, show, submit, publish, assign, ask, search, withdraw,
        warm::plan, warm::show, warm::hold, warm::share, warm::feedback,
        care::meet, care::distribute, care::received, care::received_file, care::cases, care::show, care::step, care::view, care::report,
        care::change, care::change_goal, care::change_action, care::end_member, care::evaluate,
        links::invite, links::search, links::revoke, links::renew, links::withdraw,
        received::list, received::show, received::attachment, received::export),
    modifiers(&BearerScheme),
    tags((name = "dossiers", description = "Transfer dossiers"), (name = "warm handover", description = "The handover conversation"), (name = "consent", description = "Consent records"), (name = "care", description = "The ZAT and one child, one plan"), (name = "portal", description = "The parent portal's links"))
)]
pub struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
