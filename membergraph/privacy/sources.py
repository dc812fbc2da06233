"""Erasing a person's lines where the sources live: the SQLite source table, MongoDB
collections, JSON Lines files. A source the gateway does not own (an HTTP API) cannot be
erased from here: the erasure asks it on the change feed.

A purchase stays for the books: its amount, date, status, store and items are kept in a
copy under a new line id (a keyed pseudonym of the old one, so a retried erasure writes the
same copy), without the card, the e-mail, or any field the model does not know.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from membergraph.connectors.base import Connector
from membergraph.connectors.files import FileConnector, folder_lock
from membergraph.connectors.lines import NOBODY, bom_length
from membergraph.connectors.models import SourceName, Transaction, device_part
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteSource, folder_fingerprint
from membergraph.connectors.sqlite_rows import render
from membergraph.identity.line_records import transaction_record
from membergraph.private_files import rewrite_file
from membergraph.sqlite_tx import immediate

__all__ = [
    "NOBODY",
    "Erased",
    "books_copy",
    "compact_folder",
    "erase_lines",
    "erase_source",
]

_BOOKS = ("channel", "store_id", "occurred_at", "amount_cents", "currency", "status")
_ITEM = ("sku", "category", "quantity", "unit_price_cents")

Pseudonym = Callable[[str], str]


@dataclass(slots=True)
class Erased:
    """What an erasure did to one source."""

    lines: list[str] = field(default_factory=list)  # ids of the lines removed
    kept_for_books: int = 0
    forwarded: bool = False  # not owned: asked on the change feed


def books_copy(line: Transaction, pseudonym: Pseudonym) -> Transaction:
    """A purchase as the books need it: nothing that identifies the buyer."""
    data = line.model_dump(mode="json", include=set(_BOOKS))
    data["items"] = [{k: getattr(item, k) for k in _ITEM} for item in line.items]
    data["transaction_id"] = pseudonym(line.transaction_id)
    data["anonymised"] = True  # a line of its own kind: every load keeps it, nobody's
    if line.updated_at is not None:
        data["updated_at"] = line.updated_at.isoformat()
    return Transaction.model_validate(data)


def _kept(source: SourceName, body: bytes, pseudonym: Pseudonym) -> Transaction | None:
    if source is not SourceName.TRANSACTIONS:
        return None
    try:
        return books_copy(Transaction.model_validate_json(body), pseudonym)
    except ValidationError:
        return None


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
                copy = _kept(source, body, pseudonym)
                if copy is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO source_lines VALUES (?,?,?,?)",
                        (source.value, copy.transaction_id, "", render(copy)),
                    )
                    erased.kept_for_books += 1
    return erased


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


async def erase_source(connector: Connector[Any], owners: Set[str], pseudonym: Pseudonym) -> Erased:
    """Remove the lines ``owners`` own from one source (keeping purchases for the books)."""
    wanted = sorted(owners)
    if isinstance(connector, SqliteSource):
        erased = await connector.lines.run(_erase_rows, connector.source, wanted, pseudonym)
        if connector.count is not None:
            connector.count += erased.kept_for_books - len(erased.lines)
        return erased
    if isinstance(connector, FileConnector):
        return await connector.rewrite(
            lambda: _compact_file(
                connector.path, connector.source, owners, connector.owner, pseudonym
            )
        )
    from membergraph.connectors.mongodb import MongoSource

    if isinstance(connector, MongoSource):
        return await _erase_mongo(connector, {"_owner": {"$in": wanted}}, pseudonym)
    return Erased(forwarded=True)  # read over HTTP: not ours to erase


def _erase_ids(
    db: sqlite3.Connection, source: SourceName, ids: list[str], pseudonym: Pseudonym | None
) -> int:
    """Delete the lines ``ids``; with ``pseudonym``, a purchase's copy for the books stays.
    How many copies were kept."""
    kept = 0
    with immediate(db):
        for start in range(0, len(ids), 400):
            chunk = ids[start : start + 400]
            marks = ",".join("?" * len(chunk))
            where = f"WHERE source = ? AND line_id IN ({marks})"
            bodies = db.execute(f"SELECT body FROM source_lines {where}", (source.value, *chunk))
            copies = [_kept(source, body, pseudonym) for (body,) in bodies] if pseudonym else []
            db.execute(f"DELETE FROM source_pending {where}", (source.value, *chunk))
            db.execute(f"DELETE FROM source_lines {where}", (source.value, *chunk))
            for copy in copies:
                if copy is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO source_lines VALUES (?,?,?,?)",
                        (source.value, copy.transaction_id, NOBODY, render(copy)),
                    )
                    kept += 1
    return kept


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
        kept = await connector.lines.run(_erase_ids, connector.source, wanted, pseudonym)
        if connector.count is not None:
            connector.count -= len(wanted) - kept
        return Erased(lines=wanted, kept_for_books=kept)
    if isinstance(connector, FileConnector):
        rewritten = await connector.rewrite(
            lambda: _compact_file(
                connector.path,
                connector.source,
                set(),
                connector.owner,
                pseudonym or str,
                "US",
                set(wanted),
            )
        )
        return Erased(lines=wanted, kept_for_books=rewritten.kept_for_books)
    from membergraph.connectors.mongodb import MongoSource

    if not isinstance(connector, MongoSource):
        return Erased(forwarded=True)  # read over HTTP: not ours to erase
    return await _erase_mongo(connector, {"_id": {"$in": wanted}}, pseudonym)


def _candidate(source: SourceName, owners: Set[str], region: str) -> Callable[[bytes], bool]:
    """A cheap test that a raw line may belong to one of ``owners`` (no false negative): a
    contact, visitor or call names its owner (a visitor its device's part), perhaps escaped; a
    purchase's owner is its card or e-mail normalized, worked out from the decoded fields
    alone."""
    if source is not SourceName.TRANSACTIONS:
        # A login's or an e-mail's record on a device is keyed by both: the line names the
        # device.
        named = {device_part(owner) for owner in owners}
        return _names_any(named)

    def purchase(raw: bytes) -> bool:
        try:
            fields = orjson.loads(raw)
            found = transaction_record(
                fields.get("loyalty_id"), fields.get("email"), fields.get("channel"), region
            )
        except Exception:  # anything odd: let the model decide
            return True
        return found is not None and found[0] in owners

    return purchase


def _names_any(values: Set[str]) -> Callable[[bytes], bool]:
    """A cheap test that a raw line may hold one of ``values`` as a JSON string (no false
    negative): written as this module writes it, or with any escape at all (Python's
    ``json.dumps`` writes ``Zo\\u00eb``, PHP's ``C\\/1``), which the model then decides."""
    needles = [orjson.dumps(value) for value in values]
    if not needles:
        return lambda raw: False
    return lambda raw: b"\\" in raw or any(needle in raw for needle in needles)


def _compact_file(
    path: Path,
    source: SourceName,
    owners: Set[str],
    owner_of: Callable[[BaseModel], str | None],
    pseudonym: Pseudonym,
    region: str = "US",
    ids: Set[str] = frozenset(),
) -> Erased:
    """Rewrite a JSON Lines file without the lines ``owners`` own and the lines ``ids``
    (atomically: :func:`~membergraph.private_files.rewrite_file`). The caller
    holds the folder's lock (:func:`~membergraph.connectors.files.folder_lock`)."""
    erased = Erased()
    if not path.exists() or not (owners or ids):
        return erased
    spec = SOURCES[source]
    owned = _candidate(source, owners, region)
    named = _names_any(ids)
    kept: list[bytes] = []
    text = path.read_bytes()
    for raw in text[bom_length(text) :].splitlines():  # the mark is not kept: it says nothing
        if not (owned(raw) or named(raw)):
            kept.append(raw)  # most lines: not theirs, seen without validating them
            continue
        try:
            line = spec.model.model_validate_json(raw)
        except ValidationError:
            kept.append(raw)
            continue
        line_id = str(getattr(line, spec.id_field))
        if owner_of(line) not in owners and line_id not in ids:
            kept.append(raw)
            continue
        erased.lines.append(line_id)
        copy = _kept(source, raw, pseudonym)
        if copy is not None:
            kept.append(render(copy))
            erased.kept_for_books += 1
    if not erased.lines:
        return erased
    # Where the file is: through a symbolic link, the file it points to, with its mode and owner.
    rewrite_file(path, b"".join(line + b"\n" for line in kept))
    return erased


async def compact_folder(  # noqa: PLR0917
    folder: Path,
    owners: Mapping[SourceName, Set[str]],
    owner_of: Mapping[SourceName, Callable[[BaseModel], str | None]],
    pseudonym: Pseudonym,
    region: str = "US",
    ids: Mapping[SourceName, Set[str]] | None = None,
) -> tuple[int, str]:
    """Rewrite a data folder's files without the person's lines (those her records own,
    and ``ids``: hers in records she shares); how many lines went, and the folder's new
    fingerprint (kept as loaded, so the next start does not load it again)."""
    removed, gone = 0, set[tuple[str, str]]()
    for name, spec in SOURCES.items():
        if owners.get(name) or (ids or {}).get(name):

            def compact(name: SourceName = name, path: Path = folder / spec.file_name) -> Erased:
                with folder_lock(folder):  # no process appends to it meanwhile
                    return _compact_file(
                        path,
                        name,
                        owners.get(name, set()),
                        owner_of[name],
                        pseudonym,
                        region,
                        (ids or {}).get(name, frozenset()),
                    )

            erased = (await asyncio.to_thread(compact)).lines
            removed += len(erased)
            gone.update((name.value, line_id) for line_id in erased)
    if gone:
        await asyncio.to_thread(_forget_in_truth, folder / TRUTH_FILE, gone)
    return removed, await asyncio.to_thread(folder_fingerprint, folder)


TRUTH_FILE = "truth.jsonl"  # the demo generator's answer key: which person each line is


def _forget_in_truth(path: Path, gone: Set[tuple[str, str]]) -> None:
    """Drop the erased lines from a demo folder's ``truth.jsonl`` (``{"source", "id",
    "person"}`` per line): their ids, tied to one person, would outlive her."""
    if not path.exists():
        return
    kept = []
    for raw in path.read_bytes().splitlines():
        try:
            entry = orjson.loads(raw)
            said = (str(entry["source"]), str(entry["id"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            said = None
        if said not in gone:
            kept.append(raw)
    rewrite_file(path, b"".join(line + b"\n" for line in kept))
