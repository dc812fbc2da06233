"""A first load into an empty SQLite store takes the bulk path; it must leave exactly what
writing change by change leaves, or nothing at all when it fails."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from membergraph.identity import engine as engine_module
from membergraph.identity import scope_change as scope_module
from membergraph.identity.batch import resolve_folder, scan_folder
from membergraph.identity.engine import Link
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.store import sqlite as sqlite_module
from membergraph.identity.store import sqlite_schema, sqlite_write
from membergraph.identity.store.sqlite import SqliteStore


@pytest.fixture
def records(demo_source: Path) -> dict[RecordKey, RecordData]:
    return scan_folder(demo_source, workers=1).records


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql NOT NULL")
        return {name for (name,) in rows}


def _journal(path: Path) -> str:
    """The journal mode a new connection finds."""
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("PRAGMA journal_mode").fetchone()[0])


def _files(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(pattern))


async def _state(store: SqliteStore) -> tuple[object, ...]:
    members = await store.all_assignments()
    some = sorted(set(members.values()))[:40]
    events = await store.member_events(some)
    emails = sorted(
        {
            i.key
            for r in (await store.load_records(list(members)[:50])).values()
            for i in r.identifiers
            if i.kind is IdentifierKind.EMAIL
        }
    )
    carriers = await store.carriers([(IdentifierKind.EMAIL, e) for e in emails])
    return (
        members,
        await store.ping(),
        [sorted((e.kind, e.rule, e.records) for e in history) for history in events],
        carriers,
    )


async def test_a_first_load_leaves_what_change_by_change_leaves(
    records: dict[RecordKey, RecordData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    states = []
    for name, bulk_from in (("bulk", 1), ("plain", 10**9)):
        monkeypatch.setattr(sqlite_write, "BULK_RECORDS", bulk_from)
        async with SqliteStore(tmp_path / f"{name}.db") as store:
            await IdentityService(store).resolve_all(dict(records))
            states.append(await _state(store))
            by_card = {
                ref: await store.find_members(IdentifierKind.LOYALTY_ID, ref[1][len("loyalty:") :])
                for ref in records
                if ref[1].startswith("loyalty:")
            }
            states.append(by_card)
    assert states[0] == states[2] and states[1] == states[3]
    assert _journal(tmp_path / "bulk.db") == "wal", "back to WAL once it is written"
    assert _indexes(tmp_path / "bulk.db") == _indexes(tmp_path / "plain.db")
    assert "identifiers_value" in _indexes(tmp_path / "bulk.db")


async def test_a_first_load_that_fails_mid_way_writes_nothing(
    records: dict[RecordKey, RecordData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", 1)
    path = tmp_path / "store.db"

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("step failed")

    async with SqliteStore(path) as store:
        service = IdentityService(store)
        # Failing in the engine (the identifiers are staged by then), in the IDs (the links
        # too) and in the events (the records and members too): each failure must take
        # everything back.
        for step in ("resolve", "assign_member_ids", "record_events"):
            with monkeypatch.context() as patch:
                patch.setattr(scope_module, step, broken)
                with pytest.raises(RuntimeError, match="failed"):
                    await service.resolve_all(dict(records))
            assert await store.ping() == {"records": 0, "members": 0, "links": 0}
            assert await store.carriers([(IdentifierKind.EMAIL, "x")]) == {}
        assert _journal(path) == "wal"
        result = await service.resolve_all(dict(records))  # and the store is still usable
        assert result.members > 0
    assert "identifiers_value" in _indexes(path)


@pytest.mark.parametrize("table", ["links", "events"])
async def test_a_first_load_that_fails_while_writing_rolls_back(
    demo_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    # The links fail first while the engine still runs (the profiles' links), the events
    # last, after everything else is staged.
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", 1)
    async with SqliteStore(tmp_path / "store.db"):
        pass  # the schema, for the trigger below
    # The table's first insert fails inside SQLite, as a full disk would make it fail.
    with closing(sqlite3.connect(tmp_path / "store.db")) as db:
        db.execute(
            f"CREATE TRIGGER failing BEFORE INSERT ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
        db.commit()
    out = tmp_path / "members.jsonl"
    async with SqliteStore(tmp_path / "store.db") as store:
        with pytest.raises(Exception, match="disk I/O error"):
            # As `membergraph resolve` runs it: its answers are written meanwhile.
            await resolve_folder(demo_source, out, store, workers=1)
        assert await store.ping() == {"records": 0, "members": 0, "links": 0}
    assert _indexes(tmp_path / "store.db") >= set(sqlite_schema.INDEXES)
    assert _journal(tmp_path / "store.db") == "wal"
    assert _files(tmp_path, "members.jsonl*") == [], "no answers for members not stored"


_OLD_IDENTIFIERS = """
CREATE TABLE identifiers (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, via TEXT NOT NULL,
    source TEXT NOT NULL, rkey TEXT NOT NULL,
    PRIMARY KEY (kind, key, source, rkey, value, via)
) WITHOUT ROWID;
CREATE INDEX identifiers_record ON identifiers (source, rkey);
"""


async def test_a_first_load_writes_through_a_rollback_journal_alone_with_the_file(
    records: dict[RecordKey, RecordData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WAL would write the whole store twice; a rollback journal writes it once. Another
    # connection on the file keeps it in WAL, where its readers are safe.
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", 1)
    seen: list[str] = []
    real = sqlite_module.stage_members

    def watching(db: sqlite3.Connection, *args: object) -> None:
        seen.append(db.execute("PRAGMA journal_mode").fetchone()[0])
        real(db, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_module, "stage_members", watching)
    for name, other_reader in (("alone", False), ("shared", True)):
        path = tmp_path / f"{name}.db"
        async with SqliteStore(path) as store:
            with closing(sqlite3.connect(path)) as reader:
                if other_reader:  # open on the file, between two reads
                    reader.execute("SELECT count(*) FROM records").fetchone()
                else:
                    reader.close()
                await IdentityService(store).resolve_all(dict(records))
        assert _journal(path) == "wal"
        assert _files(tmp_path, f"{name}.db*") == [path]  # no journal left over
    assert seen == ["delete", "wal"]


_OPEN_AND_COUNT = """
import asyncio, sys
from membergraph.identity.store.sqlite import SqliteStore

