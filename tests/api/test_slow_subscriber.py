"""A subscriber that stops reading is cut off, never waited for, and told how to resume.

user29 (finding 11): a consumer that never read was closed after ~35 s with no close code and
no log line, and `membergraph_member_changes_dropped_total` stayed 0. Its own `websockets`
client closed it (its keepalive's ping unanswered: it had stopped reading), with its 35,000
changes, compressed, in the sockets' buffers. Once the gateway itself holds the backlog
(the socket refuses more), the subscription was blocked writing, never reached the feed's
"fell behind" answer, and uvicorn's keepalive closed the socket with no word of why.

Over a real uvicorn server and a raw socket (no compression, no keepalive of its own) that
reads nothing until the end, with a small receive buffer, as a stuck client has.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
import time

import httpx
import pytest
import websockets

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving
from tests.support.serve import until
from tests.support.sockets import served

# Every change, each message made bigger by aliases (the socket's buffers fill sooner).
EVERY_CHANGE = (
    "subscription { memberChanged { cursor kind memberIds lineId source "
    + " ".join(f"at{n}: at" for n in range(25))
    + " } }"
)
SUBSCRIPTIONS = 1


def _frame(payload: dict[str, object]) -> bytes:
    """One masked text frame, as a client sends it (RFC 6455 5.3)."""
    data, mask = json.dumps(payload).encode(), os.urandom(4)
    size = len(data)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class _Frames:
    """The server's frames (unmasked) as they arrive: (opcode, payload)."""

    def __init__(self) -> None:
        self.data, self.at = b"", 0

    def feed(self, chunk: bytes) -> list[tuple[int, bytes]]:
        self.data += chunk
        frames = []
        while len(self.data) - self.at >= 2:
            at, opcode, size = self.at + 2, self.data[self.at] & 0x0F, self.data[self.at + 1] & 0x7F
            if size >= 126:
                width = 2 if size == 126 else 8
                if len(self.data) < at + width:
                    break
                size, at = int.from_bytes(self.data[at : at + width]), at + width
            if len(self.data) < at + size:
                break
            frames.append((opcode, self.data[at : at + size]))
            self.at = at + size
        self.data, self.at = self.data[self.at :], 0
        return frames


def _stuck_subscriber(address: str) -> socket.socket:
    """A socket subscribed to every change, which reads nothing more."""
    host, port = address.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"connection_ack" not in answer:
        if b"\r\n\r\n" in answer and b" 101 " not in answer.split(b"\r\n")[0]:
            raise AssertionError(answer)
        if answer.endswith(b"\r\n\r\n"):
            sock.sendall(_frame({"type": "connection_init", "payload": {}}))
        answer += sock.recv(4096)
    for n in range(SUBSCRIPTIONS):
        subscribe = {"id": str(n), "type": "subscribe", "payload": {"query": EVERY_CHANGE}}
        sock.sendall(_frame(subscribe))
    return sock


def _push(address: str, start: int, count: int) -> None:
    lines = [
        {
            "transaction_id": f"T-SLOW-{n}",
            "email": f"slow{n % 7}@shop-mail.org",
            "channel": "online",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount_cents": 100,
            "status": "completed",
        }
        for n in range(start, start + count)
    ]
    assert httpx.post(f"http://{address}/ingest/transactions", json=lines, timeout=60).is_success


def _dropped(address: str) -> float:
    for line in httpx.get(f"http://{address}/metrics", timeout=10).text.splitlines():
        if line.startswith("membergraph_member_changes_dropped_total "):
            return float(line.split()[1])
    raise AssertionError("no membergraph_member_changes_dropped_total")


