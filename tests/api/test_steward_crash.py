"""A real gateway killed (SIGKILL) in the middle of steward streams loses nothing.

Three clients stream steward changes over HTTP into one ``membergraph serve`` over a SQLite
store holding the demo data, each on two demo members of its own (a CRM contact and a card
each): link the contacts, ``undo`` the link, link again, ``undoMerge`` the merge, link, split
the second contact off, ``undo`` the split, split again, link the first member's card to the
second contact with ``move``, ``undo`` the move, and round again. The process is SIGKILLed
at a random moment (after a drawn number of answers and a drawn delay), in four rounds with
their own seeds, and started again on the same store each time.

What a user would notice is checked: the gateway starts again and answers; every change
answered before a kill is still in effect (its ``steward`` event is in the history, and its
two members are as it left them, unless the one change in flight at the kill was made too);
no record is lost; the members are exactly the components a whole resolve of the stored
records, with the stewards' links and cannot-links, gives (no member half-merged).

The same over the MongoDB adapter cannot run here: no ``mongod`` runs on this machine (see
the notes on MongoDB), and the emulated client lives inside the test process, so there is no
server process to outlive a killed gateway.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from membergraph.identity.records import RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.test_closure_edges import as_a_whole, partition
from tests.support.serve import serve_ready, until

ROUNDS = 4
SEED = 1700  # each round draws from SEED + its number
CLIENTS = 3
FIELDS = "id records { source key } identityHistory { id kind reason }"
LINK = f"""mutation ($a: RecordRefInput!, $b: RecordRefInput!, $why: String!, $move: Boolean!) {{
  linkRecords(a: $a, b: $b, reason: $why, move: $move) {{ {FIELDS} }} }}"""
SPLIT = f"""mutation ($m: ID!, $r: [RecordRefInput!]!, $why: String!) {{
  splitMember(memberId: $m, records: $r, reason: $why) {{ {FIELDS} }} }}"""
UNDO = f"""mutation ($e: ID!, $why: String!) {{ undo(eventId: $e, reason: $why) {{ {FIELDS} }} }}"""
UNDO_MERGE = f"""mutation ($e: ID!, $why: String!) {{
  undoMerge(eventId: $e, reason: $why) {{ {FIELDS} }} }}"""
DRY_LINK = """mutation ($a: RecordRefInput!, $b: RecordRefInput!) {
  linkRecords(a: $a, b: $b, reason: "dry run", dryRun: true) { id records { source key } } }"""
MEMBERS = """query ($after: String) { members(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { records { source key } } } } }"""
MEMBER_OF = """query ($key: String!) { memberByIdentifier(kind: CRM_ID, value: $key) {
  id records { source key } } }"""

Pairs = list[tuple[RecordKey, RecordKey, bool]]  # two records, and whether they share a member


@dataclass
class Chain:
    """One client's two members (contact and card each) and the changes it made to them."""

    xc: RecordKey
    xk: RecordKey
    yc: RecordKey
    yk: RecordKey
    xv: RecordKey | None = None  # a web visitor of the first member's, if it has one
    acknowledged: list[tuple[str, Pairs, int, str]] = field(default_factory=list)
    in_flight: Pairs | None = None  # the change sent when the process died, maybe made
    refused: list[str] = field(default_factory=list)

    def linked(self) -> Pairs:
        return [(self.xc, self.yc, True), (self.xc, self.xk, True), (self.yc, self.yk, True)]

    def apart(self) -> Pairs:
        return [(self.xc, self.yc, False), (self.xc, self.xk, True), (self.yc, self.yk, True)]

    def moved(self) -> Pairs:
        return [(self.xk, self.yc, True), (self.yc, self.yk, True), (self.xk, self.xc, False)]


def _ref(ref: RecordKey) -> dict[str, str]:
    return {"source": ref[0].upper(), "key": ref[1]}


def _holds(members: dict[RecordKey, str], pairs: Pairs) -> bool:
    return all((members.get(a) == members.get(b)) is together for a, b, together in pairs)


def _answered(members: list[dict[str, Any]]) -> dict[RecordKey, str]:
    return {(r["source"].lower(), r["key"]): m["id"] for m in members for r in m["records"]}


Step = tuple[str, str, Callable[[], dict[str, Any]], Pairs]  # name, mutation, variables, after


