"""A first name's middle initial dropped, and a long run of spaces read once."""

from __future__ import annotations

import pytest

from membergraph.identity.name_forms import first_name_core


@pytest.mark.parametrize(
    ("name", "core"),
    [
        pytest.param("Ken A.", "Ken", id="initial-dot"),
        pytest.param("Luis G", "Luis", id="initial"),
        pytest.param("anthony m.", "anthony", id="lower-case"),
        pytest.param("Mary Ann", "Mary Ann", id="second-name-kept"),
        pytest.param("Ann   B.", "Ann", id="spaces-before-initial"),
        pytest.param("Ann\tB", "Ann", id="tab-before-initial"),
        pytest.param("Jean-Luc  P.  ", "Jean-Luc", id="trailing-spaces"),
        pytest.param("Ann B. C.", "Ann B.", id="last-initial-only"),
        pytest.param("J.", "J.", id="only-an-initial"),
        pytest.param("  J  ", "J", id="only-an-initial-spaced"),
        pytest.param("Ann Bo", "Ann Bo", id="two-letters-kept"),
        pytest.param("Ann B..", "Ann B..", id="two-dots-kept"),
        pytest.param("Zoë É.", "Zoë", id="accented-initial"),
        pytest.param("Ann 7", "Ann", id="a-digit-is-a-word-character"),
        pytest.param("", "", id="empty"),
    ],
)
def test_a_middle_initial_after_a_first_name_is_dropped(name: str, core: str) -> None:
    assert first_name_core(name) == core


@pytest.mark.parametrize(
    ("name", "core"),
    [
        pytest.param("Ann" + " " * 100_000 + "Lee", "Ann" + " " * 100_000 + "Lee", id="no-initial"),
        pytest.param("Ann" + " " * 100_000 + "L.", "Ann", id="initial"),
        pytest.param("Ann" + "\t" * 100_000 + "Lee", "Ann" + "\t" * 100_000 + "Lee", id="tabs"),
    ],
)
def test_a_first_name_with_a_long_run_of_spaces_is_read_once(name: str, core: str) -> None:
    # Before: the pattern was tried from each space of the run, reading the rest of it
    # again each time (8,000 spaces took over a second; 100,000 would take minutes).
    assert first_name_core(name) == core
