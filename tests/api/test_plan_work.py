"""What a planned document (``schema/compiled.py``) works out once rather than per request:
it calls Strawberry's resolvers and their extensions without Strawberry's per-call wrapping,
converts literal arguments once, and takes plain variables as graphql-core would coerce them
(issue 22's miss path). Counted, not timed: the calls made on the event loop's thread."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.dataloader import DataLoader

from membergraph.app import create_app
from membergraph.resolvers.context import load_many
from membergraph.schema import build_schema
from membergraph.schema.plan_variables import PlainVariables
from membergraph.settings import Settings
from tests.conftest import PROFILE, contact_emails, gql


class CallsOfRequests:
    """Counts the calls of Python functions, by module and name, while requests run (on
    the app's event loop thread)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls: Counter[tuple[str, str]] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        def count(frame: FrameType, event: str, arg: object) -> None:
            if event == "call":
                code = frame.f_code
                self.calls[(Path(code.co_filename).name, code.co_name)] += 1

        sys.setprofile(count)
        try:
            await self.app(scope, receive, send)
        finally:
            sys.setprofile(None)


def test_a_planned_profile_calls_its_resolvers_without_strawberrys_wrapping(
    settings: Settings, data_dir: Any
) -> None:
    # Given a served gateway, and members it has not answered yet
    counting = CallsOfRequests(create_app(settings))
    emails = contact_emails(data_dir, 3)
    with TestClient(counting, base_url="http://127.0.0.1") as client:
        gql(client, PROFILE, value=emails[0])  # the first answer plans the document
        counting.calls.clear()
        # When the personalization profile is asked twice more
        for email in emails[1:]:
            assert gql(client, PROFILE, value=email)["data"]["memberByIdentifier"]  # type: ignore[index]
    calls = counting.calls
    # Then each of its four resolvers ran once a request, with its extensions (the
    # permission on the lookup, the member scope on the member's fields) ...
    assert calls[("query.py", "member_by_identifier")] == 2
    assert calls[("member.py", "profile")] == calls[("member.py", "loyalty")] == 2
    assert calls[("member.py", "transactions")] == 2
    assert calls[("permission.py", "resolve_async")] == 2
    assert calls[("privacy.py", "resolve_async")] == 3 * 2
    # ... but none through Strawberry's per-call wrapping, and only the lookup's arguments
    # (a variable) were converted per request: `first: 5` was converted once, when planned
    assert calls[("schema_converter.py", "_async_resolver")] == 0
    assert calls[("schema_converter.py", "extension_resolver")] == 0
    assert calls[("arguments.py", "convert_arguments")] == 2


VARIABLES = """query ($s: String!, $i: ID, $b: Boolean = true) {
  member(id: $i) { id } memberByIdentifier(kind: EMAIL, value: $s) { id } }"""


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({"s": "a@b.c", "i": "m_1", "b": False}, id="all-as-they-are"),
        pytest.param({"s": "a@b.c", "i": "m_1", "b": False, "n": "r1"}, id="one-not-defined"),
        pytest.param({"s": "a@b.c", "i": 7, "b": False}, id="a-number-for-an-id"),
        pytest.param({"s": "a@b.c", "i": None, "b": False}, id="a-null"),
        pytest.param({"s": "a@b.c"}, id="missing-and-defaulted"),
        pytest.param({"s": 5, "i": "m_1", "b": False}, id="a-number-for-a-string"),
        pytest.param({"s": None, "i": "m_1", "b": False}, id="null-for-non-null"),
        pytest.param({"s": "a@b.c", "i": "m_1", "b": "yes"}, id="a-string-for-a-boolean"),
        pytest.param(None, id="none-at-all"),
    ],
)
def test_a_plans_variables_are_graphql_cores(variables: dict[str, Any] | None) -> None:
    # Given an operation's variable definitions, taken once
    schema = build_schema()._schema
    operation = parse(VARIABLES).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    nodes = operation.variable_definitions
    # When a request's variables are coerced, then they are exactly what graphql-core
    # makes of them: the same values and sources, or the same errors
    mine = PlainVariables(schema, nodes).coerced(variables)
    theirs = get_variable_values(schema, nodes, dict(variables or {}))
    if isinstance(theirs, list):
        assert isinstance(mine, list)
        assert [e.formatted for e in mine] == [e.formatted for e in theirs]
    else:
        assert isinstance(mine, VariableValues)
        assert mine.coerced == theirs.coerced
        assert _sources(mine) == _sources(theirs)


def _sources(values: VariableValues) -> dict[str, tuple[object, ...]]:
    """Each variable's source, its signature's type by name and default by the literal
    it holds (graphql-core wraps a type and a default in new objects on every call)."""
    return {
        name: (
            s.signature.name,
            str(s.signature.type),
            getattr(s.signature.default, "literal", None),
            s.value,
        )
        for name, s in values.sources.items()
    }


async def test_keys_a_loader_holds_are_answered_without_a_turn_of_the_loop() -> None:
    # Given a loader holding two keys, and a third whose load failed
    async def load(keys: list[str]) -> list[str | Exception]:
        return [ValueError(f"no {key}") if key == "bad" else key.upper() for key in keys]

    loader: DataLoader[str, str] = DataLoader(load)  # type: ignore[arg-type]
    loader.prime_many({"a": "A", "b": "B"})
    with pytest.raises(ValueError, match="no bad"):
        await loader.load("bad")
    # When keys it holds are asked, then they are answered at once (no step waits) ...
    held = load_many(loader, ["b", "a"])
    with pytest.raises(StopIteration) as answered:
        held.__await__().send(None)
    assert answered.value.value == ["B", "A"]
    # ... a held failure fails them as a gather would, and a key to load is loaded
    with pytest.raises(ValueError, match="no bad"):
        await load_many(loader, ["a", "bad"])
    assert await load_many(loader, ["a", "c"]) == ["A", "C"]