def _cycle(chain: Chain, state: dict[str, str]) -> list[Step]:
    """One round of changes on ``chain``'s two members; ``state`` holds the last steward
    event, the last merge and the member to split, as the answers name them."""
    link = {"a": _ref(chain.xc), "b": _ref(chain.yc), "move": False}
    # Issue 17: a split, then a link of one member's visitor to another's contact, left a
    # store that no start could read (KeyError in the engine).
    again = {"a": _ref(chain.xv or chain.xc), "b": _ref(chain.yc), "move": False}
    move = {"a": _ref(chain.xk), "b": _ref(chain.yc), "move": True}
    split = lambda: {"m": state["member"], "r": [_ref(chain.yc)]}  # noqa: E731
    undo = lambda: {"e": state["event"]}  # noqa: E731
    return [
        ("link", LINK, lambda: link, chain.linked()),
        ("undo link", UNDO, undo, chain.apart()),
        ("link again", LINK, lambda: again, chain.linked()),
        ("undoMerge", UNDO_MERGE, lambda: {"e": state["merge"]}, chain.apart()),
        ("link", LINK, lambda: link, chain.linked()),
        ("split", SPLIT, split, chain.apart()),
        ("undo split", UNDO, undo, chain.linked()),
        ("split", SPLIT, split, chain.apart()),
        ("move card", LINK, lambda: move, chain.moved()),
        ("undo move", UNDO, undo, chain.apart()),
    ]


def _stream(address: str, chain: Chain, tag: str, stop: threading.Event) -> None:
    """Steward changes on ``chain``'s two members until the process dies or ``stop``."""
    try:
        _changes(address, chain, tag, stop)
    except Exception as exc:  # a thread's failure is the test's: kept, asserted on
        chain.refused.append(repr(exc))


def _changes(address: str, chain: Chain, tag: str, stop: threading.Event) -> None:
    state: dict[str, str] = {}
    with httpx.Client(timeout=60) as client:
        for n, (name, query, variables, pairs) in enumerate(itertools.cycle(_cycle(chain, state))):
            if stop.is_set():
                return
            why = f"kill {tag} {n}"
            chain.in_flight = pairs
            try:
                answer = client.post(
                    f"http://{address}/graphql",
                    json={"query": query, "variables": {**variables(), "why": why}},
                )
            except httpx.ConnectError:  # never sent: the process was gone
                chain.in_flight = None
                return
            except httpx.HTTPError:  # sent; the process died before it answered
                return
            body = answer.json() if answer.status_code == 200 else {}
            if "data" not in body or body.get("errors"):
                chain.in_flight = None
                chain.refused.append(f"{name}: {answer.status_code} {answer.text}")
                return
            [members] = body["data"].values()
            history = [e for m in members for e in m["identityHistory"]]
            # (one event, told on each member whose records it names)
            events = sorted(
                {e["id"] for e in history if e["kind"] == "steward" and e["reason"] == why}
            )
            if len(events) != 1 or not _holds(_answered(members), pairs):
                chain.refused.append(f"{name} answered {members}")
                return
            chain.acknowledged.append((name, pairs, int(events[0]), why))
            chain.in_flight = None
            state["event"] = events[0]
            state["member"] = members[0]["id"]
            merges = [int(e["id"]) for e in history if e["kind"] == "merged"]
            if name == "link again":
                state["merge"] = str(max(merges))


