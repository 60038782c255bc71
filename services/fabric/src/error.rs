//! The fabric's error type and its one mapping onto gRPC status codes.
//!
//! Messages name the field or object that is wrong, never personal data, and
//! internal (database, I/O) text never crosses to another organisation: it is
//! logged here and replaced by a generic message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not have the required form; names the field.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{0}: not found")]
    NotFound(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The legal basis does not (or no longer) allow a release.
    #[error("no legal basis: {0}")]
    NoLegalBasis(String),
    #[error("peer unavailable: {0}")]
    Unavailable(String),
    /// A limit on this caller's calls is reached; retry later.
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("certificate authority: {0}")]
    Ca(String),
    #[error("tls: {0}")]
    Tls(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("audit chain: {0}")]
    Audit(String),
    /// The step is not allowed in the object's current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Someone else changed the object meanwhile; try again.
    #[error("{0}: changed meanwhile, try again")]
    Aborted(String),
    /// Stored data that fails its own checks (names the field, not the value).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("remote: {0}")]
    Remote(#[from] Status),
}

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidArgument {
                ref field,
                ref reason,
            } => {
                // Structured details (google.rpc.BadRequest) name the field
                // for clients; the message says the same for people.
                let details =
                    ErrorDetails::with_bad_request_violation(field.clone(), reason.clone());
                Status::with_error_details(Code::InvalidArgument, err.to_string(), details)
            }
            Error::NotFound(_) => Status::not_found(err.to_string()),
            Error::Unauthenticated(_) => Status::unauthenticated(err.to_string()),
            Error::PermissionDenied(_) => Status::permission_denied(err.to_string()),
            Error::NoLegalBasis(_) | Error::FailedPrecondition(_) => {
                Status::failed_precondition(err.to_string())
            }
            Error::Aborted(_) => Status::aborted(err.to_string()),
            Error::Unavailable(_) => Status::unavailable("peer unavailable"),
            Error::ResourceExhausted(_) => Status::resource_exhausted(err.to_string()),
            Error::Remote(status) if status.code() != Code::Internal => status,
            other => {
                tracing::error!(error = %other, "internal error");
                Status::internal("internal error")
            }
        }
    }
}
