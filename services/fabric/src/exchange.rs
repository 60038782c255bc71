//! The `Exchange` service a node serves to other parties (notified pull, the
//! sender's and the receiver's halves), and the small `Directory`, `Audit` and
//! `Bench` services beside it.

use std::sync::Arc;

use carenet_proto::v1::{self, exchange_server::Exchange};
use prost::Message;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use crate::authz::authorize;
use crate::clock::now_ms;
use crate::crypto::{SigningKey, sha256};
use crate::directory::Directory;
use crate::envelope::{basis_label, parse_message_id, sign_envelope, verify_receipt};
use crate::policy::{ArrivalCheck, Decision, ReleasePolicy, ReleaseRequest};
use crate::refusals::Refused;
use crate::slice::{Check, Refusal};
use crate::store::Store;
use crate::store::outbox::{Delivery, Release, StoredMessage, valid_token};
use crate::{Error, Result};

pub const MAX_NOTIFY_ITEMS: usize = 1000;
/// Largest gRPC message either side of the exchange encodes or decodes: one
/// envelope of the largest payload with its header. Servers and clients set
/// the same limit, so what one side may send the other may read.
pub const MAX_MESSAGE_BYTES: usize = crate::envelope::MAX_PAYLOAD_BYTES + 1024 * 1024;
/// Payload bytes one Fetch answer carries at most (always at least one
/// message); the rest of the batch is deferred to the next fetch.
pub const FETCH_BATCH_BYTES: usize = 48 * 1024 * 1024;
pub const MAX_FETCH_IDS: usize = 256;
pub const MAX_RECEIPTS: usize = 1000;

/// Shared by the exchange service and the delivery worker of one node.
#[derive(Clone)]
pub struct ExchangeContext {
    pub store: Store,
    pub directory: Arc<Directory>,
    pub policy: Arc<dyn ReleasePolicy>,
    /// The receiver's check of what arrives.
    pub arrival: Arc<dyn ArrivalCheck>,
    pub signing: Arc<SigningKey>,
    /// Wakes the delivery worker (new notifications, new messages).
    pub wake: Arc<Notify>,
}

