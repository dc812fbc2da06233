"""A line's numbers (points, quantities, amounts) read as exports write them, and refused
alone with a reason when they are no number or out of range."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from membergraph.connectors.models import MAX_INT, Transaction

PURCHASE = {
    "transaction_id": "T-NUM-1",
    "loyalty_id": "LD-1",
    "channel": "store",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 2500,
}


@pytest.mark.parametrize(
    ("value", "read"),
    [
        pytest.param(12, 12, id="int"),
        pytest.param("12", 12, id="text"),
        pytest.param(12.0, 12, id="whole-float"),
        pytest.param(0, 0, id="zero"),
        pytest.param(MAX_INT, MAX_INT, id="largest"),
    ],
)
def test_a_number_is_read_as_exports_write_it(value: object, read: int) -> None:
    line = Transaction.model_validate_json(orjson.dumps({**PURCHASE, "points_earned": value}))
    assert line.points_earned == read


@pytest.mark.parametrize(
    ("field", "value", "kind", "says"),
    [
        pytest.param("points_earned", True, "value_error", "not true or false", id="bool"),
        pytest.param("points_earned", -1, "greater_than_equal", "or equal to 0", id="negative"),
        pytest.param(
            "points_earned", MAX_INT + 1, "less_than_equal", f"or equal to {MAX_INT}", id="huge"
        ),
        pytest.param("points_earned", 12.5, "int_from_float", "fractional", id="fraction"),
        pytest.param("amount_cents", False, "value_error", "not true or false", id="bool-amount"),
        pytest.param(
            "amount_cents", -MAX_INT - 1, "greater_than_equal", f"to {-MAX_INT}", id="huge-refund"
        ),
    ],
)
def test_a_number_out_of_range_is_refused_saying_why(
    field: str, value: object, kind: str, says: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        Transaction.model_validate_json(orjson.dumps({**PURCHASE, field: value}))
    [error] = raised.value.errors()
    assert error["loc"] == (field,) and error["type"] == kind and says in error["msg"]
