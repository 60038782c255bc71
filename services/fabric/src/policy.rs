//! The release decision at fetch time.
//!
//! The fabric asks a [`ReleasePolicy`] at the moment a recipient fetches a
//! message, not when it was queued: a withdrawn consent stops the release. The
//! policy may also narrow the payload to what the basis allows (data
//! minimisation); the fabric signs and audits whatever the policy returns. The
//! consent service provides the real policy; [`RequireLegalBasis`] is the
//! fabric's own floor: no basis, no release.

use carenet_proto::v1;
use futures::future::BoxFuture;

use crate::Result;
use crate::directory::PartyEntry;

/// One message about to be released.
pub struct ReleaseRequest<'a> {
    pub message_id: &'a str,
    /// The releasing party's own kind, as the directory says.
    pub holder_kind: Option<crate::PartyKind>,
    pub document_type: &'a str,
    /// Id shared by all versions of the document.
    pub document_id: &'a str,
    pub version: u32,
    /// The holder's own reference of the child the document is about, and
    /// the pseudonym the envelope names it by; `None` for no child.
    pub child_ref: Option<&'a str>,
    pub child: Option<&'a str>,
    pub recipient: &'a PartyEntry,
    pub purpose: &'a str,
    pub legal_basis: Option<&'a v1::LegalBasis>,
    pub payload: &'a [u8],
}

pub enum Decision {
    /// Release this payload (the original, or a projection of it), under the
    /// message's legal basis or the one given here (e.g. with a fresh consent
    /// receipt).
    Release {
        payload: Vec<u8>,
        legal_basis: Option<v1::LegalBasis>,
        /// A revocable basis the decision read: the release commits only if
        /// it is still at this version (see [`Hold`]).
        hold: Option<Hold>,
    },
    /// Do not release; the reason names no personal data.
    Refuse(String),
    /// Not now, but the cause can change (consent requested and not yet
    /// granted, or not yet valid): the message stays queued and the receiver
    /// asks again later.
    NotYet(String),
}

/// The version of a revocable basis (a consent record) a release was decided
/// on. The release's transaction takes the basis's `basis_version` row and
/// refuses the release if the version moved on meanwhile; a change of the
/// basis takes the same row first (with [`crate::basis_advance!`]), so the
/// two are ordered: a withdrawal either stops the release or sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// E.g. `consent:<record id>`, as the audit log labels the basis.
    pub reference: String,
    pub version: i64,
}

pub trait ReleasePolicy: Send + Sync + 'static {
    fn decide<'a>(&'a self, request: ReleaseRequest<'a>) -> BoxFuture<'a, Result<Decision>>;
}

/// Releases a message only if it names a legal basis, and a consent basis only
/// with its receipt.
pub struct RequireLegalBasis;

impl ReleasePolicy for RequireLegalBasis {
    fn decide<'a>(&'a self, request: ReleaseRequest<'a>) -> BoxFuture<'a, Result<Decision>> {
        Box::pin(async move { Ok(require_legal_basis(&request)) })
    }
}

fn require_legal_basis(request: &ReleaseRequest<'_>) -> Decision {
    let Some(basis) = request.legal_basis else {
        return Decision::Refuse("no legal basis".into());
    };
    match v1::LegalBasisKind::try_from(basis.kind) {
        Ok(v1::LegalBasisKind::Unspecified) | Err(_) => Decision::Refuse("no legal basis".into()),
        Ok(v1::LegalBasisKind::Consent) if basis.consent_receipt.is_empty() => {
            Decision::Refuse("consent basis without a consent receipt".into())
        }
        Ok(v1::LegalBasisKind::SafetyException) if basis.reference.is_empty() => {
            Decision::Refuse("safety exception without its record".into())
        }
        Ok(_) => Decision::Release {
            payload: request.payload.to_vec(),
            legal_basis: None,
            hold: None,
        },
    }
}

/// A verified envelope that has just arrived, before it is stored.
pub struct Arrival<'a> {
    pub header: &'a v1::EnvelopeHeader,
    pub payload: &'a [u8],
    pub sender: &'a PartyEntry,
    pub receiver: &'a str,
}

/// The receiver's own check of the legal basis (the consent service checks the
/// consent receipt again). An error rejects the message: it is not stored.
pub trait ArrivalCheck: Send + Sync + 'static {
    fn check(&self, arrival: &Arrival<'_>) -> Result<()>;
}

/// The fabric's floor on arrival: the envelope's signature and hash were
/// verified; a message must name a legal basis.
pub struct RequireBasisOnArrival;

impl ArrivalCheck for RequireBasisOnArrival {
    fn check(&self, arrival: &Arrival<'_>) -> Result<()> {
        match arrival
            .header
            .legal_basis
            .as_ref()
            .map(|b| v1::LegalBasisKind::try_from(b.kind))
        {
            Some(Ok(kind)) if kind != v1::LegalBasisKind::Unspecified => Ok(()),
            _ => Err(crate::Error::NoLegalBasis(
                "the message names no legal basis".into(),
            )),
        }
    }
}
