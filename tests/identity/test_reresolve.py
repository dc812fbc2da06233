"""A store told what made it, and brought up to the current rules in place (``reresolve``)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.identity.events import MemberChange
from membergraph.identity.records import RecordKey
from membergraph.identity.reresolve import Reresolved, _count, require_servable, reresolve
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member
from membergraph.identity.store import ConcurrentChange
from membergraph.identity.store.format import (
    STORE_FORMAT,
    StoreFormatError,
    StoreMark,
    Verdict,
    current_mark,
    rules_digest,
    verdict,
)
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import crm, purchase
from tests.support.stores import ADAPTERS, open_store

# Under the built-in rules an e-mail typed at the till joins Ann's contact and her card;
# with hub_max_people = 1 an e-mail carried by two records of two kinds links nothing.
STRICT = Rules(hub_max_people=1)
ANN, ANN_CARD = ("crm", "C1"), ("transactions", "loyalty:LD10000001")
CY, DI = ("crm", "C3"), ("crm", "C4")
EVE, EVE_CARD = ("crm", "C5"), ("transactions", "loyalty:LD50000005")


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param) as adapter:
        yield adapter


async def _resolved_with_stewards(store: IdentityStore) -> IdentityService:
    """A store resolved under the built-in rules, with a steward's link (Cy and Di) and a
    steward's split (Eve and her card, joined by the rules)."""
    service = IdentityService(store)
    records = [
        crm("C1", emails=["ann@x.org"]),
        purchase(card="LD10000001", email="ann@x.org"),
        crm("C3", first="Cy", last="Ray", birth="1971-02-03"),
        crm("C4", first="Di", last="Moss", birth="1990-04-05"),
        crm("C5", first="Eve", last="Oak", emails=["eve@x.org"]),
        purchase(card="LD50000005", email="eve@x.org", tid="T5"),
    ]
    await service.resolve_all({r.ref: r for r in records})
    await link_records(service, CY, DI, "the agent checked her ID", "steward-1")
    eve = (await store.all_assignments())[EVE]
    await split_member(service, eve, [EVE_CARD], "her card is her son's", "steward-1")
    return service


def _together(assigned: dict[RecordKey, str], a: RecordKey, b: RecordKey) -> bool:
    return assigned[a] == assigned[b]


async def test_reresolve_applies_new_rules_and_keeps_every_stewards_decision(
    store: IdentityStore,
) -> None:
    # Given a store resolved under the built-in rules, with a steward's link and split
    await _resolved_with_stewards(store)
    before = await store.all_assignments()
    head = await store.feed_head()
    assert _together(before, ANN, ANN_CARD) and _together(before, CY, DI)
    assert not _together(before, EVE, EVE_CARD)
    assert await require_servable(store, STRICT, store.url) is Verdict.OTHER_RULES
    strict = IdentityService(store, STRICT)

    # When the dry run is asked, then it says the split the new rules make, and writes nothing
    dry = await reresolve(strict, store.url, dry_run=True)
    assert (dry.split, dry.merged, dry.moved) == (1, 0, 1)
    assert await store.all_assignments() == before and await store.feed_head() == head
    assert await require_servable(store, STRICT, store.url) is Verdict.OTHER_RULES

    # When it runs
    done = await reresolve(strict, store.url)

    # Then Ann and her card are apart, as a resolution under the new rules has them; the
    # steward's link and split stand; members whose records stayed together keep their IDs
    after = await store.all_assignments()
    assert (done.split, done.merged, done.moved) == (dry.split, dry.merged, dry.moved)
    assert not _together(after, ANN, ANN_CARD)
    assert _together(after, CY, DI) and not _together(after, EVE, EVE_CARD)
    assert {after[ref] for ref in (ANN, CY, DI, EVE, EVE_CARD)} == {
        before[ref] for ref in (ANN, CY, DI, EVE, EVE_CARD)
    }
    # The split is on the feed, naming both members, for every process and subscriber
    entries = await store.feed_after(head, 100)
    assert [e.kind.value for e in entries] == ["split"]
    assert set(entries[0].member_ids) == {after[ANN], after[ANN_CARD]}
    # And the store is marked as resolved under these rules: served without a word
    assert await store.mark() == current_mark(STRICT)
    assert await require_servable(store, STRICT, store.url) is Verdict.CURRENT

    # When it runs again, nothing changes
    again = await reresolve(strict, store.url)
    assert (again.split, again.merged, again.moved) == (0, 0, 0)
    assert await store.all_assignments() == after
    assert await store.feed_head() == head + 1


