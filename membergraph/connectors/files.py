"""The file backend: one JSON Lines file per source (the embedded default and the demo).

A malformed line is reported with its file and line number, counted, and skipped; it never
stops the load. A line whose id was seen before replaces the earlier one (a transaction that
became ``refunded``, a CRM contact updated) unless the source's ordering says it is older
(``stale``), so the file is an append-only log whose order of lines does not matter.

An append is written (and, with ``durable``, fsynced) before it is indexed: a line is
acknowledged only once it is in the file, and a failed write leaves nothing in memory.

Several processes may push to one folder (gateways over one MongoDB store, each with the
same ``--data`` folder). Whoever writes a file, in any process, holds the folder's lock
(:func:`folder_lock`): an append (its suppression check and its one ``O_APPEND`` write) and
a rewrite (an erasure: read, filter, write a new file, rename it over the old one) never
overlap, so no line appended meanwhile lands in a replaced file, and a line of a person
being erased is refused or erased. A process reading what others appended
(:meth:`FileConnector.refresh`) sees a file rewritten by another one and reads it again whole.

A push's marks (:meth:`SourceConnector.append`: lines stored, their identity and feed entries
still on their way) are kept beside the file, in ``.<source>.marks``, written under the same
lock as the lines they mark: an erasure in any process sees the pushes of every process still
on their way, and waits for them. Pushes are one at a time across the processes
(:meth:`FileConnector.pushing`, an ``flock`` on ``.push.lock`` in the folder), as over a
SQLite store: a mark found by a push holding it is one a stopped push left, finished then.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, TypeVar

import orjson
from pydantic import BaseModel

from membergraph.connectors.base import Guard, Mark, SourceConnector
from membergraph.connectors.lines import (
    NOBODY,
    LineError,
    LoadReport,
    Notes,
    Owner,
    bom_length,
    parse_line,
)
from membergraph.connectors.models import CrmContact
from membergraph.connectors.push_lock import PushLock
from membergraph.connectors.sources import SourceSpec, Taken
from membergraph.private_files import create_private, open_private

__all__ = ["FileConnector", "LineError", "LoadReport", "folder_lock", "parse_line"]

T = TypeVar("T")


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Held by whoever writes a source file of ``folder``, in any process: an ``flock`` on
    the folder itself (a rewrite replaces the file, which so cannot carry it; no file is
    added to the folder). The kernel drops it when its holder dies. It blocks: hold it off
    the event loop."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


@contextlib.asynccontextmanager
async def _holding(folder: Path) -> AsyncIterator[None]:
    """:func:`folder_lock` on the event loop, across awaits: polled, not blocking a thread
    (a thread blocked in ``flock`` would outlive a cancelled request and take the lock
    with nobody to let it go)."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        yield
    finally:
        os.close(fd)


def _lines_of(handle: BinaryIO, whole: bool) -> Iterator[bytes]:
    """The lines of a file from where ``handle`` stands, each with its line end: ``\n``,
    ``\r\n`` or a lone ``\r`` (a file saved on an old Mac, or by a tool writing ``\r``), as
    a pushed body's (:func:`~membergraph.ingest_http.ingest_endpoint`), ``membergraph
    resolve`` (:mod:`~membergraph.identity.file_pieces`) and an erasure's rewrite read them.
    JSON has no raw ``\r`` in a string: no good line is cut in two. Unless ``whole``, the
    last line is left when it may not be complete (no line end yet, or a ``\r`` its
    ``\n`` may follow): its writer is not done with it."""
    for block in handle:  # up to and including each \n
        ends = block.endswith(b"\n")
        pieces = block.splitlines(keepends=True) if b"\r" in block else [block]
        for n, raw in enumerate(pieces):
            if not whole and not ends and n == len(pieces) - 1:
                return
            yield raw


