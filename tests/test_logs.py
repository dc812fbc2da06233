"""Log lines: every one reaches the stream, in order; the lines of one turn of the event
loop in one write, a warning (and a line logged with no loop running) at once."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from membergraph.logs import JsonFormatter, TurnFlushedHandler, access_line, access_log


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
