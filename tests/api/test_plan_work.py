"""A planned document (``schema/compiled.py``) starts a task only for a resolver that waits:
a profile whose lines were read beside its lookup is answered in the request's own task,
without a task, a future and a turn of the event loop per field (issue 22's miss path); and
it calls Strawberry's resolvers and their extensions without Strawberry's per-call wrapping.

Tasks are counted through the app's public door: an ASGI wrapper sets a task factory on the
loop for the request and counts the tasks the request's task and its descendants start (the
gateway's background work, which runs meanwhile, is not the request's)."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Coroutine, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.app import create_app
from membergraph.schema import build_schema
from membergraph.schema.eager import started
from membergraph.schema.plan_variables import PlainVariables
from membergraph.settings import Settings
from tests.conftest import contact_emails, gql

# The personalization service's profile (benchmarks/profile_query.py).
PROFILE = """query Profile($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id
    profile { firstName lastName emails { value } phones { value } }
    loyalty { pointsBalance tier lifetimeSpendCents }
    transactions(first: 5) { edges { node { occurredAt amountCents status } } }
  }
}"""


class TasksOfRequests:
    """Counts the tasks each HTTP request's task, and the tasks it starts, start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        family = {asyncio.current_task()}
        previous = loop.get_task_factory()

        def factory(
            loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
        ) -> asyncio.Future[Any]:
            task = (
                asyncio.Task(coro, loop=loop, **kwargs)
                if previous is None
                else previous(loop, coro, **kwargs)
            )
            if asyncio.current_task() in family:
                family.add(task)  # type: ignore[arg-type]
                self.started += 1
            return task

        loop.set_task_factory(factory)  # type: ignore[arg-type]
        try:
            await self.app(scope, receive, send)
        finally:
            loop.set_task_factory(previous)


@pytest.fixture
def counted(settings: Settings) -> Iterator[tuple[TestClient, TasksOfRequests]]:
    counting = TasksOfRequests(create_app(settings))
    with TestClient(counting, base_url="http://127.0.0.1") as client:
        yield client, counting


def test_a_planned_profile_whose_lines_are_held_starts_no_task(
    counted: tuple[TestClient, TasksOfRequests], data_dir: Any
) -> None:
    # Given a served gateway whose sources live in the store's file (the lookup reads the
    # member's lines beside it), and members it has not answered yet
    client, tasks = counted
    emails = contact_emails(data_dir, 6)
    gql(client, PROFILE, value=emails[0])  # the first answer plans the document
    for email in emails[1:]:
        tasks.started = 0
        # When the personalization profile is asked (a response-cache miss)
        answer = gql(client, PROFILE, value=email)
        # Then it is answered without starting a single task (four before)
        assert answer["data"]["memberByIdentifier"] is not None  # type: ignore[index]
        assert tasks.started == 0


def test_a_planned_field_that_waits_goes_on_as_a_task(
    counted: tuple[TestClient, TasksOfRequests], data_dir: Any
) -> None:
    # Given a document whose identity history waits on its loader's batch (a read of its own)
    client, tasks = counted
    email = contact_emails(data_dir, 1)[0]
    query = PROFILE.replace("    id\n", "    id identityHistory { kind }\n")
    usual = query.replace("$value)", "$value) @skip(if: false)")  # not planned: the executor
    expected = gql(client, usual, value=email)
    tasks.started = 0
    # When it is asked planned
    answer = gql(client, query, value=email)
    # Then the field that waits went on as a task, and the member above it, which waits
    # for it (the rest is answered in the request's task: five tasks in all before), and
    # the answer is the executor's
    assert answer == expected
    assert tasks.started == 2


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


async def test_a_started_coroutine_that_waits_is_cancelled_where_it_waits() -> None:
    # Given two coroutines started in this task: one waiting on a future, one done at once
    gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    seen: list[str] = []

    async def waits() -> str:
        try:
            return await gate
        except asyncio.CancelledError:
            seen.append("cancelled where it waited")
            raise

    async def done() -> str:
        return "at once"

    waiting = started([waits(), done()])
    # Then only the one that waits went on as a task; cancelling it reaches it where it waits
    assert len(waiting) == 1
    waiting[0].cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting[0]
    assert seen == ["cancelled where it waited"]


async def test_two_started_coroutines_may_wait_on_one_future() -> None:
    # Given two coroutines that wait on the same future (a key two fields load)
    shared: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def twice(n: int) -> int:
        return await shared * n

    waiting = started([twice(1), twice(2)])
    # When the future is answered, then both go on with its value
    shared.set_result(21)
    assert await asyncio.gather(*waiting) == [21, 42]


async def test_the_first_failure_closes_the_coroutines_not_started() -> None:
    # Given a coroutine that fails at once, before two that were made but never run
    async def fails() -> None:
        raise ValueError("no")

    async def never() -> None:
        raise AssertionError("not run")

    later, inner = never(), never()
    # When they are started, then the failure is raised and the others are closed (no
    # "never awaited" warning, which this suite turns into an error)
    with pytest.raises(ValueError, match="no"):
        started([fails(), later], [None, inner])
    assert later.cr_frame is None and inner.cr_frame is None


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
