//! The gateway's errors, mapped once to an HTTP answer with a Dutch page
//! that names no personal data. Slice errors arrive as the fabric's error
//! (every slice maps onto it once) and are mapped here by kind; a page says
//! a refusal in Dutch through [`crate::reasons`], never in the slice's words.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// Not signed in, or the session ended.
    #[error("not signed in")]
    Unauthenticated,
    /// The login came back wrong (state, nonce, token): no session.
    #[error("login failed: {0}")]
    Login(String),
    /// A form without the right CSRF token, or from another site.
    #[error("the form is not from this site")]
    Csrf,
    /// No such page (or it is not this party's).
    #[error("not found")]
    NotFound,
    /// Something the gateway needs (the identity provider) did not answer.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    #[error(transparent)]
    Node(#[from] carenet_node::Error),
}

impl From<carenet_handover::Error> for Error {
    fn from(e: carenet_handover::Error) -> Self {
        Error::Fabric(e.into())
    }
}

impl From<carenet_consent::Error> for Error {
    fn from(e: carenet_consent::Error) -> Self {
        Error::Fabric(e.into())
    }
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Status, Dutch title, Dutch text, and a detail safe to show (field
    /// names and ids, never personal data).
    pub(crate) fn describe(&self) -> (StatusCode, &'static str, &'static str, Option<String>) {
        use carenet_fabric::Error as F;
        // A peer's coded refusal reads as the same refusal made here.
        if let Some(local) = self.remote_refusal() {
            return local.describe();
        }
        match self {
            Error::Unauthenticated | Error::Fabric(F::Unauthenticated(_)) => (
                StatusCode::UNAUTHORIZED,
                "Niet ingelogd",
                "Log opnieuw in om verder te gaan.",
                None,
            ),
            Error::Login(_) => (
                StatusCode::UNAUTHORIZED,
                "Inloggen mislukt",
                "Het inloggen is niet gelukt. Probeer het opnieuw.",
                None,
            ),
            Error::Csrf => (
                StatusCode::FORBIDDEN,
                "Formulier geweigerd",
                "Dit formulier kwam niet van deze site. Open de pagina opnieuw en probeer het nog eens.",
                None,
            ),
            Error::NotFound | Error::Fabric(F::NotFound(_)) => (
                StatusCode::NOT_FOUND,
                "Niet gevonden",
                "Deze pagina bestaat niet (meer).",
                None,
            ),
            Error::Fabric(F::PermissionDenied(_) | F::NoLegalBasis(_)) => (
                StatusCode::FORBIDDEN,
                "Geen toegang",
                "U heeft geen toegang tot deze pagina.",
                None,
            ),
            Error::InvalidArgument { field, reason }
            | Error::Fabric(F::InvalidArgument { field, reason, .. }) => (
                StatusCode::BAD_REQUEST,
                "Onjuiste invoer",
                "Controleer wat u heeft ingevuld.",
                Some(format!("{field}: {reason}")),
            ),
            Error::Fabric(F::FailedPrecondition(what)) => (
                StatusCode::CONFLICT,
                "Dit kan nu niet",
                "Deze stap past niet bij waar het dossier of de toestemming nu staat.",
                Some(what.to_string()),
            ),
            Error::Fabric(F::Aborted(_)) => (
                StatusCode::CONFLICT,
                "Tegelijk gewijzigd",
                "Iemand anders wijzigde dit net. Open de pagina opnieuw en probeer het nog eens.",
                None,
            ),
            Error::Fabric(F::ResourceExhausted(what)) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Te vaak geprobeerd",
                "Dit is te vaak geprobeerd. Probeer het later opnieuw.",
                Some(what.clone()),
            ),
            Error::Unavailable(_) | Error::Fabric(F::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Even niet bereikbaar",
                "Een onderdeel is even niet bereikbaar. Probeer het over een paar minuten opnieuw.",
                None,
            ),
            Error::Fabric(F::Database(db)) => match carenet_fabric::error::constraint_violation(db)
            {
                Some((field, reason)) => (
                    StatusCode::BAD_REQUEST,
                    "Onjuiste invoer",
                    "Controleer wat u heeft ingevuld.",
                    Some(format!("{field}: {reason}")),
                ),
                None => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Er ging iets mis",
                    "Probeer het later opnieuw.",
                    None,
                ),
            },
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Er ging iets mis",
                "Probeer het later opnieuw.",
                None,
            ),
        }
    }
}

impl Error {
    /// A peer's coded refusal as this node's own error, if this is one.
    pub(crate) fn remote_refusal(&self) -> Option<Error> {
        match self {
            Error::Fabric(f) => f.remote_refusal().map(Error::Fabric),
            _ => None,
        }
    }

    /// The code of a slice's refusal, if it gave one.
    pub(crate) fn code(&self) -> Option<carenet_fabric::Reason> {
        match self {
            Error::Fabric(f) => f.code(),
            _ => None,
        }
    }

    /// Logs an internal error with its own text (a database's included),
    /// which the answer never shows.
    pub(crate) fn log_internal(&self) {
        match self {
            Error::Fabric(carenet_fabric::Error::Database(db)) => {
                tracing::error!(error = %db, "gateway database error")
            }
            other => tracing::error!(error = %other, "gateway error"),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, title, text, _) = self.describe();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            self.log_internal();
        } else {
            tracing::info!(status = status.as_u16(), "refused");
        }
        // The page says it in Dutch, from the refusal's code and field; the
        // English detail stays with the API and the log.
        let refused = crate::reasons::refused(&self);
        crate::pages::error_page(status, title, text, refused.as_ref())
    }
}
