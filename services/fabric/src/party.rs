//! Party identities: the id that is carried in certificates and the kind of
//! organisation, which decides what a party may do.

use std::fmt;

use carenet_proto::v1;

use crate::{Error, Result};

/// URI SAN prefix under which a certificate names its party.
pub const PARTY_URI_PREFIX: &str = "urn:carenet:party:";
/// DNS SAN suffix that lets a client verify it reached the party it dialled.
pub const PARTY_DNS_SUFFIX: &str = ".party.carenet";

/// A party id: 1–63 characters of `a-z`, `0-9` and `-`, not starting or ending
/// with `-`, so it is also a valid DNS label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(String);

impl PartyId {
    pub fn parse(field: &str, value: &str) -> Result<Self> {
        let ok = !value.is_empty()
            && value.len() <= 63
            && !value.starts_with('-')
            && !value.ends_with('-')
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::invalid(
                field,
                "a party id is 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn uri(&self) -> String {
        format!("{PARTY_URI_PREFIX}{}", self.0)
    }

    pub fn dns_name(&self) -> String {
        format!("{}{PARTY_DNS_SUFFIX}", self.0)
    }

    /// The party named by a certificate URI SAN, if it is one of ours.
    pub fn from_uri(uri: &str) -> Option<Self> {
        let id = uri.strip_prefix(PARTY_URI_PREFIX)?;
        Self::parse("uri", id).ok()
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of organisation a party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PartyKind {
    PoSchool,
    VoSchool,
    Swv,
    ZatPartner,
    Vervolg,
}

/// ZAT disciplines a `zat_partner` must name one of.
pub const ZAT_DISCIPLINES: &[&str] = &[
    "jgz",
    "smw",
    "leerplicht",
    "jeugdzorg",
    "ggz",
    "mee",
    "cjg",
    "politie",
];

impl PartyKind {
    pub const ALL: [PartyKind; 5] = [
        PartyKind::PoSchool,
        PartyKind::VoSchool,
        PartyKind::Swv,
        PartyKind::ZatPartner,
        PartyKind::Vervolg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::PoSchool => "po_school",
            PartyKind::VoSchool => "vo_school",
            PartyKind::Swv => "swv",
            PartyKind::ZatPartner => "zat_partner",
            PartyKind::Vervolg => "vervolg",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    "must be one of po_school, vo_school, swv, zat_partner, vervolg",
                )
                .coded(crate::Reason::NotAChoice)
            })
    }

    pub fn to_proto(self) -> v1::PartyKind {
        match self {
            PartyKind::PoSchool => v1::PartyKind::PoSchool,
            PartyKind::VoSchool => v1::PartyKind::VoSchool,
            PartyKind::Swv => v1::PartyKind::Swv,
            PartyKind::ZatPartner => v1::PartyKind::ZatPartner,
            PartyKind::Vervolg => v1::PartyKind::Vervolg,
        }
    }

    pub fn from_proto(kind: i32) -> Option<Self> {
        match v1::PartyKind::try_from(kind).ok()? {
            v1::PartyKind::PoSchool => Some(PartyKind::PoSchool),
            v1::PartyKind::VoSchool => Some(PartyKind::VoSchool),
            v1::PartyKind::Swv => Some(PartyKind::Swv),
            v1::PartyKind::ZatPartner => Some(PartyKind::ZatPartner),
            v1::PartyKind::Vervolg => Some(PartyKind::Vervolg),
            v1::PartyKind::Unspecified => None,
        }
    }
}

/// Checks the discipline against the kind: required for ZAT partners, absent otherwise.
pub fn validate_discipline(kind: PartyKind, discipline: Option<&str>) -> Result<()> {
    match (kind, discipline) {
        (PartyKind::ZatPartner, Some(d)) if ZAT_DISCIPLINES.contains(&d) => Ok(()),
        (PartyKind::ZatPartner, _) => Err(Error::invalid(
            "discipline",
            "a zat_partner needs one of jgz, smw, leerplicht, jeugdzorg, ggz, mee, cjg, politie",
        )),
        (_, Some(_)) => Err(Error::invalid(
            "discipline",
            "only a zat_partner has a discipline",
        )),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids_are_dns_labels() {
        assert!(PartyId::parse("id", "vo-1").is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"x".repeat(64)] {
            assert!(PartyId::parse("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uri_round_trip() {
        let id = PartyId::parse("id", "swv-1").unwrap();
        assert_eq!(PartyId::from_uri(&id.uri()), Some(id));
        assert_eq!(PartyId::from_uri("urn:other:swv-1"), None);
    }

    #[test]
    fn zat_partners_need_a_known_discipline() {
        assert!(validate_discipline(PartyKind::ZatPartner, Some("jgz")).is_ok());
        assert!(validate_discipline(PartyKind::ZatPartner, Some("bakker")).is_err());
        assert!(validate_discipline(PartyKind::ZatPartner, None).is_err());
        assert!(validate_discipline(PartyKind::VoSchool, Some("jgz")).is_err());
    }
}
