"""A file source appended to by several processes at once (two gateways over one MongoDB
store and one ``--data`` folder each take ``POST /ingest``): every line each of them took
is in the file once, whole, on a line of its own, also while one of them rewrites the file
(an erasure), and each process's view follows the rewrite."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import time
from pathlib import Path
from typing import Any

import orjson

from membergraph.connectors.base import Guard
from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName, WebEvent
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import ownership
from membergraph.privacy.sources import erase_source

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


def _push(
    folder: str,
    tag: str,
    start: multiprocessing.synchronize.Event,
    pushing: multiprocessing.synchronize.Event | None = None,
) -> None:
    async def push() -> None:
        spec = SOURCES[SourceName.WEB_ANALYTICS]
        source = FileConnector(spec, Path(folder), ownership(SourceName.WEB_ANALYTICS))
        source.load()
        for batch in range(BATCHES):
            lines = [_event(tag, batch * PER_BATCH + n) for n in range(PER_BATCH)]
            said = await source.append(lines)
            assert said == ["created"] * PER_BATCH
            if pushing is not None:
                pushing.set()

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


PEOPLE = 12  # erased one after the other while the others push


def test_an_erasure_rewriting_a_file_source_loses_no_line_other_processes_push(
    tmp_path: Path,
) -> None:
    # Given a file source holding the events of some people, padded (a rewrite takes a while)
    spec = SOURCES[SourceName.WEB_ANALYTICS]
    path = tmp_path / spec.file_name
    people = [_event(f"P{n}", 0) for n in range(PEOPLE)]
    path.write_bytes(
        b"".join(
            orjson.dumps(e.model_dump(mode="json", exclude_unset=True)) + b"\n" for e in people
        )
    )
    # When other processes push lines while this one erases each person in turn
    spawn = multiprocessing.get_context("spawn")
    start, pushing = spawn.Event(), spawn.Event()
    tags = ["A", "B"]
    workers = [spawn.Process(target=_push, args=(str(tmp_path), t, start, pushing)) for t in tags]
    for worker in workers:
        worker.start()
    source = FileConnector(spec, tmp_path, ownership(SourceName.WEB_ANALYTICS))
    source.load()

    async def erase_each() -> None:
        for person in people:
            erased = await erase_source(source, {person.anonymous_id}, lambda i: f"x-{i}")
            assert erased.lines == [person.event_id]

    start.set()
    assert pushing.wait(60)  # (the pushes are going on)
    asyncio.run(erase_each())
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    # Then every line pushed is there, once, and nobody erased is
    ids = [orjson.loads(line)["event_id"] for line in path.read_bytes().splitlines() if line]
    assert sorted(ids) == sorted(f"E-{t}-{n}" for t in tags for n in range(BATCHES * PER_BATCH))


def test_a_process_reading_a_file_source_follows_another_ones_rewrite(tmp_path: Path) -> None:
    # Given two processes' views of one file source, both up to date
    spec = SOURCES[SourceName.WEB_ANALYTICS]
    owner = ownership(SourceName.WEB_ANALYTICS)
    writer, reader = (FileConnector(spec, tmp_path, owner) for _ in range(2))
    lines = [_event("Q", 0), *(_event(f"K{n}", 0) for n in range(3))]
    asyncio.run(writer.append(lines))
    reader.load()
    # When the writer's process erases Q (rewriting the file) and then takes a new line
    asyncio.run(erase_source(writer, {"anon-Q"}, lambda i: f"x-{i}"))
    asyncio.run(writer.append([_event("N", 0)]))
    # Then the reader, told to read what changed, holds the new line and not Q's
    reader.refresh()

    async def owned(source: FileConnector, key: str) -> list[str]:
        [found] = await source.load_many([key])
        return [line.event_id for line in found]  # type: ignore[union-attr]

    for view in (writer, reader):  # (the erasing process's own view too)
        assert asyncio.run(owned(view, "anon-N")) == ["E-N-0"]
        assert asyncio.run(owned(view, "anon-Q")) == []
        assert asyncio.run(owned(view, "anon-K2")) == ["E-K2-0"]


def _push_hers(
    folder: str, suppressed: str, start: multiprocessing.synchronize.Event, stop: Any
) -> None:
    """Her lines, pushed one at a time until ``stop``, each checked against the digests in
    the file ``suppressed`` as a push checks them, by a store slow to answer."""

    async def held(digests: set[str]) -> set[str]:
        found = set(Path(suppressed).read_bytes().decode().split()) & digests  # noqa: ASYNC240
        await asyncio.sleep(1.0)  # the answer takes a while to come back
        return found

    async def push() -> None:
        spec = SOURCES[SourceName.WEB_ANALYTICS]
        source = FileConnector(spec, Path(folder), ownership(SourceName.WEB_ANALYTICS))
        source.load()
        for n in itertools.count():
            if stop.is_set():
                return
            await source.append([_event("H", n)], guard=Guard([frozenset({"her"})], held))

    start.wait()
    asyncio.run(push())


def test_her_line_pushed_by_another_process_during_her_erasure_does_not_stay(
    tmp_path: Path,
) -> None:
    # Given a process pushing her lines, each checked against the suppressions
    spec = SOURCES[SourceName.WEB_ANALYTICS]
    suppressed = tmp_path / "suppressed.txt"
    suppressed.write_text("")
    spawn = multiprocessing.get_context("spawn")
    start, stop = spawn.Event(), spawn.Event()
    worker = spawn.Process(target=_push_hers, args=(str(tmp_path), str(suppressed), start, stop))
    worker.start()
    start.set()
    path = tmp_path / spec.file_name
    while not path.exists() or path.read_bytes().count(b"\n") < 2:
        time.sleep(0.01)
    # When this one erases her: suppresses, then rewrites the file without her lines
    suppressed.write_text("her")
    source = FileConnector(spec, tmp_path, ownership(SourceName.WEB_ANALYTICS))
    source.load()
    asyncio.run(erase_source(source, {"anon-H"}, lambda i: f"x-{i}"))
    time.sleep(2.5)  # (her pushes go on meanwhile, refused)
    stop.set()
    worker.join(60)
    assert worker.exitcode == 0
    # Then none of her lines is in the file
    assert b"anon-H" not in path.read_bytes()


def _push_held(folder: str, written: Any, go: Any, log: str) -> None:
    """A push of her line, as a gateway's: stored with its mark inside ``pushing()``, then
    held (its identity and feed entries on their way) until ``go``, then settled."""

    async def push() -> None:
        spec = SOURCES[SourceName.WEB_ANALYTICS]
        source = FileConnector(spec, Path(folder), ownership(SourceName.WEB_ANALYTICS))
        source.load()
        async with source.pushing():
            said = await source.append([_event("H", 0)], mark=lambda line, verdict: "push-1")
            assert said == ["created"]
            written.set()
            # (its identity, feed entries and consents take a while)
            assert await asyncio.to_thread(go.wait, 60)
            with Path(log).open("a") as handle:  # noqa: ASYNC230
                handle.write("settled\n")
            await source.settle([("E-H-0", "push-1")])

    asyncio.run(push())


def test_an_erasure_waits_for_her_push_still_on_its_way_in_another_process(
    tmp_path: Path,
) -> None:
    from membergraph.privacy.in_flight import wait_for_pushes

    # Given another process whose push stored her line and is still completing it
    spec = SOURCES[SourceName.WEB_ANALYTICS]
    spawn = multiprocessing.get_context("spawn")
    written, go = spawn.Event(), spawn.Event()
    log = tmp_path / "log.txt"
    worker = spawn.Process(target=_push_held, args=(str(tmp_path), written, go, str(log)))
    worker.start()
    try:
        assert written.wait(60)
        source = FileConnector(spec, tmp_path, ownership(SourceName.WEB_ANALYTICS))
        source.load()

        def hers(name: SourceName, line: Any) -> bool:
            go.set()  # seen: the other push may go on now
            return bool(line.anonymous_id == "anon-H")

        # When this process, erasing her, waits for the pushes of her lines
        waited = asyncio.run(wait_for_pushes([{SourceName.WEB_ANALYTICS: source}], hers))
        with log.open("a") as handle:
            handle.write("erasure goes on\n")
    finally:
        go.set()
        worker.join(60)
    # Then it saw that push, and went on only once the push was done with her line
    assert worker.exitcode == 0
    assert waited == 1
    assert log.read_text().splitlines() == ["settled", "erasure goes on"]
