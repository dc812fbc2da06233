"""Pushed source lines: :class:`IngestService` (the domain service) and ``POST
/ingest/{source}`` (its thin HTTP handler), lines in the source file format answered per line.

Each line is validated on its own; good lines are stored in the source (ordered against the
version held: ``created``, ``updated``, ``unchanged``, ``stale``), applied to identity
incrementally, and announced on the change feed. A bad line is answered with its precise
error and never stops the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.auth import caller_of
from membergraph.connectors.base import ConnectorError, SourceConnector
from membergraph.connectors.lines import LineError, parse_line
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, Taken
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.records import RecordData, RecordKey, record_of_line
from membergraph.identity.values import stored_nobodys_reason
from membergraph.insights.offers import line_offer_code
from membergraph.privacy import privacy_of
from membergraph.privacy.gate import SUPPRESSED_ERROR, screen
from membergraph.resolvers.consent import record_line_consents
from membergraph.resolvers.context import Gateway

__all__ = [
    "MAX_INGEST_BYTES",
    "IngestRefused",
    "IngestService",
    "Pushed",
    "fact_kind",
    "ingest_endpoint",
]

MAX_INGEST_BYTES = 8 * 1024 * 1024
_TAKEN = ("created", "updated", "unchanged")  # the line is in the source


def fact_kind(source: SourceName, line: Any, previous: Any) -> ChangeKind:
    """What a taken line says to the change feed (``previous``: the version it replaced)."""
    offered = line_offer_code(line) is not None
    if source is SourceName.TRANSACTIONS:
        if previous is None:
            # A purchase that used an offer: every channel must learn it is used.
            return ChangeKind.OFFER_REDEEMED if offered else ChangeKind.PURCHASE_RECORDED
        if previous.status != line.status:
            return ChangeKind.PURCHASE_STATUS_CHANGED
        return ChangeKind.PURCHASE_UPDATED
    if source is SourceName.CRM:
        if previous is not None and previous.consents != line.consents:
            return ChangeKind.CONSENT_CHANGED
        return ChangeKind.PROFILE_UPDATED
    if source is SourceName.WEB_ANALYTICS:
        return ChangeKind.OFFER_REDEEMED if line.name == "Offer Redeemed" else ChangeKind.WEB_EVENT
    return ChangeKind.OFFER_REDEEMED if offered else ChangeKind.CALL


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _split_body(body: bytes) -> list[Any] | None:
    """A JSON array of objects, or JSON Lines (each line decoded later, on its own)."""
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return None
        return list(items) if isinstance(items, list) else None
    return [line for line in body.split(b"\n")]


@dataclass(slots=True)
class Pushed:
    """What :meth:`IngestService.push` did: one entry per non-blank line, in order."""

    lines: list[dict[str, Any]]
    members_changed: list[str]

    @property
    def rejected(self) -> int:
        return sum(1 for line in self.lines if line["status"] in ("rejected", "suppressed"))

    @property
    def unattributed(self) -> int:
        """Good lines that identify no one, no error of the sender's: a placeholder their
        only identifier (not stored), or their record keyed by a value the data shows to be
        a placeholder (stored: ``kept``)."""
        return sum(1 for line in self.lines if line["status"] == "unattributed")


class IngestRefused(Exception):
    """The whole push was refused (nothing taken); ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class IngestService:
    """Takes pushed source lines: each validated on its own, the good ones stored (durable
    before answered), applied to identity, and announced on the change feed."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        # One writer at a time: appends and identity changes stay in the order taken.
        self._lock = asyncio.Lock()

    async def push(self, source: SourceName, items: Sequence[Any]) -> Pushed:
        """Take ``items`` (JSON Lines as bytes, or decoded objects) for ``source``.

        Raises:
            IngestRefused: the source takes no pushes (409), there is no line (400), or it
                could not store them (503: nothing was taken, send them again).
        """
        gateway = self.gateway
        connector = gateway.sources.get(source)
        if not isinstance(connector, SourceConnector) or not connector.takes_pushes:
            raise IngestRefused(
                409, f"source {source.value} is read from an API here: it takes no pushed lines"
            )
        spec, region = SOURCES[source], gateway.settings.default_region
        results: list[dict[str, Any]] = []
        good: list[tuple[int, BaseModel]] = []
        for number, raw in enumerate(items, start=1):
            if isinstance(raw, bytes) and not raw.strip():
                continue
            parsed = parse_line(spec, raw, f"line {number}", connector.owner)
            if isinstance(parsed, LineError) and parsed.unattributed:
                # Well formed, but it identifies no one: not stored, and not the sender's error.
                results.append({"line": number, "status": "unattributed", "reason": parsed.message})
            elif isinstance(parsed, LineError):
                results.append({"line": number, "status": "rejected", "error": parsed.message})
            else:
                good.append((number, parsed[0]))
        if not good and not results:
            raise IngestRefused(400, "no lines in the body")
        privacy = await privacy_of(gateway)
        good, refused = await screen(privacy, source, good, region)
        results += [{"line": n, "status": "suppressed", "error": SUPPRESSED_ERROR} for n in refused]
        async with self._lock:
            try:
                outcomes = await connector.append([line for _, line in good])
            except (ConnectorError, OSError) as exc:
                # Nothing was taken (written before indexed); appends are idempotent on the
                # line's id, so the client sends the same lines again.
                raise IngestRefused(
                    503, f"{exc}; send the lines again (appends are idempotent)"
                ) from exc
            records = [record_of_line(source, line, region) for _, line in good]
            # A line sent again ("unchanged") goes through identity again too: if the first
            # attempt failed after the append, this one completes it (ingest is idempotent).
            # A stale or refused line changed nothing: its identifiers join no record.
            applied = await gateway.identity.ingest(
                [
                    r
                    for r, o in zip(records, outcomes, strict=True)
                    if r is not None and o not in ("stale", "rejected")
                ]
            )
            held = [r.ref for r, o in zip(records, outcomes, strict=True) if r and o in _TAKEN]
            members = await gateway.identity.store.assignments(held)
            await self._announce(source, connector, good, outcomes, records, members)
            taken = [line for (_, line), o in zip(good, outcomes, strict=True) if o != "rejected"]
            await record_line_consents(gateway, source, taken)
        if gateway.feed is not None:
            await gateway.feed.catch_up()  # read your writes: caches here know before we answer
        rules = gateway.identity.rules
        for (number, line), outcome, record in zip(good, outcomes, records, strict=True):
            entry = _entry(spec.id_field, source, number, line, outcome, record)
            if record is not None and outcome in _TAKEN and record.ref not in members:
                # Kept in the source, but its record is keyed by a value the data shows to
                # be a placeholder: nobody's, as a pattern placeholder's line is.
                reason = stored_nobodys_reason(record, rules)
                entry.update(status="unattributed", reason=reason, kept=True)
            results.append(entry)
        results.sort(key=lambda r: r["line"])
        changed = sorted({m for c in applied.changes for m in c.member_ids})
        return Pushed(results, changed)

    async def _announce(
        self,
        source: SourceName,
        connector: SourceConnector,
        good: Sequence[tuple[int, BaseModel]],
        outcomes: Sequence[Taken],
        records: Sequence[RecordData | None],
        members: Mapping[RecordKey, str],
    ) -> None:
        """The change feed's entries for the lines taken (and for a line sent again whose
        first attempt failed before its entry was written); ``members``: of their records."""
        store = self.gateway.identity.store
        facts = [
            (line, outcome, record)
            for (_, line), outcome, record in zip(good, outcomes, records, strict=True)
            if record is not None and outcome in _TAKEN
        ]
        resent = [connector.line_id(line) for line, outcome, _ in facts if outcome == "unchanged"]
        if resent:  # sent again: an entry only if the first attempt failed before writing it
            fed = await store.fed_lines(source.value, resent)
            facts = [f for f in facts if f[1] != "unchanged" or connector.line_id(f[0]) not in fed]
        if not facts:
            return
        await store.append_feed(
            [
                FeedEntry(
                    fact_kind(source, line, outcome.previous),
                    (members[record.ref],) if record.ref in members else (),
                    source=source.value,
                    line_id=connector.line_id(line),
                )
                for line, outcome, record in facts
            ]
        )


def _entry(
    id_field: str,
    source: SourceName,
    number: int,
    line: BaseModel,
    outcome: Taken,
    record: RecordData | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "line": number,
        "status": str(outcome),
        "id": str(getattr(line, id_field)),
    }
    if outcome == "rejected":
        entry["error"] = outcome.error or SOURCES[source].taken_elsewhere(entry["id"])
    if outcome == "stale":
        entry["reason"] = "older than the version held: nothing changed"
    if record is not None:
        entry["record"] = {"source": record.source, "key": record.key}
    return entry


BOUND_INGEST = (
    "a token bound to one member may push no source line, whatever its scopes: lines come "
    "from the systems of record (a POS, the CRM), where a member's own changes are made"
)


async def ingest_endpoint(request: Request) -> Response:
    """``POST /ingest/{source}``: checks, one call to :class:`IngestService`, the answer."""
    service: IngestService = request.app.state.ingest
    caller = caller_of(request)
    if not caller.can("ingest:write"):
        return _problem(403, "pushing source lines needs the ingest:write scope")
    if caller.member_id is not None:
        # A line may carry any identifier, and one identifier links another customer's
        # records to the pusher's member: a frontend app's token would take their account.
        # Source lines come from the systems of record (a POS, the CRM), never from the app.
        return _problem(403, BOUND_INGEST)
    name = request.path_params["source"]
    try:
        source = SourceName(name)
    except ValueError:
        known = ", ".join(s.value for s in SourceName)
        return _problem(404, f"unknown source {name!r}; use one of {known}")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_INGEST_BYTES:
        return _problem(413, f"body over {MAX_INGEST_BYTES} bytes; send smaller batches")
    body = await request.body()
    if len(body) > MAX_INGEST_BYTES:
        return _problem(413, f"body over {MAX_INGEST_BYTES} bytes; send smaller batches")
    items = _split_body(body)
    if items is None:
        return _problem(400, "body is neither a JSON array nor JSON Lines")
    try:
        pushed = await service.push(source, items)
    except IngestRefused as exc:
        return _problem(exc.status, str(exc))
    rejected, unattributed = pushed.rejected, pushed.unattributed
    accepted = len(pushed.lines) - rejected - unattributed
    answer = {
        "accepted": accepted,
        "rejected": rejected,
        "unattributed": unattributed,
        "members_changed": pushed.members_changed,
        "lines": pushed.lines,
    }
    return JSONResponse(
        answer,
        status_code=200 if not rejected else 207 if accepted or unattributed else 422,
    )
