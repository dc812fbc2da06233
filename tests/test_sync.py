"""``membergraph sync`` against a real local CRM API: a first sync takes every contact, the
next reads only what changed, a killed sync resumes at its page (nothing lost, nothing
applied twice), and ``serve`` lists no HTTP source at its start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.models import SourceName
from membergraph.gateway import open_gateway
from membergraph.identity.store import StoreError, store_from_url
from membergraph.ingest import IngestRefused
from membergraph.settings import Settings
from membergraph.sync import SourceSync
from tests.conftest import current_contacts, gql
from tests.connectors.api_server import SourceApi
from tests.support.http import serving
from tests.support.mongo import EmulatedClient, load
from tests.support.serve import until

PAGE = 20


@pytest.fixture
def crm_api(data_dir: Path) -> Iterator[tuple[SourceApi, dict[str, str]]]:
    """The CRM behind a real API (its file removed from the folder), and the environment
    that names it: pages of 20, changed lines asked with updated_since."""
    contacts = current_contacts(data_dir / "crm.jsonl")
    (data_dir / "crm.jsonl").unlink()
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    with serving(api.app) as address:
        config = {"base_url": f"http://{address}", "page_size": PAGE, "retries": 0}
        config["since_param"] = "updated_since"
        yield api, {"MEMBERGRAPH_HTTP_SOURCES": orjson.dumps({"crm": config}).decode()}


def _sync(settings: Settings, env: dict[str, str]) -> str:
    store = settings.store
    args = ["sync", "--once", "--data", str(settings.data), "--store", store]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _listing(api: SourceApi) -> list[dict[str, object]]:
    return [r for r in api.requests if r["path"] == "/crm/all"]


def _crm_feed(store_url: str) -> Counter[str]:
    async def read() -> Counter[str]:
        store = store_from_url(store_url)
        await store.open()
        try:
            entries = await store.feed_after(0, 100_000)
        finally:
            await store.aclose()
        return Counter(e.line_id for e in entries if e.source == "crm" and e.line_id)

    return asyncio.run(read())


def test_a_first_sync_takes_every_contact_and_the_next_only_what_changed(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]]
) -> None:
    api, env = crm_api
    contacts = api.lines
    first = _sync(settings, env)
    pages = -(-len(contacts) // PAGE)
    assert f"{pages} page(s), created {len(contacts)}" in first
    assert len(_listing(api)) == pages and _listing(api)[0]["since"] is None

    # Two contacts change (a new e-mail, a new name), one arrives.
    changed = [dict(contacts[0]), dict(contacts[1])]
    changed[0].update(emails=["ann.new@mail-example.org"], updated_at="2026-12-01T10:00:00Z")
    changed[1].update(last_name="Renamed", updated_at="2026-12-01T11:00:00Z")
    arrived = {**contacts[2], "contact_id": "C-NEW-1", "emails": ["new.one@mail-example.org"]}
    arrived.update(loyalty_id=None, updated_at="2026-12-01T12:00:00Z")
    api.lines = [*changed, *contacts[2:], arrived]
    newest = max(str(c["updated_at"]) for c in contacts)
    api.requests.clear()
    second = _sync(settings, env)
    (asked,) = _listing(api)  # one page: only what changed since the newest line seen
    assert asked["since"] == newest
    assert "created 1" in second and "updated 2" in second
    assert "unchanged 1" in second  # the newest line of the first pass, its very instant

    # Nothing changed: one request, one boundary line, no change.
    api.requests.clear()
    third = _sync(settings, env)
    assert len(_listing(api)) == 1 and "unchanged 1" in third and "created" not in third

    feed = _crm_feed(settings.store)
    assert sum(feed.values()) == len(contacts) + 3  # each line once, each update once more
    api.requests.clear()
    with TestClient(
        create_app(settings.model_copy(update=_http(env))), base_url="http://127.0.0.1"
    ) as c:
        assert not _listing(api), "serve listed the CRM API at its start"
        found = gql(
            c, '{ memberByIdentifier(kind: EMAIL, value: "ann.new@mail-example.org") { id } }'
        )
        assert found["data"]["memberByIdentifier"] is not None  # type: ignore[index]
        found = gql(c, '{ memberByIdentifier(kind: CRM_ID, value: "C-NEW-1") { id } }')
        assert found["data"]["memberByIdentifier"] is not None  # type: ignore[index]


def test_a_killed_sync_resumes_at_its_page_and_repeats_nothing(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]]
) -> None:
    api, env = crm_api
    api.stall_after = str(3 * PAGE)  # the fourth page never comes: killed while waiting
    command = [sys.executable, "-m", "membergraph.cli", "sync", "--once"]
    command += ["--data", str(settings.data), "--store", settings.store]
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert until(lambda: any(r["after"] == api.stall_after for r in _listing(api)), 120)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
        assert process.stderr is not None
        process.stderr.close()
    api.stall_after = None
    before = len(_listing(api))
    resumed = _sync(settings, env)
    asked = _listing(api)[before:]
    assert asked[0]["after"] == str(3 * PAGE)  # resumed at the page it was reading
    assert "created " + str(len(api.lines) - 3 * PAGE) in resumed
    assert "unchanged" not in resumed  # no page taken before the kill came again
    feed = _crm_feed(settings.store)
    assert len(feed) == len(api.lines) and set(feed.values()) == {1}


def test_sync_without_an_http_source_says_so(settings: Settings) -> None:
    result = CliRunner().invoke(
        app, ["sync", "--once", "--data", str(settings.data), "--store", settings.store]
    )
    assert result.exit_code == 2 and "MEMBERGRAPH_HTTP_SOURCES" in result.output
    # and nothing is made: no store file where none was
    assert not Path(settings.store.removeprefix("sqlite:///")).exists()


def _http(env: dict[str, str]) -> dict[str, object]:
    raw = orjson.loads(env["MEMBERGRAPH_HTTP_SOURCES"])
    return {"http_sources": Settings(http_sources=raw).http_sources}


def test_an_erasure_deletes_the_synced_copy_of_a_contact(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]]
) -> None:
    api, env = crm_api
    _sync(settings, env)
    contact = str(api.lines[0]["contact_id"])
    path = settings.store.removeprefix("sqlite:///")

    def held() -> int:
        with contextlib.closing(sqlite3.connect(path)) as db:
            query = "SELECT count(*) FROM source_lines WHERE source = 'crm' AND line_id = ?"
            return int(db.execute(query, (contact,)).fetchone()[0])

    assert held() == 1
    erase = (
        """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-7") { state counts } }"""
    )
    with TestClient(
        create_app(settings.model_copy(update=_http(env))), base_url="http://127.0.0.1"
    ) as c:
        found = gql(c, f'{{ memberByIdentifier(kind: CRM_ID, value: "{contact}") {{ id }} }}')
        member = found["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        request = gql(c, erase, id=member)["data"]["eraseMember"]  # type: ignore[index]
    assert request["counts"]["lines_crm_synced"] == 1
    assert request["state"] == "AWAITING_SOURCES"  # the CRM's own copy is its operator's
    assert held() == 0


async def test_on_mongodb_the_synced_lines_and_checkpoint_live_in_the_sources_database(
    data_dir: Path, tmp_path: Path, crm_api: tuple[SourceApi, dict[str, str]]
) -> None:
    api, env = crm_api
    url = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0"
    client = EmulatedClient()
    await load(data_dir, url, client)  # the CRM file is gone: its API only
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "c", **_http(env))  # type: ignore[arg-type]
    gateway, sources, _ = await open_gateway(settings, client)
    try:
        assert not _listing(api), "a start lists no HTTP source"
        job = SourceSync(gateway)
        first = await job.run_pass(SourceName.CRM)
        again = await job.run_pass(SourceName.CRM)
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()
    assert first.outcomes["created"] == len(api.lines)
    assert again.pages == 1 and set(again.outcomes) == {"unchanged"}
    database = client["membergraph"]
    assert await database["crm"].count_documents({}) == len(api.lines)
    (point,) = [doc async for doc in database["sync_checkpoints"].find({})]
    newest = max(str(c["updated_at"]) for c in api.lines)
    assert orjson.loads(point["value"]) == [None, newest, None]


