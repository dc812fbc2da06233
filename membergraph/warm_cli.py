"""``membergraph warm``: persisted queries' answers made ahead and kept in the store
(:mod:`membergraph.response_cache.warm`)."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Annotated

import typer
from rich.console import Console

from membergraph.cli_checks import refuse
from membergraph.cli_options import DataOpt, SourcesOpt, StoreOpt, command_settings
from membergraph.identity.store import StoreError
from membergraph.response_cache.stored import LIFETIMES
from membergraph.response_cache.warm import Share, Warmed, WarmError
from membergraph.settings import Settings

__all__ = ["warm"]

err = Console(stderr=True, markup=False)


def warm(
    query: Annotated[
        list[str] | None,
        typer.Option(
            "--query",
            metavar="NAME",
            help="A persisted query (its operation name in the manifest) to answer for every"
            " member or identifier it looks up; repeat for more. Default: the setting"
            " MEMBERGRAPH_RESPONSE_CACHE_WARM.",
        ),
    ] = None,
    caller: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="KEY_NAME",
            help="The API key (by name) whose caller asks: what it may see is part of each"
            " answer's key. Needed when credentials are configured. Default: the setting"
            " MEMBERGRAPH_RESPONSE_CACHE_WARM_AS.",
        ),
    ] = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=1,
            help="Processes asking at once, each a share of the values (one core each:"
            " a warm of 100,000 people is minutes of CPU).",
        ),
    ] = 1,
    data: DataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Answer persisted queries ahead and keep the answers in the store, where every
    gateway over it serves them (needs MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES)."""
    settings = command_settings(reads_data=True, data=data, store=store, sources=sources)
    operations = list(query or settings.response_cache_warm)
    caller = caller or settings.response_cache_warm_as
    if not operations:
        refuse("name a persisted query to warm (--query NAME or MEMBERGRAPH_RESPONSE_CACHE_WARM)")
    try:
        if jobs == 1:
            done = asyncio.run(_warm(settings, operations, caller))
        else:
            done = _in_processes(settings, operations, caller, jobs)
    except WarmError as exc:
        refuse(str(exc))
    except StoreError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    for each in done:
        err.print(
            f"{each.operation}: {each.asked} asked, {each.kept} kept in the store"
            f" in {each.seconds:.1f} s"
        )
        if any(each.lifetimes):
            err.print(f"  {lifetimes(each.lifetimes)}")


def lifetimes(counts: tuple[int, ...]) -> str:
    """What a warm's answers are, by how long after their request they stop being true."""
    names = [_span(0), *(_span(b) for b in LIFETIMES)]
    spans = [f"{a}-{b}" for a, b in itertools.pairwise(names)] + [f"over {names[-1]}"]
    said = ", ".join(f"{span} {n}" for span, n in zip(spans, counts, strict=False) if n)
    return f"stop being true by the clock: {said or 'none'}; never by it: {counts[-1]}"


def _span(seconds: int) -> str:
    return f"{seconds // 86_400} d" if seconds >= 86_400 else f"{seconds // 3600} h"


async def _warm(
    settings: Settings, operations: list[str], caller: str | None, share: Share = (0, 1)
) -> list[Warmed]:
    from membergraph.app import create_app
    from membergraph.response_cache.warm import warm as run

    # A warm makes every answer again: making again those a change drops is a gateway's.
    app = create_app(settings.model_copy(update={"response_cache_warm": []}))
    job = f" (job {share[0] + 1} of {share[1]})" if share[1] > 1 else ""
    async with app.router.lifespan_context(app):
        return await run(
            app,
            settings,
            operations,
            caller,
            lambda name, asked: err.print(f"{name}: {asked} asked{job}"),
            share,
        )


def _share(
    settings: Settings, operations: list[str], caller: str | None, share: Share
) -> list[Warmed]:
    """One process's warm (a process pool's task)."""
    return asyncio.run(_warm(settings, operations, caller, share))


def _in_processes(
    settings: Settings, operations: list[str], caller: str | None, jobs: int
) -> list[Warmed]:
    """``jobs`` processes, each warming its share; what they did, summed by operation (the
    seconds: the slowest one's). The first to open the store loads a changed folder (under
    the push lock, once); the others find it loaded."""
    spawn = multiprocessing.get_context("spawn")  # (no copy of this process's threads)
    with ProcessPoolExecutor(jobs, mp_context=spawn) as pool:
        shares = [pool.submit(_share, settings, operations, caller, (k, jobs)) for k in range(jobs)]
        results: list[list[Warmed]] = [each.result() for each in shares]
    return [
        Warmed(
            name,
            sum(r[n].asked for r in results),
            sum(r[n].kept for r in results),
            max(r[n].seconds for r in results),
            tuple(map(sum, zip(*(r[n].lifetimes for r in results), strict=True))),
        )
        for n, name in enumerate(operations)
    ]
