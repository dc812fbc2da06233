"""``membergraph privacy export | erase | confirm-deletion``: a data-protection officer's
commands, run where the store is (they open it as ``serve`` does: same settings, same
flags)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from membergraph.auth import Caller
from membergraph.cli_checks import require_out_apart, require_out_folder
from membergraph.cli_options import SourcesOpt, StoreDataOpt, StoreOpt
from membergraph.json_out import dumps
from membergraph.private_files import write_private
from membergraph.settings import Settings

__all__ = ["privacy_app"]

privacy_app = typer.Typer(
    help="Export or erase a member (the GDPR's access and erasure requests); confirm a "
    "deletion a source the gateway does not own made.",
    no_args_is_help=True,
)
err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"

Member = Annotated[str, typer.Argument(help="The member's ID (m_...).")]


def _settings(**overrides: Any) -> Settings:
    from membergraph.cli_options import command_settings as load

    given = {k: v for k, v in overrides.items() if v is not None}
    return load(existing_store=True, reads_data=True, same_format=True, **given)


def _officer() -> Caller:
    """Who runs the command, as the audit and the request name them: ``cli:$USER``, as
    ``membergraph export --pii`` does (the one at the shell holds the store's file)."""
    from membergraph.cli_options import shell_user

    return Caller(shell_user(), frozenset({"privacy:admin", "pii:read"}))


async def _with_gateway(settings: Settings, work: Any) -> Any:
    from membergraph.gateway import open_gateway
    from membergraph.identity.store import StoreError
    from membergraph.resolvers.context import RequestContext

    try:
        gateway, sources, _ = await open_gateway(settings, demo=False)
    except StoreError as exc:  # a store that does not answer, or one not served: said
        err.print(f"error: {exc}", soft_wrap=True)
        raise typer.Exit(1) from None
    try:
        # The caller as the HTTP middleware would put it on a request (auth.caller_of reads it).
        request = SimpleNamespace(scope={"state": {"caller": _officer()}}, headers={})
        return await work(RequestContext.for_request(gateway, request))
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


@privacy_app.command()
def export(
    member: Member,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")
    ] = None,
    data: StoreDataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Everything held about a member, as one JSON document."""
    from membergraph.privacy.carry import require_none_pending
    from membergraph.privacy.export import export_member

    if out is not None:
        require_out_folder("--out", out)  # said before the member's data is read
    settings = _settings(data=data, store=store, sources=sources)
    if out is not None:
        require_out_apart("--out", out, settings.store, settings.data)
    require_none_pending(settings.store, "an export")

    async def work(ctx: Any) -> Any:
        return await export_member(ctx, member)

    with _readable(settings) as readable:
        document = asyncio.run(_with_gateway(readable, work))
    if document is None:
        err.print(f"error: no member {member}")
        raise typer.Exit(1)
    body = dumps(document, indent=True) + b"\n"
    if out is None:
        sys.stdout.buffer.write(body)
    else:
        write_private(out, body)  # her whole record: its owner's only
        err.print(f"wrote {out}")


@contextlib.contextmanager
def _readable(settings: Settings) -> Iterator[Settings]:
    """``settings``, or where nothing can be written beside its SQLite store (a snapshot on
    a read-only file system), the same over a private copy of it taken now, said in one
    line: the export's entry in the audit cannot be written there (exit 1, one line, when
    even the copy cannot be read)."""
    from membergraph.backup_cli import snapshot
    from membergraph.cli_checks import sqlite_file
    from membergraph.sqlite_snapshot import StoreUnreadable, unwritable_folder

    path = sqlite_file(settings.store)
    why = None if path is None else unwritable_folder(path)
    if path is None or why is None:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="membergraph-export-") as folder:  # (0700)
        copy = Path(folder) / path.name
        try:
            snapshot(path, copy)
        except (StoreUnreadable, sqlite3.Error) as exc:
            err.print(f"error: {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
        err.print(
            f"note: the store {path} is on {why}: exported from a copy of it taken now;"
            " this export is not recorded in its audit, which cannot be written there",
            soft_wrap=True,
        )
        yield settings.model_copy(update={"store": f"sqlite:///{copy}"})


@privacy_app.command()
def erase(
    member: Member,
    reason: Annotated[str, typer.Option("--reason", help="Why (name the ticket, not the person).")],
    keep_unsuppressed: Annotated[
        bool, typer.Option("--no-suppress", help="Do not suppress their identifiers.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Change nothing: print what would go, and whom."),
    ] = False,
    records: Annotated[
        list[str] | None,
        typer.Option(
            "--record",
            help="SOURCE:KEY of a record of the member that is hers (repeat it): only those "
            "go, with what is hers by them (a member holding another person's contacts).",
        ),
    ] = None,
    whole_member: Annotated[
        bool,
        typer.Option(
            "--whole-member",
            help="Every record of the member is hers: erase it whole even though its "
            "contacts read as more than one person or a steward linked its records.",
        ),
    ] = False,
    data: StoreDataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Erase a member (as the eraseMember mutation); prints the request, or with --dry-run
    what would go."""
    from membergraph.privacy.erasure import ErasureBusy, NothingToErase, erasure_of
    from membergraph.privacy.spans import NotInMember, SpansPeople
    from membergraph.privacy.spans_said import spans_message
    from membergraph.resolvers.errors import CodedError
    from membergraph.resolvers.privacy import preview

    only = [_record(r) for r in records] if records else None
    settings = _settings(data=data, store=store, sources=sources)

    async def work(ctx: Any) -> Any:
        if dry_run:  # as the mutation's: audited, since it names her contacts
            try:
                found, _ = await preview(ctx, member, only)
                return found
            except CodedError as exc:
                return exc
        service = await erasure_of(ctx.gateway)
        return await service.erase(
            member, reason, _officer().name, not keep_unsuppressed, only, whole_member
        )

    try:
        request = asyncio.run(_with_gateway(settings, work))
    except NothingToErase:
        err.print(f"error: no member {member} and no request for it")
        raise typer.Exit(1) from None
    except ErasureBusy:
        err.print(f"error: {member} is being erased by another process: ask again")
        raise typer.Exit(1) from None
    except SpansPeople as exc:
        err.print(f"error: {spans_message(exc, cli=True)}", soft_wrap=True)
        raise typer.Exit(1) from None
    except NotInMember as exc:
        err.print(f"error: {exc}: " + ", ".join(f"{s}:{k}" for s, k in exc.refs), soft_wrap=True)
        raise typer.Exit(1) from None
    if dry_run:
        if isinstance(request, CodedError):
            err.print(f"error: {request.message}", soft_wrap=True)
            raise typer.Exit(1)
        typer.echo(dumps({"dry_run": True, **dataclasses.asdict(request)}).decode())
        return
    _print(request)
    if request.state in ("pending", "partial"):  # awaiting a source's operator is not a failure
        raise typer.Exit(1)


