"""How fast a request over the cost budget is refused, against what it would have cost to run.

    python benchmarks/query_cost.py [--members 500] [--requests 200]

In process (Starlette's test client over the app's real lifespan, demo data): sends the
30-alias request of issue 21 (`members(first: 100)` with 100 purchases and 100 activity
items each, cost 1,809,000) ``--requests`` times and prints p50/p99 of its refusal
(`QUERY_TOO_COSTLY`, no source read); then one alias of it under a raised budget, once, to
show what the refusal spares; then a fragment bomb (20 levels of fragments each spread twice:
835 bytes standing for 2,097,152 fields), refused `QUERY_TOO_LARGE` before validation.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from mixed_load import machine
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings

ALIAS = (
    "m{i}: members(first: 100) {{ edges {{ node {{ id "
    "transactions(first: 100) {{ edges {{ node {{ amountCents }} }} }} "
    "activity(first: 100) {{ edges {{ node {{ at }} }} }} }} }} }}"
)


def fragment_bomb(levels: int) -> str:
    spreads = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {spreads} fragment F{levels} on Query {{ viewer {{ __typename }} }}"


def _timed(client: TestClient, query: str, code: str, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.post("/graphql", json={"query": query}).json()
        times.append((time.perf_counter() - started) * 1000)
        assert answer["errors"][0]["extensions"]["code"] == code
    return sorted(times)


def _line(what: str, times: list[float]) -> str:
    p99 = times[int(len(times) * 0.99) - 1]
    return f"{what}: p50 {statistics.median(times):.2f} ms, p99 {p99:.2f} ms over {len(times)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    heavy = "{" + " ".join(ALIAS.format(i=i) for i in range(30)) + "}"
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        write_demo_data(data, args.members, seed=7)
        settings = Settings(
            data=data, store=f"sqlite:///{Path(folder) / 'id.db'}", cache_dir=Path(folder)
        )
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            times = _timed(client, heavy, "QUERY_TOO_COSTLY", args.requests)
            bomb = _timed(client, fragment_bomb(20), "QUERY_TOO_LARGE", args.requests)
        roomy = settings.model_copy(update={"max_query_cost": 10_000_000})
        with TestClient(create_app(roomy), base_url="http://127.0.0.1") as client:
            started = time.perf_counter()
            one = client.post("/graphql", json={"query": "{" + ALIAS.format(i=0) + "}"})
            ran_ms = (time.perf_counter() - started) * 1000
            size = len(one.content)
    print(f"machine: {machine()}")
    print(_line("30-alias request refused", times))
    print(_line("fragment bomb (20 levels, 2,097,152 fields) refused", bomb))
    print(
        f"one alias of it, run under a raised budget: {ran_ms:.0f} ms, {size / 1e6:.2f} MB "
        f"(x30 is what the refusal spares)"
    )


if __name__ == "__main__":
    main()
