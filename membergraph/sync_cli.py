"""``membergraph sync``: HTTP sources' listings into identity, checkpointed (:mod:`.sync`),
once (``--once``, for a scheduled job) or in a loop, a pass every ``--interval`` seconds."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID

from membergraph.cli_options import SourcesOpt, StoreDataOpt, StoreOpt
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.identity.store import StoreError
from membergraph.identity.store.format import StoreFormatError
from membergraph.ingest import IngestRefused
from membergraph.settings import Settings
from membergraph.sync import OUTCOMES, PassDone, SourceSync, SyncRefused

__all__ = ["sync_sources"]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


def sync_sources(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over each source, then exit (a cron job).")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=1, help="Seconds between passes, without --once.")
    ] = 60.0,
    source: Annotated[
        list[SourceName] | None,
        typer.Option("--source", help="Only this source (repeat for more); default: every one."),
    ] = None,
    data: StoreDataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Bring the customers of the sources read over HTTP (MEMBERGRAPH_HTTP_SOURCES) to identity.

    Their listings, page by page, through the same ingestion as POST /ingest, with a
    checkpoint in the store after each page: a killed sync resumes where it stopped.
    """
    from membergraph.cli_options import command_settings

    settings = command_settings(
        False,
        reads_data=True,
        same_format=True,
        data=data,
        store=store or None,
        sources=sources or None,
    )
    if not settings.http_sources:  # said before the store is opened (and made)
        err.print("error: no source is read over HTTP: set MEMBERGRAPH_HTTP_SOURCES")
        raise typer.Exit(2)
    try:
        failed = asyncio.run(_sync(settings, once, interval, source or []))
    except SyncRefused as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    except StoreFormatError as exc:  # a store of another release's format: not synced into
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        failed = False  # between two pages: the checkpoint says where the next run starts
    if failed:
        raise typer.Exit(1)


async def _sync(settings: Settings, once: bool, interval: float, only: list[SourceName]) -> bool:
    """Passes until ``once`` is done (or for ever); answers whether a pass failed."""
    from membergraph.gateway import open_gateway

    gateway, sources, _ = await open_gateway(settings, demo=False)
    try:
        job = SourceSync(gateway)
        names = [name for name in job.sources if not only or name in only]
        if only and not names:
            wanted = ", ".join(name.value for name in only)
            raise SyncRefused(f"--source {wanted}: not read over HTTP here")
        if healed := await job.heal():
            err.print(f"finished {healed} line(s) a stopped sync had stored but not applied")
        while True:
            failed = False
            for name in names:
                failed |= not await _one_pass(job, name)
            if once:
                return failed
            await asyncio.sleep(interval)
    finally:
        if gateway.scores is not None:
            await gateway.scores.aclose()
        await gateway.identity.store.aclose()
        await sources.aclose()


async def _one_pass(job: SourceSync, name: SourceName) -> bool:
    """One pass with a progress line; a failure is said and kept for the next pass."""
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"sync {name.value}", total=None)
        try:
            done = await job.run_pass(name, lambda now: _show(progress, task, now))
        except (ConnectorError, IngestRefused, StoreError) as exc:
            err.print(
                f"sync {name.value} stopped: {exc} "
                "(the checkpoint keeps the last page taken; the next pass resumes there)"
            )
            return False
    said = ", ".join(f"{what} {done.outcomes[what]}" for what in OUTCOMES if done.outcomes[what])
    err.print(f"sync {name.value}: {done.pages} page(s), {said or 'no line'}")
    return True


def _show(progress: Progress, task: TaskID, done: PassDone) -> None:
    lines = sum(done.outcomes.values())
    progress.update(task, description=f"sync {done.source.value}: page {done.pages}, {lines} lines")