def test_a_sync_pass_ends_where_the_listings_cursors_come_round(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]]
) -> None:
    # Adversarial pass (hostile19): a listing whose last page named the second page's cursor
    # again was read round and round: `membergraph sync --once` never ended.
    api, env = crm_api
    api.wrap_to = str(PAGE)
    http = settings.model_copy(update=_http(env))

    async def one_pass() -> tuple[int, int]:
        gateway, sources, _ = await open_gateway(http)
        try:
            async with asyncio.timeout(120):  # the old code: round and round until this
                done = await SourceSync(gateway).run_pass(SourceName.CRM)
            return done.pages, done.outcomes["created"]
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()

    pages, created = asyncio.run(one_pass())
    # Then the pass reads each page once and takes every contact
    assert pages == -(-len(api.lines) // PAGE) == len(_listing(api))
    assert created == len(api.lines)


def test_a_sync_pass_whose_listing_comes_back_to_its_start_takes_each_contact_once(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    # user30 8g: the last page named the first page's cursor ("0"), which the pass, started
    # with none, had never been given: the first page was read and taken again ("unchanged").
    api, env = crm_api
    api.wrap_to = "0"
    http = settings.model_copy(update=_http(env))

    async def one_pass() -> Counter[str]:
        gateway, sources, _ = await open_gateway(http)
        try:
            async with asyncio.timeout(120):
                return (await SourceSync(gateway).run_pass(SourceName.CRM)).outcomes
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()

    with caplog.at_level("WARNING", logger="membergraph.connectors.http"):
        outcomes = asyncio.run(one_pass())
    # Then every contact is taken once, none a second time, and the log says where it ended
    assert outcomes == Counter({"created": len(api.lines)})
    assert [r["after"] for r in _listing(api)][-1] == "0"
    assert any("came round" in record.getMessage() for record in caplog.records)


def _store_fails(*_: object, **__: object) -> None:
    raise StoreError("the store went away")


def test_a_sync_cut_short_mid_page_is_finished_by_the_next_start_and_resumed(
    settings: Settings, crm_api: tuple[SourceApi, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, env = crm_api
    http = settings.model_copy(update=_http(env))

    # Given a sync stopped mid-page: the page's lines stored (with their marks), identity
    # not yet written (where a SIGKILL between the two leaves them; the checkpoint is saved
    # only after a page is whole)
    async def cut_short() -> int:
        gateway, sources, _ = await open_gateway(http)
        try:
            with monkeypatch.context() as patch:
                patch.setattr(gateway.identity.store, "apply", _store_fails)
                with pytest.raises(IngestRefused):
                    await SourceSync(gateway).run_pass(SourceName.CRM)
            return len(await gateway.synced[SourceName.CRM].unsettled())  # type: ignore[attr-defined]
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()

    assert asyncio.run(cut_short()) == PAGE
    first_page = [str(c["contact_id"]) for c in api.lines[:PAGE]]
    assert not _crm_feed(settings.store)
    # When the gateway starts (no sync runs)
    with TestClient(create_app(http), base_url="http://127.0.0.1") as client:
        # then the page is whole before it answers: each contact is a member, announced once
        for contact in first_page:
            found = gql(
                client, f'{{ memberByIdentifier(kind: CRM_ID, value: "{contact}") {{ id }} }}'
            )
            assert found["data"]["memberByIdentifier"] is not None, contact  # type: ignore[index]
        held = client.app.state.gateway.synced[SourceName.CRM]  # type: ignore[attr-defined]
        assert client.portal.call(held.unsettled) == [], "no mark is left"  # type: ignore[union-attr]
    assert _crm_feed(settings.store) == Counter(first_page)
    # and the next sync resumes at the page it was taking: the page again (unchanged), then
    # the rest, each line announced once in all
    resumed = _sync(settings, env)
    assert f"unchanged {PAGE}" in resumed
    assert f"created {len(api.lines) - PAGE}" in resumed
    feed = _crm_feed(settings.store)
    assert len(feed) == len(api.lines) and set(feed.values()) == {1}
