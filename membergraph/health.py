"""The probes: ``/healthz`` (the process answers) and ``/readyz`` (the store answers and
takes writes; each source's lines, malformed lines and lines that identify no one, as the
store holds them: every process answers the same).

``/readyz`` asks no credentials: what it says names no server and reveals no member's value.
It reads beside the writes (the stores' read connections), so a push or a write waiting on
the store's lock holds it up no more than a query; and it answers within
:data:`PROBE_WAIT` whatever it waits on: past it, 503 saying the store did not answer.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.connectors.base import ConnectorError, SourceConnector
from membergraph.connectors.lines import Held
from membergraph.connectors.reasons import public_reason
from membergraph.full_start import first_load_refusal
from membergraph.gateway_parts import Gateway
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.records import identifier_key
from membergraph.identity.reresolve import rules_notice, sources_notice
from membergraph.identity.rules import Rules
from membergraph.identity.store import StoreError, StoreUnwritable
from membergraph.identity.values import VALUE_LABELS
from membergraph.masking import MASKS
from membergraph.sqlite_tx import READS_ASIDE

__all__ = ["PROBE_WAIT", "UNANSWERED", "UNWRITABLE", "healthz", "readyz"]

logger = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


_KINDS = {label: kind for kind, label in VALUE_LABELS.items()}
_NAMED = re.compile(
    rf"^(placeholder ({'|'.join(map(re.escape, _KINDS))}) )([^\s:]+)(.*)$", re.DOTALL
)
"""A reason naming a value: ``placeholder card LD65727893: carried by many different
people``, ``placeholder e-mail na@na.com``."""


def _public_reasons(counts: dict[str, int], rules: Rules, region: str) -> dict[str, int]:
    """Unattributed counts as anyone may read them (``/readyz`` asks no credentials): only
    a value the rules' blocklist or patterns name (``na@na.com``) is nobody's and readable;
    one the data revealed to be a placeholder may be a customer's own (a family's address,
    the card a cashier scanned for guests, an address a till typed every day), so it is
    masked as an answer without ``pii:read`` masks it, a card or an id to its last four."""
    public: dict[str, int] = {}
    for reason, n in counts.items():
        found = _NAMED.match(reason)
        if found is not None:
            head, label, value, tail = found.groups()
            if not _nobodys(rules, _KINDS[label], value, region):
                reason = f"{head}{_masked(label, value)}{tail}"
        else:  # a value left out, quoted in its reason (``'???' is not a loyalty number``)
            reason = public_reason(reason)
        public[reason] = public.get(reason, 0) + n
    return public


def _nobodys(rules: Rules, kind: IdentifierKind, value: str, region: str) -> bool:
    try:
        key = identifier_key(kind, normalize(kind, value, region))
    except BadIdentifier:
        return False
    return rules.is_junk(kind, key)


def _masked(label: str, value: str) -> str:
    if label in ("e-mail", "phone"):
        return str(MASKS["contact"](value))
    return "***" + value[-4:]  # a card or an id: its last four, as a payment card is shown


async def _held(conn: SourceConnector) -> Held | None:
    """The source's figures as its backend holds them (every process reads the same), or
    None: the process's own tally (a source read from a file or an API; a backend that does
    not answer, which the store's check below says)."""
    try:
        return await conn.held()
    except ConnectorError:
        return None


UNANSWERED = "the identity store does not answer"
PROBE_WAIT = 2.0
"""Seconds ``/readyz`` waits for the store and the sources' counts before it answers 503."""
UNANSWERED_IN = "the identity store did not answer within {wait:g} s"
UNWRITABLE = (
    "the identity store cannot be written (its disk is full or failing): reads answer, pushes"
    " and steward changes are refused until room is made"
)


async def readyz(request: Request) -> Response:
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    aside = READS_ASIDE.set(True)  # (on the read connections: behind no push's trips)
    try:
        async with asyncio.timeout(PROBE_WAIT):
            return await _probe(gateway)
    except TimeoutError:
        said = UNANSWERED_IN.format(wait=PROBE_WAIT)
        logger.warning("readiness: %s (a lock held on it, or its server stalls)", said)
        sources = {
            name.value: {"calls": conn.calls, "circuit": conn.circuit}
            for name, conn in gateway.sources.items()
        }
        return JSONResponse(
            {"status": "unavailable", "store": {"error": said}, "sources": sources},
            status_code=503,
        )
    finally:
        READS_ASIDE.reset(aside)


async def _probe(gateway: Gateway) -> Response:
    sources = {}
    for name, conn in gateway.sources.items():
        entry: dict[str, Any] = {"calls": conn.calls, "circuit": conn.circuit}
        if isinstance(conn, SourceConnector):
            held = await _held(conn)
            report = conn.report if held is None or held.report is None else held.report
            entry.update(
                lines=conn.size() if held is None else held.lines,
                unattributed_lines=(
                    sum(report.unattributed.values()) if held is None else held.unattributed
                ),
                malformed=report.malformed,
                errors=[e.public for e in report.errors[:10]],
                unattributed=_public_reasons(
                    report.unattributed, gateway.identity.rules, gateway.settings.default_region
                ),
            )
        sources[name.value] = entry
    refusal = first_load_refusal(gateway)
    if refusal is not None and not gateway.waiting_for_room:
        # Never ready over a store its first load has not filled: a restart finishes it.
        restart = {"error": refusal}
        return JSONResponse(
            {"status": "unavailable", "store": restart, "sources": sources}, status_code=503
        )
    try:
        if gateway.waiting_for_room:  # (its start's writes: a small write may pass meanwhile)
            raise StoreUnwritable("the start's work waits for room on the store's disk")
        counts = await gateway.identity.store.ping()
    except StoreError as exc:
        # /readyz answers without credentials: which server failed and how goes to the log.
        logger.warning("readiness: %s", exc)
        said = UNWRITABLE if isinstance(exc, StoreUnwritable) else UNANSWERED
        return JSONResponse(
            {"status": "unavailable", "store": {"error": said}, "sources": sources},
            status_code=503,
        )
    answer: dict[str, Any] = {"status": "ready", "store": counts, "sources": sources}
    # Still ready: served as resolved, and said so (without credentials: no server named).
    rules = gateway.settings.rules
    warnings = [rules_notice(None, rules)] if gateway.stale_rules is not None else []
    if gateway.stale_sources is not None:
        warnings.append(sources_notice(gateway.stale_sources, None, None, rules))
    if warnings:
        answer["warnings"] = warnings
    return JSONResponse(answer)
