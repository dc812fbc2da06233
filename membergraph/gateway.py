"""Assembling a gateway from settings: sources (:mod:`.source_set`), identity store, and
the embedded store's folder loaded.

Used by the Starlette lifespan (``app.py``) and by the CLI's batch commands.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from membergraph._perf import gc_paused
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.files import FileConnector
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.mongodb_loads import sources_behind
from membergraph.connectors.sqlite import SqliteLines, SqliteSource, folder_fingerprint
from membergraph.folder_load import (
    FIRST_LOAD,
    FIRST_LOAD_FOLDER,
    FOLDER_PATH,
    FolderLoad,
    first_load_unfinished,
    load_folder_into,
)
from membergraph.full_start import left_for_room
from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind, FeedEntry, FeedFollower
from membergraph.identity.reresolve import require_servable, rules_notice, sources_notice
from membergraph.identity.rules import load_rules
from membergraph.identity.service import ApplyResult, IdentityService
from membergraph.identity.steward_suggestions import ScoredPairs
from membergraph.identity.store import StoreError, store_from_url
from membergraph.identity.store.format import Verdict
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import Privacy, open_privacy
from membergraph.privacy.gate import consent_keeper, unsuppressed
from membergraph.resolvers.store_keys import StoreKeys, keys_of
from membergraph.scores import MetricsKeeper
from membergraph.settings import Settings
from membergraph.source_set import (
    SourceSet,
    demo_folder,
    demo_path,
    embedded_path,
    mongo_timeouts,
    open_source_set,
    require_sources_in_a_database,
    sqlite_sources,
)

__all__ = ["follow_feed", "measure_whole", "open_gateway"]

logger = logging.getLogger(__name__)


async def _demo_unless_loaded_otherwise(settings: Settings, lines: SqliteLines) -> Path | None:
    """The folder a start names no folder for: the demo set, unless the store's lines were
    loaded from a folder of the user's (``membergraph load``, an earlier ``serve --data``),
    which is then served as it holds them (None: no folder is read). The demo's made-up
    people are never mixed into someone's own data because ``--data`` was left out."""
    loaded = await lines.meta(FOLDER_PATH)
    if loaded is not None and not _is_demo(Path(loaded), settings):
        if await lines.empty():  # (every line of it malformed: the demo is not put in its place)
            logger.warning(
                "the store was loaded from %s and holds no line of it (each was malformed,"
                " or it had none): served empty, not with the demo; `membergraph load"
                " --rejected FILE` says why each line was refused",
                loaded,
            )
        return None
    # A first load of another folder stopped part-way (`load` killed, or cut by a full disk)
    # has kept no folder's path yet: its lines are someone's, never finished with the demo
    # (said by `open_gateway`), and no demo is written for it.
    pending = await lines.meta(FIRST_LOAD)
    if pending is not None:
        left = await lines.meta(FIRST_LOAD_FOLDER)
        demo = demo_path(settings)
        if left is not None and Path(left) != demo.resolve():
            return None
        written = await asyncio.to_thread((demo / "truth.jsonl").exists)
        if left is None and (
            not written or pending != await asyncio.to_thread(folder_fingerprint, demo)
        ):
            return None
    return await asyncio.to_thread(demo_folder, settings)


async def _while_there(where: Path | str | None) -> Path | None:
    """The folder ``where`` names, while it is there."""
    if where is None:
        return None
    folder = Path(where)
    return folder if await asyncio.to_thread(folder.is_dir) else None


def _is_demo(folder: Path, settings: Settings) -> bool:
    return folder.parent == settings.cache_dir.resolve() and folder.name.startswith("demo-")


