"""A store told what made it, and brought up to the current rules in place.

A start asks :func:`require_servable`: a store of another format is refused with one line
naming the versions and the command; one resolved under other rules is served and said to
be (:func:`rules_notice`). ``membergraph reresolve`` runs :func:`reresolve`: the whole store
resolved again under the current rules through the one resolver there is
(:meth:`~membergraph.identity.service.IdentityService.resolve_all`, whose change keeps the
stewards' links and cannot-links, keeps a member's ID while its records stay together, and
writes a feed entry for each member merged or split), or, with ``dry_run``, what that would
change, worked out the same way and written nowhere.

A store of an older format whose lines are held with the record each belongs to (the
embedded store's source table, MongoDB source collections) is keyed anew first
(:mod:`~membergraph.identity.rekey`): each line this release keys to another record moves
there, with its record's stewards' decisions. One whose lines are elsewhere (a folder, an
API) is brought up only when its records are keyed alike (``keyed_alike``), and refused
otherwise, saying so.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from membergraph.connectors.base import SourceConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource
from membergraph.identity.load import collect_records, fold_records
from membergraph.identity.owned_lines import Moved, OwnedLines, held_lines
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rekey import Rekeyed, rekey
from membergraph.identity.rules import Rules
from membergraph.identity.scope_change import ApplyResult, apply_scope
from membergraph.identity.service import IdentityService, Refuse
from membergraph.identity.store.format import (
    STORE_FORMAT,
    StoreFormatError,
    StoreMark,
    Verdict,
    refusal,
    reresolve_command,
    verdict,
)
from membergraph.identity.store.port import IdentityStore

__all__ = [
    "OwnedLines",
    "KeyedAlike",
    "Reresolved",
    "Rederive",
    "examine",
    "records_of",
    "rekeyed_documents",
    "rekeyed_in",
    "require_servable",
    "reresolve",
    "rules_notice",
    "sources_notice",
]

logger = logging.getLogger(__name__)

KeyedAlike = Callable[[], Awaitable[int | None]]
"""How many of the store's lines this release would key to another record than the one
they are stored under (0: the records are keyed alike; None: it cannot be told)."""


async def examine(store: IdentityStore, rules: Rules) -> tuple[Verdict, StoreMark | None]:
    """What made ``store``, and what that is to this release under ``rules``."""
    found = await store.mark()
    return verdict(found, await store.holds_records(), rules), found


async def require_servable(store: IdentityStore, rules: Rules, url: str) -> Verdict:
    """The store's verdict, when this release may serve and resolve it.

    Raises:
        StoreFormatError: it is of an older or a newer format (the line says which, and
            what to run).
    """
    said, found = await examine(store, rules)
    if said in (Verdict.OLDER, Verdict.NEWER):
        raise StoreFormatError(refusal(found, url))
    return said


def rules_notice(url: str | None, rules: Path | None = None) -> str:
    """What a start, ``/readyz`` and the commands say of a store resolved under other rules
    (``url`` None: an answer without credentials, which names no server; ``rules``: the
    rules file in effect, which the command must run with)."""
    command = reresolve_command(url, rules)
    return (
        "the store was resolved under other match rules than those in effect (another "
        "release's built-in rules, or an edited rules file): members already held keep the "
        f"old resolution until `{command}` applies the current rules"
    )


def sources_notice(
    why: str, url: str | None, sources: str | None, rules: Path | None = None
) -> str:
    """What a start and ``/readyz`` say while source collections hold lines the store was
    not resolved from (:class:`~membergraph.connectors.mongodb_loads.Behind`'s ``why``;
    ``url`` None: an answer without credentials, which names no server; ``sources``: the
    collections' URL when it is not the store's)."""
    command = reresolve_command(url, rules)
    if url is None:
        command += " --sources URL"
    else:
        from membergraph.identity.store.mongodb_client import redact

        command += f" --sources '{redact(sources)}'" if sources and sources != url else ""
    return (
        f"{why}: they are served, but members hold what the store resolved, without those "
        f"lines, until `{command}` resolves them"
    )


@dataclass(slots=True)
class Reresolved:
    """What a re-resolution changed (or, in a dry run, would change)."""

    before: Verdict
    found: StoreMark | None
    records: int = 0
    members: int = 0
    """Members after."""
    merged: int = 0
    split: int = 0
    to_no_one: int = 0
    """Splits of records from a member to no one (its only records: the member retired)."""
    moved: int = 0
    """Records whose member changed."""
    unattributed: int = 0
    """Records that now identify no one (in no member)."""
    rederived: int = 0
    """Records an older format's lines, derived again, added to or changed."""
    dry_run: bool = False
    examples: list[str] = field(default_factory=list)
    changes: list[tuple[str, list[str]]] = field(default_factory=list)
    """Every member change made (or that a dry run would make): its kind and members."""
    rekeyed: Rekeyed | None = None
    """What keying the records anew changed (an older store whose lines are held)."""
    behind: bool = False
    """Whether the lines held were read and resolved with the store's records (source
    collections holding lines it was not resolved from)."""
    resolved: bool = True
    """Whether the members were worked out (a dry run that would re-key records does not:
    the members are resolved once the records are keyed anew)."""

    @property
    def _to_no_one(self) -> str:
        n = self.to_no_one
        return f" ({n} of records leaving to no one)" if n else ""

    @property
    def dry_run_said(self) -> str:
        """What a dry run wrote: over an older format's store, this release's tables,
        columns and indexes (empty, to read it as this release does); else nothing."""
        if self.before is Verdict.OLDER:
            return (
                "dry run: no line, record or member was written (this release's tables, "
                "columns and indexes were added where missing, empty, to read the store)"
            )
        return "dry run: nothing was written"

    def lines(self) -> list[str]:
        """The report, one fact a line."""
        have = "0 (made before marks)" if self.found is None else str(self.found.format)
        would = "would be" if self.dry_run else "were"
        said = [
            f"store format {have} -> {STORE_FORMAT}; {self.before.value} before",
            f"{self.records} records resolved again: {self.members} members",
            *(
                [f"{self.rederived} record(s) {would} derived again from the lines held"]
                if self.before is Verdict.OLDER or self.behind
                else []
            ),
            *([] if self.rekeyed is None else self.rekeyed.lines_said(self.dry_run)),
        ]
        if not self.resolved:
            said[1] = f"{self.records} records held"
            said.append(
                "members: resolved again once the records are keyed anew (run without --dry-run)"
            )
            said.append(self.dry_run_said)
            return said
        said += [
            f"{self.merged} merge(s), {self.split} split(s){self._to_no_one} {would} made; "
            f"{self.moved} record(s) {would} moved to another member; "
            f"{self.unattributed} record(s) identify no one",
            *self.examples,
        ]
        if self.dry_run:
            said.append(self.dry_run_said)
        return said