async def test_a_store_of_another_format_is_refused_naming_versions_and_command(
    store: IdentityStore,
) -> None:
    service = await _resolved_with_stewards(store)
    before = await store.all_assignments()
    for other, says in ((STORE_FORMAT + 1, "newer"), (0, "older")):
        await store.set_mark(StoreMark(other, rules_digest(Rules())))
        # A start refuses it, saying which formats and what to run
        with pytest.raises(StoreFormatError) as refused:
            await require_servable(store, Rules(), store.url)
        message = str(refused.value)
        assert f"store format {other}" in message and f"format {STORE_FORMAT}" in message
        assert says in message
        if other == 0:
            assert "membergraph reresolve --store" in message
        # So does a whole-store resolution (membergraph resolve, a MongoDB start): nothing
        # resolved under this release's keys is written beside the old ones
        with pytest.raises(StoreFormatError):
            await service.resolve_all({})
        assert await store.all_assignments() == before

    # A newer store is never brought down, whatever is said
    await store.set_mark(StoreMark(STORE_FORMAT + 1, ""))
    with pytest.raises(StoreFormatError, match="newer"):
        await reresolve(service, store.url, keyed_alike=_none_rekeyed)


async def _none_rekeyed() -> int:
    return 0


async def _three_rekeyed() -> int:
    return 3


async def test_an_older_store_is_brought_up_only_when_its_records_are_keyed_alike(
    store: IdentityStore,
) -> None:
    service = await _resolved_with_stewards(store)
    before = await store.all_assignments()
    await store.set_mark(StoreMark(0, ""))
    # Lines this release keys otherwise, or lines that cannot be read: refused, unchanged
    with pytest.raises(StoreFormatError, match="3 of its lines are keyed to another record"):
        await reresolve(service, store.url, keyed_alike=_three_rekeyed)
    # and the way out through a new store says what it loses: an erased person comes back
    with pytest.raises(StoreFormatError, match="not its suppressions"):
        await reresolve(service, store.url, keyed_alike=_three_rekeyed)
    with pytest.raises(StoreFormatError, match="cannot be checked"):
        await reresolve(service, store.url)
    assert await store.mark() == StoreMark(0, "")
    # Keyed alike: brought up in place, the stewards' decisions kept
    report = await reresolve(service, store.url, keyed_alike=_none_rekeyed)
    assert report.before is Verdict.OLDER and report.moved == 0
    assert await store.all_assignments() == before
    assert await store.mark() == current_mark(Rules())


@pytest.mark.parametrize(
    ("found", "holds", "said"),
    [
        pytest.param(None, False, Verdict.NEW, id="new-store"),
        pytest.param(None, True, Verdict.OLDER, id="no-mark-is-the-oldest"),
        pytest.param(StoreMark(0, "x"), True, Verdict.OLDER, id="older"),
        pytest.param(StoreMark(STORE_FORMAT + 1, ""), False, Verdict.NEWER, id="newer-even-empty"),
        pytest.param(
            StoreMark(STORE_FORMAT, rules_digest(Rules())), True, Verdict.CURRENT, id="current"
        ),
        pytest.param(
            StoreMark(STORE_FORMAT, "0" * 16), True, Verdict.OTHER_RULES, id="other-rules"
        ),
    ],
)
def test_what_a_mark_says_to_this_release(
    found: StoreMark | None, holds: bool, said: Verdict
) -> None:
    assert verdict(found, holds, Rules()) is said


