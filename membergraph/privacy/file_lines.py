"""Erasing a person's lines from JSON Lines files: a file source's, and the data folder the
embedded store was loaded from.

A file is rewritten without the lines her records own, the lines ``ids`` names (hers in a
record she shares, nobody's naming her), and every line that fails validation (or is not
JSON) and names her (:mod:`.her_values`): no owner can be read from it, so its values are.
The rewrite is atomic and happens where the file is: through a symbolic link, the file it
points to is replaced, and keeps its mode and owner (:mod:`membergraph.private_files`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import BaseModel, ValidationError

from membergraph.connectors.files import folder_lock
from membergraph.connectors.lines import bom_length, too_big, too_deep, too_long
from membergraph.connectors.models import SourceName, device_part
from membergraph.connectors.sources import SOURCES, SourceSpec
from membergraph.connectors.sqlite import folder_fingerprint
from membergraph.connectors.sqlite_rows import render
from membergraph.identity.line_records import transaction_record
from membergraph.privacy.books import Erased, Pseudonym, broken_copy, kept_copy
from membergraph.privacy.her_values import HerValues
from membergraph.private_files import rewrite_file

__all__ = ["TRUTH_FILE", "Whose", "compact_file", "compact_folder", "invalid_lines_naming"]


@dataclass(frozen=True)
class Whose:
    """The lines of one source's file an erasure takes: those ``owners`` own (``owner_of``
    reads a line's owner; a purchase's is worked out in ``region``), those ``ids`` names,
    and, given ``her``, the lines that fail validation and name her."""

    source: SourceName
    owners: Set[str]
    owner_of: Callable[[BaseModel], str | None]
    region: str = "US"
    ids: Set[str] = frozenset()
    her: HerValues | None = None


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


def _read(spec: SourceSpec, raw: bytes) -> tuple[BaseModel | None, bool]:
    """The line as its model reads it (None: it fails validation, or is no JSON object),
    and whether a load would take it (no limit or rule across its fields broken either: a
    line longer than a load takes may still be hers by its owner)."""
    try:
        line = spec.model.model_validate_json(raw)
    except ValidationError:
        return None, False
    if too_deep(raw) or too_long(raw) or too_big(raw) is not None:
        return line, False
    return line, spec.problem is None or spec.problem(line) is None


def compact_file(path: Path, whose: Whose, pseudonym: Pseudonym) -> Erased:
    """Rewrite a JSON Lines file without the lines ``whose`` names (a purchase's copy for
    the books kept when one validates). The caller holds the folder's lock
    (:func:`~membergraph.connectors.files.folder_lock`)."""
    erased = Erased()
    if not path.exists() or not (whose.owners or whose.ids or whose.her):
        return erased
    source = whose.source
    kept: list[bytes] = []
    for raw, verdict, line in _judged(path, whose):
        if verdict is None:
            kept.append(raw)
        elif verdict == _OWNED:
            assert line is not None
            erased.lines.append(str(getattr(line, SOURCES[source].id_field)))
            erased.removed.append((source.value, line))
            copy = kept_copy(source, raw, pseudonym)
            if copy is not None:
                kept.append(render(copy))
                erased.kept_for_books += 1
        else:
            erased.invalid += 1
            try:
                copy = broken_copy(source, orjson.loads(raw), pseudonym)
            except orjson.JSONDecodeError:
                copy = None
            if copy is not None:
                kept.append(render(copy))
                erased.kept_for_books += 1
    if erased.lines or erased.invalid:
        rewrite_file(path, b"".join(line + b"\n" for line in kept))
    return erased


_OWNED, _INVALID = "owned", "invalid"


def _judged(path: Path, whose: Whose) -> Iterator[tuple[bytes, str | None, BaseModel | None]]:
    """Each line of a JSON Lines file (without its byte order mark: it says nothing), what
    an erasure does with it (None: kept; ``owned``: one of ``owners`` owns it or ``ids``
    names it, with its model; ``invalid``: it fails validation and names ``her``)."""
    spec, owners, her = SOURCES[whose.source], whose.owners, whose.her
    owned = _candidate(whose.source, owners, whose.region)
    named = _names_any(whose.ids)
    text = path.read_bytes()
    for raw in text[bom_length(text) :].splitlines():
        candidate = owned(raw) or named(raw)
        if not candidate and (her is None or not her.may_name(raw)):
            yield raw, None, None  # most lines: not theirs, seen without validating them
            continue
        line, loadable = _read(spec, raw)
        if line is not None and candidate:
            line_id = str(getattr(line, spec.id_field))
            if whose.owner_of(line) in owners or line_id in whose.ids:
                yield raw, _OWNED, line
                continue
        if loadable or her is None or not raw.strip() or not her.named_in(raw):
            yield raw, None, None
            continue
        yield raw, _INVALID, None


def invalid_lines_naming(path: Path, whose: Whose) -> list[tuple[int, bytes]]:
    """The lines of a file that fail validation and name her (line number from 1, text):
    those :func:`compact_file` removes as ``invalid``, found the same way, left in place
    (her access export lists them)."""
    if not path.exists():
        return []
    judged = _judged(path, whose)
    return [(n, raw) for n, (raw, verdict, _) in enumerate(judged, 1) if verdict == _INVALID]


async def compact_folder(  # noqa: PLR0913, PLR0917
    folder: Path,
    owners: Mapping[SourceName, Set[str]],
    owner_of: Mapping[SourceName, Callable[[BaseModel], str | None]],
    pseudonym: Pseudonym,
    region: str = "US",
    ids: Mapping[SourceName, Set[str]] | None = None,
    her: HerValues | None = None,
) -> tuple[Erased, str]:
    """Rewrite a data folder's files without the person's lines (those her records own,
    ``ids``: hers in records she shares, and the lines that fail validation and name her);
    what went (``lines``, ``invalid``, ``kept_for_books``), and the folder's new fingerprint
    (kept as loaded, so the next start does not load it again)."""
    total, gone = Erased(), set[tuple[str, str]]()
    for name, spec in SOURCES.items():
        if owners.get(name) or (ids or {}).get(name) or her is not None:

            def compact(name: SourceName = name, path: Path = folder / spec.file_name) -> Erased:
                with folder_lock(folder):  # no process appends to it meanwhile
                    whose = Whose(
                        name,
                        owners.get(name, set()),
                        owner_of.get(name, _nobody),
                        region,
                        (ids or {}).get(name, frozenset()),
                        her,
                    )
                    return compact_file(path, whose, pseudonym)

            erased = await asyncio.to_thread(compact)
            total.lines += erased.lines
            total.invalid += erased.invalid
            total.kept_for_books += erased.kept_for_books
            total.removed += erased.removed
            gone.update((name.value, line_id) for line_id in erased.lines)
    if gone:
        await asyncio.to_thread(_forget_in_truth, folder / TRUTH_FILE, gone)
    return total, await asyncio.to_thread(folder_fingerprint, folder)


def _nobody(line: BaseModel) -> str | None:
    return None


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
