"""Erasures on ``/metrics``: how this process's runs ended, and the requests the store holds
by state (what waits: ``pending``, ``partial`` retried every minute, ``awaiting_sources``
on a source's operator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from membergraph.gateway_parts import Gateway

__all__ = ["OUTCOMES", "STATES", "ErasureFigures"]

OUTCOMES = ("done", "awaiting_sources", "partial", "failed")
"""How an erasure's run ends: ``failed`` when not even its request could be recorded (the
store unavailable), else the state it left the request in."""
STATES = ("pending", "partial", "awaiting_sources", "done")


class ErasureFigures(Collector):
    """``membergraph_erasures_total{outcome}`` (runs in this process) and
    ``membergraph_privacy_requests{state}`` (the store's, as last :meth:`read`)."""

    def __init__(self) -> None:
        self.gateway: Gateway | None = None
        self.states: dict[str, int] = dict.fromkeys(STATES, 0)

    async def read(self, gateway: Gateway) -> None:
        """Read the requests' states from the store (raises ``StoreError``)."""
        self.gateway = gateway
        privacy = getattr(gateway, "privacy", None)  # (open once the gateway started)
        if privacy is not None:
            held = await privacy.store.request_states()
            self.states = {**dict.fromkeys(STATES, 0), **held}

    def collect(self) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "membergraph_erasures",
            "Erasure runs in this process (a request asked, and each retry), by how they ended:"
            " done, awaiting_sources (done here; a source the gateway does not own was asked),"
            " partial (a step failed: retried every minute), failed (the request could not"
            " even be recorded: the store unavailable).",
            labels=["outcome"],
        )
        privacy = getattr(self.gateway, "privacy", None)
        ran = privacy.erasure.outcomes if privacy is not None and privacy.erasure else {}
        for outcome in OUTCOMES:
            runs.add_metric([outcome], ran.get(outcome, 0))
        yield runs
        held = GaugeMetricFamily(
            "membergraph_privacy_requests",
            "Privacy requests the store holds, by state: pending (its first run not ended),"
            " partial (retried every minute), awaiting_sources (a source's operator has not"
            " confirmed), done.",
            labels=["state"],
        )
        for state, n in self.states.items():
            held.add_metric([state], n)
        yield held
