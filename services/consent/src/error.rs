//! The consent service's error type. Messages name the field or record that is
//! wrong, never personal data.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("consent record {0}: not found")]
    NotFound(String),
    /// The change is not allowed from the record's current status.
    #[error("consent record {record}: cannot {change} a {status} consent")]
    Transition {
        record: String,
        change: &'static str,
        status: &'static str,
    },
    #[error("consent record {0}: changed meanwhile, try again")]
    Conflict(String),
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    /// Shown as the field a refused constraint names, or a generic text
    /// (`carenet_fabric::error::database_public`), never the database's own.
    #[error("{}", carenet_fabric::error::database_public(.0))]
    Database(#[from] sqlx::Error),
    #[error("stored consent is corrupt: {0}")]
    Corrupt(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<Error> for carenet_fabric::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidArgument { field, reason } => {
                carenet_fabric::Error::InvalidArgument { field, reason }
            }
            Error::NotFound(id) => carenet_fabric::Error::NotFound(format!("consent record {id}")),
            Error::Fabric(f) => f,
            Error::Database(d) => carenet_fabric::Error::Database(d),
            e @ Error::Transition { .. } => {
                carenet_fabric::Error::FailedPrecondition(e.to_string())
            }
            Error::Conflict(record) => {
                carenet_fabric::Error::Aborted(format!("consent record {record}"))
            }
            Error::Corrupt(what) => carenet_fabric::Error::Corrupt(what),
        }
    }
}
