"""Field-level authorization: scopes required by fields, personal data masked without pii:read."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.types import Info

from membergraph.auth import caller_of, mask_email, mask_phone, mask_text

__all__ = ["MaskPII", "mask_value", "requires"]

_PHONE = re.compile(r"^\+?\d[\d\s().\-]{6,}$")
_EMAIL_IN = re.compile(r"[^\s:@]+@[^\s@]+")


def mask_value(value: Any, text: bool = False) -> Any:
    """Mask e-mails and phone numbers anywhere in a value (strings, lists, JSON objects);
    with ``text``, any other string too (an address line)."""
    if isinstance(value, str):
        if "@" in value:
            return _EMAIL_IN.sub(lambda m: mask_email(m.group(0)), value)
        if _PHONE.match(value):
            return mask_phone(value)
        return mask_text(value) if text else value
    if isinstance(value, list | tuple):
        return [mask_value(v, text) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v, text) for k, v in value.items()}
    return (
        None if text and value is not None and not isinstance(value, bool | int | float) else value
    )


def _can_see_pii(info: Info[Any, Any]) -> bool:
    return caller_of(getattr(info.context, "request", None)).can("pii:read")


class MaskPII(FieldExtension):
    """Mask the field's value unless the caller has ``pii:read`` (masked, not dropped).

    Args:
        text: mask every string (an address line), not only e-mails and phones; values that
            cannot be masked in their type (a birth date) become null.
    """

    def __init__(self, text: bool = False, text_when: Callable[[Any], bool] | None = None) -> None:
        self.text = text
        self.text_when = text_when

    def _mask(self, value: Any, source: Any, info: Info[Any, Any]) -> Any:
        if _can_see_pii(info):
            return value
        text = self.text or (self.text_when is not None and self.text_when(source))
        return mask_value(value, text)

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        return self._mask(next_(source, info, **kwargs), source, info)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        return self._mask(await next_(source, info, **kwargs), source, info)


@cache
def requires(scope: str) -> type[BasePermission]:
    """A permission class that lets callers with ``scope`` through (FORBIDDEN otherwise)."""

    class Requires(BasePermission):
        message = f"this needs the {scope} scope"
        error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - Strawberry reads the class attribute

        def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
            return caller_of(getattr(info.context, "request", None)).can(scope)

    Requires.__name__ = f"Requires_{scope.replace(':', '_')}"
    return Requires
