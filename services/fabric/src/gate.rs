//! The RPC gate in front of every service a node serves: the caller's kind
//! must be one the registry allows for the RPC it calls.
//!
//! The gate reads the verified certificate ([`PeerInfo`]), finds the party in
//! the directory (pin and revocation checked by [`authorize_peer`]) and asks
//! the [`Registry`] whether its kind may call the path. A refusal answers
//! `PERMISSION_DENIED` (or `UNAUTHENTICATED`) without reaching the service,
//! and is counted for the audit log with the caller and the RPC (one record
//! per party and RPC per interval, [`crate::refusals`]). gRPC health, reflection and the
//! directory are open to every party the directory names, and to no one
//! else; the services themselves still do their object-level checks.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::Status;

use crate::authz::{authorize_peer, identify_peer};
use crate::directory::Directory;
use crate::refusals::Refused;
use crate::slice::Registry;
use crate::store::Store;
use crate::tls::PeerInfo;

/// Paths open to any certificate of the region (they reveal no data).
/// Health, reflection and the directory itself: any party in the directory
/// may call them, whatever its kind (no slice registers them).
fn is_common(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.")
        || path.starts_with("/grpc.reflection.")
        || path == "/carenet.v1.Directory/Get"
}

/// Adds the gate to a node's router.
#[derive(Clone)]
pub struct RpcGateLayer {
    pub registry: Arc<Registry>,
    pub directory: Arc<Directory>,
    pub store: Store,
}

impl<S> tower::Layer<S> for RpcGateLayer {
    type Service = RpcGate<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcGate {
            inner,
            gate: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcGate<S> {
    inner: S,
    gate: RpcGateLayer,
}

impl RpcGateLayer {
    /// `Ok` lets the call through; `Err` is the answer and the refusal to count.
    fn decide(
        &self,
        path: &str,
        peer: Option<&PeerInfo>,
    ) -> Result<(), Box<(Status, Option<Refused>)>> {
        let Some(peer) = peer else {
            return Err(Box::new((
                Status::unauthenticated("no verified client certificate"),
                None,
            )));
        };
        // Every call, health, reflection and the directory included, answers
        // only a certificate the directory names (pinned, not revoked); a
        // joining party is in the directory from its issue.
        if is_common(path) {
            return identify_peer(peer, &self.directory)
                .map(|_| ())
                .map_err(|e| Box::new((Status::from(e), None)));
        }
        let entry =
            authorize_peer(peer, &self.directory).map_err(|e| Box::new((Status::from(e), None)))?;
        self.registry
            .check_rpc(path, entry.kind)
            .map_err(|refusal| {
                // The path is the caller's text: only one the registry
                // knows is kept as it is.
                let subject = match self.registry.rpc_kinds(path) {
                    Some(_) => path.to_owned(),
                    None => crate::refusals::UNKNOWN_RPC.to_owned(),
                };
                let counted = Refused {
                    counterparty: entry.id.to_string(),
                    action: crate::audit::Action::RpcRefused,
                    subject,
                    occurrences: 1,
                };
                Box::new((Status::permission_denied(refusal.0), Some(counted)))
            })
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcGate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let verdict = self
            .gate
            .decide(request.uri().path(), request.extensions().get::<PeerInfo>());
        match verdict {
            Ok(()) => {
                // The ready service answers this call; a fresh clone waits for the next.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Box::pin(inner.call(request))
            }
            Err(refused) => {
                let (status, audit) = *refused;
                let store = self.gate.store.clone();
                Box::pin(async move {
                    if let Some(counted) = audit {
                        tracing::warn!(rpc = %counted.subject, peer = %counted.counterparty, "rpc refused");
                        // Fail closed: a refusal that cannot be counted is
                        // not answered as an ordinary refusal.
                        if let Err(e) = store.count_refusals(&[counted]).await {
                            tracing::error!(error = %e, "cannot count a refused rpc");
                            return Ok(Status::internal("internal error").into_http());
                        }
                    }
                    Ok(status.into_http())
                })
            }
        }
    }
}
