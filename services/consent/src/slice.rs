//! The consent slice as a node composes it: it sends no documents of its own
//! (withdrawal notices are the fabric's), serves no RPC yet, and runs the job
//! that expires consents whose end date passed (their recipients are told).

use carenet_fabric::slice::{Job, JobContext, Slice};

use crate::record::ConsentStore;

pub struct ConsentSlice;

impl Slice for ConsentSlice {
    fn name(&self) -> &'static str {
        "consent"
    }

    fn jobs(&self) -> Vec<Job> {
        vec![Job {
            name: "consent expiry",
            run: Box::new(|ctx: JobContext| {
                Box::pin(async move {
                    // A consent valid until a date lasts to the end of
                    // that Dutch day, not to midnight UTC.
                    let today = carenet_fabric::clock::date_of(ctx.now_ms);
                    let expired = ConsentStore::new(ctx.store).expire_due(today).await?;
                    if !expired.is_empty() {
                        tracing::info!(count = expired.len(), "consents expired");
                    }
                    Ok(expired.len())
                })
            }),
        }]
    }
}
