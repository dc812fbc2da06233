"""graphql-transport-ws from a test's side: be acknowledged, then subscribe.

Two kinds of socket: Starlette's ``TestClient.websocket_connect`` session (in process) and
a ``websockets`` client connection to a real server.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.testclient import WebSocketTestSession
from websockets.asyncio.client import ClientConnection

__all__ = ["acknowledged", "served", "subscribed", "subscribed_over"]


def _init(payload: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "connection_init", **({} if payload is None else {"payload": payload})}


def _subscribe(query: str, operation: str) -> dict[str, Any]:
    return {"id": operation, "type": "subscribe", "payload": {"query": query}}


def acknowledged(ws: WebSocketTestSession, init: dict[str, Any] | None = None) -> None:
    """Send ``connection_init`` (``init`` its payload) and see it acknowledged."""
    ws.send_json(_init(init))
    assert ws.receive_json()["type"] == "connection_ack"


def subscribed(
    ws: WebSocketTestSession, query: str, operation: str = "1", init: dict[str, Any] | None = None
) -> None:
    """Acknowledged, then subscribed to ``query`` as ``operation``."""
    acknowledged(ws, init)
    ws.send_json(_subscribe(query, operation))


async def served(ws: ClientConnection, init: dict[str, Any] | None = None) -> None:
    """:func:`acknowledged` over a real server's socket."""
    await ws.send(json.dumps(_init(init)))
    assert json.loads(await ws.recv())["type"] == "connection_ack"


async def subscribed_over(
    ws: ClientConnection, query: str, operation: str = "1", init: dict[str, Any] | None = None
) -> None:
    """:func:`subscribed` over a real server's socket."""
    await served(ws, init)
    await ws.send(json.dumps(_subscribe(query, operation)))