async def reresolve(
    identity: IdentityService,
    url: str,
    dry_run: bool = False,
    keyed_alike: KeyedAlike | None = None,
    rederive: Rederive | None = None,
    refuse: Refuse | None = None,
    held: OwnedLines | None = None,
    behind: bool = False,
) -> Reresolved:
    """Resolve the whole store again under ``identity.rules`` and mark it current.

    Steward decisions are constraints the resolution keeps (manual links, cannot-links;
    accepted and rejected suggestions are those; erasures and suppressions are the privacy
    store's, untouched), member IDs are kept where their records stay together, and each
    member merged or split gets its feed entry, so every process follows. The change is
    one transaction (SQLite) or one journaled change (MongoDB, above 20,000 documents): a
    kill leaves the store as it was or as it is after.

    An older format's records are first keyed as this release keys their lines, when the
    lines are ``held`` with their owner (:func:`~membergraph.identity.rekey.rekey`: records
    re-keyed, their stewards' decisions following or reported, identifiers keyed anew;
    a run stopped part-way is finished by the next), then derived again from the lines
    (``rederive``), each folded into the stored record of its key as a load folds it: what
    a record holds that an older release did not derive (a purchase record's days) is there
    before the rules read it. ``refuse`` leaves out those carrying a suppressed identifier.
    Without ``held``, an older store is brought up only when ``keyed_alike`` says its lines
    are keyed alike. ``behind``: the lines held include some the store was not resolved
    from (source collections loaded, or written by another tool, since): their records are
    derived (``rederive``) and resolved with the store's, whatever its format.

    Raises:
        StoreFormatError: a newer format, or an older one whose lines are not held with
            their owner and are keyed otherwise (or cannot be compared).
    """
    store = identity.store
    before, found = await examine(store, identity.rules)
    if before is Verdict.NEWER:
        raise StoreFormatError(refusal(found, url))
    if before is Verdict.OLDER and (held is None or rederive is None):
        rekeyed = None if keyed_alike is None else await keyed_alike()
        if rekeyed != 0:
            raise StoreFormatError(_cannot_rekey(found, rekeyed))
    await store.write_schema()  # (a store of an older format is opened as it is)
    report = Reresolved(before, found, dry_run=dry_run, behind=behind)
    lines: dict[RecordKey, RecordData] = {}
    moved: list[Moved] = []
    refused: set[RecordKey] = set()
    if rederive is not None and (before is Verdict.OLDER or behind):
        # (Held with their owners, an older store's lines are read once for both.)
        older = before is Verdict.OLDER and held is not None
        if older:
            assert held is not None
            lines, moved = await held.read(identity.region)
        else:
            lines = await rederive()
        if refuse is not None and lines:  # a suppressed person's lines make no one again
            said = await refuse(list(lines.values()))
            refused = {ref for ref, no in zip(lines, said, strict=True) if no}
            lines = {ref: r for ref, r in lines.items() if ref not in refused}
        if older:
            assert held is not None
            have = 0 if found is None else found.format
            report.rekeyed = await rekey(identity, held, lines, moved, have, dry_run, refused)
    if dry_run and report.rekeyed is not None and report.rekeyed.lines:
        report.records = len(await store.load_records(None))
        report.rederived = await _rederived(store, lines, report.rekeyed.written)
        report.resolved = False
        return report
    if dry_run:
        async with identity.lock:
            state = await store.scope_state(None)
            stored = await store.load_records(None)
            if report.rekeyed is not None:  # (identifiers keyed anew, as the run writes them)
                stored.update(report.rekeyed.written)
            changed = fold_records(stored, lines)
            report.rederived = len(changed)
            result = await apply_scope(
                store, identity.rules, stored, changed, frozenset(), "reresolve",
                state=state, dry_run=True,
            )  # fmt: skip
    else:
        report.rederived = await _rederived(store, lines)
        result = await identity.resolve_all(lines, actor="reresolve", refuse=refuse, upgrade=True)
    _count(report, result)
    return report


