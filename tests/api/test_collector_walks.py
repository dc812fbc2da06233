"""What the cyclic collector does while the app serves (issue 22): it walks neither what the
start built nor, at every request, the objects of the requests in flight.

A collection pauses every request in flight for as long as it walks the tracked objects. The
start's (modules, the schema, plans, connectors) live until shutdown and are frozen
out of the walks while the app serves; young collections come when objects accumulate, not
each time a request holds a few hundred at once. Both are as they were after shutdown."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import contact_emails, gql

PROFILE = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id profile { firstName emails { value } } loyalty { pointsBalance tier }
  transactions(first: 5) { edges { node { amountCents status } } } } }"""


# A full collection here also frees what earlier tests left in cycles: a PyMongo test leaves
# a socket in one (released by its monitor thread some time after the test), whose
# ResourceWarning is not these tests' concern.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def _walked(thing: object) -> bool:
    """Whether a collection would walk ``thing`` (it sits in one of its generations)."""
    return any(o is thing for o in gc.get_objects())


@contextmanager
def _collections() -> Iterator[Counter[int]]:
    """The collections made meanwhile, by generation."""
    made: Counter[int] = Counter()

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            made[info["generation"]] += 1

    gc.callbacks.append(count)
    try:
        yield made
    finally:
        gc.callbacks.remove(count)


def test_a_serving_app_keeps_its_start_out_of_the_collectors_walks(settings: Settings) -> None:
    app = create_app(settings, serving=True)
    before = gc.get_threshold()
    with TestClient(app, base_url="http://127.0.0.1") as client:
        gateway = app.state.gateway
        assert gql(client, "{ __typename }")["data"] == {"__typename": "Query"}
        gc.collect()
        assert not _walked(gateway), "a full collection walks the start's objects again"
        assert gc.get_freeze_count() > len(gc.get_objects())
    # Shut down: nothing stays frozen, the collector sees (and can free) all of it again.
    assert gc.get_freeze_count() == 0
    assert _walked(gateway)
    assert gc.get_threshold() == before


def test_a_stream_of_profile_misses_makes_next_to_no_collection(
    settings: Settings, data_dir: Path
) -> None:
    # Given a served gateway, and 40 members' profiles none of which it answered yet
    emails = contact_emails(data_dir, 40)
    with TestClient(create_app(settings, serving=True), base_url="http://127.0.0.1") as client:
        gql(client, PROFILE, e=emails[0])  # the first answer builds what later ones reuse
        gc.collect()
        # When each is asked (a miss: lines read and parsed, the profile worked out)
        with _collections() as made:
            for email in emails[1:]:
                assert gql(client, PROFILE, e=email)["data"]["memberByIdentifier"] is not None
    # Then the collector ran at most once in all (at the interpreter's default, a young
    # collection every 700 net allocations, it ran every few requests: 11 times here)
    assert sum(made.values()) <= 1, made
