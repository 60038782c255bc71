//! The handover service's error type. Messages name the field, element or
//! record that is wrong, never personal data (an OSO error names the element
//! and its line, not its content).
//!
//! It maps once onto the fabric's error ([`From<Error> for carenet_fabric::Error`]),
//! and through the fabric's `From<Error> for Status` onto gRPC status codes
//! (a slice's service converts with `carenet_fabric::Error::from`): a step not allowed in the
//! dossier's state is `FailedPrecondition`, a concurrent change `Aborted`,
//! a refusal for lack of a role `PermissionDenied`.

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
    /// Someone else changed the object between reading and writing it.
    #[error("{0}: changed meanwhile, try again")]
    Conflict(String),
    #[error(transparent)]
    Consent(#[from] carenet_consent::Error),
    /// Also a refusal for lack of a role (`PermissionDenied`).
    #[error(transparent)]
    Fabric(#[from] carenet_fabric::Error),
    /// Shown as the field a refused constraint names, or a generic text
    /// (`carenet_fabric::error::database_public`), never the database's own.
    #[error("{}", carenet_fabric::error::database_public(.0))]
    Database(#[from] sqlx::Error),
    #[error("stored dossier is corrupt: {0}")]
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
            Error::Consent(c) => Error::Consent(c.coded(reason)),
            Error::Fabric(f) => Error::Fabric(f.coded(reason)),
            other => other,
        }
    }

    pub fn xml(element: &str, line: u32, reason: &str) -> Self {
        Error::Xml {
            element: element.to_owned(),
            line,
            reason: reason.to_owned(),
        }
    }

    /// Whether this is a refusal for lack of a role.
    pub fn is_permission_denied(&self) -> bool {
        matches!(
            self,
            Error::Fabric(carenet_fabric::Error::PermissionDenied(_))
        )
    }
}

impl From<Error> for carenet_fabric::Error {
    fn from(e: Error) -> Self {
        use carenet_fabric::Error as F;
        match e {
            Error::InvalidArgument {
                field,
                reason,
                code,
            } => F::InvalidArgument {
                field,
                reason,
                code,
            },
            e @ Error::Xml { .. } => F::invalid("oso", e.to_string()),
            Error::NotFound(what) => F::NotFound(what),
            e @ Error::State { .. } => {
                F::precondition(e.to_string()).coded(carenet_fabric::Reason::DossierState)
            }
            Error::Conflict(what) => F::Aborted(what),
            Error::Consent(c) => c.into(),
            Error::Fabric(f) => f,
            Error::Database(d) => F::Database(d),
            Error::Corrupt(what) => F::Corrupt(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_onto_the_fabric_once() {
        let state = Error::State {
            id: "d1".into(),
            step: "publish",
            state: "draft".into(),
        };
        assert!(matches!(
            carenet_fabric::Error::from(state),
            carenet_fabric::Error::FailedPrecondition(_)
        ));
        assert!(matches!(
            carenet_fabric::Error::from(Error::Conflict("dossier d1".into())),
            carenet_fabric::Error::Aborted(_)
        ));
        assert!(matches!(
            carenet_fabric::Error::from(Error::Corrupt("x".into())),
            carenet_fabric::Error::Corrupt(_)
        ));
    }
}
