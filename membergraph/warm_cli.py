"""``membergraph warm``: persisted queries' answers made ahead and kept in the store
(:mod:`membergraph.response_cache.warm`)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from membergraph.cli_checks import refuse
from membergraph.cli_options import DataOpt, SourcesOpt, StoreOpt, command_settings
from membergraph.identity.store import StoreError
from membergraph.response_cache.warm import Warmed, WarmError
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
            " answer's key. Needed when credentials are configured.",
        ),
    ] = None,
    data: DataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Answer persisted queries ahead and keep the answers in the store, where every
    gateway over it serves them (needs MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES)."""
    settings = command_settings(reads_data=True, data=data, store=store, sources=sources)
    operations = list(query or settings.response_cache_warm)
    if not operations:
        refuse("name a persisted query to warm (--query NAME or MEMBERGRAPH_RESPONSE_CACHE_WARM)")
    try:
        done = asyncio.run(_warm(settings, operations, caller))
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


async def _warm(settings: Settings, operations: list[str], caller: str | None) -> list[Warmed]:
    from membergraph.app import create_app
    from membergraph.response_cache.warm import warm as run

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        return await run(
            app,
            settings,
            operations,
            caller,
            lambda name, asked: err.print(f"{name}: {asked} asked"),
        )
