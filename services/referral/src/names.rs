//! A primary school works the same flow under its own names (the handbook
//! of the primary school: leerlingbespreking, knooppuntoverleg, the intern
//! begeleider); the slice takes the names from the party's kind instead of
//! running a second flow.

use carenet_fabric::PartyKind;

/// The Dutch names of the flow's steps at one kind of school.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names {
    /// The internal care meeting: "IZO" or "leerlingbespreking".
    pub internal: &'static str,
    /// The multidisciplinary team: "ZAT" or "knooppuntoverleg".
    pub team: &'static str,
    /// Who chairs: "zorgcoördinator" or "intern begeleider".
    pub coordinator: &'static str,
}

pub const VO: Names = Names {
    internal: "IZO",
    team: "ZAT",
    coordinator: "zorgcoördinator",
};

pub const PO: Names = Names {
    internal: "leerlingbespreking",
    team: "knooppuntoverleg",
    coordinator: "intern begeleider",
};

/// The names at a party of `kind`.
pub fn of(kind: PartyKind) -> Names {
    match kind {
        PartyKind::PoSchool => PO,
        _ => VO,
    }
}

/// A primary school's third support level (internal experts) starts only
/// after a talk with the guardians and their consent (P:141-143).
pub fn internal_needs_consent(kind: PartyKind) -> bool {
    kind == PartyKind::PoSchool
}
