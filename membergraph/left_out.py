"""Identifier values a line gives that are none of their kind (a card ``LD-1 (old)``, a phone
``abc``, an e-mail ``ann@shop``): left out of the line's record, never without a word. A push
answers them as the line's ``warnings`` (:mod:`membergraph.ingest_answers`); a folder's load
reports them with their file and line (:func:`membergraph.source_set.open_sources`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import left_out_why

__all__ = ["left_out", "left_out_by_kind", "noter"]

_EMAIL, _PHONE, _CARD = IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.LOYALTY_ID
_ACCOUNT_KINDS = {"loyalty_id": _CARD, "email": _EMAIL}  # (a contact id is any text)


def _identifier_fields(source: SourceName, line: Any) -> list[tuple[str, IdentifierKind, Any]]:
    """The identifier values a line gives, each with the field it is in and its kind."""
    if source is SourceName.CRM:
        return [
            ("loyalty_id", _CARD, line.loyalty_id),
            *(
                (f"previous_loyalty_ids[{i}]", _CARD, v)
                for i, v in enumerate(line.previous_loyalty_ids)
            ),
            *((f"emails[{i}]", _EMAIL, v) for i, v in enumerate(line.emails)),
            *((f"phones[{i}]", _PHONE, v) for i, v in enumerate(line.phones)),
        ]
    if source is SourceName.TRANSACTIONS:
        return [("loyalty_id", _CARD, line.loyalty_id), ("email", _EMAIL, line.email)]
    if source is SourceName.WEB_ANALYTICS:
        return [("email", _EMAIL, line.email)]
    ref = line.account_ref
    kind = None if ref is None else _ACCOUNT_KINDS.get(ref.kind)
    said = [] if kind is None else [("account_ref.value", kind, ref.value)]
    return [("caller_phone", _PHONE, line.caller_phone), *said]


def left_out_by_kind(
    source: SourceName, line: Any, region: str = "US"
) -> list[tuple[IdentifierKind, str]]:
    """Each identifier value ``line`` gives that is none of its kind, with its kind and why
    it is left out of its record, naming the field; an e-mail with no ``@`` is no value
    given. The line is taken all the same (its facts count)."""
    found = (
        (kind, left_out_why(name, kind, raw, region))
        for name, kind, raw in _identifier_fields(source, line)
        # A word where an e-mail goes (a till's ``refused``, ``none``) gives none: not said,
        # as a purchase with it is a cash sale (``unattributed_reason``).
        if kind is not _EMAIL or (raw is not None and "@" in raw)
    )
    return [(kind, why) for kind, why in found if why is not None]


def left_out(source: SourceName, line: Any, region: str = "US") -> list[str]:
    """What a line's answer warns of: why each value :func:`left_out_by_kind` finds is left
    out (``phones[0] left out: 'abc' is not a phone number``)."""
    return [why for _, why in left_out_by_kind(source, line, region)]


def noter(source: SourceName, region: str) -> Callable[[BaseModel], list[tuple[str, str]]]:
    """What a file connector of ``source`` notes of each line it takes: the values left out,
    each as its kind's name (``phone``) and why."""

    def notes(line: BaseModel) -> list[tuple[str, str]]:
        return [(kind.value.lower(), why) for kind, why in left_out_by_kind(source, line, region)]

    return notes
