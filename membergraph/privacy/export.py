"""Access: everything held about a member, as one JSON document (the GDPR's right of access).

Records with their identifiers (a former e-mail or phone marked ``current: false`` with its
``dropped_at``, as the profile shows it) and every source line they own, the identity history with
its evidence, active links, consents with their history, scores and segments, privacy
requests and the audit of who read the member's personal data. Built through the request's
loaders, exactly as the graph answers, unmasked: only ``privacy:admin`` may ask.

A member that may hold more than one person (its CRM contacts read as several people, or a
steward's link holds its records together: :mod:`.spans`) is said so first, in ``warnings``:
the copy may hold another person's data, and erasing the member whole is refused.

Her lines outside her member's records come too, found by the search her erasure removes
them by (:mod:`~membergraph.privacy.naming`): her records another member holds, her lines on
a device she shares, lines kept for no one that name her e-mail or phone. Every privacy
request is listed; the audit's newest :data:`AUDIT_ROWS` entries are, and ``cut`` says so
when there are more.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from membergraph.auth import actor_name
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.gateway_parts import Gateway
from membergraph.insights.former import Former
from membergraph.privacy import privacy_of
from membergraph.privacy.file_lines import Whose, invalid_lines_naming
from membergraph.privacy.her_values import HerValues
from membergraph.privacy.naming import lines_beyond
from membergraph.privacy.port import AccessEntry, PrivacyRequest, PrivacyStore
from membergraph.privacy.spans import people_in
from membergraph.privacy.spans_said import export_warnings
from membergraph.privacy.subject import Subject, read_subject
from membergraph.resolvers import consent as C
from membergraph.resolvers import insights as I
from membergraph.resolvers import members as R
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.member_history import identity_history

__all__ = ["export_member"]

AUDIT_ROWS = 1000  # the newest reads of the member's data in one export
_REQUESTS_PAGE = 100


def _plain(value: Any) -> Any:
    """A JSON-ready copy of dataclasses, tuples, enums and dates."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


async def export_member(ctx: RequestContext, member_id: str) -> dict[str, Any] | None:
    """Everything held about the member ``member_id`` names (None: no such member)."""
    member = await R.get_member(ctx, member_id)
    if member is None:
        return None
    store = ctx.gateway.identity.store
    refs = await R.records(ctx, member)
    records = await store.load_records(refs)
    pairs = await R.identifiers(ctx, member)
    dropped = await I.former(ctx, member, pairs)
    privacy = await privacy_of(ctx.gateway)
    rfm = await I.rfm(ctx, member)
    audit = await privacy.store.access_log(member.id, AUDIT_ROWS + 1)
    cut: dict[str, Any] = {}  # a section holding less than there is, said so
    if len(audit) > AUDIT_ROWS:
        audit = audit[:AUDIT_ROWS]
        cut["pii_access_log"] = {"shown": AUDIT_ROWS, "more": True}
    spans = await people_in(store, member.id, ctx.gateway.identity.rules)
    document = {
        "member_id": member.id,
        "asked_as": member.requested_id,
        "exported_at": datetime.now(UTC).isoformat(),
        # A member that may hold two people (a steward's wrong link): said first.
        "warnings": export_warnings(member.id, spans),
        "records": [_record(records.get(ref), ref, pairs, dropped) for ref in refs],
        "source_lines": await _lines(ctx, member),
        "lines_outside_records": await _beyond(ctx, member.id),
        # (Another person's records and values, a rejection's or a split's other side, are
        # theirs: a copy for this person leaves them out, GDPR art. 15(4).)
        "identity_history": _plain(await identity_history(ctx, member, own=True)),
        "links": _plain(await store.active_links(refs)),
        "consents": _plain(await C.consents(ctx, member)),
        "reachable_channels": _plain(await C.reachable(ctx, member)),
        "rfm": None if rfm is None else _plain(rfm),
        "segments": _plain(await I.segments(ctx, member)),
        "privacy_requests": _plain(await _requests(privacy.store, member.id)),
        "pii_access_log": _plain(audit),
        "cut": cut,
    }
    # An export shows all of it unmasked: it is a read like any other, and is audited.
    actor = actor_name(ctx.request)
    read = AccessEntry(member.id, actor, ("export",), datetime.now(UTC), ctx.pii_reads.request_id)
    await privacy.store.record_access([read])
    return document


