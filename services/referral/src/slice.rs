//! The referral slice as a node composes it: the ZAT case file it sends to
//! the members (under the guardians' consent for `refer_to_zat`), its own
//! records (IZO registrations, ZAT cases) with their retention and the job
//! that purges them, and its config section `[referral]`.

use carenet_fabric::PartyKind::{self, PoSchool, Swv, Vervolg, VoSchool, ZatPartner};
use carenet_fabric::slice::{
    DocumentType, Job, JobContext, RecordKind, Relation, RetentionClock, Slice,
};
use carenet_proto::v1::LegalBasisKind::Consent;
use serde::{Deserialize, Serialize};

use crate::zat::ZAT_CASE_TYPE;

/// `[referral]` in a node's config.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ReferralConfig {
    /// May the mentor's group review refer straight to the ZAT? The
    /// handbook says only through the IZO (H:3511) and also directly
    /// (H:3752, 3814); off by default.
    pub zat_from_group_review: bool,
}

/// A school hosts the ZAT; its members are partners and the SWV.
const ZAT_FLOWS: &[(PartyKind, PartyKind)] = &[
    (PoSchool, ZatPartner),
    (PoSchool, Swv),
    (VoSchool, ZatPartner),
    (VoSchool, Swv),
    (Vervolg, ZatPartner),
    (Vervolg, Swv),
];

pub static TYPES: &[DocumentType] = &[DocumentType {
    name: ZAT_CASE_TYPE,
    purposes: &["refer_to_zat"],
    legal_bases: &[Consent],
    statutory_tasks: &[],
    flows: ZAT_FLOWS,
    // A member keeps the case file for the case's course; a year.
    retention_days: 365,
    retention_clock: RetentionClock::Delivery,
    categories: &["pupil", "educational_support", "care_history"],
}];

pub struct ReferralSlice {
    pub config: ReferralConfig,
}

impl Slice for ReferralSlice {
    fn name(&self) -> &'static str {
        "referral"
    }

    fn document_types(&self) -> &'static [DocumentType] {
        TYPES
    }

    fn relations(&self) -> &'static [Relation] {
        crate::relation::RELATIONS
    }

    fn records(&self) -> &'static [RecordKind] {
        crate::retention::RECORDS
    }

    fn jobs(&self) -> Vec<Job> {
        vec![Job {
            name: "care record purge",
            run: Box::new(|ctx: JobContext| {
                Box::pin(async move {
                    use crate::retention::{IZO, RECORD_DAYS, ZAT, purge_expired};
                    let days = |name| ctx.registry.retention_days(name).unwrap_or(RECORD_DAYS);
                    let purged =
                        purge_expired(&ctx.store, days(IZO), days(ZAT), ctx.now_ms).await?;
                    Ok(purged.izo + purged.zat)
                })
            }),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_and_purpose_is_the_consent_services() {
        for t in TYPES {
            for c in t.categories {
                assert!(
                    carenet_consent::Category::parse("category", c).is_ok(),
                    "{c}"
                );
            }
            for p in t.purposes {
                assert!(carenet_consent::Purpose::parse("purpose", p).is_ok(), "{p}");
            }
        }
    }
}
