//! What another party can make a node hold and record (issue 18, item 9):
//! a sender over its quota of pending inbox messages is answered
//! RESOURCE_EXHAUSTED and delivers everything once the quota frees; a peer's
//! repeated refused calls are one audit record with their count.

use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, wait_delivered, wait_until};
use carenet_fabric::PartyId;
use carenet_fabric::audit;
use carenet_proto::v1;
use tonic::Code;

use crate::three_parties;

const T: Duration = Duration::from_secs(60);

fn notify(ids: &[String], document_type: &str) -> v1::NotifyRequest {
    v1::NotifyRequest {
        items: ids
            .iter()
            .map(|id| v1::NotifyItem {
                message_id: id.clone(),
                document_type: document_type.into(),
                resends: 0,
            })
            .collect(),
    }
}

fn new_ids(n: usize) -> Vec<String> {
    (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_over_its_inbox_quota_waits_and_loses_nothing() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // vo-1 holds at most three pending messages per sender, and after a
    // failed fetch tries again only after 6-12 s (so the test, not its
    // backoff, decides when the quota frees).
    let mut config = region.config("vo-1");
    config.peers.inbox_quota_messages = 3;
    config.delivery.retry_base_ms = 6000;
    config.delivery.retry_max_ms = 12000;
    std::fs::write(region.config_path("vo-1"), toml::to_string_pretty(&config)?)?;
    region.start("swv").await?;
    let vo = region.start("vo-1").await?;

    // po-1's node is down; with its certificate, the test announces three
    // messages that node does not hold: vo-1 cannot fetch them yet.
    let mut as_po = region.exchange_client("po-1", "vo-1")?;
    let held = new_ids(3);
    as_po.notify(notify(&held, "test.note")).await?;
    // One more is over the quota: refused as a whole, nothing recorded.
    let err = as_po
        .notify(notify(&new_ids(1), "test.note"))
        .await
        .expect_err("over the quota");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(vo.store.inbox_count("notified").await?, 3);
    // Announcing again what it already holds adds nothing and is taken.
    let again = as_po
        .notify(notify(&held[..1], "test.note"))
        .await?
        .into_inner();
    assert_eq!(again.already_received, 1);

    // po-1 comes up with five real documents for vo-1: its notification is
    // answered RESOURCE_EXHAUSTED while vo-1 still holds the three.
    let po = region.start("po-1").await?;
    let docs: Vec<_> = (0..5)
        .map(|i| document("vo-1", i, format!("note {i}").as_bytes()))
        .collect();
    let ids = po.send(&docs).await?;
    let busy = wait_until(T, || async {
        let pending = po.store.list_outbox(Some("pending"), 100).await.ok()?;
        pending
            .into_iter()
            .find_map(|m| m.last_error.filter(|e| e.starts_with("ResourceExhausted")))
    })
    .await?;
    assert!(busy.contains("notify again later"), "{busy}");
    assert_eq!(po.store.outbox_count("delivered").await?, 0);

    // vo-1 fetches the three from po-1, which does not hold them (refused):
    // the quota frees and all five arrive, once each; nothing is
    // dead-lettered or refused on the way.
    wait_delivered(&po.store, 5, T).await?;
    for id in &ids {
        let doc = vo.store.received(id).await?;
        assert!(doc.is_some(), "{id} arrived");
    }
    assert_eq!(po.store.outbox_count("dead").await?, 0);
    wait_until(T, || async {
        (vo.store.inbox_count("refused").await.ok()? == 3).then_some(())
    })
    .await?;
    assert_eq!(vo.store.inbox_count("acked").await?, 5);
    assert_eq!(vo.store.inbox_count("dead").await?, 0);
    region.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_refusals_from_one_peer_are_one_audit_record_with_the_count() -> anyhow::Result<()>
{
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // Refusals are counted for three seconds from the first.
    let mut config = region.config("po-1");
    config.peers.refusal_audit_interval_secs = 3;
    std::fs::write(region.config_path("po-1"), toml::to_string_pretty(&config)?)?;
    region.start_all().await?;
    let po = region.handle("po-1");

    // The SWV may not ask a school for a dossier: five calls, five refusals
    // at po-1's gate.
    let tls = region.client_tls("swv")?;
    let channel = carenet_fabric::tls::channel(
        &tls,
        &PartyId::parse("to", "po-1")?,
        &region.address("po-1"),
        None,
        Duration::from_secs(5),
    )?;
    let mut handover = v1::handover_client::HandoverClient::new(channel);
    for _ in 0..5 {
        let err = handover
            .request_dossier(v1::DossierRequest {
                pupil_number: "1234567".into(),
                birth_date: "2014-03-01".into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    }
    // And four notifications of a type po-1 does not register, in two calls.
    let mut as_swv = region.exchange_client("swv", "po-1")?;
    for n in [3, 1] {
        let answer = as_swv
            .notify(notify(&new_ids(n), "carenet.no_such_type"))
            .await?
            .into_inner();
        assert_eq!(answer.refused.len(), n);
    }

    // Once the interval has passed: one record of each kind, with the count.
    let from_swv = || async {
        let records = audit::list(&po.store.db, 0, 100_000).await.ok()?;
        let refused: Vec<v1::AuditRecord> = records
            .into_iter()
            .filter(|r| r.counterparty == "swv" && r.action.ends_with("_refused"))
            .collect();
        (refused.len() >= 2).then_some(refused)
    };
    let refused = wait_until(T, from_swv).await?;
    assert_eq!(refused.len(), 2, "{refused:?}");
    let rpc = refused
        .iter()
        .find(|r| r.action == "rpc_refused")
        .expect("the refused calls");
    assert_eq!(rpc.message_id, "/carenet.v1.Handover/RequestDossier");
    assert_eq!(rpc.occurrences, 5);
    assert_eq!(rpc.actor, "po-1");
    let notified = refused
        .iter()
        .find(|r| r.action == "notify_refused")
        .expect("the refused notifications");
    assert_eq!(notified.message_id, "(unregistered type)");
    assert_eq!(notified.occurrences, 4);
    for r in &refused {
        assert!(r.first_at_ms > 0 && r.first_at_ms <= r.last_at_ms, "{r:?}");
        assert!(r.last_at_ms <= r.at_ms, "{r:?}");
    }
    assert!(
        po.store.open_refusals().await?.is_empty(),
        "nothing is left counting"
    );
    // The records are in the hash chain: `carenet audit verify` passes.
    region.stop("po-1").await?;
    let out = std::process::Command::new(carenet_bin())
        .args(["audit", "verify", "--offline", "--data-dir"])
        .arg(region.dir.path())
        .args(["--party", "po-1"])
        .output()?;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.starts_with("ok: "), "{said}");
    region.shutdown().await
}
