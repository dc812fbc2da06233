"""A process-local server speaking just enough of MongoDB's wire protocol to answer PyMongo's
handshake as a standalone ``mongod`` does: ``hello`` without a replica set name, ``ok`` to
anything else. What a driver looking for a replica set sees of a standalone server cannot be
emulated above the driver, so this sits below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import bson

__all__ = ["standalone_server"]

_OP_REPLY, _OP_QUERY, _OP_MSG = 1, 2004, 2013


def _hello() -> dict[str, Any]:
    return {
        "helloOk": True, "ismaster": True, "isWritablePrimary": True,
        "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000, "localTime": datetime.now(UTC),
        "minWireVersion": 0, "maxWireVersion": 21, "connectionId": 1, "ok": 1.0,
    }  # fmt: skip


def _answer(command: dict[str, Any]) -> dict[str, Any]:
    name = next(iter(command), "").lower()
    return _hello() if name in ("hello", "ismaster") else {"ok": 1.0}


def _reply(request_id: int, opcode: int, body: bytes) -> bytes:
    if opcode == _OP_QUERY:
        # flags, a collection name (C string), skip and limit, then the command
        start = body.index(b"\0", 4) + 1 + 8
        command = bson.decode(body[start : start + struct.unpack_from("<i", body, start)[0]])
        payload = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(_answer(command))
        reply_op = _OP_REPLY
    else:  # OP_MSG: flag bits, then a kind-0 section holding the command
        command = bson.decode(body[5 : 5 + struct.unpack_from("<i", body, 5)[0]])
        payload = struct.pack("<IB", 0, 0) + bson.encode(_answer(command))
        reply_op = _OP_MSG
    return struct.pack("<iiii", 16 + len(payload), 0, request_id, reply_op) + payload


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            header = await reader.readexactly(16)
            length, request_id, _, opcode = struct.unpack("<iiii", header)
            body = await reader.readexactly(length - 16)
            writer.write(_reply(request_id, opcode, body))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def standalone_server() -> AsyncIterator[int]:
    """A standalone "server" on a free loopback port, which it yields."""
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
