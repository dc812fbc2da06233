"""``GET /export/members.csv`` (and ``.parquet``): the members a filter selects, streamed.

The store answers a page of members at a time (the same keyset pages as ``members``), and
each page is written out before the next is read: memory stays flat whatever the size.
Scope ``analytics:read``; e-mails and phones are masked unless the caller has ``pii:read``,
and then each page's unmasked members are written to the PII audit, as GraphQL answers are.

Query parameters mirror ``members(filter:)`` (:mod:`membergraph.export_filter`, which
``membergraph export`` parses its flags with too). A bad value, an unknown parameter or a
repeated one answers 400 naming it, before anything is streamed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from membergraph.auth import Caller, caller_of, mask_email, mask_phone, scope_refusal
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.export_filter import query_of
from membergraph.export_parquet import parquet_chunks, pyarrow_missing
from membergraph.identity.store.metrics_port import MemberQuery, OrderField
from membergraph.insights.profile import Profile, last_seen_of, profile_of
from membergraph.privacy import privacy_of
from membergraph.privacy.audit import PiiReads
from membergraph.privacy.port import AccessEntry
from membergraph.resolvers.context import Gateway
from membergraph.resolvers.errors import CodedError
from membergraph.scores import from_micros

__all__ = [
    "COLUMNS",
    "csv_chunks",
    "export_members_endpoint",
    "member_pages",
]

PAGE = 1000
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


async def member_pages(
    gateway: Gateway, query: MemberQuery, caller: Caller, request_id: str
) -> AsyncIterator[list[list[object]]]:
    """The export's rows (:data:`COLUMNS`), a keyset page of :data:`PAGE` members at a
    time, masked by the caller's scopes; each unmasked page is written to the PII audit."""
    keeper = gateway.scores
    assert keeper is not None
    unmasked = caller.can("pii:read")
    after: tuple[int | str, str] | None = None
    while True:
        page = await keeper.metrics.page(query, OrderField.MEMBER_ID, False, after, PAGE)
        if not page:
            return
        ids = [m for m, _ in page]
        scored = await keeper.metrics.scored(ids)
        contacts = await _contacts(gateway, ids)
        if unmasked:
            await _audit(gateway, ids, caller, request_id)
        yield [
            _line(found, profile, unmasked)
            for found, profile in zip(scored, contacts, strict=True)
            if found is not None
        ]
        if len(page) < PAGE:
            return
        after = (ids[-1], ids[-1])


async def csv_chunks(pages: AsyncIterator[list[list[object]]]) -> AsyncIterator[bytes]:
    """The rows as CSV with a header, one chunk per page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    async for rows in pages:
        writer.writerows(rows)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
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
            if source is SourceName.CRM:  # as the profile: the others only date values
                raise answer
            continue
        found[key] = answer
    return found


async def _contacts(gateway: Gateway, ids: list[str]) -> list[Profile]:
    """Each member's profile, for its e-mail and phone: chosen by :func:`profile_of`, as
    ``Member.profile`` chooses them, from the page's lines (one read per source)."""
    store = gateway.identity.store
    records, idents = await asyncio.gather(store.member_records(ids), store.member_identifiers(ids))
    keys = {s: sorted({k for refs in records for src, k in refs if src == s}) for s in _DATED_BY}
    read = await asyncio.gather(*(_source_lines(gateway, s, keys[s]) for s in _DATED_BY))
    lines = dict(zip(_DATED_BY, read, strict=True))
    region, placeholder = gateway.settings.default_region, gateway.identity.rules.is_junk
    profiles = []
    for refs, pairs in zip(records, idents, strict=True):
        crm, txs, events, calls = (
            [line for src, k in refs if src == s for line in lines[s].get(k, ())] for s in _DATED_BY
        )
        seen = last_seen_of(crm, txs, events, calls, region)
        profiles.append(profile_of(crm, pairs, seen, placeholder))
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
        await gateway.scores.catch_up()
    except CodedError as exc:
        return JSONResponse({"error": exc.message}, 400)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    pages = member_pages(gateway, query, caller, PiiReads.for_request(request).request_id)
    body, media, suffix = csv_chunks(pages), "text/csv; charset=utf-8", "csv"
    if parquet:
        body, media, suffix = parquet_chunks(pages), "application/vnd.apache.parquet", "parquet"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="members-{stamp}.{suffix}"'},
    )
