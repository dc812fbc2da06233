"""The loyalty program's settings: tiers, points expiry, the tier's window, and the currency
spend is counted in with the exchange rates of others (``MEMBERGRAPH_CURRENCY``,
``MEMBERGRAPH_EXCHANGE_RATES``). :class:`membergraph.settings.Settings` holds them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from membergraph.connectors.models import Currency
from membergraph.insights.currency import Currencies
from membergraph.insights.loyalty import Program, Tier

__all__ = ["ProgramSettings"]


class ProgramSettings(BaseSettings):
    """The loyalty program's part of the settings (read through
    :class:`membergraph.settings.Settings`, with its prefix)."""

    tiers: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: {
            "BRONZE": 0,
            "SILVER": 50_000,
            "GOLD": 200_000,
            "PLATINUM": 500_000,
        },
        min_length=1,  # every member has a tier: with none, every loyalty answer failed
        description="Loyalty tiers by lifetime spend in cents (or by the spend of the tier"
        " qualification window, when set), as JSON.",
    )
    points_expiry_days: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Points expire this many days after the purchase that earned them, unless"
        " spent first (the oldest points are spent first). Unset: points never expire.",
    )
    tier_qualification_days: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="A member's tier is reached by the spend of the last this many days before"
        " the reference date (e.g. 365). Unset: by lifetime spend.",
    )
    currency: Currency = Field(
        default="USD",
        description="ISO 4217 code spend, tiers and RFM are counted in (the tiers are its cents).",
    )
    exchange_rates: dict[Currency, Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="JSON: what one unit of another currency is worth in MEMBERGRAPH_CURRENCY"
        ' (`{"CAD": 0.73}`); a purchase in it counts converted, one in a currency with no'
        " rate as it is.",
    )

    @model_validator(mode="after")
    def _no_rate_for_the_counted_currency(self) -> Self:
        if self.currency in self.exchange_rates:
            raise ValueError(
                f"MEMBERGRAPH_EXCHANGE_RATES gives a rate for {self.currency}, the currency"
                " spend is counted in (MEMBERGRAPH_CURRENCY): its amounts count as they are"
            )
        return self

    @property
    def loyalty_program(self) -> Program:
        """The loyalty program's rules: tiers, points expiry, tier qualification window, and
        the currency spend is counted in."""
        return Program(
            tiers=tuple(Tier(name, spend) for name, spend in self.tiers.items()),
            points_expiry_days=self.points_expiry_days,
            tier_window_days=self.tier_qualification_days,
            money=Currencies(self.currency, tuple(sorted(self.exchange_rates.items()))),
        )
