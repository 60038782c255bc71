//! The fabric's error type and its one mapping onto gRPC status codes.
//!
//! Messages name the field or object that is wrong, never personal data, and
//! internal (database, I/O) text never crosses to another organisation: it is
//! logged here and replaced by a generic message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use crate::reason::{Reason, Why};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that does not have the required form; names the field.
    /// `code`: why, as a stable code pages map to Dutch (`reason` is the
    /// English text for logs and the API).
    #[error("{field}: {reason}")]
    InvalidArgument {
        field: String,
        reason: String,
        code: Option<Reason>,
    },
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
    /// A database error: shown as the field a refused constraint names, or
    /// as a generic text; the database's own text goes only to the log.
    #[error("{}", database_public(.0))]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("audit chain: {0}")]
    Audit(String),
    /// The step is not allowed in the object's current state.
    #[error("{0}")]
    FailedPrecondition(Why),
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
            code: None,
        }
    }

    /// A refused precondition (English text, no code yet).
    pub fn precondition(text: impl Into<String>) -> Self {
        Error::FailedPrecondition(Why::from(text.into()))
    }

    /// This error with `code` saying why, for a refusal a person can meet
    /// in a form (only invalid arguments and refused preconditions carry
    /// one; any other error is returned as it is).
    pub fn coded(mut self, reason: Reason) -> Self {
        match &mut self {
            Error::InvalidArgument { code, .. } => *code = Some(reason),
            Error::FailedPrecondition(why) => why.code = Some(reason),
            _ => {}
        }
        self
    }

    /// A peer's coded refusal (invalid argument or failed precondition,
    /// with one of our codes) as this node's own error, so it reads the same
    /// as a local one; `None` for anything else.
    pub fn remote_refusal(&self) -> Option<Error> {
        let Error::Remote(status) = self else {
            return None;
        };
        let code = remote_code(status)?;
        let refusal = match status.code() {
            Code::InvalidArgument => {
                let details = status.get_error_details();
                let violation = details.bad_request()?.field_violations.first()?;
                Error::invalid(violation.field.clone(), violation.description.clone())
            }
            Code::FailedPrecondition => Error::precondition(status.message()),
            _ => return None,
        };
        Some(refusal.coded(code))
    }

    /// The code of a refusal, if a slice (here or at a peer) gave one.
    pub fn code(&self) -> Option<Reason> {
        match self {
            Error::InvalidArgument { code, .. } => *code,
            Error::FailedPrecondition(why) => why.code,
            Error::Remote(status) => remote_code(status),
            _ => None,
        }
    }
}

/// A value the database refused by a constraint of its schema, as the field
/// it concerns and a reason: the one reading of constraint errors, for every
/// boundary (gRPC, the gateway, the CLI). `None` for any other database error.
pub fn constraint_violation(err: &sqlx::Error) -> Option<(String, &'static str)> {
    use sqlx::error::ErrorKind;
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    let reason = match db.kind() {
        ErrorKind::CheckViolation => "is not a value this field accepts",
        ErrorKind::UniqueViolation => "already exists",
        ErrorKind::NotNullViolation => "is required",
        ErrorKind::ForeignKeyViolation => "refers to something that does not exist",
        _ => return None,
    };
    Some((violated_field(db.as_ref()), reason))
}

/// The column a constraint error names. PostgreSQL reports the column (not
/// null) or the constraint (`<table>_<column>_check`, `<table>_<column>_key`,
/// `<table>_pkey`, a named index); SQLite only its message
/// (`CHECK constraint failed: <column> IN (...)`, `NOT NULL constraint
/// failed: <table>.<column>`, `UNIQUE constraint failed: <table>.<column>, ...`).
fn violated_field(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(column) = pg.column() {
            return column.to_owned();
        }
        if let Some(constraint) = pg.constraint() {
            let table = pg.table().unwrap_or_default();
            if constraint == format!("{table}_pkey") {
                return "id".to_owned();
            }
            let bare = constraint
                .strip_prefix(table)
                .and_then(|c| c.strip_prefix('_'))
                .unwrap_or(constraint);
            let bare = ["_check", "_key", "_fkey"]
                .iter()
                .find_map(|suffix| bare.strip_suffix(suffix))
                .unwrap_or(bare);
            return bare.to_owned();
        }
        return "record".to_owned();
    }
    let message = db.message();
    let detail = message.split_once(": ").map(|(_, d)| d).unwrap_or_default();
    // `table.column` (not null, unique): the column; an expression (check):
    // the first name in it.
    let first = detail.split([',', ' ', '(']).next().unwrap_or_default();
    let column = first.rsplit('.').next().unwrap_or_default();
    let named = !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if named {
        column.to_owned()
    } else {
        "record".to_owned()
    }
}

/// An error chain as a person reads it: each cause's text, joined by `: `,
/// up to the database's own, which is left out (the error above it already
/// names the field of a refused constraint). Also the database error, when it
/// is one the log must keep (anything but a refused constraint).
pub fn public_chain<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> (String, Option<&'a sqlx::Error>) {
    let mut parts = Vec::new();
    for cause in chain {
        if let Some(db) = cause.downcast_ref::<sqlx::Error>() {
            let log = constraint_violation(db).is_none().then_some(db);
            return (parts.join(": "), log);
        }
        parts.push(cause.to_string());
    }
    (parts.join(": "), None)
}

