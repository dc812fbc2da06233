"""Amounts in the currency spend is counted in.

A deployment counts spend, tiers and RFM in one currency (``MEMBERGRAPH_CURRENCY``, USD by
default: the tiers' thresholds are its cents). A line's ``amount_cents`` is in its currency's
minor unit, as ISO 4217 sets it: cents of USD or EUR (exponent 2), whole yen or won (JPY,
KRW: exponent 0, no minor unit), fils of BHD or KWD (exponent 3). A purchase in another
currency for which an exchange rate is set (``MEMBERGRAPH_EXCHANGE_RATES``, the worth of one
whole unit) counts converted by both exponents, rounded to the minor unit (half to even):
1,500 JPY at 0.0067 are 1,005 US cents, 1.000 BHD (1000 fils) at 2.65 are 265. One in a
currency with no rate counts as it is (:meth:`Currencies.rated` says which), as every amount
does where no rate is set (a deployment of one currency needs none): the push answer and the
load's log say so. The line itself keeps its amount and currency as sent: only what is
summed is converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["AS_SENT", "Currencies", "minor_digits"]

# ISO 4217's currencies whose minor unit is not a hundredth (the list's "minor unit" column):
# none, a thousandth, a ten-thousandth. Every other code has 2.
_NONE = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THOUSANDTHS = "BHD IQD JOD KWD LYD OMR TND"
_TEN_THOUSANDTHS = "CLF UYW"
_DIGITS: dict[str, int] = {
    code: digits
    for codes, digits in ((_NONE, 0), (_THOUSANDTHS, 3), (_TEN_THOUSANDTHS, 4))
    for code in codes.split()
}


def minor_digits(currency: str) -> int:
    """The ISO 4217 exponent of ``currency``: how many decimal digits its minor unit has
    (JPY 0, USD 2, BHD 3), the unit ``amount_cents`` counts in."""
    return _DIGITS.get(currency, 2)


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
        >>> Currencies("USD", (("JPY", Decimal("0.0067")),)).cents(1500, "JPY")
        1005
    """

    counted_in: str = "USD"
    rates: tuple[tuple[str, Decimal], ...] = ()

    def cents(self, amount_cents: int, currency: str) -> int:
        """``amount_cents`` (minor units) of ``currency`` in minor units of
        :attr:`counted_in`, by both currencies' ISO 4217 exponents (as it is when no rate is
        set for it)."""
        if currency == self.counted_in:
            return amount_cents
        for code, rate in self.rates:  # a handful at most: a scan beats a dict's hashing
            if code == currency:
                shift = minor_digits(self.counted_in) - minor_digits(currency)
                worth = rate * amount_cents
                if shift:  # exact: Decimal scales by a power of ten without rounding
                    worth = worth.scaleb(shift)
                return int(worth.to_integral_value(ROUND_HALF_EVEN))
        return amount_cents

    def rated(self, currency: str) -> bool:
        """Whether an amount of ``currency`` counts converted: it is the one counted in, or
        a rate is set for it. Otherwise it counts as sent."""
        return currency == self.counted_in or any(code == currency for code, _ in self.rates)


AS_SENT = Currencies()
"""No rate: every amount counts as it is."""
