"""The gate suppressed identifiers meet: a line carrying one is refused (``suppressed``) at
``POST /ingest`` and skipped when a folder is loaded (at start, by ``membergraph load`` into
SQLite or MongoDB, by ``membergraph resolve``), so an erased person does not come back with
the next import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from membergraph.connectors.models import SourceName
from membergraph.identity.records import record_of_line
from membergraph.identity.store.port import IdentityStore
from membergraph.privacy import Privacy, open_privacy
from membergraph.settings import Settings

__all__ = [
    "SUPPRESSED_ERROR",
    "Keep",
    "screen",
    "suppressing",
    "unsuppressed",
    "without_suppressed",
]

T = TypeVar("T")

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
    refused = await privacy.suppressor.refused(records)
    kept = [pair for pair, no in zip(lines, refused, strict=True) if not no]
    return kept, [tag for (tag, _), no in zip(lines, refused, strict=True) if no]


async def without_suppressed(
    privacy: Privacy, source: SourceName, lines: Sequence[Any], region: str
) -> list[Any]:
    """The lines of a source that carry no suppressed identifier."""
    kept, _ = await screen(privacy, source, [(None, line) for line in lines], region)
    return [line for _, line in kept]


def unsuppressed(privacy: Privacy) -> Keep:
    """What a folder load keeps of a source's lines: those carrying no suppressed identifier
    (all of them, unread, while nothing is suppressed)."""

    async def keep(source: SourceName, lines: list[BaseModel]) -> list[BaseModel]:
        if not await privacy.store.any_suppressed():
            return lines
        return await without_suppressed(privacy, source, lines, privacy.suppressor.region)

    return keep


async def suppressing(store: IdentityStore, settings: Settings) -> Privacy | None:
    """The privacy services of an open identity store when it suppresses anything (what a
    batch command must then honour), else None: nothing to screen, no line read twice."""
    privacy = await open_privacy(store, settings)
    return privacy if await privacy.store.any_suppressed() else None
