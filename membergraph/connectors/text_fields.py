"""Control characters in a line's text: refused, naming the field.

A NUL or another control character in a store id, a name or an agent's notes is no text
anyone typed: a C program's string end, a byte stream read as text. Taken, it was stored and
answered back as it came, and a store id with a NUL is another store than the one without.
A line id refuses them already (``models._line_id``); so does every other text field a
line's model names, checked with the source's other cross-field checks (``SourceSpec.problem``,
at intake only: a line stored by an earlier release is read as it was). Tabs and line ends
are text (notes have paragraphs). Identifier fields are read past them instead
(``normalize._readable``), and free event ``properties`` are the site's own to fill.
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


def _web_event(line: Any) -> Iterator[tuple[str, str | None]]:
    yield "name", line.name


def _call(line: Any) -> Iterator[tuple[str, str | None]]:
    yield from (("agent_id", line.agent_id), ("reason", line.reason), ("notes", line.notes))


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
_ALL_PRINTABLE: dict[SourceName, Callable[[Any], bool]] = {
    SourceName.CRM: _crm_printable,
    SourceName.TRANSACTIONS: lambda line: (s := line.store_id) is None or s.isprintable(),
    SourceName.WEB_ANALYTICS: lambda line: (s := line.name) is None or s.isprintable(),
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
