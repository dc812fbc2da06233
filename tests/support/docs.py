"""The user's documentation as tests read it: README.md first, then every page of docs/.

The README keeps the set-up, the example query and a summary of each topic; each topic's
own text (settings, privacy, tests...) is a page of docs/. A test of what the documentation
says reads them all, so it holds wherever a section lives.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pages() -> list[Path]:
    """README.md, then docs/*.md by name."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def text() -> str:
    """Every page, README.md first, as one text."""
    return "\n\n".join(page.read_text() for page in pages())


def sections(heading: str) -> list[str]:
    """The text under each `## heading` of the pages, up to the next `## ` heading."""
    found = []
    for page in pages():
        parts = ("\n" + page.read_text()).split(f"\n## {heading}\n")
        found += [part.split("\n## ", 1)[0] for part in parts[1:]]
    return found
