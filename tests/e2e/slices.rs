//! The slice contract over real nodes: a document type travels only between
//! the party kinds its registration allows (checked at the sender and at the
//! receiver, refusals audited), and an RPC answers only the kinds its slice
//! allows (checked by the gate in front of every service, refusals audited).

use std::sync::Arc;
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, document, wait_until};
use carenet_fabric::PartyKind::{PoSchool, Swv, VoSchool};
use carenet_fabric::audit;
use carenet_fabric::slice::{DocumentType, RetentionClock, RpcRule, ServiceContext, Slice};
use carenet_fabric::store::Store;
use carenet_fabric::tls;
use carenet_fabric::{PartyId, PartyKind};
use carenet_proto::v1;
use tonic::Code;

use crate::three_parties;

/// A slice that registers `test.restricted` with the given flows.
struct Restricted(&'static [DocumentType]);

static SWV_TO_VO: &[DocumentType] = &[restricted(&[(Swv, VoSchool)]), CATEGORISED];
static VO_TO_VO: &[DocumentType] = &[restricted(&[(VoSchool, VoSchool)]), CATEGORISED];

/// A type that may carry only educational-support data, PO → VO.
const CATEGORISED: DocumentType = DocumentType {
    name: "test.categorised",
    purposes: &["share_with_partner"],
    legal_bases: &[v1::LegalBasisKind::StatutoryTask],
    statutory_tasks: &["test"],
    flows: &[(PoSchool, VoSchool)],
    retention_days: 30,
    retention_clock: RetentionClock::Delivery,
    categories: &["educational_support"],
};

const fn restricted(flows: &'static [(PartyKind, PartyKind)]) -> DocumentType {
    DocumentType {
        name: "test.restricted",
        purposes: &["share_with_partner"],
        legal_bases: &[v1::LegalBasisKind::StatutoryTask],
        statutory_tasks: &["test"],
        flows,
        retention_days: 30,
        retention_clock: RetentionClock::Delivery,
        categories: &[],
    }
}

impl Slice for Restricted {
    fn name(&self) -> &'static str {
        "restricted"
    }
    fn document_types(&self) -> &'static [DocumentType] {
        self.0
    }
}

