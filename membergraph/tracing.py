"""OpenTelemetry traces, when an OTLP endpoint is configured (``MEMBERGRAPH_OTLP_ENDPOINT``).

Each HTTP request is a server span (``POST /graphql``, continuing a caller's ``traceparent``),
with the request id; inside it Strawberry's extension adds the GraphQL operation, its parsing,
validation and one span per resolver. Spans go to the collector in batches (OTLP over HTTP).
The libraries are an extra (``pip install "membergraph[otel]"``): without a configured
endpoint nothing is imported and nothing is traced.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["graphql_extension", "server_span", "tracer_provider"]

logger = logging.getLogger(__name__)


def tracer_provider(endpoint: str | None) -> Any:
    """A tracer provider exporting to ``endpoint`` (None when unset).

    Raises:
        RuntimeError: an endpoint is set but the ``otel`` extra is not installed.
    """
    if not endpoint:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise RuntimeError(
            "MEMBERGRAPH_OTLP_ENDPOINT is set but OpenTelemetry is not installed: "
            'pip install "membergraph[otel]"'
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": "membergraph"}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def graphql_extension(provider: Any) -> Callable[[], Any]:
    """Strawberry's OpenTelemetry extension on ``provider``, as a schema extension factory."""
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return lambda: OpenTelemetryExtension(tracer_provider=provider)


@contextlib.contextmanager
def server_span(tracer: Any, scope: Any, name: str, request_id: str) -> Iterator[Any]:
    """The HTTP request's server span, continuing the caller's W3C ``traceparent``; without a
    tracer (traces off) nothing is imported and the span is None."""
    if tracer is None:
        yield None
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    attributes = {
        "http.request.method": scope["method"],
        "url.path": scope["path"],
        "membergraph.request_id": request_id,
    }
    with tracer.start_as_current_span(
        name, context=extract(headers), kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span
