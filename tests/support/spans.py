"""A tracer provider whose finished spans a test can read."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

__all__ = ["recording_provider"]


def recording_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider, and the exporter holding each span as it ends
    (``exporter.get_finished_spans()``)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter
