//! Who is refused: no certificate, another authority, a revoked certificate, a
//! certificate whose key is not the pinned one, and a party fetching a message
//! addressed to another.

use std::sync::Arc;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_until};
use carenet_fabric::PartyId;
use carenet_fabric::ca::RegionCa;
use carenet_fabric::credentials::{
    CA_CERT_FILE, CERT_FILE, Credentials, KEY_FILE, SIGNING_KEY_FILE,
};
use carenet_fabric::tls::{self, NodeTls, serial_of_cert};
use carenet_proto::v1::{self, exchange_client::ExchangeClient};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::Code;

use crate::three_parties;

fn notify_request() -> v1::NotifyRequest {
    v1::NotifyRequest {
        items: vec![v1::NotifyItem {
            resends: 0,
            message_id: uuid::Uuid::new_v4().to_string(),
            document_type: "test.note".into(),
        }],
    }
}

/// A client config that trusts the region's anchor and presents `client` (or nothing).
fn client_config(
    region_ca: &CertificateDer<'static>,
    client: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(region_ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

async fn notify_with(
    config: Arc<rustls::ClientConfig>,
    region: &TestRegion,
    to: &str,
) -> Result<(), tonic::Status> {
    let ch = tls::channel_with_config(
        config,
        &PartyId::parse("p", to).unwrap(),
        &region.address(to),
        None,
        Duration::from_secs(5),
    )
    .unwrap();
    ExchangeClient::new(ch)
        .notify(notify_request())
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_without_a_valid_certificate_are_refused() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let vo = Credentials::load(&region.config("vo-1").credentials_dir())?;

    // A party with its own certificate is accepted (the control case).
    notify_with(
        client_config(
            &vo.ca_cert,
            Some((vo.cert_chain.clone(), vo.key.clone_key())),
        ),
        &region,
        "po-1",
    )
    .await
    .expect("a valid party is accepted");

    // No client certificate: the handshake fails.
    let err = notify_with(client_config(&vo.ca_cert, None), &region, "po-1")
        .await
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);

    // A certificate for the same party id from another authority.
    let other_dir = tempfile::tempdir()?;
    let mut other = RegionCa::init(&other_dir.path().join("ca"), "elsewhere")?;
    let (cert, key, _) = other.mint(&PartyId::parse("p", "vo-1")?)?;
    let chain = vec![CertificateDer::from(rustls_pem_cert(&cert))];
    let key = rustls_pem_key(&key);
    let err = notify_with(
        client_config(&vo.ca_cert, Some((chain, key))),
        &region,
        "po-1",
    )
    .await
    .unwrap_err();
    assert_ne!(err.code(), Code::Ok);

    // Nothing of those attempts reached the store: only the accepted
    // notification (of an id vo-1 does not have: refused once fetched).
    let po = region.handle("po-1").store;
    wait_until(Duration::from_secs(20), || async {
        (po.inbox_count("refused").await.ok()? == 1).then_some(())
    })
    .await?;
    for state in ["notified", "stored", "acked", "dead", "rejected"] {
        assert_eq!(po.inbox_count(state).await?, 0, "{state}");
    }
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_key_not_matching_the_directory_pin_is_unauthenticated() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    // A certificate for vo-1 signed by the real anchor, but with another key.
    let mut ca = RegionCa::open(&region.file.ca_dir)?;
    let (cert, key, _) = ca.mint(&PartyId::parse("p", "vo-1")?)?;
    let rogue = tempfile::tempdir()?;
    let real = region.config("vo-1").credentials_dir();
    std::fs::write(rogue.path().join(CERT_FILE), cert)?;
    std::fs::write(rogue.path().join(KEY_FILE), key)?;
    std::fs::copy(
        real.join(SIGNING_KEY_FILE),
        rogue.path().join(SIGNING_KEY_FILE),
    )?;
    std::fs::copy(real.join(CA_CERT_FILE), rogue.path().join(CA_CERT_FILE))?;
    let tls = NodeTls::new(Credentials::load(rogue.path())?, &[])?;
    let ch = tls::channel(
        &tls,
        &PartyId::parse("p", "po-1")?,
        &region.address("po-1"),
        None,
        Duration::from_secs(5),
    )?;
    let err = ExchangeClient::new(ch)
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    assert!(err.message().contains("directory pin"), "{}", err.message());
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_certificate_is_refused() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let mut client = region.exchange_client("vo-1", "po-1")?;
    client
        .notify(notify_request())
        .await
        .expect("accepted before revocation");

    let vo = Credentials::load(&region.config("vo-1").credentials_dir())?;
    let serial = serial_of_cert(&vo.cert_chain[0])?;
    RegionCa::open(&region.file.ca_dir)?.revoke(&PartyId::parse("p", "vo-1")?)?;
    // The SWV rereads the CA's directory, po-1 fetches it from the SWV.
    let po = region.handle("po-1");
    wait_until(Duration::from_secs(30), || async {
        po.directory.snapshot().is_revoked(&serial).then_some(())
    })
    .await?;

    // A new connection is refused in the handshake; any call fails.
    let err = region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    // A connection opened before the revocation is refused per request.
    let err = client.notify(notify_request()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_cannot_fetch_a_message_addressed_to_another() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let ids = region
        .handle("po-1")
        .send(&[document("vo-1", 1, b"for vo-1 only")])
        .await?;
    // Asked by another party, it is refused like an unknown id (nothing is
    // released, its state at the sender does not change).
    let got = region
        .exchange_client("swv", "po-1")?
        .fetch(v1::FetchRequest {
            message_ids: ids.clone(),
        })
        .await?
        .into_inner();
    assert!(got.envelopes.is_empty());
    assert_eq!(got.refused.len(), 1);
    assert_eq!(got.refused[0].reason, "no such message for the caller");
    assert_eq!(region.handle("po-1").store.outbox_count("dead").await?, 0);
    // The named recipient may.
    let got = region
        .exchange_client("vo-1", "po-1")?
        .fetch(v1::FetchRequest { message_ids: ids })
        .await?
        .into_inner();
    assert_eq!(got.envelopes.len(), 1);
    region.shutdown().await
}

fn rustls_pem_cert(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

fn rustls_pem_key(pem: &str) -> PrivateKeyDer<'static> {
    use rustls::pki_types::pem::PemObject;
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_are_closed_after_the_handshake_timeout() -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    let mut config = region.config("po-1");
    config.tls.handshake_timeout_ms = 300;
    std::fs::write(region.config_path("po-1"), toml::to_string_pretty(&config)?)?;
    region.start("swv").await?;
    region.start("po-1").await?;
    // Connect and say nothing: the server must hang up by itself.
    let mut tcp = tokio::net::TcpStream::connect(region.address("po-1")).await?;
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf)).await??;
    assert_eq!(n, 0, "the server closed the connection");
    // And it still serves others.
    region
        .exchange_client("vo-1", "po-1")?
        .notify(notify_request())
        .await?;
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_grpc_reflection_over_mtls() -> anyhow::Result<()> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let tls = region.client_tls("swv")?;
    let ch = tls::channel(
        &tls,
        &PartyId::parse("p", "po-1")?,
        &region.address("po-1"),
        None,
        Duration::from_secs(5),
    )?;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(ch)
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await?
        .into_inner();
    let response = responses.message().await?.expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "carenet.v1.Exchange",
        "carenet.v1.Audit",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    region.shutdown().await
}

