"""Pushes still on their way in when an erasure begins, in any process over the same store.

A push writes its lines with a mark and checks them against the suppressions in that write
(or right after it, undoing it: :func:`~membergraph.privacy.gate.guarded`); it drops the marks
once their identity, feed entries and consents are written. An erasure suppresses the person
first. So a push checked before the suppression has its lines marked by then, and
:func:`wait_for_pushes` waits for those marks, of her lines, to go: only then does the store
say everything that is hers, and nothing of hers is still coming (a push checked after the
suppression refuses her lines).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from membergraph.connectors.base import SourceConnector
from membergraph.connectors.models import SourceName
from membergraph.identity.line_records import record_of_line

if TYPE_CHECKING:
    from membergraph.privacy.subject import Subject
    from membergraph.privacy.suppression import Suppressor

__all__ = ["NotSettled", "her_lines", "wait_for_pushes"]

Hers = Callable[[SourceName, BaseModel], bool]
Marked = set[tuple[str, str, str]]  # (source, line id, mark)


class NotSettled(RuntimeError):
    """Lines of hers are still marked: a push still on its way, or one a stopped process left
    (the next start finishes it); the erasure is retried."""


async def wait_for_pushes(
    connectors: Iterable[Mapping[SourceName, Any]], hers: Hers, seconds: float = 20.0
) -> int:
    """Wait until no line of hers (``hers(source, line)``) marked now is still marked by the
    same push (one that marks it again later checked it after her suppression); answers how
    many were waited for.

    Raises:
        NotSettled: some were still marked after ``seconds``.
    """
    pushable = [
        (name, c)
        for group in connectors
        for name, c in group.items()
        if isinstance(c, SourceConnector) and c.takes_pushes
    ]
    begun = await _marked(pushable, hers)
    waited, loop = len(begun), asyncio.get_running_loop()
    deadline, pause = loop.time() + seconds, 0.005
    while begun:
        if loop.time() > deadline:
            raise NotSettled(f"{len(begun)} pushed line(s) of the person are not finished yet")
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.1)
        begun &= await _marked(pushable, hers)
    return waited


async def _marked(pushable: list[tuple[SourceName, SourceConnector]], hers: Hers) -> Marked:
    found: Marked = set()
    for name, connector in pushable:
        for line, mark in await connector.unsettled():
            if hers(name, line):
                found.add((name.value, connector.line_id(line), mark))
    return found


def her_lines(
    subject: Subject, suppressor: Suppressor, region: str
) -> Callable[[SourceName, BaseModel], bool]:
    """Whether a line is hers: it belongs to one of her records, or carries one of her
    identifiers."""
    digests = {suppressor.digest(kind, key) for kind, key in subject.suppress}
    refs = set(subject.refs)

    def hers(source: SourceName, line: BaseModel) -> bool:
        record = record_of_line(source, line, region)
        return record is not None and (
            record.ref in refs or bool(suppressor.digests(record) & digests)
        )

    return hers
