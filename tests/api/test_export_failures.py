"""An export is whole or visibly not: a CRM (a real local HTTP API) that goes down part-way
through an export cuts the HTTP answer off (no last chunk, no trailer) and makes
``membergraph export`` exit 1 leaving no file; down before the first byte, a 503."""

from __future__ import annotations

import csv
import io
import re
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from membergraph import export
from membergraph.app import create_app
from membergraph.cli import app
from membergraph.demo import write_demo_data
from membergraph.export import PAGE
from membergraph.settings import Settings
from tests.conftest import current_contacts
from tests.connectors.api_server import SourceApi
from tests.support.export import whole_export
from tests.support.http import serving, serving_server

PEOPLE = 700  # about 1,150 members: two pages of the export


@pytest.fixture(scope="module")
def big_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big-demo")
    write_demo_data(folder, PEOPLE, seed=11)
    return folder


@dataclass
class Crm:
    api: SourceApi
    settings: Settings
    given: str  # MEMBERGRAPH_HTTP_SOURCES


@pytest.fixture
def crm(big_demo: Path, tmp_path: Path) -> Iterator[Crm]:
    """The demo's CRM behind a real local API, synced into the store (every contact looked
    up a page of members at a time: ``batch_size`` 1,000 is one lookup per export page)."""
    data = tmp_path / "data"
    shutil.copytree(big_demo, data)
    contacts = current_contacts(data / "crm.jsonl")
    (data / "crm.jsonl").unlink()
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    with serving_server(api.app) as (address, server):
        api.down = lambda: setattr(server, "should_exit", True)
        given = {"crm": {"base_url": f"http://{address}", "retries": 1, "batch_size": 1000}}
        store = f"sqlite:///{tmp_path / 'identity.db'}"
        env = {"MEMBERGRAPH_HTTP_SOURCES": orjson.dumps(given).decode()}
        args = ["sync", "--once", "--data", str(data), "--store", store]
        synced = CliRunner().invoke(app, args, env=env)
        assert synced.exit_code == 0, synced.output
        settings = Settings(
            data=data,
            store=store,
            cache_dir=tmp_path / "cache",
            http_sources=Settings(http_sources=given).http_sources,
        )
        yield Crm(api, settings, env["MEMBERGRAPH_HTTP_SOURCES"])


def _quiet(api: SourceApi) -> None:
    """Wait until nothing (the scores measuring synced members) calls the API for 0.2 s."""
    for _ in range(150):
        api.requests.clear()
        time.sleep(0.2)
        if not api.requests:
            return
    raise AssertionError("the CRM API was still being called after 30 s")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_crm_going_down_mid_export_cuts_the_answer_off(crm: Crm, suffix: str) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    with serving(create_app(crm.settings)) as address:
        url = f"http://{address}/export/members.{suffix}"
        # Given a whole export says it is whole: the CSV's trailer, the Parquet footer
        whole = httpx.get(url, timeout=60)
        assert whole.status_code == 200, whole.text
        if suffix == "csv":
            assert len(whole_export(whole.text)) > PAGE
        else:
            footer = pq.read_metadata(io.BytesIO(whole.content)).metadata
            assert footer[b"membergraph.complete"] == b"true"
            assert int(footer[b"membergraph.members"]) > PAGE
        # When the CRM answers the first page's lookup and then goes down
        _quiet(crm.api)
        crm.api.lookups_left = 1
        received = b""
        with (
            pytest.raises(httpx.RemoteProtocolError, match="incomplete"),
            httpx.stream("GET", url, timeout=60) as response,
        ):
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                received += chunk
    # then the client is told the body is incomplete, and what arrived cannot pass for whole
    assert received
    if suffix == "csv":
        assert "# end of export" not in received.decode()
        assert 0 < len(_rows(received.decode())) <= PAGE
    else:
        with pytest.raises(Exception, match="(?i)parquet"):
            pq.read_metadata(io.BytesIO(received))


def test_a_crm_down_before_the_first_byte_is_a_503(crm: Crm) -> None:
    with serving(create_app(crm.settings)) as address:
        _quiet(crm.api)
        crm.api.lookups_left = 0
        response = httpx.get(f"http://{address}/export/members.csv", timeout=60)
    assert response.status_code == 503
    assert response.json()["code"] == "SOURCE_UNAVAILABLE"
    assert "crm" in response.json()["error"]


def test_the_cli_exits_1_and_leaves_no_file_when_the_crm_goes_down(
    crm: Crm, tmp_path: Path
) -> None:
    out = tmp_path / "members.csv"
    env = {"MEMBERGRAPH_HTTP_SOURCES": crm.given}
    args = ["export", "--data", str(crm.settings.data), "--store", crm.settings.store]
    # Given the CLI writes a whole export when the CRM answers
    done = CliRunner().invoke(app, [*args, "--out", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert out.read_text().splitlines()[-1].startswith("# end of export: ")
    out.unlink()
    # When the CRM goes down after the first page
    _quiet(crm.api)
    crm.api.lookups_left = 1
    failed = CliRunner().invoke(app, [*args, "--out", str(out)], env=env)
    # then it says so and exits 1, and no file could pass for the export
    assert failed.exit_code == 1, failed.output
    said = " ".join(failed.output.split())
    assert f"stopped after {PAGE} members: source crm" in said and "was not written" in said
    assert not out.exists()
    assert list(tmp_path.glob("*.part")) == list(tmp_path.glob(".*.part")) == []


def test_a_client_hanging_up_stops_the_export_at_its_next_page(
    crm: Crm, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn drops what is sent after a client left without a word: the export read every
    member to the end for no one, counted as a whole 200 export."""
    monkeypatch.setattr(export.member_pages, "__defaults__", (100,))  # a dozen pages
    with serving(create_app(crm.settings)) as address:
        _quiet(crm.api)
        whole = httpx.get(f"http://{address}/export/members.csv", timeout=60)
        assert whole.status_code == 200
        pages = len(crm.api.requests)  # the CRM is asked once a page
        _quiet(crm.api)
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=60) as conn:
            conn.sendall(f"GET /export/members.csv HTTP/1.1\r\nHost: {address}\r\n\r\n".encode())
            assert conn.recv(12) == b"HTTP/1.1 200"  # the first page was read: hang up
        ended: list[str] = []
        for _ in range(600):  # until the export has ended, one way or the other
            metrics = httpx.get(f"http://{address}/metrics").text
            ended = [
                status
                for line in metrics.splitlines()
                if line.startswith("membergraph_http_request_seconds_count")
                and 'route="/export"' in line
                for status in re.findall(r'status="(\d+)"', line)
            ]
            if len(ended) > 1:
                break
            time.sleep(0.1)
    # The export ended as the client's (499), not as a whole one, a page or two after the
    # client left (the one read while the hang-up travelled), not at the end of the store
    assert sorted(ended) == ["200", "499"], ended
    assert pages >= 10 and len(crm.api.requests) <= 3, (pages, crm.api.requests)
    assert not [r for r in caplog.records if r.exc_info]
