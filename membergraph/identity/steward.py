"""Stewards' operations: link two records, split a member, undo a merge.

Each is one atomic change of the store (the constraint and the resolution it causes are
written together) and each can be retried: a split already made, or a merge already undone,
answers the members as they are instead of failing. Each takes a :class:`Preview` (a dry
run: nothing is written) and refuses what it cannot do with a :class:`StewardError`.

- :mod:`~membergraph.identity.steward_request`: what every request shares (its reason, its
  refusals, its preview);
- :mod:`~membergraph.identity.steward_link`: :func:`link_records`, a steward's merge;
- :mod:`~membergraph.identity.steward_split`: :func:`split_member` and :func:`undo_merge`,
  a steward's cut.
"""

from __future__ import annotations

from membergraph.identity.steward_link import link_records
from membergraph.identity.steward_request import Preview, StewardError, already_undone
from membergraph.identity.steward_split import split_member, undo_merge

__all__ = [
    "Preview",
    "StewardError",
    "already_undone",
    "link_records",
    "split_member",
    "undo_merge",
]