async fn actions(store: &Store) -> anyhow::Result<Vec<(String, String, String)>> {
    Ok(audit::list(&store.db, 0, 10_000)
        .await?
        .into_iter()
        .map(|r| (r.action, r.counterparty, r.actor))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_goes_only_where_its_registration_allows() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    // The SWV registers test.restricted as SWV → VO; the VO school only as
    // VO → VO; the primary school as SWV → VO.
    region
        .start_with("swv", vec![Arc::new(Restricted(SWV_TO_VO))])
        .await?;
    region
        .start_with("vo-1", vec![Arc::new(Restricted(VO_TO_VO))])
        .await?;
    region
        .start_with("po-1", vec![Arc::new(Restricted(SWV_TO_VO))])
        .await?;
    let swv = region.handle("swv");
    let po = region.handle("po-1");
    let vo = region.handle("vo-1");

    // At the sender: a primary school may not send it (its registry says SWV → VO).
    let mut from_po = document("vo-1", 1, b"restricted");
    from_po.document_type = "test.restricted".into();
    let err = po
        .send(&[from_po])
        .await
        .expect_err("refused at the sender");
    let text = err.to_string();
    assert!(
        text.contains("messages[0].document_type")
            && text.contains("a po_school may not send test.restricted to a vo_school"),
        "{text}"
    );
    assert_eq!(po.store.outbox_count("pending").await?, 0, "nothing queued");
    assert!(
        actions(&po.store)
            .await?
            .iter()
            .any(|(a, to, by)| a == "send_refused" && to == "vo-1" && by == "staff-test"),
        "the refusal is audited at the sender"
    );

    // An unregistered type is refused the same way.
    let mut unknown = document("vo-1", 2, b"unknown");
    unknown.document_type = "carenet.no_such_type".into();
    let err = po.send(&[unknown]).await.expect_err("unknown type");
    assert!(err.to_string().contains("not registered"), "{err}");

    // A statutory task is one a slice registers for the type, not any
    // non-empty text (issue 9.1).
    for task in ["WPO art. 1", "x"] {
        let mut made_up = document("vo-1", 2, b"made-up task");
        made_up.legal_basis.reference = task.into();
        let err = po.send(&[made_up]).await.expect_err("unregistered task");
        assert!(
            err.to_string()
                .contains("does not travel on the statutory task"),
            "{err}"
        );
    }

    // At the receiver: the SWV's registry allows SWV → VO, the VO school's
    // does not; the VO school refuses the notification, audits it, and the
    // SWV ends the message with the reason instead of retrying.
    let mut from_swv = document("vo-1", 3, b"restricted");
    from_swv.document_type = "test.restricted".into();
    let ids = swv.send(&[from_swv]).await?;
    wait_until(Duration::from_secs(20), || async {
        (swv.store.outbox_count("dead").await.ok()? == 1).then_some(())
    })
    .await?;
    let dead = swv.store.list_outbox(Some("dead"), 10).await?;
    assert_eq!(dead[0].message_id, ids[0]);
    let reason = dead[0].last_error.clone().unwrap_or_default();
    assert!(
        reason.contains("a swv may not send test.restricted to a vo_school"),
        "{reason}"
    );
    // Counted, and written to the audit log when its interval ends (a
    // second in tests).
    wait_until(Duration::from_secs(20), || async {
        actions(&vo.store)
            .await
            .ok()?
            .iter()
            .any(|(a, from, _)| a == "notify_refused" && from == "swv")
            .then_some(())
    })
    .await
    .expect("the refusal is audited at the receiver");
    assert!(
        actions(&swv.store)
            .await?
            .iter()
            .any(|(a, to, _)| a == "send_refused" && to == "vo-1"),
        "and at the sender"
    );
    assert!(
        vo.store.received(&ids[0]).await?.is_none(),
        "nothing stored"
    );

    // A registered flow still travels: test.note from the primary school.
    po.send(&[document("vo-1", 4, b"allowed")]).await?;
    carenet_e2e::wait_delivered(&po.store, 1, Duration::from_secs(20)).await?;

    // At release: a payload holding a category its type does not register
    // does not leave (the fetch is answered with the refusal, audited).
    let section = |category: &str| v1::Section {
        category: category.into(),
        name: "part".into(),
        content: b"x".to_vec(),
    };
    let payload = |sections| prost::Message::encode_to_vec(&v1::CategorizedDocument { sections });
    let mut fits = document("vo-1", 5, &payload(vec![section("educational_support")]));
    fits.document_type = "test.categorised".into();
    let mut too_much = document(
        "vo-1",
        6,
        &payload(vec![section("educational_support"), section("diagnosis")]),
    );
    too_much.document_type = "test.categorised".into();
    let ids = po.send(&[fits, too_much]).await?;
    carenet_e2e::wait_delivered(&po.store, 2, Duration::from_secs(20)).await?;
    wait_until(Duration::from_secs(20), || async {
        (vo.store.inbox_count("refused").await.ok()? == 1).then_some(())
    })
    .await?;
    assert!(vo.store.received(&ids[0]).await?.is_some());
    assert!(vo.store.received(&ids[1]).await?.is_none());
    let dead = po.store.list_outbox(Some("dead"), 10).await?;
    let reason = dead
        .iter()
        .find(|d| d.message_id == ids[1])
        .and_then(|d| d.last_error.clone())
        .unwrap_or_default();
    assert!(
        reason.contains("does not carry data of category diagnosis"),
        "{reason}"
    );
    assert!(
        actions(&po.store)
            .await?
            .iter()
            .any(|(a, to, _)| a == "release_refused" && to == "vo-1")
    );
    region.shutdown().await
}

/// A slice serving the echo service to secondary schools only.
struct EchoForVo;

static ECHO_RULES: &[RpcRule] = &[RpcRule {
    path: "/carenet.v1.Bench/Echo",
    kinds: &[VoSchool],
}];

impl Slice for EchoForVo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn rpcs(&self) -> &'static [RpcRule] {
        ECHO_RULES
    }
    fn services(
        &self,
        _ctx: &ServiceContext,
        routes: tonic::service::Routes,
    ) -> tonic::service::Routes {
        routes.add_service(v1::bench_server::BenchServer::new(
            carenet_fabric::exchange::BenchService,
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_answers_only_the_kinds_its_slice_allows() -> anyhow::Result<()> {
    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start_with("po-1", vec![Arc::new(EchoForVo)]).await?;
    region.start("vo-1").await?;
    let echo =
        |from: &str| -> anyhow::Result<v1::bench_client::BenchClient<tonic::transport::Channel>> {
            let tls = region.client_tls(from)?;
            let ch = tls::channel(
                &tls,
                &PartyId::parse("to", "po-1")?,
                &region.address("po-1"),
                None,
                Duration::from_secs(5),
            )?;
            Ok(v1::bench_client::BenchClient::new(ch))
        };
    let msg = || v1::EchoMessage {
        payload: b"hi".to_vec(),
    };
    // A secondary school may call it.
    assert_eq!(echo("vo-1")?.echo(msg()).await?.into_inner().payload, b"hi");
    // The SWV may not: refused before the service, and audited.
    let err = echo("swv")?.echo(msg()).await.expect_err("refused");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message()
            .contains("a swv may not call /carenet.v1.Bench/Echo"),
        "{}",
        err.message()
    );
    let po = region.handle("po-1");
    wait_until(Duration::from_secs(20), || async {
        actions(&po.store)
            .await
            .ok()?
            .iter()
            .any(|(a, from, _)| a == "rpc_refused" && from == "swv")
            .then_some(())
    })
    .await
    .expect("the refused call is audited");
    // A node that does not compose the slice does not serve the RPC at all.
    let tls = region.client_tls("vo-1")?;
    let ch = tls::channel(
        &tls,
        &PartyId::parse("to", "swv")?,
        &region.address("swv"),
        None,
        Duration::from_secs(5),
    )?;
    let err = v1::bench_client::BenchClient::new(ch)
        .echo(msg())
        .await
        .expect_err("not served");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("is not served here"),
        "{}",
        err.message()
    );
    // The fabric's own RPCs still answer every kind.
    let mut ex = region.exchange_client("swv", "po-1")?;
    let err = ex
        .notify(v1::NotifyRequest { items: vec![] })
        .await
        .expect_err("empty");
    assert_eq!(err.code(), Code::InvalidArgument, "reached the service");
    region.shutdown().await
}
