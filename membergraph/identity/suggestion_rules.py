"""The match suggestions' rules (``[suggestions]`` in the rules file): agreement weights in
bits per field and level, the prior, the threshold, and when the data may re-estimate them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SuggestionRules"]


class SuggestionRules(BaseModel):
    """Agreement weights (bits) per field and level, the prior, and the default threshold.

    The defaults were set by hand from what each agreement means in a retail CRM (a birth
    date is shared by few, a last name by a family, an address by a household), then checked
    on the FEBRL data sets (``benchmarks/suggestions_quality.py``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prior: float = -14.0  # log2 odds that two contacts picked at random are one person
    # ... among this many contacts. Among more, the odds fall as the count grows: a person's
    # duplicates are a few whatever the count, the pairs grow with its square.
    prior_contacts: int = Field(default=5000, ge=2)
    min_score: float = Field(default=0.3, ge=0, le=1)
    max_block: int = Field(default=50, ge=2)  # a bigger block is too common a value to block on
    # Agreeing on the postcode alone says less where few postcodes serve many people: its
    # weight is log2(postcode_m / the postcode's share of contacts), at most the table's.
    postcode_m: float = Field(default=0.1, gt=0, le=1)
    # Contacts at one address are households (retail data) rather than one person entered
    # twice (FEBRL) when this share of their pairs are plainly two people (first names and
    # birth dates both differ): then the ``household`` levels weigh a family name and a
    # birth date agreed on at one address.
    households_from: float = Field(default=0.25, ge=0, le=1)
    # An exact first or last name weighs its table weight plus log2(the chance two contacts
    # agree on that field / this name's share), at most this many bits either way: a rare
    # family name agreed on says more than a common one (Splink's term frequency
    # adjustment). 0: every name weighs the table's.
    name_frequency_bits: float = Field(default=2.0, ge=0)
    # The prior is estimated from the data among this many contacts or more (the share of
    # pairs the scores say are one person: expectation-maximisation of the prior alone, as
    # Splink estimates it), within estimate_prior_bits of the one above. A retailer whose
    # CRM holds many duplicates gets more suggestions, one with few gets fewer.
    estimate_prior_from: int = Field(default=1000, ge=2)
    estimate_prior_bits: float = Field(default=4.0, ge=0)
    # A phone or e-mail on contacts of this many different first names or more (a family's,
    # a store's) weighs its ``crowded`` level when shared, not ``shared``. 0: never.
    crowded_names: int = Field(default=4, ge=0)
    # Among estimate_prior_from contacts or more, the weights of first and last name, birth
    # date, address and a phone or e-mail of each one's own are estimated from the data too
    # (u on random pairs, m by expectation-maximisation on the candidate pairs, as Splink
    # estimates them), each within estimate_weight_bits of the table below. 0: the table's
    # weights as written.
    estimate_weight_bits: float = Field(default=4.0, ge=0)
    weights: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {
            # m: how often one person's two contacts agree so; u: how often two people
            # picked at random do. Weight = log2(m / u), rounded.
            "first_name": {"exact": 7.0, "close": 5.0, "differs": -4.0},
            "last_name": {
                "exact": 8.0,
                "close": 5.0,
                "similar": 2.0,
                "differs": -3.0,
                "household": 1.0,
                "generation": -8.0,
            },
            "birth_date": {"exact": 13.0, "close": 6.0, "differs": -4.0, "household": 3.0},
            "address": {
                "exact": 12.0,
                "close": 10.0,
                "street": 9.0,
                "postcode": 6.0,
                "differs": -2.0,
            },
            "phone": {"shared": 8.0, "differs": -4.0, "crowded": 0.0},
            "email": {"shared": 10.0, "differs": -4.0, "crowded": 0.0},
        }
    )
