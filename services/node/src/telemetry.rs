//! Logs and traces of a carenet process.
//!
//! Logs go to stderr, filtered by `RUST_LOG` (default `info`). When an OTLP
//! endpoint is configured, spans are also exported over OTLP/gRPC and the W3C
//! trace context is propagated across node-to-node calls. Spans and events
//! carry ids only, never personal data.
//!
//! OpenTelemetry's batch processor exports from its own OS thread, while the
//! tonic exporter needs a Tokio reactor; the exporter therefore runs on a small
//! runtime of its own ([`OnRuntime`]).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{Error, Result};

/// Flushes and stops trace export when dropped.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace export did not shut down cleanly: {e}");
        }
    }
}

#[derive(Debug)]
struct OnRuntime {
    inner: opentelemetry_otlp::SpanExporter,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SpanExporter for OnRuntime {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match &self.runtime {
            Some(rt) => rt.block_on(self.inner.export(batch)),
            None => Ok(()),
        }
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl Drop for OnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Installs the global subscriber; call once, outside any Tokio runtime.
/// `service` names the process in traces (a party id, never a person).
pub fn init(otlp_endpoint: Option<&str>, service: &str) -> Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let Some(endpoint) = otlp_endpoint else {
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .try_init()
            .ok();
        return Ok(Telemetry { provider: None });
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("otlp_endpoint: cannot start exporter: {e}")))?;
    let inner = {
        let _ctx = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| Error::Config(format!("otlp_endpoint: {e}")))?
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(OnRuntime {
            inner,
            runtime: Some(runtime),
        })
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let tracer = provider.tracer("carenet");
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .try_init()
        .ok();
    Ok(Telemetry {
        provider: Some(provider),
    })
}
