"""OpenTelemetry tracing (the `otel` extra): requests, database calls and outgoing HTTP, when configured.

Configured by OpenTelemetry's own environment variables, nothing of authgate's:
`OTEL_TRACES_EXPORTER` (`otlp`, `console`, or any exporter installed under the
`opentelemetry_traces_exporter` entry point; `none` turns tracing off), the exporter's
`OTEL_EXPORTER_OTLP_ENDPOINT`/`…_TRACES_ENDPOINT` (setting one implies `otlp`),
`OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`. A tracer provider someone else set up
(`opentelemetry-instrument`, an embedding application) is used as it is. With none of these,
or without the packages installed, `Tracing.configure` returns None and nothing is traced.

Instrumentation follows OpenTelemetry's model: the database engine's events are listened to
(this engine only), httpx is patched process-wide (what `HTTPXClientInstrumentor` does), the
request span comes from the ASGI middleware wrapped around the app.
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

if TYPE_CHECKING:
    from authgate.storage.database import Database

logger = logging.getLogger("authgate.tracing")

EXPORTER_GROUP = "opentelemetry_traces_exporter"


class Tracing:
    """The tracer provider in use, and whether this process made it (and so shuts it down)."""

    def __init__(self, provider: Any, *, owned: bool) -> None:
        self.provider = provider
        self.owned = owned

    @classmethod
    def configure(cls, provider: Any = None) -> Tracing | None:
        """`provider` if given; else one built from the environment; else a global SDK one; else None."""
        if provider is not None:
            return cls(provider, owned=False)
        try:
            from opentelemetry import trace
            from opentelemetry.sdk.trace import TracerProvider
        except ImportError:
            return None
        exporter_name = _exporter_name()
        if exporter_name is None:
            current = trace.get_tracer_provider()
            return cls(current, owned=False) if isinstance(current, TracerProvider) else None
        return cls(_provider_from_environment(exporter_name), owned=True)

    def instrument(self, app: ASGIApp, database: Database) -> ASGIApp:
        """Trace `database`'s statements and httpx's requests; the returned app opens a span per request."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # skip_dep_check: its declared range stops below SQLAlchemy 2.1, whose engine events it uses unchanged.
        SQLAlchemyInstrumentor().instrument(engine=database.engine, tracer_provider=self.provider, skip_dep_check=True)
        HTTPXClientInstrumentor().instrument(tracer_provider=self.provider)
        return OpenTelemetryMiddleware(app, tracer_provider=self.provider)

    def shutdown(self) -> None:
        """Flush and stop the exporter this process started (at the server's shutdown)."""
        if self.owned:
            self.provider.shutdown()


def _exporter_name() -> str | None:
    """The exporter the environment asks for (OpenTelemetry's SDK configuration rules), or None."""
    named = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named == "none":
        return None
    if not named:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not endpoint:
            return None
        named = "otlp"
    if named == "otlp":
        protocol = (
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
        )
        return "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
    return named


def _provider_from_environment(exporter_name: str) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create())  # reads OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    found = entry_points(group=EXPORTER_GROUP, name=exporter_name)
    if not found:
        logger.warning(
            "OTEL_TRACES_EXPORTER asks for %r, which is not installed: spans are not exported", exporter_name
        )
        return provider
    exporter_class = next(iter(found)).load()
    provider.add_span_processor(BatchSpanProcessor(exporter_class()))
    return provider
