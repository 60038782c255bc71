//! The consent service's error type. Messages name the field or record that is
//! wrong, never personal data.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `code`: why, as a stable code (see `carenet_fabric::Reason`).
    #[error("{field}: {reason}")]
    InvalidArgument {
        field: String,
        reason: String,
        code: Option<carenet_fabric::Reason>,
    },
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
            code: None,
        }
    }

    /// This error with `code` saying why (see `carenet_fabric::Error::coded`).
    pub fn coded(self, reason: carenet_fabric::Reason) -> Self {
        match self {
            Error::InvalidArgument {
                field, reason: r, ..
            } => Error::InvalidArgument {
                field,
                reason: r,
                code: Some(reason),
            },
            Error::Fabric(f) => Error::Fabric(f.coded(reason)),
            other => other,
        }
    }
}

impl From<Error> for carenet_fabric::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidArgument {
                field,
                reason,
                code,
            } => carenet_fabric::Error::InvalidArgument {
                field,
                reason,
                code,
            },
            Error::NotFound(id) => carenet_fabric::Error::NotFound(format!("consent record {id}")),
            Error::Fabric(f) => f,
            Error::Database(d) => carenet_fabric::Error::Database(d),
            e @ Error::Transition { .. } => carenet_fabric::Error::precondition(e.to_string())
                .coded(carenet_fabric::Reason::ConsentState),
            Error::Conflict(record) => {
                carenet_fabric::Error::Aborted(format!("consent record {record}"))
            }
            Error::Corrupt(what) => carenet_fabric::Error::Corrupt(what),
        }
    }
}