async def main() -> None:
    store = SqliteStore(sys.argv[1])
    print("opening", flush=True)
    async with store:
        print((await store.ping())["records"], flush=True)

asyncio.run(main())
"""


async def test_another_process_opening_the_store_during_a_first_load_waits_for_it(
    records: dict[RecordKey, RecordData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two `warm --jobs 2` processes or two gateway workers open one store at once; the first
    # writes its load through a rollback journal. SQLite's switch to WAL in the second's
    # open said "database is locked" at once, without the busy timeout's wait.
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", 1)
    path = tmp_path / "store.db"
    real = sqlite_module.stage_members
    opened: list[subprocess.Popen[str]] = []

    def with_another_opening(db: sqlite3.Connection, *args: object) -> None:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        other = subprocess.Popen(
            [sys.executable, "-c", _OPEN_AND_COUNT, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        opened.append(other)
        assert other.stdout is not None and other.stdout.readline() == "opening\n"
        time.sleep(0.5)  # its open meets the load's transaction (a slower one: after it)
        real(db, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_module, "stage_members", with_another_opening)
    async with SqliteStore(path) as store:
        await IdentityService(store).resolve_all(dict(records))
        written = (await store.ping())["records"]
    (other,) = opened
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    assert int(out) == written == len(records)  # it waited, then read the whole load
    assert _journal(path) == "wal"


async def test_a_first_load_is_given_the_links_in_runs_while_the_engine_goes_on(
    records: dict[RecordKey, RecordData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The store writes the engine's links while it goes on: the profiles' links first, then
    # the leaves' in runs, in the resolution's order, each written once; the last run, which
    # the engine says is the last, builds the indexes. Nothing is left for after it.
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", 1)
    monkeypatch.setattr(engine_module, "_HAND_OVER_EVERY", 50)
    calls: list[tuple[list[str], bool]] = []
    real = sqlite_module.stage_links

    def watching(db: sqlite3.Connection, links: list[Link], *args: object) -> None:
        calls.append(([link.rule for link in links], bool(args[-1])))
        real(db, links, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_module, "stage_links", watching)
    async with SqliteStore(tmp_path / "store.db") as store:
        await IdentityService(store).resolve_all(dict(records))
        stored = await store.active_links(None)
    (profiles, _), *leaves, (rest, more) = calls
    assert profiles and "attach" not in profiles
    assert len(leaves) > 2 and all(rules and more for rules, more in leaves)
    leaf_rules = {"attach", "visitor_email", "visitor_crm_id"}
    assert set().union(*(rules for rules, _ in [*leaves, (rest, more)])) <= leaf_rules
    assert not more
    assert [link.rule for link in stored] == [rule for rules, _ in calls for rule in rules]
    assert _indexes(tmp_path / "store.db") >= {"links_a", "links_b"}


@pytest.mark.parametrize("bulk_from", [1, 10**9], ids=["first load", "change by change"])
async def test_a_store_made_with_the_old_identifier_layout_answers_the_same(
    records: dict[RecordKey, RecordData],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bulk_from: int,
) -> None:
    # Stores made before the identifiers' primary key went by record keep their layout.
    monkeypatch.setattr(sqlite_write, "BULK_RECORDS", bulk_from)
    with sqlite3.connect(tmp_path / "old.db") as db:
        db.executescript(_OLD_IDENTIFIERS)
    states = []
    for name in ("old", "new"):
        async with SqliteStore(tmp_path / f"{name}.db") as store:
            await IdentityService(store).resolve_all(dict(records))
            states.append(await _state(store))
    assert states[0] == states[1]
    assert {"identifiers_record", "identifiers_value"} <= _indexes(tmp_path / "old.db")
