"""``membergraph resolve`` (a folder's lines to members, in one batch, each line's member
written out) and ``membergraph reresolve`` (a whole store again, in place, under the rules
in effect)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import Progress

from membergraph.cli_checks import (
    refuse,
    require_no_older_writer,
    require_out_apart,
    require_out_file,
    require_out_folder,
    sqlite_file,
)
from membergraph.cli_options import SourcesOpt, StoreOpt, command_settings, require_folder
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.mongodb_loads import sources_behind
from membergraph.connectors.reasons import public_reason
from membergraph.connectors.sqlite import SqliteLines, SqliteSource
from membergraph.identity.batch import HeldLines, resolve_folder
from membergraph.identity.load import ownership
from membergraph.identity.owned_lines import held_lines
from membergraph.identity.reresolve import (
    Reresolved,
    examine,
    records_of,
    rekeyed_in,
)
from membergraph.identity.reresolve import reresolve as reresolve_store
from membergraph.identity.rules import load_rules
from membergraph.identity.store import ConcurrentChange, StoreError, store_from_url
from membergraph.identity.store.format import Verdict
from membergraph.privacy.gate import suppressing
from membergraph.settings import Settings
from membergraph.source_set import embedded_path, mongo_timeouts

__all__ = ["bring_up", "no_one", "reresolve", "resolve"]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


def resolve(
    data: Annotated[Path, typer.Option("--data", help="Folder of source files.")],
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file: one line per input line.")],
    store: StoreOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Processes validating lines. Default: one per core."),
    ] = None,
) -> None:
    """Resolve identities in one batch and write each input line's member."""
    require_folder(data)
    require_out_folder("--out", out)  # said now, not after the whole resolution
    require_out_file("--out", out)
    settings = command_settings(store=store, same_format=True)
    require_out_apart("--out", out, settings.store, data)
    # Folding a folder into a store that holds members is asked for by naming the store.
    folding = store is not None or "MEMBERGRAPH_STORE" in os.environ
    try:
        members, seconds = asyncio.run(_resolve(settings, data, out, workers, folding))
    except StoreError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    err.print(f"resolved {members} members in {seconds:.1f} s; wrote {out}")


async def _resolve(
    settings: Settings, data: Path, out: Path, workers: int | None, folding: bool
) -> tuple[int, float]:
    started = time.perf_counter()
    with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
        task = progress.add_task("reading sources", total=None)
        store = store_from_url(settings.store, mongo_timeouts=mongo_timeouts(settings))
        async with store as identity_store, _held_lines(settings) as held:
            privacy = await suppressing(identity_store, settings)
            held_members = await identity_store.count_members()
            if held_members and not folding:
                # The default store is the gateway's (./membergraph.db where it was started):
                # another folder's lines would be folded into its members, live.
                refuse(
                    f"the default store {settings.store} already holds {held_members} members"
                    f" (a gateway's, or another folder's): resolving {data} would fold its"
                    " lines into them. Pass --store with a new file for a store of its own,"
                    " or name this store with --store to fold into it"
                )
            result = await resolve_folder(
                data,
                out,
                identity_store,
                load_rules(settings.rules),
                settings.default_region,
                on_phase=lambda phase: progress.update(task, description=phase),
                workers=workers,
                refuse=None if privacy is None else privacy.suppressor.refused,
                held=held,
            )
            # Members changed: their metrics are measured again whole at the next start.
            await identity_store.metrics().set_position(None)
    if held_members:  # another folder's members and these may now share members
        err.print(
            f"note: the store ({settings.store}) already held {held_members}"
            f" members: {data}'s lines were folded into them; for a store of its own, pass"
            " --store"
        )
    if result.unattributed:
        err.print(f'{no_one(result.unattributed)}; see "unattributed" in {out}')
    if result.suppressed:
        err.print(
            f"{result.suppressed} line(s) carry a suppressed identifier (an erased or "
            f'suppressed person\'s): not resolved, "suppressed" in {out}'
        )
    if result.malformed:
        err.print(f'{result.malformed} malformed line(s): see "error" in {out}')
    return result.members, time.perf_counter() - started


