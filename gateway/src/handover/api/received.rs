//! Received dossiers in the JSON API: the list (with filters), one dossier's
//! content (the same sections as its page, [`crate::handover::dossier_content`]), its
//! attachments and its OSO 2019.1 export. The care coordinator reads every
//! one, a mentor the ones assigned to them; every reading is audited and
//! told to the sending school, as on the pages ([`carenet_handover::reading`]).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use carenet_handover::dossier::{self, ExportSource};
use carenet_handover::incoming;
use carenet_handover::reading::{self, Reading};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::{ApiError, ApiResult, Caller};
use crate::handover::dossier_content::{self, DossierContent};
use crate::{AppState, Error, labels};

/// One received dossier version.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReceivedItem {
    /// The message id (the id in the other `/api/v1/received/{id}` routes).
    id: String,
    /// The sending school's dossier id (the same for every version).
    document_id: String,
    version: u32,
    /// The sending school's party id.
    sender: String,
    /// The sending school's name.
    sender_name: String,
    /// The pupil's name; empty when withdrawn or purged.
    pupil: String,
    /// When it arrived (milliseconds since 1970).
    received_at_ms: i64,
    /// `received`, `assigned`, `read` (by the mentor), `withdrawn` or `purged`.
    status: String,
    /// The assigned mentor's staff id, if assigned.
    mentor: Option<String>,
    teachers: Vec<String>,
}

/// One received dossier with everything it holds.
#[derive(Serialize, ToSchema)]
pub(crate) struct ReceivedDossier {
    #[serde(flatten)]
    item: ReceivedItem,
    /// The content, section by section (Dutch headings), and its attachments.
    content: DossierContent,
}

const STATUSES: &[&str] = &["received", "assigned", "read", "withdrawn", "purged"];

fn item_json(state: &AppState, l: reading::Listed) -> ReceivedItem {
    ReceivedItem {
        sender_name: labels::party_name(state, &l.item.sender),
        id: l.item.message_id,
        document_id: l.item.document_id,
        version: l.item.version,
        sender: l.item.sender,
        pupil: l.pupil,
        received_at_ms: l.item.received_at_ms,
        status: l.status.into(),
        mentor: l.item.mentor,
        teachers: l.item.teachers,
    }
}

/// The received dossiers this caller may read, newest first: every one for
/// the care coordinator, the assigned ones for a mentor. Filters:
/// `status` (`received`, `assigned`, `read`, `withdrawn`, `purged`),
/// `assigned` (`true`/`false`), `mentor` (a staff id), `sender` (a party id).
#[utoipa::path(get, path = "/api/v1/received", tag = "dossiers", operation_id = "listReceivedDossiers",
    params(
        ("status" = Option<String>, Query, description = "received, assigned, read, withdrawn or purged"),
        ("assigned" = Option<bool>, Query, description = "true: assigned to a mentor; false: not yet"),
        ("mentor" = Option<String>, Query, description = "the assigned mentor's staff id"),
        ("sender" = Option<String>, Query, description = "the sending school's party id"),
    ),
    responses((status = 200, body = [ReceivedItem]), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Query(filters): Query<HashMap<String, String>>,
) -> ApiResult<Json<Vec<ReceivedItem>>> {
    let mut status = None;
    let mut assigned = None;
    let mut mentor = None;
    let mut sender = None;
    for (key, value) in &filters {
        match key.as_str() {
            "status" if STATUSES.contains(&value.as_str()) => status = Some(value.as_str()),
            "status" => {
                return Err(Error::invalid(
                    "status",
                    "must be received, assigned, read, withdrawn or purged",
                )
                .into());
            }
            "assigned" => {
                assigned = Some(match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(Error::invalid("assigned", "must be true or false").into()),
                });
            }
            "mentor" => mentor = Some(value.as_str()),
            "sender" => sender = Some(value.as_str()),
            other => {
                return Err(Error::invalid(
                    other,
                    "not a filter (status, assigned, mentor, sender)",
                )
                .into());
            }
        }
    }
    let rows = reading::list(&state.inner.store, state.inner.kind, &actor).await?;
    Ok(Json(
        rows.into_iter()
            .filter(|l| {
                status.is_none_or(|s| s == l.status)
                    && assigned.is_none_or(|a| a == l.item.mentor.is_some())
                    && mentor.is_none_or(|m| l.item.mentor.as_deref() == Some(m))
                    && sender.is_none_or(|s| s == l.item.sender)
            })
            .map(|l| item_json(&state, l))
            .collect(),
    ))
}

/// One received dossier with everything it holds, section by section; the
/// reading is audited and told to the sending school.
#[utoipa::path(get, path = "/api/v1/received/{id}", tag = "dossiers", operation_id = "getReceivedDossier",
    params(("id" = String, Path, description = "message id of the received dossier")),
    responses((status = 200, body = ReceivedDossier), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn show(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReceivedDossier>> {
    let store = &state.inner.store;
    let (item, d) = reading::read(store, state.inner.kind, &actor, &id, Reading::Api).await?;
    let content = dossier_content::content(&d, |n| {
        crate::href::path(&[
            "api",
            "v1",
            "received",
            &item.message_id,
            "attachments",
            &n.to_string(),
        ])
    });
    let listed = reading::Listed {
        pupil: content.pupil.clone(),
        status: reading::status_of(&item),
        item,
    };
    Ok(Json(ReceivedDossier {
        item: item_json(&state, listed),
        content,
    }))
}

/// Attachment `n` (from 1, as the content numbers them) of a received
/// dossier, with its content type, as a download; audited and told to the
/// sending school.
#[utoipa::path(get, path = "/api/v1/received/{id}/attachments/{n}", tag = "dossiers", operation_id = "downloadReceivedAttachment",
    params(("id" = String, Path, description = "message id of the received dossier"),
        ("n" = usize, Path, description = "the attachment's number, from 1")),
    responses((status = 200, description = "the attachment's bytes, with its content type (`Content-Disposition: attachment`)", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn attachment(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult<Response> {
    let n: usize = n
        .parse()
        .map_err(|_| Error::invalid("n", "must be a number from 1"))?;
    let store = &state.inner.store;
    let item = reading::check(store, state.inner.kind, &actor, &id).await?;
    let d = incoming::dossier_of(store, &item).await?;
    let a = dossier_content::attachment(&d, n).ok_or(Error::NotFound)?;
    reading::record(
        store,
        &actor,
        &item,
        &d,
        Reading::Attachment,
        carenet_fabric::crypto::sha256(&a.bytes).to_vec(),
    )
    .await?;
    Ok(dossier_content::download(a))
}

/// The received dossier as an OSO 2019.1 file for the school's
/// administration system (the same export as `carenet oso export
/// --message`); the care coordinator's, audited and told to the sending
/// school.
#[utoipa::path(get, path = "/api/v1/received/{id}/oso", tag = "dossiers", operation_id = "exportReceivedDossier",
    params(("id" = String, Path, description = "message id of the received dossier")),
    responses((status = 200, description = "the OSO 2019.1 file", content_type = "application/xml", body = String),
        (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 503, body = ApiError)),
    security(("bearer" = [])))]
pub(crate) async fn export(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let xml = dossier::export_oso(&state.inner.store, &actor, &ExportSource::Received(id)).await?;
    Ok(crate::handover::dossiers::oso_download(xml))
}
