"""``docs/sources.md`` lists every field of every source line as its model reads it: each
table's first four columns (field, required, type, default) are rendered here from the
pydantic models' JSON schema, so the page cannot drift from the code. Its last column (what
a field is) is prose the test leaves alone.

When a model changes, print the tables this test expects and paste them over the doc's
(keeping the prose): ``python -m tests.connectors.test_sources_doc``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES

DOC = Path(__file__).parents[2] / "docs" / "sources.md"
_ROW = re.compile(r"^\| `([^`]+)` \| (.*?) \| (.*?) \| (.*?) \|")


def _kind(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    """A field's type in words, from its JSON schema (``or null`` where null is taken)."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    if len(options) != 1:
        raise AssertionError(f"no words for {schema}")
    said = _words(options[0], defs)
    return f"{said} or null" if len(options) < len(schema.get("anyOf", [schema])) else said


def _words(found: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in found:
        return "object"
    if "enum" in found:
        return "one of " + ", ".join(f'`"{v}"`' for v in found["enum"])
    kind = found.get("type")
    if kind == "array":
        inner = found["items"]
        return "list of objects" if "$ref" in inner else f"list of {_words(inner, defs)}s"
    if kind == "string" and found.get("format") == "date-time":
        return "time (ISO 8601)"
    if kind == "string" and found.get("format") == "date":
        return "date (ISO 8601)"
    low = found.get("minimum", found.get("ge"))
    high = found.get("maximum", found.get("le"))
    if kind in ("integer", "number") and low is not None and high is not None:
        return f"{kind} {low}..{high}"
    if kind in ("string", "integer", "number", "boolean", "object"):
        return str(kind)
    raise AssertionError(f"no words for {found}")


def _default(schema: dict[str, Any], required: bool) -> str:
    if required:
        return "—"
    if "default" not in schema:
        return "`[]`" if schema.get("type") == "array" else "`{}`"
    return f"`{_json(schema['default'])}`"


def _json(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    return f'"{value}"' if isinstance(value, str) else str(value)


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> list[tuple[str, ...]]:
    rows = []
    required = set(schema.get("required", []))
    for name, field in schema["properties"].items():
        needed = name in required
        kind, default = _kind(field, defs), _default(field, needed)
        rows.append((prefix + name, "yes" if needed else "no", kind, default))
        options = [s for s in field.get("anyOf", [field]) if s.get("type") != "null"]
        inner = options[0].get("items", options[0])
        if "$ref" in inner:
            nested = defs[inner["$ref"].rsplit("/", 1)[1]]
            mark = "[]." if options[0].get("type") == "array" else "."
            rows += _rows(nested, defs, f"{prefix}{name}{mark}")
    return rows


def expected() -> dict[SourceName, list[tuple[str, ...]]]:
    """Each source's rows (field, required, type, default), from its model."""
    found = {}
    for name, spec in SOURCES.items():
        schema = spec.model.model_json_schema()
        found[name] = _rows(schema, schema.get("$defs", {}))
    return found


def documented() -> dict[SourceName, list[tuple[str, ...]]]:
    """Each source's rows as the doc's tables have them (under a ``### `NAME.jsonl``` title)."""
    found: dict[SourceName, list[tuple[str, ...]]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        if (title := re.match(r"^### `(\w+)\.jsonl`", line)) is not None:
            current = SourceName(title.group(1))
            found[current] = []
        elif current is not None and (row := _ROW.match(line)) is not None:
            found[current].append(tuple(cell.strip() for cell in row.groups()))
    return found


def test_the_sources_page_lists_every_field_as_the_models_read_it() -> None:
    assert documented() == expected(), (
        "docs/sources.md differs from the models: python -m tests.connectors.test_sources_doc"
    )


def test_the_readme_links_the_sources_page() -> None:
    assert "(docs/sources.md)" in (DOC.parents[1] / "README.md").read_text()


def rewritten(text: str) -> str:
    """The doc's text with each table's rows as the models say, each row's prose kept (a new
    field's row empty, to fill)."""
    wanted = expected()
    prose: dict[tuple[SourceName, str], str] = {}
    out: list[str | SourceName] = []  # a source: where its table's rows go
    current = None
    for line in text.splitlines():
        if (title := re.match(r"^### `(\w+)\.jsonl`", line)) is not None:
            current = SourceName(title.group(1))
        row = _ROW.match(line) if current is not None else None
        if row is None or current is None:
            out.append(line)
            continue
        prose[(current, row.group(1))] = line[row.end() :].strip().removesuffix("|").strip()
        if current not in out:
            out.append(current)
    final = []
    for item in out:
        if not isinstance(item, SourceName):  # (a StrEnum: asked first)
            final.append(item)
            continue
        for field, needed, kind, default in wanted[item]:
            said = prose.get((item, field), "")
            final.append(
                f"| `{field}` | {needed} | {kind} | {default} | {said} |".replace("  |", " |")
            )
    return "\n".join(final) + "\n"


if __name__ == "__main__":
    DOC.write_text(rewritten(DOC.read_text()))
    print(f"{DOC}: rows written from the models; fill the prose of any new field")
