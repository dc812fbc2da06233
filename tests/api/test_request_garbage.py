"""What a request leaves behind: its objects go when it is answered, by reference counting,
not at the cyclic collector's next pass (which walks every object a request reached: its
context, DataLoaders, futures and every source line read)."""

from __future__ import annotations

import gc
from collections import Counter

from starlette.testclient import TestClient

from tests.conftest import gql

MEMBERS = """{ members(first: 5) { edges { node { id profile { firstName emails { value } }
  loyalty { pointsBalance } transactions(first: 3) { edges { node { amountCents } } } } } } }"""
OURS = ("membergraph.", "strawberry.", "graphql.")


def test_an_answered_query_leaves_nothing_for_the_cyclic_collector(client: TestClient) -> None:
    gql(client, MEMBERS)  # the first answer builds what every later one reuses
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage
    try:
        for _ in range(3):
            gql(client, MEMBERS)
        gc.collect()
        # The test client's own machinery (anyio, its thread's futures) is not the app's.
        left = Counter(
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if type(o).__module__.startswith(OURS)
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left, f"freed by the cyclic collector only: {left.most_common(5)}"
