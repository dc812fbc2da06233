"""How long ``matchSuggestions`` takes: the first call, which scores the store's contacts,
and the calls after it, which find them scored (a CRM line taken scores them again).

    python benchmarks/suggestions_latency.py                 # 5,000 demo people
    python benchmarks/suggestions_latency.py --members 20000 --calls 5

In process (Starlette's TestClient over the embedded SQLite store), one call at a time.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings

LIST = "{ matchSuggestions(first: 20) { totalCount edges { node { score } } } }"
CONTACT = {"contact_id": "C-BENCH", "first_name": "Sofie", "last_name": "Martin"}


def _timed(client: TestClient) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.post("/graphql", json={"query": LIST}).json()
    seconds = time.perf_counter() - started
    assert "errors" not in answer, answer
    return seconds, answer["data"]["matchSuggestions"]["totalCount"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()}, {args.members} people")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        write_demo_data(data, args.members, 7)
        settings = Settings(data=data, store=f"sqlite:///{tmp}/id.db", cache_dir=Path(tmp) / "c")
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
            first, count = _timed(client)
            print(f"first call (scores the contacts): {first:.2f} s, {count} suggestions")
            for n in range(args.calls):
                print(f"call {n + 2} (scored already): {_timed(client)[0] * 1000:.0f} ms")
            client.post("/ingest/crm", json=[CONTACT])
            print(f"after a CRM line (scores again): {_timed(client)[0]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
