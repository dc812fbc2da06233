"""Every conflict kind the schema has is listed in the docs and offered by the console's
filter (user31b 10e: `BIRTHS_APART` and `CARDS_APART` were in neither, or one)."""

from __future__ import annotations

import re
from pathlib import Path

from membergraph.schema.analytics import ConflictKind

ROOT = Path(__file__).parents[2]


def test_the_docs_list_every_conflict_kind() -> None:
    docs = (ROOT / "docs" / "insights-and-stewardship.md").read_text()
    listed = docs[docs.index("a `ConflictKind`") :][:1200]
    assert [k.name for k in ConflictKind if f"`{k.name}`" not in listed] == []


def test_the_consoles_filter_offers_every_conflict_kind() -> None:
    page = (ROOT / "membergraph" / "static" / "console" / "index.html").read_text()
    select = page[page.index('<select id="conflict-kind">') :].split("</select>")[0]
    offered = set(re.findall(r'<option value="([A-Z_]+)">', select))
    assert offered == {k.name for k in ConflictKind}
