"""A gateway whose CRM is an HTTP API (a real local server): its contacts brought to identity
by ``membergraph sync`` (never listed at a start), queried per request, read-only for pushes,
and failing without taking the answer down."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import current_contacts, gql
from tests.connectors.api_server import SourceApi
from tests.support.http import serving


@pytest.fixture
def crm_api(data_dir: Path) -> Iterator[tuple[SourceApi, str]]:
    contacts = current_contacts(data_dir / "crm.jsonl")
    (data_dir / "crm.jsonl").unlink()  # the CRM now lives behind its API only
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    with serving(api.app) as address:
        yield api, f"http://{address}"


PROFILE = """query ($id: String!) { memberByIdentifier(kind: CRM_ID, value: $id) {
  id profile { firstName lastName } } }"""


def _settings(settings: Settings, url: str, **config: Any) -> Settings:
    """The settings with the CRM behind ``url``, once ``membergraph sync`` took its contacts."""
    given = {"crm": {"base_url": url, "retries": 1, **config}}
    args = ["sync", "--once", "--data", str(settings.data), "--store", settings.store]
    env = {"MEMBERGRAPH_HTTP_SOURCES": orjson.dumps(given).decode()}
    synced = CliRunner().invoke(app, args, env=env)
    assert synced.exit_code == 0, synced.output
    http = Settings(http_sources=given).http_sources
    return settings.model_copy(update={"http_sources": http})


def test_members_come_from_the_synced_api_and_profiles_from_lookups(
    settings: Settings, crm_api: tuple[SourceApi, str]
) -> None:
    api, url = crm_api
    contact = api.lines[0]
    secured = _settings(settings, url)
    assert [r for r in api.requests if r["path"] == "/crm/all"], "sync listed the CRM"
    api.requests.clear()
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as http:
        listed = [r for r in api.requests if r["path"] == "/crm/all"]
        assert not listed, "a start lists no HTTP source"
        member = gql(http, PROFILE, id=contact["contact_id"])["data"]["memberByIdentifier"]  # type: ignore[index]
        assert member["profile"]["lastName"] == contact["last_name"]
        lookups = [r for r in api.requests if r["path"] == "/crm/lines"]
        # (a start's background work may look up other contacts, before or after this one)
        assert any(contact["contact_id"] in lookup["keys"] for lookup in lookups)
        pushed = http.post("/ingest/crm", content=orjson.dumps(contact))
        assert pushed.status_code == 409 and "takes no pushed lines" in pushed.json()["error"]


def test_a_failing_crm_api_nulls_only_the_profile_with_a_coded_error(
    settings: Settings, crm_api: tuple[SourceApi, str]
) -> None:
    api, url = crm_api
    contact = api.lines[0]
    with TestClient(create_app(_settings(settings, url)), base_url="http://127.0.0.1") as http:
        api.failures = 100
        body = gql(http, PROFILE, id=contact["contact_id"])
        assert body["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        codes = {e["extensions"]["code"] for e in body["errors"]}  # type: ignore[union-attr]
        assert codes == {"SOURCE_UNAVAILABLE"}


def test_a_page_of_members_costs_one_request_to_the_crm_api(
    settings: Settings, crm_api: tuple[SourceApi, str]
) -> None:
    api, url = crm_api
    query = "{ members(first: 50) { edges { node { id profile { lastName } } } } }"
    with TestClient(create_app(_settings(settings, url)), base_url="http://127.0.0.1") as http:
        # The first analyst answer measures first the members the sync changed (reading
        # their CRM lines); the page after that costs one lookup.
        gql(http, "{ members(first: 1) { totalCount } }")
        _until_quiet(api)
        body = gql(http, query)
        assert "errors" not in body
        names = [e["node"]["profile"]["lastName"] for e in body["data"]["members"]["edges"]]  # type: ignore[index]
        assert len(names) == 50 and any(names)
        lookups = [r for r in api.requests if r["path"] == "/crm/lines"]
        assert len(lookups) == 1, "one batched lookup for the whole page"


def _until_quiet(api: SourceApi) -> None:
    """Wait until no background work (the scores measuring changed members) calls the API
    for a tenth of a second, then forget what it was asked."""
    for _ in range(200):
        api.requests.clear()
        time.sleep(0.1)
        if not api.requests:
            return
    raise AssertionError("the CRM API was still being called after 20 s")
