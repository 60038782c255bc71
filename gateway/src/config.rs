//! The gateway's config file (`carenet gateway --config FILE`), TOML, then
//! `CARENET_GATEWAY_*` environment variables.

use std::path::{Path, PathBuf};

use axum_extra::extract::cookie::Key;
use carenet_node::NodeConfig;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// `host:port` the gateway listens on.
    pub listen: String,
    /// The address browsers use (`https://…` in production); the login
    /// callback is `<public_url>/auth/callback`.
    pub public_url: String,
    /// The `node.toml` of the party whose UI this is: the gateway works on
    /// that node's database, as that party.
    pub node_config: PathBuf,
    /// 64 random bytes that encrypt and authenticate the session cookie;
    /// made (0600) on first start if missing.
    pub session_key_file: PathBuf,
    /// Marks cookies Secure. Only a plain-http test or demo turns it off.
    #[serde(default = "yes")]
    pub secure_cookies: bool,
    /// How long a login lasts, in minutes.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: i64,
    /// How often a session's login is checked again at its provider (roles
    /// changed, account blocked, signed out there), in minutes.
    #[serde(default = "default_session_recheck_minutes")]
    pub session_recheck_minutes: i64,
    pub oidc: OidcSection,
    /// The parents' login: a separate OIDC client (in production a DigiD
    /// broker). Without it the gateway has no parent portal.
    #[serde(default)]
    pub guardian_oidc: Option<GuardianOidcSection>,
    /// The JSON API (`/api/v1/`): which systems (OAuth clients of the same
    /// provider, with client-credentials tokens) may call it, and as whom.
    #[serde(default)]
    pub api: ApiSection,
    /// The parent portal's links as the school manages them.
    #[serde(default)]
    pub portal: PortalSection,
    /// `[smtp]`: the mail server notifications go out through. Without it
    /// no mail is sent (notifications are off).
    #[serde(default)]
    pub smtp: Option<SmtpSection>,
    /// `[notifications]`: how often the outbox is filled and sent, when the
    /// daily overview goes, how sending is retried.
    #[serde(default)]
    pub notifications: NotificationsSection,
}

/// How the gateway talks to the mail server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte (SMTPS), usually port 465.
    Tls,
    /// No TLS at all: only to a mail server on this machine (loopback).
    None,
}

/// `[smtp]`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    #[serde(default = "default_smtp_tls")]
    pub tls: SmtpTls,
    /// The sender address of every mail (`carenet@school.example`).
    pub from: String,
    /// The login at the mail server, if it asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// A file holding that login's password (never in the config itself).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// How long one conversation with the mail server may take, in seconds.
    #[serde(default = "default_smtp_timeout_secs")]
    pub timeout_secs: u64,
}

/// `[notifications]`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationsSection {
    /// How often what waits is looked up and due mails are sent, in seconds.
    #[serde(default = "default_notify_poll_secs")]
    pub poll_secs: u64,
    /// From which hour (0-23, Dutch time) the daily overview is sent.
    #[serde(default = "default_digest_hour")]
    pub digest_hour: u8,
    /// The first wait after a failed sending, in seconds; it doubles each
    /// time up to `retry_max_secs`.
    #[serde(default = "default_retry_base_secs")]
    pub retry_base_secs: u64,
    #[serde(default = "default_retry_max_secs")]
    pub retry_max_secs: u64,
    /// After how many hours of failing a mail is given up (audited).
    #[serde(default = "default_give_up_after_hours")]
    pub give_up_after_hours: u64,
}

impl Default for NotificationsSection {
    fn default() -> Self {
        Self {
            poll_secs: default_notify_poll_secs(),
            digest_hour: default_digest_hour(),
            retry_base_secs: default_retry_base_secs(),
            retry_max_secs: default_retry_max_secs(),
            give_up_after_hours: default_give_up_after_hours(),
        }
    }
}

fn default_smtp_port() -> u16 {
    587
}
fn default_smtp_tls() -> SmtpTls {
    SmtpTls::Starttls
}
fn default_smtp_timeout_secs() -> u64 {
    10
}
fn default_notify_poll_secs() -> u64 {
    60
}
fn default_digest_hour() -> u8 {
    7
}
fn default_retry_base_secs() -> u64 {
    60
}
fn default_retry_max_secs() -> u64 {
    3600
}
fn default_give_up_after_hours() -> u64 {
    72
}

/// `[portal]`: how the school's invitations to the parent portal work.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSection {
    /// How many days an invitation code waits for its use when staff or a
    /// system name no other period (1 to 60; default 30).
    #[serde(default = "default_invitation_days")]
    pub invitation_days: u32,
}

impl Default for PortalSection {
    fn default() -> Self {
        Self {
            invitation_days: default_invitation_days(),
        }
    }
}

