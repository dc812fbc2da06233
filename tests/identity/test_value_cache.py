"""The identity value caches: their full size for a resolution, capped while a gateway serves."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.identity.normalize import _parsed_phone
from membergraph.identity.records import make_identifier
from membergraph.identity.value_cache import SERVING_ENTRIES, capped, value_cache
from membergraph.settings import Settings


def test_a_capped_cache_keeps_its_last_values_and_its_size_comes_back() -> None:
    calls: list[int] = []

    @value_cache(1 << 10)
    def square(n: int) -> int:
        calls.append(n)
        return n * n

    assert [square(n) for n in range(20)] == [n * n for n in range(20)]
    with capped(4):
        assert square.size == 4
        for n in range(10):
            square(n)
        calls.clear()
        assert [square(n) for n in (6, 7, 8, 9)] == [36, 49, 64, 81]
        assert calls == [], "the last four are held"
        square(0)
        assert calls == [0], "older values are not"
    assert square.size == 1 << 10
    assert square(5) == 25


def test_a_serving_app_caps_every_value_cache_and_gives_back_their_size(
    settings: Settings, data_dir: Path
) -> None:
    full = (make_identifier.size, _parsed_phone.size)
    assert min(full) > SERVING_ENTRIES  # type: ignore[operator]
    with TestClient(create_app(settings, serving=True), base_url="http://127.0.0.1") as client:
        assert client.get("/readyz").status_code == 200
        assert (make_identifier.size, _parsed_phone.size) == (SERVING_ENTRIES, SERVING_ENTRIES)
    assert (make_identifier.size, _parsed_phone.size) == full
    # An app that does not serve (a test's, the CLI's batch work) keeps them whole.
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert client.get("/readyz").status_code == 200
        assert (make_identifier.size, _parsed_phone.size) == full
