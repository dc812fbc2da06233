"""Client spans for the backends a request reaches: the identity store, the source table,
an HTTP source (:mod:`membergraph.tracing` hands them their tracer when traces are on).

Each object that makes round trips holds ``tracer`` (None: traces off) and checks it before
its trip: with traces off a trip runs exactly as before, no span code at all, and
OpenTelemetry is not even imported.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

__all__ = ["backend_span", "caller_operation", "in_trace", "mapped_span", "operation"]


def operation(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """The name of the read or write ``fn(connection, *args)`` makes: its own, or, for a
    function that runs another in one snapshot or trip (``in_snapshot(read, ...)``), that
    one's; a function a method defines, the method's; the shared trip of the sources'
    lookups (``_each``) is ``lines``."""
    if args and callable(args[0]) and hasattr(args[0], "__name__"):
        fn = args[0]
    name = getattr(fn, "__name__", "run")
    qualified = getattr(fn, "__qualname__", name)
    if ".<locals>" in qualified:  # a method's own ``def write(db)``: the method names it
        name = qualified.split(".<locals>")[-2].rsplit(".", 1)[-1]
    name = name.lstrip("_")
    return "lines" if name == "each" else name


@contextlib.contextmanager
def backend_span(tracer: Any, name: str, system: str, **attributes: Any) -> Iterator[Any]:
    """A client span ``name`` (``store.find_member_carried``) under the current one, with
    the backend's ``db.system.name``; an exception escaping it is recorded and marks it
    failed (OpenTelemetry's default). None, and no span, outside a trace (:func:`in_trace`)."""
    from opentelemetry.trace import SpanKind

    if not in_trace():
        yield None
        return
    with tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes={"db.system.name": system, **attributes}
    ) as span:
        yield span


def in_trace() -> bool:
    """Whether a span is current (a request's, or one of its children): a round trip of the
    gateway's own background work (the feed's tail, pruning, metrics) makes no span, or
    each poll would be a trace of its own flooding the collector."""
    from opentelemetry.trace import get_current_span

    return bool(get_current_span().get_span_context().is_valid)


_PASSING = frozenset({"run", "run_aside", "run_read"})
"""Public methods that only pass a trip on (the SQLite store's ``run`` for the privacy
store sharing its connection): the method that called them names the trip."""


def caller_operation(depth: int = 2) -> str:
    """The public method that called (``depth`` frames up, through private helpers such as
    ``_find`` or ``_in_thread``): a store whose every round trip passes one place names its
    spans after the port's operation (the same name on every adapter) without each method
    saying it. Called only with traces on."""
    frame = sys._getframe(depth)
    for _ in range(4):
        name = frame.f_code.co_name
        if frame.f_back is None or not (name.startswith("_") or name in _PASSING):
            break
        frame = frame.f_back
    return frame.f_code.co_name.lstrip("_")


@contextlib.asynccontextmanager
async def mapped_span(
    inner: contextlib.AbstractAsyncContextManager[None], tracer: Any, name: str, system: str
) -> AsyncIterator[None]:
    """``inner`` (a store's error mapping) inside a client span: the span sees the driver's
    error, the caller the mapped one."""
    with backend_span(tracer, name, system):
        async with inner:
            yield
