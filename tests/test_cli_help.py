"""``--help`` reads as prose: a paragraph is wrapped at the terminal's width, never where a
docstring's source line happened to end ("a flag wins over" / "the variable")."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from membergraph.cli import app

runner = CliRunner()
WIDTH = 80


def _help(*command: str) -> list[str]:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def _prose(lines: list[str]) -> list[list[str]]:
    """The paragraphs between the usage line and the first panel."""
    start = next(i for i, line in enumerate(lines) if "Usage:" in line) + 1
    paragraphs: list[list[str]] = [[]]
    for line in lines[start:]:
        if line.startswith("╭"):
            break
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _command_rows(lines: list[str]) -> list[list[str]]:
    """Each row of the Commands panel: its description's lines."""
    if not any(line.startswith("╭─ Commands") for line in lines):
        return []
    start = next(i for i, line in enumerate(lines) if line.startswith("╭─ Commands")) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("╰"))
    inner = [line[2:-2] for line in lines[start:end]]  # inside "│ " and " │"
    name_end = inner[0].index(" ")
    column = name_end + len(inner[0][name_end:]) - len(inner[0][name_end:].lstrip())
    rows: list[list[str]] = []
    for line in inner:
        if line[:column].strip():
            rows.append([])
        rows[-1].append(line[column:].strip())
    return rows


def _early_breaks(paragraphs: list[list[str]]) -> list[str]:
    """Lines ended although the next line's first word would have fitted after them.

    The width is the longest line found: at most the real one, so a break it flags is one."""
    width = max(len(line) for paragraph in paragraphs for line in paragraph)
    return [
        f"{line!r} / {after!r}"
        for paragraph in paragraphs
        for line, after in zip(paragraph, paragraph[1:], strict=False)
        if len(line) + 1 + len(after.split()[0]) <= width
    ]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param((), id="membergraph"),
        pytest.param(("load",), id="load"),
        pytest.param(("sync",), id="sync"),
        pytest.param(("export",), id="export"),
        pytest.param(("privacy",), id="privacy"),
        pytest.param(("privacy", "confirm-deletion"), id="privacy-confirm-deletion"),
    ],
)
def test_help_wraps_its_text_at_the_terminal_width(command: tuple[str, ...]) -> None:
    lines = _help(*command)
    assert _early_breaks(_prose(lines)) == []
    rows = _command_rows(lines)
    assert rows == [] or _early_breaks(rows) == []


def _every_command() -> list[tuple[str, ...]]:
    import typer.main

    def walk(command: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        subcommands = getattr(command, "commands", {})
        return [path] + [p for name, sub in subcommands.items() for p in walk(sub, (*path, name))]

    return walk(typer.main.get_command(app), ())


@pytest.mark.parametrize("command", _every_command(), ids=lambda c: " ".join(c) or "membergraph")
def test_help_shows_every_default_whole_at_80_columns(command: tuple[str, ...]) -> None:
    """`serve --help` once cut the store's default to `sqlite:///./membergraph.d…`."""
    lines = _help(*command)
    assert [line for line in lines if "…" in line] == []


def _option_text(lines: list[str], flag: str) -> str:
    """An option's help, its wrapped lines joined: from its flag to the next flag."""
    cells = [line.strip("│ ").strip() for line in lines if line.startswith("│")]
    text = " ".join(" ".join(cells).split())
    start = text.index(f"{flag} ")
    following = text.find(" --", start + len(flag))
    return text[start:following]


@pytest.mark.parametrize(
    "command",
    [("export",), ("privacy", "export"), ("privacy", "erase"), ("sync",)],
    ids=" ".join,
)
def test_data_help_says_what_commands_over_a_store_read_without_it(
    command: tuple[str, ...],
) -> None:
    """These commands read the store as it is without --data, never the demo data (their
    `--data` once said "unset: demo data"); given, the folder is loaded into the store."""
    data = _option_text(_help(*command), "--data")
    assert "unset: the store as it is (never demo data)" in data
    assert "loaded into the store first" in data


def test_serve_data_help_says_a_new_store_serves_the_demo() -> None:
    data = _option_text(_help("serve"), "--data")
    assert "unset: the store as it is (a new one: the demo)" in data
