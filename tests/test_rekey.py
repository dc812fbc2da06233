"""An older store whose lines this release keys to other records, keyed anew in place by
``membergraph reresolve``: lines pushed by ``POST /ingest`` kept, stewards' decisions
followed or reported, members as a fresh load of the same lines resolves them."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import owner_key
from membergraph.identity.reresolve import reresolve
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member
from membergraph.identity.store.format import STORE_FORMAT, StoreMark, current_mark
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.undo import undo_event
from membergraph.settings import Settings
from tests.support.lines import online_purchase

pytestmark = pytest.mark.sqlite

ANN = ("crm", "C-ANN")
TAGGED = ("transactions", "online:ann+shop@mail.org")  # keyed alike by formats 3 and 4
HIDDEN = "ann+shop@mail.org\u200b"  # a zero-width space copied along: format 3 kept it
OLD_KEY = ("transactions", f"online:{HIDDEN}")  # format 3's record of T-P2, format 4's TAGGED
BO, BO_TAGGED = ("crm", "C-BO"), ("transactions", "online:bo+deals@shop.net")
CY = ("crm", "C-CY")
# An e-mail's unsubscribe link opened on a device no one is logged in on: format 3 keys its
# visitor record by the e-mail's digest, format 2 keyed it by the device alone.
UNSUBSCRIBED = {
    "event_id": "E-UNSUB", "anonymous_id": "anon-9", "user_id": None, "email": "ann@mail.org",
    "type": "track", "name": "Unsubscribed", "occurred_at": "2026-11-04T08:00:00Z",
    "properties": {"channel": "email"},
}  # fmt: skip


def _contact(cid: str, first: str, email: str) -> dict[str, Any]:
    return {
        "contact_id": cid, "first_name": first, "last_name": "Lee", "emails": [email],
        "phones": [], "updated_at": "2026-11-01T00:00:00Z",
    }  # fmt: skip


def _push(client: TestClient, source: str, lines: list[dict[str, Any]]) -> None:
    body = "\n".join(json.dumps(line) for line in lines)
    answer = client.post(
        f"/ingest/{source}", content=body, headers={"content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text


def _format_3_key(value: str) -> str:
    """An e-mail's matching key as format 3 made it: a +tag and dots folded on Gmail only."""
    local, _, domain = value.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        return f"{local.split('+', 1)[0].replace('.', '')}@gmail.com"
    return value


def _as_format_3(db: sqlite3.Connection) -> None:
    """The rows format 3 wrote for these lines: e-mails matched with their +tag, T-P2's
    invisible character kept in its record's key, T-P3 (a space before the @) nobody's."""
    values = db.execute("SELECT DISTINCT value FROM identifiers WHERE kind = 'EMAIL'").fetchall()
    for (value,) in values:
        db.execute(
            "UPDATE OR IGNORE identifiers SET key = ? WHERE kind = 'EMAIL' AND value = ?",
            (_format_3_key(value), value),
        )
    db.execute(
        "INSERT INTO records (source, key, role, member_id, origin_member_id, days)"
        " SELECT source, ?, role, member_id, origin_member_id, ? FROM records"
        " WHERE source = ? AND key = ?",
        (OLD_KEY[1], '{"2026-11-03": ["T-P2"]}', *TAGGED),
    )
    db.execute(
        "INSERT INTO identifiers VALUES ('EMAIL', ?, ?, 'online', ?, ?)", (HIDDEN, HIDDEN, *OLD_KEY)
    )
    db.execute("UPDATE source_lines SET owner = ? WHERE line_id = 'T-P2'", (OLD_KEY[1],))
    db.execute("UPDATE source_lines SET owner = '' WHERE line_id = 'T-P3'")


