//! Mutual TLS between party nodes (rustls with ring, TLS 1.3 only).
//!
//! The server side accepts TCP connections itself so that it can cap the number
//! of connections, bound the handshake in time, set `TCP_NODELAY` on every
//! accepted socket (tonic's own setting does not reach sockets accepted outside
//! it, see NOTES.md) and attach the verified peer to every request as
//! [`PeerInfo`]. The chain and revocation are checked by rustls against the region
//! anchor and its CRL; the match with the directory entry is checked per request
//! by [`crate::authz`]. The client side checks that the server is the party it
//! dialled (DNS SAN) and that its key matches the directory pin.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::{TlsAcceptor, TlsConnector, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;
use tonic::transport::{Channel, Endpoint};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::credentials::Credentials;
use crate::crypto::sha256;
use crate::party::PartyId;
use crate::{Error, Result};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn parse_cert<'a>(der: &'a [u8]) -> Result<X509Certificate<'a>> {
    X509Certificate::from_der(der)
        .map(|(_, c)| c)
        .map_err(|_| Error::Tls("certificate is not valid DER".into()))
}

/// The carenet party a certificate names in its URI SAN, if any.
pub fn party_of_cert(der: &[u8]) -> Result<Option<PartyId>> {
    let cert = parse_cert(der)?;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Ok(None);
    };
    Ok(san.value.general_names.iter().find_map(|name| match name {
        GeneralName::URI(uri) => PartyId::from_uri(uri),
        _ => None,
    }))
}

/// SHA-256 of the certificate's SubjectPublicKeyInfo: the directory pin.
pub fn spki_sha256_of_cert(der: &[u8]) -> Result<[u8; 32]> {
    Ok(sha256(parse_cert(der)?.public_key().raw))
}

/// The raw public key (for EC keys the uncompressed point).
pub fn public_key_of_cert(der: &[u8]) -> Result<Vec<u8>> {
    Ok(parse_cert(der)?
        .public_key()
        .subject_public_key
        .data
        .to_vec())
}

/// The certificate serial number, big-endian without leading zeros.
pub fn serial_of_cert(der: &[u8]) -> Result<Vec<u8>> {
    Ok(parse_cert(der)?.tbs_certificate.serial.to_bytes_be())
}

/// Who is on the other end of an accepted connection, as its verified
/// certificate says. Attached to every request on that connection.
#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub party: Option<PartyId>,
    pub spki_sha256: [u8; 32],
    pub serial: Vec<u8>,
    pub remote: SocketAddr,
}

/// Limits on accepted connections.
#[derive(Clone, Copy, Debug)]
pub struct TlsLimits {
    pub handshake_timeout: Duration,
    pub max_connections: usize,
}

