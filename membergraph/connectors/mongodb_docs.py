"""A line as a MongoDB document: the line in the DESIGN file format plus the collection's
own fields (``_id``, ``_owner``, and while a push holds it ``_pending`` and ``_rev``), and
which lines MongoDB cannot store that way.
"""

from __future__ import annotations

from typing import Any

import bson
from bson.errors import InvalidDocument
from pydantic import BaseModel

from membergraph.connectors.lines import MAX_LINE_DEPTH, deeper_than
from membergraph.connectors.sources import SourceSpec

__all__ = ["MAX_DEPTH", "STORED_FIELDS", "line_doc", "unstorable"]

STORED_FIELDS = ("_id", "_owner", "_pending", "_rev")
"""The collection's own fields of a document: not the line's."""
MAX_DEPTH = MAX_LINE_DEPTH
"""Levels of nesting MongoDB stores in a document, at most (each object or array is one)."""


def unstorable(doc: dict[str, Any]) -> str | None:
    """Why MongoDB cannot hold a line's document, or None: a field of its own named as one
    the collection keeps (``_owner`` would file the line under another record, ``_id``
    under another line) or starting with ``$`` (a replacement may not hold one), nested
    past :data:`MAX_DEPTH` (the server refuses it, and would again however often it is
    sent) or a value BSON cannot encode (a number beyond 64 bits)."""
    taken = sorted(k for k in doc if k in STORED_FIELDS or k.startswith("$"))
    if taken:
        return f"has a field named {taken[0]!r}: MongoDB sources keep _-fields and $-fields"
    if deeper_than(doc, MAX_DEPTH):
        return f"nested deeper than the {MAX_DEPTH} levels MongoDB stores"
    try:
        bson.encode(doc)
    except OverflowError:
        return "holds a number beyond the 64 bits MongoDB stores (-2^63 to 2^63-1)"
    except InvalidDocument as exc:
        return f"cannot be stored in MongoDB: {exc}"
    return None


def line_doc(spec: SourceSpec, line: BaseModel, owner: str) -> dict[str, Any]:
    """The document that stores ``line`` for the record ``owner`` (``""``: nobody's)."""
    doc = line.model_dump(mode="json", exclude_unset=True)
    # The collection's own fields last: a line's field of that name (refused by
    # ``unstorable`` before) could never file it under another record or line.
    return {**doc, "_id": str(getattr(line, spec.id_field)), "_owner": owner}
