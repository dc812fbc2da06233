"""What a new user meets first: the install command and the settings table (docs/settings.md)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from membergraph.settings import Settings
from tests.support import docs

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_build_backend_floor_reads_the_license_as_written() -> None:
    # `license = "Apache-2.0"` is a PEP 639 expression: setuptools before 77 refuses the
    # whole pyproject.toml ("`project.license` must be valid exactly by one definition").
    data = _pyproject()
    project = data["project"]
    assert isinstance(project, dict)
    build = data["build-system"]
    assert isinstance(build, dict)
    floors = [
        int(m.group(1))
        for req in build["requires"]
        if (m := re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", req.replace(" ", "")))
    ]
    assert floors, build["requires"]
    if isinstance(project["license"], str):
        assert floors[0] >= 77


def _settings_table() -> str:
    return "\n".join(docs.sections("Settings"))


def test_every_setting_is_a_row_of_the_readmes_table() -> None:
    named: set[str] = set()
    for line in _settings_table().splitlines():
        if not line.startswith("| `MEMBERGRAPH_"):
            continue
        first = line.split("|")[1]
        names = re.findall(r"`(MEMBERGRAPH_[A-Z0-9_]+|_[A-Z0-9_]+)`", first)
        stem = names[0].rsplit("_", 1)[0]  # MEMBERGRAPH_JWT_AUDIENCE / `_ISSUER`
        named.add(names[0])
        named.update(stem + n for n in names[1:])
    settings = {f"MEMBERGRAPH_{name.upper()}" for name in Settings.model_fields}
    assert settings - named == set()
    assert named - settings == set()
