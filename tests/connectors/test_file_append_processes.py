"""A file source appended to by several processes at once (two gateways over one MongoDB
store and one ``--data`` folder each take ``POST /ingest``): every line each of them took
is in the file once, whole, on a line of its own."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import orjson

from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName, WebEvent
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import ownership

PROCESSES = 3
BATCHES = 40
PER_BATCH = 5
PADDING = 30_000  # bytes of properties per line: a batch is several times a write buffer


def _event(tag: str, n: int) -> WebEvent:
    return WebEvent(
        event_id=f"E-{tag}-{n}",
        anonymous_id=f"anon-{tag}",
        type="track",
        name="Product Viewed",
        occurred_at="2026-11-20T10:00:00Z",
        properties={"note": tag * PADDING},
    )


def _push(folder: str, tag: str, start: multiprocessing.synchronize.Event) -> None:
    async def push() -> None:
        spec = SOURCES[SourceName.WEB_ANALYTICS]
        source = FileConnector(spec, Path(folder), ownership(SourceName.WEB_ANALYTICS))
        source.load()
        for batch in range(BATCHES):
            lines = [_event(tag, batch * PER_BATCH + n) for n in range(PER_BATCH)]
            said = await source.append(lines)
            assert said == ["created"] * PER_BATCH

    start.wait()
    asyncio.run(push())


def test_processes_appending_to_one_file_source_lose_and_interleave_no_line(
    tmp_path: Path,
) -> None:
    # Given a file source the last line of which lacks its newline (written by hand)
    path = tmp_path / SOURCES[SourceName.WEB_ANALYTICS].file_name
    first = _event("Z", 0).model_dump(mode="json", exclude_unset=True)
    path.write_bytes(orjson.dumps(first))
    # When several processes append batches of long lines to it at once
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    tags = [chr(ord("A") + p) for p in range(PROCESSES)]
    workers = [spawn.Process(target=_push, args=(str(tmp_path), t, start)) for t in tags]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    # Then every line is whole JSON, and each line pushed is there exactly once
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    ids = [orjson.loads(line)["event_id"] for line in lines]
    expected = {f"E-{t}-{n}" for t in tags for n in range(BATCHES * PER_BATCH)} | {"E-Z-0"}
    assert sorted(ids) == sorted(expected)
    # (and a reader of the file finds them all, none malformed)
    reader = FileConnector(
        SOURCES[SourceName.WEB_ANALYTICS], tmp_path, ownership(SourceName.WEB_ANALYTICS)
    )
    report = reader.load()
    assert (report.accepted, report.malformed) == (len(expected), 0)
