"""A contact without a birth date seen while her namesake was a child is not her duplicate.

Two CRM contacts of close names on a shared e-mail, one giving a birth date and the other
none, read as one person entered twice (``near_edges``). A parent gives the household's
address on his own contact, his son of his name enrols years later with it, or with the
parent's handle: a father's contact written in 2012 and his son's, born in 2004, are two
people, since no one enrols at eight. So an undated contact first seen (written, or its
card's first purchase) before the dated one's holder was ``Rules.undated_duplicates_least_age``
years old (12: younger than a child enrols, with a parent's consent, at 13) is not his: the
two are left apart and meet again as a match suggestion.
"""

from __future__ import annotations

from collections.abc import Mapping

from membergraph.identity.handovers import aged, first_seen
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["seen_as_a_child"]


def seen_as_a_child(
    a: RecordData, b: RecordData, records: Mapping[RecordKey, RecordData], least_age: int
) -> bool:
    """Whether, of two contacts one of which gives a birth date, the undated one was first
    seen before the dated one's holder was ``least_age`` years old (0: never).

    Example:
        >>> from membergraph.connectors.models import CrmContact, SourceName
        >>> from membergraph.identity.line_records import record_of_line
        >>> def contact(cid, written, born=None):
        ...     line = CrmContact.model_validate(
        ...         {"contact_id": cid, "updated_at": written, "birth_date": born})
        ...     return record_of_line(SourceName.CRM, line)
        >>> father = contact("C1", "2012-05-24T03:44:40Z")
        >>> son = contact("C2", "2022-01-01T00:00:00Z", born="2004-12-23")
        >>> seen_as_a_child(father, son, {}, 12), seen_as_a_child(son, father, {}, 0)
        (True, False)
        >>> seen_as_a_child(contact("C3", "2018-02-01T00:00:00Z"), son, {}, 12)
        False
    """
    if least_age <= 0:
        return False
    dated = [r for r in (a, b) if r.birth_date is not None]
    undated = [r for r in (a, b) if r.birth_date is None]
    if len(dated) != 1 or len(undated) != 1:
        return False
    seen = first_seen(undated[0], records)
    born = dated[0].birth_date
    assert born is not None
    return seen is not None and seen < aged(born, least_age)
