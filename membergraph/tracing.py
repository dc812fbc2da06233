"""OpenTelemetry traces, when an OTLP endpoint is configured (``MEMBERGRAPH_OTLP_ENDPOINT``).

Each HTTP request is a server span (``POST /graphql``, continuing a caller's ``traceparent``),
with the request id; inside it Strawberry's extension adds the GraphQL operation, its parsing,
validation and one span per resolver, and the backends a client span per round trip
(:func:`trace_backends`): ``store.<operation>`` for the identity store, ``sources.<read>``
for the source table or collections, ``GET`` for an HTTP source, which receives the trace
context (W3C ``traceparent``) and so joins its own spans to ours.
Spans go to the collector in batches (OTLP over HTTP).
The libraries are an extra (``pip install "membergraph[otel]"``): without a configured
endpoint nothing is imported and nothing is traced.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["graphql_extension", "server_span", "trace_backends", "tracer_provider"]

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


def trace_backends(gateway: Any, tracer: Any) -> None:
    """Gives ``tracer`` to what makes the gateway's round trips: the identity store, the
    SQLite source table, each MongoDB or HTTP source. Each checks its ``tracer`` before a
    trip; left None (traces off), nothing of tracing runs."""
    targets = [gateway.identity.store]
    for connector in [*gateway.sources.values(), *gateway.synced.values()]:
        targets.append(connector)
        lines = getattr(connector, "lines", None)  # a SqliteSource's shared source table
        if lines is not None:
            targets.append(lines)
    for target in targets:
        if hasattr(target, "tracer"):
            target.tracer = tracer
