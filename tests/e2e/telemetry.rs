//! With an OTLP endpoint configured, a node exports its spans per RPC and per
//! exchange step over OTLP/gRPC, and none of them carries the document's content.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carenet_e2e::{TestRegion, Tuning, carenet_bin, document, wait_until};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio_stream::wrappers::TcpListenerStream;

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
async fn otlp_export_carries_rpc_and_exchange_spans_without_content() -> anyhow::Result<()> {
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
    region.start("vo-1").await?;
    let secret = "Jantje de Vries, BSN 123456782, geboren 2014-03-01";
    let sender = region.open_store("po-1").await?;
    sender
        .enqueue(&[document("vo-1", 1, secret.as_bytes())])
        .await?;

    let child = Command::new(carenet_bin())
        .args(["node", "--config"])
        .arg(region.config_path("po-1"))
        .env("CARENET_OTLP_ENDPOINT", &endpoint)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    wait_until(Duration::from_secs(30), || async {
        (sender.outbox_count("delivered").await.ok()? == 1).then_some(())
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
    for needle in ["Jantje", "123456782", "2014-03-01"] {
        assert!(!exported.contains(needle), "{needle} in exported spans");
        assert!(!logs.contains(needle), "{needle} in logs");
    }
    server.abort();
    sender.db.close().await;
    region.shutdown().await
}