/// Issue 9.9: health, reflection and the directory answer only certificates
/// the directory names. A certificate the region CA minted but never entered
/// (or that was revoked) gets nothing from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reflection_and_directory_answer_only_parties_in_the_directory() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let vo = Credentials::load(&region.config("vo-1").credentials_dir())?;
    let mut ca = RegionCa::open(&region.dir.path().join("ca"))?;
    let (cert, key, _) = ca.mint(&PartyId::parse("p", "stranger")?)?;
    let stranger = client_config(
        &vo.ca_cert,
        Some((
            vec![CertificateDer::from(rustls_pem_cert(&cert))],
            rustls_pem_key(&key),
        )),
    );
    let member = client_config(
        &vo.ca_cert,
        Some((vo.cert_chain.clone(), vo.key.clone_key())),
    );
    let channel = |config: Arc<rustls::ClientConfig>, to: &str| {
        tls::channel_with_config(
            config,
            &PartyId::parse("p", to).unwrap(),
            &region.address(to),
            None,
            Duration::from_secs(5),
        )
        .unwrap()
    };
    let health = |ch| async move {
        tonic_health::pb::health_client::HealthClient::new(ch)
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|_| ())
    };
    health(channel(member.clone(), "po-1"))
        .await
        .expect("a party in the directory is answered");
    let err = health(channel(stranger.clone(), "po-1")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let err = ServerReflectionClient::new(channel(stranger.clone(), "po-1"))
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");

    let err = v1::directory_client::DirectoryClient::new(channel(stranger, "swv"))
        .get(v1::GetDirectoryRequest { known_version: 0 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated, "{err:?}");
    v1::directory_client::DirectoryClient::new(channel(member, "swv"))
        .get(v1::GetDirectoryRequest { known_version: 0 })
        .await
        .expect("a party in the directory gets it");
    region.shutdown().await
}

/// Issue 9.9: one party's parallel fetches are bounded; the excess is told
/// to come back later (RESOURCE_EXHAUSTED), not queued without limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_fetches_from_one_party_are_bounded() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    let mut config = region.config("po-1");
    config.tls.max_parallel_fetches_per_peer = 1;
    std::fs::write(region.config_path("po-1"), toml::to_string_pretty(&config)?)?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let ids: Vec<String> = (0..256).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let client = region.exchange_client("vo-1", "po-1")?;
    let calls = (0..16).map(|_| {
        let mut client = client.clone();
        let ids = ids.clone();
        async move {
            client
                .fetch(v1::FetchRequest { message_ids: ids })
                .await
                .map(|_| ())
        }
    });
    let results = futures::future::join_all(calls).await;
    let exhausted = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    let answered = results.iter().filter(|r| r.is_ok()).count();
    assert!(exhausted > 0, "some were told to come back later");
    assert!(answered > 0, "and some were answered");
    assert_eq!(exhausted + answered, 16, "{results:?}");
    region.shutdown().await
}
