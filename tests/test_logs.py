"""Log lines: every one reaches the stream, in order; the lines of one turn of the event
loop in one write, a warning (and a line logged with no loop running) at once."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator

import orjson
import pytest

from membergraph import logs
from membergraph.logs import (
    REQUEST_ID,
    JsonFormatter,
    TurnFlushedHandler,
    access_line,
    access_log,
    configure_logging,
)


class CountedWrites(io.StringIO):
    """A stream that counts the writes it was given."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, CountedWrites]]:
    stream = CountedWrites()
    handler = TurnFlushedHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("membergraph.tests.turns")
    log.handlers[:], log.propagate = [handler], False
    log.setLevel(logging.INFO)
    yield log, stream
    log.handlers.clear()


def test_the_lines_of_one_turn_reach_the_stream_in_one_write_at_its_end(
    logged: tuple[logging.Logger, CountedWrites],
) -> None:
    log, stream = logged

    async def serve() -> str:
        for n in range(3):
            log.info("line %d", n)
        during = stream.getvalue()
        await asyncio.sleep(0)  # the turn ends
        return during

    assert asyncio.run(serve()) == ""
    assert stream.getvalue() == "INFO line 0\nINFO line 1\nINFO line 2\n"
    assert stream.writes == 1


def test_a_warning_is_written_at_once_after_the_lines_before_it(
    logged: tuple[logging.Logger, CountedWrites],
) -> None:
    log, stream = logged

    async def serve() -> str:
        log.info("served")
        log.warning("source down")
        return stream.getvalue()

    assert asyncio.run(serve()) == "INFO served\nWARNING source down\n"


def test_a_line_logged_with_no_loop_running_is_written_at_once(
    logged: tuple[logging.Logger, CountedWrites],
) -> None:
    log, stream = logged

    async def leave_a_line() -> None:
        log.info("last words")  # the loop closes before its turn ends

    asyncio.run(leave_a_line())
    log.info("at the shell")
    assert stream.getvalue() == "INFO last words\nINFO at the shell\n"


def test_an_access_line_is_the_record_logger_info_would_make(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=access_log.name):
        access_line("POST", "/graphql", 200, 1.25)
        access_log.info(
            "%s %s %d %.1f ms",
            "POST",
            "/graphql",
            200,
            1.25,
            extra={"method": "POST", "path": "/graphql", "status": 200, "ms": 1.25},
        )
    fast, usual = caplog.records
    assert fast.getMessage() == usual.getMessage() == "POST /graphql 200 1.2 ms"
    shown = ("name", "levelname", "levelno", "process", "thread", "method", "status", "ms")
    assert {k: getattr(fast, k) for k in shown} == {k: getattr(usual, k) for k in shown}
    assert abs(fast.created - usual.created) < 5
    line = orjson.loads(JsonFormatter().format(fast))
    assert (line["logger"], line["level"], line["path"]) == (
        "membergraph.access",
        "INFO",
        "/graphql",
    )


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], io.StringIO]]:
    """configure_logging as ``membergraph serve`` calls it, onto a stream of the test's
    (set in the test: pytest's capture puts its own back between a fixture and the test);
    the loggers as they were afterwards."""
    kept = {
        name: (log.handlers[:], log.level, log.propagate)
        for name in ("membergraph", "strawberry")
        for log in [logging.getLogger(name)]
    }

    def configure(form: str) -> io.StringIO:
        stream = io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)
        configure_logging(form)
        return stream

    yield configure
    for name, (handlers, level, propagate) in kept.items():
        log = logging.getLogger(name)
        log.handlers[:], log.level, log.propagate = handlers, level, propagate
    access_log.disabled = False


@pytest.mark.parametrize("form", ["text", "json"])
async def test_an_access_line_as_serve_logs_it_is_the_line_its_record_makes(
    configured: Callable[[str], io.StringIO], form: str
) -> None:
    # Given the logs configured as `membergraph serve` configures them
    stream = configured(form)
    handler = logging.getLogger("membergraph").handlers[0]
    # When a request's access line is logged, and the record logging would make of it is
    # formatted by the same handler
    token = REQUEST_ID.set("r-1")
    try:
        access_line("POST", "/graphql", 200, 1.25)
        record = access_log.makeRecord(
            access_log.name, logging.INFO, "", 0, "%s %s %d %.1f ms",
            ("POST", "/graphql", 200, 1.25), None,
            extra={"method": "POST", "path": "/graphql", "status": 200, "ms": 1.25},
        )  # fmt: skip
        handler.filter(record)  # (the request id, as the handler's filter sets it)
        usual = handler.format(record)
    finally:
        REQUEST_ID.reset(token)
    await asyncio.sleep(0)  # (the turn's lines are written at its end)
    # Then the line written is that line, but for the time (made a moment apart)
    (line,) = stream.getvalue().splitlines()
    if form == "json":
        written, made = orjson.loads(line), orjson.loads(usual)
        assert written.pop("time")[:16] == made.pop("time")[:16]
        assert written == made and written["request_id"] == "r-1"
    else:
        assert line.split(" ", 2)[2] == usual.split(" ", 2)[2]
        assert line.split(" ", 2)[2] == "INFO membergraph.access [r-1] POST /graphql 200 1.2 ms"
        assert line.split(" ")[0] == usual.split(" ")[0]  # the date


@pytest.mark.parametrize("where", ["access-log", "root-propagated"])
async def test_an_access_line_reaches_a_handler_added_after_the_configuration(
    configured: Callable[[str], io.StringIO], where: str
) -> None:
    # Given the logs configured as `membergraph serve` does, then a handler of someone's own
    # on the access log, or on the root logger with membergraph's lines propagated to it
    stream = configured("text")
    records: list[logging.LogRecord] = []
    added = logging.Handler()
    added.emit = records.append  # type: ignore[method-assign]
    owner = access_log if where == "access-log" else logging.getLogger()
    owner.addHandler(added)
    logging.getLogger("membergraph").propagate = where != "access-log"
    try:
        # When an access line is logged
        access_line("GET", "/healthz", 200, 0.5)
        await asyncio.sleep(0)
    finally:
        owner.removeHandler(added)
    # Then both see it: the configured stream and the added handler
    assert [r.getMessage() for r in records] == ["GET /healthz 200 0.5 ms"]
    assert stream.getvalue().endswith("INFO membergraph.access [None] GET /healthz 200 0.5 ms\n")


def test_a_recurring_problem_is_said_again_once_a_minute_or_when_its_words_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [1000.0]
    problem = logs.Recurring(
        logging.getLogger("membergraph.test"), "keeper", clock=lambda: clock[0]
    )
    caplog.set_level("INFO", logger="membergraph.test")
    for seconds, words in [(0, "down"), (0.2, "down"), (30, "down"), (61, "down"), (62, "gone")]:
        clock[0] = 1000.0 + seconds
        problem.failed(RuntimeError(words))
    problem.ok()
    problem.ok()  # (nothing more to say)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "keeper: down"),
        ("WARNING", "keeper: down (again 2 times in 61 s)"),
        ("WARNING", "keeper: gone"),
        ("INFO", "keeper: working again, after 5 failed turns"),
    ]
