//! Delivery between real nodes: verified, receipted and audited on both sides,
//! through receiver outages, dead-letter and resend, and an SWV outage.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_delivered, wait_until};
use carenet_fabric::audit;
use carenet_fabric::crypto::sha256;
use carenet_proto::v1;

use crate::three_parties;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_exchange_verified_receipted_and_audited() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let routes = [("po-1", "vo-1"), ("vo-1", "swv"), ("swv", "po-1")];
    let mut sent = Vec::new();
    for (i, (from, to)) in routes.iter().enumerate() {
        let payload = format!("document {i} from {from} to {to}").into_bytes();
        let ids = region
            .handle(from)
            .send(&[document(to, i, &payload)])
            .await?;
        sent.push((from, to, ids[0].clone(), payload));
    }
    for (from, to, id, payload) in &sent {
        let sender = region.handle(from).store;
        wait_delivered(&sender, 1, T).await?;
        let receiver = region.handle(to).store;
        let doc = receiver
            .received(id)
            .await?
            .expect("receiver holds the document");
        assert_eq!(&doc.payload, payload);
        assert_eq!(doc.header.sender, **from);
        assert_eq!(doc.header.recipient, **to);
        assert_eq!(doc.header.payload_sha256, sha256(payload));

        // Both sides audited the same message with the same payload hash.
        let sender_records = audit::list(&sender.db, 0, 1000).await?;
        let actions: Vec<&str> = sender_records
            .iter()
            .filter(|r| &r.message_id == id)
            .map(|r| r.action.as_str())
            .collect();
        assert_eq!(actions, ["queued", "released", "delivered"]);
        let received = audit::list(&receiver.db, 0, 1000).await?;
        let rec = received
            .iter()
            .find(|r| &r.message_id == id && r.action == "received")
            .expect("receiver audited the receipt");
        assert_eq!(rec.counterparty, **from);
        assert_eq!(rec.payload_sha256, sha256(payload));

        // The counterparty can list what the sender recorded about it.
        let tls = region.client_tls(to)?;
        let ch = carenet_fabric::tls::channel(
            &tls,
            &carenet_fabric::PartyId::parse("p", from)?,
            &region.address(from),
            None,
            Duration::from_secs(5),
        )?;
        let shared = v1::audit_client::AuditClient::new(ch)
            .list_shared(v1::ListSharedRequest {
                after_seq: 0,
                limit: 100,
            })
            .await?
            .into_inner()
            .records;
        assert!(
            shared
                .iter()
                .any(|r| &r.message_id == id && r.action == "delivered")
        );
        assert!(shared.iter().all(|r| r.counterparty == **to));
    }
    for id in ["swv", "po-1", "vo-1"] {
        let store = region.handle(id).store;
        assert!(audit::verify(&store.db).await?.is_ok(), "{id} audit chain");
    }
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_for_a_while_gets_everything_once() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    region.stop("vo-1").await?;
    let sender = region.handle("po-1");
    let docs: Vec<_> = (0..20)
        .map(|i| document("vo-1", i, format!("doc {i}").as_bytes()))
        .collect();
    sender.send(&docs).await?;
    // The sender keeps trying while the receiver is down.
    wait_until(T, || async {
        let items = sender.store.list_outbox(Some("pending"), 100).await.ok()?;
        items.iter().any(|i| i.attempts >= 2).then_some(())
    })
    .await?;
    assert_eq!(sender.store.outbox_count("delivered").await?, 0);
    region.start("vo-1").await?;
    wait_delivered(&sender.store, 20, T).await?;
    let receiver = region.handle("vo-1").store;
    wait_until(T, || async {
        (receiver.inbox_count("acked").await.ok()? == 20).then_some(())
    })
    .await?;
    let received = audit::list(&receiver.db, 0, 10_000).await?;
    assert_eq!(
        received.iter().filter(|r| r.action == "received").count(),
        20
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_peer_ends_in_dead_letter_and_resend_delivers() -> anyhow::Result<()> {
    let tuning = Tuning {
        give_up_after_ms: 300,
        retry_base_ms: 20,
        retry_max_ms: 50,
        ..Tuning::default()
    };
    let mut region = TestRegion::create(three_parties(), tuning).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let sender = region.handle("po-1");
    let ids = sender
        .send(&[document("vo-1", 1, b"for a node that is down")])
        .await?;
    wait_until(T, || async {
        (sender.store.outbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    let dead = sender.store.list_outbox(Some("dead"), 10).await?;
    assert_eq!(dead[0].message_id, ids[0]);
    assert!(dead[0].last_error.is_some());

    region.start("vo-1").await?;
    // Nothing moves by itself once dead ...
    assert_eq!(sender.store.outbox_count("dead").await?, 1);
    // ... until an operator resends it, here through the CLI.
    let out = std::process::Command::new(carenet_e2e::carenet_bin())
        .args(["outbox", "resend", "--data-dir"])
        .arg(region.dir.path())
        .args(["--party", "po-1"])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("requeued 1"));
    wait_delivered(&sender.store, 1, T).await?;
    assert!(
        region
            .handle("vo-1")
            .store
            .received(&ids[0])
            .await?
            .is_some()
    );
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_serves_from_cache_while_swv_is_down() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    // po-1 has fetched the directory from the SWV and cached it.
    let cache = region.config("po-1").data_dir.join("directory.cache");
    wait_until(T, || async { cache.exists().then_some(()) }).await?;
    region.stop("swv").await?;
    // A restart with the SWV unreachable starts from the cache.
    region.stop("po-1").await?;
    let po = region.start("po-1").await?;
    assert!(po.directory.get("vo-1").is_some());
    po.send(&[document("vo-1", 1, b"while the swv is down")])
        .await?;
    wait_delivered(&po.store, 1, T).await?;
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_without_legal_basis_is_not_released() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start_all().await?;
    let sender = region.handle("po-1");
    let mut no_basis = document("vo-1", 1, b"no basis for this");
    no_basis.legal_basis = v1::LegalBasis::default();
    // Refused at the sender: nothing is queued, the refusal is audited.
    let err = sender
        .send(std::slice::from_ref(&no_basis))
        .await
        .expect_err("no basis, no send");
    assert!(
        err.to_string().contains("LEGAL_BASIS_KIND_UNSPECIFIED"),
        "{err}"
    );
    assert_eq!(sender.store.list_outbox(None, 10).await?.len(), 0);
    // One that got into the outbox anyway (queued past the registry, as an
    // older node would have) is still refused when it is fetched.
    let ids = vec![uuid::Uuid::new_v4().hyphenated().to_string()];
    carenet_fabric::with_db!(&sender.store.db, pool => {
        let mut tx = pool.begin().await?;
        let mut entries = Vec::new();
        carenet_fabric::outbox_enqueue!(tx, std::slice::from_ref(&no_basis), &ids, &mut entries);
        carenet_fabric::audit_append!(tx, &entries);
        tx.commit().await?;
    });
    sender.store.wake_outbox();
    let with_basis = sender.send(&[document("vo-1", 2, b"with a basis")]).await?;
    wait_delivered(&sender.store, 1, T).await?;
    let receiver = region.handle("vo-1").store;
    wait_until(T, || async {
        (receiver.inbox_count("refused").await.ok()? == 1).then_some(())
    })
    .await?;
    assert!(
        receiver.received(&ids[0]).await?.is_none(),
        "nothing of it was stored"
    );
    assert!(receiver.received(&with_basis[0]).await?.is_some());
    let dead = sender.store.list_outbox(Some("dead"), 10).await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id, ids[0]);
    let reason = dead[0].last_error.as_deref().unwrap_or("");
    assert!(
        reason.contains("release refused") && reason.contains("basis"),
        "{reason}"
    );
    let records = audit::list(&sender.store.db, 0, 100).await?;
    assert!(records.iter().any(|r| r.action == "send_refused"));
    assert!(
        records
            .iter()
            .any(|r| r.message_id == ids[0] && r.action == "release_refused")
    );
    assert!(
        !records
            .iter()
            .any(|r| r.message_id == ids[0] && r.action == "released")
    );
    region.shutdown().await
}

/// A peer that takes notifications and never fetches or acknowledges.
struct SilentPeer;

#[tonic::async_trait]
impl v1::exchange_server::Exchange for SilentPeer {
    async fn notify(
        &self,
        _: tonic::Request<v1::NotifyRequest>,
    ) -> Result<tonic::Response<v1::NotifyResponse>, tonic::Status> {
        Ok(tonic::Response::new(v1::NotifyResponse {
            already_received: 0,
            refused: Vec::new(),
        }))
    }
    async fn fetch(
        &self,
        _: tonic::Request<v1::FetchRequest>,
    ) -> Result<tonic::Response<v1::FetchResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("silent"))
    }
    async fn acknowledge(
        &self,
        _: tonic::Request<v1::AcknowledgeRequest>,
    ) -> Result<tonic::Response<v1::AcknowledgeResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented("silent"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipient_that_never_sends_a_receipt_ends_in_dead_letter() -> anyhow::Result<()> {
    let tuning = Tuning {
        give_up_after_ms: 300,
        ack_timeout_ms: 100,
        ..Tuning::default()
    };
    let mut region = TestRegion::create(three_parties(), tuning).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    // vo-1 answers over real mTLS with its own certificate, but never fetches.
    let tls = std::sync::Arc::new(region.client_tls("vo-1")?);
    let listener = tokio::net::TcpListener::bind(region.address("vo-1")).await?;
    let incoming = carenet_fabric::tls::incoming(listener, tls, Default::default());
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(v1::exchange_server::ExchangeServer::new(SilentPeer))
            .serve_with_incoming(incoming),
    );
    let sender = region.handle("po-1");
    sender
        .send(&[document("vo-1", 1, b"never fetched")])
        .await?;
    wait_until(T, || async {
        (sender.store.outbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    let dead = sender.store.list_outbox(Some("dead"), 10).await?;
    assert!(dead[0].attempts >= 2, "notified again before giving up");
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("no receipt")
    );
    server.abort();
    region.shutdown().await
}
