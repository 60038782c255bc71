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
    /// An OSO file that cannot be imported: the element (empty when the
    /// file as a whole), its line (0 when none) and what is wrong with it.
    #[error("{}line {line}: {problem}", if element.is_empty() { String::new() } else { format!("<{element}> at ") })]
    Xml {
        element: String,
        line: u32,
        problem: OsoProblem,
    },
    /// An OSO SWV dossier (PaO profile POSWV or VOSWV) that breaks a rule
    /// of its profile or holds a value of the wrong form: the element, its
    /// line (0 when written by carenet: then no line is named) and what is
    /// wrong.
    #[error("{}: {problem}", where_in_file(element, *line))]
    Pao {
        element: String,
        line: u32,
        problem: PaoProblem,
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

/// What is wrong with an OSO file, as a stable kind: the English text
/// (`Display`, for the API and the CLI) and a page's Dutch sentence are both
/// read from it. It carries codes and element names only, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsoProblem {
    /// Larger than the limit, in MiB.
    TooLarge(usize),
    /// Not well-formed XML (the parser's words: names and positions).
    NotWellFormed(String),
    /// The root element is not `<dossier>`.
    NotADossier,
    /// The root is not in the OSO 2019.1 dossier namespace.
    WrongNamespace,
    /// Nested deeper than the limit.
    TooDeep(usize),
    /// An element outside the dossier's namespace.
    ForeignElement,
    /// Text mixed with elements.
    MixedText,
    /// A top-level block OSO 2019.1 does not have.
    UnknownBlock,
    /// A required block is missing.
    MissingBlock,
    /// `metadata/categorie_uitlevering` is missing.
    NoDeliveryCategories,
    /// An element of `categorie_uitlevering` that is no delivery category.
    NotADeliveryCategory,
    /// A delivery category's value is not one of the four codes.
    BadDeliveryValue,
    /// A block whose delivery category is not in `categorie_uitlevering`.
    DeliveryCategoryMissing,
    /// `inzage` is not true or false.
    BadInzage,
    /// Data in a category the file marks as not to be delivered.
    ForbiddenData { category: String, delivery: String },
    /// A category marked VERPLICHT without data.
    RequiredWithoutData,
    /// The file is another kind of dossier than the route sends.
    WrongKind { found: String, expected: String },
    /// The file is another transfer than the route sends.
    WrongTransfer {
        found: String,
        expected: Vec<String>,
    },
    /// `metadata/overstap` is missing; the route needs one of these.
    TransferMissing { expected: Vec<String> },
}

impl std::fmt::Display for OsoProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use OsoProblem::*;
        match self {
            TooLarge(mib) => write!(f, "the file is larger than {mib} MiB"),
            NotWellFormed(why) => write!(f, "not well-formed XML: {why}"),
            NotADossier => f.write_str("the root element must be <dossier>"),
            WrongNamespace => f.write_str(
                "wrong namespace: expected http://www.edustandaard.nl/oso_gegevensset/2019/dossier",
            ),
            TooDeep(max) => write!(f, "elements nested deeper than {max} levels"),
            ForeignElement => f.write_str("element outside the dossier's namespace"),
            MixedText => f.write_str("text mixed with elements"),
            UnknownBlock => f.write_str("not a block of an OSO 2019.1 dossier"),
            MissingBlock => f.write_str("required block is missing"),
            NoDeliveryCategories => f.write_str("categorie_uitlevering is missing"),
            NotADeliveryCategory => f.write_str("not an OSO delivery category"),
            BadDeliveryValue => f.write_str("must be VERPLICHT, VERBODEN, OPTIONEEL or OPT-UIT"),
            DeliveryCategoryMissing => {
                f.write_str("delivery category missing from categorie_uitlevering")
            }
            BadInzage => f.write_str("must be true or false"),
            ForbiddenData { category, delivery } => write!(
                f,
                "data in category {category} which the file marks {delivery}"
            ),
            RequiredWithoutData => {
                f.write_str("marked VERPLICHT but the dossier holds no such data")
            }
            WrongKind { found, expected } => {
                write!(f, "the file is a {found}, this route sends a {expected}")
            }
            WrongTransfer { found, expected } => write!(
                f,
                "the file is a {found} transfer, this route sends {}",
                expected.join(" or ")
            ),
            TransferMissing { expected } => {
                write!(
                    f,
                    "metadata/overstap is required ({})",
                    expected.join(" or ")
                )
            }
        }
    }
}

/// "<element> at line N", "<element>" (built in code) or "line N".
fn where_in_file(element: &str, line: u32) -> String {
    match (element, line) {
        ("", l) => format!("line {l}"),
        (e, 0) => format!("<{e}>"),
        (e, l) => format!("<{e}> at line {l}"),
    }
}

/// What is wrong with an OSO SWV dossier beyond what every OSO file is
/// checked for ([`OsoProblem`]): a rule of the official PaO rules
/// (`ValideerSwvPaO-profielen.xsl`, named by its code such as `PaO.LL12`) or
/// a value of the wrong form. Codes and element names only, never content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaoProblem {
    /// The profile forbids this element (rule, profile code).
    Forbidden {
        rule: &'static str,
        profile: &'static str,
    },
    /// The profile requires this element (rule).
    Required { rule: &'static str },
    /// A value that is not of the form the XSD gives (what it must be).
    BadValue { expected: &'static str },
    /// An element that does not belong where it stands.
    Unexpected,
}

impl std::fmt::Display for PaoProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaoProblem::Forbidden { rule, profile } => {
                write!(f, "forbidden in an SWV dossier {profile} (rule {rule})")
            }
            PaoProblem::Required { rule } => {
                write!(f, "required in an SWV dossier (rule {rule})")
            }
            PaoProblem::BadValue { expected } => write!(f, "must be {expected}"),
            PaoProblem::Unexpected => f.write_str("not an element of this block"),
        }
    }
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

    pub fn pao(element: &str, line: u32, problem: PaoProblem) -> Self {
        Error::Pao {
            element: element.to_owned(),
            line,
            problem,
        }
    }

    pub fn xml(element: &str, line: u32, problem: OsoProblem) -> Self {
        Error::Xml {
            element: element.to_owned(),
            line,
            problem,
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
            e @ (Error::Xml { .. } | Error::Pao { .. }) => F::invalid("oso", e.to_string()),
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
