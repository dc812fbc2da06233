"""The response cache's answers kept in the store, over real HTTP: served by any process
until a change to a member they read (on the process that made it, before it is
acknowledged; on another at once), never one caller's to a caller who sees differently, not
an answer that found nobody, within their bound on disk, and made ahead by a warm."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.api.test_response_cache import (
    CONTACT,
    KEYS,
    MASKED,
    PROFILE,
    UNMASKED,
    Client,
    _points,
    _purchase,
    demo_emails,
)
from tests.support.http import serving
from tests.support.serve import serve_ready, until

# The first level (each process's memory) off: every hit below is the store's.
STORED = {"response_cache_entries": 0, "response_cache_stored_entries": 1000}


@pytest.fixture
def keyed(settings: Settings, data_dir: Path) -> Settings:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(CONTACT) + b"\n")
    keys = Settings(api_keys=KEYS).api_keys
    return settings.model_copy(update={"api_keys": keys, **STORED})


def _kept(client: Client, at_least: int = 1) -> int:
    """The answers the store holds once ``at_least`` were written (they are written after
    the answer is sent)."""
    return until(lambda: client.cache("stored_kept") >= at_least and client.cache("stored_kept"))


def test_a_kept_answer_is_served_until_a_purchase_and_not_after_it_is_acknowledged(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    with serving(create_app(keyed)) as address:
        client = connect(address)
        before = _points(client.profile())
        _kept(client)
        # A body that differs only in a variable the operation does not declare (GraphQL
        # ignores it) is the same answer
        answer = client.http.post(
            "/graphql",
            json={"query": PROFILE, "variables": {"e": CONTACT["emails"][0], "request": 7}},
        )
        assert _points(answer.json()["data"]["memberByIdentifier"]) == before
        assert client.cache("stored_hits") == 1
        client.ingest("transactions", _purchase(1, 25))
        assert _points(client.profile()) == before + 25  # the very next request
        assert client.cache("stored_hits") == 1


def test_another_process_serves_the_kept_answer_and_not_once_a_change_is_committed(
    data_dir: Path, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(CONTACT) + b"\n")
    store = tmp_path / "one.db"
    settings = {k: str(v) for k, v in STORED.items()} | {"api_keys": orjson.dumps(KEYS).decode()}
    with (
        serve_ready(data_dir, store, **settings) as (a, _),
        serve_ready(data_dir, store, **settings) as (b, _),
    ):
        through_a, read_on_b = connect(a), connect(b)
        before = _points(through_a.profile())
        _kept(through_a)
        assert _points(read_on_b.profile()) == before
        assert read_on_b.cache("stored_hits") == 1  # made by A, served by B
        through_a.ingest("transactions", _purchase(3, 40))
        # B answers the new figure at once: the store checks its feed at each read
        assert _points(read_on_b.profile()) == before + 40
        assert read_on_b.cache("stored_hits") == 1


def test_another_spelling_of_the_value_is_served_the_answer_kept(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    # Given the answer to a lookup by the e-mail as the store holds it, kept
    with serving(create_app(keyed)) as address:
        client = connect(address)
        kept = client.http.post(
            "/graphql", json={"query": PROFILE, "variables": {"e": CONTACT["emails"][0]}}
        )
        _kept(client)
        # When a client sends it as typed somewhere else (a capital, a space, a zero-width
        # space that a form pasted), which the lookup normalizes as at ingestion
        typed = " Cas.Che@Cheshire-Cats.NET\u200b"
        answer = client.http.post("/graphql", json={"query": PROFILE, "variables": {"e": typed}})
        # Then the store serves the same answer, not one made again
        assert answer.content == kept.content
        assert client.cache("stored_hits") == 1
        # while a query that reads the variable beside the lookup (its answer may depend on
        # the value as sent) keeps an answer for each spelling
        twice = PROFILE.replace(
            "records { source key }", "explain(record: {source: CRM, key: $e}) { __typename }"
        )
        for n, value in enumerate((CONTACT["emails"][0], typed)):
            sent = client.http.post("/graphql", json={"query": twice, "variables": {"e": value}})
            assert "errors" not in sent.json()
            _kept(client, 2 + n)
        assert client.cache("stored_hits") == 1


TIER = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id loyalty { tier } } }"""


