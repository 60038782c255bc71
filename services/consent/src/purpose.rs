//! What data is shared for. A consent names one purpose; a message carries one.

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    TransferDossier,
    DiscussInIzo,
    ReferToZat,
    ShareWithPartner,
    SupportRequest,
    CaseMembership,
    FeedbackToSender,
}

const NAMES: &[(Purpose, &str)] = &[
    (Purpose::TransferDossier, "transfer_dossier"),
    (Purpose::DiscussInIzo, "discuss_in_izo"),
    (Purpose::ReferToZat, "refer_to_zat"),
    (Purpose::ShareWithPartner, "share_with_partner"),
    (Purpose::SupportRequest, "support_request"),
    (Purpose::CaseMembership, "case_membership"),
    (Purpose::FeedbackToSender, "feedback_to_sender"),
];

impl Purpose {
    pub fn all() -> impl Iterator<Item = Purpose> {
        NAMES.iter().map(|(p, _)| *p)
    }

    pub fn as_str(self) -> &'static str {
        NAMES
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
            .unwrap_or("unknown")
    }

    pub fn parse(field: &str, value: &str) -> Result<Self> {
        NAMES
            .iter()
            .find(|(_, n)| *n == value)
            .map(|(p, _)| *p)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    "must be one of transfer_dossier, discuss_in_izo, refer_to_zat, share_with_partner, \
                     support_request, case_membership, feedback_to_sender",
                ).coded(carenet_fabric::Reason::NotAChoice)
            })
    }
}
