"""docker-compose.yml's seed (``membergraph load --if-empty``) over a store that holds data:
it loads nothing and succeeds, so the gateway that waits for it starts (user32b finding 3).
Read over SQLite: no Docker or MongoDB server here; the compose file is checked by
tests/test_deploy.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.settings import Settings
from tests.test_upgrade import _db, _loaded
from tests.test_upgrade_refused import as_format_6

runner = CliRunner()


def _digest(store: str) -> str:
    return hashlib.sha256(_db(store).read_bytes()).hexdigest()


def test_the_seed_loads_an_empty_store_and_leaves_one_holding_data(
    settings: Settings, tmp_path: Path
) -> None:
    data = str(settings.data)
    # Given no store yet, when the seed runs, then it loads the folder
    store = f"sqlite:///{tmp_path / 'new.db'}"
    first = runner.invoke(app, ["load", "--if-empty", "--data", data, "--to", store])
    assert first.exit_code == 0 and "members" in first.output, first.output
    # When it runs again (the next `docker compose up`), then it loads nothing, exit 0
    digest = _digest(store)
    again = runner.invoke(app, ["load", "--if-empty", "--data", data, "--to", store])
    assert again.exit_code == 0, again.output
    assert "holds records or lines already: nothing loaded (--if-empty)" in again.output
    assert _digest(store) == digest


def test_the_seed_over_an_older_releases_store_succeeds_writing_nothing(
    settings: Settings,
) -> None:
    # Given a store an older release made
    store = _loaded(settings)
    as_format_6(store)
    digest = _digest(store)
    # When the seed runs over it, then it succeeds, writing nothing (the gateway's start
    # then refuses the store naming `membergraph reresolve`, which the seed does not hide)
    seeded = runner.invoke(app, ["load", "--if-empty", "--data", str(settings.data), "--to", store])
    assert seeded.exit_code == 0, seeded.output
    assert "nothing loaded" in seeded.output
    assert _digest(store) == digest
    # And without --if-empty a load is refused, as before
    plain = runner.invoke(app, ["load", "--data", str(settings.data), "--to", store])
    assert plain.exit_code == 1 and "store format 6 is older" in plain.output
