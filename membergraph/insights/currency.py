"""Amounts in the currency spend is counted in.

A deployment counts spend, tiers and RFM in one currency (``MEMBERGRAPH_CURRENCY``, USD by
default: the tiers' thresholds are its cents). A purchase in another currency for which an
exchange rate is set (``MEMBERGRAPH_EXCHANGE_RATES``) counts converted, rounded to the cent
(half to even); one in a currency with no rate counts as it is, as every amount does where
no rate is set (a deployment of one currency needs none). The line itself keeps its amount
and currency as sent: only what is summed is converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["AS_SENT", "Currencies"]


@dataclass(frozen=True, slots=True)
class Currencies:
    """The currency spend is counted in and what other currencies' units are worth in it.

    Attributes:
        counted_in: the ISO 4217 code spend is counted in.
        rates: ``(code, worth of one unit in counted_in)``, sorted by code.

    Example:
        >>> cad = Currencies("USD", (("CAD", Decimal("0.73")),))
        >>> cad.cents(1999, "CAD"), cad.cents(1999, "USD"), cad.cents(1999, "EUR")
        (1459, 1999, 1999)
    """

    counted_in: str = "USD"
    rates: tuple[tuple[str, Decimal], ...] = ()

    def cents(self, amount_cents: int, currency: str) -> int:
        """``amount_cents`` of ``currency`` in cents of :attr:`counted_in` (as it is when
        no rate is set for it)."""
        if currency == self.counted_in:
            return amount_cents
        for code, rate in self.rates:  # a handful at most: a scan beats a dict's hashing
            if code == currency:
                return int((rate * amount_cents).to_integral_value(ROUND_HALF_EVEN))
        return amount_cents


AS_SENT = Currencies()
"""No rate: every amount counts as it is."""