async def follow_feed(gateway: Gateway) -> FeedFollower:
    """Start following the store's change feed for ``gateway`` (in the serving loop).

    What this process keeps that the feed can make stale is kept true by the feed, never by
    the code that made the change: the scores measure again the members the feed names
    (``scores.py``), a file source reads what another process appended to it.
    """
    follower = FeedFollower(gateway.identity.store, gateway.settings.feed_poll_s)

    def keep_true(entries: Sequence[FeedEntry]) -> None:
        if gateway.scores is not None:
            gateway.scores.poke()
        named = {entry.source for entry in entries if entry.source}
        # An erasure rewrote the files it found her in: each is read again (whole, if so).
        erased = any(entry.kind is ChangeKind.ERASED for entry in entries)
        for name, connector in gateway.sources.items():
            if isinstance(connector, FileConnector) and (erased or name.value in named):
                connector.refresh()

    follower.listeners.append(keep_true)
    gateway.scored_pairs = ScoredPairs()
    follower.listeners.append(gateway.scored_pairs.follow)
    gateway.identity.on_written = follower.poke
    gateway.feed = follower
    await follower.start()
    if gateway.scores is not None:
        gateway.scores.start()
    return follower


async def open_gateway(
    settings: Settings, mongo_client: Any = None, *, demo: bool = True, serving: bool = False
) -> tuple[Gateway, SourceSet, ApplyResult]:
    """Open the sources and the store; identities are resolved where they need to be.

    Embedded (a SQLite store and no ``sources`` URL): the sources are the store file's
    source table. The data folder (or the demo set) is loaded into it on the first start and
    whenever it changed; a start over the same folder reads none of its lines and resolves
    nothing, so it takes the same time whatever the data size. Otherwise (MongoDB), the
    sources are the collections ``membergraph load`` fills and resolves, and a start lists
    and resolves none of their lines: a store behind them or behind the match rules is
    served as it is and said to be (``stale_rules``, ``stale_sources``).

    ``mongo_client`` (an ``AsyncMongoClient``) serves every ``mongodb://`` URL of the
    settings instead of one client per URL. ``demo``: a start naming no folder may load the
    demo set (``serve``'s quick start); the commands that read or feed a store of one's own
    (``sync``, ``export``, ``privacy``) pass False, and so does any start whose sources are
    read over HTTP: a store they open holding no line is someone's, still empty.
    ``serving`` (a gateway's start): a folder's load that a full disk stops is said and left
    for once room is made (``gateway.unloaded``), the store served as it is meanwhile; any
    other command fails on it, as on any write.
    """
    path = embedded_path(settings)
    if path is None:
        return await _open_federated(settings, mongo_client)
    store = store_from_url(settings.store, mongo_client, settings.durable, mongo_timeouts(settings))
    await store.open()
    try:
        sources, lines = await sqlite_sources(settings, path)
    except BaseException:
        await store.aclose()
        raise
    try:
        rules = load_rules(settings.rules)
        identity = IdentityService(store, rules, settings.default_region)
        folder = settings.data
        if folder is None and demo and not settings.http_sources:
            folder = await _demo_unless_loaded_otherwise(settings, lines)
        said = await require_servable(store, rules, settings.store)
        privacy = await open_privacy(store, settings)
        loaded = unloaded = first_cut = None
        if folder is not None:
            load = functools.partial(
                load_folder_into,
                folder,
                lines,
                identity,
                settings.default_region,
                unsuppressed(privacy),
                consent_keeper(privacy),
                whole=said is Verdict.OTHER_RULES,  # (the new rules applied to every member)
                money=settings.loyalty_program.money,
            )
            try:
                loaded = await load()
            except (ConnectorError, StoreError) as exc:
                first = serving and await _first_load(lines, identity)
                what = (
                    f"the first load of {folder} is finished by a restart of the gateway"
                    if first
                    else f"the folder {folder} is loaded"
                )
                if not serving or not left_for_room(exc, what):
                    raise
                unloaded = load
                first_cut = folder if first else None
        # A changed folder's lines were applied as pushes are: the feed says whose figures
        # to measure again. A first load resolved everyone.
        resolved = loaded is not None and loaded.whole
        await _take_stock(sources, lines)
        stale_rules = None
        if loaded is not None:
            result = loaded.result
        else:
            result = ApplyResult(members=await store.count_members())
        if not resolved and said is Verdict.OTHER_RULES:
            stale_rules = rules_notice(settings.store, settings.rules)
            logger.warning(stale_rules)
        loaded_from = folder or await lines.meta(FOLDER_PATH)
        held = f"{path} (loaded from {loaded_from})" if loaded_from else path  # (a cut load: none)
        sources.where = held + sources.where.removeprefix(path)
        _read_lines_beside_lookups(store, sources, lines)
        gateway = _assembled(settings, identity, sources)
        # An erasure rewrites the folder the store's lines came from, whichever start or
        # `load` read it: served later with `--store` alone, her lines left it all the same.
        gateway.folder = folder or await _while_there(loaded_from)
        gateway.privacy = privacy
        gateway.store_keys = await _keys_at_start(privacy)
        gateway.stale_rules = stale_rules
        if loaded is not None:  # (what `load` says of the lines it read that identify no one)
            for report in loaded.reports.values():
                gateway.loaded_nobodys.update(report.unattributed)
        if first_cut is not None:  # (it holds the store's file alone: the next start's)
            gateway.first_load_cut = first_cut
            gateway.waiting_for_room = True
        elif loaded is None and unloaded is None:
            await _stopped_first_load(gateway, lines, settings.store)
        elif unloaded is not None:
            gateway.unloaded = _load_later(gateway, unloaded, sources, lines)
            gateway.waiting_for_room = True
        await _measure_if_resolved(gateway, resolved)
    except BaseException:
        await store.aclose()
        await sources.aclose()
        raise
    return gateway, sources, result


