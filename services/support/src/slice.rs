//! The support slice as a node composes it: the request the school sends
//! its SWV (under the guardians' or the pupil's consent for
//! `support_request`), the status the SWV sends back (the state, a
//! completeness question, the written decision), the arrival job that
//! takes them in, and its config section `[support]`.

use carenet_fabric::PartyKind::{self, PoSchool, Swv, VoSchool};
use carenet_fabric::slice::{DocumentType, Job, JobContext, RetentionClock, Slice};
use carenet_proto::v1::LegalBasisKind::Consent;
use serde::{Deserialize, Serialize};

/// A school's request to its SWV (school → SWV).
pub const REQUEST_TYPE: &str = "carenet.support_request";
/// The SWV's status of a request back to the school: its state, a
/// completeness question, the decision with its reasons (SWV → school).
pub const STATUS_TYPE: &str = "carenet.support_status";

/// `[support]` in a node's config.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SupportConfig {
    /// The SWV's decision time from the request's arrival, in weeks (the
    /// SWV sets it; 4 to 6 weeks is common, landscape §3.6).
    pub decision_weeks: u32,
    /// A granted TLV's default validity: to the end of this many school
    /// years, counted from the one it starts in (often 2).
    pub validity_school_years: u8,
    /// The re-indication reminder: this many weeks before a TLV ends.
    pub reindication_weeks: u32,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self {
            decision_weeks: 6,
            validity_school_years: 2,
            reindication_weeks: 13,
        }
    }
}

impl SupportConfig {
    pub fn validate(&self) -> carenet_fabric::Result<()> {
        if !(1..=26).contains(&self.decision_weeks) {
            return Err(carenet_fabric::Error::invalid(
                "support.decision_weeks",
                "must be 1-26",
            ));
        }
        if !(1..=8).contains(&self.validity_school_years) {
            return Err(carenet_fabric::Error::invalid(
                "support.validity_school_years",
                "must be 1-8",
            ));
        }
        if !(1..=52).contains(&self.reindication_weeks) {
            return Err(carenet_fabric::Error::invalid(
                "support.reindication_weeks",
                "must be 1-52",
            ));
        }
        Ok(())
    }
}

const REQUEST_FLOWS: &[(PartyKind, PartyKind)] = &[(PoSchool, Swv), (VoSchool, Swv)];
const STATUS_FLOWS: &[(PartyKind, PartyKind)] = &[(Swv, PoSchool), (Swv, VoSchool)];

/// The SWV keeps a request and its decision five years after delivery: a
/// re-indication and an objection refer back to them.
const REQUEST_DAYS: u32 = 1825;

pub static TYPES: &[DocumentType] = &[
    DocumentType {
        name: REQUEST_TYPE,
        purposes: &["support_request"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: REQUEST_FLOWS,
        retention_days: REQUEST_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: &["pupil", "educational_support", "care_history"],
    },
    // Under the same consent: the answer to the school's request.
    DocumentType {
        name: STATUS_TYPE,
        purposes: &["support_request"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: STATUS_FLOWS,
        retention_days: REQUEST_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: &["educational_support"],
    },
];

pub struct SupportSlice {
    pub config: SupportConfig,
}

impl Slice for SupportSlice {
    fn name(&self) -> &'static str {
        "support"
    }

    fn document_types(&self) -> &'static [DocumentType] {
        TYPES
    }

    fn arrival_jobs(&self) -> Vec<Job> {
        let config = self.config.clone();
        vec![Job {
            name: "support arrivals",
            run: Box::new(move |ctx: JobContext| {
                let config = config.clone();
                Box::pin(async move {
                    crate::exchange::sync(&ctx.store, &crate::clock::WallClock, &config).await
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

    #[test]
    fn the_settings_are_checked() {
        assert!(SupportConfig::default().validate().is_ok());
        let e = SupportConfig {
            decision_weeks: 0,
            ..SupportConfig::default()
        }
        .validate()
        .expect_err("zero weeks");
        assert!(e.to_string().starts_with("support.decision_weeks"), "{e}");
        assert!(
            SupportConfig {
                validity_school_years: 0,
                ..SupportConfig::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            SupportConfig {
                reindication_weeks: 60,
                ..SupportConfig::default()
            }
            .validate()
            .is_err()
        );
    }
}