pub struct ExchangeService {
    ctx: ExchangeContext,
    /// Fetches each party may have running at once.
    fetch_limit: usize,
    running: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl ExchangeService {
    pub fn new(ctx: ExchangeContext) -> Self {
        Self {
            ctx,
            fetch_limit: 8,
            running: Default::default(),
        }
    }

    /// At most `n` fetches per calling party at once.
    pub fn with_fetch_limit(mut self, n: usize) -> Self {
        self.fetch_limit = n.max(1);
        self
    }

    /// A slot for one fetch by `party`, or RESOURCE_EXHAUSTED.
    fn fetch_slot(&self, party: &str) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(party.to_owned())
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(self.fetch_limit)))
            .clone();
        semaphore.try_acquire_owned().map_err(|_| {
            Error::ResourceExhausted(format!(
                "more than {} fetches at once from one party; retry later",
                self.fetch_limit
            ))
        })
    }

    async fn release(
        &self,
        caller: &crate::directory::PartyEntry,
        ids: &[String],
    ) -> Result<v1::FetchResponse> {
        // Bound the answer by bytes: the asked-for messages in order, while
        // they fit (at least one); the rest are deferred, not failed.
        let sizes = self.ctx.store.payload_sizes(ids).await?;
        let mut budget = FETCH_BATCH_BYTES as i64;
        let mut take = 0;
        for (i, id) in ids.iter().enumerate() {
            let size = sizes.get(id).copied().unwrap_or(0);
            if i > 0 && size > budget {
                break;
            }
            budget -= size;
            take = i + 1;
        }
        let (ids, deferred) = ids.split_at(take);
        let messages = self.ctx.store.load_messages(ids).await?;
        let mut found: Vec<StoredMessage> = Vec::with_capacity(messages.len());
        // An unknown (or purged) id, or one for another party, fails only
        // itself: answered as refused, the rest of the batch goes on.
        let mut unknown = Vec::new();
        for (id, m) in ids.iter().zip(messages) {
            match m {
                Some(m) if m.recipient == caller.id.as_str() => found.push(m),
                _ => unknown.push(v1::Refusal {
                    message_id: id.clone(),
                    reason: "no such message for the caller".into(),
                    retry: false,
                }),
            }
        }
        let mut later = Vec::new();
        let released_at_ms = now_ms();
        let holder_kind = self
            .ctx
            .directory
            .get(self.ctx.store.party.as_str())
            .map(|e| e.kind);
        let mut envelopes = Vec::with_capacity(found.len());
        let mut releases = Vec::with_capacity(found.len());
        let mut refused = Vec::new();
        for m in found {
            let child = m
                .child_ref
                .as_deref()
                .map(|c| self.ctx.signing.child_pseudonym(c));
            // The registry first: a type this node does not send to the
            // caller's kind, or for that purpose or basis, never leaves.
            let registered = match holder_kind {
                Some(holder) => self.ctx.store.registry.check(&Check {
                    document_type: &m.document_type,
                    purpose: &m.purpose,
                    legal_basis: Some(&m.legal_basis),
                    sender: holder,
                    recipient: caller.kind,
                }),
                None => Err(Refusal("this node is not in the directory".into())),
            };
            if let Err(refusal) = registered {
                refused.push((m, refusal.0));
                continue;
            }
            let decision = self
                .ctx
                .policy
                .decide(ReleaseRequest {
                    message_id: &m.message_id,
                    holder_kind,
                    document_type: &m.document_type,
                    document_id: &m.document_id,
                    version: m.version,
                    child_ref: m.child_ref.as_deref(),
                    child: child.as_deref(),
                    recipient: caller,
                    purpose: &m.purpose,
                    legal_basis: Some(&m.legal_basis),
                    payload: &m.payload,
                })
                .await?;
            match decision {
                Decision::Release {
                    payload,
                    legal_basis,
                    hold,
                } => {
                    let legal_basis = legal_basis.unwrap_or_else(|| m.legal_basis.clone());
                    // What actually leaves is checked again: the basis the
                    // policy released it on and the categories it holds.
                    let registry = &self.ctx.store.registry;
                    let again = holder_kind
                        .ok_or_else(|| Refusal("this node is not in the directory".into()))
                        .and_then(|holder| {
                            registry.check(&Check {
                                document_type: &m.document_type,
                                purpose: &m.purpose,
                                legal_basis: Some(&legal_basis),
                                sender: holder,
                                recipient: caller.kind,
                            })?;
                            registry.check_categories(&m.document_type, &payload)
                        });
                    if let Err(refusal) = again {
                        refused.push((m, refusal.0));
                        continue;
                    }
                    let hash = sha256(&payload);
                    let header = v1::EnvelopeHeader {
                        message_id: m.message_id.clone(),
                        document_type: m.document_type.clone(),
                        sender: self.ctx.store.party.to_string(),
                        recipient: m.recipient.clone(),
                        purpose: m.purpose.clone(),
                        legal_basis: Some(legal_basis.clone()),
                        payload_sha256: hash.to_vec(),
                        created_at_ms: m.created_at_ms,
                        released_at_ms,
                        document_id: m.document_id.clone(),
                        version: m.version,
                        child: child.clone().unwrap_or_default(),
                    };
                    envelopes.push(sign_envelope(&self.ctx.signing, &header, payload));
                    releases.push(Release {
                        message_id: m.message_id.clone(),
                        legal_basis: legal_basis.clone(),
                        recipient: m.recipient.clone(),
                        purpose: m.purpose.clone(),
                        basis: basis_label(Some(&legal_basis)),
                        released_sha256: hash,
                        hold,
                    });
                }
                Decision::Refuse(reason) => refused.push((m, reason)),
                Decision::NotYet(reason) => later.push(v1::Refusal {
                    message_id: m.message_id,
                    reason,
                    retry: true,
                }),
            }
        }
        // Fail closed: nothing leaves unless its release is audited, and
        // nothing whose basis changed while it was being released.
        let stale = self.ctx.store.record_releases(&releases, &refused).await?;
        let envelopes: Vec<v1::SignedEnvelope> = envelopes
            .into_iter()
            .zip(&releases)
            .filter(|(_, r)| !stale.iter().any(|(id, _)| id == &r.message_id))
            .map(|(e, _)| e)
            .collect();
        Ok(v1::FetchResponse {
            deferred: deferred.to_vec(),
            envelopes,
            refused: refused
                .into_iter()
                .map(|(m, reason)| v1::Refusal {
                    message_id: m.message_id,
                    reason,
                    retry: false,
                })
                .chain(stale.into_iter().map(|(message_id, reason)| v1::Refusal {
                    message_id,
                    reason,
                    retry: false,
                }))
                .chain(unknown)
                .chain(later)
                .collect(),
        })
    }

    async fn accept_receipts(
        &self,
        caller: &crate::directory::PartyEntry,
        receipts: &[v1::SignedReceipt],
    ) -> Result<u32> {
        let me = self.ctx.store.party.as_str();
        let mut deliveries = Vec::with_capacity(receipts.len());
        for (i, r) in receipts.iter().enumerate() {
            let field = format!("receipts[{i}]");
            let body = verify_receipt(&field, r, &caller.signing_key)?;
            if body.receiver != caller.id.as_str() {
                return Err(Error::PermissionDenied(format!(
                    "{field}.receiver: not the caller"
                )));
            }
            if body.sender != me {
                return Err(Error::invalid(format!("{field}.sender"), "not this node"));
            }
            let message_id = parse_message_id(&format!("{field}.message_id"), &body.message_id)?;
            deliveries.push(Delivery {
                message_id,
                receiver: body.receiver,
                payload_sha256: body.payload_sha256,
                receipt: r.encode_to_vec(),
            });
        }
        self.ctx.store.record_deliveries(&deliveries).await
    }
}

