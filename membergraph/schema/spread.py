"""A bound on what fragments expand to, checked before validation.

Fragments let a small document stand for a huge one: ``fragment F0 on Query { ...F1 ...F1 }``
nineteen times over is 800 bytes and half a million fields once expanded. The depth and
alias rules and the cost walk each expand fragments as they go, so such a document held the
event loop for seconds, before any time budget applied. Here each fragment's expanded size is
counted once (memoized), so the count is linear in the document whatever it expands to, and
a document over ``MAX_EXPANDED_FIELDS`` is refused with ``QUERY_TOO_LARGE`` before any rule
expands it.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from membergraph.schema.kept import Kept

__all__ = ["MAX_EXPANDED_FIELDS", "expanded_fields", "oversized"]

MAX_EXPANDED_FIELDS = 10_000
"""Fields a document may stand for once its fragments are expanded (a profile lookup: ~40)."""


def expanded_fields(document: DocumentNode) -> int:
    """The fields of the largest operation of ``document`` with every spread expanded; a
    spread of an unknown fragment or in a cycle counts nothing (validation names those)."""
    fragments = {
        d.name.value: d.selection_set
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}
    visiting: set[str] = set()

    def size(selection: SelectionSetNode) -> int:
        total = 0
        for node in selection.selections:
            if isinstance(node, FieldNode):
                total += 1 + (size(node.selection_set) if node.selection_set else 0)
            elif isinstance(node, InlineFragmentNode):
                total += size(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += spread(node.name.value)
        return total

    def spread(name: str) -> int:
        if name in sizes:
            return sizes[name]
        if name in visiting or name not in fragments:
            return 0
        visiting.add(name)
        sizes[name] = size(fragments[name])
        visiting.discard(name)
        return sizes[name]

    operations = (d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return max((size(o.selection_set) for o in operations), default=0)


def too_large(fields: int) -> GraphQLError:
    return GraphQLError(
        f"the query expands to {fields} fields through its fragments, over the limit of "
        f"{MAX_EXPANDED_FIELDS}: spread each fragment fewer times",
        extensions={"code": "QUERY_TOO_LARGE", "fields": fields, "limit": MAX_EXPANDED_FIELDS},
    )


_sizes: Kept[int] = Kept()  # per query text, shared by every request on purpose


def oversized(query: str | None, document: DocumentNode) -> GraphQLError | None:
    """``QUERY_TOO_LARGE`` when ``document`` (the text ``query``) expands past
    ``MAX_EXPANDED_FIELDS``: checked before validation, whose rules would expand it."""
    fields = _sizes.get(query, lambda: expanded_fields(document))
    return too_large(fields) if fields > MAX_EXPANDED_FIELDS else None
