"""What every command shares: its settings, read once the same way (flags over the
environment over the defaults, refused with exit code 2 when bad), and the options that
name them, each with its environment variable and default in ``--help``."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from membergraph.cli_checks import err, refuse, require_same_format, require_store
from membergraph.connectors.lines import utf16_refusal
from membergraph.connectors.models import SourceName
from membergraph.identity.rules import RulesError, load_rules
from membergraph.settings import Settings, SettingsError, load_settings

__all__ = [
    "DataOpt",
    "StoreDataOpt",
    "shell_user",
    "SourcesOpt",
    "StoreOpt",
    "command_settings",
    "environment_only",
    "require_folder",
    "setting_help",
]


def shell_user() -> str:
    """Who runs the command, as the PII audit and a privacy request name them (``cli:<user>``):
    the login name, or ``uid <n>`` where the system names none (a container run as a user id
    its image does not list: no ``USER`` variable, no passwd entry), rather than a traceback."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid {os.getuid()}"


def setting_help(name: str, text: str) -> str:
    """``text`` with the setting's environment variable and default, for ``--help``."""
    return f"{text} Env MEMBERGRAPH_{name.upper()}, default {_default(name)}."


def environment_only(*names: str) -> str:
    """Settings without a flag, each with its variable, default and description (an epilog)."""
    lines = []
    for name in names:
        described = Settings.model_fields[name].description
        lines.append(f"MEMBERGRAPH_{name.upper()} (default {_default(name)}): {described}")
    return "\n\n".join(lines)


def _default(name: str) -> object:
    default = Settings.model_fields[name].default
    return "unset" if default is None else default


def command_settings(
    existing_store: bool = False,
    *,
    reads_data: bool = False,
    same_format: bool = False,
    flags: Mapping[str, str] | None = None,
    **overrides: object,
) -> Settings:
    """The settings (flags over environment), refused with exit code 2 when bad (naming the
    flag that gave a bad value: ``--`` and the setting's name, or as ``flags`` says), or when a
    SQLite store's folder (``existing_store``: its file) does not exist, or, for a command
    that reads the data folder (``reads_data``), when ``--data`` or ``MEMBERGRAPH_DATA``
    names no folder whose source files would be read: the command would go on over the
    store as it is and say it loaded that folder."""
    try:
        named = {key: "--" + key.replace("_", "-") for key in overrides} | dict(flags or {})
        settings = load_settings(named, **overrides)
        load_rules(settings.rules)  # a bad rules file stops start-up, naming the key
    except (SettingsError, RulesError) as exc:
        refuse(str(exc))
    require_store(settings.store, existing_store)
    if same_format:
        require_same_format(settings.store)
    if reads_data and settings.data is not None:
        given = overrides.get("data") is not None
        require_folder(settings.data, "--data" if given else "MEMBERGRAPH_DATA")
    return settings


def require_folder(data: Path, named: str = "--data") -> None:
    """Refuse a ``--data`` that is no folder, or whose source files would not be read: a
    folder where a source's file should be, a link to a file that is gone, a file in UTF-16
    (:func:`~membergraph.connectors.lines.utf16_refusal`), or a source's file
    named otherwise (``CRM.jsonl``, ``crm.json``, ``crm.jsonl.gz``) and none named right,
    which a run would take for a source holding no line and load, resolve or serve without a
    word."""
    if not data.is_dir():
        refuse(f"{named} {data}: not a folder")
    names = [f"{source.value}.jsonl" for source in SourceName]
    for name in names:
        path = data / name
        if path.exists() and not path.is_file():
            refuse(f"{named} {data}: {name} is not a file")
        if path.is_symlink() and not path.exists():
            # Named right: the file it links to is what is gone (an export rotated away).
            refuse(f"{named} {data}: {name} links to {path.readlink()}, which is not there")
        if path.is_file():
            with path.open("rb") as handle:
                if (refused := utf16_refusal(handle.read(2), name)) is not None:
                    refuse(f"{named} {data}: {refused}")
    missing = {
        source.value for source in SourceName if not (data / f"{source.value}.jsonl").exists()
    }
    misnamed = sorted(
        entry.name for entry in data.iterdir() if entry.name.lower().split(".", 1)[0] in missing
    )
    if misnamed:
        refuse(
            f"{named} {data}: {', '.join(misnamed)} would not be read: source files are named"
            f" {', '.join(names)} (lower-case JSON Lines, uncompressed)"
        )
    # Lines of a source this release has no connector for (a mobile app's, a survey's) are
    # read by none: said, and a folder of nothing else refused, never "0 members" quietly.
    others = sorted(
        entry.name
        for entry in data.iterdir()
        if entry.is_file()
        and entry.suffix.lower() in _LINE_FILES
        and entry.name not in names
        and entry.name != _ANSWER_KEY
    )
    if others and len(missing) == len(names):
        refuse(
            f"{named} {data}: holds no source file, only {', '.join(others)}, which no source"
            f" reads: the sources are {', '.join(names)} (docs/sources.md)"
        )
    if others:
        err.print(
            f"warning: {named} {data}: {', '.join(others)} not read: no source reads it (the"
            f" sources are {', '.join(names)}; docs/sources.md)",
            soft_wrap=True,
        )


_LINE_FILES = frozenset({".jsonl", ".json", ".ndjson", ".csv", ".gz"})
_ANSWER_KEY = "truth.jsonl"  # the demo generator's: which person each line is, read by none


def _data_option(unset: str) -> Any:
    """``--data``: a folder loaded into the store first; ``unset`` says what is read without."""
    text = f"Folder of source files (crm.jsonl, ...), loaded into the store first; unset: {unset}"
    return typer.Option("--data", help=setting_help("data", text))


DataOpt = Annotated[Path | None, _data_option("the store as it is (a new one: the demo).")]
StoreDataOpt = Annotated[Path | None, _data_option("the store as it is (never demo data).")]
"""``--data`` of the commands that read or feed a store of one's own (export, privacy,
sync): they never load the demo (:func:`~membergraph.gateway.open_gateway`'s ``demo``)."""
StoreOpt = Annotated[
    str | None,
    typer.Option("--store", help=setting_help("store", "sqlite:///PATH or mongodb://HOST/DB.")),
]


SourcesOpt = Annotated[
    str | None,
    typer.Option(
        "--sources",
        help=setting_help("sources", "mongodb://HOST/DB: read the sources from MongoDB."),
    ),
]
