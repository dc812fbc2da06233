"""One body limit for every route that reads a body (membergraph.body_limit): a push or a
GraphQL request over it is 413 in the route's own shape, nothing of it is written, and a body
sent without a length is refused at the first chunk past the limit, not read whole first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from membergraph.body_limit import BodyLimit, BodyRule, send_json
from membergraph.ingest_http import MAX_INGEST_BYTES
from tests.conftest import gql

MIB = 1 << 20
CONTACT = {"contact_id": "C-BIG", "first_name": "Bo", "last_name": "Lund", "emails": ["bo@x.org"]}
FOUND = '{ memberByIdentifier(kind: EMAIL, value: "bo@x.org") { id } }'


def _padded_lines(size: int) -> bytes:
    """A good line, then blank lines up to ``size`` bytes: JSON Lines a push would take."""
    line = orjson.dumps(CONTACT)
    return line + b"\n" * (size - len(line))


def _chunks(body: bytes, size: int = MIB) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_push_over_the_limit_is_refused_whole_with_or_without_a_length(
    client: TestClient,
) -> None:
    body = _padded_lines(MAX_INGEST_BYTES + MIB)
    declared = client.post("/ingest/crm", content=body)
    streamed = client.post("/ingest/crm", content=_chunks(body))  # chunked: no Content-Length
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json() == {
            "error": f"body over {MAX_INGEST_BYTES} bytes; send smaller batches"
        }
    assert "content-length" not in streamed.request.headers
    # and its good first line was not taken
    assert gql(client, FOUND)["data"] == {"memberByIdentifier": None}
    # while the same line in a body within the limit is
    assert client.post("/ingest/crm", content=_padded_lines(MIB)).status_code == 200
    assert gql(client, FOUND)["data"]["memberByIdentifier"] is not None  # type: ignore[index]


def test_a_graphql_request_sent_in_chunks_over_the_limit_is_413_coded(
    client: TestClient,
) -> None:
    body = orjson.dumps({"query": "{ __typename }" + " " * (2 * MIB)})
    answer = client.post(
        "/graphql", content=_chunks(body), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_without_a_length_is_refused_at_the_first_chunk_past_the_limit() -> None:
    pulled = 0

    async def receive() -> Message:  # 100 chunks of 1 KiB, as a chunked upload arrives
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": pulled < 100}

    async def reads_it_all(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send_json(send, 200, {"read": "all"})

    async def refuse(send: Send, limit: int) -> None:
        await send_json(send, 413, {"over": limit})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    limited = BodyLimit(reads_it_all, [BodyRule("/ingest/", 10 * 1024, refuse)])
    scope = {"type": "http", "path": "/ingest/crm", "headers": [], "method": "POST"}
    asyncio.run(limited(scope, receive, send))
    assert pulled == 11  # ten within the limit, the eleventh over it: no more read
    assert sent[0]["status"] == 413 and orjson.loads(sent[1]["body"]) == {"over": 10 * 1024}
