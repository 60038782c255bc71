//! The gateway's errors, mapped once to an HTTP answer with a Dutch page
//! that names no personal data.

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
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    #[error(transparent)]
    Node(#[from] carenet_node::Error),
    #[error(transparent)]
    Handover(#[from] carenet_handover::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "Niet ingelogd",
                "Log opnieuw in om verder te gaan.",
            ),
            Error::Login(_) => (
                StatusCode::UNAUTHORIZED,
                "Inloggen mislukt",
                "Het inloggen is niet gelukt. Probeer het opnieuw.",
            ),
            Error::Csrf => (
                StatusCode::FORBIDDEN,
                "Formulier geweigerd",
                "Dit formulier kwam niet van deze site. Open de pagina opnieuw en probeer het nog eens.",
            ),
            Error::Fabric(carenet_fabric::Error::PermissionDenied(_)) => (
                StatusCode::FORBIDDEN,
                "Geen toegang",
                "U heeft geen toegang tot deze pagina.",
            ),
            Error::InvalidArgument { .. } => (
                StatusCode::BAD_REQUEST,
                "Onjuiste invoer",
                "Controleer wat u heeft ingevuld.",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Er ging iets mis",
                "Probeer het later opnieuw.",
            ),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "gateway error");
        } else {
            tracing::info!(status = status.as_u16(), "refused");
        }
        crate::pages::error_page(status, title, text)
    }
}
