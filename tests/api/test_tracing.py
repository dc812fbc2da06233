"""Traces: a request is a server span continuing the caller's trace, with the GraphQL
operation and its resolvers inside it (an in-memory exporter stands in for the collector)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.spans import recording_provider

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_a_request_is_one_trace_from_http_to_resolvers(settings: Settings) -> None:
    provider, exporter = recording_provider()
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


def _spans_under(spans: list[Any], root: Any) -> list[Any]:
    """The spans whose chain of parents reaches ``root``."""
    by_id = {s.context.span_id: s for s in spans}
    found = []
    for span in spans:
        parent = span.parent
        while parent is not None and parent.span_id != root.context.span_id:
            above = by_id.get(parent.span_id)
            parent = above.parent if above is not None else None
        if parent is not None:
            found.append(span)
    return found


def test_a_profile_traces_each_store_round_trip_it_made(settings: Settings) -> None:
    from membergraph.connectors.models import SourceName
    from tests.conftest import PROFILE, contact_emails

    provider, exporter = recording_provider()
    (email,) = contact_emails(settings.data, 1)  # type: ignore[arg-type]
    with TestClient(
        create_app(settings, tracer_provider=provider), base_url="http://127.0.0.1"
    ) as client:
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        store, shared = gateway.identity.store, gateway.sources[SourceName.CRM].lines.shared
        here_reads, source_trips = store.here.reads, shared.trips
        exporter.clear()
        response = client.post("/graphql", json={"query": PROFILE, "variables": {"value": email}})
        assert response.status_code == 200 and response.json()["data"]["memberByIdentifier"]
        # (the gateway's background work makes its own trips meanwhile: not this request's)
        made = (store.here.reads - here_reads) + (shared.trips - source_trips)
    spans = list(exporter.get_finished_spans())
    (server,) = [s for s in spans if s.name == "POST /graphql"]
    backend = [s for s in _spans_under(spans, server) if s.name.startswith(("store.", "sources."))]
    # The PII access log's write (store.record_access) may end after the answer: its span
    # then comes later; the reads that answered are all there, one span per round trip.
    reads = [s for s in backend if s.name != "store.record_access"]
    assert made >= 1
    assert len(reads) == made
    assert "store.find_member_carried" in {s.name for s in backend}
    assert all(s.attributes["db.system.name"] == "sqlite" for s in backend)


def test_traces_off_gives_no_backend_a_tracer(client: TestClient) -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    assert gateway.identity.store.tracer is None
    assert all(getattr(c, "tracer", None) is None for c in gateway.sources.values())
    assert all(getattr(c.lines, "tracer", None) is None for c in gateway.sources.values())