class FileConnector(SourceConnector):
    """A source read from ``DIR/<source>.jsonl``, indexed by the record each line belongs to."""

    def __init__(
        self,
        spec: SourceSpec,
        folder: Path,
        owner: Owner,
        timeout: float = 5.0,
        durable: bool = True,
        notes: Notes | None = None,
    ) -> None:
        super().__init__(spec, owner, timeout)
        self.path = folder / spec.file_name
        self.durable = durable
        self.notes = notes  # what the report says of each line taken (values left out)
        self._by_id: dict[str, BaseModel] = {}
        self._owner_of: dict[str, str] = {}
        self._by_owner: dict[str, dict[str, BaseModel]] = defaultdict(dict)
        # Superseded versions, for a source whose older versions still say something
        # (SourceSpec.keeps_history): read by identity, never served.
        self._older: list[BaseModel] = []
        self._lock = asyncio.Lock()
        # Line id: the mark of the push not done with it, for every process (module doc).
        self._marks = folder / f".{spec.name.value}.marks"
        self._push_lock = PushLock(str(folder / ".push.lock"))
        self.order: list[tuple[str, str | None] | LineError] = []
        # Versions of a line that another version of the file outranked: what a CRM
        # contact chose then still counts as a consent fact (``superseded_contacts``).
        self.superseded_contacts: list[BaseModel] = []
        self._offset = self._number = 0  # how far the file was read, in bytes and lines
        self._file: tuple[int, int] | None = None  # the (device, inode) read: a rewrite moves it

    def load(self, keep_order: bool = False) -> LoadReport:
        """Read the whole file (missing: an empty source).

        With ``keep_order``, :attr:`order` lists every input line in file order as
        ``(line id, owner key)`` or the line's error (what ``membergraph resolve`` writes).
        """
        self.report = LoadReport()
        self.order = []
        self._offset, self._number, self._file = 0, 0, None
        # Read again from nothing: a line no longer in the file (erased) is not held either.
        self._by_id, self._owner_of, self._by_owner = {}, {}, defaultdict(dict)
        self.superseded_contacts = []
        self._older = []
        if not self.path.exists():
            return self.report
        self._read_from(keep_order, whole=True)
        return self.report

    def refresh(self) -> int:
        """Read what other processes appended since the last read (the change feed says
        when); a line still being written is left for the next time. Lines read."""
        if not self.path.exists():
            return 0
        found = self.path.stat()
        if self._file not in (None, (found.st_dev, found.st_ino)) or found.st_size < self._offset:
            # Rewritten by another process (an erasure): the offset means nothing there.
            return self.load().lines
        before = self.report.lines
        self._read_from(False, whole=False)
        return self.report.lines - before

    async def rewrite(self, change: Callable[[], T]) -> T:
        """Run ``change`` (which rewrites the file: an erasure) on a thread, with no append
        of any process meanwhile, then read the file again whole; its answer."""
        async with self._lock:

            def locked() -> T:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with folder_lock(self.path.parent):
                    return change()

            answer = await asyncio.to_thread(locked)
            await asyncio.to_thread(self.load)
            return answer

    def _read_from(self, keep_order: bool, whole: bool) -> None:
        with self.path.open("rb") as handle:
            if self._file is None:
                found = os.fstat(handle.fileno())
                self._file = (found.st_dev, found.st_ino)
            if self._offset == 0:  # a byte order mark before the first line is no part of it
                self._offset = bom_length(handle.read(3))
            handle.seek(self._offset)
            for raw in _lines_of(handle, whole):
                self._offset += len(raw)
                self._number += 1
                number = self._number
                if not raw.strip():
                    continue
                self.report.lines += 1
                where = f"{self.path.name}:{number}"
                parsed = parse_line(self.spec, raw, where, self.owner)
                line_id = None
                if not isinstance(parsed, LineError):
                    line, owner = parsed
                    line_id = self._index(line, owner)
                if line_id is None:  # malformed, or a second content for an immutable line
                    if not isinstance(parsed, LineError):
                        parsed = LineError(where, self.spec.taken_elsewhere(self.line_id(line)))
                    self.report.refuse(parsed)
                    if parsed.line is not None:  # nobody's, but a good line: kept (the books)
                        self._index(parsed.line, NOBODY)
                        self._note(where, parsed.line)
                    if keep_order:
                        self.order.append(parsed)
                    continue
                self.report.accepted += 1
                if keep_order:
                    self.order.append((line_id, owner))
                self._note(where, line)

    def _note(self, where: str, line: BaseModel) -> None:
        if self.notes is not None and (found := self.notes(line)):
            self.report.note(where, found)

    def _index(self, line: BaseModel, owner: str) -> str | None:
        """Index ``line`` by the source's ordering: its id, or None for a line an immutable
        source refuses (its id is held with other content), as ``POST /ingest`` does."""
        line_id = self.line_id(line)
        held = self._by_id.get(line_id)
        verdict = None if held is None else self.spec.order.verdict(held, line)
        if verdict == "rejected":
            return None
        if verdict == "stale":
            self._supersede(line)
            return line_id  # an older version, later in the file: the newer one stays
        if held is not None and verdict == "updated":
            self._supersede(held)
        previous = self._owner_of.get(line_id)
        if previous is not None:
            self._by_owner[previous].pop(line_id, None)
        self._by_id[line_id] = line
        self._owner_of[line_id] = owner
        self._by_owner[owner][line_id] = line
        return line_id

    def _supersede(self, line: BaseModel) -> None:
        if isinstance(line, CrmContact) and line.consents is not None:
            self.superseded_contacts.append(line)
        if self.spec.keeps_history:
            self._older.append(line)

    def lines(self) -> Iterator[BaseModel]:
        """Every current line (the latest version of each id)."""
        return iter(self._by_id.values())

    def older_lines(self) -> Iterator[BaseModel]:
        """The superseded versions read, where the source keeps history
        (:attr:`SourceSpec.keeps_history`): a CRM contact as it was before."""
        return iter(self._older)

    async def scan(self) -> AsyncIterator[BaseModel]:
        for line in list(self._by_id.values()):
            yield line

    def size(self) -> int:
        return len(self._by_id)

    checks_suppressions = True  # under the append's lock, before the write

    async def append(
        self, lines: Sequence[BaseModel], mark: Mark | None = None, guard: Guard | None = None
    ) -> list[Taken]:
        """Append lines; answer per line what :meth:`sort_out` decided; a line ``guard`` says
        carries a suppressed identifier is ``suppressed``, checked under the append's lock.
        Marks are kept beside the file, for every process (module doc).

        Raises:
            ValueError: a line names no owner (``parse_line`` refuses those first).
            OSError: the file could not be written; nothing was taken.
        """
        # The suppressions are read holding the folder's lock, in any process, until the
        # lines are written: an erasure's rewrite, which follows its suppression, comes
        # before the read (the line is refused) or after the write (the line is erased).
        async with self._lock, _holding(self.path.parent):
            refused = guard.refused(await guard.held(guard.carried())) if guard else set()
            kept = [line for n, line in enumerate(lines) if n not in refused]
            outcomes, changed = self.sort_out(kept, self._by_id, mark)
            if changed:
                # Rendered and written first: a line that cannot be, fails the whole append
                # before anything is indexed. Both in a thread: rendering 20,000 lines on
                # the event loop held every request.
                await asyncio.to_thread(self._render_and_write, [line for line, _ in changed])
            for line, owner in changed:
                self._index(line, owner)
            if marks := self.marks(kept, outcomes):
                await asyncio.to_thread(self._change_marks, marks, ())
        verdicts = iter(outcomes)
        return [Taken("suppressed") if n in refused else next(verdicts) for n in range(len(lines))]

    @contextlib.asynccontextmanager
    async def pushing(self) -> AsyncIterator[None]:
        """One push at a time across the processes pushing to the folder (module doc).

        Raises:
            TimeoutError: another process held it for 30 s.
        """
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        async with self._push_lock.held():
            yield

    async def abandoned(self) -> list[tuple[BaseModel, str]]:
        # Under the push lock no other process is pushing: any mark is a push's left over.
        return await self.unsettled()

    async def may_be_abandoned(self) -> bool:
        return self._marks.exists()  # (gone once no line is marked)

    async def unsettled(self) -> list[tuple[BaseModel, str]]:
        """The lines any process's push marked and has not settled, as stored now. Read
        under the folder's lock: a push that checked her suppression before it came has
        marked her line by then, and one that checks it after refuses the line."""
        async with self._lock, _holding(self.path.parent):
            marks = await asyncio.to_thread(self._read_marks)
            if any(line_id not in self._by_id for line_id in marks):
                await asyncio.to_thread(self.refresh)  # another process's lines
        return [(self._by_id[i], m) for i, m in marks.items() if i in self._by_id]

    async def settle(self, marks: Sequence[tuple[str, str]]) -> None:
        if marks:
            async with self._lock, _holding(self.path.parent):
                await asyncio.to_thread(self._change_marks, {}, marks)

    def _read_marks(self) -> dict[str, str]:
        try:
            return dict(orjson.loads(self._marks.read_bytes()))
        except FileNotFoundError:
            return {}

    def _change_marks(self, added: dict[str, str], dropped: Sequence[tuple[str, str]]) -> None:
        """Mark lines (``added``) and drop marks ``(line id, mark)`` (a line marked again
        since keeps its new mark). The caller holds the folder's lock; the file is replaced
        whole, so a reader never meets half of it, and goes once no line is marked."""
        marks = self._read_marks() | added
        for line_id, mark in dropped:
            if marks.get(line_id) == mark:
                del marks[line_id]
        if not marks:
            self._marks.unlink(missing_ok=True)
            return
        fresh = self._marks.with_name(self._marks.name + ".new")
        with open_private(fresh) as handle:  # line ids: a contact's is her CRM id
            handle.write(orjson.dumps(marks))
        os.replace(fresh, self._marks)

    def _render_and_write(self, lines: list[BaseModel]) -> None:
        self._write(
            [orjson.dumps(line.model_dump(mode="json", exclude_unset=True)) for line in lines]
        )

    def _write(self, fresh: list[bytes]) -> None:
        # The caller holds the folder's lock (append). A file started here holds personal
        # data: its owner's only (one already there keeps its mode).
        create_private(self.path)
        with self.path.open("a+b") as handle:
            # A file whose last line lacks its line end must not glue our first line to it
            # (a lone \r ends a line: with a \n after it, the two are one line end).
            handle.seek(0, 2)
            if handle.tell():
                handle.seek(-1, 2)
                if handle.read(1) not in (b"\n", b"\r"):
                    handle.write(b"\n")
            handle.write(b"\n".join(fresh) + b"\n")
            if self.durable:
                handle.flush()
                os.fsync(handle.fileno())

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[BaseModel]]:
        return [list(self._by_owner.get(key, {}).values()) for key in keys]
