"""Two real `membergraph serve` processes over one SQLite store behave as one.

Each process tails the store's change feed: a purchase pushed through one is read and pushed
through the other. A process killed in the middle of a stream of ingests leaves every line
it acknowledged, with its feed entry, and nothing half-written.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import websockets

from tests.support.serve import serve_ready, until
from tests.support.sockets import served

CONTACT = {
    "contact_id": "C-REPLICA",
    "first_name": "Rae",
    "last_name": "Plica",
    "emails": ["rae.plica@mail-example.net"],
    "loyalty_id": "LD-7777-0001",
    "birth_date": "1985-05-05",
}
QUERY = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id loyalty { pointsBalance } transactions { totalCount } } }"""


def _purchase(n: int, points: int = 10) -> dict[str, object]:
    return {
        "transaction_id": f"T-REPLICA-{n}",
        "loyalty_id": "LD77770001",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": points,
    }


def _member(address: str) -> dict[str, object] | None:
    answer = httpx.post(
        f"http://{address}/graphql",
        json={"query": QUERY, "variables": {"e": "rae.plica@mail-example.net"}},
        timeout=10,
    ).json()
    return answer["data"]["memberByIdentifier"]  # type: ignore[no-any-return]


@pytest.fixture
def folder(demo_source: Path, tmp_path: Path) -> Path:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(demo_source, data)
    return data


def test_a_purchase_through_one_process_is_read_and_pushed_through_the_other(
    folder: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    with serve_ready(folder, store) as (a, _), serve_ready(folder, store) as (b, _):
        assert httpx.post(f"http://{a}/ingest/crm", json=[CONTACT]).status_code == 200
        member = until(lambda: _member(b))
        assert isinstance(member, dict), "the contact ingested through A never showed on B"

        async def watch() -> list[dict[str, object]]:
            async with websockets.connect(
                f"ws://{b}/graphql", subprotocols=["graphql-transport-ws"]
            ) as ws:
                await served(ws)
                fields = "cursor kind source lineId"
                subscription = (
                    f'subscription {{ memberChanged(id: "{member["id"]}") {{ {fields} }} }}'
                )

                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
                )
                await asyncio.sleep(0.3)  # subscribed before the purchase is made
                posted = await asyncio.to_thread(
                    httpx.post, f"http://{a}/ingest/transactions", json=[_purchase(1, 25)]
                )
                assert posted.status_code == 200
                heard = []
                async with asyncio.timeout(10):
                    while not any(h["kind"] == "PURCHASE_RECORDED" for h in heard):
                        message = json.loads(await ws.recv())
                        assert message["type"] == "next", message
                        heard.append(message["payload"]["data"]["memberChanged"])
                return heard

        heard = asyncio.run(watch())
        bought = next(h for h in heard if h["kind"] == "PURCHASE_RECORDED")
        assert bought["source"] == "TRANSACTIONS" and bought["lineId"] == "T-REPLICA-1"
        seen = until(lambda: (m := _member(b)) and m["loyalty"]["pointsBalance"] == 25 and m)  # type: ignore[index]
        assert seen, "the purchase made through A is not in B's answer"


