"""Erasing a person's lines where the sources live: the SQLite source table, MongoDB
collections, JSON Lines files. A source the gateway does not own (an HTTP API) cannot be
erased from here: the erasure asks it on the change feed. A purchase stays for the books
(:mod:`.books`); JSON Lines files are rewritten by :mod:`.file_lines`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence, Set
from typing import Any

import orjson
from pydantic import ValidationError

from membergraph.connectors.base import Connector
from membergraph.connectors.files import FileConnector
from membergraph.connectors.lines import NOBODY
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteSource
from membergraph.connectors.sqlite_rows import render
from membergraph.privacy.books import Erased, Pseudonym, books_copy
from membergraph.privacy.books import kept_copy as _kept
from membergraph.privacy.file_lines import Whose, compact_file, compact_folder
from membergraph.privacy.her_values import HerValues
from membergraph.sqlite_tx import immediate

__all__ = [
    "NOBODY",
    "Erased",
    "books_copy",
    "compact_folder",
    "erase_lines",
    "erase_source",
]


def _erase_rows(
    db: sqlite3.Connection, source: SourceName, owners: list[str], pseudonym: Pseudonym
) -> Erased:
    erased = Erased()
    with immediate(db):
        for start in range(0, len(owners), 400):
            chunk = owners[start : start + 400]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT line_id, body FROM source_lines WHERE source = ? AND owner IN ({marks})",
                (source.value, *chunk),
            ).fetchall()
            db.execute(
                f"DELETE FROM source_lines WHERE source = ? AND owner IN ({marks})",
                (source.value, *chunk),
            )
            # An unfinished push's marks go too: nothing is left to finish for this person.
            db.executemany(
                "DELETE FROM source_pending WHERE source = ? AND line_id = ?",
                [(source.value, line_id) for line_id, _ in rows],
            )
            for line_id, body in rows:
                erased.lines.append(str(line_id))
                _removed(erased, source, body)
                copy = _kept(source, body, pseudonym)
                if copy is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO source_lines VALUES (?,?,?,?)",
                        (source.value, copy.transaction_id, "", render(copy)),
                    )
                    erased.kept_for_books += 1
    return erased


def _removed(erased: Erased, source: SourceName, body: bytes | str) -> None:
    """Keep a removed line as its model reads it (what its erasure remembers it by)."""
    with contextlib.suppress(ValidationError):
        erased.removed.append((source.value, SOURCES[source].model.model_validate_json(body)))


async def _erase_mongo(
    connector: Any, which: dict[str, Any], pseudonym: Pseudonym | None
) -> Erased:
    from membergraph.connectors.mongodb_docs import STORED_FIELDS, line_doc

    erased = Erased()
    source = connector.source
    docs = await connector.collection.find(which).to_list()
    copies = []
    for doc in docs:
        erased.lines.append(str(doc["_id"]))
        body = orjson.dumps({k: v for k, v in doc.items() if k not in STORED_FIELDS})
        _removed(erased, source, body)
        kept = _kept(source, body, pseudonym) if pseudonym is not None else None
        if kept is not None:
            copies.append(line_doc(connector.spec, kept, NOBODY))
    for copy in copies:  # the copy first: the books never miss a purchase
        await connector.collection.replace_one({"_id": copy["_id"]}, copy, upsert=True)
    await connector.collection.delete_many(which)
    erased.kept_for_books = len(copies)
    if connector.count is not None:  # what /readyz counts
        connector.count += erased.kept_for_books - len(erased.lines)
    return erased


async def erase_source(
    connector: Connector[Any],
    owners: Set[str],
    pseudonym: Pseudonym,
    her: HerValues | None = None,
) -> Erased:
    """Remove the lines ``owners`` own from one source (keeping purchases for the books);
    from a file, given ``her``, the lines that fail validation and name her too (a store
    holds none: a load refuses them)."""
    wanted = sorted(owners)
    if isinstance(connector, SqliteSource):
        erased = await connector.lines.run(_erase_rows, connector.source, wanted, pseudonym)
        if connector.count is not None:
            connector.count += erased.kept_for_books - len(erased.lines)
        return erased
    if isinstance(connector, FileConnector):
        return await connector.rewrite(
            lambda: compact_file(
                connector.path, Whose(connector.source, owners, connector.owner, her=her), pseudonym
            )
        )
    from membergraph.connectors.mongodb import MongoSource

    if isinstance(connector, MongoSource):
        return await _erase_mongo(connector, {"_owner": {"$in": wanted}}, pseudonym)
    return Erased(forwarded=True)  # read over HTTP: not ours to erase


def _erase_ids(
    db: sqlite3.Connection, source: SourceName, ids: list[str], pseudonym: Pseudonym | None
) -> Erased:
    """Delete the lines ``ids``; with ``pseudonym``, a purchase's copy for the books stays
    (``kept_for_books`` counts them)."""
    erased = Erased(lines=ids)
    kept = 0
    with immediate(db):
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            where = f"WHERE source = ? AND line_id IN ({marks})"
            query = f"SELECT body FROM source_lines {where}"
            bodies = [body for (body,) in db.execute(query, (source.value, *chunk))]
            for body in bodies:
                _removed(erased, source, body)
            copies = [_kept(source, body, pseudonym) for body in bodies] if pseudonym else []
            db.execute(f"DELETE FROM source_pending {where}", (source.value, *chunk))
            db.execute(f"DELETE FROM source_lines {where}", (source.value, *chunk))
            for copy in copies:
                if copy is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO source_lines VALUES (?,?,?,?)",
                        (source.value, copy.transaction_id, NOBODY, render(copy)),
                    )
                    kept += 1
    erased.kept_for_books = kept
    return erased


async def erase_lines(
    connector: Connector[Any], ids: Sequence[str], pseudonym: Pseudonym | None = None
) -> Erased:
    """Remove the lines ``ids`` from one source: hers in a record she shares (a visitor that
    also logged in as someone else), or nobody's lines naming her. Events and calls: nothing
    is kept for the books; a purchase is, under a new id, given the ``pseudonym``."""
    wanted = sorted(set(ids))
    if not wanted:
        return Erased()
    if isinstance(connector, SqliteSource):
        erased = await connector.lines.run(_erase_ids, connector.source, wanted, pseudonym)
        if connector.count is not None:
            connector.count -= len(wanted) - erased.kept_for_books
        return erased
    if isinstance(connector, FileConnector):
        rewritten = await connector.rewrite(
            lambda: compact_file(
                connector.path,
                Whose(connector.source, set(), connector.owner, ids=set(wanted)),
                pseudonym or str,
            )
        )
        return Erased(wanted, rewritten.kept_for_books, removed=rewritten.removed)
    from membergraph.connectors.mongodb import MongoSource

    if not isinstance(connector, MongoSource):
        return Erased(forwarded=True)  # read over HTTP: not ours to erase
    return await _erase_mongo(connector, {"_id": {"$in": wanted}}, pseudonym)
