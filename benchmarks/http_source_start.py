"""What a gateway start asks of a source read over HTTP, and what `membergraph sync` reads.

    python benchmarks/http_source_start.py               # 1,000 demo people, pages of 100
    python benchmarks/http_source_start.py --members 5000

The demo set's CRM is served by a real local API (``tests/connectors/api_server.py``, uvicorn)
instead of its file; the gateway starts twice over it (the Starlette lifespan, as ``serve``);
then ``membergraph sync --once`` runs twice. Prints the requests to the API by path for each.
Counts, not times: they do not move with the machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import shutil
import sys
import tempfile

from starlette.testclient import TestClient
from typer.testing import CliRunner

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from membergraph.app import create_app  # noqa: E402
from membergraph.cli import app  # noqa: E402
from membergraph.demo import write_demo_data  # noqa: E402
from membergraph.settings import Settings  # noqa: E402
from tests.connectors.api_server import SourceApi  # noqa: E402
from tests.support.http import serving  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    data, store = tmp / "data", f"sqlite:///{tmp / 'identity.db'}"
    write_demo_data(data, args.members, seed=11)
    contacts = [json.loads(line) for line in (data / "crm.jsonl").open()]
    (data / "crm.jsonl").unlink()
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    try:
        with serving(api.app) as address:
            config = {"base_url": f"http://{address}", "page_size": args.page}
            config["since_param"] = "updated_since"
            http = {"crm": config}
            settings = Settings(
                data=data,
                store=store,
                cache_dir=tmp / "cache",
                http_sources=http,  # type: ignore[arg-type]
                api_keys={"k" * 16: {"name": "x", "scopes": ["profile:read"]}},  # type: ignore[dict-item]
            )
            print(f"{len(contacts)} CRM contacts behind the API, pages of {args.page}")
            for start in (1, 2):
                api.requests.clear()
                with TestClient(create_app(settings), base_url="http://127.0.0.1"):
                    pass
                print(f"gateway start {start}: {_count(api)}")
            env = {"MEMBERGRAPH_HTTP_SOURCES": json.dumps(http)}
            for run in (1, 2):
                api.requests.clear()
                command = ["sync", "--once", "--data", str(data), "--store", store]
                result = CliRunner().invoke(app, command, env=env)
                said = result.output.strip().splitlines()[-1]
                print(f"sync {run}: {_count(api)}  ({said})")
    finally:
        shutil.rmtree(tmp)


def _count(api: SourceApi) -> dict[str, int]:
    return dict(collections.Counter(str(r["path"]) for r in api.requests))


if __name__ == "__main__":
    main()
