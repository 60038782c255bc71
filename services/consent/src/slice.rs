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
                    let today = time::OffsetDateTime::from_unix_timestamp_nanos(
                        i128::from(ctx.now_ms) * 1_000_000,
                    )
                    .map_err(|_| carenet_fabric::Error::invalid("now_ms", "out of range"))?
                    .date();
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
