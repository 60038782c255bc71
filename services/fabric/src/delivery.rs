//! The delivery worker of one node: it notifies recipients of queued messages,
//! fetches what it was notified of, verifies and stores it, and sends receipts.
//!
//! Every step is driven by rows in the outbox and inbox, so a crash at any
//! point is picked up where it stopped on restart; duplicates are harmless
//! because both sides key on the message id. Rows are claimed with a lease,
//! so replicas of one party over one database never work on the same
//! message. Failed steps back off exponentially with jitter, capped; after the
//! retry period (default 21 days) a message is dead-lettered with a WARN and a
//! count. A poison message fails only itself.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use carenet_proto::v1::{self, exchange_client::ExchangeClient};
use futures::StreamExt;
use tracing::Instrument;

use crate::clock::now_ms;
use crate::envelope::{Expected, sign_receipt, verify_envelope};
use crate::exchange::{ExchangeContext, MAX_FETCH_IDS};
use crate::peers::Peers;
use crate::policy::Arrival;
use crate::slice::Check;
use crate::store::inbox::Received;
use crate::trace_context::inject;
use crate::{Error, Result};

/// Backoff between failed attempts, and when to give up.
///
/// A message is retried for a period, not a number of attempts: a school's
/// node that is off over a holiday gets everything when it returns. After the
/// period (counted from queueing at the sender, from the notification at the
/// receiver) it is dead-lettered with a WARN and a count
/// ([`crate::store::Counters`]), and `outbox resend` recovers it on both
/// sides.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub base_ms: u64,
    /// The longest wait between two attempts.
    pub max_ms: u64,
    /// How long a message is retried before it is dead-lettered.
    pub give_up_after_ms: i64,
    /// How long a notified message waits for its receipt before it is notified again.
    pub ack_timeout_ms: u64,
}

/// Three weeks: longer than any school holiday but the summer's start.
pub const GIVE_UP_AFTER_MS: i64 = 21 * 24 * 60 * 60 * 1000;

/// How long a worker holds the rows it claimed before another process (a
/// replica over the same database) may take them, should it stop mid-way.
pub const CLAIM_LEASE_MS: i64 = 2 * 60 * 1000;

/// The `last_error` of an attempt a local error interrupted (the error's
/// own text goes to the log only: it may quote a row).
const LOCAL_ERROR: &str = "a local error interrupted this attempt";

/// What a released message records as its last error: a party missing
/// from the directory says so (it names organisations only); any other
/// error is [`LOCAL_ERROR`].
fn release_reason(cause: &Error) -> String {
    match cause {
        Error::Unavailable(why) => why.clone(),
        _ => LOCAL_ERROR.to_owned(),
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_ms: 500,
            max_ms: 5 * 60 * 1000,
            give_up_after_ms: GIVE_UP_AFTER_MS,
            ack_timeout_ms: 60 * 1000,
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `attempt + 1`: exponential, capped, with jitter
    /// (between half and all of it) so that peers coming back are not stormed.
    pub fn delay_ms(&self, attempt: u32) -> i64 {
        let exp = self.base_ms.saturating_mul(1u64 << attempt.min(30));
        let capped = exp.min(self.max_ms).max(1);
        let half = capped / 2;
        (half + fastrand::u64(0..=capped - half)) as i64
    }

    /// Whether a message first queued (or notified) at `since` has been
    /// retried long enough at `now`.
    pub fn gives_up(&self, since: i64, now: i64) -> bool {
        now.saturating_sub(since) >= self.give_up_after_ms
    }
}

/// How the worker batches and paces its work.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    pub retry: RetryPolicy,
    /// Messages per Notify / Fetch / Acknowledge call.
    pub batch: usize,
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Longest sleep between passes when nothing wakes the worker.
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            batch: 64,
            concurrency: 8,
            poll_interval: Duration::from_millis(500),
        }
    }
}

pub struct Worker {
    ctx: ExchangeContext,
    peers: Arc<Peers>,
    config: DeliveryConfig,
}

fn chunks_by<K: Ord + Clone, T>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    size: usize,
) -> Vec<(K, Vec<T>)> {
    let mut groups: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for item in items {
        groups.entry(key(&item)).or_default().push(item);
    }
    let mut out = Vec::new();
    for (k, mut group) in groups {
        while !group.is_empty() {
            let rest = group.split_off(size.min(group.len()));
            out.push((k.clone(), group));
            group = rest;
        }
    }
    out
}

/// The trace-context interceptor, as a plain function pointer.
type Inject = fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>;
type Client = ExchangeClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Inject>,
>;