def _record(record: Any, ref: tuple[str, str], pairs: list[Any], dropped: Former) -> dict[str, Any]:
    """A record with its identifiers, each ``current`` or not: an e-mail or phone the CRM
    dropped (``insights.former``) is listed with ``current: false`` and ``dropped_at`` (the
    update time of the contact's version that no longer carries it), as the profile lists
    it, so the person reads which of their addresses the company still uses."""
    found = {
        "source": ref[0],
        "key": ref[1],
        "identifiers": [_identifier(i, dropped) for r, i in pairs if r == ref],
    }
    if record is not None:
        found.update(
            role=record.role,
            first_name=record.first_name,
            last_name=record.last_name,
            birth_date=_plain(record.birth_date),
            address=record.address,
        )
    return found


def _identifier(ident: Any, dropped: Former) -> dict[str, Any]:
    former = (ident.kind, ident.key) in dropped
    when = dropped.get((ident.kind, ident.key)) if former else None
    return {
        "kind": ident.kind.value,
        "value": ident.value,
        "via": ident.via,
        "current": not former,
        "dropped_at": None if when is None else when.isoformat(),
    }


async def _lines(ctx: RequestContext, member: R.MemberView) -> dict[str, Any]:
    """Every line the member's records own, by source (a source that fails says so)."""
    lines: dict[str, Any] = {}
    for source in SourceName:
        try:
            found = await R._lines(ctx, member, source)
        except ConnectorError as exc:
            lines[source.value] = {"error": str(exc)}
            continue
        lines[source.value] = [line.model_dump(mode="json") for line in found]
    return lines


async def _beyond(ctx: RequestContext, member_id: str) -> dict[str, Any]:
    """Her lines outside the member's records, as her erasure finds them."""
    gateway = ctx.gateway
    subject = await read_subject(gateway.identity.store, member_id, gateway.identity.rules)
    try:
        found = await lines_beyond(gateway, subject)
    except ConnectorError as exc:
        return {"error": str(exc)}

    def by_source(lines: dict[SourceName, list[Any]]) -> dict[str, Any]:
        return {n.value: [line.model_dump(mode="json") for line in ls] for n, ls in lines.items()}

    return {
        "records_elsewhere": by_source(found.elsewhere),
        "shared_devices": by_source(found.shared),
        "kept_for_no_one": by_source(found.nobodys),
        "failing_validation": await _failing(gateway, subject),
    }


async def _failing(gateway: Gateway, subject: Subject) -> list[dict[str, Any]]:
    """The lines of the files her erasure reads (file sources, the folder the store was
    loaded from) that fail validation and name her, where they are: no load took them, so
    no store holds them, but her erasure removes them (``lines_invalid``)."""
    privacy = await privacy_of(gateway)
    region = privacy.suppressor.region
    her = HerValues(subject.suppress, subject.named_by, subject.names, region)
    owners = subject.owners()
    files: dict[Path, tuple[SourceName, Callable[[BaseModel], str | None]]] = {}
    for name, connector in gateway.sources.items():
        if isinstance(connector, FileConnector):
            files[connector.path] = (name, connector.owner)
    if gateway.folder is not None:
        for name, spec in SOURCES.items():
            owner = getattr(gateway.sources.get(name), "owner", None)
            files.setdefault(gateway.folder / spec.file_name, (name, owner or _nobody))
    found = []
    for path, (name, owner_of) in files.items():
        whose = Whose(name, owners.get(name, set()), owner_of, region, her=her)
        at = await asyncio.to_thread(invalid_lines_naming, path, whose)
        found += [
            {"source": name.value, "file": str(path), "line": n, "content": _content(raw)}
            for n, raw in at
        ]
    return found


def _content(raw: bytes) -> Any:
    """A line as it reads: its JSON decoded, or its text when it is no JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")


def _nobody(line: BaseModel) -> str | None:
    return None


async def _requests(store: PrivacyStore, member_id: str) -> list[PrivacyRequest]:
    """Every privacy request of the member, newest first, page by page."""
    found: list[PrivacyRequest] = []
    while page := await store.requests(_REQUESTS_PAGE, len(found), member_id):
        found += page
        if len(page) < _REQUESTS_PAGE:
            break
    return found
