"""Upgrading and changing the rules: a start tells what made the store, and ``membergraph
reresolve`` brings it up in place, all or nothing."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.identity.service import IdentityService
from membergraph.identity.store.format import STORE_FORMAT, StoreMark
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings
from tests.identity.test_card_emails import CARD, SECOND, second_address_folder

STRICT = "hub_max_people = 1\n"  # an e-mail on two people's records links nothing


def _loaded(settings: Settings) -> str:
    store = settings.store
    result = CliRunner().invoke(app, ["load", "--data", str(settings.data), "--to", store])
    assert result.exit_code == 0, result.output
    return store


def _db(store: str) -> Path:
    return Path(store.removeprefix("sqlite:///"))


def _meta(store: str) -> dict[str, str]:
    with sqlite3.connect(_db(store)) as db:
        return dict(db.execute("SELECT key, value FROM meta WHERE key IN ('format', 'rules')"))


def _assignments(store: str) -> dict[tuple[str, str], str | None]:
    with sqlite3.connect(_db(store)) as db:
        rows = db.execute("SELECT source, key, member_id FROM records")
        return {(s, k): m for s, k, m in rows}


def _set_format(store: str, value: str | None) -> None:
    with sqlite3.connect(_db(store)) as db:
        db.execute("DELETE FROM meta WHERE key IN ('format', 'rules')")
        if value is not None:
            db.execute("INSERT INTO meta VALUES ('format', ?)", (value,))


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def _serve(store: str, data: Path) -> subprocess.CompletedProcess[str]:
    """``membergraph serve`` as a user starts it (it stops before listening, or is stopped)."""
    return subprocess.run(
        [sys.executable, "-m", "membergraph.cli", "serve", "--no-open", "--port", _free_port()]
        + ["--store", store, "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "300"},
    )


def test_a_store_from_an_older_release_is_refused_then_brought_up(settings: Settings) -> None:
    # Given a store whose records were written before stores were marked
    store = _loaded(settings)
    _set_format(store, None)
    before = _assignments(store)
    # When it is served, then the start refuses in one line naming versions and command
    refused = _serve(store, settings.data)  # type: ignore[arg-type]
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert f"store format 0 is older than this release's format {STORE_FORMAT}" in line
    assert f"membergraph reresolve --store '{store}'" in line
    # When the dry run is asked, then it says what would change and writes nothing
    dry = CliRunner().invoke(app, ["reresolve", "--store", store, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    said = "dry run: no line, record or member was written (this release's tables"
    assert said in dry.output and "0 split(s)" in dry.output
    assert _meta(store) == {} and _assignments(store) == before
    # When it is brought up, then the members are those it held, and it is marked current
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    assert "older format before" in done.output
    assert _assignments(store) == before
    assert _meta(store)["format"] == str(STORE_FORMAT)


def _with_days(store: str) -> set[tuple[str, str]]:
    with sqlite3.connect(_db(store)) as db:
        return {
            (s, k) for s, k in db.execute("SELECT source, key FROM records WHERE days NOT NULL")
        }


def test_an_older_stores_records_are_derived_again_from_its_lines(settings: Settings) -> None:
    # Given a store from a release before purchase records kept their days, and marks
    store = _loaded(settings)
    dated = _with_days(store)
    assert dated
    with sqlite3.connect(_db(store)) as db:
        db.execute("UPDATE records SET days = NULL")
    _set_format(store, None)
    # When the dry run is asked, then it counts the records the lines derive again
    dry = CliRunner().invoke(app, ["reresolve", "--store", store, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"{len(dated)} record(s) would be derived again from the lines held" in dry.output
    assert not _with_days(store)
    # When it is brought up, then every purchase record has its days again
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    assert f"{len(dated)} record(s) were derived again" in done.output
    assert _with_days(store) == dated


def _schema(store: str) -> list[tuple[str, str | None]]:
    with sqlite3.connect(_db(store)) as db:
        return list(db.execute("SELECT name, sql FROM sqlite_master ORDER BY rowid"))


def _as_format_3_schema(store: str) -> None:
    """The store as a format-3 release left it: without the columns, tables and index
    added since (a card's e-mails by day, line versions, erasures, unscored members)."""
    with sqlite3.connect(_db(store)) as db:
        db.execute("DROP INDEX redirects_new")
        db.execute("DROP TABLE erased_members")
        db.execute("DROP TABLE member_unscored")
        db.execute("ALTER TABLE records DROP COLUMN email_days")
        db.execute("ALTER TABLE records DROP COLUMN version")
    _set_format(store, "3")


def test_a_refused_start_leaves_an_older_stores_schema_as_it_was(settings: Settings) -> None:
    # Given a store of an older release's schema and format
    store = _loaded(settings)
    _as_format_3_schema(store)
    schema = _schema(store)
    # When a start and the commands that serve it are refused
    refused = _serve(store, settings.data)  # type: ignore[arg-type]
    assert refused.returncode == 1 and "store format 3 is older" in refused.stderr
    for command in (
        ["load", "--data", str(settings.data), "--to", store],
        ["export", "--store", store, "--out", str(settings.data / "e.csv")],
        ["privacy", "export", "--store", store, "someone"],
    ):
        said = CliRunner().invoke(app, command)
        assert said.exit_code == 1 and "store format 3 is older" in said.output, command
    # Then the file's schema is byte for byte what it was: nothing was added
    assert _schema(store) == schema
    # When it is brought up, then it holds this release's columns
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    with sqlite3.connect(_db(store)) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(records)")}
    assert {"email_days", "version"} <= columns
    assert _meta(store)["format"] == str(STORE_FORMAT)


def test_a_store_from_a_newer_release_is_refused_and_left_alone(settings: Settings) -> None:
    store = _loaded(settings)
    _set_format(store, str(STORE_FORMAT + 1))
    before = _assignments(store)
    refused = _serve(store, settings.data)  # type: ignore[arg-type]
    assert refused.returncode == 1
    assert f"store format {STORE_FORMAT + 1} was written by a newer" in refused.stderr
    up = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert up.exit_code == 1 and "newer membergraph release" in up.output
    again = CliRunner().invoke(
        app,
        ["resolve", "--data", str(settings.data), "--out", str(settings.data / "o.jsonl")]
        + ["--store", store],
    )
    assert again.exit_code == 1 and "newer membergraph release" in again.output
    assert _meta(store)["format"] == str(STORE_FORMAT + 1)
    assert _assignments(store) == before


def test_a_store_resolved_under_other_rules_is_served_and_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store loaded under the built-in rules, and a rules file edited since
    store = _loaded(settings)
    rules = tmp_path / "rules.toml"
    rules.write_text(STRICT)
    strict = settings.model_copy(update={"rules": rules})
    # When the gateway starts under the new rules, then it serves and says so in /readyz
    with TestClient(create_app(strict), base_url="http://127.0.0.1") as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        [warning] = ready.json()["warnings"]
        assert "other match rules" in warning and "membergraph reresolve --store URL" in warning
    # When reresolve applies them, then members split as the new rules say, and the next
    # start says nothing
    monkeypatch.setenv("MEMBERGRAPH_RULES", str(rules))
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    assert "other rules before" in done.output and " 0 split(s)" not in done.output
    with TestClient(create_app(strict), base_url="http://127.0.0.1") as client:
        assert "warnings" not in client.get("/readyz").json()


def test_the_command_a_start_names_applies_the_rules_it_runs_under(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Adversarial pass: a gateway run with MEMBERGRAPH_RULES warned "... until `membergraph
    # reresolve --store '...'` applies the current rules"; run as written, in a shell
    # without the gateway's variable, it applied the built-in rules, found the store current
    # and changed nothing, and the gateway warned again at every start.
    _loaded(settings)
    rules = tmp_path / "rules.toml"
    rules.write_text(STRICT)
    strict = settings.model_copy(update={"rules": rules})
    monkeypatch.delenv("MEMBERGRAPH_RULES", raising=False)
    # Given the warning of a start under the edited rules
    with (
        caplog.at_level("WARNING", "membergraph.gateway"),
        TestClient(create_app(strict), base_url="http://127.0.0.1") as client,
    ):
        [ready] = client.get("/readyz").json()["warnings"]
    [said] = [r.getMessage() for r in caplog.records if "other match rules" in r.getMessage()]
    assert "MEMBERGRAPH_RULES=FILE membergraph reresolve --store URL" in ready
    # When the command it names is run as written (its variable set as the shell sets it)
    words = shlex.split(said.split("`")[1])
    env = dict(w.split("=", 1) for w in words[: words.index("membergraph")])
    done = CliRunner().invoke(app, words[words.index("membergraph") + 1 :], env=env)
    # Then it applies those rules, and the next start says nothing
    assert done.exit_code == 0, done.output
    assert env == {"MEMBERGRAPH_RULES": str(rules)} and "other rules before" in done.output
    with TestClient(create_app(strict), base_url="http://127.0.0.1") as client:
        assert "warnings" not in client.get("/readyz").json()


def test_reresolve_brings_back_no_one_erased_and_lifts_no_suppression(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store from which a member with a CRM contact was erased (identifiers suppressed)
    store = _loaded(settings)
    with sqlite3.connect(_db(store)) as db:
        [(member, contact)] = db.execute(
            "SELECT member_id, key FROM records WHERE source = 'crm' ORDER BY key LIMIT 1"
        )
    erased = CliRunner().invoke(
        app,
        ["privacy", "erase", member, "--reason", "ticket 1", "--store", store]
        + ["--data", str(settings.data)],
    )
    assert erased.exit_code == 0, erased.output
    with sqlite3.connect(_db(store)) as db:
        suppressed = db.execute("SELECT count(*) FROM suppressions").fetchone()[0]
    assert suppressed > 0 and ("crm", contact) not in _assignments(store)
    # When the store is re-resolved under other rules
    rules = tmp_path / "rules.toml"
    rules.write_text(STRICT)
    monkeypatch.setenv("MEMBERGRAPH_RULES", str(rules))
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    # Then she is still gone, and every suppression stands
    assert ("crm", contact) not in _assignments(store)
    with sqlite3.connect(_db(store)) as db:
        assert db.execute("SELECT count(*) FROM suppressions").fetchone()[0] == suppressed
        assert db.execute("SELECT count(*) FROM members WHERE id = ?", (member,)).fetchone()[0] == 0


def _run_time(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


@pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL")
def test_a_killed_reresolve_leaves_the_store_as_it_was_or_as_it_is_after(tmp_path: Path) -> None:
    # Given a store of 2,000 people resolved under the built-in rules, and a rules file
    # that splits hundreds of members
    data = tmp_path / "data"
    made = CliRunner().invoke(app, ["demo-data", "--out", str(data), "--members", "2000"])
    assert made.exit_code == 0, made.output
    store = _loaded(Settings(data=data, store=f"sqlite:///{tmp_path / 'store.db'}"))
    rules = tmp_path / "rules.toml"
    rules.write_text(STRICT)
    before = _assignments(store)
    env = {**os.environ, "MEMBERGRAPH_RULES": str(rules)}
    finished = tmp_path / "finished.db"
    shutil.copy(_db(store), finished)
    command = [sys.executable, "-m", "membergraph.cli", "reresolve", "--store"]
    # (How long starting Python takes, and a whole run: the kills are spread over the work.)
    starting = _run_time([sys.executable, "-c", "import membergraph.cli"], env)
    whole = _run_time([*command, f"sqlite:///{finished}"], env)
    after = _assignments(f"sqlite:///{finished}")
    assert after != before
    # When runs are killed with SIGKILL at points through the work
    outcomes = []
    for n, share in enumerate((0.2, 0.5, 0.8, 0.9, 0.97)):
        copy = tmp_path / f"killed{n}.db"
        shutil.copy(_db(store), copy)
        run = subprocess.Popen([*command, f"sqlite:///{copy}"], env=env)
        time.sleep(starting + (whole - starting) * share)
        run.send_signal(signal.SIGKILL)
        run.wait()
        # Then each store holds the members as they were or as they are after, never a mix
        held = _assignments(f"sqlite:///{copy}")
        assert held in (before, after)
        outcomes.append("before" if held == before else "after")
        # And a run again brings it to the same end, marked as resolved under these rules
        subprocess.run([*command, f"sqlite:///{copy}"], env=env, check=True, capture_output=True)
        assert _assignments(f"sqlite:///{copy}") == after
        assert _meta(f"sqlite:///{copy}") == _meta(f"sqlite:///{finished}")
    print("killed runs left the store:", outcomes)  # which ones depends on the machine


async def _resolved_without_email_days(path: Path) -> dict[tuple[str, str], str]:
    """The store resolved as format 4 resolved it (its cards keep no e-mails' days), and
    marked format 4."""
    with sqlite3.connect(path) as db:
        db.execute("UPDATE records SET email_days = NULL")
    async with SqliteStore(path) as identity:
        await IdentityService(identity).resolve_all({})
        await identity.set_mark(StoreMark(4, ""))
        return await identity.all_assignments()


def test_reresolve_gives_a_format_4_stores_cards_the_days_of_their_emails(
    tmp_path: Path,
) -> None:
    # Given a format-4 store of Katherine's contact (her own e-mail on file), her card's
    # online orders giving her second address on three days, and a card-less order under
    # it: apart, as format 4 kept no days per e-mail
    card, second = CARD, SECOND
    data, path = tmp_path / "data", tmp_path / "store.db"
    second_address_folder(data)
    store = f"sqlite:///{path}"
    loaded = CliRunner().invoke(app, ["load", "--data", str(data), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    shutil.rmtree(data)  # the lines are the store's only
    her, orders = ("crm", "C0000001"), ("transactions", f"online:{second}")
    before = asyncio.run(_resolved_without_email_days(path))
    assert before[her] != before[orders]
    # When it is brought up
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    # Then her card holds the address's three days again, and her card-less order is hers
    with sqlite3.connect(path) as db:
        [(held,)] = db.execute("SELECT email_days FROM records WHERE key = ?", (f"loyalty:{card}",))
    assert orjson.loads(held) == {second: ["2026-02-01", "2026-02-02", "2026-02-03"]}
    after = _assignments(store)
    assert after[her] == after[orders] == after[("transactions", f"loyalty:{card}")]


async def test_two_processes_opening_an_earlier_releases_file_at_once_both_open(
    tmp_path: Path,
) -> None:
    # Given files as the release before left them: no feed value tags, no suppression keys
    # (``serve --workers 2`` opens the file in each worker at the same moment)
    from membergraph.privacy.sqlite_store import SqlitePrivacyStore

    async def opened(path: Path) -> SqliteStore:
        store = SqliteStore(path)
        await store.open()
        await SqlitePrivacyStore(store).open()
        return store

    for attempt in range(5):  # (each open's look and change interleave at every await)
        path = tmp_path / f"earlier{attempt}.db"
        await (await opened(path)).aclose()
        with sqlite3.connect(path) as db:
            db.execute("ALTER TABLE feed DROP COLUMN value_tags")
            db.execute("ALTER TABLE suppressions DROP COLUMN key")
        # When two open it at once, then both open, and each column is there once
        both = await asyncio.gather(opened(path), opened(path), return_exceptions=True)
        failed = [repr(store) for store in both if isinstance(store, BaseException)]
        for store in both:
            if isinstance(store, SqliteStore):
                await store.aclose()
        assert failed == []
        with sqlite3.connect(path) as db:
            assert "value_tags" in {row[1] for row in db.execute("PRAGMA table_info(feed)")}
            assert "key" in {row[1] for row in db.execute("PRAGMA table_info(suppressions)")}


def test_calls_of_no_one_leave_their_members_when_the_built_in_rules_are_applied(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store loaded under rules reading a call of no one as a member of its own (the
    # releases before this one: a withheld number, a placeholder phone)
    withheld = {"interaction_id": "I-WITHHELD", "started_at": "2026-08-02T10:00:00Z"}
    with (settings.data / "call_center.jsonl").open("ab") as calls:
        calls.write(orjson.dumps({**withheld, "duration_s": 60}) + b"\n")
    before_rules = tmp_path / "rules.toml"
    before_rules.write_text("calls_identify_no_one = false\n")
    monkeypatch.setenv("MEMBERGRAPH_RULES", str(before_rules))
    store = _loaded(settings)
    before = _assignments(store)
    # When reresolve applies the built-in rules
    monkeypatch.delenv("MEMBERGRAPH_RULES")
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    # Then those calls are in no member, and the report counts their members' retirement
    after = _assignments(store)
    left = [r for r, m in after.items() if m is None and before[r] is not None]
    assert left and all(source == "call_center" for source, _ in left)
    alone = {before[r] for r in left} - set(after.values())  # members of nothing else
    assert f"({len(alone)} of records leaving to no one)" in done.output