async def _stopped_first_load(gateway: Gateway, lines: SqliteLines, store: str) -> None:
    """A first load stopped part-way (a ``load`` killed) that this start did not finish:
    served as it is for reads, not ready and refusing pushes and changes until that load
    is run again (it would resolve the store without them) and the gateway restarted."""
    if await lines.meta(FIRST_LOAD) is None and await lines.empty():
        return  # (a new store, not a cut one)
    if not await first_load_unfinished(lines, gateway.identity):
        return
    left = await lines.meta(FIRST_LOAD_FOLDER) or ""  # ("": cut by a release that kept none)
    gateway.first_load_cut, gateway.first_load_stopped = Path(left or "."), True
    again = f"`membergraph load --data {left} --to {store}`" if left else "that load"
    logger.warning(
        "the store's first load%s did not finish (`membergraph load` stopped part-way):"
        " reads answer from the lines it holds, but the gateway is not ready and refuses"
        " pushes and changes until %s is run again, which finishes it; then restart the"
        " gateway",
        f" of {left}" if left else "",
        again,
    )


def _read_lines_beside_lookups(store: object, sources: SourceSet, lines: SqliteLines) -> None:
    """The sources in the store's own file (those no HTTP API replaced) are read in the
    trip of the lookup that finds a member: a profile by e-mail makes one trip to a
    thread, not two."""
    if not isinstance(store, SqliteStore) or store.path != lines.path:
        return
    held = [n.value for n, c in sources.connectors.items() if isinstance(c, SqliteSource)]
    if held:
        store.beside_lookup = lines.beside_lookup(held)


def _load_later(
    gateway: Gateway,
    load: Callable[[], Awaitable[FolderLoad | None]],
    sources: SourceSet,
    lines: SqliteLines,
) -> Callable[[], Awaitable[None]]:
    """The changed folder's load a full disk stopped at start, for once room is made: its
    lines applied as pushes are (the gateway serves meanwhile). A cut first load is not
    (``Gateway.first_load_cut``): it holds the store's file alone."""

    async def finish() -> None:
        loaded = await load()
        await _take_stock(sources, lines)
        if loaded is not None:
            await _measure_if_resolved(gateway, loaded.whole)

    return finish


