//! The handover service's error type. Messages name the field, element or
//! record that is wrong, never personal data (an OSO error names the element
//! and its line, not its content).

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    /// An OSO file that cannot be imported.
    #[error("{}line {line}: {reason}", if element.is_empty() { String::new() } else { format!("<{element}> at ") })]
    Xml {
        element: String,
        line: u32,
        reason: String,
    },
    #[error("{0}: not found")]
    NotFound(String),
    /// The step is not allowed in the dossier's current state.
    #[error("dossier {id}: cannot {step} while it is {state}")]
    State {
        id: String,
        step: &'static str,
        state: String,
    },
    #[error(transparent)]
    Consent(#[from] carenet_consent::Error),
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored dossier is corrupt: {0}")]
    Corrupt(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn xml(element: &str, line: u32, reason: &str) -> Self {
        Error::Xml {
            element: element.to_owned(),
            line,
            reason: reason.to_owned(),
        }
    }
}
