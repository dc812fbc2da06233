"""A folder's first load into an empty embedded store writes its lines in key order and sets
the indexes aside while the tables fill: it must leave what writing line by line leaves."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines, SqliteSource
from membergraph.connectors.sqlite_rows import render
from membergraph.gateway import open_gateway
from membergraph.identity.store.metrics_port import MemberQuery
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings


def _indexes(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql NOT NULL")
        return {name for (name,) in rows}


async def test_a_first_load_leaves_every_index_an_open_makes(
    settings: Settings, tmp_path: Path
) -> None:
    # Given an empty store file opened as a gateway opens one
    plain = tmp_path / "plain.db"
    async with SqliteStore(plain):
        pass
    lines = SqliteLines(plain)
    await lines.open()
    await lines.aclose()
    # when a folder is loaded into another one (sources, identities, every member's figures)
    gateway, sources, result = await open_gateway(settings)
    try:
        assert result.members > 0
        kept = await gateway.scores.metrics.count(MemberQuery())  # type: ignore[union-attr]
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()
    # then it holds every member's figures, and every index an open makes
    assert kept == result.members
    loaded = Path(settings.store.removeprefix("sqlite:///"))
    assert _indexes(loaded) >= _indexes(plain)
    assert {"source_lines_owner", "member_metrics_lifetime_spend_cents"} <= _indexes(loaded)


async def test_of_two_lines_with_one_id_a_first_load_keeps_the_later(tmp_path: Path) -> None:
    lines = SqliteLines(tmp_path / "store.db")
    await lines.open()
    spec = next(iter(SOURCES.values()))
    source = SqliteSource(spec, lines, lambda line: "owner")
    try:
        async with lines.first_load():
            # Out of key order, with one id twice: the file's later line is its current one.
            await source.put([("B", "o", b"2"), ("A", "o", b"1"), ("B", "o", b"3")])
        stored = await lines.run(
            lambda db: db.execute("SELECT line_id, body FROM source_lines ORDER BY 1").fetchall()
        )
    finally:
        await lines.aclose()
    assert stored == [("A", b"1"), ("B", b"3")]


@pytest.mark.parametrize(
    ("source", "line"),
    [
        pytest.param(
            SourceName.CRM,
            {"contact_id": " C1 ", "first_name": "Zoë", "consents": {"sms": True}, "vip": [1.5]},
            id="unknown-fields-and-accents",
        ),
        pytest.param(
            SourceName.TRANSACTIONS,
            {
                "transaction_id": "T1",
                "channel": "store",
                "occurred_at": "2026-10-31T23:30:00.123456-02:00",
                "amount_cents": -1,
                "status": "refunded",
                "items": [{"sku": "X", "quantity": 2}],
            },
            id="offset-and-nested",
        ),
        pytest.param(
            SourceName.CALL_CENTER,
            {"interaction_id": "I1", "started_at": "2026-01-01T00:00:00", "sentiment": 1e-7},
            id="naive-time-and-small-float",
        ),
    ],
)
def test_a_line_is_stored_as_its_json_dump(source: SourceName, line: dict[str, object]) -> None:
    model = SOURCES[source].model.model_validate(line)
    assert render(model) == orjson.dumps(model.model_dump(mode="json", exclude_unset=True))


async def _start(settings: Settings) -> tuple[int, str]:
    """Members a start serves, and where it says its lines came from."""
    gateway, sources, result = await open_gateway(settings)
    await gateway.identity.store.aclose()
    await sources.aclose()
    return result.members, sources.where


async def test_a_start_naming_no_folder_serves_a_store_loaded_from_ones_own(
    tmp_path: Path,
) -> None:
    # Given a store loaded from a folder of one's own (`membergraph load --data mine`)
    mine = tmp_path / "mine"
    mine.mkdir()
    ada = {"contact_id": "C-ADA", "first_name": "Ada", "emails": ["ada.byron@mail.test.org"]}
    (mine / "crm.jsonl").write_bytes(orjson.dumps(ada) + b"\n")
    store = f"sqlite:///{tmp_path / 'mine.db'}"
    cache = tmp_path / "cache"
    assert (await _start(Settings(data=mine, store=store, cache_dir=cache)))[0] == 1
    # When it is served with --store and no --data (what the demo's first command looks like)
    members, where = await _start(Settings(store=store, cache_dir=cache, demo_members=20))
    # Then it serves her alone, saying where from: no made-up demo person joins the data
    assert members == 1 and str(mine) in where
    with sqlite3.connect(tmp_path / "mine.db") as db:
        assert db.execute("SELECT line_id FROM source_lines").fetchall() == [("C-ADA",)]
    assert not cache.exists()
    # And a new store named without a folder is the demo, as before
    demo, _ = await _start(
        Settings(store=f"sqlite:///{tmp_path / 'demo.db'}", cache_dir=cache, demo_members=20)
    )
    assert demo > 1


async def test_a_store_loaded_from_a_folder_of_malformed_lines_is_served_empty(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a folder of one's own whose every line is malformed, loaded into a store
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "crm.jsonl").write_bytes(b'{"contact_id": "C-1", "emails": "not-a-list"}\n{oops\n')
    store = f"sqlite:///{tmp_path / 'mine.db'}"
    cache = tmp_path / "cache"
    assert (await _start(Settings(data=mine, store=store, cache_dir=cache)))[0] == 0
    # When it is served with --store and no --data
    members, _ = await _start(Settings(store=store, cache_dir=cache, demo_members=20))
    # Then it is served empty, saying why: the demo's made-up people are not put in its place
    assert members == 0 and not cache.exists()
    assert "holds no line of it" in caplog.text and "--rejected FILE" in caplog.text


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["export", "--out", "{tmp}/members.csv"], id="export"),
        pytest.param(["privacy", "export", "m_nobody"], id="privacy-export"),
        pytest.param(["sync", "--once"], id="sync-of-an-http-crm"),
    ],
)
def test_a_command_over_a_store_holding_no_line_never_loads_the_demo(
    tmp_path: Path, command: list[str]
) -> None:
    from typer.testing import CliRunner

    from membergraph.cli import app
    from tests.connectors.api_server import SourceApi
    from tests.support.http import serving

    # Given a store of one's own that holds no line yet (loaded from an empty folder: the
    # pushes and the CRM's API are to fill it), and a CRM behind an HTTP API
    (tmp_path / "empty").mkdir()
    store = f"sqlite:///{tmp_path / 'own.db'}"
    cache = tmp_path / "cache"
    env = {"MEMBERGRAPH_CACHE_DIR": str(cache), "MEMBERGRAPH_DEMO_MEMBERS": "20"}
    loaded = CliRunner().invoke(app, ["load", "--data", str(tmp_path / "empty"), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    assert "holds no source file" in " ".join(loaded.output.split())  # (not a silent "0")
    hugo = {"contact_id": "H-1", "first_name": "Hugo", "emails": ["hugo@api-crm.test.org"]}
    api = SourceApi("crm", [hugo], lambda line: str(line.get("contact_id")))
    with serving(api.app) as address:
        env["MEMBERGRAPH_HTTP_SOURCES"] = orjson.dumps(
            {"crm": {"base_url": f"http://{address}"}}
        ).decode()
        # When a command names the store and no folder (a scheduled sync, an export, a DPO's)
        args = [part.format(tmp=tmp_path) for part in command]
        CliRunner().invoke(app, [*args, "--store", store], env=env)
    # Then no made-up demo person was loaded into it: it holds what its sources gave
    with sqlite3.connect(tmp_path / "own.db") as db:
        held = {line for (line,) in db.execute("SELECT line_id FROM source_lines")}
    assert held == ({"H-1"} if command[0] == "sync" else set())
    assert not cache.exists()
