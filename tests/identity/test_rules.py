from __future__ import annotations

from pathlib import Path

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.rules import DEFAULT_RULES_FILE, Rules, RulesError, load_rules
from tests.identity.builders import crm, purchase, world


def test_the_shipped_rules_file_is_the_built_in_defaults() -> None:
    assert load_rules(DEFAULT_RULES_FILE) == Rules()


def test_a_rules_file_changes_what_links(tmp_path: Path) -> None:
    records = world(
        crm("C1", emails=["ann@mail.org"], card="LD30000001"),
        purchase(card="LD30000002", email="ann@mail.org", channel="online"),
    )
    assert len(resolve(records).components) == 2  # two cards: refused by default
    path = tmp_path / "rules.toml"
    path.write_text("[limits]\nLOYALTY_ID = 2\n")
    assert len(resolve(records, load_rules(path)).components) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("hub_max_people = 0\n", "hub_max_people", id="out-of-range"),
        pytest.param("[limits]\nSHOE_SIZE = 1\n", "limits.SHOE_SIZE", id="unknown-kind"),
        pytest.param("colour = 'red'\n", "colour", id="unknown-key"),
        pytest.param("hub_max_people = \n", "not TOML", id="not-toml"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)
