"""graphql-core's execution context, made to let go of a request once its answer is built,
and of a subscription's event once it is pushed."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from graphql import ExecutionResult, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

__all__ = ["ReleasedExecutionContext"]


class ReleasedExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core keeps the helpers it passes to resolvers as methods bound to the
    execution context, on the context: a reference cycle, through which every object a
    request reached (its context, DataLoaders, their futures, every source line read) was
    freed only by the cyclic garbage collector, a few hundred objects a request. Once the
    operation's result is built (a whole one: an incremental result still runs; not a
    subscription's), the context drops them, and the request's objects go when the
    request does."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if self.is_awaitable(result):
            return self._released(result)
        self._release(result)
        return result

    async def _released(self, result: Awaitable[Any]) -> Any:
        done = await result
        self._release(done)
        return done

    def _release(self, result: Any) -> None:
        # A subscription's events run on copies of its context, helpers included.
        subscription = self.operation.operation is OperationType.SUBSCRIPTION
        if type(result) is ExecutionResult and not subscription:
            del self.async_helpers

    def build_per_event_executor(self, payload: Any) -> Any:
        # graphql-core memoizes the subfields it collects on the identity of a list of
        # fields collected anew for each event, in a dict its per-event copies share: one
        # entry kept for every change a subscription pushed, for as long as its subscriber
        # stays (34 MB after 20,000 changes). Each event memoizes on its own instead.
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor
