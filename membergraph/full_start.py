"""A start on a full disk: the store served as it is, the start's writes done once room is made.

A running gateway whose disk fills answers reads, refuses pushes and steward changes with
507 ``STORE_FULL`` and says on ``/readyz`` that it cannot write until room is made. A
restart (a pod moved, the OOM killer) must not turn that write outage into a full one: the
writes its start makes (the data folder's load, the pushes and erasures a stopped process
left unfinished) fail for want of room, are said in the log, and the gateway serves the
store as it is, every acknowledged line in it. :func:`finish_when_room` then does that
work as soon as the store takes writes again, without a restart (erasures are resumed by
the privacy upkeep, as after any failure). A first load is the exception: it holds the
store's file alone, so one left unfinished is finished at the next start, and until then
the gateway is not ready (an empty store is never said to be) and takes no push (a first
load puts the folder's lines in as they are: a newer version pushed before it would be
replaced by the folder's, acknowledged and lost).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from membergraph.connectors.base import ConnectorError
from membergraph.gateway_parts import Gateway
from membergraph.identity.store import StoreError
from membergraph.sqlite_room import out_of_room

__all__ = [
    "FIRST_LOAD_CUT",
    "LOAD_AGAIN",
    "RESTART_TO_LOAD",
    "ROOM_WAIT_S",
    "first_load_refusal",
    "finish_when_room",
    "heal_unless_full",
    "left_for_room",
]

logger = logging.getLogger(__name__)

ROOM_WAIT_S = 5.0
"""Seconds between two looks at whether the store takes writes again."""


FIRST_LOAD_CUT = (
    "room was made on the store's disk, but the first load of {folder} is finished by the"
    " next start only (it holds the store's file alone): restart the gateway; until then it"
    " is not ready and takes no push"
)

RESTART_TO_LOAD = (
    "the store's first load, cut by a full disk, is finished by the next start only: restart"
    " the gateway"
)
"""What ``/readyz`` (503) and a push (503) say meanwhile (without the folder: no path is
said without credentials)."""

LOAD_AGAIN = (
    "the store's first load did not finish (`membergraph load` stopped part-way): run that"
    " load again, which finishes it, then restart the gateway"
)
"""What ``/readyz`` (503), a push (503) and a mutation say over a store whose first load
was stopped part-way outside the gateway (a killed ``load``)."""


def first_load_refusal(gateway: Gateway) -> str | None:
    """Why the gateway is not ready and refuses pushes and changes over a store whose first
    load did not finish (None: it did): a load run again over lines acknowledged meanwhile
    would resolve the store without them."""
    if gateway.first_load_cut is None:
        return None
    return LOAD_AGAIN if gateway.first_load_stopped else RESTART_TO_LOAD


def left_for_room(exc: BaseException, what: str) -> bool:
    """Whether ``exc`` failed ``what`` (a start's write) for want of room, said in the log:
    the start goes on, serving the store as it is. Any other failure is the caller's."""
    said = out_of_room(exc)
    if said is None:
        return False
    logger.warning(
        "the store's disk is full or failing (%s): %s once room is made; meanwhile reads are"
        " served from the store as it is, pushes and steward changes refused (507)",
        said,
        what,
    )
    return True


async def heal_unless_full(heal: Callable[[], Awaitable[int]]) -> bool:
    """``heal()`` (finish the pushes a stopped process left); False when the disk is full
    (said in the log: :func:`finish_when_room` finishes them)."""
    try:
        await heal()
    except (ConnectorError, StoreError) as exc:
        if not left_for_room(exc, "the pushes a stopped process left are finished"):
            raise
        return False
    return True


async def finish_when_room(gateway: Gateway, heal: Callable[[], Awaitable[int]]) -> None:
    """Every :data:`ROOM_WAIT_S`, until it is done: once the store takes writes again (its
    readiness probe writes, see ``ping``), the folder load the start left
    (``gateway.unloaded``), then the pushes a stopped process left (``heal``)."""
    while True:
        await asyncio.sleep(ROOM_WAIT_S)
        try:
            await gateway.identity.store.ping()  # (StoreUnwritable while there is no room)
            if gateway.unloaded is not None:
                await gateway.unloaded()
                gateway.unloaded = None
            await heal()
        except (ConnectorError, StoreError, TimeoutError) as exc:  # the next turn
            logger.debug("the start's work left for want of room waits: %s", exc)
            continue
        gateway.waiting_for_room = False
        if gateway.first_load_cut is not None:
            logger.warning(FIRST_LOAD_CUT.format(folder=gateway.first_load_cut))
            return
        logger.warning("room was made on the store's disk: the work its start left is done")
        return
