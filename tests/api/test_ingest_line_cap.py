"""A push's work is bounded by its lines, not only its bytes (user24, F5).

The 8 MiB body limit counts bytes: 1.4 M ``{}`` lines (4 MiB) took 50 s, answered 244 MiB and
peaked at 993 MB of memory. A push now takes at most ``MEMBERGRAPH_MAX_INGEST_LINES`` lines
(blank lines are not counted); over it the whole body is refused with 413, nothing taken.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings

CAP = 5


def _sale(number: int) -> dict[str, object]:
    return {
        "transaction_id": f"T-CAP-{number}",
        "loyalty_id": "LD-4242-0042",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 500,
    }


@pytest.fixture
def capped(settings: Settings) -> Iterator[TestClient]:
    """The gateway taking at most :data:`CAP` lines a push."""
    small = settings.model_copy(update={"max_ingest_lines": CAP})
    with TestClient(create_app(small), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _held(client: TestClient) -> int:
    return int(client.get("/readyz").json()["sources"]["transactions"]["lines"])


@pytest.mark.parametrize("as_array", [False, True], ids=["json-lines", "json-array"])
def test_a_push_of_more_lines_than_the_cap_is_refused_whole(
    capped: TestClient, as_array: bool
) -> None:
    # Given a body of one line more than the cap, each line good
    lines = [_sale(n) for n in range(CAP + 1)]
    body = orjson.dumps(lines) if as_array else b"\n".join(map(orjson.dumps, lines))
    held = _held(capped)
    # When it is pushed
    answer = capped.post("/ingest/transactions", content=body)
    # Then it is 413, naming the cap and the setting, and nothing is taken
    assert answer.status_code == 413, answer.text
    said = answer.json()
    assert said["code"] == "TOO_MANY_LINES", said
    assert f"at most {CAP} lines" in said["error"], said
    assert "MEMBERGRAPH_MAX_INGEST_LINES" in said["error"], said
    assert _held(capped) == held


def test_a_push_of_the_cap_with_blank_lines_is_taken(capped: TestClient) -> None:
    # Given exactly the cap of lines, blank lines between them
    body = b"\n\n".join(orjson.dumps(_sale(n)) for n in range(CAP)) + b"\n" * 100
    answer = capped.post("/ingest/transactions", content=body)
    assert answer.status_code == 200, answer.text
    assert [line["status"] for line in answer.json()["lines"]] == ["created"] * CAP


def test_the_default_cap_takes_the_documented_batches() -> None:
    # The benchmarks' 8 MiB pushes are ~34,000 lines, the largest test push 30,000; a body
    # of only "{}" lines under 8 MiB is 2.8 M: the default refuses it at once.
    cap = Settings.model_fields["max_ingest_lines"].default
    assert 34_000 < cap < (8 << 20) // 3
