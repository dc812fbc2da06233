"""Log lines on stderr: text or JSON, each with the id of the request being served, and
one access line per HTTP request.

A server under load writes a line per request: each line is formatted when it is logged,
and the lines of one turn of the event loop reach stderr in one write
(:class:`TurnFlushedHandler`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

__all__ = [
    "REQUEST_ID",
    "JsonFormatter",
    "Recurring",
    "TextFormatter",
    "TurnFlushedHandler",
    "access_line",
    "access_log",
    "configure_logging",
]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
"""The id of the request being served (``X-Request-ID`` accepted or made), for the logs."""

access_log = logging.getLogger("membergraph.access")

_EXTRA = ("method", "path", "status", "ms")


class Recurring:
    """A problem a loop meets at each of its turns while it lasts (a store that is down or
    was replaced, a source that does not answer): a ``WARNING`` the first time and whenever
    its words change, else once every ``every`` seconds saying how often it came meanwhile,
    and an ``INFO`` line once a turn succeeds again. A poll every 0.2 s wrote a line each:
    about 560,000 a day, for one outage.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.every = every
        self.clock = clock
        """Seconds, as ``time.monotonic`` counts them (a test's own clock)."""
        self._said: str | None = None  # the problem's words, while it lasts
        self._at = 0.0
        self._since = 0  # turns it came again since it was said
        self._turns = 0  # turns it came in all

    def failed(self, exc: BaseException) -> None:
        text, now = str(exc), self.clock()
        self._turns += 1
        if text == self._said and now - self._at < self.every:
            self._since += 1
            return
        again = f" (again {self._since} times in {now - self._at:.0f} s)" if self._since else ""
        self.logger.warning("%s: %s%s", self.what, text, again if text == self._said else "")
        self._said, self._at, self._since = text, now, 0

    def ok(self) -> None:
        if self._said is not None:
            self.logger.info("%s: working again, after %d failed turns", self.what, self._turns)
        self._said, self._since, self._turns = None, 0, 0


