"""A changed folder loaded into a served store is announced on the change feed, as the same
lines pushed through ``POST /ingest`` would be: a nightly CRM export in which a contact
withdrew e-mail consent reaches every subscriber and every process's caches. A load cut
short after it stored the lines is finished by the next start, each line announced once.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.sqlite import SqliteSource
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.store.types import StoreError
from membergraph.settings import Settings
from tests.conftest import gql

runner = CliRunner()

CONTACT = {
    "contact_id": "C-LOAD",
    "first_name": "Lorna",
    "last_name": "Loader",
    "emails": ["lorna.loader@example.org"],
    "loyalty_id": "LD-LOAD-1",
    "consents": {"email": True, "sms": True},
    "updated_at": "2026-10-01T00:00:00Z",
}
WITHDRAWN = {
    **CONTACT,
    "consents": {"email": False, "sms": True},
    "updated_at": "2026-10-05T00:00:00Z",
}
BOUGHT = {
    "transaction_id": "T-LOAD-1",
    "loyalty_id": "LD-LOAD-1",
    "channel": "store",
    "occurred_at": "2026-10-02T10:00:00Z",
    "amount_cents": 1200,
    "points_earned": 12,
}
BOUGHT_AGAIN = {**BOUGHT, "transaction_id": "T-LOAD-2", "occurred_at": "2026-10-06T10:00:00Z"}

FEED = """query ($after: String) { changes(after: $after, first: 1000) {
  edges { cursor node { kind lineId memberIds } } } }"""
MEMBER = '{ memberByIdentifier(kind: CRM_ID, value: "C-LOAD") { id consents { channel granted } } }'


def _folder(path: Path, crm: list[dict[str, object]], sales: list[dict[str, object]]) -> Path:
    path.mkdir(parents=True)
    for name, lines in (("crm", crm), ("transactions", sales)):
        (path / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


def _load(folder: Path, store: str) -> int:
    """``membergraph load --data folder --to store``; its exit code."""
    return runner.invoke(app, ["load", "--data", str(folder), "--to", store]).exit_code


def _changes(client: TestClient, after: str | None) -> list[tuple[str, str, list[str]]]:
    edges = gql(client, FEED, after=after)["data"]["changes"]["edges"]  # type: ignore[index]
    return [(e["node"]["kind"], e["node"]["lineId"], e["node"]["memberIds"]) for e in edges]


def _head(client: TestClient) -> str | None:
    edges = gql(client, FEED)["data"]["changes"]["edges"]  # type: ignore[index]
    return edges[-1]["cursor"] if edges else None


def _announced(client: TestClient, after: str | None) -> list[tuple[str, str, list[str]]]:
    """The feed's entries after ``after`` that name a line (identity entries name none)."""
    return [c for c in _changes(client, after) if c[1] is not None]


def test_a_changed_folder_loaded_beside_a_running_gateway_is_announced(tmp_path: Path) -> None:
    # Given a store loaded from last night's folder, served
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert _load(_folder(tmp_path / "night1", [CONTACT], [BOUGHT]), store) == 0
    tonight = _folder(tmp_path / "night2", [WITHDRAWN], [BOUGHT, BOUGHT_AGAIN])
    served = Settings(store=store, cache_dir=tmp_path / "cache")
    with TestClient(create_app(served), base_url="http://127.0.0.1") as http:
        head = _head(http)
        member = gql(http, MEMBER)["data"]["memberByIdentifier"]  # type: ignore[index]
        assert {"channel": "EMAIL", "granted": True} in member["consents"]
        # When tonight's export, where she withdrew e-mail consent and bought again, is loaded
        assert _load(tonight, store) == 0
        # Then the running gateway's feed says so, naming her member, once per line changed
        # (the purchase held already says nothing)
        assert sorted(_announced(http, head)) == [
            ("CONSENT_CHANGED", "C-LOAD", [member["id"]]),
            ("PURCHASE_RECORDED", "T-LOAD-2", [member["id"]]),
        ]
        # and loading the same folder again announces nothing more
        after = _head(http)
        assert _load(tonight, store) == 0
        assert _announced(http, after) == []


@pytest.mark.parametrize(
    ("stopped_at", "method"),
    [
        # its feed entries could not be written: the next start announces its lines
        pytest.param(SqliteStore, "append_feed", id="before-announcing"),
        # it wrote them and stopped before dropping its lines' marks: none is announced again
        pytest.param(SqliteSource, "settle", id="after-announcing"),
    ],
)
def test_a_load_cut_short_is_announced_once_by_the_next_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stopped_at: type, method: str
) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert _load(_folder(tmp_path / "night1", [CONTACT], [BOUGHT]), store) == 0
    tonight = _folder(tmp_path / "night2", [WITHDRAWN], [BOUGHT, BOUGHT_AGAIN])
    with TestClient(
        create_app(Settings(store=store, cache_dir=tmp_path / "cache")),
        base_url="http://127.0.0.1",
    ) as http:
        head = _head(http)

    # Given a load that stops there (the process dies)
    def fail(*_: object, **__: object) -> None:
        raise StoreError("the process stopped here")

    with monkeypatch.context() as patch:
        patch.setattr(stopped_at, method, fail)
        assert _load(tonight, store) == 1
    # When the gateway starts over the folder (the load done again, the marked lines finished)
    served = Settings(data=tonight, store=store, cache_dir=tmp_path / "cache")
    for _ in range(2):  # and once more: nothing is announced twice
        with TestClient(create_app(served), base_url="http://127.0.0.1") as http:
            member = gql(http, MEMBER)["data"]["memberByIdentifier"]  # type: ignore[index]
            # Then each changed line is announced once, naming her member
            assert sorted(_announced(http, head)) == [
                ("CONSENT_CHANGED", "C-LOAD", [member["id"]]),
                ("PURCHASE_RECORDED", "T-LOAD-2", [member["id"]]),
            ]
            assert {"channel": "EMAIL", "granted": False} in member["consents"]