def _chains(address: str) -> list[Chain]:
    """Pairs of demo members with exactly one contact and one card each (the first one's
    web visitor too, where it has one), in a fixed order."""
    found: list[tuple[RecordKey, RecordKey, RecordKey | None]] = []
    after = None
    while True:
        page = httpx.post(
            f"http://{address}/graphql",
            json={"query": MEMBERS, "variables": {"after": after}},
            timeout=60,
        ).json()["data"]["members"]
        for edge in page["edges"]:
            refs = [(r["source"].lower(), r["key"]) for r in edge["node"]["records"]]
            contacts = [r for r in refs if r[0] == "crm"]
            cards = [r for r in refs if r[1].startswith("loyalty:")]
            visitors = [r for r in refs if r[0] == "web_analytics"] + [None]
            if len(contacts) == len(cards) == 1:
                found.append((contacts[0], cards[0], visitors[0]))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    found.sort(key=lambda f: (f[2] is None, f))  # those with a visitor first
    # Two members a link merges whole (relatives of the demo data may hold records that a
    # link would move instead): asked with a dry run, which changes nothing.
    chains: list[Chain] = []
    while len(chains) < CLIENTS * ROUNDS and len(found) >= 2:
        x, y = found.pop(0), found.pop(len(found) // 2)
        chain = Chain(*x[:2], *y[:2], xv=x[2])
        answer = httpx.post(
            f"http://{address}/graphql",
            json={"query": DRY_LINK, "variables": {"a": _ref(chain.xc), "b": _ref(chain.yc)}},
            timeout=60,
        ).json()
        if "errors" not in answer and _holds(
            _answered(answer["data"]["linkRecords"]), chain.linked()
        ):
            chains.append(chain)
    assert len(chains) == CLIENTS * ROUNDS, f"{len(chains)} pairs of members to link"
    return chains


def _answers(chains: list[Chain]) -> int:
    return sum(len(c.acknowledged) for c in chains)


def _records(store: Path) -> tuple[int, int]:
    """Records the store holds, and those of them in a member."""
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        total, held = db.execute("SELECT count(*), count(member_id) FROM records").fetchone()
    return int(total), int(held)


def _as_left(chain: Chain, members: dict[RecordKey, str]) -> bool:
    """Whether ``chain``'s members are as its last acknowledged change left them, or as the
    change in flight at the kill would have."""
    said = [chain.acknowledged[-1][1]] if chain.acknowledged else []
    said += [chain.in_flight] if chain.in_flight is not None else []
    return not said or any(_holds(members, pairs) for pairs in said)


def _seen_through(address: str, chain: Chain) -> dict[RecordKey, str]:
    """The chain's records' members, as ``memberByIdentifier`` answers them."""
    seen: dict[RecordKey, str] = {}
    for contact in (chain.xc, chain.yc):
        answer = httpx.post(
            f"http://{address}/graphql",
            json={"query": MEMBER_OF, "variables": {"key": contact[1]}},
            timeout=60,
        ).json()
        seen |= _answered([answer["data"]["memberByIdentifier"]])
    return seen


async def _stored(
    store: Path, acknowledged: dict[int, str]
) -> tuple[dict[RecordKey, str], list[int], bool]:
    """The store's members, the acknowledged steward events (id: reason) it does not hold,
    and whether its members are those a whole resolve of the store gives."""
    async with SqliteStore(store) as opened:
        members = await opened.all_assignments()
        whole = await partition(opened) == await as_a_whole(opened, Rules())
        missing = []
        for event_id, why in sorted(acknowledged.items()):
            # In the history of the member it was written to. That member may have been
            # merged away since (a split undone): its history stays under its old ID,
            # which the survivor's history does not show (seen without any kill).
            event = await opened.event(event_id)
            [history] = await opened.member_events([event.member_id] if event else [""])
            held = {e.id: e for e in history}.get(event_id)
            if held is None or held.kind != "steward" or held.reason != why:
                missing.append(event_id)
    return members, missing, whole


def test_a_process_killed_mid_steward_stream_keeps_every_acknowledged_change(
    data_dir: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    chains: list[Chain] = []
    before: tuple[int, int] | None = None
    kills = 0
    for round_ in range(ROUNDS):
        rng = random.Random(SEED + round_)
        with serve_ready(data_dir, store) as (address, process):
            if round_ == 0:
                chains = _chains(address)
                before = _records(store)
            else:  # started again after a kill: the last round's changes are in effect
                for chain in chains[CLIENTS * (round_ - 1) : CLIENTS * round_]:
                    assert _as_left(chain, _seen_through(address, chain)), chain
            ours = chains[CLIENTS * round_ : CLIENTS * (round_ + 1)]
            stop = threading.Event()
            clients = [
                threading.Thread(target=_stream, args=(address, c, f"{round_}.{n}", stop))
                for n, c in enumerate(ours)
            ]
            for thread in clients:
                thread.start()
            # Given changes answered in this round: a drawn count of them, then a drawn delay
            target = rng.randint(6, 30)
            until(lambda n=target, ours=ours: _answers(ours) >= n, seconds=120)
            stop.wait(rng.uniform(0, 0.3))
            # When the process is killed in the middle of the streams
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
            process.wait(timeout=30)
            stop.set()
            for thread in clients:
                thread.join()
            refused = [r for c in ours for r in c.refused]
            assert refused == [], "\n".join(refused)
            assert _answers(ours) >= target
    # Then it starts again and answers, each change answered is in effect
    with serve_ready(data_dir, store) as (address, _):
        for chain in chains[CLIENTS * (ROUNDS - 1) :]:
            assert _as_left(chain, _seen_through(address, chain)), chain
    acknowledged = {event: why for c in chains for _, _, event, why in c.acknowledged}
    members, missing, whole = asyncio.run(_stored(store, acknowledged))
    assert kills == ROUNDS and len(acknowledged) >= 6 * ROUNDS
    assert missing == [], "every change answered keeps its steward event"
    assert [c for c in chains if not _as_left(c, members)] == []
    # no record lost or left in no member, no member half-merged
    assert _records(store) == before
    assert whole, "the members are the components a whole resolve of the store gives"
    in_flight = [c for c in chains if c.in_flight is not None]
    made = [c for c in in_flight if c.acknowledged and not _holds(members, c.acknowledged[-1][1])]
    print(
        f"{kills} kills, {len(acknowledged)} steward changes acknowledged and in effect, "
        f"{len(in_flight)} in flight at a kill, {len(made)} of them made"
    )
