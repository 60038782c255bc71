//! The case-plan slice as a node composes it: its two document types (the
//! member's view of a plan, the member's progress back), the `Caseplan`
//! service (a member asks for its current view), its arrival job (apply the
//! members' progress as it arrives, index the views a member receives) and
//! its scheduled jobs (end memberships whose consent or period ended, send
//! the new views; purge the plans whose retention ended), its record kind
//! (the plans it holds) and its config section `[caseplan]`.

use std::sync::Arc;

use carenet_fabric::PartyKind::{self, PoSchool, Swv, Vervolg, VoSchool, ZatPartner};
use carenet_fabric::authz::authorize;
use carenet_fabric::directory::Directory;
use carenet_fabric::slice::{
    DocumentType, EVERY_KIND, Job, JobContext, RecordKind, Relation, RetentionClock, RpcRule,
    ServiceContext, Slice,
};
use carenet_fabric::store::Store;
use carenet_fabric::with_db;
use carenet_proto::v1;
use carenet_proto::v1::LegalBasisKind::Consent;
use serde::{Deserialize, Serialize};

use crate::model::{CATEGORY_NAMES, PROGRESS_TYPE, VIEW_TYPE};

/// `[caseplan]` in a node's config.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CaseplanConfig {
    /// At the holder: at most this many progress messages per member in
    /// any hour; more are refused unread (audited once per run and member).
    /// A member reports a few steps a day on its own tasks; a node that
    /// sends more is broken or hostile.
    pub progress_per_hour: u32,
}

impl Default for CaseplanConfig {
    fn default() -> Self {
        Self {
            progress_per_hour: 120,
        }
    }
}

impl CaseplanConfig {
    pub fn validate(&self) -> carenet_fabric::Result<()> {
        if self.progress_per_hour == 0 {
            return Err(carenet_fabric::Error::invalid(
                "caseplan.progress_per_hour",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// A plan's copies at its members are kept two years after delivery, as a
/// school's own dossier (the holder keeps the plan itself).
const CASE_DAYS: u32 = 730;

/// Any party may hold a plan (a school's ZAT, later the SWV's arrangement,
/// a partner with casusregie) and any other may be a member of it.
const CASE_FLOWS: &[(PartyKind, PartyKind)] = &[
    (PoSchool, VoSchool),
    (PoSchool, Swv),
    (PoSchool, ZatPartner),
    (PoSchool, Vervolg),
    (VoSchool, PoSchool),
    (VoSchool, Swv),
    (VoSchool, ZatPartner),
    (VoSchool, Vervolg),
    (Swv, PoSchool),
    (Swv, VoSchool),
    (Swv, ZatPartner),
    (Swv, Vervolg),
    (ZatPartner, PoSchool),
    (ZatPartner, VoSchool),
    (ZatPartner, Swv),
    (ZatPartner, ZatPartner),
    (ZatPartner, Vervolg),
    (Vervolg, PoSchool),
    (Vervolg, VoSchool),
    (Vervolg, Swv),
    (Vervolg, ZatPartner),
];

pub static TYPES: &[DocumentType] = &[
    DocumentType {
        name: VIEW_TYPE,
        purposes: &["case_membership"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: CASE_FLOWS,
        retention_days: CASE_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: CATEGORY_NAMES,
    },
    // Under the holder's record, with the holder's receipt (an answer).
    DocumentType {
        name: PROGRESS_TYPE,
        purposes: &["case_membership"],
        legal_bases: &[Consent],
        statutory_tasks: &[],
        flows: CASE_FLOWS,
        retention_days: CASE_DAYS,
        retention_clock: RetentionClock::Delivery,
        categories: CATEGORY_NAMES,
    },
];

static RPCS: &[RpcRule] = &[RpcRule {
    path: "/carenet.v1.Caseplan/RequestView",
    kinds: EVERY_KIND,
}];

/// The `Caseplan` service: a member asks for its current view.
pub struct CaseplanService {
    store: Store,
    directory: Arc<Directory>,
}

#[tonic::async_trait]
impl v1::caseplan_server::Caseplan for CaseplanService {
    #[tracing::instrument(name = "caseplan.request_view", skip_all, fields(peer))]
    async fn request_view(
        &self,
        request: tonic::Request<v1::CaseViewRequest>,
    ) -> Result<tonic::Response<v1::CaseViewReply>, tonic::Status> {
        let caller = authorize(&request, &self.directory)?;
        tracing::Span::current().record("peer", caller.id.as_str());
        let r = request.into_inner();
        let message_id = crate::view::answer_request(&self.store, &caller, &r.plan_id).await?;
        Ok(tonic::Response::new(v1::CaseViewReply { message_id }))
    }
}

/// The open plans this node holds.
async fn open_plans(store: &Store) -> crate::Result<Vec<String>> {
    let rows: Vec<(String,)> = with_db!(&store.db, pool => {
        sqlx::query_as("SELECT id FROM case_plan WHERE status = 'open' ORDER BY id")
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub struct CaseplanSlice {
    pub config: CaseplanConfig,
}

impl Slice for CaseplanSlice {
    fn name(&self) -> &'static str {
        "caseplan"
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

    fn records(&self) -> &'static [RecordKind] {
        crate::retention::RECORDS
    }

    fn services(
        &self,
        ctx: &ServiceContext,
        routes: tonic::service::Routes,
    ) -> tonic::service::Routes {
        routes.add_service(v1::caseplan_server::CaseplanServer::new(CaseplanService {
            store: ctx.store.clone(),
            directory: ctx.directory.clone(),
        }))
    }

    fn arrival_jobs(&self) -> Vec<Job> {
        let per_hour = self.config.progress_per_hour;
        vec![Job {
            name: "case progress",
            run: Box::new(move |ctx: JobContext| {
                Box::pin(async move {
                    let applied = crate::progress::sync(&ctx.store, per_hour).await?;
                    crate::member::sync(&ctx.store).await?;
                    Ok(applied)
                })
            }),
        }]
    }

    fn jobs(&self) -> Vec<Job> {
        vec![
            Job {
                name: "case plan purge",
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        let days = ctx
                            .registry
                            .retention_days(crate::retention::RECORD)
                            .unwrap_or(crate::retention::RECORD_DAYS);
                        crate::retention::purge_expired(&ctx.store, days, ctx.now_ms).await
                    })
                }),
            },
            Job {
                name: "case memberships and views",
                run: Box::new(|ctx: JobContext| {
                    Box::pin(async move {
                        // Memberships whose consent or period ended end; a
                        // member that lacks the plan's current version (its
                        // send was lost in a crash) gets it now.
                        let mut queued = 0;
                        for id in open_plans(&ctx.store).await? {
                            // One plan that fails is logged; the others still run.
                            let sent = async {
                                let plan = crate::view::current(&ctx.store, &id).await?;
                                crate::view::queue_new(&ctx.store, &plan, None).await
                            };
                            match sent.await {
                                Ok((_, n)) => queued += n,
                                Err(e) => tracing::warn!(error = %e, "case plan views"),
                            }
                        }
                        Ok(queued)
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
        assert_eq!(CATEGORY_NAMES.len(), crate::model::CATEGORIES.len());
        for (name, c) in CATEGORY_NAMES.iter().zip(crate::model::CATEGORIES) {
            assert_eq!(*name, c.as_str());
        }
    }
}
