"""What an erasure keeps of a person's purchase for the books, and what it says it did.

A purchase stays for the books: its amount, date, status, store and items are kept in a
copy under a new line id (a keyed pseudonym of the old one, so a retried erasure writes the
same copy), without the card, the e-mail, or any field the model does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from membergraph.connectors.models import SourceName, Transaction
from membergraph.connectors.sources import SOURCES

__all__ = ["Erased", "Pseudonym", "books_copy", "broken_copy", "kept_copy"]

_BOOKS = ("channel", "store_id", "occurred_at", "amount_cents", "currency", "status")
_ITEM = ("sku", "category", "quantity", "unit_price_cents")

Pseudonym = Callable[[str], str]


@dataclass(slots=True)
class Erased:
    """What an erasure did to one source."""

    lines: list[str] = field(default_factory=list)  # ids of the lines removed
    kept_for_books: int = 0
    forwarded: bool = False  # not owned: asked on the change feed
    invalid: int = 0
    """Lines that fail validation (or are not JSON) and name the person, removed (a
    purchase's copy kept for the books when one validates: in ``kept_for_books``)."""
    removed: list[tuple[str, BaseModel]] = field(default_factory=list)
    """The lines removed, by source, as their model reads them (not a line that fails it):
    what a later load of a copy of the folder must leave out."""


def books_copy(line: Transaction, pseudonym: Pseudonym) -> Transaction:
    """A purchase as the books need it: nothing that identifies the buyer."""
    data = line.model_dump(mode="json", include=set(_BOOKS))
    data["items"] = [{k: getattr(item, k) for k in _ITEM} for item in line.items]
    data["transaction_id"] = pseudonym(line.transaction_id)
    data["anonymised"] = True  # a line of its own kind: every load keeps it, nobody's
    if line.updated_at is not None:
        data["updated_at"] = line.updated_at.isoformat()
    return Transaction.model_validate(data)


def kept_copy(source: SourceName, body: bytes, pseudonym: Pseudonym) -> Transaction | None:
    """The books' copy of a purchase line (None: not a purchase, or not a valid one)."""
    if source is not SourceName.TRANSACTIONS:
        return None
    try:
        return books_copy(Transaction.model_validate_json(body), pseudonym)
    except ValidationError:
        return None


def broken_copy(source: SourceName, fields: Any, pseudonym: Pseudonym) -> Transaction | None:
    """The books' copy of a purchase line that fails validation, made of its book-keeping
    fields alone, if those make a valid purchase (one whose only fault was in her card or
    e-mail); None otherwise: the line goes whole."""
    if source is not SourceName.TRANSACTIONS or not isinstance(fields, dict):
        return None
    line_id = fields.get("transaction_id")
    if not isinstance(line_id, str | int) or isinstance(line_id, bool):
        return None
    data = {k: fields[k] for k in (*_BOOKS, "updated_at") if k in fields}
    items = fields.get("items", [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    data["items"] = [{k: i[k] for k in _ITEM if k in i} for i in items]
    data["transaction_id"] = pseudonym(str(line_id))
    data["anonymised"] = True
    spec = SOURCES[source]
    try:
        copy = Transaction.model_validate(data)
    except ValidationError:
        return None
    return None if spec.problem is not None and spec.problem(copy) is not None else copy
