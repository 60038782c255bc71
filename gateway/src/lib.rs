//! The gateway: the Dutch web UI of one party's node, for its staff, with
//! OpenID Connect login.
//!
//! It has no database of its own and no second set of rules: it works on
//! the node's database as the node's party, turns the login's claims into
//! the [`carenet_fabric::Actor`] that every slice function already checks,
//! and calls those functions. A session is kept in the node's database
//! ([`sessions`]), its random id in an encrypted, authenticated cookie
//! (HttpOnly, SameSite=Lax, Secure over TLS), so it can be ended; its login
//! is checked again at the provider every `session_recheck_minutes`. Every
//! form carries a CSRF token; pages are never cached and name no personal
//! data in their URLs. Every call to a provider has a timeout.

mod api;
mod bearer;
mod caseplan;
pub mod config;
mod consent;
pub mod demo;
mod error;
mod figure;
mod form;
mod handover;
mod href;
mod jwks;
mod labels;
mod notify;
mod oidc;
mod pages;
mod portal;
mod reasons;
mod referral;
mod session;
pub mod sessions;
pub mod staff_directory;
mod support;
mod terms;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use axum_extra::extract::cookie::Key;
use carenet_fabric::store::Store;
use carenet_fabric::{PartyId, PartyKind};

pub use api::document as openapi_document;
pub use config::GatewayConfig;
pub use error::Error;
pub use notify::stored_values as notification_stored_values;
pub use staff_directory::stored_values as staff_directory_stored_values;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) party: PartyId,
    /// The party's kind, as the region directory says.
    pub(crate) kind: PartyKind,
    /// The node's database, with its cached directory.
    pub(crate) store: Store,
    /// How people sign in.
    pub(crate) login: Login,
    /// The party's signing key: it keys the guardians' pseudonyms.
    pub(crate) signing: Arc<carenet_fabric::crypto::SigningKey>,
    pub(crate) key: Key,
    /// After how many days a received dossier's feedback is due (the node's
    /// `handover.feedback_after_days`).
    pub(crate) feedback_after_days: u32,
    /// The node's `[referral]` settings (ZAT from the group review).
    pub(crate) referral: carenet_referral::slice::ReferralConfig,
    /// The node's `[support]` settings (decision time, a TLV's validity).
    pub(crate) support: carenet_support::slice::SupportConfig,
    /// "Today" for the support slice's legal clocks: the wall clock.
    pub(crate) clock: Arc<dyn carenet_support::clock::Clock>,
    /// OSO imports in progress.
    pub(crate) imports: handover::import::Jobs,
    /// Introspection answers about the JSON API's opaque tokens.
    pub(crate) introspected: bearer::Introspected,
    /// The CSP and HSTS every answer carries.
    pub(crate) headers: pages::SecurityHeaders,
}

/// How people sign in: through OpenID Connect (staff, and guardians when
/// their client is configured), or, only in `carenet demo`, by picking a
/// demo person.
pub(crate) enum Login {
    Oidc {
        staff: Box<oidc::Oidc>,
        guardian: Option<Box<oidc::Oidc>>,
    },
    Demo(Vec<demo::Persona>),
}

impl axum::extract::FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Self {
        state.inner.key.clone()
    }
}

/// Builds the gateway for the node `config.node_config` names: its party,
/// its database and cached directory (the node must have run once), the
/// provider's discovered metadata and the session key.
pub async fn build(config: GatewayConfig) -> Result<AppState, Error> {
    let staff = oidc::staff_client(&config).await?;
    let guardian = oidc::guardian_client(&config).await?;
    assemble(
        config,
        Login::Oidc {
            staff: Box::new(staff),
            guardian: guardian.map(Box::new),
        },
    )
    .await
}

/// The gateway of a demo region's party, with the demo sign-in instead of
/// OpenID Connect. Only `carenet demo` (and `carenet bench gateway`, on its
/// own throwaway loopback region) call it: no config file, setting or flag of
/// `carenet gateway` turns it on, and it serves loopback only.
pub async fn build_demo(
    config: GatewayConfig,
    personas: Vec<demo::Persona>,
) -> Result<AppState, Error> {
    let loopback = config
        .listen
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if !loopback {
        return Err(Error::invalid(
            "listen",
            "the demo sign-in serves loopback only",
        ));
    }
    pages::mark_demo();
    // The demo's people are its staff list: every page names them.
    let people: Vec<staff_directory::Line> = personas
        .iter()
        .filter_map(|p| match &p.who {
            demo::Who::Staff { staff, name, roles } => Some(staff_directory::Line {
                staff: staff.clone(),
                name: name.clone(),
                roles: roles.clone(),
                groups: Vec::new(),
            }),
            demo::Who::Guardian { .. } => None,
        })
        .collect();
    let state = assemble(config, Login::Demo(personas)).await?;
    for person in &people {
        staff_directory::keep(&state.inner.store.db, person).await?;
    }
    Ok(state)
}

