//! The transfer-dossier slice as a node composes it: its document types
//! (with who may send them to whom, on which basis, for how long), its config
//! section `[handover]`, and its jobs (the sender's retention purge of its own
//! dossiers, reminders of unread digests, feedback coming due).

use carenet_fabric::PartyKind::{self, PoSchool, Swv, Vervolg, VoSchool, ZatPartner};
use std::sync::Arc;

use carenet_fabric::authz::authorize;
use carenet_fabric::directory::Directory;
use carenet_fabric::slice::{
    DocumentType, Job, JobContext, Relation, RetentionClock, RpcRule, ServiceContext, Slice,
};
use carenet_fabric::store::Store;
use carenet_proto::v1;
use carenet_proto::v1::LegalBasisKind::{Consent, Inspection, StatutoryTask};
use serde::{Deserialize, Serialize};

use crate::dossier::DOSSIER_TYPE;
use crate::incoming::{FEEDBACK_TYPE, STATUS_TYPE, WARM_TYPE};

/// `[handover]` in a node's config: the last mile at a receiving school.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HandoverConfig {
    /// Remind the mentor when an assigned digest stays unread this many days.
    pub reminder_days: u32,
    /// Feedback to the sending school is due this many days after receipt.
    pub feedback_after_days: u32,
    /// How many dossier requests (`Handover.RequestDossier`) one party may
    /// make of this node in a clock hour; past it they are refused
    /// (`RESOURCE_EXHAUSTED`) and the first refusal is audited.
    pub request_limit_per_hour: u32,
}

impl Default for HandoverConfig {
    fn default() -> Self {
        Self {
            reminder_days: 5,
            feedback_after_days: 42,
            request_limit_per_hour: 120,
        }
    }
}

