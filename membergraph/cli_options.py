"""What every command shares: its settings, read once the same way (flags over the
environment over the defaults, refused with exit code 2 when bad), and the options that
name them, each with its environment variable and default in ``--help``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from membergraph.cli_checks import refuse, require_store
from membergraph.identity.rules import RulesError, load_rules
from membergraph.settings import Settings, SettingsError, load_settings

__all__ = [
    "DataOpt",
    "SourcesOpt",
    "StoreOpt",
    "command_settings",
    "environment_only",
    "require_folder",
    "setting_help",
]


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


def command_settings(existing_store: bool = False, **overrides: object) -> Settings:
    """The settings (flags over environment), refused with exit code 2 when bad, or when a
    SQLite store's folder (``existing_store``: its file) does not exist."""
    try:
        settings = load_settings(**overrides)
        load_rules(settings.rules)  # a bad rules file stops start-up, naming the key
    except (SettingsError, RulesError) as exc:
        refuse(str(exc))
    require_store(settings.store, existing_store)
    return settings


def require_folder(data: Path) -> None:
    if not data.is_dir():
        refuse(f"--data {data}: not a folder")


DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help=setting_help("data", "Folder of source files (crm.jsonl, ...); unset: demo data."),
    ),
]
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
