"""``membergraph load --to mongodb://``: a folder's lines copied into the source collections,
idempotent (each line ordered against the version held), leaving out suppressed people's.

A first load (the collections hold no line) copies the lines in bulk, gives the collections
a new version (:mod:`~membergraph.connectors.mongodb_loads`), resolves the lines it copied
with the identity store as the embedded store's first load does
(:func:`~membergraph.folder_load.resolve_lines`), records the version it resolved in the
store, and measures every member's figures: the next start lists, resolves and measures
nothing. Stopped before it recorded the version, it leaves the store behind the
collections, which a start says and ``membergraph reresolve`` resolves. A load into
collections that hold lines (a nightly export dropped in)
is a push of the folder's lines (:func:`push_folder`), page by page through
:meth:`IngestService.push <membergraph.ingest.IngestService.push>`, as ``POST /ingest``
takes them: each line ordered against the version held, what changed resolved at once and
announced on the change feed, so running gateways see it within the feed's lag (a consent
withdrawn in the export reaches their subscribers and caches) and no start has anything
to resolve; a load stopped half-way leaves marked lines that the next start or load
finishes."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress

from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.mongodb_loads import Load
from membergraph.connectors.sources import outranked_version
from membergraph.connectors.sqlite_rows import render
from membergraph.folder_load import resolve_lines
from membergraph.identity.rules import load_rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store import IdentityStore, StoreError, store_from_url
from membergraph.identity.store.mongodb_client import MongoTimeouts
from membergraph.privacy import open_privacy
from membergraph.privacy.gate import Keep, KeepConsents, consent_keeper, unsuppressed
from membergraph.settings import Settings
from membergraph.source_set import mongo_sources, mongo_timeouts, open_sources

__all__ = ["holds_lines", "load_folder", "load_screened", "push_folder"]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


async def load_screened(
    data: Path, url: str, settings: Settings, store_url: str, client: object = None
) -> dict[str, dict[str, int]]:
    """Into collections that hold no line, :func:`load_folder` leaving out the lines the
    identity store at ``store_url`` suppresses (an erased person's lines in an old folder),
    and keeping in it the consent facts of the CRM versions the load outranks, as a load
    into SQLite does; into collections that hold lines, :func:`push_folder`."""
    # The time limits the gateway uses, for the identity store and the sources alike.
    timeouts = mongo_timeouts(settings)
    identity = store_from_url(store_url, client, mongo_timeouts=timeouts)
    try:
        await identity.open()
    except StoreError as exc:
        await identity.aclose()
        # Said so: loading sources alone once needed no identity store (a standalone server).
        raise StoreError(
            "the identity store whose suppressions a load honours (--store or "
            f"MEMBERGRAPH_STORE, by default the --to database) could not be opened: {exc}"
        ) from None
    try:
        if await holds_lines(url, settings.default_region, client, timeouts):
            pushing = settings.model_copy(update={"store": store_url, "sources": url})
            return await push_folder(data, pushing, client)
        privacy = await open_privacy(identity, settings)
        copied = Copied()
        counts = await load_folder(
            data,
            url,
            settings.default_region,
            client,
            keep=unsuppressed(privacy),
            keep_consents=consent_keeper(privacy),
            timeouts=timeouts,
            copied=copied,
        )
        if copied.version is not None:
            serving = settings.model_copy(update={"store": store_url, "sources": url})
            await _resolve_first_load(identity, copied, serving, client)
        return counts
    finally:
        await identity.aclose()


@dataclass
class Copied:
    """What a first load copied: the lines taken (to resolve), the older versions whose
    values identity keeps, and the collections' version once it changed a line."""

    lines: list[tuple[SourceName, BaseModel]] = field(default_factory=list)
    older: list[tuple[SourceName, BaseModel]] = field(default_factory=list)
    version: str | None = None


async def _resolve_first_load(
    store: IdentityStore, copied: Copied, settings: Settings, client: object
) -> None:
    """Resolve what a first load copied with ``store``, record the collections' version
    it resolved, then measure every member's figures in a gateway over them (as a first
    start over the embedded store does), so no start has anything to do."""
    from membergraph.gateway import measure_whole, open_gateway

    region = settings.default_region
    identity = IdentityService(store, load_rules(settings.rules), region)
    with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
        progress.add_task("resolving identities", total=None)
        await resolve_lines(identity, copied.lines, copied.older, region)
        copied.lines.clear()
        assert copied.version is not None
        await store.set_sources_resolved(copied.version)
        progress.add_task("measuring members", total=None)
        gateway, sources, _ = await open_gateway(settings, client, demo=False)
        try:
            await measure_whole(gateway)
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()


async def holds_lines(url: str, region: str, client: object, timeouts: MongoTimeouts) -> bool:
    target = await mongo_sources(url, region, client, timeouts=timeouts)
    try:
        for connector in target.connectors.values():
            assert isinstance(connector, MongoSource)
            if await connector.holds_any():
                return True
        return False
    finally:
        await target.aclose()


async def push_folder(
    data: Path, settings: Settings, client: object = None, page: int = 1000
) -> dict[str, dict[str, int]]:
    """Push every valid line of a folder into the store and the source collections that
    ``settings`` name (a gateway's own pushes: ordered, resolved, announced); count the
    outcomes. A contact's older versions in the folder go first, so the newest is held
    last and each version's consent choices are kept as it is taken."""
    from membergraph.gateway import open_gateway
    from membergraph.ingest import IngestRefused, IngestService

    files = await asyncio.to_thread(open_sources, data, settings.default_region)
    gateway, sources, _ = await open_gateway(settings, client, demo=False)
    counts: dict[str, dict[str, int]] = {}
    try:
        ingest = IngestService(gateway)
        await ingest.heal()  # lines a stopped load or push stored and did not finish
        with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
            for name, source in files.connectors.items():
                assert isinstance(source, FileConnector)
                models = [*source.superseded_contacts, *source.lines()]
                task = progress.add_task(f"loading {name.value}", total=len(models))
                outcome = Counter(dict.fromkeys(_OUTCOMES, 0))
                for start in range(0, len(models), page):
                    chunk = models[start : start + page]
                    try:
                        pushed = await ingest.push(name, [render(line) for line in chunk])
                    except IngestRefused as exc:
                        raise StoreError(f"loading {name.value}: {exc}") from None
                    # (a stale version's consent choices are kept by the push, as by a
                    # bulk load: what she chose then still counts)
                    outcome.update(line["status"] for line in pushed.lines)
                    progress.advance(task, len(chunk))
                outcome["malformed"] = source.report.malformed
                counts[name.value] = dict(outcome)
    finally:
        if gateway.scores is not None:
            await gateway.scores.aclose()
        await gateway.identity.store.aclose()
        await sources.aclose()
    return counts


_SAYS_NOTHING = frozenset(("stale", "rejected"))  # verdicts of lines not held as sent
_OUTCOMES = ("created", "updated", "unchanged", "stale", "rejected", "suppressed", "unattributed")


async def load_folder(
    data: Path,
    url: str,
    region: str,
    client: object = None,
    batch: int = 1000,
    keep: Keep | None = None,
    keep_consents: KeepConsents | None = None,
    timeouts: MongoTimeouts | None = None,
    copied: Copied | None = None,
) -> dict[str, dict[str, int]]:
    """Copy every valid line of a folder's files into the collections; count the outcomes.
    Nothing is resolved here: :func:`load_screened` resolves a first load's lines.

    ``keep``: the lines of a source to copy (those carrying no suppressed identifier).
    ``keep_consents``: given the CRM versions outranked (an older version in the folder, one
    older than the version held, the one held that a line replaced). ``timeouts``: the
    MongoDB time limits (:func:`~membergraph.source_set.mongo_timeouts` of the settings;
    the defaults when None). ``copied``: given the lines taken, their older versions and
    the collections' new version (set once the load changed a line).
    """
    files = await asyncio.to_thread(open_sources, data, region)
    target = await mongo_sources(url, region, client, timeouts=timeouts)
    counts: dict[str, dict[str, int]] = {}
    try:
        crm = target.connectors[SourceName.CRM]
        assert isinstance(crm, MongoSource)
        load = Load(crm.collection.database)
        await load.begin()  # a load stopped half-way leaves the collections a new version
        with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
            for name, source in files.connectors.items():
                assert isinstance(source, FileConnector)
                read = list(source.lines())
                lines = read if keep is None else await keep(name, read)
                older = list(source.superseded_contacts)
                if keep is not None and older:
                    older = await keep(name, older)
                task = progress.add_task(f"loading {name.value}", total=len(lines))
                outcome = dict.fromkeys(("created", "updated", "unchanged", "stale", "rejected"), 0)
                outcome["suppressed"] = len(read) - len(lines)
                for start in range(0, len(lines), batch):
                    chunk = lines[start : start + batch]
                    results = await target.connectors[name].append(chunk)
                    for line, result in zip(chunk, results, strict=True):
                        outcome[result] += 1
                        if copied is not None and result not in _SAYS_NOTHING:
                            copied.lines.append((name, line))
                        if (version := outranked_version(line, result)) is not None:
                            older.append(version)
                    progress.advance(task, len(chunk))
                if keep_consents is not None and older:
                    await keep_consents(older)
                outcome["malformed"] = source.report.malformed
                counts[name.value] = outcome
                if copied is not None:
                    history = list(source.older_lines())
                    if keep is not None and history:
                        history = await keep(name, history)
                    copied.older += ((name, line) for line in history)
        changed = any(o["created"] or o["updated"] for o in counts.values())
        await load.end(changed=changed)
        if copied is not None and changed:
            copied.version = load.mine
    finally:
        await target.aclose()
    return counts
