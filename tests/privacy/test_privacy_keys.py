"""A change of the privacy secret never lifts a suppression in silence: the store refuses to
open under a key its suppressions were not made under, and a rotation named in
``MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS`` keeps every one of them."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import Privacy, open_privacy
from membergraph.privacy.gate import screen
from membergraph.privacy.keys import PrivacyKeyChanged
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import CONTACT, LINES, add_to_folder
from tests.support.mongo import EmulatedClient

OLD = "the-privacy-secret-of-2025-and-32-bytes"
NEW = "the-privacy-secret-of-2026-and-32-bytes"
HER = "zephyrine.quill@quillmail.org"
FIND = "query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) { id } }"
ERASE = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-9") { state } }'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _adapter(kind: str, folder: Path) -> Callable[[], IdentityStore]:
    """Opens the same store again and again, as processes started one after another do."""
    if kind == "sqlite":
        return lambda: SqliteStore(str(folder / "store.db"))
    client = EmulatedClient()  # one server for every open
    return lambda: MongoStore("mongodb://emulated/membergraph", client=client)


@contextlib.asynccontextmanager
async def _opened(store: Callable[[], IdentityStore], **keys: Any) -> AsyncIterator[Privacy]:
    async with store() as identity:
        yield await open_privacy(identity, Settings(**keys))


async def _refused(privacy: Privacy) -> bool:
    """Whether her CRM contact, sent again, is refused as suppressed."""
    line = CrmContact.model_validate(CONTACT)
    _, refused = await screen(privacy, SourceName.CRM, [("her", line)], "US")
    return refused == ["her"]


async def _suppress_her(privacy: Privacy) -> None:
    key = privacy.suppressor.key_of(IdentifierKind.EMAIL, HER)
    assert await privacy.suppressor.suppress([(IdentifierKind.EMAIL, key)], "dpo") == 1


@pytest.mark.parametrize(
    ("kind", "first", "then", "rotated"),
    [
        pytest.param("sqlite", {}, {"privacy_secret": NEW}, ["store"], id="sqlite-store-to-secret"),
        pytest.param(
            "sqlite", {"privacy_secret": OLD}, {"privacy_secret": NEW}, [OLD], id="sqlite-rotated"
        ),
        pytest.param("sqlite", {"privacy_secret": OLD}, {}, None, id="sqlite-secret-unset"),
        pytest.param(
            "mongodb", {}, {"privacy_secret": NEW}, ["store"], id="mongodb-store-to-secret"
        ),
        pytest.param(
            "mongodb", {"privacy_secret": OLD}, {"privacy_secret": NEW}, [OLD], id="mongodb-rotated"
        ),
    ],
)
async def test_a_new_key_is_refused_until_the_former_one_is_listed(
    tmp_path: Path,
    kind: str,
    first: dict[str, str],
    then: dict[str, str],
    rotated: list[str] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _adapter(kind, tmp_path)
    # Given her e-mail suppressed under the first key
    async with _opened(store, **first) as privacy:
        await _suppress_her(privacy)
        assert await _refused(privacy)
    # When the store is opened under another key, it refuses, naming the setting
    with pytest.raises(PrivacyKeyChanged) as refusal:
        async with _opened(store, **then):
            pass
    said = str(refusal.value)
    assert "1 suppression(s)" in said and "MEMBERGRAPH_PRIVACY_SECRET" in said
    if rotated is None:  # no secret now: nothing to rotate to, set it back
        assert "PREVIOUS_SECRETS" not in said
        return
    assert "MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS" in said
    if rotated == ["store"]:
        assert '["store"]' in said
    # And once the former key is listed, she stays refused, and a new suppression is made
    # under the new key (it holds with the new key alone)
    caplog.set_level("INFO", logger="membergraph.privacy.keys")
    async with _opened(store, **then, privacy_previous_secrets=rotated) as privacy:
        assert "PREVIOUS_SECRETS[0]" in caplog.text
        assert "still checks 1 suppression(s)" in caplog.text
        assert await _refused(privacy)
        assert await privacy.suppressor.unsuppress(
            IdentifierKind.EMAIL, privacy.suppressor.key_of(IdentifierKind.EMAIL, HER)
        )
        assert not await _refused(privacy)
        await _suppress_her(privacy)
    # (the log says when the former key checks nothing any more)
    caplog.clear()
    async with _opened(store, **then, privacy_previous_secrets=rotated):
        assert "still checks 0 suppression(s): it may leave the list" in caplog.text
    async with _opened(store, **then) as privacy:
        assert await _refused(privacy)


async def test_a_store_that_suppresses_nothing_takes_any_key(tmp_path: Path) -> None:
    store = _adapter("sqlite", tmp_path)
    async with _opened(store, privacy_secret=OLD) as privacy:
        await _suppress_her(privacy)
        assert await privacy.suppressor.unsuppress(
            IdentifierKind.EMAIL, privacy.suppressor.key_of(IdentifierKind.EMAIL, HER)
        )
    async with _opened(store, privacy_secret=NEW) as privacy:
        assert not await _refused(privacy)


def test_an_erased_person_stays_out_when_the_secret_is_set_after_her_erasure(
    data_dir: Path, tmp_path: Path
) -> None:
    # The audit's reproduction: erased under the default key, the gateway restarted with
    # MEMBERGRAPH_PRIVACY_SECRET set, her lines posted again: all `created`, no warning.
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    given = {"data": data_dir, "store": f"sqlite:///{db}", "cache_dir": tmp_path / "cache"}
    with TestClient(create_app(Settings(**given)), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND, v=HER)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        assert gql(client, ERASE, id=member)["data"]["eraseMember"]["state"] == "DONE"  # type: ignore[index]
    # When the gateway starts with a secret set, it does not start
    keyed = Settings(**given, privacy_secret=NEW)
    with (
        pytest.raises(PrivacyKeyChanged, match="MEMBERGRAPH_PRIVACY_SECRET"),
        TestClient(create_app(keyed), base_url="http://127.0.0.1"),
    ):
        pass
    # nor does `serve`, nor a command over the store: one line, exit 1
    env = {"MEMBERGRAPH_PRIVACY_SECRET": NEW}
    for command in (
        ["privacy", "export", member, "--store", f"sqlite:///{db}"],
        [
            "resolve",
            "--data",
            str(data_dir),
            "--out",
            str(tmp_path / "m.jsonl"),
            "--store",
            f"sqlite:///{db}",
        ],
        ["serve", "--store", f"sqlite:///{db}", "--port", str(_free_port()), "--no-open"],
    ):
        result = CliRunner().invoke(app, command, env=env)
        assert result.exit_code == 1, result.output
        assert "MEMBERGRAPH_PRIVACY_SECRET" in result.output
        assert "Traceback" not in result.output
    # Then, the rotation named, her old lines are refused as before
    rotated = Settings(**given, privacy_secret=NEW, privacy_previous_secrets=["store"])  # type: ignore[list-item]
    with TestClient(create_app(rotated), base_url="http://127.0.0.1") as client:
        for source, sent in LINES.items():
            answer = client.post(f"/ingest/{source}", json=sent).json()
            assert {line["status"] for line in answer["lines"]} == {"suppressed"}, answer
        assert gql(client, FIND, v=HER)["data"]["memberByIdentifier"] is None  # type: ignore[index]
