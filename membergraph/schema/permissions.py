"""Field-level authorization: scopes required by fields, personal data masked without pii:read."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types import Info

from membergraph.auth import caller_of
from membergraph.masking import MASKS, Meaning, mask_as
from membergraph.resolvers.members import bound_member

__all__ = ["AcrossMembers", "MaskPII", "OwnMemberArgument", "requires"]


def _can_see_pii(info: Info[Any, Any], bound_too: bool = False) -> bool:
    caller = caller_of(getattr(info.context, "request", None))
    return caller.can("pii:read") and not (bound_too and caller.member_id is not None)


class MaskPII(FieldExtension):
    """Mask the field's value unless the caller has ``pii:read`` (masked, not dropped).

    Args:
        meaning: what the field holds (:data:`Meaning`), or a function of the parent
            object that says it (an identifier's value is an e-mail when its kind is).
        bound_too: mask for a token bound to one member even with ``pii:read``: a steward's
            reason is written about the people involved, not for one of them.

    Example::

        caller_phone: str | None = strawberry.field(extensions=[MaskPII("phone")])
    """

    def __init__(
        self, meaning: Meaning | Callable[[Any], Meaning] = "found", bound_too: bool = False
    ) -> None:
        if isinstance(meaning, str) and meaning not in MASKS:
            raise ValueError(f"unknown meaning {meaning!r}; use one of {sorted(MASKS)}")
        self.meaning = meaning
        self.bound_too = bound_too

    def _mask(self, value: Any, source: Any, info: Info[Any, Any]) -> Any:
        if _can_see_pii(info, self.bound_too):
            reads = getattr(info.context, "pii_reads", None)
            if reads is not None and value not in (None, "", [], {}):
                reads.note(info.path, info.field_name)  # the audit of who read what
            return value
        meaning = self.meaning if isinstance(self.meaning, str) else self.meaning(source)
        return mask_as(meaning, value)

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        return self._mask(next_(source, info, **kwargs), source, info)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        return self._mask(await next_(source, info, **kwargs), source, info)


@cache
def requires(*scopes: str) -> type[BasePermission]:
    """A permission class that lets callers with any of ``scopes`` through (FORBIDDEN
    otherwise).

    Example::

        @strawberry.field(permission_classes=[requires("identity:write", "analytics:read")])
    """

    class Requires(BasePermission):
        message = f"this needs the {' or '.join(scopes)} scope"
        error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - Strawberry reads the class attribute

        def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
            caller = caller_of(getattr(info.context, "request", None))
            return any(caller.can(scope) for scope in scopes)

    Requires.__name__ = "Requires_" + "_or_".join(s.replace(":", "_") for s in scopes)
    return Requires


def _bound_member(info: Info[Any, Any]) -> str | None:
    return caller_of(getattr(info.context, "request", None)).member_id


class AcrossMembers(BasePermission):
    """For fields that read or change more than one member: lists, counts, conflicts and
    stewards' mutations. A token bound to one member is refused them, whatever its scopes
    (a frontend app is no analyst and no steward, even if its token says so).

    Example::

        @strawberry.field(permission_classes=[requires("analytics:read"), AcrossMembers])
        def segment_counts(self, info: Ctx) -> list[SegmentCount]: ...
    """

    message = "this token may read only its own member"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - Strawberry reads the class attribute

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _bound_member(info) is None


class OwnMemberArgument(BasePermission):
    """For fields whose ``id`` argument chooses the member (null: every member): a token
    bound to one member must name exactly that member."""

    message = "this token may follow only its own member: pass its ID as `id`"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - Strawberry reads the class attribute

    async def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        own, asked = _bound_member(info), kwargs.get("id")
        if own is None or asked == own:
            return True
        # The token's member merged away: the member its ID redirects to is its own now.
        return asked is not None and asked == await bound_member(info.context)
