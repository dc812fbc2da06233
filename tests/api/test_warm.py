"""``membergraph warm``: a persisted query answered ahead for every identifier it looks up,
kept in the store, served by a gateway that never computed it."""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from membergraph.app import create_app
from membergraph.persisted import sha256
from membergraph.response_cache.warm import WarmError, warm
from membergraph.settings import Settings
from tests.api.test_response_cache import CONTACT, KEYS, PROFILE, Client
from tests.support.http import serving

NAMED = PROFILE.replace("query (", "query Profile (", 1)
BY_ID = "query ById($id: ID!) { member(id: $id) { id loyalty { pointsBalance } } }"


@pytest.fixture
def warmable(settings: Settings, data_dir: Path, tmp_path: Path) -> Settings:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(CONTACT) + b"\n")
    manifest = tmp_path / "manifest.json"
    operations = [
        {"id": sha256(q), "name": n, "body": q} for n, q in (("Profile", NAMED), ("ById", BY_ID))
    ]
    manifest.write_bytes(
        orjson.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return settings.model_copy(
        update={
            "api_keys": Settings(api_keys=KEYS).api_keys,
            "persisted_queries": manifest,
            "response_cache_entries": 0,
            "response_cache_stored_entries": 100_000,
        }
    )


async def _warm(
    settings: Settings, *operations: str, caller: str | None = "personalization"
) -> int:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        done = await warm(app, settings, operations, caller)
    return sum(each.kept for each in done)


async def test_a_warmed_profile_is_served_from_the_store_at_its_first_ask(
    warmable: Settings, connect: Callable[..., Client]
) -> None:
    kept = await _warm(warmable, "Profile")
    assert kept > 100  # every e-mail of the demo's 150 people but shared ones
    with serving(create_app(warmable)) as address:
        client = connect(address)
        # the text as a client sends it, not the manifest's hash: the same key
        answer = client.http.post(
            "/graphql", json={"query": NAMED, "variables": {"e": CONTACT["emails"][0]}}
        ).json()
        assert (
            answer["data"]["memberByIdentifier"]["profile"]["email"]["value"]
            == "c***@cheshire-cats.net"
        )
        assert (client.cache("stored_hits"), client.cache("stored_misses")) == (1, 0)


async def test_a_warm_run_again_makes_every_answer_again(warmable: Settings) -> None:
    # Given the store's answers made by a warm
    first = await _warm(warmable, "Profile")
    # When a warm runs again before they expire (as often as their TTL asks)
    again = await _warm(warmable, "Profile")
    # Then it writes each again (each then lives a TTL from this warm), not one read back
    # from the store with the first warm's expiry
    assert again == first > 100


async def test_a_warm_by_member_id_keeps_one_answer_per_member(warmable: Settings) -> None:
    assert await _warm(warmable, "ById") >= 150


@pytest.mark.parametrize(
    ("operations", "caller", "said"),
    [
        pytest.param(("Nope",), "personalization", "no operation 'Nope'", id="unknown-operation"),
        pytest.param(("Profile",), "nobody", "no API key is named 'nobody'", id="unknown-caller"),
        pytest.param(("Profile",), None, "name the API key", id="no-caller"),
        pytest.param(("Profile",), "dpo", "never kept", id="a-pii-reader"),
    ],
)
async def test_a_warm_that_cannot_run_says_why(
    warmable: Settings, operations: tuple[str, ...], caller: str | None, said: str
) -> None:
    with pytest.raises(WarmError, match=said):
        await _warm(warmable, *operations, caller=caller)


async def test_a_warm_without_credentials_says_no_answer_would_be_kept(warmable: Settings) -> None:
    # The demo: every caller reads unmasked, and such answers are never kept (user23 saw
    # "53 asked, 0 kept" and exit 0)
    demo = warmable.model_copy(update={"api_keys": {}})
    with pytest.raises(WarmError, match="without credentials every caller"):
        await _warm(demo, "Profile", caller=None)


async def test_a_warm_without_answers_in_the_store_says_which_setting(warmable: Settings) -> None:
    off = warmable.model_copy(update={"response_cache_stored_entries": 0})
    with pytest.raises(WarmError, match="MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES"):
        await _warm(off, "Profile")


def _answers(settings: Settings) -> tuple[int, int]:
    """The answers the store keeps, and their distinct keys."""
    path = settings.store.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT count(*), count(DISTINCT key) FROM answers").fetchone()


async def test_warms_sharing_the_values_ask_each_once_between_them(warmable: Settings) -> None:
    # Given the answers one warm keeps
    whole = await _warm(warmable, "Profile")
    held = _answers(warmable)
    # When two warms each take their share (as `membergraph warm --jobs 2` runs them)
    app = create_app(warmable)
    async with app.router.lifespan_context(app):
        halves = [
            (await warm(app, warmable, ["Profile"], "personalization", share=(k, 2)))[0]
            for k in range(2)
        ]
    # Then each asked a part, together every value once, and the store keeps one answer
    # per lookup, as many as the one warm kept
    assert all(0 < half.asked < whole for half in halves)
    assert sum(half.kept for half in halves) == whole
    assert _answers(warmable) == held == (whole, whole)


async def test_a_warm_asks_each_e_mail_once_whatever_its_spellings(warmable: Settings) -> None:
    # Given a store whose e-mails are held in several spellings a lookup finds alike
    # (the demo's ``Jo.E@x.org`` beside ``joe@x.org``: one match key)
    app = create_app(warmable)
    async with app.router.lifespan_context(app):
        # When a warm answers the profile for every e-mail
        done = (await warm(app, warmable, ["Profile"], "personalization"))[0]
    path = warmable.store.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(path)) as db:
        values, keys = db.execute(
            "SELECT count(DISTINCT value), count(DISTINCT key) FROM identifiers"
            " WHERE kind = 'EMAIL'"
        ).fetchone()
    # Then it asked each match key once (its answer serves every spelling), not each value
    assert values > keys
    assert done.asked == keys


def test_warm_with_jobs_keeps_one_answer_per_lookup_and_they_are_served(
    warmable: Settings, connect: Callable[..., Client]
) -> None:
    # Given the settings of a deployment keeping answers in the store
    env = {
        **os.environ,
        "MEMBERGRAPH_API_KEYS": orjson.dumps(
            {k: v.model_dump(mode="json") for k, v in warmable.api_keys.items()}
        ).decode(),
        "MEMBERGRAPH_PERSISTED_QUERIES": str(warmable.persisted_queries),
        "MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES": "100000",
        "MEMBERGRAPH_STORE": warmable.store,
        "MEMBERGRAPH_CACHE_DIR": str(warmable.cache_dir),
    }
    # When `membergraph warm --jobs 2` runs (two processes, each its share)
    command = [sys.executable, "-m", "membergraph.cli", "warm", "--data", str(warmable.data)]
    command += ["--query", "Profile", "--as", "personalization", "--jobs", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    said = re.search(r"Profile: (\d+) asked, (\d+) kept in the store", done.stderr)
    assert said is not None, done.stderr
    # Then the store keeps one answer per e-mail, all the processes' together
    asked, kept = int(said.group(1)), int(said.group(2))
    assert asked > 100 and _answers(warmable) == (kept, kept) and kept > 100
    # and a gateway serves one from the store at its first ask
    with serving(create_app(warmable)) as address:
        client = connect(address)
        answer = client.http.post(
            "/graphql", json={"query": NAMED, "variables": {"e": CONTACT["emails"][0]}}
        ).json()
        assert answer["data"]["memberByIdentifier"]["id"]
        assert (client.cache("stored_hits"), client.cache("stored_misses")) == (1, 0)
