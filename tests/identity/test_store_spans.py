"""Traces: every adapter makes one client span per round trip, named after the port's
operation (the same name on SQLite and MongoDB), under the request's span."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store import IdentityStore
from tests.identity.test_store_contract import _first_change
from tests.support.spans import recording_provider
from tests.support.stores import ADAPTERS, open_store


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as adapter:
        yield adapter


async def test_each_store_operation_is_a_span_named_after_it(store: IdentityStore) -> None:
    # Given a traced store holding a member
    provider, exporter = recording_provider()
    tracer = provider.get_tracer("test")
    await store.apply(_first_change())
    store.tracer = tracer  # type: ignore[attr-defined]
    system = "sqlite" if type(store).__name__ == "SqliteStore" else "mongodb"
    # When a request looks the member up, then reads its parts
    with tracer.start_as_current_span("POST /graphql") as request_span:
        found = await store.find_member_parts(IdentifierKind.EMAIL, "ann@x.org")
        await store.member_parts(["m_ann"])
    assert found is not None and found[0] == "m_ann"
    # Then each round trip is a client span under the request's, named after the operation
    # that made it (MongoDB's lookup reads through its find_members: that one names it)
    spans = [s for s in exporter.get_finished_spans() if s.name != "POST /graphql"]
    names = {s.name for s in spans}
    assert names in (
        {"store.find_member_parts", "store.member_parts"},
        {"store.find_members", "store.member_parts"},
    )
    assert all(s.attributes is not None and s.attributes["db.system.name"] == system for s in spans)
    assert all(
        s.parent is not None and s.parent.span_id == request_span.get_span_context().span_id
        for s in spans
    )