async def _first_load(lines: SqliteLines, identity: IdentityService) -> bool:
    """Whether the load a full disk cut was the store's first (read: a full disk serves
    reads), which only a start finishes."""
    try:
        return await lines.empty() or await first_load_unfinished(lines, identity)
    except (ConnectorError, StoreError):  # (unknown: said as a first load, the safe side)
        return True


async def _take_stock(sources: SourceSet, lines: SqliteLines) -> None:
    """Each table source's line count and what loading its file found (for ``/readyz``),
    as kept by the load, whether it ran now or at an earlier start."""
    counts = await lines.counts()
    for name, connector in sources.connectors.items():
        if isinstance(connector, SqliteSource):
            connector.count = counts.get(name.value, 0)
            connector.report = await lines.report(name.value)


def _assembled(settings: Settings, identity: IdentityService, sources: SourceSet) -> Gateway:
    gateway = Gateway(settings=settings, identity=identity, sources=sources.connectors)
    gateway.synced = sources.held
    gateway.scores = MetricsKeeper(gateway)
    return gateway


async def _measure_if_resolved(gateway: Gateway, resolved: bool) -> None:
    """Identities were just resolved: the members' metrics are measured again whole before
    the gateway serves (a start that resolved nothing measures nothing: the store keeps
    them, and the feed says what changed since)."""
    if resolved:
        await measure_whole(gateway)


async def measure_whole(gateway: Gateway) -> None:
    """Measure every member's metrics again, whole, into the store (after a whole-store
    resolution: a first load), before anything is served."""
    if gateway.scores is not None:
        await gateway.scores.metrics.set_position(None)  # a crash before the end: again
        # Nothing is served yet: the collector waits until every page is measured (it
        # would walk each page's short-lived objects for nothing, ~a fifth of the time).
        with gc_paused(freeze=False):
            await gateway.scores.rebuild()


async def _open_federated(
    settings: Settings, mongo_client: Any = None
) -> tuple[Gateway, SourceSet, ApplyResult]:
    """Open the sources where they are kept (MongoDB collections, HTTP APIs) and the store
    as it is: nothing is listed or resolved at a start. A store behind them (resolved under
    other rules, or from other lines than the collections hold) is served as it is and
    said to be, in the log and ``/readyz``, until ``membergraph reresolve`` brings it up."""
    require_sources_in_a_database(settings)
    sources = await open_source_set(settings, mongo_client)
    store = store_from_url(settings.store, mongo_client, settings.durable, mongo_timeouts(settings))
    try:
        await store.open()
        identity = IdentityService(store, load_rules(settings.rules), settings.default_region)
        said = await require_servable(store, identity.rules, settings.store)
        privacy = await open_privacy(store, settings)
        collections = {**sources.held, **sources.connectors}
        behind = await sources_behind(collections, await store.sources_resolved())
        for source in collections.values():
            if isinstance(source, MongoSource):
                await source.take_count()
        gateway = _assembled(settings, identity, sources)
        gateway.privacy = privacy
        gateway.store_keys = await _keys_at_start(privacy)
        if said is Verdict.OTHER_RULES:
            gateway.stale_rules = rules_notice(settings.store, settings.rules)
            logger.warning(gateway.stale_rules)
        if behind is not None:
            gateway.stale_sources = behind.why
            logger.warning(
                sources_notice(behind.why, settings.store, settings.sources, settings.rules)
            )
        result = ApplyResult(members=await store.count_members())
    except BaseException:
        await store.aclose()
        await sources.aclose()
        raise
    return gateway, sources, result


async def _keys_at_start(privacy: Privacy) -> StoreKeys | None:
    """The store's keys for refs and cursors, read at the start (None where the store
    cannot give them now: the first request that needs them reads them)."""
    try:
        return await keys_of(privacy)
    except StoreError:
        return None
