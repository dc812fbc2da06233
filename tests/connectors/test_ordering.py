"""Two versions of a line with one ordering key: the one kept does not depend on which came first.

A CRM contact sent twice with one ``updated_at`` (first name Alpha, then Beta), or a completed
purchase sent again without ``updated_at`` and another amount (a till's correction, then its
original line again): the content's digest orders them, so every arrival order, every backend
and the batch load keep the same version.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines
from membergraph.identity.folder_scan import scan_folder
from membergraph.identity.load import ownership

CONTACT: dict[str, Any] = {"contact_id": "C-TIE", "emails": ["tie@mailbox.org"]}
SALE: dict[str, Any] = {
    "transaction_id": "T-TIE",
    "loyalty_id": "LD70700707",
    "channel": "store",
    "occurred_at": "2026-11-20T10:00:00Z",
}

contacts = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(["Alpha", "Beta", "Gamma"]),
        "updated_at": st.sampled_from(["2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"]),
    }
).map(lambda fields: {**CONTACT, **fields})
sales = st.fixed_dictionaries(
    {
        "amount_cents": st.sampled_from([1000, 999999]),
        "status": st.sampled_from(["completed", "cancelled"]),
    },
    optional={"updated_at": st.sampled_from(["2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z"])},
).map(lambda fields: {**SALE, **fields})


async def _pushed(source: SourceName, versions: Sequence[dict[str, Any]]) -> BaseModel:
    """The version the SQLite source table holds after each was pushed on its own."""
    lines = SqliteLines(":memory:")
    await lines.open()
    try:
        table = lines.sources(lambda spec: ownership(spec.name))[source]
        model = SOURCES[source].model
        for version in versions:
            await table.append([model.model_validate(version)])
        [held] = [line async for line in table.scan()]
        return held
    finally:
        await lines.aclose()


def _loaded(source: SourceName, versions: Sequence[dict[str, Any]]) -> tuple[BaseModel, Any]:
    """The version a folder holding them in this order keeps: read whole (``serve`` over
    files) and scanned in pieces (``load``, ``resolve``: its record)."""
    with tempfile.TemporaryDirectory() as folder:
        spec = SOURCES[source]
        path = Path(folder) / spec.file_name
        path.write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in versions))
        files = FileConnector(spec, Path(folder), ownership(source))
        files.load()
        [kept] = list(files.lines())
        scanned = scan_folder(Path(folder), workers=1).records
        return kept, scanned


@given(st.lists(contacts, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_any_arrival_order_of_a_contacts_versions_keeps_one_version(
    versions: list[dict[str, Any]], random: Any
) -> None:
    # Given the versions in two orders
    shuffled = random.sample(versions, len(versions))
    # When each order is pushed one line at a time, and loaded from a folder
    held = asyncio.run(_pushed(SourceName.CRM, versions))
    again = asyncio.run(_pushed(SourceName.CRM, shuffled))
    kept, records = _loaded(SourceName.CRM, shuffled)
    # Then all keep the same version, and the batch's record says what it says
    assert held == again == kept
    assert records[("crm", "C-TIE")].first_name == held.first_name  # type: ignore[attr-defined]


@given(st.lists(sales, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_any_arrival_order_of_a_purchases_versions_keeps_one_version(
    versions: list[dict[str, Any]], random: Any
) -> None:
    shuffled = random.sample(versions, len(versions))
    held = asyncio.run(_pushed(SourceName.TRANSACTIONS, versions))
    again = asyncio.run(_pushed(SourceName.TRANSACTIONS, shuffled))
    kept, _ = _loaded(SourceName.TRANSACTIONS, shuffled)
    assert held == again == kept


def test_a_tills_original_line_sent_again_after_a_correction_never_reverts_it() -> None:
    # Given a sale, its correction (no updated_at: one ordering key), and the original again
    original, corrected = {**SALE, "amount_cents": 1000}, {**SALE, "amount_cents": 999999}
    # Then whichever of the two the digest keeps, the third line changes nothing
    forth = asyncio.run(_pushed(SourceName.TRANSACTIONS, [original, corrected, original]))
    back = asyncio.run(_pushed(SourceName.TRANSACTIONS, [corrected, original]))
    assert forth == back


undated_or_not = st.fixed_dictionaries(
    {"first_name": st.sampled_from(["Alpha", "Beta", "Gamma"])},
    optional={
        "updated_at": st.sampled_from(
            ["1950-01-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00.000001Z"]
        )
    },
).map(lambda fields: {**CONTACT, **fields})


@given(st.one_of(st.tuples(undated_or_not, undated_or_not), st.tuples(sales, sales)))
def test_a_lines_version_text_orders_as_the_source_does(pair: tuple[dict[str, Any], ...]) -> None:
    """What a contact's record keeps of its line (``RecordData.version``) says which of two
    versions the source keeps: the greater text is the newer line, equal texts are one."""
    source = SourceName.CRM if "contact_id" in pair[0] else SourceName.TRANSACTIONS
    spec = SOURCES[source]
    held, line = (spec.model.model_validate(version) for version in pair)
    said = spec.order.verdict(held, line)
    ours, theirs = spec.order.version(line), spec.order.version(held)
    assert ours is not None and theirs is not None
    assert said == ("updated" if ours > theirs else "stale" if ours < theirs else "unchanged")