/// An exchange client with the same message limits as the servers.
fn exchange_client(ch: tonic::transport::Channel) -> Client {
    ExchangeClient::with_interceptor(ch, inject as fn(_) -> _)
        .max_decoding_message_size(crate::exchange::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(crate::exchange::MAX_MESSAGE_BYTES)
}

fn short(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// How a failed call to a peer is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// With backoff, and given up after the retry period.
    Backoff,
    /// The peer is busy (RESOURCE_EXHAUSTED: over its quota for this node,
    /// or too many calls at once): with backoff, and never given up on for
    /// that; the message stays queued until the peer takes it.
    Busy,
}

/// A failed call: how to retry it and the reason to record.
fn failed(status: &tonic::Status) -> (Retry, String) {
    let retry = match status.code() {
        tonic::Code::ResourceExhausted => Retry::Busy,
        _ => Retry::Backoff,
    };
    (retry, short(status))
}

impl Worker {
    pub fn new(ctx: ExchangeContext, peers: Arc<Peers>, config: DeliveryConfig) -> Self {
        Self { ctx, peers, config }
    }

    /// Runs until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let worked = match self.pass().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery pass failed");
                    0
                }
            };
            if worked > 0 {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::task::yield_now() => continue,
                }
            }
            tokio::select! {
                _ = &mut shutdown => break,
                _ = self.ctx.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    /// One round over the outbox and the inbox; returns how many messages it moved.
    pub async fn pass(&self) -> Result<usize> {
        let (out, inb) = tokio::join!(self.outbox_pass(), self.inbox_pass());
        Ok(out? + inb?)
    }

    async fn outbox_pass(&self) -> Result<usize> {
        let limit = (self.config.batch * self.config.concurrency) as i64;
        let due = self
            .ctx
            .store
            .claim_outbox(now_ms(), limit, CLAIM_LEASE_MS)
            .await?;
        let n = due.len();
        if n == 0 {
            return Ok(0);
        }
        let claimed: Vec<String> = due.iter().map(|d| d.message_id.clone()).collect();
        let due = match self.refuse_unregistered(due).await {
            Ok(due) => due,
            Err(e) => {
                self.release_outbox(&claimed, &e).await;
                return Err(e);
            }
        };
        let chunks = chunks_by(due, |d| d.recipient.clone(), self.config.batch);
        let results: Vec<Result<()>> = futures::stream::iter(chunks)
            .map(|(recipient, items)| async move {
                let ids: Vec<String> = items.iter().map(|i| i.message_id.clone()).collect();
                let result = self.notify(recipient, items).await;
                if let Err(e) = &result {
                    self.release_outbox(&ids, e).await;
                }
                result
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(n)
    }

    /// After a local error (the database failed mid-way), the claimed
    /// messages are tried again after the usual backoff instead of staying
    /// claimed for the whole lease ([`CLAIM_LEASE_MS`], meant for a worker
    /// that stopped). The error itself goes to the caller's log.
    async fn release_outbox(&self, ids: &[String], cause: &Error) {
        if let Err(e) = self
            .ctx
            .store
            .mark_outbox_failed(ids, &release_reason(cause), &self.config.retry)
            .await
        {
            tracing::warn!(error = %e, "releasing claimed messages failed; the lease ends them");
        }
    }

    /// [`Self::release_outbox`] for the inbox.
    async fn release_inbox(&self, ids: &[String], cause: &Error) {
        if let Err(e) = self
            .ctx
            .store
            .mark_inbox_failed(ids, &release_reason(cause), &self.config.retry)
            .await
        {
            tracing::warn!(error = %e, "releasing claimed messages failed; the lease ends them");
        }
    }

    /// Before anything is announced: the registry must allow the type from
    /// this node's kind to the recipient's (sends queued without the
    /// directory were checked only for type, purpose and basis).
    async fn refuse_unregistered(
        &self,
        due: Vec<crate::store::outbox::DueMessage>,
    ) -> Result<Vec<crate::store::outbox::DueMessage>> {
        let snapshot = self.ctx.directory.snapshot();
        let me = snapshot.get(self.ctx.store.party.as_str()).map(|e| e.kind);
        let mut keep = Vec::with_capacity(due.len());
        let mut refused = Vec::new();
        for d in due {
            let recipient = snapshot.get(&d.recipient).map(|e| e.kind);
            let verdict = match (me, recipient) {
                (Some(me), Some(recipient)) => self
                    .ctx
                    .store
                    .registry
                    .check_notified(&d.document_type, me, recipient)
                    .map_err(|r| r.0),
                // Unknown parties: the notify fails and is retried.
                _ => Ok(()),
            };
            match verdict {
                Ok(()) => keep.push(d),
                Err(reason) => {
                    tracing::warn!(message_id = %d.message_id, %reason, "send refused");
                    refused.push((d.message_id, d.recipient, reason));
                }
            }
        }
        self.ctx.store.refuse_sends(&refused).await?;
        Ok(keep)
    }

    async fn notify(
        &self,
        recipient: String,
        items: Vec<crate::store::outbox::DueMessage>,
    ) -> Result<()> {
        let span =
            tracing::info_span!("exchange.send_notify", peer = %recipient, items = items.len());
        async {
            let ids: Vec<String> = items.iter().map(|i| i.message_id.clone()).collect();
            let request = v1::NotifyRequest {
                items: items
                    .iter()
                    .map(|i| v1::NotifyItem {
                        message_id: i.message_id.clone(),
                        document_type: i.document_type.clone(),
                        resends: u32::try_from(i.resends).unwrap_or(u32::MAX),
                    })
                    .collect(),
            };
            let result = match self.peers.channel(&recipient) {
                Ok(ch) => exchange_client(ch)
                    .notify(request)
                    .await
                    .map(|r| r.into_inner())
                    .map_err(|s| failed(&s)),
                Err(e) => Err((Retry::Backoff, e.to_string())),
            };
            match result {
                Ok(answer) => {
                    // What the recipient's registry refuses ends here, with its reason.
                    let refused: Vec<(String, String, String)> = answer
                        .refused
                        .into_iter()
                        .filter(|r| ids.contains(&r.message_id))
                        .map(|r| (r.message_id, recipient.clone(), r.reason))
                        .collect();
                    for (id, _, reason) in &refused {
                        tracing::warn!(message_id = %id, %reason, "notify refused by the recipient");
                    }
                    self.ctx.store.refuse_sends(&refused).await?;
                    let ids: Vec<String> = ids
                        .into_iter()
                        .filter(|id| !refused.iter().any(|r| &r.0 == id))
                        .collect();
                    let retry_at = now_ms() + self.config.retry.ack_timeout_ms as i64;
                    self.ctx
                        .store
                        .mark_notified(&ids, retry_at, &self.config.retry)
                        .await
                }
                Err((Retry::Busy, error)) => {
                    tracing::info!(peer = %recipient, %error, "recipient busy; will notify again after backoff");
                    self.ctx
                        .store
                        .mark_outbox_busy(&ids, &error, &self.config.retry)
                        .await
                }
                Err((Retry::Backoff, error)) => {
                    tracing::warn!(peer = %recipient, %error, "notify failed; will retry");
                    self.ctx
                        .store
                        .mark_outbox_failed(&ids, &error, &self.config.retry)
                        .await
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn inbox_pass(&self) -> Result<usize> {
        let limit = (self.config.batch.min(MAX_FETCH_IDS) * self.config.concurrency) as i64;
        let due = self
            .ctx
            .store
            .claim_inbox(now_ms(), limit, CLAIM_LEASE_MS)
            .await?;
        let n = due.len();
        if n == 0 {
            return Ok(0);
        }
        let chunks = chunks_by(
            due,
            |d| (d.sender.clone(), d.state.clone()),
            self.config.batch.min(MAX_FETCH_IDS),
        );
        let results: Vec<Result<()>> = futures::stream::iter(chunks)
            .map(|((sender, state), items)| {
                let ids: Vec<String> = items.into_iter().map(|i| i.message_id).collect();
                async move {
                    let result = if state == "notified" {
                        self.fetch(&sender, ids.clone()).await
                    } else {
                        self.acknowledge(&sender, ids.clone()).await
                    };
                    if let Err(e) = &result {
                        self.release_inbox(&ids, e).await;
                    }
                    result
                }
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(n)
    }

    /// Fetches, verifies and stores messages from `sender`, then acknowledges them.
    async fn fetch(&self, sender: &str, ids: Vec<String>) -> Result<()> {
        let span = tracing::info_span!("exchange.fetch_from", peer = %sender, ids = ids.len());
        async {
            let response = match self.peers.channel(sender) {
                Ok(ch) => exchange_client(ch)
                    .fetch(v1::FetchRequest {
                        message_ids: ids.clone(),
                    })
                    .await
                    .map(|r| r.into_inner())
                    .map_err(|s| failed(&s)),
                Err(e) => Err((Retry::Backoff, e.to_string())),
            };
            let response = match response {
                Ok(r) => r,
                Err((Retry::Busy, error)) => {
                    tracing::info!(peer = %sender, %error, "sender busy; will fetch again after backoff");
                    return self
                        .ctx
                        .store
                        .mark_inbox_busy(&ids, &error, &self.config.retry)
                        .await;
                }
                Err((Retry::Backoff, error)) => {
                    tracing::warn!(peer = %sender, %error, "fetch failed; will retry");
                    return self
                        .ctx
                        .store
                        .mark_inbox_failed(&ids, &error, &self.config.retry)
                        .await;
                }
            };
            let entry = self.ctx.directory.get(sender).ok_or_else(|| {
                Error::Unavailable(format!("party {sender} is not in the directory"))
            })?;
            let me = self.ctx.store.party.to_string();
            let mut by_id: HashMap<String, v1::SignedEnvelope> = HashMap::new();
            let mut rejected = Vec::new();
            for (i, env) in response.envelopes.into_iter().enumerate() {
                match prost::Message::decode(env.header.as_slice()) {
                    Ok(v1::EnvelopeHeader { message_id, .. }) if ids.contains(&message_id) => {
                        by_id.insert(message_id, env);
                    }
                    _ => tracing::warn!(
                        index = i,
                        "fetch returned an envelope that was not asked for"
                    ),
                }
            }
            let mut received = Vec::with_capacity(by_id.len());
            for id in &ids {
                let Some(env) = by_id.remove(id) else {
                    continue;
                };
                let expected = Expected {
                    message_id: id,
                    sender,
                    recipient: &me,
                };
                let verified = verify_envelope("envelope", &env, &entry.signing_key, &expected)
                    .and_then(|header| {
                        let my_kind =
                            self.ctx.directory.get(&me).map(|e| e.kind).ok_or_else(|| {
                                Error::Unavailable("this node is not in the directory".into())
                            })?;
                        self.ctx
                            .store
                            .registry
                            .check(&Check {
                                document_type: &header.document_type,
                                purpose: &header.purpose,
                                legal_basis: header.legal_basis.as_ref(),
                                sender: entry.kind,
                                recipient: my_kind,
                            })
                            .map_err(|r| {
                                Error::PermissionDenied(format!("envelope.document_type: {r}"))
                            })?;
                        self.ctx.arrival.check(&Arrival {
                            header: &header,
                            payload: &env.payload,
                            sender: &entry,
                            receiver: &me,
                        })?;
                        if header.document_type == crate::store::inbox::WITHDRAWAL_TYPE
                            && <v1::Withdrawal as prost::Message>::decode(env.payload.as_slice())
                                .is_err()
                        {
                            return Err(Error::invalid("payload", "not a withdrawal notice"));
                        }
                        Ok(header)
                    });
                match verified {
                    Ok(header) => {
                        let receipt = sign_receipt(
                            &self.ctx.signing,
                            &v1::ReceiptBody {
                                message_id: id.clone(),
                                sender: sender.to_owned(),
                                receiver: me.clone(),
                                payload_sha256: header.payload_sha256.clone(),
                                received_at_ms: now_ms(),
                            },
                        );
                        received.push(Received {
                            header,
                            envelope: env,
                            receipt,
                        });
                    }
                    Err(e) => {
                        tracing::warn!(message_id = %id, error = %e, "rejected envelope");
                        rejected.push((id.clone(), sender.to_owned(), e.to_string()));
                    }
                }
            }
            let answered: std::collections::HashSet<&str> = received
                .iter()
                .map(|r| r.header.message_id.as_str())
                .chain(rejected.iter().map(|r| r.0.as_str()))
                .chain(response.refused.iter().map(|r| r.message_id.as_str()))
                .collect();
            // Deferred ones are fetched again at once.
            let deferred: Vec<String> = response
                .deferred
                .iter()
                .filter(|id| ids.contains(id))
                .cloned()
                .collect();
            self.ctx.store.due_now(&deferred).await?;
            let missing: Vec<String> = ids
                .iter()
                .filter(|id| !answered.contains(id.as_str()) && !response.deferred.contains(id))
                .cloned()
                .collect();
            if !missing.is_empty() {
                self.ctx
                    .store
                    .mark_inbox_failed(&missing, "not returned by the sender", &self.config.retry)
                    .await?;
            }
            // A refusal whose cause can change (consent asked, not yet
            // granted) is asked again later; the others end here.
            let (later, refused): (Vec<v1::Refusal>, Vec<v1::Refusal>) = response
                .refused
                .into_iter()
                .filter(|r| ids.contains(&r.message_id))
                .partition(|r| r.retry);
            for r in &later {
                self.ctx
                    .store
                    .mark_inbox_failed(
                        std::slice::from_ref(&r.message_id),
                        &format!("not released yet: {}", r.reason),
                        &self.config.retry,
                    )
                    .await?;
            }
            let refused: Vec<(String, String, String)> = refused
                .into_iter()
                .map(|r| (r.message_id, sender.to_owned(), r.reason))
                .collect();
            if !rejected.is_empty() {
                self.ctx
                    .store
                    .mark_not_received("rejected", &rejected)
                    .await?;
            }
            if !refused.is_empty() {
                self.ctx
                    .store
                    .mark_not_received("refused", &refused)
                    .await?;
            }
            if received.is_empty() {
                return Ok(());
            }
            let stored = self.store_each(received).await?;
            self.acknowledge(sender, stored).await
        }
        .instrument(span)
        .await
    }

    /// Stores a verified batch in one transaction; if that fails, each
    /// message on its own, so one that cannot be stored (a poison message)
    /// fails only itself: it backs off and is dead-lettered after the retry
    /// period, while the rest are stored. Returns the ids stored.
    async fn store_each(&self, received: Vec<Received>) -> Result<Vec<String>> {
        let ids = |r: &[Received]| -> Vec<String> {
            r.iter().map(|r| r.header.message_id.clone()).collect()
        };
        match self.ctx.store.store_received(&received).await {
            Ok(()) => return Ok(ids(&received)),
            Err(e) if received.len() == 1 => {
                tracing::warn!(message_id = %received[0].header.message_id, error = %e, "storing a received message failed; will retry");
                self.ctx
                    .store
                    .mark_inbox_failed(
                        &ids(&received),
                        &format!("not stored: {e}"),
                        &self.config.retry,
                    )
                    .await?;
                return Ok(Vec::new());
            }
            Err(e) => {
                tracing::warn!(messages = received.len(), error = %e, "storing a batch failed; storing its messages one by one");
            }
        }
        let mut stored = Vec::with_capacity(received.len());
        for r in received {
            let id = r.header.message_id.clone();
            match self
                .ctx
                .store
                .store_received(std::slice::from_ref(&r))
                .await
            {
                Ok(()) => stored.push(id),
                Err(e) => {
                    tracing::warn!(message_id = %id, error = %e, "storing a received message failed; will retry");
                    self.ctx
                        .store
                        .mark_inbox_failed(&[id], &format!("not stored: {e}"), &self.config.retry)
                        .await?;
                }
            }
        }
        Ok(stored)
    }

    /// Sends the stored receipts of `ids` to `sender`.
    async fn acknowledge(&self, sender: &str, ids: Vec<String>) -> Result<()> {
        let pending = self.ctx.store.pending_receipts(&ids).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let (ids, receipts): (Vec<String>, Vec<v1::SignedReceipt>) = pending.into_iter().unzip();
        let result = match self.peers.channel(sender) {
            Ok(ch) => exchange_client(ch)
                .acknowledge(v1::AcknowledgeRequest { receipts })
                .await
                .map_err(|s| short(&s)),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(_) => self.ctx.store.mark_acked(&ids).await,
            Err(error) => {
                tracing::warn!(peer = %sender, %error, "acknowledge failed; will retry");
                self.ctx
                    .store
                    .mark_inbox_failed(&ids, &error, &self.config.retry)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy {
            base_ms: 100,
            max_ms: 1000,
            give_up_after_ms: 1000,
            ack_timeout_ms: 1,
        };
        for _ in 0..100 {
            let d0 = p.delay_ms(0);
            assert!((50..=100).contains(&d0), "{d0}");
            let d3 = p.delay_ms(3);
            assert!((400..=800).contains(&d3), "{d3}");
            let d20 = p.delay_ms(20);
            assert!((500..=1000).contains(&d20), "{d20}");
        }
    }

    #[test]
    fn chunks_group_by_key_and_size() {
        let items = vec![("b", 1), ("a", 2), ("b", 3), ("b", 4)];
        let chunks = chunks_by(items, |i| i.0, 2);
        let shape: Vec<(&str, usize)> = chunks.iter().map(|(k, v)| (*k, v.len())).collect();
        assert_eq!(shape, vec![("a", 1), ("b", 2), ("b", 1)]);
    }
}