async fn assemble(config: GatewayConfig, login: Login) -> Result<AppState, Error> {
    let node = config.node()?;
    let party = PartyId::parse("node.party", &node.party)?;
    let creds = carenet_fabric::credentials::Credentials::load(&node.credentials_dir())?;
    let directory = Arc::new(carenet_fabric::directory::Directory::open(
        creds.ca_public_key,
        Some(node.data_dir.join("directory.cache")),
    ));
    refresh_directory(Arc::downgrade(&directory));
    let kind = directory
        .get(party.as_str())
        .map(|e| e.kind)
        .ok_or_else(|| {
            Error::Config(format!(
                "{party} is not in the node's cached directory: start the node once"
            ))
        })?;
    let source = match &node.database_url {
        Some(url) => url.clone(),
        None => node
            .data_dir
            .join(carenet_fabric::store::SQLITE_FILE)
            .display()
            .to_string(),
    };
    let db = carenet_node::migrations::open_existing(&source).await?;
    let store = Store::new(db, party.clone(), carenet_node::slices::standard_registry())
        .with_directory(directory);
    let key = config.session_key()?;
    // Forms lead here, and the logout forms on to the providers' logout.
    let form_origins: Vec<String> = match &login {
        Login::Oidc { staff, guardian } => std::iter::once(staff.as_ref())
            .chain(guardian.as_deref())
            .filter_map(oidc::Oidc::logout_origin)
            .collect(),
        Login::Demo(_) => Vec::new(),
    };
    let headers = pages::SecurityHeaders::new(&config.public_url, &form_origins)?;
    // Notifications: off unless `[smtp]` is set.
    let mailer = match &config.smtp {
        Some(smtp) => Some(notify::mail::Mailer::new(&config, smtp)?),
        None => None,
    };
    let state = AppState {
        inner: Arc::new(Inner {
            config,
            party,
            kind,
            store,
            login,
            signing: creds.signing.clone(),
            key,
            feedback_after_days: node.handover.feedback_after_days,
            referral: node.referral.clone(),
            support: node.support.clone(),
            clock: Arc::new(carenet_support::clock::WallClock),
            imports: handover::import::Jobs::default(),
            introspected: bearer::Introspected::default(),
            headers,
        }),
    };
    if let Some(mailer) = mailer {
        notify::start(Arc::downgrade(&state.inner), mailer);
    }
    Ok(state)
}

/// How often the gateway looks for a newer directory in the node's cache.
const DIRECTORY_REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

/// Keeps the gateway's copy of the region directory as new as the node's
/// cache (a party that joins, a new endpoint, a revocation), until the
/// gateway is gone.
fn refresh_directory(directory: std::sync::Weak<carenet_fabric::directory::Directory>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(DIRECTORY_REFRESH);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(directory) = directory.upgrade() else {
                break;
            };
            match directory.reload_cache() {
                Ok(true) => tracing::info!("newer region directory taken from the node's cache"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "directory cache not reloaded"),
            }
        }
    });
}

/// The routes, with security headers on every answer.
pub fn router(state: AppState) -> Router {
    let headers = axum::middleware::from_fn_with_state(state.clone(), pages::security_headers);
    Router::new()
        .route("/", get(pages::start))
        .route("/inloggen", get(oidc::login))
        .route("/auth/callback", get(oidc::callback))
        .route("/uitloggen", post(oidc::logout))
        .route("/meldingen", post(pages::notifications))
        .route("/demo/inloggen", post(demo::sign_in))
        .route("/api/v1/openapi.json", get(api::openapi))
        // Each slice's pages and API, from its own folder (ADR 0004).
        .merge(handover::routes())
        .merge(consent::routes())
        .merge(referral::routes())
        .merge(caseplan::routes())
        .merge(portal::routes())
        .merge(support::routes())
        // An OSO upload of a whole class fits; anything larger is refused.
        .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
        .layer(headers)
        .layer(axum::middleware::from_fn(pages::menu_scope))
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