def test_a_killed_process_keeps_every_line_it_acknowledged_with_its_feed_entry(
    folder: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    acknowledged: list[str] = []
    with serve_ready(folder, store) as (a, process):
        httpx.post(f"http://{a}/ingest/crm", json=[CONTACT])
        with httpx.Client(timeout=5) as client:
            for n in range(400):
                if n == 60:
                    os.kill(process.pid, signal.SIGKILL)  # in the middle of the stream
                try:
                    answer = client.post(f"http://{a}/ingest/transactions", json=[_purchase(n)])
                except httpx.HTTPError:
                    break
                if answer.status_code == 200:
                    acknowledged.append(f"T-REPLICA-{n}")
    assert len(acknowledged) >= 60
    with serve_ready(folder, store) as (b, _):
        member = _member(b)
        assert member is not None
        held = member["transactions"]["totalCount"]  # type: ignore[index]
        # Every acknowledged line is there; at most the one in flight at the kill is too.
        assert len(acknowledged) <= held <= len(acknowledged) + 1
        page = httpx.post(
            f"http://{b}/graphql",
            json={"query": "{ changes(first: 1000) { edges { node { kind lineId } } } }"},
        ).json()
        fed = {
            e["node"]["lineId"]
            for e in page["data"]["changes"]["edges"]
            if e["node"]["kind"] == "PURCHASE_RECORDED"
        }
        assert set(acknowledged) <= fed
        assert member["loyalty"]["pointsBalance"] == 10 * held  # type: ignore[index]


def _batches(tag: str) -> Iterator[list[dict[str, object]]]:
    """Batches of three purchases: two online orders of a new customer, one on the card."""
    for n in itertools.count():
        yield [
            {
                **_purchase(0),
                "transaction_id": f"T-KILL-{tag}-{n}-{k}",
                "loyalty_id": None,
                "channel": "online",
                "email": f"kill.{tag}.{n}@mailbox.org",
            }
            for k in range(2)
        ] + [{**_purchase(0), "transaction_id": f"T-KILL-{tag}-{n}-2"}]


def _half_done(store: Path) -> list[str]:
    """Lines of the stream stored without their identity record or their feed entry."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT l.line_id FROM source_lines l WHERE l.line_id LIKE 'T-KILL-%' AND ("
            " NOT EXISTS (SELECT 1 FROM records r WHERE r.source = l.source AND r.key = l.owner"
            "  AND r.member_id IS NOT NULL)"
            " OR NOT EXISTS (SELECT 1 FROM feed f WHERE f.source = l.source"
            "  AND f.line_id = l.line_id))"
        ).fetchall()
    return [row[0] for row in rows]


def test_a_process_killed_mid_push_leaves_no_line_half_applied_after_a_restart(
    folder: Path, tmp_path: Path
) -> None:
    # Given two clients streaming batches into a process, killed while pushes are in flight,
    # three times over (where in a push a kill lands is chance: each round is another draw)
    store = tmp_path / "one.db"
    acknowledged: list[str] = []
    for round_ in range(3):
        stop = threading.Event()

        def stream(address: str, tag: str, stop: threading.Event = stop) -> None:
            with httpx.Client(timeout=5) as client:
                for batch in _batches(tag):
                    if stop.is_set():
                        return
                    try:
                        answer = client.post(f"http://{address}/ingest/transactions", json=batch)
                    except httpx.HTTPError:
                        return
                    if answer.status_code == 200:
                        acknowledged.extend(str(line["transaction_id"]) for line in batch)

        with serve_ready(folder, store) as (a, process):
            before = len(acknowledged)
            clients = [threading.Thread(target=stream, args=(a, f"{round_}{tag}")) for tag in "ab"]
            for thread in clients:
                thread.start()
            until(lambda before=before: len(acknowledged) >= before + 30, seconds=120)
            os.kill(process.pid, signal.SIGKILL)
            stop.set()
            for thread in clients:
                thread.join()
            assert len(acknowledged) >= before + 30
    # When it starts again, then every stored line has its record and its feed entry
    with serve_ready(folder, store):
        assert _half_done(store) == []
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            fed = {r[0] for r in db.execute("SELECT line_id FROM feed WHERE source IS NOT NULL")}
        assert set(acknowledged) <= fed


def test_a_second_start_over_the_same_folder_reads_none_of_its_lines(
    folder: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    with serve_ready(folder, store) as (a, _):
        first = httpx.get(f"http://{a}/readyz").json()
    # Each file overwritten with as many bytes of garbage, its time kept: a start that read
    # a line would find every one malformed.
    for path in folder.glob("*.jsonl"):
        stat = path.stat()
        path.write_bytes(b"x" * (stat.st_size - 1) + b"\n")
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with serve_ready(folder, store) as (b, _):
        again = httpx.get(f"http://{b}/readyz").json()
    assert again["store"] == first["store"]
    assert again["sources"]["crm"]["lines"] == first["sources"]["crm"]["lines"] > 0
    # Calls counted aside: the first start measured the members' metrics through them.
    for said in (first, again):
        for source in said["sources"].values():
            source.pop("calls")
    assert orjson.dumps(again["sources"]) == orjson.dumps(first["sources"])
