"""Control characters in a line's text: refused, naming the field.

A NUL or another control character in a store id, a name or an agent's notes is no text
anyone typed: a C program's string end, a byte stream read as text. Taken, it was stored and
answered back as it came, and a store id with a NUL is another store than the one without.
A line id refuses them already (``models._line_id``); so does every other text field a
line's model names (a purchase's items' ``sku`` and ``category`` too) and each event
property the gateway reads as a name (``properties.offer``, ``campaign``, ``channel``: an
offer's code, the channel it was sent or a consent given on), checked with the source's
other cross-field checks (``SourceSpec.problem``, at intake only: a line stored by an
earlier release is read as it was), so a push, a folder's load and ``resolve`` refuse
alike. Tabs and line ends are text (notes have paragraphs). Identifier fields are read past
them instead (``normalize._readable``). An event's other properties are the site's own
free text (a visitor's search words, a page title: what the site saw), kept and answered
as sent (JSON writes the character escaped, never a raw byte); so are the fields a model
does not name (an item's ``name``, an ``offer_code``), which the fast readers of
``resolve`` do not hold: checked, a load would refuse what ``resolve`` takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from membergraph.connectors.models import SourceName

__all__ = ["control_problem", "with_control_check"]

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _crm(line: Any) -> Iterator[tuple[str, str | None]]:
    yield from (("first_name", line.first_name), ("last_name", line.last_name))
    yield "preferred_language", line.preferred_language
    if (address := line.address) is not None:
        for name in ("line1", "city"):
            yield f"address.{name}", getattr(address, name, None)


def _transaction(line: Any) -> Iterator[tuple[str, str | None]]:
    yield "store_id", line.store_id
    for i, item in enumerate(line.items):
        yield from ((f"items[{i}].sku", item.sku), (f"items[{i}].category", item.category))


def _web_event(line: Any) -> Iterator[tuple[str, str | None]]:
    yield "name", line.name
    for key in _READ_PROPERTIES:
        if isinstance(value := line.properties.get(key), str):
            yield f"properties.{key}", value


def _call(line: Any) -> Iterator[tuple[str, str | None]]:
    yield from (("agent_id", line.agent_id), ("reason", line.reason), ("notes", line.notes))


_READ_PROPERTIES = ("offer", "campaign", "channel")
"""The event properties the gateway reads as a name (an offer's code, the channel it was
sent on or a consent given on): checked as a field is. The others are the site's own."""


_TEXTS: dict[SourceName, Callable[[Any], Iterator[tuple[str, str | None]]]] = {
    SourceName.CRM: _crm,
    SourceName.TRANSACTIONS: _transaction,
    SourceName.WEB_ANALYTICS: _web_event,
    SourceName.CALL_CENTER: _call,
}


def _printable(value: str | None) -> bool:
    return value is None or value.isprintable()


def _crm_printable(line: Any) -> bool:
    first, last, language, address = (
        line.first_name,
        line.last_name,
        line.preferred_language,
        line.address,
    )
    return (
        (first is None or first.isprintable())
        and (last is None or last.isprintable())
        and (language is None or language.isprintable())
        and (address is None or _printable(address.line1) and _printable(address.city))
    )


# Whether no text field may hold a control character: the common answer, in one call
# (isprintable() is C, and false for a tab too: then each field is looked at).
def _transaction_printable(line: Any) -> bool:
    # Loops, not all() over a generator: a third of the cost, on every purchase read.
    if (store := line.store_id) is not None and not store.isprintable():
        return False
    for item in line.items:
        if not item.sku.isprintable():
            return False
        if (category := item.category) is not None and not category.isprintable():
            return False
    return True


def _web_event_printable(line: Any) -> bool:
    if (name := line.name) is not None and not name.isprintable():
        return False
    if properties := line.properties:
        for key in _READ_PROPERTIES:
            if isinstance(value := properties.get(key), str) and not value.isprintable():
                return False
    return True


_ALL_PRINTABLE: dict[SourceName, Callable[[Any], bool]] = {
    SourceName.CRM: _crm_printable,
    SourceName.TRANSACTIONS: _transaction_printable,
    SourceName.WEB_ANALYTICS: _web_event_printable,
    SourceName.CALL_CENTER: lambda line: (
        _printable(line.agent_id) and _printable(line.reason) and _printable(line.notes)
    ),
}


def control_problem(source: SourceName, line: Any) -> str | None:
    """The first text field of ``line`` holding a control character, said with it."""
    if _ALL_PRINTABLE[source](line):
        return None
    for field, value in _TEXTS[source](line):
        if value is not None and (found := _CONTROL.search(value)) is not None:
            return f"{field}: holds a control character (U+{ord(found.group(0)):04X})"
    return None


def with_control_check(
    source: SourceName, problem: Callable[[Any], str | None] | None
) -> Callable[[Any], str | None]:
    """``problem`` (a source's cross-field check), after :func:`control_problem`. A batch
    asks it of a million lines: the common case is one call more than ``problem``."""
    printable = _ALL_PRINTABLE[source]

    def check(line: Any) -> str | None:
        if not printable(line) and (why := control_problem(source, line)) is not None:
            return why
        return problem(line) if problem is not None else None

    return check
