//! The mail itself: over SMTP with `lettre` (rustls, no OpenSSL), one fixed
//! Dutch sentence and the links to the pages behind login. A mail names no
//! pupil, no dossier, no plan: only that something waits, and where.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::Error;
use crate::config::{GatewayConfig, SmtpSection, SmtpTls};

/// The subject of every mail.
pub(crate) const SUBJECT: &str = "Bericht van carenet";
/// The one sentence every mail says.
pub(crate) const SENTENCE: &str = "Er staat iets voor u klaar in carenet.";

/// Sends the notifications of one gateway.
pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The gateway's public address, without a trailing slash.
    base: String,
}

/// Why a mail did not go, in words that name no address or content.
#[derive(Debug)]
pub(crate) struct NotSent(pub String);

impl Mailer {
    pub(crate) fn new(config: &GatewayConfig, smtp: &SmtpSection) -> Result<Self, Error> {
        let builder = match smtp.tls {
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    .map_err(|_| Error::invalid("smtp.host", "not a host name for TLS"))?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|_| Error::invalid("smtp.host", "not a host name for TLS"))?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
        if let (Some(user), Some(file)) = (&smtp.username, &smtp.password_file) {
            let password = GatewayConfig::secret("smtp.password_file", file)?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let from = smtp
            .from
            .parse()
            .map_err(|_| Error::invalid("smtp.from", "must be an e-mail address"))?;
        Ok(Self {
            transport: builder.build(),
            from,
            base: config.public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The body: the sentence, then one link per page (each once).
    pub(crate) fn body(&self, paths: &[&str]) -> String {
        let mut seen = Vec::new();
        let mut text = format!("{SENTENCE}\n\n");
        for p in paths {
            if !seen.contains(p) {
                seen.push(*p);
                text.push_str(&format!("{}{p}\n", self.base));
            }
        }
        text.push_str("\nU logt eerst in; daarna ziet u wat er voor u klaarstaat.\n");
        text
    }

    /// Sends one mail to `to` pointing at `paths`.
    pub(crate) async fn send(&self, to: &str, paths: &[&str]) -> Result<(), NotSent> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| NotSent("the stored address is not an e-mail address".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(SUBJECT)
            .header(ContentType::TEXT_PLAIN)
            .body(self.body(paths))
            .map_err(|_| NotSent("the mail could not be built".into()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // The server's answer may quote the address: only its code.
            Err(e) => Err(NotSent(match e.status() {
                Some(code) => format!("the mail server answered {code}"),
                None if e.is_timeout() => "the mail server did not answer in time".into(),
                None => "the mail server could not be reached".into(),
            })),
        }
    }
}