def _tier(client: Client) -> str:
    answer = client.http.post(
        "/graphql", json={"query": TIER, "variables": {"e": CONTACT["emails"][0]}}
    )
    return answer.json()["data"]["memberByIdentifier"]["loyalty"]["tier"]  # type: ignore[no-any-return]


def test_a_gateway_under_another_loyalty_program_serves_none_of_the_old_answers(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    # Given an answer kept by a gateway under the default tiers
    with serving(create_app(keyed)) as address:
        client = connect(address)
        assert _tier(client) == "BRONZE"
        _kept(client)
        assert _tier(client) == "BRONZE" and client.cache("stored_hits") == 1
    # When a gateway starts over the store with other tiers (a restart, a rolling deploy)
    renamed = keyed.model_copy(update={"tiers": {"MEMBER": 0, "STAR": 100_000}})
    with serving(create_app(renamed)) as address:
        client = connect(address)
        # Then it answers by its own program, never with the answer the other one made
        assert _tier(client) == "MEMBER"
        assert client.cache("stored_hits") == 0


def test_callers_who_may_see_different_things_never_share_a_kept_answer(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    with serving(create_app(keyed)) as address:
        masked, unmasked = connect(address, MASKED), connect(address, UNMASKED)
        assert masked.profile()["profile"]["email"]["value"] == "c***@cheshire-cats.net"  # type: ignore[index]
        _kept(masked)
        for _ in range(2):
            assert unmasked.profile()["profile"]["email"]["value"] == "cas.che@cheshire-cats.net"  # type: ignore[index]
        assert masked.cache("stored_hits") == 0
        # An unmasked answer is never kept (the audit of personal data read sees every read)
        assert masked.profile()["profile"]["email"]["value"] == "c***@cheshire-cats.net"  # type: ignore[index]
        assert masked.cache("stored_hits") == 1
        assert masked.cache("stored_kept") == 1


def test_a_lookup_that_found_nobody_is_not_kept_and_the_member_who_arrives_is_found(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    with serving(create_app(keyed)) as address:
        client = connect(address)
        assert client.profile("new.comer@cheshire-cats.net") is None
        client.profile()
        _kept(client)  # (the write after the lookup of nobody is done: nothing of it kept)
        assert client.cache("stored_entries") == 1
        client.ingest(
            "crm",
            {"contact_id": "C-NEW", "first_name": "New", "emails": ["new.comer@cheshire-cats.net"]},
        )
        assert client.profile("new.comer@cheshire-cats.net") is not None


def test_the_kept_answers_stay_within_their_bound(
    keyed: Settings, demo_source: Path, connect: Callable[..., Client]
) -> None:
    emails = demo_emails(demo_source, 12)
    bounded = keyed.model_copy(update={"response_cache_stored_entries": 3})
    with serving(create_app(bounded)) as address:
        client = connect(address)
        for n, email in enumerate(emails):
            client.profile(email)
            until(lambda n=n: client.cache("stored_kept") + client.cache("stored_stale") > n)
        kept = client.cache("stored_kept")
        assert kept >= 6
        assert client.cache("stored_entries") <= 3
        assert client.cache("stored_evictions") >= kept - 3


def test_a_store_made_before_the_kept_answers_gets_them_as_it_opens(
    keyed: Settings, connect: Callable[..., Client]
) -> None:
    # Given a store as the release before left it (no answers tables)
    with serving(create_app(keyed)) as address:
        connect(address).profile()
    path = keyed.store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE answers")
        db.execute("DROP TABLE answer_members")
    # When a gateway starts over it, it serves and keeps answers as over a new one
    with serving(create_app(keyed)) as address:
        client = connect(address)
        before = client.profile()
        _kept(client)
        assert client.profile() == before
        assert client.cache("stored_hits") == 1
