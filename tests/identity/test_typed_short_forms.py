"""A short form of three letters typed with a slip (``near_duplicates.typed_short_forms``)."""

from __future__ import annotations

import pytest

from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.rules import Rules


@pytest.mark.parametrize(
    ("a", "b", "close"),
    [
        # A listed short form of three letters, typed with a slip, beside the full name.
        pytest.param("Suue", "Susan", True, id="sue-letter-doubled"),
        pytest.param("JCK", "John", True, id="jack-letter-left-out"),
        pytest.param("Rbo", "Robert", True, id="rob-letters-swapped"),
        pytest.param("Joon", "Jonathan", True, id="jon-letter-doubled"),
        pytest.param("jrn", "Jennifer", True, id="jen-key-slipped"),
        pytest.param("Been", "Benjamin", True, id="ben-letter-doubled"),
        # Both typed: they meet on one listed name and its forms.
        pytest.param("Jum", "Jamees", True, id="jim-and-james-both-typed"),
        pytest.param("Mgagie", "Marrgaret", True, id="maggie-and-margaret-both-typed"),
        # Two common names one slip apart are two people's (twins named a letter apart).
        pytest.param("Ann", "Jan", False, id="two-common-names"),
        pytest.param("Jim", "Kimberly", False, id="common-slip-to-another-name"),
        # A typing one slip from no listed form of the other name.
        pytest.param("Tmi", "Jim", False, id="tim-typed-beside-jim"),
        pytest.param("Suue", "Robert", False, id="another-name"),
        # A name of its own a letter from a short form, the keys far apart: not a slip.
        pytest.param("Joy", "Joseph", False, id="joy-is-no-joe"),
        pytest.param("Roy", "Raymond", False, id="roy-is-no-ray"),
        pytest.param("Jana", "Janet", False, id="jana-is-no-jan"),
        pytest.param("Jie", "Joseph", True, id="joe-typed-with-the-key-beside"),
    ],
)
def test_typed_short_forms(a: str, b: str, close: bool) -> None:
    assert Rules().near_duplicates.names_close(a, "Lee", b, "Lee") is close
    off = NearDuplicates(typed_short_forms=False)
    if close:  # the rule's alone: off, such names are far apart
        assert not off.names_close(a, "Lee", b, "Lee")
