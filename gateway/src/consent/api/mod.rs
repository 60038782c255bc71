//! Consent records in the JSON API: ask for consent, look up a pupil's
//! records, record a withdrawal, and the parent portal's links: the same
//! actions as the pages, through the same slice functions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use carenet_consent::record::{ConsentRequest, ConsentStore, Stored, parse_date, status_name};
use carenet_consent::{Category, Purpose};
use carenet_fabric::PartyKind;
use carenet_proto::v1::{self, EvidenceKind, consent_recipient::Target};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::{ApiError, ApiResult, Body, Caller, Path};

pub(crate) mod links;

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
        .map(|r| crate::consent::pages::parse_recipient(r))
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
    let role = crate::consent::pages::parse_grantor_role(&body.grantor_role)?;
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