@privacy_app.command("confirm-deletion")
def confirm_deletion(
    member: Member,
    source: Annotated[
        str, typer.Option("--source", help="The source its operator says deleted them (crm, ...).")
    ],
    data: StoreDataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
) -> None:
    """Record that a source the gateway does not own deleted the member's lines (as the
    confirmSourceDeletion mutation); prints the request."""
    from membergraph.privacy.erasure import NothingToConfirm, NothingToErase, erasure_of

    settings = _settings(data=data, store=store, sources=sources)

    async def work(ctx: Any) -> Any:
        return await (await erasure_of(ctx.gateway)).confirm(member, source)

    try:
        request = asyncio.run(_with_gateway(settings, work))
    except NothingToErase:
        err.print(f"error: no privacy request for member {member}")
        raise typer.Exit(1) from None
    except NothingToConfirm as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(1) from None
    _print(request)


def _record(given: str) -> tuple[str, str]:
    """``crm:C-100`` (a ``--record``) as a record's key in the store."""
    from membergraph.connectors.models import SourceName
    from membergraph.identity.line_records import typed_record_key

    source, colon, key = given.partition(":")
    known = {s.value for s in SourceName}
    if not colon or source.strip().lower() not in known or not key.strip():
        raise typer.BadParameter(
            f"write SOURCE:KEY with a source of {', '.join(sorted(known))}", param_hint="--record"
        )
    name = source.strip().lower()
    return (name, typed_record_key(name, key.strip()))


def _print(request: Any) -> None:
    """The request in the words of the eraseMember mutation: its state and each source's in
    capitals (``DONE``, ``DELETED``), as the GraphQL enums and the README say them."""
    said = {
        "id": request.id,
        "state": request.state.upper(),
        "steps": request.steps,
        "counts": request.counts,
        "sources": {source: state.upper() for source, state in request.sources.items()},
    }
    typer.echo(orjson.dumps(said).decode())