def access_line(method: str, path: str, status: int, ms: float) -> None:
    """Log one request's access line (when the access log is on)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    handler = _alone()
    if handler is None:
        access_log.handle(_AccessRecord(method, path, status, ms))
        return
    # The line the handler would format from the record, made without the record and
    # logging's steps around it (a quarter of a cached answer's CPU went to its line).
    now, message, said = time.time(), f"{method} {path} {status} {ms:.1f} ms", REQUEST_ID.get()
    formatter, name = handler.formatter, access_log.name
    if isinstance(formatter, TextFormatter):
        handler.emit_line(TextFormatter.line(formatter.time_of(now), "INFO", name, said, message))
        return
    fields = {"method": method, "path": path, "status": status, "ms": ms}
    handler.emit_line(_json_line(now, "INFO", name, message, said, fields))


_CONFIGURED: list[TurnFlushedHandler] = []  # the handler configure_logging set, if it ran
_MEMBERGRAPH = logging.getLogger("membergraph")


def _alone() -> TurnFlushedHandler | None:
    """The handler :func:`configure_logging` set, while it alone sees the access lines as it
    set it (else None: a handler, filter or formatter changed since, so lines go through
    logging as any other)."""
    if not _CONFIGURED or access_log.handlers or access_log.filters or _MEMBERGRAPH.filters:
        return None
    handler, handlers = _CONFIGURED[0], _MEMBERGRAPH.handlers
    if len(handlers) != 1 or handlers[0] is not handler or not access_log.propagate:
        return None
    if _MEMBERGRAPH.propagate or handler.level > logging.INFO:
        return None
    filters = handler.filters
    if len(filters) != 1 or type(filters[0]) is not _WithRequestId:
        return None
    return handler if type(handler.formatter) in (TextFormatter, JsonFormatter) else None


def _json_line(
    created: float, level: str, name: str, message: str, said: str | None, fields: dict[str, Any]
) -> str:
    """A JSON log line: time, level, logger, message, request_id, then ``fields``."""
    time_ = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    entry: dict[str, Any] = {"time": time_, "level": level, "logger": name, "message": message}
    entry["request_id"] = said
    entry |= fields
    return orjson.dumps(entry, default=str).decode()


class _AccessRecord(logging.LogRecord):
    """One access-log line, as ``access_log.info("%s %s %d %.1f ms", ...)`` with the line's
    fields as ``extra`` would make it, built without looking up the caller's frame, thread
    and process, which ``Logger.info`` does for every record and which was most of the CPU
    a cached answer spent on its log line. Handlers, filters and formatters see a
    LogRecord with every standard attribute."""

    def __init__(self, method: str, path: str, status: int, ms: float) -> None:
        fields = self.__dict__
        fields.update(_ACCESS_FIELDS)
        now = time.time()
        fields["created"] = now
        fields["msecs"] = int((now - int(now)) * 1000) + 0.0
        fields["relativeCreated"] = (now - _STARTED) * 1000
        fields["args"] = (method, path, status, ms)
        fields["method"], fields["path"], fields["status"], fields["ms"] = method, path, status, ms


_STARTED = time.time()
_ACCESS_FIELDS = dict(
    logging.LogRecord(
        access_log.name, logging.INFO, __file__, 0, "%s %s %d %.1f ms", (), None, "access_line"
    ).__dict__
)
"""What every access line's record shares (its level, logger, message format, source,
process and thread), read once from a record made the usual way."""


class TurnFlushedHandler(logging.StreamHandler[TextIO]):
    """A stream handler that formats each record at once and writes the lines logged in one
    turn of the event loop together, at the end of that turn: under load a turn serves many
    requests, and a write per access line was a system call per request. A warning or
    worse is written at once (with the lines before it), and so is any line logged outside
    the event loop's thread or with no loop running."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._lines: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop lines were logged on
        self._thread = 0  # (the thread running it)
        self._scheduled = False  # a flush is scheduled on it

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record) + self.terminator)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or not self._flush_at_end_of_turn():
            self.flush()

    def emit_line(self, line: str) -> None:
        """Write an INFO line formatted already (an access line: :func:`access_line`)."""
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            self._lines.append(line + self.terminator)
            if not self._flush_at_end_of_turn():
                self.flush()

    def _flush_at_end_of_turn(self) -> bool:
        loop = self._loop
        # The loop known already when it runs in this thread (a thread runs one at a time):
        # ``asyncio.get_running_loop`` makes a getpid() system call on every call (Python
        # 3.11), a line's dearest step.
        if loop is None or not loop.is_running() or threading.get_ident() != self._thread:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return False
            self._loop, self._thread, self._scheduled = loop, threading.get_ident(), False
        if not self._scheduled:  # (a loop closed before its turn ended flushes nothing)
            self._scheduled = True
            loop.call_soon(self._end_of_turn)
        return True

    def _end_of_turn(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # made by Handler.__init__
            lines, self._lines = self._lines, []
            if lines:
                self.stream.write("".join(lines))
            self.stream.flush()


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message``, the time as ``logging.Formatter`` writes
    it, its seconds formatted once per second: ``localtime`` and ``strftime`` for every line
    were half the time an access line took to format."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self._second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)  # (a traceback or stack: as logging writes them)
        # The line ``logging.Formatter.format`` makes of the format above, without its
        # steps for what a plain line has none of: a tenth of a cached answer's CPU.
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        said = record.__dict__["request_id"]
        return self.line(record.asctime, record.levelname, record.name, said, record.message)

    @staticmethod
    def line(asctime: str, level: str, name: str, said: str | None, message: str) -> str:
        """A plain line (no traceback nor stack) of the format above."""
        return f"{asctime} {level} {name} [{said}] {message}"

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return self.time_of(record.created, record.msecs)

    def time_of(self, created: float, msecs: float | None = None) -> str:
        """The time of a record ``created`` then (``msecs``: its milliseconds, as a
        LogRecord computes them from ``created`` when not given)."""
        second = int(created)
        kept, text = self._second
        if kept != second:
            text = time.strftime(self.default_time_format, self.converter(second))
            self._second = (second, text)  # one assignment: threads may log at once
        if msecs is None:
            msecs = int((created - second) * 1000) + 0.0
        form = self.default_msec_format
        return form % (text, msecs) if form else text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the access
    log's method, path, status and ms; a traceback (server errors only) as ``error``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: getattr(record, k) for k in _EXTRA if hasattr(record, k)}
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        said = getattr(record, "request_id", None)
        return _json_line(
            record.created, record.levelname, record.name, record.getMessage(), said, fields
        )


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(form: str = "text", *, access: bool = True) -> None:
    """Send membergraph's and Strawberry's logs to stderr, as text or JSON lines (INFO and
    up; the access log only when ``access``). Called by ``membergraph serve``."""
    handler = TurnFlushedHandler()
    handler.addFilter(_WithRequestId())
    if form == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    for name in ("membergraph", "strawberry"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False
    access_log.disabled = not access
    _CONFIGURED[:] = [handler]
