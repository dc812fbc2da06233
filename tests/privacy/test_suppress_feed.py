"""A data-protection officer's ``suppress`` and ``unsuppress`` each put one ``SUPPRESSED``
entry on the change feed, naming the member and the officer (subscribers drop what they
cached of her reachability); asking again for what is already so puts none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from tests.conftest import gql
from tests.privacy.people import add_to_folder
from tests.privacy.test_erasure_split_off import _member, _mongodb, _sqlite

HER = "zephyrine.quill@quillmail.org"
SUPPRESS = "mutation($v: String!) { suppress(kind: EMAIL, value: $v) }"
UNSUPPRESS = "mutation($v: String!) { unsuppress(kind: EMAIL, value: $v) }"
CHANGES = """query($after: String) { changes(after: $after, first: 1000) {
  edges { node { kind memberIds actor } } pageInfo { endCursor } } }"""


def _changes(client: TestClient, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
    page = gql(client, CHANGES, after=after)["data"]["changes"]  # type: ignore[index]
    return [e["node"] for e in page["edges"]], page["pageInfo"]["endCursor"] or after


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_suppress_and_unsuppress_each_announce_the_member_once(tmp_path: Path, layout: Any) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 30, seed=5)
    add_to_folder(folder)
    with (
        layout(folder, tmp_path) as (settings, extra, _),
        TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client,
    ):
        her = _member(client, "EMAIL", HER)["id"]
        _, cursor = _changes(client, None)
        # When her e-mail is suppressed, twice
        assert gql(client, SUPPRESS, v=HER)["data"] == {"suppress": True}
        assert gql(client, SUPPRESS, v=HER.upper())["data"] == {"suppress": False}
        # Then the feed holds one SUPPRESSED entry naming her and who did it
        said, cursor = _changes(client, cursor)
        assert [(c["kind"], c["memberIds"]) for c in said] == [("SUPPRESSED", [her])]
        assert said[0]["actor"]
        # And lifting it is announced once as well
        assert gql(client, UNSUPPRESS, v=HER)["data"] == {"unsuppress": True}
        assert gql(client, UNSUPPRESS, v=HER)["data"] == {"unsuppress": False}
        said, _ = _changes(client, cursor)
        assert [(c["kind"], c["memberIds"]) for c in said] == [("SUPPRESSED", [her])]
