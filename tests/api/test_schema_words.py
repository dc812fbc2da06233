"""What the API answers is what its schema's descriptions say it may answer."""

from __future__ import annotations

from pathlib import Path

import orjson
from graphql import build_schema as parse_sdl
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.schema import print_sdl
from membergraph.settings import Settings
from tests.api.test_suggestions_api import SOPHI as TYPO_SOPHI
from tests.api.test_suggestions_api import SOPHIE as TYPO_SOPHIE
from tests.conftest import gql

# Sophie's two contacts (a typo apart), both giving the home's phone.
SOPHIE = {**TYPO_SOPHIE, "phones": ["+1 217 555 0142"]}
SOPHI = {**TYPO_SOPHI, "phones": ["+1 217 555 0142"]}


def _description(type_name: str, field: str) -> str:
    found = parse_sdl(print_sdl(), assume_valid_sdl=True).type_map[type_name]
    return str(found.fields[field].description)  # type: ignore[attr-defined]


def test_every_agreement_level_answered_is_described(tmp_path: Path) -> None:
    # Adversarial pass: a phone both contacts carry at one address answered `household`,
    # which FieldAgreement.level's description did not name.
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (SOPHIE, SOPHI)))
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        answer = gql(
            client, "{ matchSuggestions(first: 5) { edges { node { evidence { field level } } } } }"
        )
    evidence = [
        e
        for edge in answer["data"]["matchSuggestions"]["edges"]
        for e in edge["node"]["evidence"]  # type: ignore[index]
    ]
    levels = {e["level"] for e in evidence}
    assert {"field": "phone", "level": "household"} in evidence
    described = _description("FieldAgreement", "level")
    assert [level for level in sorted(levels) if level not in described] == []
