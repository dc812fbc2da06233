"""``membergraph serve | demo-data | load | schema`` and ``--version``; the other commands
live beside their work (``resolve_cli``, ``export_cli``, ``sync_cli``, ``privacy.cli``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from membergraph.backup_cli import backup, restore
from membergraph.cli_checks import (
    refuse,
    require_free_port,
    require_out_folder,
    require_store,
    require_writable_store,
    sqlite_file,
)
from membergraph.cli_options import (
    DataOpt,
    SourcesOpt,
    StoreOpt,
    command_settings,
    environment_only,
    require_folder,
    setting_help,
)
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.demo import ProfileName, write_demo_data
from membergraph.export_cli import export_members
from membergraph.http_rules import MAX_GRAPHQL_BYTES
from membergraph.identity.reresolve import require_servable
from membergraph.identity.rules import load_rules
from membergraph.identity.store import StoreError, store_from_url
from membergraph.mongo_load import load_screened
from membergraph.privacy.cli import privacy_app
from membergraph.rejected_file import rejected_to
from membergraph.resolve_cli import no_one, reresolve, resolve
from membergraph.serve_banner import Banner, run_announced
from membergraph.setting_values import STORE_SCHEMES
from membergraph.settings import Settings
from membergraph.source_set import mongo_timeouts, require_sources_in_a_database
from membergraph.sqlite_room import out_of_room, unwritten
from membergraph.startup_signals import INTERRUPTED
from membergraph.sync_cli import sync_sources
from membergraph.warm_cli import warm

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    # Markdown joins a docstring's source lines into paragraphs; "rich" keeps each line
    # break, so help wrapped where the docstring did, not at the terminal's width.
    rich_markup_mode="markdown",
)
err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"


def _show_version(asked: bool) -> None:
    if asked:
        from membergraph import __version__

        typer.echo(f"membergraph {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """membergraph: a GraphQL gateway over CRM, transactions, web analytics and call center.

    Each setting flag of `serve` names its environment variable in its help (`--open` and
    `--workers` are flags only); a flag wins over the variable, the variable over the
    default. All settings: docs/settings.md.
    """


@app.command(
    epilog="Loyalty program, by environment only:\n\n"
    + environment_only("points_expiry_days", "tier_qualification_days", "reference_date")
)
def serve(
    data: DataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
    host: Annotated[
        str | None, typer.Option("--host", help=setting_help("host", "Address to listen on."))
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help=setting_help("port", "TCP port."))
    ] = None,
    open_browser: Annotated[
        bool,
        typer.Option(
            "--open/--no-open",
            help="Open GraphiQL in a browser if there is a screen. No environment variable.",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            metavar="N",  # the type's own "<int range>" left no room for the store's default
            help="Processes serving over the one store (one port). No environment variable.",
        ),
    ] = 1,
) -> None:
    """Serve the member graph (GraphiQL at /graphql). No flags: generated demo data."""
    import uvicorn

    from membergraph.app import SUPERVISOR_PID, create_app
    from membergraph.logs import configure_logging
    from membergraph.observability import MULTIPROCESS_DIR

    settings = command_settings(
        reads_data=True, data=data, store=store, sources=sources, host=host, port=port
    )
    if not settings.is_loopback and not settings.has_credentials:
        err.print(
            f"error: refusing to listen on {settings.host}: no credentials are "
            "configured, so the gateway serves only on a loopback address (127.0.0.1, ::1). "
            "Set MEMBERGRAPH_API_KEYS or a MEMBERGRAPH_JWT_* key to serve beyond this machine."
        )
        raise typer.Exit(2)
    try:
        require_sources_in_a_database(settings)  # before a port is taken or a server asked
    except StoreError as exc:
        refuse(str(exc))
    require_free_port(settings.host, settings.port)
    _require_servable_store(settings)
    banner = Banner(settings, err, open_browser)
    configure_logging(settings.log_format, access=settings.access_log)
    try:
        if workers > 1:
            # Loaded and resolved once, here; the workers then start over a store that
            # holds it all (each follows the change feed: any of them answers the same).
            members, seconds = asyncio.run(_prepare(settings, serving=True))
            banner.ready(members, f"{settings.store} ({workers} workers)", seconds)
            banner.say(still="its workers start now, each answering once it is up")
            given = {"data": data, "store": store, "sources": sources, "host": host, "port": port}
            for key, value in given.items():
                if value is not None:
                    os.environ[f"MEMBERGRAPH_{key.upper()}"] = str(value)
            os.environ[SUPERVISOR_PID] = str(os.getpid())  # uvicorn supervises from here
            # The workers' metrics, shared: a scrape through any of them reads them all.
            figures = tempfile.mkdtemp(prefix="membergraph-metrics-")
            os.environ[MULTIPROCESS_DIR] = figures
            try:
                uvicorn.run(
                    "membergraph.app:app_from_environment",
                    factory=True,
                    workers=workers,
                    host=settings.host,
                    port=settings.port,
                    log_level="warning",
                    access_log=False,  # membergraph.access writes the line, with the request id
                    ws_max_size=MAX_GRAPHQL_BYTES,
                )
            finally:
                shutil.rmtree(figures, ignore_errors=True)
            return
        application = create_app(settings, announce=banner.ready, serving=True)
        run_announced(
            application,
            banner,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,  # membergraph.access writes the line, with the request id
            ws_max_size=MAX_GRAPHQL_BYTES,
        )
    except StoreError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None


def _require_servable_store(settings: Settings) -> None:
    """Exit 1 with one line when the store is of a format this release does not serve (an
    older release's, a newer one's), before anything loads: the line names the versions and
    the command that brings the store up; or when it holds suppressions made under another
    privacy key (the line names ``MEMBERGRAPH_PRIVACY_SECRET``)."""
    path = sqlite_file(settings.store)
    if path is not None and not path.exists():
        require_store(settings.store)  # a new store: its first start makes it, if it can
        return
    if path is not None:
        require_writable_store(path)

    async def examine() -> None:
        from membergraph.privacy import open_privacy

        store = store_from_url(settings.store, mongo_timeouts=mongo_timeouts(settings))
        async with store:
            await require_servable(store, load_rules(settings.rules), settings.store)
            await open_privacy(store, settings)

    try:
        asyncio.run(examine())
    except StoreError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None


async def _prepare(settings: Settings, serving: bool = False) -> tuple[int, float]:
    """Open the gateway once (the first load, if the folder is new) and close it.
    ``serving`` (``serve --workers``): a full disk leaves the load to the workers. Else
    (``load``) the lines the load read that identify no one are said, as ``resolve`` does."""
    from membergraph.full_start import heal_unless_full
    from membergraph.gateway import open_gateway
    from membergraph.ingest import IngestService

    started = time.perf_counter()
    gateway, sources, result = await open_gateway(settings, serving=serving)
    # Pushes a killed process left are finished before any worker answers (on a full
    # disk, each worker finishes them and the folder's load once room is made).
    heal = IngestService(gateway).heal
    await (heal_unless_full(heal) if serving else heal())
    if gateway.loaded_nobodys and not serving:
        err.print(no_one(gateway.loaded_nobodys))
    await gateway.identity.store.aclose()
    await sources.aclose()
    return result.members, time.perf_counter() - started


@app.command("demo-data")
def demo_data(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the source files into.")],
    members: Annotated[int, typer.Option("--members", min=1, help="How many people.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 7,
    profile: Annotated[
        ProfileName,
        typer.Option("--profile", help="Rates of mess: default, or holdout (other rates)."),
    ] = ProfileName.DEFAULT,
) -> None:
    """Write a messy, deterministic demo data set and its ground truth (truth.jsonl)."""
    require_out_folder("--out", out)  # the folder is made, not the folders above it
    _require_no_data_of_ones_own(out)
    try:
        summary = write_demo_data(out, members, seed, profile.value)
    except OSError as exc:  # a folder that cannot be made or written: said, not traced
        err.print(f"error: --out {out}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    lines = ", ".join(f"{k}: {v}" for k, v in summary.lines.items())
    err.print(f"wrote {summary.people} people to {out} ({lines}; truth in truth.jsonl)")


def _require_no_data_of_ones_own(out: Path) -> None:
    """Refuse a folder holding source files that no demo wrote (no ``truth.jsonl`` beside
    them): the made-up people would replace them, a typo away from one's own exports."""
    if not out.is_dir() or (out / "truth.jsonl").exists():
        return
    held = sorted(f"{s.value}.jsonl" for s in SourceName if (out / f"{s.value}.jsonl").exists())
    if held:
        refuse(
            f"--out {out} holds {', '.join(held)} and no truth.jsonl: source files of your"
            " own, which the demo's would replace; name another folder"
        )


