"""``MEMBERGRAPH_DURABLE``: a pushed line is acknowledged only once it is on disk.

What the setting promises (docs/change-feed.md "Durability", ``Settings.durable``): SQLite commits with
``synchronous=FULL`` (the store's identity tables and its source table alike) and file
appends are fsynced; off, SQLite commits with ``NORMAL`` and no append is fsynced. Counted,
never timed: the pragma each connection runs with, and the fsync calls of a push.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.settings import Settings
from membergraph.source_set import open_sources

CONTACT = {
    "contact_id": "C-1",
    "emails": ["ada@example.org"],
    "loyalty_id": "LD12345",
    "updated_at": "2026-11-01T00:00:00Z",
}
PURCHASE = {
    "transaction_id": "T-1",
    "loyalty_id": "LD12345",
    "channel": "store",
    "occurred_at": "2026-11-02T10:00:00Z",
    "amount_cents": 2500,
}
FULL, NORMAL = 2, 1  # PRAGMA synchronous answers a number


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "crm.jsonl").write_bytes(orjson.dumps(CONTACT) + b"\n")
    return folder


def _synchronous(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA synchronous").fetchone()[0])


@pytest.mark.parametrize(
    ("durable", "expected"),
    [pytest.param(True, FULL, id="durable"), pytest.param(False, NORMAL, id="fast")],
)
def test_the_embedded_store_commits_as_durable_says(
    tmp_path: Path, durable: bool, expected: int
) -> None:
    # Given a gateway over the embedded store (identity and sources in one SQLite file),
    # started by loading a folder (a first load switches the pragma and must put it back)
    settings = Settings(
        data=_folder(tmp_path),
        store=f"sqlite:///{tmp_path / 'store.db'}",
        cache_dir=tmp_path / "cache",
        durable=durable,
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # When a line is pushed and acknowledged
        answer = client.post("/ingest/transactions", json=[PURCHASE]).json()
        assert [line["status"] for line in answer["lines"]] == ["created"]
        # Then both connections that wrote it commit as the setting says
        gateway: Any = client.app.state.gateway  # type: ignore[attr-defined]
        store = gateway.identity.store
        [[identity]] = client.portal.call(store.db.execute_fetchall, "PRAGMA synchronous")  # type: ignore[union-attr]
        lines = gateway.sources[SourceName.TRANSACTIONS].lines
        source = client.portal.call(lines.run, _synchronous)  # type: ignore[union-attr]
    assert (identity, source) == (expected, expected)


@pytest.mark.parametrize(
    ("durable", "fsyncs"), [pytest.param(True, 1, id="durable"), pytest.param(False, 0, id="fast")]
)
async def test_a_file_source_fsyncs_a_push_only_when_durable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool, fsyncs: int
) -> None:
    # Given a folder's file sources opened as the setting says
    # gaps13: MEMBERGRAPH_DURABLE=false did not reach them, every push was fsynced.
    sources = open_sources(_folder(tmp_path), "US", durable=Settings(durable=durable).durable)
    connector = sources.connectors[SourceName.CRM]
    files: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (files.append(fd), real(fd))[1])
    try:
        # When a line is pushed
        [taken] = await connector.append([connector.spec.model.model_validate(
            {**CONTACT, "contact_id": "C-2"})])  # fmt: skip
    finally:
        await sources.aclose()
    # Then it was fsynced once before it was answered, or not at all
    assert taken == "created"
    assert len(files) == fsyncs
    assert b'"C-2"' in (tmp_path / "data" / "crm.jsonl").read_bytes()
