//! With an OTLP endpoint configured, a node exports its spans per RPC and per
//! exchange step over OTLP/gRPC, and none of them carries the document's content.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, status_document, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio_stream::wrappers::TcpListenerStream;

use carenet_consent::record::{ConsentRequest, ConsentStore, Decision};
use carenet_consent::{Category, Purpose};
use carenet_proto::v1::{
    self, EvidenceKind, GrantorRole, LegalBasisKind, consent_recipient::Target,
};
use prost::Message;

use crate::three_parties;

/// A real OTLP/gRPC trace receiver that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_spans_and_logs_carry_no_personal_data() -> anyhow::Result<()> {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let mut region = TestRegion::create(three_parties(), Tuning::default()).await?;
    region.start("swv").await?;
    region.start("po-1").await?;
    let secret = "Jantje de Vries, BSN 123456782, geboren 2014-03-01";
    // The sender runs as a real `carenet node` process: a secondary school
    // sending a primary school a status and feedback (types it registers).
    let sender = region.open_store("vo-1").await?;
    // A consent with the guardian's name in it, and a document under it whose
    // content names the child.
    let consents = ConsentStore::new(sender.clone());
    let by = carenet_fabric::Actor::new(
        sender.party.clone(),
        "staff-1",
        [carenet_fabric::Role::CareCoordinator],
    )
    .unwrap();
    let today = carenet_fabric::clock::today();
    let consent = consents
        .request(
            &by,
            &ConsentRequest {
                child_ref: "pupil-9".into(),
                child_birth_date: time::macros::date!(2014 - 03 - 01),
                purpose: Purpose::FeedbackToSender,
                recipients: vec![v1::ConsentRecipient {
                    target: Some(Target::PartyId("po-1".into())),
                }],
                categories: vec![Category::EducationalSupport],
                valid_from: today,
                valid_until: None,
            },
        )
        .await?
        .version
        .record_id;
    consents
        .grant(
            &by,
            &consent,
            &Decision {
                grantors: vec![v1::Grantor {
                    role: GrantorRole::Guardian as i32,
                    name: "Marieke de Vries".into(),
                }],
                evidence: v1::Evidence {
                    kind: EvidenceKind::RecordedConversation as i32,
                    recorded_by: "portal".into(),
                    document_sha256: vec![],
                },
                today,
            },
        )
        .await?;
    let mut under_consent = status_document(
        "po-1",
        2,
        &v1::CategorizedDocument {
            sections: vec![v1::Section {
                category: "educational_support".into(),
                name: "needs".into(),
                content: secret.as_bytes().to_vec(),
            }],
        }
        .encode_to_vec(),
    );
    under_consent.child_ref = Some("pupil-9".into());
    under_consent.document_type = carenet_handover::incoming::FEEDBACK_TYPE.into();
    under_consent.purpose = Purpose::FeedbackToSender.as_str().into();
    under_consent.legal_basis = v1::LegalBasis {
        kind: LegalBasisKind::Consent as i32,
        reference: consent,
        consent_receipt: vec![],
    };
    sender
        .enqueue(&[status_document("po-1", 1, secret.as_bytes()), under_consent])
        .await?;

    let child = Command::new(carenet_bin())
        .args(["node", "--config"])
        .arg(region.config_path("vo-1"))
        .env("CARENET_OTLP_ENDPOINT", &endpoint)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    wait_until(Duration::from_secs(30), || async {
        (sender.outbox_count("delivered").await.ok()? == 2).then_some(())
    })
    .await?;
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()?
            .success()
    );
    let output = child.wait_with_output()?;
    assert!(output.status.success(), "node exit: {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stderr);

    let requests = collector.0.lock().unwrap().clone();
    let spans: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "exchange.send_notify",
        "rpc",
        "exchange.fetch",
        "exchange.acknowledge",
    ] {
        assert!(names.contains(&expected), "no {expected} span in {names:?}");
    }
    let exported = format!("{requests:?}");
    for needle in ["Jantje", "Marieke", "de Vries", "123456782", "2014-03-01"] {
        assert!(!exported.contains(needle), "{needle} in exported spans");
        assert!(!logs.contains(needle), "{needle} in logs");
    }
    server.abort();
    sender.db.close().await;
    region.shutdown().await
}
