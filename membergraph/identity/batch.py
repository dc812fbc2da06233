"""Batch resolution of a folder: the folder read (:mod:`~membergraph.identity.folder_scan`),
its records resolved into the store, and one answer line per input line, written while the
store writes and shown once it has committed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.identity.answer_file import AnswerFile
from membergraph.identity.folder_scan import FolderScan, Refuse, scan_folder
from membergraph.identity.line_records import record_of_line
from membergraph.identity.load import ownership
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.scope_change import ApplyResult
from membergraph.identity.service import IdentityService
from membergraph.identity.store.port import IdentityStore

__all__ = [
    "BatchResult",
    "FolderScan",
    "HeldLines",
    "Refuse",
    "prefer_held",
    "resolve_folder",
    "scan_folder",
]


@dataclass(slots=True)
class BatchResult:
    """What ``membergraph resolve`` did, with the seconds each phase took."""

    lines: int
    records: int
    members: int
    malformed: int
    phases: dict[str, float] = field(default_factory=dict)
    unattributed: dict[str, int] = field(default_factory=dict)
    """Lines that identify no one, by reason (``placeholder e-mail na@na.com``)."""
    suppressed: int = 0
    """Lines left out for carrying a suppressed identifier."""


HeldLines = Callable[[SourceName, Sequence[str]], Awaitable[Mapping[str, BaseModel]]]
"""The lines a store holds now, by line id (the embedded store's source table)."""


async def prefer_held(
    records: dict[RecordKey, RecordData], folder: Path, held: HeldLines, region: str
) -> int:
    """Resolve a CRM contact the store holds a newer version of (by the source's ordering) as
    that version says: the folder's older line updates nothing. Only CRM lines change what
    their record is (names, birth date, address; the folder's older version still adds its
    values: :meth:`RecordData.remember`); other sources' records gain
    identifiers line by line, which the store's records keep (``resolve_all``). Answers how
    many contacts the store's version decided."""
    spec = SOURCES[SourceName.CRM]
    ids = [key for source, key in records if source == SourceName.CRM]
    stored = await held(SourceName.CRM, ids) if ids else {}
    if not stored:
        return 0
    contacts = FileConnector(spec, folder, ownership(SourceName.CRM, region))
    await asyncio.to_thread(contacts.load)
    in_folder = {contacts.line_id(line): line for line in contacts.lines()}
    newer = 0
    for line_id, line in stored.items():
        mine = in_folder.get(line_id)
        if mine is None or spec.order.verdict(line, mine) == "stale":
            record = record_of_line(SourceName.CRM, line, region)
            if record is not None:
                folder_version = records.get(record.ref)
                if folder_version is not None:  # older, but its values were hers
                    record.remember(folder_version)
                records[record.ref] = record
                newer += 1
    return newer


async def resolve_folder(
    folder: Path,
    out: Path,
    store: IdentityStore,
    rules: Rules | None = None,
    region: str = "US",
    on_phase: Callable[[str], object] = lambda _: None,
    workers: int | None = None,
    refuse: Refuse | None = None,
    held: HeldLines | None = None,
) -> BatchResult:
    """Resolve a folder into ``store`` (open) and write one JSON line per input line to
    ``out``: ``{"source", "id", "member_id"}``, or ``"error"`` with the line's ``id`` when
    it names one (null when it is not JSON).

    ``refuse`` (the store's suppressions; None when nothing is suppressed): lines carrying
    a suppressed identifier are left out, answered ``"suppressed": true``. ``held``: the
    lines the store holds now, if it holds any (:func:`prefer_held`).
    """
    phases: dict[str, float] = {}
    began = time.perf_counter()

    def lap(name: str, following: str) -> None:
        nonlocal began
        now = time.perf_counter()
        phases[name] = now - began
        began = now
        on_phase(following)

    on_phase("reading sources")
    # The answers are written while the store writes the members and shown once the store
    # has committed: ``out`` is never half-written or early. Opened first: a folder that
    # cannot take them fails the run before its work, not after.
    answers = AnswerFile(out)
    try:
        scan = scan_folder(folder, region, workers, exact=refuse is not None)
        suppressed = 0 if refuse is None else await scan.screen(refuse)
        if held is not None:  # after the screen: a suppressed contact stays left out
            await prefer_held(scan.records, folder, held, region)
        lap("read and validate", "resolving")

        async def answer(result: ApplyResult) -> None:
            lines = scan.answers(result.member_of, result.unattributed)
            await asyncio.to_thread(answers.handle.writelines, lines)

        service = IdentityService(store, rules, region)
        result = await service.resolve_all(scan.records, while_storing=answer)
        answers.show()
    finally:
        answers.close()
    lap("resolve, store and answer", "done")
    reports = scan.reports.values()
    return BatchResult(
        lines=sum(r.lines for r in reports),
        records=len(scan.records),
        members=result.members,
        malformed=sum(r.malformed for r in reports),
        phases=phases,
        unattributed=_summed(
            [*(r.unattributed for r in reports), scan.nobodys_lines(result.unattributed)]
        ),
        suppressed=suppressed,
    )


def _summed(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for reason, n in count.items():
            total[reason] = total.get(reason, 0) + n
    return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))
