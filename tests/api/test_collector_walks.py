"""What the cyclic collector walks while the app serves: not what the start built (issue 22).

A full collection pauses every request in flight for as long as it walks the tracked objects;
the start's (~100,000: modules, the schema, plans, connectors) live until shutdown and are
frozen out of the walks while the app serves, and handed back at shutdown."""

from __future__ import annotations

import gc

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql


def _walked(thing: object) -> bool:
    """Whether a collection would walk ``thing`` (it sits in one of its generations)."""
    return any(o is thing for o in gc.get_objects())


def test_a_serving_app_keeps_its_start_out_of_the_collectors_walks(settings: Settings) -> None:
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        gateway = app.state.gateway
        assert gql(client, "{ __typename }")["data"] == {"__typename": "Query"}
        gc.collect()
        assert not _walked(gateway), "a full collection walks the start's objects again"
        assert gc.get_freeze_count() > len(gc.get_objects())
    # Shut down: nothing stays frozen, the collector sees (and can free) all of it again.
    assert gc.get_freeze_count() == 0
    assert _walked(gateway)
