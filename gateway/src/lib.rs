//! The gateway: the Dutch web UI of one party's node, for its staff, with
//! OpenID Connect login.
//!
//! It has no database of its own and no second set of rules: it works as
//! the node's party, turns the login's claims into the
//! [`carenet_fabric::Actor`] that every slice function already checks, and
//! (as the slices' pages come) calls those functions on the node's database. The
//! session lives in an encrypted, authenticated cookie (HttpOnly,
//! SameSite=Lax, Secure over TLS); every form carries a CSRF token; pages are
//! never cached and name no personal data in their URLs.

pub mod config;
mod error;
mod oidc;
mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use carenet_fabric::PartyId;

pub use config::GatewayConfig;
pub use error::Error;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) party: PartyId,
    pub(crate) oidc: oidc::Oidc,
    pub(crate) key: Key,
}

impl axum::extract::FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.inner.key.clone()
    }
}

/// Builds the gateway for the node `config.node_config` names: its party,
/// the provider's discovered metadata and the session key.
pub async fn build(config: GatewayConfig) -> Result<AppState, Error> {
    let node = config.node()?;
    let party = PartyId::parse("node.party", &node.party)?;
    let oidc = oidc::Oidc::discover(&config).await?;
    let key = config.session_key()?;
    Ok(AppState {
        inner: Arc::new(Inner {
            config,
            party,
            oidc,
            key,
        }),
    })
}

/// The routes, with security headers on every answer.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::start))
        .route("/inloggen", get(oidc::login))
        .route("/auth/callback", get(oidc::callback))
        .route("/uitloggen", post(oidc::logout))
        .layer(axum::middleware::from_fn(pages::security_headers))
        .with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` completes.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