def no_one(reasons: Mapping[str, int], shown: int = 3) -> str:
    """The lines that identify no one, said by their largest reasons (and how many lines the
    others hold): the file has every line's reason."""
    ranked = sorted(reasons.items(), key=lambda item: -item[1])  # stable: ties as found
    # Without a value left out (``'???' is not a loyalty number``): the file has each line's.
    said = ", ".join(f"{public_reason(reason)} ({n})" for reason, n in ranked[:shown])
    if rest := ranked[shown:]:
        said += f" and {len(rest)} other reason(s) ({sum(n for _, n in rest)} line(s))"
    return f"{sum(reasons.values())} line(s) identify no one: {said}"


def reresolve(
    store: StoreOpt = None,
    sources: SourcesOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Say what would change (merges, splits, moves); write nothing."
        ),
    ] = False,
    changes: Annotated[
        Path | None,
        typer.Option(
            "--changes",
            help="Write every member change (or that a dry run would make) to this file, "
            'JSON lines: {"kind": "merged" | "split", "members": [IDs]} (a split naming one '
            "member: its records left it for no one, the member retired). The report says 5.",
        ),
    ] = None,
) -> None:
    """Resolve the whole store again under the rules in effect, in place, and mark it current.

    For a store made by an older release, or resolved under other rules (MEMBERGRAPH_RULES,
    or another release's built-in rules). Stewards' links and splits are kept, member IDs
    stay while their records stay together, and every member merged or split gets its feed
    entry. Lines an older release keyed to another record move to the one this release keys
    them to first, with their records' stewards' decisions. Stopped part-way, a run again
    finishes it.
    """
    settings = command_settings(existing_store=True, store=store, sources=sources)
    if not dry_run:  # an older release's gateway would write on after the mark
        require_no_older_writer(settings.store)
    try:
        report = asyncio.run(bring_up(settings, dry_run))
    except ConcurrentChange as exc:
        # Each attempt reads the whole store; a steward or a push in another process that
        # changes a member before it is written makes it start over, a few times at most.
        err.print(
            f"error: other processes changed members while the store was resolved"
            f" again, at every attempt ({exc}); the members were not written (records keyed"
            " anew are kept): run it again when fewer changes arrive, or with the gateways"
            " stopped",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    except StoreError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    if changes is not None:
        changes.write_bytes(
            b"".join(
                orjson.dumps({"kind": kind, "members": ids}) + b"\n" for kind, ids in report.changes
            )
        )
    for line in report.lines():
        typer.echo(line)
    if not dry_run:
        _finish_erasures(settings)
    if not dry_run and report.before is Verdict.OLDER:
        _opened_meanwhile(settings.store)


def _opened_meanwhile(url: str) -> None:
    """Say which processes opened the store while its older format was brought up (none
    held it when the run began): one may be an older release's gateway, which served the
    store as its own until the mark and goes on writing records keyed its way after it."""
    from membergraph.store_holders import held, holders

    path = sqlite_file(url)
    if path is None or not held(path):
        return
    named = "; ".join(holders(path)) or "(which, /proc cannot tell)"
    err.print(
        f"warning: processes opened the store while it was brought up: {named}. An older"
        " release's gateway among them writes records keyed the older way into the store"
        " now marked current: stop it at once; the lines it took since are keyed its way",
        soft_wrap=True,
    )


def _finish_erasures(settings: Settings) -> None:
    """Run the erasures a restore of an older release's backup carried over, pending: the
    store is served by no start until brought up, so bringing it up finishes them."""
    from membergraph.privacy.carry import pending_erasures, reapply

    pending = pending_erasures(settings.store)
    if not pending:
        return
    named = ", ".join(f"{i} (member {m})" for i, m in pending)
    try:
        ran = asyncio.run(reapply(settings.model_copy(update={"data": None})))
    except Exception as exc:  # (they stay pending: exports refuse, a start runs them)
        err.print(
            f"error: {len(pending)} pending erasure(s) ({named}) could not run ({exc}): run"
            " `membergraph reresolve` again; until they are done, exports refuse the store",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    states = ", ".join(f"{request_id} {state.upper()}" for request_id, state in ran)
    typer.echo(f"erased again {len(pending)} person(s) with erasures pending ({named}): {states}")


async def bring_up(settings: Settings, dry_run: bool = False, client: object = None) -> Reresolved:
    """``membergraph reresolve``: the store of ``settings`` resolved again, whole, under
    its rules, with the lines its sources hold that it was not resolved from (MongoDB
    collections loaded or written since), and marked current. ``client``: an
    ``AsyncMongoClient`` serving every ``mongodb://`` URL (one per URL when None)."""
    from membergraph.identity.service import IdentityService
    from membergraph.privacy import open_privacy
    from membergraph.privacy.gate import refusing

    store = store_from_url(settings.store, client, mongo_timeouts=mongo_timeouts(settings))
    async with store as identity_store, _lines_held(settings, client) as held:
        rules = load_rules(settings.rules)
        if (await examine(identity_store, rules))[0] is not Verdict.NEWER:  # (refused below)
            await identity_store.write_schema()  # (an older format's store: opened as it is)
        identity = IdentityService(identity_store, rules, settings.default_region)
        # Asked again just before the write (reading nothing while nothing is suppressed):
        # a person erased by a gateway while this runs is not written back.
        refuse = refusing(await open_privacy(identity_store, settings))

        async def rekeyed() -> int | None:
            return None if held is None else await rekeyed_in(held, settings.default_region)

        # Read before the lines: what a load writes meanwhile is behind again, and said.
        resolved = await identity_store.sources_resolved()
        behind = None if held is None else await sources_behind(held, resolved)
        report = await reresolve_store(
            identity,
            settings.store,
            dry_run,
            rekeyed,
            None if held is None else records_of(held, settings.default_region),
            refuse,
            None if held is None else held_lines(held, settings.default_region),
            behind=behind is not None,
        )
        if not dry_run:  # members changed: their metrics are measured again at the next start
            await identity_store.metrics().set_position(None)
        if not dry_run and behind is not None and held is not None:
            for source in held.values():  # another tool's lines, filed as a load files them
                if isinstance(source, MongoSource):
                    await source.file_unowned()
            await identity_store.set_sources_resolved(behind.version)
    return report


@contextlib.asynccontextmanager
async def _lines_held(
    settings: Settings, client: object = None
) -> AsyncIterator[Mapping[SourceName, SourceConnector] | None]:
    """The sources where the lines are kept with the record each belongs to: the store
    file's source table, or MongoDB collections (``--sources``, by default a MongoDB
    store's own database when it holds lines); None: none kept (an in-memory store, a
    store whose sources were never loaded into its database)."""
    from membergraph.source_set import collections_url, mongo_sources

    path = embedded_path(settings)
    url = collections_url(settings)
    if path is not None and path != ":memory:":
        async with _source_tables(path, settings) as tables:
            yield tables
    elif url is not None:
        sources = await mongo_sources(
            url, settings.default_region, client, timeouts=mongo_timeouts(settings)
        )
        try:
            if settings.sources or await _hold_any(sources.connectors):
                yield sources.connectors
            else:  # a store's own database holding no line: its lines were never there
                yield None
        finally:
            await sources.aclose()
    else:
        yield None


async def _hold_any(sources: Mapping[SourceName, SourceConnector]) -> bool:
    return any([await c.holds_any() for c in sources.values() if isinstance(c, MongoSource)])


@contextlib.asynccontextmanager
async def _held_lines(settings: Settings) -> AsyncIterator[HeldLines | None]:
    """What the embedded store's source table holds now, by line id, for ``membergraph
    resolve`` (None: no such table, as with a MongoDB store or a new file)."""
    path = embedded_path(settings)
    if path is None or path == ":memory:" or not await asyncio.to_thread(Path(path).exists):
        yield None
        return
    async with _source_tables(path, settings) as tables:
        yield lambda source, ids: tables[source].by_id(ids)


@contextlib.asynccontextmanager
async def _source_tables(
    path: str, settings: Settings
) -> AsyncIterator[Mapping[SourceName, SqliteSource]]:
    """The store file's source table at ``path``, open, as one source per name."""
    lines = SqliteLines(path, settings.durable)
    await lines.open()
    try:
        yield lines.sources(lambda spec: ownership(spec.name, settings.default_region))
    finally:
        await lines.aclose()
