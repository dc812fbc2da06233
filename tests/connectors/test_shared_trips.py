"""The SQLite source table's reads share one trip to its thread: counted, never timed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from membergraph.connectors.base import SourceUnavailable
from membergraph.connectors.models import SourceName
from membergraph.connectors.sqlite import SqliteLines, SqliteSource

LINES = {
    SourceName.CRM: ("C1", "C1", {"contact_id": "C1", "first_name": "Ann"}),
    SourceName.TRANSACTIONS: (
        "T1",
        "loyalty:LD1",
        {
            "transaction_id": "T1",
            "loyalty_id": "LD1",
            "channel": "store",
            "occurred_at": "2026-05-01T12:00:00Z",
            "amount_cents": 1000,
        },
    ),
    SourceName.WEB_ANALYTICS: (
        "E1",
        "anon-1",
        {
            "event_id": "E1",
            "anonymous_id": "anon-1",
            "type": "page",
            "name": "Home",
            "occurred_at": "2026-05-01T12:00:00Z",
        },
    ),
    SourceName.CALL_CENTER: (
        "I1",
        "I1",
        {
            "interaction_id": "I1",
            "caller_phone": "+14155550134",
            "agent_id": "A1",
            "started_at": "2026-05-01T12:00:00Z",
            "duration_s": 60,
            "reason": "billing",
        },
    ),
}


@pytest.fixture
async def table(
    tmp_path: Path,
) -> AsyncIterator[tuple[SqliteLines, dict[SourceName, SqliteSource]]]:
    lines = SqliteLines(tmp_path / "lines.db")
    await lines.open()
    sources = lines.sources(lambda spec: lambda line: None)
    for name, (line_id, owner, body) in LINES.items():
        await sources[name].put([(line_id, owner, orjson.dumps(body))])
    try:
        yield lines, sources
    finally:
        await lines.aclose()


async def test_the_four_sources_asked_together_share_one_trip(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]],
) -> None:
    # Given a line in each source, when the four are asked at once (a profile's loaders),
    # then one trip answers them all, each source its own line, and a key nobody owns none.
    lines, sources = table
    before = lines.shared.trips
    answers = await asyncio.gather(
        *(sources[name].load_many([owner, "nobody"]) for name, (_, owner, _) in LINES.items())
    )
    assert lines.shared.trips == before + 1
    for (name, (line_id, _, body)), (found, nobody) in zip(LINES.items(), answers, strict=True):
        assert nobody == [] and len(found) == 1, name  # type: ignore[arg-type]
        first_field = next(iter(body))
        assert getattr(found[0], first_field) == line_id  # type: ignore[index]


async def test_reads_asked_one_after_the_other_each_make_their_trip(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]],
) -> None:
    lines, sources = table
    before = lines.shared.trips
    await sources[SourceName.CRM].load_many(["C1"])
    await sources[SourceName.CALL_CENTER].load_many(["I1"])
    assert lines.shared.trips == before + 2


async def test_a_read_that_fails_fails_alone(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]],
) -> None:
    # Given a read the database refuses sharing a trip with a good one, then the good one
    # answers and the bad one fails as a source failure (never a driver error).
    lines, _ = table

    def good(db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT count(*) FROM source_lines").fetchone()[0])

    def bad(db: sqlite3.Connection) -> None:
        db.execute("SELECT x FROM nowhere")

    before = lines.shared.trips
    found = await asyncio.gather(
        lines.shared.read(good), lines.shared.read(bad), return_exceptions=True
    )
    assert found[0] == len(LINES)
    assert isinstance(found[1], SourceUnavailable) and "nowhere" in str(found[1])
    assert lines.shared.trips == before + 1


async def test_a_closed_table_fails_every_read_of_the_trip(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]],
) -> None:
    lines, sources = table
    await lines.aclose()
    answers = await asyncio.gather(
        sources[SourceName.CRM].load_many(["C1"]), sources[SourceName.CALL_CENTER].load_many(["I1"])
    )
    for answer in answers:
        assert isinstance(answer[0], SourceUnavailable)


# ---------------------------------------------------------------------------------------
# A member's lines read beside its lookup (``SqliteLines.beside_lookup``): the identity
# store of the same file runs the read in its own trip; a loader batch of those keys is
# then answered without a trip to the source table's thread.

MEMBER = [(name.value, owner) for name, (_, owner, _) in LINES.items()]


async def test_lines_read_beside_a_lookup_answer_as_the_source_does(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]],
) -> None:
    # Given each source's line of one member, read beside a lookup on another connection,
    # then each source answers its keys from them exactly as its own read does, with no
    # trip and no source call; a key it was not asked about sends the batch to the source.
    lines, sources = table
    read = lines.beside_lookup([name.value for name in LINES])
    with sqlite3.connect(lines.path) as db:
        held = read(db, [*MEMBER, ("crm", "C-nobody")])
    assert held is not None
    trips, calls = lines.shared.trips, {n: s.calls for n, s in sources.items()}
    for name, (_, owner, _) in LINES.items():
        keys = [owner, "C-nobody"] if name is SourceName.CRM else [owner]
        found = sources[name].held_lines(held, keys)
        assert found == await sources[name].load_many(keys), name
        assert found is not None and len(found[0]) == 1, name
        assert sources[name].held_lines(held, [owner, "someone-else"]) is None, name
    assert lines.shared.trips == trips + len(LINES)  # the source's own reads only
    assert {n: s.calls - calls[n] for n, s in sources.items()} == dict.fromkeys(LINES, 1)


async def test_a_read_beside_a_lookup_that_fails_holds_nothing(
    table: tuple[SqliteLines, dict[SourceName, SqliteSource]], tmp_path: Path
) -> None:
    # Given a file without the source table (the read fails), then it holds nothing: the
    # loaders ask the sources, which say what fails (the lookup itself is not failed).
    lines, _ = table
    read = lines.beside_lookup([name.value for name in LINES])
    with sqlite3.connect(tmp_path / "other.db") as db:
        assert read(db, MEMBER) is None