impl Default for TlsLimits {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// The TLS configurations of one node; rebuilt when the CRL changes.
pub struct NodeTls {
    creds: Credentials,
    server: RwLock<Arc<ServerConfig>>,
    client: RwLock<Arc<ClientConfig>>,
}

impl NodeTls {
    pub fn new(creds: Credentials, crls: &[Vec<u8>]) -> Result<Self> {
        let (server, client) = build_configs(&creds, crls)?;
        Ok(Self {
            creds,
            server: RwLock::new(server),
            client: RwLock::new(client),
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.creds
    }

    /// Installs new CRLs for connections made or accepted from now on.
    pub fn update_crls(&self, crls: &[Vec<u8>]) -> Result<()> {
        let (server, client) = build_configs(&self.creds, crls)?;
        *self.server.write().unwrap_or_else(|e| e.into_inner()) = server;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(())
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.client
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn build_configs(
    creds: &Credentials,
    crls: &[Vec<u8>],
) -> Result<(Arc<ServerConfig>, Arc<ClientConfig>)> {
    let mut roots = RootCertStore::empty();
    roots
        .add(creds.ca_cert.clone())
        .map_err(|e| Error::Tls(format!("trust anchor: {e}")))?;
    let roots = Arc::new(roots);
    let crls: Vec<CertificateRevocationListDer<'static>> = crls
        .iter()
        .map(|c| CertificateRevocationListDer::from(c.clone()))
        .collect();

    let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
        .with_crls(crls.clone())
        .build()
        .map_err(|e| Error::Tls(format!("client verifier: {e}")))?;
    let mut server = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(creds.cert_chain.clone(), creds.key.clone_key())
        .map_err(|e| Error::Tls(format!("server certificate: {e}")))?;
    server.alpn_protocols = vec![b"h2".to_vec()];

    let server_verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider())
            .with_crls(crls)
            .build()
            .map_err(|e| Error::Tls(format!("server verifier: {e}")))?;
    let mut client = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_webpki_verifier(server_verifier)
        .with_client_auth_cert(creds.cert_chain.clone(), creds.key.clone_key())
        .map_err(|e| Error::Tls(format!("client certificate: {e}")))?;
    client.alpn_protocols = vec![b"h2".to_vec()];
    Ok((Arc::new(server), Arc::new(client)))
}

/// An accepted, handshaken connection with its verified peer.
pub struct TlsConn {
    inner: TlsStream<TcpStream>,
    peer: PeerInfo,
    _permit: OwnedSemaphorePermit,
}

impl Connected for TlsConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Accepts connections on `listener`, handshakes them under the node's current
/// server config and yields them to tonic's `serve_with_incoming`. Stops when
/// the server drops the stream.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<NodeTls>,
    limits: TlsLimits,
) -> ReceiverStream<io::Result<TlsConn>> {
    let (tx, rx) = mpsc::channel(64);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                _ = tx.closed() => break,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (tcp, remote) = tokio::select! {
                _ = tx.closed() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "set_nodelay failed");
            }
            let acceptor = TlsAcceptor::from(tls.server_config());
            let tx = tx.clone();
            tokio::spawn(async move {
                let stream = match tokio::time::timeout(
                    limits.handshake_timeout,
                    acceptor.accept(tcp),
                )
                .await
                {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::info!(%remote, error = %e, "tls handshake refused");
                        return;
                    }
                    Err(_) => {
                        tracing::info!(%remote, "tls handshake timed out");
                        return;
                    }
                };
                let Some(peer) = peer_info(&stream, remote) else {
                    tracing::info!(%remote, "peer presented no usable certificate");
                    return;
                };
                let _ = tx
                    .send(Ok(TlsConn {
                        inner: stream,
                        peer,
                        _permit: permit,
                    }))
                    .await;
            });
        }
    });
    ReceiverStream::new(rx)
}

fn peer_info(stream: &TlsStream<TcpStream>, remote: SocketAddr) -> Option<PeerInfo> {
    let leaf: &CertificateDer<'_> = stream.get_ref().1.peer_certificates()?.first()?;
    Some(PeerInfo {
        party: party_of_cert(leaf).ok().flatten(),
        spki_sha256: spki_sha256_of_cert(leaf).ok()?,
        serial: serial_of_cert(leaf).ok()?,
        remote,
    })
}

/// A lazily connecting channel to `party` at `endpoint` (`host:port`). The
/// server must present a certificate for `party`; when `pin` is given its key
/// must match it.
pub fn channel(
    tls: &NodeTls,
    party: &PartyId,
    endpoint: &str,
    pin: Option<[u8; 32]>,
    timeout: Duration,
) -> Result<Channel> {
    channel_with_config(tls.client_config(), party, endpoint, pin, timeout)
}

/// [`channel`] with an explicit client config (tests use it to present no
/// certificate, or one of another authority).
pub fn channel_with_config(
    config: Arc<ClientConfig>,
    party: &PartyId,
    endpoint: &str,
    pin: Option<[u8; 32]>,
    timeout: Duration,
) -> Result<Channel> {
    let server_name = ServerName::try_from(party.dns_name())
        .map_err(|_| Error::Tls("party id is not a DNS name".into()))?;
    let connector = TlsConnector::from(config);
    let addr = endpoint.to_owned();
    let service = tower::service_fn(move |_uri: tonic::transport::Uri| {
        let connector = connector.clone();
        let server_name = server_name.clone();
        let addr = addr.clone();
        async move {
            let tcp = TcpStream::connect(&addr).await?;
            tcp.set_nodelay(true)?;
            let stream = connector.connect(server_name, tcp).await?;
            if let Some(pin) = pin {
                let leaf = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .ok_or_else(|| io::Error::other("server sent no certificate"))?;
                let actual = spki_sha256_of_cert(leaf).map_err(io::Error::other)?;
                if actual != pin {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        "server key does not match the directory pin",
                    ));
                }
            }
            Ok::<_, io::Error>(TokioIo::new(stream))
        }
    });
    let endpoint = Endpoint::from_shared(format!("http://{endpoint}"))
        .map_err(|_| Error::invalid("endpoint", "must be host:port"))?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .http2_adaptive_window(true);
    Ok(endpoint.connect_with_connector_lazy(service))
}