def _read_until_told(sock: socket.socket) -> tuple[dict[str, list[int]], dict[str, str]]:
    """Reads what the server sends until every subscription was told it fell behind: by its
    own ``FEED_EXPIRED`` error (its changes piled up in the process) or by the socket's
    close (the socket took nothing). The cursors each heard, and what each was told."""
    sock.settimeout(30)
    frames, heard, told = _Frames(), {str(n): [] for n in range(SUBSCRIPTIONS)}, {}
    while len(told) < SUBSCRIPTIONS:
        chunk = sock.recv(1 << 20)
        assert chunk, f"closed without a word to {set(heard) - set(told)}"
        for opcode, payload in frames.feed(chunk):
            if opcode == 0x8:  # the close: for every subscription not told yet
                code, reason = int.from_bytes(payload[:2]), payload[2:].decode()
                told |= {n: f"{code} {reason}" for n in heard if n not in told}
            elif opcode == 0x1:
                message = json.loads(payload)
                errors = message.get("payload", {}).get("errors") or []
                if message["type"] == "next" and not errors:
                    heard[message["id"]].append(
                        int(message["payload"]["data"]["memberChanged"]["cursor"])
                    )
                elif message["type"] in ("next", "error"):
                    error = (errors or message["payload"])[0]
                    told[message["id"]] = f"{error['extensions']['code']} {error['message']}"
    return heard, told


async def _first_cursor_after(address: str, after: str) -> int:
    async with websockets.connect(
        f"ws://{address}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        await served(ws)
        query = "subscription ($a: String) { memberChanged(after: $a) { cursor } }"
        payload = {"query": query, "variables": {"a": after}}
        await ws.send(json.dumps({"id": "r", "type": "subscribe", "payload": payload}))
        message = json.loads(await ws.recv())
        assert message["type"] == "next", message
        return int(message["payload"]["data"]["memberChanged"]["cursor"])


@pytest.mark.parametrize(
    ("batch", "pace", "told_by"),
    [
        # Changes pushed fast: 1,000 pile up in the process before the socket is seen full.
        pytest.param(500, 0.0, ("FEED_EXPIRED ", "1013 "), id="changes-pile-up"),
        # A trickle (under 1,000 in SEND_WAIT): the full socket is what cuts it off.
        pytest.param(50, 0.5, ("1013 ",), id="socket-full"),
    ],
)
def test_a_subscriber_that_stops_reading_is_cut_off_counted_and_told_to_resume(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    batch: int,
    pace: float,
    told_by: tuple[str, ...],
) -> None:
    caplog.set_level(logging.INFO)
    with serving(create_app(settings)) as address:
        # Given a client subscribed to every change, which stops reading
        sock = _stuck_subscriber(address)
        # When changes keep coming (pushed until the server counts the subscriber cut off;
        # a bound, not a timing assert)
        _push(address, 0, 800)  # (less than any socket's buffers hold)
        pushed, deadline = 800, time.monotonic() + 120
        while not until(lambda: _dropped(address), pace):
            assert time.monotonic() < deadline, "the stuck subscriber was never cut off"
            _push(address, pushed, batch)
            pushed += batch
        # Then, once it reads again, it finds the changes that were on their way, then each
        # subscription is told it fell behind and how to resume: the feed's FEED_EXPIRED, or
        # the socket's close 1013 (not uvicorn's keepalive, 1011, nor nothing at all)
        heard, told = _read_until_told(sock)
        sock.close()
        for said in told.values():
            assert said.startswith(told_by), told
            assert "resume with `after`" in said, told
        cursors = [c for n in heard.values() for c in n]
        assert cursors, heard
        # ... from where it stopped, `after` resumes with the next change
        _push(address, pushed, 1)
        assert asyncio.run(_first_cursor_after(address, str(max(cursors)))) == max(cursors) + 1
        dropped = _dropped(address)
    # ... the metric counts each subscription cut off, each said in one INFO line, and
    # nothing is logged louder
    said = [r for r in caplog.records if "fell behind" in r.getMessage()]
    assert 1 <= dropped <= SUBSCRIPTIONS
    assert len(said) == dropped, [r.getMessage() for r in said]
    assert {r.levelno for r in said} == {logging.INFO}
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
