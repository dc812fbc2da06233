"""``GET /export/members.csv`` (and ``.parquet``): the members a filter selects, streamed.

The store answers a page of members at a time (the same keyset pages as ``members``), and
each page is written out before the next is read: memory stays flat whatever the size.
Scope ``analytics:read``; e-mails and phones are masked unless the caller has ``pii:read``,
and then each page's unmasked members are written to the PII audit, as GraphQL answers are.

Query parameters mirror ``members(filter:)`` (:mod:`membergraph.export_filter`, which
``membergraph export`` parses its flags with too). A bad value, an unknown parameter or a
repeated one answers 400 naming it, before anything is streamed.

An export is whole or visibly not: the first page is read before the answer starts (a source
or the store failing then is a 503 saying which), a CSV ends with :data:`TRAILER` naming the
count of members, a Parquet file's footer says ``membergraph.complete``, and a failure after
the first byte aborts the chunked answer (no last chunk: the client's HTTP library reports an
incomplete body, ``curl`` exits 18) rather than ending it as if the export were done.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from membergraph.auth import Caller, actor_name, caller_of, scope_refusal
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.export_filter import query_of
from membergraph.export_parquet import parquet_chunks, pyarrow_missing
from membergraph.gateway_parts import Gateway
from membergraph.identity.placeholders import placeholder_rule, revealed_placeholders
from membergraph.identity.store import StoreError
from membergraph.identity.store.metrics_port import MemberQuery, OrderField
from membergraph.identity.values import ValueKey
from membergraph.insights.former import former_values
from membergraph.insights.profile import Profile, last_seen_of, profile_of
from membergraph.masking import mask_email, mask_phone
from membergraph.measuring import from_micros
from membergraph.privacy import privacy_of
from membergraph.privacy.audit import PiiReads
from membergraph.privacy.port import AccessEntry
from membergraph.resolvers.errors import CodedError

__all__ = [
    "COLUMNS",
    "TRAILER",
    "ExportFailed",
    "csv_chunks",
    "export_members_endpoint",
    "member_pages",
]

logger = logging.getLogger(__name__)

PAGE = 1000
TRAILER = "# end of export: {members} members"
"""The last line of a whole CSV export (a comment line, ``comment="#"`` to pandas or DuckDB):
a file without it was cut short."""
COLUMNS = (
    "member_id",
    "email",
    "phone",
    "tier",
    "lifetime_spend_cents",
    "spend_12m_cents",
    "points_balance",
    "last_purchase_at",
    "recency",
    "frequency",
    "monetary",
    "engagement",
    "segments",
    "reachable",
)


class ExportFailed(RuntimeError):
    """A source or the store failed while the export was read: what was written is not the
    whole export."""

    def __init__(self, written: int, cause: Exception) -> None:
        super().__init__(f"the export stopped after {written} members: {cause}")
        self.written = written
        self.cause = cause


async def member_pages(
    gateway: Gateway, query: MemberQuery, caller: Caller, request_id: str, page_size: int = PAGE
) -> AsyncIterator[list[list[object]]]:
    """The export's rows (:data:`COLUMNS`), a keyset page of ``page_size`` members at a
    time, masked by the caller's scopes; each unmasked page is written to the PII audit.

    Raises:
        ExportFailed: a source or the store failed (every source counts: the others date
            the e-mails and phones the profile rule picks from).
    """
    written = 0
    try:
        async for rows in _pages(gateway, query, caller, request_id, page_size):
            yield rows
            written += len(rows)
    except (ConnectorError, StoreError) as exc:
        raise ExportFailed(written, exc) from exc


async def _pages(
    gateway: Gateway, query: MemberQuery, caller: Caller, request_id: str, page_size: int
) -> AsyncIterator[list[list[object]]]:
    keeper = gateway.scores
    assert keeper is not None
    unmasked = caller.can("pii:read")
    after: tuple[int | str, str] | None = None
    weighed: dict[ValueKey, bool] = {}  # shared values' placeholder verdicts, this export's
    while True:
        page = await keeper.metrics.page(query, OrderField.MEMBER_ID, False, after, page_size)
        if not page:
            return
        ids = [m for m, _ in page]
        scored = await keeper.metrics.scored(ids)
        contacts = await _contacts(gateway, ids, weighed)
        if unmasked:
            await _audit(gateway, ids, caller, request_id)
        yield [
            _line(found, profile, unmasked)
            for found, profile in zip(scored, contacts, strict=True)
            if found is not None
        ]
        if len(page) < page_size:
            return
        after = (ids[-1], ids[-1])


_FORMULA_STARTS = ("=", "@", "+", "-", "\t", "\r")


def _as_text(cell: object) -> object:
    """A cell a spreadsheet would run as a formula (an e-mail such as ``=cmd+2@x.com`` is a
    valid address) behind OWASP's leading quote, so it opens as text; a phone in E.164
    (``+14155550199``) is a number to a spreadsheet, not a formula, and stays as it is."""
    if not isinstance(cell, str) or not cell.startswith(_FORMULA_STARTS):
        return cell
    if cell[0] == "+" and cell[1:].isdigit():
        return cell
    return "'" + cell


async def csv_chunks(
    pages: AsyncIterator[list[list[object]]],
) -> AsyncGenerator[bytes, None]:
    """The rows as CSV with a header, one chunk per page, and :data:`TRAILER` once every
    page was written (a failure raises before it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    members = 0
    async for rows in pages:
        writer.writerows([[_as_text(cell) for cell in row] for row in rows])
        members += len(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    buffer.write(TRAILER.format(members=members) + "\n")
    yield buffer.getvalue().encode()


_DATED_BY = (
    SourceName.CRM,
    SourceName.TRANSACTIONS,
    SourceName.WEB_ANALYTICS,
    SourceName.CALL_CENTER,
)
"""The sources whose lines date a member's e-mails and phones (:func:`last_seen_of`)."""


async def _source_lines(gateway: Gateway, source: SourceName, keys: list[str]) -> dict[str, Any]:
    connector = gateway.sources.get(source)
    if connector is None or not keys:
        return {}
    found = {}
    for key, answer in zip(keys, await connector.load_light(keys), strict=True):
        if isinstance(answer, ConnectorError):
            raise answer  # an export is whole or says it is not
        found[key] = answer
    return found


async def _contacts(
    gateway: Gateway, ids: list[str], weighed: dict[ValueKey, bool]
) -> list[Profile]:
    """Each member's profile, for its e-mail and phone: chosen by :func:`profile_of`, as
    ``Member.profile`` chooses them, from the page's lines (one read per source), with the
    placeholders the data reveals left out as the profile leaves them out (a value shared
    by many members weighed once an export: ``weighed``)."""
    store = gateway.identity.store
    records, idents = await asyncio.gather(store.member_records(ids), store.member_identifiers(ids))
    keys = {s: sorted({k for refs in records for src, k in refs if src == s}) for s in _DATED_BY}
    read = await asyncio.gather(*(_source_lines(gateway, s, keys[s]) for s in _DATED_BY))
    lines = dict(zip(_DATED_BY, read, strict=True))
    region, rules = gateway.settings.default_region, gateway.identity.rules
    values = {(i.kind, i.key) for pairs in idents for _, i in pairs}
    placeholder = placeholder_rule(
        rules, await revealed_placeholders(gateway.identity.store, rules, values, weighed)
    )
    profiles = []
    for refs, pairs in zip(records, idents, strict=True):
        crm, txs, events, calls = (
            [line for src, k in refs if src == s for line in lines[s].get(k, ())] for s in _DATED_BY
        )
        seen = last_seen_of(crm, txs, events, calls, region)
        former = former_values(crm, pairs, region, seen)
        profiles.append(profile_of(crm, pairs, seen, placeholder, former))
    return profiles


def _line(found: Any, profile: Profile, unmasked: bool) -> list[object]:
    row = found.row
    email = profile.email.value if profile.email else ""
    phone = profile.phone.value if profile.phone else ""
    if not unmasked:
        email = mask_email(email) if email else ""
        phone = mask_phone(phone) if phone else ""
    bought = from_micros(row.figures["last_purchase_at"])
    return [
        row.member_id,
        email,
        phone,
        row.tier,
        row.figures["lifetime_spend_cents"],
        row.figures["monetary_cents"],
        row.figures["points_balance"],
        bought.isoformat() if bought else "",
        *found.scores[:4],
        " ".join(found.segments),
        " ".join(row.reachable),
    ]


async def _audit(gateway: Gateway, ids: list[str], caller: Caller, request_id: str) -> None:
    privacy = await privacy_of(gateway)
    at = datetime.now(UTC)
    entries = [AccessEntry(m, caller.name, ("email", "phone"), at, request_id) for m in ids]
    await privacy.store.record_access(entries)


CSV = ("text/csv; charset=utf-8", "csv")  # media type and file name suffix
PARQUET = ("application/vnd.apache.parquet", "parquet")


async def export_members_endpoint(request: Request) -> Response:
    """Checks the scope and the filter, then streams the CSV or the Parquet file."""
    caller = caller_of(request)
    if refused := scope_refusal(caller, "analytics:read", "exporting members"):
        return JSONResponse({"error": refused}, 403)
    gateway: Gateway = request.app.state.gateway
    if gateway.scores is None:
        return JSONResponse({"error": "this store keeps no member metrics"}, 503)
    parquet = request.url.path.endswith(".parquet")
    if parquet and (missing := pyarrow_missing()):
        return JSONResponse({"error": missing}, 501)
    try:
        query = query_of(request.query_params.multi_items(), gateway.settings)
    except CodedError as exc:
        return JSONResponse({"error": exc.message}, 400)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    media, suffix = PARQUET if parquet else CSV
    headers = {"content-disposition": f'attachment; filename="members-{stamp}.{suffix}"'}
    if request.method == "HEAD":
        # What a GET would answer, without reading a member: nobody's data is sent, so
        # nothing is written to the PII audit (Starlette runs a GET route for a HEAD).
        return Response(None, media_type=media, headers=headers)
    # The audit names the caller as everything else does (a demo caller by its header).
    as_named = replace(caller, name=actor_name(request))
    pages = member_pages(gateway, query, as_named, PiiReads.for_request(request).request_id)
    try:  # what fails before the first byte is answered as an error, not as a short file
        await gateway.scores.catch_up()
        first = await anext(pages, None)
    except CodedError as exc:
        return JSONResponse({"error": exc.message}, 400)
    except (ExportFailed, ConnectorError, StoreError) as exc:
        return _unavailable(exc)
    rows = _starting_with(first, pages)
    body = parquet_chunks(rows) if parquet else csv_chunks(rows)
    return _AbortableStream(body, media_type=media, headers=headers)


def _unavailable(exc: Exception) -> JSONResponse:
    """503 naming the failing source (a store's detail goes to the log only)."""
    logger.warning("export: %s", exc)
    cause = exc.cause if isinstance(exc, ExportFailed) else exc
    if isinstance(cause, StoreError):
        return JSONResponse(
            {"error": "the store failed: try again", "code": "STORE_UNAVAILABLE"}, 503
        )
    return JSONResponse({"error": f"{cause}: try again", "code": "SOURCE_UNAVAILABLE"}, 503)


async def _starting_with(
    first: list[list[object]] | None, rest: AsyncIterator[list[list[object]]]
) -> AsyncIterator[list[list[object]]]:
    if first is None:
        return
    yield first
    async for rows in rest:
        yield rows


class _AbortableStream(Response):
    """A chunked answer that a failure part-way cuts off without its last chunk, so the
    client sees an incomplete body, not a short file that looks whole (Starlette's
    ``StreamingResponse`` would end it normally or raise a traceback into the log).

    A client that hangs up (a tab closed, a script's timeout) stops the export at its next
    page: uvicorn drops what is sent after that without a word, so the rest of the store
    would be read for no one, and a script retrying would pile whole exports up. It is
    logged and counted as the client's (499), not as a whole export."""

    def __init__(self, body: AsyncGenerator[bytes, None], **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        # Chunked: no length (the base class counts the empty body it was given).
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._chunks = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        gone = asyncio.Event()
        watching = asyncio.create_task(_until_disconnect(receive, gone))
        try:
            async for chunk in self._chunks:
                if gone.is_set():
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except ExportFailed as exc:
            logger.warning("export cut off: %s", exc)
            return  # no closing message: the server drops the connection mid-body
        finally:
            watching.cancel()
            await self._chunks.aclose()  # the pages' reads end now, not when collected
        if gone.is_set():
            raise ClientDisconnect
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception as exc:  # a body an export never reads (a GET's, over the limit)
        logger.debug("export: the request's body could not be read: %r", exc)
        return
    gone.set()