impl HandoverConfig {
    pub fn validate(&self) -> carenet_fabric::Result<()> {
        if self.reminder_days == 0 {
            return Err(carenet_fabric::Error::invalid(
                "handover.reminder_days",
                "must be at least 1",
            ));
        }
        if self.request_limit_per_hour == 0 {
            return Err(carenet_fabric::Error::invalid(
                "handover.request_limit_per_hour",
                "must be at least 1",
            ));
        }
        if self.feedback_after_days == 0 {
            return Err(carenet_fabric::Error::invalid(
                "handover.feedback_after_days",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// A school dossier is kept two years (landscape: 2, 3 or 5 years by regime).
const DOSSIER_DAYS: u32 = 730;

/// The school-to-school routes a dossier takes (sender kind, recipient kind):
/// PO→PO, PO→VO, VO→VO and VO→vervolg. The legal basis per route is the
/// consent service's to check (inzage on primary-school routes, consent where
/// the route needs it).
const DOSSIER_FLOWS: &[(PartyKind, PartyKind)] = &[
    (PoSchool, PoSchool),
    (PoSchool, VoSchool),
    (VoSchool, VoSchool),
    (VoSchool, Vervolg),
];

/// The receiver's answers go back along the same routes.
const ANSWER_FLOWS: &[(PartyKind, PartyKind)] = &[
    (PoSchool, PoSchool),
    (VoSchool, PoSchool),
    (VoSchool, VoSchool),
    (Vervolg, VoSchool),
];

/// The warm handover is shared with every participant's party: the schools
/// of the route, and the SWV or a ZAT partner that took part.
const WARM_FLOWS: &[(PartyKind, PartyKind)] = &[
    (PoSchool, PoSchool),
    (PoSchool, VoSchool),
    (PoSchool, Swv),
    (PoSchool, ZatPartner),
    (VoSchool, PoSchool),
    (VoSchool, VoSchool),
    (VoSchool, Vervolg),
    (VoSchool, Swv),
    (VoSchool, ZatPartner),
    (Vervolg, VoSchool),
];

/// Every OSO delivery category and carenet's own handover fields.
const DOSSIER_CATEGORIES: &[&str] = &[
    "metadata",
    "guardian_inspection",
    "school",
    "pupil",
    "guardians",
    "early_education",
    "school_career",
    "transfer_advice",
    "educational_support",
    "absence",
    "exit_test",
    "test_results",
    "action_plans",
    "grade_lists",
    "previous_secondary",
    "attachments",
];

pub static TYPES: &[DocumentType] = &[
    DocumentType {
        name: DOSSIER_TYPE,
        purposes: &["transfer_dossier"],
        legal_bases: &[Inspection, Consent],
        statutory_tasks: &[],
        flows: DOSSIER_FLOWS,
        retention_days: DOSSIER_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: DOSSIER_CATEGORIES,
    },
    // "Read by mentor": ids and times only, part of the transfer itself.
    DocumentType {
        name: STATUS_TYPE,
        purposes: &["transfer_dossier"],
        legal_bases: &[StatutoryTask],
        statutory_tasks: &[
            crate::incoming::STATUS_BASIS_PO,
            crate::incoming::STATUS_BASIS_VO,
        ],
        flows: ANSWER_FLOWS,
        retention_days: DOSSIER_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    },
    // How the pupil is doing: on the receiving school's own consent.
    DocumentType {
        name: FEEDBACK_TYPE,
        purposes: &["feedback_to_sender"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: ANSWER_FLOWS,
        retention_days: DOSSIER_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: &["educational_support"],
    },
    DocumentType {
        name: WARM_TYPE,
        purposes: &["transfer_dossier"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: WARM_FLOWS,
        retention_days: DOSSIER_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: &["educational_support"],
    },
];

/// Only the kinds that receive dossiers may ask for one.
static RPCS: &[RpcRule] = &[RpcRule {
    path: "/carenet.v1.Handover/RequestDossier",
    kinds: &[VoSchool, PoSchool, Vervolg],
}];

/// The `Handover` service: a receiving school's request for a dossier.
pub struct HandoverService {
    store: Store,
    directory: Arc<Directory>,
    request_limit_per_hour: u32,
}

#[tonic::async_trait]
impl v1::handover_server::Handover for HandoverService {
    #[tracing::instrument(name = "handover.request_dossier", skip_all, fields(peer))]
    async fn request_dossier(
        &self,
        request: tonic::Request<v1::DossierRequest>,
    ) -> Result<tonic::Response<v1::DossierRequestReply>, tonic::Status> {
        let caller = authorize(&request, &self.directory)?;
        tracing::Span::current().record("peer", caller.id.as_str());
        let r = request.into_inner();
        let (outcome, message_ids) = crate::request::answer(
            &self.store,
            &self.directory,
            &caller,
            self.request_limit_per_hour,
            &r.pupil_number,
            &r.birth_date,
        )
        .await
        .map_err(carenet_fabric::Error::from)?;
        Ok(tonic::Response::new(v1::DossierRequestReply {
            outcome: outcome as i32,
            message_ids,
        }))
    }
}

/// The slice, with its config section.
pub struct HandoverSlice {
    pub config: HandoverConfig,
}

impl Slice for HandoverSlice {
    fn name(&self) -> &'static str {
        "handover"
    }

    fn document_types(&self) -> &'static [DocumentType] {
        TYPES
    }

    fn rpcs(&self) -> &'static [RpcRule] {
        RPCS
    }

    fn relations(&self) -> &'static [Relation] {
        crate::relation::RELATIONS
    }

    fn services(
        &self,
        ctx: &ServiceContext,
        routes: tonic::service::Routes,
    ) -> tonic::service::Routes {
        routes.add_service(v1::handover_server::HandoverServer::new(HandoverService {
            store: ctx.store.clone(),
            directory: ctx.directory.clone(),
            request_limit_per_hour: self.config.request_limit_per_hour,
        }))
    }

    fn jobs(&self) -> Vec<Job> {
        let reminder_days = self.config.reminder_days;
        let feedback_after_days = self.config.feedback_after_days;
        vec![
            Job {
                name: "transfer dossier purge",
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        let days = ctx
                            .registry
                            .retention_days(DOSSIER_TYPE)
                            .unwrap_or(DOSSIER_DAYS);
                        Ok(crate::dossier::purge_expired(&ctx.store, days, ctx.now_ms).await?)
                    })
                }),
            },
            Job {
                // The IZO registrations made from received dossiers are
                // pupil care records: kept as the node keeps IZO records.
                name: "izo registration purge",
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        let days = ctx
                            .registry
                            .retention_days("record.izo")
                            .unwrap_or(crate::incoming::IZO_REGISTRATION_DAYS);
                        Ok(
                            crate::incoming::purge_izo_registrations(&ctx.store, days, ctx.now_ms)
                                .await?,
                        )
                    })
                }),
            },
            Job {
                name: "unread digest reminders",
                run: Box::new(move |ctx: JobContext| {
                    Box::pin(async move {
                        let reminded =
                            crate::incoming::remind_unread(&ctx.store, ctx.now_ms, reminder_days)
                                .await?;
                        Ok(reminded.len())
                    })
                }),
            },
            Job {
                name: "handover feedback due",
                run: Box::new(move |ctx: JobContext| {
                    Box::pin(async move {
                        let due = crate::incoming::feedback_due(
                            &ctx.store,
                            ctx.now_ms,
                            feedback_after_days,
                        )
                        .await?;
                        Ok(due.len())
                    })
                }),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_is_a_consent_category() {
        for t in TYPES {
            for c in t.categories {
                assert!(
                    carenet_consent::Category::parse("category", c).is_ok(),
                    "{}: {c}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn every_purpose_is_a_consent_purpose() {
        for t in TYPES {
            for p in t.purposes {
                assert!(
                    carenet_consent::Purpose::parse("purpose", p).is_ok(),
                    "{}: {p}",
                    t.name
                );
            }
        }
    }
}