@app.command()
def load(
    data: Annotated[Path, typer.Option("--data", help="Folder of source files.")],
    to: Annotated[
        str,
        typer.Option("--to", help="sqlite:///PATH (sources and identities) or mongodb://HOST/DB."),
    ],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="MongoDB: the identity store whose suppressions are honoured. Env "
            "MEMBERGRAPH_STORE; default the --to database.",
        ),
    ] = None,
    rejected: Annotated[
        Path | None,
        typer.Option(
            "--rejected",
            help="Write every malformed line the load skips to this file (JSON lines: file, "
            "line, reason with the values it is about; mode 0600). The log says the first 5.",
        ),
    ] = None,
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty",
            help="Load only into a store holding no record or line (a seed job): over one "
            "that holds any, say so, write nothing, exit 0.",
        ),
    ] = False,
) -> None:
    """Load a folder of source files into a database (idempotent: loading twice changes nothing).

    SQLite: the source table and the identity store of that file, resolved as it loads,
    ready for `serve --store` the same URL. MongoDB: the source collections. Lines carrying
    a suppressed identifier (an erased person's) are not loaded.
    """
    from membergraph.seed_check import seed_holds_any

    require_folder(data)
    _require_target(to)
    if if_empty and seed_holds_any(to, store):
        return  # (said)
    if to.startswith("sqlite:///"):
        settings = command_settings(data=data, store=to, same_format=True, flags={"store": "--to"})
        try:
            with rejected_to(rejected):
                members, seconds = asyncio.run(_prepare(settings))
        except (StoreError, ConnectorError) as exc:
            full = out_of_room(exc) is not None  # (each write is whole: nothing half-written)
            err.print(
                f"error: {unwritten(str(sqlite_file(to) or to), 'load', exc) if full else exc}"
            )
            if full:
                err.print("once there is room, run the same load again: it finishes this one")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _interrupted("load")
        none = not any((data / f"{s.value}.jsonl").exists() for s in SourceName)
        empty = " (the folder holds no source file: a store for pushes and APIs to fill)"
        err.print(
            f"loaded {data} into {to}: {members} members{empty if none else ''} ({seconds:.1f} s)"
        )
        return
    settings = command_settings(sources=to, store=store, flags={"sources": "--to"})
    store_url = settings.store if "store" in settings.model_fields_set else to
    try:
        with rejected_to(rejected):
            counts = asyncio.run(load_screened(data, to, settings, store_url))
    except (StoreError, ConnectorError) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        _interrupted("load")
    for name, outcome in counts.items():
        err.print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in outcome.items()))


def _interrupted(command: str) -> NoReturn:
    """A Ctrl-C during a load: every write is a transaction, and the next run finishes it."""
    err.print(f"interrupted: run the same {command} again to finish it")
    raise typer.Exit(INTERRUPTED)


def _require_target(to: str) -> None:
    """Refuse a ``--to`` that names no database ``load`` writes, naming ``--to`` (the URL
    becomes a setting, whose own message would blame its environment variable)."""
    if to == "sqlite:///":
        refuse("--to sqlite:/// names no file; use sqlite:///PATH")
    if not to.startswith(STORE_SCHEMES):
        refuse(f"--to {to}: expected sqlite:///PATH or mongodb://HOST/DB")
    require_store(to, option="--to")


app.command()(resolve)
app.command()(reresolve)


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL) that clients generate code from."""
    from membergraph.schema import print_sdl

    sys.stdout.write(print_sdl())


app.command("export")(export_members)
app.command()(backup)
app.command()(restore)
app.command("sync")(sync_sources)
app.command()(warm)
app.add_typer(privacy_app, name="privacy")


if __name__ == "__main__":  # pragma: no cover
    app()