async def _rederived(
    store: IdentityStore,
    lines: Mapping[RecordKey, RecordData],
    written: Mapping[RecordKey, RecordData] | None = None,
) -> int:
    """How many records ``lines`` add or change, folded into those stored (counted on a
    copy read for it: ``resolve_all`` folds them again); ``written``: the records a dry
    run's re-keying would write first, as the run's would have."""
    if not lines:
        return 0
    stored = await store.load_records(list(lines))
    stored.update({ref: copy.deepcopy(r) for ref, r in (written or {}).items() if ref in lines})
    return len(fold_records(stored, dict(lines)))


Rederive = Callable[[], Awaitable[dict[RecordKey, RecordData]]]
"""The records the lines held derive, as this release derives them."""


def records_of(sources: Mapping[SourceName, SourceConnector], region: str) -> Rederive:
    """A :data:`Rederive` reading ``sources`` (the store's source table, or MongoDB
    collections), a page of lines at a time: only the records are kept, never the lines."""

    async def derive() -> dict[RecordKey, RecordData]:
        records: dict[RecordKey, RecordData] = {}
        for name, connector in sources.items():
            page: list[tuple[SourceName, BaseModel]] = []
            async for line in connector.scan():
                page.append((name, line))
                if len(page) >= _PAGE:
                    _fold_page(records, page, region)
            _fold_page(records, page, region)
        return records

    return derive


def _fold_page(
    records: dict[RecordKey, RecordData], page: list[tuple[SourceName, BaseModel]], region: str
) -> None:
    fold_records(records, collect_records(page, region))
    page.clear()


async def rekeyed_in(sources: Mapping[SourceName, SourceConnector], region: str) -> int | None:
    """How many lines where ``sources`` keep them with their owner (the store file's
    source table, MongoDB collections) this release keys to another record (None: a source
    that keeps no owner)."""
    held = held_lines(sources, region)
    if held is None:
        return None
    return sum([1 async for _, _, stored, now, _ in held.owned() if now != stored])


async def rekeyed_documents(sources: Mapping[SourceName, SourceConnector]) -> int | None:
    """How many lines of MongoDB source collections this release keys to another record
    than the one they are stored under (None: some source is not a collection, so its
    lines' owners are not stored and cannot be compared)."""
    if not all(isinstance(c, MongoSource) for c in sources.values()):
        return None
    return await rekeyed_in(sources, "US")  # (a collection keys lines with its own region)


_PAGE = 5000
_SHOWN = 5  # changes said by the report (every one: ``changes``)


def _count(report: Reresolved, result: ApplyResult) -> None:
    report.records = len(result.scope)
    report.members = result.members
    report.merged = sum(1 for c in result.changes if c.kind == "merged")
    report.split = sum(1 for c in result.changes if c.kind == "split")
    # (a split naming one member: its records left it for no one, perhaps all of them)
    report.to_no_one = sum(
        1 for c in result.changes if c.kind == "split" and len(c.member_ids) == 1
    )
    report.moved = sum(1 for ref in result.assignments if ref in result.before)
    report.unattributed = len(result.unattributed)
    report.changes = [(c.kind, list(c.member_ids)) for c in result.changes]
    report.examples = [f"  {kind}: {', '.join(ids)}" for kind, ids in report.changes[:_SHOWN]]
    if more := len(report.changes) - _SHOWN:
        report.examples.append(f"  and {more} more change(s): every one with --changes FILE")


def _cannot_rekey(found: StoreMark | None, rekeyed: int | None) -> str:
    have = 0 if found is None else found.format
    why = (
        f"{rekeyed} of its lines are keyed to another record by this release, and they are "
        "not held with their record's key where they could be moved (the store file's "
        "source table, or MongoDB source collections passed with --sources)"
        if rekeyed
        else "its sources are read from a folder or an API, which keep no record key to "
        "compare with, so how its records are keyed cannot be checked (with sources in "
        "MongoDB, pass --sources)"
    )
    return (
        f"store format {have} -> {STORE_FORMAT}: {why}; bring the lines where the store "
        "keeps them (`membergraph load --data DIR --to URL` loads a folder into a store's "
        "sources) and run again. Loading them into a new store instead (`membergraph load "
        "--data DIR --to sqlite:///NEW.db`) resolves its members afresh and carries nothing "
        "of this store over: not the stewards' links and splits, and not its suppressions "
        "(an erased person's lines still in DIR would be loaded again)"
    )
