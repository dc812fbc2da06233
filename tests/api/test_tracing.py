"""Traces: a request is a server span continuing the caller's trace, with the GraphQL
operation and its resolvers inside it (an in-memory exporter stands in for the collector)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_a_request_is_one_trace_from_http_to_resolvers(settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(
        create_app(settings, tracer_provider=provider), base_url="http://127.0.0.1"
    ) as client:
        response = client.post(
            "/graphql",
            json={"query": "query Page { members(first: 2) { edges { node { id } } } }"},
            headers={
                "traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01",
                "x-request-id": "trace-me-1",
            },
        )
        assert response.status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    server, operation = spans["POST /graphql"], spans["GraphQL Query: Page"]
    assert format(server.context.trace_id, "032x") == CALLER_TRACE  # the caller's trace goes on
    assert server.attributes["membergraph.request_id"] == "trace-me-1"
    assert server.attributes["http.response.status_code"] == 200
    assert operation.parent is not None and operation.parent.span_id == server.context.span_id
    assert any(name.startswith("GraphQL Resolving: members") for name in spans)


def test_an_endpoint_without_the_extra_or_none_traces_nothing(client: TestClient) -> None:
    assert client.app.state.telemetry.tracer is None  # type: ignore[attr-defined]


def test_a_bad_collector_url_stops_start_up() -> None:
    from membergraph.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="OTLP collector"):
        load_settings(otlp_endpoint="collector:4318")