fn check_count(field: &str, n: usize, max: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if n > max {
        return Err(Error::invalid(field, format!("at most {max} per call")));
    }
    Ok(())
}

#[tonic::async_trait]
impl Exchange for ExchangeService {
    #[tracing::instrument(name = "exchange.notify", skip_all, fields(peer, items))]
    async fn notify(
        &self,
        request: Request<v1::NotifyRequest>,
    ) -> Result<Response<v1::NotifyResponse>, Status> {
        let caller = authorize(&request, &self.ctx.directory)?;
        tracing::Span::current().record("peer", caller.id.as_str());
        let items = request.into_inner().items;
        tracing::Span::current().record("items", items.len());
        check_count("items", items.len(), MAX_NOTIFY_ITEMS)?;
        let mut parsed = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let id = parse_message_id(&format!("items[{i}].message_id"), &item.message_id)?;
            if !valid_token(&item.document_type) {
                return Err(Error::invalid(
                    format!("items[{i}].document_type"),
                    "1-64 characters of a-z, 0-9, '_' and '.'",
                )
                .into());
            }
            parsed.push((id, item.document_type.clone(), item.resends));
        }
        // Only registered types, from the caller's kind to this node's; a
        // refused item is answered as such (and counted for the audit log,
        // per type: crate::refusals), the others proceed.
        let me = self.ctx.store.party.as_str();
        let Some(my_kind) = self.ctx.directory.get(me).map(|e| e.kind) else {
            return Err(Error::Unavailable("this node is not in its directory yet".into()).into());
        };
        let mut refused = Vec::new();
        let mut counted: std::collections::BTreeMap<&str, i64> = Default::default();
        let registry = &self.ctx.store.registry;
        parsed.retain(|(id, doc_type, _)| {
            match registry.check_notified(doc_type, caller.kind, my_kind) {
                Ok(()) => true,
                Err(refusal) => {
                    let subject = match registry.document_type(doc_type) {
                        Some(t) => t.name,
                        None => crate::refusals::UNKNOWN_TYPE,
                    };
                    *counted.entry(subject).or_default() += 1;
                    refused.push(v1::Refusal {
                        message_id: id.clone(),
                        reason: refusal.0,
                        retry: false,
                    });
                    false
                }
            }
        });
        let counted: Vec<Refused> = counted
            .into_iter()
            .map(|(subject, occurrences)| Refused {
                counterparty: caller.id.to_string(),
                action: crate::audit::Action::NotifyRefused,
                subject: subject.to_owned(),
                occurrences,
            })
            .collect();
        self.ctx.store.count_refusals(&counted).await?;
        if parsed.is_empty() {
            return Ok(Response::new(v1::NotifyResponse {
                already_received: 0,
                refused,
            }));
        }
        let already = self
            .ctx
            .store
            .record_notified(caller.id.as_str(), &parsed)
            .await?;
        self.ctx.wake.notify_one();
        Ok(Response::new(v1::NotifyResponse {
            already_received: already,
            refused,
        }))
    }

    #[tracing::instrument(name = "exchange.fetch", skip_all, fields(peer, ids))]
    async fn fetch(
        &self,
        request: Request<v1::FetchRequest>,
    ) -> Result<Response<v1::FetchResponse>, Status> {
        let caller = authorize(&request, &self.ctx.directory)?;
        tracing::Span::current().record("peer", caller.id.as_str());
        let ids = request.into_inner().message_ids;
        tracing::Span::current().record("ids", ids.len());
        check_count("message_ids", ids.len(), MAX_FETCH_IDS)?;
        let _slot = self.fetch_slot(caller.id.as_str())?;
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_message_id(&format!("message_ids[{i}]"), id))
            .collect::<Result<Vec<_>>>()?;
        Ok(Response::new(self.release(&caller, &ids).await?))
    }

    #[tracing::instrument(name = "exchange.acknowledge", skip_all, fields(peer, receipts))]
    async fn acknowledge(
        &self,
        request: Request<v1::AcknowledgeRequest>,
    ) -> Result<Response<v1::AcknowledgeResponse>, Status> {
        let caller = authorize(&request, &self.ctx.directory)?;
        tracing::Span::current().record("peer", caller.id.as_str());
        let receipts = request.into_inner().receipts;
        tracing::Span::current().record("receipts", receipts.len());
        check_count("receipts", receipts.len(), MAX_RECEIPTS)?;
        let accepted = self.accept_receipts(&caller, &receipts).await?;
        Ok(Response::new(v1::AcknowledgeResponse { accepted }))
    }
}

/// Serves the signed directory (on the SWV node).
pub struct DirectoryService {
    pub directory: Arc<Directory>,
}

#[tonic::async_trait]
impl v1::directory_server::Directory for DirectoryService {
    async fn get(
        &self,
        request: Request<v1::GetDirectoryRequest>,
    ) -> Result<Response<v1::SignedDirectory>, Status> {
        // The caller must hold a certificate of the region (checked by TLS). It
        // need not be in the directory yet: a new party fetches it to join.
        if request.extensions().get::<crate::tls::PeerInfo>().is_none() {
            return Err(Error::Unauthenticated("no verified client certificate".into()).into());
        }
        let snapshot = self.directory.snapshot();
        if snapshot.signed.is_empty() {
            return Err(Status::unavailable("no directory published yet"));
        }
        v1::SignedDirectory::decode(snapshot.signed.as_slice())
            .map(Response::new)
            .map_err(|_| Status::internal("internal error"))
    }
}

/// Lets a counterparty list the audit records that name it.
pub struct AuditService {
    pub store: Store,
    pub directory: Arc<Directory>,
}

#[tonic::async_trait]
impl v1::audit_server::Audit for AuditService {
    async fn list_shared(
        &self,
        request: Request<v1::ListSharedRequest>,
    ) -> Result<Response<v1::ListSharedResponse>, Status> {
        let caller = authorize(&request, &self.directory)?;
        let req = request.into_inner();
        let limit = i64::from(req.limit.clamp(1, 1000));
        let after =
            i64::try_from(req.after_seq).map_err(|_| Error::invalid("after_seq", "too large"))?;
        let records =
            crate::audit::list_shared(&self.store.db, caller.id.as_str(), after, limit).await?;
        Ok(Response::new(v1::ListSharedResponse { records }))
    }

    async fn list_checkpoints(
        &self,
        request: Request<v1::ListCheckpointsRequest>,
    ) -> Result<Response<v1::ListCheckpointsResponse>, Status> {
        let caller = authorize(&request, &self.directory)?;
        let req = request.into_inner();
        let limit = req.limit.clamp(1, 1000) as usize;
        let checkpoints =
            crate::checkpoint::list_from(&self.store, caller.id.as_str(), req.after_seq, limit)
                .await?;
        Ok(Response::new(v1::ListCheckpointsResponse { checkpoints }))
    }
}

/// The baseline of the exchange benchmark: a plain echo over the same mTLS.
pub struct BenchService;

#[tonic::async_trait]
impl v1::bench_server::Bench for BenchService {
    async fn echo(
        &self,
        request: Request<v1::EchoMessage>,
    ) -> Result<Response<v1::EchoMessage>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}
