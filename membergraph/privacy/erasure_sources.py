"""An erasure's ``sources`` step: the person's lines leave every source the gateway owns.

Her records' lines go from each source (a purchase stays for the books without what
identifies the buyer; a source read over HTTP is asked on the feed instead); then her lines
in records she shares with someone else (a family computer's visitor), the lines kept for no
one that name her e-mail or phone (a till that typed it into the card field), and the folder
the embedded store was loaded from, rewritten without them. A file (a file source, that
folder) also loses every line that fails validation and names her (``lines_invalid``): no
load took it, so no store holds it, but the file still would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteSource, folder_fingerprint
from membergraph.gateway_parts import Gateway
from membergraph.privacy import Privacy
from membergraph.privacy.books import Erased
from membergraph.privacy.her_values import HerValues
from membergraph.privacy.naming import line_ids, lines_beyond
from membergraph.privacy.port import Erasure, PrivacyRequest
from membergraph.privacy.sources import (
    compact_folder,
    erase_lines,
    erase_source,
)
from membergraph.privacy.subject import Subject

__all__ = ["SourcesStep"]


class SourcesStep:
    """The ``sources`` step of one erasure service (idempotent: a retry finds what is left)."""

    def __init__(self, gateway: Gateway, privacy: Privacy, folder: Path | None) -> None:
        self.gateway = gateway
        self.privacy = privacy
        self.folder = folder  # the folder the embedded store was loaded from, if any

    async def run(self, request: PrivacyRequest, subject: Subject | None) -> None:
        """Her lines leave every source; the counts go on ``request``."""
        if subject is None:
            return
        owners = subject.owners()
        pseudonym = self.privacy.suppressor.pseudonym
        her = HerValues(
            subject.suppress, subject.named_by, subject.names, self.privacy.suppressor.region
        )
        for name, connector in self.gateway.sources.items():
            # A file may hold her in lines no load took (failing validation): read for her.
            if not owners.get(name) and not isinstance(connector, FileConnector):
                continue
            erased = await erase_source(connector, owners.get(name, set()), pseudonym, her)
            _count_invalid(request, erased.invalid)
            await self._remember(request, erased)
            if not (erased.lines or erased.invalid or owners.get(name)):
                continue
            if erased.forwarded and name.value not in request.forwarded:
                request.forwarded.append(name.value)  # asked on the feed, after the identity
            request.sources.setdefault(name.value, "requested" if erased.forwarded else "deleted")
            request.counts["lines"] = request.counts.get("lines", 0) + len(erased.lines)
            per_source = f"lines_{name.value}"  # what went where, for the report
            request.counts[per_source] = request.counts.get(per_source, 0) + len(erased.lines)
            request.counts["kept_for_books"] = (
                request.counts.get("kept_for_books", 0) + erased.kept_for_books
            )
        for name, copy in self.gateway.synced.items():
            # An HTTP source's lines that `membergraph sync` keeps in the store: ours to erase
            # (the API itself was asked above, on the feed).
            if owners.get(name):
                erased = await erase_source(copy, owners[name], pseudonym)
                await self._remember(request, erased)
                request.counts["lines"] = request.counts.get("lines", 0) + len(erased.lines)
                synced = f"lines_{name.value}_synced"
                request.counts[synced] = request.counts.get(synced, 0) + len(erased.lines)
        request.counts["forwarded"] = len(request.forwarded)
        # Her lines outside her records: the search her export shows them by.
        beyond = await lines_beyond(self.gateway, subject, elsewhere=False)
        shared = {name: line_ids(name, lines) for name, lines in beyond.shared.items()}
        for name, ids in shared.items():
            erased = await erase_lines(self.gateway.sources[name], ids)
            await self._remember(request, erased)
            request.counts["lines_shared"] = request.counts.get("lines_shared", 0) + len(
                erased.lines
            )
            # Their feed entries name the device's member, not hers: they go now.
            gone = tuple((name.value, line_id) for line_id in erased.lines)
            await self.privacy.store.erase_identity(Erasure((), (), gone, ()), datetime.now(UTC))
        nobodys = {name: line_ids(name, lines) for name, lines in beyond.nobodys.items()}
        for name, ids in nobodys.items():
            erased = await erase_lines(self.gateway.sources[name], ids, pseudonym)
            await self._remember(request, erased)
            request.counts["lines_nobodys"] = request.counts.get("lines_nobodys", 0) + len(
                erased.lines
            )
            request.counts["kept_for_books"] = (
                request.counts.get("kept_for_books", 0) + erased.kept_for_books
            )
        for name, ids in nobodys.items():
            shared[name] = [*shared.get(name, []), *ids]
        await self._compact_folder(request, owners, shared, her)

    async def _compact_folder(
        self,
        request: PrivacyRequest,
        owners: dict[SourceName, set[str]],
        shared: dict[SourceName, list[str]],
        her: HerValues,
    ) -> None:
        folder = self.folder
        if folder is None or not folder.is_dir():
            return
        owner_of: dict[SourceName, Callable[[BaseModel], str | None]] = {}
        table = None
        for name in SOURCES:
            connector = self.gateway.sources.get(name)
            if connector is not None and hasattr(connector, "owner"):
                owner_of[name] = connector.owner
            if isinstance(connector, SqliteSource):
                table = connector.lines
        suppressor = self.privacy.suppressor
        ids = {name: set(found) for name, found in shared.items()}
        # Loaded as it is now (this start's folder, or one unchanged since its load): kept as
        # loaded once rewritten, so the next start does not read it again. A folder changed
        # since (lines appended, not loaded yet) keeps its fingerprint: the next start loads
        # what changed, her lines gone.
        held = await table.meta("folder") if table is not None else None
        loaded = held is not None and held == await asyncio.to_thread(folder_fingerprint, folder)
        erased, fingerprint = await compact_folder(
            folder, owners, owner_of, suppressor.pseudonym, suppressor.region, ids, her
        )
        request.counts["lines_folder"] = request.counts.get("lines_folder", 0) + len(erased.lines)
        if erased.kept_for_books:  # (a purchase's copy, as the store's own in kept_for_books)
            kept = request.counts.get("kept_for_books_folder", 0) + erased.kept_for_books
            request.counts["kept_for_books_folder"] = kept
        _count_invalid(request, erased.invalid)
        await self._remember(request, erased)
        if table is not None and loaded:
            await table.set_meta("folder", fingerprint)

    async def _remember(self, request: PrivacyRequest, erased: Erased) -> None:
        """Keep a keyed hash of each line removed (its source, id and content): a load of a
        copy of the folder made before, or the same line pushed again, is refused as
        ``suppressed``, where it would bring back a line that names her with no identifier
        of hers (a cash sale's note), or a purchase beside its copy kept for the books.
        Not for a request that suppresses nothing (``suppress: false``)."""
        if request.steps.get("suppress") == "skipped" or not erased.removed:
            return
        by_source: dict[str, list[BaseModel]] = {}
        for source, line in erased.removed:
            by_source.setdefault(source, []).append(line)
        said = f"erasure {request.id}"
        for source, lines in by_source.items():
            added = await self.privacy.suppressor.suppress_lines(source, lines, request.actor, said)
            request.counts["lines_suppressed"] = request.counts.get("lines_suppressed", 0) + added


def _count_invalid(request: PrivacyRequest, invalid: int) -> None:
    """Lines that failed validation and named her, removed (another person's broken line
    naming her value goes too: it cannot be told from hers)."""
    if invalid:
        request.counts["lines_invalid"] = request.counts.get("lines_invalid", 0) + invalid
