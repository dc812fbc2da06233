"""Persisted queries over real HTTP: Apollo's automatic protocol (hash first, text once),
GET by hash for CDNs, and the allow-list mode for public frontends."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.persisted import PersistedQueries, PersistedQueryError, sha256
from membergraph.settings import Settings, SettingsError, load_settings

QUERY = "{ members(first: 2) { totalCount edges { node { id } } } }"
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
OTHER = "{ members(first: 1) { edges { node { id } } } }"


def _pq(hash_: str = HASH) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": hash_}}


def test_an_unknown_hash_asks_for_the_text_then_the_hash_alone_runs(client: TestClient) -> None:
    first = client.post("/graphql", json={"extensions": _pq()}).json()
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    registered = client.post("/graphql", json={"query": QUERY, "extensions": _pq()}).json()
    by_hash = client.post("/graphql", json={"extensions": _pq()}).json()
    assert by_hash["data"] == registered["data"]
    assert len(by_hash["data"]["members"]["edges"]) == 2

    # GET with the hash only: a URL a CDN can cache; no GraphiQL page for it.
    got = client.get(
        "/graphql",
        params={"extensions": json.dumps(_pq())},
        headers={"accept": "*/*"},
    )
    assert got.status_code == 200
    assert got.json()["data"] == registered["data"]


def test_a_text_that_does_not_hash_to_the_hash_is_refused(client: TestClient) -> None:
    response = client.post(
        "/graphql",
        json={"query": OTHER, "extensions": _pq()},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert error["message"] == "provided sha does not match query"
    # And nothing was registered under that hash.
    again = client.post("/graphql", json={"extensions": _pq()}).json()
    assert again["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": HASH}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": "yes"},
    ],
)
def test_a_malformed_persisted_query_is_a_coded_error(
    client: TestClient, extensions: dict[str, object]
) -> None:
    body = client.post("/graphql", json={"query": QUERY, "extensions": extensions}).json()
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "persistedQuery" in body["errors"][0]["message"]


def _manifest(tmp_path: Path, *bodies: str) -> Path:
    path = tmp_path / "operations.json"
    operations = [
        {"id": hashlib.sha256(b.encode()).hexdigest(), "name": None, "type": "query", "body": b}
        for b in bodies
    ]
    path.write_bytes(
        orjson.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


def test_allow_list_mode_runs_only_registered_operations(
    settings: Settings, tmp_path: Path
) -> None:
    only = settings.model_copy(
        update={"persisted_queries": _manifest(tmp_path, QUERY), "persisted_queries_only": True}
    )
    with TestClient(create_app(only), base_url="http://127.0.0.1") as client:
        by_hash = client.post("/graphql", json={"extensions": _pq()}).json()
        assert len(by_hash["data"]["members"]["edges"]) == 2
        # The registered text itself runs too (it is the same operation).
        assert client.post("/graphql", json={"query": QUERY}).json()["data"]
        for body in (
            {"query": OTHER},
            {"query": OTHER, "extensions": _pq(hashlib.sha256(OTHER.encode()).hexdigest())},
        ):
            refused = client.post("/graphql", json=body).json()
            assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
            assert not refused.get("data")


def test_a_broken_manifest_or_allow_list_without_one_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"operations": [{"id": "00", "body": "{ __typename }"}]}')
    with pytest.raises(SettingsError, match="not the body's sha256"):
        load_settings(persisted_queries=bad)
    with pytest.raises(SettingsError, match="MEMBERGRAPH_PERSISTED_QUERIES"):
        load_settings(persisted_queries_only=True)
    # A missing file is named once, with why
    missing = tmp_path / "missing.json"
    with pytest.raises(SettingsError) as refused:
        load_settings(persisted_queries=missing)
    assert str(refused.value).count(str(missing)) == 1, refused.value
    assert "No such file or directory" in str(refused.value)


def test_what_callers_register_is_bounded_by_its_text_not_only_by_count() -> None:
    # Given a process's registry, and a caller (any key, or a frontend's token) registering
    # queries padded with a megabyte of comment each: 10,000 of them were 10 GB of memory
    queries = PersistedQueries()
    padded = ["#" + "x" * 1024 * 1024 + "\n{ __typename } # " + str(i) for i in range(40)]
    for text in padded:
        assert queries.query_for(text, _pq(sha256(text))) == text
    # When the first is asked by its hash alone, then it was let go: its client sends the
    # text again, as Apollo's protocol has it; the latest are kept
    with pytest.raises(PersistedQueryError) as refused:
        queries.query_for(None, _pq(sha256(padded[0])))
    assert refused.value.code == "PERSISTED_QUERY_NOT_FOUND"
    assert queries.query_for(None, _pq(sha256(padded[-1]))) == padded[-1]