def _partition(path: Path) -> set[frozenset[tuple[str, str]]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT source, key, member_id FROM records WHERE member_id IS NOT NULL")
        members: dict[str, set[tuple[str, str]]] = {}
        for source, key, member in rows:
            members.setdefault(member, set()).add((source, key))
    return {frozenset(refs) for refs in members.values()}


def _lines(path: Path) -> dict[tuple[str, str], tuple[str, bytes]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT source, line_id, owner, body FROM source_lines")
        return {(s, i): (o, bytes(b)) for s, i, o, b in rows}


def _fresh_load(lines: dict[tuple[str, str], tuple[str, bytes]], folder: Path) -> Path:
    """The same lines, written to a folder and loaded into a new store by this release."""
    folder.mkdir()
    for name in SOURCES:
        with (folder / f"{name.value}.jsonl").open("wb") as out:
            for (source, _), (_, body) in sorted(lines.items()):
                if source == name.value:
                    out.write(body + b"\n")
    fresh = folder.parent / "fresh.db"
    loaded = CliRunner().invoke(app, ["load", "--data", str(folder), "--to", f"sqlite:///{fresh}"])
    assert loaded.exit_code == 0, loaded.output
    return fresh


def _older_store(tmp_path: Path, suppressed: str | None = None) -> Path:
    """A format-3 store of a demo folder and lines pushed by ``POST /ingest`` only, with a
    steward's link on a record format 4 keys otherwise and a rejected suggestion between
    two records format 4 keys as one; ``suppressed``: an e-mail suppressed after the pushes."""
    data = tmp_path / "data"
    made = CliRunner().invoke(app, ["demo-data", "--out", str(data), "--members", "30"])
    assert made.exit_code == 0, made.output
    path = tmp_path / "store.db"
    loaded = CliRunner().invoke(app, ["load", "--data", str(data), "--to", f"sqlite:///{path}"])
    assert loaded.exit_code == 0, loaded.output
    shutil.rmtree(data)  # from now on the lines are the store's only
    settings = Settings(store=f"sqlite:///{path}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        contacts = [("C-ANN", "Ann", "ann@mail.org"), ("C-BO", "Bo", "bo@shop.net")]
        _push(c, "crm", [_contact(*c) for c in [*contacts, ("C-CY", "Cy", "cy@else.org")]])
        _push(
            c,
            "transactions",
            [
                online_purchase("T-P1", "ann+shop@mail.org"),
                online_purchase("T-P2", HIDDEN, "2026-11-03"),
                online_purchase("T-P3", "Ann+Shop @mail.org"),
                online_purchase("T-B1", "bo+deals@shop.net"),
            ],
        )
        _push(c, "web_analytics", [UNSUBSCRIBED])
        if suppressed is not None:
            done = c.post(
                "/graphql",
                json={"query": f'mutation {{ suppress(kind: EMAIL, value: "{suppressed}") }}'},
            )
            assert done.status_code == 200 and "errors" not in done.json(), done.text
    with sqlite3.connect(path) as db:
        _as_format_3(db)
    assigned = asyncio.run(_resolved_as_format_3(path))
    assert assigned[BO] != assigned[BO_TAGGED]  # format 3 matched bo+deals@ with no one
    return path


async def _resolved_as_format_3(path: Path) -> dict[tuple[str, str], str]:
    """Resolved as format 3 resolved it (by its matching keys), then a steward's
    decisions, and marked format 3."""
    async with SqliteStore(path) as store:
        service = IdentityService(store)
        await store.set_mark(StoreMark(STORE_FORMAT, ""))
        await service.resolve_all({})
        await link_records(service, ANN, OLD_KEY, "she showed her receipt", "steward-1")
        await link_records(service, TAGGED, OLD_KEY, "one shopper", "steward-2")
        # (A link made and split again: a cannot-link between Cy and the records of Ann's.)
        await link_records(service, OLD_KEY, CY, "same surname", "steward-3")
        member = (await store.all_assignments())[CY]
        await split_member(service, member, [CY], "not her after all", "steward-3")
        await store.set_mark(StoreMark(3, "old rules"))
        return await store.all_assignments()


def test_reresolve_keys_an_older_stores_lines_anew_in_place(tmp_path: Path) -> None:
    # Given a format-3 store holding lines pushed by POST /ingest only (no folder)
    path = _older_store(tmp_path)
    url = f"sqlite:///{path}"
    lines_before = _lines(path)
    head = _feed_head(path)

    # When the dry run is asked, then it says what would be re-keyed and writes nothing
    dry = CliRunner().invoke(app, ["reresolve", "--store", url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 line(s) would be keyed to another record: 1 record(s) would be re-keyed" in dry.output
    assert "steward's link (steward-2) retracted" in dry.output and "one record now" in dry.output
    assert _lines(path) == lines_before and _feed_head(path) == head

    # When it runs
    done = CliRunner().invoke(app, ["reresolve", "--store", url])
    assert done.exit_code == 0, done.output
    assert "2 line(s) were keyed to another record: 1 record(s) were re-keyed" in done.output

    # Then every line is still there, each under the record this release keys it to
    after = _lines(path)
    assert {k: b for k, (_, b) in after.items()} == {k: b for k, (_, b) in lines_before.items()}
    for (source, _), (owner, body) in after.items():
        name = SourceName(source)
        assert owner == (owner_key(name, SOURCES[name].model.model_validate_json(body)) or "")
    with sqlite3.connect(path) as db:
        assert db.execute(
            "SELECT count(*) FROM records WHERE key = ?", (OLD_KEY[1],)
        ).fetchone() == (0,)
        assert db.execute(
            "SELECT count(*) FROM identifiers WHERE value = ?", (HIDDEN,)
        ).fetchone() == (0,)
        # The steward's link follows the record, with who made it; the rejected
        # suggestion between two records now one is lifted, and said so
        links = db.execute(
            "SELECT a_key, b_key, actor FROM links WHERE rule = 'manual' AND retracted_at IS NULL"
        ).fetchall()
        assert links == [(ANN[1], TAGGED[1], "steward-1")]
        apart = db.execute(
            "SELECT a_key, b_key, actor FROM cannot_links WHERE lifted_at IS NULL"
        ).fetchall()
        assert apart and all(OLD_KEY[1] not in pair for pair in apart)
        assert any(TAGGED[1] in pair and CY[1] in pair for pair in apart)
        # The members' history and the feed say what moved
        events = db.execute(
            "SELECT member_id, evidence FROM events WHERE kind = 'rekeyed'"
        ).fetchall()
        fed = db.execute(
            "SELECT member_ids FROM feed WHERE cursor > ? AND kind = 'linked' AND actor = 'reresolve'",
            (head,),
        ).fetchall()
    assert len(events) == 1 and orjson.loads(events[0][1])["records"] == [[*OLD_KEY, TAGGED[1]]]
    assert "one record now" in orjson.loads(events[0][1])["decisions"][0]
    assert [json.loads(f[0]) for f in fed] == [[events[0][0]]]
    # And the members are those a fresh load of the same lines resolves
    members = _partition(path)
    assert members == _partition(_fresh_load(after, tmp_path / "lines"))
    assert any({ANN, TAGGED} <= m for m in members) and any({BO, BO_TAGGED} <= m for m in members)
    assert asyncio.run(_run_again(path)) == (0, 0, 0, 0)
    # And the stewards' history follows the records: the split undone lifts its
    # cannot-link, which names the re-keyed record now
    asyncio.run(_undo_the_split(path))
    with sqlite3.connect(path) as db:
        assert db.execute(
            "SELECT count(*) FROM cannot_links WHERE lifted_at IS NULL"
        ).fetchone() == (0,)


def _counts(output: str) -> tuple[int, int]:
    """What a report says was (or would be) derived again, and keyed anew."""
    derived = re.search(r"(\d+) record\(s\) (?:were|would be) derived again", output)
    anew = re.search(r"(\d+) record\(s\)' identifiers (?:were|would be) keyed anew", output)
    assert derived and anew, output
    return int(derived[1]), int(anew[1])


def _keys(path: Path) -> dict[tuple[str, str, str, str], str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT kind, value, source, rkey, key FROM identifiers")
        return {(k, v, s, r): key for k, v, s, r, key in rows}


def test_the_dry_run_and_the_run_report_the_same_true_counts(tmp_path: Path) -> None:
    # user23: the dry run said "0 record(s) would be derived again", the run "121 ... were";
    # both "0 record(s)' identifiers ... keyed anew" while ann+shop@'s key became ann@.
    path = _older_store(tmp_path)
    with sqlite3.connect(path) as db:  # (as before format 5: no card's e-mail days)
        cleared = db.execute("UPDATE records SET email_days = NULL WHERE email_days IS NOT NULL")
        assert cleared.rowcount > 0
    url = f"sqlite:///{path}"
    before = _keys(path)
    dry = CliRunner().invoke(app, ["reresolve", "--store", url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    done = CliRunner().invoke(app, ["reresolve", "--store", url])
    assert done.exit_code == 0, done.output
    # Then both say the same
    assert _counts(dry.output) == _counts(done.output)
    # and what they say is what the run did: the records whose identifiers' keys changed
    after = _keys(path)
    rekeyed = {(s, r) for ident, key in after.items() if before.get(ident, key) != key
               for s, r in [ident[2:]]}  # fmt: skip
    assert ("transactions", TAGGED[1]) in rekeyed
    assert _counts(done.output)[1] == len(rekeyed)
    assert _counts(done.output)[0] >= cleared.rowcount


async def _run_again(path: Path) -> tuple[int, int, int, int]:
    async with SqliteStore(path) as store:
        assert await store.mark() == current_mark(IdentityService(store).rules)
        again = await reresolve(IdentityService(store), store.url)
        return again.merged, again.split, again.moved, again.rederived


async def _undo_the_split(path: Path) -> None:
    async with SqliteStore(path) as store:
        service = IdentityService(store)
        ids = await store.run(
            lambda db: db.execute("SELECT max(id) FROM events WHERE kind = 'steward'").fetchone()
        )
        split = await store.event(ids[0])
        assert split is not None and split.id is not None and split.actor == "steward-3"
        assert OLD_KEY not in split.records and TAGGED in split.records
        await undo_event(service, split.id, "a mistake", "steward-3")


def _feed_head(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT coalesce(max(cursor), 0) FROM feed").fetchone()[0])


def _outcome(path: Path) -> dict[str, Any]:
    """What a user sees: who is one member, each line's record, the stewards' decisions in
    force, the re-keying in the history, the store's format."""
    with sqlite3.connect(path) as db:
        return {
            "members": _partition(path),
            "owners": {k: o for k, (o, _) in _lines(path).items()},
            "links": set(
                db.execute(
                    "SELECT a_key, b_key, actor FROM links"
                    " WHERE rule = 'manual' AND retracted_at IS NULL"
                )
            ),
            "apart": set(
                db.execute("SELECT a_key, b_key FROM cannot_links WHERE lifted_at IS NULL")
            ),
            "rekeyed": db.execute("SELECT count(*) FROM events WHERE kind = 'rekeyed'").fetchone(),
            "format": db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone(),
        }


STOPS = {  # where a run stops (a write refused there), and whether the records were re-keyed
    "re-keying the records": ("BEFORE DELETE ON records", False),
    "writing the lines' owners": ("BEFORE UPDATE ON source_lines", True),
    "resolving the members": ("BEFORE INSERT ON events WHEN NEW.kind = 'merged'", True),
    "marking the store": ("BEFORE INSERT ON meta WHEN NEW.key = 'rules'", True),
}


@pytest.mark.parametrize(
    ("stop", "rekeyed"), [pytest.param(*on, id=name) for name, on in STOPS.items()]
)
def test_a_rekeying_stopped_part_way_is_finished_by_the_next_run(
    tmp_path: Path, stop: str, rekeyed: bool
) -> None:
    # Given a format-3 store, and what an uninterrupted reresolve makes of it
    older = _older_store(tmp_path)
    whole = tmp_path / "whole.db"
    with sqlite3.connect(older) as source, sqlite3.connect(whole) as copy:
        source.backup(copy)  # (with what the write-ahead log holds)
    assert CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{whole}"]).exit_code == 0
    # When a run fails at one of its steps (a write there refused)
    with sqlite3.connect(older) as db:
        db.execute(f"CREATE TRIGGER stop {stop} BEGIN SELECT RAISE(ABORT, 'stopped here'); END")
    failed = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{older}"])
    assert failed.exit_code != 0
    # Then no line is lost, and the store is still refused as an older one
    assert _lines(older).keys() == _lines(whole).keys()
    assert _outcome(older)["format"] == ("3",)
    assert _outcome(older)["rekeyed"] == (int(rekeyed),)
    # And a run again ends where the uninterrupted run ended
    with sqlite3.connect(older) as db:
        db.execute("DROP TRIGGER stop")
    again = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{older}"])
    assert again.exit_code == 0, again.output
    assert _outcome(older) == _outcome(whole)


def test_a_decision_on_a_record_whose_lines_go_to_several_is_reported(tmp_path: Path) -> None:
    # Given an older store that filed Ann's and Bo's tagged orders under one record, which
    # a steward linked to Bo
    path = _older_store(tmp_path)
    shared = "online:shared@old"
    with sqlite3.connect(path) as db:
        db.execute("UPDATE source_lines SET owner = ? WHERE line_id IN ('T-P1', 'T-B1')", (shared,))
        db.execute(
            "INSERT INTO records (source, key, role, member_id, origin_member_id)"
            " SELECT source, ?, role, member_id, origin_member_id FROM records WHERE key = ?",
            (shared, BO_TAGGED[1]),
        )
        db.execute(
            "INSERT INTO links (a_source, a_key, b_source, b_key, rule, evidence, actor,"
            " created_at) VALUES ('crm', 'C-BO', 'transactions', ?, 'manual', '{}',"
            " 'steward-9', '2026-11-05T00:00:00+00:00')",
            (shared,),
        )
    # When reresolve runs
    done = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{path}"])
    assert done.exit_code == 0, done.output
    # Then the record is gone, each line under its own record, and the steward's link,
    # which cannot follow two records, is retracted and said so
    assert "1 split into several or left to no one" in done.output
    assert (
        "steward's link (steward-9) retracted: the lines of transactions 'online:shared@old'"
        " are now keyed to 2 records" in done.output
    )
    owners = {k[1]: o for k, (o, _) in _lines(path).items()}
    assert (owners["T-P1"], owners["T-B1"]) == (TAGGED[1], BO_TAGGED[1])
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM records WHERE key = ?", (shared,)).fetchone() == (
            0,
        )
        said = [
            orjson.loads(row[0])
            for row in db.execute("SELECT evidence FROM events WHERE kind = 'rekeyed'")
        ]
    # (In the history of the member the link was in, and of the one the record was in.)
    assert any("steward-9" in line for e in said for line in e["decisions"])
    assert any(["transactions", shared, TAGGED[1]] in e["records"] for e in said)
    assert _partition(path) == _partition(_fresh_load(_lines(path), tmp_path / "lines"))


def test_a_record_whose_lines_go_to_a_suppressed_record_is_counted_as_such(
    tmp_path: Path,
) -> None:
    # Given an older store whose hidden-space order record's lines go, in this release, to
    # the record of an e-mail suppressed meanwhile (a person who asked to be forgotten)
    path = _older_store(tmp_path, suppressed="ann+shop@mail.org")
    # When reresolve runs
    done = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{path}"])
    assert done.exit_code == 0, done.output
    # Then the record left out for its suppressed identifier is counted as such, not as
    # one whose lines identify no one, and so is the steward's link that cannot follow it
    assert "0 split into several or left to no one" in done.output, done.output
    assert "1 left out: their lines carry a suppressed identifier" in done.output
    assert "(they identify no one)" not in done.output
    assert f"the lines of transactions {OLD_KEY[1]!r} carry a suppressed identifier" in (
        done.output
    )
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM records WHERE key = ?", OLD_KEY[1:]).fetchone() == (
            0,
        )


def test_a_moved_web_events_consent_follows_it(tmp_path: Path) -> None:
    # Given an older store that filed Ann's unsubscribe under the device's own record (as
    # format 2 keyed it), its consent fact with it
    path = _older_store(tmp_path)
    with sqlite3.connect(path) as db:
        [(now,)] = db.execute("SELECT owner FROM source_lines WHERE line_id = 'E-UNSUB'")
        assert now.startswith("anon-9|email:")
        db.execute("UPDATE source_lines SET owner = 'anon-9' WHERE line_id = 'E-UNSUB'")
        for table, key in (("records", "key"), ("identifiers", "rkey"), ("consent_facts", "rkey")):
            db.execute(f"UPDATE {table} SET {key} = 'anon-9' WHERE {key} = ?", (now,))
        db.execute("UPDATE meta SET value = '2' WHERE key = 'format'")
        # (first in a member of its own, since merged: its first member's ID is another's)
        db.execute("UPDATE records SET origin_member_id = 'm_first' WHERE key = 'anon-9'")
        first = ("m_first",)
    # When reresolve runs
    done = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{path}"])
    assert done.exit_code == 0, done.output
    # Then the event is under its visitor record again, and so is its opt-out
    with sqlite3.connect(path) as db:
        facts = db.execute("SELECT rkey, granted FROM consent_facts WHERE line = 'E-UNSUB'")
        assert facts.fetchall() == [(now, 0)]
        assert db.execute("SELECT count(*) FROM records WHERE key = 'anon-9'").fetchone() == (0,)
        # (its first member's ID goes with it: a split would hand it back)
        origin = db.execute("SELECT origin_member_id FROM records WHERE key = ?", (now,))
        assert origin.fetchone() == first
    assert _lines(path)["web_analytics", "E-UNSUB"][0] == now
