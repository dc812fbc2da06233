"""Reading a CSV export as a client would: whole only when it ends with its trailer."""

from __future__ import annotations

import csv


def whole_export(text: str) -> list[dict[str, str]]:
    """The rows of a CSV export, checking its last line counts them (a cut-off one fails)."""
    lines = text.splitlines()
    rows = list(csv.DictReader(lines[:-1]))
    assert lines[-1] == f"# end of export: {len(rows)} members", lines[-1]
    return rows
