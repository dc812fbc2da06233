"""An e-mail an older release suppressed as typed stays refused as typed. Before store format
6 a domain was kept as typed, so a full-width ``ann@ｘ.com`` from an input method was a key of
its own; it is ``ann@x.com`` now, and nothing in that value says how it was typed. A line's
typed e-mails are checked under the keys that release matched them on, wherever the line
arrives (a push, a folder load), on SQLite and MongoDB."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import open_privacy
from membergraph.privacy.gate import screen
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.stores import ADAPTERS, open_store

AT = "2026-11-01T10:00:00Z"
TYPED = "Ann@ｘｍａｉｌ.com"  # full-width letters in the domain, as an input method types them
OLDER_KEY = "ann@ｘｍａｉｌ.com"  # what a release before format 6 matched it on
HERS: list[tuple[SourceName, BaseModel]] = [
    (SourceName.CRM, CrmContact(contact_id="C-ANN", emails=[TYPED], updated_at=AT)),
    (
        SourceName.TRANSACTIONS,
        Transaction(
            transaction_id="T-ANN", email=TYPED, channel="online", occurred_at=AT, amount_cents=1
        ),
    ),
    (
        SourceName.WEB_ANALYTICS,
        WebEvent(
            event_id="E-ANN", anonymous_id="a-ann", email=TYPED, type="identify", occurred_at=AT
        ),
    ),
    (
        SourceName.CALL_CENTER,
        CallInteraction(
            interaction_id="I-ANN", account_ref={"kind": "email", "value": TYPED}, started_at=AT
        ),
    ),
]


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_line_typed_as_an_older_release_suppressed_it_is_refused(
    kind: str, tmp_path: Path
) -> None:
    async with open_store(kind, tmp_path) as identity:
        privacy = await open_privacy(identity, Settings())
        # Given her e-mail suppressed by an older release, under the key it matched it on
        await privacy.suppressor.suppress([(IdentifierKind.EMAIL, OLDER_KEY)], "dpo")
        for source, line in HERS:
            # When a line of any source gives it again as she typed it
            taken, refused = await screen(privacy, source, [("hers", line)], "US")
            # Then it is refused, as before the upgrade
            assert refused == ["hers"], source
        # And a line giving another address is taken
        other = CrmContact(contact_id="C-BO", emails=["bo@ｘｍａｉｌ.com"], updated_at=AT)
        assert (await screen(privacy, SourceName.CRM, [("his", other)], "US"))[1] == []


async def _suppressed_and_given_again(tmp_path: Path, *others: Transaction) -> Path:
    """A store whose older release suppressed her e-mail as typed, and a folder whose
    online order gives it so again (then ``others``' orders); the folder."""
    async with SqliteStore(str(tmp_path / "store.db")) as identity:
        privacy = await open_privacy(identity, Settings())
        await privacy.suppressor.suppress([(IdentifierKind.EMAIL, OLDER_KEY)], "dpo")
    data = tmp_path / "data"
    data.mkdir()
    lines = [orjson.dumps(o.model_dump(mode="json")) + b"\n" for o in (HERS[1][1], *others)]
    (data / "transactions.jsonl").write_bytes(b"".join(lines))
    return data


async def test_a_folder_line_typed_as_an_older_release_suppressed_it_is_not_loaded(
    tmp_path: Path,
) -> None:
    # Given a store whose older release suppressed her e-mail as typed, and a folder whose
    # online order gives it so again
    data = await _suppressed_and_given_again(tmp_path)
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'store.db'}", cache_dir=tmp_path / "cache"
    )
    # When the gateway loads the folder
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Then her order makes no member: it is left out as suppressed
        find = 'query { memberByIdentifier(kind: EMAIL, value: "ann@xmail.com") { id } }'
        assert gql(client, find)["data"] == {"memberByIdentifier": None}


async def test_membergraph_resolve_leaves_out_a_line_typed_as_an_older_release_suppressed_it(
    tmp_path: Path,
) -> None:
    # Given the same store and folder (her order and a stranger's), read by the batch resolver
    order = HERS[1][1]
    assert isinstance(order, Transaction)
    other = order.model_copy(update={"transaction_id": "T-BO", "email": "bo@xmail.com"})
    data = await _suppressed_and_given_again(tmp_path, other)
    out = tmp_path / "members.jsonl"
    # When `membergraph resolve` runs over them
    store = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["resolve", "--data", str(data), "--out", str(out), "--store", store]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    # Then her order is answered suppressed, made no member, and the stranger's is resolved
    answers = {a["id"]: a for a in map(orjson.loads, out.read_bytes().splitlines())}
    assert "suppressed" in answers["T-ANN"] and answers["T-ANN"]["member_id"] is None
    assert answers["T-BO"]["member_id"]
