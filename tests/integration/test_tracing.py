"""Tracing with OpenTelemetry's in-memory exporter: a request's span, its database spans, an httpx span."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from authgate import bootstrap, tracing
from authgate.services import Services
from authgate.web.app import create_app
from testkit import LiveServer, free_port


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    # The instrumentors are process-wide (one server per process in production): undo them for the next test.
    SQLAlchemyInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()


def test_requests_database_calls_and_outgoing_http_are_traced(make_settings, database_url, exporter):
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    port = free_port()
    services = Services(make_settings(database_url=database_url, issuer=f"http://127.0.0.1:{port}"))
    bootstrap.prepare(services)
    server = LiveServer(create_app(services=services, tracer_provider=provider), port).start()
    try:
        exporter.clear()
        assert httpx.get(server.url + "/readyz").status_code == 200  # an outgoing request, and one answered
    finally:
        server.stop()
        services.database.dispose()
    spans = exporter.get_finished_spans()
    server_spans = [span for span in spans if span.kind.name == "SERVER"]
    client_spans = [span for span in spans if span.kind.name == "CLIENT" and span.attributes.get("db.system") is None
                    and span.instrumentation_scope.name.endswith("httpx")]
    database_spans = [span for span in spans if span.instrumentation_scope.name.endswith("sqlalchemy")]
    assert server_spans and server_spans[0].name.startswith("GET")
    assert client_spans, [span.name for span in spans]
    assert database_spans, [span.name for span in spans]
    request = server_spans[0].context.trace_id
    assert client_spans[0].context.trace_id == request, "the server span continues the caller's trace"
    assert any(span.context.trace_id == request for span in database_spans), (
        "the readiness query is in the request's trace"
    )


def test_nothing_is_traced_unless_configured(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.Tracing.configure() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert tracing.Tracing.configure() is None


def test_the_environment_chooses_the_exporter(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "authgate-test")
    configured = tracing.Tracing.configure()
    assert configured is not None and configured.owned
    assert configured.provider.resource.attributes["service.name"] == "authgate-test"
    configured.shutdown()
