"""The gate suppressed identifiers meet: a line carrying one is refused (``suppressed``) at
``POST /ingest`` and skipped when a folder is loaded (at start, by ``membergraph load`` into
SQLite or MongoDB, by ``membergraph resolve``), so an erased person does not come back with
the next import.

A push screens its lines first (:func:`screen`, cheap), and checks them again as it writes
them (:func:`guarded`): an erasure in another process may suppress them in between."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from membergraph.connectors.base import Guard, Mark, SourceConnector
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.connectors.sources import Taken
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.service import Refuse
from membergraph.identity.store.port import IdentityStore
from membergraph.insights.consent import facts_of_lines
from membergraph.privacy import Privacy, open_privacy
from membergraph.privacy.suppression import ERASED_LINE
from membergraph.settings import Settings

__all__ = [
    "SUPPRESSED_ERROR",
    "Keep",
    "KeepConsents",
    "consent_keeper",
    "guard_of",
    "guarded",
    "refusing",
    "said_suppressed",
    "screen",
    "suppressing",
    "unsuppressed",
    "without_suppressed",
]

T = TypeVar("T")
logger = logging.getLogger(__name__)

Keep = Callable[[SourceName, list[BaseModel]], Awaitable[list[BaseModel]]]
"""What a folder load keeps of a source's lines."""

SUPPRESSED_ERROR = (
    "the line carries a suppressed identifier (an erased person, or one who asked not to be "
    "processed): it was not taken"
)


async def screen(
    privacy: Privacy, source: SourceName, lines: Sequence[tuple[T, BaseModel]], region: str
) -> tuple[list[tuple[T, BaseModel]], list[T]]:
    """Split ``(tag, line)`` pairs into those to take and the tags of those refused."""
    records = [record_of_line(source, line, region) for _, line in lines]
    # A line an erasure removed is known by its hash: made only when such a line is kept.
    erased = await privacy.store.any_suppressed(ERASED_LINE)
    named = [(source.value, line) for _, line in lines] if erased else None
    refused = await privacy.suppressor.refused(records, named)
    kept = [pair for pair, no in zip(lines, refused, strict=True) if not no]
    return kept, [tag for (tag, _), no in zip(lines, refused, strict=True) if no]


def guard_of(privacy: Privacy, records: Sequence[RecordData | None]) -> Guard:
    """What lines whose records are ``records`` are checked against as they are written."""
    return Guard([privacy.suppressor.digests(r) for r in records], privacy.store.suppressed)


async def guarded(
    connector: SourceConnector,
    lines: Sequence[BaseModel],
    mark: Mark,
    guard: Guard,
    step: Callable[[str], Awaitable[None]],
) -> list[Taken]:
    """Append pushed lines, each refused (``suppressed``) if it carries an identifier
    suppressed before it was written: by the backend in the write itself where it can (the
    SQLite source table: the same transaction), else checked right after the write, the lines
    found suppressed withdrawn. So a suppression committed before the check refuses the line,
    and one committed after it finds the line written and marked (an erasure waits for it);
    ``step("written")`` is awaited between the write and that check."""
    outcomes = await connector.append(lines, mark, guard)
    await step("written")
    if connector.checks_suppressions:
        return outcomes
    taken = [n for n, o in enumerate(outcomes) if o in ("created", "updated", "unchanged")]
    carried = set().union(*(guard.digests[n] for n in taken)) if taken else set()
    if not carried:
        return outcomes
    refused = guard.refused(await guard.held(carried)) & set(taken)
    if refused:
        await connector.withdraw([(lines[n], outcomes[n]) for n in sorted(refused)])
    return [Taken("suppressed") if n in refused else o for n, o in enumerate(outcomes)]


async def without_suppressed(
    privacy: Privacy, source: SourceName, lines: Sequence[Any], region: str
) -> list[Any]:
    """The lines of a source that carry no suppressed identifier."""
    kept, _ = await screen(privacy, source, [(None, line) for line in lines], region)
    return [line for _, line in kept]


def said_suppressed(source: SourceName, left_out: int) -> None:
    """Say how many of a source's lines a folder load left out as suppressed (an erased
    person's, or lines an erasure removed), so the lines read are all accounted for."""
    if left_out:
        logger.warning(
            "%s: %d line(s) left out as suppressed (an erased person's, or one who asked not "
            "to be processed)",
            source.value,
            left_out,
        )


def unsuppressed(privacy: Privacy) -> Keep:
    """What a folder load keeps of a source's lines: those carrying no suppressed identifier
    (all of them, unread, while nothing is suppressed)."""

    async def keep(source: SourceName, lines: list[BaseModel]) -> list[BaseModel]:
        if not await privacy.store.any_suppressed():
            return lines
        return await without_suppressed(privacy, source, lines, privacy.suppressor.region)

    return keep


KeepConsents = Callable[[Sequence[BaseModel]], Awaitable[None]]
"""Keeps the consent facts of CRM versions a load outranks."""


def consent_keeper(privacy: Privacy) -> KeepConsents:
    """What a folder load (into SQLite at start or by ``membergraph load``, into MongoDB by
    ``membergraph load --to mongodb://``) does with the CRM versions it outranks (an older
    version in the folder, one older than the version held, or the one held that a line
    replaced): their consent facts are kept, so what a contact chose then still counts."""

    async def keep(versions: Sequence[BaseModel]) -> None:
        contacts = [v for v in versions if isinstance(v, CrmContact)]
        if contacts:
            await privacy.store.record_consents(list(facts_of_lines(contacts, ())))

    return keep


def refusing(privacy: Privacy) -> Refuse:
    """What a whole-store resolution asks, just before it computes, of the records it was
    given: which carry an identifier suppressed since their lines were screened (an erasure
    in another process meanwhile). Nothing is read while nothing is suppressed."""

    async def refuse(records: Sequence[RecordData]) -> list[bool]:
        if not await privacy.store.any_suppressed():
            return [False] * len(records)
        return await privacy.suppressor.refused(records)

    return refuse


async def suppressing(store: IdentityStore, settings: Settings) -> Privacy | None:
    """The privacy services of an open identity store when it suppresses anything (what a
    batch command must then honour), else None: nothing to screen, no line read twice."""
    privacy = await open_privacy(store, settings)
    return privacy if await privacy.store.any_suppressed() else None