fn default_invitation_days() -> u32 {
    carenet_consent::links::DEFAULT_INVITATION_DAYS
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// The scope a token must carry to call the API.
    #[serde(default = "default_api_scope")]
    pub scope: String,
    /// Each system that may call, with the staff id and roles it acts with.
    #[serde(default)]
    pub clients: Vec<ApiClient>,
    /// The audience (`aud`) of JWT access tokens (RFC 9068) for this API.
    /// Set, such tokens are checked here against the provider's keys
    /// (signature, `typ`, `iss`, `aud`, `exp`, `nbf`) without a call to
    /// the provider; unset, every token is introspected.
    #[serde(default)]
    pub audience: Option<String>,
    /// How long an introspection answer about an opaque token is reused,
    /// in seconds (never past the token's own expiry).
    #[serde(default = "default_introspection_cache_secs")]
    pub introspection_cache_secs: u64,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            scope: default_api_scope(),
            clients: Vec::new(),
            audience: None,
            introspection_cache_secs: default_introspection_cache_secs(),
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiClient {
    pub client_id: String,
    /// The staff id its actions are recorded under (a system's own id).
    pub staff: String,
    /// Role names (glossary); the same rules as for staff apply.
    pub roles: Vec<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardianOidcSection {
    pub issuer: String,
    pub client_id: String,
    pub client_secret_file: PathBuf,
    /// The claim with the name the guardian is addressed by (kept on this
    /// node as the grantor's name); the pseudonym comes from `iss` and `sub`.
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
    #[serde(default = "default_guardian_scopes")]
    pub scopes: Vec<String>,
    /// As `oidc.timeout_secs`, for the guardians' provider.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSection {
    /// The provider's issuer URL (discovery at `/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// A file holding the client secret (never on the command line).
    pub client_secret_file: PathBuf,
    /// The ID-token claims that say who the staff member is: their staff id
    /// at the party, their party, and their roles (glossary names).
    #[serde(default = "default_staff_claim")]
    pub staff_claim: String,
    #[serde(default = "default_party_claim")]
    pub party_claim: String,
    #[serde(default = "default_roles_claim")]
    pub roles_claim: String,
    /// The claim with the staff member's groups (classes, teams) for the
    /// staff directory: a list or one text; the name comes from the
    /// standard `name` claim, else `given_name` and `family_name`.
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Scopes asked for beside `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// How long any call to the provider may take, in seconds (discovery,
    /// tokens, keys, introspection, the login's re-check).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn yes() -> bool {
    true
}
fn default_session_minutes() -> i64 {
    8 * 60
}
fn default_session_recheck_minutes() -> i64 {
    15
}
fn default_timeout_secs() -> u64 {
    5
}
fn default_introspection_cache_secs() -> u64 {
    60
}
fn default_staff_claim() -> String {
    "staff".into()
}
fn default_party_claim() -> String {
    "party".into()
}
fn default_roles_claim() -> String {
    "roles".into()
}
fn default_groups_claim() -> String {
    "groups".into()
}
/// `profile` gives the names the staff directory shows.
fn default_scopes() -> Vec<String> {
    vec!["carenet".into(), "profile".into()]
}
pub(crate) fn default_api_scope() -> String {
    "carenet-api".into()
}
fn default_name_claim() -> String {
    "name".into()
}
fn default_guardian_scopes() -> Vec<String> {
    vec!["profile".into()]
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("node_config", &self.node_config)
            .field("issuer", &self.oidc.issuer)
            .finish_non_exhaustive()
    }
}

impl SmtpSection {
    fn validate(&self) -> Result<(), Error> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid("smtp.host", "must name the mail server"));
        }
        let loopback = self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if self.tls == SmtpTls::None && !loopback {
            return Err(Error::invalid(
                "smtp.tls",
                "none is only for a mail server on this machine: use starttls or tls",
            ));
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(Error::invalid("smtp.from", "must be an e-mail address"));
        }
        if self.username.is_some() != self.password_file.is_some() {
            return Err(Error::invalid(
                "smtp.password_file",
                "a username needs a password_file, and the other way round",
            ));
        }
        if !(1..=60).contains(&self.timeout_secs) {
            return Err(Error::invalid("smtp.timeout_secs", "must be 1-60"));
        }
        Ok(())
    }
}

impl GatewayConfig {
    /// Reads `file`; relative paths in it are relative to the file.
    pub fn load(file: &Path) -> Result<Self, Error> {
        let mut config: Self = Figment::new()
            .merge(Toml::file_exact(file))
            .merge(Env::prefixed("CARENET_GATEWAY_").split("__"))
            .extract()
            .map_err(|e| Error::Config(e.to_string()))?;
        let base = file.parent().unwrap_or(Path::new("."));
        let mut paths = vec![
            &mut config.node_config,
            &mut config.session_key_file,
            &mut config.oidc.client_secret_file,
        ];
        if let Some(g) = config.guardian_oidc.as_mut() {
            paths.push(&mut g.client_secret_file);
        }
        if let Some(file) = config.smtp.as_mut().and_then(|s| s.password_file.as_mut()) {
            paths.push(file);
        }
        for path in paths {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), Error> {
        if !(self.public_url.starts_with("https://") || self.public_url.starts_with("http://")) {
            return Err(Error::invalid("public_url", "must be an http(s) URL"));
        }
        if self.public_url.starts_with("https://") && !self.secure_cookies {
            return Err(Error::invalid(
                "secure_cookies",
                "must be on when the gateway is served over https",
            ));
        }
        if !(1..=24 * 60).contains(&self.session_minutes) {
            return Err(Error::invalid("session_minutes", "must be 1-1440"));
        }
        if !(1..=24 * 60).contains(&self.session_recheck_minutes) {
            return Err(Error::invalid("session_recheck_minutes", "must be 1-1440"));
        }
        // A stalled provider must answer as 503 well within 10 s.
        if !(1..=8).contains(&self.oidc.timeout_secs) {
            return Err(Error::invalid("oidc.timeout_secs", "must be 1-8"));
        }
        if let Some(g) = &self.guardian_oidc
            && !(1..=8).contains(&g.timeout_secs)
        {
            return Err(Error::invalid("guardian_oidc.timeout_secs", "must be 1-8"));
        }
        if self.api.introspection_cache_secs > 3600 {
            return Err(Error::invalid(
                "api.introspection_cache_secs",
                "must be 0-3600",
            ));
        }
        if self.api.audience.as_deref().is_some_and(str::is_empty) {
            return Err(Error::invalid("api.audience", "must not be empty"));
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        let n = &self.notifications;
        if !(1..=3600).contains(&n.poll_secs) {
            return Err(Error::invalid("notifications.poll_secs", "must be 1-3600"));
        }
        if n.digest_hour > 23 {
            return Err(Error::invalid("notifications.digest_hour", "must be 0-23"));
        }
        if n.retry_base_secs == 0 || n.retry_max_secs < n.retry_base_secs {
            return Err(Error::invalid(
                "notifications.retry_max_secs",
                "must be at least retry_base_secs, which must be 1 or more",
            ));
        }
        if !(1..=24 * 30).contains(&n.give_up_after_hours) {
            return Err(Error::invalid(
                "notifications.give_up_after_hours",
                "must be 1-720",
            ));
        }
        let most = carenet_consent::links::MAX_INVITATION_DAYS;
        if !(1..=most).contains(&self.portal.invitation_days) {
            return Err(Error::invalid(
                "portal.invitation_days",
                format!("must be 1-{most}"),
            ));
        }
        Ok(())
    }

    /// A gateway on this machine for a demo or a benchmark: plain http on
    /// loopback (a browser drops Secure cookies there) and no identity
    /// provider (its section is empty and unused: such a gateway is built
    /// with [`crate::build_demo`], which signs in without one).
    pub fn local(
        listen: String,
        public_url: String,
        node_config: PathBuf,
        session_key_file: PathBuf,
    ) -> Self {
        Self {
            listen,
            public_url,
            node_config,
            secure_cookies: false,
            session_minutes: 8 * 60,
            session_recheck_minutes: default_session_recheck_minutes(),
            oidc: OidcSection {
                issuer: String::new(),
                client_id: String::new(),
                client_secret_file: session_key_file.with_extension("no-client-secret"),
                staff_claim: default_staff_claim(),
                party_claim: default_party_claim(),
                roles_claim: default_roles_claim(),
                groups_claim: default_groups_claim(),
                scopes: Vec::new(),
                timeout_secs: default_timeout_secs(),
            },
            session_key_file,
            guardian_oidc: None,
            api: ApiSection::default(),
            portal: PortalSection::default(),
            smtp: None,
            notifications: NotificationsSection::default(),
        }
    }

    /// The node's own config.
    pub fn node(&self) -> Result<NodeConfig, Error> {
        Ok(NodeConfig::load(&self.node_config)?)
    }

    /// A client secret from its file (`field` names the setting).
    pub fn secret(field: &str, file: &Path) -> Result<String, Error> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Config(format!("{field} {}: {e}", file.display())))?;
        Ok(text.trim().to_owned())
    }

    /// The session key, made on first start.
    pub fn session_key(&self) -> Result<Key, Error> {
        let path = &self.session_key_file;
        if !path.exists() {
            let mut bytes = [0u8; 64];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
                .map_err(|_| Error::Config("no randomness for the session key".into()))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                carenet_fabric::private_fs::private_dir(dir).map_err(|e| {
                    Error::Config(format!("session_key_file {}: {e}", path.display()))
                })?;
            }
            carenet_fabric::private_fs::write_private(path, &bytes)
                .map_err(|e| Error::Config(format!("session_key_file {}: {e}", path.display())))?;
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Config(format!("session_key_file {}: {e}", path.display())))?;
        Key::try_from(bytes.as_slice())
            .map_err(|_| Error::invalid("session_key_file", "must hold at least 64 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GatewayConfig {
        GatewayConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: "https://gateway.example".into(),
            node_config: "node.toml".into(),
            session_key_file: "session.key".into(),
            secure_cookies: true,
            session_minutes: 60,
            session_recheck_minutes: 15,
            oidc: OidcSection {
                issuer: "https://idp.example".into(),
                client_id: "gateway".into(),
                client_secret_file: "secret".into(),
                staff_claim: default_staff_claim(),
                party_claim: default_party_claim(),
                roles_claim: default_roles_claim(),
                groups_claim: default_groups_claim(),
                scopes: default_scopes(),
                timeout_secs: 5,
            },
            guardian_oidc: None,
            api: ApiSection::default(),
            portal: PortalSection::default(),
            smtp: None,
            notifications: NotificationsSection::default(),
        }
    }

    #[test]
    fn bad_settings_name_their_field() {
        assert!(config().validate().is_ok());
        let field = |c: GatewayConfig| match c.validate() {
            Err(Error::InvalidArgument { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        let mut insecure = config();
        insecure.secure_cookies = false;
        assert_eq!(field(insecure), "secure_cookies");
        let mut odd = config();
        odd.public_url = "gateway.example".into();
        assert_eq!(field(odd), "public_url");
        let mut long = config();
        long.session_minutes = 0;
        assert_eq!(field(long), "session_minutes");
        let mut never = config();
        never.session_recheck_minutes = 0;
        assert_eq!(field(never), "session_recheck_minutes");
        let mut patient = config();
        patient.oidc.timeout_secs = 30;
        assert_eq!(field(patient), "oidc.timeout_secs");
        let mut waiting = config();
        waiting.portal.invitation_days = 61;
        assert_eq!(field(waiting), "portal.invitation_days");
        let mut plain = config();
        plain.smtp = Some(SmtpSection {
            host: "mail.school.example".into(),
            port: 25,
            tls: SmtpTls::None,
            from: "carenet@school.example".into(),
            username: None,
            password_file: None,
            timeout_secs: 10,
        });
        assert_eq!(field(plain.clone()), "smtp.tls");
        let mut local = plain.clone();
        local.smtp.as_mut().unwrap().host = "127.0.0.1".into();
        assert!(local.validate().is_ok());
        let mut nobody = local.clone();
        nobody.smtp.as_mut().unwrap().from = "carenet".into();
        assert_eq!(field(nobody), "smtp.from");
        let mut half = local;
        half.smtp.as_mut().unwrap().username = Some("carenet".into());
        assert_eq!(field(half), "smtp.password_file");
        let mut late = config();
        late.notifications.digest_hour = 24;
        assert_eq!(field(late), "notifications.digest_hour");
    }

    #[test]
    fn smtp_and_notifications_as_the_readme_shows_them() {
        let dir = std::env::temp_dir().join(format!("carenet-gw-smtp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("gateway.toml");
        let base = r#"
listen = "127.0.0.1:8080"
public_url = "https://gateway.example"
node_config = "node.toml"
session_key_file = "session.key"
[oidc]
issuer = "https://idp.example"
client_id = "gateway"
client_secret_file = "secret"
"#;
        std::fs::write(&file, base).unwrap();
        let off = GatewayConfig::load(&file).unwrap();
        assert!(off.smtp.is_none(), "off unless configured");
        assert_eq!(off.notifications.digest_hour, 7);
        let on = format!(
            "{base}[smtp]\nhost = \"smtp.school.example\"\nfrom = \"carenet@school.example\"\n\
             username = \"carenet\"\npassword_file = \"smtp-password\"\n\
             [notifications]\ndigest_hour = 6\n"
        );
        std::fs::write(&file, on).unwrap();
        let on = GatewayConfig::load(&file).unwrap();
        let smtp = on.smtp.expect("[smtp]");
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::Starttls));
        assert_eq!(smtp.password_file, Some(dir.join("smtp-password")));
        assert_eq!(on.notifications.digest_hour, 6);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_session_key_is_made_private_once() {
        let dir = std::env::temp_dir().join(format!("carenet-gw-{}", std::process::id()));
        let mut c = config();
        c.session_key_file = dir.join("keys").join("session.key");
        let first = c.session_key().unwrap();
        let again = c.session_key().unwrap();
        assert_eq!(first.master(), again.master(), "kept, not made anew");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&c.session_key_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(dir);
    }
}
