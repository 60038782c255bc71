//! W3C trace context across gRPC calls between nodes.
//!
//! The client side puts the current span's context into the request metadata
//! (`traceparent`, `tracestate`); the server side makes it the parent of the
//! RPC span. Only trace and span ids travel: never personal data. With no
//! propagator installed (no OTLP endpoint configured) both are no-ops.

use opentelemetry::propagation::{Extractor, Injector};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A tonic interceptor that sends the current span's trace context along.
pub fn inject(mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataInjector(request.metadata_mut()))
    });
    Ok(request)
}

/// The span of an incoming RPC, child of the caller's trace if it sent one.
pub fn server_span<B>(request: &http::Request<B>) -> tracing::Span {
    let span = tracing::info_span!("rpc", path = %request.uri().path());
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&HeaderExtractor(request.headers()))
    });
    let _ = span.set_parent(parent);
    span
}