/// What a database error says outside the node's log.
pub fn database_public(err: &sqlx::Error) -> String {
    match constraint_violation(err) {
        Some((field, reason)) => format!("{field}: {reason}"),
        None => "database error (details in the log)".to_owned(),
    }
}

/// The domain of the refusal codes in a status's `google.rpc.ErrorInfo`.
pub const REASON_DOMAIN: &str = "carenet";

/// `details` with the refusal code `code` as a `google.rpc.ErrorInfo`
/// (its reason in UPPER_SNAKE_CASE, as AIP-193 asks), when there is one.
fn with_reason(mut details: ErrorDetails, code: Option<Reason>) -> ErrorDetails {
    if let Some(code) = code {
        details.set_error_info(
            code.as_str().to_ascii_uppercase(),
            REASON_DOMAIN,
            std::collections::HashMap::new(),
        );
    }
    details
}

/// The refusal code a peer's status carries, if it is one of ours.
fn remote_code(status: &Status) -> Option<Reason> {
    let details = status.get_error_details();
    let info = details.error_info()?;
    (info.domain == REASON_DOMAIN)
        .then(|| Reason::parse(&info.reason))
        .flatten()
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidArgument {
                ref field,
                ref reason,
                code,
            } => {
                // Structured details (google.rpc.BadRequest) name the field
                // for clients, an ErrorInfo carries the refusal code; the
                // message says the same for people.
                let details = with_reason(
                    ErrorDetails::with_bad_request_violation(field.clone(), reason.clone()),
                    code,
                );
                Status::with_error_details(Code::InvalidArgument, err.to_string(), details)
            }
            Error::FailedPrecondition(ref why) if why.code.is_some() => {
                let details = with_reason(ErrorDetails::new(), why.code);
                Status::with_error_details(Code::FailedPrecondition, err.to_string(), details)
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
            Error::Database(db) => match constraint_violation(&db) {
                Some((field, reason)) => Error::invalid(field, reason).into(),
                None => {
                    tracing::error!(error = %db, "internal database error");
                    Status::internal("internal error")
                }
            },
            other => {
                tracing::error!(error = %other, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CHECK refused by a real SQLite database, as the error a slice returns.
    async fn refused_check() -> Error {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (route TEXT NOT NULL CHECK (route IN ('po_vo')))")
            .execute(&pool)
            .await
            .unwrap();
        let e = sqlx::query("INSERT INTO t (route) VALUES ('po_po')")
            .execute(&pool)
            .await
            .expect_err("refused");
        Error::from(e)
    }

    #[tokio::test]
    async fn a_refused_constraint_reads_as_its_field_and_the_chain_stops_before_the_database() {
        let err = refused_check().await;
        assert_eq!(err.to_string(), "route: is not a value this field accepts");
        let (message, log) = public_chain(std::iter::successors(
            Some(&err as &(dyn std::error::Error + 'static)),
            |e| e.source(),
        ));
        assert_eq!(message, "route: is not a value this field accepts");
        assert!(
            log.is_none(),
            "a refused constraint is the user's, not the log's"
        );
        let status = Status::from(err);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(!status.message().contains("CHECK"));
    }

    #[test]
    fn a_refusal_code_crosses_grpc_and_reads_back_at_the_caller() {
        let refused =
            Error::invalid("consent_record", "no granted consent").coded(Reason::ConsentMissing);
        let status = Status::from(refused);
        assert_eq!(status.code(), Code::InvalidArgument);
        let back = Error::Remote(status);
        assert_eq!(back.code(), Some(Reason::ConsentMissing));
        match back.remote_refusal() {
            Some(Error::InvalidArgument { field, code, .. }) => {
                assert_eq!(field, "consent_record");
                assert_eq!(code, Some(Reason::ConsentMissing));
            }
            other => panic!("expected the field back: {other:?}"),
        }

        let state = Error::precondition("the plan is closed").coded(Reason::CaseState);
        let back = Error::Remote(Status::from(state));
        assert_eq!(back.code(), Some(Reason::CaseState));

        // Without a code, and from another domain, none is read.
        let plain = Error::Remote(Status::from(Error::invalid("x", "y")));
        assert_eq!(plain.code(), None);
        let mut other = ErrorDetails::new();
        other.set_error_info(
            "CONSENT_MISSING",
            "example.org",
            std::collections::HashMap::new(),
        );
        let foreign = Status::with_error_details(Code::InvalidArgument, "x", other);
        assert_eq!(Error::Remote(foreign).code(), None);
    }

    #[test]
    fn any_other_database_error_says_nothing_of_the_database() {
        let err = Error::from(sqlx::Error::PoolTimedOut);
        let (message, log) = public_chain(std::iter::successors(
            Some(&err as &(dyn std::error::Error + 'static)),
            |e| e.source(),
        ));
        assert_eq!(message, "database error (details in the log)");
        assert!(log.is_some(), "the log keeps it");
    }
}
