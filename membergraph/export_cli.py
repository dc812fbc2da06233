"""``membergraph export``: the members a filter selects, as CSV, with a progress bar.

The same rows as ``GET /export/members.csv`` (:mod:`membergraph.export`), written a page at
a time from the store to a file beside ``--out``, renamed to it once whole: a source or the
store failing part-way exits 1 saying so, and leaves no file. E-mails and phones are masked
unless ``--pii`` is given; then the export is recorded in the PII audit under the
operator's name (``$USER``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from membergraph.auth import Caller
from membergraph.cli_checks import require_out_apart, require_out_file, require_out_folder
from membergraph.cli_options import SourcesOpt, StoreDataOpt, StoreOpt, shell_user
from membergraph.export import ExportFailed, csv_chunks, member_pages
from membergraph.export_filter import PARAMETERS, flag_of, query_of
from membergraph.identity.store import StoreError
from membergraph.identity.store.metrics_port import MemberQuery
from membergraph.private_files import open_private
from membergraph.resolvers.errors import CodedError
from membergraph.settings import Settings

__all__ = ["export_members"]

err = Console(stderr=True, markup=False)  # a path or a value may hold "[...]"
Filter = Annotated[str | None, typer.Option(help="As in members(filter:).")]
Amount = Annotated[str | None, typer.Option(help="Inclusive bound, in cents or points.")]
Moment = Annotated[str | None, typer.Option(help="ISO 8601, e.g. 2026-06-01T00:00:00Z.")]


def export_members(  # noqa: PLR0913 (each filter is its own flag, as in members(filter:))
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    data: StoreDataOpt = None,
    store: StoreOpt = None,
    sources: SourcesOpt = None,
    segment: Filter = None,
    tier: Filter = None,
    source: Filter = None,
    consent: Filter = None,
    reachable: Filter = None,
    lifetime_spend_min: Amount = None,
    lifetime_spend_max: Amount = None,
    spend12m_min: Amount = None,
    spend12m_max: Amount = None,
    points_balance_min: Amount = None,
    points_balance_max: Amount = None,
    last_purchase_after: Moment = None,
    last_purchase_before: Moment = None,
    pii: Annotated[
        bool, typer.Option("--pii", help="Unmask e-mails and phones (audited).")
    ] = False,
) -> None:
    """Export the members a filter selects as CSV (masked unless --pii); the filters are
    GET /export/members.csv's, read by the same parser."""
    from membergraph.cli_options import command_settings
    from membergraph.privacy.carry import require_none_pending

    require_out_folder("--out", out)
    require_out_file("--out", out)
    settings = command_settings(
        existing_store=True,
        reads_data=True,
        same_format=True,
        data=data,
        store=store or None,
        sources=sources or None,
    )
    require_out_apart("--out", out, settings.store, settings.data)
    require_none_pending(settings.store, "the export")
    flags = {
        "--segment": segment,
        "--tier": tier,
        "--source": source,
        "--consent": consent,
        "--reachable": reachable,
        "--lifetime-spend-min": lifetime_spend_min,
        "--lifetime-spend-max": lifetime_spend_max,
        "--spend12m-min": spend12m_min,
        "--spend12m-max": spend12m_max,
        "--points-balance-min": points_balance_min,
        "--points-balance-max": points_balance_max,
        "--last-purchase-after": last_purchase_after,
        "--last-purchase-before": last_purchase_before,
    }
    name_of = {flag_of(name): name for name in PARAMETERS}
    pairs = [(name_of[flag], value) for flag, value in flags.items() if value is not None]
    try:
        query = query_of(pairs, settings)  # a bad filter is said before anything opens
    except CodedError as exc:
        err.print(f"error: {_in_flags(exc.message)}")
        raise typer.Exit(2) from None
    try:
        written = asyncio.run(_export(settings, query, out, pii))
    except (StoreError, ExportFailed) as exc:
        err.print(f"error: {exc}; {out} was not written")
        raise typer.Exit(1) from None
    err.print(f"wrote {written} members to {out}")


def _in_flags(message: str) -> str:
    """The parser's message naming a parameter by its flag (``lastPurchaseAfter: ...`` is
    ``--last-purchase-after: ...``)."""
    name, colon, rest = message.partition(":")
    return f"{flag_of(name)}:{rest}" if colon and name in PARAMETERS else message


async def _export(settings: Settings, query: MemberQuery, out: Path, pii: bool) -> int:
    from membergraph.gateway import open_gateway

    gateway, sources, _ = await open_gateway(settings, demo=False)
    try:
        keeper = gateway.scores
        assert keeper is not None
        await keeper.catch_up()
        total = await keeper.metrics.count(query)
        scopes = {"analytics:read", "pii:read"} if pii else {"analytics:read"}
        caller = Caller(name=shell_user(), scopes=frozenset(scopes))
        written = 0

        async def counted() -> AsyncIterator[list[list[object]]]:
            nonlocal written
            async for rows in member_pages(gateway, query, caller, uuid.uuid4().hex):
                written += len(rows)
                progress.update(task, completed=written)
                yield rows

        # Written beside the file and renamed once whole: a failed export leaves no file
        # that could pass for the export.
        partial = out.with_name(f".{out.name}.part")
        try:
            with (
                Progress(console=err, disable=not err.is_terminal, transient=True) as progress,
                open_private(partial) as file,  # personal data: its owner's only
            ):
                task = progress.add_task("exporting members", total=total)
                async for chunk in csv_chunks(counted()):
                    file.write(chunk)
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
        return written
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()