def test_the_rules_digest_follows_values_not_spelling() -> None:
    assert rules_digest(Rules()) == rules_digest(Rules(hub_max_people=6))  # a default spelt out
    assert rules_digest(Rules()) != rules_digest(STRICT)


async def test_reresolve_takes_a_line_another_process_commits_while_it_reads(
    tmp_path: Path,
) -> None:
    # Given a resolved SQLite store, and another gateway over the same file
    path = tmp_path / "store.db"
    async with SqliteStore(path) as store, SqliteStore(path) as elsewhere:
        await _resolved_with_stewards(store)
        other = IdentityService(elsewhere)
        strict = IdentityService(store, STRICT)
        loop = asyncio.get_running_loop()
        pushed = []

        def push_between_reads(sql: str) -> None:
            # The other gateway takes a new contact just as the whole-store read turns
            # from the records to their identifiers (in the reading connection's thread)
            if "FROM identifiers" in sql and not pushed:
                pushed.append(sql)
                newcomer = crm("C9", first="Flo", last="Ng", emails=["flo@x.org"])
                asyncio.run_coroutine_threadsafe(other.ingest([newcomer]), loop).result()

        await store.run_read(lambda db: db.set_trace_callback(push_between_reads))
        # When reresolve runs meanwhile
        done = await reresolve(strict, store.url)
        await store.run_read(lambda db: db.set_trace_callback(None))
        # Then it completes, and the newcomer is a member as any line is
        # Then it completes under the new rules, and the newcomer is a member as any line is
        assigned = await store.all_assignments()
        assert pushed and done.records >= 6
        assert not _together(assigned, ANN, ANN_CARD) and _together(assigned, CY, DI)
        assert assigned.get(("crm", "C9"))
        again = await reresolve(strict, store.url, dry_run=True)
        assert (again.split, again.merged, again.moved) == (0, 0, 0)


async def test_a_format_mark_that_is_no_number_is_refused_in_one_line(tmp_path: Path) -> None:
    # Given a store whose format mark was edited by hand (or damaged)
    path = tmp_path / "store.db"
    async with SqliteStore(path) as store:
        await _resolved_with_stewards(store)
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = 'three' WHERE key = 'format'")
    async with SqliteStore(path) as store:
        # When a start or a command reads it, then it is refused saying what it read
        with pytest.raises(StoreFormatError, match="format mark reads 'three', not a format"):
            await require_servable(store, Rules(), store.url)


def test_reresolve_overtaken_at_every_attempt_says_to_run_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a store resolved under other rules than those in effect
    path = tmp_path / "store.db"

    async def made() -> None:
        async with SqliteStore(path) as store:
            await _resolved_with_stewards(store)
            await store.set_mark(StoreMark(STORE_FORMAT, "other rules"))

    asyncio.run(made())

    # When stewards in another process change a member before each attempt is written
    def overtaken(*_: object, **__: object) -> None:
        raise ConcurrentChange("members changed meanwhile: m_x")

    with monkeypatch.context() as patch:
        patch.setattr(SqliteStore, "apply", overtaken)
        said = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{path}"])
    # Then it says so, that nothing of the members was written, and to run it again
    assert said.exit_code == 1
    assert "other processes changed members" in said.output
    assert "run it again" in said.output
    # and run again, it completes
    again = CliRunner().invoke(app, ["reresolve", "--store", f"sqlite:///{path}"])
    assert again.exit_code == 0, again.output


def test_the_report_says_how_many_changes_it_did_not_list() -> None:
    # user32b: "12 split(s)" then 5 listed, nothing said of the other 7
    changes = [MemberChange("split", (f"m{n}",), "rules") for n in range(12)]
    result = SimpleNamespace(
        scope={}, members=0, changes=changes, assignments={}, before={}, unattributed={}
    )
    report = Reresolved(found=None, before=Verdict.OLDER)
    _count(report, result)  # type: ignore[arg-type]
    said = report.lines()
    assert "12 split(s) (12 of records leaving to no one) were made" in said[-7]
    assert said[-1] == "  and 7 more change(s): every one with --changes FILE"
    assert [kind for kind, _ in report.changes] == ["split"] * 12
